/*
 * Unit tests of the chunked transfer-coding decoder (src/http/chunked.c).
 * Every input is decoded whole and then cut into 1, 2, 3 and 7 byte
 * pieces: the data, the bytes consumed and the verdict must not change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parse.h"

#define INCOMPLETE 1

struct result {
    int status; /* 0 done, INCOMPLETE, or HS_E* */
    size_t used;
    size_t out_len;
    char out[65536];
};

static struct result R, R2;

/* Feeds in[0..n) in pieces of `step` bytes (0: all at once). */
static void decode(const char *in, size_t n, uint64_t max_total, size_t step, struct result *r)
{
    hs_http_chunked_t d;
    hs_http_chunked_init(&d, max_total);
    size_t off = 0;
    r->out_len = 0;
    r->status = INCOMPLETE;
    while (off < n && !d.done) {
        size_t avail = step && step < n - off ? step : n - off;
        char *piece = malloc(avail); /* exact size: ASan sees overreads */
        assert_non_null(piece);
        memcpy(piece, in + off, avail);
        size_t soff = 0;
        while (soff < avail && !d.done) {
            const char *data;
            size_t dl;
            ssize_t c = hs_http_chunked_decode(&d, piece + soff, avail - soff, &data, &dl);
            if (c < 0) {
                r->status = (int)c;
                free(piece);
                r->used = off + soff;
                return;
            }
            assert_true(c > 0); /* bytes available and not done: progress */
            if (dl) {
                assert_true(data >= piece + soff && data + dl <= piece + soff + (size_t)c);
                assert_true(r->out_len + dl <= sizeof(r->out));
                memcpy(r->out + r->out_len, data, dl);
                r->out_len += dl;
            } else {
                assert_null(data);
            }
            soff += (size_t)c;
        }
        off += soff;
        free(piece);
    }
    r->used = off;
    if (d.done) {
        r->status = 0;
        const char *data;
        size_t dl;
        assert_int_equal(hs_http_chunked_decode(&d, "x", 1, &data, &dl), 0);
        assert_int_equal(dl, 0);
    }
    assert_int_equal(d.total, r->out_len);
}

/* Decodes whole and in pieces; checks they agree; leaves the result in R. */
static void check_n(const char *in, size_t n, uint64_t max_total)
{
    static const size_t steps[] = {1, 2, 3, 7};
    decode(in, n, max_total, 0, &R);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        decode(in, n, max_total, steps[i], &R2);
        assert_int_equal(R2.status, R.status);
        assert_int_equal(R2.out_len, R.out_len);
        assert_memory_equal(R2.out, R.out, R.out_len);
        if (R.status >= 0)
            assert_int_equal(R2.used, R.used);
    }
}

static void check(const char *in, uint64_t max_total)
{
    check_n(in, strlen(in), max_total);
}

static void ok(const char *in, const char *want)
{
    check(in, 0);
    assert_int_equal(R.status, 0);
    assert_int_equal(R.used, strlen(in));
    assert_int_equal(R.out_len, strlen(want));
    assert_memory_equal(R.out, want, R.out_len);
}

static void bad(const char *in)
{
    check(in, 0);
    assert_int_equal(R.status, HS_EBADMSG);
}

