/* Unit tests of src/shield/shield.c and opts.c: the order of decisions at
 * accept and per request, allow/deny precedence, caps, 429 strikes, the
 * auto-throttle share rule, and configuration errors naming the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "shield/shield.h"

static struct sockaddr_storage P(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(s, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, s, &s4->sin_addr), 1);
    }
    return ss;
}

static hs_shield_t *make(const char *const *kv)
{
    hs_config_t cfg;
    assert_int_equal(hs_config_init(&cfg), 0);
    char err[256];
    for (; kv[0]; kv += 2)
        if (hs_config_set(&cfg, kv[0], kv[1], "test", err, sizeof(err)) != 0)
            fail_msg("%s", err);
    hs_shield_opts_t o;
    if (hs_shield_opts_from_config(&cfg, &o, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    hs_config_free(&cfg);
    assert_true(hs_shield_opts_active(&o));
    hs_shield_t *s;
    assert_int_equal(hs_shield_new(&o, &s), 0);
    hs_shield_opts_free(&o); /* emptied by hs_shield_new: must be harmless */
    return s;
}

static void defaults_are_inactive(void **state)
{
    (void)state;
    hs_config_t cfg;
    assert_int_equal(hs_config_init(&cfg), 0);
    hs_shield_opts_t o;
    char err[256];
    assert_int_equal(hs_shield_opts_from_config(&cfg, &o, err, sizeof(err)), 0);
    assert_false(hs_shield_opts_active(&o));
    hs_shield_opts_free(&o);
    hs_config_free(&cfg);
}

static void config_errors_name_the_key(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"shield.deny", "10.0.0.0/8, 300.0.0.0/8", "shield.deny: bad entry '300.0.0.0/8'"},
        {"shield.allow", "2001:db8::/200", "shield.allow: bad entry '2001:db8::/200'"},
        {"shield.ipv6_prefix", "0", "shield.ipv6_prefix: 0 is out of range"},
        {"shield.rate", "-1", "shield.rate: -1 is out of range"},
        {"shield.top_k", "1000", "shield.top_k: 1000 is out of range"},
        {"shield.auto_throttle_share", "101", "shield.auto_throttle_share: 101 is out of range"},
        {"shield.window", "10ms", "shield.window: 10ms is out of range"},
        {"shield.max_clients", "1", "shield.max_clients: 1 is out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hs_config_t cfg;
        assert_int_equal(hs_config_init(&cfg), 0);
        char err[256];
        assert_int_equal(hs_config_set(&cfg, cases[i][0], cases[i][1], "test", err, sizeof(err)),
                         0);
        hs_shield_opts_t o;
        assert_int_equal(hs_shield_opts_from_config(&cfg, &o, err, sizeof(err)), HS_ECONFIG);
        if (strncmp(err, cases[i][2], strlen(cases[i][2])) != 0)
            fail_msg("got \"%s\", want \"%s...\"", err, cases[i][2]);
        hs_config_free(&cfg);
    }
}

static void deny_and_allow(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.deny", "10.0.0.0/8, 2001:db8::/32",
                                                "shield.allow", "10.1.2.3", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage p = P("10.9.9.9");
    assert_false(hs_shield_accept(s, &p, 0, &r));
    assert_int_equal(r.status, 403);
    assert_true(r.close);
    p = P("::ffff:10.9.9.9");
    assert_false(hs_shield_accept(s, &p, 0, &r));
    p = P("2001:db8:1::5");
    assert_false(hs_shield_accept(s, &p, 0, &r));
    p = P("10.1.2.3"); /* allow wins over deny */
    assert_true(hs_shield_accept(s, &p, 0, &r));
    hs_shield_close(s, &p);
    p = P("192.0.2.1");
    assert_true(hs_shield_accept(s, &p, 0, &r));
    hs_shield_close(s, &p);
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    assert_true(hs_shield_accept(s, &un, 0, &r));
    hs_shield_close(s, &un);
    assert_int_equal(hs_shield_connections(s), 0);
    hs_shield_free(s);
}

