/*
 * The L2 cache core (see l2.h): refcounted values, sharding, per-shard
 * hash tables and byte accounting, fill tokens, stats and metrics. The
 * eviction order is a policy's business (l2-int.h).
 *
 * Fill tokens: each shard keeps GEN_SLOTS generation counters selected by
 * key hash. hs_l2_del bumps the key's counter under the shard lock;
 * hs_l2_begin_fill returns its current value and hs_l2_put, under the same
 * lock, stores only if it is unchanged. Keys sharing a counter can refuse
 * each other's fills (a lost insert), never accept a stale one.
 */
#include "origin/l2.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/metrics.h"
#include "origin/l2-int.h"

#define SHARDS_MAX 256
#define SHARDS_AUTO_MAX 64
/* Automatic sharding keeps at least this many largest entries per shard,
 * so a shard's own budget never turns away what the cache should hold. */
#define ITEMS_PER_SHARD_MIN 16
#define GEN_SLOTS 256
#define ITEM_DEFAULT ((size_t)1 << 20)
#define BUCKETS_MIN 64

struct hs_l2_val {
    atomic_uint refs;
    uint32_t tag;
    size_t len;
    const void *data;
    void (*release)(void *arg);
    void *arg;
    _Alignas(16) unsigned char bytes[];
};

typedef struct shard {
    pthread_mutex_t mu;
    size_t cap, bytes, items;
    hs__l2_ent_t **buckets;
    size_t nbuckets;
    void *pol;
    uint64_t hits, misses, puts, rejected, stale, evictions, dels;
    uint64_t gen[GEN_SLOTS];
} shard_t;

struct hs_l2 {
    const hs__l2_policy_t *ops;
    shard_t *shards;
    unsigned nshards, shard_shift;
    size_t max_bytes, max_item;
    hs_counter_t *m_hits, *m_misses, *m_puts, *m_rejected, *m_stale, *m_evictions;
    hs_gauge_t *m_bytes, *m_items;
};

static const hs__l2_policy_t *const policies[HS_L2_NPOLICIES] = {
    [HS_L2_LRU] = &hs__l2_lru,
    [HS_L2_SIEVE] = &hs__l2_sieve,
    [HS_L2_S3FIFO] = &hs__l2_s3fifo,
    [HS_L2_TINYLFU] = &hs__l2_tinylfu,
};

/* ---- values ---- */

static hs_l2_val_t *val_alloc(size_t extra, uint32_t tag)
{
    if (extra > SIZE_MAX - sizeof(hs_l2_val_t))
        return NULL;
    hs_l2_val_t *v = malloc(sizeof(*v) + extra);
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->tag = tag;
    v->len = extra;
    v->data = v->bytes;
    v->release = NULL;
    v->arg = NULL;
    return v;
}

hs_l2_val_t *hs_l2_val_new(const void *data, size_t len, uint32_t tag)
{
    hs_l2_val_t *v = val_alloc(len, tag);
    if (v && len)
        memcpy(v->bytes, data, len);
    return v;
}

hs_l2_val_t *hs_l2_val_alloc(size_t len, uint32_t tag, void **data)
{
    hs_l2_val_t *v = val_alloc(len, tag);
    *data = v ? v->bytes : NULL;
    return v;
}

hs_l2_val_t *hs_l2_val_wrap(const void *data, size_t len, uint32_t tag,
                            void (*release)(void *arg), void *arg)
{
    hs_l2_val_t *v = val_alloc(0, tag);
    if (!v)
        return NULL;
    v->len = len;
    v->data = data;
    v->release = release;
    v->arg = arg;
    return v;
}

const void *hs_l2_val_data(const hs_l2_val_t *v)
{
    return v->data;
}

size_t hs_l2_val_len(const hs_l2_val_t *v)
{
    return v->len;
}

uint32_t hs_l2_val_tag(const hs_l2_val_t *v)
{
    return v->tag;
}

void hs_l2_val_ref(hs_l2_val_t *v)
{
    unsigned old = atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    assert(old > 0 && old < UINT32_MAX);
    (void)old;
}

