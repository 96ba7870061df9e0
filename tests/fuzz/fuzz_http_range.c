/*
 * libFuzzer harness for the Range / HTTP-date / entity-tag parsers
 * (src/http/range.c). Input layout: byte 0 picks the representation size
 * class and the range limit, bytes 1..8 the size, the rest is the field
 * value handed to all three parsers. Properties (abort() when violated):
 *   Range: the result is HS_EINVAL or 0..max; every range has
 *          first <= last < size; nothing is written past out[n].
 *   Date:  a parsed date in 1900..9999 formats and parses back to itself.
 *   ETag:  "*" matches; a strong match is also a weak match.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/err.h"
#include "core/str.h"
#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint64_t rsize;
    memcpy(&rsize, data + 1, 8);
    switch (data[0] & 3) {
    case 0: rsize %= 100; break;
    case 1: rsize %= 100000; break;
    case 2: break;
    case 3: rsize = UINT64_MAX - (rsize % 4); break;
    }
    int max = (data[0] >> 2) % HS_HTTP_MAX_RANGES + 1;
    hs_str_t v = {(const char *)data + 9, size - 9};

    /* Range */
    hs_http_range_t out[HS_HTTP_MAX_RANGES + 1];
    memset(out, 0xA5, sizeof(out));
    int n = hs_http_parse_range(v, rsize, out, max);
    CHECK(n == HS_EINVAL || (n >= 0 && n <= max));
    for (int i = 0; i < n; i++) {
        CHECK(out[i].first <= out[i].last);
        CHECK(out[i].last < rsize);
    }
    for (int i = n; n >= 0 && i <= HS_HTTP_MAX_RANGES; i++)
        CHECK(out[i].first == 0xA5A5A5A5A5A5A5A5ull && out[i].last == 0xA5A5A5A5A5A5A5A5ull);
    /* the same value with the full limit never yields fewer ranges */
    if (n >= 0) {
        hs_http_range_t big[HS_HTTP_MAX_RANGES];
        int m = hs_http_parse_range(v, rsize, big, HS_HTTP_MAX_RANGES);
        CHECK(m == n);
        for (int i = 0; i < n; i++)
            CHECK(big[i].first == out[i].first && big[i].last == out[i].last);
    }

    /* HTTP-date */
    time_t t = 0;
    if (hs_http_parse_date(v, &t) == 0) {
        CHECK(t >= -2208988800LL); /* 1900-01-01 */
        if (t <= 253402300799LL) { /* 9999-12-31 23:59:59 */
            char buf[64];
            int len = hs_http_format_date(t, buf);
            CHECK(len == 29 && strlen(buf) == 29);
            time_t back = 0;
            CHECK(hs_http_parse_date((hs_str_t){buf, (size_t)len}, &back) == 0);
            CHECK(back == t);
        }
    }

    /* entity-tag lists */
    static const hs_str_t tags[] = {HS_STR_LIT("\"xyzzy\""), HS_STR_LIT("\"\""),
                                    HS_STR_LIT("\"a\"")};
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        bool strong = hs_http_etag_match(v, tags[i], false);
        bool weak = hs_http_etag_match(v, tags[i], true);
        CHECK(!strong || weak);
    }
    hs_str_t tv = hs_str_trim_ows(v);
    if (tv.len == 1 && tv.base[0] == '*' && v.len && v.base[v.len - 1] == '*')
        CHECK(hs_http_etag_match(v, tags[0], false));
    return 0;
}
