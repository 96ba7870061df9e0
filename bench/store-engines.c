/*
 * Driver of bench/store-engines: the two embedded engines the metadata role
 * store could sit on, LMDB and RocksDB, through their C APIs, on the same
 * disk, with the same records, in the same run. The project itself does not
 * link RocksDB; this file is built by the script with cc.
 *
 *   store-engines DIR [records] [reps] [seconds]
 *
 * Records are shaped like the origin's object records: key 'o' bucket 00
 * S3-key (20..120 bytes, shared prefixes), value 200..400 bytes (binary
 * header, repeated strings, random ids). Phases, each run `reps` times with
 * the engines alternating which goes first, medians printed:
 *   1. bulk load of `records` in batches of 1000, one sync at the end, then
 *      on-disk size (RocksDB: after its compactions settle);
 *   2. random point gets, 1 and 2 threads (everything cached);
 *   3. ListObjects-like pages: 1000 consecutive records from a random key;
 *   4. reads with a durable writer running, and a 2-thread 90/10 mix;
 *   5. durable single-record puts (one commit / sync=true put each),
 *      1 and 4 threads; then 4 threads again with LMDB commits grouped by
 *      the caller (what RocksDB does inside its write path).
 * Latencies are per operation, closed loop (each thread issues its next op
 * when the last returns), from a log-linear histogram (~6% buckets).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define PAGE 1000
#define MAXREPS 9
#define MAXTHR 4

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "store-engines: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- records ---- */

static const char *const words[] = {"report", "invoice", "holiday-plan", "scan", "draft",
                                    "meeting-notes", "summary", "contract", "thesis", "budget",
                                    "slides", "receipt"};

/* Record i's kv key, as the origin lays it out: 'o' bucket 00 S3-key. Most
 * keys share long prefixes with their neighbours (dates, user ids, hosts),
 * the hash spreads consecutive i over the whole key space. */
static size_t key_of(uint64_t i, char *k)
{
    uint64_t h = mix(i);
    unsigned a = (unsigned)(h >> 8), b = (unsigned)(h >> 24);
    unsigned long long n = (unsigned long long)i;
    int len;
    switch (h % 5) {
    case 0:
        len = sprintf(k, "omedia%cphotos/2024/%02u/%02u/IMG_%08llu.jpg", 0, 1 + a % 12,
                      1 + b % 28, n);
        break;
    case 1:
        len = sprintf(k, "ologs%capp-%02u/2024-08-%02uT%02u/part-%08llu.log.gz", 0, a % 16,
                      1 + b % 28, (b >> 8) % 24, n);
        break;
    case 2:
        len = sprintf(k, "ohome%cusers/%016llx/documents/%s-%08llu.pdf", 0,
                      (unsigned long long)mix(a % 5000), words[b % 12], n);
        break;
    case 3:
        len = sprintf(k,
                      "obackup%chosts/eu-west-1/db-%02u.prod.example.internal/pg/2024-08-%02u/base/16384/"
                      "%016llx/segment-%08llu.zst",
                      0, a % 32, 1 + b % 28, (unsigned long long)mix(h), n);
        break;
    default:
        len = sprintf(k, "omedia%cthumbs/%08llu", 0, n);
        break;
    }
    return (size_t)len;
}

/* Record i's value: 200..400 bytes, about half of it strings repeated across
 * records (content type, storage class, owner, user metadata) and half
 * random (etag, segment names), like an encoded object record. */
static size_t val_of(uint64_t i, char *v)
{
    static const char *const types[] = {"image/jpeg", "application/octet-stream",
                                        "application/pdf", "text/plain; charset=utf-8"};
    uint64_t s = mix(i ^ 0x5bd1e995ull) | 1;
    size_t len = 200 + (size_t)(mix(i + 7) % 201), off = 0;
    v[off++] = 1;
    for (int b = 0; b < 16; b++)
        v[off++] = (char)(rnd(&s) >> 56); /* size, mtime */
    off += (size_t)sprintf(v + off, "%016llx%016llx", (unsigned long long)rnd(&s),
                           (unsigned long long)rnd(&s));
    off += (size_t)sprintf(v + off, "%s%cSTANDARD%c", types[i % 4], 0, 0);
    off += (size_t)sprintf(v + off, "owner=7f3a9c0e2b5d4e8f9a1b2c3d4e5f6071;x-amz-meta-src=%s;",
                           i % 3 ? "camera-upload" : "sync-client");
    while (off + 40 < len)
        off += (size_t)sprintf(v + off, "o-%016llx-%08llu:%u;", (unsigned long long)rnd(&s),
                               (unsigned long long)i, (unsigned)(rnd(&s) % 4194304));
    while (off < len)
        v[off++] = (char)('a' + rnd(&s) % 26);
    return len;
}

