/*
 * HTTP/1.1 client connections and their per-upstream pools.
 *
 * A call owns the bytes it sends (its formatted head, its body by
 * reference or copied stream chunks) in its own output queue, so it can
 * wait in a queue, be re-sent on a fresh connection, or hold its body back
 * for 100-continue without the connection knowing. A connection owns its
 * input buffer only while it carries a call; idle pooled connections cost
 * their struct and an fd, and are watched for readability so that a close
 * by the upstream evicts them at once.
 *
 * Lifetimes: user callbacks may cancel the call or start other requests.
 * A connection being serviced (conn->in_io) is only marked closed and
 * freed when its event handler unwinds; a call whose callback is running
 * (call->in_cb) has its on_done delivered when that callback returns.
 */
#include "http/client.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/str.h"
#include "http/chars.h"
#include "http/oq.h"
#include "http/parse.h"

#define OUT_HIGH (256 * 1024) /* stream writes past this ask the caller to wait */
#define OUT_LOW (64 * 1024)   /* ... and on_writable fires below this */
#define CONTINUE_WAIT_MS 1000 /* RFC 9110 10.1.1: do not wait forever for 100 */
#define IN_BODY_ROOM 32768    /* input buffer room beyond the largest head */
#define DISCARD_READ 4096     /* read size of a discarding call (see conn_read) */
#define FREE_IN_MAX 64
#define UP_NAME_MAX 300

enum conn_state { C_CONNECTING, C_BUSY, C_IDLE };

typedef struct upstream upstream_t;
typedef struct conn conn_t;

struct conn {
    hs_io_t io;       /* first: conn_io casts back */
    hs_timer_t timer; /* connect, read or idle timeout by state */
    hs_http_client_t *cl;
    upstream_t *up;
    conn_t *prev, *next;  /* upstream's idle list */
    hs_http_call_t *call; /* CONNECTING / BUSY */
    char *in;             /* cl->in_cap bytes while BUSY */
    size_t in_off, in_len;
    unsigned nreq; /* exchanges completed on this connection */
    unsigned char state;
    unsigned closed : 1;
    unsigned in_io : 1;
};

struct upstream {
    upstream_t *hnext;
    uint32_t hash;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    conn_t *idle; /* most recently used first: its peer state is warmest */
    unsigned nidle, nconns, ncalls, nqueued;
    hs_http_call_t *qhead, *qtail;
    char name[];
};

struct hs_http_call {
    hs_http_client_t *cl;
    upstream_t *up;
    conn_t *conn;
    hs_http_call_t *qnext;       /* upstream wait queue */
    hs_http_call_t *prev, *next; /* client's live calls */
    hs_http_client_cbs_t cbs;
    void *ctx;
    hs_timer_t defer; /* 0 ms: deliver a failure found synchronously, or resume */
    hs_timer_t cont;  /* 100-continue wait */
    hs_oq_t out;      /* bytes to send */
    hs_oq_t held;     /* body held back until 100 Continue */
    char *head;
    size_t head_len;
    const void *body;
    size_t body_len;
    uint64_t stream_left; /* known-length STREAM: bytes still owed */
    hs_http_chunked_t chunked;
    uint64_t body_left;
    uint64_t start_ns;
    int final;
    unsigned in_cb;
    hs_http_method_t method;
    unsigned char body_kind;
    unsigned char framing;
    unsigned stream_chunked : 1;
    unsigned stream_finished : 1;
    unsigned body_dropped : 1; /* final status came before the held body: never send it */
    unsigned expect : 1;       /* request asked for 100-continue */
    unsigned expect_wait : 1;  /* body held until 100 / final status / timer */
    unsigned req_sent : 1;
    unsigned req_close : 1; /* we sent Connection: close */
    unsigned send_failed : 1;
    unsigned connected : 1;
    unsigned reused : 1; /* current connection carried earlier exchanges */
    unsigned rx_any : 1; /* a response byte arrived on the current connection */
    unsigned retried : 1;
    unsigned head_done : 1;
    unsigned resp_keep : 1;
    unsigned no_reuse : 1;
    unsigned paused : 1;
    unsigned queued : 1;
    unsigned want_writable : 1;
    unsigned done : 1;    /* final status decided; on_done pending or running */
    unsigned discard : 1; /* req.discard_body */
};

struct hs_http_client {
    hs_loop_t *loop;
    hs_http_client_opts_t o;
    upstream_t **ups;
    unsigned ups_cap, nups;
    hs_http_call_t *calls;
    hs_http_header_t *hdrs; /* parse scratch, used only within one parse + on_head */
    char *free_in;
    unsigned free_in_n;
    size_t in_cap;
    unsigned nconns, nidle;
    unsigned cb_depth;
    bool closing;
};

/* ---- metrics ---- */

enum { E_REFUSED, E_CONNECT_TIMEOUT, E_READ_TIMEOUT, E_BADMSG, E_RESET, E_CANCELED, E_OTHER, E_N };

static hs_counter_t *m_requests, *m_opened, *m_reused, *m_retries, *m_errors[E_N];
static hs_gauge_t *m_conns;
static hs_histogram_t *m_seconds;

