/*
 * The write path. A writer cuts its input stream into FastCDC chunks,
 * hashes each with SHA-256, skips chunks the index already holds (global
 * dedup) and hands new ones to a packer, which fills a stripe buffer,
 * Reed-Solomon codes full stripes into D+P fragments and writes one
 * fragment file per drive. Commit makes it durable in this order:
 *   1. every fragment file written is fdatasync'ed, then each drive
 *      directory is fsync'ed (the new names are durable);
 *   2. one index transaction (fsync'ed by LMDB) adds the chunk records,
 *      stripe records, reference counts and the manifest, and drops the
 *      references of the object it replaces.
 * The syncs of step 1 run in parallel, and a directory fsync covers every
 * put whose files it names (syncer.c); step 2 is a member of a group
 * commit (hs_kv_group_run), atomic on its own, durable with its group.
 * A crash before 2 completes leaves only unreferenced fragment files
 * (removed by gc's orphan sweep); after it, everything is durable.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/err.h"
#include "objects/internal.h"
#include "objects/objects.h"
#include "objects/syncer.h"

/* ---------------- packer ----------------
 *
 * The caller's thread fills a stripe buffer; a full buffer is queued to a
 * few worker threads that Reed-Solomon code it, checksum it and write its
 * fragments, while the caller chunks and hashes the next one. Several
 * stripes in flight keep several writes queued at the device. A put of a
 * single stripe is sealed inline (no thread is started).
 */
#define PK_WORKERS 3
#define PK_JOBS (PK_WORKERS + 1)

typedef struct pk_job {
    uint8_t *buf;    /* d * frag_max data bytes, page-aligned (O_DIRECT) */
    uint8_t *parity; /* p * frag_max */
    uint64_t id;
    uint32_t used, chunks;
    uint64_t bytes;
    struct pk_job *next;
} pk_job_t;

struct hs__packer {
    hs_objects_t *s;
    int tier;
    hs__geom_t g;
    const hs_ec_t *ec;
    uint32_t cap;
    pk_job_t *cur; /* being filled by the caller */
    ZSTD_CCtx *zc;
    uint8_t *zbuf;
    size_t zcap;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pk_job_t *free_list, *qhead, *qtail;
    int njobs, inflight, nthreads, stop, err;
    pthread_t th[PK_WORKERS];
    uint64_t *ids; /* stripes written (under mu) */
    hs__stripe_rec_t *recs;
    size_t nstripes, capstripes, synced;
};

static void job_free(pk_job_t *j)
{
    if (j) {
        free(j->buf);
        free(j->parity);
        free(j);
    }
}

static pk_job_t *job_new(hs__packer_t *pk)
{
    pk_job_t *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    size_t pl = (size_t)(pk->g.p ? pk->g.p : 1) * pk->s->frag_max;
    if (posix_memalign((void **)&j->buf, 4096, pk->cap) != 0) j->buf = NULL;
    if (posix_memalign((void **)&j->parity, 4096, pl) != 0) j->parity = NULL;
    if (!j->buf || !j->parity) {
        job_free(j);
        return NULL;
    }
    return j;
}

int hs__packer_new(hs_objects_t *s, int tier, hs__packer_t **out)
{
    hs__packer_t *pk = calloc(1, sizeof(*pk));
    if (!pk) return HS_ENOMEM;
    pk->s = s;
    pk->tier = tier;
    pk->g = hs__tier_geom(s, tier);
    pk->ec = hs__ec(s, pk->g.d, pk->g.p);
    pk->cap = (uint32_t)pk->g.d * s->frag_max;
    pthread_mutex_init(&pk->mu, NULL);
    pthread_cond_init(&pk->cv, NULL);
    if (!pk->ec) {
        hs__packer_free(pk);
        return HS_ENOMEM;
    }
    *out = pk;
    return 0;
}

