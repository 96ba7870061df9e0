/*
 * The load-balancing algorithms behind hs_balance_algo_t. Each chooses
 * among the candidates of one pick (hs_balance_cand_t); which backends
 * are candidates (tiers, health, ejection, earlier tries) is decided
 * before, in view.c.
 */
#include <string.h>

#include "balance/internal.h"

/* A candidate drawn with probability proportional to its weight;
 * `skip` (an index into c->idx, or -1) is left out. */
static unsigned weighted_draw(hs_balance_view_t *v, const hs_balance_cand_t *c, int skip)
{
    double total = 0;
    for (unsigned k = 0; k < c->n; k++)
        if ((int)k != skip)
            total += c->w[k];
    double x = hs__balance_rand(v) * total;
    unsigned last = 0;
    for (unsigned k = 0; k < c->n; k++) {
        if ((int)k == skip)
            continue;
        last = k;
        if (x < c->w[k])
            return k;
        x -= c->w[k];
    }
    return last; /* rounding at the top end */
}

/* Expected time for a new request: the backend's latency plus, for each
 * request already in flight, its time per request (a peak-EWMA of
 * latency / the in-flight count when the try started: by Little's law
 * that is 1 / its completion rate). Latency x (in-flight + 1), Finagle's
 * cost, counts queueing twice: a backend that serves one request at a
 * time answers k in flight in k service times, so its cost grew as
 * k x (k + 1) and passed an idle backend several times slower. Dividing
 * the whole cost by concurrency instead leaves a backend that serves in
 * parallel with no penalty for load, and backends that share a host
 * (latency set by the host's load, not their own) drift to whichever
 * has most in flight. This form is the latency when idle, grows with
 * in-flight for every kind of backend, and grows linearly, not
 * quadratically, for a queueing one.
 * A backend without a usable sample costs nothing while idle, so it gets
 * one probe at a time, and the penalty while that probe is out: it
 * neither starves nor takes a burst. A sample older than 5 tau is
 * forgotten, so a backend that was slow once is measured again instead
 * of being avoided forever. */
static double cost(hs_balance_view_t *v, unsigned i, uint64_t now_ns)
{
    const hs_balance_pool_t *p = v->pool;
    const vbackend_t *b = &v->b[i];
    double inflight = atomic_load_explicit(&b->inflight, memory_order_relaxed);
    uint64_t tau = p->o.ewma_tau_ms * 1000000u;
    bool fresh = b->unit.sampled && now_ns < b->unit.t + 5 * tau;
    if (!fresh)
        return inflight == 0 ? 0 : (double)p->o.ewma_penalty_ms * 1e6 * (inflight + 1);
    return b->ewma.v + b->unit.v * inflight;
}

static int p2c_pick(hs_balance_view_t *v, const hs_balance_cand_t *c, uint64_t hash)
{
    (void)hash;
    unsigned a = weighted_draw(v, c, -1);
    unsigned b = weighted_draw(v, c, (int)a);
    uint64_t now = hs__balance_now_ns(v->pool);
    double ca = cost(v, c->idx[a], now), cb = cost(v, c->idx[b], now);
    if (ca == cb)
        return c->idx[hs__balance_rand(v) < 0.5 ? a : b];
    return c->idx[ca < cb ? a : b];
}

/* The key's slot, then the next slots until one belongs to a candidate:
 * keys of an unavailable backend spread over the others in proportion to
 * their slots, and no other key moves. */
static int maglev_pick(hs_balance_view_t *v, const hs_balance_cand_t *c, uint64_t hash)
{
    const tier_t *t = &v->pool->tiers[c->tier];
    uint32_t m = t->maglev_m;
    uint32_t s = (uint32_t)(hash % m);
    for (uint32_t k = 0; k < m; k++) {
        unsigned i = t->first + t->maglev[s];
        if (c->ok[i])
            return (int)i;
        if (++s == m)
            s = 0;
    }
    return c->idx[0]; /* candidates own no slot (a vanishingly small weight) */
}

/* Smooth weighted round robin: every pick each candidate gains its
 * weight, the richest is chosen and pays the total. Picks interleave
 * (a:5 b:1 c:1 gives a a b a c a a) instead of coming in runs. */
static int rr_pick(hs_balance_view_t *v, const hs_balance_cand_t *c, uint64_t hash)
{
    (void)hash;
    double total = 0;
    unsigned best = 0;
    for (unsigned k = 0; k < c->n; k++) {
        vbackend_t *b = &v->b[c->idx[k]];
        b->rr += c->w[k];
        total += c->w[k];
        if (b->rr > v->b[c->idx[best]].rr)
            best = k;
    }
    v->b[c->idx[best]].rr -= total;
    return c->idx[best];
}

/* Fewest in flight per unit of weight; ties broken at random. */
static int lr_pick(hs_balance_view_t *v, const hs_balance_cand_t *c, uint64_t hash)
{
    (void)hash;
    double best = 0;
    unsigned pick = 0, ties = 0;
    for (unsigned k = 0; k < c->n; k++) {
        double load =
            (atomic_load_explicit(&v->b[c->idx[k]].inflight, memory_order_relaxed) + 1.0) /
            c->w[k];
        if (ties == 0 || load < best) {
            best = load;
            pick = k;
            ties = 1;
        } else if (load == best && hs__balance_rand(v) * ++ties < 1.0) {
            pick = k; /* reservoir: each tied candidate equally likely */
        }
    }
    return c->idx[pick];
}

const hs_balance_algo_t hs_balance_p2c = {"p2c", p2c_pick};
const hs_balance_algo_t hs_balance_maglev = {"maglev", maglev_pick};
const hs_balance_algo_t hs_balance_round_robin = {"round_robin", rr_pick};
const hs_balance_algo_t hs_balance_least_request = {"least_request", lr_pick};

const hs_balance_algo_t *hs_balance_algo_by_name(const char *name)
{
    static const hs_balance_algo_t *const all[] = {&hs_balance_p2c, &hs_balance_maglev,
                                                   &hs_balance_round_robin,
                                                   &hs_balance_least_request};
    for (unsigned i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
