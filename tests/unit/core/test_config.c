/* Unit tests for src/core/config.c: value types, file syntax, messages,
 * environment mapping, dumps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"

static char err[512];

/* Parses a NUL-terminated literal through an exact-size heap copy without
 * a terminator, so ASan catches any read past the end. */
static int parse(hs_config_t *cfg, const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    err[0] = '\0';
    int rc = hs_config_parse(cfg, copy, len, "t.conf", err, sizeof(err));
    free(copy);
    return rc;
}

static int set(hs_config_t *cfg, const char *key, const char *value)
{
    err[0] = '\0';
    return hs_config_set(cfg, key, value, "test", err, sizeof(err));
}

static char *dump(const hs_config_t *cfg, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    hs_config_dump(cfg, f);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static void test_defaults(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(c.workers, 0);
    assert_string_equal(c.listen, "0.0.0.0:8080");
    assert_string_equal(c.admin_listen, "127.0.0.1:9090");
    assert_string_equal(c.data, "./data");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.http_max_header_bytes, 16 * 1024);
    assert_int_equal(c.http_max_headers, 100);
    assert_true(c.http_max_body_bytes == 5ull << 30);
    assert_int_equal(c.http_header_timeout, 10000);
    assert_int_equal(c.http_idle_timeout, 60000);
    assert_int_equal(c.http_max_connections, 100000);
    assert_string_equal(c.static_root, "");
    assert_false(c.static_dir_index);
    assert_int_equal(c.static_cache_bytes, 64u << 20);
    assert_int_equal(c.static_cache_file_max, 256u << 10);
    assert_int_equal(c.static_revalidate, 1000);
    hs_config_free(&c);
    assert_null(c.listen);
}