void hs__packer_free(hs__packer_t *pk)
{
    if (!pk) return;
    pthread_mutex_lock(&pk->mu);
    pk->stop = 1;
    pthread_cond_broadcast(&pk->cv);
    pthread_mutex_unlock(&pk->mu);
    for (int i = 0; i < pk->nthreads; i++)
        pthread_join(pk->th[i], NULL);
    job_free(pk->cur);
    while (pk->free_list) {
        pk_job_t *j = pk->free_list;
        pk->free_list = j->next;
        job_free(j);
    }
    while (pk->qhead) { /* never started: drop */
        pk_job_t *j = pk->qhead;
        pk->qhead = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&pk->mu);
    pthread_cond_destroy(&pk->cv);
    free(pk->zbuf);
    ZSTD_freeCCtx(pk->zc);
    free(pk->ids);
    free(pk->recs);
    free(pk);
}

/* Codes and writes one stripe; fills *out. Runs on a worker (or inline). */
static int seal_job(hs__packer_t *pk, pk_job_t *j, hs__stripe_rec_t *out)
{
    hs_objects_t *s = pk->s;
    int d = pk->g.d, p = pk->g.p;
    uint32_t f = (j->used + (uint32_t)d - 1) / (uint32_t)d;
    f = (f + 63) & ~63u;
    if (f >= 65536) /* large fragments: 4 KiB multiples, for O_DIRECT */
        f = (f + 4095) & ~4095u;
    memset(j->buf + j->used, 0, (size_t)d * f - j->used);
    uint8_t *data[HS_EC_MAX], *par[HS_EC_MAX];
    for (int i = 0; i < d; i++)
        data[i] = j->buf + (size_t)i * f;
    for (int i = 0; i < p; i++)
        par[i] = j->parity + (size_t)i * f;
    hs_ec_encode(pk->ec, f, data, par);

    hs__stripe_rec_t st = {
        .d = (uint8_t)d,
        .p = (uint8_t)p,
        .tier = (uint8_t)pk->tier,
        .first_drive = (uint8_t)(j->id % (uint64_t)s->ndrives),
        .frag_len = f,
        .data_len = j->used,
        .live_chunks = j->chunks,
        .live_bytes = j->bytes,
        .ctime_ns = hs__now_ns(),
    };
    /* A fragment that cannot be written (a failed drive) leaves the stripe
     * degraded but readable while at most p are lost; heal restores it. */
    int failed = 0, last = 0;
    for (int i = 0; i < d + p; i++) {
        char path[4200];
        hs__frag_path(path, sizeof(path), hs__frag_drive(s, &st, i), j->id, i);
        int rc = hs__frag_write(path, j->id, i, &st, i < d ? data[i] : par[i - d], false);
        if (rc == HS_EEXIST)
            return rc; /* stripe-id collision: never degrade into a file we do not own */
        if (rc < 0) {
            failed++;
            last = rc;
        }
    }
    if (failed > p) return last;
    *out = st;
    return 0;
}

/* Records a written stripe (caller holds mu). */
static int record_stripe(hs__packer_t *pk, uint64_t id, const hs__stripe_rec_t *st)
{
    if (pk->nstripes == pk->capstripes) {
        size_t nc = pk->capstripes ? pk->capstripes * 2 : 16;
        uint64_t *ids = realloc(pk->ids, nc * sizeof(*ids));
        if (ids) pk->ids = ids;
        hs__stripe_rec_t *recs = realloc(pk->recs, nc * sizeof(*recs));
        if (recs) pk->recs = recs;
        if (!ids || !recs) return HS_ENOMEM;
        pk->capstripes = nc;
    }
    pk->ids[pk->nstripes] = id;
    pk->recs[pk->nstripes++] = *st;
    return 0;
}

static void *worker(void *arg)
{
    hs__packer_t *pk = arg;
    pthread_mutex_lock(&pk->mu);
    for (;;) {
        while (!pk->qhead && !pk->stop)
            pthread_cond_wait(&pk->cv, &pk->mu);
        if (!pk->qhead) break;
        pk_job_t *j = pk->qhead;
        pk->qhead = j->next;
        if (!pk->qhead) pk->qtail = NULL;
        pthread_mutex_unlock(&pk->mu);
        hs__stripe_rec_t st;
        int rc = seal_job(pk, j, &st);
        pthread_mutex_lock(&pk->mu);
        if (rc == 0) rc = record_stripe(pk, j->id, &st);
        if (rc < 0 && !pk->err) pk->err = rc;
        j->next = pk->free_list;
        pk->free_list = j;
        pk->inflight--;
        pthread_cond_broadcast(&pk->cv);
    }
    pthread_mutex_unlock(&pk->mu);
    return NULL;
}

