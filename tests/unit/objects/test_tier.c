/* Unit tests of the access model and tier policy (pure functions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "objects/tier.h"

#define HOUR (3600ull * 1000000000ull)

static void test_decay_halves(void **state)
{
    (void)state;
    double s = hs_access_decay(8.0, 0, 24 * HOUR, 24 * HOUR);
    assert_true(fabs(s - 4.0) < 1e-9);
    assert_true(fabs(hs_access_decay(8.0, 10, 5, HOUR) - 8.0) < 1e-12); /* clock went back */
}

static void test_prediction(void **state)
{
    (void)state;
    /* steady state of one access per hour with H = 24 h: s = H/(1h ln 2)
     * => predicted next access in 1 h */
    double s = 24.0 / M_LN2;
    double next = hs_access_next_ns(s, 0, 0, 24 * HOUR);
    assert_true(fabs(next - (double)HOUR) < 1e-3 * HOUR);
    assert_true(isinf(hs_access_next_ns(0, 0, 0, HOUR)));
}

static void test_policy(void **state)
{
    (void)state;
    hs_tier_policy_t p;
    hs_tier_policy_default(&p);
    uint64_t now = 1000 * HOUR;
    /* accessed ~hourly: hot */
    assert_int_equal(hs_tier_choose(&p, 30, now - HOUR, 0, now, HS_TIER_COLD), HS_TIER_HOT);
    /* one access 3 days ago: predicted far -> warm (H=24h: s=1/8 => ~11.5 days) */
    assert_int_equal(hs_tier_choose(&p, 1, now - 72 * HOUR, 0, now, HS_TIER_HOT), HS_TIER_WARM);
    /* one access 10 days ago: cold */
    assert_int_equal(hs_tier_choose(&p, 1, now - 240 * HOUR, 0, now, HS_TIER_HOT), HS_TIER_COLD);
    /* too young to move */
    assert_int_equal(hs_tier_choose(&p, 0, now, now - 1, now, HS_TIER_WARM), HS_TIER_WARM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay_halves),
        cmocka_unit_test(test_prediction),
        cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
