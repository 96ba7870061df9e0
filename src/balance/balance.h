/*
 * The balancer: a pool of backends ("host:port", weight, primary or
 * fallback) shared by every worker thread of a process, and a per-thread
 * view of it through which requests pick backends and report outcomes.
 *
 * Shared state (health, ejection, consecutive-failure counts, slow start)
 * lives in the pool as atomics, written rarely. Latency estimates
 * (peak-EWMA), in-flight counts, round-robin positions and the retry
 * budget are per view: the hot path touches only its own thread's memory.
 * An optional control thread (hs_balance_pool_start) runs the active
 * health checks, the success-rate sweep and the metrics gauges.
 * docs/balance.md explains the choices.
 *
 * Tiers: picks go to available primaries (healthy and not ejected); to
 * fallbacks only when no primary is available (or every primary already
 * failed this request); when nothing is available, to any backend not yet
 * tried (a stale health view must not turn into a total outage).
 */
#ifndef HS_BALANCE_BALANCE_H
#define HS_BALANCE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance/balance-t.h"
#include "core/buf-t.h"
#include "http/msg-t.h"

/* The algorithms: power of two choices over peak-EWMA x (in-flight + 1)
 * (the default), Maglev consistent hashing of the request's key hash,
 * smooth weighted round robin, least outstanding requests. */
extern const hs_balance_algo_t hs_balance_p2c, hs_balance_maglev, hs_balance_round_robin,
    hs_balance_least_request;

/* "p2c", "maglev", "round_robin", "least_request" -> algorithm; NULL if
 * unknown. */
const hs_balance_algo_t *hs_balance_algo_by_name(const char *name);

/*
 * Parses one backend: "http://HOST:PORT[/][;weight=N]" or
 * "HOST:PORT[;weight=N]" (len bytes, not NUL-terminated) into name
 * (NUL-terminated, at most cap bytes with the NUL) and *weight
 * (HS_BALANCE_DEFAULT_WEIGHT when absent). HOST is numeric IPv4, a
 * bracketed IPv6 literal or "localhost": names are never resolved on a
 * loop. Returns 0 or HS_EINVAL (https, a path, no port, a weight outside
 * 1..65535, a name that would need DNS, too long).
 */
int hs_balance_parse_backend(const char *spec, size_t len, char *name, size_t cap,
                             unsigned *weight);

/*
 * Checks a comma-separated list of backends (spaces around items allowed).
 * Returns the number of backends (0 for an empty list), or HS_EINVAL with
 * the offending item copied into bad[0..badcap) (if badcap > 0), or
 * HS_ELIMIT past HS_BALANCE_MAX_BACKENDS.
 */
int hs_balance_check_list(const char *list, char *bad, size_t badcap);

/*
 * Makes a pool of n backends (names are copied; duplicates are
 * HS_EINVAL). o may be NULL for defaults. Returns NULL with *err set:
 * HS_EINVAL (no primary, a bad name or weight, too many backends),
 * HS_ENOMEM. The caller holds one reference.
 */
hs_balance_pool_t *hs_balance_pool_new(const hs_balance_opts_t *o,
                                       const hs_balance_backend_spec_t *b, unsigned n, int *err);

/* The same from comma-separated lists (see hs_balance_parse_backend);
 * fallbacks may be NULL or "". */
hs_balance_pool_t *hs_balance_pool_new_list(const hs_balance_opts_t *o, const char *primaries,
                                            const char *fallbacks, int *err);

/* Starts the control thread (health checks, success-rate sweep, gauges).
 * Returns 0, or a negative HS_E* code. Call once, from any thread. */
int hs_balance_pool_start(hs_balance_pool_t *p);

/* Stops the control thread, if started; in-flight checks are canceled.
 * Idempotent. */
void hs_balance_pool_stop(hs_balance_pool_t *p);

/* Takes / drops a reference; the last drop frees the pool (stopping its
 * control thread). Views hold their own reference. */
void hs_balance_pool_ref(hs_balance_pool_t *p);
void hs_balance_pool_release(hs_balance_pool_t *p);

/* Options in effect (defaults filled in). */
const hs_balance_opts_t *hs_balance_pool_opts(const hs_balance_pool_t *p);
unsigned hs_balance_pool_size(const hs_balance_pool_t *p);
/* Backend i's "host:port" (i < size). */
const char *hs_balance_backend_name(const hs_balance_pool_t *p, unsigned i);
/* Backend i may receive traffic now: healthy and not ejected. */
bool hs_balance_backend_available(hs_balance_pool_t *p, unsigned i);
/* Effective weight of backend i now (slow start applied). */
double hs_balance_backend_weight(hs_balance_pool_t *p, unsigned i);

/* Sets backend i's health as a checker would (for tests and for callers
 * with their own checks); a change to healthy starts its slow start. */
void hs_balance_backend_set_healthy(hs_balance_pool_t *p, unsigned i, bool healthy);

/*
 * Appends the pool's state as one JSON object to out: options, and per
 * backend its health, ejection, effective weight, in-flight requests and
 * latency estimate over every view. Any thread. Returns 0 or HS_ENOMEM.
 */
int hs_balance_pool_json(hs_balance_pool_t *p, hs_buf_t *out);

/* A view of p for the calling thread (not thread-safe: one thread uses
 * it). Returns NULL on out-of-memory. */
hs_balance_view_t *hs_balance_view_new(hs_balance_pool_t *p);
/* Frees the view (its counts are kept by the pool). */
void hs_balance_view_free(hs_balance_view_t *v);

static inline void hs_balance_req_init(hs_balance_req_t *r)
{
    r->backend = -1;
    r->tries = 0;
    r->start_ns = 0;
    r->conc = 0;
}

/*
 * Picks a backend for r (one it has not tried yet), counts it in flight
 * and starts the try's clock. hash is the request's key hash (Maglev;
 * others ignore it). Returns the backend index, or HS_ENOENT when every
 * backend has been tried, HS_ELIMIT after HS_BALANCE_MAX_TRIES picks, or
 * HS_EBUSY while r's previous try has not been reported done.
 */
int hs_balance_pick(hs_balance_view_t *v, hs_balance_req_t *r, uint64_t hash);

/*
 * Ends r's current try. result: the response status (100..599), or a
 * negative HS_E* code: HS_ECONNREFUSED, HS_ECONNRESET, HS_ETIMEDOUT,
 * HS_EBADMSG... count as gateway failures; HS_ECANCELED (the caller gave
 * up) counts as nothing. latency_ns: the sample for the latency estimate
 * (time to the response head, say); 0 = now minus the try's start.
 * Updates the estimate, the failure counts, and may eject the backend.
 */
void hs_balance_done(hs_balance_view_t *v, hs_balance_req_t *r, int result, uint64_t latency_ns);

/* A method whose request may be sent again: GET, HEAD, OPTIONS, TRACE,
 * PUT, DELETE, when it has no body or the caller still holds all of it. */
bool hs_balance_idempotent(hs_http_method_t m, bool body_held_or_none);

/*
 * After hs_balance_done(r, result): may r be retried on another backend?
 * True when result is a gateway failure or 502/503/504, r has retries
 * left, another backend can be picked, and the retry budget allows one
 * (which this call then spends). The caller checks idempotency and that
 * nothing of the response reached its client. Counts retries and
 * budget refusals.
 */
bool hs_balance_retry(hs_balance_view_t *v, hs_balance_req_t *r, int result);

#endif
