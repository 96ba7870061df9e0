/*
 * The pool: backends, their shared health and ejection state, options,
 * metrics series and the JSON state export (see balance.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance/internal.h"
#include "balance/maglev.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"

static const char *const tier_names[2] = {"primary", "fallback"};

uint64_t hs__balance_now_ns(const hs_balance_pool_t *p)
{
    if (p->o.clock_ns)
        return p->o.clock_ns();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill_defaults(hs_balance_opts_t *o)
{
#define DEF(f, v)                                                              \
    do {                                                                       \
        if (!o->f)                                                             \
            o->f = (v);                                                        \
    } while (0)
    DEF(name, "default");
    DEF(algo, &hs_balance_p2c);
    DEF(ewma_tau_ms, 10000);
    DEF(ewma_penalty_ms, 1000);
    DEF(health_interval_ms, 5000);
    DEF(health_timeout_ms, 2000);
    DEF(health_rise, 2);
    DEF(health_fall, 3);
    DEF(outlier_interval_ms, 10000);
    DEF(success_rate_min_requests, 100);
    DEF(success_rate_min_hosts, 5);
    DEF(max_ejection_percent, 50);
    DEF(ejection_time_ms, 30000);
    DEF(max_ejection_time_ms, 300000);
    DEF(retry_budget_percent, 20);
    DEF(retry_budget_min_per_s, 3);
#undef DEF
    if (o->retries >= HS_BALANCE_MAX_TRIES)
        o->retries = HS_BALANCE_MAX_TRIES - 1;
}

static void register_metrics(hs_balance_pool_t *p)
{
    char l[256];
    snprintf(l, sizeof(l), "pool=\"%s\"", p->name);
    p->m_retries = hs_counter("hs_balance_retries_total", l, "requests retried on another backend");
    p->m_exhausted = hs_counter("hs_balance_retries_budget_exhausted_total", l,
                                "retries refused because the retry budget was spent");
    for (unsigned i = 0; i < p->n; i++) {
        backend_t *b = &p->b[i];
        snprintf(l, sizeof(l), "pool=\"%s\",backend=\"%s\",tier=\"%s\"", p->name, b->name,
                 tier_names[b->tier]);
        b->m_req = hs_counter("hs_balance_requests_total", l, "tries sent to a backend");
        b->m_fail = hs_counter("hs_balance_failures_total", l,
                               "tries that failed: 5xx or connect/reset/timeout");
        b->m_eject = hs_counter("hs_balance_ejections_total", l, "outlier ejections");
        b->g_ewma = hs_gauge("hs_balance_backend_ewma_microseconds", l,
                             "peak-EWMA latency estimate (mean over worker threads)");
        b->g_inflight = hs_gauge("hs_balance_backend_in_flight", l, "tries in flight");
        b->g_ejected = hs_gauge("hs_balance_backend_ejected", l, "1 while ejected");
        b->g_healthy = hs_gauge("hs_balance_backend_healthy", l, "1 while health checks pass");
        b->g_weight = hs_gauge("hs_balance_backend_weight_effective", l,
                               "weight after slow start (configured weight when done)");
    }
}

hs_balance_pool_t *hs_balance_pool_new(const hs_balance_opts_t *o,
                                       const hs_balance_backend_spec_t *specs, unsigned n,
                                       int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = HS_EINVAL;
    if (!specs || n == 0 || n > HS_BALANCE_MAX_BACKENDS)
        return NULL;
    unsigned nprim = 0;
    for (unsigned i = 0; i < n; i++) {
        char tmp[HS_BALANCE_NAME_MAX];
        const char *nm = specs[i].name;
        if (!nm || hs_balance_parse_backend(nm, strlen(nm), tmp, sizeof(tmp), NULL) != 0 ||
            strcmp(tmp, nm) != 0 || specs[i].weight > 65535)
            return NULL;
        for (unsigned j = 0; j < i; j++)
            if (strcmp(specs[j].name, nm) == 0)
                return NULL;
        nprim += !specs[i].fallback;
    }
    if (nprim == 0)
        return NULL;
    *err = HS_ENOMEM;
    hs_balance_pool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (o)
        p->o = *o;
    fill_defaults(&p->o);
    p->name = strdup(p->o.name);
    p->health_path = p->o.health_path && p->o.health_path[0] ? strdup(p->o.health_path) : NULL;
    p->o.name = p->name;
    p->o.health_path = p->health_path;
    p->b = calloc(n, sizeof(*p->b));
    p->retired_reqs = calloc(n, sizeof(uint64_t));
    p->retired_fails = calloc(n, sizeof(uint64_t));
    if (!p->name || (o && o->health_path && o->health_path[0] && !p->health_path) || !p->b ||
        !p->retired_reqs || !p->retired_fails)
        goto fail;
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->refs, 1);
    /* primaries first, then fallbacks: each tier is one index range */
    p->n = n;
    unsigned k = 0;
    for (unsigned t = 0; t < 2; t++) {
        p->tiers[t].first = k;
        for (unsigned i = 0; i < n; i++) {
            if (specs[i].fallback != (t == 1))
                continue;
            backend_t *b = &p->b[k++];
            snprintf(b->name, sizeof(b->name), "%s", specs[i].name);
            b->weight = specs[i].weight ? specs[i].weight : HS_BALANCE_DEFAULT_WEIGHT;
            b->tier = t;
            atomic_init(&b->healthy, true);
        }
        tier_t *tr = &p->tiers[t];
        tr->n = k - tr->first;
        tr->max_ejected = hs_balance_max_ejected(tr->n, p->o.max_ejection_percent);
        if (tr->n == 0)
            continue;
        tr->maglev_m = hs_maglev_size(tr->n);
        tr->maglev = malloc(tr->maglev_m * sizeof(uint16_t));
        const char **names = calloc(tr->n, sizeof(*names));
        unsigned *weights = calloc(tr->n, sizeof(*weights));
        int rc = tr->maglev && names && weights ? 0 : HS_ENOMEM;
        for (unsigned i = 0; rc == 0 && i < tr->n; i++) {
            names[i] = p->b[tr->first + i].name;
            weights[i] = p->b[tr->first + i].weight;
        }
        if (rc == 0)
            rc = hs_maglev_build(tr->maglev, tr->maglev_m, names, weights, tr->n);
        free(names);
        free(weights);
        if (rc != 0) {
            *err = rc;
            pthread_mutex_destroy(&p->lock);
            goto fail;
        }
    }
    register_metrics(p);
    for (unsigned i = 0; i < n; i++) {
        hs_gauge_set(p->b[i].g_healthy, 1);
        hs_gauge_set(p->b[i].g_weight, p->b[i].weight);
    }
    *err = 0;
    return p;
