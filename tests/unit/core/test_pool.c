/* Unit tests for src/core/pool.c: bounds, reuse, counters, and (under
 * ASan) poisoning of free objects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/asan.h"
#include "core/pool.h"

static void test_max_live_bound(void **state)
{
    (void)state;
    hs_pool_t p;
    hs_pool_init(&p, 100, 8, 3);
    void *o[3];
    for (int i = 0; i < 3; i++) {
        o[i] = hs_pool_get(&p);
        assert_non_null(o[i]);
        memset(o[i], i, 100);
    }
    assert_int_equal(hs_pool_live(&p), 3);
    assert_null(hs_pool_get(&p)); /* back-pressure */
    assert_null(hs_pool_get(&p));
    assert_int_equal(hs_pool_live(&p), 3);
    hs_pool_put(&p, o[1]);
    assert_int_equal(hs_pool_live(&p), 2);
    void *again = hs_pool_get(&p);
    assert_ptr_equal(again, o[1]); /* reused, not reallocated */
    assert_null(hs_pool_get(&p));
    hs_pool_put(&p, o[0]);
    hs_pool_put(&p, again);
    hs_pool_put(&p, o[2]);
    assert_int_equal(hs_pool_live(&p), 0);
    assert_int_equal(hs_pool_nfree(&p), 3);
    hs_pool_destroy(&p);
    assert_int_equal(hs_pool_nfree(&p), 0);
}

static void test_reuse_and_max_free(void **state)
{
    (void)state;
    hs_pool_t p;
    hs_pool_init(&p, 1, 2, 0); /* tiny objects, unlimited live */
    void *o[6];
    for (int i = 0; i < 6; i++) {
        o[i] = hs_pool_get(&p);
        assert_non_null(o[i]);
        assert_int_equal((uintptr_t)o[i] % 16, 0);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(o[i], o[j]);
    }
    assert_int_equal(hs_pool_live(&p), 6);
    for (int i = 0; i < 6; i++)
        hs_pool_put(&p, o[i]);
    /* only max_free are kept; the rest went back to malloc */
    assert_int_equal(hs_pool_nfree(&p), 2);
    assert_int_equal(hs_pool_live(&p), 0);
    /* LIFO: the most recently kept object comes back first (warm cache) */
    void *a = hs_pool_get(&p);
    void *b = hs_pool_get(&p);
    assert_ptr_equal(a, o[1]);
    assert_ptr_equal(b, o[0]);
    assert_int_equal(hs_pool_nfree(&p), 0);
    void *c = hs_pool_get(&p); /* fresh */
    assert_non_null(c);
    hs_pool_put(&p, a);
    hs_pool_put(&p, b);
    hs_pool_put(&p, c);
    hs_pool_destroy(&p);
}

static void test_many_unlimited(void **state)
{
    (void)state;
    hs_pool_t p;
    hs_pool_init(&p, 48, 1000, 0);
    static void *o[2000];
    for (int i = 0; i < 2000; i++) {
        o[i] = hs_pool_get(&p);
        assert_non_null(o[i]);
        memset(o[i], 0x5a, 48);
    }
    for (int i = 0; i < 2000; i++)
        hs_pool_put(&p, o[i]);
    assert_int_equal(hs_pool_nfree(&p), 1000);
    hs_pool_destroy(&p); /* LeakSanitizer checks the rest */
}

#ifdef HS_ASAN
static void test_asan_poisons_free_objects(void **state)
{
    (void)state;
    hs_pool_t p;
    hs_pool_init(&p, 64, 4, 0);
    char *o = hs_pool_get(&p);
    assert_false(__asan_address_is_poisoned(o + 63));
    hs_pool_put(&p, o);
    assert_true(__asan_address_is_poisoned(o));
    assert_true(__asan_address_is_poisoned(o + 63));
    char *again = hs_pool_get(&p);
    assert_ptr_equal(again, o);
    assert_false(__asan_address_is_poisoned(o + 63));
    hs_pool_put(&p, again);
    hs_pool_destroy(&p);
}

static void test_asan_reports_use_after_put(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        hs_pool_t p;
        hs_pool_init(&p, 64, 4, 0);
        volatile char *o = hs_pool_get(&p);
        hs_pool_put(&p, (void *)o);
        o[10] = 1;
        _exit(0); /* not reached under ASan */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_live_bound),
        cmocka_unit_test(test_reuse_and_max_free),
        cmocka_unit_test(test_many_unlimited),
#ifdef HS_ASAN
        cmocka_unit_test(test_asan_poisons_free_objects),
        cmocka_unit_test(test_asan_reports_use_after_put),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
