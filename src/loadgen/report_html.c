/*
 * The HTML report: one self-contained file (inline CSS, inline SVG drawn by
 * svgplot.c, no script) with the summary table, latency percentiles and
 * throughput over time, and the latency percentile spectrum.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "loadgen/bench.h"
#include "loadgen/hist.h"
#include "loadgen/report.h"
#include "loadgen/stats.h"
#include "loadgen/svgplot.h"

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}"
    "h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "svg{display:block;margin:1.5em 0;font-size:12px}"
    "svg .grid{stroke:#e4e4e4}svg .frame{fill:none;stroke:#999}"
    "svg .line{fill:none;stroke-width:1.8}svg .title{font-size:14px;font-weight:600}"
    "p.note{color:#555;font-size:.9em}";

static int row(hs_buf_t *o, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int row(hs_buf_t *o, const char *name, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    int rc = hs_buf_printf(o, "<tr><th>%s</th><td>", name);
    rc = rc ? rc : hs_lg_html_escape(o, v);
    return rc ? rc : hs_buf_printf(o, "</td></tr>\n");
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static int summary(hs_buf_t *o, const hs_bench_opts_t *op, const hs_bench_result_t *r)
{
    const hs_lg_counts_t *c = &r->c;
    const hs_lg_hist_t *h = &r->hist;
    double win = r->window_s > 0 ? r->window_s : 1e-9;
    int rc = hs_buf_printf(o, "<table>\n");
    rc = rc ? rc : row(o, "target", "%s", op->target_url);
    rc = rc ? rc
            : row(o, "mode", "%s, %u connections, %u threads, %.1f s measured%s",
                  op->closed ? "closed loop" : "open loop", op->connections, op->threads,
                  r->window_s, r->interrupted ? " (interrupted)" : "");
    rc = rc ? rc
            : row(o, "workload", "%" PRIu64 " objects (%s), %s, PUT ratio %.3g", op->objects,
                  op->zipf > 0 ? "Zipf" : "uniform", op->pattern.text, op->put_ratio);
    rc = rc ? rc
            : row(o, "requests",
                  "%" PRIu64 " sent, %" PRIu64 " answered (%" PRIu64 " GET, %" PRIu64 " PUT)",
                  c->sent, c->responses, c->gets, c->puts);
    rc = rc ? rc
            : row(o, "throughput", "%.1f req/s, %.2f MB/s", (double)r->window_responses / win,
                  (double)r->window_bytes / win / 1e6);
    if (!op->closed)
        rc = rc ? rc
                : row(o, "rate", "target %.1f req/s, achieved %.1f req/s, peak backlog %" PRIu64,
                      op->rate, (double)r->window_sent / win, r->max_backlog);
    rc = rc ? rc
            : row(o, "latency (ms)", "p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f",
                  ms(hs_lg_hist_percentile(h, 50)), ms(hs_lg_hist_percentile(h, 90)),
                  ms(hs_lg_hist_percentile(h, 99)), ms(hs_lg_hist_percentile(h, 99.9)),
                  ms(h->max_ns));
    char errs[400] = "";
    size_t n = 0;
    for (unsigned k = 0; k < HS_LG_ERR_N; k++)
        if (c->errors[k] && n < sizeof(errs))
            n += (size_t)snprintf(errs + n, sizeof(errs) - n, "%s%s %" PRIu64, n ? ", " : "",
                                  hs_lg_err_key((hs_lg_err_t)k), c->errors[k]);
    rc = rc ? rc
            : row(o, "errors", "%" PRIu64 "%s%s%s", hs_lg_counts_errors(c), n ? " (" : "", errs,
                  n ? ")" : "");
    double hr = hs_lg_counts_hit_ratio(c);
    if (hr >= 0)
        rc = rc ? rc
                : row(o, "X-Cache hit ratio", "%.1f%% (HIT %" PRIu64 ", MISS %" PRIu64 ")",
                      100 * hr, c->xcache[HS_LG_XC_HIT], c->xcache[HS_LG_XC_MISS]);
    return rc ? rc : hs_buf_printf(o, "</table>\n");
}

static int over_time(hs_buf_t *o, const hs_bench_result_t *r)
{
    uint64_t n = 0;
    const hs_lg_point_t *p = r->series ? hs_lg_series_points(r->series, &n) : NULL;
    /* the drain after the window is a partial second: in the totals, not
     * on the time axis */
    uint64_t win = (uint64_t)ceil(r->window_s);
    if (n > win && win > 0) n = win;
    if (n == 0) return hs_buf_printf(o, "<p class=\"note\">No per-second data.</p>\n");
    double *v = calloc(n * 7, sizeof(double));
    if (!v) return HS_ENOMEM;
    double *t = v, *p50 = v + n, *p90 = v + 2 * n, *p99 = v + 3 * n, *mx = v + 4 * n,
           *rps = v + 5 * n, *eps = v + 6 * n;
    for (uint64_t i = 0; i < n; i++) {
        t[i] = (double)i + 1;
        bool any = p[i].c.responses > 0;
        p50[i] = any ? ms(p[i].p50_ns) : NAN;
        p90[i] = any ? ms(p[i].p90_ns) : NAN;
        p99[i] = any ? ms(p[i].p99_ns) : NAN;
        mx[i] = any ? ms(p[i].max_ns) : NAN;
        rps[i] = (double)p[i].c.responses;
        eps[i] = (double)hs_lg_counts_errors(&p[i].c);
    }
    hs_lg_line_t lat[] = {
        {"p50", "#1f77b4", t, p50, n},
        {"p90", "#2ca02c", t, p90, n},
        {"p99", "#d62728", t, p99, n},
        {"max", "#7f7f7f", t, mx, n},
    };
    hs_lg_axis_t xa = {"seconds since the start of measurement", HS_LG_AXIS_LINEAR};
    hs_lg_axis_t ya = {"latency (ms, log)", HS_LG_AXIS_LOG};
    int rc = hs_lg_svg_plot(o, "Latency percentiles per second", &xa, &ya, lat, 4);
    hs_lg_line_t thr[] = {
        {"answers/s", "#1f77b4", t, rps, n},
        {"errors/s", "#d62728", t, eps, n},
    };
    hs_lg_axis_t yb = {"per second", HS_LG_AXIS_LINEAR};
    rc = rc ? rc : hs_lg_svg_plot(o, "Throughput per second", &xa, &yb, thr, 2);
    free(v);
    return rc;
}