/* Hands the current buffer over: to the workers, or sealed inline when
 * `last` and nothing else is in flight (small puts start no thread). */
static int packer_submit(hs__packer_t *pk, bool last)
{
    pk_job_t *j = pk->cur;
    int rc = 0;
    if (!j) return 0;
    pk->cur = NULL;
    pthread_mutex_lock(&pk->mu);
    if (j->used == 0) {
        j->next = pk->free_list;
        pk->free_list = j;
        pthread_mutex_unlock(&pk->mu);
        return 0;
    }
    if (last && pk->inflight == 0 && pk->nthreads == 0) {
        pthread_mutex_unlock(&pk->mu);
        hs__stripe_rec_t st;
        rc = seal_job(pk, j, &st);
        pthread_mutex_lock(&pk->mu);
        if (rc == 0) rc = record_stripe(pk, j->id, &st);
        j->next = pk->free_list;
        pk->free_list = j;
        pthread_mutex_unlock(&pk->mu);
        return rc;
    }
    while (pk->nthreads < PK_WORKERS) {
        if (pthread_create(&pk->th[pk->nthreads], NULL, worker, pk) != 0) break;
        pk->nthreads++;
    }
    if (pk->nthreads == 0) {
        pthread_mutex_unlock(&pk->mu);
        job_free(j);
        return HS_ENOMEM;
    }
    j->next = NULL;
    if (pk->qtail)
        pk->qtail->next = j;
    else
        pk->qhead = j;
    pk->qtail = j;
    pk->inflight++;
    pthread_cond_broadcast(&pk->cv);
    rc = pk->err;
    pthread_mutex_unlock(&pk->mu);
    return rc;
}

/* A free buffer to fill: recycled, new (up to PK_JOBS), or waited for. */
static int packer_take(hs__packer_t *pk)
{
    pthread_mutex_lock(&pk->mu);
    for (;;) {
        if (pk->err) {
            int rc = pk->err;
            pthread_mutex_unlock(&pk->mu);
            return rc;
        }
        if (pk->free_list) {
            pk->cur = pk->free_list;
            pk->free_list = pk->cur->next;
            break;
        }
        if (pk->njobs < PK_JOBS) {
            pk->cur = job_new(pk);
            if (!pk->cur) {
                pthread_mutex_unlock(&pk->mu);
                return HS_ENOMEM;
            }
            pk->njobs++;
            break;
        }
        pthread_cond_wait(&pk->cv, &pk->mu);
    }
    pthread_mutex_unlock(&pk->mu);
    pk->cur->id = hs__random_id();
    pk->cur->used = 0;
    pk->cur->chunks = 0;
    pk->cur->bytes = 0;
    return 0;
}

int hs__packer_add(hs__packer_t *pk, const uint8_t hash[32], const uint8_t *raw, uint32_t len,
                   hs__chunk_rec_t *rec)
{
    const uint8_t *src = raw;
    uint32_t stored = len;
    uint8_t comp = 0;
    int rc;
    (void)hash;
    if (pk->tier == HS_TIER_WARM || pk->tier == HS_TIER_COLD) {
        size_t bound = ZSTD_compressBound(len);
        if (!pk->zc && !(pk->zc = ZSTD_createCCtx())) return HS_ENOMEM;
        if (bound > pk->zcap) {
            uint8_t *z = realloc(pk->zbuf, bound);
            if (!z) return HS_ENOMEM;
            pk->zbuf = z;
            pk->zcap = bound;
        }
        size_t n = ZSTD_compressCCtx(pk->zc, pk->zbuf, pk->zcap, raw, len,
                                     pk->tier == HS_TIER_COLD ? 9 : 1);
        /* Keep the compressed form only when it saves at least 1/16. */
        if (!ZSTD_isError(n) && n < len - len / 16) {
            src = pk->zbuf;
            stored = (uint32_t)n;
            comp = 1;
        }
    }
    if (stored > pk->cap) return HS_E2BIG;
    if (pk->cur && pk->cur->used + stored > pk->cap && (rc = packer_submit(pk, false)) < 0)
        return rc;
    if (!pk->cur && (rc = packer_take(pk)) < 0) return rc;
    pk_job_t *j = pk->cur;
    memcpy(j->buf + j->used, src, stored);
    memset(rec, 0, sizeof(*rec));
    rec->stripe = j->id;
    rec->off = j->used;
    rec->stored_len = stored;
    rec->raw_len = len;
    rec->comp = comp;
    rec->tier = (uint8_t)pk->tier;
    j->used += stored;
    j->chunks++;
    j->bytes += stored;
    return 0;
}

