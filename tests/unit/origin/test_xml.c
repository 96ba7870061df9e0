/*
 * Unit tests of src/origin/xml.c and xmlw.c: S3 request bodies as Amazon
 * documents them, entity, character-reference and CDATA decoding,
 * namespaces, every rejection (entity bombs and XXE included), the
 * bounds, truncation at every byte, and the writer: exact output,
 * escaping round trips through the reader, url encoding, and the
 * assertions that keep it from writing malformed XML. Inputs are copied
 * into exact-size heap buffers so ASan catches any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "origin/xml.h"

static hs_arena_t A;

static int setup(void **state)
{
    (void)state;
    hs_arena_init(&A, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hs_arena_free(&A);
    return 0;
}

static int parse_n(const char *s, size_t n, const hs_xml_opts_t *o, hs_xml_node_t **root,
                   hs_xml_error_t *e)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    hs_xml_node_t *r = NULL;
    hs_xml_error_t err = {0, NULL};
    int rc = hs_xml_parse(&A, copy, n, o, &r, &err);
    free(copy); /* the tree must not point into the input */
    if (rc == 0)
        assert_non_null(r);
    else
        assert_non_null(err.reason);
    if (root)
        *root = r;
    if (e)
        *e = err;
    return rc;
}

static hs_xml_node_t *ok(const char *s)
{
    hs_xml_node_t *r;
    hs_xml_error_t e;
    int rc = parse_n(s, strlen(s), NULL, &r, &e);
    if (rc != 0)
        fail_msg("rejected (%d) at %zu: %s\n%s", rc, e.offset, e.reason, s);
    return r;
}

/* Parses s[0..n) expecting rc; returns the error reason. */
static const char *bad_n(const char *s, size_t n, int want)
{
    hs_xml_error_t e;
    int rc = parse_n(s, n, NULL, NULL, &e);
    if (rc != want)
        fail_msg("got %d (%s), want %d:\n%.*s", rc, rc ? e.reason : "accepted", want, (int)n, s);
    return e.reason;
}

#define BAD(lit) bad_n((lit), sizeof(lit) - 1, HS_EBADMSG)

static void assert_text(const hs_xml_node_t *n, const char *want, size_t wlen)
{
    size_t len;
    const char *t = hs_xml_text(n, &len);
    assert_non_null(t);
    assert_int_equal(len, wlen);
    assert_memory_equal(t, want, wlen);
    assert_int_equal(t[len], '\0');
}

#define TEXT(n, lit) assert_text((n), (lit), sizeof(lit) - 1)

/* ---- S3 documents ---- */

static const char complete_mpu[] =
    "<CompleteMultipartUpload>\n"
    "  <Part>\n"
    "    <PartNumber>1</PartNumber>\n"
    "    <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>\n"
    "  </Part>\n"
    "  <Part>\n"
    "    <PartNumber>2</PartNumber>\n"
    "    <ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag>\n"
    "  </Part>\n"
    "  <Part>\n"
    "    <PartNumber>3</PartNumber>\n"
    "    <ETag>\"acbd18db4cc2f85cedef654fccc4a4d8\"</ETag>\n"
    "  </Part>\n"
    "</CompleteMultipartUpload>";

static void test_complete_multipart(void **state)
{
    (void)state;
    hs_xml_node_t *r = ok(complete_mpu);
    assert_string_equal(r->name, "CompleteMultipartUpload");
    assert_null(r->parent);
    assert_int_equal(r->nchildren, 3);
    assert_int_equal(hs_xml_count(r, "Part"), 3);
    int i = 0;
    static const char *const etags[] = {"\"a54357aff0632cce46d942af68356b38\"",
                                        "\"0c78aef83f66abc1fa1e8477f296d394\"",
                                        "\"acbd18db4cc2f85cedef654fccc4a4d8\""};
    for (hs_xml_node_t *p = hs_xml_child(r, "Part"); p; p = hs_xml_next(p, "Part"), i++) {
        assert_ptr_equal(p->parent, r);
        size_t n;
        const char *num = hs_xml_child_text(p, "PartNumber", &n);
        assert_int_equal(n, 1);
        assert_int_equal(num[0], '1' + i);
        assert_string_equal(hs_xml_child_text(p, "ETag", NULL), etags[i]);
        assert_null(hs_xml_child(p, "ChecksumCRC32"));
        assert_null(hs_xml_child_text(p, "ChecksumCRC32", &n));
        assert_int_equal(n, 0);
    }
    assert_int_equal(i, 3);

    /* newer SDKs: declaration, namespace, checksums */
    r = ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<Part><ETag>&quot;e1&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
           "<PartNumber>1</PartNumber></Part></CompleteMultipartUpload>");
    assert_int_equal(r->nattrs, 0); /* xmlns dropped */
    hs_xml_node_t *p = hs_xml_child(r, "Part");
    assert_string_equal(hs_xml_child_text(p, "ETag", NULL), "\"e1\"");
    assert_string_equal(hs_xml_child_text(p, "ChecksumCRC32", NULL), "AAAAAA==");
    assert_null(hs_xml_next(p, "Part"));
}

