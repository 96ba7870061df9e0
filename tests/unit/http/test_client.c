/*
 * Unit tests of the HTTP/1.1 client and its upstream pools
 * (src/http/client.c). Each test runs a real hyperscale HTTP server on the
 * same loop (127.0.0.1, port 0) and, for misbehaving upstreams, small raw
 * socket servers written here. Every loop run is bounded by a guard timer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/str.h"
#include "http/client.h"
#include "http/parse.h"
#include "http/server.h"

static hs_loop_t *L;
static hs_http_server_t *S;
static hs_http_client_t *C;
static char UP[64]; /* "127.0.0.1:<port of S>" */
static hs_timer_t guard;
static bool guard_fired;
static bool running; /* hs_loop_stop outside a run would stop the next one */
static int pending;

static void guard_cb(hs_loop_t *loop, hs_timer_t *t)
{
    (void)t;
    guard_fired = true;
    hs_loop_stop(loop);
}

/* Runs the loop until the test stops it, at most ms. */
static void run_for(uint64_t ms)
{
    guard_fired = false;
    hs_timer_start(L, &guard, ms, guard_cb);
    running = true;
    hs_loop_run(L);
    running = false;
    hs_timer_stop(L, &guard);
}

/* Runs until every pending call is done; fails on the guard. */
static void run(void)
{
    run_for(5000);
    assert_false(guard_fired);
    assert_int_equal(pending, 0);
}

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the test handler of the real server ---- */

static unsigned srv_requests;
static unsigned srv_active, srv_max_active;
static hs_http_req_t *srv_held[16]; /* requests answered only on abort */
static unsigned srv_nheld;
static char big[4 << 20];

typedef struct slow {
    hs_timer_t t;
    hs_http_req_t *req;
} slow_t;

static void slow_cb(hs_loop_t *loop, hs_timer_t *t)
{
    slow_t *s = (slow_t *)t;
    char b[64];
    int n = snprintf(b, sizeof(b), "conn=%u", s->req->conn_id);
    (void)loop;
    srv_active--;
    hs_http_resp_start(s->req, 200, n);
    hs_http_resp_body(s->req, b, (size_t)n);
    hs_http_resp_end(s->req);
    free(s);
}

static size_t body_seen;

static void body_cb(hs_http_req_t *req, const char *data, size_t len, int status)
{
    (void)data;
    if (status == 0) {
        body_seen += len;
        return;
    }
    char b[64];
    int n = snprintf(b, sizeof(b), "len=%zu chunked=%d", body_seen,
                     req->msg.framing == HS_HTTP_BODY_CHUNKED);
    if (status < 0) { /* connection gone: end it later (server.c bug, see on_abort) */
        assert_true(srv_nheld < 16);
        srv_held[srv_nheld++] = req;
        return;
    }
    hs_http_resp_start(req, 200, n);
    hs_http_resp_body(req, b, (size_t)n);
    hs_http_resp_end(req);
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    srv_requests++;
    hs_str_t p = req->msg.path;
    char b[128];
    if (HS_STR_EQ(p, "/hello")) {
        hs_http_resp_start(req, 200, 11);
        HS_HTTP_HEADER_LIT(req, "X-Test", "yes");
        hs_http_resp_body(req, "hello world", 11);
        hs_http_resp_end(req);
    } else if (HS_STR_EQ(p, "/chunked")) {
        hs_http_resp_start(req, 200, -1);
        hs_http_resp_body(req, "abc", 3);
        hs_http_resp_body(req, "defg", 4);
        hs_http_resp_body(req, "hij", 3);
        hs_http_resp_end(req);
    } else if (HS_STR_EQ(p, "/conn")) {
        int n = snprintf(b, sizeof(b), "conn=%u", req->conn_id);
        hs_http_resp_start(req, 200, n);
        hs_http_resp_body(req, b, (size_t)n);
        hs_http_resp_end(req);
    } else if (HS_STR_EQ(p, "/slow")) {
        slow_t *s = calloc(1, sizeof(*s));
        s->req = req;
        if (++srv_active > srv_max_active) srv_max_active = srv_active;
        hs_timer_start(req->loop, &s->t, 50, slow_cb);
    } else if (HS_STR_EQ(p, "/echo-len")) {
        body_seen = 0;
        hs_http_req_read_body(req, body_cb);
    } else if (HS_STR_EQ(p, "/big")) {
        hs_http_resp_start(req, 200, (int64_t)sizeof(big));
        hs_http_resp_body_ref(req, big, sizeof(big), NULL, NULL);
        hs_http_resp_end(req);
    } else if (HS_STR_EQ(p, "/head")) {
        hs_http_resp_start(req, 200, 1000);
        hs_http_resp_body(req, big, 1000);
        hs_http_resp_end(req);
    } else if (HS_STR_EQ(p, "/never") || HS_STR_EQ(p, "/partial")) {
        if (HS_STR_EQ(p, "/partial")) {
            hs_http_resp_start(req, 200, 100000);
            hs_http_resp_body(req, "0123456789", 10);
        }
        assert_true(srv_nheld < 16);
        srv_held[srv_nheld++] = req;
    } else {
        hs_http_respond_text(req, 404, NULL);
    }
}

/* Held requests are ended at teardown, not from on_abort: the server frees
 * the connection inside hs_http_resp_end when it was already closed, and
 * conn_close then reads it (see the report: use-after-free in server.c).
 * Ending them later is what the handler contract allows too. */
static void on_abort(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    (void)req;
}

static void end_held(void)
{
    while (srv_nheld) {
        hs_http_req_t *req = srv_held[--srv_nheld];
        if (HS_STR_EQ(req->msg.path, "/partial"))
            hs_http_resp_end(req);
        else
            hs_http_respond_text(req, 500, NULL);
    }
}

static hs_http_handler_t handler = {.on_request = on_request, .on_abort = on_abort};

