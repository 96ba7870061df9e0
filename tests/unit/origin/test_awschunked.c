/*
 * Unit tests of src/origin/awschunked.c: the AWS streaming examples (with
 * and without a signed trailer), boto3's unsigned-trailer upload, bodies
 * signed here with every split of the input, and every rejection: chunk
 * and trailer signatures, checksums, sizes against
 * x-amz-decoded-content-length, framing. Input pieces are exact-size heap
 * copies so ASan catches any read past them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parse.h"
#include "origin/awschunked.h"
#include "origin/sigv4.h"
#include "sigv4_vectors.h"

#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE "20130524T000000Z"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    (void)arg;
    return len == 20 && !memcmp(ak, "AKIAIOSFODNN7EXAMPLE", 20) ? SK : NULL;
}

/* ---- running the decoder ---- */

typedef struct run {
    int rc;      /* 0 or the error */
    bool done;
    size_t used; /* input bytes consumed */
    char *out;
    size_t out_len;
    const char *code;
} run_t;

/* Feeds in[0..n) in pieces of `step` bytes (0: whole), each an exact-size
 * heap copy. */
static run_t decode(const hs_sigv4_auth_t *auth, const char *in, size_t n, size_t step)
{
    hs_awschunked_t d;
    hs_awschunked_init(&d, auth);
    run_t r = {.out = malloc(n + 1)};
    assert_non_null(r.out);
    size_t off = 0;
    while (off < n) {
        size_t len = step && step < n - off ? step : n - off;
        char *piece = malloc(len);
        assert_non_null(piece);
        memcpy(piece, in + off, len);
        size_t poff = 0;
        while (poff < len) {
            const char *dp;
            size_t dl;
            ssize_t c = hs_awschunked_decode(&d, piece + poff, len - poff, &dp, &dl);
            if (c < 0) {
                r.rc = (int)c;
                r.code = d.err.code;
                assert_non_null(d.err.message);
                assert_int_equal(dl, 0);
                /* errors stay */
                assert_int_equal(hs_awschunked_decode(&d, "0\r\n", 3, &dp, &dl), c);
                free(piece);
                r.used = off + poff;
                hs_awschunked_free(&d);
                return r;
            }
            if (dl) {
                assert_true(dp >= piece + poff && dp + dl == piece + poff + (size_t)c);
                memcpy(r.out + r.out_len, dp, dl);
                r.out_len += dl;
            }
            if (c == 0)
                break;
            poff += (size_t)c;
        }
        off += poff;
        free(piece);
        if (poff < len)
            break; /* done before the end of the piece */
    }
    r.used = off;
    r.done = hs_awschunked_done(&d);
    hs_awschunked_free(&d);
    return r;
}

static void same(const run_t *a, const run_t *b)
{
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->done, b->done);
    assert_int_equal(a->out_len, b->out_len);
    assert_memory_equal(a->out, b->out, a->out_len);
    if (!a->rc)
        assert_int_equal(a->used, b->used);
}

static void expect_done(const hs_sigv4_auth_t *auth, const char *in, size_t n, const char *data,
                        size_t dlen)
{
    size_t steps[] = {0, 1, 2, 7, 64, 1000, 4096};
    run_t first = {0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        run_t r = decode(auth, in, n, steps[i]);
        if (r.rc || !r.done)
            fail_msg("step %zu: rc %d (%s), done %d", steps[i], r.rc, r.code ? r.code : "-",
                     r.done);
        assert_int_equal(r.used, n);
        assert_int_equal(r.out_len, dlen);
        assert_memory_equal(r.out, data, dlen);
        if (i)
            same(&first, &r), free(r.out);
        else
            first = r;
    }
    free(first.out);
}

static void expect_fail(const hs_sigv4_auth_t *auth, const char *in, size_t n, int rc,
                        const char *code)
{
    run_t r = decode(auth, in, n, 0), o = decode(auth, in, n, 1);
    if (r.rc != rc || !r.code || strcmp(r.code, code))
        fail_msg("want %d %s, got %d %s (done %d)", rc, code, r.rc, r.code ? r.code : "-", r.done);
    same(&r, &o);
    free(r.out);
    free(o.out);
}