static void test_delete_objects(void **state)
{
    (void)state;
    hs_xml_node_t *r = ok("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                          "  <Object>\n"
                          "    <Key>sample1.txt</Key>\n"
                          "  </Object>\n"
                          "  <Object>\n"
                          "    <Key>sample2.txt</Key>\n"
                          "    <VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>\n"
                          "  </Object>\n"
                          "  <Quiet>true</Quiet>\n"
                          "</Delete>\n");
    assert_string_equal(r->name, "Delete");
    assert_int_equal(hs_xml_count(r, "Object"), 2);
    assert_int_equal(hs_xml_count(r, NULL), 3);
    hs_xml_node_t *o = hs_xml_child(r, "Object");
    assert_string_equal(hs_xml_child_text(o, "Key", NULL), "sample1.txt");
    assert_null(hs_xml_child(o, "VersionId"));
    o = hs_xml_next(o, "Object");
    assert_string_equal(hs_xml_child_text(o, "Key", NULL), "sample2.txt");
    assert_string_equal(hs_xml_child_text(o, "VersionId", NULL), "OYcLXagmS.WaD..oyH4KRguB95_YhLs7");
    assert_null(hs_xml_next(o, "Object"));
    assert_string_equal(hs_xml_child_text(r, "Quiet", NULL), "true");
    /* the container's own text is the whitespace between its children */
    assert_int_equal(r->text_len, strlen("\n  \n  \n  \n"));
    /* the first child of any name, and iteration over all */
    assert_string_equal(hs_xml_child(r, NULL)->name, "Object");
    assert_string_equal(hs_xml_next(hs_xml_next(hs_xml_child(r, NULL), NULL), NULL)->name, "Quiet");
    assert_null(hs_xml_child(NULL, "Object"));
    assert_null(hs_xml_next(NULL, NULL));
    assert_int_equal(hs_xml_count(NULL, NULL), 0);
}

/* 1000 keys of 1000 bytes, keys full of characters that need escaping */
static void test_delete_1000_long_keys(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    hs_xmlw_decl(&w);
    hs_xmlw_open(&w, "Delete");
    hs_xmlw_attr(&w, "xmlns", HS_S3_XMLNS, strlen(HS_S3_XMLNS));
    char key[1000];
    for (int i = 0; i < 1000; i++) {
        for (int j = 0; j < 1000; j++)
            key[j] = "ab/c&<>'\" \t-_."[(i + j) % 14];
        snprintf(key, sizeof(key), "%04d", i);
        key[4] = ' ';
        hs_xmlw_open(&w, "Object");
        assert_int_equal(hs_xmlw_elem(&w, "Key", key, sizeof(key)), 0);
        hs_xmlw_close(&w, "Object");
    }
    hs_xmlw_close(&w, "Delete");
    assert_int_equal(hs_xmlw_finish(&w), 0);
    hs_xml_node_t *r;
    assert_int_equal(parse_n(hs_buf_data(&b), hs_buf_len(&b), NULL, &r, NULL), 0);
    assert_int_equal(hs_xml_count(r, "Object"), 1000);
    int i = 0;
    for (hs_xml_node_t *o = hs_xml_child(r, "Object"); o; o = hs_xml_next(o, "Object"), i++) {
        size_t n;
        const char *k = hs_xml_child_text(o, "Key", &n);
        assert_int_equal(n, 1000);
        char head[16];
        snprintf(head, sizeof(head), "%04d ", i);
        assert_memory_equal(k, head, 5);
        assert_int_equal(k[5], "ab/c&<>'\" \t-_."[(i + 5) % 14]);
    }
    hs_buf_free(&b);
}

static void test_bucket_config_tagging_acl(void **state)
{
    (void)state;
    hs_xml_node_t *r = ok("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                          "<LocationConstraint>eu-west-1</LocationConstraint>"
                          "</CreateBucketConfiguration>");
    assert_string_equal(hs_xml_child_text(r, "LocationConstraint", NULL), "eu-west-1");
    r = ok("<CreateBucketConfiguration/>");
    assert_int_equal(r->nchildren, 0);
    TEXT(r, "");

    r = ok("<Tagging><TagSet><Tag><Key>Project</Key><Value>Project One</Value></Tag>"
           "<Tag><Key>User</Key><Value></Value></Tag></TagSet></Tagging>");
    hs_xml_node_t *set = hs_xml_child(r, "TagSet");
    assert_int_equal(hs_xml_count(set, "Tag"), 2);
    hs_xml_node_t *t = hs_xml_next(hs_xml_child(set, "Tag"), "Tag");
    assert_string_equal(hs_xml_child_text(t, "Key", NULL), "User");
    TEXT(hs_xml_child(t, "Value"), ""); /* present and empty: not NULL */

    r = ok("<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<Owner><ID>852b113e</ID><DisplayName>me</DisplayName></Owner>"
           "<AccessControlList><Grant>"
           "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
           "xsi:type=\"CanonicalUser\"><ID>852b113e</ID></Grantee>"
           "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>"
           "</AccessControlPolicy>");
    hs_xml_node_t *g =
        hs_xml_child(hs_xml_child(hs_xml_child(r, "AccessControlList"), "Grant"), "Grantee");
    assert_non_null(g);
    assert_int_equal(g->nattrs, 1);
    assert_string_equal(g->attrs[0].name, "xsi:type");
    assert_string_equal(g->attrs[0].local, "type");
    assert_string_equal(hs_xml_attr(g, "type"), "CanonicalUser");
    assert_null(hs_xml_attr(g, "xsi"));
    assert_null(hs_xml_attr(NULL, "type"));
}