/* The loaded key set, precomputed so key formatting does not dilute the
 * read figures. */
static char *keys;
static uint32_t *koff;
static uint64_t nrec;

static void make_keys(void)
{
    char k[256];
    size_t cap = nrec * 80, used = 0;
    keys = malloc(cap);
    koff = malloc((nrec + 1) * sizeof(*koff));
    if (!keys || !koff) die("malloc", "keys");
    for (uint64_t i = 0; i < nrec; i++) {
        size_t n = key_of(i, k);
        if (used + n > cap) {
            cap *= 2;
            if (!(keys = realloc(keys, cap))) die("malloc", "keys");
        }
        koff[i] = (uint32_t)used;
        memcpy(keys + used, k, n);
        used += n;
    }
    koff[nrec] = (uint32_t)used;
}

/* ---- latency histogram: 16 buckets per power of two ---- */

#define HB 1024
typedef struct hist {
    uint64_t n[HB];
    uint64_t count;
} hist_t;

static unsigned hidx(uint64_t v)
{
    if (v < 16) return (unsigned)v;
    unsigned m = 63u - (unsigned)__builtin_clzll(v);
    return ((m - 3) << 4) | (unsigned)((v >> (m - 4)) & 15);
}

static double hval(unsigned i)
{
    if (i < 16) return i;
    unsigned m = i / 16 + 3, sub = i % 16;
    double lo = (double)((16ull + sub) << (m - 4));
    return lo + (double)(1ull << (m - 4)) / 2;
}

static void hadd(hist_t *h, uint64_t ns)
{
    h->n[hidx(ns)]++;
    h->count++;
}

static void hmerge(hist_t *d, const hist_t *s)
{
    for (int i = 0; i < HB; i++)
        d->n[i] += s->n[i];
    d->count += s->count;
}

/* Percentile q (0..1) in microseconds. */
static double hpct(const hist_t *h, double q)
{
    if (!h->count) return 0.0 / 0.0;
    uint64_t want = (uint64_t)(q * (double)h->count), seen = 0;
    for (unsigned i = 0; i < HB; i++) {
        seen += h->n[i];
        if (seen > want) return hval(i) / 1000.0;
    }
    return hval(HB - 1) / 1000.0;
}

/* ---- engines ---- */

typedef struct eng {
    const char *name;
    char dir[4096];
    _Atomic uint64_t next; /* next new record index for puts */
    MDB_env *env;
    MDB_dbi dbi;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *bbo;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync;
    rocksdb_readoptions_t *ro;
} eng_t;

static eng_t lm = {.name = "lmdb"}, rk = {.name = "rocksdb"};

static void lcheck(int rc, const char *what)
{
    if (rc) die(what, mdb_strerror(rc));
}

static void rcheck(char *err, const char *what)
{
    if (err) die(what, err);
}

/* The flags and map size of src/store/kv_lmdb.c. */
static void lm_open(eng_t *e)
{
    MDB_txn *t;
    lcheck(mdb_env_create(&e->env), "mdb_env_create");
    lcheck(mdb_env_set_mapsize(e->env, 64ull << 30), "mdb_env_set_mapsize");
    lcheck(mdb_env_set_maxreaders(e->env, 256), "mdb_env_set_maxreaders");
    lcheck(mdb_env_open(e->env, e->dir, MDB_NOTLS | MDB_NORDAHEAD, 0644), "mdb_env_open");
    lcheck(mdb_txn_begin(e->env, NULL, 0, &t), "mdb_txn_begin");
    lcheck(mdb_dbi_open(t, NULL, 0, &e->dbi), "mdb_dbi_open");
    lcheck(mdb_txn_commit(t), "mdb_txn_commit");
}