/* Data first: every fragment written since the last flush, all at once,
 * then the drive directories that name them (fsyncs shared with
 * concurrent puts). A fragment whose sync or whose directory's sync failed
 * (its drive failed after the write) counts as lost, like a failed write:
 * a stripe is durable while at most p of its fragments are. */
static int sync_new(hs__packer_t *pk)
{
    hs_objects_t *s = pk->s;
    size_t nfr = 0, cap = 0;
    for (size_t k = pk->synced; k < pk->nstripes; k++)
        nfr += (size_t)pk->recs[k].d + pk->recs[k].p;
    if (nfr == 0) return 0;
    for (int i = 0; i < s->ndrives; i++)
        if (strlen(s->drives[i]) > cap) cap = strlen(s->drives[i]);
    cap += 24; /* "/" 16 hex "." 2 digits NUL */
    hs__sync_op_t *ops = calloc(nfr + (size_t)s->ndrives, sizeof(*ops));
    char *paths = malloc(nfr * cap);
    int dirop[HS_OBJ_MAX_DRIVES];
    int rc = 0;
    if (!ops || !paths) {
        rc = HS_ENOMEM;
        goto out;
    }
    size_t o = 0;
    for (size_t k = pk->synced; k < pk->nstripes; k++)
        for (int i = 0; i < pk->recs[k].d + pk->recs[k].p; i++, o++) {
            char *path = paths + o * cap;
            hs__frag_path(path, cap, hs__frag_drive(s, &pk->recs[k], i), pk->ids[k], i);
            ops[o].path = path;
        }
    hs__sync_run(ops, nfr);
    size_t nd = 0;
    for (int i = 0; i < s->ndrives; i++)
        dirop[i] = -1;
    for (size_t k = pk->synced; k < pk->nstripes; k++)
        for (int i = 0; i < pk->recs[k].d + pk->recs[k].p; i++) {
            int drive = (pk->recs[k].first_drive + i) % s->ndrives;
            if (dirop[drive] >= 0) continue;
            dirop[drive] = (int)nd;
            ops[nfr + nd].path = s->drives[drive];
            ops[nfr + nd++].dir = true;
        }
    hs__sync_run(ops + nfr, nd);
    o = 0;
    for (size_t k = pk->synced; k < pk->nstripes && rc == 0; k++) {
        const hs__stripe_rec_t *st = &pk->recs[k];
        int lost = 0;
        for (int i = 0; i < st->d + st->p; i++, o++) {
            int drive = (st->first_drive + i) % s->ndrives;
            if (ops[o].rc < 0 || ops[nfr + (size_t)dirop[drive]].rc < 0) lost++;
        }
        if (lost > st->p) rc = HS_EIO;
    }
    if (rc == 0) pk->synced = pk->nstripes;
out:
    free(ops);
    free(paths);
    return rc;
}

int hs__packer_flush(hs__packer_t *pk)
{
    hs_objects_t *s = pk->s;
    int rc = packer_submit(pk, true);
    pthread_mutex_lock(&pk->mu);
    while (pk->inflight > 0)
        pthread_cond_wait(&pk->cv, &pk->mu);
    if (rc == 0) rc = pk->err;
    pthread_mutex_unlock(&pk->mu);
    if (rc < 0 || s->no_fsync) return rc;
    return sync_new(pk);
}

size_t hs__packer_stripes(hs__packer_t *pk, uint64_t **ids, hs__stripe_rec_t **recs)
{
    *ids = pk->ids;
    *recs = pk->recs;
    return pk->nstripes;
}

