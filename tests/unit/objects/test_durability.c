/* Unit tests of the durability model against hand calculations.
 *
 * Hand calculation (AFR 2 %, rebuild 24 h):
 *   lambda = -ln(0.98) / 8766 h = 2.3046666e-6 /h,  mu = 1/24 /h.
 * 2+1 (n = 3): the 3-state chain gives MTTDL = (3l + 2l + mu) / (3l * 2l)
 *   = (6.9140e-6 + 4.6093e-6 + 4.16667e-2) / (6.9140e-6 * 4.6093e-6)
 *   = 1.30780e9 h.
 * 4+2 (n = 6): closed form mu^2 / (6*5*4 * l^3) = 1.18188e12 h; the exact
 *   chain adds the 1/l terms: 1.18253e12 h; annual loss
 *   1 - exp(-8766 / 1.18253e12) = 7.4129e-9 (8.13 nines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "objects/durability.h"

static void near(double got, double want, double rel)
{
    if (fabs(got - want) > rel * fabs(want)) fail_msg("got %.8g want %.8g", got, want);
}

static void test_lambda(void **state)
{
    (void)state;
    near(hs_dur_lambda(0.02), 2.3046666e-6, 1e-6);
}

static void test_single_parity_by_hand(void **state)
{
    (void)state;
    near(hs_dur_mttdl_hours(2, 1, 0.02, 24), 1.30780e9, 1e-4);
}

static void test_double_parity_by_hand(void **state)
{
    (void)state;
    near(hs_dur_mttdl_approx_hours(4, 2, 0.02, 24), 1.18188e12, 1e-4);
    near(hs_dur_mttdl_hours(4, 2, 0.02, 24), 1.18253e12, 1e-4);
    double loss = hs_dur_annual_loss(4, 2, 0.02, 24, 1);
    near(loss, 7.4129e-9, 1e-4);
    near(hs_dur_nines(loss), 8.130, 1e-3);
    /* 1000 independent groups lose ~1000x as often */
    near(hs_dur_annual_loss(4, 2, 0.02, 24, 1000), 7.4129e-6, 1e-3);
}

static void test_monotonic_and_bad_input(void **state)
{
    (void)state;
    /* more parity, faster rebuild: more durable */
    assert_true(hs_dur_annual_loss(8, 3, 0.02, 24, 1) < hs_dur_annual_loss(8, 2, 0.02, 24, 1));
    assert_true(hs_dur_annual_loss(4, 2, 0.02, 6, 1) < hs_dur_annual_loss(4, 2, 0.02, 24, 1));
    /* no parity: loss = P(any of d drives fails) = 1 - (1-afr)^d */
    near(hs_dur_annual_loss(3, 0, 0.02, 24, 1), 1 - pow(0.98, 3), 1e-9);
    assert_true(hs_dur_mttdl_hours(0, 2, 0.02, 24) < 0);
    assert_true(hs_dur_mttdl_hours(4, 2, 1.5, 24) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lambda),
        cmocka_unit_test(test_single_parity_by_hand),
        cmocka_unit_test(test_double_parity_by_hand),
        cmocka_unit_test(test_monotonic_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
