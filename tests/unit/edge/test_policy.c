/*
 * Unit tests of src/edge/policy.c: Cache-Control and targeted-field
 * parsing, storability, freshness, age, reuse decisions and Vary keys.
 * Field values are copied into exact-size heap buffers so ASan catches any
 * read past a slice.
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
#include "core/str.h"
#include "edge/policy.h"
#include "http/range.h"

/* ---- helpers ---- */

#define MAXH 16
static char *bufs[512];
static int nbufs;

static hs_str_t S(const char *s)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, s, n);
    assert_true(nbufs < 512);
    bufs[nbufs++] = b;
    return (hs_str_t){b, n};
}

static void free_bufs(void)
{
    for (int i = 0; i < nbufs; i++)
        free(bufs[i]);
    nbufs = 0;
}

static int teardown(void **state)
{
    (void)state;
    free_bufs();
    return 0;
}

static hs_http_header_t H[MAXH];

/* A message with headers given as "Name", "value", ..., NULL. */
static hs_http_msg_t msg(int status, ...)
{
    hs_http_msg_t m;
    memset(&m, 0, sizeof(m));
    m.status = status;
    m.method = HS_HTTP_GET;
    m.headers = H;
    va_list ap;
    va_start(ap, status);
    const char *n;
    while ((n = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        assert_true(m.num_headers < MAXH);
        H[m.num_headers].name = S(n);
        H[m.num_headers].value = S(v);
        m.num_headers++;
    }
    va_end(ap);
    return m;
}

static hs_cc_t cc_of(const char *v, int *rc)
{
    hs_cc_t cc;
    hs_cc_init(&cc);
    int r = hs_cc_parse(S(v), &cc);
    if (rc)
        *rc = r;
    return cc;
}

static hs_edge_resp_info_t info(hs_http_msg_t m)
{
    hs_edge_resp_info_t ri;
    static const hs_str_t targets[] = {HS_STR_LIT("Edge-Cache-Control"),
                                       HS_STR_LIT("CDN-Cache-Control")};
    hs_edge_resp_info(&m, targets, 2, &ri);
    return ri;
}

#define T0 1700000000LL
static char date_buf[6][32];

static const char *date_at(int slot, int64_t t)
{
    hs_http_format_date((time_t)t, date_buf[slot]);
    return date_buf[slot];
}

/* ---- Cache-Control parsing ---- */

static void test_cc_basic(void **state)
{
    (void)state;
    int rc;
    hs_cc_t cc = cc_of("max-age=60, public", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(cc.max_age, 60);
    assert_true(cc.flags & HS_CC_PUBLIC);
    assert_int_equal(cc.s_maxage, -1);

    cc = cc_of("No-Store,PRIVATE , must-revalidate,proxy-revalidate,immutable", &rc);
    assert_int_equal(rc, 0);
    assert_true(cc.flags & HS_CC_NO_STORE);
    assert_true(cc.flags & HS_CC_PRIVATE);
    assert_true(cc.flags & HS_CC_MUST_REVALIDATE);
    assert_true(cc.flags & HS_CC_PROXY_REVALIDATE);
    assert_true(cc.flags & HS_CC_IMMUTABLE);

    cc = cc_of("s-maxage=10,stale-while-revalidate=30,stale-if-error=600", &rc);
    assert_int_equal(cc.s_maxage, 10);
    assert_int_equal(cc.swr, 30);
    assert_int_equal(cc.sie, 600);

    cc = cc_of("max-stale, min-fresh=5, only-if-cached, no-transform, must-understand", &rc);
    assert_int_equal(rc, 0);
    assert_true(cc.flags & HS_CC_MAX_STALE_ANY);
    assert_int_equal(cc.max_stale, -1);
    assert_int_equal(cc.min_fresh, 5);
    assert_true(cc.flags & HS_CC_ONLY_IF_CACHED);
    assert_true(cc.flags & HS_CC_NO_TRANSFORM);
    assert_true(cc.flags & HS_CC_MUST_UNDERSTAND);
    cc = cc_of("max-stale=20", &rc);
    assert_int_equal(cc.max_stale, 20);
    assert_false(cc.flags & HS_CC_MAX_STALE_ANY);
}

static void test_cc_quoted_and_qualified(void **state)
{
    (void)state;
    int rc;
    hs_cc_t cc = cc_of("max-age=\"30\"", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(cc.max_age, 30);
    cc = cc_of("no-cache=\"Set-Cookie, X-Foo\", private=\"Authorization-Info\"", &rc);
    assert_int_equal(rc, 0);
    assert_true(cc.flags & HS_CC_NO_CACHE);
    assert_false(cc.flags & HS_CC_PRIVATE); /* qualified private is not unqualified */
    assert_true(hs_cc_lists_field(cc.no_cache_fields, HS_STR_LIT("set-cookie")));
    assert_true(hs_cc_lists_field(cc.no_cache_fields, HS_STR_LIT("x-foo")));
    assert_false(hs_cc_lists_field(cc.no_cache_fields, HS_STR_LIT("x-fo")));
    assert_true(hs_cc_lists_field(cc.private_fields, HS_STR_LIT("Authorization-Info")));
    /* a comma inside quotes does not split members */
    cc = cc_of("private=\"a,b\", max-age=5", &rc);
    assert_int_equal(cc.max_age, 5);
}

static void test_cc_invalid(void **state)
{
    (void)state;
    int rc;
    /* invalid max-age: stale (0), reported */
    hs_cc_t cc = cc_of("max-age=abc", &rc);
    assert_int_equal(rc, HS_EBADMSG);
    assert_int_equal(cc.max_age, 0);
    cc = cc_of("max-age=-5", &rc);
    assert_int_equal(cc.max_age, 0);
    cc = cc_of("max-age", &rc);
    assert_int_equal(cc.max_age, 0);
    cc = cc_of("s-maxage=1.5", &rc);
    assert_int_equal(cc.s_maxage, 0);
    /* invalid min-fresh / swr: ignored */
    cc = cc_of("min-fresh=x, stale-while-revalidate=, public", &rc);
    assert_int_equal(rc, HS_EBADMSG);
    assert_int_equal(cc.min_fresh, -1);
    assert_int_equal(cc.swr, -1);
    assert_true(cc.flags & HS_CC_PUBLIC);
    /* unterminated quote skips to the end */
    cc = cc_of("public, max-age=\"12", &rc);
    assert_int_equal(rc, HS_EBADMSG);
    assert_true(cc.flags & HS_CC_PUBLIC);
    /* junk between members */
    cc = cc_of("max-age=10 junk, no-store", &rc);
    assert_int_equal(rc, HS_EBADMSG);
    assert_true(cc.flags & HS_CC_NO_STORE);
    /* empty and comma-only values are fine */
    cc = cc_of("", &rc);
    assert_int_equal(rc, 0);
    cc = cc_of(" , ,, ", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(cc.flags, 0);
    /* unknown extensions are ignored without error */
    cc = cc_of("community=\"UCI\", foo, max-age=1", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(cc.max_age, 1);
}

static void test_cc_overflow_and_duplicates(void **state)
{
    (void)state;
    hs_cc_t cc = cc_of("max-age=99999999999999999999999999", NULL);
    assert_int_equal(cc.max_age, HS_CC_DELTA_MAX);
    cc = cc_of("max-age=2147483648", NULL);
    assert_int_equal(cc.max_age, HS_CC_DELTA_MAX);
    cc = cc_of("max-age=2147483647", NULL);
    assert_int_equal(cc.max_age, 2147483647LL);
    /* duplicates: the most restrictive wins */
    cc = cc_of("max-age=100, max-age=10", NULL);
    assert_int_equal(cc.max_age, 10);
    cc = cc_of("max-age=10, max-age=100", NULL);
    assert_int_equal(cc.max_age, 10);
    cc = cc_of("min-fresh=1, min-fresh=9", NULL);
    assert_int_equal(cc.min_fresh, 9);
    /* several field lines accumulate */
    hs_cc_init(&cc);
    hs_cc_parse(S("public"), &cc);
    hs_cc_parse(S("max-age=7"), &cc);
    assert_true(cc.flags & HS_CC_PUBLIC);
    assert_int_equal(cc.max_age, 7);
}

/* ---- targeted fields (RFC 9213) ---- */

static void test_targeted_parse(void **state)
{
    (void)state;
    hs_cc_t cc;
    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("max-age=60, s-maxage=30, must-revalidate"), &cc), 0);
    assert_int_equal(cc.max_age, 60);
    assert_int_equal(cc.s_maxage, 30);
    assert_true(cc.flags & HS_CC_MUST_REVALIDATE);

    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("no-store"), &cc), 0);
    assert_true(cc.flags & HS_CC_NO_STORE);
    /* Boolean false and wrong types are ignored */
    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("no-store=?0, max-age=\"60\", public;x=1"), &cc), 0);
    assert_false(cc.flags & HS_CC_NO_STORE);
    assert_int_equal(cc.max_age, -1);
    assert_true(cc.flags & HS_CC_PUBLIC);
    /* last duplicate wins in a Dictionary */
    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("max-age=10, max-age=20"), &cc), 0);
    assert_int_equal(cc.max_age, 20);
    /* qualified no-cache as a String */
    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("no-cache=\"set-cookie\""), &cc), 0);
    assert_true(cc.flags & HS_CC_NO_CACHE);
    assert_true(hs_cc_lists_field(cc.no_cache_fields, HS_STR_LIT("Set-Cookie")));
    /* inner lists, tokens, byte sequences, decimals parse (and are ignored) */
    hs_cc_init(&cc);
    assert_int_equal(hs_cc_parse_targeted(S("a=(1 2 \"x\");p, b=tok/x:y, c=:YWJj:, d=1.5, "
                                            "max-age=5"),
                                          &cc),
                     0);
    assert_int_equal(cc.max_age, 5);
}

