/* Unit tests of the Reed-Solomon codec: every pattern of up to P lost
 * fragments is rebuilt byte-exact; P+1 losses are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "objects/ec.h"

static void check_geometry(int d, int p, size_t len)
{
    hs_ec_t ec;
    int n = d + p;
    assert_int_equal(hs_ec_init(&ec, d, p), 0);
    uint8_t *orig[HS_EC_MAX], *work[HS_EC_MAX];
    for (int i = 0; i < n; i++) {
        orig[i] = malloc(len);
        work[i] = malloc(len);
    }
    for (int i = 0; i < d; i++)
        for (size_t j = 0; j < len; j++)
            orig[i][j] = (uint8_t)(rand() >> 3);
    hs_ec_encode(&ec, len, orig, orig + d);
    /* every subset of lost fragments of size <= p */
    for (unsigned mask = 1; mask < (1u << n); mask++) {
        int lost = __builtin_popcount(mask);
        uint8_t have[HS_EC_MAX], want[HS_EC_MAX];
        for (int i = 0; i < n; i++) {
            have[i] = !(mask & (1u << i));
            want[i] = 1;
            memcpy(work[i], orig[i], len);
            if (!have[i]) memset(work[i], 0xAA, len);
        }
        int rc = hs_ec_rebuild(&ec, len, work, have, want);
        if (lost > p) {
            assert_int_equal(rc, HS_EIO);
            continue;
        }
        assert_int_equal(rc, 0);
        for (int i = 0; i < n; i++)
            assert_memory_equal(work[i], orig[i], len);
    }
    for (int i = 0; i < n; i++) {
        free(orig[i]);
        free(work[i]);
    }
    hs_ec_free(&ec);
}

static void test_geometries(void **state)
{
    (void)state;
    check_geometry(4, 2, 4096);
    check_geometry(2, 1, 1000); /* odd length */
    check_geometry(6, 3, 512);
    check_geometry(8, 4, 64);
    check_geometry(1, 1, 100); /* mirror */
}

static void test_bad_geometry(void **state)
{
    (void)state;
    hs_ec_t ec;
    assert_int_equal(hs_ec_init(&ec, 0, 2), HS_EINVAL);
    assert_int_equal(hs_ec_init(&ec, 30, 3), HS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometries),
        cmocka_unit_test(test_bad_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
