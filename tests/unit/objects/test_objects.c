/* Unit tests of the object store library: streaming put/get, ranges,
 * dedup, overwrite and delete with gc, degraded reads with lost drives,
 * bitrot detection and repair, heal, orphan sweep, tiering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/objects.h"
#define OBJ_FIXTURE_TAG "obj"
#include "fixture.h"

static hs_objects_t *open_small(void)
{
    /* small chunks and fragments so a few hundred KiB span many stripes */
    return open_sized(4096, 16384);
}

static void put(hs_objects_t *s, const char *name, const uint8_t *p, size_t n, hs_tier_t t,
                hs_obj_info_t *info)
{
    hs_obj_writer_t *w;
    hs_obj_put_opts_t po = {.tier = t};
    assert_int_equal(hs_obj_put_begin(s, name, &po, &w), 0);
    /* odd-sized writes exercise the streaming buffer */
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 7777 ? n - off : 7777;
        assert_int_equal(hs_obj_put_write(w, p + off, k), 0);
        off += k;
    }
    assert_int_equal(hs_obj_put_commit(w, info), 0);
}

static int get(hs_objects_t *s, const char *name, uint64_t off, uint64_t len, uint8_t **out,
               size_t *outlen)
{
    hs_obj_reader_t *r;
    int rc = hs_obj_get_open(s, name, off, len, &r);
    if (rc < 0) return rc;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (n + 5000 > cap) b = realloc(b, cap *= 2);
        long k = hs_obj_read(r, b + n, 5000);
        if (k < 0) {
            free(b);
            hs_obj_get_close(r);
            return (int)k;
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    hs_obj_get_close(r);
    *out = b;
    *outlen = n;
    return 0;
}

static void expect_object(hs_objects_t *s, const char *name, const uint8_t *p, size_t n)
{
    uint8_t *b;
    size_t bl;
    assert_int_equal(get(s, name, 0, UINT64_MAX, &b, &bl), 0);
    assert_int_equal(bl, n);
    assert_memory_equal(b, p, n);
    free(b);
}

static size_t count_files(void)
{
    char path[512];
    size_t n = 0;
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/drives/d%02d", dir, i);
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d) continue;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') n++;
        closedir(d);
    }
    return n;
}

/* A config that would not load is refused before it is saved: the
 * directory stays usable for a store created with good settings. */
static void test_bad_config_is_not_saved(void **state)
{
    (void)state;
    hs_objects_opts_t bad = {.ndrives = 6, .frag_max = 4000, .no_fsync = true};
    hs_objects_t *s = NULL;
    assert_int_equal(hs_objects_open(dir, &bad, &s), HS_ECONFIG);
    hs_objects_opts_t small = {.ndrives = 6, .chunk_min = 16384, .chunk_avg = 65536,
                               .chunk_max = 262144, .frag_max = 4096, .no_fsync = true};
    assert_int_equal(hs_objects_open(dir, &small, &s), HS_ECONFIG); /* a chunk must fit */
    s = open_sized(4096, 16384);
    uint8_t *p = rnd(50000, 7);
    hs_obj_info_t info;
    put(s, "a", p, 50000, HS_TIER_HOT, &info);
    free(p);
    hs_objects_close(s);
}

static void test_roundtrip_sizes_and_ranges(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    size_t sizes[] = {0, 1, 4095, 70000, 300000};
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "obj%d", i);
        uint8_t *p = rnd(sizes[i], (uint64_t)i + 1);
        hs_obj_info_t info;
        put(s, name, p, sizes[i], HS_TIER_HOT, &info);
        assert_int_equal(info.size, sizes[i]);
        expect_object(s, name, p, sizes[i]);
        if (sizes[i] > 1000) {
            uint8_t *b;
            size_t bl;
            assert_int_equal(get(s, name, 1000, 50000, &b, &bl), 0);
            size_t want = sizes[i] - 1000 < 50000 ? sizes[i] - 1000 : 50000;
            assert_int_equal(bl, want);
            assert_memory_equal(b, p + 1000, want);
            free(b);
            /* past the end clips; beyond the size is an error */
            assert_int_equal(get(s, name, sizes[i] - 1, 100, &b, &bl), 0);
            assert_int_equal(bl, 1);
            free(b);
            assert_int_equal(get(s, name, sizes[i] + 1, 1, &b, &bl), HS_ERANGE);
        }
        free(p);
    }
    hs_obj_info_t info;
    assert_int_equal(hs_obj_stat(s, "obj4", &info), 0);
    assert_int_equal(info.size, 300000);
    assert_int_equal(hs_obj_stat(s, "nope", &info), HS_ENOENT);
    uint8_t *b;
    size_t bl;
    assert_int_equal(get(s, "nope", 0, 1, &b, &bl), HS_ENOENT);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    assert_int_equal(rep.objects, 5);
    hs_objects_close(s);
}

