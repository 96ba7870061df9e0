/*
 * ListObjects(V2) and ListMultipartUploads over the metadata store: one
 * ordered walk over a bucket's encoded keys that applies prefix, delimiter
 * and marker, and seeks past a whole common prefix instead of reading its
 * keys, so a page costs O(max_keys) records however many keys a prefix
 * holds. Keys longer than HS__META_HEAD bytes sit in their head's group
 * (kv order inside a group is hash order): a group is read whole and sorted
 * before its keys are walked, which HS__META_GROUP_MAX keeps bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "origin/meta-int.h"
#include "origin/meta.h"

typedef struct walk walk_t;
struct walk {
    hs_kv_txn_t *txn;
    uint8_t ns[HS__META_NS_MAX];
    size_t nslen;
    const char *prefix, *delim, *after;
    size_t plen, dlen, alen;
    bool has_after, incl; /* incl: a key equal to after is still walked */
    /* The consumer: one key (its kv key, and its value's payload when at
     * hand, else NULL) or one common prefix. Sets full to stop the walk;
     * any non-zero return ends it with that value. */
    int (*key)(walk_t *w, const char *k, size_t kl, const uint8_t *kvk, size_t kvkl,
               const uint8_t *payload, size_t plen);
    int (*cprefix)(walk_t *w, const char *cp, size_t cpl);
    bool full;
    int ret; /* a consumer's non-zero value, returned by the walk */
    void *arg;
};

/* What a key's processing asks the walk to do next. */
enum { STEP_ON = 0, STEP_SKIP = 1, STEP_END = 2 };

static int bcmp_(const void *a, size_t al, const void *b, size_t bl)
{
    int r = al && bl ? memcmp(a, b, al < bl ? al : bl) : 0;
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

static const void *memmem_(const void *h, size_t hl, const void *n, size_t nl)
{
    return nl ? memmem(h, hl, n, nl) : NULL;
}

/* Runs key k through prefix, marker and delimiter. Returns STEP_*; *cpl
 * gets the common prefix length to skip past on STEP_SKIP. A consumer's
 * non-zero value is kept in w->ret and ends the walk. */
static int visit(walk_t *w, const char *k, size_t kl, const uint8_t *kvk, size_t kvkl,
                 const uint8_t *payload, size_t pll, size_t *cpl)
{
    if (kl < w->plen || memcmp(k, w->prefix, w->plen) != 0)
        return bcmp_(k, kl, w->prefix, w->plen) < 0 ? STEP_ON : STEP_END;
    if (w->has_after) {
        int c = bcmp_(k, kl, w->after, w->alen);
        if (c < 0 || (c == 0 && !w->incl)) return STEP_ON;
    }
    const char *d = memmem_(k + w->plen, kl - w->plen, w->delim, w->dlen);
    if (d) {
        *cpl = (size_t)(d - k) + w->dlen;
        if (!w->has_after || bcmp_(k, *cpl, w->after, w->alen) > 0) {
            w->ret = w->cprefix(w, k, *cpl);
            if (w->ret || w->full) return STEP_END;
        }
        return STEP_SKIP;
    }
    w->ret = w->key(w, k, kl, kvk, kvkl, payload, pll);
    return w->ret || w->full ? STEP_END : STEP_ON;
}

typedef struct gent {
    char *key;
    size_t kl;
    uint8_t kvk[HS__META_KEY_CAP];
    size_t kvkl;
} gent_t;

static int gent_cmp(const void *a, const void *b)
{
    const gent_t *x = a, *y = b;
    return bcmp_(x->key, x->kl, y->key, y->kl);
}

/* Walks the long-key group whose kv keys start with gk[0..gkl). Returns a
 * STEP_* (STEP_SKIP: the common prefix cp[0..*cpl_out), no longer than the
 * head, is to be skipped by the caller) or an error. */
static int walk_group(walk_t *w, const uint8_t *gk, size_t gkl, uint8_t *cp, size_t *cpl_out)
{
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    gent_t *g = NULL;
    size_t n = 0, cap = 0;
    int rc = hs__meta_cursor_prefix(w->txn, gk, gkl, &c);
    if (rc < 0) return rc;
    while ((rc = hs__meta_next(c, &k, &v)) == 0) {
        const uint8_t *tail, *pl;
        size_t tl, pll;
        if (k.len != w->nslen + HS__META_EK_LONG) rc = HS_ECORRUPT;
        if (rc == 0) rc = hs__meta_env_split(v.data, v.len, &tail, &tl, &pl, &pll);
        if (rc == 0 && tl == 0) rc = HS_ECORRUPT;
        if (rc == 0 && n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            gent_t *ng = realloc(g, nc * sizeof(*g));
            if (!ng) rc = HS_ENOMEM;
            else {
                g = ng;
                cap = nc;
            }
        }
        if (rc == 0) {
            gent_t *e = &g[n];
            e->kl = HS__META_HEAD + tl;
            e->key = malloc(e->kl);
            if (!e->key) rc = HS_ENOMEM;
            else {
                memcpy(e->key, (const uint8_t *)k.data + w->nslen, HS__META_HEAD);
                memcpy(e->key + HS__META_HEAD, tail, tl);
                memcpy(e->kvk, k.data, k.len);
                e->kvkl = k.len;
                n++;
            }
        }
        if (rc < 0) break;
    }
    hs_kv_cursor_close(c);
    if (rc == HS_EOF) rc = 0;
    if (rc == 0) qsort(g, n, sizeof(*g), gent_cmp);
    size_t cpl = 0;
    const gent_t *skip = NULL; /* the key whose common prefix (cpl bytes) is being skipped */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (skip && g[i].kl >= cpl && memcmp(g[i].key, skip->key, cpl) == 0) continue;
        skip = NULL;
        rc = visit(w, g[i].key, g[i].kl, g[i].kvk, g[i].kvkl, NULL, 0, &cpl);
        if (rc == STEP_SKIP) {
            if (cpl <= HS__META_HEAD) { /* covers the rest of the group and more */
                memcpy(cp, g[i].key, cpl);
                *cpl_out = cpl;
                break;
            }
            rc = STEP_ON;
            skip = &g[i];
        }
    }
    for (size_t i = 0; i < n; i++)
        free(g[i].key);
    free(g);
    return rc;
}

