/*
 * An HDR-style latency histogram: constant memory (36 KiB), O(1) record,
 * ~0.4% value error (a bucket's midpoint is reported), mergeable, so each
 * worker thread records into its own and the results are summed at the end.
 */
#ifndef HS_LOADGEN_HIST_H
#define HS_LOADGEN_HIST_H

#include <stdbool.h>
#include <stdint.h>

#include "loadgen/hist-t.h"

/* Empties h (call before first use; a zeroed struct is not empty: min). */
void hs_lg_hist_reset(hs_lg_hist_t *h);

/* Records one value in ns (clamped to HS_LG_HIST_MAX_NS for the buckets). */
void hs_lg_hist_record(hs_lg_hist_t *h, uint64_t ns);

/* Adds every sample of src to dst. */
void hs_lg_hist_merge(hs_lg_hist_t *dst, const hs_lg_hist_t *src);

/* The value at percentile q (0..100): the bucket holding the sample of rank
 * ceil(q/100 * total), as its midpoint clamped to [min, max]; q >= 100
 * gives max. 0 for an empty histogram. */
uint64_t hs_lg_hist_percentile(const hs_lg_hist_t *h, double q);

/* Mean in ns (0 when empty). */
double hs_lg_hist_mean(const hs_lg_hist_t *h);

/* The percentile spectrum: percentiles spaced evenly on a "number of
 * nines" axis (ten per decade: 0, 20.6, 36.9 ... 90, ... 99, ... 99.9 ...)
 * up to where fewer than one sample is left, then 100 (max). Fills q[] and
 * v[] (at most max entries); returns the count. */
unsigned hs_lg_hist_spectrum(const hs_lg_hist_t *h, double *q, uint64_t *v, unsigned max);

/* Bucket index of a value, and the range [*lo, *hi] of values a bucket
 * holds (for reports that list the buckets). */
unsigned hs_lg_hist_index(uint64_t ns);
void hs_lg_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi);

#endif