static void test_dedup_overwrite_delete_gc(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(200000, 5);
    hs_obj_info_t a, b;
    put(s, "a", p, 200000, HS_TIER_HOT, &a);
    assert_true(a.new_chunks > 10);
    put(s, "b", p, 200000, HS_TIER_HOT, &b);
    assert_int_equal(b.new_chunks, 0); /* the same bytes cost metadata only */
    assert_int_equal(b.new_bytes, 0);
    assert_memory_equal(a.etag, b.etag, 32);
    size_t files = count_files();
    /* overwrite a with different bytes */
    uint8_t *q = rnd(100000, 6);
    put(s, "a", q, 100000, HS_TIER_HOT, NULL);
    expect_object(s, "a", q, 100000);
    expect_object(s, "b", p, 200000);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    /* delete both: gc reclaims every chunk and file */
    assert_int_equal(hs_obj_delete(s, "a"), 0);
    assert_int_equal(hs_obj_delete(s, "a"), HS_ENOENT);
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    expect_object(s, "b", p, 200000);
    assert_int_equal(hs_obj_delete(s, "b"), 0);
    assert_true(files > 0);
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_true(rep.chunks_freed > 0);
    assert_int_equal(count_files(), 0);
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    assert_int_equal(rep.chunks, 0);
    free(p);
    free(q);
    hs_objects_close(s);
}

static void test_partial_delete_compacts(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(400000, 8);
    /* y is a prefix of x: its leading chunks are x's, in x's first stripe
     * (64 KiB here); with x gone that stripe is mostly dead */
    put(s, "x", p, 400000, HS_TIER_HOT, NULL);
    put(s, "y", p, 20000, HS_TIER_HOT, NULL);
    assert_int_equal(hs_obj_delete(s, "x"), 0);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_true(rep.chunks_freed > 0);
    assert_true(rep.stripes_compacted >= 1);
    assert_true(rep.stripes_freed >= 2);
    expect_object(s, "y", p, 20000);
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    free(p);
    hs_objects_close(s);
}

static void rm_drive(int i)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/drives/d%02d", dir, i);
    tmp_rm(path);
}

static void test_lost_drives_read_and_heal(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(300000, 9);
    put(s, "o", p, 300000, HS_TIER_HOT, NULL);
    hs_objects_close(s);
    rm_drive(1);
    rm_drive(4); /* P = 2 of 6 */
    s = open_small();
    hs_obj_report_t rep;
    /* fsck sees missing fragments (without repairing) */
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), HS_ECORRUPT);
    assert_true(rep.frags_missing > 0);
    expect_object(s, "o", p, 300000);
    assert_int_equal(hs_objects_heal(s, NULL, &rep), 0);
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    assert_int_equal(rep.frags_missing, 0);
    hs_objects_close(s);
    /* full redundancy again: two other drives can go */
    rm_drive(0);
    rm_drive(2);
    s = open_small();
    expect_object(s, "o", p, 300000);
    /* and three lost drives of 4+2 is data loss: an error, not bytes */
    hs_objects_close(s);
    rm_drive(0);
    rm_drive(2);
    rm_drive(3);
    s = open_small();
    uint8_t *b;
    size_t bl;
    assert_int_equal(get(s, "o", 0, UINT64_MAX, &b, &bl), HS_EIO);
    free(p);
    hs_objects_close(s);
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_bitrot_detected_and_repaired(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(60000, 10);
    put(s, "o", p, 60000, HS_TIER_HOT, NULL);
    /* flip one payload byte in every file of drive 0 and 3 (<= P per stripe) */
    for (int d = 0; d < 6; d += 3) {
        char path[512];
        snprintf(path, sizeof(path), "%s/drives/d%02d", dir, d);
        DIR *dd = opendir(path);
        struct dirent *de;
        while ((de = readdir(dd))) {
            if (de->d_name[0] == '.') continue;
            char f[1024];
            snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
            flip_byte(f, 600); /* past the 512-byte header */
        }
        closedir(dd);
    }
    expect_object(s, "o", p, 60000);
    uint64_t det, rep_n;
    hs_objects_counters(s, &det, &rep_n);
    assert_true(det > 0);
    assert_true(rep_n > 0);
    hs_obj_report_t rep;
    hs_obj_maint_opts_t o = {.verify_data = true};
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0); /* read-repair fixed all */
    assert_int_equal(rep.frags_corrupt, 0);
    /* a header byte: detected by scrub, rebuilt */
    char path[512];
    snprintf(path, sizeof(path), "%s/drives/d05", dir);
    DIR *dd = opendir(path);
    struct dirent *de;
    int flipped = 0;
    while ((de = readdir(dd)) && !flipped) {
        if (de->d_name[0] == '.') continue;
        char f[1024];
        snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
        flip_byte(f, 30);
        flipped = 1;
    }
    closedir(dd);
    assert_int_equal(hs_objects_scrub(s, NULL, &rep), 0);
    assert_true(rep.frags_missing + rep.frags_corrupt >= 1);
    assert_true(rep.frags_rebuilt >= 1);
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0);
    free(p);
    hs_objects_close(s);
}