static void metrics_init(void)
{
    static const char *const kinds[E_N] = {"kind=\"refused\"",      "kind=\"connect_timeout\"",
                                           "kind=\"read_timeout\"", "kind=\"bad_response\"",
                                           "kind=\"reset\"",        "kind=\"canceled\"",
                                           "kind=\"other\""};
    if (m_seconds) return;
    m_requests = hs_counter("hs_upstream_requests_total", NULL, "requests sent to upstreams");
    m_opened =
        hs_counter("hs_upstream_connections_opened_total", NULL, "upstream connections opened");
    m_reused = hs_counter("hs_upstream_connections_reused_total", NULL,
                          "requests sent on a pooled keep-alive connection");
    m_retries = hs_counter("hs_upstream_retries_total", NULL,
                           "requests re-sent after a stale pooled connection failed");
    for (int i = 0; i < E_N; i++)
        m_errors[i] = hs_counter("hs_upstream_errors_total", kinds[i],
                                 "upstream requests that failed, by kind");
    m_conns = hs_gauge("hs_upstream_connections", NULL, "open upstream connections");
    m_seconds = hs_histogram("hs_upstream_response_seconds", NULL,
                             "time from request start to the end of the response");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- forward declarations ---- */

static void conn_io(hs_loop_t *loop, hs_io_t *io, unsigned events);
static void conn_timer_cb(hs_loop_t *loop, hs_timer_t *t);
static void conn_close(conn_t *c);
static void conn_attach(conn_t *c, hs_http_call_t *call);
static void conn_update_io(conn_t *c);
static void conn_process(conn_t *c);
static void call_fail(hs_http_call_t *call, int status);
static void call_fail_later(hs_http_call_t *call, int status);
static void call_flush(hs_http_call_t *call, bool notify);
static void defer_cb(hs_loop_t *loop, hs_timer_t *t);
static void cont_cb(hs_loop_t *loop, hs_timer_t *t);

/* ---- upstreams ---- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* "a.b.c.d:port", "[v6]:port" or "localhost:port"; numeric only. */
static int parse_upstream(const char *name, size_t len, struct sockaddr_storage *ss, socklen_t *sl)
{
    const char *colon = memrchr(name, ':', len);
    if (!colon || colon == name) return HS_EINVAL;
    const char *p = colon + 1, *end = name + len;
    if (p == end || end - p > 5) return HS_EINVAL;
    unsigned port = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return HS_EINVAL;
        port = port * 10 + (unsigned)(*p - '0');
    }
    if (port == 0 || port > 65535) return HS_EINVAL;
    char host[64];
    size_t hl = (size_t)(colon - name);
    memset(ss, 0, sizeof(*ss));
    if (name[0] == '[') {
        if (hl < 3 || name[hl - 1] != ']' || hl - 2 >= sizeof(host)) return HS_EINVAL;
        memcpy(host, name + 1, hl - 2);
        host[hl - 2] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) return HS_EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*s6);
        return 0;
    }
    if (hl >= sizeof(host)) return HS_EINVAL;
    memcpy(host, name, hl);
    host[hl] = '\0';
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    if (strcmp(host, "localhost") == 0)
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return HS_EINVAL; /* names would need DNS, which never runs on the loop */
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *sl = sizeof(*s4);
    return 0;
}

static int up_grow(hs_http_client_t *cl)
{
    unsigned cap = cl->ups_cap ? cl->ups_cap * 2 : 16;
    upstream_t **t = calloc(cap, sizeof(*t));
    if (!t) return HS_ENOMEM;
    for (unsigned i = 0; i < cl->ups_cap; i++) {
        upstream_t *u = cl->ups[i];
        while (u) {
            upstream_t *next = u->hnext;
            u->hnext = t[u->hash & (cap - 1)];
            t[u->hash & (cap - 1)] = u;
            u = next;
        }
    }
    free(cl->ups);
    cl->ups = t;
    cl->ups_cap = cap;
    return 0;
}