/* ---- decoding ---- */

static void test_entities_and_charrefs(void **state)
{
    (void)state;
    hs_xml_node_t *r =
        ok("<Key>a&amp;b&lt;c&gt;d&quot;e&apos;f&#65;&#x42;&#x20AC;&#128512;&#x0041;&#0065;</Key>");
    TEXT(r, "a&b<c>d\"e'fAB\xE2\x82\xAC\xF0\x9F\x98\x80" "AA");
    r = ok("<K a='&lt;&#x9;&#10;&#13;x'>&#xD7FF;&#xE000;&#xFFFD;&#x10FFFF;&#9;&#10;&#13;</K>");
    TEXT(r, "\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD\xF4\x8F\xBF\xBF\t\n\r");
    assert_int_equal(r->attrs[0].value_len, 5);
    assert_memory_equal(r->attrs[0].value, "<\t\n\rx", 5);
    /* '>' and "]]" alone are fine in text; quotes too */
    TEXT(ok("<K>a>b]]c\"'</K>"), "a>b]]c\"'");
    TEXT(ok("<K>]</K>"), "]");
    TEXT(ok("<K>]]</K>"), "]]");
}

static void test_whitespace_and_line_ends(void **state)
{
    (void)state;
    TEXT(ok("<Key>  lead and trail  </Key>"), "  lead and trail  ");
    TEXT(ok("<Key>\t\n x \n\t</Key>"), "\t\n x \n\t");
    TEXT(ok("<Key>a\r\nb\rc\r\r\nd</Key>"), "a\nb\nc\n\nd");
    TEXT(ok("<Key><![CDATA[a\r\nb\r]]></Key>"), "a\nb\n");
    TEXT(ok("<Key>a&#13;&#10;b</Key>"), "a\r\nb"); /* references are not normalised */
    hs_xml_node_t *r = ok("<K a=\" x\ty\r\nz\rw\n \"/>");
    assert_string_equal(hs_xml_attr(r, "a"), " x y z w  ");
    /* whitespace around the root and inside tags */
    r = ok(" \r\n\t<K\n a\t=\r'1'\n\n>v</K\n >\n\n");
    assert_string_equal(hs_xml_attr(r, "a"), "1");
    TEXT(r, "v");
}

static void test_cdata(void **state)
{
    (void)state;
    TEXT(ok("<Key><![CDATA[<&>]]]></Key>"), "<&>]");
    TEXT(ok("<Key>a<![CDATA[ & ]]>b&amp;<![CDATA[]]>c</Key>"), "a & b&c");
    TEXT(ok("<Key><![CDATA[&amp;<!-- no comment -->]]></Key>"), "&amp;<!-- no comment -->");
    /* mixed content: text pieces around children are concatenated */
    hs_xml_node_t *r = ok("<a>x<b>in</b>y<!-- c --><c/>z</a>");
    TEXT(r, "xyz");
    TEXT(hs_xml_child(r, "b"), "in");
    TEXT(hs_xml_child(r, "c"), "");
}

static void test_namespaces(void **state)
{
    (void)state;
    hs_xml_node_t *r = ok("<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                          "<s3:Object><s3:Key>k</s3:Key></s3:Object>"
                          "<Object xmlns=\"urn:x\"><Key>k2</Key></Object></s3:Delete>");
    assert_string_equal(r->name, "Delete");
    assert_int_equal(r->name_len, 6);
    assert_int_equal(r->nattrs, 0);
    assert_int_equal(hs_xml_count(r, "Object"), 2);
    assert_string_equal(hs_xml_child_text(hs_xml_child(r, "Object"), "Key", NULL), "k");
    /* prefixes must match between start and end tags */
    BAD("<a:K xmlns:a='x' xmlns:b='x'></b:K>");
    BAD("<a:K></K>");
    BAD("<K></a:K>");
    /* not QNames */
    BAD("<a:/>");
    BAD("<:a/>");
    BAD("<a:b:c/>");
    BAD("<a :b/>");
    BAD("<a x:='1'/>");
    /* non-ASCII names are names */
    r = ok("<\xC3\xA9l\xC3\xA9ment \xE6\x97\xA5='1'>t</\xC3\xA9l\xC3\xA9ment>");
    assert_string_equal(r->name, "\xC3\xA9l\xC3\xA9ment");
    assert_string_equal(hs_xml_attr(r, "\xE6\x97\xA5"), "1");
}