static void test_abort_leaves_orphans_gc_sweeps(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(200000, 11);
    hs_obj_writer_t *w;
    assert_int_equal(hs_obj_put_begin(s, "x", NULL, &w), 0);
    assert_int_equal(hs_obj_put_write(w, p, 200000), 0); /* full stripes got written */
    hs_obj_put_abort(w);
    assert_true(count_files() > 0);
    hs_obj_info_t info;
    assert_int_equal(hs_obj_stat(s, "x", &info), HS_ENOENT);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0); /* orphans are not damage */
    assert_true(rep.orphans > 0);
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_true(rep.orphans_removed > 0);
    assert_int_equal(count_files(), 0);
    free(p);
    hs_objects_close(s);
}

static void test_tiers(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    /* compressible data: warm and cold store fewer bytes */
    size_t n = 200000;
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)("hyperscale object store "[i % 24] + (i / 5000));
    hs_obj_info_t hot, warm;
    put(s, "w", p, n, HS_TIER_WARM, &warm);
    assert_true(warm.new_bytes < n / 4);
    assert_int_equal(warm.tier, HS_TIER_WARM);
    expect_object(s, "w", p, n);
    /* same bytes, hot hint: dedup keeps the stored form */
    put(s, "h", p, n, HS_TIER_HOT, &hot);
    assert_int_equal(hot.new_chunks, 0);
    /* a shared chunk moves hotter, never colder */
    assert_int_equal(hs_obj_set_tier(s, "h", HS_TIER_HOT), 0);
    expect_object(s, "w", p, n);
    assert_int_equal(hs_obj_set_tier(s, "w", HS_TIER_COLD), 0);
    expect_object(s, "w", p, n);
    assert_int_equal(hs_obj_delete(s, "h"), 0);
    assert_int_equal(hs_obj_set_tier(s, "w", HS_TIER_COLD), 0);
    expect_object(s, "w", p, n);
    hs_obj_info_t info;
    assert_int_equal(hs_obj_stat(s, "w", &info), 0);
    assert_int_equal(info.tier, HS_TIER_COLD);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    expect_object(s, "w", p, n);
    free(p);
    hs_objects_close(s);
}

typedef struct thr {
    hs_objects_t *s;
    int id;
    uint8_t *shared;
    int failures;
} thr_t;

static void *thread_main(void *arg)
{
    thr_t *t = arg;
    for (int k = 0; k < 6; k++) {
        char name[64];
        snprintf(name, sizeof(name), "t%d/o%d", t->id, k);
        size_t n = 50000 + (size_t)k * 7000;
        /* half shared with every other thread (dedup races), half own */
        uint8_t *p = rnd(n, (uint64_t)(t->id * 100 + k + 1));
        memcpy(p, t->shared + k * 1000, n / 2);
        hs_obj_writer_t *w;
        hs_obj_info_t info;
        if (hs_obj_put_begin(t->s, name, NULL, &w) < 0 || hs_obj_put_write(w, p, n) < 0 ||
            hs_obj_put_commit(w, &info) < 0) {
            t->failures++;
            free(p);
            continue;
        }
        hs_obj_reader_t *r;
        uint8_t *b = malloc(n);
        size_t got = 0;
        if (hs_obj_get_open(t->s, name, 0, UINT64_MAX, &r) == 0) {
            long k2;
            while ((k2 = hs_obj_read(r, b + got, n - got)) > 0)
                got += (size_t)k2;
            hs_obj_get_close(r);
        }
        if (got != n || memcmp(b, p, n) != 0) t->failures++;
        free(b);
        free(p);
    }
    return NULL;
}

