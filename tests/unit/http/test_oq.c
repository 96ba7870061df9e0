/*
 * Unit tests of the connection output queue (src/http/oq.c): owned, ref
 * and file segments, release callbacks (exactly once, sent or cleared),
 * flushes that the socket only partly takes (small SO_SNDBUF, HS_EAGAIN,
 * drain, resume) with byte-exact output. SIGPIPE is ignored as the daemon
 * does (src/core/supervisor.c), so a closed peer is an error code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "http/oq.h"

static int sv[2];

static int setup(void **state)
{
    (void)state;
    alarm(30);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(sv[0]);
    close(sv[1]);
    alarm(0);
    return 0;
}

/* Reads whatever is available on fd into buf (grows *len). */
static size_t drain(int fd, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
        got += (size_t)n;
        if (*len == cap)
            break;
    }
    return got;
}

/* Flushes q to sv[0] until empty, draining sv[1] into buf. Returns the
 * number of HS_EAGAIN answers seen. */
static int flush_all(hs_oq_t *q, char *buf, size_t cap, size_t *len, size_t *sent)
{
    int eagain = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        int rc = hs_oq_flush(q, sv[0], sent);
        if (rc == 0)
            return eagain;
        assert_int_equal(rc, HS_EAGAIN);
        eagain++;
        assert_false(hs_oq_empty(q));
        struct pollfd p = {sv[1], POLLIN, 0};
        poll(&p, 1, 1000);
        drain(sv[1], buf, cap, len);
    }
    fail_msg("flush never completed");
    return -1;
}

static void pattern(char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
}

/* ---- release accounting ---- */

typedef struct relcount {
    int released;
} relcount_t;

static void on_release(void *ref)
{
    ((relcount_t *)ref)->released++;
}

static void test_append_reserve_commit(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    assert_true(hs_oq_empty(&q));
    assert_int_equal(hs_oq_append(&q, "hello ", 6), 0);
    char *p = hs_oq_reserve(&q, 100);
    assert_non_null(p);
    memcpy(p, "world, and more", 15);
    hs_oq_commit(&q, 5); /* only "world" */
    assert_int_equal(hs_oq_append(&q, "!", 1), 0);
    assert_int_equal(q.bytes, 12);
    assert_false(hs_oq_empty(&q));
    /* zero-length operations change nothing */
    assert_int_equal(hs_oq_append(&q, "", 0), 0);
    assert_non_null(hs_oq_reserve(&q, 0));
    hs_oq_commit(&q, 0);
    assert_int_equal(q.bytes, 12);
    size_t sent = 0;
    assert_int_equal(hs_oq_flush(&q, sv[0], &sent), 0);
    assert_int_equal(sent, 12);
    assert_true(hs_oq_empty(&q));
    assert_int_equal(q.bytes, 0);
    char buf[64];
    size_t len = 0;
    drain(sv[1], buf, sizeof(buf), &len);
    assert_int_equal(len, 12);
    assert_memory_equal(buf, "hello world!", 12);
    /* flushing an empty queue is a no-op */
    assert_int_equal(hs_oq_flush(&q, sv[0], NULL), 0);
    /* the queue is reusable after it drained */
    assert_int_equal(hs_oq_append(&q, "again", 5), 0);
    assert_int_equal(hs_oq_flush(&q, sv[0], NULL), 0);
    len = 0;
    drain(sv[1], buf, sizeof(buf), &len);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "again", 5);
}

static void test_reserve_full_segment(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    assert_int_equal(hs_oq_append(&q, "ab", 2), 0);
    /* a full-size reservation does not fit behind 2 bytes: a new segment */
    char *p = hs_oq_reserve(&q, HS_OQ_SEG_SIZE);
    assert_non_null(p);
    memset(p, 'z', HS_OQ_SEG_SIZE);
    hs_oq_commit(&q, HS_OQ_SEG_SIZE);
    assert_int_equal(q.bytes, HS_OQ_SEG_SIZE + 2);
    static char buf[HS_OQ_SEG_SIZE + 16];
    size_t len = 0, sent = 0;
    flush_all(&q, buf, sizeof(buf), &len, &sent);
    drain(sv[1], buf, sizeof(buf), &len);
    assert_int_equal(len, HS_OQ_SEG_SIZE + 2);
    assert_int_equal(sent, HS_OQ_SEG_SIZE + 2);
    assert_memory_equal(buf, "ab", 2);
    for (size_t i = 2; i < len; i++)
        assert_int_equal(buf[i], 'z');
}

