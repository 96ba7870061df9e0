/*
 * Tests of the HTTP/1.1 server engine (src/http/server.c) over real
 * sockets: a server runs on its own loop in a background thread with the
 * test handler below, and the test thread talks to it with raw blocking
 * sockets (SO_RCVTIMEO, so a missing answer fails instead of hanging).
 *
 * Handler routes:
 *   /hello          200, "hello\n" with Content-Length
 *   /chunked        200, unknown length: "hello" + " world"
 *   /echo           reads the body (hs_http_req_read_body), answers "len=N sum=S\n"
 *   /delay?ms=N     answers "delayed <N>\n" after an N ms loop timer
 *   /no-read        405 without reading the body
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "http/server.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the test handler ---- */

typedef struct rstate {
    hs_timer_t timer; /* first: /delay */
    hs_http_req_t *req;
    uint64_t body_len;
    uint64_t body_sum;
    int body_err;
    unsigned delay;
} rstate_t;

static atomic_int body_errors, aborts, requests_seen;
#define STREAM_TOTAL (896u << 10) /* fits the test client's 1 MiB buffer */
#define STREAM_PIECE 65536
static atomic_int drains;
static size_t stream_sent;

static void answer_delay(hs_http_req_t *req, rstate_t *st)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "delayed %u\n", st->delay);
    hs_http_resp_start(req, 200, n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain");
    hs_http_resp_body(req, body, (size_t)n);
    req->data = NULL;
    free(st);
    hs_http_resp_end(req);
}

static void on_delay(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    rstate_t *st = (rstate_t *)t;
    answer_delay(st->req, st);
}

static void on_body(hs_http_req_t *req, const char *data, size_t len, int status)
{
    rstate_t *st = req->data;
    if (status < 0) {
        /* the engine answers or closes; on_abort ends the response */
        atomic_fetch_add(&body_errors, 1);
        /* The engine answers a framing error itself, or calls on_abort
         * when the client is gone: either way this state is ours to free. */
        req->data = NULL;
        free(st);
        return;
    }
    for (size_t i = 0; i < len; i++)
        st->body_sum += (unsigned char)data[i];
    st->body_len += len;
    if (status == 1) {
        char body[96];
        int n = snprintf(body, sizeof(body), "len=%llu sum=%llu\n",
                         (unsigned long long)st->body_len, (unsigned long long)st->body_sum);
        req->data = NULL;
        free(st);
        hs_http_resp_start(req, 200, n);
        hs_http_resp_body(req, body, (size_t)n);
        hs_http_resp_end(req);
    }
}

static bool path_is(const hs_http_req_t *req, const char *p)
{
    size_t n = strlen(p);
    return req->msg.path.len == n && memcmp(req->msg.path.base, p, n) == 0;
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    atomic_fetch_add(&requests_seen, 1);
    if (path_is(req, "/hello")) {
        hs_http_resp_start(req, 200, 6);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain");
        hs_http_resp_body(req, "hello\n", 6);
        hs_http_resp_end(req);
    } else if (path_is(req, "/chunked")) {
        hs_http_resp_start(req, 200, -1);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain");
        hs_http_resp_body(req, "hello", 5);
        hs_http_resp_body(req, "", 0); /* must not end the chunked body early */
        hs_http_resp_body(req, " world", 6);
        hs_http_resp_end(req);
    } else if (path_is(req, "/echo")) {
        rstate_t *st = calloc(1, sizeof(*st));
        st->req = req;
        req->data = st;
        hs_http_req_read_body(req, on_body);
    } else if (path_is(req, "/delay")) {
        rstate_t *st = calloc(1, sizeof(*st));
        st->req = req;
        st->delay = 100;
        if (req->msg.query.len > 3 && memcmp(req->msg.query.base, "ms=", 3) == 0)
            st->delay = (unsigned)strtoul(req->msg.query.base + 3, NULL, 10);
        req->data = st;
        hs_timer_start(req->loop, &st->timer, st->delay, on_delay);
    } else if (path_is(req, "/no-read")) {
        static const char body[] = "405 Method Not Allowed\n";
        hs_http_resp_start(req, 405, sizeof(body) - 1);
        HS_HTTP_HEADER_LIT(req, "Allow", "GET");
        hs_http_resp_body(req, body, sizeof(body) - 1);
        hs_http_resp_end(req);
    } else {
        hs_http_respond_text(req, 404, NULL);
    }
}