static void test_prolog_and_misc(void **state)
{
    (void)state;
    ok("<?xml version=\"1.0\"?><a/>");
    ok("<?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>");
    ok("<?xml version = \"1.0\" standalone=\"no\" ?>\n<a/>");
    ok("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>");
    ok("\xEF\xBB\xBF<a/>");
    ok("<!-- c1 --><?pi data?><!----><a><?x?><!-- - --></a><!-- end --> <?y z?>\n");
    ok("<?xml-stylesheet href='s'?><a/>");
    /* XML 1.0 declaration rules */
    BAD(" <?xml version=\"1.0\"?><a/>");
    BAD("<!-- c --><?xml version=\"1.0\"?><a/>");
    BAD("<a/><?xml version=\"1.0\"?>");
    BAD("<?XML version=\"1.0\"?><a/>");
    BAD("<?xml?><a/>");
    BAD("<?xml version=\"1.1\"?><a/>");
    BAD("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>");
    BAD("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>");
    BAD("<?xml version=\"1.0\" standalone=\"maybe\"?><a/>");
    BAD("<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><a/>");
    BAD("<?xml version=\"1.0\"encoding=\"UTF-8\"?><a/>");
    BAD("<?xml version=1.0?><a/>");
    BAD("<?pi?x?><a/>");
    BAD("<?" "?><a/>");
}

/* ---- rejections ---- */

static void test_reject_dtd_and_entities(void **state)
{
    (void)state;
    const char *why = BAD("<?xml version=\"1.0\"?>\n"
                          "<!DOCTYPE lolz [\n"
                          " <!ENTITY lol \"lol\">\n"
                          " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                          " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                          "]>\n"
                          "<lolz>&lol3;</lolz>");
    assert_non_null(strstr(why, "DOCTYPE"));
    BAD("<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
        "<foo>&xxe;</foo>");
    BAD("<!DOCTYPE foo SYSTEM \"http://evil.example/x.dtd\"><foo/>");
    BAD("<!DOCTYPE foo PUBLIC \"-//x//y\" \"http://evil.example/x.dtd\"><foo/>");
    BAD("<foo/><!DOCTYPE foo>");
    BAD("<foo><!DOCTYPE foo></foo>");
    BAD("<!ENTITY x \"y\"><foo/>");
    BAD("<foo><!ELEMENT foo ANY></foo>");
    /* entity references without any DTD */
    why = BAD("<foo>&xxe;</foo>");
    assert_non_null(strstr(why, "entity"));
    BAD("<foo a='&xxe;'/>");
    BAD("<foo>&lt</foo>");
    BAD("<foo>&LT;</foo>");
    BAD("<foo>& amp;</foo>");
    BAD("<foo>a & b</foo>");
    BAD("<foo>&;</foo>");
    BAD("<foo>&%x;</foo>");
}

static void test_reject_charrefs(void **state)
{
    (void)state;
    BAD("<a>&#0;</a>");
    BAD("<a>&#x0;</a>");
    BAD("<a>&#1;</a>");
    BAD("<a>&#x1F;</a>");
    BAD("<a>&#xD800;</a>");
    BAD("<a>&#xDFFF;</a>");
    BAD("<a>&#xFFFE;</a>");
    BAD("<a>&#xFFFF;</a>");
    BAD("<a>&#x110000;</a>");
    BAD("<a>&#1114112;</a>");
    BAD("<a>&#99999999999999999999999999;</a>");
    BAD("<a>&#x100000000000000041;</a>");
    BAD("<a>&#;</a>");
    BAD("<a>&#x;</a>");
    BAD("<a>&#X41;</a>");
    BAD("<a>&#x4G;</a>");
    BAD("<a>&#65a;</a>");
    BAD("<a>&#-65;</a>");
    BAD("<a>&#65</a>");
    BAD("<a b='&#0;'/>");
}

static void test_reject_structure(void **state)
{
    (void)state;
    hs_xml_error_t e;
    assert_int_equal(parse_n("<a><b></c></a>", 14, NULL, NULL, &e), HS_EBADMSG);
    assert_int_equal(e.offset, 6);
    assert_non_null(strstr(e.reason, "match"));
    BAD("<a><b></a></b>");
    BAD("<a></a></a>");
    BAD("</a>");
    BAD("<a>");
    BAD("<a><b/>");
    BAD("<a></b>");
    BAD("<a></ a>");
    BAD("<a></a b>");
    BAD("< a/>");
    BAD("<a/ >");
    assert_non_null(strstr(BAD("<a/><b/>"), "root"));
    BAD("<a></a><a></a>");
    assert_non_null(strstr(BAD("x<a/>"), "outside"));
    BAD("<a/>x");
    BAD("<a/>&amp;");
    BAD("<a/><![CDATA[x]]>");
    BAD("<![CDATA[x]]><a/>");
    BAD("");
    BAD("   \n");
    BAD("<!-- only a comment -->");
    BAD("<?pi only?>");
    /* text rules */
    BAD("<a>x]]>y</a>");
    BAD("<a>x<y</a>");
    /* comments */
    BAD("<a><!-- a -- b --></a>");
    BAD("<a><!-- a ---></a>");
    BAD("<a><!-></a>");
    BAD("<a><!--></a>");
    BAD("<a><!---></a>");
    BAD("<a><![CDATA[x]></a>");
    BAD("<a><![cdata[x]]></a>");
    BAD("<a><!></a>");
    /* names */
    BAD("<1a/>");
    BAD("<-a/>");
    BAD("<.a/>");
    BAD("<a\xC2\xA0/>"); /* NO-BREAK SPACE is not a NameChar */
    BAD("<\xCC\x80/>");  /* a combining mark cannot start a name */
    BAD("<a></A>");
}

