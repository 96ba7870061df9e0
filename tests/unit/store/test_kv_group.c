/* Unit tests of group commit (hs_kv_group_run) over the LMDB engine:
 * per-caller results, failures confined to their caller, grouping, and
 * the fallback for engines without child transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/kv-int.h"
#include "store/kv.h"
#include "tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return tmp_make(dir, sizeof(dir), "kvg") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tmp_rm(dir);
    return 0;
}

/* A call puts its own key (and a counter bump), then fails if asked:
 * the failure must take back both writes and nobody else's. */
typedef struct call {
    int thread, seq;
    int fail;
    int ret; /* what fn returns when it does not fail */
} call_t;

static int put_fn(hs_kv_txn_t *txn, void *arg)
{
    call_t *c = arg;
    char k[32];
    int n = snprintf(k, sizeof(k), "k%02d-%04d", c->thread, c->seq);
    int rc = hs_kv_put(txn, k, (size_t)n, &c->seq, sizeof(c->seq));
    if (rc < 0) return rc;
    /* A shared key every call read-modify-writes: a dropped child must not
     * lose the increments of the calls before it in the same group. */
    hs_kv_val_t v;
    uint64_t cnt = 0;
    rc = hs_kv_get(txn, "count", 5, &v);
    if (rc == 0)
        memcpy(&cnt, v.data, sizeof(cnt));
    else if (rc != HS_ENOENT)
        return rc;
    cnt++;
    if ((rc = hs_kv_put(txn, "count", 5, &cnt, sizeof(cnt))) < 0) return rc;
    return c->fail ? HS_EINVAL : c->ret;
}

#define THREADS 8
#define CALLS 40

static hs_kv_t *shared_kv;

static void *hammer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < CALLS; i++) {
        call_t c = {.thread = t, .seq = i, .fail = (t + i) % 5 == 0, .ret = i % 3};
        int rc = hs_kv_group_run(shared_kv, put_fn, &c);
        if (rc != (c.fail ? HS_EINVAL : c.ret)) return (void *)1;
    }
    return NULL;
}

static void check_store(hs_kv_t *kv, uint64_t want_count)
{
    void *v;
    size_t vl;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < CALLS; i++) {
            char k[32];
            int n = snprintf(k, sizeof(k), "k%02d-%04d", t, i);
            int rc = hs_kv_get1(kv, k, (size_t)n, &v, &vl);
            if ((t + i) % 5 == 0) {
                assert_int_equal(rc, HS_ENOENT);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(vl, sizeof(int));
            assert_memory_equal(v, &i, sizeof(int));
            free(v);
        }
    assert_int_equal(hs_kv_get1(kv, "count", 5, &v, &vl), 0);
    uint64_t cnt;
    memcpy(&cnt, v, sizeof(cnt));
    free(v);
    assert_int_equal(cnt, want_count);
}

static void test_many_threads_results_and_reopen(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &shared_kv), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, hammer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    hs__kv_group_stats_t st;
    hs__kv_group_stats(shared_kv, &st);
    assert_int_equal(st.calls, THREADS * CALLS);
    assert_true(st.groups >= 1 && st.groups <= st.calls);
    assert_int_equal(st.queued, 0);
    hs_kv_close(shared_kv);

    int ok = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < CALLS; i++)
            ok += (t + i) % 5 != 0;
    hs_kv_t *kv;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    check_store(kv, (uint64_t)ok);
    hs_kv_close(kv);
}

/* The first call holds its group open (inside fn) until N more callers
 * have queued: they must all go into the next group, together, and the
 * failing ones among them must drop only their own writes. */
#define WAITERS 10
static atomic_int in_fn;

static int hold_fn(hs_kv_txn_t *txn, void *arg)
{
    (void)arg;
    atomic_store(&in_fn, 1);
    for (;;) {
        hs__kv_group_stats_t st;
        hs__kv_group_stats(shared_kv, &st);
        if (st.queued == WAITERS) break;
        sched_yield();
    }
    return hs_kv_put(txn, "held", 4, "x", 1);
}