/* ---- building bodies ---- */

static hs_sigv4_auth_t auth_for(hs_sigv4_payload_t mode, uint64_t decoded, const char *trailer)
{
    hs_sigv4_auth_t a;
    memset(&a, 0, sizeof(a));
    a.kind = HS_SIGV4_HEADER;
    a.payload = mode;
    a.decoded_length = decoded;
    assert_int_equal(hs_sigv4_signing_key(SK, "20130524", "us-east-1", a.signing_key), 0);
    strcpy(a.seed_signature, SEED);
    strcpy(a.amz_date, DATE);
    strcpy(a.scope, SCOPE);
    strcpy(a.trailer, trailer ? trailer : "");
    return a;
}

typedef struct body {
    char *p;
    size_t n, cap;
} body_t;

static void put(body_t *b, const char *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void putf(body_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n);
}

/* data cut in chunks of the given sizes (the rest in one more), framed
 * for the mode of a; trailer "name:value" (NULL: none). */
static body_t encode(const hs_sigv4_auth_t *a, const char *data, size_t n, const size_t *sizes,
                     size_t nsizes, const char *trailer)
{
    body_t b = {0};
    bool sig = a->payload != HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    char prev[65];
    strcpy(prev, a->seed_signature);
    size_t off = 0;
    for (size_t i = 0; off <= n; i++) {
        size_t len = i < nsizes ? sizes[i] : n - off;
        if (len > n - off)
            len = n - off;
        if (sig) {
            char s[65];
            assert_int_equal(hs_sigv4_chunk_signature(a->signing_key, a->amz_date, a->scope, prev,
                                                      data + off, len, s), 0);
            putf(&b, "%zx;chunk-signature=%s\r\n", len, s);
            strcpy(prev, s);
        } else {
            putf(&b, "%zx\r\n", len);
        }
        if (!len)
            break;
        put(&b, data + off, len);
        put(&b, "\r\n", 2);
        off += len;
    }
    if (a->payload == HS_SIGV4_PAYLOAD_STREAMING) {
        put(&b, "\r\n", 2);
        return b;
    }
    char canon[256] = "";
    if (trailer) {
        putf(&b, "%s\r\n", trailer);
        snprintf(canon, sizeof(canon), "%s\n", trailer);
    }
    if (a->payload == HS_SIGV4_PAYLOAD_STREAMING_TRAILER) {
        char s[65];
        assert_int_equal(hs_sigv4_trailer_signature(a->signing_key, a->amz_date, a->scope, prev,
                                                    canon, strlen(canon), s), 0);
        putf(&b, "x-amz-trailer-signature:%s\r\n", s);
    }
    put(&b, "\r\n", 2);
    return b;
}

static char *aaaa(size_t n)
{
    char *p = malloc(n);
    assert_non_null(p);
    memset(p, 'a', n);
    return p;
}

/* ---- AWS examples ----
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html:
 * 65536 + 1024 bytes of 'a' in two chunks, us-east-1, 20130524. */