static void test_targeted_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",            "   ",         "Max-Age=5",      "max-age=5,",    "max-age=5;",
        "max-age=",    "max-age=5 x", "a=\"unterminated", "a=?2",         "a=1.",
        "a=1.2345",    "a=1234567890123456", "a=(1 2",  "a=:abc",        ",max-age=5",
        "a=\"\\x\"",   "max-age=5,,public",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hs_cc_t cc;
        hs_cc_init(&cc);
        cc.max_age = 77;
        if (hs_cc_parse_targeted(S(bad[i]), &cc) != HS_EBADMSG)
            fail_msg("accepted invalid dictionary '%s'", bad[i]);
        assert_int_equal(cc.max_age, 77); /* untouched */
    }
}

static void test_targeted_precedence(void **state)
{
    (void)state;
    /* CDN-Cache-Control replaces Cache-Control and Expires */
    hs_edge_resp_info_t ri =
        info(msg(200, "Cache-Control", "no-store", "Expires", "Thu, 01 Jan 1970 00:00:00 GMT",
                 "CDN-Cache-Control", "max-age=600", NULL));
    assert_true(ri.targeted);
    assert_false(ri.cc.flags & HS_CC_NO_STORE);
    assert_int_equal(ri.cc.max_age, 600);
    assert_false(ri.has_expires);
    assert_int_equal(hs_edge_storable(HS_HTTP_GET, NULL, false, &ri), HS_EDGE_STORE);
    /* the first field of the target list wins over later ones */
    ri = info(msg(200, "CDN-Cache-Control", "max-age=600", "Edge-Cache-Control", "max-age=5",
                  NULL));
    assert_int_equal(ri.cc.max_age, 5);
    /* an invalid targeted field is ignored: Cache-Control applies */
    ri = info(msg(200, "Cache-Control", "max-age=9", "CDN-Cache-Control", "max-age=\"x", NULL));
    assert_false(ri.targeted);
    assert_int_equal(ri.cc.max_age, 9);
    /* a targeted no-store wins over a permissive Cache-Control */
    ri = info(msg(200, "Cache-Control", "public, max-age=60", "CDN-Cache-Control", "no-store",
                  NULL));
    assert_int_equal(hs_edge_storable(HS_HTTP_GET, NULL, false, &ri), HS_EDGE_NOSTORE_NO_STORE);
}