static void test_append_spans_segments(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    size_t total = 5 * HS_OQ_SEG_SIZE + 123;
    char *src = malloc(total), *dst = malloc(total);
    assert_non_null(src);
    assert_non_null(dst);
    pattern(src, total, 1);
    /* odd-sized appends so segment boundaries fall mid-append */
    size_t off = 0;
    for (size_t step = 1; off < total; step = step * 3 + 7) {
        size_t n = step % 9000 + 1;
        if (n > total - off)
            n = total - off;
        assert_int_equal(hs_oq_append(&q, src + off, n), 0);
        off += n;
    }
    assert_int_equal(q.bytes, total);
    size_t len = 0, sent = 0;
    flush_all(&q, dst, total, &len, &sent);
    drain(sv[1], dst, total, &len);
    assert_int_equal(len, total);
    assert_int_equal(sent, total);
    assert_memory_equal(src, dst, total);
    free(src);
    free(dst);
}

static void test_ref_released_once_when_sent(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    relcount_t r1 = {0}, r2 = {0};
    static const char body[] = "0123456789";
    assert_int_equal(hs_oq_append(&q, "H:", 2), 0);
    assert_int_equal(hs_oq_append_ref(&q, body, 10, on_release, &r1), 0);
    assert_int_equal(hs_oq_append(&q, "|", 1), 0);
    assert_int_equal(hs_oq_append_ref(&q, body + 5, 5, on_release, &r2), 0);
    assert_int_equal(q.bytes, 18);
    assert_int_equal(r1.released, 0);
    size_t sent = 0;
    assert_int_equal(hs_oq_flush(&q, sv[0], &sent), 0);
    assert_int_equal(sent, 18);
    assert_int_equal(r1.released, 1);
    assert_int_equal(r2.released, 1);
    char buf[64];
    size_t len = 0;
    drain(sv[1], buf, sizeof(buf), &len);
    assert_int_equal(len, 18);
    assert_memory_equal(buf, "H:0123456789|56789", 18);
    /* nothing released again by later flushes or a clear */
    assert_int_equal(hs_oq_flush(&q, sv[0], NULL), 0);
    hs_oq_clear(&q);
    assert_int_equal(r1.released, 1);
    assert_int_equal(r2.released, 1);
}

static void test_ref_released_once_when_cleared(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    relcount_t r1 = {0}, r2 = {0}, r3 = {0};
    assert_int_equal(hs_oq_append_ref(&q, "abc", 3, on_release, &r1), 0);
    assert_int_equal(hs_oq_append(&q, "x", 1), 0);
    assert_int_equal(hs_oq_append_ref(&q, "def", 3, on_release, &r2), 0);
    assert_int_equal(hs_oq_append_ref(&q, "", 0, on_release, &r3), 0); /* empty ref */
    hs_oq_clear(&q);
    assert_true(hs_oq_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(r1.released, 1);
    assert_int_equal(r2.released, 1);
    assert_int_equal(r3.released, 1);
    hs_oq_clear(&q);
    assert_int_equal(r1.released, 1);
    /* the cleared queue takes new data */
    assert_int_equal(hs_oq_append(&q, "ok", 2), 0);
    assert_int_equal(hs_oq_flush(&q, sv[0], NULL), 0);
    char buf[8];
    size_t len = 0;
    drain(sv[1], buf, sizeof(buf), &len);
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "ok", 2);
    /* a NULL release is allowed */
    assert_int_equal(hs_oq_append_ref(&q, "zz", 2, NULL, NULL), 0);
    hs_oq_clear(&q);
}

