/* Unit tests of the read-ahead workers' page-cache fills (src/objects/
 * ahead.c): a long read of fragments that are not cached fills the cache
 * with them and returns the right bytes; a bad block or a short fragment
 * in an uncached file is still found by the CRC check (the fill never
 * serves bytes), and a read never dies of SIGBUS. */
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/internal-t.h"
#include "objects/objects.h"
#define OBJ_FIXTURE_TAG "objfill"
#include "fixture.h"

#define FRAG (256u << 10) /* 1 MiB stripes: a few MiB get workers */

static hs_objects_t *open_store(void)
{
    return open_sized(16384, FRAG);
}

static void put(hs_objects_t *s, const char *name, const uint8_t *p, size_t n)
{
    hs_obj_writer_t *w;
    hs_obj_put_opts_t po = {.tier = HS_TIER_HOT};
    assert_int_equal(hs_obj_put_begin(s, name, &po, &w), 0);
    assert_int_equal(hs_obj_put_write(w, p, n), 0);
    assert_int_equal(hs_obj_put_commit(w, NULL), 0);
}

/* Pages of the file in the page cache (mincore of a mapping: no I/O). */
static size_t cached_pages(const char *path, size_t *total)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)sb.st_size + pg - 1) / pg, c = 0;
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    unsigned char *v = malloc(n);
    assert_int_equal(mincore(m, (size_t)sb.st_size, v), 0);
    for (size_t i = 0; i < n; i++)
        c += v[i] & 1;
    free(v);
    munmap(m, (size_t)sb.st_size);
    close(fd);
    *total = n;
    return c;
}

static size_t data_frags, data_cached, data_uncached;

static void evict(const char *path, int index)
{
    (void)index;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fdatasync(fd), 0); /* only clean pages can go */
    assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    close(fd);
}

static void count(const char *path, int index)
{
    if (index >= 4) return; /* parity: a good read does not touch it */
    size_t total, c = cached_pages(path, &total);
    data_frags++;
    data_cached += c == total;
    data_uncached += c == 0;
}

static void test_uncached_fragments_are_filled(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = (8u << 20) + 4321;
    uint8_t *p = rnd(n, 11);
    put(s, "o", p, n);
    each_frag(evict);
    data_frags = data_cached = data_uncached = 0;
    each_frag(count);
    bool evicted = data_uncached == data_frags; /* not on every file system */
    expect_read(s, "o", p, n);
    data_frags = data_cached = data_uncached = 0;
    each_frag(count);
    assert_true(data_frags >= 32);
    /* the workers filled (or read) every data fragment whole */
    if (evicted) assert_int_equal(data_cached, data_frags);
    /* and again, cached now, and after a second eviction */
    expect_read(s, "o", p, n);
    each_frag(evict);
    expect_read(s, "o", p, n);
    uint64_t det, rep;
    hs_objects_counters(s, &det, &rep);
    assert_int_equal(det, 0);
    free(p);
    hs_objects_close(s);
}

static uint32_t le32_at(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int flips;

/* In full stripes: one bad byte in data fragment 1, a data fragment 2 cut
 * short by a block and a half (a mapping past its end would be SIGBUS). */
static void damage(const char *path, int index)
{
    uint8_t h[64];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, h, 64, 0), 64);
    uint32_t hdr_len = le32_at(h + 12), frag_len = le32_at(h + 28), data_len = le32_at(h + 40);
    if (frag_len == FRAG && data_len >= 4 * FRAG - 65536) {
        if (index == 1) {
            uint8_t c;
            off_t off = (off_t)hdr_len + 65536 + 7;
            assert_int_equal(pread(fd, &c, 1, off), 1);
            c ^= 0x10;
            assert_int_equal(pwrite(fd, &c, 1, off), 1);
            flips++;
        } else if (index == 2) {
            assert_int_equal(ftruncate(fd, (off_t)hdr_len + FRAG - 3 * 32768), 0);
            flips++;
        }
    }
    close(fd);
}

static void test_bad_uncached_fragments_are_caught(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    size_t n = 8u << 20;
    uint8_t *p = rnd(n, 12);
    put(s, "o", p, n);
    flips = 0;
    each_frag(damage);
    assert_true(flips >= 8);
    each_frag(evict);
    /* the right bytes, every bad fragment found and rewritten */
    expect_read(s, "o", p, n);
    uint64_t det, rep;
    hs_objects_counters(s, &det, &rep);
    assert_true(rep >= (uint64_t)flips);
    hs_obj_report_t rp;
    hs_obj_maint_opts_t o = {.verify_data = true};
    assert_int_equal(hs_objects_fsck(s, &o, &rp), 0);
    assert_int_equal(rp.frags_corrupt + rp.frags_missing, 0);
    each_frag(evict);
    expect_read(s, "o", p, n);
    free(p);
    hs_objects_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uncached_fragments_are_filled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_uncached_fragments_are_caught, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
