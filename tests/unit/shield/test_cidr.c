/* Unit tests of src/shield/cidr.c: list parsing, errors, matching of IPv4,
 * IPv6 and IPv4-mapped IPv6 addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "shield/cidr.h"

/* Mapped form of a textual address. */
static void A(const char *s, uint8_t out[16])
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
    assert_true(hs_cidr_from_sockaddr(&ss, out));
}

/* Parses from an exact-size heap copy so ASan sees reads past the end. */
static int parse(const char *s, hs_cidr_list_t *l, char *err, size_t errlen)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    int rc = hs_cidr_parse_list(b, n, l, err, errlen);
    free(b);
    return rc;
}

static bool in(const char *list, const char *addr)
{
    hs_cidr_list_t l;
    char err[200];
    assert_int_equal(parse(list, &l, err, sizeof(err)), 0);
    uint8_t a[16];
    A(addr, a);
    bool m = hs_cidr_list_match(&l, a);
    hs_cidr_list_free(&l);
    return m;
}

static void v4(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.200.3.4"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_true(in("192.168.1.0/24", "192.168.1.255"));
    assert_false(in("192.168.1.0/24", "192.168.2.0"));
    assert_true(in("192.0.2.7", "192.0.2.7"));
    assert_false(in("192.0.2.7", "192.0.2.6"));
    assert_true(in("172.16.0.0/12", "172.31.255.255"));
    assert_false(in("172.16.0.0/12", "172.32.0.0"));
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_false(in("0.0.0.0/0", "2001:db8::1")); /* /0 of IPv4 is all of IPv4 only */
    assert_true(in("127.0.0.2/31", "127.0.0.3"));
    assert_false(in("127.0.0.2/32", "127.0.0.3"));
}

static void v6(void **state)
{
    (void)state;
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("2001:db8:0:1::/64", "2001:db8:0:1:ffff:ffff:ffff:ffff"));
    assert_false(in("2001:db8:0:1::/64", "2001:db8:0:2::"));
    assert_true(in("::1", "::1"));
    assert_true(in("fe80::/10", "febf::1"));
    assert_false(in("fe80::/10", "fec0::1"));
    assert_true(in("::/0", "2001:db8::1"));
    assert_true(in("2001:db8::/33", "2001:db8:7fff::"));
    assert_false(in("2001:db8::/33", "2001:db8:8000::"));
}

/* IPv4 entries match v4-mapped peers and the other way round. */
static void v4_mapped(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
    assert_true(in("::ffff:10.0.0.0/104", "10.9.9.9"));
    assert_true(in("::ffff:0:0/96", "203.0.113.9"));
    assert_false(in("::/96", "203.0.113.9")); /* IPv4-compatible, not mapped */
    uint8_t a[16];
    A("::ffff:1.2.3.4", a);
    assert_true(hs_cidr_is_v4(a));
    A("1.2.3.4", a);
    assert_true(hs_cidr_is_v4(a));
    A("2001:db8::", a);
    assert_false(hs_cidr_is_v4(a));
}