/* A configuration one would deploy for metadata: bloom filters, a block
 * cache that holds the whole set (the "hot" case), dynamic level sizes,
 * default snappy compression and 64 MiB memtables, two background jobs. */
static void rk_open(eng_t *e, size_t cache_mb)
{
    char *err = NULL;
    e->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(e->opts, 1);
    rocksdb_options_increase_parallelism(e->opts, 2);
    rocksdb_options_set_max_background_jobs(e->opts, 2);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(e->opts, 1);
    e->bbo = rocksdb_block_based_options_create();
    e->cache = rocksdb_cache_create_lru(cache_mb << 20);
    rocksdb_block_based_options_set_block_cache(e->bbo, e->cache);
    rocksdb_block_based_options_set_filter_policy(e->bbo,
                                                  rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_options_set_block_based_table_factory(e->opts, e->bbo);
    e->db = rocksdb_open(e->opts, e->dir, &err);
    rcheck(err, "rocksdb_open");
    e->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(e->wo_sync, 1);
    e->wo_nosync = rocksdb_writeoptions_create();
    e->ro = rocksdb_readoptions_create();
}

static void eng_close(eng_t *e)
{
    if (e->env) {
        mdb_env_sync(e->env, 1);
        mdb_env_close(e->env);
        e->env = NULL;
    }
    if (e->db) {
        rocksdb_close(e->db);
        rocksdb_writeoptions_destroy(e->wo_sync);
        rocksdb_writeoptions_destroy(e->wo_nosync);
        rocksdb_readoptions_destroy(e->ro);
        rocksdb_options_destroy(e->opts);
        rocksdb_block_based_options_destroy(e->bbo);
        rocksdb_cache_destroy(e->cache);
        e->db = NULL;
    }
}

static size_t g_cache_mb = 512;

static void eng_open(eng_t *e)
{
    if (mkdir(e->dir, 0755) < 0 && errno != EEXIST) die("mkdir", e->dir);
    if (e == &lm)
        lm_open(e);
    else
        rk_open(e, g_cache_mb);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[8192];
    if (!d) return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Bytes allocated on disk by the files of dir (both engines keep a flat
 * directory). */
static double dir_mib(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    char p[8192];
    uint64_t sum = 0;
    if (!d) return 0;
    while ((de = readdir(d))) {
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_blocks * 512;
    }
    closedir(d);
    return (double)sum / 1048576.0;
}

/* Bytes this process has handed to write(2)/pwrite(2) so far, all threads
 * (RocksDB's flushes and compactions included). Both engines write through
 * syscalls, not through a writable map, so this is what each asks of the
 * disk. write_bytes, the kernel's own dirty-page count, is not used: on the
 * VM this was written on it reported ~10x the bytes strace showed LMDB
 * writing. Page rounding below 4 KiB and the filesystem journal are not
 * counted. */
static uint64_t io_written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    if (!f) return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "wchar: %llu", &v) == 1) break;
    fclose(f);
    return v;
}

static uint64_t rk_prop(eng_t *e, const char *name)
{
    char *s = rocksdb_property_value(e->db, name);
    uint64_t v = s ? strtoull(s, NULL, 10) : 0;
    rocksdb_free(s);
    return v;
}

/* Waits until RocksDB has no flush or compaction running or pending, so
 * that its deferred work is counted in the phase that caused it. */
static void settle(eng_t *e)
{
    if (!e->db) return;
    for (int i = 0; i < 3000; i++) {
        if (!rk_prop(e, "rocksdb.compaction-pending") &&
            !rk_prop(e, "rocksdb.num-running-compactions") &&
            !rk_prop(e, "rocksdb.num-running-flushes") &&
            !rk_prop(e, "rocksdb.mem-table-flush-pending"))
            return;
        usleep(100000);
    }
}

