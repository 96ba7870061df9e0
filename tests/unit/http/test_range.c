/*
 * Unit tests of src/http/range.c: Range (RFC 9110 14.2), HTTP-date
 * (RFC 9110 5.6.7) and entity-tag lists (RFC 9110 8.8.3, 13.1.1/13.1.2).
 * Every input is copied into an exact-size heap buffer first, so ASan sees
 * any read past the slice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "http/range.h"

static char *copy;

static hs_str_t S(const char *s)
{
    size_t n = strlen(s);
    free(copy);
    copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    return (hs_str_t){copy, n};
}

static hs_http_range_t R[HS_HTTP_MAX_RANGES + 4];

static int range(const char *v, uint64_t size)
{
    memset(R, 0xAA, sizeof(R));
    int n = hs_http_parse_range(S(v), size, R, HS_HTTP_MAX_RANGES);
    for (int i = 0; i < n; i++) {
        assert_true(R[i].first <= R[i].last);
        assert_true(R[i].last < size);
    }
    return n;
}

#define ASSERT_RANGE(i, f, l)                                                  \
    do {                                                                       \
        assert_int_equal(R[i].first, (f));                                     \
        assert_int_equal(R[i].last, (l));                                      \
    } while (0)

/* ---- Range ---- */

static void test_range_single(void **state)
{
    (void)state;
    assert_int_equal(range("bytes=0-499", 10000), 1);
    ASSERT_RANGE(0, 0, 499);
    assert_int_equal(range("bytes=500-999", 10000), 1);
    ASSERT_RANGE(0, 500, 999);
    assert_int_equal(range("bytes=0-0", 1), 1);
    ASSERT_RANGE(0, 0, 0);
    /* last-pos past the end is clipped to the representation */
    assert_int_equal(range("bytes=5-100000", 10), 1);
    ASSERT_RANGE(0, 5, 9);
    /* the unit is case-insensitive */
    assert_int_equal(range("BYTES=1-2", 10), 1);
    ASSERT_RANGE(0, 1, 2);
}

static void test_range_open_and_suffix(void **state)
{
    (void)state;
    assert_int_equal(range("bytes=9500-", 10000), 1);
    ASSERT_RANGE(0, 9500, 9999);
    assert_int_equal(range("bytes=0-", 1), 1);
    ASSERT_RANGE(0, 0, 0);
    assert_int_equal(range("bytes=-500", 10000), 1);
    ASSERT_RANGE(0, 9500, 9999);
    /* suffix longer than the representation: the whole thing */
    assert_int_equal(range("bytes=-500", 100), 1);
    ASSERT_RANGE(0, 0, 99);
    assert_int_equal(range("bytes=-1", 1), 1);
    ASSERT_RANGE(0, 0, 0);
}

static void test_range_multiple(void **state)
{
    (void)state;
    assert_int_equal(range("bytes=0-0,-1", 10000), 2);
    ASSERT_RANGE(0, 0, 0);
    ASSERT_RANGE(1, 9999, 9999);
    assert_int_equal(range("bytes=500-600,601-999", 10000), 2);
    ASSERT_RANGE(0, 500, 600);
    ASSERT_RANGE(1, 601, 999);
    /* unsatisfiable members are dropped, the rest kept in order */
    assert_int_equal(range("bytes=20000-30000,1-2,-0,3-", 10), 2);
    ASSERT_RANGE(0, 1, 2);
    ASSERT_RANGE(1, 3, 9);
    /* empty list elements are allowed (RFC 9110 5.6.1) */
    assert_int_equal(range("bytes=,1-2,,3-4,", 10), 2);
    ASSERT_RANGE(0, 1, 2);
    ASSERT_RANGE(1, 3, 4);
}

static void test_range_whitespace(void **state)
{
    (void)state;
    assert_int_equal(range("bytes=1-2 , 4-5", 10), 2);
    ASSERT_RANGE(0, 1, 2);
    ASSERT_RANGE(1, 4, 5);
    assert_int_equal(range("  bytes=\t1-2\t,\t-3  ", 10), 2);
    ASSERT_RANGE(0, 1, 2);
    ASSERT_RANGE(1, 7, 9);
    /* no whitespace inside a range-spec nor around '=' */
    assert_int_equal(range("bytes=1 -2", 10), HS_EINVAL);
    assert_int_equal(range("bytes=1- 2", 10), HS_EINVAL);
    assert_int_equal(range("bytes =1-2", 10), HS_EINVAL);
}

static void test_range_unsatisfiable(void **state)
{
    (void)state;
    assert_int_equal(range("bytes=10-", 10), 0);
    assert_int_equal(range("bytes=10-20", 10), 0);
    assert_int_equal(range("bytes=-0", 10), 0);
    assert_int_equal(range("bytes=0-0", 0), 0);
    assert_int_equal(range("bytes=-5", 0), 0);
    assert_int_equal(range("bytes=100-200,300-", 50), 0);
}

