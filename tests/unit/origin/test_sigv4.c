/*
 * Unit tests of src/origin/sigv4*.c: the AWS published SigV4 examples for
 * S3 (header, presigned, streaming seed), requests captured from aws-cli
 * and boto3, the client-side signer, and every rejection the verifier
 * makes. Requests go through the real HTTP parser from exact-size heap
 * copies, so ASan sees any read past the head.
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
#include "http/parse.h"
#include "origin/sigv4-int.h"
#include "origin/sigv4.h"
#include "sigv4_vectors.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T2013 1369353600ll /* 2013-05-24T00:00:00Z, the date of every AWS example */
#define SKEW 900
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    const char *sk = arg ? arg : SK;
    return len == strlen(AK) && !memcmp(ak, AK, len) ? sk : NULL;
}

/* ---- a parsed request that owns an exact-size copy of its head ---- */

typedef struct req {
    char *buf;
    hs_http_msg_t msg;
    hs_http_header_t h[64];
} req_t;

static req_t *parse(const char *head)
{
    req_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    size_t n = strlen(head);
    r->buf = malloc(n);
    assert_non_null(r->buf);
    memcpy(r->buf, head, n);
    hs_http_error_t err;
    ssize_t used = hs_http_parse_request(r->buf, n, &r->msg, r->h, 64, NULL, &err);
    if (used != (ssize_t)n)
        fail_msg("request did not parse (%zd, %d %s):\n%s", used, err.status, err.reason, head);
    return r;
}

static void req_free(req_t *r)
{
    free(r->buf);
    free(r);
}

/* Parses head, verifies it, returns the code; auth filled. */
static int verify_at(const char *head, int64_t now, const char *region, const char *secret,
                     hs_sigv4_auth_t *auth)
{
    req_t *r = parse(head);
    int rc = hs_sigv4_verify(&r->msg, secret_of, (void *)secret, region, now, SKEW, auth);
    req_free(r);
    return rc;
}

static void expect_ok(const char *head, int64_t now, hs_sigv4_kind_t kind)
{
    hs_sigv4_auth_t a;
    int rc = verify_at(head, now, "us-east-1", NULL, &a);
    if (rc)
        fail_msg("verify failed %d %s: %s\n%s", rc, a.err.code, a.err.message, head);
    assert_int_equal(a.kind, kind);
    assert_string_equal(a.access_key, AK);
}

static void expect_err(const char *head, int64_t now, const char *region, const char *secret,
                       int want_rc, int status, const char *code)
{
    hs_sigv4_auth_t a;
    int rc = verify_at(head, now, region, secret, &a);
    if (rc != want_rc || !a.err.code || strcmp(a.err.code, code) || a.err.status != status)
        fail_msg("want %d %s, got %d %s (%s)\n%s", want_rc, code, rc,
                 a.err.code ? a.err.code : "-", a.err.message ? a.err.message : "-", head);
    assert_non_null(a.err.message);
}

/* head with the first occurrence of `from` replaced by `to`, in one of two
 * static buffers (so edit(edit(...)) works) */
static const char *edit(const char *head, const char *from, const char *to)
{
    static char bufs[2][8192];
    static int turn;
    char *out = bufs[turn ^= 1];
    const char *at = strstr(head, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - head), fl = strlen(from), tl = strlen(to);
    assert_true(strlen(head) - fl + tl < sizeof(bufs[0]));
    memcpy(out, head, pre);
    memcpy(out + pre, to, tl);
    strcpy(out + pre + tl, at + fl);
    return out;
}

/* ---- AWS published examples ----
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * ("Examples: Signature Calculations": GET Object, PUT Object, GET Bucket
 * Lifecycle, Get Bucket (List Objects)). */

static const char aws_get_object[] =
    "GET /test.txt HTTP/1.1\r\n"
    "Host: examplebucket.s3.amazonaws.com\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\r\n"
    "Range: bytes=0-9\r\n"
    "x-amz-content-sha256:" EMPTY "\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "\r\n";