static void test_reject_attributes(void **state)
{
    (void)state;
    BAD("<a b=c/>");
    BAD("<a b=\"1\"c=\"2\"/>");
    BAD("<a b='1'c='2'/>");
    BAD("<a b=\"1\" b=\"2\"/>");
    BAD("<a x:b=\"1\" x:b=\"2\"/>");
    BAD("<a xmlns='x' xmlns='y'/>");
    BAD("<a b=\"<\"/>");
    BAD("<a b/>");
    BAD("<a b></a>");
    BAD("<a =\"1\"/>");
    BAD("<a b=\"1'/>");
    BAD("<a b='1\"/>");
    BAD("<a b==\"1\"/>");
    BAD("<a \"1\"/>");
    BAD("<a b=\"&\"/>");
    BAD("<a 1b=\"1\"/>");
    /* distinct qualified names with one local name are two attributes */
    hs_xml_node_t *r = ok("<a x:b=\"1\" y:b=\"2\" b='3'/>");
    assert_int_equal(r->nattrs, 3);
    assert_string_equal(hs_xml_attr(r, "b"), "1"); /* the first by local name */
    assert_string_equal(r->attrs[2].name, "b");
}

static void test_reject_bytes(void **state)
{
    (void)state;
    const char *why = bad_n("<a>x\0y</a>", 10, HS_EBADMSG);
    assert_non_null(strstr(why, "NUL"));
    bad_n("<a\0/>", 5, HS_EBADMSG);
    bad_n("<a b='\0'/>", 10, HS_EBADMSG);
    bad_n("<a><!--\0--></a>", 15, HS_EBADMSG);
    bad_n("<a><![CDATA[\0]]></a>", 20, HS_EBADMSG);
    bad_n("<a/>\0", 5, HS_EBADMSG);
    bad_n("\0<a/>", 5, HS_EBADMSG);
    BAD("<a>\x01</a>");
    BAD("<a>\x1F</a>");
    BAD("<a>\x0B</a>");
    BAD("<a b='\x0C'/>");
    BAD("<a><!--\x02--></a>");
    BAD("<a><?p \x7F\x01?></a>");
    /* invalid UTF-8: overlong, surrogate, beyond U+10FFFF, stray and cut
     * continuation bytes, non-characters */
    BAD("<a>\xC0\xAF</a>");
    BAD("<a>\xC1\xBF</a>");
    BAD("<a>\xE0\x80\xAF</a>");
    BAD("<a>\xF0\x80\x80\xAF</a>");
    BAD("<a>\xED\xA0\x80</a>");
    BAD("<a>\xED\xBF\xBF</a>");
    BAD("<a>\xF4\x90\x80\x80</a>");
    BAD("<a>\xF5\x80\x80\x80</a>");
    BAD("<a>\xFF</a>");
    BAD("<a>\x80</a>");
    BAD("<a>\xC3</a>");
    BAD("<a>\xE2\x82</a>");
    BAD("<a>\xEF\xBF\xBE</a>");
    BAD("<a>\xEF\xBF\xBF</a>");
    BAD("<a b='\xC3'/>");
    BAD("<a><![CDATA[\xED\xA0\x80]]></a>");
    BAD("<a\xC3/>");
    bad_n("<a>\xC3", 4, HS_EBADMSG);
    /* a BOM elsewhere than at the start is a character, outside the root */
    BAD(" \xEF\xBB\xBF<a/>");
}

