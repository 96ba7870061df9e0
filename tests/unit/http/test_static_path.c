/*
 * Unit tests of the static handler's path normalization (normalize_path in
 * src/http/static.c, reached by including the .c: it is static on purpose)
 * and of hs_mime_type (src/http/mime.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/http/static.c"

static char out[MAX_PATH_BYTES];

/* Normalizes s (copied to an exact-size buffer) with the handler's cap. */
static int norm_cap(const char *s, size_t cap)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, s, n);
    memset(out, 'Z', sizeof(out));
    int r = normalize_path((hs_str_t){b, n}, out, cap);
    free(b);
    if (r >= 0) {
        assert_true((size_t)r < cap);
        assert_int_equal(out[r], '\0');
        assert_int_equal(strlen(out), (size_t)r);
    }
    return r;
}

static int norm(const char *s)
{
    return norm_cap(s, sizeof(out));
}

#define ASSERT_NORM(in, want)                                                  \
    do {                                                                       \
        int r_ = norm(in);                                                     \
        if (r_ < 0)                                                            \
            fail_msg("\"%s\" -> %d, want \"%s\"", (in), r_, (want));           \
        if (strcmp(out, (want)) != 0)                                          \
            fail_msg("\"%s\" -> \"%s\", want \"%s\"", (in), out, (want));      \
    } while (0)

#define ASSERT_REJECT(in, code)                                                \
    do {                                                                       \
        int r_ = norm(in);                                                     \
        if (r_ != (code))                                                      \
            fail_msg("\"%s\" -> %d (\"%s\"), want %d", (in), r_,               \
                     r_ >= 0 ? out : "", (code));                              \
    } while (0)

static void test_plain(void **state)
{
    (void)state;
    ASSERT_NORM("/", "");
    ASSERT_NORM("/a", "a");
    ASSERT_NORM("/a/b", "a/b");
    ASSERT_NORM("/a/b.txt", "a/b.txt");
    ASSERT_NORM("/...", "...");
    ASSERT_NORM("/.hidden", ".hidden");
    ASSERT_NORM("/a..b/c", "a..b/c");
}

static void test_empty_segments(void **state)
{
    (void)state;
    ASSERT_NORM("//", "");
    ASSERT_NORM("//a///b", "a/b");
    ASSERT_NORM("/a//b//", "a/b/");
    ASSERT_NORM("////a", "a");
}

static void test_dot_segments(void **state)
{
    (void)state;
    ASSERT_NORM("/a/./b", "a/b");
    ASSERT_NORM("/./a", "a");
    ASSERT_NORM("/.", "");
    ASSERT_NORM("/a/.", "a/");
    ASSERT_NORM("/a/../b", "b");
    ASSERT_NORM("/a/b/../c", "a/c");
    ASSERT_NORM("/a/b/../../c", "c");
    ASSERT_NORM("/a/./../b/./c/..", "b");
    ASSERT_NORM("/a/b/c/../../../d", "d");
    ASSERT_NORM("/a/..", "");
}

static void test_escape_root(void **state)
{
    (void)state;
    ASSERT_REJECT("/..", -400);
    ASSERT_REJECT("/../x", -400);
    ASSERT_REJECT("/a/../../x", -400);
    ASSERT_REJECT("/a/b/../../../x", -400);
    ASSERT_REJECT("/./../x", -400);
    ASSERT_REJECT("//../x", -400);
    ASSERT_REJECT("/%2e%2e/x", -400);
    ASSERT_REJECT("/%2E%2E/x", -400);
    ASSERT_REJECT("/.%2e/x", -400);
    ASSERT_REJECT("/a/%2e%2e/%2e%2e/etc/passwd", -400);
    ASSERT_REJECT("/a%2f..%2f..%2fetc", -400);
}

static void test_percent(void **state)
{
    (void)state;
    ASSERT_NORM("/a%20b", "a b");
    ASSERT_NORM("/%41%42%43", "ABC");
    ASSERT_NORM("/%7e%7E", "~~");
    ASSERT_NORM("/%25", "%");
    ASSERT_NORM("/%2525", "%25"); /* decoded once only */
    ASSERT_NORM("/a/%2e%2e/b", "b");
    ASSERT_NORM("/a/%2e/b", "a/b");
    /* a decoded '/' separates segments like a literal one */
    ASSERT_NORM("/a%2Fb", "a/b");
    ASSERT_NORM("/a%2f%2fb", "a/b");
    ASSERT_NORM("/%c3%a9", "\xc3\xa9");
}

static void test_percent_bad(void **state)
{
    (void)state;
    ASSERT_REJECT("/%00", -400);
    ASSERT_REJECT("/a%00.txt", -400);
    ASSERT_REJECT("/%zz", -400);
    ASSERT_REJECT("/%g0", -400);
    ASSERT_REJECT("/%0g", -400);
    ASSERT_REJECT("/%4", -400);
    ASSERT_REJECT("/a%", -400);
    ASSERT_REJECT("/%", -400);
    ASSERT_REJECT("/a%2", -400);
    ASSERT_REJECT("/%%41", -400);
    ASSERT_REJECT("/% 41", -400);
}

static void test_not_origin_form(void **state)
{
    (void)state;
    ASSERT_REJECT("", -400);
    ASSERT_REJECT("a/b", -400);
    ASSERT_REJECT("*", -400);
    ASSERT_REJECT("%2fa", -400);
}

