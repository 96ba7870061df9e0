/*
 * The edge's caching reverse proxy handler: answers from the memory tier
 * when RFC 9111 allows it, fetches misses from the origin through the
 * pooled HTTP client (one origin request per key for concurrent misses,
 * streamed to every waiter), revalidates stale objects with conditional
 * requests, and passes everything else through. One handler per worker
 * thread (its tier and client belong to that thread's loop). A PURGE
 * request (token-protected) purges every thread's tier of the process.
 */
#ifndef HS_EDGE_PROXY_H
#define HS_EDGE_PROXY_H

#include <stdint.h>

#include "balance/balance-t.h"
#include "http/client-t.h"
#include "http/server.h"

typedef struct hs_edge_opts {
    const char *origin;      /* origins: comma-separated http://HOST:PORT[;weight=N]
                              * (numeric host or localhost); unused with pool */
    const char *fallback;    /* fallback origins, same form; NULL/"" = none */
    hs_balance_pool_t *pool; /* shared by every thread's handler (a reference is
                              * taken); NULL = a pool of this handler's own */
    const char *origin_host; /* Host sent to the origin; NULL/"" = the client's */
    uint64_t memory_bytes;   /* memory tier budget */
    uint64_t object_max;     /* largest body stored */
    int64_t heuristic_max_s; /* cap on heuristic freshness, seconds */
    uint64_t pass_ttl_ms;    /* hit-for-miss marker lifetime */
    const char *targeted;    /* comma-separated targeted field names (RFC 9213) */
    const char *purge_token; /* PURGE requests must carry it; NULL/"" = PURGE disabled */
    const char *disk_path;   /* disk tier root (a directory per thread under it); NULL/"" = off */
    uint64_t disk_bytes;     /* disk tier budget per thread */
    hs_http_client_opts_t client;
} hs_edge_opts_t;

/* A handler for one worker thread. Misses go to an origin the balancer
 * picks; a GET/HEAD whose try failed before any byte reached a client is
 * retried on another origin under the pool's retry budget. Returns NULL
 * with *err set on failure (HS_EINVAL for a bad origin, HS_ENOMEM). opts
 * is copied. */
hs_http_handler_t *hs_edge_proxy_new(const hs_edge_opts_t *opts, int *err);

/* Frees the handler: in-flight origin calls are canceled. Runs after the
 * handler's server is gone and its loop has stopped (any thread). */
void hs_edge_proxy_free(hs_http_handler_t *h);

/*
 * Parses "http://HOST:PORT[/]" (or "HOST:PORT") into the client's upstream
 * name in out[0..cap). Returns 0, or HS_EINVAL (https, a path, a missing
 * port, a name that would need DNS).
 */
int hs_edge_parse_origin(const char *url, char *out, size_t cap);

#endif