static void test_limits(void **state)
{
    (void)state;
    char doc[4096];
    /* depth: 32 levels pass by default, 33 do not */
    for (int depth = 31; depth <= 34; depth++) {
        size_t o = 0;
        for (int i = 0; i < depth; i++)
            o += (size_t)sprintf(doc + o, "<d>");
        for (int i = 0; i < depth; i++)
            o += (size_t)sprintf(doc + o, "</d>");
        hs_xml_error_t e;
        hs_xml_node_t *r;
        int rc = parse_n(doc, o, NULL, &r, &e);
        assert_int_equal(rc, depth <= HS_XML_MAX_DEPTH ? 0 : HS_ELIMIT);
        if (rc == 0) {
            int d = 1;
            for (hs_xml_node_t *n = r->children; n; n = n->children)
                d++;
            assert_int_equal(d, depth);
        } else {
            assert_int_equal(e.offset, 3 * HS_XML_MAX_DEPTH);
        }
    }
    /* a depth bomb much deeper than the bound, and self-closed at the bottom */
    {
        size_t n = 200000;
        char *bomb = malloc(n * 3 + 4);
        for (size_t i = 0; i < n; i++)
            memcpy(bomb + 3 * i, "<d>", 3);
        memcpy(bomb + 3 * n, "<d/>", 4);
        assert_int_equal(parse_n(bomb, n * 3 + 4, NULL, NULL, NULL), HS_ELIMIT);
        free(bomb);
    }
    hs_xml_opts_t o = {.max_depth = 2};
    assert_int_equal(parse_n("<a><b/></a>", 11, &o, NULL, NULL), 0);
    assert_int_equal(parse_n("<a><b><c/></b></a>", 18, &o, NULL, NULL), HS_ELIMIT);
    o = (hs_xml_opts_t){.max_depth = 100000};
    {
        size_t n = HS_XML_DEPTH_CAP + 1, len = 0;
        char *deep = malloc(n * 7 + 1);
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(deep + len, "<d>");
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(deep + len, "</d>");
        assert_int_equal(parse_n(deep, len, &o, NULL, NULL), HS_ELIMIT);
        free(deep);
    }

    /* elements: 10,000 pass by default, 10,001 do not */
    for (int count = HS_XML_MAX_ELEMS; count <= HS_XML_MAX_ELEMS + 1; count++) {
        hs_buf_t b = HS_BUF_INIT;
        hs_buf_printf(&b, "<r>");
        for (int i = 1; i < count; i++)
            hs_buf_printf(&b, "<e/>");
        hs_buf_printf(&b, "</r>");
        hs_xml_node_t *r;
        hs_xml_error_t e;
        int rc = parse_n(hs_buf_data(&b), hs_buf_len(&b), NULL, &r, &e);
        if (count == HS_XML_MAX_ELEMS) {
            assert_int_equal(rc, 0);
            assert_int_equal(r->nchildren, HS_XML_MAX_ELEMS - 1);
        } else {
            assert_int_equal(rc, HS_ELIMIT);
            assert_non_null(strstr(e.reason, "elements"));
        }
        hs_buf_free(&b);
    }
    o = (hs_xml_opts_t){.max_elems = 3};
    assert_int_equal(parse_n("<a><b/><c/></a>", 15, &o, NULL, NULL), 0);
    assert_int_equal(parse_n("<a><b/><c/><d/></a>", 19, &o, NULL, NULL), HS_ELIMIT);

    /* attributes per element */
    for (int n = HS_XML_MAX_ATTRS; n <= HS_XML_MAX_ATTRS + 1; n++) {
        size_t len = (size_t)sprintf(doc, "<a");
        for (int i = 0; i < n; i++)
            len += (size_t)sprintf(doc + len, " a%d='%d'", i, i);
        len += (size_t)sprintf(doc + len, "/>");
        hs_xml_node_t *r;
        int rc = parse_n(doc, len, NULL, &r, NULL);
        assert_int_equal(rc, n <= HS_XML_MAX_ATTRS ? 0 : HS_ELIMIT);
        if (rc == 0)
            assert_string_equal(hs_xml_attr(r, "a63"), "63");
    }
}

/* Every proper prefix of a valid document is rejected, and bytes past
 * its end that are not Misc are too. */
static void test_truncation(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\" standalone='yes'?>"
        "<!-- c --><?pi x?>"
        "<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\" a='&lt;&#x41;'>"
        "<s3:Object><Key>k&amp;&#65;&#x20AC;\xE2\x82\xAC<![CDATA[ <x> ]]>\r\n</Key>"
        "<Empty/><Quiet>true</Quiet></s3:Object ></s3:Delete>",
        complete_mpu,
    };
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        size_t n = strlen(docs[d]);
        assert_int_equal(parse_n(docs[d], n, NULL, NULL, NULL), 0);
        for (size_t cut = 0; cut < n; cut++) {
            hs_xml_error_t e;
            int rc = parse_n(docs[d], cut, NULL, NULL, &e);
            if (rc != HS_EBADMSG)
                fail_msg("prefix of %zu bytes: %d", cut, rc);
            assert_true(e.offset <= cut);
        }
    }
    /* what may follow the root */
    ok("<a/> <!-- x --> <?p?> \n");
    BAD("<a/> <");
    BAD("<a/> <!");
    BAD("<a/> <!-");
    BAD("<a/> <!--");
    BAD("<a/> <?");
}

/* ---- writer ---- */

static void expect_out(hs_buf_t *b, const char *want)
{
    size_t n = strlen(want);
    if (hs_buf_len(b) != n || memcmp(hs_buf_data(b), want, n) != 0)
        fail_msg("got\n%.*s\nwant\n%s", (int)hs_buf_len(b), hs_buf_data(b), want);
}

static void test_writer_document(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    hs_buf_append(&b, "prefix:", 7); /* the writer appends */
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    assert_int_equal(hs_xmlw_decl(&w), 0);
    assert_int_equal(hs_xmlw_open(&w, "ListBucketResult"), 0);
    assert_int_equal(hs_xmlw_attr(&w, "xmlns", HS_S3_XMLNS, strlen(HS_S3_XMLNS)), 0);
    assert_int_equal(hs_xmlw_elem_str(&w, "Name", "bucket"), 0);
    assert_int_equal(hs_xmlw_elem(&w, "Prefix", "", 0), 0);
    assert_int_equal(hs_xmlw_elemf(&w, "MaxKeys", "%d", 1000), 0);
    assert_int_equal(hs_xmlw_elemf(&w, "IsTruncated", "%s", "false"), 0);
    assert_int_equal(hs_xmlw_open(&w, "Contents"), 0);
    assert_int_equal(hs_xmlw_elem_url(&w, "Key", "a b+c/d~\x01\xC3\xA9", 11), 0);
    assert_int_equal(hs_xmlw_elemf(&w, "Size", "%llu", 18446744073709551615ull), 0);
    assert_int_equal(hs_xmlw_close(&w, "Contents"), 0);
    assert_int_equal(hs_xmlw_open(&w, "Empty"), 0);
    assert_int_equal(hs_xmlw_close(&w, "Empty"), 0);
    assert_int_equal(hs_xmlw_close(&w, "ListBucketResult"), 0);
    assert_int_equal(hs_xmlw_finish(&w), 0);
    expect_out(&b, "prefix:<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                   "<Name>bucket</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>"
                   "<IsTruncated>false</IsTruncated>"
                   "<Contents><Key>a+b%2Bc/d%7E%01%C3%A9</Key>"
                   "<Size>18446744073709551615</Size></Contents>"
                   "<Empty></Empty></ListBucketResult>");
    hs_buf_consume(&b, 7);
    hs_xml_node_t *r;
    assert_int_equal(parse_n(hs_buf_data(&b), hs_buf_len(&b), NULL, &r, NULL), 0);
    assert_string_equal(hs_xml_child_text(r, "MaxKeys", NULL), "1000");
    hs_buf_free(&b);

    /* a document that is a single element, and a long formatted value */
    hs_xmlw_init(&w, &b);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(hs_xmlw_elemf(&w, "LocationConstraint", "%s&%s", big, "y"), 0);
    assert_int_equal(hs_xmlw_finish(&w), 0);
    assert_int_equal(hs_buf_len(&b), strlen("<LocationConstraint>&amp;y</LocationConstraint>") + 999);
    hs_buf_free(&b);
}

