/*
 * HTTP/1.1 server connections on an event loop. A server owns one
 * listening socket (SO_REUSEPORT, one per worker thread) and hands each
 * parsed request to a handler through the hs_http_handler_t vtable. The
 * engine owns framing: keep-alive, pipelining (responses in order),
 * Content-Length vs chunked vs close-delimited bodies, HEAD, 100-continue,
 * timeouts, limits, and every protocol error answer.
 */
#ifndef HS_HTTP_SERVER_H
#define HS_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/arena-t.h"
#include "core/loop-t.h"
#include "http/msg-t.h"
#include "http/oq-t.h"

typedef struct hs_http_server hs_http_server_t;
typedef struct hs_http_req hs_http_req_t;
typedef struct hs_http_handler hs_http_handler_t;

/* A handler answers requests. on_request runs on the loop thread once a
 * request head is complete; the handler must end the response exactly once
 * (hs_http_resp_end or hs_http_respond_*), now or later. */
struct hs_http_handler {
    void (*on_request)(hs_http_handler_t *self, hs_http_req_t *req);
    /* Optional: the client went away before the response ended. The
     * handler must still end the response (writes are then dropped). */
    void (*on_abort)(hs_http_handler_t *self, hs_http_req_t *req);
    /* Optional: the response queue drained below its low-water mark after
     * hs_http_resp_congested() said true (resume producing). */
    void (*on_drain)(hs_http_handler_t *self, hs_http_req_t *req);
};

/* Body callback: status 0 = data (more may follow), 1 = end of body (len 0),
 * negative = error (HS_ETIMEDOUT, HS_EBADMSG, HS_E2BIG, HS_ECONNRESET). data
 * is only valid during the call. */
typedef void (*hs_http_body_cb)(hs_http_req_t *req, const char *data, size_t len, int status);

struct hs_http_req {
    hs_http_msg_t msg;
    hs_loop_t *loop;
    void *data;       /* the handler's */
    hs_arena_t arena; /* per-request memory, released when the response ends */
    uint64_t start_ms;
    unsigned conn_id; /* for logs */
};

/* How a gate refuses a connection or a request. */
typedef struct hs_http_refusal {
    int status;           /* 403, 429, 503... */
    uint32_t retry_after; /* seconds, sent as Retry-After; 0 = no field */
    bool close;           /* close the connection after this answer */
    const char *reason;   /* static text for the body "<status> <reason>: <text>" */
} hs_http_refusal_t;

/* Optional admission control in front of the handler (src/shield). Hooks
 * run on the connection's loop thread; one gate may serve the servers of
 * every thread at once. Any hook may be NULL. */
typedef struct hs_http_gate hs_http_gate_t;
struct hs_http_gate {
    /* A connection from peer was accepted. true: serve it (on_close will
     * follow); false: *r is answered at once with Connection: close. */
    bool (*on_accept)(hs_http_gate_t *self, const struct sockaddr_storage *peer,
                      hs_http_refusal_t *r);
    /* A request head is complete. true: the handler gets it; false: *r is
     * answered instead (the connection stays open unless r->close). */
    bool (*on_request)(hs_http_gate_t *self, hs_http_req_t *req, hs_http_refusal_t *r);
    /* A connection on_accept let in is closed. */
    void (*on_close)(hs_http_gate_t *self, const struct sockaddr_storage *peer);
};

typedef struct hs_http_server_opts {
    const char *listen; /* "host:port" */
    hs_http_handler_t *handler;
    hs_http_gate_t *gate; /* NULL = none */
    uint32_t max_head_bytes;
    uint32_t max_headers;
    uint64_t max_body_bytes;
    uint64_t header_timeout_ms, body_timeout_ms, idle_timeout_ms, send_timeout_ms;
    uint32_t max_connections;
    uint32_t max_requests_per_conn; /* 0 = unlimited */
    int listen_fd;                  /* >= 0: use this socket instead of binding */
} hs_http_server_opts_t;

/* Binds (SO_REUSEPORT) and starts accepting on `loop`. Returns 0 or a
 * negative HS_E* code (e.g. HS_EADDRINUSE-like errno codes) and sets *out. */