static int up_get(hs_http_client_t *cl, const char *name, upstream_t **out)
{
    size_t len = strlen(name);
    if (len == 0 || len > UP_NAME_MAX) return HS_EINVAL;
    uint32_t h = name_hash(name);
    if (cl->ups_cap) {
        for (upstream_t *u = cl->ups[h & (cl->ups_cap - 1)]; u; u = u->hnext)
            if (u->hash == h && strcmp(u->name, name) == 0) {
                *out = u;
                return 0;
            }
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = parse_upstream(name, len, &ss, &sl);
    if (rc < 0) return rc;
    if (cl->nups >= cl->ups_cap && (rc = up_grow(cl)) < 0) return rc;
    upstream_t *u = calloc(1, sizeof(*u) + len + 1);
    if (!u) return HS_ENOMEM;
    memcpy(u->name, name, len + 1);
    u->hash = h;
    u->addr = ss;
    u->addr_len = sl;
    u->hnext = cl->ups[h & (cl->ups_cap - 1)];
    cl->ups[h & (cl->ups_cap - 1)] = u;
    cl->nups++;
    *out = u;
    return 0;
}

static void up_unlink_free(hs_http_client_t *cl, upstream_t *up)
{
    upstream_t **pp = &cl->ups[up->hash & (cl->ups_cap - 1)];
    while (*pp != up)
        pp = &(*pp)->hnext;
    *pp = up->hnext;
    cl->nups--;
    free(up);
}

/* Upstreams live while they have connections or calls, so a proxy fed
 * many names keeps memory bounded by its live traffic. */
static void up_maybe_free(hs_http_client_t *cl, upstream_t *up)
{
    if (up->nconns == 0 && up->ncalls == 0) up_unlink_free(cl, up);
}

static void up_enqueue(upstream_t *up, hs_http_call_t *call)
{
    call->qnext = NULL;
    if (up->qtail)
        up->qtail->qnext = call;
    else
        up->qhead = call;
    up->qtail = call;
    up->nqueued++;
    call->queued = 1;
}

static hs_http_call_t *up_dequeue(upstream_t *up)
{
    hs_http_call_t *call = up->qhead;
    up->qhead = call->qnext;
    if (!up->qhead) up->qtail = NULL;
    up->nqueued--;
    call->queued = 0;
    call->qnext = NULL;
    return call;
}

static void up_unqueue(upstream_t *up, hs_http_call_t *call)
{
    hs_http_call_t **pp = &up->qhead, *prev = NULL;
    while (*pp != call) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    *pp = call->qnext;
    if (up->qtail == call) up->qtail = prev;
    up->nqueued--;
    call->queued = 0;
}

static conn_t *idle_pop(hs_http_client_t *cl, upstream_t *up)
{
    conn_t *c = up->idle;
    up->idle = c->next;
    if (c->next) c->next->prev = NULL;
    c->next = c->prev = NULL;
    up->nidle--;
    cl->nidle--;
    hs_timer_stop(cl->loop, &c->timer);
    return c;
}

/* ---- input buffers ---- */

static int in_get(conn_t *c)
{
    hs_http_client_t *cl = c->cl;
    if (!c->in) {
        if (cl->free_in) {
            c->in = cl->free_in;
            memcpy(&cl->free_in, c->in, sizeof(char *));
            cl->free_in_n--;
        } else if (!(c->in = malloc(cl->in_cap))) {
            return HS_ENOMEM;
        }
    }
    c->in_off = c->in_len = 0;
    return 0;
}

static void in_put(conn_t *c)
{
    hs_http_client_t *cl = c->cl;
    if (!c->in) return;
    if (cl->free_in_n < FREE_IN_MAX) {
        memcpy(c->in, &cl->free_in, sizeof(char *));
        cl->free_in = c->in;
        cl->free_in_n++;
    } else {
        free(c->in);
    }
    c->in = NULL;
    c->in_off = c->in_len = 0;
}

/* ---- connections ---- */

static int conn_open(upstream_t *up, hs_http_call_t *call)
{
    hs_http_client_t *cl = call->cl;
    int fd = socket(up->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return HS_ERR(errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&up->addr, up->addr_len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return HS_ERR(e);
    }
    conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return HS_ENOMEM;
    }
    c->cl = cl;
    c->up = up;
    c->state = C_CONNECTING;
    /* Writable means connected (or failed): SO_ERROR tells which. */
    int rc = hs_io_start(cl->loop, &c->io, fd, HS_IO_WRITE, conn_io);
    if (rc < 0) {
        close(fd);
        free(c);
        return rc;
    }
    up->nconns++;
    cl->nconns++;
    hs_gauge_add(m_conns, 1);
    hs_counter_inc(m_opened);
    c->call = call;
    call->conn = c;
    hs_timer_start(cl->loop, &c->timer, cl->o.connect_timeout_ms, conn_timer_cb);
    return 0;
}

/* Gives waiting calls the connections that are free or may be opened. */
static void up_dispatch(hs_http_client_t *cl, upstream_t *up)
{
    if (cl->closing) return;
    uint32_t max = cl->o.max_conns_per_upstream;
    while (up->qhead) {
        if (up->idle) {
            conn_t *c = idle_pop(cl, up);
            conn_attach(c, up_dequeue(up));
            continue;
        }
        if (max && up->nconns >= max) break;
        hs_http_call_t *call = up_dequeue(up);
        int rc = conn_open(up, call);
        if (rc < 0) call_fail_later(call, rc);
    }
}

/* Closes the socket; the struct goes when its event handler unwinds. */
static void conn_close(conn_t *c)
{
    if (c->closed) return;
    hs_http_client_t *cl = c->cl;
    upstream_t *up = c->up;
    c->closed = 1;
    if (c->state == C_IDLE) {
        if (c->prev)
            c->prev->next = c->next;
        else
            up->idle = c->next;
        if (c->next) c->next->prev = c->prev;
        up->nidle--;
        cl->nidle--;
    }
    if (c->call) {
        c->call->conn = NULL;
        c->call = NULL;
    }
    hs_timer_stop(cl->loop, &c->timer);
    int fd = c->io.fd;
    hs_io_stop(cl->loop, &c->io);
    if (fd >= 0) close(fd);
    in_put(c);
    up->nconns--;
    cl->nconns--;
    hs_gauge_add(m_conns, -1);
    if (!c->in_io) free(c);
    up_dispatch(cl, up);
    up_maybe_free(cl, up);
}

static void conn_enter(conn_t *c)
{
    c->in_io = 1;
}

static void conn_leave(conn_t *c)
{
    c->in_io = 0;
    if (c->closed) free(c);
}

/* Back to the pool after a complete exchange (or straight to a waiter). */
static void conn_release(conn_t *c)
{
    hs_http_client_t *cl = c->cl;
    upstream_t *up = c->up;
    c->call = NULL;
    if (up->qhead && !cl->closing) {
        conn_attach(c, up_dequeue(up));
        return;
    }
    if (cl->closing || up->nidle >= cl->o.max_idle_per_upstream) {
        conn_close(c);
        return;
    }
    in_put(c);
    c->state = C_IDLE;
    c->prev = NULL;
    c->next = up->idle;
    if (up->idle) up->idle->prev = c;
    up->idle = c;
    up->nidle++;
    cl->nidle++;
    /* Any readability now is EOF, a reset, or bytes nobody asked for. */
    hs_io_modify(cl->loop, &c->io, HS_IO_READ);
    hs_timer_start(cl->loop, &c->timer, cl->o.idle_timeout_ms, conn_timer_cb);
}

/* Starts the exchange of c->call on an established connection. */
static void conn_begin(conn_t *c)
{
    hs_http_call_t *call = c->call;
    c->state = C_BUSY;
    call->connected = 1;
    if (in_get(c) < 0) {
        call_fail_later(call, HS_ENOMEM);
        return;
    }
    if (call->expect_wait) hs_timer_start(c->cl->loop, &call->cont, CONTINUE_WAIT_MS, cont_cb);
    call_flush(call, false);
}

static void conn_attach(conn_t *c, hs_http_call_t *call)
{
    c->call = call;
    call->conn = c;
    call->reused = c->nreq > 0;
    if (call->reused) hs_counter_inc(m_reused);
    conn_begin(c);
}

static void conn_connected(conn_t *c)
{
    int err = 0;
    socklen_t l = sizeof(err);
    if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0) err = errno;
    if (err == EINPROGRESS || err == EINTR) return;
    if (err) {
        call_fail(c->call, HS_ERR(err));
        return;
    }
    /* No error yet is not "connected": an event meant for an earlier
     * socket with the same fd number may arrive here. */
    struct sockaddr_storage peer;
    socklen_t pl = sizeof(peer);
    if (getpeername(c->io.fd, (struct sockaddr *)&peer, &pl) != 0) return;
    hs_timer_stop(c->cl->loop, &c->timer);
    conn_begin(c);
}

