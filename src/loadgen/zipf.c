/*
 * Zipf by CDF inversion: exact for any s (no approximation of the
 * normalising constant) at 8 bytes per object, which is what a benchmark
 * of up to tens of millions of objects can afford once per process.
 */
#include "loadgen/zipf.h"

#include <math.h>
#include <stdlib.h>

#include "core/err.h"

int hs_lg_zipf_init(hs_lg_zipf_t *z, uint64_t n, double s)
{
    z->n = n;
    z->s = s;
    z->cdf = NULL;
    if (n == 0 || !isfinite(s) || s < 0) return HS_EINVAL;
    if (s == 0) return 0;
    if (n > HS_LG_ZIPF_MAX_N) return HS_E2BIG;
    double *cdf = malloc(n * sizeof(*cdf));
    if (!cdf) return HS_ENOMEM;
    /* Kahan summation: with millions of tiny terms a plain sum drifts
     * enough to move the tail ranks' probabilities. */
    double sum = 0, comp = 0;
    for (uint64_t k = 0; k < n; k++) {
        double y = pow((double)(k + 1), -s) - comp;
        double t = sum + y;
        comp = (t - sum) - y;
        sum = t;
        cdf[k] = sum;
    }
    for (uint64_t k = 0; k < n; k++)
        cdf[k] /= sum;
    cdf[n - 1] = 1.0;
    z->cdf = cdf;
    return 0;
}

void hs_lg_zipf_free(hs_lg_zipf_t *z)
{
    free(z->cdf);
    z->cdf = NULL;
}

uint64_t hs_lg_zipf_sample(const hs_lg_zipf_t *z, hs_lg_rng_t *r)
{
    if (!z->cdf) return hs_lg_rng_below(r, z->n);
    double u = hs_lg_rng_unit(r);
    /* first k with cdf[k] > u; cdf[n-1] == 1 > u bounds the search */
    uint64_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

double hs_lg_zipf_pmf(const hs_lg_zipf_t *z, uint64_t k)
{
    if (k >= z->n) return 0;
    if (!z->cdf) return 1.0 / (double)z->n;
    return k == 0 ? z->cdf[0] : z->cdf[k] - z->cdf[k - 1];
}
