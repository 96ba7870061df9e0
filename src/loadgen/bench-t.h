/* Options and results of one `hyperscale bench` run (see loadgen/bench.h). */
#ifndef HS_LOADGEN_BENCH_T_H
#define HS_LOADGEN_BENCH_T_H

#include <stdbool.h>
#include <stdint.h>

#include "loadgen/hist-t.h"
#include "loadgen/pattern.h"
#include "loadgen/series.h"
#include "loadgen/sizes.h"
#include "loadgen/stats-t.h"
#include "loadgen/target.h"

typedef struct hs_bench_opts {
    const char *target_url;        /* as given, for reports */
    char upstream[HS_LG_HOST_MAX]; /* "host:port" (also the Host field) */
    bool closed;                   /* closed loop instead of --rate */
    double rate;                   /* open loop: req/s over all threads */
    unsigned connections, threads;
    uint64_t duration_ms, warmup_ms, timeout_ms;
    /* workload */
    uint64_t objects;
    double zipf; /* 0: uniform */
    hs_lg_pattern_t pattern;
    double put_ratio;
    hs_lg_sizes_t sizes;
    bool prepare;
    uint64_t seed;
    /* S3 signing */
    bool s3;
    const char *access_key, *secret_key, *region;
    /* output */
    bool progress; /* live line on stderr */
} hs_bench_opts_t;

typedef struct hs_bench_result {
    hs_lg_hist_t hist; /* latency of every measured answer */
    hs_lg_counts_t c;  /* measured requests (intended after the warmup) */
    hs_lg_series_t *series;
    double window_s;           /* measured time actually run */
    uint64_t window_responses; /* answers completed inside the window */
    uint64_t window_sent;      /* requests sent inside the window */
    uint64_t window_bytes;     /* body bytes in + out inside the window */
    uint64_t max_backlog;      /* open loop: most requests waiting for a connection */
    uint64_t warmup_responses;
    uint64_t prepare_puts, prepare_errors;
    double prepare_s;
    bool interrupted;
    int64_t started_wall; /* unix seconds */
} hs_bench_result_t;

#endif