static const char aws_put_object[] =
    "PUT /test%24file.text HTTP/1.1\r\n"
    "Host: examplebucket.s3.amazonaws.com\r\n"
    "Date: Fri, 24 May 2013 00:00:00 GMT\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
    "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "x-amz-storage-class: REDUCED_REDUNDANCY\r\n"
    "x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\r\n"
    "Content-Length: 21\r\n"
    "\r\n";

static const char aws_lifecycle[] =
    "GET /?lifecycle HTTP/1.1\r\n"
    "Host: examplebucket.s3.amazonaws.com\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature="
    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "x-amz-content-sha256: " EMPTY "\r\n"
    "\r\n";

static const char aws_list[] =
    "GET /?max-keys=2&prefix=J HTTP/1.1\r\n"
    "Host: examplebucket.s3.amazonaws.com\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature="
    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "x-amz-content-sha256: " EMPTY "\r\n"
    "\r\n";

/* https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html */
static const char aws_presigned[] =
    "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
    "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
    "X-Amz-SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1\r\n"
    "Host: examplebucket.s3.amazonaws.com\r\n"
    "\r\n";

/* https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html */
static const char aws_streaming[] =
    "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\n"
    "Host: s3.amazonaws.com\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "x-amz-storage-class: REDUCED_REDUNDANCY\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;"
    "x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9\r\n"
    "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n"
    "Content-Encoding: aws-chunked\r\n"
    "x-amz-decoded-content-length: 66560\r\n"
    "Content-Length: 66824\r\n"
    "\r\n";

/* https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html */
static const char aws_streaming_trailer[] =
    "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\n"
    "Host: s3.amazonaws.com\r\n"
    "x-amz-date: 20130524T000000Z\r\n"
    "x-amz-storage-class: REDUCED_REDUNDANCY\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;"
    "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature="
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e\r\n"
    "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER\r\n"
    "Content-Encoding: aws-chunked\r\n"
    "x-amz-decoded-content-length: 66560\r\n"
    "x-amz-trailer: x-amz-checksum-crc32c\r\n"
    "Content-Length: 66824\r\n"
    "\r\n";