fail:
    for (unsigned t = 0; t < 2; t++)
        free(p->tiers[t].maglev);
    free(p->retired_reqs);
    free(p->retired_fails);
    free(p->b);
    free(p->name);
    free(p->health_path);
    free(p);
    return NULL;
}

hs_balance_pool_t *hs_balance_pool_new_list(const hs_balance_opts_t *o, const char *primaries,
                                            const char *fallbacks, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    hs_balance_backend_spec_t *specs = calloc(HS_BALANCE_MAX_BACKENDS, sizeof(*specs));
    char(*names)[HS_BALANCE_NAME_MAX] = calloc(HS_BALANCE_MAX_BACKENDS, sizeof(*names));
    hs_balance_pool_t *p = NULL;
    if (!specs || !names) {
        *err = HS_ENOMEM;
    } else {
        int n = hs__balance_collect(primaries, fallbacks, specs, names, HS_BALANCE_MAX_BACKENDS);
        if (n < 0)
            *err = n == HS_ELIMIT ? HS_EINVAL : n;
        else
            p = hs_balance_pool_new(o, specs, (unsigned)n, err);
    }
    free(specs);
    free(names);
    return p;
}

int hs_balance_pool_start(hs_balance_pool_t *p)
{
    if (p->ctl)
        return 0;
    return hs__balance_ctl_start(p);
}