static void test_range_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",           "bytes",        "bytes=",     "bytes=,",     "bytes=-",
        "bytes=a-b",  "bytes=5-4",    "bytes=1-2-3", "bytes=1-2x", "bytes=--1",
        "items=0-1",  "bytes 0-1",    "bytes=0-1;", "bytes=+1-2",  "bytes=1",
        "bytes=0x1-2", "bytes=1-2,x", "bytess=1-2", "=0-1",        "bytes=1-2,3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = range(bad[i], 1000);
        if (n != HS_EINVAL)
            fail_msg("\"%s\" -> %d, want HS_EINVAL", bad[i], n);
    }
}

static void test_range_overflow(void **state)
{
    (void)state;
    /* UINT64_MAX itself still parses */
    assert_int_equal(range("bytes=0-18446744073709551615", 10), 1);
    ASSERT_RANGE(0, 0, 9);
    assert_int_equal(range("bytes=18446744073709551615-", 10), 0);
    assert_int_equal(range("bytes=-18446744073709551615", 10), 1);
    ASSERT_RANGE(0, 0, 9);
    /* one more does not wrap around to a small number */
    assert_int_equal(range("bytes=18446744073709551616-", 10), HS_EINVAL);
    assert_int_equal(range("bytes=-18446744073709551616", 10), HS_EINVAL);
    assert_int_equal(range("bytes=99999999999999999999999-1", 10), HS_EINVAL);
    int n = range("bytes=0-99999999999999999999999", 10);
    /* either ignored or clipped to the end; never a wrapped small value */
    assert_true(n == HS_EINVAL || (n == 1 && R[0].first == 0 && R[0].last == 9));
}

static void test_range_too_many(void **state)
{
    (void)state;
    char buf[1024];
    size_t k = (size_t)snprintf(buf, sizeof(buf), "bytes=");
    for (int i = 0; i < HS_HTTP_MAX_RANGES; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%d-%d", i ? "," : "", i * 2, i * 2);
    assert_int_equal(range(buf, 1000), HS_HTTP_MAX_RANGES);
    for (int i = 0; i < HS_HTTP_MAX_RANGES; i++)
        ASSERT_RANGE(i, (uint64_t)i * 2, (uint64_t)i * 2);
    snprintf(buf + k, sizeof(buf) - k, ",100-101");
    assert_int_equal(range(buf, 1000), HS_EINVAL);
    /* a smaller max is honoured, and nothing is written past it */
    memset(R, 0xAA, sizeof(R));
    assert_int_equal(hs_http_parse_range(S("bytes=0-1,2-3,4-5"), 100, R, 2), HS_EINVAL);
    assert_int_equal(R[2].first, 0xAAAAAAAAAAAAAAAAull);
    assert_int_equal(hs_http_parse_range(S("bytes=0-1,2-3"), 100, R, 2), 2);
}

/* ---- HTTP-date ---- */

static int date(const char *s, time_t *t)
{
    return hs_http_parse_date(S(s), t);
}

static void test_date_formats(void **state)
{
    (void)state;
    time_t t = 0;
    const time_t want = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal(t, want);
    t = 0;
    assert_int_equal(date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    assert_int_equal(t, want);
    t = 0;
    assert_int_equal(date("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_int_equal(t, want);
    t = 0;
    assert_int_equal(date("Sun Nov 06 08:49:37 1994", &t), 0);
    assert_int_equal(t, want);
    t = 0;
    assert_int_equal(date("  Sun, 06 Nov 1994 08:49:37 GMT \t", &t), 0);
    assert_int_equal(t, want);
    assert_int_equal(date("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(date("Wednesday, 09-Nov-05 08:49:37 GMT", &t), 0); /* 2005 */
    assert_int_equal(t, 1131526177);
    assert_int_equal(date("Fri, 31 Dec 9999 23:59:59 GMT", &t), 0);
    assert_int_equal(t, 253402300799);
}

static void test_date_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun, 06 Nov 1899 08:49:37 GMT",
        "Sun, 0a Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov x6 08:49:37 1994",
        "Sun Xyz  6 08:49:37 1994",
        "Sun Nov  6 08:49:37 199x",
        ",",
        "Sun, -6 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 12345;
        int rc = date(bad[i], &t);
        if (rc != HS_EINVAL)
            fail_msg("\"%s\" -> %d, want HS_EINVAL", bad[i], rc);
        assert_int_equal(t, 12345); /* untouched on failure */
    }
}

static void test_date_round_trip(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(hs_http_format_date(784111777, buf), 29);
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(hs_http_format_date(0, buf), 29);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    /* a pseudo-random walk over 1970..9999 */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        time_t t = (time_t)(x % 253402300800ull);
        memset(buf, 0, sizeof(buf));
        int n = hs_http_format_date(t, buf);
        assert_int_equal(n, 29);
        assert_int_equal(strlen(buf), 29);
        time_t back = -1;
        assert_int_equal(hs_http_parse_date((hs_str_t){buf, (size_t)n}, &back), 0);
        if (back != t)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)t, buf, (long long)back);
    }
}

/* ---- entity tags ---- */

static bool em(const char *list, const char *etag, bool weak)
{
    hs_str_t l = S(list);
    char *lc = malloc(l.len ? l.len : 1);
    memcpy(lc, l.base, l.len);
    bool r = hs_http_etag_match((hs_str_t){lc, l.len}, (hs_str_t){etag, strlen(etag)}, weak);
    free(lc);
    return r;
}

static void test_etag_strong_weak(void **state)
{
    (void)state;
    /* RFC 9110 8.8.3.2 examples, against strong stored tags */
    assert_true(em("\"xyzzy\"", "\"xyzzy\"", false));
    assert_true(em("\"xyzzy\"", "\"xyzzy\"", true));
    assert_false(em("\"xyzzy\"", "\"xyzzz\"", true));
    assert_false(em("\"xyzzy\"", "\"xyzz\"", true));
    assert_false(em("\"xyzz\"", "\"xyzzy\"", true));
    /* a weak tag in the list never matches strongly, does weakly */
    assert_false(em("W/\"xyzzy\"", "\"xyzzy\"", false));
    assert_true(em("W/\"xyzzy\"", "\"xyzzy\"", true));
    /* lists */
    assert_true(em("\"a\", \"b\", \"xyzzy\"", "\"xyzzy\"", false));
    assert_true(em("\"a\",W/\"xyzzy\"", "\"xyzzy\"", true));
    assert_false(em("\"a\",W/\"xyzzy\"", "\"xyzzy\"", false));
    assert_true(em(" , \"a\" ,, \"b\" ", "\"b\"", false));
    assert_false(em("\"a\", \"b\"", "\"c\"", true));
    /* the empty opaque tag is a tag */
    assert_true(em("\"\"", "\"\"", false));
    /* case matters in tags and in the W/ prefix */
    assert_false(em("\"ABC\"", "\"abc\"", true));
    assert_false(em("w/\"abc\"", "\"abc\"", true));
}

static void test_etag_star(void **state)
{
    (void)state;
    assert_true(em("*", "\"anything\"", false));
    assert_true(em("*", "\"anything\"", true));
    assert_true(em("  *", "\"x\"", false));
    /* '*' is only special alone; inside a list it is malformed */
    assert_false(em("*, \"x\"", "\"x\"", false));
    assert_false(em("\"x*\"", "\"x\"", false));
}

static void test_etag_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "x",            "\"x",       "W/",        "W/x",       "W/\"x",
        "'x'",     "x\"x\"",       "W\"x\"",    "\"",        "W/ \"x\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (em(bad[i], "\"x\"", true))
            fail_msg("malformed list \"%s\" matched", bad[i]);
    }
    /* a stored tag that is not a quoted strong tag matches nothing but '*' */
    assert_false(em("\"x\"", "x", true));
    assert_false(em("W/\"x\"", "W/\"x\"", true));
}

