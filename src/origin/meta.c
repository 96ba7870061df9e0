/*
 * The origin's metadata store: buckets and object records over the kv role
 * store, the dropped-name lists every reference-dropping write returns, and
 * the reconcile walk over every referenced object-store name. Each public
 * write is exactly one kv write transaction (the crash-consistency argument
 * of docs/design/origin-meta.md rests on it). Listing is in meta_list.c,
 * multipart uploads in meta_mpu.c, codecs in meta_rec.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "origin/meta-int.h"
#include "origin/meta.h"

atomic_ulong hs__meta_steps;

int hs__meta_next(hs_kv_cursor_t *c, hs_kv_val_t *k, hs_kv_val_t *v)
{
    int rc = hs_kv_cursor_next(c, k, v);
    if (rc == 0) atomic_fetch_add_explicit(&hs__meta_steps, 1, memory_order_relaxed);
    return rc;
}

int hs__meta_cursor_prefix(hs_kv_txn_t *txn, const void *p, size_t n, hs_kv_cursor_t **out)
{
    uint8_t end[HS__META_KEY_CAP];
    if (n > sizeof(end)) return HS_EINVAL;
    memcpy(end, p, n);
    size_t el = hs__meta_succ(end, n);
    return hs_kv_cursor_open(txn, p, n, el ? end : NULL, el, out);
}

int64_t hs__meta_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int hs_meta_open(const char *dir, hs_meta_t **out)
{
    return hs_meta_open_opts(dir, false, out);
}

int hs_meta_open_opts(const char *dir, bool no_sync, hs_meta_t **out)
{
    hs_kv_opts_t opts = {.no_sync = no_sync ? 1 : 0};
    hs_meta_t *m = calloc(1, sizeof(*m));
    if (!m) return HS_ENOMEM;
    int rc = hs_kv_open("lmdb", dir, &opts, &m->kv);
    if (rc < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void hs_meta_close(hs_meta_t *m)
{
    if (!m) return;
    hs_kv_close(m->kv);
    free(m);
}

/* ---- dropped lists ---- */

int hs__meta_dropped_add(hs_meta_dropped_t *d, const char *name)
{
    if (d->n == d->cap) {
        unsigned cap = d->cap ? d->cap * 2 : 8;
        char **nn = realloc(d->names, cap * sizeof(*nn));
        if (!nn) return HS_ENOMEM;
        d->names = nn;
        d->cap = cap;
    }
    char *s = strdup(name);
    if (!s) return HS_ENOMEM;
    d->names[d->n++] = s;
    return 0;
}

void hs__meta_dropped_move(hs_meta_dropped_t *dst, hs_meta_dropped_t *src)
{
    for (unsigned i = 0; i < src->n; i++) {
        /* Out of memory here would lose a name: the reconcile pass finds
         * that object-store object later, so nothing leaks for good. */
        if (dst) hs__meta_dropped_add(dst, src->names[i]);
    }
    hs_meta_dropped_free(src);
}

void hs_meta_dropped_free(hs_meta_dropped_t *d)
{
    if (!d) return;
    for (unsigned i = 0; i < d->n; i++)
        free(d->names[i]);
    free(d->names);
    memset(d, 0, sizeof(*d));
}

/* ---- buckets ---- */

int hs__meta_bucket_exists(hs_kv_txn_t *txn, const char *bucket)
{
    uint8_t k[HS__META_NS_MAX];
    hs_kv_val_t v;
    int rc = hs_kv_get(txn, k, hs__meta_key_bucket(k, bucket), &v);
    return rc == HS_ENOENT ? HS_ENOBUCKET : rc;
}

int hs_meta_bucket_create(hs_meta_t *m, const char *name, const hs_meta_bucket_t *b)
{
    if (!hs__meta_bucket_ok(name)) return HS_EINVAL;
    uint8_t k[HS__META_NS_MAX], v[HS__META_BUCKET_REC_MAX];
    size_t kl = hs__meta_key_bucket(k, name), vl = hs__meta_bucket_enc(v, b);
    hs_kv_txn_t *txn;
    hs_kv_val_t old;
    int rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_get(txn, k, kl, &old);
    if (rc == 0) rc = HS_EEXIST;
    else if (rc == HS_ENOENT) rc = hs_kv_put(txn, k, kl, v, vl);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}

