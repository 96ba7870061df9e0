/* Unit tests for src/core/arena.c, including (under ASan) that the debug
 * mode really reports overflows and use after reset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/asan.h"

static void test_alignment(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 1024);
    char *prev = NULL;
    for (size_t n = 0; n < 200; n++) {
        char *p = hs_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % HS_ARENA_ALIGN, 0);
        assert_ptr_not_equal(p, prev); /* even n = 0 gives a distinct pointer */
        memset(p, (int)n, n);
        prev = p;
    }
    hs_arena_free(&a);
}

static void test_growth_keeps_contents(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 256);
    enum { N = 500 };
    unsigned char *ptrs[N];
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 7) % 60;
        ptrs[i] = hs_arena_alloc(&a, n);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], i & 0xff, n);
    }
    /* far more than one first block: several chained blocks now */
    assert_true(hs_arena_bytes(&a) > 256 * 4);
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 7) % 60;
        for (size_t k = 0; k < n; k++)
            assert_int_equal(ptrs[i][k], i & 0xff);
        /* allocations never overlap */
        for (int j = i + 1; j < N && j < i + 8; j++)
            assert_true(ptrs[j] >= ptrs[i] + n || ptrs[j] + 1 <= ptrs[i]);
    }
    hs_arena_free(&a);
    assert_int_equal(hs_arena_bytes(&a), 0);
}

static void test_reset_reuses_first_block(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 4096);
    assert_int_equal(hs_arena_bytes(&a), 0); /* lazy: nothing yet */
    char *first = hs_arena_alloc(&a, 100);
    assert_non_null(first);
    assert_int_equal(hs_arena_bytes(&a), 4096);
    for (int i = 0; i < 200; i++)
        assert_non_null(hs_arena_alloc(&a, 100));
    assert_true(hs_arena_bytes(&a) > 4096);
    hs_arena_reset(&a);
    assert_int_equal(hs_arena_bytes(&a), 4096);
    /* the next allocation starts over at the front of the kept block */
    assert_ptr_equal(hs_arena_alloc(&a, 100), first);
    hs_arena_reset(&a);
    hs_arena_reset(&a); /* idempotent */
    assert_ptr_equal(hs_arena_alloc(&a, 1), first);
    hs_arena_free(&a);
    /* usable again after free */
    assert_non_null(hs_arena_alloc(&a, 10));
    assert_int_equal(hs_arena_bytes(&a), 4096);
    hs_arena_free(&a);
}

static void test_large(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 0); /* default first block */
    char *small = hs_arena_alloc(&a, 16);
    assert_non_null(small);
    size_t before = hs_arena_bytes(&a);
    char *big = hs_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % HS_ARENA_ALIGN, 0);
    memset(big, 0xab, 1 << 20);
    assert_true(hs_arena_bytes(&a) >= before + (1 << 20));
    /* the big block did not waste the current block: next small one is
     * right after the first */
    char *small2 = hs_arena_alloc(&a, 16);
    assert_true(small2 > small && small2 - small <= 64);
    assert_int_equal((unsigned char)big[(1 << 20) - 1], 0xab);
    hs_arena_reset(&a);
    assert_int_equal(hs_arena_bytes(&a), before); /* big block released */
    /* impossible sizes fail cleanly */
    assert_null(hs_arena_alloc(&a, SIZE_MAX));
    assert_null(hs_arena_alloc(&a, SIZE_MAX / 2 + 1));
    hs_arena_free(&a);
}

static void test_strndup(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 128);
    char *s = hs_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    s = hs_arena_strndup(&a, "hi", 100); /* stops at the NUL */
    assert_string_equal(s, "hi");
    const char raw[3] = {'a', 'b', 'c'}; /* not terminated */
    s = hs_arena_strndup(&a, raw, 3);
    assert_string_equal(s, "abc");
    s = hs_arena_strndup(&a, "", 0);
    assert_string_equal(s, "");
    hs_arena_free(&a);
}

#ifdef HS_ASAN
static void test_asan_poisoning(void **state)
{
    (void)state;
    hs_arena_t a;
    hs_arena_init(&a, 1024);
    char *p = hs_arena_alloc(&a, 10);
    char *q = hs_arena_alloc(&a, 32);
    assert_false(__asan_address_is_poisoned(p));
    assert_false(__asan_address_is_poisoned(p + 9));
    assert_true(__asan_address_is_poisoned(p + 10)); /* exact size, not rounded */
    assert_true(__asan_address_is_poisoned(q - 1));  /* red zone before q */
    assert_true(__asan_address_is_poisoned(q + 32));
    char *big = hs_arena_alloc(&a, 100000);
    assert_true(__asan_address_is_poisoned(big + 100000));
    hs_arena_reset(&a);
    assert_true(__asan_address_is_poisoned(p));
    assert_true(__asan_address_is_poisoned(q + 5));
    hs_arena_free(&a);
}

/* A real one-byte overflow must kill the process with an ASan report. */
static void test_asan_reports_overflow(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* keep the expected report out of the test log */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        hs_arena_t a;
        hs_arena_init(&a, 1024);
        volatile char *p = hs_arena_alloc(&a, 24);
        hs_arena_alloc(&a, 24);
        p[24] = 1;
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
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_reset_reuses_first_block),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_strndup),
#ifdef HS_ASAN
        cmocka_unit_test(test_asan_poisoning),
        cmocka_unit_test(test_asan_reports_overflow),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
