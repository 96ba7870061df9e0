/*
 * HTTP/1.1 client with per-upstream pools of keep-alive connections, for
 * the edge, the balancer and the load generator to reach origins. One
 * client per worker thread, on that thread's loop (not thread-safe).
 *
 * An upstream is named "host:port" with a numeric host ("10.0.0.7:80",
 * "[::1]:8080") or "localhost"; names are never resolved through DNS on
 * the loop. Each upstream keeps its own pool. A call sends one request on
 * one connection (no pipelining), streams the response to the caller's
 * callbacks, then returns the connection to the pool when both directions
 * are complete and the exchange allowed persistence (RFC 9112 9.3).
 *
 * Failures reach on_done as: HS_ECONNREFUSED, HS_ETIMEDOUT (connect or
 * read), HS_EBADMSG (malformed response; the connection is dropped),
 * HS_ECONNRESET (upstream closed or reset mid-exchange), HS_ECANCELED, or
 * another negative errno-style code from the socket layer.
 */
#ifndef HS_HTTP_CLIENT_H
#define HS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop-t.h"
#include "http/client-t.h"

/* Creates a client on `loop`; o may be NULL for defaults. Returns NULL on
 * out-of-memory. */
hs_http_client_t *hs_http_client_new(hs_loop_t *loop, const hs_http_client_opts_t *o);

/* Closes every connection; calls still running get on_done(HS_ECANCELED)
 * (or the error they already failed with) before this returns. Must not be
 * called from inside one of this client's callbacks. */
void hs_http_client_free(hs_http_client_t *c);

/*
 * Starts a request to `upstream` ("host:port"). cbs is copied; ctx is
 * passed back to every callback. *out (if not NULL) gets the call handle,
 * valid until on_done returns.
 * Returns 0: on_done will run exactly once, never from inside this
 * function (a failure found here is delivered from a 0 ms timer).
 * Returns < 0: no call was made and no callback will run: HS_EINVAL (bad
 * upstream name, bad method/target/header bytes, framing headers in
 * req->headers), HS_ELIMIT (the upstream's wait queue is full),
 * HS_ENOTSUP (CONNECT: tunnels are not pooled exchanges), HS_ENOMEM,
 * HS_ECANCELED (the client is being freed).
 */
int hs_http_client_request(hs_http_client_t *c, const char *upstream,
                           const hs_http_client_req_t *req, const hs_http_client_cbs_t *cbs,
                           void *ctx, hs_http_call_t **out);

/*
 * STREAM bodies: queues len bytes (copied; chunk-framed when the length is
 * unknown). Returns 0, 1 when the queue is above its high mark (wait for
 * on_writable before writing more), HS_EINVAL (not a STREAM call, already
 * finished, or past the declared length) or HS_ECANCELED (the call has
 * already failed; on_done is coming).
 */
int hs_http_call_write(hs_http_call_t *call, const void *data, size_t len);
/* Ends a STREAM body. Returns 0, HS_EINVAL (fewer bytes than declared, or
 * already finished) or HS_ECANCELED. */
int hs_http_call_finish(hs_http_call_t *call);

/* Stops (true) or resumes (false) reading the response: back-pressure for a
 * caller whose own consumer is slow. The read timeout does not run while
 * paused. Resuming delivers buffered bytes from the loop, not from here. */
void hs_http_call_pause(hs_http_call_t *call, bool pause);

/* Abandons the call: its connection is closed (a completed response would
 * already have returned it to the pool). on_done(HS_ECANCELED) runs before
 * this returns (with the earlier error instead if the call had already
 * failed and was waiting to report it), or right after the current
 * callback of this call returns when called from inside one; from inside
 * on_done it does nothing. */
void hs_http_call_cancel(hs_http_call_t *call);

/* Open connections (connecting, busy and idle) over all upstreams, and the
 * idle ones among them; for tests and admin endpoints. */
unsigned hs_http_client_connections(const hs_http_client_t *c);
unsigned hs_http_client_idle(const hs_http_client_t *c);

#endif