static int tmpfile_with(const char *data, size_t len)
{
    char path[] = "/tmp/hs-test-oq-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    return fd;
}

static void test_file_segments(void **state)
{
    (void)state;
    size_t fsize = 100000;
    char *content = malloc(fsize);
    assert_non_null(content);
    pattern(content, fsize, 7);
    int fd = tmpfile_with(content, fsize);
    hs_oq_t q = {0};
    relcount_t r1 = {0}, r2 = {0};
    assert_int_equal(hs_oq_append(&q, "<", 1), 0);
    assert_int_equal(hs_oq_append_file(&q, fd, 1000, 50000, on_release, &r1), 0);
    assert_int_equal(hs_oq_append(&q, "|", 1), 0);
    assert_int_equal(hs_oq_append_file(&q, fd, 0, 10, on_release, &r2), 0);
    assert_int_equal(hs_oq_append(&q, ">", 1), 0);
    assert_int_equal(q.bytes, 50013);
    size_t cap = 60000, len = 0, sent = 0;
    char *buf = malloc(cap);
    flush_all(&q, buf, cap, &len, &sent);
    drain(sv[1], buf, cap, &len);
    assert_int_equal(len, 50013);
    assert_int_equal(sent, 50013);
    assert_int_equal(buf[0], '<');
    assert_memory_equal(buf + 1, content + 1000, 50000);
    assert_int_equal(buf[50001], '|');
    assert_memory_equal(buf + 50002, content, 10);
    assert_int_equal(buf[50012], '>');
    assert_int_equal(r1.released, 1);
    assert_int_equal(r2.released, 1);
    /* the queue does not own the descriptor */
    assert_true(fcntl(fd, F_GETFD) >= 0);
    /* cleared before sending: released once */
    relcount_t r3 = {0};
    assert_int_equal(hs_oq_append_file(&q, fd, 0, 100, on_release, &r3), 0);
    hs_oq_clear(&q);
    assert_int_equal(r3.released, 1);
    close(fd);
    free(buf);
    free(content);
}

static void test_file_shrunk(void **state)
{
    (void)state;
    char data[100];
    pattern(data, sizeof(data), 3);
    int fd = tmpfile_with(data, sizeof(data));
    hs_oq_t q = {0};
    relcount_t r = {0};
    assert_int_equal(hs_oq_append_file(&q, fd, 0, 100, on_release, &r), 0);
    assert_int_equal(ftruncate(fd, 40), 0);
    size_t sent = 0;
    /* the 40 bytes left go out, then the framing is known to be wrong */
    int rc = hs_oq_flush(&q, sv[0], &sent);
    if (rc == 0)
        fail_msg("flush of a shrunk file reported success");
    assert_int_equal(rc, HS_EIO);
    assert_int_equal(sent, 40);
    assert_int_equal(r.released, 0);
    hs_oq_clear(&q);
    assert_int_equal(r.released, 1);
    close(fd);
}

/* Partial writes: a small send buffer takes a little at a time; every
 * flush resumes exactly where the last one stopped. */