static hs_http_server_t *server_start(uint64_t idle_timeout_ms)
{
    hs_http_server_opts_t o = {.listen = "127.0.0.1:0",
                               .handler = &handler,
                               .idle_timeout_ms = idle_timeout_ms,
                               .listen_fd = -1};
    hs_http_server_t *s = NULL;
    assert_int_equal(hs_http_server_start(L, &o, &s), 0);
    return s;
}

/* ---- raw upstreams that misbehave on purpose ---- */

typedef struct raw_conn raw_conn_t;
typedef struct raw_srv {
    hs_io_t lio;
    int port;
    int accepted;
    /* Called with every complete request in the connection's buffer. */
    void (*on_req)(raw_conn_t *rc);
    hs_io_cb io_cb; /* NULL: raw_io */
    raw_conn_t *conns;
} raw_srv_t;

struct raw_conn {
    hs_io_t io;
    raw_srv_t *srv;
    raw_conn_t *next;
    int idx;
    int nreq;
    bool closed;
    size_t len;
    uint64_t sunk; /* sink mode: bytes received */
    char buf[300000];
};

static void raw_close(raw_conn_t *rc)
{
    if (rc->closed) return;
    int fd = rc->io.fd;
    hs_io_stop(L, &rc->io);
    close(fd);
    rc->closed = true;
}

static void raw_send(raw_conn_t *rc, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(rc->io.fd, s, n), (ssize_t)n);
}

/* Bytes of the first complete request in buf (head + Content-Length body),
 * or 0. */
static size_t raw_complete(const raw_conn_t *rc)
{
    const char *e = memmem(rc->buf, rc->len, "\r\n\r\n", 4);
    if (!e) return 0;
    size_t head = (size_t)(e - rc->buf) + 4;
    const char *cl = memmem(rc->buf, head, "Content-Length: ", 16);
    size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
    return rc->len >= head + body ? head + body : 0;
}

static void raw_io(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    raw_conn_t *rc = (raw_conn_t *)io;
    (void)loop;
    (void)events;
    ssize_t n = read(io->fd, rc->buf + rc->len, sizeof(rc->buf) - rc->len);
    if (n <= 0) {
        raw_close(rc);
        return;
    }
    rc->len += (size_t)n;
    size_t used;
    while (!rc->closed && (used = raw_complete(rc)) > 0) {
        rc->nreq++;
        rc->srv->on_req(rc);
        if (rc->closed) return;
        memmove(rc->buf, rc->buf + used, rc->len - used);
        rc->len -= used;
    }
}

static void raw_accept(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    raw_srv_t *rs = (raw_srv_t *)io;
    (void)events;
    int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    raw_conn_t *rc = calloc(1, sizeof(*rc));
    rc->srv = rs;
    rc->idx = rs->accepted++;
    rc->next = rs->conns;
    rs->conns = rc;
    assert_int_equal(hs_io_start(loop, &rc->io, fd, HS_IO_READ, rs->io_cb ? rs->io_cb : raw_io), 0);
}

static void raw_start(raw_srv_t *rs, void (*on_req)(raw_conn_t *))
{
    memset(rs, 0, sizeof(*rs));
    rs->on_req = on_req;
    int fd = hs_http_listen("127.0.0.1:0", 16);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    rs->port = ntohs(sa.sin_port);
    assert_int_equal(hs_io_start(L, &rs->lio, fd, HS_IO_READ, raw_accept), 0);
}

static void raw_stop(raw_srv_t *rs)
{
    int fd = rs->lio.fd;
    hs_io_stop(L, &rs->lio);
    close(fd);
    while (rs->conns) {
        raw_conn_t *rc = rs->conns;
        rs->conns = rc->next;
        raw_close(rc);
        free(rc);
    }
}

static void raw_name(const raw_srv_t *rs, char *buf)
{
    sprintf(buf, "127.0.0.1:%d", rs->port);
}

/* ---- client-side result collection ---- */

typedef struct res {
    int done;
    int status;
    int http_status;
    int heads;
    int bodies;
    hs_http_framing_t framing;
    bool keep_alive;
    bool has_x_test;
    size_t body_len;
    uint64_t total;
    uint64_t discarded;
    char body[4096];
    hs_http_call_t *call;
    /* behaviour */
    bool cancel_on_head;
    bool pause_on_first_body;
    uint64_t paused_at_total;
    size_t first_len;
    uint64_t done_ms;
    void (*then)(struct res *r); /* called from on_done (chaining) */
    int chain_left;
    const char *next_target; /* chain_next's request ("/conn" when NULL) */
} res_t;

static void r_head(void *ctx, const hs_http_msg_t *m)
{
    res_t *r = ctx;
    r->heads++;
    r->http_status = m->status;
    r->framing = m->framing;
    r->keep_alive = m->keep_alive;
    r->has_x_test = hs_http_find_header(m, "x-test", 6, 0) >= 0;
    if (r->cancel_on_head) hs_http_call_cancel(r->call);
}

static hs_timer_t resume_timer;
static res_t *resume_res;
static void resume_cb(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    (void)t;
    resume_res->paused_at_total = resume_res->total;
    hs_http_call_pause(resume_res->call, false);
}

static void r_body(void *ctx, const char *data, size_t len)
{
    res_t *r = ctx;
    assert_int_equal(r->done, 0);
    r->bodies++;
    r->total += len;
    if (!data) { /* a discarding call: bytes dropped in the kernel */
        r->discarded += len;
        return;
    }
    size_t room = sizeof(r->body) - r->body_len, k = len < room ? len : room;
    memcpy(r->body + r->body_len, data, k);
    r->body_len += k;
    if (r->bodies == 1) r->first_len = len;
    if (r->pause_on_first_body && r->bodies == 1) {
        hs_http_call_pause(r->call, true);
        resume_res = r;
        hs_timer_start(L, &resume_timer, 100, resume_cb);
    }
}