static void test_writer_escaping(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    hs_xmlw_open(&w, "a");
    hs_xmlw_attr(&w, "v", "<&>\"'\t\n\r]]>", 11);
    hs_xmlw_elem(&w, "k", "<&>\"'\t\n\r]]>", 11);
    hs_xmlw_close(&w, "a");
    assert_int_equal(hs_xmlw_finish(&w), 0);
    expect_out(&b, "<a v=\"&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;]]&gt;\">"
                   "<k>&lt;&amp;&gt;&quot;&apos;\t\n&#13;]]&gt;</k></a>");
    hs_xml_node_t *r;
    assert_int_equal(parse_n(hs_buf_data(&b), hs_buf_len(&b), NULL, &r, NULL), 0);
    assert_int_equal(r->attrs[0].value_len, 11);
    assert_memory_equal(r->attrs[0].value, "<&>\"'\t\n\r]]>", 11);
    assert_text(hs_xml_child(r, "k"), "<&>\"'\t\n\r]]>", 11);
    hs_buf_free(&b);
}

/* Every XML character class, one by one and together, survives writer
 * then reader unchanged; everything XML cannot carry is refused. */
static void test_writer_round_trip(void **state)
{
    (void)state;
    static const uint32_t cps[] = {0x9,    0xA,    0xD,     0x20,     0x26,    0x3C,
                                   0x3E,   0x5D,   0x7F,    0x80,     0x7FF,   0x800,
                                   0xD7FF, 0xE000, 0xFFFD,  0x10000,  0x1F600, 0x10FFFF};
    char all[256];
    size_t alen = 0;
    for (int c = 1; c < 0x80; c++) {
        char s[1] = {(char)c};
        bool valid = c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD;
        assert_int_equal(hs_xml_text_ok(s, 1), valid);
        if (valid)
            all[alen++] = (char)c;
    }
    for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        uint32_t c = cps[i];
        if (c < 0x80)
            continue;
        if (c < 0x800) {
            all[alen++] = (char)(0xC0 | c >> 6);
        } else if (c < 0x10000) {
            all[alen++] = (char)(0xE0 | c >> 12);
            all[alen++] = (char)(0x80 | (c >> 6 & 0x3F));
        } else {
            all[alen++] = (char)(0xF0 | c >> 18);
            all[alen++] = (char)(0x80 | (c >> 12 & 0x3F));
            all[alen++] = (char)(0x80 | (c >> 6 & 0x3F));
        }
        all[alen++] = (char)(0x80 | (c & 0x3F));
    }
    assert_true(hs_xml_text_ok(all, alen));
    for (int pass = 0; pass < 2; pass++) {
        /* pass 1 splits the text across hs_xmlw_text calls and a child */
        hs_buf_t b = HS_BUF_INIT;
        hs_xmlw_t w;
        hs_xmlw_init(&w, &b);
        hs_xmlw_decl(&w);
        hs_xmlw_open(&w, "r");
        assert_int_equal(hs_xmlw_attr(&w, "at", all, alen), 0);
        if (pass == 0) {
            assert_int_equal(hs_xmlw_text(&w, all, alen), 0);
        } else {
            assert_int_equal(hs_xmlw_text(&w, all, 40), 0);
            hs_xmlw_elem(&w, "c", "", 0);
            assert_int_equal(hs_xmlw_text(&w, all + 40, alen - 40), 0);
        }
        hs_xmlw_close(&w, "r");
        assert_int_equal(hs_xmlw_finish(&w), 0);
        hs_xml_node_t *r;
        assert_int_equal(parse_n(hs_buf_data(&b), hs_buf_len(&b), NULL, &r, NULL), 0);
        assert_text(r, all, alen);
        assert_int_equal(r->attrs[0].value_len, alen);
        assert_memory_equal(r->attrs[0].value, all, alen);
        hs_buf_free(&b);
    }

    /* refused: nothing written, writer still usable */
    static const char *const refused[] = {"\x01",         ("a\x00" "b"),  "\x1F",
                                          "\xC3",         "\xED\xA0\x80", "\xEF\xBF\xBE",
                                          "\xEF\xBF\xBF", "\xF4\x90\x80\x80", "\xC0\x80"};
    static const size_t rlen[] = {1, 3, 1, 1, 3, 3, 3, 4, 2};
    hs_buf_t b = HS_BUF_INIT;
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    hs_xmlw_open(&w, "r");
    hs_xmlw_text(&w, "x", 1);
    size_t before = hs_buf_len(&b);
    for (size_t i = 0; i < sizeof(rlen) / sizeof(rlen[0]); i++) {
        assert_false(hs_xml_text_ok(refused[i], rlen[i]));
        assert_int_equal(hs_xmlw_elem(&w, "k", refused[i], rlen[i]), HS_EINVAL);
        assert_int_equal(hs_xmlw_text(&w, refused[i], rlen[i]), HS_EINVAL);
        assert_int_equal(hs_buf_len(&b), before);
    }
    hs_xmlw_open(&w, "k");
    assert_int_equal(hs_xmlw_attr(&w, "a", "\x02", 1), HS_EINVAL);
    assert_int_equal(hs_xmlw_attr(&w, "a", "ok", 2), 0); /* name not taken by the refusal */
    hs_xmlw_close(&w, "k");
    hs_xmlw_close(&w, "r");
    assert_int_equal(hs_xmlw_finish(&w), 0);
    expect_out(&b, "<r>x<k a=\"ok\"></k></r>");
    hs_buf_free(&b);
}

