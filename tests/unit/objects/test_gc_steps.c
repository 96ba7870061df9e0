/* Unit tests of gc in short exclusive steps (src/objects/maint.c): puts
 * complete while a gc with many garbage stripes, zero-ref chunks, a
 * stripe to compact and orphan files runs in another thread; afterwards
 * fsck is clean and every object reads back. A background (nonblock) gc
 * gives way to an open writer and a later run finishes the work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "objects/objects.h"
#define OBJ_FIXTURE_TAG "objgc"
#include "fixture.h"

static hs_objects_t *open_store(void)
{
    /* 1 MiB stripes (4 data fragments of 256 KiB), 16 KiB chunks */
    return open_sized(16384, 262144);
}

/* Objects put by the test while gc runs: names and sizes, content from
 * rnd(size, seed). */
#define MAXPUTS 4096
typedef struct putlog {
    pthread_mutex_t mu;
    char names[MAXPUTS][32];
    size_t sizes[MAXPUTS];
    uint64_t seeds[MAXPUTS];
    int n;
} putlog_t;

typedef struct ctx {
    hs_objects_t *s;
    putlog_t log;
    atomic_int stop;
    atomic_int bg_puts;  /* completed by the background putter */
    int probes;          /* puts started and finished inside a gc step gap */
    int probe_phases[4]; /* which phases had one */
    int mid[4];          /* and whether work was left at that point */
    const uint8_t *part; /* bytes of the object that keeps a compacted stripe live */
    size_t part_len;
} ctx_t;

static void put_logged(ctx_t *c, const char *prefix, size_t n, uint64_t seed)
{
    char name[32];
    pthread_mutex_lock(&c->log.mu);
    int i = c->log.n++;
    pthread_mutex_unlock(&c->log.mu);
    assert_true(i < MAXPUTS);
    snprintf(name, sizeof(name), "%s/%d", prefix, i);
    uint8_t *p = rnd(n, seed);
    assert_int_equal(obj_put(c->s, name, p, n), 0);
    free(p);
    pthread_mutex_lock(&c->log.mu);
    memcpy(c->log.names[i], name, sizeof(name));
    c->log.sizes[i] = n;
    c->log.seeds[i] = seed;
    pthread_mutex_unlock(&c->log.mu);
}

/* Puts objects of a few sizes (a few spanning stripes, so their files sit
 * on the drives while they are in flight) until told to stop. */
static void *bg_putter(void *arg)
{
    ctx_t *c = arg;
    for (uint64_t i = 0; !atomic_load(&c->stop); i++) {
        size_t n = i % 3 == 0 ? (1u << 20) + 5000 : 3000 + (size_t)i * 17 % 40000;
        put_logged(c, "bg", n, 100000 + i);
        atomic_fetch_add(&c->bg_puts, 1);
    }
    return NULL;
}

static void *probe_put(void *arg)
{
    ctx_t *c = arg;
    put_logged(c, "probe", 70000, 500000 + (uint64_t)c->probes);
    /* and one that deduplicates against the chunks of a stripe that gc
     * compacts */
    assert_int_equal(obj_put(c->s, "part-again", c->part, c->part_len), 0);
    return NULL;
}

/* gc's progress callback runs between steps, with no lock held. After the
 * first step of each phase, a put is started in another
 * thread and waited for: it can only finish if gc gave the exclusive lock
 * back (otherwise this test hangs and meson's timeout fails it). */
static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    ctx_t *c = arg;
    static const char *phases[] = {"gc-zero", "gc-compact", "gc-garbage", "gc-orphans"};
    int ph = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(phase, phases[i]) == 0) ph = i;
    assert_true(ph >= 0);
    if (c->probe_phases[ph]) return;
    c->mid[ph] = done < total;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, probe_put, c), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    c->probe_phases[ph] = 1;
    c->probes++;
}