static void test_threads_share_a_handle(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *shared = rnd(200000, 77);
    pthread_t th[4];
    thr_t t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr_t){.s = s, .id = i, .shared = shared};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    hs_obj_report_t rep;
    hs_obj_maint_opts_t o = {.verify_data = true};
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0);
    assert_int_equal(rep.objects, 24);
    /* racing puts of the same new chunks leave garbage stripes at worst */
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0);
    free(shared);
    hs_objects_close(s);
}

static void test_background_scrub_repairs(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    uint8_t *p = rnd(100000, 12);
    put(s, "o", p, 100000, HS_TIER_HOT, NULL);
    /* corrupt one fragment of drive 2; nobody reads it */
    char path[512];
    snprintf(path, sizeof(path), "%s/drives/d02", dir);
    DIR *dd = opendir(path);
    struct dirent *de;
    while ((de = readdir(dd))) {
        if (de->d_name[0] == '.') continue;
        char f[1024];
        snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
        flip_byte(f, 1000);
        break;
    }
    closedir(dd);
    hs_obj_bg_opts_t o = {.interval_ms = 10, .scrub_rate_bps = 0, .gc = true};
    o.scrub_rate_bps = 1ull << 30;
    hs_obj_bg_t *bg;
    assert_int_equal(hs_objects_bg_start(s, &o, &bg), 0);
    uint64_t det = 0, fixed = 0;
    for (int i = 0; i < 500 && fixed == 0; i++) {
        usleep(10000);
        hs_objects_counters(s, &det, &fixed);
    }
    assert_true(hs_objects_bg_stop(bg) >= 1);
    assert_true(det >= 1);
    assert_true(fixed >= 1);
    hs_obj_report_t rep;
    hs_obj_maint_opts_t v = {.verify_data = true};
    assert_int_equal(hs_objects_fsck(s, &v, &rep), 0);
    expect_object(s, "o", p, 100000);
    free(p);
    hs_objects_close(s);
}

static void test_random_ranges(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    size_t n = 500000;
    uint8_t *p = rnd(n, 13);
    put(s, "o", p, n, HS_TIER_HOT, NULL);
    put(s, "w", p, n / 2, HS_TIER_WARM, NULL); /* dedup'd prefix, other tier */
    srand(5);
    for (int k = 0; k < 200; k++) {
        uint64_t off = (uint64_t)rand() % n, len = (uint64_t)rand() % 70000;
        uint8_t *b;
        size_t bl;
        assert_int_equal(get(s, "o", off, len, &b, &bl), 0);
        size_t want = off + len > n ? n - off : len;
        assert_int_equal(bl, want);
        assert_memory_equal(b, p + off, want);
        free(b);
        /* zero-copy views cover the same bytes */
        expect_views(s, "o", p, off, len, want, (unsigned)rand(), 100000);
    }
    expect_object(s, "w", p, n / 2);
    free(p);
    hs_objects_close(s);
}

static hs_objects_t *open_medium(void)
{
    /* fragments of four 64 KiB checksum blocks (stripes of 1 MiB), so
     * reads start, end and read ahead inside fragments */
    hs_objects_opts_t o = {.ndrives = 6,
                           .chunk_min = 4096,
                           .chunk_avg = 16384,
                           .chunk_max = 65536,
                           .frag_max = 262144,
                           .no_fsync = true};
    hs_objects_t *s;
    assert_int_equal(hs_objects_open(dir, &o, &s), 0);
    return s;
}

/* Reads [off, off+len) both ways (copies, and views of odd sizes) and
 * compares with the source. */
static void expect_range(hs_objects_t *s, const char *name, const uint8_t *p, size_t n,
                         uint64_t off, uint64_t len, unsigned seed)
{
    size_t want = len >= n - off ? n - off : (size_t)len;
    uint8_t *b;
    size_t bl;
    assert_int_equal(get(s, name, off, len, &b, &bl), 0);
    assert_int_equal(bl, want);
    assert_memory_equal(b, p + off, want);
    free(b);
    expect_views(s, name, p, off, len, want, seed, 300000);
}