static void test_url_encode(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    assert_int_equal(hs_s3_url_encode(&b, all, 256), 0);
    /* decode it back as a form-url decoder (what SDKs use) would */
    char dec[256];
    size_t n = 0;
    const char *s = hs_buf_data(&b);
    for (size_t i = 0; i < hs_buf_len(&b); i++) {
        if (s[i] == '%') {
            unsigned v;
            assert_int_equal(sscanf(s + i + 1, "%2X", &v), 1);
            assert_true(strchr("0123456789ABCDEF", s[i + 1]) && strchr("0123456789ABCDEF", s[i + 2]));
            dec[n++] = (char)v;
            i += 2;
        } else if (s[i] == '+') {
            dec[n++] = ' ';
        } else {
            assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_.*/",
                                   s[i]));
            dec[n++] = s[i];
        }
    }
    assert_int_equal(n, 256);
    assert_memory_equal(dec, all, 256);
    hs_buf_free(&b);
    hs_s3_url_encode(&b, "photos/2006/Jan 1+x=%.jpg", 25);
    expect_out(&b, "photos/2006/Jan+1%2Bx%3D%25.jpg");
    hs_buf_free(&b);
    assert_int_equal(hs_s3_url_encode(&b, "", 0), 0);
    assert_int_equal(hs_buf_len(&b), 0);
    hs_buf_free(&b);
}

/* Misuse of the writer is a programming error: it must abort, not write
 * malformed XML. Each case runs in a child process. */
static void misuse(int which)
{
    hs_buf_t b = HS_BUF_INIT;
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    switch (which) {
    case 0: /* close mismatch */
        hs_xmlw_open(&w, "a");
        hs_xmlw_open(&w, "b");
        hs_xmlw_close(&w, "a");
        break;
    case 1: /* close with nothing open */
        hs_xmlw_close(&w, "a");
        break;
    case 2: /* invalid name */
        hs_xmlw_open(&w, "a b");
        break;
    case 3: /* second root */
        hs_xmlw_elem(&w, "a", "", 0);
        hs_xmlw_open(&w, "b");
        break;
    case 4: /* text outside the root */
        hs_xmlw_text(&w, "x", 1);
        break;
    case 5: /* attribute after content */
        hs_xmlw_open(&w, "a");
        hs_xmlw_text(&w, "x", 1);
        hs_xmlw_attr(&w, "b", "1", 1);
        break;
    case 6: /* duplicate attribute */
        hs_xmlw_open(&w, "a");
        hs_xmlw_attr(&w, "b", "1", 1);
        hs_xmlw_attr(&w, "b", "2", 1);
        break;
    case 7: /* declaration not first */
        hs_xmlw_open(&w, "a");
        hs_xmlw_decl(&w);
        break;
    case 8: /* unfinished document */
        hs_xmlw_open(&w, "a");
        hs_xmlw_finish(&w);
        break;
    case 9: /* empty name */
        hs_xmlw_elem(&w, "", "x", 1);
        break;
    case 10: /* name with a stray colon */
        hs_xmlw_open(&w, "a:");
        break;
    default:
        hs_xmlw_open(&w, "a");
        hs_xmlw_close(&w, "a");
        hs_xmlw_finish(&w);
        break;
    }
    hs_buf_free(&b);
}

static void test_writer_misuse_aborts(void **state)
{
    (void)state;
    for (int which = 0; which <= 11; which++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0)
                dup2(devnull, 2); /* the assertion message is expected */
            misuse(which);
            _exit(0);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (which == 11) {
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* the control case */
        } else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT) {
            fail_msg("misuse %d did not abort", which);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_complete_multipart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_1000_long_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_config_tagging_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entities_and_charrefs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whitespace_and_line_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cdata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prolog_and_misc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_dtd_and_entities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_charrefs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_encode, setup, teardown),
        cmocka_unit_test(test_writer_misuse_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
