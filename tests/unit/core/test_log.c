/* Unit tests for src/core/log.c: stderr is redirected into a pipe and the
 * logfmt lines read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

static int pipe_rd = -1, saved_stderr = -1;

static int setup(void **state)
{
    (void)state;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    /* big enough that single-threaded tests never block on a full pipe */
    fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    pipe_rd = fds[0];
    hs_log_set_role("worker");
    return 0;
}

static const char *drain(size_t *len);

/* Restores stderr and passes on whatever is left in the pipe, so a failed
 * assertion's message (cmocka prints it to stderr) is not lost. */
static int teardown(void **state)
{
    (void)state;
    size_t len;
    const char *left = drain(&len);
    dup2(saved_stderr, STDERR_FILENO);
    if (len && write(STDERR_FILENO, left, len) < 0)
        return -1;
    close(saved_stderr);
    close(pipe_rd);
    return 0;
}

/* Reads everything currently in the pipe (NUL-terminated, static). */
static const char *drain(size_t *len)
{
    static char buf[1 << 16];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(pipe_rd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void test_default_level(void **state)
{
    (void)state;
    /* checked first, before any test changes it */
    assert_int_equal(hs__log_min, HS_LOG_INFO);
    hs_log_debug("hidden", "x=1");
    hs_log_info("shown", "x=1");
    const char *out = drain(NULL);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "event=shown"));
}

static void test_fields(void **state)
{
    (void)state;
    hs_log_info("listen", "addr=%s port=%d", "0.0.0.0", 8080);
    size_t len;
    const char *line = drain(&len);
    /* ts=2026-11-28T07:15:13.123Z */
    int y, mo, d, h, mi, s, ms;
    char z;
    assert_int_equal(sscanf(line, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s,
                            &ms, &z),
                     8);
    assert_int_equal(z, 'Z');
    assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 &&
                s < 61 && ms < 1000);
    assert_int_equal(line[27], ' ');
    char want[128];
    snprintf(want, sizeof(want), " level=info pid=%ld role=worker event=listen addr=0.0.0.0 "
                                 "port=8080\n", (long)getpid());
    assert_string_equal(line + 27, want);
    assert_int_equal(len, 27 + strlen(want));
}

static void test_levels(void **state)
{
    (void)state;
    hs_log_set_level(HS_LOG_WARN);
    hs_log_info("hidden", "x=1");
    hs_log_debug("hidden", "x=1");
    assert_string_equal(drain(NULL), "");
    hs_log_warn("shown", "x=2");
    hs_log_error("shown", "%s", "");
    const char *out = drain(NULL);
    assert_non_null(strstr(out, " level=warn "));
    assert_non_null(strstr(out, " event=shown x=2\n"));
    assert_non_null(strstr(out, " level=error "));
    /* an empty fmt adds nothing after the event */
    assert_non_null(strstr(out, " level=error pid="));
    assert_non_null(strstr(strstr(out, "level=error"), "event=shown\n"));
    hs_log_set_level(HS_LOG_OFF);
    hs_log_error("hidden", "x=3");
    assert_string_equal(drain(NULL), "");
    hs_log_set_level(HS_LOG_DEBUG);
    hs_log_debug("dbg", "");
    assert_non_null(strstr(drain(NULL), " level=debug "));
    hs_log_set_level(HS_LOG_INFO);
}

static void test_level_parse(void **state)
{
    (void)state;
    hs_log_level_t l = HS_LOG_OFF;
    assert_int_equal(hs_log_level_parse("debug", &l), 0);
    assert_int_equal(l, HS_LOG_DEBUG);
    assert_int_equal(hs_log_level_parse("INFO", &l), 0);
    assert_int_equal(l, HS_LOG_INFO);
    assert_int_equal(hs_log_level_parse("warn", &l), 0);
    assert_int_equal(l, HS_LOG_WARN);
    assert_int_equal(hs_log_level_parse("error", &l), 0);
    assert_int_equal(l, HS_LOG_ERROR);
    assert_int_equal(hs_log_level_parse("off", &l), 0);
    assert_int_equal(l, HS_LOG_OFF);
    assert_int_equal(hs_log_level_parse("warning", &l), HS_EINVAL);
    assert_int_equal(hs_log_level_parse("", &l), HS_EINVAL);
    assert_int_equal(l, HS_LOG_OFF);
}

