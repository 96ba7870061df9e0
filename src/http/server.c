/*
 * HTTP/1.1 server connections. One request is active per connection at a
 * time; pipelined requests wait, unparsed, in the input buffer, and every
 * response is queued in order on the connection's output queue, which is
 * flushed once per batch of input. Buffers are taken from per-thread free
 * lists only while a connection has bytes in flight, so idle keep-alive
 * connections cost only their struct.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/container.h"
#include "core/err.h"
#include "core/listeners.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "http/oq.h"
#include "http/parse.h"

#define OUT_HIGH_WATER HS_HTTP_OUT_HIGH_WATER
#define DISCARD_MAX (1024 * 1024)
#define LINGER_MS 2000
#define ACCEPT_BATCH 64
#define INBUF_FREE_MAX 256

enum timer_kind { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND, T_LINGER };

typedef struct conn {
    hs_io_t io;
    hs_timer_t timer;
    hs_http_server_t *srv;
    struct conn *prev, *next;
    char *in; /* block: [hs_http_header_t hdrs[max_headers]][data cap] */
    size_t in_off, in_len, in_cap;
    size_t body_base; /* where body bytes restart while a request is active */
    hs_oq_t oq;
    hs_http_req_t req;
    hs_http_chunked_t chunked;
    uint64_t body_left;
    uint64_t discarded;
    hs_http_body_cb body_cb;
    uint64_t req_start_ns;
    unsigned id;
    unsigned nreq;
    unsigned char timer_kind;
    unsigned busy; /* callbacks on the stack: frees wait until it is 0 */
    uint32_t head_seen; /* bytes of a partial head already scanned for its end */
    unsigned want_drain : 1; /* the handler asked; call on_drain below low water */
    struct sockaddr_storage peer;
    unsigned req_active : 1;  /* handler owns req */
    unsigned body_pending : 1; /* request body not fully consumed */
    unsigned discard : 1;     /* consume the pending body and drop it */
    unsigned resp_started : 1;
    unsigned resp_headers_done : 1;
    unsigned resp_chunked : 1;
    unsigned resp_no_body : 1; /* HEAD, 204, 304 */
    unsigned resp_eof : 1;     /* close-delimited body */
    unsigned keep_alive : 1;
    unsigned close_after : 1;
    unsigned closed : 1;      /* fd gone; struct waits for the handler */
    unsigned lingering : 1;
    unsigned continue_sent : 1;
    unsigned in_process : 1;
    unsigned head_started : 1;
    unsigned rd_eof : 1; /* the client half-closed: answer what it sent, then close */
    unsigned body_paused : 1; /* the handler cannot take body bytes now */
    unsigned gated : 1;       /* the gate let it in and gets its on_close */
} conn_t;

struct hs_http_server {
    hs_loop_t *loop;
    hs_http_server_opts_t o;
    hs_io_t lio;
    int port;
    conn_t *conns;
    unsigned nconns;
    unsigned next_id;
    int draining;
    void (*on_drained)(void *);
    void *drained_arg;
    size_t in_block; /* bytes of one input block */
};

/* ---- metrics (process-wide series, registered once) ---- */

static hs_counter_t *m_req[6];
static hs_counter_t *m_errors, *m_accepted, *m_rejected, *m_timeouts, *m_bytes_out;
static hs_gauge_t *m_conns;
static hs_histogram_t *m_dur;

