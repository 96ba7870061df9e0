/*
 * HDR-style histogram: the index of a value is its octave and the next
 * HS_LG_HIST_SUB_BITS bits below the leading one, which is one clz and a
 * shift, so recording stays cheap enough for every response of a run.
 */
#include "loadgen/hist.h"

#include <assert.h>
#include <math.h>
#include <string.h>

void hs_lg_hist_reset(hs_lg_hist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

unsigned hs_lg_hist_index(uint64_t ns)
{
    if (ns > HS_LG_HIST_MAX_NS) ns = HS_LG_HIST_MAX_NS;
    if (ns < 2 * HS_LG_HIST_SUB) return (unsigned)ns;
    unsigned top = 63u - (unsigned)__builtin_clzll(ns); /* >= SUB_BITS + 1 */
    unsigned shift = top - HS_LG_HIST_SUB_BITS;
    unsigned idx = (shift + 1) * HS_LG_HIST_SUB + (unsigned)((ns >> shift) - HS_LG_HIST_SUB);
    assert(idx < HS_LG_HIST_BUCKETS);
    return idx;
}

void hs_lg_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < 2 * HS_LG_HIST_SUB) {
        *lo = *hi = idx;
        return;
    }
    unsigned shift = idx / HS_LG_HIST_SUB - 1;
    uint64_t mant = idx % HS_LG_HIST_SUB + HS_LG_HIST_SUB;
    *lo = mant << shift;
    *hi = *lo + (1ull << shift) - 1;
}

void hs_lg_hist_record(hs_lg_hist_t *h, uint64_t ns)
{
    h->counts[hs_lg_hist_index(ns)]++;
    h->total++;
    h->sum_ns += (double)ns;
    if (ns < h->min_ns) h->min_ns = ns;
    if (ns > h->max_ns) h->max_ns = ns;
}

void hs_lg_hist_merge(hs_lg_hist_t *dst, const hs_lg_hist_t *src)
{
    if (src->total == 0) return;
    for (unsigned i = 0; i < HS_LG_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum_ns += src->sum_ns;
    if (src->min_ns < dst->min_ns) dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns) dst->max_ns = src->max_ns;
}

uint64_t hs_lg_hist_percentile(const hs_lg_hist_t *h, double q)
{
    if (h->total == 0) return 0;
    if (q >= 100.0) return h->max_ns;
    if (q <= 0.0) return h->min_ns;
    /* Nearest-rank: the smallest sample with at least q% at or below it. */
    double want = q / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want) rank++;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HS_LG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            hs_lg_hist_bucket_range(i, &lo, &hi);
            uint64_t v = lo + (hi - lo) / 2;
            if (v < h->min_ns) v = h->min_ns;
            if (v > h->max_ns) v = h->max_ns;
            return v;
        }
    }
    return h->max_ns;
}

double hs_lg_hist_mean(const hs_lg_hist_t *h)
{
    return h->total ? h->sum_ns / (double)h->total : 0.0;
}

unsigned hs_lg_hist_spectrum(const hs_lg_hist_t *h, double *q, uint64_t *v, unsigned max)
{
    unsigned n = 0;
    if (h->total == 0 || max == 0) return 0;
    for (unsigned k = 0; n + 1 < max; k++) {
        double tail = pow(10.0, -(double)k / 10.0); /* fraction of samples above */
        if (tail * (double)h->total < 1.0) break;
        q[n] = 100.0 * (1.0 - tail);
        v[n] = hs_lg_hist_percentile(h, q[n]);
        n++;
    }
    q[n] = 100.0;
    v[n] = h->max_ns;
    return n + 1;
}
