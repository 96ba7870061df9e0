/* Unit tests of fsck --repair without a whole-pass exclusive lock
 * (src/objects/maint.c): with refcounts set wrong (one below the truth,
 * the damage case, one above), deleted objects and orphan files, a put
 * started from fsck's progress callback in every phase (the check, the
 * refcount fixes, and gc's steps) completes; the refcounts end right, the
 * garbage is gone, and every object, the puts made meanwhile included,
 * reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "objects/internal.h"
#include "objects/objects.h"
#include "store/kv.h"
#define OBJ_FIXTURE_TAG "objfsck"
#include "fixture.h"

#define NKEEP 12
#define NGONE 40

#define NPHASES 5
static const char *phases[NPHASES] = {"fsck", "fsck-refs", "gc-zero", "gc-garbage", "gc-orphans"};

typedef struct ctx {
    hs_objects_t *s;
    int probed[NPHASES];
    int rc[NPHASES]; /* each probe put's result, checked on the main thread */
    int unknown;
} ctx_t;

typedef struct probe {
    hs_objects_t *s;
    int ph, rc;
} probe_t;

static void *probe_put(void *arg)
{
    probe_t *p = arg;
    char name[32];
    snprintf(name, sizeof(name), "probe/%d", p->ph);
    uint8_t *b = rnd(30000 + (size_t)p->ph, 800 + (uint64_t)p->ph);
    p->rc = obj_put(p->s, name, b, 30000 + (size_t)p->ph);
    free(b);
    return NULL;
}

/* The first progress call of each phase starts a put in another thread
 * and waits for it: the put needs the shared lock, so it finishes only if
 * fsck holds no exclusive lock there (otherwise the test hangs and meson's
 * timeout fails it). */
static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    ctx_t *c = arg;
    (void)done;
    (void)total;
    int ph = -1;
    for (int i = 0; i < NPHASES; i++)
        if (strcmp(phase, phases[i]) == 0) ph = i;
    if (ph < 0) {
        c->unknown++;
        return;
    }
    if (c->probed[ph]) return;
    probe_t p = {.s = c->s, .ph = ph};
    pthread_t th;
    if (pthread_create(&th, NULL, probe_put, &p) != 0) {
        c->rc[ph] = HS_ENOMEM;
    } else {
        pthread_join(th, NULL);
        c->rc[ph] = p.rc;
    }
    c->probed[ph] = 1;
}

/* Adds delta to the refcount of the nth chunk record (index order). */
static void skew_refs(hs_objects_t *s, int nth, int64_t delta, uint64_t *was)
{
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    uint8_t pfx = HS_K_CHUNK, hash[32];
    assert_int_equal(hs_kv_txn_begin(s->kv, 0, &txn), 0);
    assert_int_equal(hs_kv_cursor_prefix(txn, &pfx, 1, &c), 0);
    for (int i = 0; i <= nth; i++)
        assert_int_equal(hs_kv_cursor_next(c, &k, &v), 0);
    assert_int_equal(k.len, 33);
    memcpy(hash, (const uint8_t *)k.data + 1, 32);
    hs_kv_cursor_close(c);
    hs__chunk_rec_t cr;
    assert_int_equal(hs__get_chunk(txn, hash, &cr), 0);
    *was = cr.refs;
    cr.refs = (uint64_t)((int64_t)cr.refs + delta);
    assert_int_equal(hs__put_chunk(txn, hash, &cr), 0);
    assert_int_equal(hs_kv_txn_commit(txn), 0);
}

static void test_puts_complete_during_fsck_repair(void **state)
{
    (void)state;
    hs_objects_t *s = open_sized(16384, 262144);
    char name[64];
    size_t sizes[NKEEP];
    for (int i = 0; i < NKEEP; i++) {
        sizes[i] = 20000 + (size_t)i * 7000;
        uint8_t *p = rnd(sizes[i], 100 + (uint64_t)i);
        snprintf(name, sizeof(name), "keep/%d", i);
        assert_int_equal(obj_put(s, name, p, sizes[i]), 0);
        free(p);
    }
    for (int i = 0; i < NGONE; i++) {
        uint8_t *p = rnd(3000 + (size_t)i, 5000 + (uint64_t)i);
        snprintf(name, sizeof(name), "gone/%d", i);
        assert_int_equal(obj_put(s, name, p, 3000 + (size_t)i), 0);
        assert_int_equal(hs_obj_delete(s, name), 0);
        free(p);
    }
    /* Only kept objects' chunks are live now; skew two of them. Which
     * record is which does not matter: each has refs >= 1 before. */
    hs_obj_report_t r0;
    assert_int_equal(hs_objects_gc(s, NULL, &r0), 0); /* drop the deleted chunks first */
    uint64_t was0, was1;
    skew_refs(s, 0, 0, &was0);
    assert_true(was0 >= 1);
    skew_refs(s, 0, -(int64_t)was0, &was0); /* below the truth: gc would free it */
    skew_refs(s, 1, 5, &was1);              /* above it */
    for (int i = 0; i < NGONE; i++) {       /* and garbage for gc's phases */
        uint8_t *p = rnd(4000 + (size_t)i, 9000 + (uint64_t)i);
        snprintf(name, sizeof(name), "gone2/%d", i);
        assert_int_equal(obj_put(s, name, p, 4000 + (size_t)i), 0);
        assert_int_equal(hs_obj_delete(s, name), 0);
        free(p);
    }
    for (int i = 0; i < 20; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/drives/d%02d/%016llx.%d", dir, i % 6,
                 0x5b00000000000000ull + (unsigned long long)i, i % 6);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("orphan", f);
        fclose(f);
    }

    hs_obj_report_t rep;
    assert_int_equal(hs_objects_fsck(s, NULL, &rep), HS_ECORRUPT);
    assert_int_equal(rep.refs_fixed, 2);

    ctx_t c = {.s = s};
    hs_obj_maint_opts_t mo = {.repair = true, .progress = on_progress, .progress_arg = &c};
    assert_int_equal(hs_objects_fsck(s, &mo, &rep), 0);
    assert_int_equal(rep.refs_fixed, 2);
    assert_true(rep.chunks_freed >= NGONE);
    assert_true(rep.orphans_removed >= 20);
    assert_int_equal(c.unknown, 0);
    for (int i = 0; i < NPHASES; i++) {
        assert_int_equal(c.probed[i], 1);
        assert_int_equal(c.rc[i], 0);
    }

    assert_int_equal(hs_objects_fsck(s, NULL, &rep), 0);
    assert_int_equal(rep.refs_fixed, 0);
    assert_int_equal(rep.chunks_missing, 0);
    assert_int_equal(rep.orphans, 0);
    for (int i = 0; i < NKEEP; i++) {
        uint8_t *p = rnd(sizes[i], 100 + (uint64_t)i);
        snprintf(name, sizeof(name), "keep/%d", i);
        expect_read(s, name, p, sizes[i]);
        free(p);
    }
    for (int i = 0; i < NPHASES; i++) {
        uint8_t *p = rnd(30000 + (size_t)i, 800 + (uint64_t)i);
        snprintf(name, sizeof(name), "probe/%d", i);
        expect_read(s, name, p, 30000 + (size_t)i);
        free(p);
    }
    /* a gc now frees nothing a kept object needs */
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    for (int i = 0; i < NKEEP; i++) {
        uint8_t *p = rnd(sizes[i], 100 + (uint64_t)i);
        snprintf(name, sizeof(name), "keep/%d", i);
        expect_read(s, name, p, sizes[i]);
        free(p);
    }
    hs_objects_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_puts_complete_during_fsck_repair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