static void *hold_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)hs_kv_group_run(shared_kv, hold_fn, NULL);
}

static void *one_call(void *arg)
{
    call_t *c = arg;
    return (void *)(intptr_t)hs_kv_group_run(shared_kv, put_fn, c);
}

static void test_followers_share_one_commit(void **state)
{
    (void)state;
    pthread_t holder, th[WAITERS];
    call_t calls[WAITERS];
    atomic_store(&in_fn, 0);
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &shared_kv), 0);
    assert_int_equal(pthread_create(&holder, NULL, hold_thread, NULL), 0);
    while (!atomic_load(&in_fn))
        sched_yield();
    for (int i = 0; i < WAITERS; i++) {
        calls[i] = (call_t){.thread = 0, .seq = i, .fail = i % 3 == 1, .ret = 0};
        assert_int_equal(pthread_create(&th[i], NULL, one_call, &calls[i]), 0);
    }
    void *ret;
    pthread_join(holder, &ret);
    assert_int_equal((intptr_t)ret, 0);
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(th[i], &ret);
        assert_int_equal((intptr_t)ret, calls[i].fail ? HS_EINVAL : 0);
    }
    hs__kv_group_stats_t st;
    hs__kv_group_stats(shared_kv, &st);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.calls, WAITERS + 1);
    hs_kv_close(shared_kv);

    hs_kv_t *kv;
    void *v;
    size_t vl;
    uint64_t ok = 0;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    assert_int_equal(hs_kv_get1(kv, "held", 4, &v, &vl), 0);
    free(v);
    for (int i = 0; i < WAITERS; i++) {
        char k[32];
        int n = snprintf(k, sizeof(k), "k00-%04d", i);
        assert_int_equal(hs_kv_get1(kv, k, (size_t)n, &v, &vl), calls[i].fail ? HS_ENOENT : 0);
        if (!calls[i].fail) {
            free(v);
            ok++;
        }
    }
    assert_int_equal(hs_kv_get1(kv, "count", 5, &v, &vl), 0);
    assert_memory_equal(v, &ok, sizeof(ok));
    free(v);
    hs_kv_close(kv);
}

/* An engine without child transactions: each call is its own commit. */
static void test_engine_without_children(void **state)
{
    (void)state;
    hs_kv_ops_t plain = hs_kv_lmdb_ops;
    plain.txn_child = NULL;
    hs_kv_t *kv;
    void *v;
    size_t vl;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    kv->ops = &plain;
    call_t good = {.thread = 1, .seq = 1, .ret = 7}, bad = {.thread = 1, .seq = 2, .fail = 1};
    assert_int_equal(hs_kv_group_run(kv, put_fn, &good), 7);
    assert_int_equal(hs_kv_group_run(kv, put_fn, &bad), HS_EINVAL);
    hs__kv_group_stats_t st;
    hs__kv_group_stats(kv, &st);
    assert_int_equal(st.groups, 0);
    assert_int_equal(hs_kv_get1(kv, "k01-0001", 8, &v, &vl), 0);
    free(v);
    assert_int_equal(hs_kv_get1(kv, "k01-0002", 8, &v, &vl), HS_ENOENT);
    hs_kv_close(kv);
}

/* A group whose every call fails commits nothing and reports each error. */
static void test_all_fail(void **state)
{
    (void)state;
    hs_kv_t *kv;
    void *v;
    size_t vl;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    call_t bad = {.thread = 2, .seq = 1, .fail = 1};
    assert_int_equal(hs_kv_group_run(kv, put_fn, &bad), HS_EINVAL);
    assert_int_equal(hs_kv_get1(kv, "count", 5, &v, &vl), HS_ENOENT);
    hs_kv_close(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_threads_results_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_followers_share_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_without_children, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
