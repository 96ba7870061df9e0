/*
 * The shared client table (see table.h). Slots are one cache line each so
 * two threads charging different clients never share a line; a set is
 * HS_SHIELD_WAYS adjacent slots, and a set's stripe lock covers it.
 */
#include "shield/table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "shield/bucket.h"

#define STRIPES 256

typedef struct slot {
    uint8_t key[16];
    hs_bucket_t bucket;
    uint64_t seen_ms;
    uint64_t throttle_until_ms;
    uint32_t conns;
    uint32_t strikes;
    uint8_t used;
    uint8_t fresh; /* bucket not initialised yet */
} __attribute__((aligned(64))) slot_t;

typedef struct stripe {
    pthread_mutex_t mu;
} __attribute__((aligned(64))) stripe_t;

struct hs_shield_table {
    slot_t *slots;
    uint32_t nslots, set_mask;
    uint64_t seed[2];
    _Atomic uint32_t size;
    stripe_t stripes[STRIPES];
};

_Static_assert(sizeof(slot_t) == 64, "a slot is one cache line");

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Seeded so that a client cannot pick addresses that crowd one set without
 * knowing the seed. */
static uint32_t set_of(const hs_shield_table_t *t, const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = mix(a ^ t->seed[0]);
    h = mix(h ^ b ^ t->seed[1]);
    return (uint32_t)h & t->set_mask;
}

int hs_shield_table_new(uint32_t capacity, hs_shield_table_t **out)
{
    uint32_t n = 64;
    while (n < capacity && n < (1u << 30))
        n <<= 1;
    hs_shield_table_t *t = calloc(1, sizeof(*t));
    if (!t)
        return HS_ENOMEM;
    t->slots = aligned_alloc(64, (size_t)n * sizeof(slot_t));
    if (!t->slots) {
        free(t);
        return HS_ENOMEM;
    }
    memset(t->slots, 0, (size_t)n * sizeof(slot_t));
    t->nslots = n;
    t->set_mask = n / HS_SHIELD_WAYS - 1;
    if (getrandom(t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->seed[0] = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
        t->seed[1] = mix(t->seed[0] ^ (uint64_t)ts.tv_sec);
    }
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&t->stripes[i].mu, NULL);
    *out = t;
    return 0;
}

void hs_shield_table_free(hs_shield_table_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&t->stripes[i].mu);
    free(t->slots);
    free(t);
}

uint32_t hs_shield_table_capacity(const hs_shield_table_t *t)
{
    return t->nslots;
}

uint32_t hs_shield_table_size(const hs_shield_table_t *t)
{
    return atomic_load_explicit(&t->size, memory_order_relaxed);
}

static pthread_mutex_t *lock_set(hs_shield_table_t *t, uint32_t set)
{
    pthread_mutex_t *mu = &t->stripes[set % STRIPES].mu;
    pthread_mutex_lock(mu);
    return mu;
}

static slot_t *find(hs_shield_table_t *t, uint32_t set, const uint8_t key[16])
{
    slot_t *s = &t->slots[(size_t)set * HS_SHIELD_WAYS];
    for (int i = 0; i < HS_SHIELD_WAYS; i++)
        if (s[i].used && memcmp(s[i].key, key, 16) == 0)
            return &s[i];
    return NULL;
}

/* The client's slot, taking a free one or the least recently seen one
 * without connections. NULL when every slot of the set is pinned. */
static slot_t *get(hs_shield_table_t *t, uint32_t set, const uint8_t key[16], uint64_t now_ms)
{
    slot_t *s = &t->slots[(size_t)set * HS_SHIELD_WAYS];
    slot_t *victim = NULL;
    for (int i = 0; i < HS_SHIELD_WAYS; i++) {
        if (!s[i].used) {
            if (!victim || victim->used)
                victim = &s[i];
            continue;
        }
        if (memcmp(s[i].key, key, 16) == 0) {
            s[i].seen_ms = now_ms;
            return &s[i];
        }
        if (s[i].conns == 0 && (!victim || (victim->used && s[i].seen_ms < victim->seen_ms)))
            victim = &s[i];
    }
    if (!victim)
        return NULL;
    if (!victim->used)
        atomic_fetch_add_explicit(&t->size, 1, memory_order_relaxed);
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, 16);
    victim->used = 1;
    victim->fresh = 1;
    victim->seen_ms = now_ms;
    return victim;
}