static void test_aws_streaming_example(void **state)
{
    (void)state;
    hs_sigv4_auth_t a = auth_for(HS_SIGV4_PAYLOAD_STREAMING, 66560, NULL);
    char *data = aaaa(66560);
    body_t b = {0};
    putf(&b, "10000;chunk-signature=%s\r\n",
         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
    put(&b, data, 65536);
    putf(&b, "\r\n400;chunk-signature=%s\r\n",
         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
    put(&b, data, 1024);
    putf(&b, "\r\n0;chunk-signature=%s\r\n\r\n",
         "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
    assert_int_equal(b.n, 66824); /* the example's Content-Length */
    expect_done(&a, b.p, b.n, data, 66560);

    /* our encoder writes the same bytes */
    size_t sizes[] = {65536};
    body_t e = encode(&a, data, 66560, sizes, 1, NULL);
    assert_int_equal(e.n, b.n);
    assert_memory_equal(e.p, b.p, b.n);

    /* a changed data byte in either chunk, a changed signature */
    b.p[100] = 'b';
    expect_fail(&a, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
    b.p[100] = 'a';
    b.p[b.n - 200] = 'b';
    expect_fail(&a, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
    b.p[b.n - 200] = 'a';
    b.p[b.n - 5] ^= 1; /* in the final chunk's signature */
    expect_fail(&a, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
    b.p[b.n - 5] ^= 1;
    /* a different seed (another request) breaks the chain */
    hs_sigv4_auth_t other = a;
    other.seed_signature[0] = '5';
    expect_fail(&other, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
    free(e.p);
    free(b.p);
    free(data);
}

static void test_aws_trailer_example(void **state)
{
    (void)state;
    hs_sigv4_auth_t a = auth_for(HS_SIGV4_PAYLOAD_STREAMING_TRAILER, 66560,
                                 "x-amz-checksum-crc32c");
    strcpy(a.seed_signature, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    char *data = aaaa(66560);
    for (int form = 0; form < 2; form++) {
        body_t b = {0};
        putf(&b, "10000;chunk-signature=%s\r\n",
             "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2");
        put(&b, data, 65536);
        putf(&b, "\r\n400;chunk-signature=%s\r\n",
             "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7");
        put(&b, data, 1024);
        putf(&b, "\r\n0;chunk-signature=%s\r\n",
             "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992");
        /* form 0: as the SDKs send it; form 1: as the documentation shows
         * it, an empty line before the trailers and none after */
        if (form)
            put(&b, "\r\n", 2);
        putf(&b, "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:%s\r\n",
             "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
        if (!form)
            put(&b, "\r\n", 2);
        expect_done(&a, b.p, b.n, data, 66560);

        char *v = memmem(b.p, b.n, "sOO8/Q==", 8);
        assert_non_null(v);
        v[3] = '9';
        expect_fail(&a, b.p, b.n, HS_EBADMSG, "BadDigest");
        v[3] = '8';
        char *s = memmem(b.p, b.n, "d81f82", 6);
        s[0] = 'e';
        expect_fail(&a, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
        s[0] = 'd';
        /* what follows the body (and its optional empty line) is not
         * consumed; other bytes right after the trailers are an error */
        body_t x = {0};
        put(&x, b.p, b.n);
        put(&x, form ? "\r\n\r\n" : "\r\n", form ? 4 : 2);
        run_t r = decode(&a, x.p, x.n, 0);
        assert_int_equal(r.rc, 0);
        assert_true(r.done);
        assert_int_equal(r.used, b.n + (form ? 2 : 0));
        free(r.out);
        if (form) {
            x.p[b.n] = 'X';
            expect_fail(&a, x.p, x.n, HS_EBADMSG, "IncompleteBody");
        }
        free(x.p);
        free(b.p);
    }
    free(data);
}

/* boto3 (botocore 1.29.27) over https with ChecksumAlgorithm='CRC32' */
static void test_boto_unsigned_trailer(void **state)
{
    (void)state;
    /* the whole path: the captured head verified, its auth drives the decoder */
    char *head = strdup(boto_trailer);
    hs_http_header_t h[32];
    hs_http_msg_t m;
    hs_http_error_t err;
    assert_true(hs_http_parse_request(head, strlen(head), &m, h, 32, NULL, &err) > 0);
    hs_sigv4_auth_t a;
    int rc = hs_sigv4_verify(&m, secret_of, NULL, "us-east-1", BOTO_TRAILER_NOW, 900, &a);
    if (rc)
        fail_msg("%s: %s", a.err.code, a.err.message);
    free(head);
    size_t n = sizeof(boto_trailer_body) - 1;
    expect_done(&a, boto_trailer_body, n, "hello crc", 9);

    char *b = strdup(boto_trailer_body);
    char *v = strstr(b, "kuphMA==");
    v[0] = 'K';
    expect_fail(&a, b, n, HS_EBADMSG, "BadDigest");
    strcpy(b, boto_trailer_body);
    b[3] = 'j'; /* "hello crc" -> "jello crc" */
    expect_fail(&a, b, n, HS_EBADMSG, "BadDigest");
    free(b);
    /* the declared length is part of the contract */
    hs_sigv4_auth_t shorter = a;
    shorter.decoded_length = 8;
    expect_fail(&shorter, boto_trailer_body, n, HS_EBADMSG, "InvalidChunkSizeError");
    hs_sigv4_auth_t longer = a;
    longer.decoded_length = 10;
    expect_fail(&longer, boto_trailer_body, n, HS_EBADMSG, "IncompleteBody");
    /* the same body without the trailer x-amz-trailer announced */
    const char none[] = "9\r\nhello crc\r\n0\r\n\r\n";
    expect_fail(&a, none, sizeof(none) - 1, HS_EBADMSG, "InvalidRequest");
    hs_sigv4_auth_t quiet = a;
    quiet.trailer[0] = 0;
    expect_done(&quiet, none, sizeof(none) - 1, "hello crc", 9);
    /* a trailer nobody announced */
    expect_fail(&quiet, boto_trailer_body, n, HS_EBADMSG, "InvalidRequest");
}

static char *b64_digest(const EVP_MD *md, const char *p, size_t n)
{
    unsigned char h[64];
    unsigned hl;
    assert_int_equal(EVP_Digest(p, n, h, &hl, md, NULL), 1);
    char *out = malloc(96);
    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, h, (int)hl);
    return out;
}

static void test_checksums(void **state)
{
    (void)state;
    const char *data = "The quick brown fox jumps over the lazy dog, again and again.";
    size_t n = strlen(data);
    size_t sizes[] = {5, 17, 1};
    struct {
        const char *name;
        const EVP_MD *md;
    } algos[] = {{"x-amz-checksum-sha256", EVP_sha256()}, {"x-amz-checksum-sha1", EVP_sha1()}};
    for (int mode = 0; mode < 2; mode++) {
        hs_sigv4_payload_t pm = mode ? HS_SIGV4_PAYLOAD_STREAMING_TRAILER
                                     : HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
        for (size_t i = 0; i < 2; i++) {
            hs_sigv4_auth_t a = auth_for(pm, n, algos[i].name);
            char *sum = b64_digest(algos[i].md, data, n);
            char tr[160];
            snprintf(tr, sizeof(tr), "%s:%s", algos[i].name, sum);
            body_t b = encode(&a, data, n, sizes, 3, tr);
            expect_done(&a, b.p, b.n, data, n);
            /* the body is not NUL-terminated: search its bytes only */
            char *v = memmem(b.p, b.n, sum, strlen(sum));
            assert_non_null(v);
            v[0] = v[0] == 'A' ? 'B' : 'A';
            expect_fail(&a, b.p, b.n, HS_EBADMSG, "BadDigest");
            free(b.p);
            free(sum);
        }
        /* an algorithm we cannot compute is taken on trust (and, signed,
         * still covered by the trailer signature) */
        hs_sigv4_auth_t a = auth_for(pm, n, "x-amz-checksum-crc64nvme");
        body_t b = encode(&a, data, n, sizes, 3, "x-amz-checksum-crc64nvme:AAAAAAAAAAA=");
        expect_done(&a, b.p, b.n, data, n);
        if (mode) {
            char *v = memmem(b.p, b.n, "AAAAAAAAAAA=", 12);
            assert_non_null(v);
            v[0] = 'B';
            expect_fail(&a, b.p, b.n, HS_EACCES, "SignatureDoesNotMatch");
        }
        free(b.p);
        /* crc32c of the AWS example data, in the unsigned mode */
        char *aa = aaaa(66560);
        a = auth_for(pm, 66560, "x-amz-checksum-crc32c");
        size_t big[] = {65536};
        b = encode(&a, aa, 66560, big, 1, "x-amz-checksum-crc32c:sOO8/Q==");
        run_t r = decode(&a, b.p, b.n, 0);
        assert_int_equal(r.rc, 0);
        assert_true(r.done);
        free(r.out);
        free(b.p);
        free(aa);
    }
    /* a trailer that is no checksum */
    hs_sigv4_auth_t a = auth_for(HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 3, "x-amz-meta-a");
    body_t b = encode(&a, "abc", 3, NULL, 0, "x-amz-meta-a:1");
    expect_fail(&a, b.p, b.n, HS_EBADMSG, "InvalidArgument");
    free(b.p);
}

/* ---- every split of small signed bodies ---- */

static void test_every_split(void **state)
{
    (void)state;
    const char *data = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t n = strlen(data);
    size_t sizes[] = {1, 10, 3};
    hs_sigv4_payload_t modes[] = {HS_SIGV4_PAYLOAD_STREAMING, HS_SIGV4_PAYLOAD_STREAMING_TRAILER,
                                  HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER};
    for (size_t m = 0; m < 3; m++) {
        hs_sigv4_auth_t a = auth_for(modes[m], n, m ? "x-amz-checksum-crc32" : NULL);
        /* CRC-32 of the data, by Python's zlib.crc32 */
        body_t b = encode(&a, data, n, sizes, 3, m ? "x-amz-checksum-crc32:/bVTfQ==" : NULL);
        run_t whole = decode(&a, b.p, b.n, 0);
        if (whole.rc || !whole.done)
            fail_msg("mode %zu: %d %s", m, whole.rc, whole.code ? whole.code : "-");
        for (size_t cut = 1; cut < b.n; cut++) {
            /* two pieces: [0, cut) and [cut, n) */
            hs_awschunked_t d;
            hs_awschunked_init(&d, &a);
            char *p1 = malloc(cut), *p2 = malloc(b.n - cut);
            memcpy(p1, b.p, cut);
            memcpy(p2, b.p + cut, b.n - cut);
            char out[64];
            size_t ol = 0;
            char *pieces[2] = {p1, p2};
            size_t lens[2] = {cut, b.n - cut};
            for (int k = 0; k < 2; k++) {
                size_t off = 0;
                while (off < lens[k]) {
                    const char *dp;
                    size_t dl;
                    ssize_t c = hs_awschunked_decode(&d, pieces[k] + off, lens[k] - off, &dp, &dl);
                    if (c <= 0)
                        fail_msg("mode %zu cut %zu: %zd %s", m, cut, c,
                                 d.err.code ? d.err.code : "-");
                    if (dl)
                        memcpy(out + ol, dp, dl);
                    ol += dl;
                    off += (size_t)c;
                }
            }
            assert_true(hs_awschunked_done(&d));
            assert_int_equal(ol, n);
            assert_memory_equal(out, data, n);
            hs_awschunked_free(&d);
            free(p1);
            free(p2);
        }
        /* every truncation: never done, never an error but incompleteness */
        for (size_t cut = 0; cut + 2 < b.n; cut++) {
            run_t r = decode(&a, b.p, cut, 0);
            assert_int_equal(r.rc, 0);
            assert_false(r.done);
            free(r.out);
        }
        free(whole.out);
        free(b.p);
    }
}

/* ---- framing and sizes ---- */

static void test_sizes(void **state)
{
    (void)state;
    const char *data = "abcdefgh";
    size_t sizes[] = {4};
    /* decoded length larger than the chunks: the last chunk comes early */
    hs_sigv4_auth_t a = auth_for(HS_SIGV4_PAYLOAD_STREAMING, 9, NULL);
    body_t b = encode(&a, data, 8, sizes, 1, NULL);
    expect_fail(&a, b.p, b.n, HS_EBADMSG, "IncompleteBody");
    free(b.p);
    /* a chunk past the decoded length */
    a = auth_for(HS_SIGV4_PAYLOAD_STREAMING, 7, NULL);
    b = encode(&a, data, 8, sizes, 1, NULL);
    expect_fail(&a, b.p, b.n, HS_EBADMSG, "InvalidChunkSizeError");
    free(b.p);
    /* an empty body is one final chunk */
    a = auth_for(HS_SIGV4_PAYLOAD_STREAMING, 0, NULL);
    b = encode(&a, "", 0, NULL, 0, NULL);
    expect_done(&a, b.p, b.n, "", 0);
    free(b.p);
}

static void test_framing(void **state)
{
    (void)state;
    hs_sigv4_auth_t u = auth_for(HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 3, NULL);
    hs_sigv4_auth_t s = auth_for(HS_SIGV4_PAYLOAD_STREAMING, 3, NULL);
    static const struct {
        int signed_mode;
        const char *body, *code;
    } bad[] = {
        {0, "3\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "3\r\nabc\n0\r\n\r\n", "IncompleteBody"},
        {0, "3\r\nabcd\r\n0\r\n\r\n", "IncompleteBody"},
        {0, "3\r\nabc\r\n0\r\n\n", "InvalidRequest"},
        {0, "x\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, " 3\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "3 \r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "3;a=b\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "00000000000000003\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "ffffffffffffffff\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {0, "3\r\nabc\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", "InvalidRequest"},
        {0, "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:\x01\r\n\r\n", "InvalidRequest"},
        {0, "3\r\nabc\r\n0\r\nx-amz-trailer-signature:00\r\n\r\n", "InvalidRequest"},
        {1, "3\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"},
        {1, "3;chunk-signature=00\r\nabc\r\n", "InvalidChunkSizeError"},
        {1, "3;chunk-signature=" SEED "x\r\nabc\r\n", "InvalidChunkSizeError"},
        {1, "3;chunk-signaturX=" SEED "\r\nabc\r\n", "InvalidChunkSizeError"},
        {1, "3;chunk-signature=" SEED "\r\nabc\r\n", "SignatureDoesNotMatch"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const hs_sigv4_auth_t *a = bad[i].signed_mode ? &s : &u;
        run_t r = decode(a, bad[i].body, strlen(bad[i].body), 0);
        if (!r.rc || strcmp(r.code, bad[i].code))
            fail_msg("case %zu: want %s, got %d %s", i, bad[i].code, r.rc, r.code ? r.code : "-");
        free(r.out);
    }
    /* a good unsigned body, then bytes after it: not consumed as body */
    run_t r = decode(&u, "3\r\nabc\r\n0\r\n\r\nGET", 16, 0);
    assert_int_equal(r.rc, 0);
    assert_true(r.done);
    assert_int_equal(r.used, 13);
    free(r.out);
    /* a trailer line past the bound */
    body_t b = {0};
    put(&b, "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:", 32);
    for (int i = 0; i < 300; i++)
        put(&b, "A", 1);
    put(&b, "\r\n\r\n", 4);
    expect_fail(&u, b.p, b.n, HS_EBADMSG, "InvalidRequest");
    free(b.p);
}

static void test_not_streaming(void **state)
{
    (void)state;
    hs_sigv4_auth_t a = auth_for(HS_SIGV4_PAYLOAD_UNSIGNED, 0, NULL);
    expect_fail(&a, "0\r\n\r\n", 5, HS_EBADMSG, "InvalidRequest");
    a = auth_for(HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 0, "content-md5");
    expect_fail(&a, "0\r\n\r\n", 5, HS_EBADMSG, "InvalidArgument");
    /* free on a zeroed or freed decoder is harmless */
    hs_awschunked_t d;
    memset(&d, 0, sizeof(d));
    hs_awschunked_free(&d);
    hs_awschunked_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_streaming_example),
        cmocka_unit_test(test_aws_trailer_example),
        cmocka_unit_test(test_boto_unsigned_trailer),
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_not_streaming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