static void test_int(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(set(&c, "workers", "4"), 0);
    assert_int_equal(c.workers, 4);
    assert_int_equal(set(&c, "workers", "-3"), 0);
    assert_int_equal(c.workers, -3);
    assert_int_equal(set(&c, "workers", "9223372036854775807"), 0);
    assert_true(c.workers == INT64_MAX);
    assert_int_equal(set(&c, "workers", "-9223372036854775808"), 0);
    assert_true(c.workers == INT64_MIN);
    assert_int_equal(set(&c, "workers", "7"), 0);
    static const char *const bad[] = {"abc", "", "4x", " 4", "4 ", "+4", "-", "--1", "0x10",
                                      "1.5", "9223372036854775808", "-9223372036854775809",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set(&c, "workers", bad[i]), HS_EINVAL);
        assert_int_equal(c.workers, 7); /* unchanged on failure */
        assert_non_null(strstr(err, "for 'workers' ("));
    }
    assert_int_equal(set(&c, "workers", "9223372036854775808"), HS_EINVAL);
    assert_string_equal(err, "test: invalid value '9223372036854775808' for 'workers' "
                             "(out of range; expected an integer)");
    hs_config_free(&c);
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        uint64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"1024", 0, 1024},
        {"16k", 0, 16384},
        {"16K", 0, 16384},
        {"64m", 0, 64ull << 20},
        {"64M", 0, 64ull << 20},
        {"5g", 0, 5ull << 30},
        {"1t", 0, 1ull << 40},
        {"1T", 0, 1ull << 40},
        {"16777215t", 0, 16777215ull << 40},
        {"18446744073709551615", 0, UINT64_MAX},
        {"16777216t", HS_ERANGE, 0},
        {"18446744073709551616", HS_ERANGE, 0},
        {"", HS_EINVAL, 0},
        {"k", HS_EINVAL, 0},
        {"1kb", HS_EINVAL, 0},
        {"1p", HS_EINVAL, 0},
        {"-1", HS_EINVAL, 0},
        {"1 k", HS_EINVAL, 0},
        {"1.5k", HS_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = hs_parse_size(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("hs_parse_size('%s') = %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0 && v != cases[i].v)
            fail_msg("hs_parse_size('%s') gave %llu", cases[i].in, (unsigned long long)v);
    }
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        uint64_t v;
    } cases[] = {
        {"250ms", 0, 250},
        {"10s", 0, 10000},
        {"2m", 0, 120000},
        {"1h", 0, 3600000},
        {"5", 0, 5000},
        {"0", 0, 0},
        {"0ms", 0, 0},
        {"18446744073709551615ms", 0, UINT64_MAX},
        {"18446744073709551615s", HS_ERANGE, 0},
        {"5124095576030432h", HS_ERANGE, 0},
        {"1d", HS_EINVAL, 0},
        {"ms", HS_EINVAL, 0},
        {"", HS_EINVAL, 0},
        {"1.5s", HS_EINVAL, 0},
        {"-1s", HS_EINVAL, 0},
        {"10 s", HS_EINVAL, 0},
        {"10sec", HS_EINVAL, 0},
        {"1hm", HS_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = hs_parse_duration_ms(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("hs_parse_duration_ms('%s') = %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0 && v != cases[i].v)
            fail_msg("hs_parse_duration_ms('%s') gave %llu", cases[i].in, (unsigned long long)v);
    }
}

static void test_size_and_duration_keys(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(set(&c, "http.max_body_bytes", "1t"), 0);
    assert_true(c.http_max_body_bytes == 1ull << 40);
    assert_int_equal(set(&c, "http.max_body_bytes", "lots"), HS_EINVAL);
    assert_string_equal(err, "test: invalid value 'lots' for 'http.max_body_bytes' (expected a "
                             "size in bytes: a number with an optional k, m, g or t suffix such "
                             "as 16k)");
    assert_int_equal(set(&c, "http.header_timeout", "250ms"), 0);
    assert_int_equal(c.http_header_timeout, 250);
    assert_int_equal(set(&c, "http.header_timeout", "2"), 0);
    assert_int_equal(c.http_header_timeout, 2000);
    assert_int_equal(set(&c, "http.header_timeout", "soon"), HS_EINVAL);
    assert_non_null(strstr(err, "expected a duration"));
    assert_int_equal(c.http_header_timeout, 2000);
    hs_config_free(&c);
}

static void test_bool(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    static const char *const yes[] = {"true", "TRUE", "yes", "Yes", "on", "ON", "1"};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off", "0"};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(set(&c, "static.directory_index", yes[i]), 0);
        assert_true(c.static_dir_index);
        assert_int_equal(set(&c, "static.directory_index", no[i]), 0);
        assert_false(c.static_dir_index);
    }
    static const char *const bad[] = {"maybe", "", "2", "t", "y", "truee", " true"};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(set(&c, "static.directory_index", bad[i]), HS_EINVAL);
        assert_non_null(strstr(err, "(expected true or false"));
    }
    hs_config_free(&c);
}

static void test_addr(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    static const char *const good[] = {"host:80",     "[::1]:443",   ":8080",
                                       "0.0.0.0:0",   "a.b-c_d:1",   "[fe80::1%eth0]:80",
                                       "x:65535",     "[::ffff:1.2.3.4]:9", "localhost:00080"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (set(&c, "listen", good[i]) != 0)
            fail_msg("'%s' rejected: %s", good[i], err);
        assert_string_equal(c.listen, good[i]);
    }
    static const char *const bad[] = {"host",    "host:",     "host:65536", "host:-1",
                                      "host:8x", "::1:80",    "[::1]80",    "[]:80",
                                      "[::1]:",  "ho st:80",  "host:000080", "[::1:80",
                                      "h/x:80",  "host:+80",  ":",          ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (set(&c, "listen", bad[i]) != HS_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err, "for 'listen' (expected host:port, [ipv6]:port or :port"));
        assert_string_equal(c.listen, "localhost:00080");
    }
    hs_config_free(&c);
}

