/* Unit tests of the object store's read path with read-ahead workers
 * (src/objects/ahead.c, get.c): long ranges, the store-wide bound on
 * readers with workers, stripes an object enters more than once, bad and
 * missing fragments met by a worker, compressed chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/internal-t.h"
#include "objects/objects.h"
#define OBJ_FIXTURE_TAG "objahead"
#include "fixture.h"

static hs_objects_t *open_store(void)
{
    /* 256 KiB fragments of four checksum blocks: 1 MiB stripes, so a few
     * MiB give a reader workers (3 stripes or more) */
    return open_sized(16384, 262144);
}

static void put(hs_objects_t *s, const char *name, const uint8_t *p, size_t n, hs_tier_t t)
{
    hs_obj_writer_t *w;
    hs_obj_put_opts_t po = {.tier = t};
    assert_int_equal(hs_obj_put_begin(s, name, &po, &w), 0);
    assert_int_equal(hs_obj_put_write(w, p, n), 0);
    assert_int_equal(hs_obj_put_commit(w, NULL), 0);
}

/* Reads [off, off+len) with hs_obj_read in pieces of step bytes. */
static int get(hs_objects_t *s, const char *name, uint64_t off, uint64_t len, size_t step,
               uint8_t *out, size_t *outlen)
{
    hs_obj_reader_t *r;
    int rc = hs_obj_get_open(s, name, off, len, &r);
    if (rc < 0) return rc;
    size_t n = 0;
    long k;
    while ((k = hs_obj_read(r, out + n, step)) > 0)
        n += (size_t)k;
    hs_obj_get_close(r);
    *outlen = n;
    return k < 0 ? (int)k : 0;
}

static void expect_range(hs_objects_t *s, const char *name, const uint8_t *p, size_t n,
                         uint64_t off, uint64_t len, size_t step)
{
    size_t want = len >= n - off ? n - off : (size_t)len, got;
    uint8_t *b = malloc(want + 1);
    assert_int_equal(get(s, name, off, len, step, b, &got), 0);
    assert_int_equal(got, want);
    assert_memory_equal(b, p + off, want);
    free(b);
    /* and through views of varying sizes */
    expect_views(s, name, p, off, len, want, (unsigned)off, 3000000);
}

static void test_long_read_takes_workers(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = (8u << 20) + 777;
    uint8_t *p = rnd(n, 1);
    put(s, "o", p, n, HS_TIER_HOT);
    hs_obj_reader_t *r;
    uint8_t *b = malloc(n);
    /* a short range is read by the caller alone */
    assert_int_equal(hs_obj_get_open(s, "o", 100, 300000, &r), 0);
    assert_int_equal(hs_obj_read(r, b, 1000), 1000);
    assert_int_equal(atomic_load(&s->ahead_readers), 0);
    hs_obj_get_close(r);
    /* the whole object gets workers, given back at close */
    assert_int_equal(hs_obj_get_open(s, "o", 0, UINT64_MAX, &r), 0);
    assert_int_equal(hs_obj_read(r, b, 100000), 100000);
    assert_int_equal(atomic_load(&s->ahead_readers), 1);
    size_t at = 100000;
    long k;
    while ((k = hs_obj_read(r, b + at, 65536 + 3)) > 0)
        at += (size_t)k;
    assert_int_equal(k, 0);
    assert_int_equal(at, n);
    assert_memory_equal(b, p, n);
    hs_obj_get_close(r);
    assert_int_equal(atomic_load(&s->ahead_readers), 0);
    /* ranges starting and ending inside stripes and blocks */
    static const uint64_t offs[] = {0, 1, 65535, 1048575, 1048576 + 4097, 3333333};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        expect_range(s, "o", p, n, offs[i], UINT64_MAX, 1 << 20);
        expect_range(s, "o", p, n, offs[i], 3u << 20, 4099);
    }
    uint64_t det, rep;
    hs_objects_counters(s, &det, &rep);
    assert_int_equal(det, 0);
    free(b);
    free(p);
    hs_objects_close(s);
}

static void test_readers_with_workers_are_bounded(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = 6u << 20;
    uint8_t *p = rnd(n, 2);
    put(s, "o", p, n, HS_TIER_HOT);
    enum { R = 7 };
    hs_obj_reader_t *r[R];
    uint8_t *b[R];
    size_t at[R] = {0};
    for (int i = 0; i < R; i++) {
        assert_int_equal(hs_obj_get_open(s, "o", 0, UINT64_MAX, &r[i]), 0);
        b[i] = malloc(n);
    }
    /* interleaved: every reader is open and past its first stripe */
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < R; i++) {
            long k = hs_obj_read(r[i], b[i] + at[i], 200000 + 1000 * (size_t)i);
            assert_true(k >= 0);
            at[i] += (size_t)k;
            more |= k > 0;
            assert_true(atomic_load(&s->ahead_readers) <= 4);
        }
    }
    assert_int_equal(atomic_load(&s->ahead_readers), 4);
    for (int i = 0; i < R; i++) {
        assert_int_equal(at[i], n);
        assert_memory_equal(b[i], p, n);
        hs_obj_get_close(r[i]);
        free(b[i]);
    }
    assert_int_equal(atomic_load(&s->ahead_readers), 0);
    free(p);
    hs_objects_close(s);
}