/* ---------------- writer ---------------- */

struct hs_obj_writer {
    hs_objects_t *s;
    char *name;
    int lockfd;
    int tier;
    hs__packer_t *pk;
    uint8_t *ibuf;
    size_t ilen, icap;
    EVP_MD_CTX *md;
    hs__mchunk_t *mc;
    uint32_t nmc, capmc;
    hs__packed_t *newc;
    uint8_t *inserted;
    uint32_t nnew, capnew;
    uint32_t *set; /* open addressing: index+1 into newc, 0 = empty */
    uint32_t setcap;
    uint64_t size;
    uint64_t new_raw; /* raw bytes of chunks this put added */
    int err;
};

static uint32_t set_slot(const hs_obj_writer_t *w, const uint8_t *hash)
{
    uint32_t h;
    memcpy(&h, hash, 4);
    return h & (w->setcap - 1);
}

/* Index in newc of the chunk with this hash, or -1. */
static long set_find(const hs_obj_writer_t *w, const uint8_t *hash)
{
    if (!w->setcap) return -1;
    for (uint32_t i = set_slot(w, hash);; i = (i + 1) & (w->setcap - 1)) {
        if (!w->set[i]) return -1;
        if (memcmp(w->newc[w->set[i] - 1].hash, hash, 32) == 0) return (long)w->set[i] - 1;
    }
}

static int set_add(hs_obj_writer_t *w, uint32_t idx)
{
    if ((uint64_t)(w->nnew + 1) * 2 > w->setcap) {
        uint32_t nc = w->setcap ? w->setcap * 2 : 1024;
        uint32_t *ns = calloc(nc, sizeof(*ns));
        if (!ns) return HS_ENOMEM;
        uint32_t *old = w->set, oc = w->setcap;
        w->set = ns;
        w->setcap = nc;
        for (uint32_t i = 0; i < oc; i++)
            if (old[i]) {
                uint32_t j = set_slot(w, w->newc[old[i] - 1].hash);
                while (ns[j])
                    j = (j + 1) & (nc - 1);
                ns[j] = old[i];
            }
        free(old);
    }
    uint32_t j = set_slot(w, w->newc[idx].hash);
    while (w->set[j])
        j = (j + 1) & (w->setcap - 1);
    w->set[j] = idx + 1;
    return 0;
}

int hs_obj_put_begin(hs_objects_t *s, const char *name, const hs_obj_put_opts_t *opts,
                     hs_obj_writer_t **out)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0) return rc;
    hs_obj_writer_t *w = calloc(1, sizeof(*w));
    if (!w) return HS_ENOMEM;
    w->s = s;
    w->lockfd = -1;
    w->tier = opts && opts->tier <= HS_TIER_COLD ? (int)opts->tier : HS_TIER_HOT;
    w->name = strdup(name);
    w->icap = (size_t)s->cdc.max * 4;
    w->ibuf = malloc(w->icap);
    w->md = EVP_MD_CTX_new();
    if (!w->name || !w->ibuf || !w->md) {
        rc = HS_ENOMEM;
        goto fail;
    }
    /* Shared lock until commit: gc (exclusive) must not free a chunk this
     * put has deduplicated against. */
    if ((rc = w->lockfd = hs__lock(s, false, false)) < 0) goto fail;
    if ((rc = hs__packer_new(s, w->tier, &w->pk)) < 0) goto fail;
    *out = w;
    return 0;
fail:
    hs_obj_put_abort(w);
    return rc;
}

void hs_obj_put_abort(hs_obj_writer_t *w)
{
    if (!w) return;
    /* Fragments already written stay as orphans until gc: deleting them
     * here would race nothing but is not needed for correctness. */
    hs__packer_free(w->pk);
    hs__unlock(w->lockfd);
    EVP_MD_CTX_free(w->md);
    free(w->ibuf);
    free(w->mc);
    free(w->newc);
    free(w->inserted);
    free(w->set);
    free(w->name);
    free(w);
}

static int sha256(EVP_MD_CTX *md, const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, p, n) != 1 ||
        EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32)
        return HS_EIO;
    return 0;
}