static void load(eng_t *e)
{
    char v[512];
    char *err = NULL;
    if (e->env) {
        /* Batches need not be durable one by one: one sync at the end. */
        lcheck(mdb_env_set_flags(e->env, MDB_NOSYNC, 1), "mdb_env_set_flags");
        for (uint64_t i = 0; i < nrec; i += BATCH) {
            MDB_txn *t;
            lcheck(mdb_txn_begin(e->env, NULL, 0, &t), "mdb_txn_begin");
            for (uint64_t j = i; j < i + BATCH && j < nrec; j++) {
                MDB_val k = {koff[j + 1] - koff[j], keys + koff[j]}, d = {val_of(j, v), v};
                lcheck(mdb_put(t, e->dbi, &k, &d, 0), "mdb_put");
            }
            lcheck(mdb_txn_commit(t), "mdb_txn_commit");
        }
        lcheck(mdb_env_sync(e->env, 1), "mdb_env_sync");
        lcheck(mdb_env_set_flags(e->env, MDB_NOSYNC, 0), "mdb_env_set_flags");
    } else {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        for (uint64_t i = 0; i < nrec; i += BATCH) {
            rocksdb_writebatch_clear(wb);
            for (uint64_t j = i; j < i + BATCH && j < nrec; j++) {
                size_t vl = val_of(j, v);
                rocksdb_writebatch_put(wb, keys + koff[j], koff[j + 1] - koff[j], v, vl);
            }
            rocksdb_write(e->db, e->wo_nosync, wb, &err);
            rcheck(err, "rocksdb_write");
        }
        /* Durable without the WAL: memtables to synced SST files. */
        rocksdb_flushoptions_set_wait(fo, 1);
        rocksdb_flush(e->db, fo, &err);
        rcheck(err, "rocksdb_flush");
        rocksdb_flushoptions_destroy(fo);
        rocksdb_writebatch_destroy(wb);
    }
}

static void put_durable(eng_t *e, uint64_t i)
{
    char k[256], v[512];
    size_t kl = key_of(i, k), vl = val_of(i, v);
    if (e->env) {
        MDB_txn *t;
        MDB_val mk = {kl, k}, mv = {vl, v};
        lcheck(mdb_txn_begin(e->env, NULL, 0, &t), "mdb_txn_begin");
        lcheck(mdb_put(t, e->dbi, &mk, &mv, 0), "mdb_put");
        lcheck(mdb_txn_commit(t), "mdb_txn_commit");
    } else {
        char *err = NULL;
        rocksdb_put(e->db, e->wo_sync, k, kl, v, vl, &err);
        rcheck(err, "rocksdb_put");
    }
}

/* LMDB with group commit done by its caller, as the origin could do it:
 * concurrent puts queue their record; whoever finds no commit running
 * commits everything queued in one write transaction and wakes the others.
 * RocksDB does the same inside its write path. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static uint64_t g_queue[MAXTHR];
static int g_queued, g_busy;
static uint64_t g_open = 1, g_done; /* batch collecting now; last batch committed */

