/*
 * Metrics registry: counters, gauges and latency histograms, exposed in the
 * Prometheus text format (version 0.0.4). Updates are lock-free and sharded
 * by thread (each worker thread writes its own cache line), so a hot path
 * pays a relaxed add. Registration is expected at startup; series live for
 * the process's life.
 */
#ifndef HS_CORE_METRICS_H
#define HS_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/metrics-t.h"

/*
 * Registers (or returns the already registered) series `name{labels}`.
 * labels is the inner part of the braces, e.g. "code=\"200\"", or NULL.
 * Series sharing a name form one family: HELP/TYPE come from the first.
 * Returns NULL only on out-of-memory or a name registered with another type.
 */
hs_counter_t *hs_counter(const char *name, const char *labels, const char *help);
hs_gauge_t *hs_gauge(const char *name, const char *labels, const char *help);
/* Histogram of seconds with fixed log-spaced buckets from 50 us to 60 s. */
hs_histogram_t *hs_histogram(const char *name, const char *labels, const char *help);

void hs_counter_add(hs_counter_t *c, uint64_t n);
static inline void hs_counter_inc(hs_counter_t *c)
{
    hs_counter_add(c, 1);
}
void hs_gauge_set(hs_gauge_t *g, int64_t v);
void hs_gauge_add(hs_gauge_t *g, int64_t delta);
/* Records one observation given in nanoseconds. */
void hs_histogram_observe_ns(hs_histogram_t *h, uint64_t ns);

/* Current totals (sums over shards), for tests and admin endpoints. */
uint64_t hs_counter_value(const hs_counter_t *c);
int64_t hs_gauge_value(const hs_gauge_t *g);
uint64_t hs_histogram_count(const hs_histogram_t *h);

/*
 * Renders every registered series into a malloc'd NUL-terminated buffer in
 * Prometheus text format; *out_len gets its length. Returns 0 or HS_ENOMEM.
 */
int hs_metrics_render(char **out, size_t *out_len);

/* Each thread that updates metrics calls this once with a distinct small
 * index (0 = main thread); updates from unregistered threads go to shard 0
 * atomically, so they are still correct, only slower. */
void hs_metrics_thread_init(unsigned shard);

#endif
