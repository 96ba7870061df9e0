/*
 * libFuzzer harness for the load generator's parsers: the X-Cache
 * classification of response fields (from the server under test: untrusted)
 * and the option parsers (--target, --url-pattern, --size-dist), which take
 * operator input but must never crash on it. Byte 0 picks the parser, the
 * rest is its input. Properties (abort() when violated):
 *   X-Cache: the class is in range; empty input is NONE.
 *   target:  a success names "host:port" with a port 1..65535; a failure
 *            leaves a message.
 *   pattern: a success formats any number within the pattern's bound and
 *            the result starts with '/'.
 *   sizes:   a success samples only sizes in [0, max] with max <= 256 MiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loadgen/pattern.h"
#include "loadgen/rng.h"
#include "loadgen/sizes.h"
#include "loadgen/stats.h"
#include "loadgen/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    unsigned which = data[0] & 3;
    size_t n = size - 1;
    /* exact-size copy (no NUL) for the slice parser, NUL-terminated for the rest */
    char *s = malloc(n + 1);
    if (!s) return 0;
    memcpy(s, data + 1, n);
    s[n] = '\0';
    char err[512] = "";
    switch (which) {
    case 0: {
        char *exact = malloc(n ? n : 1);
        if (!exact) break;
        memcpy(exact, data + 1, n);
        hs_lg_xc_t k = hs_lg_xc_of((hs_str_t){exact, n});
        CHECK(k < HS_LG_XC_N);
        CHECK(n > 0 || k == HS_LG_XC_NONE);
        CHECK(hs_lg_xc_label(k) != NULL);
        free(exact);
        break;
    }
    case 1: {
        char up[HS_LG_HOST_MAX];
        if (hs_lg_target_parse(s, up, sizeof(up), err, sizeof(err)) == 0) {
            const char *colon = strrchr(up, ':');
            CHECK(colon && colon != up);
            long port = strtol(colon + 1, NULL, 10);
            CHECK(port >= 1 && port <= 65535);
        } else {
            CHECK(err[0] != '\0');
        }
        break;
    }
    case 2: {
        hs_lg_pattern_t *p = malloc(sizeof(*p));
        if (!p) break;
        if (hs_lg_pattern_parse(p, s, err, sizeof(err)) == 0) {
            /* bound: the pattern plus 20 digits per placeholder */
            char url[HS_LG_PATTERN_MAX + 20 * HS_LG_PATTERN_PIECES + 1];
            int len = hs_lg_pattern_format(p, UINT64_MAX, url, sizeof(url));
            CHECK(len > 0 && url[0] == '/' && (size_t)len == strlen(url));
            CHECK(hs_lg_pattern_format(p, 0, url, sizeof(url)) > 0);
        } else {
            CHECK(err[0] != '\0');
        }
        free(p);
        break;
    }
    default: {
        hs_lg_sizes_t d;
        int rc = (n && data[1] == '=') ? hs_lg_sizes_parse_fixed(s + 1, &d, err, sizeof(err))
                                       : hs_lg_sizes_parse_dist(s, &d, err, sizeof(err));
        if (rc == 0) {
            CHECK(d.max <= HS_LG_SIZE_MAX);
            hs_lg_rng_t r;
            hs_lg_rng_seed(&r, size, 0);
            for (int i = 0; i < 64; i++)
                CHECK(hs_lg_sizes_sample(&d, &r) <= d.max);
        } else {
            CHECK(err[0] != '\0');
        }
        break;
    }
    }
    free(s);
    return 0;
}