static void r_done(void *ctx, int status)
{
    res_t *r = ctx;
    r->done++;
    r->status = status;
    r->done_ms = ms_now();
    if (r->body_len < sizeof(r->body)) r->body[r->body_len] = '\0';
    if (r->then && r->chain_left > 0) {
        r->chain_left--;
        r->then(r);
        return;
    }
    if (--pending == 0 && running) hs_loop_stop(L);
}

static const hs_http_client_cbs_t CBS = {r_head, r_body, r_done, NULL};

static int start(res_t *r, const char *up, hs_http_method_t m, const char *target)
{
    hs_http_client_req_t req = {.method = m, .target = {target, strlen(target)}};
    int rc = hs_http_client_request(C, up, &req, &CBS, r, &r->call);
    if (rc == 0) pending++;
    return rc;
}

static void request_ok(res_t *r, const char *up, hs_http_method_t m, const char *target)
{
    assert_int_equal(start(r, up, m, target), 0);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    L = hs_loop_new();
    assert_non_null(L);
    S = server_start(0);
    sprintf(UP, "127.0.0.1:%d", hs_http_server_port(S));
    C = hs_http_client_new(L, NULL);
    assert_non_null(C);
    pending = 0;
    srv_requests = srv_active = srv_max_active = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hs_http_client_free(C);
    end_held();
    hs_http_server_free(S);
    hs_loop_free(L);
    return 0;
}

static void client_reopen(const hs_http_client_opts_t *o)
{
    hs_http_client_free(C);
    C = hs_http_client_new(L, o);
    assert_non_null(C);
}

/* Distinct "conn=N" values seen in bodies. */
static unsigned distinct_conns(res_t *r, unsigned n)
{
    unsigned ids[64], k = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned id;
        assert_int_equal(sscanf(r[i].body, "conn=%u", &id), 1);
        bool seen = false;
        for (unsigned j = 0; j < k; j++)
            seen |= ids[j] == id;
        if (!seen) ids[k++] = id;
    }
    return k;
}

static uint64_t counter(const char *name, const char *labels)
{
    return hs_counter_value(hs_counter(name, labels, "x"));
}

/* ---- tests ---- */

static void test_get_content_length(void **state)
{
    (void)state;
    res_t r = {0};
    uint64_t reqs = counter("hs_upstream_requests_total", NULL);
    hs_histogram_t *h = hs_histogram("hs_upstream_response_seconds", NULL, "x");
    uint64_t observed = hs_histogram_count(h);
    request_ok(&r, UP, HS_HTTP_GET, "/hello");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.framing, HS_HTTP_BODY_LENGTH);
    assert_true(r.has_x_test);
    assert_string_equal(r.body, "hello world");
    assert_int_equal(counter("hs_upstream_requests_total", NULL), reqs + 1);
    assert_int_equal(hs_histogram_count(h), observed + 1);
    /* The connection went back to the pool. */
    assert_int_equal(hs_http_client_idle(C), 1);
}

static void test_not_found_and_localhost(void **state)
{
    (void)state;
    res_t r = {0};
    char up[64];
    sprintf(up, "localhost:%d", hs_http_server_port(S));
    request_ok(&r, up, HS_HTTP_GET, "/nope");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 404);
    assert_non_null(strstr(r.body, "404 Not Found"));
}

static void test_chunked_response(void **state)
{
    (void)state;
    res_t r = {0};
    request_ok(&r, UP, HS_HTTP_GET, "/chunked");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.framing, HS_HTTP_BODY_CHUNKED);
    assert_string_equal(r.body, "abcdefghij");
    assert_int_equal(hs_http_client_idle(C), 1); /* chunked end detected: reusable */
}

static void raw_close_delimited(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    raw_close(rc);
}

static void test_close_delimited(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_close_delimited);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.framing, HS_HTTP_BODY_EOF);
    assert_false(r.keep_alive);
    assert_string_equal(r.body, "until the end");
    assert_int_equal(hs_http_client_connections(C), 0); /* never pooled */
    raw_stop(&rs);
}

static void chain_next(res_t *r)
{
    /* Issue the next request from on_done: the connection must already be
     * back in the pool. */
    res_t *next = r + 1;
    const char *t = r->next_target ? r->next_target : "/conn";
    assert_int_equal(hs_http_client_request(C, UP,
                                            &(hs_http_client_req_t){.method = HS_HTTP_GET,
                                                                    .target = {t, strlen(t)}},
                                            &CBS, next, &next->call),
                     0);
    /* pending is unchanged: r is done, next has started. */
}

static void test_keep_alive_reuse(void **state)
{
    (void)state;
    res_t r[5] = {0};
    for (int i = 0; i < 4; i++) {
        r[i].then = chain_next;
        r[i].chain_left = 1;
    }
    uint64_t opened = counter("hs_upstream_connections_opened_total", NULL);
    uint64_t reused = counter("hs_upstream_connections_reused_total", NULL);
    request_ok(&r[0], UP, HS_HTTP_GET, "/conn");
    run();
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].status, 0);
        assert_int_equal(r[i].done, 1);
    }
    assert_int_equal(distinct_conns(r, 5), 1);
    assert_int_equal(srv_requests, 5);
    assert_int_equal(counter("hs_upstream_connections_opened_total", NULL), opened + 1);
    assert_int_equal(counter("hs_upstream_connections_reused_total", NULL), reused + 4);
    assert_int_equal(hs_http_server_connections(S), 1);
}

static void test_pool_limits(void **state)
{
    (void)state;
    hs_http_client_opts_t o = {
        .max_conns_per_upstream = 2, .max_idle_per_upstream = 1, .max_queue_per_upstream = 4};
    client_reopen(&o);
    res_t r[7] = {0};
    for (int i = 0; i < 6; i++)
        request_ok(&r[i], UP, HS_HTTP_GET, "/slow");
    /* 2 connecting + 4 queued: the queue is full. */
    assert_int_equal(hs_http_client_connections(C), 2);
    assert_int_equal(start(&r[6], UP, HS_HTTP_GET, "/slow"), HS_ELIMIT);
    run();
    for (int i = 0; i < 6; i++)
        assert_int_equal(r[i].status, 0);
    assert_int_equal(r[6].done, 0); /* refused synchronously: no callback */
    assert_int_equal(srv_max_active, 2);
    assert_int_equal(distinct_conns(r, 6), 2);
    /* One idle connection kept, the other closed. */
    assert_int_equal(hs_http_client_idle(C), 1);
    assert_int_equal(hs_http_client_connections(C), 1);
}

