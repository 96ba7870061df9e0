/*
 * libFuzzer harness for hs_http_chunked_decode. Properties checked (abort on
 * violation):
 *  - streaming: decoding the input whole, one byte per call and in random
 *    pieces yields the same data, the same verdict and (unless an error) the
 *    same number of bytes consumed; data runs point into the piece given;
 *  - bounds: with max_total set, the output never passes it, and the result
 *    is the unlimited result, or HS_E2BIG after a prefix of its data;
 *  - acceptance: the input, encoded as a valid chunked body (random chunk
 *    sizes, hex case, leading zeros, extensions, trailers), decodes back to
 *    itself and stops right after the last CRLF.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "http/parse.h"

#define INCOMPLETE 1

struct run {
    int status; /* 0 done, INCOMPLETE, HS_EBADMSG, HS_E2BIG */
    size_t used;
    size_t out_len;
    char *out;
};

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic pieces from a seed taken from the input */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* step 0: whole; 1: byte by byte; otherwise random pieces seeded by step. */
static void decode(const char *in, size_t n, uint64_t max_total, uint64_t step, struct run *r)
{
    hs_http_chunked_t d;
    hs_http_chunked_init(&d, max_total);
    uint64_t seed = step | 1;
    size_t off = 0;
    r->out_len = 0;
    r->status = INCOMPLETE;
    while (off < n && !d.done) {
        size_t avail = n - off;
        if (step == 1)
            avail = 1;
        else if (step > 1)
            avail = 1 + (size_t)(rng_next(&seed) % (avail < 64 ? avail : 64));
        char *piece = malloc(avail);
        CHECK(piece);
        memcpy(piece, in + off, avail);
        size_t soff = 0;
        while (soff < avail && !d.done) {
            const char *dp;
            size_t dl;
            ssize_t c = hs_http_chunked_decode(&d, piece + soff, avail - soff, &dp, &dl);
            if (c < 0) {
                CHECK(c == HS_EBADMSG || (c == HS_E2BIG && max_total));
                CHECK(dl == 0);
                r->status = (int)c;
                r->used = off + soff;
                free(piece);
                /* errors stay */
                CHECK(hs_http_chunked_decode(&d, "0\r\n\r\n", 5, &dp, &dl) == c);
                return;
            }
            CHECK(c > 0);
            CHECK((size_t)c <= avail - soff);
            if (dl) {
                CHECK(dp >= piece + soff && dp + dl <= piece + soff + (size_t)c);
                /* the run ends the call */
                CHECK(dp + dl == piece + soff + (size_t)c);
                memcpy(r->out + r->out_len, dp, dl);
                r->out_len += dl;
            }
            soff += (size_t)c;
        }
        off += soff;
        free(piece);
    }
    r->used = off;
    CHECK(d.total == r->out_len);
    if (max_total)
        CHECK(d.total <= max_total);
    if (d.done) {
        r->status = 0;
        CHECK(r->used >= 5 && in[r->used - 2] == '\r' && in[r->used - 1] == '\n');
        const char *dp;
        size_t dl;
        CHECK(hs_http_chunked_decode(&d, "1\r\n", 3, &dp, &dl) == 0 && dl == 0);
    }
}

static void same_run(const struct run *a, const struct run *b)
{
    CHECK(a->status == b->status);
    CHECK(a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0);
    if (a->status >= 0)
        CHECK(a->used == b->used);
}

static void check_streaming(const char *in, size_t n, uint64_t seed)
{
    struct run whole, other, limited;
    whole.out = malloc(n + 1);
    other.out = malloc(n + 1);
    limited.out = malloc(n + 1);
    CHECK(whole.out && other.out && limited.out);

    decode(in, n, 0, 0, &whole);
    decode(in, n, 0, 1, &other);
    same_run(&whole, &other);
    decode(in, n, 0, seed | 2, &other);
    same_run(&whole, &other);

    uint64_t max = 1 + seed % 64;
    decode(in, n, max, 0, &limited);
    decode(in, n, max, 1, &other);
    same_run(&limited, &other);
    if (limited.status == HS_E2BIG) {
        CHECK(limited.out_len <= whole.out_len);
        CHECK(memcmp(limited.out, whole.out, limited.out_len) == 0);
    } else {
        same_run(&limited, &whole);
    }
    free(whole.out);
    free(other.out);
    free(limited.out);
}

/* Encodes in[0..n) as a valid chunked body chosen by seed; returns its length. */
static size_t encode(const char *in, size_t n, uint64_t seed, char *out)
{
    static const char *const exts[] = {"", ";a", ";a=b", " ;x=\"q\\\"\"", "\t;n=v;m",
                                       ";name=\"va;l ue\""};
    static const char *const trailers[] = {"", "X-Sum: 1\r\n", "A: b\r\nC:\r\n", "T: \"x\"\t\r\n"};
    size_t o = 0, i = 0;
    while (i < n) {
        size_t len = 1 + (size_t)(rng_next(&seed) % 17);
        if (len > n - i)
            len = n - i;
        const char *zeros = rng_next(&seed) & 1 ? "00" : "";
        const char *ext = exts[rng_next(&seed) % 6];
        if (rng_next(&seed) & 1)
            o += (size_t)sprintf(out + o, "%s%zx%s\r\n", zeros, len, ext);
        else
            o += (size_t)sprintf(out + o, "%s%zX%s\r\n", zeros, len, ext);
        memcpy(out + o, in + i, len);
        o += len;
        i += len;
        memcpy(out + o, "\r\n", 2);
        o += 2;
    }
    o += (size_t)sprintf(out + o, "0%s\r\n%s\r\n", exts[rng_next(&seed) % 6],
                         trailers[rng_next(&seed) % 4]);
    return o;
}

static void check_encoded(const char *in, size_t n, uint64_t seed)
{
    char *enc = malloc(n * 40 + 128);
    CHECK(enc);
    size_t len = encode(in, n, seed, enc);
    memcpy(enc + len, "GET /", 5); /* what follows the body is not ours */
    struct run r, other;
    r.out = malloc(n + 1);
    other.out = malloc(n + 1);
    CHECK(r.out && other.out);
    decode(enc, len + 5, 0, 0, &r);
    if (r.status != 0 || r.used != len || r.out_len != n || memcmp(r.out, in, n) != 0) {
        fprintf(stderr, "valid encoding not decoded (%d, used %zu of %zu):\n%.*s\n", r.status,
                r.used, len, (int)len, enc);
        abort();
    }
    decode(enc, len + 5, 0, 1, &other);
    same_run(&r, &other);
    decode(enc, len + 5, n, seed | 2, &other);
    same_run(&r, &other);
    if (n > 1) { /* max_total 0 would mean unlimited */
        decode(enc, len + 5, n - 1, 0, &other);
        CHECK(other.status == HS_E2BIG);
    }
    free(r.out);
    free(other.out);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = 1469598103934665603ull; /* FNV-1a of the input */
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 1099511628211ull;
    check_streaming((const char *)data, size, seed);
    check_encoded((const char *)data, size < 4096 ? size : 4096, seed);
    return 0;
}