static int spectrum(hs_buf_t *o, const hs_bench_result_t *r)
{
    double q[HS_LG_SPECTRUM_MAX], y[HS_LG_SPECTRUM_MAX];
    uint64_t v[HS_LG_SPECTRUM_MAX];
    unsigned n = hs_lg_hist_spectrum(&r->hist, q, v, HS_LG_SPECTRUM_MAX);
    if (n == 0) return hs_buf_printf(o, "<p class=\"note\">No latency samples.</p>\n");
    for (unsigned i = 0; i < n; i++)
        y[i] = ms(v[i]);
    /* the max has no finite place on a nines axis: draw it half a sample
     * past the last percentile */
    q[n - 1] = 100.0 * (1.0 - 0.5 / (double)r->hist.total);
    hs_lg_line_t l = {"latency", "#1f77b4", q, y, n};
    hs_lg_axis_t xa = {"percentile", HS_LG_AXIS_NINES};
    hs_lg_axis_t ya = {"latency (ms, log)", HS_LG_AXIS_LOG};
    return hs_lg_svg_plot(o, "Latency by percentile", &xa, &ya, &l, 1);
}

int hs_lg_report_html(hs_buf_t *o, const hs_bench_opts_t *op, const hs_bench_result_t *r)
{
    int rc =
        hs_buf_printf(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<title>hyperscale bench: ");
    rc = rc ? rc : hs_lg_html_escape(o, op->target_url);
    rc = rc ? rc
            : hs_buf_printf(o,
                            "</title>\n<style>%s</style>\n</head>\n<body>\n"
                            "<h1>hyperscale bench: ",
                            css);
    rc = rc ? rc : hs_lg_html_escape(o, op->target_url);
    rc = rc ? rc : hs_buf_printf(o, "</h1>\n");
    rc = rc ? rc : summary(o, op, r);
    rc = rc ? rc
            : hs_buf_printf(o,
                            "<p class=\"note\">Latency is measured from %s. "
                            "Per-second figures are by completion time.</p>\n",
                            op->closed ? "the send (closed loop)"
                                       : "each request's intended send time (open loop, "
                                         "corrected for coordinated omission)");
    rc = rc ? rc : over_time(o, r);
    rc = rc ? rc : spectrum(o, r);
    return rc ? rc : hs_buf_printf(o, "</body>\n</html>\n");
}

int hs_bench_write_html(const char *path, const hs_bench_opts_t *o, const hs_bench_result_t *r)
{
    hs_buf_t b = HS_BUF_INIT;
    int rc = hs_lg_report_html(&b, o, r);
    if (rc == 0) rc = hs_lg_write_file(path, hs_buf_data(&b), hs_buf_len(&b));
    hs_buf_free(&b);
    return rc;
}