static hs_timer_t wait_timer;
static void wait_cb(hs_loop_t *loop, hs_timer_t *t)
{
    (void)t;
    hs_loop_stop(loop);
}

static void test_server_closes_idle(void **state)
{
    (void)state;
    hs_http_server_free(S);
    S = server_start(100); /* closes idle keep-alive connections after 100 ms */
    sprintf(UP, "127.0.0.1:%d", hs_http_server_port(S));
    res_t r[2] = {0};
    request_ok(&r[0], UP, HS_HTTP_GET, "/conn");
    run();
    assert_int_equal(hs_http_client_idle(C), 1);
    hs_timer_start(L, &wait_timer, 400, wait_cb);
    run_for(2000);
    /* The pool saw the EOF and dropped the connection. */
    assert_int_equal(hs_http_client_idle(C), 0);
    assert_int_equal(hs_http_client_connections(C), 0);
    request_ok(&r[1], UP, HS_HTTP_GET, "/conn");
    run();
    assert_int_equal(r[1].status, 0);
    assert_int_equal(distinct_conns(r, 2), 2);
}

/* Answers the first request of the first connection with keep-alive, then
 * closes that connection when the next request arrives (the keep-alive
 * race made deterministic); later connections answer normally. */
static void raw_stale(raw_conn_t *rc)
{
    if (rc->idx == 0 && rc->nreq == 2) {
        raw_close(rc);
        return;
    }
    raw_send(rc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void test_retry_on_stale_connection(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_stale);
    raw_name(&rs, up);
    res_t r[3] = {0};
    uint64_t retries = counter("hs_upstream_retries_total", NULL);
    request_ok(&r[0], up, HS_HTTP_GET, "/a");
    run();
    assert_int_equal(r[0].status, 0);
    assert_int_equal(hs_http_client_idle(C), 1);
    request_ok(&r[1], up, HS_HTTP_GET, "/b");
    run();
    assert_int_equal(r[1].status, 0);
    assert_string_equal(r[1].body, "ok");
    assert_int_equal(r[1].heads, 1);
    assert_int_equal(rs.accepted, 2);
    assert_int_equal(counter("hs_upstream_retries_total", NULL), retries + 1);
    raw_stop(&rs);

    /* Not idempotent: the same race is reported, not retried. */
    raw_start(&rs, raw_stale);
    raw_name(&rs, up);
    request_ok(&r[2], up, HS_HTTP_GET, "/a");
    run();
    res_t p = {0};
    request_ok(&p, up, HS_HTTP_POST, "/b");
    run();
    assert_int_equal(p.status, HS_ECONNRESET);
    assert_int_equal(p.heads, 0);
    assert_int_equal(rs.accepted, 1);
    raw_stop(&rs);

    /* PUT with an in-memory body is idempotent and can be re-sent. */
    raw_start(&rs, raw_stale);
    raw_name(&rs, up);
    res_t q[2] = {0};
    request_ok(&q[0], up, HS_HTTP_GET, "/a");
    run();
    hs_http_client_req_t put = {.method = HS_HTTP_PUT,
                                .target = HS_STR_LIT("/b"),
                                .body_kind = HS_HTTP_CLIENT_BODY_BUFFER,
                                .body = "data",
                                .body_len = 4};
    assert_int_equal(hs_http_client_request(C, up, &put, &CBS, &q[1], &q[1].call), 0);
    pending++;
    run();
    assert_int_equal(q[1].status, 0);
    assert_string_equal(q[1].body, "ok");
    assert_int_equal(rs.accepted, 2);
    raw_stop(&rs);
}

static void test_connection_refused(void **state)
{
    (void)state;
    int fd = hs_http_listen("127.0.0.1:0", 1);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd); /* the port is now free and nobody listens */
    char up[64];
    sprintf(up, "127.0.0.1:%d", ntohs(sa.sin_port));
    uint64_t refused = counter("hs_upstream_errors_total", "kind=\"refused\"");
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    assert_int_equal(r.done, 0); /* never from inside the request call */
    run();
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, HS_ECONNREFUSED);
    assert_int_equal(r.heads, 0);
    assert_int_equal(hs_http_client_connections(C), 0);
    assert_int_equal(counter("hs_upstream_errors_total", "kind=\"refused\""), refused + 1);
}

static void test_read_timeout(void **state)
{
    (void)state;
    hs_http_client_opts_t o = {.read_timeout_ms = 200};
    client_reopen(&o);
    res_t r = {0};
    uint64_t t0 = ms_now();
    request_ok(&r, UP, HS_HTTP_GET, "/never");
    run();
    assert_int_equal(r.status, HS_ETIMEDOUT);
    assert_true(r.done_ms - t0 >= 190);
    assert_true(r.done_ms - t0 < 2000);
    assert_int_equal(hs_http_client_connections(C), 0);
}

static void test_connect_timeout(void **state)
{
    (void)state;
    /* A listener that never accepts, with its accept queue full: further
     * SYNs are dropped, so a connect hangs until our timeout. */
    int lfd = hs_http_listen("127.0.0.1:0", 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sa, sl);
    }
    hs_http_client_opts_t o = {.connect_timeout_ms = 200};
    client_reopen(&o);
    char up[64];
    sprintf(up, "127.0.0.1:%d", ntohs(sa.sin_port));
    uint64_t ct = counter("hs_upstream_errors_total", "kind=\"connect_timeout\"");
    res_t r = {0};
    uint64_t t0 = ms_now();
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, HS_ETIMEDOUT);
    assert_true(r.done_ms - t0 >= 190 && r.done_ms - t0 < 2000);
    assert_int_equal(counter("hs_upstream_errors_total", "kind=\"connect_timeout\""), ct + 1);
    assert_int_equal(hs_http_client_connections(C), 0);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

