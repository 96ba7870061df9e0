/*
 * Tiering: a per-object access model and the moves between tiers.
 *
 * Model: each object keeps a decayed access count s (half-life H) and the
 * time of its last access. An access at time t does
 *     s = s * 2^(-(t - last) / H) + 1,  last = t.
 * For accesses arriving as a Poisson process of rate r, E[s] tends to
 * r * H / ln 2, so the model predicts the rate r = s_now * ln 2 / H and
 * the next access in 1 / r. The policy puts an object in the hottest tier
 * whose window contains that prediction (hot: 1 day, warm: 30 days, else
 * cold), never moves objects younger than a minimum age, and takes the
 * storage class of the PUT as the starting tier. Knobs: docs/objects.md.
 *
 * The model lives in its own store (DIR/access) that is not fsynced: it is
 * advisory, and losing the last accesses in a crash only delays a move.
 *
 * A move rewrites the object's chunks into stripes of the target tier
 * (compressed for warm/cold, wider stripes for cold) and repoints the
 * chunk index; a chunk shared with other objects never moves colder (it
 * keeps the hottest tier any object asks for). Old stripes left without
 * live chunks go to the gc queue.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "objects/internal.h"
#include "objects/objects.h"
#include "objects/tier.h"

static hs_tier_policy_t policy = {
    .half_life_ns = 24ull * 3600 * 1000000000ull,
    .hot_window_ns = 24ull * 3600 * 1000000000ull,
    .warm_window_ns = 30ull * 24 * 3600 * 1000000000ull,
    .min_age_ns = 3600ull * 1000000000ull,
};

void hs_tier_policy_default(hs_tier_policy_t *p)
{
    *p = policy;
}

double hs_access_decay(double score, uint64_t last_ns, uint64_t now_ns, uint64_t half_life_ns)
{
    if (now_ns <= last_ns) return score;
    return score * exp2(-(double)(now_ns - last_ns) / (double)half_life_ns);
}

double hs_access_next_ns(double score, uint64_t last_ns, uint64_t now_ns, uint64_t half_life_ns)
{
    double s = hs_access_decay(score, last_ns, now_ns, half_life_ns);
    if (s <= 0) return INFINITY;
    return (double)half_life_ns / (s * M_LN2);
}

hs_tier_t hs_tier_choose(const hs_tier_policy_t *p, double score, uint64_t last_ns,
                         uint64_t created_ns, uint64_t now_ns, hs_tier_t current)
{
    if (now_ns - created_ns < p->min_age_ns && now_ns >= created_ns) return current;
    double next = hs_access_next_ns(score, last_ns, now_ns, p->half_life_ns);
    if (next <= (double)p->hot_window_ns) return HS_TIER_HOT;
    if (next <= (double)p->warm_window_ns) return HS_TIER_WARM;
    return HS_TIER_COLD;
}

/* Access records: 'a' name -> score (double), last_ns, count. */
typedef struct acc {
    double score;
    uint64_t last_ns, count;
} acc_t;

static int acc_get(hs_kv_txn_t *txn, const uint8_t *k, size_t klen, acc_t *a)
{
    hs_kv_val_t v;
    int rc = hs_kv_get(txn, k, klen, &v);
    if (rc < 0) return rc;
    if (v.len != sizeof(*a)) return HS_ECORRUPT;
    memcpy(a, v.data, sizeof(*a));
    return 0;
}

void hs__access_record(hs_objects_t *s, const char *name)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn;
    acc_t a = {0};
    uint64_t now = hs__now_ns();
    if (hs__key_object(k, name, &klen) < 0 || hs_kv_txn_begin(s->akv, 0, &txn) < 0) return;
    if (acc_get(txn, k, klen, &a) == 0)
        a.score = hs_access_decay(a.score, a.last_ns, now, policy.half_life_ns);
    else
        memset(&a, 0, sizeof(a));
    a.score += 1;
    a.last_ns = now;
    a.count++;
    if (hs_kv_put(txn, k, klen, &a, sizeof(a)) < 0)
        hs_kv_txn_abort(txn);
    else
        hs_kv_txn_commit(txn);
}

int hs_obj_access_get(hs_objects_t *s, const char *name, double *score, uint64_t *last_ns,
                      uint64_t *count)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn;
    acc_t a;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0 || (rc = hs_kv_txn_begin(s->akv, HS_KV_RDONLY, &txn)) < 0) return rc;
    rc = acc_get(txn, k, klen, &a);
    hs_kv_txn_abort(txn);
    if (rc < 0) return rc;
    *score = a.score;
    *last_ns = a.last_ns;
    *count = a.count;
    return 0;
}

