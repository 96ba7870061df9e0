/*
 * The pool's control thread: its own event loop and HTTP client, running
 * the active health checks (GET health_path on every backend each
 * interval, rise/fall thresholds), the success-rate sweep over every
 * view's counts, and the metrics gauges. A thread of its own rather than
 * worker thread 0: checks run whether or not the workers are busy, and a
 * pool works the same under any server (the edge, a test, a bench).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "balance/internal.h"
#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "http/client.h"

#define TICK_MS 1000

typedef struct check {
    hs__balance_ctl_t *ctl;
    unsigned i;
    hs_timer_t timer;
    hs_http_call_t *call;
    int status;
} check_t;

struct hs__balance_ctl {
    hs_balance_pool_t *p;
    pthread_t tid;
    hs_loop_t *loop;
    hs_http_client_t *client;
    hs_timer_t sweep, tick;
    check_t *checks; /* one per backend when health checks are on */
    bool stopping;
    uint8_t *marks;
    uint64_t *dreqs, *dfails;
};

/* ---- active health checks ---- */

static void check_arm(check_t *c, uint64_t ms);

static void check_on_head(void *ctx, const hs_http_msg_t *resp)
{
    check_t *c = ctx;
    c->status = resp->status;
}

static void check_result(check_t *c, bool ok)
{
    hs_balance_pool_t *p = c->ctl->p;
    backend_t *b = &p->b[c->i];
    if (ok) {
        b->fall = 0;
        if (b->rise < UINT32_MAX)
            b->rise++;
        if (atomic_load(&b->ejected)) {
            /* A backend that passes `rise` checks in a row after its
             * ejection is back without waiting out the ejection time. */
            if (++b->ok_since_eject >= p->o.health_rise) {
                b->ok_since_eject = 0;
                hs__balance_uneject(p, c->i, hs__balance_now_ms(p), true);
            }
        }
        if (b->rise >= p->o.health_rise)
            hs_balance_backend_set_healthy(p, c->i, true);
    } else {
        b->rise = 0;
        b->ok_since_eject = 0;
        if (b->fall < UINT32_MAX)
            b->fall++;
        if (b->fall >= p->o.health_fall)
            hs_balance_backend_set_healthy(p, c->i, false);
    }
}

static void check_on_done(void *ctx, int status)
{
    check_t *c = ctx;
    c->call = NULL;
    if (c->ctl->stopping)
        return;
    bool ok = status == 0 && c->status >= 200 && c->status < 400;
    if (!ok)
        hs_log_debug("balance_check_failed", "backend=%s status=%d err=%s",
                     c->ctl->p->b[c->i].name, c->status, status ? hs_errname(status) : "");
    check_result(c, ok);
    check_arm(c, c->ctl->p->o.health_interval_ms);
}

static void check_fire(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    check_t *c = hs_container_of(t, check_t, timer);
    hs_balance_pool_t *p = c->ctl->p;
    if (c->call)
        return;
    c->status = 0;
    static const hs_http_header_t ua[] = {
        {HS_STR_LIT("User-Agent"), HS_STR_LIT("hyperscale-health-check")}};
    hs_http_client_req_t req = {
        .method = HS_HTTP_GET,
        .target = {p->health_path, strlen(p->health_path)},
        .headers = ua,
        .num_headers = 1,
    };
    hs_http_client_cbs_t cbs = {.on_head = check_on_head, .on_done = check_on_done};
    int rc = hs_http_client_request(c->ctl->client, p->b[c->i].name, &req, &cbs, c, &c->call);
    if (rc < 0) {
        c->call = NULL;
        check_result(c, false);
        check_arm(c, p->o.health_interval_ms);
    }
}

static void check_arm(check_t *c, uint64_t ms)
{
    hs_timer_start(c->ctl->loop, &c->timer, ms, check_fire);
}

/* ---- success-rate sweep and gauges ---- */

static void sweep_fire(hs_loop_t *loop, hs_timer_t *t)
{
    hs__balance_ctl_t *ctl = hs_container_of(t, hs__balance_ctl_t, sweep);
    hs_balance_pool_t *p = ctl->p;
    uint64_t now = hs__balance_now_ms(p);
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->n; i++) {
        backend_t *b = &p->b[i];
        uint64_t reqs, fails;
        uint32_t inflight;
        double ewma;
        hs__balance_totals(p, i, &reqs, &fails, &inflight, &ewma);
        ctl->dreqs[i] = reqs - b->last_reqs;
        ctl->dfails[i] = fails - b->last_fails;
        b->last_reqs = reqs;
        b->last_fails = fails;
    }
    pthread_mutex_unlock(&p->lock);
    if (p->o.success_rate_stdev_milli) {
        for (unsigned k = 0; k < 2; k++) {
            const tier_t *tr = &p->tiers[k];
            if (!tr->n)
                continue;
            unsigned marked = hs_balance_success_outliers(
                ctl->dreqs + tr->first, ctl->dfails + tr->first, tr->n,
                p->o.success_rate_min_requests, p->o.success_rate_min_hosts,
                p->o.success_rate_stdev_milli / 1000.0, ctl->marks + tr->first);
            for (unsigned j = 0; marked && j < tr->n; j++)
                if (ctl->marks[tr->first + j])
                    hs__balance_eject(p, tr->first + j, now, "success_rate");
        }
    }
    /* A backend that stayed in and failed nothing this interval earns
     * back one step of its ejection multiplier. */
    for (unsigned i = 0; i < p->n; i++) {
        backend_t *b = &p->b[i];
        unsigned e = atomic_load(&b->ejections);
        if (e && !atomic_load(&b->ejected) && ctl->dfails[i] == 0)
            atomic_compare_exchange_strong(&b->ejections, &e, e - 1);
    }
    hs_timer_start(loop, t, p->o.outlier_interval_ms, sweep_fire);
}