static void test_level_and_str(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    static const char *const lv[] = {"debug", "info", "warn", "error", "off"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(set(&c, "log.level", lv[i]), 0);
        assert_string_equal(c.log_level, lv[i]);
    }
    assert_int_equal(set(&c, "log.level", "WARN"), 0);
    assert_string_equal(c.log_level, "warn"); /* stored canonical */
    assert_int_equal(set(&c, "log.level", "verbose"), HS_EINVAL);
    assert_string_equal(err, "test: invalid value 'verbose' for 'log.level' (expected debug, "
                             "info, warn, error or off)");
    assert_string_equal(c.log_level, "warn");

    assert_int_equal(set(&c, "data", "/var/lib/hs with \"quotes\" # and \\ back"), 0);
    assert_string_equal(c.data, "/var/lib/hs with \"quotes\" # and \\ back");
    assert_int_equal(set(&c, "data", ""), 0);
    assert_string_equal(c.data, "");
    assert_int_equal(set(&c, "data", "caf\xc3\xa9\tx"), 0); /* UTF-8 and tab are fine */
    assert_int_equal(set(&c, "data", "a\nb"), HS_EINVAL);
    assert_non_null(strstr(err, "invalid value 'a\\x0ab' for 'data'")); /* escaped in msg */
    char big[2100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(set(&c, "data", big), HS_EINVAL);
    assert_string_equal(err, "test: value for 'data' too long (more than 2000 bytes)");
    big[2000] = '\0';
    assert_int_equal(set(&c, "data", big), 0);
    assert_int_equal(strlen(c.data), 2000);
    hs_config_free(&c);
}

static void test_unknown_key(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(hs_config_set(&c, "htp.listen", "x", "flag --set htp.listen", err,
                                   sizeof(err)),
                     HS_ENOENT);
    assert_string_equal(err, "flag --set htp.listen: unknown key 'htp.listen'");
    assert_int_equal(set(&c, "worker", "1"), HS_ENOENT);
    assert_string_equal(err, "test: unknown key 'worker' (did you mean 'workers'?)");
    /* NULL / zero-length error buffers are allowed */
    assert_int_equal(hs_config_set(&c, "nope", "1", "x", NULL, 0), HS_ENOENT);
    assert_int_equal(hs_config_set(&c, "workers", "z", "x", err, 0), HS_EINVAL);
    hs_config_free(&c);
}

static void test_file_syntax(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    const char *text = "\xEF\xBB\xBF# leading comment\n"
                       "\n"
                       "workers = 3   # trailing comment\n"
                       "  listen=:81\r\n"
                       "\t\n"
                       "data = \"a # not a comment \\\"q\\\" \\\\ end\"  # comment\n"
                       "log.level = debug\n"
                       "[http]\n"
                       "max_headers = 50\n"
                       "header_timeout = 250ms\n"
                       "[ static ]   # spaces inside brackets\n"
                       "root = /srv/www\n"
                       "directory_index = yes\n"
                       "[admin]\n"
                       "listen = \"[::1]:9\"\n"
                       "workers = 99\n";
    /* the last line is admin.workers: unknown */
    assert_int_equal(parse(&c, text), HS_ECONFIG);
    assert_string_equal(err, "t.conf:16: unknown key 'admin.workers'");
    assert_int_equal(c.workers, 3);
    assert_string_equal(c.listen, ":81");
    assert_string_equal(c.data, "a # not a comment \"q\" \\ end");
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.http_max_headers, 50);
    assert_int_equal(c.http_header_timeout, 250);
    assert_string_equal(c.static_root, "/srv/www");
    assert_true(c.static_dir_index);
    assert_string_equal(c.admin_listen, "[::1]:9");
    hs_config_free(&c);

    /* dotted keys at top level, duplicates (last wins), no final newline */
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(parse(&c, "http.max_headers = 7\nworkers=1\nworkers = 2\n"
                               "static.cache_bytes=1m\nworkers = \"5\""),
                     0);
    assert_int_equal(c.http_max_headers, 7);
    assert_int_equal(c.workers, 5);
    assert_int_equal(c.static_cache_bytes, 1 << 20);
    /* an empty value is a value: fine for a string, wrong for an int */
    assert_int_equal(parse(&c, "data =\nstatic.root = \"\"\n"), 0);
    assert_string_equal(c.data, "");
    assert_int_equal(parse(&c, "workers =   # nothing\n"), HS_ECONFIG);
    assert_string_equal(err, "t.conf:1: invalid value '' for 'workers' (expected an integer)");
    /* empty input and comment-only input are valid */
    assert_int_equal(parse(&c, ""), 0);
    assert_int_equal(parse(&c, "# only\r\n\r\n#x"), 0);
    hs_config_free(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"workers = 1\nhtp.listen = :80\n", "t.conf:2: unknown key 'htp.listen'"},
        {"\n\n\nworkers = abc\n",
         "t.conf:4: invalid value 'abc' for 'workers' (expected an integer)"},
        {"data = \"abc\n", "t.conf:1: unterminated quoted value for 'data'"},
        {"data = \"abc", "t.conf:1: unterminated quoted value for 'data'"},
        {"data = \"a\\nb\"\n",
         "t.conf:1: bad escape in quoted value for 'data' (only \\\" and \\\\ are allowed)"},
        {"data = \"ab\\", "t.conf:1: bad escape in quoted value for 'data' (only \\\" and \\\\ "
                          "are allowed)"},
        {"data = \"ab\" cd\n", "t.conf:1: unexpected text after the closing quote of 'data'"},
        {"workers 4\n", "t.conf:1: expected 'key = value' (keys are letters, digits, '_', '-' "
                        "and '.')"},
        {"= 4\n", "t.conf:1: expected 'key = value'"},
        {"workers\n", "t.conf:1: expected 'key = value'"},
        {"wor kers = 4\n", "t.conf:1: expected 'key = value' (keys are letters, digits, '_', "
                           "'-' and '.')"},
        {"[http\nmax_headers = 1\n", "t.conf:1: bad section header (expected '[name]' with "
                                     "letters, digits, '_', '-' or '.')"},
        {"[ht tp]\n", "t.conf:1: bad section header (expected '[name]' with letters, digits, "
                      "'_', '-' or '.')"},
        {"[]\n", "t.conf:1: empty section name"},
        {"[http] x\n", "t.conf:1: unexpected text after section header"},
        {"[http]\nlisten = :80\n", "t.conf:2: unknown key 'http.listen'"},
        {"data = a\x01z\n", "t.conf:1: invalid value 'a\\x01z' for 'data' (expected text "
                            "without control characters)"},
        {"data = a\rb\n", "t.conf:1: invalid value 'a\\x0db' for 'data' (expected text without "
                          "control characters)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hs_config_t c;
        assert_int_equal(hs_config_init(&c), 0);
        int rc = parse(&c, cases[i].text);
        if (rc != HS_ECONFIG || strcmp(err, cases[i].msg) != 0)
            fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err, cases[i].msg);
        hs_config_free(&c);
    }
}

