/*
 * Unit tests of the HTTP/1.1 head parser (src/http/parse.c, method.c).
 * Every case is also parsed prefix by prefix: a prefix must answer
 * HS_EAGAIN or the very verdict of the whole input, never something else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parse.h"

#define NHDR 64

static hs_http_header_t H[NHDR];
static hs_http_msg_t M;
static hs_http_error_t E;
static char *buf; /* exact-size copy of the last input, so ASan sees overreads */

static ssize_t parse_raw(bool request, hs_http_method_t req_method, const char *s, size_t n,
                         const hs_http_limits_t *lim, unsigned max_hdrs)
{
    free(buf);
    buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, s, n);
    E = (hs_http_error_t){0};
    if (request)
        return hs_http_parse_request(buf, n, &M, H, max_hdrs, lim, &E);
    return hs_http_parse_response(buf, n, req_method, &M, H, max_hdrs, lim, &E);
}

/* Parses s whole and then each of its prefixes; checks the prefixes agree.
 * Leaves M/E describing the whole input. */
static ssize_t parse_all(bool request, hs_http_method_t req_method, const char *s, size_t n,
                         const hs_http_limits_t *lim, unsigned max_hdrs)
{
    ssize_t full = parse_raw(request, req_method, s, n, lim, max_hdrs);
    int full_status = E.status;
    for (size_t k = 0; k < n; k++) {
        ssize_t r = parse_raw(request, req_method, s, k, lim, max_hdrs);
        if (r == HS_EAGAIN)
            continue;
        if (r > 0) {
            /* success on a prefix: same head, same length */
            assert_int_equal(r, full);
            continue;
        }
        assert_int_equal(r, HS_EBADMSG);
        assert_int_equal(full, HS_EBADMSG);
        assert_int_equal(E.status, full_status);
    }
    ssize_t again = parse_raw(request, req_method, s, n, lim, max_hdrs);
    assert_int_equal(again, full);
    return full;
}

static ssize_t req_lim(const char *s, const hs_http_limits_t *lim)
{
    return parse_all(true, HS_HTTP_OTHER, s, strlen(s), lim, NHDR);
}

static ssize_t req(const char *s)
{
    return req_lim(s, NULL);
}

static void req_ok(const char *s)
{
    assert_int_equal(req(s), (ssize_t)strlen(s));
}

static void req_fails(const char *s, int status)
{
    assert_int_equal(req(s), HS_EBADMSG);
    assert_int_equal(E.status, status);
    assert_non_null(E.reason);
}

static ssize_t resp(hs_http_method_t m, const char *s)
{
    return parse_all(false, m, s, strlen(s), NULL, NHDR);
}

static void resp_ok(hs_http_method_t m, const char *s)
{
    assert_int_equal(resp(m, s), (ssize_t)strlen(s));
}

static void resp_fails(const char *s)
{
    assert_int_equal(resp(HS_HTTP_GET, s), HS_EBADMSG);
    assert_int_equal(E.status, 502);
}

#define assert_str(hs, lit)                                                                        \
    do {                                                                                           \
        assert_int_equal((hs).len, strlen(lit));                                                   \
        assert_memory_equal((hs).base, (lit), strlen(lit));                                        \
    } while (0)

#define HOST "Host: example.com\r\n"

/* ---- request line ------------------------------------------------------ */

static void test_simple_get(void **state)
{
    (void)state;
    req_ok("GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t\r\n"
           "Accept: */*\r\n\r\n");
    assert_int_equal(M.method, HS_HTTP_GET);
    assert_str(M.method_str, "GET");
    assert_str(M.target, "/index.html?a=1&b=2");
    assert_str(M.path, "/index.html");
    assert_str(M.query, "a=1&b=2");
    assert_int_equal(M.version_minor, 1);
    assert_int_equal(M.num_headers, 3);
    assert_ptr_equal(M.headers, H);
    assert_str(H[0].name, "Host");
    assert_str(H[1].name, "User-Agent");
    assert_str(H[1].value, "curl/8");
    assert_str(H[2].value, "*/*");
    assert_str(M.host, "example.com");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    assert_true(M.keep_alive);
    assert_false(M.expect_continue);
    assert_false(M.upgrade);
}