/* range.h: "A malformed list matches nothing" -- also when a matching tag
 * comes before the malformed part. */
static void test_etag_malformed_after_match(void **state)
{
    (void)state;
    assert_false(em("\"x\" junk", "\"x\"", true));
    assert_false(em("\"x\", junk", "\"x\"", true));
    assert_false(em("\"x\", \"y", "\"x\"", false));
}

static void test_if_range(void **state)
{
    (void)state;
    hs_str_t etag = HS_STR_LIT("\"abc\"");
    time_t lm;
    assert_int_equal(hs_http_parse_date(HS_STR_LIT("Sun, 06 Nov 1994 08:49:37 GMT"), &lm), 0);
    assert_true(hs_http_if_range_ok(HS_STR_NULL, etag, true, lm));
    assert_true(hs_http_if_range_ok(HS_STR_LIT(" \"abc\" "), etag, true, lm));
    assert_false(hs_http_if_range_ok(HS_STR_LIT("W/\"abc\""), etag, true, lm)); /* weak never */
    assert_false(hs_http_if_range_ok(HS_STR_LIT("\"abd\""), etag, true, lm));
    assert_true(hs_http_if_range_ok(HS_STR_LIT("Sun, 06 Nov 1994 08:49:37 GMT"), etag, true, lm));
    assert_false(hs_http_if_range_ok(HS_STR_LIT("Sun, 06 Nov 1994 08:49:38 GMT"), etag, true, lm));
    assert_false(hs_http_if_range_ok(HS_STR_LIT("Sun, 06 Nov 1994 08:49:37 GMT"), etag, false, 0));
    assert_false(hs_http_if_range_ok(HS_STR_LIT("garbage"), etag, true, lm));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_range),
        cmocka_unit_test(test_range_single),
        cmocka_unit_test(test_range_open_and_suffix),
        cmocka_unit_test(test_range_multiple),
        cmocka_unit_test(test_range_whitespace),
        cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_invalid),
        cmocka_unit_test(test_range_overflow),
        cmocka_unit_test(test_range_too_many),
        cmocka_unit_test(test_date_formats),
        cmocka_unit_test(test_date_bad),
        cmocka_unit_test(test_date_round_trip),
        cmocka_unit_test(test_etag_strong_weak),
        cmocka_unit_test(test_etag_star),
        cmocka_unit_test(test_etag_malformed),
        cmocka_unit_test(test_etag_malformed_after_match),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(copy);
    return rc;
}