/* on_abort normally ends the response from a zero-delay timer; with
 * abort_sync set it ends it right inside on_abort (see
 * test_abort_ends_response_synchronously). */
static bool abort_sync;

static void on_abort_end(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    rstate_t *st = (rstate_t *)t;
    hs_http_req_t *req = st->req;
    req->data = NULL;
    free(st);
    hs_http_respond_text(req, 500, "aborted");
}

static void on_abort(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    if (req->data == (void *)&stream_sent) { /* a /stream response: just end it */
        req->data = NULL;
        hs_http_resp_end(req);
        return;
    }
    atomic_fetch_add(&aborts, 1);
    rstate_t *st = req->data;
    if (st && hs_timer_active(&st->timer))
        hs_timer_stop(req->loop, &st->timer);
    if (abort_sync) {
        req->data = NULL;
        free(st);
        hs_http_respond_text(req, 500, "aborted");
        return;
    }
    if (!st) {
        st = calloc(1, sizeof(*st));
        st->req = req;
        req->data = st;
    }
    hs_timer_start(req->loop, &st->timer, 0, on_abort_end);
}

/* /stream: 8 MiB produced in 64 KiB pieces, pausing whenever the response
 * queue is congested and resuming from on_drain (back-pressure). */

static void stream_more(hs_http_req_t *req)
{
    static char piece[STREAM_PIECE];
    while (stream_sent < STREAM_TOTAL) {
        if (hs_http_resp_congested(req))
            return; /* on_drain calls us again */
        memset(piece, 'a' + (int)(stream_sent / STREAM_PIECE % 26), sizeof(piece));
        hs_http_resp_body(req, piece, sizeof(piece));
        stream_sent += sizeof(piece);
    }
    hs_http_resp_end(req);
}

static void on_drain(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    atomic_fetch_add(&drains, 1);
    stream_more(req);
}

static void on_request_outer(hs_http_handler_t *self, hs_http_req_t *req)
{
    if (path_is(req, "/stream")) {
        stream_sent = 0;
        req->data = &stream_sent; /* tells on_abort what this is */
        hs_http_resp_start(req, 200, STREAM_TOTAL);
        stream_more(req);
        return;
    }
    if (path_is(req, "/peer")) {
        const struct sockaddr_storage *ss = hs_http_req_peer(req);
        char body[64];
        int n = snprintf(body, sizeof(body), "%d %d\n", ss->ss_family,
                         ss->ss_family == AF_INET
                             ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                             : 0);
        hs_http_resp_start(req, 200, n);
        hs_http_resp_body(req, body, (size_t)n);
        hs_http_resp_end(req);
        return;
    }
    on_request(self, req);
}

static hs_http_handler_t handler = {
    .on_request = on_request_outer, .on_abort = on_abort, .on_drain = on_drain};

/* ---- the server under test, on a loop thread ---- */

static hs_loop_t *loop;
static hs_http_server_t *srv;
static pthread_t loop_th;
static int port;

static void *loop_main(void *arg)
{
    (void)arg;
    hs_loop_run(loop);
    return NULL;
}

static hs_http_server_opts_t default_opts(void)
{
    return (hs_http_server_opts_t){
        .listen = "127.0.0.1:0",
        .handler = &handler,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 10000,
        .idle_timeout_ms = 10000,
        .send_timeout_ms = 10000,
        .listen_fd = -1,
    };
}

static void start_server(const hs_http_server_opts_t *o)
{
    loop = hs_loop_new();
    assert_non_null(loop);
    assert_int_equal(hs_http_server_start(loop, o, &srv), 0);
    port = hs_http_server_port(srv);
    assert_true(port > 0);
    assert_int_equal(pthread_create(&loop_th, NULL, loop_main, NULL), 0);
}

/* Runs fn(arg) on the loop thread and waits for it. */
typedef struct call {
    void (*fn)(void *);
    void *arg;
    sem_t done;
} call_t;

static void call_tramp(void *p)
{
    call_t *c = p;
    c->fn(c->arg);
    sem_post(&c->done);
}