/* Read interest unless paused, write interest while bytes wait (or an
 * on_writable is owed), and the read timeout while the upstream owes us
 * progress: bytes to take, or an answer to a request it has. */
static void conn_update_io(conn_t *c)
{
    hs_http_call_t *call = c->call;
    hs_http_client_t *cl = c->cl;
    bool out = !hs_oq_empty(&call->out) && !call->send_failed;
    unsigned ev = (call->paused ? 0 : HS_IO_READ) |
                  (out || (call->want_writable && !call->send_failed) ? HS_IO_WRITE : 0);
    hs_io_modify(cl->loop, &c->io, ev);
    bool waiting = out || (!call->paused && (call->req_sent || call->rx_any || call->send_failed ||
                                             call->expect_wait));
    if (waiting)
        hs_timer_start(cl->loop, &c->timer, cl->o.read_timeout_ms, conn_timer_cb);
    else
        hs_timer_stop(cl->loop, &c->timer);
}

/* ---- calls ---- */

static int error_kind(const hs_http_call_t *call, int status)
{
    switch (status) {
    case HS_ECONNREFUSED:
        return E_REFUSED;
    case HS_ETIMEDOUT:
        return call->connected ? E_READ_TIMEOUT : E_CONNECT_TIMEOUT;
    case HS_EBADMSG:
        return E_BADMSG;
    case HS_ECONNRESET:
    case HS_EPIPE:
        return E_RESET;
    case HS_ECANCELED:
        return E_CANCELED;
    default:
        return E_OTHER;
    }
}

/* Runs on_done and frees the call. */
static void call_deliver(hs_http_call_t *call)
{
    hs_http_client_t *cl = call->cl;
    upstream_t *up = call->up;
    if (call->final < 0) {
        hs_counter_inc(m_errors[error_kind(call, call->final)]);
        hs_log_debug("upstream_error", "upstream=%s err=%s", up->name, hs_errname(call->final));
    }
    if (call->prev)
        call->prev->next = call->next;
    else
        cl->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    hs_timer_stop(cl->loop, &call->defer);
    hs_timer_stop(cl->loop, &call->cont);
    cl->cb_depth++;
    call->in_cb++; /* a cancel from inside on_done is a no-op */
    call->cbs.on_done(call->ctx, call->final);
    cl->cb_depth--;
    free(call->head);
    free(call);
    up->ncalls--;
    up_maybe_free(cl, up);
}

/* Decides the final status; delivers now unless a callback of this call
 * is running (then when it returns). */
static void call_finish(hs_http_call_t *call, int status)
{
    if (call->done) return;
    call->done = 1;
    call->final = status;
    hs_timer_stop(call->cl->loop, &call->defer);
    hs_timer_stop(call->cl->loop, &call->cont);
    hs_oq_clear(&call->out);
    hs_oq_clear(&call->held);
    if (!call->in_cb) call_deliver(call);
}

/* Ends the call with an error; its connection is closed, not pooled. */
static void call_fail(hs_http_call_t *call, int status)
{
    if (call->done) return;
    if (call->conn) {
        conn_t *c = call->conn;
        c->call = NULL;
        call->conn = NULL;
        conn_close(c);
    } else if (call->queued) {
        up_unqueue(call->up, call);
    }
    call_finish(call, status);
}

/* Like call_fail, but on_done runs from a 0 ms timer: for failures found
 * where a callback must not run (inside hs_http_client_request). */
static void call_fail_later(hs_http_call_t *call, int status)
{
    call->in_cb++;
    call_fail(call, status);
    call->in_cb--;
    hs_timer_start(call->cl->loop, &call->defer, 0, defer_cb);
}

/* Wraps a user callback of this call. Returns false when the call ended
 * inside it (on_done has then run and the call is gone). */
static void cb_enter(hs_http_call_t *call)
{
    call->in_cb++;
    call->cl->cb_depth++;
}

static bool cb_leave(hs_http_call_t *call)
{
    call->cl->cb_depth--;
    call->in_cb--;
    if (!call->done) return true;
    if (!call->in_cb) call_deliver(call);
    return false;
}

static void call_complete(hs_http_call_t *call)
{
    conn_t *c = call->conn;
    hs_histogram_observe_ns(m_seconds, now_ns() - call->start_ns);
    bool reuse = call->resp_keep && !call->no_reuse && !call->req_close && call->req_sent &&
                 !call->send_failed && c->in_off == c->in_len;
    c->call = NULL;
    call->conn = NULL;
    c->nreq++;
    if (reuse)
        conn_release(c);
    else
        conn_close(c);
    call_finish(call, 0);
}

static bool idempotent(hs_http_method_t m)
{
    return m == HS_HTTP_GET || m == HS_HTTP_HEAD || m == HS_HTTP_PUT || m == HS_HTTP_DELETE ||
           m == HS_HTTP_OPTIONS;
}

/* Queues the head and an in-memory body (by reference) for sending. */
static int call_queue_request(hs_http_call_t *call)
{
    int rc = hs_oq_append_ref(&call->out, call->head, call->head_len, NULL, NULL);
    if (rc == 0 && call->body_kind == HS_HTTP_CLIENT_BODY_BUFFER && call->body_len)
        rc = hs_oq_append_ref(call->expect_wait ? &call->held : &call->out, call->body,
                              call->body_len, NULL, NULL);
    return rc;
}

/* A pooled connection died before answering: send again on a fresh one.
 * The upstream may have closed it just as we wrote (keep-alive race). */
static void call_retry(hs_http_call_t *call)
{
    conn_t *old = call->conn;
    old->call = NULL;
    call->conn = NULL;
    hs_oq_clear(&call->out);
    hs_oq_clear(&call->held);
    hs_timer_stop(call->cl->loop, &call->cont);
    call->retried = 1;
    call->req_sent = call->send_failed = call->rx_any = call->head_done = 0;
    call->no_reuse = call->connected = call->reused = 0;
    call->expect_wait = call->expect && !call->body_dropped;
    hs_counter_inc(m_retries);
    /* Open before closing the old one, so the slot it frees is not handed
     * to a waiting call first. */
    int rc = call_queue_request(call);
    if (rc == 0) rc = conn_open(call->up, call);
    conn_close(old);
    if (rc < 0) call_fail(call, rc);
}

