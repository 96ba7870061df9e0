/*
 * The balancer's arithmetic, as pure functions over plain values so the
 * unit tests can check every formula: the peak-EWMA latency estimate,
 * the slow-start ramp, ejection times and shares, and the success-rate
 * outlier test.
 */
#ifndef HS_BALANCE_STATS_H
#define HS_BALANCE_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* A peak-EWMA estimate in nanoseconds. A zeroed struct has no sample. */
typedef struct hs_balance_ewma {
    double v;     /* estimate, ns */
    uint64_t t;   /* time of the last sample, ns */
    bool sampled;
} hs_balance_ewma_t;

/* The least weight of a lower sample in hs_balance_ewma_observe. */
#define HS_BALANCE_EWMA_MIN_PULL (1.0 / 16)

/*
 * Adds a sample taken at now_ns: the first sample and any sample above the
 * estimate replace it (peak); a lower one pulls it down with weight
 * max(1 - exp(-dt / tau), HS_BALANCE_EWMA_MIN_PULL), dt being the time
 * since the previous sample.
 */
void hs_balance_ewma_observe(hs_balance_ewma_t *e, double sample_ns, uint64_t now_ns,
                             uint64_t tau_ns);

/*
 * Slow-start factor in [0.1, 1]: 1 when window_ms is 0, since_ms is 0 (no
 * ramp running) or the window has passed; else the elapsed share of the
 * window, floored at 0.1 so a recovering backend still gets probes.
 */
double hs_balance_slow_start(uint64_t since_ms, uint64_t now_ms, uint64_t window_ms);

/* Length of the count-th ejection (count >= 1): base * count, capped at
 * max (and at least base when max < base). */
uint64_t hs_balance_ejection_ms(uint64_t base_ms, uint64_t max_ms, unsigned count);

/* Backends of a tier of n that may be ejected at the same time:
 * floor(n * percent / 100), percent capped at 100. */
unsigned hs_balance_max_ejected(unsigned n, unsigned percent);

/*
 * Success-rate outliers over one interval: among the n backends, those
 * with reqs[i] >= min_requests are measured; when at least min_hosts are,
 * each measured backend whose success rate (1 - fails/reqs) is below
 * mean - k * stddev of the measured rates gets out[i] = 1 (others 0).
 * Returns the number marked.
 */
unsigned hs_balance_success_outliers(const uint64_t *reqs, const uint64_t *fails, unsigned n,
                                     uint64_t min_requests, unsigned min_hosts, double k,
                                     uint8_t *out);

#endif
