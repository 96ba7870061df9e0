/*
 * The per-second time series of a run. Each worker thread hands in its
 * histogram and counters for every second (relative to the start of
 * measurement, by completion time); a second is summarised once every
 * thread has reported it (or the run ends), so p50/p99 of a second are
 * over all threads. Thread-safe (one mutex, taken once per thread and
 * second). Memory: the points plus a small window of open seconds.
 */
#ifndef HS_LOADGEN_SERIES_H
#define HS_LOADGEN_SERIES_H

#include <stdbool.h>
#include <stdint.h>

#include "loadgen/hist-t.h"
#include "loadgen/stats-t.h"

typedef struct hs_lg_point {
    hs_lg_counts_t c;
    uint64_t p50_ns, p90_ns, p99_ns, max_ns;
    uint64_t backlog; /* sum over threads of each one's peak backlog in the second */
    bool final;
} hs_lg_point_t;

typedef struct hs_lg_series hs_lg_series_t;

/* A series of at most max_seconds points fed by `threads` threads;
 * seconds past the end fold into the last point. NULL on out-of-memory. */
hs_lg_series_t *hs_lg_series_new(unsigned threads, uint64_t max_seconds);
void hs_lg_series_free(hs_lg_series_t *s);

/* One thread's figures for second `sec` (h may be NULL for none). */
void hs_lg_series_submit(hs_lg_series_t *s, uint64_t sec, const hs_lg_hist_t *h,
                         const hs_lg_counts_t *c, uint64_t backlog);

/* Summarises every second still open (after the threads have stopped). */
void hs_lg_series_finish(hs_lg_series_t *s);

/* Copies the latest summarised second into *out; returns its index, or -1
 * when none is yet. */
int64_t hs_lg_series_latest(hs_lg_series_t *s, hs_lg_point_t *out);

/* The points (valid until free); *n gets 1 + the last second that has data. */
const hs_lg_point_t *hs_lg_series_points(const hs_lg_series_t *s, uint64_t *n);

#endif