static void put_grouped(eng_t *e, uint64_t i)
{
    char k[256], v[512];
    pthread_mutex_lock(&g_mu);
    g_queue[g_queued++] = i;
    uint64_t mine = g_open;
    while (g_done < mine) {
        if (g_busy) {
            pthread_cond_wait(&g_cv, &g_mu);
            continue;
        }
        uint64_t batch[MAXTHR], b = g_open++;
        int n = g_queued;
        memcpy(batch, g_queue, (size_t)n * sizeof(*batch));
        g_queued = 0;
        g_busy = 1;
        pthread_mutex_unlock(&g_mu);
        MDB_txn *t;
        lcheck(mdb_txn_begin(e->env, NULL, 0, &t), "mdb_txn_begin");
        for (int j = 0; j < n; j++) {
            MDB_val mk = {key_of(batch[j], k), k}, mv = {val_of(batch[j], v), v};
            lcheck(mdb_put(t, e->dbi, &mk, &mv, 0), "mdb_put");
        }
        lcheck(mdb_txn_commit(t), "mdb_txn_commit");
        pthread_mutex_lock(&g_mu);
        g_done = b;
        g_busy = 0;
        pthread_cond_broadcast(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
}

/* One request's read as the origin does it: a snapshot, the lookup, a copy
 * of the value out (hs_kv_get1), the snapshot released. */
static size_t get(eng_t *e, uint64_t i, char *out)
{
    const char *k = keys + koff[i];
    size_t kl = koff[i + 1] - koff[i], vl;
    if (e->env) {
        MDB_txn *t;
        MDB_val mk = {kl, (void *)k}, mv;
        lcheck(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t), "mdb_txn_begin");
        lcheck(mdb_get(t, e->dbi, &mk, &mv), "mdb_get");
        memcpy(out, mv.mv_data, mv.mv_size);
        vl = mv.mv_size;
        mdb_txn_abort(t);
    } else {
        char *err = NULL;
        rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(e->db, e->ro, k, kl, &err);
        rcheck(err, "rocksdb_get_pinned");
        if (!ps) die("rocksdb_get_pinned", "record missing");
        const char *p = rocksdb_pinnableslice_value(ps, &vl);
        memcpy(out, p, vl);
        rocksdb_pinnableslice_destroy(ps);
    }
    return vl;
}

/* A ListObjects page: up to n records from the first key >= record i's,
 * each key and value read. Returns the records seen. */
static unsigned scan(eng_t *e, uint64_t i, unsigned n, uint64_t *sum)
{
    const char *k = keys + koff[i];
    size_t kl = koff[i + 1] - koff[i];
    unsigned got = 0;
    if (e->env) {
        MDB_txn *t;
        MDB_cursor *c;
        MDB_val mk = {kl, (void *)k}, mv;
        lcheck(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t), "mdb_txn_begin");
        lcheck(mdb_cursor_open(t, e->dbi, &c), "mdb_cursor_open");
        int rc = mdb_cursor_get(c, &mk, &mv, MDB_SET_RANGE);
        while (rc == 0 && got < n) {
            *sum += mk.mv_size + mv.mv_size + ((const unsigned char *)mv.mv_data)[0];
            got++;
            rc = mdb_cursor_get(c, &mk, &mv, MDB_NEXT);
        }
        if (rc && rc != MDB_NOTFOUND) lcheck(rc, "mdb_cursor_get");
        mdb_cursor_close(c);
        mdb_txn_abort(t);
    } else {
        rocksdb_iterator_t *it = rocksdb_create_iterator(e->db, e->ro);
        char *err = NULL;
        size_t a, b;
        for (rocksdb_iter_seek(it, k, kl); rocksdb_iter_valid(it) && got < n;
             rocksdb_iter_next(it)) {
            rocksdb_iter_key(it, &a);
            const char *p = rocksdb_iter_value(it, &b);
            *sum += a + b + (unsigned char)p[0];
            got++;
        }
        rocksdb_iter_get_error(it, &err);
        rcheck(err, "rocksdb_iter");
        rocksdb_iter_destroy(it);
    }
    return got;
}

/* ---- timed workers ---- */

enum { W_GET, W_SCAN, W_PUT, W_MIX, W_PUTG };

typedef struct worker {
    eng_t *e;
    int kind, write_pct;
    double until;
    uint64_t seed, nget, nput, sum;
    hist_t hget, hput;
    pthread_t th;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    char buf[512];
    while (now() < w->until) {
        uint64_t i = rnd(&w->seed) % nrec, t0 = now_ns();
        int write = w->kind == W_PUT || w->kind == W_PUTG ||
                    (w->kind == W_MIX && (int)(rnd(&w->seed) % 100) < w->write_pct);
        if (write) {
            uint64_t n = atomic_fetch_add(&w->e->next, 1);
            if (w->kind == W_PUTG && w->e->env)
                put_grouped(w->e, n);
            else
                put_durable(w->e, n);
            hadd(&w->hput, now_ns() - t0);
            w->nput++;
        } else if (w->kind == W_SCAN) {
            if (scan(w->e, i, PAGE, &w->sum) == 0) die("scan", "empty page");
            hadd(&w->hget, now_ns() - t0);
            w->nget++;
        } else {
            w->sum += get(w->e, i, buf);
            hadd(&w->hget, now_ns() - t0);
            w->nget++;
        }
    }
    return NULL;
}

typedef struct result {
    double get_ops, put_ops;
    hist_t hget, hput;
    double wbytes_per_put;
} result_t;

/* Runs one thread per entry of write_pcts (W_MIX) or nthr threads of kind
 * for secs seconds and sums them. */
