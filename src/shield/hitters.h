/*
 * Heavy-hitter detection: which clients send the most requests over a
 * sliding window, in fixed memory, from every worker thread at once.
 *
 * Counts go into a count-min sketch (HS_HITTERS_DEPTH rows of
 * HS_HITTERS_WIDTH atomic counters) per window; two windows are kept and a
 * client's estimate is the current window's count plus the previous
 * window's count weighted by how much of it still lies inside the sliding
 * window (the usual sliding-window-counter approximation). A count-min
 * estimate never undercounts; it overcounts by at most 2/WIDTH of the
 * window's requests with probability 1 - (1/2)^DEPTH per query.
 *
 * The top k clients are kept beside the sketch, a small set under a
 * mutex that a request only enters when its estimate beats the smallest
 * member (sampled once per 8 requests for large counts), so ordinary
 * clients never take the lock.
 */
#ifndef HS_SHIELD_HITTERS_H
#define HS_SHIELD_HITTERS_H

#include <stdint.h>

#define HS_HITTERS_DEPTH 4
#define HS_HITTERS_WIDTH 4096
#define HS_HITTERS_K_MAX 256

typedef struct hs_hitters hs_hitters_t;

typedef struct hs_hitter {
    uint8_t key[16];
    uint64_t count; /* estimated requests in the sliding window */
} hs_hitter_t;

/* Creates a tracker of the top k (1..HS_HITTERS_K_MAX) clients over a
 * window of window_ms (> 0) starting at now_ms. Returns 0, HS_EINVAL or
 * HS_ENOMEM. */
int hs_hitters_new(unsigned k, uint64_t window_ms, uint64_t now_ms, hs_hitters_t **out);
/* Replaces the sketch's hash seed, which is random so that clients cannot
 * aim their keys at one another's counters. For tests, whose accuracy
 * bounds hold only with a probability per seed: call before any add. */
void hs_hitters_set_seed(hs_hitters_t *h, uint64_t s0, uint64_t s1);
void hs_hitters_free(hs_hitters_t *h);

/* Counts one request of key at now_ms. Returns the key's estimated
 * requests in the sliding window ending now (this one included). Safe from
 * any thread. */
uint64_t hs_hitters_add(hs_hitters_t *h, const uint8_t key[16], uint64_t now_ms);

/* Estimated requests of every client in the sliding window ending now. */
uint64_t hs_hitters_total(hs_hitters_t *h, uint64_t now_ms);

/* Estimated requests of key in the sliding window (no counting). */
uint64_t hs_hitters_estimate(hs_hitters_t *h, const uint8_t key[16], uint64_t now_ms);

/* Copies the current top clients, largest first, with fresh estimates,
 * into out (up to max). Returns how many. */
unsigned hs_hitters_top(hs_hitters_t *h, uint64_t now_ms, hs_hitter_t *out, unsigned max);

#endif