static int walk_run(walk_t *w)
{
    uint8_t seek[HS__META_KEY_CAP], end[HS__META_KEY_CAP], gk[HS__META_KEY_CAP];
    uint8_t cp[HS__META_HEAD];
    size_t sl = w->nslen, el;
    /* Start at max(prefix, after), cut to the head: every wanted key's kv
     * key sorts at or after that. */
    const char *from = w->prefix;
    size_t fl = w->plen;
    if (w->has_after && bcmp_(w->after, w->alen, w->prefix, w->plen) > 0) {
        from = w->after;
        fl = w->alen;
    }
    memcpy(seek, w->ns, w->nslen);
    if (fl > HS__META_HEAD) fl = HS__META_HEAD;
    memcpy(seek + sl, from, fl);
    sl += fl;
    /* End: past every kv key that can start with the prefix. */
    size_t pl = w->plen > HS__META_HEAD ? HS__META_HEAD : w->plen;
    memcpy(end, w->ns, w->nslen);
    memcpy(end + w->nslen, w->prefix, pl);
    el = hs__meta_succ(end, w->nslen + pl);
    if (el == 0) return HS_EINVAL; /* the namespace never ends in 0xff */
    for (;;) {
        hs_kv_cursor_t *c;
        hs_kv_val_t k, v;
        if (bcmp_(seek, sl, end, el) >= 0) return 0;
        int rc = hs_kv_cursor_open(w->txn, seek, sl, end, el, &c);
        if (rc < 0) return rc;
        int step = STEP_ON;
        size_t cpl = 0;
        while (step == STEP_ON && (rc = hs__meta_next(c, &k, &v)) == 0) {
            const uint8_t *kb = k.data;
            if (k.len < w->nslen || memcmp(kb, w->ns, w->nslen) != 0) {
                rc = HS_ECORRUPT;
                break;
            }
            size_t ekl = k.len - w->nslen;
            if (ekl <= HS__META_HEAD) {
                const uint8_t *tail, *pl2;
                size_t tl, pll;
                if ((rc = hs__meta_env_split(v.data, v.len, &tail, &tl, &pl2, &pll)) < 0) break;
                if (tl) {
                    rc = HS_ECORRUPT;
                    break;
                }
                step = visit(w, (const char *)kb + w->nslen, ekl, kb, k.len, pl2, pll, &cpl);
                if (step == STEP_SKIP) {
                    memcpy(seek + w->nslen, kb + w->nslen, cpl);
                    sl = hs__meta_succ(seek, w->nslen + cpl);
                }
            } else if (ekl == HS__META_EK_LONG && kb[w->nslen + HS__META_HEAD] == 1) {
                size_t gkl = w->nslen + HS__META_HEAD + 1;
                memcpy(gk, kb, gkl);
                hs_kv_cursor_close(c);
                c = NULL;
                step = walk_group(w, gk, gkl, cp, &cpl);
                if (step == STEP_SKIP) {
                    memcpy(seek + w->nslen, cp, cpl);
                    sl = hs__meta_succ(seek, w->nslen + cpl);
                } else if (step == STEP_ON) {
                    /* Resume right after the group. */
                    memcpy(seek, gk, gkl);
                    seek[gkl - 1] = 2;
                    sl = gkl;
                    step = STEP_SKIP;
                }
                break;
            } else {
                rc = HS_ECORRUPT;
                break;
            }
        }
        if (c) hs_kv_cursor_close(c);
        if (rc == HS_EOF) rc = 0;
        if (rc < 0) return rc;
        if (step < 0) return step;
        if (w->ret) return w->ret;
        if (step != STEP_SKIP) return 0; /* the end of the range, or of the page */
        if (sl <= w->nslen) return 0;    /* nothing sorts after the skipped prefix */
    }
}

