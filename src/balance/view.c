/*
 * A thread's view of a pool: candidate selection across tiers, the
 * outcome of each try (latency estimate, failure counts, ejection) and
 * retry decisions (see balance.h).
 */
#include <stdlib.h>
#include <string.h>

#include "balance/internal.h"
#include "core/err.h"
#include "core/metrics.h"

hs_balance_view_t *hs_balance_view_new(hs_balance_pool_t *p)
{
    hs_balance_view_t *v = calloc(1, sizeof(*v) + p->n * sizeof(vbackend_t));
    if (!v)
        return NULL;
    v->cand = calloc(p->n, sizeof(*v->cand));
    v->w = calloc(p->n, sizeof(*v->w));
    v->ok = calloc(p->n, sizeof(*v->ok));
    if (!v->cand || !v->w || !v->ok) {
        free(v->cand);
        free(v->w);
        free(v->ok);
        free(v);
        return NULL;
    }
    v->pool = p;
    hs_balance_budget_init(&v->budget, p->o.retry_budget_percent, p->o.retry_budget_min_per_s);
    hs_balance_pool_ref(p);
    pthread_mutex_lock(&p->lock);
    static _Atomic uint64_t serial;
    uint64_t s = p->o.seed ? p->o.seed : hs__balance_now_ns(p);
    /* distinct streams for views made at the same instant or seed */
    v->rng = s ^ (0x9e3779b97f4a7c15ull * (atomic_fetch_add(&serial, 1) + 1));
    if (!v->rng)
        v->rng = 1;
    v->next = p->views;
    if (p->views)
        p->views->prev = v;
    p->views = v;
    pthread_mutex_unlock(&p->lock);
    return v;
}

void hs_balance_view_free(hs_balance_view_t *v)
{
    if (!v)
        return;
    hs_balance_pool_t *p = v->pool;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->n; i++) {
        p->retired_reqs[i] += atomic_load(&v->b[i].reqs);
        p->retired_fails[i] += atomic_load(&v->b[i].fails);
    }
    if (v->prev)
        v->prev->next = v->next;
    else
        p->views = v->next;
    if (v->next)
        v->next->prev = v->prev;
    pthread_mutex_unlock(&p->lock);
    free(v->cand);
    free(v->w);
    free(v->ok);
    free(v);
    hs_balance_pool_release(p);
}

