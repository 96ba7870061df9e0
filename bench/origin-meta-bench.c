/*
 * Driver of bench/origin-meta: the origin metadata store (src/origin/meta*.c)
 * against the raw kv store it sits on (src/store/kv.h, LMDB), same machine,
 * same run, same key and value sizes.
 *
 *   origin-meta-bench DIR [keys] [synced_puts]
 *
 * 1. load `keys` object records into one bucket (no_sync: bulk load), the
 *    raw peer gets the same keys with a value of the same encoded size;
 * 2. PUT: `synced_puts` overwrites with durable commits (fsync each), meta
 *    vs raw kv put of the same bytes;
 * 3. GET: random gets over all keys, meta (decode into a record) vs raw
 *    kv get (copy of the value);
 * 4. LIST: pages of 1000 keys from random start-after positions, and pages
 *    with a delimiter rolling up 1000 directories; raw peer: a 1000-step
 *    cursor scan from the same positions.
 * Absolute numbers on a shared 2-core machine are noise: read the ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/err.h"
#include "origin/meta.h"
#include "store/kv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 1000 directories of keys/1000 files each. */
static size_t key_of(char *k, unsigned long i)
{
    return (size_t)sprintf(k, "photos/d%04lu/IMG_%08lu.jpg", i % 1000, i);
}

static hs_meta_obj_t record(hs_meta_seg_t *seg, char *segname, unsigned long i)
{
    hs_meta_obj_t r;
    memset(&r, 0, sizeof(r));
    sprintf(segname, "o-%016lx-%08lu", (unsigned long)rnd(), i);
    seg->name = segname;
    seg->size = 100000 + i % 1000;
    r.size = seg->size;
    r.mtime_ns = 1700000000000000000 + (int64_t)i;
    r.etag = "5eb63bbbe01eeed093cb22bb8f5acdc3";
    r.content_type = "image/jpeg";
    r.storage_class = "STANDARD";
    r.segs = seg;
    r.nsegs = 1;
    return r;
}

#define RAW_VAL 128 /* about an encoded record of the shape above */

static void die(const char *what, int rc)
{
    fprintf(stderr, "%s: %s\n", what, hs_strerror(rc));
    exit(1);
}

