/* Types of the balancer (see balance.h). */
#ifndef HS_BALANCE_BALANCE_T_H
#define HS_BALANCE_BALANCE_T_H

#include <stdbool.h>
#include <stdint.h>

#define HS_BALANCE_MAX_BACKENDS 1024
#define HS_BALANCE_NAME_MAX 64 /* "host:port" plus its NUL */
#define HS_BALANCE_MAX_TRIES 8 /* first try plus retries */
#define HS_BALANCE_DEFAULT_WEIGHT 100

typedef struct hs_balance_pool hs_balance_pool_t;
typedef struct hs_balance_view hs_balance_view_t;

/* The backends an algorithm may choose from for one pick. */
typedef struct hs_balance_cand {
    const uint16_t *idx; /* candidate backend indices, n >= 1 */
    const double *w;     /* their effective weights (> 0), same order */
    const uint8_t *ok;   /* by pool backend index: 1 = candidate */
    unsigned n;
    unsigned tier;       /* 0 = primaries, 1 = fallbacks */
} hs_balance_cand_t;

/* A load-balancing algorithm: pick returns one backend index of c->idx.
 * Runs on the view's thread; may update the view's per-thread state. */
typedef struct hs_balance_algo {
    const char *name;
    int (*pick)(hs_balance_view_t *v, const hs_balance_cand_t *c, uint64_t hash);
} hs_balance_algo_t;

/* One backend as configured. */
typedef struct hs_balance_backend_spec {
    const char *name; /* "host:port": numeric host, [v6] or localhost */
    unsigned weight;  /* [HS_BALANCE_DEFAULT_WEIGHT] relative, 1..65535 */
    bool fallback;    /* used only when every primary is unavailable */
} hs_balance_backend_spec_t;

/* Pool options. 0 means the default in brackets unless "0 = off" is said. */
typedef struct hs_balance_opts {
    const char *name;                   /* ["default"] pool label in metrics and JSON */
    const hs_balance_algo_t *algo;      /* [hs_balance_p2c] */
    uint64_t ewma_tau_ms;               /* [10000] peak-EWMA decay time constant */
    uint64_t ewma_penalty_ms;           /* [1000] estimate of a busy backend with no sample */
    const char *health_path;            /* active checks GET this path; NULL/"" = off */
    uint64_t health_interval_ms;        /* [5000] */
    uint64_t health_timeout_ms;         /* [2000] */
    unsigned health_rise;               /* [2] passes that make a backend healthy */
    unsigned health_fall;               /* [3] failures that make it unhealthy */
    unsigned consecutive_5xx;           /* 0 = off: eject after this many 5xx in a row */
    unsigned consecutive_gateway;       /* 0 = off: ... connect/reset/timeout/502/503/504 */
    uint64_t outlier_interval_ms;       /* [10000] success-rate sweep period */
    unsigned success_rate_min_requests; /* [100] per backend per interval */
    unsigned success_rate_min_hosts;    /* [5] backends with enough requests */
    unsigned success_rate_stdev_milli;  /* 0 = off: k of mean - k*stddev, in 1/1000 */
    unsigned max_ejection_percent;      /* [50] of a tier ejected at once, at most */
    uint64_t ejection_time_ms;          /* [30000] base; the n-th ejection lasts n times it */
    uint64_t max_ejection_time_ms;      /* [300000] */
    uint64_t slow_start_ms;             /* 0 = off: weight ramp after recovery */
    unsigned retries;                   /* 0 = none: retries per request, < HS_BALANCE_MAX_TRIES */
    unsigned retry_budget_percent;      /* [20] retries allowed per 100 recent requests */
    unsigned retry_budget_min_per_s;    /* [3] retries always allowed per second */
    uint64_t try_timeout_ms;            /* 0 = off: per-try limit (callers enforce it) */
    uint64_t seed;                      /* views' random seed; 0 = from the clock */
    uint64_t (*clock_ns)(void);         /* monotonic clock; NULL = CLOCK_MONOTONIC (tests) */
} hs_balance_opts_t;

/* One request's path through the pool: the backends tried and the one in
 * use. hs_balance_req_init it before the first pick (a zeroed struct reads
 * as "backend 0 in use"). */
typedef struct hs_balance_req {
    int backend;       /* in use, or -1 */
    unsigned tries;    /* picks made */
    uint64_t start_ns; /* when the current try started */
    uint32_t conc;     /* the backend's in-flight count (this view) at the
                        * current try's start, the try included */
    uint16_t tried[HS_BALANCE_MAX_TRIES];
} hs_balance_req_t;

#endif
