/* Per-second time series with cross-thread percentiles (see series.h). */
#include "loadgen/series.h"

#include <pthread.h>
#include <stdlib.h>

#include "loadgen/hist.h"
#include "loadgen/stats.h"

/* Seconds that may be open at once; a thread further behind than this
 * only adds its counters to an already summarised second. */
#define WINDOW 8

typedef struct open_sec {
    uint64_t sec;
    unsigned reported;
    bool used;
    hs_lg_hist_t hist;
} open_sec_t;

struct hs_lg_series {
    pthread_mutex_t mu;
    unsigned threads;
    uint64_t max;
    uint64_t used;  /* 1 + last second with data */
    int64_t latest; /* last summarised second, -1 */
    hs_lg_point_t *points;
    open_sec_t open[WINDOW];
};

hs_lg_series_t *hs_lg_series_new(unsigned threads, uint64_t max_seconds)
{
    if (max_seconds == 0) max_seconds = 1;
    hs_lg_series_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->points = calloc(max_seconds, sizeof(*s->points));
    if (!s->points) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->threads = threads;
    s->max = max_seconds;
    s->latest = -1;
    return s;
}

void hs_lg_series_free(hs_lg_series_t *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s->points);
    free(s);
}

static void summarise(hs_lg_series_t *s, open_sec_t *o)
{
    hs_lg_point_t *p = &s->points[o->sec];
    p->p50_ns = hs_lg_hist_percentile(&o->hist, 50);
    p->p90_ns = hs_lg_hist_percentile(&o->hist, 90);
    p->p99_ns = hs_lg_hist_percentile(&o->hist, 99);
    p->max_ns = o->hist.max_ns;
    p->final = true;
    if ((int64_t)o->sec > s->latest) s->latest = (int64_t)o->sec;
    o->used = false;
}

void hs_lg_series_submit(hs_lg_series_t *s, uint64_t sec, const hs_lg_hist_t *h,
                         const hs_lg_counts_t *c, uint64_t backlog)
{
    if (sec >= s->max) sec = s->max - 1;
    pthread_mutex_lock(&s->mu);
    hs_lg_point_t *p = &s->points[sec];
    hs_lg_counts_add(&p->c, c);
    p->backlog += backlog;
    if ((c->sent || c->responses || hs_lg_counts_errors(c)) && sec + 1 > s->used) s->used = sec + 1;
    if (!p->final) {
        open_sec_t *o = &s->open[sec % WINDOW];
        if (o->used && o->sec != sec) summarise(s, o);
        if (!o->used) {
            o->used = true;
            o->sec = sec;
            o->reported = 0;
            hs_lg_hist_reset(&o->hist);
        }
        if (h) hs_lg_hist_merge(&o->hist, h);
        if (++o->reported >= s->threads) summarise(s, o);
    }
    pthread_mutex_unlock(&s->mu);
}

void hs_lg_series_finish(hs_lg_series_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < WINDOW; i++)
        if (s->open[i].used) summarise(s, &s->open[i]);
    pthread_mutex_unlock(&s->mu);
}

int64_t hs_lg_series_latest(hs_lg_series_t *s, hs_lg_point_t *out)
{
    pthread_mutex_lock(&s->mu);
    int64_t l = s->latest;
    if (l >= 0) *out = s->points[l];
    pthread_mutex_unlock(&s->mu);
    return l;
}

const hs_lg_point_t *hs_lg_series_points(const hs_lg_series_t *s, uint64_t *n)
{
    *n = s->used;
    return s->points;
}