int hs_obj_access_set(hs_objects_t *s, const char *name, double score, uint64_t last_ns)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    acc_t a = {.score = score, .last_ns = last_ns, .count = 1};
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0) return rc;
    return hs_kv_put1(s->akv, k, klen, &a, sizeof(a));
}

static int cmp_hash_idx(const void *a, const void *b, void *arg)
{
    const hs__manifest_t *m = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = memcmp(m->chunks[x].hash, m->chunks[y].hash, 32);
    return c ? c : (x > y) - (x < y);
}

/* dup[i] = 1 for every chunk that repeats an earlier chunk of m
 * (O(n log n): objects have tens of thousands of chunks per GiB). */
static void mark_repeats(const hs__manifest_t *m, uint8_t *dup)
{
    uint32_t *ix = malloc(((size_t)m->nchunks + 1) * sizeof(*ix));
    if (!ix) return; /* repeats are then moved twice: only space, reclaimed by gc */
    for (uint32_t i = 0; i < m->nchunks; i++)
        ix[i] = i;
    qsort_r(ix, m->nchunks, sizeof(*ix), cmp_hash_idx, (void *)m);
    for (uint32_t k = 1; k < m->nchunks; k++)
        if (memcmp(m->chunks[ix[k]].hash, m->chunks[ix[k - 1]].hash, 32) == 0) dup[ix[k]] = 1;
    free(ix);
}

typedef struct mv {
    uint8_t hash[32];
    hs__chunk_rec_t old, rec;
} mv_t;

int hs_obj_set_tier(hs_objects_t *s, const char *name, hs_tier_t t)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn = NULL;
    hs_kv_val_t v;
    hs__manifest_t m = {0};
    hs__packer_t *pk = NULL;
    mv_t *mv = NULL;
    uint8_t *dup = NULL;
    size_t nmv = 0;
    uint8_t *sbuf = NULL, *raw = NULL;
    size_t scap = 0;
    uint64_t sid = 0;
    if (t > HS_TIER_COLD) return HS_EINVAL;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0) return rc;
    int lk = hs__lock(s, false, false);
    if (lk < 0) return lk;
    if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0) goto out;
    rc = hs_kv_get(txn, k, klen, &v);
    if (rc == 0) rc = hs__manifest_dec(&m, v.data, v.len);
    if (rc < 0) goto out;
    mv = calloc(m.nchunks + 1, sizeof(*mv));
    dup = calloc(m.nchunks + 1, 1);
    if (!dup) {
        rc = HS_ENOMEM;
        goto out;
    }
    mark_repeats(&m, dup);
    if (!mv || (rc = hs__packer_new(s, t, &pk)) < 0) {
        rc = rc < 0 ? rc : HS_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < m.nchunks; i++) {
        hs__chunk_rec_t c;
        if (hs__get_chunk(txn, m.chunks[i].hash, &c) < 0) continue;
        if (c.tier == t || (c.refs > 1 && t > c.tier)) continue;
        if (dup[i]) continue; /* a repeat of a chunk earlier in this object */
        hs__stripe_rec_t st;
        if ((rc = hs__get_stripe(txn, c.stripe, &st)) < 0) goto out;
        if (sid != c.stripe) {
            size_t need = (size_t)st.d * st.frag_len;
            if (need > scap) {
                uint8_t *nb = realloc(sbuf, need);
                if (!nb) {
                    rc = HS_ENOMEM;
                    goto out;
                }
                sbuf = nb;
                scap = need;
            }
            if ((rc = hs__stripe_load(s, c.stripe, &st, sbuf, false, true, NULL)) < 0) goto out;
            sid = c.stripe;
        }
        uint8_t *nr = realloc(raw, c.raw_len ? c.raw_len : 1);
        if (!nr) {
            rc = HS_ENOMEM;
            goto out;
        }
        raw = nr;
        if ((rc = hs__chunk_raw(&c, sbuf, raw)) < 0) goto out;
        memcpy(mv[nmv].hash, m.chunks[i].hash, 32);
        mv[nmv].old = c;
        if ((rc = hs__packer_add(pk, mv[nmv].hash, raw, c.raw_len, &mv[nmv].rec)) < 0) goto out;
        nmv++;
    }
    hs_kv_txn_abort(txn);
    txn = NULL;
    if ((rc = hs__packer_flush(pk)) < 0) goto out;
    if ((rc = hs_kv_txn_begin(s->kv, 0, &txn)) < 0) goto out;
    uint64_t *ids;
    hs__stripe_rec_t *recs;
    size_t ns = hs__packer_stripes(pk, &ids, &recs);
    for (size_t i = 0; i < ns; i++)
        recs[i].live_chunks = 0, recs[i].live_bytes = 0;
    for (size_t i = 0; i < nmv && rc == 0; i++) {
        hs__chunk_rec_t c;
        if (hs__get_chunk(txn, mv[i].hash, &c) < 0 || c.stripe != mv[i].old.stripe ||
            c.off != mv[i].old.off)
            continue; /* moved or freed meanwhile: our copy is garbage */
        if ((rc = hs__chunk_repoint(txn, mv[i].hash, &c, &mv[i].rec, ids, recs, ns)) < 0) break;
        hs__stripe_rec_t st;
        if (rc == 0 && hs__get_stripe(txn, c.stripe, &st) == 0) {
            st.live_chunks = st.live_chunks ? st.live_chunks - 1 : 0;
            st.live_bytes = st.live_bytes >= c.stored_len ? st.live_bytes - c.stored_len : 0;
            if (st.live_chunks == 0) {
                uint8_t sk[9], gk[9], gv[HS__STRIPE_REC_LEN];
                hs__stripe_enc(gv, &st);
                hs_kv_del(txn, sk, hs__key_stripe(sk, c.stripe));
                rc = hs_kv_put(txn, gk, hs__key_garbage(gk, c.stripe), gv, sizeof(gv));
            } else {
                rc = hs__put_stripe(txn, c.stripe, &st);
            }
        }
    }
    if (rc == 0) rc = hs__put_moved_stripes(txn, ids, recs, ns);
    /* The manifest records the tier asked for. */
    if (rc == 0 && (rc = hs_kv_get(txn, k, klen, &v)) == 0) {
        hs__manifest_t cur;
        if ((rc = hs__manifest_dec(&cur, v.data, v.len)) == 0) {
            uint8_t *enc;
            size_t elen;
            cur.tier = (uint8_t)t;
            if ((rc = hs__manifest_enc(&cur, &enc, &elen)) == 0) {
                rc = hs_kv_put(txn, k, klen, enc, elen);
                free(enc);
            }
            hs__manifest_free(&cur);
        }
    }
    if (rc == 0) {
        rc = hs_kv_txn_commit(txn);
        txn = NULL;
    }
