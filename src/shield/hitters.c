/*
 * Count-min sketch over two rotating windows plus a small top-k set (see
 * hitters.h). Counters are updated with relaxed atomics: a count lost to a
 * race with a window rotation only makes an estimate of an estimate
 * slightly low, which the design tolerates; no lock is taken on the common
 * path.
 */
#include "shield/hitters.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/err.h"

#define TSHARDS 16
#define SAMPLE_FROM 64 /* below this count every request may enter the top set */

typedef struct tshard {
    _Atomic uint64_t n;
} __attribute__((aligned(64))) tshard_t;

struct hs_hitters {
    _Atomic uint32_t cm[2][HS_HITTERS_DEPTH][HS_HITTERS_WIDTH];
    tshard_t total[2][TSHARDS];
    _Atomic uint64_t epoch;
    uint64_t window_ms;
    uint64_t seed[2];
    pthread_mutex_t mu; /* rotation and the top set */
    _Atomic uint64_t threshold; /* smallest count in a full top set, else 0 */
    unsigned k, n;
    hs_hitter_t top[HS_HITTERS_K_MAX];
};

static _Atomic unsigned next_tshard;
static _Thread_local int my_tshard = -1;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Row indexes by double hashing (Kirsch-Mitzenmacher) of one seeded hash. */
static void rows(const hs_hitters_t *h, const uint8_t key[16], uint32_t idx[HS_HITTERS_DEPTH])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h1 = mix(mix(a ^ h->seed[0]) ^ b);
    uint64_t h2 = mix(h1 ^ h->seed[1]) | 1;
    for (int d = 0; d < HS_HITTERS_DEPTH; d++)
        idx[d] = (uint32_t)(h1 + (uint64_t)d * h2) & (HS_HITTERS_WIDTH - 1);
}

