/* Result counters of the load generator (functions in loadgen/stats.h). */
#ifndef HS_LOADGEN_STATS_T_H
#define HS_LOADGEN_STATS_T_H

#include <stdint.h>

/* Why a request failed. Transport failures have no latency sample; HTTP
 * 4xx/5xx are complete answers, so they have one and count here too. */
#define HS_LG_ERR_MAP(X)                                                                           \
    X(CONNECT, "connect", "connection refused or unreachable")                                     \
    X(TIMEOUT, "timeout", "connect or read timed out")                                             \
    X(RESET, "reset", "connection closed or reset mid-exchange")                                   \
    X(BADRESP, "bad_response", "malformed response")                                               \
    X(HTTP4XX, "http_4xx", "HTTP 4xx answer")                                                      \
    X(HTTP5XX, "http_5xx", "HTTP 5xx answer")                                                      \
    X(UNFINISHED, "unfinished", "not answered by the end of the drain")                            \
    X(OTHER, "other", "other local error")

typedef enum hs_lg_err {
#define HS_LG_ERR_ENUM(name, key, help) HS_LG_ERR_##name,
    HS_LG_ERR_MAP(HS_LG_ERR_ENUM)
#undef HS_LG_ERR_ENUM
        HS_LG_ERR_N
} hs_lg_err_t;

/* X-Cache values of edge answers; HIT counts every value starting "HIT". */
#define HS_LG_XC_MAP(X)                                                                            \
    X(HIT, "HIT")                                                                                  \
    X(MISS, "MISS")                                                                                \
    X(STALE, "STALE")                                                                              \
    X(EXPIRED, "EXPIRED")                                                                          \
    X(PASS, "PASS")                                                                                \
    X(REVALIDATED, "REVALIDATED")                                                                  \
    X(OTHER, "other")                                                                              \
    X(NONE, "none")

typedef enum hs_lg_xc {
#define HS_LG_XC_ENUM(name, label) HS_LG_XC_##name,
    HS_LG_XC_MAP(HS_LG_XC_ENUM)
#undef HS_LG_XC_ENUM
        HS_LG_XC_N
} hs_lg_xc_t;

typedef struct hs_lg_counts {
    uint64_t sent;      /* requests started */
    uint64_t responses; /* complete answers (any status): the latency samples */
    uint64_t gets, puts;
    uint64_t status[6]; /* by class, [1] = 1xx .. [5] = 5xx; [0] other */
    uint64_t errors[HS_LG_ERR_N];
    uint64_t xcache[HS_LG_XC_N];
    uint64_t bytes_in, bytes_out; /* body bytes received / sent */
} hs_lg_counts_t;

#endif