static void run(eng_t *e, int kind, int nthr, const int *write_pcts, double secs, result_t *r)
{
    static worker_t w[MAXTHR];
    memset(w, 0, sizeof(w));
    memset(r, 0, sizeof(*r));
    uint64_t io0 = io_written();
    double t0 = now();
    for (int t = 0; t < nthr; t++) {
        w[t].e = e;
        w[t].kind = kind;
        w[t].write_pct = write_pcts ? write_pcts[t] : 0;
        w[t].until = t0 + secs;
        w[t].seed = mix((uint64_t)t * 977 + (uint64_t)(t0 * 1e6)) | 1;
        if (pthread_create(&w[t].th, NULL, work, &w[t])) die("pthread_create", NULL);
    }
    for (int t = 0; t < nthr; t++) {
        pthread_join(w[t].th, NULL);
        r->get_ops += (double)w[t].nget;
        r->put_ops += (double)w[t].nput;
        hmerge(&r->hget, &w[t].hget);
        hmerge(&r->hput, &w[t].hput);
    }
    double el = now() - t0;
    if (r->put_ops > 0) r->wbytes_per_put = (double)(io_written() - io0) / r->put_ops;
    r->get_ops /= el;
    r->put_ops /= el;
}

/* ---- results table ---- */

typedef struct row {
    const char *label;
    int higher_better;
    double v[2][MAXREPS]; /* [lmdb, rocksdb][rep] */
} row_t;

#define MAXROWS 40
static row_t rows[MAXROWS];
static int nrows, reps;

static row_t *row(const char *label, int higher_better)
{
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].label, label)) return &rows[i];
    if (nrows == MAXROWS) die("rows", "too many");
    rows[nrows].label = label;
    rows[nrows].higher_better = higher_better;
    return &rows[nrows++];
}

static void rec(const char *label, int higher_better, eng_t *e, int rep, double v)
{
    row(label, higher_better)->v[e == &rk][rep] = v;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *xs, int n)
{
    double s[MAXREPS];
    memcpy(s, xs, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), dcmp);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void print_table(void)
{
    printf("\n%-44s %12s %12s %10s  %s\n", "metric (median of reps)", "lmdb", "rocksdb",
           "lmdb/rdb", "better");
    for (int i = 0; i < nrows; i++) {
        row_t *r = &rows[i];
        double ratio[MAXREPS];
        /* The ratio of each rep's pair, then their median: drift on a
         * shared machine hits both halves of a pair alike. */
        for (int k = 0; k < reps; k++)
            ratio[k] = r->v[1][k] ? r->v[0][k] / r->v[1][k] : 0.0 / 0.0;
        double l = median(r->v[0], reps), q = median(r->v[1], reps), x = median(ratio, reps);
        const char *better = x == x ? ((x > 1) == !!r->higher_better ? "lmdb" : "rocksdb") : "";
        if (x > 0.95 && x < 1.05) better = "~same";
        printf("%-44s %12.*f %12.*f %10.2f  %s\n", r->label, l < 10 ? 2 : 0, l, q < 10 ? 2 : 0, q,
               x, better);
    }
}

/* ---- phases ---- */

static double secs = 3;

static void both(int rep, void (*fn)(eng_t *, int))
{
    /* Alternate who goes first so slow drift does not favour one. */
    if (rep % 2) {
        fn(&rk, rep);
        fn(&lm, rep);
    } else {
        fn(&lm, rep);
        fn(&rk, rep);
    }
}

static char basedir[4000];

static void ph_load(eng_t *e, int rep)
{
    eng_close(e);
    rm_dir(e->dir);
    eng_open(e);
    uint64_t io0 = io_written();
    double t0 = now();
    load(e);
    double el = now() - t0;
    settle(e);
    double st = now() - t0;
    double wr = (double)(io_written() - io0) / 1048576.0;
    rec("bulk load 1000/batch, sync at end (s)", 0, e, rep, el);
    rec("bulk load rate (records/s)", 1, e, rep, (double)nrec / el);
    rec("bulk load until compactions settle (s)", 0, e, rep, st);
    rec("on-disk size after load (MiB)", 0, e, rep, dir_mib(e->dir));
    rec("bulk load bytes written incl. compaction (MiB)", 0, e, rep, wr);
    atomic_store(&e->next, nrec);
}

static void ph_get1(eng_t *e, int rep)
{
    result_t r;
    run(e, W_GET, 1, NULL, secs, &r);
    rec("get, 1 thread (ops/s)", 1, e, rep, r.get_ops);
    rec("get, 1 thread p99 (us)", 0, e, rep, hpct(&r.hget, 0.99));
}