int hs_http_server_start(hs_loop_t *loop, const hs_http_server_opts_t *opts,
                         hs_http_server_t **out);

/* Stops accepting, closes idle connections, lets in-flight responses finish
 * with Connection: close. on_drained(arg) runs (on the loop) when the last
 * connection is gone; hs_http_server_free then releases the server. */
void hs_http_server_drain(hs_http_server_t *srv, void (*on_drained)(void *), void *arg);
/* Closes every connection at once (after a drain timeout). */
void hs_http_server_close_all(hs_http_server_t *srv);
void hs_http_server_free(hs_http_server_t *srv);

/* Open connections of this server. */
unsigned hs_http_server_connections(const hs_http_server_t *srv);
/* The bound port (useful with port 0). */
int hs_http_server_port(const hs_http_server_t *srv);

/* Parses "host:port", "[v6]:port" or ":port" and binds a listening TCP
 * socket with SO_REUSEPORT. Returns the fd or a negative HS_E* code. */
int hs_http_listen(const char *addr, int backlog);

/* ---- responding ---- */

/* Starts the response. content_length < 0: unknown (chunked for HTTP/1.1
 * clients, close-delimited for HTTP/1.0). */
void hs_http_resp_start(hs_http_req_t *req, int status, int64_t content_length);
/* Adds a header field (after start, before the first body byte). */
void hs_http_resp_header(hs_http_req_t *req, const char *name, size_t name_len,
                         const char *value, size_t value_len);
#define HS_HTTP_HEADER_LIT(req, name, value)                                   \
    hs_http_resp_header((req), (name), sizeof(name) - 1, (value), sizeof(value) - 1)
/* Adds pre-formatted header lines, each ending in CRLF. */
void hs_http_resp_header_raw(hs_http_req_t *req, const char *lines, size_t len);
/* Queues body bytes (copied). Dropped for HEAD. */
void hs_http_resp_body(hs_http_req_t *req, const void *data, size_t len);
/* Queues body bytes by reference; release(ref) runs when sent or dropped. */
void hs_http_resp_body_ref(hs_http_req_t *req, const void *data, size_t len,
                           hs_oq_release_cb release, void *ref);
/* Queues a file range sent with sendfile; release(ref) as above. */
void hs_http_resp_body_file(hs_http_req_t *req, int fd, off_t off, size_t len,
                            hs_oq_release_cb release, void *ref);
/* Ends the response; the request object is invalid afterwards. */
void hs_http_resp_end(hs_http_req_t *req);
/* Whole plain-text response "<status> <reason>[: detail]\n". */
void hs_http_respond_text(hs_http_req_t *req, int status, const char *detail);
/* Marks the connection to close after this response. */
void hs_http_resp_close(hs_http_req_t *req);
/* True when more than HS_HTTP_OUT_HIGH_WATER bytes wait for the client:
 * a producer should pause until the handler's on_drain. */
bool hs_http_resp_congested(hs_http_req_t *req);
#define HS_HTTP_OUT_HIGH_WATER (256 * 1024)
#define HS_HTTP_OUT_LOW_WATER (64 * 1024)

/* The client's address (for limits and logs). Never NULL; family AF_UNSPEC
 * when unknown. */
const struct sockaddr_storage *hs_http_req_peer(const hs_http_req_t *req);

/* True if the response is for a HEAD request (no body will be sent). */
bool hs_http_req_is_head(const hs_http_req_t *req);

/* ---- request bodies ---- */

/* Delivers the request body to cb (sending 100 Continue first when the
 * client asked for it). Without this call the engine discards the body. */
void hs_http_req_read_body(hs_http_req_t *req, hs_http_body_cb cb);

/* Stops (true) or resumes (false) delivery of body bytes, and the end of
 * the body, to the body callback: back-pressure for a handler whose sink
 * (a disk writer on the I/O pool) is behind. The body timeout does not run
 * while paused. Resuming may call the body callback before returning. */
void hs_http_req_pause_body(hs_http_req_t *req, bool pause);
/* The cached IMF-fixdate for this thread's current second. */
const char *hs_http_date_now(hs_loop_t *loop);

#endif
