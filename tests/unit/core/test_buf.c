/* Unit tests for src/core/buf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

static void test_append_consume(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_buf_len(&b), 0);
    assert_int_equal(hs_buf_space_len(&b), 0);
    assert_int_equal(hs_buf_append(&b, "hello ", 6), 0);
    assert_int_equal(hs_buf_append(&b, "world", 5), 0);
    assert_int_equal(hs_buf_len(&b), 11);
    assert_memory_equal(hs_buf_data(&b), "hello world", 11);
    hs_buf_consume(&b, 6);
    assert_int_equal(hs_buf_len(&b), 5);
    assert_memory_equal(hs_buf_data(&b), "world", 5);
    assert_int_equal(b.off, 6);
    hs_buf_consume(&b, 5);
    assert_int_equal(hs_buf_len(&b), 0);
    assert_int_equal(b.off, 0); /* emptied: restarts at the front */
    assert_int_equal(hs_buf_append(&b, NULL, 0), 0);
    hs_buf_free(&b);
    assert_null(b.base);
    assert_int_equal(b.cap, 0);
}

static void test_reserve_compacts_before_growing(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_buf_reserve(&b, 100), 0);
    size_t cap = b.cap;
    assert_true(cap >= 100);
    char *base = b.base;
    /* fill completely, consume most from the front */
    char fill[4096];
    memset(fill, 'x', sizeof(fill));
    fill[cap - 1] = 'y';
    assert_int_equal(hs_buf_append(&b, fill, cap), 0);
    assert_int_equal(hs_buf_space_len(&b), 0);
    hs_buf_consume(&b, cap - 10);
    /* 50 bytes fit once the consumed prefix is reclaimed: no realloc */
    assert_int_equal(hs_buf_reserve(&b, 50), 0);
    assert_ptr_equal(b.base, base);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.off, 0);
    assert_int_equal(hs_buf_len(&b), 10);
    assert_int_equal(hs_buf_data(&b)[9], 'y');
    assert_true(hs_buf_space_len(&b) >= 50);
    /* now more than the capacity: grows (at least doubling), data kept */
    assert_int_equal(hs_buf_reserve(&b, cap), 0);
    assert_true(b.cap >= 2 * cap);
    assert_int_equal(hs_buf_len(&b), 10);
    assert_int_equal(hs_buf_data(&b)[9], 'y');
    assert_int_equal(hs_buf_data(&b)[0], 'x');
    hs_buf_free(&b);
}

static void test_read_style_commit(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_buf_reserve(&b, 8), 0);
    memcpy(hs_buf_space(&b), "abcdefgh", 8); /* as read(2) would */
    hs_buf_commit(&b, 8);
    assert_int_equal(hs_buf_len(&b), 8);
    assert_memory_equal(hs_buf_data(&b), "abcdefgh", 8);
    assert_ptr_equal(hs_buf_space(&b), hs_buf_data(&b) + 8);
    hs_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_buf_printf(&b, "%s=%d;", "a", 1), 0); /* from empty */
    assert_int_equal(hs_buf_len(&b), 4);
    assert_memory_equal(hs_buf_data(&b), "a=1;", 4);
    /* larger than the space left: grows and retries */
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(hs_buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(hs_buf_len(&b), 4 + 2 + 2999);
    assert_int_equal(hs_buf_data(&b)[4], '[');
    assert_int_equal(hs_buf_data(&b)[4 + 1 + 2999], ']');
    assert_int_equal(hs_buf_data(&b)[hs_buf_len(&b)], '\0'); /* terminated, not counted */
    /* exactly filling the space: the NUL needs one more byte */
    hs_buf_t c = HS_BUF_INIT;
    assert_int_equal(hs_buf_reserve(&c, 1), 0);
    size_t space = hs_buf_space_len(&c);
    char *exact = malloc(space + 1);
    memset(exact, 'q', space);
    exact[space] = '\0';
    assert_int_equal(hs_buf_printf(&c, "%s", exact), 0);
    assert_int_equal(hs_buf_len(&c), space);
    assert_memory_equal(hs_buf_data(&c), exact, space);
    free(exact);
    hs_buf_free(&c);
    hs_buf_free(&b);
}

static void test_enomem(void **state)
{
    (void)state;
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_buf_append(&b, "abc", 3), 0);
    assert_int_equal(hs_buf_reserve(&b, SIZE_MAX), HS_ENOMEM);
    assert_int_equal(hs_buf_reserve(&b, SIZE_MAX / 2), HS_ENOMEM);
    /* unchanged after the failure */
    assert_int_equal(hs_buf_len(&b), 3);
    assert_memory_equal(hs_buf_data(&b), "abc", 3);
    hs_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consume),
        cmocka_unit_test(test_reserve_compacts_before_growing),
        cmocka_unit_test(test_read_style_commit),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
