/* The human summary of a run (see bench.h). */
#include <inttypes.h>
#include <stdio.h>

#include "loadgen/bench.h"
#include "loadgen/hist.h"
#include "loadgen/stats.h"

/* Latencies print in the unit that keeps 3-4 significant digits. */
static const char *fmt_lat(char *b, size_t n, uint64_t ns)
{
    if (ns < 1000000)
        snprintf(b, n, "%.1f us", (double)ns / 1e3);
    else if (ns < 10000000000ull)
        snprintf(b, n, "%.3f ms", (double)ns / 1e6);
    else
        snprintf(b, n, "%.2f s", (double)ns / 1e9);
    return b;
}

void hs_bench_print_summary(FILE *out, const hs_bench_opts_t *o, const hs_bench_result_t *r)
{
    char b[6][32];
    const hs_lg_counts_t *c = &r->c;
    double win = r->window_s > 0 ? r->window_s : 1e-9;

    fprintf(out, "target        %s, %s, %u connections, %u threads, %.1f s measured", o->target_url,
            o->closed ? "closed loop" : "open loop", o->connections, o->threads, r->window_s);
    if (o->warmup_ms) fprintf(out, " after %.1f s warmup", (double)o->warmup_ms / 1e3);
    fprintf(out, "%s\n", r->interrupted ? " (interrupted)" : "");
    if (o->prepare)
        fprintf(out, "prepare       %" PRIu64 " objects PUT in %.2f s, %" PRIu64 " errors\n",
                r->prepare_puts, r->prepare_s, r->prepare_errors);
    fprintf(out,
            "requests      %" PRIu64 " sent (%" PRIu64 " GET, %" PRIu64 " PUT), %" PRIu64
            " answered\n",
            c->sent, c->gets, c->puts, c->responses);
    fprintf(out, "throughput    %.1f req/s, %.2f MB/s (answers and body bytes inside the window)\n",
            (double)r->window_responses / win, (double)r->window_bytes / win / 1e6);
    if (!o->closed)
        fprintf(out,
                "rate          target %.1f req/s, achieved %.1f req/s sent (%.1f%%), "
                "peak backlog %" PRIu64 "\n",
                o->rate, (double)r->window_sent / win,
                100.0 * (double)r->window_sent / win / o->rate, r->max_backlog);
    const hs_lg_hist_t *h = &r->hist;
    if (h->total == 0) {
        fprintf(out, "latency       no answers\n");
    } else {
        fprintf(out, "latency       p50 %s  p90 %s  p99 %s\n",
                fmt_lat(b[0], 32, hs_lg_hist_percentile(h, 50)),
                fmt_lat(b[1], 32, hs_lg_hist_percentile(h, 90)),
                fmt_lat(b[2], 32, hs_lg_hist_percentile(h, 99)));
        fprintf(out, "              p99.9 %s  max %s  mean %s  (%s)\n",
                fmt_lat(b[3], 32, hs_lg_hist_percentile(h, 99.9)), fmt_lat(b[4], 32, h->max_ns),
                fmt_lat(b[5], 32, (uint64_t)hs_lg_hist_mean(h)),
                o->closed ? "from the send" : "from the intended send time");
    }
    uint64_t errs = hs_lg_counts_errors(c);
    fprintf(out, "errors        %" PRIu64, errs);
    if (errs) {
        const char *sep = " (";
        for (unsigned k = 0; k < HS_LG_ERR_N; k++)
            if (c->errors[k]) {
                fprintf(out, "%s%s %" PRIu64, sep, hs_lg_err_key((hs_lg_err_t)k), c->errors[k]);
                sep = ", ";
            }
        fputc(')', out);
    }
    fputc('\n', out);
    fprintf(out, "status       ");
    if (c->responses == 0) fprintf(out, " no answers");
    for (unsigned k = 1; k <= 5; k++)
        if (c->status[k]) fprintf(out, " %uxx %" PRIu64, k, c->status[k]);
    if (c->status[0]) fprintf(out, " other %" PRIu64, c->status[0]);
    fputc('\n', out);
    double hr = hs_lg_counts_hit_ratio(c);
    if (hr < 0) {
        fprintf(out, "x-cache       no answer carried X-Cache\n");
    } else {
        fprintf(out, "x-cache       hit ratio %.1f%%:", 100.0 * hr);
        for (unsigned k = 0; k < HS_LG_XC_N; k++)
            if (c->xcache[k])
                fprintf(out, " %s %" PRIu64, hs_lg_xc_label((hs_lg_xc_t)k), c->xcache[k]);
        fputc('\n', out);
    }
}