int hs_meta_bucket_get(hs_meta_t *m, const char *name, hs_meta_bucket_t *b)
{
    if (!hs__meta_bucket_ok(name)) return HS_ENOENT;
    uint8_t k[HS__META_NS_MAX];
    hs_kv_txn_t *txn;
    hs_kv_val_t v;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_get(txn, k, hs__meta_key_bucket(k, name), &v);
    if (rc == 0) rc = hs__meta_bucket_dec(b, v.data, v.len);
    hs_kv_txn_abort(txn);
    return rc;
}

int hs_meta_bucket_set(hs_meta_t *m, const char *name, const hs_meta_bucket_t *b)
{
    if (!hs__meta_bucket_ok(name)) return HS_ENOENT;
    uint8_t k[HS__META_NS_MAX], v[HS__META_BUCKET_REC_MAX];
    size_t kl = hs__meta_key_bucket(k, name);
    hs_meta_bucket_t cur;
    hs_kv_txn_t *txn;
    hs_kv_val_t old;
    int rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_get(txn, k, kl, &old);
    if (rc == 0) rc = hs__meta_bucket_dec(&cur, old.data, old.len);
    if (rc == 0) {
        cur.flags = b->flags;
        memcpy(cur.cache_control, b->cache_control, sizeof(cur.cache_control));
        cur.cache_control[HS_META_CC_MAX] = 0;
        rc = hs_kv_put(txn, k, kl, v, hs__meta_bucket_enc(v, &cur));
    }
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}

int hs_meta_bucket_delete(hs_meta_t *m, const char *name)
{
    if (!hs__meta_bucket_ok(name)) return HS_ENOENT;
    uint8_t k[HS__META_NS_MAX], ns[HS__META_NS_MAX];
    size_t kl = hs__meta_key_bucket(k, name), nl = hs__meta_key_ns(ns, name, 0);
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t ck, cv;
    int rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_del(txn, k, kl);
    if (rc == 0) rc = hs__meta_cursor_prefix(txn, ns, nl, &c);
    if (rc == 0) {
        /* Objects, uploads and parts all live under 'o' NAME 00: one seek
         * tells whether anything is left. */
        rc = hs__meta_next(c, &ck, &cv);
        hs_kv_cursor_close(c);
        rc = rc == 0 ? HS_ENOTEMPTY : rc == HS_EOF ? 0 : rc;
    }
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}

int hs_meta_bucket_list(hs_meta_t *m, int (*fn)(void *arg, const char *name, const hs_meta_bucket_t *b),
                        void *arg)
{
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    hs_meta_bucket_t b;
    char name[HS_META_BUCKET_MAX + 1];
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__meta_cursor_prefix(txn, "b", 1, &c);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    while ((rc = hs__meta_next(c, &k, &v)) == 0) {
        if (k.len < 2 || k.len - 1 > HS_META_BUCKET_MAX) {
            rc = HS_ECORRUPT;
            break;
        }
        memcpy(name, (const char *)k.data + 1, k.len - 1);
        name[k.len - 1] = 0;
        if ((rc = hs__meta_bucket_dec(&b, v.data, v.len)) < 0) break;
        if ((rc = fn(arg, name, &b)) != 0) break;
    }
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(txn);
    return rc == HS_EOF ? 0 : rc;
}

/* ---- objects ---- */

static bool key_ok(const char *key, size_t keylen)
{
    return key && keylen >= 1 && keylen <= HS_META_KEY_MAX;
}

static size_t obj_kvkey(uint8_t *k, const char *bucket, const char *key, size_t keylen)
{
    return hs__meta_key_ek(k, hs__meta_key_ns(k, bucket, HS__META_K_OBJ), key, keylen);
}

/* The record at kv key k (txn's snapshot), checked to belong to key. */
static int obj_read(hs_kv_txn_t *txn, const uint8_t *k, size_t kl, const char *key, size_t keylen,
                    hs_meta_obj_t **out)
{
    hs_kv_val_t v;
    const uint8_t *tail, *pl;
    size_t tl, pll;
    int rc = hs_kv_get(txn, k, kl, &v);
    if (rc < 0) return rc;
    if ((rc = hs__meta_env_split(v.data, v.len, &tail, &tl, &pl, &pll)) < 0) return rc;
    if ((rc = hs__meta_env_check(key, keylen, tail, tl)) < 0) return rc;
    return hs__meta_obj_dec(pl, pll, out);
}