static void test_aws_header_examples(void **state)
{
    (void)state;
    expect_ok(aws_get_object, T2013, HS_SIGV4_HEADER);
    expect_ok(aws_put_object, T2013, HS_SIGV4_HEADER);
    expect_ok(aws_lifecycle, T2013, HS_SIGV4_HEADER);
    expect_ok(aws_list, T2013, HS_SIGV4_HEADER);

    hs_sigv4_auth_t a;
    assert_int_equal(verify_at(aws_put_object, T2013 + 60, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_SHA256);
    assert_int_equal(a.payload_sha256[0], 0x44);
    assert_int_equal(a.payload_sha256[31], 0x72);
    assert_string_equal(a.amz_date, "20130524T000000Z");
    assert_string_equal(a.scope, "20130524/us-east-1/s3/aws4_request");
}

/* The doc's canonical request of the GET Object example, byte for byte. */
static void test_canonical_request_text(void **state)
{
    (void)state;
    req_t *r = parse(aws_get_object);
    hs_str_t names[] = {HS_STR_LIT("host"), HS_STR_LIT("range"),
                        HS_STR_LIT("x-amz-content-sha256"), HS_STR_LIT("x-amz-date")};
    hs__sigv4_creq_t c = {
        .method = r->msg.method_str, .path = r->msg.path, .query = r->msg.query,
        .hdrs = r->msg.headers, .nhdrs = r->msg.num_headers, .host = r->msg.host,
        .names = names, .nnames = 4,
        .signed_list = HS_STR_LIT("host;range;x-amz-content-sha256;x-amz-date"),
        .payload_hash = HS_STR_LIT(EMPTY),
    };
    char buf[1024];
    hs__sigv4_sink_t s = {.buf = buf, .cap = sizeof(buf)};
    assert_int_equal(hs__sigv4_canonical(&c, &s), 0);
    const char want[] = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                        "range:bytes=0-9\nx-amz-content-sha256:" EMPTY "\n"
                        "x-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY;
    assert_int_equal(s.len, sizeof(want) - 1);
    assert_memory_equal(buf, want, s.len);
    char h[65];
    assert_int_equal(hs__sigv4_canonical_hash(&c, h), 0);
    /* the doc's hash of that canonical request */
    assert_string_equal(h, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    req_free(r);
}

static void check_encode(const char *in, bool slash, const char *want)
{
    char buf[256];
    hs__sigv4_sink_t s = {.buf = buf, .cap = sizeof(buf)};
    hs__sigv4_encode(&s, (hs_str_t){in, strlen(in)}, slash);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(buf, want, s.len);
}

static void test_uri_encoding(void **state)
{
    (void)state;
    check_encode("/a b+c~d=e&f/\xc3\xbc.txt", true, "/a%20b%2Bc~d%3De%26f/%C3%BC.txt");
    check_encode("/a%20b%2bc%7E", true, "/a%20b%2Bc~");      /* decoded once, re-encoded */
    check_encode("/a%2Fb", true, "/a/b");                    /* an escaped slash is a slash */
    check_encode("/./../a//b", true, "/./../a//b");          /* no normalisation */
    check_encode("100%", true, "100%25");                    /* a stray % is literal */
    check_encode("%zz%4", false, "%25zz%254");
    check_encode("a/b", false, "a%2Fb");
    check_encode("AZaz09-_.~!*'()", false, "AZaz09-_.~%21%2A%27%28%29");
}

static void test_query_canonical(void **state)
{
    (void)state;
    struct {
        const char *q, *want;
    } cases[] = {
        {"b=2&a=1", "a=1&b=2"},
        {"lifecycle", "lifecycle="},
        {"a=2&a=1&a", "a=&a=1&a=2"},
        {"x=a+b", "x=a%2Bb"},              /* '+' is itself */
        {"x=a%20b&y=%7e", "x=a%20b&y=~"},
        {"k=v=w", "k=v%3Dw"},
        {"a=1&&b=2&", "a=1&b=2"},
        {"z=2&%C3%BC=1", "%C3%BC=1&z=2"}, /* sorted by the encoded form */
        {"~=1&%7A=2&-=3", "-=3&z=2&~=1"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        hs__sigv4_sink_t s = {.buf = buf, .cap = sizeof(buf)};
        hs__sigv4_creq_t c = {.method = HS_STR_LIT("GET"), .path = HS_STR_LIT("/"),
                              .query = {cases[i].q, strlen(cases[i].q)}};
        assert_int_equal(hs__sigv4_canonical(&c, &s), 0);
        char want[256];
        snprintf(want, sizeof(want), "GET\n/\n%s\n\n\n", cases[i].want);
        if (s.len != strlen(want) || memcmp(buf, want, s.len))
            fail_msg("query %s: got %.*s", cases[i].q, (int)s.len, buf);
    }
    /* past the parameter bound: an error, not a truncated canonical query */
    char big[HS__SIGV4_MAX_PARAMS * 4 + 8];
    size_t n = 0;
    for (int i = 0; i <= HS__SIGV4_MAX_PARAMS; i++)
        n += (size_t)sprintf(big + n, "a=%d&", i % 10);
    hs__sigv4_creq_t c = {.method = HS_STR_LIT("GET"), .query = {big, n}};
    char h[65];
    assert_int_equal(hs__sigv4_canonical_hash(&c, h), HS_E2BIG);
}

static void test_aws_presigned_example(void **state)
{
    (void)state;
    expect_ok(aws_presigned, T2013, HS_SIGV4_QUERY);
    expect_ok(aws_presigned, T2013 + 86400, HS_SIGV4_QUERY);
    expect_err(aws_presigned, T2013 + 86401, "us-east-1", NULL, HS_EACCES, 403, "AccessDenied");
    /* dated in the future beyond the skew */
    expect_err(aws_presigned, T2013 - SKEW - 1, "us-east-1", NULL, HS_EACCES, 403,
               "AccessDenied");
    hs_sigv4_auth_t a;
    assert_int_equal(verify_at(aws_presigned, T2013, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_UNSIGNED);
    /* tampered: another key, another parameter, a changed signed one */
    expect_err(edit(aws_presigned, "/test.txt", "/test.tx"), T2013, "us-east-1", NULL, HS_EACCES,
               403, "SignatureDoesNotMatch");
    expect_err(edit(aws_presigned, "X-Amz-Expires=86400", "X-Amz-Expires=86399"), T2013,
               "us-east-1", NULL, HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_presigned, "?X-Amz", "?versionId=1&X-Amz"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_presigned, "examplebucket.s3", "otherbucket.s3"), T2013, "us-east-1",
               NULL, HS_EACCES, 403, "SignatureDoesNotMatch");
    /* an unsigned header does not matter */
    expect_ok(edit(aws_presigned, "\r\n\r\n", "\r\nUser-Agent: curl\r\n\r\n"), T2013,
              HS_SIGV4_QUERY);
    /* malformed parameters */
    const char *bad[][2] = {
        {"X-Amz-Expires=86400", "X-Amz-Expires=0"},
        {"X-Amz-Expires=86400", "X-Amz-Expires=604801"},
        {"X-Amz-Expires=86400", "X-Amz-Expires=-1"},
        {"X-Amz-Expires=86400&", ""},
        {"AWS4-HMAC-SHA256&", "AWS4-HMAC-SHA1&"},
        {"X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524"},
        {"%2Fs3%2F", "%2Fsqs%2F"},
        {"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"},
        {"X-Amz-Signature=aeee", "X-Amz-Signature=zeee"},
        {"%2F20130524%2F", "%2F20130525%2F"},
        {"%2Fs3%2Faws", "%2Fs3%2zaws"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_err(edit(aws_presigned, bad[i][0], bad[i][1]), T2013, "us-east-1", NULL,
                   HS_EINVAL, 400, "AuthorizationQueryParametersError");
    expect_err(aws_presigned, T2013, "eu-west-1", NULL, HS_EINVAL, 400,
               "AuthorizationQueryParametersError");
    /* a signature without the algorithm is no anonymous request */
    expect_err(edit(aws_presigned, "X-Amz-Algorithm", "X-Amz-Algorithmx"), T2013, "us-east-1",
               NULL, HS_EINVAL, 400, "AuthorizationQueryParametersError");
    /* both mechanisms at once */
    expect_err(edit(aws_presigned, "\r\n\r\n",
                    "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\n\r\n"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidArgument");
}

static void test_aws_streaming_seed(void **state)
{
    (void)state;
    hs_sigv4_auth_t a;
    int rc = verify_at(aws_streaming, T2013, "us-east-1", NULL, &a);
    if (rc)
        fail_msg("%s: %s", a.err.code, a.err.message);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_STREAMING);
    assert_int_equal(a.decoded_length, 66560);
    assert_string_equal(a.seed_signature,
                        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    uint8_t key[32];
    assert_int_equal(hs_sigv4_signing_key(SK, "20130524", "us-east-1", key), 0);
    assert_memory_equal(key, a.signing_key, 32);
    /* chunk signatures from the same page */
    char *data = malloc(65536);
    assert_non_null(data);
    memset(data, 'a', 65536);
    char sig[65];
    assert_int_equal(hs_sigv4_chunk_signature(key, a.amz_date, a.scope, a.seed_signature, data,
                                              65536, sig), 0);
    assert_string_equal(sig, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
    assert_int_equal(hs_sigv4_chunk_signature(key, a.amz_date, a.scope, sig, data, 1024, sig), 0);
    assert_string_equal(sig, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
    assert_int_equal(hs_sigv4_chunk_signature(key, a.amz_date, a.scope, sig, "", 0, sig), 0);
    assert_string_equal(sig, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
    free(data);

    assert_int_equal(verify_at(aws_streaming_trailer, T2013, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_STREAMING_TRAILER);
    assert_string_equal(a.trailer, "x-amz-checksum-crc32c");
    assert_string_equal(a.seed_signature,
                        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    /* streaming without the decoded length */
    expect_err(edit(aws_streaming, "x-amz-decoded-content-length: 66560\r\n", ""), T2013,
               "us-east-1", NULL, HS_EINVAL, 411, "MissingContentLength");
}

/* ---- what the real clients send ---- */

static void test_client_captures(void **state)
{
    (void)state;
    expect_ok(awscli_put_key, AWSCLI_PUT_KEY_NOW, HS_SIGV4_HEADER);
    expect_ok(awscli_list, AWSCLI_LIST_NOW, HS_SIGV4_HEADER);
    expect_ok(awscli_part, AWSCLI_PART_NOW, HS_SIGV4_HEADER);
    expect_ok(boto_list, BOTO_LIST_NOW, HS_SIGV4_HEADER);
    expect_ok(boto_range, BOTO_RANGE_NOW, HS_SIGV4_HEADER);
    expect_ok(boto_put_key, BOTO_PUT_KEY_NOW, HS_SIGV4_HEADER);
    expect_ok(awscli_presign, AWSCLI_PRESIGN_NOW, HS_SIGV4_QUERY);
    expect_ok(boto_presign, BOTO_PRESIGN_NOW, HS_SIGV4_QUERY);

    hs_sigv4_auth_t a;
    assert_int_equal(verify_at(boto_unsigned, BOTO_UNSIGNED_NOW, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_UNSIGNED);
    assert_int_equal(verify_at(boto_trailer, BOTO_TRAILER_NOW, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    assert_int_equal(a.decoded_length, 9);
    assert_string_equal(a.trailer, "x-amz-checksum-crc32");
    assert_int_equal(verify_at(awscli_put_key, AWSCLI_PUT_KEY_NOW, "us-east-1", NULL, &a), 0);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_SHA256);

    /* the key with spaces, '+', '~', '=', '&' and UTF-8 is part of the
     * signature: one byte of it changed fails */
    expect_err(edit(awscli_put_key, "%2Bc~d", "%2Bc~e"), AWSCLI_PUT_KEY_NOW, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    /* the same key, escaped differently on the wire, is the same key; a
     * raw '+' is a '+' (what the handler must read too) */
    expect_ok(edit(awscli_put_key, "%2Bc", "+c"), AWSCLI_PUT_KEY_NOW, HS_SIGV4_HEADER);
    expect_ok(edit(awscli_put_key, "~d%3De", "%7Ed%3de"), AWSCLI_PUT_KEY_NOW, HS_SIGV4_HEADER);
    expect_err(edit(boto_list, "prefix=p%20q", "prefix=p+q"), BOTO_LIST_NOW, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
}

/* ---- the signer against the examples and the verifier ---- */

static hs_http_header_t H(const char *n, const char *v)
{
    return (hs_http_header_t){{n, strlen(n)}, {v, strlen(v)}};
}

static void test_sign(void **state)
{
    (void)state;
    char out[512];
    hs_http_header_t h[] = {
        H("Host", "examplebucket.s3.amazonaws.com"), H("Range", "bytes=0-9"),
        H("x-amz-content-sha256", EMPTY), H("X-Amz-Date", "20130524T000000Z")};
    int n = hs_sigv4_sign("GET", "/test.txt", "", h, 4, EMPTY, AK, SK, "us-east-1",
                          "20130524T000000Z", out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    assert_string_equal(out, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                             "us-east-1/s3/aws4_request, SignedHeaders=host;range;"
                             "x-amz-content-sha256;x-amz-date, Signature="
                             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    hs_http_header_t hp[] = {
        H("x-amz-storage-class", "REDUCED_REDUNDANCY"), H("Date", "Fri, 24 May 2013 00:00:00 GMT"),
        H("host", "examplebucket.s3.amazonaws.com"), H("x-amz-date", "20130524T000000Z"),
        H("X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")};
    n = hs_sigv4_sign("PUT", "/test%24file.text", NULL, hp, 5,
                      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", AK, SK,
                      "us-east-1", "20130524T000000Z", out, sizeof(out));
    assert_true(n > 0);
    assert_non_null(strstr(out, "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
    hs_http_header_t hl[] = {H("host", "examplebucket.s3.amazonaws.com"),
                             H("x-amz-date", "20130524T000000Z"),
                             H("x-amz-content-sha256", EMPTY)};
    n = hs_sigv4_sign("GET", "/", "prefix=J&max-keys=2", hl, 3, EMPTY, AK, SK, "us-east-1",
                      "20130524T000000Z", out, sizeof(out));
    assert_non_null(strstr(out, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));

    /* round trip through the parser and the verifier, with a key that
     * needs encoding and repeated headers */
    hs_http_header_t hr[] = {H("host", "h:1"), H("x-amz-date", "20261128T100344Z"),
                             H("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                             H("X-Amz-Meta-A", "1"), H("x-amz-meta-a", "  two   words ")};
    n = hs_sigv4_sign("PUT", "/b/k%20%C3%BC+x", "tagging&x=%2F", hr, 5, "UNSIGNED-PAYLOAD", AK,
                      SK, "us-east-1", "20261128T100344Z", out, sizeof(out));
    assert_true(n > 0);
    char head[1024];
    snprintf(head, sizeof(head),
             "PUT /b/k%%20%%C3%%BC+x?tagging&x=%%2F HTTP/1.1\r\nhost: h:1\r\n"
             "x-amz-date: 20261128T100344Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
             "X-Amz-Meta-A: 1\r\nx-amz-meta-a:   two   words \r\nAuthorization: %s\r\n\r\n",
             out);
    expect_ok(head, AWSCLI_PUT_KEY_NOW, HS_SIGV4_HEADER);
    expect_err(edit(head, "two   words", "two words!"), AWSCLI_PUT_KEY_NOW, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");

    /* bounds and bad input */
    assert_int_equal(hs_sigv4_sign("GET", "/", "", h, 4, EMPTY, AK, SK, "us-east-1",
                                   "20130524T000000Z", out, 20), HS_E2BIG);
    assert_int_equal(hs_sigv4_sign("GET", "/", "", h + 1, 3, EMPTY, AK, SK, "us-east-1",
                                   "20130524T000000Z", out, sizeof(out)), HS_EINVAL);
    assert_int_equal(hs_sigv4_sign("GET", "/", "", h, 4, EMPTY, AK, SK, "us-east-1",
                                   "2013-05-24", out, sizeof(out)), HS_EINVAL);
}

/* ---- rejections ---- */

static void test_wrong_secret_and_key(void **state)
{
    (void)state;
    expect_err(aws_get_object, T2013, "us-east-1", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ",
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_get_object, "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLF"), T2013,
               "us-east-1", NULL, HS_EACCES, 403, "InvalidAccessKeyId");
}

static void test_tampering(void **state)
{
    (void)state;
    /* a signed header, the path, the method, the query */
    expect_err(edit(aws_get_object, "bytes=0-9", "bytes=0-99"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_get_object, "GET /test.txt", "GET /test.txt2"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_get_object, "GET /test.txt", "HEAD /test.txt"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_list, "prefix=J", "prefix=K"), T2013, "us-east-1", NULL, HS_EACCES, 403,
               "SignatureDoesNotMatch");
    expect_err(edit(aws_list, "?max-keys=2", "?max-keys=2&versions"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    expect_err(edit(aws_get_object, "Signature=f0", "Signature=f1"), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
    /* a signed header sent twice joins with ',' and so no longer matches */
    expect_err(edit(aws_get_object, "Range: bytes=0-9\r\n", "Range: bytes=0-9\r\nRange: x\r\n"),
               T2013, "us-east-1", NULL, HS_EACCES, 403, "SignatureDoesNotMatch");
    /* whitespace a proxy may change is canonicalised away */
    expect_ok(edit(aws_get_object, "Range: bytes=0-9", "Range:   bytes=0-9  "), T2013,
              HS_SIGV4_HEADER);
    expect_ok(edit(aws_get_object, "Signature=f0e8bd", "Signature=F0E8BD"), T2013,
              HS_SIGV4_HEADER);
    /* unsigned headers may change; unsigned x-amz-* ones may not exist */
    expect_ok(edit(aws_get_object, "Range:", "User-Agent: x\r\nAccept: */*\r\nRange:"), T2013,
              HS_SIGV4_HEADER);
    expect_err(edit(aws_get_object, "Range:", "x-amz-acl: public-read\r\nRange:"), T2013,
               "us-east-1", NULL, HS_EACCES, 403, "AccessDenied");
    /* a signed header missing is a different canonical request */
    expect_err(edit(aws_get_object, "Range: bytes=0-9\r\n", ""), T2013, "us-east-1", NULL,
               HS_EACCES, 403, "SignatureDoesNotMatch");
}

static void test_clock(void **state)
{
    (void)state;
    expect_ok(aws_get_object, T2013 + SKEW, HS_SIGV4_HEADER);
    expect_ok(aws_get_object, T2013 - SKEW, HS_SIGV4_HEADER);
    expect_err(aws_get_object, T2013 + SKEW + 1, "us-east-1", NULL, HS_EACCES, 403,
               "RequestTimeTooSkewed");
    expect_err(aws_get_object, T2013 - SKEW - 1, "us-east-1", NULL, HS_EACCES, 403,
               "RequestTimeTooSkewed");
    /* the Date header is the fallback; the credential day must match */
    expect_err(aws_put_object, T2013 + 86400, "us-east-1", NULL, HS_EACCES, 403,
               "RequestTimeTooSkewed");
    expect_err(edit(aws_put_object, "x-amz-date: 20130524T000000Z\r\n", ""), T2013, "us-east-1",
               NULL, HS_EACCES, 403, "SignatureDoesNotMatch"); /* signed x-amz-date gone */
    expect_err(edit(aws_get_object, "x-amz-date: 20130524T000000Z", "x-amz-date: 20130525T000000Z"),
               T2013 + 86400, "us-east-1", NULL, HS_EINVAL, 400, "AuthorizationHeaderMalformed");
    expect_err(edit(aws_get_object, "x-amz-date: 20130524T000000Z", "x-amz-date: 20130524T250000Z"),
               T2013, "us-east-1", NULL, HS_EACCES, 403, "AccessDenied");
    expect_err(edit(aws_get_object, "x-amz-date: 20130524T000000Z", "x-amz-date: 2013"), T2013,
               "us-east-1", NULL, HS_EACCES, 403, "AccessDenied");
    expect_err(edit(aws_get_object, "x-amz-date: 20130524T000000Z\r\n", ""), T2013, "us-east-1",
               NULL, HS_EACCES, 403, "AccessDenied");
}

static void test_wrong_region(void **state)
{
    (void)state;
    hs_sigv4_auth_t a;
    assert_int_equal(verify_at(aws_get_object, T2013, "eu-west-1", NULL, &a), HS_EINVAL);
    assert_string_equal(a.err.code, "AuthorizationHeaderMalformed");
    assert_int_equal(a.err.status, 400);
    assert_non_null(strstr(a.err.message, "expecting 'eu-west-1'"));
    assert_non_null(strstr(a.err.message, "'us-east-1' is wrong"));
}

static void test_malformed_authorization(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {",SignedHeaders=", ",Signed=Headers="},
        {",SignedHeaders=", ",SignedHeaders=host,SignedHeaders="},
        {",Signature=f0e8", ",Signature=f0e"},
        {",Signature=f0e8", ",Signature=g0e8"},
        {",Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", ""},
        {"/s3/aws4_request", "/sqs/aws4_request"},
        {"/s3/aws4_request", "/s3/aws4_request/x"},
        {"/s3/aws4_request", "/s3"},
        {"/20130524/", "/2013052/"},
        {"/us-east-1/", "//"},
        {"/us-east-1/", "/US-EAST-1/"},
        {"Credential=AKIA", "Credential=/AKIA"},
        {"SignedHeaders=host;", "SignedHeaders=Host;"},
        {"SignedHeaders=host;", "SignedHeaders=;host;"},
        {"SignedHeaders=host;range", "SignedHeaders=range"},
        {"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date",
         "SignedHeaders=range;x-amz-content-sha256;x-amz-date;"},
        {"aws4_request,SignedHeaders", "aws4_request SignedHeaders"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_err(edit(aws_get_object, bad[i][0], bad[i][1]), T2013, "us-east-1", NULL,
                   HS_EINVAL, 400, "AuthorizationHeaderMalformed");
    expect_err(edit(aws_get_object, "AWS4-HMAC-SHA256 Credential", "AWS AKIAIOSFODNN7EXAMPLE:x"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidRequest");
    expect_err(edit(aws_get_object, "AWS4-HMAC-SHA256 Credential", "AWS4-ECDSA-P256-SHA256 Credential"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidRequest");
    expect_err(edit(aws_get_object, "AWS4-HMAC-SHA256 Credential", "AWS4-HMAC-SHA256"), T2013,
               "us-east-1", NULL, HS_EINVAL, 400, "InvalidRequest");
    expect_err(edit(aws_get_object, "Range:", "Authorization: x\r\nRange:"), T2013, "us-east-1",
               NULL, HS_EINVAL, 400, "AuthorizationHeaderMalformed");
    /* spaces after the commas are what awscli sends; accepted */
    expect_ok(edit(edit(aws_get_object, ",SignedHeaders", ", SignedHeaders"), ",Signature",
                   ",  Signature"),
              T2013, HS_SIGV4_HEADER);
}

static void test_content_sha256(void **state)
{
    (void)state;
    expect_err(edit(aws_get_object, "x-amz-content-sha256:" EMPTY "\r\n", ""), T2013,
               "us-east-1", NULL, HS_EINVAL, 400, "MissingSecurityHeader");
    expect_err(edit(aws_get_object, "x-amz-content-sha256:" EMPTY, "x-amz-content-sha256: nope"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidArgument");
    expect_err(edit(aws_get_object, "x-amz-content-sha256:" EMPTY,
                    "x-amz-content-sha256: STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidArgument");
    expect_err(edit(aws_streaming, "x-amz-decoded-content-length: 66560",
                    "x-amz-decoded-content-length: -1"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidArgument");
    expect_err(edit(aws_streaming_trailer, "x-amz-trailer: x-amz-checksum-crc32c",
                    "x-amz-trailer: x-amz-checksum-crc32c,x-amz-checksum-sha1"),
               T2013, "us-east-1", NULL, HS_EINVAL, 400, "InvalidArgument");
}

static void test_unhex(void **state)
{
    (void)state;
    char in[65];
    uint8_t out[32], want[32];
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(i * 37 + 11);
    hs__sigv4_hex(want, in);
    assert_int_equal(hs__sigv4_unhex(in, 64, out), 0);
    assert_memory_equal(out, want, 32);
    for (int i = 0; i < 64; i++)
        if (in[i] >= 'a')
            in[i] = (char)(in[i] - 32); /* upper case is accepted too */
    assert_int_equal(hs__sigv4_unhex(in, 64, out), 0);
    assert_memory_equal(out, want, 32);
    assert_int_equal(hs__sigv4_unhex(in, 63, out), HS_EINVAL);
    /* every position, with the neighbours of the digit ranges and bytes
     * whose low bits look like digits */
    static const unsigned char bad[] = {'/', ':', '@', 'G', '`', 'g', ' ', 0, 0x80, 0xb0, 0xff};
    for (int pos = 0; pos < 64; pos++)
        for (size_t b = 0; b < sizeof(bad); b++) {
            char t[65];
            memcpy(t, in, 65);
            t[pos] = (char)bad[b];
            if (hs__sigv4_unhex(t, 64, out) != HS_EINVAL)
                fail_msg("byte 0x%02x at %d taken for a hex digit", bad[b], pos);
        }
}

static void test_anonymous(void **state)
{
    (void)state;
    hs_sigv4_auth_t a;
    assert_int_equal(verify_at("GET /b/k?versionId=3 HTTP/1.1\r\nHost: h\r\n\r\n", 0,
                               "us-east-1", NULL, &a), 0);
    assert_int_equal(a.kind, HS_SIGV4_ANON);
    assert_int_equal(a.payload, HS_SIGV4_PAYLOAD_UNSIGNED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_header_examples),
        cmocka_unit_test(test_canonical_request_text),
        cmocka_unit_test(test_uri_encoding),
        cmocka_unit_test(test_query_canonical),
        cmocka_unit_test(test_aws_presigned_example),
        cmocka_unit_test(test_aws_streaming_seed),
        cmocka_unit_test(test_client_captures),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_wrong_secret_and_key),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_wrong_region),
        cmocka_unit_test(test_malformed_authorization),
        cmocka_unit_test(test_content_sha256),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_unhex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