/* Lets the held body go (100 Continue, or the wait expired). */
static void call_release_body(hs_http_call_t *call)
{
    call->expect_wait = 0;
    hs_timer_stop(call->cl->loop, &call->cont);
    hs_oq_t *dst = &call->out, *src = &call->held;
    if (src->head) {
        if (dst->tail)
            dst->tail->next = src->head;
        else
            dst->head = src->head;
        dst->tail = src->tail;
        dst->bytes += src->bytes;
        src->head = src->tail = NULL;
        src->bytes = 0;
    }
    call_flush(call, false);
}

/* Sends what the socket takes. Never closes the connection or ends the
 * call; on_writable runs only when notify (from the write event). */
static void call_flush(hs_http_call_t *call, bool notify)
{
    conn_t *c = call->conn;
    if (!call->send_failed && !hs_oq_empty(&call->out)) {
        size_t sent = 0;
        int rc = hs_oq_flush(&call->out, c->io.fd, &sent);
        if (rc < 0 && rc != HS_EAGAIN) {
            /* The peer is gone for writing; what it sent before is still
             * readable and the read side reports the outcome. */
            call->send_failed = 1;
            call->no_reuse = 1;
            hs_oq_clear(&call->out);
            hs_oq_clear(&call->held);
        }
    }
    if (!call->req_sent && !call->send_failed && hs_oq_empty(&call->out) && !call->expect_wait &&
        (call->body_kind != HS_HTTP_CLIENT_BODY_STREAM || call->stream_finished))
        call->req_sent = 1;
    conn_update_io(c);
    if (notify && call->want_writable &&
        (call->send_failed || call->out.bytes + call->held.bytes < OUT_LOW)) {
        call->want_writable = 0;
        conn_update_io(c);
        if (call->cbs.on_writable) {
            cb_enter(call);
            call->cbs.on_writable(call->ctx);
            cb_leave(call);
        }
    }
}

/* ---- reading the response ---- */

static void conn_process(conn_t *c)
{
    hs_http_call_t *call = c->call;
    hs_http_client_t *cl = c->cl;
    while (!call->paused) {
        size_t avail = c->in_len - c->in_off;
        if (!call->head_done) {
            if (!avail) return;
            hs_http_msg_t resp;
            hs_http_error_t err = {0};
            hs_http_limits_t lim = {cl->o.max_response_head, cl->o.max_response_headers, 0};
            ssize_t n = hs_http_parse_response(c->in + c->in_off, avail, call->method, &resp,
                                               cl->hdrs, cl->o.max_response_headers, &lim, &err);
            if (n == HS_EAGAIN) {
                if (c->in_off) {
                    memmove(c->in, c->in + c->in_off, avail);
                    c->in_off = 0;
                    c->in_len = avail;
                }
                return;
            }
            if (n < 0) {
                hs_log_debug("upstream_bad_response", "upstream=%s reason=\"%s\"", call->up->name,
                             err.reason ? err.reason : "");
                call_fail(call, HS_EBADMSG);
                return;
            }
            c->in_off += (size_t)n;
            if (resp.status < 200) {
                if (resp.status == 101) { /* we never ask to switch protocols */
                    call_fail(call, HS_EBADMSG);
                    return;
                }
                if (resp.status == 100 && call->expect_wait) call_release_body(call);
                continue; /* other 1xx are informational: skip */
            }
            call->head_done = 1;
            call->resp_keep = resp.keep_alive;
            call->framing = (unsigned char)resp.framing;
            if (call->expect_wait) {
                /* Answered without the body: never send it now. Whether the
                 * upstream would read it as the next request is unknowable,
                 * so this connection is not reused. */
                call->expect_wait = 0;
                call->body_dropped = 1;
                call->no_reuse = 1;
                hs_timer_stop(cl->loop, &call->cont);
                hs_oq_clear(&call->held);
            }
            if (resp.framing == HS_HTTP_BODY_LENGTH) {
                call->body_left = resp.content_length;
                if (!call->body_left) call->framing = HS_HTTP_BODY_NONE;
            } else if (resp.framing == HS_HTTP_BODY_CHUNKED) {
                hs_http_chunked_init(&call->chunked, 0);
            }
            if (call->cbs.on_head) {
                cb_enter(call);
                call->cbs.on_head(call->ctx, &resp);
                if (!cb_leave(call)) return;
            }
            if (call->framing == HS_HTTP_BODY_NONE) {
                call_complete(call);
                return;
            }
            continue;
        }
        if (!avail) return;
        const char *run = c->in + c->in_off;
        size_t runlen = 0;
        bool complete = false;
        if (call->framing == HS_HTTP_BODY_LENGTH) {
            runlen = avail < call->body_left ? avail : (size_t)call->body_left;
            c->in_off += runlen;
            call->body_left -= runlen;
            complete = call->body_left == 0;
        } else if (call->framing == HS_HTTP_BODY_CHUNKED) {
            ssize_t used =
                hs_http_chunked_decode(&call->chunked, c->in + c->in_off, avail, &run, &runlen);
            if (used < 0) {
                call_fail(call, HS_EBADMSG);
                return;
            }
            c->in_off += (size_t)used;
            complete = call->chunked.done;
            if (used == 0 && !complete) return;
        } else { /* close-delimited */
            runlen = avail;
            c->in_off += runlen;
        }
        if (runlen && call->cbs.on_body) {
            cb_enter(call);
            call->cbs.on_body(call->ctx, run, runlen);
            if (!cb_leave(call)) return;
        }
        if (complete) {
            call_complete(call);
            return;
        }
    }
}