static int chunk_exists(hs_objects_t *s, const uint8_t hash[32])
{
    hs_kv_txn_t *txn;
    hs__chunk_rec_t c;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__get_chunk(txn, hash, &c);
    hs_kv_txn_abort(txn);
    if (rc == HS_ENOENT) return 0;
    return rc < 0 ? rc : 1;
}

static int process_chunk(hs_obj_writer_t *w, const uint8_t *p, uint32_t n)
{
    uint8_t hash[32];
    int rc = sha256(w->md, p, n, hash);
    if (rc < 0) return rc;
    if (w->nmc == w->capmc) {
        uint32_t nc = w->capmc ? w->capmc * 2 : 64;
        hs__mchunk_t *m = realloc(w->mc, nc * sizeof(*m));
        if (!m) return HS_ENOMEM;
        w->mc = m;
        w->capmc = nc;
    }
    memcpy(w->mc[w->nmc].hash, hash, 32);
    w->mc[w->nmc++].raw_len = n;
    w->size += n;
    if (set_find(w, hash) >= 0) return 0;
    if ((rc = chunk_exists(w->s, hash)) != 0) return rc < 0 ? rc : 0;
    if (w->nnew == w->capnew) {
        uint32_t nc = w->capnew ? w->capnew * 2 : 64;
        hs__packed_t *m = realloc(w->newc, nc * sizeof(*m));
        if (!m) return HS_ENOMEM;
        w->newc = m;
        w->capnew = nc;
    }
    hs__packed_t *pc = &w->newc[w->nnew];
    memcpy(pc->hash, hash, 32);
    if ((rc = hs__packer_add(w->pk, hash, p, n, &pc->rec)) < 0) return rc;
    if ((rc = set_add(w, w->nnew)) < 0) return rc;
    w->nnew++;
    return 0;
}

static int drain(hs_obj_writer_t *w, bool eof)
{
    size_t pos = 0;
    for (;;) {
        size_t n = hs_cdc_next(&w->s->cdc, w->ibuf + pos, w->ilen - pos, eof);
        if (n == 0) break;
        int rc = process_chunk(w, w->ibuf + pos, (uint32_t)n);
        if (rc < 0) return rc;
        pos += n;
    }
    memmove(w->ibuf, w->ibuf + pos, w->ilen - pos);
    w->ilen -= pos;
    return 0;
}

int hs_obj_put_write(hs_obj_writer_t *w, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (w->err) return w->err;
    while (len > 0) {
        size_t n = w->icap - w->ilen;
        if (n > len) n = len;
        memcpy(w->ibuf + w->ilen, p, n);
        w->ilen += n;
        p += n;
        len -= n;
        if (w->ilen == w->icap) {
            int rc = drain(w, false);
            if (rc < 0) return w->err = rc;
        }
    }
    return 0;
}

/* Stripe k of the packer that holds stripe id (chunks arrive in stripe
 * order, so the search starts where the last one ended). */
static size_t stripe_index(uint64_t *ids, size_t n, uint64_t id, size_t hint)
{
    for (size_t i = hint; i < n; i++)
        if (ids[i] == id) return i;
    for (size_t i = 0; i < hint && i < n; i++)
        if (ids[i] == id) return i;
    return n;
}

/* The index changes of one put, run as a member of a group commit. */
typedef struct index_job {
    hs_obj_writer_t *w;
    const uint8_t *k, *menc;
    size_t klen, mlen;
    uint32_t new_chunks;
    uint64_t new_bytes;
} index_job_t;