static void conn_caps(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.max_conns_per_client", "2",
                                                "shield.max_connections", "4", "shield.allow",
                                                "192.0.2.0/24", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage a = P("10.0.0.1"), b = P("10.0.0.2"), c = P("10.0.0.3"),
                            x = P("192.0.2.9");
    assert_true(hs_shield_accept(s, &a, 0, &r));
    assert_true(hs_shield_accept(s, &a, 0, &r));
    assert_false(hs_shield_accept(s, &a, 0, &r));
    assert_int_equal(r.status, 503);
    assert_int_equal(r.retry_after, 1);
    assert_true(hs_shield_accept(s, &b, 0, &r));
    assert_true(hs_shield_accept(s, &b, 0, &r));
    assert_int_equal(hs_shield_connections(s), 4);
    /* global cap reached: c refused although it has none open */
    assert_false(hs_shield_accept(s, &c, 0, &r));
    assert_int_equal(r.status, 503);
    assert_string_equal(r.reason, "server busy");
    /* exempt clients still get in (and count) */
    assert_true(hs_shield_accept(s, &x, 0, &r));
    assert_int_equal(hs_shield_connections(s), 5);
    hs_shield_close(s, &x);
    hs_shield_close(s, &b);
    assert_true(hs_shield_accept(s, &c, 0, &r));
    hs_shield_close(s, &a);
    assert_true(hs_shield_accept(s, &a, 0, &r)); /* a is back under its cap */
    hs_shield_close(s, &a);
    hs_shield_close(s, &a);
    hs_shield_close(s, &b);
    hs_shield_close(s, &c);
    assert_int_equal(hs_shield_connections(s), 0);
    hs_shield_free(s);
}

/* IPv6 clients in one /64 share a bucket; another /64 has its own. */
static void rate_limit_v6_prefix(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.rate", "1", "shield.burst", "2",
                                                "shield.max_refusals", "3", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage a1 = P("2001:db8:0:1::1"), a2 = P("2001:db8:0:1::2"),
                            b = P("2001:db8:0:2::1");
    assert_true(hs_shield_request(s, &a1, 0, &r));
    assert_true(hs_shield_request(s, &a2, 0, &r));
    assert_false(hs_shield_request(s, &a1, 0, &r));
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after, 1);
    assert_false(r.close);
    assert_true(hs_shield_request(s, &b, 0, &r));
    assert_false(hs_shield_request(s, &a2, 0, &r));
    assert_false(r.close);
    assert_false(hs_shield_request(s, &a2, 0, &r)); /* third in a row: close */
    assert_true(r.close);
    assert_true(hs_shield_request(s, &a2, 1000, &r));
    hs_shield_free(s);
}

static void allow_is_exempt_from_rate(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.rate", "1", "shield.allow",
                                                "127.0.0.0/8", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage p = P("127.0.0.9");
    for (int i = 0; i < 100; i++)
        assert_true(hs_shield_request(s, &p, 0, &r));
    hs_shield_free(s);
}

/* With no base limit, a client over 20 % of all requests (and over the
 * throttled rate) gets the throttled rate; light clients never do. */
static void auto_throttle(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.auto_throttle", "true",
                                                "shield.auto_throttle_rate", "5",
                                                "shield.auto_throttle_share", "20",
                                                "shield.auto_throttle_for", "5s", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage flood = P("198.51.100.1");
    char ip[32];
    /* background: 50 clients x 10 requests in the first second */
    for (int i = 0; i < 50; i++) {
        snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
        struct sockaddr_storage p = P(ip);
        for (int j = 0; j < 10; j++)
            assert_true(hs_shield_request(s, &p, 100, &r));
    }
    /* the flood: 1000 requests. The rule fires once the flood is over 20 %
     * of the window (x > 0.2 * (500 + x): the 126th request), and from
     * there only the throttled bucket (5) passes. */
    unsigned ok = 0, refused = 0;
    for (int i = 0; i < 1000; i++) {
        if (hs_shield_request(s, &flood, 200, &r))
            ok++;
        else {
            refused++;
            assert_int_equal(r.status, 429);
        }
    }
    assert_int_equal(ok, 125 + 5);
    assert_int_equal(refused, 1000 - ok);
    /* the background clients were never refused */
    snprintf(ip, sizeof(ip), "203.0.113.%d", 7);
    struct sockaddr_storage p = P(ip);
    assert_true(hs_shield_request(s, &p, 300, &r));
    /* a throttled client gets 5/s */
    unsigned later = 0;
    for (int i = 0; i < 100; i++)
        later += hs_shield_request(s, &flood, 2000, &r);
    assert_true(later <= 5);
    hs_shield_free(s);
}

/* Heavy hitters only: nothing refused, the top list available. */
static void top_only(void **state)
{
    (void)state;
    hs_shield_t *s = make((const char *const[]){"shield.top_k", "4", NULL});
    hs_http_refusal_t r = {0};
    struct sockaddr_storage p = P("192.0.2.1");
    for (int i = 0; i < 1000; i++)
        assert_true(hs_shield_request(s, &p, 10, &r));
    hs_shield_tick(s, 5000);
    hs_shield_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_inactive),
        cmocka_unit_test(config_errors_name_the_key),
        cmocka_unit_test(deny_and_allow),
        cmocka_unit_test(conn_caps),
        cmocka_unit_test(rate_limit_v6_prefix),
        cmocka_unit_test(allow_is_exempt_from_rate),
        cmocka_unit_test(auto_throttle),
        cmocka_unit_test(top_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