int hs_shield_table_conn_open(hs_shield_table_t *t, const uint8_t key[16], uint32_t max_conns,
                              uint64_t now_ms)
{
    uint32_t set = set_of(t, key);
    pthread_mutex_t *mu = lock_set(t, set);
    slot_t *s = get(t, set, key, now_ms);
    int rc = 0;
    if (!s)
        rc = HS_ENOSPC;
    else if (max_conns && s->conns >= max_conns)
        rc = HS_ELIMIT;
    else
        s->conns++;
    pthread_mutex_unlock(mu);
    return rc;
}

void hs_shield_table_conn_close(hs_shield_table_t *t, const uint8_t key[16])
{
    uint32_t set = set_of(t, key);
    pthread_mutex_t *mu = lock_set(t, set);
    slot_t *s = find(t, set, key);
    if (s && s->conns)
        s->conns--;
    pthread_mutex_unlock(mu);
}

uint32_t hs_shield_table_conns(hs_shield_table_t *t, const uint8_t key[16])
{
    uint32_t set = set_of(t, key);
    pthread_mutex_t *mu = lock_set(t, set);
    slot_t *s = find(t, set, key);
    uint32_t n = s ? s->conns : 0;
    pthread_mutex_unlock(mu);
    return n;
}

int hs_shield_table_request(hs_shield_table_t *t, const uint8_t key[16],
                            const hs_shield_limit_t *lim, uint64_t now_ms,
                            hs_shield_verdict_t *v)
{
    memset(v, 0, sizeof(*v));
    uint32_t set = set_of(t, key);
    pthread_mutex_t *mu = lock_set(t, set);
    slot_t *s = get(t, set, key, now_ms);
    if (!s) {
        pthread_mutex_unlock(mu);
        v->untracked = true;
        return HS_ENOSPC;
    }
    if (lim->throttle_for_ms && s->throttle_until_ms < now_ms + lim->throttle_for_ms)
        s->throttle_until_ms = now_ms + lim->throttle_for_ms;
    uint32_t rate = lim->rate, burst = lim->burst;
    if (s->throttle_until_ms > now_ms && lim->throttle_rate &&
        (rate == 0 || lim->throttle_rate < rate)) {
        rate = lim->throttle_rate;
        burst = lim->throttle_burst;
        v->throttled = true;
    }
    if (rate) {
        if (s->fresh) {
            hs_bucket_init(&s->bucket, burst, now_ms);
            s->fresh = 0;
        }
        v->retry_after = hs_bucket_take(&s->bucket, rate, burst, now_ms);
    }
    if (v->retry_after)
        v->strikes = ++s->strikes;
    else
        s->strikes = 0;
    pthread_mutex_unlock(mu);
    return 0;
}

uint32_t hs_shield_table_sweep(hs_shield_table_t *t, uint32_t part, uint32_t parts,
                               uint64_t idle_ms, uint64_t now_ms)
{
    uint32_t nsets = t->set_mask + 1;
    if (parts == 0)
        parts = 1;
    uint32_t per = (nsets + parts - 1) / parts;
    uint32_t from = (part % parts) * per, to = from + per > nsets ? nsets : from + per;
    uint32_t freed = 0;
    for (uint32_t set = from; set < to; set++) {
        pthread_mutex_t *mu = lock_set(t, set);
        slot_t *s = &t->slots[(size_t)set * HS_SHIELD_WAYS];
        for (int i = 0; i < HS_SHIELD_WAYS; i++) {
            if (s[i].used && s[i].conns == 0 && s[i].throttle_until_ms <= now_ms &&
                now_ms >= s[i].seen_ms + idle_ms) {
                s[i].used = 0;
                freed++;
            }
        }
        pthread_mutex_unlock(mu);
    }
    if (freed)
        atomic_fetch_sub_explicit(&t->size, freed, memory_order_relaxed);
    return freed;
}