int hs_meta_obj_get(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                    hs_meta_obj_t **out)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (!key_ok(key, keylen)) return HS_EINVAL;
    uint8_t k[HS__META_KEY_CAP];
    size_t kl = obj_kvkey(k, bucket, key, keylen);
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = obj_read(txn, k, kl, key, keylen, out);
    if (rc == HS_ENOENT) {
        int b = hs__meta_bucket_exists(txn, bucket);
        if (b < 0) rc = b;
    }
    hs_kv_txn_abort(txn);
    return rc;
}

void hs_meta_obj_free(hs_meta_obj_t *rec)
{
    free(rec);
}

int hs__meta_group_room(hs_kv_txn_t *txn, const uint8_t *gk, size_t gklen)
{
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    int rc = hs__meta_cursor_prefix(txn, gk, gklen, &c);
    if (rc < 0) return rc;
    unsigned n = 0;
    while ((rc = hs__meta_next(c, &k, &v)) == 0)
        if (++n >= HS__META_GROUP_MAX) {
            rc = HS_ELIMIT;
            break;
        }
    hs_kv_cursor_close(c);
    return rc == HS_EOF ? 0 : rc;
}

static bool rec_uses(const hs_meta_obj_t *rec, const char *name)
{
    for (uint32_t i = 0; rec && i < rec->nsegs; i++)
        if (strcmp(rec->segs[i].name, name) == 0) return true;
    return false;
}

int hs__meta_obj_install(hs_kv_txn_t *txn, const char *bucket, const char *key, size_t keylen,
                         const hs_meta_obj_t *rec, uint8_t *enc, size_t enclen,
                         hs_meta_dropped_t *dropped)
{
    uint8_t k[HS__META_KEY_CAP];
    size_t kl = obj_kvkey(k, bucket, key, keylen);
    size_t tl = keylen > HS__META_HEAD ? keylen - HS__META_HEAD : 0;
    hs_meta_obj_t *old = NULL;
    int rc = hs__meta_bucket_exists(txn, bucket);
    if (rc < 0) return rc;
    rc = obj_read(txn, k, kl, key, keylen, &old);
    if (rc == HS_ENOENT && tl) {
        rc = hs__meta_group_room(txn, k, kl - HS__META_HASH);
    } else if (rc == HS_ECORRUPT) {
        /* An unreadable old record (or, for a long key, another key's
         * record under the same hash) is not ours to overwrite blindly. */
        return rc;
    }
    if (rc < 0 && rc != HS_ENOENT) return rc;
    for (uint32_t i = 0; old && i < old->nsegs; i++) {
        if (rec_uses(rec, old->segs[i].name)) continue;
        if ((rc = hs__meta_dropped_add(dropped, old->segs[i].name)) < 0) break;
    }
    free(old);
    if (rc < 0 && rc != HS_ENOENT) return rc;
    enc[0] = (uint8_t)tl;
    enc[1] = (uint8_t)(tl >> 8);
    if (tl) memcpy(enc + 2, key + HS__META_HEAD, tl);
    return hs_kv_put(txn, k, kl, enc, enclen);
}

typedef struct obj_put_job {
    const char *bucket, *key;
    size_t keylen;
    const hs_meta_obj_t *rec;
    uint8_t *enc;
    size_t enclen;
    hs_meta_dropped_t dr;
} obj_put_job_t;

static int obj_put_fn(hs_kv_txn_t *txn, void *arg)
{
    obj_put_job_t *j = arg;
    return hs__meta_obj_install(txn, j->bucket, j->key, j->keylen, j->rec, j->enc, j->enclen,
                                &j->dr);
}

int hs_meta_obj_put(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                    const hs_meta_obj_t *rec, hs_meta_dropped_t *dropped)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (!key_ok(key, keylen)) return HS_EINVAL;
    size_t tl = keylen > HS__META_HEAD ? keylen - HS__META_HEAD : 0;
    obj_put_job_t j = {.bucket = bucket, .key = key, .keylen = keylen, .rec = rec};
    int rc = hs__meta_obj_enc(rec, 2 + tl, &j.enc, &j.enclen);
    if (rc < 0) return rc;
    /* Group commit: PUTs finishing together share one transaction and its
     * flush; each one's install is still all-or-nothing on its own, so
     * this is still one write transaction per PUT for docs/design/
     * origin-meta.md's argument (see docs/design/store.md). */
    rc = hs_kv_group_run(m->kv, obj_put_fn, &j);
    free(j.enc);
    if (rc < 0) hs_meta_dropped_free(&j.dr);
    else hs__meta_dropped_move(dropped, &j.dr);
    return rc;
}