static void test_nul_in_value(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    static const char text[] = "workers = 2\ndata = \"a\0b\"\n";
    assert_int_equal(hs_config_parse(&c, text, sizeof(text) - 1, "n.conf", err, sizeof(err)),
                     HS_ECONFIG);
    assert_string_equal(err, "n.conf:2: NUL byte in value of 'data'");
    assert_int_equal(c.workers, 2);
    hs_config_free(&c);
}

static void test_long_lines(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    /* a 4096-byte comment line is accepted, with or without CR */
    char *text = malloc(3 * 4200);
    assert_non_null(text);
    memset(text, '#', 4096);
    memcpy(text + 4096, "\r\nworkers = 8\n", 14);
    assert_int_equal(hs_config_parse(&c, text, 4096 + 14, "l.conf", err, sizeof(err)), 0);
    assert_int_equal(c.workers, 8);
    /* 4097 bytes on line 2 is refused, naming the line */
    memcpy(text, "workers = 9\n", 12);
    memset(text + 12, '#', 4097);
    text[12 + 4097] = '\n';
    assert_int_equal(hs_config_parse(&c, text, 12 + 4098, "l.conf", err, sizeof(err)),
                     HS_ECONFIG);
    assert_string_equal(err, "l.conf:2: line too long (more than 4096 bytes)");
    /* also when the overlong line is the last one, without a newline */
    assert_int_equal(hs_config_parse(&c, text, 12 + 4097, "l.conf", err, sizeof(err)),
                     HS_ECONFIG);
    assert_string_equal(err, "l.conf:2: line too long (more than 4096 bytes)");
    /* an overlong key is an unknown key, and the message stays short */
    memset(text, 'k', 300);
    memcpy(text + 300, " = 1\n", 5);
    assert_int_equal(hs_config_parse(&c, text, 305, "l.conf", err, sizeof(err)), HS_ECONFIG);
    assert_non_null(strstr(err, "l.conf:1: unknown key 'kkkk"));
    assert_true(strlen(err) < 120);
    free(text);
    hs_config_free(&c);
}

