/*
 * `hyperscale bench`: the load generator. One event loop and one HTTP
 * client (keep-alive pool) per thread, each thread driving its share of the
 * connections with the open- or closed-loop engine of engine.h, recording
 * into its own histogram; results are merged at the end and per second.
 */
#ifndef HS_LOADGEN_BENCH_H
#define HS_LOADGEN_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "loadgen/bench-t.h"

/*
 * Runs the benchmark described by o (validated by the caller) and fills
 * *r (free it with hs_bench_result_free). Blocks for the run; SIGINT or
 * SIGTERM ends it early (r->interrupted) with the results so far.
 * Returns 0; HS_ECONNREFUSED/HS_ETIMEDOUT/... when the target does not
 * accept a connection at start, HS_EIO when --prepare could not store every
 * object, or HS_ENOMEM; err gets a sentence for the user.
 */
int hs_bench_run(const hs_bench_opts_t *o, hs_bench_result_t *r, char *err, size_t errlen);

void hs_bench_result_free(hs_bench_result_t *r);

/* The human summary (throughput, percentiles, errors, hit ratio...). */
void hs_bench_print_summary(FILE *out, const hs_bench_opts_t *o, const hs_bench_result_t *r);

/* Every figure, the time series and the histogram buckets as JSON.
 * Returns 0 or a negative HS_E* code (file errors from errno). */
int hs_bench_write_json(const char *path, const hs_bench_opts_t *o, const hs_bench_result_t *r);

/* A self-contained HTML report with inline SVG plots. Returns 0 or a
 * negative HS_E* code. */
int hs_bench_write_html(const char *path, const hs_bench_opts_t *o, const hs_bench_result_t *r);

#endif