static void raw_huge_head(raw_conn_t *rc)
{
    static char b[4000];
    memset(b, 0, sizeof(b));
    strcpy(b, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(b + strlen(b), 'a', 3000);
    strcat(b, "\r\nContent-Length: 0\r\n\r\n");
    raw_send(rc, b);
}

static void test_response_head_limit(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_huge_head);
    raw_name(&rs, up);
    hs_http_client_opts_t o = {.max_response_head = 1024};
    client_reopen(&o);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, HS_EBADMSG);
    assert_int_equal(r.heads, 0);
    /* The same answer fits the default limit. */
    client_reopen(NULL);
    res_t r2 = {0};
    request_ok(&r2, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r2.status, 0);
    assert_int_equal(r2.http_status, 200);
    raw_stop(&rs);
}

static void raw_garbage(raw_conn_t *rc)
{
    raw_send(rc, "garbage\r\n\r\n");
}

static void test_malformed_response(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_garbage);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, HS_EBADMSG);
    assert_int_equal(r.heads, 0);
    assert_int_equal(hs_http_client_connections(C), 0);
    raw_stop(&rs);
}

static void raw_bad_chunk(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
}

static void test_malformed_chunked_body(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_bad_chunk);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, HS_EBADMSG);
    assert_int_equal(r.heads, 1);
    assert_string_equal(r.body, "abc");
    assert_int_equal(hs_http_client_connections(C), 0);
    raw_stop(&rs);
}

static void put_buffer(res_t *r, const char *up, const char *target, const void *body, size_t len)
{
    hs_http_header_t h[] = {{HS_STR_LIT("Content-Type"), HS_STR_LIT("application/octet-stream")}};
    hs_http_client_req_t req = {.method = HS_HTTP_PUT,
                                .target = {target, strlen(target)},
                                .headers = h,
                                .num_headers = 1,
                                .body_kind = HS_HTTP_CLIENT_BODY_BUFFER,
                                .body = body,
                                .body_len = len};
    assert_int_equal(hs_http_client_request(C, up, &req, &CBS, r, &r->call), 0);
    pending++;
}

/* Answers with the request's body length and its first byte. */
static void raw_put_echo(raw_conn_t *rc)
{
    const char *e = memmem(rc->buf, rc->len, "\r\n\r\n", 4);
    const char *cl = memmem(rc->buf, (size_t)(e - rc->buf), "Content-Length: ", 16);
    size_t n = strtoul(cl + 16, NULL, 10);
    char b[128], body[64];
    int bl = snprintf(body, sizeof(body), "len=%zu first=%c", n, n ? e[4] : '-');
    snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
    raw_send(rc, b);
}

static void test_put_body_in_memory(void **state)
{
    (void)state;
    /* Small enough for the server's first read: a larger body stalls
     * hs_http_req_read_body (server.c bug, see the report). */
    static char body[200000];
    memset(body, 'x', sizeof(body));
    res_t r = {0};
    put_buffer(&r, UP, "/echo-len", body, 12000);
    run();
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "len=12000 chunked=0");
    assert_int_equal(hs_http_client_idle(C), 1);

    /* A large body (head and body in one writev, many partial writes). */
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_put_echo);
    raw_name(&rs, up);
    res_t r2 = {0};
    put_buffer(&r2, up, "/", body, sizeof(body));
    run();
    assert_int_equal(r2.status, 0);
    assert_string_equal(r2.body, "len=200000 first=x");
    assert_int_equal(rs.conns->nreq, 1);
    raw_stop(&rs);
}

static void test_streamed_chunked_body(void **state)
{
    (void)state;
    hs_http_client_req_t req = {.method = HS_HTTP_POST,
                                .target = HS_STR_LIT("/echo-len"),
                                .body_kind = HS_HTTP_CLIENT_BODY_STREAM,
                                .stream_length = -1};
    res_t r = {0};
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, &r.call), 0);
    pending++;
    /* Writes before the connection exists are queued. */
    assert_int_equal(hs_http_call_write(r.call, "hello ", 6), 0);
    run_for(50);
    assert_int_equal(hs_http_call_write(r.call, "streamed ", 9), 0);
    assert_int_equal(hs_http_call_write(r.call, "world", 5), 0);
    assert_int_equal(hs_http_call_finish(r.call), 0);
    run();
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "len=20 chunked=1");

    /* Known length: Content-Length framing, and writes past it refused. */
    req.stream_length = 10;
    res_t r2 = {0};
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r2, &r2.call), 0);
    pending++;
    assert_int_equal(hs_http_call_write(r2.call, "12345", 5), 0);
    assert_int_equal(hs_http_call_finish(r2.call), HS_EINVAL); /* 5 bytes short */
    assert_int_equal(hs_http_call_write(r2.call, "1234567", 7), HS_EINVAL);
    assert_int_equal(hs_http_call_write(r2.call, "67890", 5), 0);
    assert_int_equal(hs_http_call_finish(r2.call), 0);
    run();
    assert_int_equal(r2.status, 0);
    assert_string_equal(r2.body, "len=10 chunked=0");
}

static void test_expect_continue(void **state)
{
    (void)state;
    static char body[5000];
    memset(body, 'y', sizeof(body));
    hs_http_client_req_t req = {.method = HS_HTTP_PUT,
                                .target = HS_STR_LIT("/echo-len"),
                                .body_kind = HS_HTTP_CLIENT_BODY_BUFFER,
                                .body = body,
                                .body_len = sizeof(body),
                                .expect_continue = true};
    res_t r = {0};
    uint64_t t0 = ms_now();
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, &r.call), 0);
    pending++;
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 200);
    assert_string_equal(r.body, "len=5000 chunked=0");
    assert_true(r.done_ms - t0 < 900); /* the 100 released the body, not the timer */
}