void hs_l2_val_unref(hs_l2_val_t *v)
{
    if (!v)
        return;
    unsigned old = atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel);
    assert(old > 0);
    if (old != 1)
        return;
    if (v->release)
        v->release(v->arg);
    free(v);
}

void hs_l2_val_release(void *v)
{
    hs_l2_val_unref(v);
}

/* ---- metrics (optional: NULL series when the cache has no prefix) ---- */

static void m_add(hs_counter_t *m, uint64_t n)
{
    if (m)
        hs_counter_add(m, n);
}

static void g_add(hs_gauge_t *g, int64_t d)
{
    if (g)
        hs_gauge_add(g, d);
}

/* ---- shards ---- */

static uint64_t key_hash(const void *key, size_t klen)
{
    return XXH3_64bits(key, klen);
}

/* Top bits pick the shard, low bits the bucket, middle bits the
 * generation slot, so the three choices are independent. */
static shard_t *shard_of(hs_l2_t *c, uint64_t h)
{
    return &c->shards[c->nshards > 1 ? h >> c->shard_shift : 0];
}

static uint64_t *gen_of(shard_t *s, uint64_t h)
{
    return &s->gen[(h >> 32) & (GEN_SLOTS - 1)];
}

static size_t charge_of(size_t klen, const hs_l2_val_t *v)
{
    return sizeof(hs__l2_ent_t) + klen + sizeof(hs_l2_val_t) + v->len;
}

static hs__l2_ent_t **slot_of(shard_t *s, const void *key, size_t klen, uint64_t h)
{
    hs__l2_ent_t **pp = &s->buckets[h & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        hs__l2_ent_t *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
    }
    return pp;
}

static void table_unlink(shard_t *s, hs__l2_ent_t *e)
{
    hs__l2_ent_t **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    s->bytes -= e->charge;
    s->items--;
}