static void conn_eof(conn_t *c, int err)
{
    hs_http_call_t *call = c->call;
    if (err == HS_EOF && call->head_done && call->framing == HS_HTTP_BODY_EOF) {
        call->resp_keep = 0;
        call_complete(call);
        return;
    }
    if (!call->rx_any && call->reused && !call->retried && idempotent(call->method) &&
        call->body_kind != HS_HTTP_CLIENT_BODY_STREAM) {
        call_retry(call);
        return;
    }
    /* Closed or reset before the response was complete. */
    call_fail(call, err == HS_EOF || err == HS_EPIPE ? HS_ECONNRESET : err);
}

/* A discarding call's Content-Length body, once the buffer holds none of
 * it: the kernel drops up to body_left bytes without copying them (TCP's
 * MSG_TRUNC), so the next response's bytes are never touched. */
static void conn_discard(conn_t *c)
{
    hs_http_call_t *call = c->call;
    size_t want = call->body_left > (1u << 30) ? (1u << 30) : (size_t)call->body_left;
    ssize_t n = recv(c->io.fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        conn_eof(c, n == 0 ? HS_EOF : HS_ERR(errno));
        return;
    }
    call->rx_any = 1;
    call->body_left -= (uint64_t)n;
    if (call->cbs.on_body) {
        cb_enter(call);
        call->cbs.on_body(call->ctx, NULL, (size_t)n);
        if (!cb_leave(call)) return;
    }
    if (!call->body_left)
        call_complete(call);
    else
        conn_update_io(c);
}

static void conn_read(conn_t *c)
{
    hs_http_call_t *call = c->call;
    hs_http_client_t *cl = c->cl;
    if (call->paused) return;
    if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
    if (call->discard && call->head_done && call->framing == HS_HTTP_BODY_LENGTH &&
        c->in_len == 0 && call->body_left) {
        conn_discard(c);
        return;
    }
    if (c->in_len == cl->in_cap && c->in_off) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == cl->in_cap) {
        /* Unconsumed bytes left by a pause fill the buffer: deliver them
         * before reading more. (A head never fills it: it is larger than
         * the largest acceptable head.) */
        conn_process(c);
        if (!c->closed && c->call == call && c->state == C_BUSY) conn_update_io(c);
        return;
    }
    /* A discarding call reads little past the head, so that the rest of the
     * body takes the no-copy path. */
    size_t room = cl->in_cap - c->in_len;
    if (call->discard && room > DISCARD_READ) room = DISCARD_READ;
    ssize_t n = read(c->io.fd, c->in + c->in_len, room);
    if (n > 0) {
        c->in_len += (size_t)n;
        call->rx_any = 1;
        conn_process(c);
        if (!c->closed && c->call == call && c->state == C_BUSY) conn_update_io(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    conn_eof(c, n == 0 ? HS_EOF : HS_ERR(errno));
}

static void conn_io(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    conn_t *c = (conn_t *)io;
    (void)loop;
    conn_enter(c);
    switch (c->state) {
    case C_CONNECTING:
        conn_connected(c);
        break;
    case C_IDLE: {
        /* EOF, a reset or unsolicited bytes: the connection is done. A
         * spurious wakeup (nothing to read) keeps it. */
        char b;
        ssize_t n = recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (!(n < 0 && (errno == EAGAIN || errno == EINTR))) conn_close(c);
        break;
    }
    case C_BUSY: {
        hs_http_call_t *call = c->call;
        if (call->paused && (events & HS_IO_ERROR) && !(events & HS_IO_READ)) {
            /* Reset while paused: the hang-up would be reported on every
             * wait, and the response cannot complete any more. */
            call_fail(call, HS_ECONNRESET);
            break;
        }
        if (events & HS_IO_WRITE) call_flush(call, true);
        if (!c->closed && c->call == call && (events & (HS_IO_READ | HS_IO_ERROR))) conn_read(c);
        break;
    }
    default:
        break;
    }
    conn_leave(c);
}

static void conn_timer_cb(hs_loop_t *loop, hs_timer_t *t)
{
    conn_t *c = hs_container_of(t, conn_t, timer);
    (void)loop;
    if (c->state == C_IDLE)
        conn_close(c);
    else
        call_fail(c->call, HS_ETIMEDOUT);
}

/* The 100-continue wait ran out: send the body anyway (RFC 9110 10.1.1). */
static void cont_cb(hs_loop_t *loop, hs_timer_t *t)
{
    hs_http_call_t *call = hs_container_of(t, hs_http_call_t, cont);
    (void)loop;
    if (call->conn && call->conn->state == C_BUSY && call->expect_wait) call_release_body(call);
}

/* A deferred on_done, or buffered bytes to deliver after a resume. */
static void defer_cb(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    hs_http_call_t *call;
    call = hs_container_of(t, hs_http_call_t, defer);
    if (call->done) {
        if (!call->in_cb) call_deliver(call);
        return;
    }
    conn_t *c = call->conn;
    if (!c || c->state != C_BUSY || call->paused) return;
    conn_enter(c);
    conn_process(c);
    if (!c->closed && c->call == call) conn_update_io(c);
    conn_leave(c);
}

/* ---- request head ---- */

static const char *method_name(hs_http_method_t m)
{
    switch (m) {
    case HS_HTTP_GET:
        return "GET";
    case HS_HTTP_HEAD:
        return "HEAD";
    case HS_HTTP_POST:
        return "POST";
    case HS_HTTP_PUT:
        return "PUT";
    case HS_HTTP_DELETE:
        return "DELETE";
    case HS_HTTP_OPTIONS:
        return "OPTIONS";
    case HS_HTTP_PATCH:
        return "PATCH";
    case HS_HTTP_CONNECT:
        return "CONNECT";
    case HS_HTTP_TRACE:
        return "TRACE";
    default:
        return NULL;
    }
}

static bool all_of(hs_str_t s, int cls)
{
    for (size_t i = 0; i < s.len; i++)
        if (!HS__HC(s.base[i], cls)) return false;
    return true;
}

/* True if a Connection field value lists the "close" option. */
static bool has_close_token(hs_str_t v)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.base[i] == ',' || v.base[i] == ' ' || v.base[i] == '\t'))
            i++;
        size_t s = i;
        while (i < v.len && v.base[i] != ',' && v.base[i] != ' ' && v.base[i] != '\t')
            i++;
        if (i - s == 5 && strncasecmp(v.base + s, "close", 5) == 0) return true;
    }
    return false;
}