static void test_ranges_across_blocks_and_fragments(void **state)
{
    (void)state;
    hs_objects_t *s = open_medium();
    size_t n = (3u << 20) + 12345;
    uint8_t *p = rnd(n, 21);
    put(s, "o", p, n, HS_TIER_HOT, NULL);
    /* The first stripe's data starts at object offset 0: every multiple
     * of 64 KiB there is a block edge, every 256 KiB a fragment edge;
     * later stripes shift them, and the longer reads cross stripes. */
    static const int64_t dv[] = {-65537, -1, 0, 1, 4093};
    static const uint64_t lens[] = {1, 2, 65535, 65537, 262147};
    unsigned seed = 1;
    for (uint64_t m = 0; m <= n; m += 65536)
        for (size_t i = 0; i < sizeof(dv) / sizeof(dv[0]); i++) {
            if ((int64_t)m + dv[i] < 0 || m + dv[i] >= n) continue;
            uint64_t off = m + dv[i];
            for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
                expect_range(s, "o", p, n, off, lens[j], seed++);
        }
    expect_range(s, "o", p, n, 1, UINT64_MAX, seed++);
    expect_range(s, "o", p, n, n - 1, UINT64_MAX, seed++);
    expect_range(s, "o", p, n, n, UINT64_MAX, seed++); /* empty, at the end */
    /* the same bytes through zstd chunks (warm) */
    put(s, "w", p, n, HS_TIER_WARM, NULL);
    for (uint64_t off = 1; off < n; off += 262147)
        expect_range(s, "w", p, n, off, 300001, seed++);
    uint64_t det, rep_n;
    hs_objects_counters(s, &det, &rep_n);
    assert_int_equal(det, 0);
    free(p);
    hs_objects_close(s);
}

/* Fragment payload geometry from a fragment file's header. */
static void frag_geom(const char *path, uint32_t *hdr_len, uint32_t *frag_len)
{
    uint8_t h[64];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, h, 64, 0), 64);
    close(fd);
    *hdr_len = (uint32_t)h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 | (uint32_t)h[15] << 24;
    *frag_len = (uint32_t)h[28] | (uint32_t)h[29] << 8 | (uint32_t)h[30] << 16 | (uint32_t)h[31] << 24;
}

/* Calls fn on every fragment file of drive i. */
static void drive_files(int i, void (*fn)(const char *path))
{
    char path[512];
    snprintf(path, sizeof(path), "%s/drives/d%02d", dir, i);
    DIR *dd = opendir(path);
    assert_non_null(dd);
    struct dirent *de;
    while ((de = readdir(dd))) {
        if (de->d_name[0] == '.') continue;
        char f[1024];
        snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
        fn(f);
    }
    closedir(dd);
}

/* Flips a byte in the last block of data fragment flip_index of every
 * stripe (one fragment per stripe: within what RS 4+2 repairs). */
static int flipped, flip_index;
static void flip_last_block(const char *path)
{
    uint32_t hl, fl;
    size_t len = strlen(path);
    if (len < 3 || atoi(path + len - 2) != flip_index || path[len - 3] != '.') return;
    frag_geom(path, &hl, &fl);
    if (fl <= 65536) return; /* one block: not what this test is after */
    flip_byte(path, (long)hl + fl - 100);
    flipped++;
}

static void flip_last_blocks(int index)
{
    flipped = 0;
    flip_index = index;
    for (int i = 0; i < 6; i++)
        drive_files(i, flip_last_block);
    assert_true(flipped > 0);
}

static void test_corrupt_block_in_range(void **state)
{
    (void)state;
    hs_objects_t *s = open_medium();
    size_t n = 2u << 20;
    uint8_t *p = rnd(n, 22);
    put(s, "o", p, n, HS_TIER_HOT, NULL);
    flip_last_blocks(0);
    uint64_t det, rep_n;
    /* A range inside the first chunk (<= 64 KiB, so in block 0 of the
     * first stripe's fragment 0) reads only that block: the bad last
     * block of the same fragment goes unseen. */
    expect_range(s, "o", p, n, 10, 90, 3);
    hs_objects_counters(s, &det, &rep_n);
    assert_int_equal(det, 0);
    /* Reading everything meets them: the right bytes still come out (the
     * stripes are decoded from the other fragments), never the bad ones,
     * and the fragments are rewritten. */
    expect_object(s, "o", p, n);
    hs_objects_counters(s, &det, &rep_n);
    assert_true(det > 0);
    assert_true(rep_n > 0);
    hs_obj_report_t rep;
    hs_obj_maint_opts_t o = {.verify_data = true};
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0);
    assert_int_equal(rep.frags_corrupt, 0);
    /* a block in the middle of a range, read through views */
    flip_last_blocks(1);
    expect_range(s, "o", p, n, 12345, n - 23456, 4);
    uint64_t det2;
    hs_objects_counters(s, &det2, &rep_n);
    assert_true(det2 > det);
    assert_int_equal(hs_objects_fsck(s, &o, &rep), 0);
    free(p);
    hs_objects_close(s);
}

