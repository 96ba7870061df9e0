/* Cache policy types (see policy.h). */
#ifndef HS_EDGE_POLICY_T_H
#define HS_EDGE_POLICY_T_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/str-t.h"

/* Directives without an argument (and max-stale without one). */
enum hs_cc_flag {
    HS_CC_NO_STORE = 1u << 0,
    HS_CC_NO_CACHE = 1u << 1,  /* unqualified, or qualified (see no_cache_fields) */
    HS_CC_PRIVATE = 1u << 2,   /* unqualified only; qualified: private_fields */
    HS_CC_PUBLIC = 1u << 3,
    HS_CC_MUST_REVALIDATE = 1u << 4,
    HS_CC_PROXY_REVALIDATE = 1u << 5,
    HS_CC_IMMUTABLE = 1u << 6,
    HS_CC_ONLY_IF_CACHED = 1u << 7,
    HS_CC_NO_TRANSFORM = 1u << 8,
    HS_CC_MUST_UNDERSTAND = 1u << 9,
    HS_CC_MAX_STALE_ANY = 1u << 10, /* max-stale without a value */
    HS_CC_MALFORMED = 1u << 11,     /* something was skipped while parsing */
};

/* Parsed Cache-Control (or targeted field) directives. Seconds are
 * delta-seconds clamped to 2^31 (RFC 9111 1.2.2); -1 means absent. */
typedef struct hs_cc {
    uint32_t flags;
    int64_t max_age, s_maxage, max_stale, min_fresh;
    int64_t swr, sie; /* stale-while-revalidate, stale-if-error (RFC 5861) */
    /* Field names of qualified no-cache="..." / private="..." (the text
     * inside the quotes of the last occurrence, pointing into the parsed
     * value); empty when absent. */
    hs_str_t no_cache_fields, private_fields;
} hs_cc_t;

/* What a response says about caching, extracted once from its head. */
typedef struct hs_edge_resp_info {
    int status;
    hs_cc_t cc;    /* the targeted field's directives if one applied, else Cache-Control */
    bool targeted; /* cc came from a targeted field (Cache-Control and Expires ignored) */
    bool has_cc;   /* any directive source was present */
    bool has_expires, expires_valid;
    time_t expires;
    bool has_date;
    time_t date;
    bool has_last_modified;
    time_t last_modified;
    bool has_etag;
    int64_t age; /* Age field in seconds, -1 absent or invalid */
    bool vary_star;
    bool set_cookie;
} hs_edge_resp_info_t;

/* Why a response is or is not stored (RFC 9111 section 3). */
typedef enum hs_edge_store {
    HS_EDGE_STORE = 0,
    HS_EDGE_NOSTORE_METHOD,     /* only GET responses are stored */
    HS_EDGE_NOSTORE_STATUS,     /* 1xx, 206, 304, or a status we do not understand */
    HS_EDGE_NOSTORE_NO_STORE,   /* no-store in the response or the request */
    HS_EDGE_NOSTORE_PRIVATE,    /* unqualified private */
    HS_EDGE_NOSTORE_AUTH,       /* request had Authorization, response did not allow sharing */
    HS_EDGE_NOSTORE_NO_FRESHNESS, /* nothing makes it reusable (no explicit or heuristic freshness) */
    HS_EDGE_NOSTORE_VARY_STAR,  /* Vary: * */
    HS_EDGE_NOSTORE_SET_COOKIE, /* a per-user cookie: never shared */
    HS_EDGE_NOSTORE_MUST_UNDERSTAND, /* must-understand with a status we do not know */
} hs_edge_store_t;

/* Flags of a stored response (hs_edge_meta_t.flags). */
enum hs_edge_meta_flag {
    HS_EDGE_M_NO_CACHE = 1u << 0,       /* validate before every reuse */
    HS_EDGE_M_MUST_REVALIDATE = 1u << 1, /* must-/proxy-revalidate or s-maxage: never serve stale */
    HS_EDGE_M_IMMUTABLE = 1u << 2,
    HS_EDGE_M_AUTH_OK = 1u << 3, /* may answer requests that carry Authorization */
    HS_EDGE_M_HEURISTIC = 1u << 4,
};

/* Freshness state of a stored response, computed at store time. Times are
 * wall-clock seconds. */
typedef struct hs_edge_meta {
    int64_t response_time;
    int64_t initial_age; /* corrected_initial_age (RFC 9111 4.2.3) */
    int64_t lifetime;    /* freshness_lifetime (RFC 9111 4.2.1) */
    int64_t swr, sie;    /* seconds, -1 absent */
    uint32_t flags;
} hs_edge_meta_t;

/* How a stored response may answer a request (RFC 9111 section 4). */
typedef enum hs_edge_use {
    HS_EDGE_USE_FRESH = 0,  /* reuse as is */
    HS_EDGE_USE_STALE,      /* reuse stale: allowed by max-stale or stale-while-revalidate */
    HS_EDGE_USE_VALIDATE,   /* send a conditional request first */
} hs_edge_use_t;

#endif
