/*
 * Multipart completes under group commit (src/origin/meta_mpu.c): many
 * threads completing uploads while others PUT, so that completes share
 * commits with each other and with PUTs, and two threads racing to
 * complete one upload. Results are gathered in the threads and checked on
 * the main thread (cmocka's asserts are not for other threads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "origin/meta.h"
#include "store/tmpdir.h"

#define MiB (1u << 20)
#define NCOMPLETE 8 /* threads completing their own upload */
#define NPUT 4      /* threads putting plain objects meanwhile */
#define PUTS 16     /* puts per put thread */

static const char *E1 = "0cc175b9c0f1b6a831c399e269772661"; /* md5("a") */
static const char *E2 = "92eb5ffee6ae2fec3ad71c777531578f"; /* md5("b") */

typedef struct job {
    hs_meta_t *m;
    pthread_barrier_t *go;
    char key[32];
    char id[65];
    int rc;
    hs_meta_obj_t *rec;
    hs_meta_dropped_t dropped;
} job_t;

static hs_meta_obj_t tmpl(void)
{
    hs_meta_obj_t t;
    memset(&t, 0, sizeof(t));
    t.content_type = "application/octet-stream";
    t.storage_class = "STANDARD";
    return t;
}

/* An upload of key with parts 1 (5 MiB, E1), 2 (1 byte, E2) and 3 (unused
 * by complete, so it comes back dropped), part objects named after key. */
static void upload(hs_meta_t *m, const char *key, char id[65])
{
    hs_meta_obj_t t = tmpl();
    hs_meta_dropped_t d = {0};
    assert_int_equal(hs_meta_mpu_create(m, "b", key, strlen(key), &t, id), 0);
    const char *etags[3] = {E1, E2, E2};
    uint64_t sizes[3] = {5 * MiB, 1, 1};
    for (unsigned n = 1; n <= 3; n++) {
        char name[48];
        snprintf(name, sizeof(name), "%s.p%u", key, n);
        hs_meta_part_t p = {etags[n - 1], sizes[n - 1], name, 1700000000000000000};
        assert_int_equal(hs_meta_mpu_part_put(m, "b", id, n, &p, &d), 0);
    }
    assert_int_equal(d.n, 0);
}

static void *complete_thread(void *arg)
{
    job_t *j = arg;
    hs_meta_complete_part_t parts[2] = {{1, E1}, {2, E2}};
    pthread_barrier_wait(j->go);
    j->rc = hs_meta_mpu_complete(j->m, "b", j->id, parts, 2, &j->rec, &j->dropped);
    return NULL;
}

static void *put_thread(void *arg)
{
    job_t *j = arg;
    pthread_barrier_wait(j->go);
    for (int i = 0; i < PUTS && j->rc == 0; i++) {
        char key[48];
        snprintf(key, sizeof(key), "%s/%d", j->key, i);
        hs_meta_seg_t s = {key, 3};
        hs_meta_obj_t r = tmpl();
        r.size = 3;
        r.mtime_ns = 1700000000000000000;
        r.etag = E1;
        r.segs = &s;
        r.nsegs = 1;
        j->rc = hs_meta_obj_put(j->m, "b", key, strlen(key), &r, &j->dropped);
    }
    return NULL;
}

static void test_completes_and_puts_together(void **state)
{
    (void)state;
    char dir[256];
    hs_meta_t *m;
    assert_non_null(tmp_make(dir, sizeof(dir), "mpugroup"));
    assert_int_equal(hs_meta_open_opts(dir, true, &m), 0);
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    snprintf(b.region, sizeof(b.region), "us-east-1");
    assert_int_equal(hs_meta_bucket_create(m, "b", &b), 0);
    /* One upload per completer, plus one that two completers race for. */
    enum { NJOBS = NCOMPLETE + 2 + NPUT };
    job_t jobs[NJOBS];
    pthread_t th[NJOBS];
    pthread_barrier_t go;
    memset(jobs, 0, sizeof(jobs));
    pthread_barrier_init(&go, NULL, NJOBS);
    char shared_id[65];
    upload(m, "race", shared_id);
    for (int i = 0; i < NJOBS; i++) {
        jobs[i].m = m;
        jobs[i].go = &go;
        if (i < NCOMPLETE) {
            snprintf(jobs[i].key, sizeof(jobs[i].key), "mpu%d", i);
            upload(m, jobs[i].key, jobs[i].id);
        } else if (i < NCOMPLETE + 2) {
            snprintf(jobs[i].key, sizeof(jobs[i].key), "race");
            memcpy(jobs[i].id, shared_id, sizeof(shared_id));
        } else {
            snprintf(jobs[i].key, sizeof(jobs[i].key), "put%d", i);
        }
    }
    for (int i = 0; i < NJOBS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, i < NCOMPLETE + 2 ? complete_thread : put_thread,
                                        &jobs[i]),
                         0);
    for (int i = 0; i < NJOBS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);

    for (int i = 0; i < NCOMPLETE; i++) {
        job_t *j = &jobs[i];
        char p3[48];
        snprintf(p3, sizeof(p3), "%s.p3", j->key);
        assert_int_equal(j->rc, 0);
        assert_non_null(j->rec);
        assert_int_equal(j->rec->size, 5 * MiB + 1);
        assert_int_equal(j->rec->nsegs, 2);
        /* the unlisted part, and nothing else (no earlier object) */
        assert_int_equal(j->dropped.n, 1);
        assert_string_equal(j->dropped.names[0], p3);
        hs_meta_obj_t *o;
        assert_int_equal(hs_meta_obj_get(m, "b", j->key, strlen(j->key), &o), 0);
        assert_string_equal(o->etag, j->rec->etag);
        hs_meta_obj_free(o);
        hs_meta_mpu_t *u;
        assert_int_equal(hs_meta_mpu_get(m, "b", j->id, &u), HS_ENOENT);
    }
    /* Serial isolation inside a group: exactly one racer finds the upload. */
    job_t *r0 = &jobs[NCOMPLETE], *r1 = &jobs[NCOMPLETE + 1];
    assert_true((r0->rc == 0 && r1->rc == HS_ENOENT) || (r0->rc == HS_ENOENT && r1->rc == 0));
    job_t *win = r0->rc == 0 ? r0 : r1, *lose = r0->rc == 0 ? r1 : r0;
    assert_non_null(win->rec);
    assert_int_equal(win->dropped.n, 1);
    assert_null(lose->rec);
    assert_int_equal(lose->dropped.n, 0);
    for (int i = NCOMPLETE + 2; i < NJOBS; i++) {
        assert_int_equal(jobs[i].rc, 0);
        char key[48];
        snprintf(key, sizeof(key), "%s/%d", jobs[i].key, PUTS - 1);
        hs_meta_obj_t *o;
        assert_int_equal(hs_meta_obj_get(m, "b", key, strlen(key), &o), 0);
        hs_meta_obj_free(o);
    }
    for (int i = 0; i < NJOBS; i++) {
        hs_meta_obj_free(jobs[i].rec);
        hs_meta_dropped_free(&jobs[i].dropped);
    }
    hs_meta_close(m);
    tmp_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completes_and_puts_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
