/*
 * Object popularity for the workload: Zipf(s) over N ranks, sampled exactly
 * by inverting a precomputed CDF (binary search), or uniform. The table is
 * built once and shared read-only by every worker thread.
 */
#ifndef HS_LOADGEN_ZIPF_H
#define HS_LOADGEN_ZIPF_H

#include <stdint.h>

#include "loadgen/rng.h"

/* Largest N with a Zipf table (8 bytes per object). */
#define HS_LG_ZIPF_MAX_N 20000000u

typedef struct hs_lg_zipf {
    uint64_t n;
    double s;
    double *cdf; /* n entries, NULL for uniform */
} hs_lg_zipf_t;

/* Builds a sampler over ranks 0..n-1 where rank k has probability
 * proportional to 1/(k+1)^s; s == 0 is uniform and needs no table.
 * Returns 0, HS_EINVAL (n == 0, s < 0 or not finite), HS_E2BIG (n past
 * HS_LG_ZIPF_MAX_N with s > 0) or HS_ENOMEM. */
int hs_lg_zipf_init(hs_lg_zipf_t *z, uint64_t n, double s);
void hs_lg_zipf_free(hs_lg_zipf_t *z);

/* One rank in [0, n). */
uint64_t hs_lg_zipf_sample(const hs_lg_zipf_t *z, hs_lg_rng_t *r);

/* Exact probability of rank k (for tests and reports). */
double hs_lg_zipf_pmf(const hs_lg_zipf_t *z, uint64_t k);

#endif