/* Never sends 100 Continue: answers once the whole request is in. */
static void raw_no_continue(raw_conn_t *rc)
{
    assert_non_null(memmem(rc->buf, rc->len, "Expect: 100-continue\r\n", 22));
    raw_send(rc, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
}

static void test_expect_continue_timeout(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_no_continue);
    raw_name(&rs, up);
    hs_http_client_req_t req = {.method = HS_HTTP_PUT,
                                .target = HS_STR_LIT("/"),
                                .body_kind = HS_HTTP_CLIENT_BODY_BUFFER,
                                .body = "abc",
                                .body_len = 3,
                                .expect_continue = true};
    res_t r = {0};
    uint64_t t0 = ms_now();
    assert_int_equal(hs_http_client_request(C, up, &req, &CBS, &r, &r.call), 0);
    pending++;
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 201);
    assert_true(r.done_ms - t0 >= 900); /* body sent only after the 1 s wait */
    assert_int_equal(rs.conns->nreq, 1);
    raw_stop(&rs);
}

/* Refuses on the head alone, as an upstream checking credentials would. */
static void raw_reject_io(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    raw_conn_t *rc = (raw_conn_t *)io;
    (void)loop;
    (void)events;
    ssize_t n = read(io->fd, rc->buf + rc->len, sizeof(rc->buf) - rc->len);
    if (n <= 0) {
        raw_close(rc);
        return;
    }
    rc->len += (size_t)n;
    if (memmem(rc->buf, rc->len, "\r\n\r\n", 4) && !rc->nreq++)
        raw_send(rc, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
}

static void test_expect_continue_final_first(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, NULL);
    rs.io_cb = raw_reject_io;
    raw_name(&rs, up);
    hs_http_client_req_t req = {.method = HS_HTTP_PUT,
                                .target = HS_STR_LIT("/"),
                                .body_kind = HS_HTTP_CLIENT_BODY_BUFFER,
                                .body = "SECRET",
                                .body_len = 6,
                                .expect_continue = true};
    res_t r = {0};
    uint64_t t0 = ms_now();
    assert_int_equal(hs_http_client_request(C, up, &req, &CBS, &r, &r.call), 0);
    pending++;
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 401);
    assert_true(r.done_ms - t0 < 900);
    /* The body was never sent and the connection is not reused. */
    hs_timer_start(L, &wait_timer, 50, wait_cb);
    run_for(1000);
    assert_null(memmem(rs.conns->buf, rs.conns->len, "SECRET", 6));
    assert_int_equal(hs_http_client_connections(C), 0);
    raw_stop(&rs);
}

static void test_head(void **state)
{
    (void)state;
    res_t r[2] = {0};
    request_ok(&r[0], UP, HS_HTTP_HEAD, "/head");
    run();
    assert_int_equal(r[0].status, 0);
    assert_int_equal(r[0].http_status, 200);
    assert_int_equal(r[0].framing, HS_HTTP_BODY_NONE);
    assert_int_equal(r[0].bodies, 0);
    assert_int_equal(hs_http_client_idle(C), 1);
    /* The connection is still in sync: the next answer parses. */
    request_ok(&r[1], UP, HS_HTTP_GET, "/hello");
    run();
    assert_int_equal(r[1].status, 0);
    assert_string_equal(r[1].body, "hello world");
    assert_int_equal(hs_http_server_connections(S), 1);
}

static void test_pause_resume_large_body(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    res_t r = {0};
    r.pause_on_first_body = true;
    uint64_t t0 = ms_now();
    request_ok(&r, UP, HS_HTTP_GET, "/big");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.total, sizeof(big));
    /* Nothing arrived while paused: the total at resume time is still the
     * first run only. */
    assert_int_equal(r.paused_at_total, r.first_len);
    assert_true(r.first_len < sizeof(big));
    assert_true(r.bodies >= 2);
    assert_true(r.done_ms - t0 >= 95);
    assert_memory_equal(r.body, big, sizeof(r.body));
}

static int start_discarding(res_t *r, const char *target)
{
    hs_http_client_req_t req = {.method = HS_HTTP_GET, .target = {target, strlen(target)},
                                .discard_body = true};
    int rc = hs_http_client_request(C, UP, &req, &CBS, r, &r->call);
    if (rc == 0) pending++;
    return rc;
}

/* A discarding call gets the whole length counted, most of it dropped in
 * the kernel; the next response on the same connection is intact. */
static void test_discard_body(void **state)
{
    (void)state;
    res_t r[2] = {0};
    r[0].then = chain_next;
    r[0].chain_left = 1;
    r[0].next_target = "/hello";
    uint64_t opened = counter("hs_upstream_connections_opened_total", NULL);
    assert_int_equal(start_discarding(&r[0], "/big"), 0);
    run();
    assert_int_equal(r[0].status, 0);
    assert_int_equal(r[0].total, sizeof(big));
    assert_true(r[0].discarded > sizeof(big) - 8192); /* only the first read's bytes were copied */
    assert_int_equal(r[0].body_len + r[0].discarded, sizeof(big));
    assert_int_equal(r[1].status, 0);
    assert_string_equal(r[1].body, "hello world");
    assert_int_equal(counter("hs_upstream_connections_opened_total", NULL), opened + 1);
    assert_int_equal(hs_http_client_idle(C), 1);

    /* Chunked bodies are delivered as usual. */
    res_t c = {0};
    assert_int_equal(start_discarding(&c, "/chunked"), 0);
    run();
    assert_int_equal(c.status, 0);
    assert_int_equal(c.discarded, 0);
    assert_string_equal(c.body, "abcdefghij");
}