/* ---- storability (RFC 9111 3) ---- */

static hs_edge_store_t store(hs_http_msg_t m, hs_http_method_t method, const char *req_cc,
                             bool auth)
{
    hs_edge_resp_info_t ri = info(m);
    hs_cc_t rcc;
    hs_cc_init(&rcc);
    if (req_cc)
        hs_cc_parse(S(req_cc), &rcc);
    return hs_edge_storable(method, &rcc, auth, &ri);
}

static void test_storable(void **state)
{
    (void)state;
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", NULL), HS_HTTP_POST, NULL, false),
                     HS_EDGE_NOSTORE_METHOD);
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", NULL), HS_HTTP_HEAD, NULL, false),
                     HS_EDGE_NOSTORE_METHOD);
    assert_int_equal(store(msg(206, "Cache-Control", "max-age=60", NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_STATUS);
    assert_int_equal(store(msg(304, "Cache-Control", "max-age=60", NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_STATUS);
    assert_int_equal(store(msg(200, "Cache-Control", "no-store, max-age=60", NULL), HS_HTTP_GET,
                           NULL, false),
                     HS_EDGE_NOSTORE_NO_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", NULL), HS_HTTP_GET, "no-store",
                           false),
                     HS_EDGE_NOSTORE_NO_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "private, max-age=60", NULL), HS_HTTP_GET,
                           NULL, false),
                     HS_EDGE_NOSTORE_PRIVATE);
    /* qualified private: storable (the listed fields are stripped) */
    assert_int_equal(store(msg(200, "Cache-Control", "private=\"x-user\", max-age=60", NULL),
                           HS_HTTP_GET, NULL, false),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", "Vary", "Accept, *", NULL),
                           HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_VARY_STAR);
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", "Set-Cookie", "a=b", NULL),
                           HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_SET_COOKIE);
    /* no freshness information and not heuristically cacheable */
    assert_int_equal(store(msg(302, NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_NO_FRESHNESS);
    assert_int_equal(store(msg(500, NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_NO_FRESHNESS);
    /* ... but explicit freshness makes them storable */
    assert_int_equal(store(msg(302, "Cache-Control", "max-age=5", NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(302, "Expires", "Thu, 01 Jan 2037 00:00:00 GMT", NULL), HS_HTTP_GET,
                           NULL, false),
                     HS_EDGE_STORE);
    /* heuristically cacheable statuses without explicit freshness */
    assert_int_equal(store(msg(404, NULL), HS_HTTP_GET, NULL, false), HS_EDGE_STORE);
    assert_int_equal(store(msg(200, NULL), HS_HTTP_GET, NULL, false), HS_EDGE_STORE);
    /* a status we do not understand, even with max-age */
    assert_int_equal(store(msg(299, "Cache-Control", "max-age=5", NULL), HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_STATUS);
}

static void test_storable_auth(void **state)
{
    (void)state;
    /* RFC 9111 3.5: Authorization requests only with public, s-maxage or must-revalidate */
    assert_int_equal(store(msg(200, "Cache-Control", "max-age=60", NULL), HS_HTTP_GET, NULL, true),
                     HS_EDGE_NOSTORE_AUTH);
    assert_int_equal(store(msg(200, "Cache-Control", "public, max-age=60", NULL), HS_HTTP_GET, NULL,
                           true),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "s-maxage=60", NULL), HS_HTTP_GET, NULL, true),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(200, "Cache-Control", "must-revalidate, max-age=60", NULL),
                           HS_HTTP_GET, NULL, true),
                     HS_EDGE_STORE);
}

static void test_must_understand(void **state)
{
    (void)state;
    /* must-understand with a known status overrides no-store */
    assert_int_equal(store(msg(200, "Cache-Control", "must-understand, no-store, max-age=60", NULL),
                           HS_HTTP_GET, NULL, false),
                     HS_EDGE_STORE);
    assert_int_equal(store(msg(299, "Cache-Control", "must-understand, no-store, max-age=60", NULL),
                           HS_HTTP_GET, NULL, false),
                     HS_EDGE_NOSTORE_MUST_UNDERSTAND);
}

/* ---- freshness and age ---- */

static int64_t lifetime(hs_http_msg_t m, int64_t resp_time, bool *heur)
{
    hs_edge_resp_info_t ri = info(m);
    return hs_edge_freshness_lifetime(&ri, resp_time, 86400, heur);
}

static void test_freshness(void **state)
{
    (void)state;
    bool heur;
    assert_int_equal(lifetime(msg(200, "Cache-Control", "max-age=60, s-maxage=5", NULL), T0, &heur),
                     5);
    assert_int_equal(lifetime(msg(200, "Cache-Control", "max-age=60", "Expires",
                                  date_at(0, T0 + 1000), NULL),
                              T0, &heur),
                     60);
    /* Expires - Date */
    assert_int_equal(lifetime(msg(200, "Date", date_at(0, T0), "Expires", date_at(1, T0 + 300),
                                  NULL),
                              T0 + 10, &heur),
                     300);
    /* Expires without Date: against the response time */
    assert_int_equal(lifetime(msg(200, "Expires", date_at(1, T0 + 300), NULL), T0 + 100, &heur),
                     200);
    /* invalid or past Expires: stale */
    assert_int_equal(lifetime(msg(200, "Expires", "0", NULL), T0, &heur), 0);
    assert_int_equal(lifetime(msg(200, "Date", date_at(0, T0), "Expires", date_at(1, T0 - 5), NULL),
                              T0, &heur),
                     0);
    /* two Expires: stale */
    assert_int_equal(lifetime(msg(200, "Expires", date_at(1, T0 + 300), "Expires",
                                  date_at(2, T0 + 300), NULL),
                              T0, &heur),
                     0);
    assert_false(heur);
    /* heuristic: 10% of Date - Last-Modified */
    assert_int_equal(lifetime(msg(200, "Date", date_at(0, T0), "Last-Modified",
                                  date_at(1, T0 - 1000), NULL),
                              T0, &heur),
                     100);
    assert_true(heur);
    /* capped */
    assert_int_equal(lifetime(msg(200, "Date", date_at(0, T0), "Last-Modified",
                                  date_at(1, T0 - 100000000), NULL),
                              T0, &heur),
                     86400);
    /* not for statuses that are not heuristically cacheable */
    assert_int_equal(lifetime(msg(302, "Date", date_at(0, T0), "Last-Modified",
                                  date_at(1, T0 - 1000), NULL),
                              T0, &heur),
                     0);
    assert_false(heur);
    /* Last-Modified in the future: 0 */
    assert_int_equal(lifetime(msg(200, "Date", date_at(0, T0), "Last-Modified",
                                  date_at(1, T0 + 50), NULL),
                              T0, &heur),
                     0);
}

static void test_age(void **state)
{
    (void)state;
    /* RFC 9111 4.2.3 */
    hs_edge_resp_info_t ri = info(msg(200, "Date", date_at(0, T0), "Age", "30", NULL));
    /* request at T0+1, response at T0+3: apparent 3, corrected 30+2 = 32 */
    assert_int_equal(hs_edge_initial_age(&ri, T0 + 1, T0 + 3), 32);
    ri = info(msg(200, "Date", date_at(0, T0 - 100), NULL));
    assert_int_equal(hs_edge_initial_age(&ri, T0, T0), 100);
    /* a Date in the future does not make the age negative */
    ri = info(msg(200, "Date", date_at(0, T0 + 100), NULL));
    assert_int_equal(hs_edge_initial_age(&ri, T0, T0), 0);
    /* an invalid Age is ignored */
    ri = info(msg(200, "Age", "-3", NULL));
    assert_int_equal(ri.age, -1);
    assert_int_equal(hs_edge_initial_age(&ri, T0, T0), 0);

    hs_edge_meta_t m;
    ri = info(msg(200, "Cache-Control", "max-age=60", "Age", "10", NULL));
    hs_edge_meta_init(&m, &ri, T0, T0, 86400);
    assert_int_equal(hs_edge_age(&m, T0), 10);
    assert_int_equal(hs_edge_age(&m, T0 + 25), 35);
    assert_int_equal(hs_edge_age(&m, T0 - 5), 10); /* clock stepped back */
    assert_int_equal(m.lifetime, 60);
}

/* ---- reuse (RFC 9111 4) ---- */

static hs_edge_use_t use(const char *resp_cc, int64_t age, const char *req_cc, bool *bg)
{
    hs_edge_resp_info_t ri = info(msg(200, "Cache-Control", resp_cc, NULL));
    hs_edge_meta_t m;
    hs_edge_meta_init(&m, &ri, T0, T0, 86400);
    hs_cc_t rcc;
    hs_cc_init(&rcc);
    if (req_cc)
        hs_cc_parse(S(req_cc), &rcc);
    return hs_edge_reuse(&m, &rcc, T0 + age, bg);
}

static void test_reuse(void **state)
{
    (void)state;
    bool bg;
    assert_int_equal(use("max-age=60", 10, NULL, &bg), HS_EDGE_USE_FRESH);
    assert_int_equal(use("max-age=60", 60, NULL, &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60", 61, NULL, &bg), HS_EDGE_USE_VALIDATE);
    /* response no-cache: always validate */
    assert_int_equal(use("max-age=60, no-cache", 1, NULL, &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60, no-cache=\"x-a\"", 1, NULL, &bg), HS_EDGE_USE_VALIDATE);
    /* request directives */
    assert_int_equal(use("max-age=60", 10, "no-cache", &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60", 10, "max-age=5", &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60", 10, "max-age=10", &bg), HS_EDGE_USE_FRESH);
    assert_int_equal(use("max-age=60", 10, "min-fresh=40", &bg), HS_EDGE_USE_FRESH);
    assert_int_equal(use("max-age=60", 10, "min-fresh=51", &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60", 70, "max-stale=10", &bg), HS_EDGE_USE_STALE);
    assert_false(bg);
    assert_int_equal(use("max-age=60", 71, "max-stale=10", &bg), HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60", 5000, "max-stale", &bg), HS_EDGE_USE_STALE);
    /* must-revalidate, proxy-revalidate, s-maxage forbid serving stale */
    assert_int_equal(use("max-age=60, must-revalidate", 70, "max-stale", &bg),
                     HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("max-age=60, proxy-revalidate", 70, "max-stale", &bg),
                     HS_EDGE_USE_VALIDATE);
    assert_int_equal(use("s-maxage=60, stale-while-revalidate=100", 70, NULL, &bg),
                     HS_EDGE_USE_VALIDATE);
    /* stale-while-revalidate */
    assert_int_equal(use("max-age=60, stale-while-revalidate=30", 80, NULL, &bg),
                     HS_EDGE_USE_STALE);
    assert_true(bg);
    assert_int_equal(use("max-age=60, stale-while-revalidate=30", 91, NULL, &bg),
                     HS_EDGE_USE_VALIDATE);
    /* immutable: a reload does not revalidate while fresh */
    assert_int_equal(use("max-age=60, immutable", 10, "no-cache", &bg), HS_EDGE_USE_FRESH);
    assert_int_equal(use("max-age=60, immutable", 10, "max-age=0", &bg), HS_EDGE_USE_FRESH);
    assert_int_equal(use("max-age=60, immutable", 61, "no-cache", &bg), HS_EDGE_USE_VALIDATE);
}

static void test_stale_if_error(void **state)
{
    (void)state;
    hs_edge_meta_t m;
    hs_edge_resp_info_t ri = info(msg(200, "Cache-Control", "max-age=60, stale-if-error=100", NULL));
    hs_edge_meta_init(&m, &ri, T0, T0, 86400);
    assert_true(hs_edge_stale_if_error(&m, NULL, T0 + 160));
    assert_false(hs_edge_stale_if_error(&m, NULL, T0 + 161));
    hs_cc_t rcc;
    hs_cc_init(&rcc);
    hs_cc_parse(S("stale-if-error=1000"), &rcc);
    assert_true(hs_edge_stale_if_error(&m, &rcc, T0 + 1000));
    ri = info(msg(200, "Cache-Control", "max-age=60", NULL));
    hs_edge_meta_init(&m, &ri, T0, T0, 86400);
    assert_false(hs_edge_stale_if_error(&m, NULL, T0 + 61));
    assert_true(hs_edge_stale_if_error(&m, &rcc, T0 + 61)); /* the request allows it */
    ri = info(msg(200, "Cache-Control", "max-age=60, must-revalidate, stale-if-error=100", NULL));
    hs_edge_meta_init(&m, &ri, T0, T0, 86400);
    assert_false(hs_edge_stale_if_error(&m, NULL, T0 + 61));
}

static void test_request_cc(void **state)
{
    (void)state;
    hs_cc_t cc;
    hs_http_msg_t m = msg(0, "Pragma", "no-cache", NULL);
    hs_edge_request_cc(&m, &cc);
    assert_true(cc.flags & HS_CC_NO_CACHE);
    /* Pragma is ignored when Cache-Control is present */
    m = msg(0, "Pragma", "no-cache", "Cache-Control", "max-age=5", NULL);
    hs_edge_request_cc(&m, &cc);
    assert_false(cc.flags & HS_CC_NO_CACHE);
    assert_int_equal(cc.max_age, 5);
    m = msg(0, "cache-control", "only-if-cached", "Cache-Control", "max-stale=3", NULL);
    hs_edge_request_cc(&m, &cc);
    assert_true(cc.flags & HS_CC_ONLY_IF_CACHED);
    assert_int_equal(cc.max_stale, 3);
}

/* ---- Vary ---- */

static void test_vary_list(void **state)
{
    (void)state;
    char out[128];
    hs_http_msg_t m = msg(200, "Vary", "Accept-Encoding, accept-language", "Vary", "ACCEPT-encoding",
                          NULL);
    int n = hs_edge_vary_list(&m, out, sizeof(out));
    assert_int_equal(n, (int)strlen("accept-encoding,accept-language"));
    assert_string_equal(out, "accept-encoding,accept-language");
    m = msg(200, NULL);
    assert_int_equal(hs_edge_vary_list(&m, out, sizeof(out)), 0);
    m = msg(200, "Vary", "", NULL);
    assert_int_equal(hs_edge_vary_list(&m, out, sizeof(out)), 0);
    m = msg(200, "Vary", "accept, *", NULL);
    assert_int_equal(hs_edge_vary_list(&m, out, sizeof(out)), HS_EINVAL);
    m = msg(200, "Vary", "a-very-long-field-name", NULL);
    assert_int_equal(hs_edge_vary_list(&m, out, 10), HS_E2BIG);
}

static int vkey(const char *list, hs_http_msg_t m, char *out)
{
    return hs_edge_vary_key(S(list), &m, out, 256);
}

static void test_vary_key(void **state)
{
    (void)state;
    char a[256], b[256];
    int na, nb;
    /* Accept-Encoding: order, case and whitespace do not matter */
    na = vkey("accept-encoding", msg(0, "Accept-Encoding", "gzip, br", NULL), a);
    nb = vkey("accept-encoding", msg(0, "accept-encoding", "BR,gzip", NULL), b);
    assert_true(na > 0);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
    /* two lines equal one combined line */
    nb = vkey("accept-encoding", msg(0, "Accept-Encoding", "gzip", "Accept-Encoding", "br", NULL),
              b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
    /* different values differ */
    nb = vkey("accept-encoding", msg(0, "Accept-Encoding", "gzip", NULL), b);
    assert_false(na == nb && memcmp(a, b, (size_t)na) == 0);
    /* absent differs from empty */
    na = vkey("x-a", msg(0, NULL), a);
    nb = vkey("x-a", msg(0, "X-A", "", NULL), b);
    assert_false(na == nb && memcmp(a, b, (size_t)na) == 0);
    /* other fields: case and order are significant, whitespace is normalized */
    na = vkey("x-a", msg(0, "X-A", "Foo  bar ;  q=1", NULL), a);
    nb = vkey("x-a", msg(0, "X-A", "Foo bar;q=1", NULL), b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
    nb = vkey("x-a", msg(0, "X-A", "foo bar;q=1", NULL), b);
    assert_false(na == nb && memcmp(a, b, (size_t)na) == 0);
    /* several fields */
    na = vkey("accept,x-a", msg(0, "X-A", "1", "Accept", "text/html", NULL), a);
    nb = vkey("accept,x-a", msg(0, "Accept", "TEXT/HTML", "X-A", "1", NULL), b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
    /* too long */
    hs_http_msg_t m = msg(0, "X-A", "0123456789012345678901234567890123456789", NULL);
    assert_int_equal(hs_edge_vary_key(S("x-a"), &m, a, 16), HS_E2BIG);
    /* empty list */
    m = msg(0, NULL);
    assert_int_equal(hs_edge_vary_key(S(""), &m, a, 16), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cc_basic, teardown),
        cmocka_unit_test_teardown(test_cc_quoted_and_qualified, teardown),
        cmocka_unit_test_teardown(test_cc_invalid, teardown),
        cmocka_unit_test_teardown(test_cc_overflow_and_duplicates, teardown),
        cmocka_unit_test_teardown(test_targeted_parse, teardown),
        cmocka_unit_test_teardown(test_targeted_invalid, teardown),
        cmocka_unit_test_teardown(test_targeted_precedence, teardown),
        cmocka_unit_test_teardown(test_storable, teardown),
        cmocka_unit_test_teardown(test_storable_auth, teardown),
        cmocka_unit_test_teardown(test_must_understand, teardown),
        cmocka_unit_test_teardown(test_freshness, teardown),
        cmocka_unit_test_teardown(test_age, teardown),
        cmocka_unit_test_teardown(test_reuse, teardown),
        cmocka_unit_test_teardown(test_stale_if_error, teardown),
        cmocka_unit_test_teardown(test_request_cc, teardown),
        cmocka_unit_test_teardown(test_vary_list, teardown),
        cmocka_unit_test_teardown(test_vary_key, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
