/*
 * Unit tests of src/origin/s3err.c and names.c: the error table (sorted,
 * statuses of the codes the origin answers with), the <Error> document
 * read back through the XML reader, and the bucket-name and object-key
 * rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "origin/s3err.h"
#include "origin/xml.h"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        int status;
    } want[] = {
        {"AccessDenied", 403},
        {"AccountProblem", 403},
        {"AuthorizationHeaderMalformed", 400},
        {"AuthorizationQueryParametersError", 400},
        {"BadDigest", 400},
        {"BucketAlreadyExists", 409},
        {"BucketAlreadyOwnedByYou", 409},
        {"BucketNotEmpty", 409},
        {"EntityTooLarge", 400},
        {"EntityTooSmall", 400},
        {"IncompleteBody", 400},
        {"InternalError", 500},
        {"InvalidAccessKeyId", 403},
        {"InvalidArgument", 400},
        {"InvalidBucketName", 400},
        {"InvalidChunkSizeError", 403},
        {"InvalidDigest", 400},
        {"InvalidObjectState", 403},
        {"InvalidPart", 400},
        {"InvalidPartOrder", 400},
        {"InvalidRange", 416},
        {"InvalidRequest", 400},
        {"InvalidStorageClass", 400},
        {"KeyTooLongError", 400},
        {"MalformedXML", 400},
        {"MaxMessageLengthExceeded", 400},
        {"MetadataTooLarge", 400},
        {"MethodNotAllowed", 405},
        {"MissingContentLength", 411},
        {"MissingRequestBodyError", 400},
        {"MissingSecurityHeader", 400},
        {"NoSuchBucket", 404},
        {"NoSuchBucketPolicy", 404},
        {"NoSuchKey", 404},
        {"NoSuchUpload", 404},
        {"NoSuchTagSet", 404},
        {"NotImplemented", 501},
        {"PreconditionFailed", 412},
        {"RequestTimeTooSkewed", 403},
        {"RequestTimeout", 400},
        {"ServiceUnavailable", 503},
        {"SignatureDoesNotMatch", 403},
        {"SlowDown", 503},
        {"TooManyParts", 400},
        {"XAmzContentSHA256Mismatch", 400},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const hs_s3err_info_t *e = hs_s3err_lookup(want[i].code);
        if (!e)
            fail_msg("%s missing", want[i].code);
        assert_string_equal(e->code, want[i].code);
        assert_int_equal(e->status, want[i].status);
        assert_int_equal(hs_s3err_status(want[i].code), want[i].status);
    }
    /* the lookup is a binary search: the table must be sorted and unique,
     * every row must be found, and have a message */
    for (int i = 0; i < HS_S3ERR_COUNT; i++) {
        const hs_s3err_info_t *e = hs_s3err_info((hs_s3err_t)i);
        if (i > 0 && strcmp(hs_s3err_info((hs_s3err_t)(i - 1))->code, e->code) >= 0)
            fail_msg("table not sorted at %s", e->code);
        assert_ptr_equal(hs_s3err_lookup(e->code), e);
        assert_true(e->status >= 300 && e->status <= 599);
        assert_true(strlen(e->message) > 0);
    }
    assert_string_equal(hs_s3err_info(HS_S3ERR_NoSuchKey)->code, "NoSuchKey");
    assert_int_equal(hs_s3err_info(HS_S3ERR_SlowDown)->status, 503);
    assert_null(hs_s3err_lookup("NoSuchThing"));
    assert_null(hs_s3err_lookup("nosuchkey"));
    assert_null(hs_s3err_lookup(""));
    assert_int_equal(hs_s3err_status("NoSuchThing"), 500);
}

