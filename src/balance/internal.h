/*
 * Internal to src/balance: the pool's and the views' layouts, shared by
 * pool.c (creation, ejection, JSON), view.c (picks and outcomes), algo.c
 * (the algorithms) and control.c (health checks, sweeps, gauges).
 */
#ifndef HS_BALANCE_INTERNAL_H
#define HS_BALANCE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "balance/balance.h"
#include "balance/budget.h"
#include "balance/stats.h"
#include "core/metrics-t.h"

typedef struct hs__balance_ctl hs__balance_ctl_t;

/* One backend's shared state. Atomics: any worker thread may eject it or
 * count a failure; the control thread owns health and the sweeps. */
typedef struct backend {
    char name[HS_BALANCE_NAME_MAX];
    unsigned weight;
    unsigned tier;
    _Atomic bool healthy;
    _Atomic bool ejected;
    _Atomic uint64_t ejected_until_ms; /* pool clock */
    _Atomic uint32_t ejections;        /* multiplier of the next ejection time */
    _Atomic uint64_t admitted_ms;      /* slow start began; 0 = none running */
    _Atomic uint32_t cons_5xx, cons_gw;
    /* the control thread's own */
    unsigned rise, fall;  /* consecutive check passes / failures */
    unsigned ok_since_eject;
    uint64_t last_reqs, last_fails; /* totals at the previous sweep */
    /* metrics */
    hs_counter_t *m_req, *m_fail, *m_eject;
    hs_gauge_t *g_ewma, *g_inflight, *g_ejected, *g_healthy, *g_weight;
} backend_t;

typedef struct tier {
    unsigned first, n;            /* backends [first, first + n) */
    unsigned max_ejected;
    _Atomic unsigned n_ejected;
    uint16_t *maglev;             /* entries are offsets from first */
    uint32_t maglev_m;
} tier_t;

/* A view's per-backend state. Only the owner thread writes; the atomics
 * are there so the control thread and the JSON writer may read. */
typedef struct vbackend {
    hs_balance_ewma_t ewma;         /* latency, for gauges and JSON */
    hs_balance_ewma_t unit;         /* latency / concurrency, for P2C's cost */
    double rr;                      /* smooth weighted round robin position */
    _Atomic uint32_t inflight;
    _Atomic uint64_t ewma_pub;      /* ewma.v in ns, 0 = no sample */
    _Atomic uint64_t reqs, fails;   /* cumulative */
} vbackend_t;

struct hs_balance_view {
    hs_balance_pool_t *pool;
    hs_balance_view_t *next, *prev; /* pool's list, under pool->lock */
    uint64_t rng;
    hs_balance_budget_t budget;
    /* scratch for a pick */
    uint16_t *cand;
    double *w;
    uint8_t *ok;
    vbackend_t b[];
};

struct hs_balance_pool {
    hs_balance_opts_t o;
    char *name, *health_path;
    _Atomic unsigned refs;
    unsigned n;
    backend_t *b;
    tier_t tiers[2];
    pthread_mutex_t lock; /* views list and retired counts */
    hs_balance_view_t *views;
    uint64_t *retired_reqs, *retired_fails; /* of freed views */
    hs__balance_ctl_t *ctl;
    hs_counter_t *m_retries, *m_exhausted;
};

/* Pool clock in ns and ms. */
uint64_t hs__balance_now_ns(const hs_balance_pool_t *p);
static inline uint64_t hs__balance_now_ms(const hs_balance_pool_t *p)
{
    return hs__balance_now_ns(p) / 1000000u;
}

/* Ends an ejection that has expired (or force: at once); starts slow
 * start. Returns true if this call ended it. */
bool hs__balance_uneject(hs_balance_pool_t *p, unsigned i, uint64_t now_ms, bool force);
/* Ejects backend i unless its tier is at its ejected share. Returns true
 * if this call ejected it. */
bool hs__balance_eject(hs_balance_pool_t *p, unsigned i, uint64_t now_ms, const char *why);
/* Available: healthy and not ejected (expired ejections are ended here). */
bool hs__balance_available(hs_balance_pool_t *p, unsigned i, uint64_t now_ms);
/* Effective weight at now_ms. */
double hs__balance_weight(hs_balance_pool_t *p, unsigned i, uint64_t now_ms);

/* Sums of every view's (and freed views') counts for backend i; the
 * caller holds p->lock. */
void hs__balance_totals(hs_balance_pool_t *p, unsigned i, uint64_t *reqs, uint64_t *fails,
                        uint32_t *inflight, double *ewma_ns);

/* parse.c: both lists into specs (names stored in names[]). Returns the
 * count or HS_EINVAL / HS_ELIMIT. */
int hs__balance_collect(const char *primaries, const char *fallbacks,
                        hs_balance_backend_spec_t *specs, char (*names)[HS_BALANCE_NAME_MAX],
                        unsigned max);

/* control.c */
int hs__balance_ctl_start(hs_balance_pool_t *p);
void hs__balance_ctl_stop(hs_balance_pool_t *p);

/* view.c: a random number in [0, 1) from the view's generator. */
double hs__balance_rand(hs_balance_view_t *v);

#endif