#define APPEND(p, s, n) (memcpy((p), (s), (n)), (p) += (n))
#define APPEND_LIT(p, lit) APPEND(p, lit, sizeof(lit) - 1)

/* Validates the request and formats its head into call->head. Bytes that
 * could split the head (CR, LF, NUL) or change its framing are refused:
 * a proxy passes through fields it got from untrusted clients. */
static int build_head(hs_http_call_t *call, const hs_http_client_req_t *req, const upstream_t *up)
{
    hs_str_t method;
    const char *mn = method_name(req->method);
    if (mn)
        method = (hs_str_t){mn, strlen(mn)};
    else
        method = req->method_str;
    if (!method.len || !all_of(method, HS__HC_TCHAR)) return HS_EINVAL;
    if (!req->target.len || !all_of(req->target, HS__HC_VCHAR)) return HS_EINVAL;
    hs_str_t host = req->host.len ? req->host : (hs_str_t){up->name, strlen(up->name)};
    if (!all_of(host, HS__HC_VCHAR)) return HS_EINVAL;
    size_t size = method.len + req->target.len + host.len + 64;
    for (unsigned i = 0; i < req->num_headers; i++) {
        const hs_http_header_t *h = &req->headers[i];
        if (!h->name.len || !all_of(h->name, HS__HC_TCHAR) || !all_of(h->value, HS__HC_FVALUE))
            return HS_EINVAL;
        if (HS_STR_IEQ(h->name, "host") || HS_STR_IEQ(h->name, "content-length") ||
            HS_STR_IEQ(h->name, "transfer-encoding") || HS_STR_IEQ(h->name, "expect"))
            return HS_EINVAL;
        if (HS_STR_IEQ(h->name, "connection") && has_close_token(h->value)) call->req_close = 1;
        size += h->name.len + h->value.len + 4;
    }
    char *head = malloc(size + 96);
    if (!head) return HS_ENOMEM;
    char *p = head;
    APPEND(p, method.base, method.len);
    *p++ = ' ';
    APPEND(p, req->target.base, req->target.len);
    APPEND_LIT(p, " HTTP/1.1\r\nHost: ");
    APPEND(p, host.base, host.len);
    APPEND_LIT(p, "\r\n");
    for (unsigned i = 0; i < req->num_headers; i++) {
        const hs_http_header_t *h = &req->headers[i];
        APPEND(p, h->name.base, h->name.len);
        APPEND_LIT(p, ": ");
        APPEND(p, h->value.base, h->value.len);
        APPEND_LIT(p, "\r\n");
    }
    bool has_body = false;
    switch (req->body_kind) {
    case HS_HTTP_CLIENT_BODY_BUFFER:
        p += sprintf(p, "Content-Length: %zu\r\n", req->body_len);
        has_body = req->body_len > 0;
        break;
    case HS_HTTP_CLIENT_BODY_STREAM:
        if (req->stream_length >= 0)
            p += sprintf(p, "Content-Length: %lld\r\n", (long long)req->stream_length);
        else
            APPEND_LIT(p, "Transfer-Encoding: chunked\r\n");
        has_body = req->stream_length != 0;
        break;
    default:
        /* RFC 9110 8.6: a user agent should send Content-Length: 0 when a
         * method that expects content has none. */
        if (req->method == HS_HTTP_POST || req->method == HS_HTTP_PUT ||
            req->method == HS_HTTP_PATCH)
            APPEND_LIT(p, "Content-Length: 0\r\n");
        break;
    }
    if (req->expect_continue && has_body) {
        APPEND_LIT(p, "Expect: 100-continue\r\n");
        call->expect = call->expect_wait = 1;
    }
    call->discard = req->discard_body;
    APPEND_LIT(p, "\r\n");
    call->head = head;
    call->head_len = (size_t)(p - head);
    return 0;
}

/* ---- public API ---- */

hs_http_client_t *hs_http_client_new(hs_loop_t *loop, const hs_http_client_opts_t *o)
{
    metrics_init();
    hs_http_client_t *cl = calloc(1, sizeof(*cl));
    if (!cl) return NULL;
    cl->loop = loop;
    if (o) cl->o = *o;
    if (!cl->o.connect_timeout_ms) cl->o.connect_timeout_ms = 5000;
    if (!cl->o.read_timeout_ms) cl->o.read_timeout_ms = 30000;
    if (!cl->o.idle_timeout_ms) cl->o.idle_timeout_ms = 60000;
    if (!cl->o.max_idle_per_upstream) cl->o.max_idle_per_upstream = 16;
    if (!cl->o.max_queue_per_upstream) cl->o.max_queue_per_upstream = 1024;
    if (!cl->o.max_response_head) cl->o.max_response_head = HS_HTTP_DEFAULT_MAX_HEAD;
    if (!cl->o.max_response_headers) cl->o.max_response_headers = HS_HTTP_DEFAULT_MAX_HEADERS;
    cl->in_cap = cl->o.max_response_head + IN_BODY_ROOM;
    cl->hdrs = calloc(cl->o.max_response_headers, sizeof(*cl->hdrs));
    if (!cl->hdrs) {
        free(cl);
        return NULL;
    }
    return cl;
}

