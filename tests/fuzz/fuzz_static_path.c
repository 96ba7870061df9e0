/*
 * libFuzzer harness for the static handler's path normalization
 * (normalize_path, static in src/http/static.c, reached by including it).
 * Inputs are limited to what the request parser lets through as a path:
 * visible ASCII (0x21-0x7e) without '?' and '#'. Both the input and "/" +
 * input are tried. Properties (abort() when violated), for a success:
 *   the length fits the buffer and matches strlen (no NUL inside);
 *   the output never starts with '/', has no "..", "." or empty segment
 *   (a trailing '/' is allowed);
 *   normalizing "/" + output gives the output again (when it has no '%');
 *   a smaller buffer gives the same answer or 414.
 * Failures are -400 or -414 only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../src/http/static.c"

static char out[MAX_PATH_BYTES], out2[MAX_PATH_BYTES], small[32];

static void check_one(const char *in, size_t len)
{
    int r = normalize_path((hs_str_t){in, len}, out, sizeof(out));
    CHECK(r >= 0 || r == -400 || r == -414);
    int rs = normalize_path((hs_str_t){in, len}, small, sizeof(small));
    CHECK(rs == r || rs == -414);
    if (rs >= 0)
        CHECK(strcmp(small, out) == 0);
    if (r < 0)
        return;
    CHECK((size_t)r < sizeof(out));
    CHECK(out[r] == '\0');
    CHECK(strlen(out) == (size_t)r);
    if (r == 0)
        return;
    CHECK(out[0] != '/');
    /* segments */
    const char *p = out, *end = out + r;
    while (p < end) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        size_t sl = s ? (size_t)(s - p) : (size_t)(end - p);
        CHECK(sl > 0); /* no empty segment: no "//", no leading '/' */
        CHECK(!(sl == 1 && p[0] == '.'));
        CHECK(!(sl == 2 && p[0] == '.' && p[1] == '.'));
        if (!s)
            break;
        p = s + 1;
    }
    /* idempotent when nothing would be decoded again */
    if (!memchr(out, '%', (size_t)r) && (size_t)r + 1 < sizeof(out)) {
        char *again = malloc((size_t)r + 1);
        again[0] = '/';
        memcpy(again + 1, out, (size_t)r);
        int r2 = normalize_path((hs_str_t){again, (size_t)r + 1}, out2, sizeof(out2));
        if (r2 != -414) {
            CHECK(r2 == r);
            CHECK(memcmp(out2, out, (size_t)r) == 0);
        }
        free(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * MAX_PATH_BYTES)
        return 0;
    for (size_t i = 0; i < size; i++)
        if (data[i] < 0x21 || data[i] > 0x7e || data[i] == '?' || data[i] == '#')
            return 0; /* the request parser never hands these over */
    /* exact-size copies so ASan sees any overread */
    char *a = malloc(size ? size : 1);
    memcpy(a, data, size);
    check_one(a, size);
    char *b = malloc(size + 1);
    b[0] = '/';
    memcpy(b + 1, data, size);
    check_one(b, size + 1);
    free(a);
    free(b);
    return 0;
}