static void tick_fire(hs_loop_t *loop, hs_timer_t *t)
{
    hs__balance_ctl_t *ctl = hs_container_of(t, hs__balance_ctl_t, tick);
    hs_balance_pool_t *p = ctl->p;
    uint64_t now = hs__balance_now_ms(p);
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->n; i++) {
        backend_t *b = &p->b[i];
        hs__balance_uneject(p, i, now, false); /* expiry even without traffic */
        uint64_t reqs, fails;
        uint32_t inflight;
        double ewma;
        hs__balance_totals(p, i, &reqs, &fails, &inflight, &ewma);
        hs_gauge_set(b->g_ewma, (int64_t)(ewma / 1000));
        hs_gauge_set(b->g_inflight, inflight);
        hs_gauge_set(b->g_ejected, atomic_load(&b->ejected));
        hs_gauge_set(b->g_healthy, atomic_load(&b->healthy));
        hs_gauge_set(b->g_weight, (int64_t)(hs__balance_weight(p, i, now) + 0.5));
    }
    pthread_mutex_unlock(&p->lock);
    hs_timer_start(loop, t, TICK_MS, tick_fire);
}

/* ---- thread ---- */

static void *ctl_main(void *arg)
{
    hs__balance_ctl_t *ctl = arg;
    int rc = hs_loop_run(ctl->loop);
    if (rc != 0)
        hs_log_error("balance_loop_failed", "pool=%s err=%s", ctl->p->name, hs_errname(rc));
    return NULL;
}

static void ctl_free(hs__balance_ctl_t *ctl)
{
    ctl->stopping = true;
    if (ctl->client)
        hs_http_client_free(ctl->client); /* cancels checks in flight */
    if (ctl->loop) {
        for (unsigned i = 0; ctl->checks && i < ctl->p->n; i++)
            hs_timer_stop(ctl->loop, &ctl->checks[i].timer);
        hs_timer_stop(ctl->loop, &ctl->sweep);
        hs_timer_stop(ctl->loop, &ctl->tick);
        hs_loop_free(ctl->loop);
    }
    free(ctl->checks);
    free(ctl->marks);
    free(ctl->dreqs);
    free(ctl->dfails);
    free(ctl);
}

int hs__balance_ctl_start(hs_balance_pool_t *p)
{
    hs__balance_ctl_t *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return HS_ENOMEM;
    ctl->p = p;
    ctl->loop = hs_loop_new();
    ctl->marks = calloc(p->n, 1);
    ctl->dreqs = calloc(p->n, sizeof(uint64_t));
    ctl->dfails = calloc(p->n, sizeof(uint64_t));
    uint64_t t = p->o.health_timeout_ms;
    hs_http_client_opts_t co = {
        .connect_timeout_ms = (uint32_t)(t > UINT32_MAX ? UINT32_MAX : t),
        .read_timeout_ms = (uint32_t)(t > UINT32_MAX ? UINT32_MAX : t),
        .max_idle_per_upstream = 1,
        .max_queue_per_upstream = 4,
    };
    if (ctl->loop)
        ctl->client = hs_http_client_new(ctl->loop, &co);
    if (p->health_path)
        ctl->checks = calloc(p->n, sizeof(*ctl->checks));
    if (!ctl->loop || !ctl->client || !ctl->marks || !ctl->dreqs || !ctl->dfails ||
        (p->health_path && !ctl->checks)) {
        ctl_free(ctl);
        return HS_ENOMEM;
    }
    /* Timers are armed before the thread exists: no other thread touches
     * the loop until pthread_create, which orders these writes first. */
    for (unsigned i = 0; ctl->checks && i < p->n; i++) {
        ctl->checks[i].ctl = ctl;
        ctl->checks[i].i = i;
        /* spread the first checks over the interval instead of a burst */
        check_arm(&ctl->checks[i], 1 + p->o.health_interval_ms * i / p->n / 4);
    }
    hs_timer_start(ctl->loop, &ctl->sweep, p->o.outlier_interval_ms, sweep_fire);
    hs_timer_start(ctl->loop, &ctl->tick, TICK_MS, tick_fire);
    /* Signals stay with the process's own signal thread (workers.c). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&ctl->tid, NULL, ctl_main, ctl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ctl_free(ctl);
        return HS_ENOMEM;
    }
    p->ctl = ctl;
    hs_log_info("balance_start", "pool=%s backends=%u algorithm=%s health=%s", p->name, p->n,
                p->o.algo->name, p->health_path ? p->health_path : "off");
    return 0;
}

static void stop_loop(void *arg)
{
    hs__balance_ctl_t *ctl = arg;
    hs_loop_stop(ctl->loop);
}

void hs__balance_ctl_stop(hs_balance_pool_t *p)
{
    hs__balance_ctl_t *ctl = p->ctl;
    p->ctl = NULL;
    if (hs_loop_post(ctl->loop, stop_loop, ctl) != 0)
        hs_loop_stop(ctl->loop);
    pthread_join(ctl->tid, NULL);
    ctl_free(ctl);
}