static void test_error_document(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 0);
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_s3err_xml(&b, "NoSuchKey", NULL, "/mybucket/myfoto.jpg", "4442587FB7D0A2F9",
                                  NULL),
                     0);
    const char want[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<Error><Code>NoSuchKey</Code>"
                        "<Message>The specified key does not exist.</Message>"
                        "<Resource>/mybucket/myfoto.jpg</Resource>"
                        "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
    assert_int_equal(hs_buf_len(&b), sizeof(want) - 1);
    assert_memory_equal(hs_buf_data(&b), want, sizeof(want) - 1);
    hs_buf_free(&b);

    /* own message, escaped resource, extra elements, no request id */
    assert_int_equal(hs_s3err_xml(&b, "NoSuchBucket", "Gone <now> & \"forever\"", "/b&b/k<1>",
                                  NULL, "<BucketName>b&amp;b</BucketName>"),
                     0);
    hs_xml_node_t *r;
    hs_xml_error_t e;
    assert_int_equal(hs_xml_parse(&a, hs_buf_data(&b), hs_buf_len(&b), NULL, &r, &e), 0);
    assert_string_equal(r->name, "Error");
    assert_string_equal(hs_xml_child_text(r, "Code", NULL), "NoSuchBucket");
    assert_string_equal(hs_xml_child_text(r, "Message", NULL), "Gone <now> & \"forever\"");
    assert_string_equal(hs_xml_child_text(r, "Resource", NULL), "/b&b/k<1>");
    assert_string_equal(hs_xml_child_text(r, "BucketName", NULL), "b&b");
    assert_null(hs_xml_child(r, "RequestId"));
    hs_buf_free(&b);

    /* a resource XML cannot carry is url-encoded, never dropped; an
     * unknown code keeps its name with a generic message */
    assert_int_equal(hs_s3err_xml(&b, "Teapot", NULL, "/b/k\x01\xFF", "r1", NULL), 0);
    assert_int_equal(hs_xml_parse(&a, hs_buf_data(&b), hs_buf_len(&b), NULL, &r, &e), 0);
    assert_string_equal(hs_xml_child_text(r, "Code", NULL), "Teapot");
    assert_string_equal(hs_xml_child_text(r, "Message", NULL),
                        "We encountered an internal error. Please try again.");
    assert_string_equal(hs_xml_child_text(r, "Resource", NULL), "/b/k%01%FF");
    assert_string_equal(hs_xml_child_text(r, "RequestId", NULL), "r1");
    hs_buf_free(&b);

    /* every row gives a document the reader accepts */
    for (int i = 0; i < HS_S3ERR_COUNT; i++) {
        const hs_s3err_info_t *info = hs_s3err_info((hs_s3err_t)i);
        assert_int_equal(hs_s3err_xml(&b, info->code, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(hs_xml_parse(&a, hs_buf_data(&b), hs_buf_len(&b), NULL, &r, &e), 0);
        assert_string_equal(hs_xml_child_text(r, "Message", NULL), info->message);
        assert_null(hs_xml_child(r, "Resource"));
        hs_buf_free(&b);
    }
    hs_arena_free(&a);
}

#define BUCKET_OK(s) assert_null(hs_s3_bucket_name_ok((s), strlen(s)))
#define BUCKET_BAD(s) assert_non_null(hs_s3_bucket_name_ok((s), strlen(s)))

static void test_bucket_names(void **state)
{
    (void)state;
    BUCKET_OK("abc");
    BUCKET_OK("my-bucket");
    BUCKET_OK("my.bucket.name");
    BUCKET_OK("docexamplebucket1");
    BUCKET_OK("1bucket9");
    BUCKET_OK("a-b-c");
    BUCKET_OK("a--b");
    BUCKET_OK("192.168.5");       /* three labels: not an address */
    BUCKET_OK("192.168.5.4a");
    BUCKET_OK("xn-abc");
    BUCKET_OK("s3alias");
    BUCKET_OK("abc-s3alia");
    BUCKET_OK("sthree");
    BUCKET_OK("123456789012345678901234567890123456789012345678901234567890123"); /* 63 */
    BUCKET_BAD("1234567890123456789012345678901234567890123456789012345678901234"); /* 64 */
    BUCKET_BAD("ab");
    BUCKET_BAD("");
    BUCKET_BAD("My-Bucket");
    BUCKET_BAD("my_bucket");
    BUCKET_BAD("my bucket");
    BUCKET_BAD("-bucket");
    BUCKET_BAD("bucket-");
    BUCKET_BAD(".bucket");
    BUCKET_BAD("bucket.");
    BUCKET_BAD("my..bucket");
    BUCKET_BAD("my.-bucket");
    BUCKET_BAD("my-.bucket");
    BUCKET_BAD("192.168.5.4");
    BUCKET_BAD("999.999.999.999");
    BUCKET_BAD("xn--bucket");
    BUCKET_BAD("sthree-bucket");
    BUCKET_BAD("sthree-configurator");
    BUCKET_BAD("amzn-s3-demo-bucket");
    BUCKET_BAD("bucket-s3alias");
    BUCKET_BAD("bucket--ol-s3");
    BUCKET_BAD("bucket.mrap");
    BUCKET_BAD("bucket--x-s3");
    BUCKET_BAD("bucket--table-s3");
    BUCKET_BAD("b\xC3\xA9");
    /* length is what counts, not a NUL */
    assert_non_null(hs_s3_bucket_name_ok("abc\0def", 7));
    assert_null(hs_s3_bucket_name_ok("abcdef", 3));
    assert_non_null(strstr(hs_s3_bucket_name_ok("1.2.3.4", 7), "IP"));
}

static void test_keys(void **state)
{
    (void)state;
    assert_null(hs_s3_key_ok("a", 1));
    assert_null(hs_s3_key_ok("photos/2006/Jan/sample.jpg", 26));
    assert_null(hs_s3_key_ok(" lead and trail ", 16));
    assert_null(hs_s3_key_ok("&$@=;:+ ,?\\{}^%`[]\"<>~#|'", 25));
    assert_null(hs_s3_key_ok("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9));
    assert_null(hs_s3_key_ok("ctl\x01\x1F\x7F", 6)); /* allowed, as S3 does */
    assert_null(hs_s3_key_ok("\xEF\xBF\xBF", 3));      /* U+FFFF is valid UTF-8 */
    assert_non_null(hs_s3_key_ok("", 0));
    assert_non_null(hs_s3_key_ok("a\0b", 3));
    assert_non_null(hs_s3_key_ok("\xC3", 1));
    assert_non_null(hs_s3_key_ok("\xC0\xAF", 2));
    assert_non_null(hs_s3_key_ok("\xED\xA0\x80", 3));
    assert_non_null(hs_s3_key_ok("\xF4\x90\x80\x80", 4));
    assert_non_null(hs_s3_key_ok("\xFF", 1));
    char *k = malloc(HS_S3_KEY_MAX + 1);
    memset(k, 'k', HS_S3_KEY_MAX + 1);
    assert_null(hs_s3_key_ok(k, HS_S3_KEY_MAX));
    assert_string_equal(hs_s3_key_ok(k, HS_S3_KEY_MAX + 1), "Your key is too long");
    /* 1024 bytes, whatever the number of characters */
    for (int i = 0; i + 2 <= HS_S3_KEY_MAX; i += 2)
        memcpy(k + i, "\xC3\xA9", 2);
    assert_null(hs_s3_key_ok(k, HS_S3_KEY_MAX));
    assert_non_null(hs_s3_key_ok(k, HS_S3_KEY_MAX - 1)); /* cut mid-character */
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_bucket_names),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