static void test_partial_writes(void **state)
{
    (void)state;
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    size_t fsize = 300000;
    char *content = malloc(fsize);
    pattern(content, fsize, 11);
    int fd = tmpfile_with(content, fsize);
    char *refdata = malloc(70000);
    pattern(refdata, 70000, 13);

    size_t cap = 1 << 20;
    char *want = malloc(cap), *got = malloc(cap);
    size_t wl = 0;
    hs_oq_t q = {0};
    relcount_t rels[40] = {{0}};
    int nrel = 0;
#define W(p, n) (memcpy(want + wl, (p), (n)), wl += (n))
    for (int i = 0; i < 8; i++) {
        char hdr[32];
        int hl = snprintf(hdr, sizeof(hdr), "part %d\r\n", i);
        assert_int_equal(hs_oq_append(&q, hdr, (size_t)hl), 0);
        W(hdr, (size_t)hl);
        size_t rl = 1000 + (size_t)i * 8000;
        assert_int_equal(hs_oq_append_ref(&q, refdata + i, rl, on_release, &rels[nrel++]), 0);
        W(refdata + i, rl);
        off_t off = (off_t)i * 30000;
        size_t fl = 5000 + (size_t)i * 3000;
        assert_int_equal(hs_oq_append_file(&q, fd, off, fl, on_release, &rels[nrel++]), 0);
        W(content + off, fl);
        char *p = hs_oq_reserve(&q, 3000);
        assert_non_null(p);
        pattern(p, 3000, 100 + (unsigned)i);
        W(p, 3000);
        hs_oq_commit(&q, 3000);
    }
#undef W
    assert_int_equal(q.bytes, wl);
    size_t gl = 0, sent = 0;
    int rc = hs_oq_flush(&q, sv[0], &sent);
    assert_int_equal(rc, HS_EAGAIN);
    assert_true(sent > 0);
    assert_true(sent < wl);
    assert_int_equal(q.bytes, wl - sent);
    int eagain = flush_all(&q, got, cap, &gl, &sent);
    assert_true(eagain > 5);
    drain(sv[1], got, cap, &gl);
    assert_int_equal(sent, wl);
    assert_int_equal(gl, wl);
    assert_int_equal(q.bytes, 0);
    assert_true(hs_oq_empty(&q));
    for (size_t i = 0; i < wl; i++)
        if (got[i] != want[i])
            fail_msg("first difference at byte %zu of %zu", i, wl);
    for (int i = 0; i < nrel; i++)
        assert_int_equal(rels[i].released, 1);
    close(fd);
    free(content);
    free(refdata);
    free(want);
    free(got);
}

/* A ref segment is not released while part of it is still unsent. */
static void test_ref_not_released_while_partial(void **state)
{
    (void)state;
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    size_t n = 200000;
    char *data = malloc(n), *got = malloc(n);
    pattern(data, n, 5);
    hs_oq_t q = {0};
    relcount_t r = {0};
    assert_int_equal(hs_oq_append_ref(&q, data, n, on_release, &r), 0);
    size_t sent = 0;
    assert_int_equal(hs_oq_flush(&q, sv[0], &sent), HS_EAGAIN);
    assert_int_equal(r.released, 0);
    size_t gl = 0;
    flush_all(&q, got, n, &gl, &sent);
    drain(sv[1], got, n, &gl);
    assert_int_equal(r.released, 1);
    assert_int_equal(gl, n);
    assert_memory_equal(got, data, n);
    free(data);
    free(got);
}

static void test_peer_closed(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    relcount_t r = {0};
    close(sv[1]);
    sv[1] = open("/dev/null", O_RDONLY); /* keep teardown's close valid */
    assert_int_equal(hs_oq_append(&q, "data", 4), 0);
    assert_int_equal(hs_oq_append_ref(&q, "more", 4, on_release, &r), 0);
    int rc = hs_oq_flush(&q, sv[0], NULL);
    assert_int_equal(rc, HS_EPIPE);
    assert_false(hs_oq_empty(&q));
    assert_int_equal(r.released, 0);
    hs_oq_clear(&q);
    assert_int_equal(r.released, 1);
}

/* More memory segments than one writev takes (IOV_BATCH) in one flush. */
static void test_many_small_segments(void **state)
{
    (void)state;
    hs_oq_t q = {0};
    relcount_t r[300] = {{0}};
    char want[300 * 4];
    size_t wl = 0;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 300; i++) {
        assert_int_equal(hs_oq_append_ref(&q, digits + (i % 13), 3, on_release, &r[i]), 0);
        memcpy(want + wl, digits + (i % 13), 3);
        wl += 3;
        assert_int_equal(hs_oq_append(&q, "-", 1), 0);
        want[wl++] = '-';
    }
    char got[sizeof(want)];
    size_t gl = 0, sent = 0;
    flush_all(&q, got, sizeof(got), &gl, &sent);
    drain(sv[1], got, sizeof(got), &gl);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);
    for (int i = 0; i < 300; i++)
        assert_int_equal(r[i].released, 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_reserve_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_full_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_spans_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_released_once_when_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_released_once_when_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_shrunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_not_released_while_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_small_segments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