static void test_errno_preserved(void **state)
{
    (void)state;
    errno = ENOSPC;
    hs_log_info("e", "err=%s", "x");
    assert_int_equal(errno, ENOSPC);
    /* also when the write fails (stderr closed) */
    int keep = dup(STDERR_FILENO);
    close(STDERR_FILENO);
    errno = EPIPE;
    hs_log_error("e", "x=1");
    assert_int_equal(errno, EPIPE);
    dup2(keep, STDERR_FILENO);
    close(keep);
    drain(NULL);
}

static void test_escaping_and_truncation(void **state)
{
    (void)state;
    hs_log_info("req", "path=\"%s\"", "/a\nlevel=error forged\r\tx\x01");
    size_t len;
    const char *out = drain(&len);
    if (!strstr(out, "path=\"/a\\nlevel=error forged\\r\\tx\\x01\"\n"))
        fail_msg("got: %s", out);
    assert_ptr_equal(strchr(out, '\n'), out + len - 1); /* still one line */

    char *big = malloc(10000);
    memset(big, 'v', 9999);
    big[9999] = '\0';
    hs_log_info("big", "v=%s", big);
    out = drain(&len);
    assert_true(len <= 4096);
    assert_true(len > 4000);
    assert_string_equal(out + len - 16, " truncated=true\n");
    assert_ptr_equal(strchr(out, '\n'), out + len - 1);
    /* escapes that do not fit are dropped whole, never cut in half */
    memset(big, '\n', 9999);
    hs_log_info("big", "v=%s", big);
    out = drain(&len);
    assert_true(len <= 4096);
    assert_string_equal(out + len - 16, " truncated=true\n");
    assert_int_equal(out[len - 17], 'n');
    assert_int_equal(out[len - 18], '\\');
    free(big);
}

enum { NTHREADS = 4, LINES = 2000 };

static void *log_thread(void *p)
{
    long id = (long)(intptr_t)p;
    char pad[600];
    memset(pad, 'a' + (int)id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        hs_log_info("tick", "thread=%ld i=%d pad=%s", id, i, pad);
    return NULL;
}

static void test_concurrent_lines_intact(void **state)
{
    (void)state;
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_thread, (void *)(intptr_t)i), 0);
    /* read while they write: every line must be whole */
    int seen[NTHREADS] = {0};
    char acc[1 << 16];
    size_t have = 0;
    int total = 0;
    while (total < NTHREADS * LINES) {
        ssize_t r = read(pipe_rd, acc + have, sizeof(acc) - have);
        if (r < 0 && errno == EAGAIN) {
            usleep(100);
            continue;
        }
        assert_true(r > 0);
        have += (size_t)r;
        char *start = acc, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - acc))) != NULL) {
            *nl = '\0';
            long id;
            int i;
            char *f = strstr(start, " event=tick thread=");
            assert_non_null(f);
            assert_int_equal(sscanf(f, " event=tick thread=%ld i=%d", &id, &i), 2);
            assert_true(id >= 0 && id < NTHREADS);
            assert_int_equal(i, seen[id]); /* in order per thread, none lost */
            seen[id]++;
            char *pad = strstr(f, " pad=");
            assert_non_null(pad);
            assert_int_equal(strlen(pad + 5), 599);
            for (int k = 0; k < 599; k++)
                assert_int_equal(pad[5 + k], 'a' + id);
            assert_int_equal(strncmp(start, "ts=", 3), 0);
            total++;
            start = nl + 1;
        }
        have -= (size_t)(start - acc);
        memmove(acc, start, have);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(have, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_level),
        T(test_fields),
        T(test_levels),
        T(test_level_parse),
        T(test_errno_preserved),
        T(test_escaping_and_truncation),
        T(test_concurrent_lines_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