static void test_simple(void **state)
{
    (void)state;
    ok("5\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    ok("0\r\n\r\n", "");
    ok("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij");
    ok("00000003\r\nabc\r\n000\r\n\r\n", "abc");
    ok("3\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r");
}

static void test_incomplete(void **state)
{
    (void)state;
    check("5\r\nhel", 0);
    assert_int_equal(R.status, INCOMPLETE);
    assert_int_equal(R.out_len, 3);
    check("5\r\nhello\r\n0\r\n", 0);
    assert_int_equal(R.status, INCOMPLETE);
    assert_int_equal(R.out_len, 5);
    check("5\r\nhello\r", 0);
    assert_int_equal(R.status, INCOMPLETE);
}

static void test_stops_at_end(void **state)
{
    (void)state;
    const char *s = "2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    check(s, 0);
    assert_int_equal(R.status, 0);
    assert_int_equal(R.used, strlen("2\r\nab\r\n0\r\n\r\n"));
    assert_int_equal(R.out_len, 2);
}

static void test_one_run_per_call(void **state)
{
    (void)state;
    const char *s = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    hs_http_chunked_t d;
    hs_http_chunked_init(&d, 0);
    const char *data;
    size_t dl;
    ssize_t c = hs_http_chunked_decode(&d, s, strlen(s), &data, &dl);
    assert_int_equal(c, 6);
    assert_ptr_equal(data, s + 3);
    assert_int_equal(dl, 3);
    c = hs_http_chunked_decode(&d, s + 6, strlen(s) - 6, &data, &dl);
    assert_int_equal(c, 7);
    assert_ptr_equal(data, s + 11);
    assert_int_equal(dl, 2);
    assert_false(d.done);
    c = hs_http_chunked_decode(&d, s + 13, strlen(s) - 13, &data, &dl);
    assert_int_equal(c, 7);
    assert_int_equal(dl, 0);
    assert_true(d.done);
    assert_int_equal(d.total, 5);
}

static void test_extensions(void **state)
{
    (void)state;
    ok("5;name\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5;a=b;c=d\r\nhello\r\n0;last\r\n\r\n", "hello");
    ok("5 ;ext\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5;a=\"x;y\\\"z \\\\\"\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
    ok("5;a=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "hello");
}

static void test_extensions_bad(void **state)
{
    (void)state;
    bad("5 \r\nhello\r\n0\r\n\r\n");
    bad("5 x\r\nhello\r\n0\r\n\r\n");
    bad("5;\r\nhello\r\n0\r\n\r\n");
    bad("5; \r\nhello\r\n0\r\n\r\n");
    bad("5;=x\r\nhello\r\n0\r\n\r\n");
    bad("5;a=\r\nhello\r\n0\r\n\r\n");
    bad("5;a \r\nhello\r\n0\r\n\r\n");
    bad("5;a=b \r\nhello\r\n0\r\n\r\n");
    bad("5;a=\"b\r\nhello\r\n0\r\n\r\n");
    bad("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n");
    bad("5;a=b\"c\"\r\nhello\r\n0\r\n\r\n");
    bad("5;a@b\r\nhello\r\n0\r\n\r\n");
    bad("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n");
    static const char nul[] = "5;a\0\r\nhello\r\n0\r\n\r\n";
    check_n(nul, sizeof(nul) - 1, 0);
    assert_int_equal(R.status, HS_EBADMSG);
}

static void test_size_bad(void **state)
{
    (void)state;
    bad("0x5\r\nhello\r\n0\r\n\r\n");
    bad("-1\r\nhello\r\n0\r\n\r\n");
    bad("+5\r\nhello\r\n0\r\n\r\n");
    bad(" 5\r\nhello\r\n0\r\n\r\n");
    bad("\r\nhello\r\n0\r\n\r\n");
    bad("g\r\n");
    bad("5g\r\nhello\r\n0\r\n\r\n");
    bad("5,5\r\nhello\r\n0\r\n\r\n");
    /* 2^62 overflows the bound; 2^62 - 1 is a size we accept */
    bad("4000000000000000\r\n");
    bad("10000000000000000\r\n");
    bad("ffffffffffffffffffffffff\r\n");
    check("3fffffffffffffff\r\nab", 0);
    assert_int_equal(R.status, INCOMPLETE);
    assert_int_equal(R.out_len, 2);
    check("0003fffffffffffffff\r\nab", 0);
    assert_int_equal(R.status, INCOMPLETE);
}

static void test_framing_crlf_strict(void **state)
{
    (void)state;
    bad("5\nhello\r\n0\r\n\r\n");        /* bare LF after size */
    bad("5\rhello\r\n0\r\n\r\n");        /* bare CR after size */
    bad("5\r\nhelloX\r\n0\r\n\r\n");     /* data longer than declared */
    bad("5\r\nhello\n0\r\n\r\n");        /* bare LF after data */
    bad("5\r\nhello\r0\r\n\r\n");        /* bare CR after data */
    bad("5\r\nhello0\r\n\r\n");          /* missing CRLF after data */
    bad("5\r\nhell\r\n0\r\n\r\n");       /* data shorter than declared */
    bad("0\n\n");
    bad("0\r\n\n");
    bad("0\r\n\r\r");
    bad("0\r\n\rX");
    bad("5\r\r\nhello\r\n0\r\n\r\n");
}

static void test_trailers(void **state)
{
    (void)state;
    ok("5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-B:\r\n\r\n", "hello");
    ok("0\r\nX: \"q\" \xff\t\r\n\r\n", "");
    bad("0\r\nX: a\r\n b\r\n\r\n");   /* obs-fold */
    bad("0\r\nX a\r\n\r\n");          /* no colon */
    bad("0\r\nX : a\r\n\r\n");        /* space before colon */
    bad("0\r\n: a\r\n\r\n");          /* empty name */
    bad("0\r\nX: a\n\r\n");           /* bare LF */
    bad("0\r\nX: a\rb\r\n\r\n");      /* bare CR */
    bad("0\r\nX: \x01\r\n\r\n");      /* CTL */
    static const char nul[] = "0\r\nX: a\0\r\n\r\n";
    check_n(nul, sizeof(nul) - 1, 0);
    assert_int_equal(R.status, HS_EBADMSG);
}

static void test_line_bounds(void **state)
{
    (void)state;
    static char s[40000];
    /* a size line of exactly 4096 bytes is accepted, 4097 is not */
    size_t n = 0;
    memcpy(s, "1;", 2);
    n = 2;
    memset(s + n, 'e', 4094);
    n += 4094;
    memcpy(s + n, "\r\nx\r\n0\r\n\r\n", 10);
    n += 10;
    check_n(s, n, 0);
    assert_int_equal(R.status, 0);
    assert_int_equal(R.out_len, 1);
    memcpy(s, "1;", 2);
    memset(s + 2, 'e', 4095);
    memcpy(s + 4097, "\r\nx\r\n0\r\n\r\n", 10);
    check_n(s, 4107, 0);
    assert_int_equal(R.status, HS_EBADMSG);
    /* leading zeros count toward the line too */
    memset(s, '0', 5000);
    memcpy(s + 5000, "\r\n\r\n", 4);
    check_n(s, 5004, 0);
    assert_int_equal(R.status, HS_EBADMSG);
    /* the trailer section is bounded to 16 KiB */
    memcpy(s, "0\r\n", 3);
    n = 3;
    for (int i = 0; i < 230; i++) {
        memcpy(s + n, "X-Trailer-Field: 01234567890123456789012345678901234567890123456789012345\r\n",
               75);
        n += 75;
    }
    memcpy(s + n, "\r\n", 2);
    n += 2;
    assert_true(n - 3 > 16384);
    check_n(s, n, 0);
    assert_int_equal(R.status, HS_EBADMSG);
    /* 200 fields, 15 KiB: fine */
    check_n(s, 3 + 75 * 200, 0);
    assert_int_equal(R.status, INCOMPLETE);
    memcpy(s + 3 + 75 * 200, "\r\n", 2);
    check_n(s, 3 + 75 * 200 + 2, 0);
    assert_int_equal(R.status, 0);
    assert_int_equal(R.used, 3 + 75 * 200 + 2);
}

static void test_max_total(void **state)
{
    (void)state;
    const char *s = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    check(s, 10);
    assert_int_equal(R.status, 0);
    assert_int_equal(R.out_len, 10);
    check(s, 9);
    assert_int_equal(R.status, HS_E2BIG);
    assert_int_equal(R.out_len, 5); /* the first chunk was within bounds */
    check(s, 4);
    assert_int_equal(R.status, HS_E2BIG);
    assert_int_equal(R.out_len, 0);
    check("3fffffffffffffff\r\n", UINT64_MAX);
    assert_int_equal(R.status, INCOMPLETE);
}

static void test_error_sticky(void **state)
{
    (void)state;
    hs_http_chunked_t d;
    hs_http_chunked_init(&d, 0);
    const char *data;
    size_t dl;
    assert_int_equal(hs_http_chunked_decode(&d, "z\r\n", 3, &data, &dl), HS_EBADMSG);
    assert_int_equal(hs_http_chunked_decode(&d, "5\r\nhello\r\n", 10, &data, &dl), HS_EBADMSG);
    assert_int_equal(dl, 0);
    hs_http_chunked_init(&d, 1);
    assert_int_equal(hs_http_chunked_decode(&d, "2\r\n", 3, &data, &dl), HS_E2BIG);
    assert_int_equal(hs_http_chunked_decode(&d, "ab", 2, &data, &dl), HS_E2BIG);
    hs_http_chunked_init(&d, 0);
    assert_int_equal(hs_http_chunked_decode(&d, "", 0, &data, &dl), 0);
    assert_false(d.done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_incomplete),
        cmocka_unit_test(test_stops_at_end),
        cmocka_unit_test(test_one_run_per_call),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_extensions_bad),
        cmocka_unit_test(test_size_bad),
        cmocka_unit_test(test_framing_crlf_strict),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_line_bounds),
        cmocka_unit_test(test_max_total),
        cmocka_unit_test(test_error_sticky),
    };
    return cmocka_run_group_tests_name("http-chunked", tests, NULL, NULL);
}