/* Doubles the buckets; on OOM the chains just get longer. */
static void table_grow(shard_t *s)
{
    size_t n = s->nbuckets * 2;
    hs__l2_ent_t **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        hs__l2_ent_t *e = s->buckets[i];
        while (e) {
            hs__l2_ent_t *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

static void ents_free(hs__l2_ent_t *e)
{
    while (e) {
        hs__l2_ent_t *next = e->hnext;
        hs_l2_val_unref(e->val);
        free(e);
        e = next;
    }
}

/* ---- cache ---- */

static unsigned auto_shards(size_t max_bytes, size_t max_item)
{
    unsigned n = 1;
    while (n < SHARDS_AUTO_MAX && max_bytes / (n * 2) >= (size_t)ITEMS_PER_SHARD_MIN * max_item)
        n *= 2;
    return n;
}

static void register_metrics(hs_l2_t *c, const char *prefix)
{
    char name[128];
#define L2_COUNTER(field, suffix, help)                                                            \
    snprintf(name, sizeof(name), "%s_" suffix, prefix);                                            \
    c->field = hs_counter(name, NULL, help)
    L2_COUNTER(m_hits, "hits_total", "L2 cache lookups answered from memory");
    L2_COUNTER(m_misses, "misses_total", "L2 cache lookups not found");
    L2_COUNTER(m_puts, "puts_total", "entries stored in the L2 cache");
    L2_COUNTER(m_rejected, "rejected_total", "L2 puts refused for size or by admission");
    L2_COUNTER(m_stale, "stale_fills_total", "L2 fills refused: the key changed meanwhile");
    L2_COUNTER(m_evictions, "evictions_total", "L2 entries evicted to make room");
#undef L2_COUNTER
    snprintf(name, sizeof(name), "%s_bytes", prefix);
    c->m_bytes = hs_gauge(name, NULL, "bytes charged to the L2 cache");
    snprintf(name, sizeof(name), "%s_items", prefix);
    c->m_items = hs_gauge(name, NULL, "entries held by the L2 cache");
}

hs_l2_t *hs_l2_new(size_t max_bytes, size_t max_item_bytes)
{
    hs_l2_opts_t o = {
        .max_bytes = max_bytes,
        .max_item_bytes = max_item_bytes,
        .policy = HS_L2_DEFAULT,
    };
    return hs_l2_new_opts(&o);
}

hs_l2_t *hs_l2_new_opts(const hs_l2_opts_t *o)
{
    if (!o->max_bytes || (unsigned)o->policy >= HS_L2_NPOLICIES || o->shards > SHARDS_MAX ||
        (o->shards & (o->shards - 1)))
        return NULL;
    hs_l2_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ops = policies[o->policy];
    c->max_bytes = o->max_bytes;
    c->max_item = o->max_item_bytes;
    if (!c->max_item)
        c->max_item = o->max_bytes / 16 < ITEM_DEFAULT ? o->max_bytes / 16 : ITEM_DEFAULT;
    c->nshards = o->shards ? o->shards : auto_shards(c->max_bytes, c->max_item);
    if (c->max_bytes / c->nshards < c->max_item)
        c->max_item = c->max_bytes / c->nshards;
    c->shard_shift = 64;
    for (unsigned n = c->nshards; n > 1; n >>= 1)
        c->shard_shift--;
    c->shards = calloc(c->nshards, sizeof(*c->shards));
    if (!c->shards)
        goto fail;
    for (unsigned i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = c->max_bytes / c->nshards;
        for (unsigned g = 0; g < GEN_SLOTS; g++)
            s->gen[g] = 1;
        s->nbuckets = BUCKETS_MIN;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        s->pol = calloc(1, c->ops->state_size);
        if (!s->buckets || !s->pol || c->ops->init(s->pol, s->cap) < 0) {
            c->nshards = i + 1;
            goto fail;
        }
    }
    if (o->metrics_prefix)
        register_metrics(c, o->metrics_prefix);
    return c;
fail:
    hs_l2_free(c);
    return NULL;
}

void hs_l2_free(hs_l2_t *c)
{
    if (!c)
        return;
    for (unsigned i = 0; c->shards && i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        for (size_t b = 0; s->buckets && b < s->nbuckets; b++)
            ents_free(s->buckets[b]);
        g_add(c->m_bytes, -(int64_t)s->bytes);
        g_add(c->m_items, -(int64_t)s->items);
        if (s->pol)
            c->ops->fini(s->pol);
        free(s->pol);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(c->shards);
    free(c);
}

hs_l2_val_t *hs_l2_get(hs_l2_t *c, const void *key, size_t klen)
{
    if (klen > HS_L2_KEY_MAX) {
        m_add(c->m_misses, 1);
        return NULL;
    }
    uint64_t h = key_hash(key, klen);
    shard_t *s = shard_of(c, h);
    hs_l2_val_t *v = NULL;
    pthread_mutex_lock(&s->mu);
    hs__l2_ent_t *e = *slot_of(s, key, klen, h);
    c->ops->access(s->pol, h, e);
    if (e) {
        v = e->val;
        hs_l2_val_ref(v);
        s->hits++;
    } else {
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    m_add(v ? c->m_hits : c->m_misses, 1);
    return v;
}

uint64_t hs_l2_begin_fill(hs_l2_t *c, const void *key, size_t klen)
{
    uint64_t h = key_hash(key, klen);
    shard_t *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    uint64_t tok = *gen_of(s, h);
    pthread_mutex_unlock(&s->mu);
    return tok;
}

bool hs_l2_put(hs_l2_t *c, const void *key, size_t klen, hs_l2_val_t *v, uint64_t token)
{
    uint64_t h = key_hash(key, klen);
    shard_t *s = shard_of(c, h);
    size_t charge = klen <= HS_L2_KEY_MAX && v->len <= c->max_item ? charge_of(klen, v) : SIZE_MAX;
    hs__l2_ent_t *e = NULL;
    if (charge <= c->max_item) {
        e = malloc(sizeof(*e) + klen);
        if (e) {
            memset(e, 0, sizeof(*e));
            e->hash = h;
            e->klen = (uint32_t)klen;
            e->charge = charge;
            e->val = v;
            memcpy(e->key, key, klen);
        }
    }

    hs__l2_ent_t *dead = NULL; /* freed after unlocking */
    size_t evicted = 0, refused = 0;
    int64_t dbytes = 0, ditems = 0;
    bool stored = false, stale = false;
    pthread_mutex_lock(&s->mu);
    if (token != *gen_of(s, h)) {
        s->stale++;
        stale = true;
    } else if (!e) {
        s->rejected++;
        refused++;
    } else {
        hs__l2_ent_t **pp = slot_of(s, key, klen, h);
        hs__l2_ent_t *old = *pp;
        if (old) {
            *pp = old->hnext;
            s->bytes -= old->charge;
            s->items--;
            c->ops->remove(s->pol, old);
            dbytes -= (int64_t)old->charge;
            ditems--;
            old->hnext = dead;
            dead = old;
        }
        hs_l2_val_ref(v);
        e->hnext = s->buckets[h & (s->nbuckets - 1)];
        s->buckets[h & (s->nbuckets - 1)] = e;
        s->bytes += e->charge;
        s->items++;
        c->ops->insert(s->pol, e);
        dbytes += (int64_t)e->charge;
        ditems++;
        stored = true;
        while (s->bytes > s->cap) {
            bool rej = false;
            hs__l2_ent_t *x = c->ops->evict(s->pol, &rej);
            assert(x);
            table_unlink(s, x);
            dbytes -= (int64_t)x->charge;
            ditems--;
            if (x == e)
                stored = false;
            if (rej) {
                s->rejected++;
                refused++;
            } else {
                s->evictions++;
                evicted++;
            }
            x->hnext = dead;
            dead = x;
        }
        if (stored)
            s->puts++;
        if (s->items > s->nbuckets)
            table_grow(s);
        e = NULL;
    }
    pthread_mutex_unlock(&s->mu);

    free(e);
    ents_free(dead);
    if (stored)
        m_add(c->m_puts, 1);
    if (stale)
        m_add(c->m_stale, 1);
    if (refused)
        m_add(c->m_rejected, refused);
    if (evicted)
        m_add(c->m_evictions, evicted);
    if (dbytes)
        g_add(c->m_bytes, dbytes);
    if (ditems)
        g_add(c->m_items, ditems);
    return stored;
}

void hs_l2_del(hs_l2_t *c, const void *key, size_t klen)
{
    uint64_t h = key_hash(key, klen);
    shard_t *s = shard_of(c, h);
    hs__l2_ent_t *e = NULL;
    pthread_mutex_lock(&s->mu);
    (*gen_of(s, h))++;
    if (klen <= HS_L2_KEY_MAX) {
        hs__l2_ent_t **pp = slot_of(s, key, klen, h);
        if ((e = *pp)) {
            *pp = e->hnext;
            e->hnext = NULL;
            s->bytes -= e->charge;
            s->items--;
            c->ops->remove(s->pol, e);
            s->dels++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (e) {
        g_add(c->m_bytes, -(int64_t)e->charge);
        g_add(c->m_items, -1);
        ents_free(e);
    }
}

void hs_l2_stats(hs_l2_t *c, hs_l2_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->max_bytes = c->max_bytes;
    out->shards = c->nshards;
    for (unsigned i = 0; i < c->nshards; i++) {
        shard_t *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->puts += s->puts;
        out->rejected += s->rejected;
        out->stale += s->stale;
        out->evictions += s->evictions;
        out->dels += s->dels;
        out->bytes += s->bytes;
        out->items += s->items;
        pthread_mutex_unlock(&s->mu);
    }
}

const char *hs_l2_policy_name(hs_l2_policy_kind_t k)
{
    return (unsigned)k < HS_L2_NPOLICIES ? policies[k]->name : "?";
}

int hs_l2_policy_parse(const char *name)
{
    for (int k = 0; k < HS_L2_NPOLICIES; k++)
        if (strcmp(name, policies[k]->name) == 0)
            return k;
    return HS_EINVAL;
}