out:
    if (txn) hs_kv_txn_abort(txn);
    hs__packer_free(pk);
    hs__manifest_free(&m);
    free(mv);
    free(dup);
    free(sbuf);
    free(raw);
    hs__unlock(lk);
    return rc;
}

typedef struct cand {
    char *name;
    uint64_t mtime;
    uint8_t tier;
} cand_t;

typedef struct cands {
    cand_t *a;
    size_t n, cap;
} cands_t;

static int collect(void *arg, const char *name, const hs_obj_info_t *info)
{
    cands_t *c = arg;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        cand_t *na = realloc(c->a, nc * sizeof(*na));
        if (!na) return HS_ENOMEM;
        c->a = na;
        c->cap = nc;
    }
    c->a[c->n].name = strdup(name);
    if (!c->a[c->n].name) return HS_ENOMEM;
    c->a[c->n].mtime = info->mtime_ns;
    c->a[c->n].tier = (uint8_t)info->tier;
    c->n++;
    return 0;
}

int hs_objects_tier_pass(hs_objects_t *s, uint64_t now_ns, const hs_obj_maint_opts_t *opts,
                         hs_obj_report_t *rep)
{
    hs_obj_report_t dummy;
    cands_t c = {0};
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    if (now_ns == 0) now_ns = hs__now_ns();
    int rc = hs_obj_list(s, NULL, collect, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        double score = 0;
        uint64_t last = c.a[i].mtime, count = 0;
        hs_obj_access_get(s, c.a[i].name, &score, &last, &count);
        hs_tier_t want =
            hs_tier_choose(&policy, score, last, c.a[i].mtime, now_ns, (hs_tier_t)c.a[i].tier);
        rep->objects++;
        if (want != c.a[i].tier) {
            int mr = hs_obj_set_tier(s, c.a[i].name, want);
            if (mr == 0)
                rep->moved++;
            else if (mr != HS_ENOENT)
                rep->errors++;
        }
        if (opts && opts->progress) opts->progress(opts->progress_arg, "tier", i + 1, c.n);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.a[i].name);
    free(c.a);
    return rc;
}

void hs_tier_policy_set(const hs_tier_policy_t *p)
{
    policy = *p;
}
