/* Unit tests of the write path's parallel and shared syncs (syncer.c):
 * per-op results, missing paths, and many threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/syncer.h"
#define OBJ_FIXTURE_TAG "sync"
#include "fixture.h"

static void make_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "data", 4), 4);
    close(fd);
}

static void test_results_per_op(void **state)
{
    (void)state;
    char f[4][300], gone[300], nodir[300];
    for (int i = 0; i < 4; i++) {
        snprintf(f[i], sizeof(f[i]), "%s/f%d", dir, i);
        make_file(f[i]);
    }
    snprintf(gone, sizeof(gone), "%s/missing", dir);
    snprintf(nodir, sizeof(nodir), "%s/nodir", dir);
    hs__sync_op_t ops[] = {
        {.path = f[0]},
        {.path = f[1]},
        {.path = gone},
        {.path = dir, .dir = true},
        {.path = f[2]},
        {.path = f[3]},
        {.path = nodir, .dir = true},
    };
    for (size_t i = 0; i < 7; i++)
        ops[i].rc = 1;
    hs__sync_run(ops, 7);
    int want[] = {0, 0, HS_ENOENT, 0, 0, 0, HS_ENOENT};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(ops[i].rc, want[i]);
    /* one op and no op run on the caller's thread */
    hs__sync_run(ops + 2, 1);
    assert_int_equal(ops[2].rc, HS_ENOENT);
    hs__sync_run(NULL, 0);
}

#define THREADS 8
#define ROUNDS 40

static void *writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        char f[6][300];
        hs__sync_op_t ops[7];
        for (int i = 0; i < 6; i++) {
            snprintf(f[i], sizeof(f[i]), "%s/t%d-r%d-%d", dir, t, r, i);
            int fd = open(f[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || write(fd, "x", 1) != 1) return (void *)1;
            close(fd);
            ops[i] = (hs__sync_op_t){.path = f[i], .rc = 1};
        }
        ops[6] = (hs__sync_op_t){.path = dir, .dir = true, .rc = 1};
        hs__sync_run(ops, 6);
        hs__sync_run(ops + 6, 1);
        for (int i = 0; i < 7; i++)
            if (ops[i].rc != 0) return (void *)2;
        if (hs__dir_sync(dir) != 0) return (void *)3;
    }
    return NULL;
}

static void test_many_threads(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_results_per_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