int hs_meta_obj_delete(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                       hs_meta_dropped_t *dropped)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (!key_ok(key, keylen)) return HS_EINVAL;
    uint8_t k[HS__META_KEY_CAP];
    size_t kl = obj_kvkey(k, bucket, key, keylen);
    hs_meta_obj_t *old = NULL;
    hs_meta_dropped_t dr = {0};
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) return rc;
    rc = obj_read(txn, k, kl, key, keylen, &old);
    if (rc == HS_ENOENT) {
        int b = hs__meta_bucket_exists(txn, bucket);
        if (b < 0) rc = b;
    }
    /* A record that no longer decodes is still deleted (so a client can
     * clear it); its bytes become unreferenced and reconcile takes them. */
    if (rc == 0 || rc == HS_ECORRUPT) {
        rc = 0;
        for (uint32_t i = 0; old && i < old->nsegs && rc == 0; i++)
            rc = hs__meta_dropped_add(&dr, old->segs[i].name);
        if (rc == 0) rc = hs_kv_del(txn, k, kl);
    }
    free(old);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        hs_meta_dropped_free(&dr);
        return rc;
    }
    rc = hs_kv_txn_commit(txn);
    if (rc < 0) hs_meta_dropped_free(&dr);
    else hs__meta_dropped_move(dropped, &dr);
    return rc;
}

int hs_meta_seg_find(const hs_meta_obj_t *rec, uint64_t offset, unsigned *seg_index,
                     uint64_t *seg_offset)
{
    if (offset >= rec->size) return HS_ERANGE;
    if (!rec->seg_off) {
        uint64_t start = 0;
        for (uint32_t i = 0; i < rec->nsegs; i++) {
            if (offset < start + rec->segs[i].size) {
                *seg_index = i;
                *seg_offset = offset - start;
                return 0;
            }
            start += rec->segs[i].size;
        }
        return HS_ERANGE;
    }
    /* The last segment starting at or before offset: empty segments share
     * their start with the next one, so this never lands on one. */
    uint32_t lo = 0, hi = rec->nsegs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rec->seg_off[mid] <= offset) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return HS_ERANGE;
    *seg_index = lo - 1;
    *seg_offset = offset - rec->seg_off[lo - 1];
    return 0;
}

/* ---- reconcile ---- */

static int each_value(const hs_kv_val_t *k, const hs_kv_val_t *v,
                      int (*fn)(void *arg, const char *objname), void *arg)
{
    const uint8_t *kb = k->data;
    const uint8_t *nul = k->len > 1 ? memchr(kb + 1, 0, k->len - 1) : NULL;
    if (!nul || (size_t)(nul - kb) + 2 > k->len) return HS_ECORRUPT;
    int sub = nul[1];
    int rc = 0;
    if (sub == HS__META_K_OBJ) {
        const uint8_t *tail, *pl;
        size_t tl, pll;
        hs_meta_obj_t *o;
        if ((rc = hs__meta_env_split(v->data, v->len, &tail, &tl, &pl, &pll)) < 0) return rc;
        if ((rc = hs__meta_obj_dec(pl, pll, &o)) < 0) return rc;
        for (uint32_t i = 0; i < o->nsegs && rc == 0; i++)
            rc = fn(arg, o->segs[i].name);
        free(o);
    } else if (sub == HS__META_K_PART) {
        hs__meta_partrec_t p;
        if ((rc = hs__meta_part_dec(&p, v->data, v->len)) < 0) return rc;
        rc = fn(arg, p.objname);
    }
    return rc;
}

int hs_meta_each_segment(hs_meta_t *m, int (*fn)(void *arg, const char *objname), void *arg)
{
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__meta_cursor_prefix(txn, "o", 1, &c);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    /* A record that does not decode fails the walk: the caller deletes
     * what is not listed, so a silent skip would delete live bytes. */
    while ((rc = hs__meta_next(c, &k, &v)) == 0)
        if ((rc = each_value(&k, &v, fn, arg)) != 0) break;
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(txn);
    return rc == HS_EOF ? 0 : rc;
}