static void test_pause_blocks_delivery(void **state)
{
    (void)state;
    /* The read timeout does not run while paused. */
    hs_http_client_opts_t o = {.read_timeout_ms = 100};
    client_reopen(&o);
    res_t r = {0};
    request_ok(&r, UP, HS_HTTP_GET, "/big");
    hs_http_call_pause(r.call, true); /* before any byte */
    run_for(300);
    assert_true(guard_fired);
    assert_int_equal(r.heads, 0);
    assert_int_equal(r.total, 0);
    hs_http_call_pause(r.call, false);
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.total, sizeof(big));
}

static void test_client_idle_timeout(void **state)
{
    (void)state;
    hs_http_client_opts_t o = {.idle_timeout_ms = 100};
    client_reopen(&o);
    res_t r = {0};
    request_ok(&r, UP, HS_HTTP_GET, "/hello");
    run();
    assert_int_equal(hs_http_client_idle(C), 1);
    hs_timer_start(L, &wait_timer, 400, wait_cb);
    run_for(2000);
    assert_int_equal(hs_http_client_idle(C), 0);
    assert_int_equal(hs_http_client_connections(C), 0);
    assert_int_equal(hs_http_server_connections(S), 0); /* the server saw our close */
}

/* Sink: counts request bytes until the chunked body's last-chunk, then
 * answers with the count. */
static void raw_sink_io(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    raw_conn_t *rc = (raw_conn_t *)io;
    (void)loop;
    (void)events;
    char tmp[65536];
    ssize_t n = read(io->fd, tmp, sizeof(tmp));
    if (n <= 0) {
        raw_close(rc);
        return;
    }
    rc->sunk += (uint64_t)n;
    /* keep the last 5 bytes seen to spot "0\r\n\r\n" */
    for (ssize_t i = 0; i < n; i++) {
        memmove(rc->buf, rc->buf + 1, 4);
        rc->buf[4] = tmp[i];
    }
    if (memcmp(rc->buf, "0\r\n\r\n", 5) == 0) {
        char b[128], body[32];
        int bl = snprintf(body, sizeof(body), "%llu", (unsigned long long)rc->sunk);
        snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
        raw_send(rc, b);
    }
}

#define STREAM_PIECE 65536
#define STREAM_TOTAL (4u << 20)
static size_t w_sent;
static int w_writable_calls;
static hs_http_call_t *w_call;

/* Writes until the queue reports full or everything is written. */
static void w_pump(void)
{
    static char piece[STREAM_PIECE];
    memset(piece, 'z', sizeof(piece));
    while (w_sent < STREAM_TOTAL) {
        int rc = hs_http_call_write(w_call, piece, sizeof(piece));
        assert_true(rc == 0 || rc == 1);
        w_sent += sizeof(piece);
        if (rc == 1) return;
    }
    assert_int_equal(hs_http_call_finish(w_call), 0);
}

static void w_writable(void *ctx)
{
    (void)ctx;
    w_writable_calls++;
    w_pump();
}

static void test_stream_backpressure(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, NULL);
    rs.io_cb = raw_sink_io;
    raw_name(&rs, up);
    hs_http_client_cbs_t cbs = CBS;
    cbs.on_writable = w_writable;
    hs_http_client_req_t req = {.method = HS_HTTP_POST,
                                .target = HS_STR_LIT("/"),
                                .body_kind = HS_HTTP_CLIENT_BODY_STREAM,
                                .stream_length = -1};
    res_t r = {0};
    w_sent = 0;
    w_writable_calls = 0;
    assert_int_equal(hs_http_client_request(C, up, &req, &cbs, &r, &w_call), 0);
    pending++;
    w_pump(); /* no connection yet: fills the queue to its high mark */
    assert_true(w_sent >= 256 * 1024 && w_sent < STREAM_TOTAL);
    run();
    assert_int_equal(r.status, 0);
    assert_true(w_writable_calls >= 1);
    assert_int_equal(w_sent, STREAM_TOTAL);
    /* received = head + chunk framing + data */
    unsigned long long got = strtoull(r.body, NULL, 10);
    assert_true(got > STREAM_TOTAL && got < STREAM_TOTAL + 8192);
    raw_stop(&rs);
}

static void r_done_cancel_self(void *ctx, int status)
{
    res_t *r = ctx;
    hs_http_call_cancel(r->call); /* no-op: the call is ending */
    r_done(ctx, status);
}

static void test_cancel(void **state)
{
    (void)state;
    uint64_t canceled = counter("hs_upstream_errors_total", "kind=\"canceled\"");
    res_t r = {0};
    r.cancel_on_head = true;
    request_ok(&r, UP, HS_HTTP_GET, "/partial");
    run();
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, HS_ECANCELED);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.bodies, 0); /* no callback after cancel */
    assert_int_equal(hs_http_client_connections(C), 0);
    assert_int_equal(counter("hs_upstream_errors_total", "kind=\"canceled\""), canceled + 1);

    /* Cancel from outside a callback: on_done before cancel returns. */
    res_t r2 = {0};
    request_ok(&r2, UP, HS_HTTP_GET, "/never");
    run_for(50);
    assert_int_equal(r2.done, 0);
    hs_http_call_cancel(r2.call);
    assert_int_equal(r2.done, 1);
    assert_int_equal(r2.status, HS_ECANCELED);
    assert_int_equal(pending, 0);
    assert_int_equal(hs_http_client_connections(C), 0);

    /* Cancel from inside on_done: still exactly one on_done. */
    hs_http_client_cbs_t cbs = CBS;
    cbs.on_done = r_done_cancel_self;
    res_t r3 = {0};
    hs_http_client_req_t req = {.method = HS_HTTP_GET, .target = HS_STR_LIT("/hello")};
    assert_int_equal(hs_http_client_request(C, UP, &req, &cbs, &r3, &r3.call), 0);
    pending++;
    run();
    assert_int_equal(r3.done, 1);
    assert_int_equal(r3.status, 0);
    assert_string_equal(r3.body, "hello world");
}