static int index_fn(hs_kv_txn_t *txn, void *arg)
{
    index_job_t *ij = arg;
    hs_obj_writer_t *w = ij->w;
    hs_kv_val_t v;
    uint64_t *ids;
    hs__stripe_rec_t *recs;
    size_t nst = hs__packer_stripes(w->pk, &ids, &recs);
    uint8_t rk[13];
    int rc;

    for (size_t i = 0; i < nst; i++) {
        recs[i].live_chunks = 0;
        recs[i].live_bytes = 0;
    }
    rc = hs_kv_get(txn, ij->k, ij->klen, &v);
    if (rc == 0) {
        hs__manifest_t old;
        rc = hs__manifest_dec(&old, v.data, v.len);
        if (rc == 0) {
            rc = hs__deref_manifest(txn, &old);
            hs__manifest_free(&old);
        } else if (rc == HS_ECORRUPT) {
            rc = 0; /* an unreadable old manifest: fsck recounts refs */
        }
    } else if (rc == HS_ENOENT) {
        rc = 0;
    }
    size_t hint = 0;
    for (uint32_t i = 0; rc == 0 && i < w->nmc; i++) {
        hs__chunk_rec_t c;
        rc = hs__get_chunk(txn, w->mc[i].hash, &c);
        if (rc == 0) {
            c.refs++;
            rc = hs__put_chunk(txn, w->mc[i].hash, &c);
            continue;
        }
        if (rc != HS_ENOENT) break;
        long j = set_find(w, w->mc[i].hash);
        if (j < 0) {
            rc = HS_EIO; /* deduplicated against a chunk that vanished */
            break;
        }
        hs__packed_t *pc = &w->newc[j];
        pc->rec.refs = 1;
        w->inserted[j] = 1;
        if ((rc = hs__put_chunk(txn, pc->hash, &pc->rec)) < 0) break;
        rc = hs_kv_put(txn, rk, hs__key_rev(rk, pc->rec.stripe, pc->rec.off), pc->hash, 32);
        size_t si = stripe_index(ids, nst, pc->rec.stripe, hint);
        if (si < nst) {
            recs[si].live_chunks++;
            recs[si].live_bytes += pc->rec.stored_len;
            hint = si;
        }
        ij->new_chunks++;
        ij->new_bytes += pc->rec.stored_len;
        w->new_raw += pc->rec.raw_len;
    }
    /* Stripes whose every chunk turned out to exist already (a concurrent
     * put stored them first) are garbage from the start. */
    if (rc == 0) rc = hs__put_moved_stripes(txn, ids, recs, nst);
    if (rc == 0) rc = hs_kv_put(txn, ij->k, ij->klen, ij->menc, ij->mlen);
    return rc;
}

static int commit_txn(hs_obj_writer_t *w, hs_obj_info_t *info)
{
    hs_objects_t *s = w->s;
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    uint8_t *menc = NULL;
    size_t mlen;
    int rc;

    hs__key_object(k, w->name, &klen);
    w->inserted = calloc(w->nnew + 1, 1);
    if (!w->inserted) return HS_ENOMEM;
    hs__manifest_t m = {.size = w->size,
                        .mtime_ns = hs__now_ns(),
                        .tier = (uint8_t)w->tier,
                        .nchunks = w->nmc,
                        .chunks = w->mc};
    /* The etag: SHA-256 over the chunk hashes (a hash tree of depth 1), so
     * it costs nothing per byte and still names the content. */
    {
        unsigned int l = 0;
        EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
        for (uint32_t i = 0; i < w->nmc; i++)
            EVP_DigestUpdate(w->md, w->mc[i].hash, 32);
        if (EVP_DigestFinal_ex(w->md, m.etag, &l) != 1) return HS_EIO;
    }
    if ((rc = hs__manifest_enc(&m, &menc, &mlen)) < 0) return rc;
    /* Group commit: puts committing at the same time share one index
     * transaction and its flush; each one's changes stay all-or-nothing. */
    index_job_t ij = {.w = w, .k = k, .klen = klen, .menc = menc, .mlen = mlen};
    rc = hs_kv_group_run(s->kv, index_fn, &ij);
    free(menc);
    if (rc < 0) return rc;
    hs__count(s->m_put_bytes, w->size);
    hs__count(s->m_dedup_bytes, w->size - w->new_raw);
    if (info) {
        hs__manifest_info(&m, info);
        info->new_chunks = ij.new_chunks;
        info->new_bytes = ij.new_bytes;
    }
    return 0;
}

int hs_obj_put_commit(hs_obj_writer_t *w, hs_obj_info_t *info)
{
    int rc = w->err;
    if (rc == 0) rc = drain(w, true);
    if (rc == 0) rc = hs__packer_flush(w->pk);
    if (rc == 0) rc = commit_txn(w, info);
    if (rc == 0) hs__access_record(w->s, w->name);
    hs_obj_put_abort(w);
    return rc;
}
