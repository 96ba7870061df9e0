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
#include "core/loop-t.h"
#include "edge/mem-t.h"
#include "http/client-t.h"
#include "http/msg-t.h"
#include "http/server.h"

typedef struct hs_edge_opts {
    const char *origin;      /* origins: comma-separated http://HOST:PORT[;weight=N]
                              * (numeric host or localhost); unused with pool */
    const char *fallback;    /* fallback origins, same form; NULL/"" = none */
    hs_balance_pool_t *pool; /* shared by every thread's handler (a reference is
                              * taken); NULL = a pool of this handler's own */
    bool solo;               /* the only worker thread: cold misses skip the
                              * cross-thread registry (and its copy of the body) */
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

/* Most keys, prefixes or surrogate keys one purge names. */
#define HS_EDGE_PURGE_MAX_ARGS 16

/* How many objects a purge removed (or marked stale) from memory and disk. */
typedef void (*hs_edge_purge_done_fn)(void *arg, unsigned purged, unsigned purged_disk);

/*
 * Purges every worker thread's tiers in this process (each on its own
 * loop): args[0..nargs) are primary keys ("host /path?query", host
 * lower-cased), key prefixes or surrogate keys, by kind (see
 * hs_edge_mem_purge; copied). soft marks stale instead of removing.
 * done(arg, ...) runs on `home` once every thread is done, never before
 * this returns. Returns 0, HS_EINVAL (no args, more than
 * HS_EDGE_PURGE_MAX_ARGS) or HS_ENOMEM (done will not run).
 */
int hs_edge_purge(hs_loop_t *home, hs_edge_purge_kind_t kind, const hs_str_t *args, size_t nargs,
                  bool soft, hs_edge_purge_done_fn done, void *arg);

/* An HTTP answer: status and body[0..len) (JSON). */
typedef void (*hs_edge_purge_answer_fn)(void *arg, int status, const char *body, size_t len);

/*
 * The admin endpoint's POST /admin/purge, from request m (read only during
 * the call): token in "Authorization: Bearer T" or Purge-Token; query
 * url=/path?q or url=http://host/path?q (percent-encoded; a path needs
 * host=), prefix= (same forms), tag= (comma- or space-separated), each
 * repeatable, one kind per request, and soft=1. answer(arg, ...) gets 200
 * {"purged":N,"purged_disk":M,"soft":B} on `home` when every thread is
 * done, or at once 404 (token empty: purging is off), 401 (bad token), 405
 * (not POST), 400 (bad or empty query) or 503, with {"error":"..."}.
 */
void hs_edge_purge_admin(const char *token, const hs_http_msg_t *m, hs_loop_t *home,
                         hs_edge_purge_answer_fn answer, void *arg);

#endif