/* ---- ListObjects ---- */

typedef struct objlist {
    const hs_meta_list_cb_t *cb;
    unsigned max, count;
    bool truncated;
    char *next;
    size_t next_cap, next_len;
} objlist_t;

static int take_item(walk_t *w, objlist_t *ol, const char *k, size_t kl)
{
    if (ol->count == ol->max) {
        ol->truncated = true;
        w->full = true;
        return 1;
    }
    ol->count++;
    if (kl > ol->next_cap) return HS_ERANGE;
    memcpy(ol->next, k, kl);
    ol->next_len = kl;
    return 0;
}

static int obj_key(walk_t *w, const char *k, size_t kl, const uint8_t *kvk, size_t kvkl,
                   const uint8_t *payload, size_t pll)
{
    objlist_t *ol = w->arg;
    int rc = take_item(w, ol, k, kl);
    if (rc) return rc < 0 ? rc : 0;
    hs_meta_obj_t *o;
    if (!payload) {
        hs_kv_val_t v;
        const uint8_t *tail;
        size_t tl;
        if ((rc = hs_kv_get(w->txn, kvk, kvkl, &v)) < 0) return rc;
        if ((rc = hs__meta_env_split(v.data, v.len, &tail, &tl, &payload, &pll)) < 0) return rc;
    }
    if ((rc = hs__meta_obj_dec(payload, pll, &o)) < 0) return rc;
    rc = ol->cb->object ? ol->cb->object(ol->cb->arg, k, kl, o) : 0;
    free(o);
    return rc;
}

static int obj_prefix(walk_t *w, const char *cp, size_t cpl)
{
    objlist_t *ol = w->arg;
    int rc = take_item(w, ol, cp, cpl);
    if (rc) return rc < 0 ? rc : 0;
    return ol->cb->prefix ? ol->cb->prefix(ol->cb->arg, cp, cpl) : 0;
}

/* Fills the walk's namespace and filters (NULL slices: absent). */
static void walk_init(walk_t *w, hs_kv_txn_t *txn, const char *bucket, int sub, const char *prefix,
                     size_t plen, const char *delim, size_t dlen, const char *after, size_t alen)
{
    memset(w, 0, sizeof(*w));
    w->txn = txn;
    w->nslen = hs__meta_key_ns(w->ns, bucket, sub);
    w->prefix = prefix ? prefix : "";
    w->plen = prefix ? plen : 0;
    w->delim = delim ? delim : "";
    w->dlen = delim ? dlen : 0;
    w->after = after ? after : "";
    w->alen = after ? alen : 0;
    w->has_after = w->alen > 0;
}

int hs_meta_obj_list(hs_meta_t *m, const char *bucket, const hs_meta_list_opts_t *o,
                     const hs_meta_list_cb_t *cb, bool *truncated, char *next_marker,
                     size_t next_cap, size_t *next_len)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    objlist_t ol = {cb, o->max_keys > 1000 ? 1000 : o->max_keys, 0, false, next_marker, next_cap, 0};
    hs_kv_txn_t *txn;
    walk_t w;
    *truncated = false;
    *next_len = 0;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__meta_bucket_exists(txn, bucket);
    if (rc == 0 && ol.max > 0) {
        walk_init(&w, txn, bucket, HS__META_K_OBJ, o->prefix, o->prefix_len, o->delimiter,
                  o->delim_len, o->start_after, o->start_after_len);
        w.key = obj_key;
        w.cprefix = obj_prefix;
        w.arg = &ol;
        rc = walk_run(&w);
    }
    hs_kv_txn_abort(txn);
    *truncated = ol.truncated;
    *next_len = ol.next_len;
    return rc;
}