static void test_stripes_entered_again(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t h = 3u << 20, n = 3 * h;
    uint8_t *a = rnd(h, 3), *c = rnd(h, 4), *p = malloc(n);
    put(s, "a", a, h, HS_TIER_HOT);
    put(s, "c", c, h, HS_TIER_HOT);
    /* a, c, a again: deduplicated into the stripes of "a" and "c", so a
     * reader leaves a's stripes and comes back to them */
    memcpy(p, a, h);
    memcpy(p + h, c, h);
    memcpy(p + 2 * h, a, h);
    put(s, "aca", p, n, HS_TIER_HOT);
    expect_range(s, "aca", p, n, 0, UINT64_MAX, 1 << 20);
    expect_range(s, "aca", p, n, h - 12345, h + 50000, 77777);
    expect_range(s, "aca", p, n, 2 * h - 1, UINT64_MAX, 65536);
    /* interleaved chunks of two stripes' worth: a b a b ... in 256 KiB runs */
    size_t q = 256u << 10, m = 0;
    uint8_t *z = malloc(2 * h);
    for (size_t o = 0; o + q <= h; o += q) {
        memcpy(z + m, a + o, q);
        memcpy(z + m + q, c + o, q);
        m += 2 * q;
    }
    put(s, "zip", z, m, HS_TIER_HOT);
    expect_range(s, "zip", z, m, 0, UINT64_MAX, 100000);
    expect_range(s, "zip", z, m, 5, m - 10, 1 << 20);
    uint64_t det, rep;
    hs_objects_counters(s, &det, &rep);
    assert_int_equal(det, 0);
    free(z);
    free(a);
    free(c);
    free(p);
    hs_objects_close(s);
}

static int flips, hits, phase;

static uint32_t le32_at(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* In every full stripe (1 MiB of data): phase 0, one bad byte in the
 * third block of data fragment 1 (met by a worker reading a whole stripe);
 * phase 1, that and data fragment 3 gone (two bad fragments per stripe,
 * what RS 4+2 rebuilds). */
static void damage(const char *path, int index)
{
    uint8_t h[64];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, h, 64, 0), 64);
    uint32_t hdr_len = le32_at(h + 12), frag_len = le32_at(h + 28), data_len = le32_at(h + 40);
    if (frag_len != 262144 || data_len < 4 * 262144 - 65536) {
        close(fd);
        return;
    }
    if (index == 1) {
        uint8_t c;
        long off = (long)hdr_len + 2 * 65536 + 123;
        assert_int_equal(pread(fd, &c, 1, off), 1);
        c ^= 0x81;
        assert_int_equal(pwrite(fd, &c, 1, off), 1);
        flips++;
        hits++;
    } else if (index == 3 && phase == 1) {
        assert_int_equal(unlink(path), 0);
        hits++;
    }
    close(fd);
}

static void lose(const char *path, int index)
{
    if (index <= 2) assert_int_equal(unlink(path), 0);
}

static void test_bad_fragments_met_by_workers(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = 8u << 20;
    uint8_t *p = rnd(n, 5);
    put(s, "o", p, n, HS_TIER_HOT);
    hs_obj_report_t rp;
    hs_obj_maint_opts_t o = {.verify_data = true};
    uint64_t det = 0, rep = 0;
    for (phase = 0; phase < 2; phase++) {
        uint64_t det0 = det, rep0 = rep;
        flips = hits = 0;
        each_frag(damage);
        assert_true(flips >= 4);
        /* the right bytes come out, never the bad ones; every stripe is
         * decoded and its bad fragments rewritten */
        expect_range(s, "o", p, n, 0, UINT64_MAX, 1 << 20);
        hs_objects_counters(s, &det, &rep);
        assert_true(det - det0 >= (uint64_t)flips);
        assert_true(rep - rep0 >= (uint64_t)hits);
        assert_int_equal(hs_objects_fsck(s, &o, &rp), 0);
        assert_int_equal(rp.frags_corrupt + rp.frags_missing, 0);
    }
    uint64_t det2;
    expect_range(s, "o", p, n, 1, UINT64_MAX, 65536);
    hs_objects_counters(s, &det2, &rep);
    assert_int_equal(det2, det);
    /* three of six fragments gone is data loss: an error, not bytes */
    each_frag(lose);
    uint8_t *b = malloc(n);
    size_t got;
    assert_int_equal(get(s, "o", 0, UINT64_MAX, 1 << 20, b, &got), HS_EIO);
    free(b);
    free(p);
    hs_objects_close(s);
}

static void test_compressed_chunks_through_workers(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = (6u << 20) + 5;
    uint8_t *p = rnd(n, 6);
    for (size_t i = 0; i < n; i++)
        p[i] &= 0x07; /* compressible: warm chunks are stored zstd */
    put(s, "w", p, n, HS_TIER_WARM);
    put(s, "c", p, n, HS_TIER_COLD);
    expect_range(s, "w", p, n, 0, UINT64_MAX, 1 << 20);
    expect_range(s, "w", p, n, 777, 5u << 20, 50000);
    expect_range(s, "c", p, n, 0, UINT64_MAX, 1 << 20);
    free(p);
    hs_objects_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_long_read_takes_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_with_workers_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stripes_entered_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_fragments_met_by_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_chunks_through_workers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