static void test_puts_complete_during_gc(void **state)
{
    (void)state;
    static ctx_t c;
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.log.mu, NULL);
    hs_objects_t *s = c.s = open_store();
    char name[64];
    enum { NGARB = 700 };
    /* many garbage stripes: small objects, a stripe each, deleted */
    for (int i = 0; i < NGARB; i++) {
        uint8_t *p = rnd(2000 + (size_t)i, 7000 + (uint64_t)i);
        snprintf(name, sizeof(name), "garb/%d", i);
        assert_int_equal(obj_put(s, name, p, 2000 + (size_t)i), 0);
        free(p);
    }
    for (int i = 0; i < NGARB; i++) {
        snprintf(name, sizeof(name), "garb/%d", i);
        assert_int_equal(hs_obj_delete(s, name), 0);
    }
    /* a stripe left mostly dead: "part" shares the first chunks of "mix" */
    size_t mix_len = 900000;
    uint8_t *mix = rnd(mix_len, 42);
    assert_int_equal(obj_put(s, "mix", mix, mix_len), 0);
    c.part = mix;
    c.part_len = 120000;
    assert_int_equal(obj_put(s, "part", mix, c.part_len), 0);
    assert_int_equal(hs_obj_delete(s, "mix"), 0);
    /* objects that stay */
    for (int i = 0; i < 20; i++)
        put_logged(&c, "keep", 5000 + (size_t)i * 3000, 900 + (uint64_t)i);
    /* orphans: files of writers killed before their commit, and a temp
     * file of an interrupted repair */
    for (int i = 0; i < NGARB; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/drives/d%02d/%016llx.%d", dir, i % 6,
                 0x5a00000000000000ull + (unsigned long long)i, i % 6);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("orphan", f);
        fclose(f);
    }
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/drives/d00/0123456789abcdef.0.tmp77", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_putter, &c), 0);
    hs_obj_maint_opts_t mo = {.progress = on_progress, .progress_arg = &c};
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_gc(s, &mo, &rep), 0);
    atomic_store(&c.stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);

    /* a put ran in a gap of every phase; the queues and the orphan list
     * were spread over several exclusive steps */
    assert_int_equal(c.probes, 4);
    assert_true(c.mid[0] && c.mid[2] && c.mid[3]);
    assert_true(rep.chunks_freed >= NGARB);
    assert_true(rep.stripes_freed >= NGARB);
    assert_true(rep.stripes_compacted >= 1);
    assert_true(rep.orphans_removed >= NGARB + 1);

    hs_obj_report_t fr;
    assert_int_equal(hs_objects_fsck(s, NULL, &fr), 0);
    assert_int_equal(fr.orphans, 0);
    assert_int_equal(fr.refs_fixed, 0);
    assert_int_equal(fr.chunks_missing, 0);
    assert_int_equal(fr.frags_missing, 0);
    for (int i = 0; i < c.log.n; i++) {
        uint8_t *p = rnd(c.log.sizes[i], c.log.seeds[i]);
        expect_read(s, c.log.names[i], p, c.log.sizes[i]);
        free(p);
    }
    expect_read(s, "part", mix, c.part_len);
    expect_read(s, "part-again", mix, c.part_len);
    assert_int_equal(hs_obj_stat(s, "garb/0", &(hs_obj_info_t){0}), HS_ENOENT);
    /* a second gc finds only what the last puts' deletes left */
    assert_int_equal(hs_objects_gc(s, NULL, &rep), 0);
    assert_int_equal(rep.orphans, 0);
    assert_int_equal(hs_objects_fsck(s, NULL, &fr), 0);
    free(mix);
    hs_objects_close(s);
    pthread_mutex_destroy(&c.log.mu);
}

/* A background gc does not wait for an open writer: it ends early with
 * HS_EBUSY and frees nothing; once the writer commits, a run does it all
 * and the writer's object survives. */
static void test_nonblock_gives_way(void **state)
{
    (void)state;
    hs_objects_t *s = open_store();
    uint8_t *p = rnd(50000, 3);
    assert_int_equal(obj_put(s, "a", p, 50000), 0);
    assert_int_equal(hs_obj_delete(s, "a"), 0);
    hs_obj_writer_t *w;
    assert_int_equal(hs_obj_put_begin(s, "b", NULL, &w), 0);
    assert_int_equal(hs_obj_put_write(w, p, 50000), 0);
    hs_obj_maint_opts_t mo = {.nonblock = true};
    hs_obj_report_t rep;
    assert_int_equal(hs_objects_gc(s, &mo, &rep), HS_EBUSY);
    assert_int_equal(rep.chunks_freed, 0);
    assert_int_equal(rep.stripes_freed, 0);
    assert_int_equal(hs_obj_put_commit(w, NULL), 0);
    /* "b" has the same bytes: its put deduplicated against the chunks
     * queued at 0, so nothing is freed and "b" reads back */
    assert_int_equal(hs_objects_gc(s, &mo, &rep), 0);
    assert_int_equal(rep.chunks_freed, 0);
    expect_read(s, "b", p, 50000);
    assert_int_equal(hs_obj_delete(s, "b"), 0);
    assert_int_equal(hs_objects_gc(s, &mo, &rep), 0);
    assert_true(rep.chunks_freed > 0);
    assert_int_equal(rep.stripes_freed, 1);
    hs_obj_report_t fr;
    assert_int_equal(hs_objects_fsck(s, NULL, &fr), 0);
    assert_int_equal(fr.chunks, 0);
    assert_int_equal(fr.stripes, 0);
    free(p);
    hs_objects_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_puts_complete_during_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonblock_gives_way, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