static void metrics_init(void)
{
    static const char *const codes[6] = {"code=\"1xx\"", "code=\"1xx\"", "code=\"2xx\"",
                                         "code=\"3xx\"", "code=\"4xx\"", "code=\"5xx\""};
    if (m_dur)
        return;
    for (int i = 1; i < 6; i++)
        m_req[i] = hs_counter("hs_http_requests_total", codes[i],
                              "HTTP requests answered, by status class");
    m_req[0] = m_req[1];
    m_errors = hs_counter("hs_http_protocol_errors_total", NULL,
                          "requests rejected by the HTTP parser or limits");
    m_accepted = hs_counter("hs_http_connections_accepted_total", NULL, "accepted connections");
    m_rejected = hs_counter("hs_http_connections_rejected_total", NULL,
                            "connections refused with 503 at http.max_connections");
    m_timeouts = hs_counter("hs_http_timeouts_total", NULL,
                            "connections closed by header, body or send timeouts");
    m_bytes_out = hs_counter("hs_http_sent_bytes_total", NULL, "bytes written to clients");
    m_conns = hs_gauge("hs_http_connections", NULL, "open client connections");
    m_dur = hs_histogram("hs_http_request_duration_seconds", NULL,
                         "time from a complete request head to the end of the response");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- input blocks ---- */

static _Thread_local char *free_in;
static _Thread_local size_t free_in_size;
static _Thread_local unsigned free_in_n;
static pthread_key_t free_key;
static pthread_once_t free_once = PTHREAD_ONCE_INIT;

/* Thread exit: give the cached input blocks back. */
static void free_in_destroy(void *unused)
{
    (void)unused;
    while (free_in) {
        char *b = free_in;
        memcpy(&free_in, b, sizeof(char *));
        free(b);
    }
    free_in_n = 0;
}

static void free_key_init(void)
{
    pthread_key_create(&free_key, free_in_destroy);
}

static size_t hdr_bytes(const hs_http_server_t *srv)
{
    return srv->o.max_headers * sizeof(hs_http_header_t);
}

static int in_get(conn_t *c)
{
    hs_http_server_t *srv = c->srv;
    if (c->in)
        return 0;
    char *b = NULL;
    if (free_in && free_in_size == srv->in_block) {
        b = free_in;
        memcpy(&free_in, b, sizeof(char *));
        free_in_n--;
    } else {
        b = malloc(srv->in_block);
        if (!b)
            return HS_ENOMEM;
    }
    c->in = b;
    c->in_cap = srv->in_block - hdr_bytes(srv);
    c->in_off = c->in_len = 0;
    return 0;
}

static void in_put(conn_t *c)
{
    if (!c->in)
        return;
    if (free_in_n < INBUF_FREE_MAX && (free_in_size == c->srv->in_block || free_in_n == 0)) {
        if (free_in_n == 0) {
            pthread_once(&free_once, free_key_init);
            pthread_setspecific(free_key, (void *)1);
        }
        free_in_size = c->srv->in_block;
        memcpy(c->in, &free_in, sizeof(char *));
        free_in = c->in;
        free_in_n++;
    } else {
        free(c->in);
    }
    c->in = NULL;
    c->in_off = c->in_len = c->in_cap = 0;
}

static inline char *in_data(conn_t *c)
{
    return c->in + hdr_bytes(c->srv);
}

/* ---- connection lifecycle ---- */

static void conn_io(hs_loop_t *loop, hs_io_t *io, unsigned events);
static bool consume_body(conn_t *c);
static void conn_timer(hs_loop_t *loop, hs_timer_t *t);
static void conn_process(conn_t *c);
static void conn_flush(conn_t *c);

static void arm(conn_t *c, enum timer_kind k, uint64_t ms)
{
    c->timer_kind = (unsigned char)k;
    if (k == T_NONE || ms == 0) {
        /* Left queued on purpose: it fires as a no-op, and re-arming a
         * queued timer later is O(1), which keeps per-request cost flat. */
        c->timer_kind = T_NONE;
        return;
    }
    hs_timer_start(c->srv->loop, &c->timer, ms, conn_timer);
}

static void server_check_drained(hs_http_server_t *srv)
{
    if (srv->draining && srv->nconns == 0 && srv->on_drained) {
        void (*cb)(void *) = srv->on_drained;
        srv->on_drained = NULL;
        cb(srv->drained_arg);
    }
}

static void conn_free(conn_t *c)
{
    hs_http_server_t *srv = c->srv;
    hs_timer_stop(srv->loop, &c->timer);
    hs_oq_clear(&c->oq);
    in_put(c);
    hs_arena_free(&c->req.arena);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    hs_gauge_add(m_conns, -1);
    free(c);
    server_check_drained(srv);
}

static void conn_hold(conn_t *c)
{
    c->busy++;
}

/* Frees a connection closed while callbacks were running, once the
 * outermost one returns. */
static void conn_release(conn_t *c)
{
    if (--c->busy == 0 && c->closed && !c->req_active)
        conn_free(c);
}

/* Closes the socket now. If the handler still owns the request, the struct
 * stays until it ends the response. */
static void conn_close(conn_t *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    if (c->gated && c->srv->o.gate->on_close)
        c->srv->o.gate->on_close(c->srv->o.gate, &c->peer);
    int fd = c->io.fd;
    hs_io_stop(c->srv->loop, &c->io);
    if (fd >= 0)
        close(fd);
    hs_oq_clear(&c->oq);
    hs_timer_stop(c->srv->loop, &c->timer);
    if (c->req_active) {
        /* The handler may end the response from these callbacks, which
         * would free the connection under us without the hold. */
        conn_hold(c);
        hs_http_handler_t *h = c->srv->o.handler;
        if (c->body_cb && c->body_pending) {
            hs_http_body_cb cb = c->body_cb;
            c->body_cb = NULL;
            cb(&c->req, NULL, 0, HS_ECONNRESET);
        }
        if (c->req_active && h->on_abort)
            h->on_abort(h, &c->req);
        conn_release(c);
        return;
    }
    if (c->busy == 0)
        conn_free(c);
}

/* Half-closes after the last response so the client reads it before any
 * RST that unread input would trigger, then waits briefly for its FIN. */
static void conn_linger(conn_t *c)
{
    if (c->lingering)
        return;
    if (c->rd_eof) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    shutdown(c->io.fd, SHUT_WR);
    hs_io_modify(c->srv->loop, &c->io, HS_IO_READ);
    arm(c, T_LINGER, LINGER_MS);
}

static void conn_timer_fire(conn_t *c);
static void conn_error(conn_t *c, int status, const char *reason);
static void conn_error_ra(conn_t *c, int status, const char *reason, uint32_t retry_after);

static void conn_timer(hs_loop_t *loop, hs_timer_t *t)
{
    conn_t *c = hs_container_of(t, conn_t, timer);
    (void)loop;
    conn_hold(c);
    conn_timer_fire(c);
    conn_release(c);
}

static void conn_timer_fire(conn_t *c)
{
    switch (c->timer_kind) {
    case T_HEAD:
        hs_counter_inc(m_timeouts);
        if (c->head_started && !c->req_active && hs_oq_empty(&c->oq)) {
            /* A client that started a request gets told why it is cut. */
            conn_error(c, 408, "request header not received in time");
            conn_flush(c);
            return;
        }
        conn_close(c);
        return;
    case T_BODY:
        hs_counter_inc(m_timeouts);
        if (c->body_cb) {
            hs_http_body_cb cb = c->body_cb;
            c->body_cb = NULL;
            c->body_pending = 0;
            cb(&c->req, NULL, 0, HS_ETIMEDOUT);
        }
        conn_close(c);
        return;
    case T_SEND:
        hs_counter_inc(m_timeouts);
        conn_close(c);
        return;
    case T_NONE:
        return;
    case T_IDLE:
    case T_LINGER:
    default:
        conn_close(c);
        return;
    }
}

/* Whether the connection takes input now: between requests, or for the
 * body of the active one when its handler wants it. */
static bool reads_now(const conn_t *c)
{
    return !c->req_active || (c->body_pending && c->body_cb && !c->body_paused);
}

static void conn_flush(conn_t *c)
{
    if (c->closed)
        return;
    size_t sent = 0;
    int rc = hs_oq_flush(&c->oq, c->io.fd, &sent);
    if (sent)
        hs_counter_add(m_bytes_out, sent);
    if (rc == HS_EAGAIN) {
        hs_io_modify(c->srv->loop, &c->io, HS_IO_WRITE);
        if (sent || c->timer_kind != T_SEND) /* the clock runs from the last progress */
            arm(c, T_SEND, c->srv->o.send_timeout_ms);
    } else if (rc < 0) {
        conn_close(c);
        return;
    }
    if (c->want_drain && c->req_active && c->oq.bytes <= HS_HTTP_OUT_LOW_WATER) {
        c->want_drain = 0;
        hs_http_handler_t *h = c->srv->o.handler;
        if (h->on_drain) {
            conn_hold(c);
            h->on_drain(h, &c->req);
            conn_release(c);
            if (c->closed)
                return;
            /* What the handler queued meanwhile was not flushed (write
             * interest was still on): send it before "everything is out"
             * turns write interest off and strands it. */
            if (rc != HS_EAGAIN && c->oq.head) {
                conn_flush(c);
                return;
            }
        }
    }
    if (rc == HS_EAGAIN)
        return;
    /* Everything is out. */
    if (c->close_after && !c->req_active) {
        conn_linger(c);
        return;
    }
    if (c->io.events & HS_IO_WRITE) {
        hs_io_modify(c->srv->loop, &c->io,
                     (c->req_active && !c->body_pending) || c->rd_eof ? 0 : HS_IO_READ);
        if (c->timer_kind == T_SEND)
            arm(c, T_NONE, 0);
        if (!c->req_active)
            conn_process(c);
    }
}

/* ---- response writing ---- */

static conn_t *req_conn(hs_http_req_t *req)
{
    return hs_container_of(req, conn_t, req);
}

static void out(conn_t *c, const char *p, size_t n)
{
    if (!c->closed && hs_oq_append(&c->oq, p, n) != 0)
        c->close_after = 1; /* out of memory: finish what we can, then close */
}

#define OUT_LIT(c, s) out((c), (s), sizeof(s) - 1)

static int u64_dec(char *out, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* "HTTP/1.1 <code> <reason>\r\nServer: hyperscale\r\nDate: <date>\r\n" without
 * printf: this runs once per response. Returns its length (< 160). */
static int status_line(char *p, int status, const char *date)
{
    static const char pre[] = "HTTP/1.1 ";
    static const char mid[] = "\r\nServer: hyperscale\r\nDate: ";
    const char *reason = hs_http_reason(status);
    size_t rl = strnlen(reason, 64);
    int n = sizeof(pre) - 1;
    memcpy(p, pre, (size_t)n);
    if (status < 100 || status > 999)
        status = 500;
    p[n++] = (char)('0' + status / 100);
    p[n++] = (char)('0' + status / 10 % 10);
    p[n++] = (char)('0' + status % 10);
    p[n++] = ' ';
    memcpy(p + n, reason, rl);
    n += (int)rl;
    memcpy(p + n, mid, sizeof(mid) - 1);
    n += (int)sizeof(mid) - 1;
    memcpy(p + n, date, 29);
    n += 29;
    p[n++] = '\r';
    p[n++] = '\n';
    return n;
}

void hs_http_resp_start(hs_http_req_t *req, int status, int64_t content_length)
{
    conn_t *c = req_conn(req);
    assert(!c->resp_started);
    c->resp_started = 1;
    c->resp_headers_done = 0;
    c->resp_chunked = 0;
    c->resp_eof = 0;
    c->resp_no_body = req->msg.method == HS_HTTP_HEAD || status == 204 || status == 304 ||
                      (status >= 100 && status < 200);
    bool keep = c->keep_alive && !c->close_after && !c->srv->draining;
    if (c->srv->o.max_requests_per_conn && c->nreq >= c->srv->o.max_requests_per_conn)
        keep = false;
    if (c->body_pending && !c->body_cb) {
        /* The handler answers without reading the body: drop it if that is
         * cheap, else close (always close if 100-continue was not sent: the
         * client may be waiting to send it). */
        bool cheap;
        if (req->msg.expect_continue && !c->continue_sent) {
            cheap = false;
        } else if (req->msg.framing == HS_HTTP_BODY_LENGTH) {
            cheap = c->body_left <= DISCARD_MAX;
        } else {
            /* Decode what is already here: a malformed body then makes
             * this very answer say Connection: close. The rest, if any, is
             * discarded later (bounded by DISCARD_MAX). */
            c->discard = 1;
            consume_body(c);
            cheap = !c->close_after;
        }
        if (!cheap)
            keep = false;
    }
    char *p = hs_oq_reserve(&c->oq, 256);
    if (!p) {
        c->close_after = 1;
        return;
    }
    int n = status_line(p, status, hs_http_date_now(c->srv->loop));
    if (content_length >= 0) {
        if (!(status == 304 || status == 204 || (status >= 100 && status < 200))) {
            memcpy(p + n, "Content-Length: ", 16);
            n += 16;
            n += u64_dec(p + n, (uint64_t)content_length);
            p[n++] = '\r';
            p[n++] = '\n';
        }
    } else if (!c->resp_no_body) {
        if (req->msg.version_minor >= 1)
            c->resp_chunked = 1;
        else {
            c->resp_eof = 1;
            keep = false;
        }
        if (c->resp_chunked)
            n += snprintf(p + n, 256 - (size_t)n, "Transfer-Encoding: chunked\r\n");
    }
    if (!keep)
        n += snprintf(p + n, 256 - (size_t)n, "Connection: close\r\n");
    else if (req->msg.version_minor == 0)
        n += snprintf(p + n, 256 - (size_t)n, "Connection: keep-alive\r\n");
    hs_oq_commit(&c->oq, (size_t)n);
    c->keep_alive = keep;
    if (!keep)
        c->close_after = 1;
    hs_counter_inc(m_req[status / 100 <= 5 && status >= 100 ? status / 100 : 5]);
}

void hs_http_resp_header(hs_http_req_t *req, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    conn_t *c = req_conn(req);
    assert(c->resp_started && !c->resp_headers_done);
    size_t need = name_len + value_len + 4;
    char *p = need <= HS_OQ_SEG_SIZE ? hs_oq_reserve(&c->oq, need) : NULL;
    if (!p) {
        c->close_after = 1;
        return;
    }
    memcpy(p, name, name_len);
    p[name_len] = ':';
    p[name_len + 1] = ' ';
    memcpy(p + name_len + 2, value, value_len);
    p[need - 2] = '\r';
    p[need - 1] = '\n';
    hs_oq_commit(&c->oq, need);
}

void hs_http_resp_header_raw(hs_http_req_t *req, const char *lines, size_t len)
{
    conn_t *c = req_conn(req);
    assert(c->resp_started && !c->resp_headers_done);
    out(c, lines, len);
}

static void end_headers(conn_t *c)
{
    if (c->resp_headers_done)
        return;
    c->resp_headers_done = 1;
    OUT_LIT(c, "\r\n");
}

static bool body_prefix(conn_t *c, size_t len)
{
    end_headers(c);
    if (c->resp_no_body || c->closed || len == 0)
        return false;
    if (c->resp_chunked) {
        char hex[24];
        int n = snprintf(hex, sizeof(hex), "%zx\r\n", len);
        out(c, hex, (size_t)n);
    }
    return true;
}

static void body_suffix(conn_t *c)
{
    if (c->resp_chunked)
        OUT_LIT(c, "\r\n");
    /* Bytes produced outside request processing (an origin callback, a
     * disk read) go out now; inside it, once per batch. */
    if (!c->in_process && !c->closed && !(c->io.events & HS_IO_WRITE)) {
        conn_hold(c);
        conn_flush(c);
        conn_release(c);
    }
}

bool hs_http_resp_congested(hs_http_req_t *req)
{
    conn_t *c = req_conn(req);
    if (c->closed || c->oq.bytes <= OUT_HIGH_WATER)
        return false;
    c->want_drain = 1;
    return true;
}

const struct sockaddr_storage *hs_http_req_peer(const hs_http_req_t *req)
{
    return &hs_container_of(req, conn_t, req)->peer;
}

void hs_http_resp_body(hs_http_req_t *req, const void *data, size_t len)
{
    conn_t *c = req_conn(req);
    if (!body_prefix(c, len))
        return;
    out(c, data, len);
    body_suffix(c);
}

void hs_http_resp_body_ref(hs_http_req_t *req, const void *data, size_t len,
                           hs_oq_release_cb release, void *ref)
{
    conn_t *c = req_conn(req);
    if (!body_prefix(c, len)) {
        if (release)
            release(ref);
        return;
    }
    if (hs_oq_append_ref(&c->oq, data, len, release, ref) != 0)
        c->close_after = 1;
    body_suffix(c);
}

void hs_http_resp_body_file(hs_http_req_t *req, int fd, off_t off, size_t len,
                            hs_oq_release_cb release, void *ref)
{
    conn_t *c = req_conn(req);
    if (!body_prefix(c, len)) {
        if (release)
            release(ref);
        return;
    }
    if (hs_oq_append_file(&c->oq, fd, off, len, release, ref) != 0)
        c->close_after = 1;
    body_suffix(c);
}

bool hs_http_req_is_head(const hs_http_req_t *req)
{
    return req->msg.method == HS_HTTP_HEAD;
}

void hs_http_resp_close(hs_http_req_t *req)
{
    req_conn(req)->close_after = 1;
}

void hs_http_resp_end(hs_http_req_t *req)
{
    conn_t *c = req_conn(req);
    assert(c->req_active && c->resp_started);
    end_headers(c);
    if (c->resp_chunked && !c->resp_no_body)
        OUT_LIT(c, "0\r\n\r\n");
    if (c->resp_eof)
        c->close_after = 1;
    c->req_active = 0;
    c->resp_started = 0;
    c->body_cb = NULL;
    hs_arena_reset(&c->req.arena);
    hs_histogram_observe_ns(m_dur, now_ns() - c->req_start_ns);
    if (c->closed) {
        if (c->busy == 0)
            conn_free(c);
        return;
    }
    if (c->body_pending) {
        if (c->close_after)
            c->body_pending = 0; /* closing anyway: no need to read it */
        else
            c->discard = 1;
    }
    if (!c->in_process) {
        /* Ended asynchronously: resume the connection. */
        conn_hold(c);
        hs_io_modify(c->srv->loop, &c->io, HS_IO_READ);
        conn_process(c);
        conn_release(c);
    }
}

void hs_http_respond_text(hs_http_req_t *req, int status, const char *detail)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, hs_http_reason(status),
                     detail ? ": " : "", detail ? detail : "");
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    hs_http_resp_start(req, status, n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
    hs_http_resp_body(req, body, (size_t)n);
    hs_http_resp_end(req);
}

/* A protocol error before any handler saw the request: answer and close. */
static void conn_error(conn_t *c, int status, const char *reason)
{
    conn_error_ra(c, status, reason, 0);
}

static void conn_error_ra(conn_t *c, int status, const char *reason, uint32_t retry_after)
{
    char buf[560];
    char body[256];
    char ra[40] = "";
    if (retry_after)
        snprintf(ra, sizeof(ra), "Retry-After: %u\r\n", (unsigned)retry_after);
    int bn = snprintf(body, sizeof(body), "%d %s: %s\n", status, hs_http_reason(status),
                      reason ? reason : "bad request");
    if (bn < 0 || (size_t)bn >= sizeof(body))
        bn = (int)sizeof(body) - 1;
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nServer: hyperscale\r\nDate: %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n%s\r\n%.*s",
                     status, hs_http_reason(status), hs_http_date_now(c->srv->loop), bn, ra, bn,
                     body);
    if (n > 0 && (size_t)n < sizeof(buf))
        out(c, buf, (size_t)n);
    hs_counter_inc(m_errors);
    hs_counter_inc(m_req[status / 100 <= 5 && status >= 100 ? status / 100 : 5]);
    hs_log_debug("http_reject", "conn=%u status=%d reason=\"%s\"", c->id, status,
                 reason ? reason : "");
    c->close_after = 1;
    c->body_pending = 0;
    c->discard = 0;
}

