/*
 * libFuzzer harness for the edge's cache-directive parsers
 * (src/edge/policy.c): Cache-Control (RFC 9111 5.2), targeted fields
 * (RFC 9213 Structured Fields Dictionary) and Vary keys. Input layout:
 * the value up to the first '\n' is parsed as Cache-Control and as a
 * targeted field and used as a Vary list; the rest is a request field
 * value the Vary key is computed from. Properties (abort() when violated):
 *   - every seconds value is -1 (absent) or 0..2^31;
 *   - qualified field lists point inside the input;
 *   - parsing the same value twice changes nothing (merging is idempotent);
 *   - a targeted field that fails to parse leaves the directives untouched;
 *   - a Vary key fits its buffer and does not depend on the buffer size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/str.h"
#include "edge/policy.h"

static void check_cc(const hs_cc_t *cc, hs_str_t in)
{
    const int64_t *v[] = {&cc->max_age, &cc->s_maxage, &cc->max_stale,
                          &cc->min_fresh, &cc->swr, &cc->sie};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        CHECK(*v[i] == -1 || (*v[i] >= 0 && *v[i] <= HS_CC_DELTA_MAX));
    const hs_str_t *l[] = {&cc->no_cache_fields, &cc->private_fields};
    for (size_t i = 0; i < 2; i++)
        if (l[i]->len)
            CHECK(l[i]->base >= in.base && l[i]->base + l[i]->len <= in.base + in.len);
}

static bool same(const hs_cc_t *a, const hs_cc_t *b)
{
    return a->flags == b->flags && a->max_age == b->max_age && a->s_maxage == b->s_maxage &&
           a->max_stale == b->max_stale && a->min_fresh == b->min_fresh && a->swr == b->swr &&
           a->sie == b->sie;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    hs_str_t v = {p, nl ? (size_t)(nl - p) : size};
    hs_str_t rest = nl ? (hs_str_t){nl + 1, size - v.len - 1} : HS_STR_NULL;

    hs_cc_t a, b;
    hs_cc_init(&a);
    int rc = hs_cc_parse(v, &a);
    CHECK(rc == 0 || rc == HS_EBADMSG);
    CHECK((rc == HS_EBADMSG) == ((a.flags & HS_CC_MALFORMED) != 0));
    check_cc(&a, v);
    b = a;
    hs_cc_parse(v, &b);
    CHECK(same(&a, &b));
    (void)hs_cc_lists_field(a.no_cache_fields, HS_STR_LIT("set-cookie"));
    (void)hs_cc_lists_field(a.private_fields, HS_STR_LIT("x"));

    hs_cc_t t, before;
    hs_cc_init(&t);
    t.max_age = 42;
    before = t;
    rc = hs_cc_parse_targeted(v, &t);
    CHECK(rc == 0 || rc == HS_EBADMSG);
    if (rc != 0)
        CHECK(same(&t, &before) && t.no_cache_fields.len == 0 && t.private_fields.len == 0);
    check_cc(&t, v);

    /* Vary key of a request whose fields all carry `rest` */
    hs_http_header_t hdrs[3] = {
        {HS_STR_LIT("Accept-Encoding"), rest},
        {HS_STR_LIT("X-A"), rest},
        {HS_STR_LIT("accept-encoding"), v},
    };
    hs_http_msg_t req = {.headers = hdrs, .num_headers = 3};
    char big[4096], small[64];
    int n = hs_edge_vary_key(v, &req, big, sizeof(big));
    CHECK(n == HS_E2BIG || (n >= 0 && (size_t)n <= sizeof(big)));
    int m = hs_edge_vary_key(v, &req, small, sizeof(small));
    CHECK(m == HS_E2BIG || (m >= 0 && (size_t)m <= sizeof(small)));
    if (m >= 0)
        CHECK(n == m && memcmp(big, small, (size_t)m) == 0);

    /* Vary list of a response carrying the value */
    hs_http_header_t vh[1] = {{HS_STR_LIT("Vary"), v}};
    hs_http_msg_t resp = {.status = 200, .headers = vh, .num_headers = 1};
    char list[512];
    int ln = hs_edge_vary_list(&resp, list, sizeof(list));
    CHECK(ln == HS_EINVAL || ln == HS_E2BIG || (ln >= 0 && (size_t)ln < sizeof(list)));
    return 0;
}