static void on_loop(void (*fn)(void *), void *arg)
{
    call_t c = {.fn = fn, .arg = arg};
    sem_init(&c.done, 0, 0);
    assert_int_equal(hs_loop_post(loop, call_tramp, &c), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    assert_int_equal(sem_timedwait(&c.done, &ts), 0);
    sem_destroy(&c.done);
}

static void get_conns(void *arg)
{
    *(unsigned *)arg = hs_http_server_connections(srv);
}

static unsigned server_conns(void)
{
    unsigned n = 0;
    on_loop(get_conns, &n);
    return n;
}

static void do_close_all(void *arg)
{
    (void)arg;
    hs_http_server_close_all(srv);
}

/* Closes every connection while the loop still runs (so handlers can end
 * aborted responses), then stops the loop and frees the server. */
static void stop_server(void)
{
    on_loop(do_close_all, NULL);
    for (int i = 0; i < 200 && server_conns() != 0; i++)
        sleep_ms(5);
    hs_loop_stop(loop);
    pthread_join(loop_th, NULL);
    hs_http_server_free(srv);
    hs_loop_free(loop);
    srv = NULL;
    loop = NULL;
}

static int setup(void **state)
{
    (void)state;
    alarm(60);
    atomic_store(&body_errors, 0);
    atomic_store(&aborts, 0);
    atomic_store(&requests_seen, 0);
    abort_sync = false;
    hs_http_server_opts_t o = default_opts();
    start_server(&o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (loop)
        stop_server();
    alarm(0);
    return 0;
}

/* ---- a minimal blocking client ---- */

typedef struct client {
    int fd;
    char buf[1 << 20];
    size_t len; /* buffered, unconsumed bytes */
} client_t;

typedef struct resp {
    int status;
    int minor;
    char head[8192];
    long long content_length; /* -1 if absent */
    bool chunked;
    bool conn_close;
    char *body;
    size_t body_len;
    char raw_body[1 << 16]; /* chunked bodies as sent, framing included */
    size_t raw_len;
} resp_t;

static client_t *cl_new(void)
{
    client_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = {3, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return c;
}

static void cl_free(client_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void cl_send(client_t *c, const char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("send: %s", strerror(errno));
        off += (size_t)w;
    }
}

#define SEND(c, lit) cl_send((c), (lit), strlen(lit))

/* Reads more bytes into the buffer: >0 read, 0 EOF, -1 timeout/error. */
static ssize_t cl_fill(client_t *c)
{
    if (c->len == sizeof(c->buf))
        fail_msg("client buffer full");
    ssize_t n;
    do
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->len += (size_t)n;
    return n < 0 ? -1 : n;
}

static void cl_consume(client_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Waits until `n` bytes are buffered; false on EOF/timeout. */
static bool cl_need(client_t *c, size_t n)
{
    while (c->len < n)
        if (cl_fill(c) <= 0)
            return false;
    return true;
}

/* Index just past "\r\n" at or after `from`, or 0 if not buffered yet. */
static size_t find_crlf(client_t *c, size_t from)
{
    for (size_t i = from; i + 1 < c->len; i++)
        if (c->buf[i] == '\r' && c->buf[i + 1] == '\n')
            return i + 2;
    return 0;
}

static const char *hdr_find(const resp_t *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2] != '\r') {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ')
                p++;
            return p;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static bool hdr_has(const resp_t *r, const char *name, const char *value)
{
    const char *v = hdr_find(r, name);
    return v && strncasecmp(v, value, strlen(value)) == 0;
}

/* Reads one response. for_head: the request was HEAD (no body). Returns
 * false on EOF or timeout before a complete response. */
static bool cl_response(client_t *c, resp_t *r, bool for_head)
{
    free(r->body);
    memset(r, 0, offsetof(resp_t, raw_body));
    r->raw_len = 0;
    r->content_length = -1;
    size_t end = 0;
    for (;;) {
        char *e = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (e) {
            end = (size_t)(e - c->buf) + 4;
            break;
        }
        if (cl_fill(c) <= 0)
            return false;
    }
    assert_true(end < sizeof(r->head));
    memcpy(r->head, c->buf, end);
    r->head[end] = '\0';
    cl_consume(c, end);
    if (sscanf(r->head, "HTTP/1.%d %d", &r->minor, &r->status) != 2)
        fail_msg("bad status line: %.40s", r->head);
    const char *v;
    if ((v = hdr_find(r, "Content-Length")))
        r->content_length = atoll(v);
    r->chunked = hdr_has(r, "Transfer-Encoding", "chunked");
    r->conn_close = hdr_has(r, "Connection", "close");
    r->body = malloc(1 << 20);
    if (for_head || r->status == 304 || r->status == 204 || r->status / 100 == 1)
        return true;
    if (r->chunked) {
        for (;;) {
            size_t le;
            while (!(le = find_crlf(c, 0)))
                if (cl_fill(c) <= 0)
                    return false;
            unsigned long sz = strtoul(c->buf, NULL, 16);
            memcpy(r->raw_body + r->raw_len, c->buf, le);
            r->raw_len += le;
            cl_consume(c, le);
            if (!cl_need(c, sz + 2))
                return false;
            memcpy(r->raw_body + r->raw_len, c->buf, sz + 2);
            r->raw_len += sz + 2;
            if (sz == 0) { /* no trailers from this server */
                assert_memory_equal(c->buf, "\r\n", 2);
                cl_consume(c, 2);
                return true;
            }
            memcpy(r->body + r->body_len, c->buf, sz);
            r->body_len += sz;
            assert_memory_equal(c->buf + sz, "\r\n", 2);
            cl_consume(c, sz + 2);
        }
    }
    if (r->content_length >= 0) {
        if (!cl_need(c, (size_t)r->content_length))
            return false;
        memcpy(r->body, c->buf, (size_t)r->content_length);
        r->body_len = (size_t)r->content_length;
        cl_consume(c, r->body_len);
        return true;
    }
    /* close-delimited */
    ssize_t n;
    while ((n = cl_fill(c)) > 0)
        ;
    if (n < 0)
        return false;
    memcpy(r->body, c->buf, c->len);
    r->body_len = c->len;
    c->len = 0;
    return true;
}

static void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* True if the server closes the connection (EOF or reset) within ms, with
 * no further bytes before it. */
static bool cl_expect_close(client_t *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char b[256];
    ssize_t n = recv(c->fd, b, sizeof(b), 0);
    struct timeval tv3 = {3, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv3, sizeof(tv3));
    if (n > 0)
        fail_msg("expected close, got %zd bytes: %.*s", n, (int)n, b);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* True if nothing arrives and the connection stays open for ms. */
static bool cl_quiet(client_t *c, unsigned ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    return poll(&p, 1, (int)ms) == 0;
}

#define BODY_IS(r, lit)                                                        \
    do {                                                                       \
        assert_int_equal((r)->body_len, strlen(lit));                          \
        assert_memory_equal((r)->body, (lit), strlen(lit));                    \
    } while (0)

/* ---- tests ---- */

static void test_keep_alive_reuse(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    for (int i = 0; i < 5; i++) {
        SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_true(cl_response(c, r, false));
        assert_int_equal(r->status, 200);
        assert_int_equal(r->minor, 1);
        assert_int_equal(r->content_length, 6);
        assert_false(r->conn_close);
        assert_non_null(hdr_find(r, "Date"));
        BODY_IS(r, "hello\n");
    }
    assert_int_equal(server_conns(), 1);
    assert_int_equal(atomic_load(&requests_seen), 5);
    /* an unknown path on the same connection */
    SEND(c, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 404);
    /* HTTP/1.0 keep-alive is honoured and said so */
    SEND(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    assert_true(hdr_has(r, "Connection", "keep-alive"));
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_true(r->conn_close);
    assert_true(cl_expect_close(c, 2000));
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_pipelined_in_order_async_first(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /delay?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /delay?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    uint64_t t0 = mono_ms();
    assert_true(cl_response(c, r, false));
    assert_true(mono_ms() - t0 >= 150);
    BODY_IS(r, "delayed 200\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "delayed 10\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello world");
    assert_true(cl_quiet(c, 100));
    resp_free(r);
    free(r);
    cl_free(c);
}

/* Bytes and a FIN that arrive while the handler works (the server stops
 * reading only then, not at every request): answered in order afterwards. */
static void test_pipelined_while_busy(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /delay?ms=150 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(30);
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(30);
    SEND(c, "GET /delay?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "delayed 150\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "delayed 10\n");
    /* the same connection again, then a FIN while the handler works */
    SEND(c, "GET /delay?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(30);
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "delayed 100\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    assert_true(cl_expect_close(c, 3000));
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_post_content_length(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    /* body in the same packet as the head */
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "len=10 sum=525\n");
    /* a body (smaller than the input buffer) sent in pieces after the head */
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n");
    char piece[1000];
    memset(piece, 'x', sizeof(piece));
    sleep_ms(20);
    cl_send(c, piece, sizeof(piece));
    sleep_ms(20);
    cl_send(c, piece, sizeof(piece));
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "len=2000 sum=240000\n");
    /* Content-Length: 0 gives the end at once */
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "len=0 sum=0\n");
    /* still the same connection */
    assert_int_equal(server_conns(), 1);
    assert_int_equal(atomic_load(&body_errors), 0);
    resp_free(r);
    free(r);
    cl_free(c);
}

/* A body larger than the connection's input buffer (max_head_bytes +
 * 16 KiB), read with hs_http_req_read_body. */
static void test_post_large_body(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    /* a large body, sent in pieces after the head */
    size_t n = 300000;
    char *body = malloc(n);
    unsigned long long sum = 0;
    for (size_t i = 0; i < n; i++) {
        body[i] = (char)('a' + i % 26);
        sum += (unsigned char)body[i];
    }
    char head[128];
    snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
    SEND(c, head);
    for (size_t off = 0; off < n; off += 70000) {
        cl_send(c, body + off, off + 70000 > n ? n - off : 70000);
        sleep_ms(5);
    }
    if (!cl_response(c, r, false))
        fail_msg("no answer to a %zu-byte POST body", n);
    char want[96];
    snprintf(want, sizeof(want), "len=%zu sum=%llu\n", n, sum);
    BODY_IS(r, want);
    free(body);
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    resp_free(r);
    free(r);
    cl_free(c);
}

/* An unread body of a few hundred KiB (under the 1 MiB discard bound) is
 * skipped and the connection goes on. */
static void test_405_large_unread_body(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    size_t n = 200000;
    char *body = malloc(n);
    memset(body, 'G', n); /* looks like nothing the parser would take */
    char head[128];
    snprintf(head, sizeof(head), "POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
    SEND(c, head);
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 405);
    assert_false(r->conn_close);
    cl_send(c, body, n);
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "hello\n");
    free(body);
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_post_chunked(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n");
    sleep_ms(20);
    SEND(c, "1;ext=1\r\n \r\nA\r\n0123456789\r\n");
    sleep_ms(20);
    SEND(c, "0\r\nX-Trailer: yes\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    /* hello(532) + ' '(32) + digits(525) */
    BODY_IS(r, "len=16 sum=1089\n");
    /* the connection goes on */
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    /* bad chunked framing: 400 and close */
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 400);
    assert_true(r->conn_close);
    assert_true(cl_expect_close(c, 2000));
    assert_int_equal(atomic_load(&body_errors), 1);
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_expect_100_continue(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    assert_true(cl_need(c, sizeof(cont) - 1));
    assert_memory_equal(c->buf, cont, sizeof(cont) - 1);
    cl_consume(c, sizeof(cont) - 1);
    assert_int_equal(c->len, 0);
    SEND(c, "abcde");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "len=5 sum=495\n");
    /* a handler that does not read the body: no 100, and the connection
     * closes (the client may still send the body) */
    SEND(c, "POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 405);
    assert_true(r->conn_close);
    assert_true(cl_expect_close(c, 3000));
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_unknown_length_http11_chunked(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    assert_true(r->chunked);
    assert_int_equal(r->content_length, -1);
    assert_false(r->conn_close);
    BODY_IS(r, "hello world");
    static const char raw[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    assert_int_equal(r->raw_len, sizeof(raw) - 1);
    assert_memory_equal(r->raw_body, raw, sizeof(raw) - 1);
    /* keep-alive goes on after a chunked answer */
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_unknown_length_http10_close(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    /* even when the 1.0 client asks for keep-alive, it cannot be kept */
    SEND(c, "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    assert_false(r->chunked);
    assert_null(hdr_find(r, "Transfer-Encoding"));
    assert_int_equal(r->content_length, -1);
    assert_true(r->conn_close);
    BODY_IS(r, "hello world");
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_head_has_no_body(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, true));
    assert_int_equal(r->status, 200);
    assert_int_equal(r->content_length, 6); /* the GET's length */
    assert_true(cl_quiet(c, 150));         /* and not one body byte */
    assert_int_equal(c->len, 0);
    SEND(c, "HEAD /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, true));
    assert_int_equal(r->status, 200);
    assert_true(cl_quiet(c, 150));
    assert_int_equal(c->len, 0);
    /* pipelined HEAD then GET: the GET's status line comes right after */
    SEND(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, true));
    assert_int_equal(r->status, 200);
    assert_true(cl_need(c, 9));
    assert_memory_equal(c->buf, "HTTP/1.1 ", 9);
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_405_unread_body_then_pipelined(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 405);
    assert_false(r->conn_close);
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "hello\n");
    /* the body arriving after the answer is skipped too */
    SEND(c, "POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 405);
    assert_false(r->conn_close);
    SEND(c, "hello world");
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "hello\n");
    assert_int_equal(atomic_load(&requests_seen), 4); /* the bodies were not parsed as requests */
    resp_free(r);
    free(r);
    cl_free(c);
}

/* A request whose body the handler reads, followed by a pipelined request
 * in the same packet: both are answered, in order. */
static void test_pipelined_after_read_body(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "len=3 sum=294\n");
    bool second = cl_response(c, r, false);
    if (!second)
        fail_msg("pipelined GET after a read body was never answered");
    BODY_IS(r, "hello\n");
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_header_timeout_408(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.header_timeout_ms = 200;
    start_server(&o);
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
    uint64_t t0 = mono_ms();
    assert_true(cl_response(c, r, false));
    uint64_t took = mono_ms() - t0;
    assert_int_equal(r->status, 408);
    assert_true(r->conn_close);
    assert_true(took >= 150);
    assert_true(took < 2000);
    assert_true(cl_expect_close(c, 3000));
    cl_free(c);
    /* a connection that never sends a byte is closed too (without 408) */
    c = cl_new();
    t0 = mono_ms();
    assert_true(cl_expect_close(c, 3000));
    assert_true(mono_ms() - t0 >= 150);
    cl_free(c);
    /* the second request's head on a kept-alive connection is timed too */
    c = cl_new();
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    SEND(c, "GET /hel");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 408);
    cl_free(c);
    resp_free(r);
    free(r);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.idle_timeout_ms = 300;
    start_server(&o);
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    uint64_t t0 = mono_ms();
    assert_true(cl_expect_close(c, 3000));
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 200);
    assert_true(took < 2500);
    cl_free(c);
    /* activity restarts the idle clock */
    c = cl_new();
    for (int i = 0; i < 4; i++) {
        SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_true(cl_response(c, r, false));
        assert_int_equal(r->status, 200);
        sleep_ms(150);
    }
    cl_free(c);
    resp_free(r);
    free(r);
}

/* The idle timeout also applies after a request whose body was read. */
static void test_idle_timeout_after_body(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.idle_timeout_ms = 300;
    start_server(&o);
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "len=2 sum=209\n");
    bool closed = cl_expect_close(c, 2500);
    if (!closed)
        fail_msg("connection still open 2.5 s after a POST with idle_timeout_ms=300");
    cl_free(c);
    resp_free(r);
    free(r);
}

static void test_max_connections_503(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.max_connections = 1;
    start_server(&o);
    client_t *a = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(a, r, false));
    assert_int_equal(r->status, 200);
    client_t *b = cl_new();
    assert_true(cl_response(b, r, false));
    assert_int_equal(r->status, 503);
    assert_true(r->conn_close);
    assert_non_null(hdr_find(r, "Retry-After"));
    assert_true(cl_expect_close(b, 2000));
    cl_free(b);
    /* a client that sends its request at once still reads the 503 */
    for (int i = 0; i < 5; i++) {
        b = cl_new();
        SEND(b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        if (!cl_response(b, r, false))
            fail_msg("round %d: no 503 for a client that sent its request (%s)", i,
                     strerror(errno));
        assert_int_equal(r->status, 503);
        cl_free(b);
    }
    /* the first connection is unaffected */
    SEND(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(a, r, false));
    assert_int_equal(r->status, 200);
    assert_int_equal(server_conns(), 1);
    /* once it is gone, a new connection is served */
    cl_free(a);
    for (int i = 0; i < 100 && server_conns() != 0; i++)
        sleep_ms(10);
    assert_int_equal(server_conns(), 0);
    client_t *d = cl_new();
    SEND(d, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(d, r, false));
    assert_int_equal(r->status, 200);
    cl_free(d);
    resp_free(r);
    free(r);
}

static atomic_int drained;
static void on_drained(void *arg)
{
    (void)arg;
    atomic_store(&drained, 1);
}

static void do_drain(void *arg)
{
    (void)arg;
    hs_http_server_drain(srv, on_drained, NULL);
}

static void test_drain(void **state)
{
    (void)state;
    atomic_store(&drained, 0);
    resp_t *r = calloc(1, sizeof(*r));
    client_t *idle = cl_new();
    SEND(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(idle, r, false));
    assert_int_equal(r->status, 200);
    client_t *busy = cl_new();
    SEND(busy, "GET /delay?ms=400 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(50); /* the request is with the handler */
    assert_int_equal(server_conns(), 2);
    uint64_t t0 = mono_ms();
    on_loop(do_drain, NULL);
    /* the idle connection is closed at once */
    assert_true(cl_expect_close(idle, 1000));
    assert_true(mono_ms() - t0 < 300);
    assert_int_equal(atomic_load(&drained), 0);
    /* the in-flight response completes, then the connection closes */
    assert_true(cl_response(busy, r, false));
    assert_int_equal(r->status, 200);
    BODY_IS(r, "delayed 400\n");
    assert_true(r->conn_close);
    assert_true(cl_expect_close(busy, 3000));
    cl_free(busy);
    for (int i = 0; i < 300 && !atomic_load(&drained); i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&drained), 1);
    assert_int_equal(server_conns(), 0);
    /* no new connections are accepted */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    cl_free(idle);
    resp_free(r);
    free(r);
}

/* A client that goes away while its response is pending: on_abort runs,
 * and the server forgets the connection. */
static void test_client_gone_during_async(void **state)
{
    (void)state;
    client_t *c = cl_new();
    SEND(c, "GET /delay?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(50);
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* RST */
    cl_free(c);
    for (int i = 0; i < 200 && server_conns() != 0; i++)
        sleep_ms(10);
    assert_int_equal(server_conns(), 0);
    assert_int_equal(atomic_load(&aborts), 1);
    /* the server still serves */
    client_t *d = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(d, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(d, r, false));
    assert_int_equal(r->status, 200);
    cl_free(d);
    resp_free(r);
    free(r);
}

static void test_bad_request_closes(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 400);
    assert_true(r->conn_close);
    assert_true(cl_expect_close(c, 2000));
    assert_int_equal(atomic_load(&requests_seen), 0);
    cl_free(c);
    resp_free(r);
    free(r);
}

static void test_max_requests_per_conn(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.max_requests_per_conn = 2;
    start_server(&o);
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    assert_false(r->conn_close);
    assert_true(cl_response(c, r, false));
    assert_true(r->conn_close);
    BODY_IS(r, "hello\n");
    assert_true(cl_expect_close(c, 3000));
    assert_int_equal(atomic_load(&requests_seen), 2);
    cl_free(c);
    resp_free(r);
    free(r);
}

/* A client that half-closes after sending its requests still gets every
 * answer, then the server closes. */
static void test_half_close_answers_sent_requests(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "GET /delay?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "delayed 100\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    assert_true(cl_expect_close(c, 3000));
    cl_free(c);
    /* a head cut short by the FIN: no request reaches the handler */
    int before = atomic_load(&requests_seen);
    c = cl_new();
    SEND(c, "GET /hello HTTP/1.1\r\nHo");
    assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
    assert_true(cl_expect_close(c, 3000));
    assert_int_equal(atomic_load(&requests_seen), before);
    cl_free(c);
    for (int i = 0; i < 200 && server_conns() != 0; i++)
        sleep_ms(5);
    assert_int_equal(server_conns(), 0);
    resp_free(r);
    free(r);
}

/* A large chunked body, in pieces, read with hs_http_req_read_body. */
static void test_post_large_chunked_body(void **state)
{
    (void)state;
    client_t *c = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[10000];
    memset(chunk, 'q', sizeof(chunk));
    size_t total = 0;
    for (int i = 0; i < 30; i++) {
        char sz[16];
        int n = snprintf(sz, sizeof(sz), "%zx\r\n", sizeof(chunk));
        cl_send(c, sz, (size_t)n);
        cl_send(c, chunk, sizeof(chunk));
        SEND(c, "\r\n");
        total += sizeof(chunk);
        if (i % 5 == 0)
            sleep_ms(2);
    }
    SEND(c, "0\r\n\r\n");
    if (!cl_response(c, r, false))
        fail_msg("no answer to a %zu-byte chunked body", total);
    char want[96];
    snprintf(want, sizeof(want), "len=%zu sum=%zu\n", total, total * (size_t)'q');
    BODY_IS(r, want);
    SEND(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(c, r, false));
    BODY_IS(r, "hello\n");
    resp_free(r);
    free(r);
    cl_free(c);
}

/* A body that stops arriving: the body callback gets HS_ETIMEDOUT and the
 * connection is closed. */
static void test_body_timeout(void **state)
{
    (void)state;
    stop_server();
    hs_http_server_opts_t o = default_opts();
    o.body_timeout_ms = 200;
    start_server(&o);
    client_t *c = cl_new();
    SEND(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345");
    uint64_t t0 = mono_ms();
    assert_true(cl_expect_close(c, 3000));
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 150);
    assert_true(took < 2500);
    assert_int_equal(atomic_load(&body_errors), 1);
    cl_free(c);
    for (int i = 0; i < 200 && server_conns() != 0; i++)
        sleep_ms(5);
    assert_int_equal(server_conns(), 0);
}

/* server.h: on_abort "must still end the response". Ending it right inside
 * on_abort must be safe. Runs last: on failure it corrupts the heap. */
/* A producer that respects hs_http_resp_congested gets on_drain calls and
 * the slow client still receives every byte, in order. */
static void test_stream_backpressure(void **state)
{
    (void)state;
    atomic_store(&drains, 0);
    client_t *c = cl_new();
    int small = 16384;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    SEND(c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(300); /* let the server hit its high-water mark */
    resp_t *r = calloc(1, sizeof(*r));
    assert_true(cl_response(c, r, false));
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, STREAM_TOTAL);
    for (size_t i = 0; i < STREAM_TOTAL; i += STREAM_PIECE)
        assert_int_equal(r->body[i], 'a' + (int)(i / STREAM_PIECE % 26));
    assert_true(atomic_load(&drains) > 0);
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_peer_address(void **state)
{
    (void)state;
    client_t *c = cl_new();
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&me, &ml), 0);
    SEND(c, "GET /peer HTTP/1.1\r\nHost: t\r\n\r\n");
    resp_t *r = calloc(1, sizeof(*r));
    assert_true(cl_response(c, r, false));
    char want[64];
    snprintf(want, sizeof(want), "%d %d\n", AF_INET, ntohs(me.sin_port));
    assert_int_equal(r->body_len, strlen(want));
    assert_memory_equal(r->body, want, strlen(want));
    resp_free(r);
    free(r);
    cl_free(c);
}

static void test_abort_ends_response_synchronously(void **state)
{
    (void)state;
    abort_sync = true;
    for (int k = 0; k < 3; k++) {
        client_t *c = cl_new();
        SEND(c, "GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
        sleep_ms(50);
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        cl_free(c);
        for (int i = 0; i < 200 && server_conns() != 0; i++)
            sleep_ms(5);
        assert_int_equal(server_conns(), 0);
    }
    assert_int_equal(atomic_load(&aborts), 3);
    /* hs_http_server_close_all (after a drain timeout, or from
     * hs_http_server_free) with a response in flight */
    client_t *c = cl_new();
    SEND(c, "GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
    sleep_ms(50);
    assert_int_equal(server_conns(), 1);
    on_loop(do_close_all, NULL);
    assert_int_equal(atomic_load(&aborts), 4);
    assert_int_equal(server_conns(), 0);
    assert_true(cl_expect_close(c, 2000));
    cl_free(c);
    client_t *d = cl_new();
    resp_t *r = calloc(1, sizeof(*r));
    SEND(d, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(cl_response(d, r, false));
    assert_int_equal(r->status, 200);
    cl_free(d);
    resp_free(r);
    free(r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    hs_log_set_level(HS_LOG_ERROR);
    if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='test_drain*' */
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_alive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_in_order_async_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_while_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_large_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_405_large_unread_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_100_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_length_http11_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_length_http10_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_405_unread_body_then_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_after_read_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_timeout_408, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout_after_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_during_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_request_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_requests_per_conn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close_answers_sent_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_large_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_ends_response_synchronously, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
