/*
 * Unit tests of the loadgen's small parsers and writers: the JSON writer
 * (escaping, structure, misuse), URL patterns, --target URLs and the
 * classification of X-Cache values and errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "loadgen/jsonw.h"
#include "loadgen/pattern.h"
#include "loadgen/stats.h"
#include "loadgen/svgplot.h"
#include "loadgen/target.h"

static char out[4096];

/* Writes one string value and returns the JSON text. */
static const char *json_str(const char *s, size_t len)
{
    hs_buf_t b = HS_BUF_INIT;
    hs_lg_jsonw_t w;
    hs_lg_jsonw_init(&w, &b);
    hs_lg_jsonw_strn(&w, s, len);
    assert_int_equal(hs_lg_jsonw_finish(&w), 0);
    assert_true(hs_buf_len(&b) < sizeof(out));
    memcpy(out, hs_buf_data(&b), hs_buf_len(&b));
    out[hs_buf_len(&b)] = '\0';
    hs_buf_free(&b);
    return out;
}

#define JS(lit) json_str(lit, sizeof(lit) - 1)

static void test_json_escaping(void **state)
{
    (void)state;
    assert_string_equal(JS("plain"), "\"plain\"");
    assert_string_equal(JS(""), "\"\"");
    assert_string_equal(JS("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_string_equal(JS("\n\r\t"), "\"\\n\\r\\t\"");
    assert_string_equal(JS("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"");
    assert_string_equal(JS("nul\0x"), "\"nul\\u0000x\"");
    assert_string_equal(JS("</script>"), "\"</script>\"");
    /* valid UTF-8 passes through; invalid bytes become U+FFFD */
    assert_string_equal(JS("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    assert_string_equal(JS("a\xff"
                           "b"),
                        "\"a\\ufffdb\"");
    assert_string_equal(JS("\xc3"), "\"\\ufffd\"");                       /* truncated */
    assert_string_equal(JS("\xc0\xaf"), "\"\\ufffd\\ufffd\"");            /* overlong */
    assert_string_equal(JS("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    assert_string_equal(JS("\xf4\x90\x80\x80"),
                        "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
}

static void test_json_structure(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    hs_lg_jsonw_t w;
    hs_lg_jsonw_init(&w, &b);
    hs_lg_jsonw_obj(&w);
    hs_lg_jsonw_key(&w, "a");
    hs_lg_jsonw_u64(&w, UINT64_MAX);
    hs_lg_jsonw_key(&w, "b\"");
    hs_lg_jsonw_arr(&w);
    hs_lg_jsonw_i64(&w, -5);
    hs_lg_jsonw_dbl(&w, 0.25);
    hs_lg_jsonw_dbl(&w, NAN);
    hs_lg_jsonw_dbl(&w, INFINITY);
    hs_lg_jsonw_bool(&w, true);
    hs_lg_jsonw_null(&w);
    hs_lg_jsonw_obj(&w);
    hs_lg_jsonw_obj_end(&w);
    hs_lg_jsonw_arr(&w);
    hs_lg_jsonw_arr_end(&w);
    hs_lg_jsonw_arr_end(&w);
    hs_lg_jsonw_key(&w, "c");
    hs_lg_jsonw_str(&w, NULL);
    hs_lg_jsonw_obj_end(&w);
    assert_int_equal(hs_lg_jsonw_finish(&w), 0);
    assert_int_equal(hs_buf_append(&b, "", 1), 0);
    assert_string_equal(hs_buf_data(&b),
                        "{\"a\":18446744073709551615,\"b\\\"\":[-5,0.25,null,null,true,null,{},[]],"
                        "\"c\":null}");
    hs_buf_free(&b);

    /* misuse is reported, not crashed on */
    hs_lg_jsonw_init(&w, &b);
    hs_lg_jsonw_obj(&w);
    assert_int_equal(hs_lg_jsonw_finish(&w), HS_EINVAL); /* unclosed */
    hs_lg_jsonw_obj_end(&w);
    hs_lg_jsonw_obj_end(&w);
    assert_int_equal(hs_lg_jsonw_finish(&w), HS_EINVAL); /* closed twice */
    hs_buf_free(&b);
    hs_lg_jsonw_init(&w, &b);
    hs_lg_jsonw_obj(&w);
    hs_lg_jsonw_key(&w, "k");
    hs_lg_jsonw_key(&w, "k2");
    hs_lg_jsonw_obj_end(&w);
    assert_int_equal(hs_lg_jsonw_finish(&w), HS_EINVAL); /* key after key */
    hs_buf_free(&b);
    hs_lg_jsonw_init(&w, &b);
    for (int i = 0; i < 40; i++)
        hs_lg_jsonw_arr(&w);
    assert_int_equal(hs_lg_jsonw_finish(&w), HS_EINVAL); /* too deep */
    hs_buf_free(&b);
}

static void test_html_escape(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_lg_html_escape(&b, "<a href=\"x\">&'</a>"), 0);
    assert_int_equal(hs_buf_append(&b, "", 1), 0);
    assert_string_equal(hs_buf_data(&b), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    hs_buf_free(&b);
}

static void test_pattern(void **state)
{
    (void)state;
    hs_lg_pattern_t p;
    char err[256], url[64];
    assert_int_equal(hs_lg_pattern_parse(&p, "/bench/obj-{n:6}", err, sizeof(err)), 0);
    assert_int_equal(hs_lg_pattern_format(&p, 123, url, sizeof(url)), 17);
    assert_string_equal(url, "/bench/obj-000123");
    assert_int_equal(hs_lg_pattern_format(&p, 12345678, url, sizeof(url)), 19);
    assert_string_equal(url, "/bench/obj-12345678");
    assert_int_equal(hs_lg_pattern_parse(&p, "/{n}/x{n:2}?v={n}", err, sizeof(err)), 0);
    hs_lg_pattern_format(&p, 7, url, sizeof(url));
    assert_string_equal(url, "/7/x07?v=7");
    assert_int_equal(hs_lg_pattern_parse(&p, "/static", err, sizeof(err)), 0);
    hs_lg_pattern_format(&p, 7, url, sizeof(url));
    assert_string_equal(url, "/static");
    assert_int_equal(hs_lg_pattern_format(&p, 7, url, 7), HS_E2BIG);
    assert_int_equal(hs_lg_pattern_format(&p, 7, url, 8), 7);

    static const char *const bad[] = {
        "",        "obj-{n}",
        "/a b",    "/{x}",
        "/{n",     "/{n:}",
        "/{n:21}", "/{n:99999999999}",
        "/\x80",   "/{n}{n}{n}{n}{n}{n}{n}{n}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (hs_lg_pattern_parse(&p, bad[i], err, sizeof(err)) != HS_EINVAL)
            fail_msg("pattern '%s' accepted", bad[i]);
        assert_true(strlen(err) > 10);
    }
}

static void test_target(void **state)
{
    (void)state;
    char up[64], err[256];
    assert_int_equal(hs_lg_target_parse("http://127.0.0.1:8080", up, sizeof(up), err, sizeof(err)),
                     0);
    assert_string_equal(up, "127.0.0.1:8080");
    assert_int_equal(hs_lg_target_parse("http://127.0.0.1:8080/", up, sizeof(up), err, sizeof(err)),
                     0);
    assert_int_equal(hs_lg_target_parse("http://localhost", up, sizeof(up), err, sizeof(err)), 0);
    assert_string_equal(up, "localhost:80");
    assert_int_equal(hs_lg_target_parse("http://[::1]:9000", up, sizeof(up), err, sizeof(err)), 0);
    assert_string_equal(up, "[::1]:9000");
    assert_int_equal(hs_lg_target_parse("https://1.2.3.4", up, sizeof(up), err, sizeof(err)),
                     HS_ENOTSUP);
    static const char *const bad[] = {
        "127.0.0.1:80",          "http://",           "http://:80",
        "http://example.com:80", "http://1.2.3.4:",   "http://1.2.3.4:0",
        "http://1.2.3.4:65536",  "http://1.2.3.4:8x", "http://1.2.3.4/path",
        "http://[::1",           "http://[zz]:80",    "http://[::1]x",
        "http://1.2.3.4:80?q",   "ftp://1.2.3.4",     "http://1.2.3.4:99999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (hs_lg_target_parse(bad[i], up, sizeof(up), err, sizeof(err)) != HS_EINVAL)
            fail_msg("target '%s' accepted", bad[i]);
        assert_non_null(strstr(err, "--target"));
    }
}

static hs_lg_xc_t xc(const char *s)
{
    return hs_lg_xc_of((hs_str_t){s, strlen(s)});
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(xc("HIT"), HS_LG_XC_HIT);
    assert_int_equal(xc("hit"), HS_LG_XC_HIT);
    assert_int_equal(xc("HIT-STALE"), HS_LG_XC_HIT);
    assert_int_equal(xc("HIT, MISS"), HS_LG_XC_HIT);
    assert_int_equal(xc("MISS"), HS_LG_XC_MISS);
    assert_int_equal(xc("MISS from cache1"), HS_LG_XC_MISS);
    assert_int_equal(xc("STALE"), HS_LG_XC_STALE);
    assert_int_equal(xc("EXPIRED"), HS_LG_XC_EXPIRED);
    assert_int_equal(xc("PASS"), HS_LG_XC_PASS);
    assert_int_equal(xc("REVALIDATED"), HS_LG_XC_REVALIDATED);
    assert_int_equal(xc("MISSING"), HS_LG_XC_OTHER);
    assert_int_equal(xc("HI"), HS_LG_XC_OTHER);
    assert_int_equal(xc(", x"), HS_LG_XC_OTHER);
    assert_int_equal(xc(""), HS_LG_XC_NONE);

    assert_int_equal(hs_lg_err_of(HS_ECONNREFUSED), HS_LG_ERR_CONNECT);
    assert_int_equal(hs_lg_err_of(HS_ETIMEDOUT), HS_LG_ERR_TIMEOUT);
    assert_int_equal(hs_lg_err_of(HS_ECONNRESET), HS_LG_ERR_RESET);
    assert_int_equal(hs_lg_err_of(HS_EBADMSG), HS_LG_ERR_BADRESP);
    assert_int_equal(hs_lg_err_of(HS_ECANCELED), HS_LG_ERR_UNFINISHED);
    assert_int_equal(hs_lg_err_of(HS_ENOMEM), HS_LG_ERR_OTHER);
    assert_int_equal(hs_lg_err_of_status(200), HS_LG_ERR_N);
    assert_int_equal(hs_lg_err_of_status(304), HS_LG_ERR_N);
    assert_int_equal(hs_lg_err_of_status(404), HS_LG_ERR_HTTP4XX);
    assert_int_equal(hs_lg_err_of_status(503), HS_LG_ERR_HTTP5XX);
    assert_string_equal(hs_lg_err_key(HS_LG_ERR_BADRESP), "bad_response");

    hs_lg_counts_t c = {0};
    assert_true(hs_lg_counts_hit_ratio(&c) < 0);
    c.xcache[HS_LG_XC_HIT] = 3;
    c.xcache[HS_LG_XC_MISS] = 1;
    c.xcache[HS_LG_XC_NONE] = 100; /* answers without the field do not count */
    assert_true(fabs(hs_lg_counts_hit_ratio(&c) - 0.75) < 1e-12);
    hs_lg_counts_t d = c;
    d.errors[HS_LG_ERR_TIMEOUT] = 2;
    hs_lg_counts_add(&c, &d);
    assert_int_equal(c.xcache[HS_LG_XC_HIT], 6);
    assert_int_equal(hs_lg_counts_errors(&c), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping), cmocka_unit_test(test_json_structure),
        cmocka_unit_test(test_html_escape),   cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_target),        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