int hs_hitters_new(unsigned k, uint64_t window_ms, uint64_t now_ms, hs_hitters_t **out)
{
    if (k == 0 || k > HS_HITTERS_K_MAX || window_ms == 0)
        return HS_EINVAL;
    hs_hitters_t *h = aligned_alloc(64, (sizeof(hs_hitters_t) + 63) & ~(size_t)63);
    if (!h)
        return HS_ENOMEM;
    memset(h, 0, sizeof(*h));
    h->k = k;
    h->window_ms = window_ms;
    atomic_init(&h->epoch, now_ms / window_ms);
    if (getrandom(h->seed, sizeof(h->seed), GRND_NONBLOCK) != (ssize_t)sizeof(h->seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        h->seed[0] = mix((uint64_t)ts.tv_nsec);
        h->seed[1] = mix(h->seed[0] + (uint64_t)ts.tv_sec);
    }
    pthread_mutex_init(&h->mu, NULL);
    *out = h;
    return 0;
}

void hs_hitters_set_seed(hs_hitters_t *h, uint64_t s0, uint64_t s1)
{
    h->seed[0] = s0;
    h->seed[1] = s1;
}

void hs_hitters_free(hs_hitters_t *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void clear_window(hs_hitters_t *h, unsigned w)
{
    for (int d = 0; d < HS_HITTERS_DEPTH; d++)
        for (int i = 0; i < HS_HITTERS_WIDTH; i++)
            atomic_store_explicit(&h->cm[w][d][i], 0, memory_order_relaxed);
    for (int i = 0; i < TSHARDS; i++)
        atomic_store_explicit(&h->total[w][i].n, 0, memory_order_relaxed);
}

/* Weighted sum of the two windows at now: all of the current one, the part
 * of the previous one still inside the sliding window. */
static uint64_t blend(const hs_hitters_t *h, uint64_t epoch, uint64_t cur, uint64_t prev,
                      uint64_t now_ms)
{
    uint64_t start = epoch * h->window_ms;
    uint64_t into = now_ms > start ? now_ms - start : 0;
    if (into > h->window_ms)
        into = h->window_ms;
    return cur + prev * (h->window_ms - into) / h->window_ms;
}

static uint64_t estimate_at(const hs_hitters_t *h, const uint32_t idx[], uint64_t epoch,
                                     uint64_t now_ms)
{
    unsigned c = (unsigned)(epoch & 1), p = c ^ 1;
    uint64_t cur = UINT64_MAX, prev = UINT64_MAX;
    for (int d = 0; d < HS_HITTERS_DEPTH; d++) {
        uint64_t x = atomic_load_explicit(&h->cm[c][d][idx[d]], memory_order_relaxed);
        uint64_t y = atomic_load_explicit(&h->cm[p][d][idx[d]], memory_order_relaxed);
        if (x < cur)
            cur = x;
        if (y < prev)
            prev = y;
    }
    return blend(h, epoch, cur, prev, now_ms);
}

static uint64_t key_estimate(const hs_hitters_t *h, const uint8_t key[16], uint64_t epoch,
                             uint64_t now_ms)
{
    uint32_t idx[HS_HITTERS_DEPTH];
    rows(h, key, idx);
    return estimate_at(h, idx, epoch, now_ms);
}

/* Under mu: refreshes every member's count, drops the ones that fell to
 * zero, sorts largest first and resets the entry threshold. */
static void refresh_top(hs_hitters_t *h, uint64_t epoch, uint64_t now_ms)
{
    unsigned j = 0;
    for (unsigned i = 0; i < h->n; i++) {
        h->top[i].count = key_estimate(h, h->top[i].key, epoch, now_ms);
        if (h->top[i].count)
            h->top[j++] = h->top[i];
    }
    h->n = j;
    for (unsigned i = 1; i < h->n; i++) { /* insertion sort: k is small */
        hs_hitter_t x = h->top[i];
        unsigned m = i;
        while (m > 0 && h->top[m - 1].count < x.count) {
            h->top[m] = h->top[m - 1];
            m--;
        }
        h->top[m] = x;
    }
    atomic_store_explicit(&h->threshold, h->n < h->k ? 0 : h->top[h->n - 1].count,
                          memory_order_relaxed);
}

/* Moves the windows forward to now's epoch (never back: a caller on
 * another thread may read a clock a little behind). Returns the epoch. */
static uint64_t advance(hs_hitters_t *h, uint64_t now_ms)
{
    uint64_t e = now_ms / h->window_ms;
    uint64_t cur = atomic_load_explicit(&h->epoch, memory_order_acquire);
    if (e <= cur)
        return cur;
    pthread_mutex_lock(&h->mu);
    cur = atomic_load_explicit(&h->epoch, memory_order_relaxed);
    if (e > cur) {
        clear_window(h, (unsigned)(e & 1));
        if (e > cur + 1)
            clear_window(h, (unsigned)((e & 1) ^ 1));
        atomic_store_explicit(&h->epoch, e, memory_order_release);
        refresh_top(h, e, now_ms);
        cur = e;
    }
    pthread_mutex_unlock(&h->mu);
    return cur;
}

static void top_offer(hs_hitters_t *h, const uint8_t key[16], uint64_t count)
{
    pthread_mutex_lock(&h->mu);
    unsigned at = h->n;
    for (unsigned i = 0; i < h->n; i++)
        if (memcmp(h->top[i].key, key, 16) == 0) {
            at = i;
            break;
        }
    if (at == h->n) {
        if (h->n < h->k) {
            h->n++;
        } else {
            at = 0;
            for (unsigned i = 1; i < h->n; i++)
                if (h->top[i].count < h->top[at].count)
                    at = i;
            if (h->top[at].count >= count) {
                pthread_mutex_unlock(&h->mu);
                return;
            }
        }
        memcpy(h->top[at].key, key, 16);
    }
    h->top[at].count = count;
    uint64_t min = UINT64_MAX;
    for (unsigned i = 0; i < h->n; i++)
        if (h->top[i].count < min)
            min = h->top[i].count;
    atomic_store_explicit(&h->threshold, h->n < h->k ? 0 : min, memory_order_relaxed);
    pthread_mutex_unlock(&h->mu);
}

uint64_t hs_hitters_add(hs_hitters_t *h, const uint8_t key[16], uint64_t now_ms)
{
    uint64_t epoch = advance(h, now_ms);
    unsigned c = (unsigned)(epoch & 1), p = c ^ 1;
    uint32_t idx[HS_HITTERS_DEPTH];
    rows(h, key, idx);
    uint64_t cur = UINT64_MAX, prev = UINT64_MAX;
    for (int d = 0; d < HS_HITTERS_DEPTH; d++) {
        /* Conservative update would be tighter but needs a read-then-write
         * that races between threads; plain increments stay exact-or-over. */
        uint64_t x = atomic_fetch_add_explicit(&h->cm[c][d][idx[d]], 1, memory_order_relaxed) + 1;
        uint64_t y = atomic_load_explicit(&h->cm[p][d][idx[d]], memory_order_relaxed);
        if (x < cur)
            cur = x;
        if (y < prev)
            prev = y;
    }
    if (my_tshard < 0)
        my_tshard = (int)(atomic_fetch_add(&next_tshard, 1) % TSHARDS);
    atomic_fetch_add_explicit(&h->total[c][my_tshard].n, 1, memory_order_relaxed);
    uint64_t est = blend(h, epoch, cur, prev, now_ms);
    if (est > atomic_load_explicit(&h->threshold, memory_order_relaxed) &&
        (cur < SAMPLE_FROM || (cur & 7) == 0))
        top_offer(h, key, est);
    return est;
}

uint64_t hs_hitters_total(hs_hitters_t *h, uint64_t now_ms)
{
    uint64_t epoch = advance(h, now_ms);
    unsigned c = (unsigned)(epoch & 1), p = c ^ 1;
    uint64_t cur = 0, prev = 0;
    for (int i = 0; i < TSHARDS; i++) {
        cur += atomic_load_explicit(&h->total[c][i].n, memory_order_relaxed);
        prev += atomic_load_explicit(&h->total[p][i].n, memory_order_relaxed);
    }
    return blend(h, epoch, cur, prev, now_ms);
}

uint64_t hs_hitters_estimate(hs_hitters_t *h, const uint8_t key[16], uint64_t now_ms)
{
    uint64_t epoch = advance(h, now_ms);
    return key_estimate(h, key, epoch, now_ms);
}

unsigned hs_hitters_top(hs_hitters_t *h, uint64_t now_ms, hs_hitter_t *out, unsigned max)
{
    uint64_t epoch = advance(h, now_ms);
    pthread_mutex_lock(&h->mu);
    refresh_top(h, epoch, now_ms);
    unsigned n = h->n < max ? h->n : max;
    memcpy(out, h->top, n * sizeof(*out));
    pthread_mutex_unlock(&h->mu);
    return n;
}