static void test_env(void **state)
{
    (void)state;
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    char *env[] = {
        "PATH=/usr/bin",
        "HYPERSCALE_WORKERS=6",
        "HYPERSCALE_HTTP_HEADER_TIMEOUT=250ms",
        "HYPERSCALE_ADMIN_LISTEN=[::1]:9999",
        "HYPERSCALE_HTTP_MAX_REQUESTS_PER_CONNECTION=10",
        "HYPERSCALE_SHUTDOWN_DRAIN_TIMEOUT=1m",
        "HYPERSCALE_STATIC_DIRECTORY_INDEX=on",
        "HYPERSCALE_CONFIG=/etc/hyperscale.conf",
        "HYPERSCALE_ACCESS_KEY=AKIA",
        "HYPERSCALE_SECRET_KEY=secret",
        "HYPERSCALE_BIN=/usr/bin/hyperscale",
        "HYPERSCALE_TEST_ANYTHING=1",
        "HYPERSCALE_TEST_=1",
        "hyperscale_workers=99", /* names are case-sensitive */
        "HYPERSCALE_NOEQUALS",
        NULL,
    };
    assert_int_equal(hs_config_load_env(&c, env, err, sizeof(err)), 0);
    assert_int_equal(c.workers, 6);
    assert_int_equal(c.http_header_timeout, 250);
    assert_string_equal(c.admin_listen, "[::1]:9999");
    assert_int_equal(c.http_max_requests_per_conn, 10);
    assert_int_equal(c.drain_timeout, 60000);
    assert_true(c.static_dir_index);

    char *bad[] = {"HYPERSCALE_WORKERS=abc", NULL};
    assert_int_equal(hs_config_load_env(&c, bad, err, sizeof(err)), HS_ECONFIG);
    assert_string_equal(err, "environment HYPERSCALE_WORKERS: invalid value 'abc' for 'workers' "
                             "(expected an integer)");
    assert_int_equal(c.workers, 6);

    char *unknown[] = {"HYPERSCALE_NO_SUCH_THING=1", NULL};
    assert_int_equal(hs_config_load_env(&c, unknown, err, sizeof(err)), HS_ECONFIG);
    assert_string_equal(err, "environment HYPERSCALE_NO_SUCH_THING: unknown variable (not a "
                             "configuration key)");
    char *typo[] = {"HYPERSCALE_WORKRS=1", NULL};
    assert_int_equal(hs_config_load_env(&c, typo, err, sizeof(err)), HS_ECONFIG);
    assert_string_equal(err, "environment HYPERSCALE_WORKRS: unknown variable (not a "
                             "configuration key); did you mean HYPERSCALE_WORKERS?");
    /* the TEST_ prefix needs its underscore; dotted spellings are not names */
    char *near[] = {"HYPERSCALE_TEST=1", NULL};
    assert_int_equal(hs_config_load_env(&c, near, err, sizeof(err)), HS_ECONFIG);
    char *dotted[] = {"HYPERSCALE_HTTP.MAX_HEADERS=1", NULL};
    assert_int_equal(hs_config_load_env(&c, dotted, err, sizeof(err)), HS_ECONFIG);
    assert_int_equal(hs_config_load_env(&c, NULL, err, sizeof(err)), 0);
    hs_config_free(&c);
}

static void test_env_ignored_list(void **state)
{
    (void)state;
    static const char *const want[] = {"HYPERSCALE_CONFIG", "HYPERSCALE_ACCESS_KEY",
                                       "HYPERSCALE_SECRET_KEY", "HYPERSCALE_BIN",
                                       "HYPERSCALE_TEST_*"};
    for (size_t i = 0; i < 5; i++) {
        bool found = false;
        for (const char *const *p = hs_config_env_ignored; *p; p++)
            found |= strcmp(*p, want[i]) == 0;
        if (!found)
            fail_msg("%s missing from hs_config_env_ignored", want[i]);
    }
}