static void ph_get2(eng_t *e, int rep)
{
    result_t r;
    run(e, W_GET, 2, NULL, secs, &r);
    rec("get, 2 threads (ops/s)", 1, e, rep, r.get_ops);
}

static void ph_scan(eng_t *e, int rep)
{
    result_t r;
    run(e, W_SCAN, 1, NULL, secs, &r);
    rec("list page of 1000, 1 thread, p50 (us)", 0, e, rep, hpct(&r.hget, 0.5));
    rec("list page of 1000, 1 thread, p99 (us)", 0, e, rep, hpct(&r.hget, 0.99));
}

static void ph_rw(eng_t *e, int rep)
{
    static const int pct[2] = {0, 100};
    result_t r;
    run(e, W_MIX, 2, pct, secs, &r);
    settle(e);
    rec("reader+durable writer: get (ops/s)", 1, e, rep, r.get_ops);
    rec("reader+durable writer: get p99 (us)", 0, e, rep, hpct(&r.hget, 0.99));
    rec("reader+durable writer: get p99.9 (us)", 0, e, rep, hpct(&r.hget, 0.999));
    rec("reader+durable writer: put (ops/s)", 1, e, rep, r.put_ops);
}

static void ph_mix(eng_t *e, int rep)
{
    static const int pct[2] = {10, 10};
    result_t r;
    run(e, W_MIX, 2, pct, secs, &r);
    settle(e);
    rec("90/10 mix, 2 threads: ops/s", 1, e, rep, r.get_ops + r.put_ops);
    rec("90/10 mix, 2 threads: get p99 (us)", 0, e, rep, hpct(&r.hget, 0.99));
    rec("90/10 mix, 2 threads: put p99 (ms)", 0, e, rep, hpct(&r.hput, 0.99) / 1000);
}

static void ph_put(eng_t *e, int rep, int nthr)
{
    result_t r;
    run(e, W_PUT, nthr, NULL, secs, &r);
    if (nthr == 1) {
        rec("durable put, 1 thread (ops/s)", 1, e, rep, r.put_ops);
        rec("durable put, 1 thread p50 (ms)", 0, e, rep, hpct(&r.hput, 0.5) / 1000);
        rec("durable put, 1 thread p99 (ms)", 0, e, rep, hpct(&r.hput, 0.99) / 1000);
        rec("durable put, 1 thread: KiB written per put", 0, e, rep, r.wbytes_per_put / 1024);
    } else {
        rec("durable put, 4 threads (ops/s)", 1, e, rep, r.put_ops);
        rec("durable put, 4 threads p50 (ms)", 0, e, rep, hpct(&r.hput, 0.5) / 1000);
        rec("durable put, 4 threads p99 (ms)", 0, e, rep, hpct(&r.hput, 0.99) / 1000);
        rec("durable put, 4 threads: KiB written per put", 0, e, rep, r.wbytes_per_put / 1024);
    }
}

/* LMDB with its caller grouping commits; RocksDB as in ph_put4, run again
 * so that the pair shares the same moment. */
static void ph_put4g(eng_t *e, int rep)
{
    result_t r;
    run(e, W_PUTG, 4, NULL, secs, &r);
    rec("durable put, 4 thr, lmdb grouped (ops/s)", 1, e, rep, r.put_ops);
    rec("durable put, 4 thr, lmdb grouped p50 (ms)", 0, e, rep, hpct(&r.hput, 0.5) / 1000);
    rec("durable put, 4 thr, lmdb grouped p99 (ms)", 0, e, rep, hpct(&r.hput, 0.99) / 1000);
    rec("durable put, 4 thr, lmdb grouped KiB/put", 0, e, rep, r.wbytes_per_put / 1024);
}

static void ph_put1(eng_t *e, int rep)
{
    ph_put(e, rep, 1);
}

static void ph_put4(eng_t *e, int rep)
{
    ph_put(e, rep, 4);
}

/* Reads every record once through a cursor (LMDB: into the page cache;
 * RocksDB: into the block cache), then a second of random gets. */