static int count_obj(void *arg, const char *key, size_t kl, const hs_meta_obj_t *r)
{
    (*(unsigned long *)arg)++;
    return 0;
}
static int count_pre(void *arg, const char *p, size_t l)
{
    (*(unsigned long *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [keys] [synced_puts]\n", argv[0]);
        return 2;
    }
    unsigned long nkeys = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    unsigned long nsync = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
    char mdir[4096], rdir[4096], k[128], segname[64];
    snprintf(mdir, sizeof(mdir), "%s/meta", argv[1]);
    snprintf(rdir, sizeof(rdir), "%s/raw", argv[1]);
    hs_meta_t *m;
    hs_kv_t *raw;
    hs_kv_opts_t nosync = {.no_sync = 1};
    int rc;
    uint8_t val[RAW_VAL];
    memset(val, 'v', sizeof(val));

    /* 1. load */
    if ((rc = hs_meta_open_opts(mdir, true, &m)) < 0) die("meta open", rc);
    if ((rc = hs_kv_open("lmdb", rdir, &nosync, &raw)) < 0) die("kv open", rc);
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    if ((rc = hs_meta_bucket_create(m, "bench", &b)) < 0 && rc != HS_EEXIST) die("bucket", rc);
    double t0 = now();
    for (unsigned long i = 0; i < nkeys; i++) {
        hs_meta_seg_t seg;
        hs_meta_obj_t r = record(&seg, segname, i);
        size_t kl = key_of(k, i);
        if ((rc = hs_meta_obj_put(m, "bench", k, kl, &r, NULL)) < 0) die("meta put", rc);
    }
    double t_meta_load = now() - t0;
    t0 = now();
    for (unsigned long i = 0; i < nkeys; i++) {
        size_t kl = key_of(k, i);
        if ((rc = hs_kv_put1(raw, k, kl, val, sizeof(val))) < 0) die("raw put", rc);
    }
    double t_raw_load = now() - t0;
    printf("load %lu keys, one txn each, no_sync: meta %.0f puts/s, raw kv %.0f puts/s, ratio %.2f\n",
           nkeys, nkeys / t_meta_load, nkeys / t_raw_load, t_raw_load / t_meta_load);
    hs_meta_close(m);
    hs_kv_close(raw);

    /* 2. durable puts (overwrites: meta also reads the old record) */
    if ((rc = hs_meta_open(mdir, &m)) < 0) die("meta open", rc);
    if ((rc = hs_kv_open("lmdb", rdir, NULL, &raw)) < 0) die("kv open", rc);
    double tm = 0, tr = 0;
    for (unsigned long i = 0; i < nsync; i++) {
        unsigned long j = rnd() % nkeys;
        hs_meta_seg_t seg;
        hs_meta_obj_t r = record(&seg, segname, j);
        hs_meta_dropped_t d = {0};
        size_t kl = key_of(k, j);
        /* Alternate so drift on a shared machine hits both sides. */
        t0 = now();
        if ((rc = hs_meta_obj_put(m, "bench", k, kl, &r, &d)) < 0) die("meta put", rc);
        tm += now() - t0;
        hs_meta_dropped_free(&d);
        t0 = now();
        if ((rc = hs_kv_put1(raw, k, kl, val, sizeof(val))) < 0) die("raw put", rc);
        tr += now() - t0;
    }
    printf("put (durable, fsync per commit) x%lu: meta %.0f ops/s, raw kv %.0f ops/s, ratio %.2f\n",
           nsync, nsync / tm, nsync / tr, tr / tm);

    /* 3. gets */
    unsigned long ngets = nkeys < 200000 ? nkeys : 200000;
    tm = tr = 0;
    for (int round = 0; round < 2; round++) {
        t0 = now();
        for (unsigned long i = 0; i < ngets / 2; i++) {
            hs_meta_obj_t *o;
            size_t kl = key_of(k, rnd() % nkeys);
            if ((rc = hs_meta_obj_get(m, "bench", k, kl, &o)) < 0) die("meta get", rc);
            hs_meta_obj_free(o);
        }
        tm += now() - t0;
        t0 = now();
        for (unsigned long i = 0; i < ngets / 2; i++) {
            void *v;
            size_t vl;
            size_t kl = key_of(k, rnd() % nkeys);
            if ((rc = hs_kv_get1(raw, k, kl, &v, &vl)) < 0) die("raw get", rc);
            free(v);
        }
        tr += now() - t0;
    }
    printf("get x%lu (random, one read txn each): meta %.0f ops/s, raw kv %.0f ops/s, ratio %.2f\n",
           ngets, ngets / tm, ngets / tr, tr / tm);

    /* 4. listing pages of 1000 */
    unsigned pages = 200;
    double tl = 0, td = 0;
    tr = 0;
    unsigned long items = 0, ditems = 0;
    for (unsigned p = 0; p < pages; p++) {
        char next[HS_META_KEY_MAX + 1];
        size_t nl;
        bool trunc;
        size_t kl = key_of(k, rnd() % nkeys);
        hs_meta_list_opts_t o = {"photos/", 7, NULL, 0, k, kl, 1000};
        hs_meta_list_cb_t cb = {count_obj, count_pre, &items};
        t0 = now();
        if ((rc = hs_meta_obj_list(m, "bench", &o, &cb, &trunc, next, sizeof(next), &nl)) < 0)
            die("list", rc);
        tl += now() - t0;
        /* raw: a 1000-record scan from the same place */
        hs_kv_txn_t *txn;
        hs_kv_cursor_t *c;
        hs_kv_val_t ck, cv;
        t0 = now();
        if ((rc = hs_kv_txn_begin(raw, HS_KV_RDONLY, &txn)) < 0) die("txn", rc);
        if ((rc = hs_kv_cursor_open(txn, k, kl, NULL, 0, &c)) < 0) die("cursor", rc);
        for (int i = 0; i < 1000 && hs_kv_cursor_next(c, &ck, &cv) == 0; i++) {
            void *copy = malloc(cv.len);
            memcpy(copy, cv.data, cv.len);
            free(copy);
        }
        hs_kv_cursor_close(c);
        hs_kv_txn_abort(txn);
        tr += now() - t0;
        /* delimiter: 1000 directories rolled up, each a seek past nkeys/1000 keys */
        hs_meta_list_opts_t od = {"photos/", 7, "/", 1, NULL, 0, 1000};
        hs_meta_list_cb_t cbd = {count_obj, count_pre, &ditems};
        t0 = now();
        if ((rc = hs_meta_obj_list(m, "bench", &od, &cbd, &trunc, next, sizeof(next), &nl)) < 0)
            die("list", rc);
        td += now() - t0;
    }
    printf("list 1000 keys of %lu (random start-after) x%u: meta %.3f ms/page, raw kv 1000-step scan "
           "%.3f ms, ratio %.2f (%lu items)\n",
           nkeys, pages, tl / pages * 1e3, tr / pages * 1e3, tr / tl, items);
    printf("list with delimiter, 1000 common prefixes over %lu keys: %.3f ms/page (%lu items)\n",
           nkeys, td / pages * 1e3, ditems);
    hs_meta_close(m);
    hs_kv_close(raw);
    return 0;
}