static void test_no_query(void **state)
{
    (void)state;
    req_ok("GET /a/b HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "/a/b");
    assert_int_equal(M.query.len, 0);
    req_ok("GET /a? HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "/a");
    assert_int_equal(M.query.len, 0);
}

static void test_leading_empty_lines(void **state)
{
    (void)state;
    req_ok("\r\n\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n");
    assert_int_equal(M.method, HS_HTTP_GET);
    assert_str(M.target, "/");
    req_fails("\r\r\nGET / HTTP/1.1\r\n" HOST "\r\n", 400);
}

static void test_bare_lf_accepted(void **state)
{
    (void)state;
    req_ok("GET /x HTTP/1.1\nHost: h\nX: y\n\n");
    assert_int_equal(M.num_headers, 2);
    assert_str(H[1].value, "y");
    req_ok("GET /x HTTP/1.1\r\nHost: h\nX: y\r\n\n");
    assert_str(M.host, "h");
}

static void test_bare_cr_rejected(void **state)
{
    (void)state;
    req_fails("GET /x HTTP/1.1\rHost: h\r\n\r\n", 400);
    req_fails("GET /x HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
    req_fails("GET /x HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400);
    req_fails("GET /x HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
    req_fails("GET /x\r HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    req_fails("GET\r/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

static void test_methods(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        hs_http_method_t m;
    } t[] = {
        {"GET", HS_HTTP_GET},       {"HEAD", HS_HTTP_HEAD},       {"POST", HS_HTTP_POST},
        {"PUT", HS_HTTP_PUT},       {"DELETE", HS_HTTP_DELETE},   {"OPTIONS", HS_HTTP_OPTIONS},
        {"PATCH", HS_HTTP_PATCH},   {"TRACE", HS_HTTP_TRACE},     {"CONNECT", HS_HTTP_CONNECT},
        {"get", HS_HTTP_OTHER},     {"PROPFIND", HS_HTTP_OTHER},  {"GETS", HS_HTTP_OTHER},
        {"GE", HS_HTTP_OTHER},      {"", HS_HTTP_OTHER},          {"Delete", HS_HTTP_OTHER},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(hs_http_method_from(t[i].s, strlen(t[i].s)), t[i].m);

    req_ok("PROPFIND /x HTTP/1.1\r\n" HOST "\r\n");
    assert_int_equal(M.method, HS_HTTP_OTHER);
    assert_str(M.method_str, "PROPFIND");
    req_ok("M-SEARCH! /x HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.method_str, "M-SEARCH!");
}

static void test_bad_method(void **state)
{
    (void)state;
    req_fails("G(T / HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails(" / HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET\t/ HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("G\x80T / HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("\x16\x03\x01\x02\x00\x01", 400); /* TLS on the plain port: early answer */
}

static void test_request_line_spacing(void **state)
{
    (void)state;
    req_fails("GET  / HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET /  HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.1 \r\n" HOST "\r\n", 400);
    req_fails("GET /\tHTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.1\t\r\n" HOST "\r\n", 400);
    req_fails("GET /\r\n\r\n", 400); /* HTTP/0.9 */
    req_fails("GET / \r\n" HOST "\r\n", 400);
}

static void test_target_bytes(void **state)
{
    (void)state;
    req_fails("GET /a\x01 HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET /\x80 HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET /\xff HTTP/1.1\r\n" HOST "\r\n", 400);
    assert_int_equal(parse_all(true, 0, "GET /\0 HTTP/1.1\r\n" HOST "\r\n",
                               sizeof("GET /\0 HTTP/1.1\r\n" HOST "\r\n") - 1, NULL, NHDR),
                     HS_EBADMSG);
    assert_int_equal(E.status, 400);
    req_ok("GET /~!$&'()*+,;=:@%20[]{}|^`\"<> HTTP/1.1\r\n" HOST "\r\n");
}

static void test_versions(void **state)
{
    (void)state;
    req_ok("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(M.version_minor, 0);
    req_fails("GET / HTTP/2.0\r\n" HOST "\r\n", 505);
    req_fails("GET / HTTP/3.0\r\n" HOST "\r\n", 505);
    req_fails("GET / HTTP/2\r\n" HOST "\r\n", 505);
    req_fails("GET / HTTP/1.2\r\n" HOST "\r\n", 505);
    req_fails("GET / HTTP/0.9\r\n" HOST "\r\n", 505);
    req_fails("GET / http/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.10\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/11.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.1.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1,1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTPS/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET / HTTP/1.1x\r\n" HOST "\r\n", 400);
}

static void test_target_forms(void **state)
{
    (void)state;
    req_ok("OPTIONS * HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "*");
    req_fails("GET * HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("OPTIONS *x HTTP/1.1\r\n" HOST "\r\n", 400);

    req_ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_int_equal(M.method, HS_HTTP_CONNECT);
    assert_str(M.target, "example.com:443");
    assert_int_equal(M.path.len, 0);
    req_ok("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
    req_fails("CONNECT example.com HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("CONNECT example.com: HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("CONNECT / HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("CONNECT http://example.com/ HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET example.com:443 HTTP/1.1\r\n" HOST "\r\n", 400);

    req_ok("GET http://example.org:8080/a/b?c=d HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "/a/b");
    assert_str(M.query, "c=d");
    assert_str(M.host, "example.org:8080"); /* RFC 9112 3.2.2: the target wins */
    req_ok("GET https://example.org HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "/");
    assert_int_equal(M.query.len, 0);
    req_ok("GET http://example.org?q HTTP/1.1\r\n" HOST "\r\n");
    assert_str(M.path, "/");
    assert_str(M.query, "q");
    req_fails("GET http:///x HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET http://user@example.org/ HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET http:/x HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET 1http://x/ HTTP/1.1\r\n" HOST "\r\n", 400);
    req_fails("GET index.html HTTP/1.1\r\n" HOST "\r\n", 400);
}

/* The 16-byte fast paths: a bad byte at every offset of a long target or
 * value is found, and good long runs (obs-text, HTAB, SP) pass. */
#define LONG_VALUE_AT 89 /* offset of the second byte of the X value */

static size_t build_long(char *s)
{
    static const char pat[] = "\t\xc3\xa9 value\x80\xff~\"";
    static const char mid[] = " HTTP/1.1\r\nHost: h\r\nX: v";
    size_t n = 0;
    memcpy(s, "GET /", 5);
    n = 5;
    memset(s + n, 'a', 60);
    n += 60;
    memcpy(s + n, mid, sizeof(mid) - 1);
    n += sizeof(mid) - 1;
    assert_int_equal(n, LONG_VALUE_AT);
    for (int i = 0; i < 70; i++)
        s[n++] = pat[i % (sizeof(pat) - 1)];
    s[n++] = 'z';
    memcpy(s + n, "\r\n\r\n", 4);
    return n + 4;
}

static void test_long_runs(void **state)
{
    (void)state;
    char s[256];
    static const char bad_value[] = {0x00, 0x01, 0x0a, 0x0b, 0x0d, 0x1f, 0x7f};
    static const char bad_target[] = {0x00, 0x09, 0x20, 0x7f, (char)0x80, (char)0xff};
    size_t n = build_long(s);
    assert_int_equal(parse_raw(true, 0, s, n, NULL, NHDR), (ssize_t)n);
    assert_int_equal(M.target.len, 61);
    assert_int_equal(H[1].value.len, 72);
    assert_int_equal(H[1].value.base[71], 'z');
    for (int pos = 0; pos < 60; pos++) {
        for (size_t b = 0; b < sizeof(bad_target); b++) {
            n = build_long(s);
            s[5 + pos] = bad_target[b];
            assert_int_equal(parse_raw(true, 0, s, n, NULL, NHDR), HS_EBADMSG);
            assert_int_equal(E.status, 400);
        }
        for (size_t b = 0; b < sizeof(bad_value); b++) {
            n = build_long(s);
            s[LONG_VALUE_AT + pos] = bad_value[b];
            ssize_t r = parse_raw(true, 0, s, n, NULL, NHDR);
            if (bad_value[b] == '\n') {
                /* a bare LF ends the line: what follows is no field line */
                assert_int_equal(r, HS_EBADMSG);
                continue;
            }
            assert_int_equal(r, HS_EBADMSG);
            assert_int_equal(E.status, 400);
        }
    }
}

/* ---- header fields ------------------------------------------------------ */

static void test_header_values(void **state)
{
    (void)state;
    req_ok("GET / HTTP/1.1\r\nHost: h\r\nA:\r\nB: \t \r\nC:x\r\nD: a  b \r\nE: caf\xc3\xa9\r\n"
           "F: \"q\"\t\r\n\r\n");
    assert_int_equal(M.num_headers, 7);
    assert_int_equal(H[1].value.len, 0);
    assert_int_equal(H[2].value.len, 0);
    assert_str(H[3].value, "x");
    assert_str(H[4].value, "a  b");
    assert_str(H[5].value, "caf\xc3\xa9");
    assert_str(H[6].value, "\"q\"");
}

static void test_header_name_rules(void **state)
{
    (void)state;
    req_fails("GET / HTTP/1.1\r\n" HOST "Fo@o: x\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST ": x\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "Foo : x\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "Foo\t: x\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "Foo\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "Foo\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "F\xc3\xa9: x\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n X: y\r\n" HOST "\r\n", 400);
}

static void test_obs_fold(void **state)
{
    (void)state;
    req_fails("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "X: a\n b\n\n", 400);
}

static void test_ctl_in_value(void **state)
{
    (void)state;
    static const char nul[] = "GET / HTTP/1.1\r\n" HOST "X: a\0b\r\n\r\n";
    assert_int_equal(parse_all(true, 0, nul, sizeof(nul) - 1, NULL, NHDR), HS_EBADMSG);
    assert_int_equal(E.status, 400);
    static const char nul_name[] = "GET / HTTP/1.1\r\n" HOST "X\0: ab\r\n\r\n";
    assert_int_equal(parse_all(true, 0, nul_name, sizeof(nul_name) - 1, NULL, NHDR), HS_EBADMSG);
    assert_int_equal(E.status, 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "X: a\x0b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\n" HOST "X: \x1b[0m\r\n\r\n", 400);
}

static void test_find_header(void **state)
{
    (void)state;
    req_ok("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n");
    assert_int_equal(hs_http_find_header(&M, "x-A", 3, 0), 1);
    assert_int_equal(hs_http_find_header(&M, "X-A", 3, 2), 2);
    assert_int_equal(hs_http_find_header(&M, "X-A", 3, 3), -1);
    assert_int_equal(hs_http_find_header(&M, "X-B", 3, -5), 3);
    assert_int_equal(hs_http_find_header(&M, "X-", 2, 0), -1);
    assert_int_equal(hs_http_find_header(&M, "HOST", 4, 0), 0);
}

/* ---- Content-Length ---------------------------------------------------- */

static void test_content_length(void **state)
{
    (void)state;
    req_ok("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_LENGTH);
    assert_int_equal(M.content_length, 5);
    req_ok("POST / HTTP/1.1\r\n" HOST "content-length: 0\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    assert_int_equal(M.content_length, 0);
    req_ok("POST / HTTP/1.1\r\n" HOST "Content-Length: 007\r\n\r\n");
    assert_int_equal(M.content_length, 7);
}

static void test_content_length_bad(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: -5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 0x5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5 5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5a\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: \r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5.0\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551616\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length : 5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: \x0b" "5\r\n\r\n", 400);
}

static void test_content_length_repeated(void **state)
{
    (void)state;
    req_ok("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5\r\n\r\n");
    assert_int_equal(M.content_length, 5);
    req_ok("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n");
    assert_int_equal(M.content_length, 5);
    assert_int_equal(M.framing, HS_HTTP_BODY_LENGTH);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 6\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 05x\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5,\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: ,5\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5,,5\r\n\r\n", 400);
}

static void test_content_length_limit(void **state)
{
    (void)state;
    hs_http_limits_t lim = {.max_body_bytes = 100};
    assert_int_equal(req_lim("PUT / HTTP/1.1\r\n" HOST "Content-Length: 100\r\n\r\n", &lim),
                     (ssize_t)strlen("PUT / HTTP/1.1\r\n" HOST "Content-Length: 100\r\n\r\n"));
    assert_int_equal(M.content_length, 100);
    assert_int_equal(req_lim("PUT / HTTP/1.1\r\n" HOST "Content-Length: 101\r\n\r\n", &lim),
                     HS_EBADMSG);
    assert_int_equal(E.status, 413);
    /* the default bound applies when the limits say 0 */
    req_fails("PUT / HTTP/1.1\r\n" HOST "Content-Length: 5368709121\r\n\r\n", 413);
    req_ok("PUT / HTTP/1.1\r\n" HOST "Content-Length: 5368709120\r\n\r\n");
}

/* ---- Transfer-Encoding ------------------------------------------------- */

static void test_te_chunked(void **state)
{
    (void)state;
    req_ok("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
    req_ok("POST / HTTP/1.1\r\n" HOST "transfer-encoding: CHUNKED\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
    req_ok("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: , chunked ,\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
}

static void test_smuggle_cl_te(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
              400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
              400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
              400);
}

static void test_smuggle_te_not_last(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, identity\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: identity\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
              400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: xchunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunkedx\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: \r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: \"chunked\"\r\n\r\n", 400);
}

static void test_smuggle_te_twice(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
              400);
}

static void test_te_other_coding(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n", 501);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
              501);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: identity, chunked\r\n\r\n", 501);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: x;q=\"a,b\" , chunked\r\n\r\n", 501);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: x;q = \"a\\\",chunked\" , chunked\r\n\r\n",
              501);
    /* the quoted "chunked" above is a parameter, not a coding: last is x */
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: x;q=\"a\\\",chunked\"\r\n\r\n", 400);
}

static void test_smuggle_te_syntax(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding : chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST " Transfer-Encoding: chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "X: y\r\n Transfer-Encoding: chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "\rTransfer-Encoding: chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\x0b" "chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\x0b\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked;a=b\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\x0bX: y\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chu nked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip;\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip;q=\"x, chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.1\r\n" HOST "Transfer_Encoding: chunked\r\nContent-Length: 0\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              400);
}

static void test_te_http10(void **state)
{
    (void)state;
    req_fails("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    req_fails("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
}

/* ---- Host, Connection, Expect ------------------------------------------ */

static void test_host(void **state)
{
    (void)state;
    req_fails("GET / HTTP/1.1\r\n\r\n", 400);
    req_ok("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(M.host.len, 0);
    req_fails("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
    req_fails("GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400);
    req_ok("GET / HTTP/1.1\r\nHost: ex-am_ple.com:8080\r\n\r\n");
    assert_str(M.host, "ex-am_ple.com:8080");
    req_ok("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n");
    assert_str(M.host, "[2001:db8::1]:80");
    req_ok("GET / HTTP/1.1\r\nHost:\r\n\r\n");
    assert_int_equal(M.host.len, 0);
    assert_non_null(M.host.base);
}

static void test_connection(void **state)
{
    (void)state;
    req_ok("GET / HTTP/1.1\r\n" HOST "\r\n");
    assert_true(M.keep_alive);
    req_ok("GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n");
    assert_false(M.keep_alive);
    req_ok("GET / HTTP/1.1\r\n" HOST "Connection: foo, CLOSE\r\n\r\n");
    assert_false(M.keep_alive);
    req_ok("GET / HTTP/1.1\r\n" HOST "Connection: Keep-Alive, Upgrade\r\n\r\n");
    assert_true(M.keep_alive);
    assert_true(M.upgrade);
    req_ok("GET / HTTP/1.1\r\n" HOST "Connection: closed\r\n\r\n");
    assert_true(M.keep_alive);
    req_ok("GET / HTTP/1.0\r\n\r\n");
    assert_false(M.keep_alive);
    req_ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_true(M.keep_alive);
    req_ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
    assert_false(M.keep_alive);
}

static void test_expect(void **state)
{
    (void)state;
    req_ok("PUT / HTTP/1.1\r\n" HOST "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_true(M.expect_continue);
    req_ok("PUT / HTTP/1.1\r\n" HOST "expect: 100-Continue \r\nContent-Length: 3\r\n\r\n");
    assert_true(M.expect_continue);
    req_ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_false(M.expect_continue); /* RFC 9110 10.1.1: ignored in HTTP/1.0 */
    req_fails("PUT / HTTP/1.1\r\n" HOST "Expect: 200-ok\r\n\r\n", 417);
    req_fails("PUT / HTTP/1.1\r\n" HOST "Expect: 100-continue, foo\r\n\r\n", 417);
}

/* ---- limits -------------------------------------------------------------- */

static void test_limits_head(void **state)
{
    (void)state;
    hs_http_limits_t lim = {.max_head_bytes = 64};
    char s[256];
    /* exactly 64 bytes is accepted, 65 is not */
    snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\nX: %-32s\r\n\r\n", "v");
    assert_int_equal(strlen(s), 64);
    assert_int_equal(req_lim(s, &lim), 64);
    snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\nX: %-33s\r\n\r\n", "v");
    assert_int_equal(req_lim(s, &lim), HS_EBADMSG);
    assert_int_equal(E.status, 431);
    /* incomplete and within the limit: wait for more */
    assert_int_equal(req_lim("GET / HTTP/1.1\r\nHost: h\r\n", &lim), HS_EAGAIN);
    /* a huge request line is a 414, even before its end arrives */
    memset(s, 'a', sizeof(s));
    memcpy(s, "GET /", 5);
    s[100] = 0;
    assert_int_equal(req_lim(s, &lim), HS_EBADMSG);
    assert_int_equal(E.status, 414);
    /* the default limit */
    size_t n = HS_HTTP_DEFAULT_MAX_HEAD + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX: ", 28);
    big[n] = 0;
    assert_int_equal(parse_raw(true, 0, big, n, NULL, NHDR), HS_EBADMSG);
    assert_int_equal(E.status, 431);
    assert_int_equal(parse_raw(true, 0, big, HS_HTTP_DEFAULT_MAX_HEAD - 1, NULL, NHDR), HS_EAGAIN);
    free(big);
}

static void test_limits_count(void **state)
{
    (void)state;
    hs_http_limits_t lim = {.max_headers = 3};
    const char *three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    const char *four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_int_equal(req_lim(three, &lim), (ssize_t)strlen(three));
    assert_int_equal(M.num_headers, 3);
    assert_int_equal(req_lim(four, &lim), HS_EBADMSG);
    assert_int_equal(E.status, 431);
    /* the caller's array bounds the count too */
    assert_int_equal(parse_all(true, 0, four, strlen(four), NULL, 3), HS_EBADMSG);
    assert_int_equal(E.status, 431);
    assert_int_equal(parse_all(true, 0, four, strlen(four), NULL, 4), (ssize_t)strlen(four));
    /* the default count */
    char s[8192];
    size_t n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HS_HTTP_DEFAULT_MAX_HEADERS + 1; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "Host%d: x\r\n", i);
    n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");
    static hs_http_header_t many[HS_HTTP_DEFAULT_MAX_HEADERS + 8];
    assert_int_equal(hs_http_parse_request(s, n, &M, many, HS_HTTP_DEFAULT_MAX_HEADERS + 8, NULL, &E),
                     HS_EBADMSG);
    assert_int_equal(E.status, 431);
}

/* ---- incremental and pipelined ----------------------------------------- */

static void test_incremental(void **state)
{
    (void)state;
    const char *s = "\r\nPOST /upload?part=2 HTTP/1.1\r\nHost: a.example:81\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                    "Expect: 100-continue\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(parse_raw(true, 0, s, k, NULL, NHDR), HS_EAGAIN);
    assert_int_equal(parse_raw(true, 0, s, n, NULL, NHDR), (ssize_t)n);
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
    assert_true(M.expect_continue);
    assert_str(M.query, "part=2");
    assert_str(M.host, "a.example:81");
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *s = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                    "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    size_t n = strlen(s), off = 0;
    ssize_t r = hs_http_parse_request(s, n, &M, H, NHDR, NULL, &E);
    assert_int_equal(r, strlen("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert_str(M.path, "/one");
    off += (size_t)r;
    r = hs_http_parse_request(s + off, n - off, &M, H, NHDR, NULL, &E);
    assert_true(r > 0);
    assert_str(M.path, "/two");
    assert_int_equal(M.content_length, 5);
    off += (size_t)r;
    assert_memory_equal(s + off, "hello", 5);
    off += 5;
    r = hs_http_parse_request(s + off, n - off, &M, H, NHDR, NULL, &E);
    assert_int_equal(off + (size_t)r, n);
    assert_str(M.path, "/three");
    assert_false(M.keep_alive);
    /* and the second request cut short: wait */
    assert_int_equal(hs_http_parse_request(s + 30, 20, &M, H, NHDR, NULL, &E), HS_EAGAIN);
}

static void test_head_maybe_complete(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\nHost: h\n\n",
        "GET / HTTP/1.1\r\nHost: h\n\r\n",
    };
    for (size_t i = 0; i < 3; i++) {
        const char *s = heads[i];
        size_t n = strlen(s), seen = 0;
        for (size_t k = 0; k < n; k++) {
            assert_false(hs_http_head_maybe_complete(s, k, 0));
            assert_false(hs_http_head_maybe_complete(s, k, seen));
            seen = k;
        }
        assert_true(hs_http_head_maybe_complete(s, n, 0));
        assert_true(hs_http_head_maybe_complete(s, n, n - 1));
        assert_true(hs_http_head_maybe_complete(s, n, n - 2));
        /* seen past len is clamped to len */
        assert_int_equal(hs_http_head_maybe_complete(s, n, n + 7),
                         hs_http_head_maybe_complete(s, n, n));
        assert_int_equal(hs_http_parse_request(s, n, &M, H, NHDR, NULL, &E), (ssize_t)n);
    }
    /* only the bytes from seen - 2 on are looked at */
    assert_false(hs_http_head_maybe_complete("\n\nGET", 5, 5));
    assert_true(hs_http_head_maybe_complete("\n\nGET", 5, 0));
}

/* ---- responses ----------------------------------------------------------- */

static void test_response_basic(void **state)
{
    (void)state;
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n");
    assert_int_equal(M.status, 200);
    assert_str(M.reason, "OK");
    assert_int_equal(M.version_minor, 1);
    assert_int_equal(M.framing, HS_HTTP_BODY_LENGTH);
    assert_int_equal(M.content_length, 12);
    assert_true(M.keep_alive);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 404 Not  Found \r\nContent-Length: 0\r\n\r\n");
    assert_str(M.reason, "Not  Found ");
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(M.reason.len, 0);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(M.reason.len, 0);
    resp_ok(HS_HTTP_GET, "HTTP/1.0 200 OK\nContent-Length: 1\n\n");
    assert_int_equal(M.version_minor, 0);
    assert_false(M.keep_alive);
    resp_ok(HS_HTTP_GET, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n");
    assert_true(M.keep_alive);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n");
    assert_false(M.keep_alive);
    /* Host means nothing in a response: not validated, not reported */
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nContent-Length: 1\r\n\r\n");
    assert_int_equal(M.host.len, 0);
    assert_int_equal(M.num_headers, 3);
}

static void test_response_framing(void **state)
{
    (void)state;
    resp_ok(HS_HTTP_GET, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    assert_true(M.upgrade);
    resp_ok(HS_HTTP_HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    assert_true(M.keep_alive);
    resp_ok(HS_HTTP_CONNECT, "HTTP/1.1 200 Connection Established\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_NONE);
    resp_ok(HS_HTTP_CONNECT, "HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_LENGTH);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
    assert_true(M.keep_alive);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_CHUNKED);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;q=\"a\\\", chunked\"\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_EOF);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_EOF);
    assert_false(M.keep_alive);
    resp_ok(HS_HTTP_GET, "HTTP/1.1 200 OK\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_EOF);
    assert_false(M.keep_alive);
    resp_ok(HS_HTTP_POST, "HTTP/1.1 500 Oops\r\nContent-Length: 5, 5\r\n\r\n");
    assert_int_equal(M.framing, HS_HTTP_BODY_LENGTH);
    assert_int_equal(M.content_length, 5);
}

static void test_response_bad(void **state)
{
    (void)state;
    resp_fails("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
    resp_fails("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    resp_fails("HTTP/1.1 2000 OK\r\n\r\n");
    resp_fails("HTTP/1.1 20 OK\r\n\r\n");
    resp_fails("HTTP/1.1 099 OK\r\n\r\n");
    resp_fails("HTTP/1.1 600 OK\r\n\r\n");
    resp_fails("HTTP/1.1 2x0 OK\r\n\r\n");
    resp_fails("HTTP/2 200 OK\r\n\r\n");
    resp_fails("HTTP/1.2 200 OK\r\n\r\n");
    resp_fails("http/1.1 200 OK\r\n\r\n");
    resp_fails("HTTP/1.1  200 OK\r\n\r\n");
    resp_fails("HTTP/1.1 200 O\x01K\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\rX: y\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
    resp_fails("HTTP/1.1 200 OK\r\nX : a\r\n\r\n");
    static const char nul[] = "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n";
    assert_int_equal(parse_all(false, HS_HTTP_GET, nul, sizeof(nul) - 1, NULL, NHDR), HS_EBADMSG);
    assert_int_equal(E.status, 502);
}

/* ---- reason phrases ------------------------------------------------------ */

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(hs_http_reason(200), "OK");
    assert_string_equal(hs_http_reason(404), "Not Found");
    assert_string_equal(hs_http_reason(413), "Content Too Large");
    assert_string_equal(hs_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(hs_http_reason(505), "HTTP Version Not Supported");
    static const int codes[] = {100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302,
                                303, 304, 305, 306, 307, 308, 400, 401, 402, 403, 404, 405,
                                406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
                                418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500,
                                501, 502, 503, 504, 505};
    const char *generic[] = {"Informational", "Success", "Redirection", "Client Error",
                             "Server Error"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *r = hs_http_reason(codes[i]);
        assert_non_null(r);
        assert_string_not_equal(r, generic[codes[i] / 100 - 1]);
    }
    assert_string_equal(hs_http_reason(299), "Success");
    assert_string_equal(hs_http_reason(499), "Client Error");
    assert_string_equal(hs_http_reason(42), "Unknown");
}

static int teardown(void **state)
{
    (void)state;
    free(buf);
    buf = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_simple_get, teardown),
        cmocka_unit_test_teardown(test_no_query, teardown),
        cmocka_unit_test_teardown(test_leading_empty_lines, teardown),
        cmocka_unit_test_teardown(test_bare_lf_accepted, teardown),
        cmocka_unit_test_teardown(test_bare_cr_rejected, teardown),
        cmocka_unit_test_teardown(test_methods, teardown),
        cmocka_unit_test_teardown(test_bad_method, teardown),
        cmocka_unit_test_teardown(test_request_line_spacing, teardown),
        cmocka_unit_test_teardown(test_target_bytes, teardown),
        cmocka_unit_test_teardown(test_versions, teardown),
        cmocka_unit_test_teardown(test_target_forms, teardown),
        cmocka_unit_test_teardown(test_long_runs, teardown),
        cmocka_unit_test_teardown(test_header_values, teardown),
        cmocka_unit_test_teardown(test_header_name_rules, teardown),
        cmocka_unit_test_teardown(test_obs_fold, teardown),
        cmocka_unit_test_teardown(test_ctl_in_value, teardown),
        cmocka_unit_test_teardown(test_find_header, teardown),
        cmocka_unit_test_teardown(test_content_length, teardown),
        cmocka_unit_test_teardown(test_content_length_bad, teardown),
        cmocka_unit_test_teardown(test_content_length_repeated, teardown),
        cmocka_unit_test_teardown(test_content_length_limit, teardown),
        cmocka_unit_test_teardown(test_te_chunked, teardown),
        cmocka_unit_test_teardown(test_smuggle_cl_te, teardown),
        cmocka_unit_test_teardown(test_smuggle_te_not_last, teardown),
        cmocka_unit_test_teardown(test_smuggle_te_twice, teardown),
        cmocka_unit_test_teardown(test_te_other_coding, teardown),
        cmocka_unit_test_teardown(test_smuggle_te_syntax, teardown),
        cmocka_unit_test_teardown(test_te_http10, teardown),
        cmocka_unit_test_teardown(test_host, teardown),
        cmocka_unit_test_teardown(test_connection, teardown),
        cmocka_unit_test_teardown(test_expect, teardown),
        cmocka_unit_test_teardown(test_limits_head, teardown),
        cmocka_unit_test_teardown(test_limits_count, teardown),
        cmocka_unit_test_teardown(test_incremental, teardown),
        cmocka_unit_test_teardown(test_pipelined, teardown),
        cmocka_unit_test_teardown(test_head_maybe_complete, teardown),
        cmocka_unit_test_teardown(test_response_basic, teardown),
        cmocka_unit_test_teardown(test_response_framing, teardown),
        cmocka_unit_test_teardown(test_response_bad, teardown),
        cmocka_unit_test_teardown(test_reason, teardown),
    };
    return cmocka_run_group_tests_name("http-parse", tests, NULL, NULL);
}