static void test_trailing_slash(void **state)
{
    (void)state;
    ASSERT_NORM("/a/", "a/");
    ASSERT_NORM("/a", "a");
    ASSERT_NORM("/a/b/", "a/b/");
    ASSERT_NORM("/a/b/.", "a/b/");
    ASSERT_NORM("/a/b/./", "a/b/");
    ASSERT_NORM("/a/b/c/../", "a/b/");
    ASSERT_NORM("/a/b//", "a/b/");
    /* a result that is the root has no slash to keep */
    ASSERT_NORM("/a/../", "");
}

static void test_overlong(void **state)
{
    (void)state;
    char *p = malloc(MAX_PATH_BYTES * 2 + 4);
    assert_non_null(p);
    p[0] = '/';
    /* well inside the cap */
    memset(p + 1, 'a', MAX_PATH_BYTES - 2);
    p[MAX_PATH_BYTES - 1] = '\0';
    assert_int_equal(norm(p), MAX_PATH_BYTES - 2);
    /* cap - 1 bytes plus the NUL fit exactly; the code answers 414 one
     * byte early (the segment-ending '/' it appends and later trims must
     * fit too). Either is acceptable; more is not. */
    memset(p + 1, 'a', MAX_PATH_BYTES - 1);
    p[MAX_PATH_BYTES] = '\0';
    int r = norm(p);
    assert_true(r == MAX_PATH_BYTES - 1 || r == -414);
    /* cap bytes cannot fit with the NUL */
    memset(p + 1, 'a', MAX_PATH_BYTES);
    p[MAX_PATH_BYTES + 1] = '\0';
    assert_int_equal(norm(p), -414);
    memset(p + 1, 'a', MAX_PATH_BYTES * 2);
    p[MAX_PATH_BYTES * 2 + 1] = '\0';
    assert_int_equal(norm(p), -414);
    /* many short segments that add up past the cap */
    for (int i = 0; i < MAX_PATH_BYTES + 2; i += 2) {
        p[i] = '/';
        p[i + 1] = 'b';
    }
    p[MAX_PATH_BYTES + 2] = '\0';
    assert_int_equal(norm(p), -414);
    /* long inputs that normalize short are fine */
    for (int i = 0; i < MAX_PATH_BYTES; i += 2) {
        p[i] = '/';
        p[i + 1] = '.';
    }
    strcpy(p + MAX_PATH_BYTES, "/x");
    ASSERT_NORM(p, "x");
    for (int i = 0; i < MAX_PATH_BYTES; i += 4)
        memcpy(p + i, "/a/.", 4);
    strcpy(p + MAX_PATH_BYTES, "./y");
    /* "/a/./a/./.../a/../y": a/a/.../a/ then ".." drops the last a */
    assert_true(norm(p) == -414 || norm(p) > 0);
    /* percent escapes count decoded: 3 input bytes make 1 output byte */
    char *q = malloc((size_t)MAX_PATH_BYTES * 3 + 2);
    assert_non_null(q);
    q[0] = '/';
    for (int i = 0; i < MAX_PATH_BYTES - 2; i++)
        memcpy(q + 1 + i * 3, "%41", 3);
    q[1 + (MAX_PATH_BYTES - 2) * 3] = '\0';
    assert_int_equal(norm(q), MAX_PATH_BYTES - 2);
    free(q);
    free(p);
    /* small caps */
    assert_int_equal(norm_cap("/ab", 4), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(norm_cap("/abcd", 4), -414);
    assert_int_equal(norm_cap("/", 1), 0);
    assert_string_equal(out, "");
}

static void test_mime(void **state)
{
    (void)state;
#define M(name) hs_mime_type((name), strlen(name))
    assert_string_equal(M("index.html"), "text/html; charset=utf-8");
    assert_string_equal(M("a/b/INDEX.HTM"), "text/html; charset=utf-8");
    assert_string_equal(M("style.css"), "text/css; charset=utf-8");
    assert_string_equal(M("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(M("x.json"), "application/json");
    assert_string_equal(M("img.PNG"), "image/png");
    assert_string_equal(M("photo.jpeg"), "image/jpeg");
    assert_string_equal(M("a.tar.gz"), "application/gzip");
    assert_string_equal(M("font.woff2"), "font/woff2");
    assert_string_equal(M("font.woff"), "font/woff");
    assert_string_equal(M("site.webmanifest"), "application/manifest+json");
    assert_string_equal(M("README"), "application/octet-stream");
    assert_string_equal(M("x.unknownext"), "application/octet-stream");
    assert_string_equal(M("file."), "application/octet-stream");
    assert_string_equal(M(""), "application/octet-stream");
    /* the extension is taken from the last segment only */
    assert_string_equal(M("dir.html/file"), "application/octet-stream");
    assert_string_equal(M("a.html/"), "application/octet-stream");
    /* length-bounded: the bytes after len are not looked at */
    assert_string_equal(hs_mime_type("a.htmlx", 6), "text/html; charset=utf-8");
    assert_string_equal(hs_mime_type("a.json", 5), "application/octet-stream"); /* "a.jso" */
    /* prefix of a known extension is not that extension */
    assert_string_equal(M("a.htm"), "text/html; charset=utf-8");
    assert_string_equal(M("a.ht"), "application/octet-stream");
    assert_string_equal(M("a.jsonx"), "application/octet-stream");
#undef M
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_empty_segments),
        cmocka_unit_test(test_dot_segments),
        cmocka_unit_test(test_escape_root),
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_percent_bad),
        cmocka_unit_test(test_not_origin_form),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_mime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