/* ---- ListMultipartUploads ---- */

typedef struct uplist {
    const hs_meta_mpu_list_cb_t *cb;
    const char *bucket;
    const char *id_marker; /* with w->incl: skip ids <= it for key == after */
    unsigned max, count;
    bool truncated;
    hs_meta_mpu_list_next_t *next;
} uplist_t;

static int up_take(walk_t *w, uplist_t *ul, const char *k, size_t kl, const char *id)
{
    if (ul->count == ul->max) {
        ul->truncated = true;
        w->full = true;
        return 1;
    }
    ul->count++;
    memcpy(ul->next->key, k, kl);
    ul->next->key[kl] = 0;
    ul->next->keylen = kl;
    snprintf(ul->next->upload_id, sizeof(ul->next->upload_id), "%s", id);
    return 0;
}

static int up_key(walk_t *w, const char *k, size_t kl, const uint8_t *kvk, size_t kvkl,
                  const uint8_t *payload, size_t pll)
{
    uplist_t *ul = w->arg;
    int rc;
    if (!payload) {
        hs_kv_val_t v;
        const uint8_t *tail;
        size_t tl;
        if ((rc = hs_kv_get(w->txn, kvk, kvkl, &v)) < 0) return rc;
        if ((rc = hs__meta_env_split(v.data, v.len, &tail, &tl, &payload, &pll)) < 0) return rc;
    }
    if (pll % HS_META_UPLOAD_ID_LEN) return HS_ECORRUPT;
    bool at_marker = w->incl && kl == w->alen && memcmp(k, w->after, kl) == 0;
    for (size_t off = 0; off < pll; off += HS_META_UPLOAD_ID_LEN) {
        char id[HS_META_UPLOAD_ID_LEN + 1];
        memcpy(id, payload + off, HS_META_UPLOAD_ID_LEN);
        id[HS_META_UPLOAD_ID_LEN] = 0;
        if (!hs__meta_upload_id_ok(id)) return HS_ECORRUPT;
        if (at_marker && strcmp(id, ul->id_marker) <= 0) continue;
        rc = up_take(w, ul, k, kl, id);
        if (rc) return rc < 0 ? rc : 0;
        uint8_t uk[HS__META_KEY_CAP];
        hs_kv_val_t uv;
        hs_meta_mpu_t *u;
        if ((rc = hs_kv_get(w->txn, uk, hs__meta_key_upload(uk, ul->bucket, id), &uv)) < 0)
            return rc == HS_ENOENT ? HS_ECORRUPT : rc;
        if ((rc = hs__meta_upload_dec(uv.data, uv.len, id, &u)) < 0) return rc;
        rc = ul->cb->upload ? ul->cb->upload(ul->cb->arg, u) : 0;
        free(u);
        if (rc) return rc;
    }
    return 0;
}

static int up_prefix(walk_t *w, const char *cp, size_t cpl)
{
    uplist_t *ul = w->arg;
    int rc = up_take(w, ul, cp, cpl, "");
    if (rc) return rc < 0 ? rc : 0;
    return ul->cb->prefix ? ul->cb->prefix(ul->cb->arg, cp, cpl) : 0;
}

int hs_meta_mpu_list(hs_meta_t *m, const char *bucket, const hs_meta_mpu_list_opts_t *o,
                     const hs_meta_mpu_list_cb_t *cb, bool *truncated, hs_meta_mpu_list_next_t *next)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (o->key_marker_len > HS_META_KEY_MAX) return HS_EINVAL;
    uplist_t ul = {cb, bucket, o->upload_id_marker ? o->upload_id_marker : "",
                   o->max_uploads > 1000 ? 1000 : o->max_uploads, 0, false, next};
    hs_kv_txn_t *txn;
    walk_t w;
    *truncated = false;
    memset(next, 0, sizeof(*next));
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__meta_bucket_exists(txn, bucket);
    if (rc == 0 && ul.max > 0) {
        walk_init(&w, txn, bucket, HS__META_K_UPIDX, o->prefix, o->prefix_len, o->delimiter,
                  o->delim_len, o->key_marker, o->key_marker_len);
        w.incl = w.has_after && ul.id_marker[0];
        w.key = up_key;
        w.cprefix = up_prefix;
        w.arg = &ul;
        rc = walk_run(&w);
    }
    hs_kv_txn_abort(txn);
    *truncated = ul.truncated;
    return rc;
}
