/* The balancer's arithmetic (see stats.h). */
#include "balance/stats.h"

#include <math.h>

void hs_balance_ewma_observe(hs_balance_ewma_t *e, double sample_ns, uint64_t now_ns,
                             uint64_t tau_ns)
{
    if (sample_ns < 0)
        sample_ns = 0;
    if (!e->sampled || sample_ns >= e->v || tau_ns == 0) {
        /* Peak: a slow answer is believed at once, so a backend that turns
         * slow stops attracting traffic on the next pick, not seconds later. */
        e->v = sample_ns;
    } else {
        double dt = now_ns > e->t ? (double)(now_ns - e->t) : 0.0;
        double w = exp(-dt / (double)tau_ns);
        /* Each lower sample pulls at least 1/16 of the way: a busy backend's
         * peak (a stall of the whole machine, say) is contradicted within a
         * few dozen answers instead of lingering for tau, while a rarely
         * picked backend keeps its estimate. Time weighting alone made a
         * healthy backend sampled 100 times a second look slower than an
         * idle one 25 times slower for seconds after each stall. */
        if (w > 1.0 - HS_BALANCE_EWMA_MIN_PULL)
            w = 1.0 - HS_BALANCE_EWMA_MIN_PULL;
        e->v = e->v * w + sample_ns * (1.0 - w);
    }
    e->t = now_ns;
    e->sampled = true;
}

double hs_balance_slow_start(uint64_t since_ms, uint64_t now_ms, uint64_t window_ms)
{
    if (window_ms == 0 || since_ms == 0 || now_ms >= since_ms + window_ms)
        return 1.0;
    double f = now_ms > since_ms ? (double)(now_ms - since_ms) / (double)window_ms : 0.0;
    return f < 0.1 ? 0.1 : f;
}

uint64_t hs_balance_ejection_ms(uint64_t base_ms, uint64_t max_ms, unsigned count)
{
    if (count == 0)
        count = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    if (base_ms && count > max_ms / base_ms)
        return max_ms;
    uint64_t t = base_ms * count;
    return t > max_ms ? max_ms : t;
}

unsigned hs_balance_max_ejected(unsigned n, unsigned percent)
{
    if (percent > 100)
        percent = 100;
    return (unsigned)((uint64_t)n * percent / 100);
}

unsigned hs_balance_success_outliers(const uint64_t *reqs, const uint64_t *fails, unsigned n,
                                     uint64_t min_requests, unsigned min_hosts, double k,
                                     uint8_t *out)
{
    double sum = 0, sumsq = 0;
    unsigned measured = 0;
    if (min_requests == 0)
        min_requests = 1;
    for (unsigned i = 0; i < n; i++) {
        out[i] = 0;
        if (reqs[i] < min_requests)
            continue;
        uint64_t f = fails[i] > reqs[i] ? reqs[i] : fails[i];
        double rate = 1.0 - (double)f / (double)reqs[i];
        sum += rate;
        sumsq += rate * rate;
        measured++;
    }
    if (measured == 0 || measured < min_hosts)
        return 0;
    double mean = sum / measured;
    double var = sumsq / measured - mean * mean;
    double threshold = mean - k * sqrt(var > 0 ? var : 0);
    unsigned marked = 0;
    for (unsigned i = 0; i < n; i++) {
        if (reqs[i] < min_requests)
            continue;
        uint64_t f = fails[i] > reqs[i] ? reqs[i] : fails[i];
        double rate = 1.0 - (double)f / (double)reqs[i];
        if (rate < threshold) {
            out[i] = 1;
            marked++;
        }
    }
    return marked;
}