/* ---- request bodies ---- */

void hs_http_req_read_body(hs_http_req_t *req, hs_http_body_cb cb)
{
    conn_t *c = req_conn(req);
    if (!c->body_pending) {
        cb(req, NULL, 0, 1);
        return;
    }
    c->body_cb = cb;
    if (req->msg.expect_continue && !c->continue_sent && !c->closed) {
        c->continue_sent = 1;
        OUT_LIT(c, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (!c->in_process && !c->closed) {
        conn_hold(c);
        hs_io_modify(c->srv->loop, &c->io, HS_IO_READ);
        conn_process(c);
        conn_release(c);
    }
}

void hs_http_req_pause_body(hs_http_req_t *req, bool pause)
{
    conn_t *c = req_conn(req);
    if (pause) {
        c->body_paused = 1;
        if (c->timer_kind == T_BODY)
            arm(c, T_NONE, 0); /* waiting on ourselves is not the client's fault */
        return;
    }
    if (!c->body_paused)
        return;
    c->body_paused = 0;
    if (c->closed || c->in_process || !c->body_cb)
        return;
    conn_hold(c);
    if (!c->body_pending) {
        hs_http_body_cb cb = c->body_cb; /* the end, held back while paused */
        c->body_cb = NULL;
        cb(req, NULL, 0, 1);
    } else {
        hs_io_modify(c->srv->loop, &c->io, HS_IO_READ);
        conn_process(c);
    }
    conn_release(c);
}

/* Feeds buffered body bytes to the handler or drops them. Returns true when
 * the body is complete, false when more input is needed or on error (then
 * the connection is already being closed). */
static bool consume_body(conn_t *c)
{
    char *base = in_data(c);
    while (c->body_pending) {
        if (c->body_paused && !c->discard)
            return false;
        size_t avail = c->in_len - c->in_off;
        const char *run = NULL;
        size_t runlen = 0;
        if (c->req.msg.framing == HS_HTTP_BODY_LENGTH) {
            if (!avail)
                return false;
            runlen = avail < c->body_left ? avail : (size_t)c->body_left;
            run = base + c->in_off;
            c->in_off += runlen;
            c->body_left -= runlen;
            if (c->body_left == 0)
                c->body_pending = 0;
        } else {
            ssize_t used = hs_http_chunked_decode(&c->chunked, base + c->in_off, avail, &run,
                                                  &runlen);
            if (used < 0) {
                if (c->discard || !c->req_active) {
                    /* The answer is already queued: send it, then close,
                     * since the framing of what follows is lost. */
                    c->body_pending = 0;
                    c->discard = 0;
                    c->close_after = 1;
                    hs_counter_inc(m_errors);
                    return false;
                }
                hs_http_body_cb cb = c->body_cb;
                c->body_cb = NULL;
                c->body_pending = 0;
                c->close_after = 1; /* framing is lost: whatever answers must close */
                if (cb)
                    cb(&c->req, NULL, 0, (int)used);
                if (c->req_active && !c->resp_started)
                    hs_http_respond_text(&c->req, used == HS_E2BIG ? 413 : 400,
                                         used == HS_E2BIG ? "request body too large"
                                                          : "bad chunked encoding");
                c->close_after = 1;
                return false;
            }
            c->in_off += (size_t)used;
            if (c->chunked.done)
                c->body_pending = 0;
            else if (used == 0 && runlen == 0)
                return false;
        }
        if (runlen) {
            if (c->discard) {
                c->discarded += runlen;
                if (c->discarded > DISCARD_MAX) {
                    conn_close(c);
                    return false;
                }
            } else if (c->body_cb) {
                c->body_cb(&c->req, run, runlen, 0);
                if (c->closed)
                    return false;
            }
        }
    }
    if (c->req_active && c->body_cb && !c->body_paused) {
        hs_http_body_cb cb = c->body_cb;
        c->body_cb = NULL;
        cb(&c->req, NULL, 0, 1);
    }
    c->discard = 0;
    return true;
}

/* ---- request processing ---- */

/* The gate's answer instead of the handler's: a normal response, so
 * keep-alive, pipelining and body discarding work as for any other. */
static void respond_refusal(hs_http_req_t *req, const hs_http_refusal_t *r)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s: %s\n", r->status, hs_http_reason(r->status),
                     r->reason ? r->reason : "refused");
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    if (r->close)
        hs_http_resp_close(req);
    hs_http_resp_start(req, r->status, n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
    if (r->retry_after) {
        char v[16];
        int vn = snprintf(v, sizeof(v), "%u", (unsigned)r->retry_after);
        hs_http_resp_header(req, "Retry-After", 11, v, (size_t)vn);
    }
    hs_http_resp_body(req, body, (size_t)n);
    hs_http_resp_end(req);
}

static void start_request(conn_t *c, ssize_t head_len)
{
    hs_http_msg_t *m = &c->req.msg;
    c->in_off += (size_t)head_len;
    c->body_base = c->in_off;
    c->nreq++;
    c->req_active = 1;
    c->resp_started = 0;
    c->continue_sent = 0;
    c->discard = 0;
    c->discarded = 0;
    c->body_cb = NULL;
    c->body_paused = 0;
    c->head_started = 0;
    c->head_seen = 0;
    c->keep_alive = m->keep_alive;
    c->req.loop = c->srv->loop;
    c->req.data = NULL;
    c->req.start_ms = hs_loop_now(c->srv->loop);
    c->req.conn_id = c->id;
    c->req_start_ns = now_ns();
    c->body_pending = 0;
    if (m->framing == HS_HTTP_BODY_LENGTH && m->content_length > 0) {
        c->body_pending = 1;
        c->body_left = m->content_length;
    } else if (m->framing == HS_HTTP_BODY_CHUNKED) {
        c->body_pending = 1;
        hs_http_chunked_init(&c->chunked, c->srv->o.max_body_bytes);
    }
    if (c->timer_kind != T_NONE)
        arm(c, T_NONE, 0);
    hs_http_gate_t *gate = c->srv->o.gate;
    if (gate && gate->on_request) {
        hs_http_refusal_t r = {0};
        if (!gate->on_request(gate, &c->req, &r)) {
            respond_refusal(&c->req, &r);
            return;
        }
    }
    c->srv->o.handler->on_request(c->srv->o.handler, &c->req);
}

/* Parses and runs requests from the input buffer while the connection can
 * take them, then flushes the output once. */
static void conn_process(conn_t *c)
{
    hs_http_server_t *srv = c->srv;
    c->in_process = 1;
    while (!c->closed) {
        if (c->req_active) {
            if (c->body_pending && c->body_cb) {
                consume_body(c);
                if (c->closed)
                    break;
                /* Body bytes are delivered: reuse their room for more. */
                if (c->in && c->in_off == c->in_len)
                    c->in_off = c->in_len = c->req_active ? c->body_base : 0;
                if (!c->req_active)
                    continue; /* answered from the body callback: next request */
            }
            break;
        }
        if (c->close_after)
            break;
        if (c->body_pending) { /* discarding the previous request's body */
            if (!consume_body(c))
                break;
        }
        if (c->oq.bytes > OUT_HIGH_WATER)
            break;
        size_t avail = c->in ? c->in_len - c->in_off : 0;
        if (avail == 0) {
            in_put(c);
            hs_arena_free(&c->req.arena); /* idle connections hold no memory */
            if (srv->draining || c->rd_eof) {
                c->close_after = 1;
                break;
            }
            arm(c, c->nreq ? T_IDLE : T_HEAD,
                c->nreq ? srv->o.idle_timeout_ms : srv->o.header_timeout_ms);
            break;
        }
        hs_http_error_t err = {0};
        hs_http_limits_t lim = {srv->o.max_head_bytes, srv->o.max_headers, srv->o.max_body_bytes};
        ssize_t n = HS_EAGAIN;
        /* A head arriving in pieces is re-parsed only once its end may be
         * here, so a byte-at-a-time client costs linear, not quadratic, work. */
        if (!c->head_seen || avail >= srv->o.max_head_bytes ||
            hs_http_head_maybe_complete(in_data(c) + c->in_off, avail, c->head_seen))
            n = hs_http_parse_request(in_data(c) + c->in_off, avail, &c->req.msg,
                                      (hs_http_header_t *)(void *)c->in, srv->o.max_headers,
                                      &lim, &err);
        if (n == HS_EAGAIN) {
            c->head_seen = (uint32_t)avail;
            if (c->rd_eof) { /* the rest of this head will never come */
                c->close_after = 1;
                break;
            }
            if (!c->head_started) {
                c->head_started = 1;
                /* The clock of a new connection started at accept: a
                 * client cannot buy time by sending its first byte late. */
                if (c->timer_kind != T_HEAD)
                    arm(c, T_HEAD, srv->o.header_timeout_ms);
            }
            if (c->in_off > 0) { /* make room for the rest of the head */
                memmove(in_data(c), in_data(c) + c->in_off, avail);
                c->in_off = 0;
                c->in_len = avail;
            }
            break;
        }
        if (n < 0) {
            conn_error(c, err.status ? err.status : 400, err.reason);
            break;
        }
        start_request(c, n);
    }
    c->in_process = 0;
    if (c->closed)
        return;
    if (c->rd_eof && c->body_pending && !c->req_active) {
        conn_close(c); /* a body cut short by the client's FIN */
        return;
    }
    /* Waiting for body bytes (to deliver or to drop) is bounded too. */
    if (c->body_pending && ((c->body_cb && !c->body_paused) || c->discard) &&
        c->timer_kind != T_BODY)
        arm(c, T_BODY, srv->o.body_timeout_ms);
    /* Stop reading while a handler works without wanting the body, so a
     * level-triggered loop does not spin on pipelined bytes; but lazily
     * (conn_io): a client that sends nothing meanwhile, as nearly all do,
     * costs no epoll_ctl to stop reading and none to start again. */
    unsigned want = c->oq.head ? HS_IO_WRITE : HS_IO_READ;
    if (!reads_now(c) && !c->oq.head)
        want = 0;
    if (c->rd_eof && want == HS_IO_READ)
        want = 0;
    bool lazy = want == 0 && c->req_active && !c->rd_eof && c->io.events == HS_IO_READ;
    if (!c->lingering && !lazy && c->io.events != want && !(c->oq.head))
        hs_io_modify(srv->loop, &c->io, want);
    if (c->oq.head)
        conn_flush(c);
    else if (c->close_after && !c->req_active)
        conn_linger(c);
}

static void conn_read(conn_t *c)
{
    hs_http_server_t *srv = c->srv;
    if (c->lingering) {
        char junk[4096];
        ssize_t n = read(c->io.fd, junk, sizeof(junk));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_close(c);
        return;
    }
    if (in_get(c) != 0) {
        conn_close(c);
        return;
    }
    if (c->in_len == c->in_cap) {
        if (c->in_off > 0 && !c->req_active) {
            memmove(in_data(c), in_data(c) + c->in_off, c->in_len - c->in_off);
            c->in_len -= c->in_off;
            c->in_off = 0;
        } else if (!c->req_active) {
            /* A full buffer without a complete head: the parser decides
             * between 414 and 431 from what it has seen. */
            hs_http_error_t err = {431, "request header section too large"};
            hs_http_limits_t lim = {srv->o.max_head_bytes, srv->o.max_headers,
                                    srv->o.max_body_bytes};
            hs_http_parse_request(in_data(c), c->in_len, &c->req.msg, (hs_http_header_t *)(void *)c->in,
                                  srv->o.max_headers, &lim, &err);
            conn_error(c, err.status ? err.status : 431, err.reason);
            conn_flush(c);
            return;
        } else {
            return; /* body area full: wait for the handler to consume */
        }
    }
    ssize_t n = read(c->io.fd, in_data(c) + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        if (c->body_pending && c->timer_kind == T_BODY)
            arm(c, T_BODY, srv->o.body_timeout_ms);
        if (!c->head_started && !c->req_active && !c->body_pending && c->nreq &&
            c->timer_kind == T_IDLE) {
            /* The first byte of the next request starts its head timer. */
            c->head_started = 1;
            arm(c, T_HEAD, srv->o.header_timeout_ms);
        }
        conn_process(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    bool work_left = c->req_active || (c->in && c->in_len > c->in_off) || c->oq.head;
    if (n == 0 && work_left && !c->rd_eof) {
        /* Half-close: the requests already sent still get their answers. */
        c->rd_eof = 1;
        if (c->req_active && c->body_pending && c->body_cb) {
            hs_http_body_cb cb = c->body_cb;
            c->body_cb = NULL;
            c->body_pending = 0;
            cb(&c->req, NULL, 0, HS_ECONNRESET);
            c->close_after = 1;
        }
        hs_io_modify(srv->loop, &c->io, c->oq.head ? HS_IO_WRITE : 0);
        if (!c->req_active)
            conn_process(c);
        return;
    }
    conn_close(c); /* EOF or error */
}

static void conn_io(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    conn_t *c = (conn_t *)io;
    (void)loop;
    conn_hold(c);
    if (events & HS_IO_WRITE)
        conn_flush(c);
    if (!c->closed && (events & (HS_IO_READ | HS_IO_ERROR))) {
        if (!(events & HS_IO_ERROR) && !c->lingering && !reads_now(c))
            /* bytes (or a FIN) while the handler works: reading stops
             * now, resumed when the response ends (see conn_process) */
            hs_io_modify(c->srv->loop, &c->io, c->io.events & ~HS_IO_READ);
        else
            conn_read(c);
    }
    conn_release(c);
}

/* ---- listening ---- */

static void reject_busy(hs_loop_t *loop, int fd)
{
    char r503[320];
    int n = snprintf(r503, sizeof(r503),
                     "HTTP/1.1 503 Service Unavailable\r\nServer: hyperscale\r\nDate: %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 46\r\n"
                     "Connection: close\r\nRetry-After: 1\r\n\r\n"
                     "503 Service Unavailable: too many connections\n",
                     hs_http_date_now(loop));
    /* Best effort on a fresh socket: the buffer is empty, so it fits. */
    ssize_t w = write(fd, r503, (size_t)n);
    (void)w;
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void on_accept(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    hs_http_server_t *srv = hs_container_of(io, hs_http_server_t, lio);
    (void)events;
    for (int i = 0; i < ACCEPT_BATCH && !srv->draining; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                hs_log_warn("accept_failed", "err=%s", hs_errname(HS_ERR(errno)));
            return;
        }
        if (srv->nconns >= srv->o.max_connections) {
            hs_counter_inc(m_rejected);
            reject_busy(loop, fd);
            continue;
        }
        hs_http_refusal_t refusal = {0};
        bool refused = srv->o.gate && srv->o.gate->on_accept &&
                       !srv->o.gate->on_accept(srv->o.gate, &peer, &refusal);
        conn_t *c = calloc(1, sizeof(*c));
        if (!c) {
            if (srv->o.gate && !refused && srv->o.gate->on_close)
                srv->o.gate->on_close(srv->o.gate, &peer);
            reject_busy(loop, fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->srv = srv;
        c->id = ++srv->next_id;
        c->peer = peer;
        hs_arena_init(&c->req.arena, 0);
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        srv->nconns++;
        hs_gauge_add(m_conns, 1);
        hs_counter_inc(m_accepted);
        if (hs_io_start(loop, &c->io, fd, HS_IO_READ, conn_io) != 0) {
            if (srv->o.gate && !refused && srv->o.gate->on_close)
                srv->o.gate->on_close(srv->o.gate, &peer);
            close(fd);
            c->closed = 1;
            conn_free(c);
            continue;
        }
        c->gated = srv->o.gate && !refused;
        arm(c, T_HEAD, srv->o.header_timeout_ms);
        if (refused) {
            /* Answered through the connection rather than a bare write: the
             * lingering close lets the client read it before any reset. */
            conn_error_ra(c, refusal.status, refusal.reason, refusal.retry_after);
            conn_hold(c);
            conn_flush(c);
            conn_release(c);
        }
    }
}

int hs_http_listen(const char *addr, int backlog)
{
    return hs_listen_tcp(addr, backlog);
}

int hs_http_server_start(hs_loop_t *loop, const hs_http_server_opts_t *opts,
                         hs_http_server_t **out)
{
    metrics_init();
    hs_http_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return HS_ENOMEM;
    srv->loop = loop;
    srv->o = *opts;
    if (!srv->o.max_head_bytes)
        srv->o.max_head_bytes = HS_HTTP_DEFAULT_MAX_HEAD;
    if (!srv->o.max_headers)
        srv->o.max_headers = HS_HTTP_DEFAULT_MAX_HEADERS;
    if (!srv->o.max_connections)
        srv->o.max_connections = 100000;
    /* The data area holds one full head plus room to keep reading pipelined
     * requests and body bytes behind it. */
    srv->in_block = hdr_bytes(srv) + srv->o.max_head_bytes + 16384;
    int fd = opts->listen_fd >= 0 ? opts->listen_fd : hs_http_listen(opts->listen, 4096);
    if (fd < 0) {
        free(srv);
        return fd;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    int rc = hs_io_start(loop, &srv->lio, fd, HS_IO_READ, on_accept);
    if (rc != 0) {
        close(fd);
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void hs_http_server_drain(hs_http_server_t *srv, void (*on_drained)(void *), void *arg)
{
    srv->on_drained = on_drained;
    srv->drained_arg = arg;
    if (!srv->draining) {
        srv->draining = 1;
        if (srv->lio.fd >= 0) {
            int fd = srv->lio.fd;
            hs_io_stop(srv->loop, &srv->lio);
            close(fd);
        }
    }
    conn_t *c = srv->conns;
    while (c) {
        conn_t *next = c->next;
        bool idle = !c->req_active && hs_oq_empty(&c->oq) &&
                    (!c->in || c->in_len == c->in_off) && !c->body_pending;
        if (idle && c->nreq == 0) {
            /* Accepted, request not here yet: closing now would reset a
             * client that did nothing wrong. Its request gets answered with
             * Connection: close if it arrives within a second. */
            arm(c, T_HEAD, 1000);
        } else if (idle) {
            conn_close(c);
        }
        /* Busy ones finish: `draining` makes their next answer say
         * Connection: close, and they close once nothing is buffered. */
        c = next;
    }
    server_check_drained(srv);
}

void hs_http_server_close_all(hs_http_server_t *srv)
{
    conn_t *c = srv->conns;
    while (c) {
        conn_t *next = c->next;
        conn_close(c);
        c = next;
    }
}

void hs_http_server_free(hs_http_server_t *srv)
{
    if (!srv)
        return;
    if (srv->lio.fd >= 0) {
        int fd = srv->lio.fd;
        hs_io_stop(srv->loop, &srv->lio);
        close(fd);
    }
    hs_http_server_close_all(srv);
    free(srv);
}

unsigned hs_http_server_connections(const hs_http_server_t *srv)
{
    return srv->nconns;
}

int hs_http_server_port(const hs_http_server_t *srv)
{
    return srv->port;
}