/* Every key has exactly one environment name, and that name sets it. */
static void test_env_names_from_markdown(void **state)
{
    (void)state;
    char *md = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&md, &n);
    assert_non_null(f);
    hs_config_dump_markdown(f);
    fclose(f);
    assert_memory_equal(md, "| key | env var | type | default | meaning |\n|---|---|---|---|---|\n",
                        66);
    int rows = 0;
    char seen[256][96];
    for (char *line = strstr(md, "\n| `"); line; line = strstr(line + 1, "\n| `")) {
        char key[96], envname[96];
        assert_int_equal(sscanf(line, "\n| `%95[^`]` | `%95[^`]` |", key, envname), 2);
        for (int i = 0; i < rows; i++)
            if (strcmp(seen[i], envname) == 0)
                fail_msg("two keys map to %s", envname);
        assert_true(rows < 256);
        strcpy(seen[rows++], envname);
        /* setting the env var changes the key: compare dumps */
        hs_config_t a, b;
        assert_int_equal(hs_config_init(&a), 0);
        assert_int_equal(hs_config_init(&b), 0);
        char row[512];
        const char *line_end = strchr(line + 1, '\n');
        assert_non_null(line_end);
        assert_true((size_t)(line_end - line) < sizeof(row));
        snprintf(row, sizeof(row), "%.*s", (int)(line_end - line), line);
        const char *value = strstr(row, "| int |")        ? "12345"
                            : strstr(row, "| size |")     ? "3m"
                            : strstr(row, "| duration |") ? "7ms"
                            : strstr(row, "| bool |")     ? "true"
                            : strstr(row, "| address |")  ? "[::2]:7"
                            : strstr(row, "| level |")    ? "error"
                            : strstr(row, "| string |")   ? "v"
                                                          : NULL;
        assert_non_null(value);
        char kv[200];
        snprintf(kv, sizeof(kv), "%s=%s", envname, value);
        char *env[] = {kv, NULL};
        assert_int_equal(hs_config_load_env(&a, env, err, sizeof(err)), 0);
        assert_int_equal(set(&b, key, value), 0);
        char *da = dump(&a, NULL), *db = dump(&b, NULL);
        assert_string_equal(da, db);
        hs_config_t d;
        assert_int_equal(hs_config_init(&d), 0);
        char *dd = dump(&d, NULL);
        assert_string_not_equal(da, dd); /* the value did change */
        free(da);
        free(db);
        free(dd);
        hs_config_free(&a);
        hs_config_free(&b);
        hs_config_free(&d);
    }
    /* one row per key: as many as `key = ` lines in a dump */
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    char *d = dump(&c, NULL);
    int keys = 0;
    for (char *p = d; (p = strstr(p, "\n")) != NULL; p++)
        if (p[1] && p[1] != '#' && p[1] != '\n')
            keys++;
    assert_int_equal(rows, keys);
    assert_true(rows >= 20);
    free(d);
    free(md);
    hs_config_free(&c);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    hs_config_t a, b;
    /* defaults */
    assert_int_equal(hs_config_init(&a), 0);
    assert_int_equal(hs_config_init(&b), 0);
    assert_int_equal(set(&b, "workers", "77"), 0);
    size_t n;
    char *d1 = dump(&a, &n);
    assert_non_null(strstr(d1, "\n# worker threads (event loops) per worker process; 0 = one "
                               "per core\n# int, default 0, env HYPERSCALE_WORKERS\nworkers = 0\n"));
    assert_int_equal(hs_config_parse(&b, d1, n, "dump", err, sizeof(err)), 0);
    char *d2 = dump(&b, NULL);
    assert_string_equal(d1, d2);
    assert_int_equal(b.workers, 0);
    free(d1);
    free(d2);
    hs_config_free(&a);
    hs_config_free(&b);

    /* every key away from its default, strings with awkward bytes */
    assert_int_equal(hs_config_init(&a), 0);
    static const char *const kv[][2] = {
        {"workers", "-12"},
        {"listen", "[::1]:1"},
        {"admin.listen", ":0"},
        {"data", "  spaced \"q\" # \\ \\\\ 'x' =  "},
        {"log.level", "OFF"},
        {"http.max_header_bytes", "12345"},
        {"http.max_headers", "0"},
        {"http.max_body_bytes", "3t"},
        {"http.header_timeout", "1500ms"},
        {"http.body_timeout", "0"},
        {"http.idle_timeout", "90m"},
        {"http.send_timeout", "2h"},
        {"static.root", "\\"},
        {"static.directory_index", "yes"},
        {"static.cache_bytes", "1025k"},
        {"static.cache_file_max", "18446744073709551615"},
        {"static.revalidate", "18446744073709551615ms"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (set(&a, kv[i][0], kv[i][1]) != 0)
            fail_msg("set %s: %s", kv[i][0], err);
    d1 = dump(&a, &n);
    assert_int_equal(hs_config_init(&b), 0);
    if (hs_config_parse(&b, d1, n, "dump", err, sizeof(err)) != 0)
        fail_msg("dump does not parse: %s\n%s", err, d1);
    d2 = dump(&b, NULL);
    assert_string_equal(d1, d2);
    assert_int_equal(b.workers, -12);
    assert_string_equal(b.data, "  spaced \"q\" # \\ \\\\ 'x' =  ");
    assert_string_equal(b.static_root, "\\");
    assert_string_equal(b.log_level, "off");
    assert_true(b.http_max_body_bytes == 3ull << 40);
    assert_int_equal(b.http_header_timeout, 1500);
    assert_int_equal(b.http_send_timeout, 7200000);
    assert_int_equal(b.static_cache_bytes, 1025 * 1024);
    assert_true(b.static_cache_file_max == UINT64_MAX);
    assert_true(b.static_revalidate == UINT64_MAX);
    assert_non_null(strstr(d1, "\nhttp.max_body_bytes = 3t\n"));
    assert_non_null(strstr(d1, "\nhttp.idle_timeout = 90m\n"));
    assert_non_null(strstr(d1, "\nhttp.header_timeout = 1500ms\n"));
    assert_non_null(strstr(d1, "\nhttp.send_timeout = 2h\n"));
    free(d1);
    free(d2);
    hs_config_free(&a);
    hs_config_free(&b);

    /* the longest value whose every byte needs escaping still round-trips */
    assert_int_equal(hs_config_init(&a), 0);
    char big[2001];
    memset(big, '"', 2000);
    big[2000] = '\0';
    assert_int_equal(set(&a, "static.root", big), 0);
    d1 = dump(&a, &n);
    assert_int_equal(hs_config_init(&b), 0);
    assert_int_equal(hs_config_parse(&b, d1, n, "dump", err, sizeof(err)), 0);
    assert_string_equal(b.static_root, big);
    free(d1);
    hs_config_free(&a);
    hs_config_free(&b);
}

static void test_copy(void **state)
{
    (void)state;
    hs_config_t a, b;
    assert_int_equal(hs_config_init(&a), 0);
    assert_int_equal(set(&a, "data", "/x"), 0);
    assert_int_equal(set(&a, "workers", "3"), 0);
    assert_int_equal(hs_config_copy(&b, &a), 0);
    assert_ptr_not_equal(a.data, b.data);
    assert_ptr_not_equal(a.listen, b.listen);
    assert_string_equal(b.data, "/x");
    assert_int_equal(b.workers, 3);
    assert_int_equal(set(&a, "data", "/y"), 0);
    hs_config_free(&a);
    assert_string_equal(b.data, "/x"); /* still valid after a is gone */
    assert_string_equal(b.listen, "0.0.0.0:8080");
    hs_config_free(&b);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/hs-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "[http]\nmax_headers = 42\nbogus = 1\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    hs_config_t c;
    assert_int_equal(hs_config_init(&c), 0);
    assert_int_equal(hs_config_load_file(&c, path, err, sizeof(err)), HS_ECONFIG);
    char want[128];
    snprintf(want, sizeof(want), "%s:3: unknown key 'http.bogus'", path);
    assert_string_equal(err, want);
    assert_int_equal(c.http_max_headers, 42);
    unlink(path);
    assert_int_equal(hs_config_load_file(&c, path, err, sizeof(err)), HS_ENOENT);
    snprintf(want, sizeof(want), "cannot open config file '%s': No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(hs_config_load_file(&c, "/tmp", err, sizeof(err)), HS_ERR(EISDIR));
    assert_non_null(strstr(err, "'/tmp'"));
    hs_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_size_and_duration_keys),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_level_and_str),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_file_syntax),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_nul_in_value),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_env_ignored_list),
        cmocka_unit_test(test_env_names_from_markdown),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