double hs__balance_rand(hs_balance_view_t *v)
{
    /* xorshift64*: statistically fine for choosing backends, and cheap */
    uint64_t x = v->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    v->rng = x;
    return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/* Owner-only counters: a plain add published with a relaxed store. */
static inline void own_add64(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void own_add32(_Atomic uint32_t *c, int32_t n)
{
    atomic_store_explicit(c, (uint32_t)((int32_t)atomic_load_explicit(c, memory_order_relaxed) + n),
                          memory_order_relaxed);
}

static bool tried(const hs_balance_req_t *r, unsigned i)
{
    unsigned n = r->tries < HS_BALANCE_MAX_TRIES ? r->tries : HS_BALANCE_MAX_TRIES;
    for (unsigned k = 0; k < n; k++)
        if (r->tried[k] == i)
            return true;
    return false;
}

/* Fills the view's candidate list from tier t: available backends not
 * yet tried (or, with any_health, every backend not yet tried). */
static unsigned gather(hs_balance_view_t *v, const hs_balance_req_t *r, unsigned t,
                       bool any_health, uint64_t now_ms)
{
    hs_balance_pool_t *p = v->pool;
    const tier_t *tr = &p->tiers[t];
    unsigned n = 0;
    for (unsigned i = tr->first; i < tr->first + tr->n; i++) {
        v->ok[i] = 0;
        if (tried(r, i) || (!any_health && !hs__balance_available(p, i, now_ms)))
            continue;
        v->ok[i] = 1;
        v->cand[n] = (uint16_t)i;
        v->w[n] = any_health ? p->b[i].weight : hs__balance_weight(p, i, now_ms);
        if (v->w[n] <= 0)
            v->w[n] = 1e-9;
        n++;
    }
    return n;
}

/* The candidate set for r: available primaries; else available
 * fallbacks; else (panic) any untried primary, then any untried fallback. */
static bool choose_set(hs_balance_view_t *v, const hs_balance_req_t *r, uint64_t now_ms,
                       hs_balance_cand_t *c)
{
    static const struct {
        unsigned tier;
        bool any;
    } order[] = {{0, false}, {1, false}, {0, true}, {1, true}};
    for (unsigned k = 0; k < 4; k++) {
        if (v->pool->tiers[order[k].tier].n == 0)
            continue;
        unsigned n = gather(v, r, order[k].tier, order[k].any, now_ms);
        if (n) {
            *c = (hs_balance_cand_t){v->cand, v->w, v->ok, n, order[k].tier};
            return true;
        }
    }
    return false;
}

int hs_balance_pick(hs_balance_view_t *v, hs_balance_req_t *r, uint64_t hash)
{
    hs_balance_pool_t *p = v->pool;
    if (r->backend >= 0)
        return HS_EBUSY;
    if (r->tries >= HS_BALANCE_MAX_TRIES)
        return HS_ELIMIT;
    uint64_t now = hs__balance_now_ns(p);
    hs_balance_cand_t c;
    if (!choose_set(v, r, now / 1000000u, &c))
        return HS_ENOENT;
    int b = c.n == 1 ? c.idx[0] : p->o.algo->pick(v, &c, hash);
    if (b < 0 || (unsigned)b >= p->n || !c.ok[b])
        b = c.idx[0]; /* an algorithm's bug must not route outside the set */
    if (r->tries == 0)
        hs_balance_budget_request(&v->budget, now);
    r->tried[r->tries++] = (uint16_t)b;
    r->backend = b;
    r->start_ns = now;
    own_add32(&v->b[b].inflight, 1);
    r->conc = atomic_load_explicit(&v->b[b].inflight, memory_order_relaxed);
    return b;
}

static bool gateway_failure(int result)
{
    return result == 502 || result == 503 || result == 504 ||
           (result < 0 && result != HS_ECANCELED);
}

void hs_balance_done(hs_balance_view_t *v, hs_balance_req_t *r, int result, uint64_t latency_ns)
{
    hs_balance_pool_t *p = v->pool;
    if (r->backend < 0)
        return;
    unsigned i = (unsigned)r->backend;
    r->backend = -1;
    vbackend_t *vb = &v->b[i];
    backend_t *b = &p->b[i];
    own_add32(&vb->inflight, -1);
    if (result == HS_ECANCELED)
        return; /* the caller gave up: says nothing about the backend */
    uint64_t now = hs__balance_now_ns(p);
    if (latency_ns == 0)
        latency_ns = now > r->start_ns ? now - r->start_ns : 1;
    uint64_t tau = p->o.ewma_tau_ms * 1000000u;
    hs_balance_ewma_observe(&vb->ewma, (double)latency_ns, now, tau);
    /* A latency measured with k requests in flight on the backend counts
     * as k requests' worth of its time: see cost() in algo.c. */
    hs_balance_ewma_observe(&vb->unit, (double)latency_ns / (r->conc ? r->conc : 1), now, tau);
    atomic_store_explicit(&vb->ewma_pub, vb->ewma.v >= 1 ? (uint64_t)vb->ewma.v : 1,
                          memory_order_relaxed);
    own_add64(&vb->reqs, 1);
    hs_counter_inc(b->m_req);
    bool gw = gateway_failure(result);
    bool fail = gw || result >= 500;
    if (!fail) {
        /* Only write the shared line when there is something to reset. */
        if (atomic_load_explicit(&b->cons_5xx, memory_order_relaxed))
            atomic_store_explicit(&b->cons_5xx, 0, memory_order_relaxed);
        if (atomic_load_explicit(&b->cons_gw, memory_order_relaxed))
            atomic_store_explicit(&b->cons_gw, 0, memory_order_relaxed);
        return;
    }
    own_add64(&vb->fails, 1);
    hs_counter_inc(b->m_fail);
    unsigned c5 = atomic_fetch_add(&b->cons_5xx, 1) + 1;
    unsigned cg = gw ? atomic_fetch_add(&b->cons_gw, 1) + 1 : 0;
    if (!gw && atomic_load_explicit(&b->cons_gw, memory_order_relaxed))
        atomic_store_explicit(&b->cons_gw, 0, memory_order_relaxed);
    if (p->o.consecutive_gateway && cg >= p->o.consecutive_gateway)
        hs__balance_eject(p, i, now / 1000000u, "consecutive_gateway");
    else if (p->o.consecutive_5xx && c5 >= p->o.consecutive_5xx)
        hs__balance_eject(p, i, now / 1000000u, "consecutive_5xx");
}

bool hs_balance_idempotent(hs_http_method_t m, bool body_held_or_none)
{
    switch (m) {
    case HS_HTTP_GET:
    case HS_HTTP_HEAD:
    case HS_HTTP_OPTIONS:
    case HS_HTTP_TRACE:
    case HS_HTTP_PUT:
    case HS_HTTP_DELETE:
        return body_held_or_none;
    default:
        return false;
    }
}

bool hs_balance_retry(hs_balance_view_t *v, hs_balance_req_t *r, int result)
{
    hs_balance_pool_t *p = v->pool;
    if (!gateway_failure(result) || r->tries == 0 || r->tries > p->o.retries ||
        r->tries >= HS_BALANCE_MAX_TRIES)
        return false;
    bool other = false;
    for (unsigned i = 0; i < p->n && !other; i++)
        other = !tried(r, i);
    if (!other)
        return false;
    if (!hs_balance_budget_try(&v->budget, hs__balance_now_ns(p))) {
        hs_counter_inc(p->m_exhausted);
        return false;
    }
    hs_counter_inc(p->m_retries);
    return true;
}
