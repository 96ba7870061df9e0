/* The object-store suites' common fixture: a temporary store directory per
 * test (cmocka setup and teardown) and reproducible pseudo-random bytes.
 * Define OBJ_FIXTURE_TAG (the directory's name tag) before including,
 * after cmocka's headers. */
#ifndef HS_TEST_OBJECTS_FIXTURE_H
#define HS_TEST_OBJECTS_FIXTURE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects/objects.h"
#include "store/tmpdir.h"

static char dir[256] __attribute__((unused));

static inline int setup(void **state)
{
    (void)state;
    return tmp_make(dir, sizeof(dir), OBJ_FIXTURE_TAG) ? 0 : -1;
}

static inline int teardown(void **state)
{
    (void)state;
    tmp_rm(dir);
    return 0;
}

/* xorshift64 from a mixed seed: the same bytes for the same seed (a failure
 * reproduces), different streams for different seeds. */
static inline uint8_t *rnd(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

/* A store of 6 drive directories in dir, no fsync (tests), chunks of
 * avg / 4 .. avg * 4 around avg, fragments of at most frag_max. */
static inline hs_objects_t *open_sized(uint32_t chunk_avg, uint32_t frag_max)
{
    hs_objects_opts_t o = {.ndrives = 6,
                           .chunk_min = chunk_avg / 4,
                           .chunk_avg = chunk_avg,
                           .chunk_max = chunk_avg * 4,
                           .frag_max = frag_max,
                           .no_fsync = true};
    hs_objects_t *s;
    assert_int_equal(hs_objects_open(dir, &o, &s), 0);
    return s;
}

/* Reads [off, off + want) of name through views of pseudo-random sizes
 * (1 .. max_view, from seed) and checks them against p. */
static inline void expect_views(hs_objects_t *s, const char *name, const uint8_t *p, uint64_t off,
                                uint64_t len, size_t want, unsigned seed, size_t max_view)
{
    hs_obj_reader_t *r;
    assert_int_equal(hs_obj_get_open(s, name, off, len, &r), 0);
    const void *v;
    long m;
    size_t at = 0;
    while ((m = hs_obj_read_view(r, &v, 1 + (seed = seed * 1103515245u + 12345u) % max_view)) > 0) {
        assert_true(at + (size_t)m <= want);
        assert_memory_equal(v, p + off + at, (size_t)m);
        at += (size_t)m;
    }
    assert_int_equal(m, 0);
    assert_int_equal(at, want);
    hs_obj_get_close(r);
}

/* Stores p[0, n) as name; returns the first failing call's code. */
static inline int obj_put(hs_objects_t *s, const char *name, const uint8_t *p, size_t n)
{
    hs_obj_writer_t *w;
    int rc = hs_obj_put_begin(s, name, NULL, &w);
    if (rc < 0) return rc;
    if ((rc = hs_obj_put_write(w, p, n)) < 0) {
        hs_obj_put_abort(w);
        return rc;
    }
    return hs_obj_put_commit(w, NULL);
}

/* Reads all of name with hs_obj_read and checks it is exactly p[0, n). */
static inline void expect_read(hs_objects_t *s, const char *name, const uint8_t *p, size_t n)
{
    hs_obj_reader_t *r;
    uint8_t *b = malloc(n + 1);
    size_t at = 0;
    long k;
    assert_int_equal(hs_obj_get_open(s, name, 0, UINT64_MAX, &r), 0);
    while ((k = hs_obj_read(r, b + at, n + 1 - at)) > 0)
        at += (size_t)k;
    hs_obj_get_close(r);
    assert_int_equal(k, 0);
    assert_int_equal(at, n);
    assert_memory_equal(b, p, n);
    free(b);
}

/* Calls fn(path, index) on every fragment file of the store in dir. */
static inline void each_frag(void (*fn)(const char *path, int index))
{
    for (int d = 0; d < 6; d++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/drives/d%02d", dir, d);
        DIR *dd = opendir(path);
        assert_non_null(dd);
        struct dirent *de;
        while ((de = readdir(dd))) {
            const char *dot = strrchr(de->d_name, '.');
            if (de->d_name[0] == '.' || !dot || strchr(dot, 't')) continue;
            char f[1024];
            snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
            fn(f, atoi(dot + 1));
        }
        closedir(dd);
    }
}

#endif