static void lists_and_separators(void **state)
{
    (void)state;
    hs_cidr_list_t l;
    char err[200];
    assert_int_equal(parse(" 10.0.0.0/8,2001:db8::/32 ,\t192.0.2.1 ,,", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    hs_cidr_list_free(&l);
    assert_int_equal(parse("", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    assert_int_equal(parse(" , ", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    assert_false(in("", "1.2.3.4"));
}

/* Each bad entry is an error naming it. */
static void errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"10.0.0.0/33", "bad entry '10.0.0.0/33': prefix length over 32"},
        {"2001:db8::/129", "bad entry '2001:db8::/129': prefix length over 128"},
        {"10.0.0.1/8", "bad entry '10.0.0.1/8': address has bits set past the prefix length"},
        {"1.2.3.4, 10.0.0.0/", "bad entry '10.0.0.0/': missing prefix length after '/'"},
        {"10.0.0/8", "bad entry '10.0.0/8': not an IPv4 address"},
        {"300.1.1.1", "bad entry '300.1.1.1': not an IPv4 address"},
        {"2001:db8::g", "bad entry '2001:db8::g': not an IPv6 address"},
        {"10.0.0.0/8x", "bad entry '10.0.0.0/8x': prefix length is not a number"},
        {"10.0.0.0/-1", "bad entry '10.0.0.0/-1': prefix length is not a number"},
        {"localhost", "bad entry 'localhost': not an IPv4 address"},
        {"10.0.0.0/99999999999999999999", "bad entry '10.0.0.0/99999999999999999999': prefix "
                                          "length over 32"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hs_cidr_list_t l;
        char err[200];
        assert_int_equal(parse(cases[i].text, &l, err, sizeof(err)), HS_EINVAL);
        assert_int_equal(l.n, 0);
        assert_null(l.v);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("'%s': got \"%s\", want \"%s\"", cases[i].text, err, cases[i].want);
    }
}

/* Control bytes and overlong entries are shown safely, cut short. */
static void error_text_is_safe(void **state)
{
    (void)state;
    hs_cidr_list_t l;
    char err[200];
    assert_int_equal(parse("1.2.3.\x01", &l, err, sizeof(err)), HS_EINVAL);
    assert_non_null(strstr(err, "'1.2.3.?'"));
    char longe[300];
    memset(longe, '1', sizeof(longe) - 1);
    longe[sizeof(longe) - 1] = '\0';
    assert_int_equal(parse(longe, &l, err, sizeof(err)), HS_EINVAL);
    assert_non_null(strstr(err, "...': too long"));
    /* a tiny error buffer is still NUL-terminated */
    char tiny[8];
    assert_int_equal(parse("nope", &l, tiny, sizeof(tiny)), HS_EINVAL);
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void too_many_entries(void **state)
{
    (void)state;
    size_t cap = (HS_CIDR_MAX + 1) * 16;
    char *b = malloc(cap);
    size_t n = 0, n_max = 0;
    for (int i = 0; i <= HS_CIDR_MAX; i++) {
        if (i == HS_CIDR_MAX)
            n_max = n;
        n += (size_t)snprintf(b + n, cap - n, "10.%d.%d.0/24,", i / 256, i % 256);
    }
    hs_cidr_list_t l;
    char err[200];
    assert_int_equal(hs_cidr_parse_list(b, n_max, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, HS_CIDR_MAX);
    hs_cidr_list_free(&l);
    assert_int_equal(hs_cidr_parse_list(b, n, &l, err, sizeof(err)), HS_EINVAL);
    assert_non_null(strstr(err, "more than 1024 entries"));
    free(b);
}

static void mask_and_str(void **state)
{
    (void)state;
    uint8_t a[16];
    char buf[64];
    A("2001:db8:1:2:3:4:5:6", a);
    hs_cidr_mask(a, 64);
    assert_string_equal(hs_cidr_addr_str(a, buf, sizeof(buf)), "2001:db8:1:2::");
    A("2001:db8:1:2:3:4:5:6", a);
    hs_cidr_mask(a, 60);
    assert_string_equal(hs_cidr_addr_str(a, buf, sizeof(buf)), "2001:db8:1::");
    A("192.0.2.77", a);
    assert_string_equal(hs_cidr_addr_str(a, buf, sizeof(buf)), "192.0.2.77");
    hs_cidr_mask(a, 128);
    assert_string_equal(hs_cidr_addr_str(a, buf, sizeof(buf)), "192.0.2.77");
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    assert_false(hs_cidr_from_sockaddr(&un, a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v4),
        cmocka_unit_test(v6),
        cmocka_unit_test(v4_mapped),
        cmocka_unit_test(lists_and_separators),
        cmocka_unit_test(errors),
        cmocka_unit_test(error_text_is_safe),
        cmocka_unit_test(too_many_entries),
        cmocka_unit_test(mask_and_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