static void test_cancel_queued_and_free(void **state)
{
    (void)state;
    hs_http_client_opts_t o = {.max_conns_per_upstream = 1};
    client_reopen(&o);
    res_t r[3] = {0};
    request_ok(&r[0], UP, HS_HTTP_GET, "/never");
    request_ok(&r[1], UP, HS_HTTP_GET, "/hello");
    request_ok(&r[2], UP, HS_HTTP_GET, "/hello");
    hs_http_call_cancel(r[1].call); /* queued */
    assert_int_equal(r[1].done, 1);
    assert_int_equal(r[1].status, HS_ECANCELED);
    run_for(100);
    assert_int_equal(r[0].done + r[2].done, 0);
    hs_http_client_free(C);
    C = NULL;
    assert_int_equal(r[0].status, HS_ECANCELED);
    assert_int_equal(r[2].status, HS_ECANCELED);
    assert_int_equal(r[0].done + r[2].done, 2);
    C = hs_http_client_new(L, NULL);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    res_t r = {0};
    static const char *const bad[] = {"example.com:80",  "127.0.0.1", "127.0.0.1:0",
                                      "127.0.0.1:70000", "[::1:80",   "::1:80",
                                      "127.0.0.1:8x",    ":80",       ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(start(&r, bad[i], HS_HTTP_GET, "/"), HS_EINVAL);
    /* Header injection and framing fields are refused. */
    hs_http_header_t inj[] = {{HS_STR_LIT("X-A"), HS_STR_LIT("1\r\nX-B: 2")}};
    hs_http_client_req_t req = {
        .method = HS_HTTP_GET, .target = HS_STR_LIT("/"), .headers = inj, .num_headers = 1};
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, NULL), HS_EINVAL);
    hs_http_header_t te[] = {{HS_STR_LIT("Transfer-Encoding"), HS_STR_LIT("chunked")}};
    req.headers = te;
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, NULL), HS_EINVAL);
    req.num_headers = 0;
    req.target = HS_STR_LIT("/a b");
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, NULL), HS_EINVAL);
    req.target = HS_STR_LIT("/");
    req.method = HS_HTTP_OTHER;
    req.method_str = HS_STR_LIT("BAD METHOD");
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, NULL), HS_EINVAL);
    req.method = HS_HTTP_CONNECT;
    assert_int_equal(hs_http_client_request(C, UP, &req, &CBS, &r, NULL), HS_ENOTSUP);
    assert_int_equal(r.done, 0);
    /* IPv6 literal: refused by S (127.0.0.1 only), served by a [::1]
     * server when the host has IPv6 loopback. */
    res_t r6 = {0};
    char up6[64];
    sprintf(up6, "[::1]:%d", hs_http_server_port(S));
    request_ok(&r6, up6, HS_HTTP_GET, "/hello");
    run();
    assert_true(r6.status < 0);
    assert_int_equal(r6.done, 1);
    hs_http_server_opts_t o6 = {.listen = "[::1]:0", .handler = &handler, .listen_fd = -1};
    hs_http_server_t *s6 = NULL;
    if (hs_http_server_start(L, &o6, &s6) == 0) {
        res_t r7 = {0};
        sprintf(up6, "[::1]:%d", hs_http_server_port(s6));
        request_ok(&r7, up6, HS_HTTP_GET, "/hello");
        run();
        assert_int_equal(r7.status, 0);
        assert_string_equal(r7.body, "hello world");
        hs_http_client_free(C);
        C = hs_http_client_new(L, NULL);
        hs_http_server_free(s6);
    }
}

static void raw_early_hints(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void test_interim_responses_skipped(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_early_hints);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, 0);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.http_status, 200);
    assert_string_equal(r.body, "ok");
    raw_stop(&rs);
}

static void raw_http10(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void test_http10_not_pooled(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_http10);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, 0);
    assert_false(r.keep_alive);
    assert_string_equal(r.body, "ok");
    assert_int_equal(hs_http_client_connections(C), 0);
    raw_stop(&rs);
}

static void raw_conn_close(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
}

static void test_connection_close_not_pooled(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_conn_close);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, 0);
    assert_false(r.keep_alive);
    assert_string_equal(r.body, "ok");
    assert_int_equal(hs_http_client_connections(C), 0);
    raw_stop(&rs);
}

static void raw_truncated(raw_conn_t *rc)
{
    raw_send(rc, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    raw_close(rc);
}

static void test_truncated_body(void **state)
{
    (void)state;
    raw_srv_t rs;
    char up[64];
    raw_start(&rs, raw_truncated);
    raw_name(&rs, up);
    res_t r = {0};
    request_ok(&r, up, HS_HTTP_GET, "/");
    run();
    assert_int_equal(r.status, HS_ECONNRESET);
    assert_string_equal(r.body, "short");
    raw_stop(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_get_content_length),
        T(test_not_found_and_localhost),
        T(test_chunked_response),
        T(test_close_delimited),
        T(test_keep_alive_reuse),
        T(test_pool_limits),
        T(test_server_closes_idle),
        T(test_retry_on_stale_connection),
        T(test_connection_refused),
        T(test_read_timeout),
        T(test_connect_timeout),
        T(test_response_head_limit),
        T(test_malformed_response),
        T(test_malformed_chunked_body),
        T(test_put_body_in_memory),
        T(test_streamed_chunked_body),
        T(test_expect_continue),
        T(test_expect_continue_timeout),
        T(test_expect_continue_final_first),
        T(test_head),
        T(test_pause_resume_large_body),
        T(test_discard_body),
        T(test_pause_blocks_delivery),
        T(test_client_idle_timeout),
        T(test_stream_backpressure),
        T(test_cancel),
        T(test_cancel_queued_and_free),
        T(test_invalid_arguments),
        T(test_interim_responses_skipped),
        T(test_http10_not_pooled),
        T(test_connection_close_not_pooled),
        T(test_truncated_body),
#undef T
    };
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
