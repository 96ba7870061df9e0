/*
 * Unit tests of the edge proxy's pure helpers (src/edge/proxy.c); the
 * handler itself is tested end to end in tests/integration/edge_cache.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "edge/proxy.h"

static void test_parse_origin(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hs_edge_parse_origin("http://127.0.0.1:8080", out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_equal(hs_edge_parse_origin("http://127.0.0.1:8080/", out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_equal(hs_edge_parse_origin("localhost:9000", out, sizeof(out)), 0);
    assert_string_equal(out, "localhost:9000");
    assert_int_equal(hs_edge_parse_origin("http://[::1]:80", out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]:80");
    static const char *const bad[] = {
        "",
        "http://",
        "https://127.0.0.1:443",
        "ftp://127.0.0.1:21",
        "http://127.0.0.1",
        "http://127.0.0.1:",
        "http://127.0.0.1:80/path",
        "http://example.com:80", /* would need DNS */
        "http://:80",
        "http://127.0.0.1:8x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hs_edge_parse_origin(bad[i], out, sizeof(out)) != HS_EINVAL)
            fail_msg("accepted origin '%s'", bad[i]);
    /* too long for the buffer */
    assert_int_equal(hs_edge_parse_origin("http://127.0.0.1:8080", out, 8), HS_EINVAL);
}

static void test_new_rejects_bad_origin(void **state)
{
    (void)state;
    hs_edge_opts_t o = {.origin = "https://x:1"};
    int err = 0;
    assert_null(hs_edge_proxy_new(&o, &err));
    assert_int_equal(err, HS_EINVAL);
    o.origin = "http://127.0.0.1:1";
    o.targeted = "CDN-Cache-Control, Edge-Cache-Control";
    o.purge_token = "t";
    hs_http_handler_t *h = hs_edge_proxy_new(&o, &err);
    assert_non_null(h);
    hs_edge_proxy_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_origin),
        cmocka_unit_test(test_new_rejects_bad_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