static void warm(eng_t *e)
{
    uint64_t sum = 0;
    result_t r;
    for (uint64_t i = 0; i < nrec;) {
        unsigned got = scan(e, i, 100000, &sum);
        i += got ? got : 1;
    }
    run(e, W_GET, 1, NULL, 1, &r);
}

static void memory_note(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    printf("\nmemory after the read phases:\n");
    printf("  rocksdb block cache %.0f MiB, table readers (index+filters) %.0f MiB, "
           "memtables %.0f MiB\n",
           (double)rk_prop(&rk, "rocksdb.block-cache-usage") / 1048576.0,
           (double)rk_prop(&rk, "rocksdb.estimate-table-readers-mem") / 1048576.0,
           (double)rk_prop(&rk, "rocksdb.cur-size-all-mem-tables") / 1048576.0);
    printf("  lmdb: no heap cache; reads are served from the mapped file (%.0f MiB on disk)\n",
           dir_mib(lm.dir));
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "RssAnon", 7) || !strncmp(line, "RssFile", 7))
            printf("  process %s", line);
    if (f) fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store-engines DIR [records] [reps] [seconds] [cache_mb]\n");
        return 2;
    }
    snprintf(basedir, sizeof(basedir), "%s", argv[1]);
    nrec = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    reps = argc > 3 ? atoi(argv[3]) : 3;
    secs = argc > 4 ? atof(argv[4]) : 3;
    g_cache_mb = argc > 5 ? strtoull(argv[5], NULL, 10) : 512;
    if (nrec < PAGE || reps < 1 || reps > MAXREPS || secs <= 0) die("arguments", "out of range");
    if (mkdir(basedir, 0755) < 0 && errno != EEXIST) die("mkdir", basedir);
    snprintf(lm.dir, sizeof(lm.dir), "%s/lmdb", basedir);
    snprintf(rk.dir, sizeof(rk.dir), "%s/rocksdb", basedir);
    setvbuf(stdout, NULL, _IOLBF, 0);

    make_keys();
    uint64_t kmin = 1000, kmax = 0, ksum = 0, vsum = 0;
    char v[512];
    for (uint64_t i = 0; i < nrec; i++) {
        uint64_t kl = koff[i + 1] - koff[i];
        kmin = kl < kmin ? kl : kmin;
        kmax = kl > kmax ? kl : kmax;
        ksum += kl;
        vsum += val_of(i, v);
    }
    int maj, min, pat;
    mdb_version(&maj, &min, &pat);
    printf("store-engines: LMDB %d.%d.%d vs RocksDB (rocksdb/c.h), %llu records, "
           "keys %llu..%llu B (mean %.0f), values 200..400 B (mean %.0f), "
           "%.0f MiB logical; %d reps x %.1f s per timed phase; RocksDB block cache %zu MiB\n",
           maj, min, pat, (unsigned long long)nrec, (unsigned long long)kmin,
           (unsigned long long)kmax, (double)ksum / (double)nrec, (double)vsum / (double)nrec,
           (double)(ksum + vsum) / 1048576.0, reps, secs, g_cache_mb);

    struct {
        const char *what;
        void (*fn)(eng_t *, int);
    } phases[] = {
        {"get, 1 thread", ph_get1},
        {"get, 2 threads", ph_get2},
        {"list pages", ph_scan},
        {"reader + durable writer", ph_rw},
        {"90/10 mix", ph_mix},
        {"durable put, 1 thread", ph_put1},
        {"durable put, 4 threads", ph_put4},
        {"durable put, 4 threads, LMDB commits grouped by the caller", ph_put4g},
    };
    for (int rep = 0; rep < reps; rep++) {
        printf("[rep %d] bulk load\n", rep + 1);
        both(rep, ph_load);
    }
    printf("warm-up: full scan + 1 s of gets, both engines\n");
    warm(&lm);
    warm(&rk);
    for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
        if (p == 3) memory_note();
        for (int rep = 0; rep < reps; rep++) {
            printf("[rep %d] %s\n", rep + 1, phases[p].what);
            both(rep, phases[p].fn);
        }
    }
    print_table();
    eng_close(&lm);
    eng_close(&rk);
    if (!getenv("KEEP")) {
        rm_dir(lm.dir);
        rm_dir(rk.dir);
    }
    return 0;
}