void hs_http_client_free(hs_http_client_t *cl)
{
    if (!cl) return;
    assert(cl->cb_depth == 0);
    cl->closing = true;
    while (cl->calls) {
        hs_http_call_t *call = cl->calls;
        if (call->done) { /* a failure waiting for its 0 ms timer */
            call_deliver(call);
        } else {
            call_fail(call, HS_ECANCELED);
        }
    }
    for (unsigned i = 0; i < cl->ups_cap; i++) {
        while (cl->ups[i]) {
            upstream_t *up = cl->ups[i];
            if (up->idle)
                conn_close(up->idle); /* frees up with its last connection */
            else
                up_unlink_free(cl, up);
        }
    }
    while (cl->free_in) {
        char *b = cl->free_in;
        memcpy(&cl->free_in, b, sizeof(char *));
        free(b);
    }
    free(cl->ups);
    free(cl->hdrs);
    free(cl);
}

int hs_http_client_request(hs_http_client_t *cl, const char *upstream,
                           const hs_http_client_req_t *req, const hs_http_client_cbs_t *cbs,
                           void *ctx, hs_http_call_t **out)
{
    if (cl->closing) return HS_ECANCELED;
    if (req && req->method == HS_HTTP_CONNECT)
        return HS_ENOTSUP; /* a tunnel is not an exchange this pool can reuse */
    if (!upstream || !req || !cbs || !cbs->on_done || req->body_kind > HS_HTTP_CLIENT_BODY_STREAM ||
        (req->body_kind == HS_HTTP_CLIENT_BODY_BUFFER && req->body_len && !req->body))
        return HS_EINVAL;
    upstream_t *up;
    int rc = up_get(cl, upstream, &up);
    if (rc < 0) return rc;
    uint32_t max = cl->o.max_conns_per_upstream;
    bool must_wait = !up->idle && max && up->nconns >= max;
    if (must_wait && up->nqueued >= cl->o.max_queue_per_upstream) {
        up_maybe_free(cl, up);
        return HS_ELIMIT;
    }
    hs_http_call_t *call = calloc(1, sizeof(*call));
    if (!call) {
        up_maybe_free(cl, up);
        return HS_ENOMEM;
    }
    call->cl = cl;
    call->up = up;
    call->cbs = *cbs;
    call->ctx = ctx;
    call->method = req->method;
    call->body_kind = (unsigned char)req->body_kind;
    call->body = req->body;
    call->body_len = req->body_len;
    if (req->body_kind == HS_HTTP_CLIENT_BODY_STREAM) {
        call->stream_chunked = req->stream_length < 0;
        call->stream_left = req->stream_length < 0 ? 0 : (uint64_t)req->stream_length;
    }
    call->start_ns = now_ns();
    if ((rc = build_head(call, req, up)) < 0 || (rc = call_queue_request(call)) < 0) {
        hs_oq_clear(&call->out);
        free(call->head);
        free(call);
        up_maybe_free(cl, up);
        return rc;
    }
    call->next = cl->calls;
    if (cl->calls) cl->calls->prev = call;
    cl->calls = call;
    up->ncalls++;
    hs_counter_inc(m_requests);
    if (out) *out = call;
    if (up->idle) {
        conn_attach(idle_pop(cl, up), call);
    } else if (must_wait) {
        up_enqueue(up, call);
    } else if ((rc = conn_open(up, call)) < 0) {
        call_fail_later(call, rc);
    }
    return 0;
}

int hs_http_call_write(hs_http_call_t *call, const void *data, size_t len)
{
    if (call->done) return HS_ECANCELED;
    if (call->body_kind != HS_HTTP_CLIENT_BODY_STREAM || call->stream_finished) return HS_EINVAL;
    if (!call->stream_chunked && len > call->stream_left) return HS_EINVAL;
    if (len == 0) return 0;
    if (!call->stream_chunked) call->stream_left -= len;
    if (call->body_dropped || call->send_failed)
        return 0; /* the upstream will not read it; the response decides */
    hs_oq_t *q = call->expect_wait ? &call->held : &call->out;
    int rc = 0;
    if (call->stream_chunked) {
        char hex[24];
        int n = snprintf(hex, sizeof(hex), "%zx\r\n", len);
        rc = hs_oq_append(q, hex, (size_t)n);
    }
    if (rc == 0) rc = hs_oq_append(q, data, len);
    if (rc == 0 && call->stream_chunked) rc = hs_oq_append(q, "\r\n", 2);
    if (rc < 0) {
        call_fail_later(call, rc);
        return rc;
    }
    if (call->conn && call->conn->state == C_BUSY) call_flush(call, false);
    if (call->out.bytes + call->held.bytes > OUT_HIGH) {
        call->want_writable = 1;
        return 1;
    }
    return 0;
}

int hs_http_call_finish(hs_http_call_t *call)
{
    if (call->done) return HS_ECANCELED;
    if (call->body_kind != HS_HTTP_CLIENT_BODY_STREAM || call->stream_finished ||
        (!call->stream_chunked && call->stream_left))
        return HS_EINVAL;
    call->stream_finished = 1;
    if (call->stream_chunked && !call->body_dropped && !call->send_failed &&
        hs_oq_append(call->expect_wait ? &call->held : &call->out, "0\r\n\r\n", 5) < 0) {
        call_fail_later(call, HS_ENOMEM);
        return HS_ENOMEM;
    }
    if (call->conn && call->conn->state == C_BUSY) call_flush(call, false);
    return 0;
}

void hs_http_call_pause(hs_http_call_t *call, bool pause)
{
    if (call->done || call->paused == pause) return;
    call->paused = pause;
    conn_t *c = call->conn;
    if (!c || c->state != C_BUSY) return;
    conn_update_io(c);
    if (!pause && c->in_len > c->in_off) hs_timer_start(call->cl->loop, &call->defer, 0, defer_cb);
}

void hs_http_call_cancel(hs_http_call_t *call)
{
    if (call->done) {
        if (!call->in_cb) /* a failure waiting for its timer: deliver it now */
            call_deliver(call);
        return;
    }
    call_fail(call, HS_ECANCELED);
}

unsigned hs_http_client_connections(const hs_http_client_t *cl)
{
    return cl->nconns;
}

unsigned hs_http_client_idle(const hs_http_client_t *cl)
{
    return cl->nidle;
}