void hs_balance_pool_stop(hs_balance_pool_t *p)
{
    if (p && p->ctl)
        hs__balance_ctl_stop(p);
}

void hs_balance_pool_ref(hs_balance_pool_t *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void hs_balance_pool_release(hs_balance_pool_t *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    hs_balance_pool_stop(p);
    pthread_mutex_destroy(&p->lock);
    for (unsigned t = 0; t < 2; t++)
        free(p->tiers[t].maglev);
    free(p->retired_reqs);
    free(p->retired_fails);
    free(p->b);
    free(p->name);
    free(p->health_path);
    free(p);
}

const hs_balance_opts_t *hs_balance_pool_opts(const hs_balance_pool_t *p)
{
    return &p->o;
}

unsigned hs_balance_pool_size(const hs_balance_pool_t *p)
{
    return p->n;
}

const char *hs_balance_backend_name(const hs_balance_pool_t *p, unsigned i)
{
    return i < p->n ? p->b[i].name : "";
}

/* ---- health, ejection, slow start ---- */

bool hs__balance_eject(hs_balance_pool_t *p, unsigned i, uint64_t now_ms, const char *why)
{
    backend_t *b = &p->b[i];
    tier_t *t = &p->tiers[b->tier];
    if (atomic_load_explicit(&b->ejected, memory_order_relaxed))
        return false;
    /* Reserve a place in the tier's ejected share first: two threads
     * ejecting two backends at once must not both pass the limit. */
    unsigned k = atomic_load(&t->n_ejected);
    do {
        if (k >= t->max_ejected)
            return false;
    } while (!atomic_compare_exchange_weak(&t->n_ejected, &k, k + 1));
    bool expect = false;
    if (!atomic_compare_exchange_strong(&b->ejected, &expect, true)) {
        atomic_fetch_sub(&t->n_ejected, 1);
        return false;
    }
    unsigned count = atomic_fetch_add(&b->ejections, 1) + 1;
    uint64_t len = hs_balance_ejection_ms(p->o.ejection_time_ms, p->o.max_ejection_time_ms, count);
    atomic_store(&b->ejected_until_ms, now_ms + len);
    atomic_store(&b->admitted_ms, 0);
    hs_counter_inc(b->m_eject);
    hs_gauge_set(b->g_ejected, 1);
    hs_log_warn("balance_eject", "pool=%s backend=%s reason=%s count=%u ms=%" PRIu64, p->name,
                b->name, why, count, len);
    return true;
}

bool hs__balance_uneject(hs_balance_pool_t *p, unsigned i, uint64_t now_ms, bool force)
{
    backend_t *b = &p->b[i];
    if (!atomic_load(&b->ejected))
        return false;
    if (!force && now_ms < atomic_load(&b->ejected_until_ms))
        return false;
    bool expect = true;
    if (!atomic_compare_exchange_strong(&b->ejected, &expect, false))
        return false;
    atomic_fetch_sub(&p->tiers[b->tier].n_ejected, 1);
    atomic_store(&b->cons_5xx, 0);
    atomic_store(&b->cons_gw, 0);
    if (p->o.slow_start_ms)
        atomic_store(&b->admitted_ms, now_ms ? now_ms : 1);
    hs_gauge_set(b->g_ejected, 0);
    hs_log_info("balance_readmit", "pool=%s backend=%s", p->name, b->name);
    return true;
}

bool hs__balance_available(hs_balance_pool_t *p, unsigned i, uint64_t now_ms)
{
    backend_t *b = &p->b[i];
    if (!atomic_load_explicit(&b->healthy, memory_order_relaxed))
        return false;
    if (atomic_load_explicit(&b->ejected, memory_order_relaxed) &&
        !hs__balance_uneject(p, i, now_ms, false))
        return atomic_load(&b->ejected) == false;
    return true;
}

bool hs_balance_backend_available(hs_balance_pool_t *p, unsigned i)
{
    return i < p->n && hs__balance_available(p, i, hs__balance_now_ms(p));
}

double hs__balance_weight(hs_balance_pool_t *p, unsigned i, uint64_t now_ms)
{
    backend_t *b = &p->b[i];
    uint64_t since = atomic_load_explicit(&b->admitted_ms, memory_order_relaxed);
    double f = hs_balance_slow_start(since, now_ms, p->o.slow_start_ms);
    if (since && f >= 1.0)
        atomic_store_explicit(&b->admitted_ms, 0, memory_order_relaxed); /* ramp done */
    return b->weight * f;
}

double hs_balance_backend_weight(hs_balance_pool_t *p, unsigned i)
{
    return i < p->n ? hs__balance_weight(p, i, hs__balance_now_ms(p)) : 0;
}

void hs_balance_backend_set_healthy(hs_balance_pool_t *p, unsigned i, bool healthy)
{
    if (i >= p->n)
        return;
    backend_t *b = &p->b[i];
    bool was = atomic_exchange(&b->healthy, healthy);
    if (was == healthy)
        return;
    hs_gauge_set(b->g_healthy, healthy);
    if (healthy && p->o.slow_start_ms) {
        uint64_t now = hs__balance_now_ms(p);
        atomic_store(&b->admitted_ms, now ? now : 1);
    }
    hs_log_info(healthy ? "balance_healthy" : "balance_unhealthy", "pool=%s backend=%s", p->name,
                b->name);
}

/* ---- totals and JSON ---- */

void hs__balance_totals(hs_balance_pool_t *p, unsigned i, uint64_t *reqs, uint64_t *fails,
                        uint32_t *inflight, double *ewma_ns)
{
    uint64_t r = p->retired_reqs[i], f = p->retired_fails[i];
    uint32_t in = 0;
    double sum = 0;
    unsigned nsum = 0;
    for (hs_balance_view_t *v = p->views; v; v = v->next) {
        r += atomic_load_explicit(&v->b[i].reqs, memory_order_relaxed);
        f += atomic_load_explicit(&v->b[i].fails, memory_order_relaxed);
        in += atomic_load_explicit(&v->b[i].inflight, memory_order_relaxed);
        uint64_t e = atomic_load_explicit(&v->b[i].ewma_pub, memory_order_relaxed);
        if (e) {
            sum += (double)e;
            nsum++;
        }
    }
    *reqs = r;
    *fails = f;
    *inflight = in;
    *ewma_ns = nsum ? sum / nsum : 0;
}

int hs_balance_pool_json(hs_balance_pool_t *p, hs_buf_t *out)
{
    uint64_t now = hs__balance_now_ms(p);
    int rc = hs_buf_printf(out,
                           "{\"pool\":\"%s\",\"algorithm\":\"%s\",\"health_path\":\"%s\","
                           "\"retries\":%" PRIu64 ",\"retries_budget_exhausted\":%" PRIu64
                           ",\"backends\":[",
                           p->name, p->o.algo->name, p->health_path ? p->health_path : "",
                           hs_counter_value(p->m_retries), hs_counter_value(p->m_exhausted));
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        backend_t *b = &p->b[i];
        uint64_t reqs, fails;
        uint32_t inflight;
        double ewma;
        hs__balance_totals(p, i, &reqs, &fails, &inflight, &ewma);
        bool ej = atomic_load(&b->ejected);
        uint64_t until = atomic_load(&b->ejected_until_ms);
        rc = hs_buf_printf(
            out,
            "%s{\"name\":\"%s\",\"tier\":\"%s\",\"weight\":%u,\"weight_effective\":%.1f,"
            "\"healthy\":%s,\"ejected\":%s,\"ejected_for_ms\":%" PRIu64 ",\"ejections\":%u,"
            "\"in_flight\":%u,\"ewma_seconds\":%.6f,\"requests\":%" PRIu64
            ",\"failures\":%" PRIu64 "}",
            i ? "," : "", b->name, tier_names[b->tier], b->weight, hs__balance_weight(p, i, now),
            atomic_load(&b->healthy) ? "true" : "false", ej ? "true" : "false",
            ej && until > now ? until - now : 0, (unsigned)atomic_load(&b->ejections), inflight,
            ewma / 1e9, reqs, fails);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == 0)
        rc = hs_buf_printf(out, "]}\n");
    return rc;
}
