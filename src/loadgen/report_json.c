/*
 * The JSON report: the run's configuration, every summary figure, the
 * per-second series, the percentile spectrum and the non-empty histogram
 * buckets (so other tools can merge or re-plot runs). Latencies are in ms
 * except the buckets, which keep the recorded nanoseconds.
 */
#include <math.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "loadgen/bench.h"
#include "loadgen/hist.h"
#include "loadgen/jsonw.h"
#include "loadgen/report.h"
#include "loadgen/stats.h"

static void kv_u64(hs_lg_jsonw_t *w, const char *k, uint64_t v)
{
    hs_lg_jsonw_key(w, k);
    hs_lg_jsonw_u64(w, v);
}

static void kv_dbl(hs_lg_jsonw_t *w, const char *k, double v)
{
    hs_lg_jsonw_key(w, k);
    hs_lg_jsonw_dbl(w, v);
}

static void kv_str(hs_lg_jsonw_t *w, const char *k, const char *v)
{
    hs_lg_jsonw_key(w, k);
    hs_lg_jsonw_str(w, v);
}

static void kv_bool(hs_lg_jsonw_t *w, const char *k, bool v)
{
    hs_lg_jsonw_key(w, k);
    hs_lg_jsonw_bool(w, v);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void config(hs_lg_jsonw_t *w, const hs_bench_opts_t *o)
{
    hs_lg_jsonw_key(w, "config");
    hs_lg_jsonw_obj(w);
    kv_str(w, "target", o->target_url);
    kv_str(w, "mode", o->closed ? "closed" : "open");
    hs_lg_jsonw_key(w, "rate");
    if (o->closed)
        hs_lg_jsonw_null(w);
    else
        hs_lg_jsonw_dbl(w, o->rate);
    kv_u64(w, "connections", o->connections);
    kv_u64(w, "threads", o->threads);
    kv_dbl(w, "duration_s", (double)o->duration_ms / 1e3);
    kv_dbl(w, "warmup_s", (double)o->warmup_ms / 1e3);
    kv_dbl(w, "timeout_s", (double)o->timeout_ms / 1e3);
    kv_u64(w, "objects", o->objects);
    kv_str(w, "popularity", o->zipf > 0 ? "zipf" : "uniform");
    kv_dbl(w, "zipf_s", o->zipf);
    kv_str(w, "url_pattern", o->pattern.text);
    kv_dbl(w, "put_ratio", o->put_ratio);
    hs_lg_jsonw_key(w, "sizes");
    hs_lg_jsonw_obj(w);
    const hs_lg_sizes_t *s = &o->sizes;
    switch (s->kind) {
    case HS_LG_SIZES_FIXED:
        kv_str(w, "kind", "fixed");
        kv_u64(w, "bytes", s->fixed);
        break;
    case HS_LG_SIZES_LOGNORMAL:
        kv_str(w, "kind", "lognormal");
        kv_dbl(w, "median", exp(s->mu));
        kv_dbl(w, "sigma", s->sigma);
        break;
    case HS_LG_SIZES_LIST:
        kv_str(w, "kind", "list");
        hs_lg_jsonw_key(w, "entries");
        hs_lg_jsonw_arr(w);
        for (unsigned i = 0; i < s->n; i++) {
            hs_lg_jsonw_obj(w);
            kv_u64(w, "bytes", s->size[i]);
            kv_dbl(w, "p", s->cum[i] - (i ? s->cum[i - 1] : 0));
            hs_lg_jsonw_obj_end(w);
        }
        hs_lg_jsonw_arr_end(w);
        break;
    }
    kv_u64(w, "max_bytes", s->max);
    hs_lg_jsonw_obj_end(w);
    kv_bool(w, "prepare", o->prepare);
    kv_bool(w, "s3", o->s3);
    kv_u64(w, "seed", o->seed);
    hs_lg_jsonw_obj_end(w);
}

static void counts(hs_lg_jsonw_t *w, const hs_lg_counts_t *c)
{
    hs_lg_jsonw_key(w, "errors");
    hs_lg_jsonw_obj(w);
    kv_u64(w, "total", hs_lg_counts_errors(c));
    for (unsigned k = 0; k < HS_LG_ERR_N; k++)
        kv_u64(w, hs_lg_err_key((hs_lg_err_t)k), c->errors[k]);
    hs_lg_jsonw_obj_end(w);
    hs_lg_jsonw_key(w, "status");
    hs_lg_jsonw_obj(w);
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (unsigned k = 0; k < 6; k++)
        kv_u64(w, cls[k], c->status[k]);
    hs_lg_jsonw_obj_end(w);
    hs_lg_jsonw_key(w, "x_cache");
    hs_lg_jsonw_obj(w);
    double hr = hs_lg_counts_hit_ratio(c);
    hs_lg_jsonw_key(w, "hit_ratio");
    if (hr < 0)
        hs_lg_jsonw_null(w);
    else
        hs_lg_jsonw_dbl(w, hr);
    for (unsigned k = 0; k < HS_LG_XC_N; k++)
        kv_u64(w, hs_lg_xc_label((hs_lg_xc_t)k), c->xcache[k]);
    hs_lg_jsonw_obj_end(w);
}

static void series(hs_lg_jsonw_t *w, const hs_bench_result_t *r)
{
    uint64_t n = 0;
    const hs_lg_point_t *p = r->series ? hs_lg_series_points(r->series, &n) : NULL;
    hs_lg_jsonw_key(w, "series");
    hs_lg_jsonw_arr(w);
    for (uint64_t i = 0; i < n; i++) {
        hs_lg_jsonw_obj(w);
        kv_u64(w, "t", i);
        kv_u64(w, "sent", p[i].c.sent);
        kv_u64(w, "requests", p[i].c.responses);
        kv_u64(w, "errors", hs_lg_counts_errors(&p[i].c));
        kv_u64(w, "bytes_in", p[i].c.bytes_in);
        kv_u64(w, "bytes_out", p[i].c.bytes_out);
        kv_dbl(w, "p50_ms", ms(p[i].p50_ns));
        kv_dbl(w, "p90_ms", ms(p[i].p90_ns));
        kv_dbl(w, "p99_ms", ms(p[i].p99_ns));
        kv_dbl(w, "max_ms", ms(p[i].max_ns));
        kv_u64(w, "backlog", p[i].backlog);
        hs_lg_jsonw_obj_end(w);
    }
    hs_lg_jsonw_arr_end(w);
}

static void histogram(hs_lg_jsonw_t *w, const hs_lg_hist_t *h)
{
    double q[HS_LG_SPECTRUM_MAX];
    uint64_t v[HS_LG_SPECTRUM_MAX];
    unsigned n = hs_lg_hist_spectrum(h, q, v, HS_LG_SPECTRUM_MAX);
    hs_lg_jsonw_key(w, "percentiles");
    hs_lg_jsonw_arr(w);
    for (unsigned i = 0; i < n; i++) {
        hs_lg_jsonw_arr(w);
        hs_lg_jsonw_dbl(w, q[i]);
        hs_lg_jsonw_dbl(w, ms(v[i]));
        hs_lg_jsonw_arr_end(w);
    }
    hs_lg_jsonw_arr_end(w);
    hs_lg_jsonw_key(w, "histogram");
    hs_lg_jsonw_obj(w);
    kv_str(w, "unit", "ns");
    kv_str(w, "layout", "[low, high, count] per non-empty bucket; values in [low, high]");
    hs_lg_jsonw_key(w, "buckets");
    hs_lg_jsonw_arr(w);
    for (unsigned i = 0; i < HS_LG_HIST_BUCKETS; i++) {
        if (!h->counts[i]) continue;
        uint64_t lo, hi;
        hs_lg_hist_bucket_range(i, &lo, &hi);
        hs_lg_jsonw_arr(w);
        hs_lg_jsonw_u64(w, lo);
        hs_lg_jsonw_u64(w, hi);
        hs_lg_jsonw_u64(w, h->counts[i]);
        hs_lg_jsonw_arr_end(w);
    }
    hs_lg_jsonw_arr_end(w);
    hs_lg_jsonw_obj_end(w);
}

int hs_lg_report_json(hs_buf_t *out, const hs_bench_opts_t *o, const hs_bench_result_t *r)
{
    hs_lg_jsonw_t jw, *w = &jw;
    hs_lg_jsonw_init(w, out);
    const hs_lg_counts_t *c = &r->c;
    const hs_lg_hist_t *h = &r->hist;
    double win = r->window_s > 0 ? r->window_s : 1e-9;
    hs_lg_jsonw_obj(w);
    kv_str(w, "tool", "hyperscale bench");
    hs_lg_jsonw_key(w, "started");
    hs_lg_jsonw_i64(w, r->started_wall);
    config(w, o);
    kv_bool(w, "interrupted", r->interrupted);
    kv_dbl(w, "window_s", r->window_s);
    hs_lg_jsonw_key(w, "requests");
    hs_lg_jsonw_obj(w);
    kv_u64(w, "sent", c->sent);
    kv_u64(w, "answered", c->responses);
    kv_u64(w, "get", c->gets);
    kv_u64(w, "put", c->puts);
    kv_u64(w, "answered_in_window", r->window_responses);
    kv_u64(w, "warmup_answered", r->warmup_responses);
    hs_lg_jsonw_obj_end(w);
    hs_lg_jsonw_key(w, "throughput");
    hs_lg_jsonw_obj(w);
    kv_dbl(w, "requests_per_s", (double)r->window_responses / win);
    kv_dbl(w, "mb_per_s", (double)r->window_bytes / win / 1e6);
    kv_u64(w, "bytes_in", c->bytes_in);
    kv_u64(w, "bytes_out", c->bytes_out);
    hs_lg_jsonw_obj_end(w);
    hs_lg_jsonw_key(w, "rate");
    if (o->closed) {
        hs_lg_jsonw_null(w);
    } else {
        hs_lg_jsonw_obj(w);
        kv_dbl(w, "target", o->rate);
        kv_dbl(w, "achieved", (double)r->window_sent / win);
        kv_dbl(w, "achieved_ratio", (double)r->window_sent / win / o->rate);
        kv_u64(w, "max_backlog", r->max_backlog);
        hs_lg_jsonw_obj_end(w);
    }
    hs_lg_jsonw_key(w, "latency_ms");
    hs_lg_jsonw_obj(w);
    kv_str(w, "from", o->closed ? "send" : "intended send time");
    kv_u64(w, "count", h->total);
    kv_dbl(w, "min", ms(h->total ? h->min_ns : 0));
    kv_dbl(w, "mean", hs_lg_hist_mean(h) / 1e6);
    kv_dbl(w, "p50", ms(hs_lg_hist_percentile(h, 50)));
    kv_dbl(w, "p90", ms(hs_lg_hist_percentile(h, 90)));
    kv_dbl(w, "p99", ms(hs_lg_hist_percentile(h, 99)));
    kv_dbl(w, "p99.9", ms(hs_lg_hist_percentile(h, 99.9)));
    kv_dbl(w, "p99.99", ms(hs_lg_hist_percentile(h, 99.99)));
    kv_dbl(w, "max", ms(h->max_ns));
    hs_lg_jsonw_obj_end(w);
    counts(w, c);
    hs_lg_jsonw_key(w, "prepare");
    if (!o->prepare) {
        hs_lg_jsonw_null(w);
    } else {
        hs_lg_jsonw_obj(w);
        kv_u64(w, "puts", r->prepare_puts);
        kv_u64(w, "errors", r->prepare_errors);
        kv_dbl(w, "seconds", r->prepare_s);
        hs_lg_jsonw_obj_end(w);
    }
    series(w, r);
    histogram(w, h);
    hs_lg_jsonw_obj_end(w);
    int rc = hs_lg_jsonw_finish(w);
    if (rc == 0) rc = hs_buf_append(out, "\n", 1);
    return rc;
}

int hs_bench_write_json(const char *path, const hs_bench_opts_t *o, const hs_bench_result_t *r)
{
    hs_buf_t b = HS_BUF_INIT;
    int rc = hs_lg_report_json(&b, o, r);
    if (rc == 0) rc = hs_lg_write_file(path, hs_buf_data(&b), hs_buf_len(&b));
    hs_buf_free(&b);
    return rc;
}