static void unlink_file(const char *path)
{
    assert_int_equal(unlink(path), 0);
}

static void test_reader_during_heal(void **state)
{
    (void)state;
    hs_objects_t *s = open_medium();
    size_t n = 3u << 20;
    uint8_t *p = rnd(n, 23);
    put(s, "o", p, n, HS_TIER_HOT, NULL);
    hs_obj_reader_t *r;
    assert_int_equal(hs_obj_get_open(s, "o", 0, UINT64_MAX, &r), 0);
    uint8_t *b = malloc(n);
    size_t at = 0;
    long k = hs_obj_read(r, b, 100000);
    assert_int_equal(k, 100000);
    at += (size_t)k;
    /* a drive is lost and healed (fragments renamed into place) while the
     * reader is in the middle of the object */
    drive_files(0, unlink_file);
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_heal(s, NULL, &rep), 0);
    assert_true(rep.frags_rebuilt > 0);
    while ((k = hs_obj_read(r, b + at, 77777)) > 0)
        at += (size_t)k;
    assert_int_equal(k, 0);
    assert_int_equal(at, n);
    assert_memory_equal(b, p, n);
    hs_obj_get_close(r);
    free(b);
    free(p);
    hs_objects_close(s);
}

static void test_reopen_keeps_config(void **state)
{
    (void)state;
    hs_objects_t *s = open_small();
    hs_objects_close(s);
    hs_objects_opts_t o = {.ndrives = 8};
    assert_int_equal(hs_objects_open(dir, &o, &s), HS_ECONFIG);
    int n, hd, hp, cd, cp;
    hs_objects_default_geometry(6, &hd, &hp, &cd, &cp);
    assert_int_equal(hd, 4);
    assert_int_equal(hp, 2);
    hs_objects_default_geometry(12, &hd, &hp, &cd, &cp);
    assert_int_equal(hd + hp, 12);
    assert_int_equal(hp, 4);
    hs_objects_default_geometry(1, &hd, &hp, &cd, &cp);
    assert_int_equal(hd, 1);
    assert_int_equal(hp, 0);
    s = open_small();
    hs_objects_geometry(s, &n, &hd, &hp, &cd, &cp);
    assert_int_equal(n, 6);
    hs_objects_close(s);
}

/* The fragment size is fixed at creation: a different nonzero frag_max is
 * refused by open itself (with the stored value in the reason), while the
 * same value or 0 (keep the store's) opens. */
static void test_reopen_other_frag_max(void **state)
{
    (void)state;
    hs_objects_t *s = open_sized(4096, 16384);
    uint8_t *p = rnd(40000, 11);
    put(s, "a", p, 40000, HS_TIER_HOT, NULL);
    hs_objects_close(s);
    char why[512];
    hs_objects_opts_t o = {.frag_max = 32768, .no_fsync = true};
    s = NULL;
    assert_int_equal(hs_objects_open_why(dir, &o, &s, why, sizeof(why)), HS_ECONFIG);
    assert_null(s);
    assert_non_null(strstr(why, "frag_max 16k"));
    assert_non_null(strstr(why, "fixed at creation"));
    assert_int_equal(hs_objects_open(dir, &o, &s), HS_ECONFIG); /* logs instead */
    o.frag_max = 16384;
    assert_int_equal(hs_objects_open_why(dir, &o, &s, why, sizeof(why)), 0);
    assert_string_equal(why, "");
    assert_int_equal(hs_objects_frag_max(s), 16384);
    hs_objects_close(s);
    o.frag_max = 0;
    assert_int_equal(hs_objects_open(dir, &o, &s), 0);
    assert_int_equal(hs_objects_frag_max(s), 16384);
    expect_read(s, "a", p, 40000);
    hs_objects_close(s);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_config_is_not_saved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_sizes_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_overwrite_delete_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_delete_compacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_drives_read_and_heal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitrot_detected_and_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_orphans_gc_sweeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_a_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_scrub_repairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges_across_blocks_and_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_block_in_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_during_heal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_other_frag_max, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
