/*
 * The balancer's arithmetic (src/balance/stats.c, budget.c): peak-EWMA,
 * slow-start ramp, ejection time and share, success-rate outliers, and
 * the retry budget.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "balance/budget.h"
#include "balance/stats.h"

#define MS 1000000ull
#define SEC 1000000000ull

static void test_ewma_peak_and_decay(void **state)
{
    (void)state;
    hs_balance_ewma_t e = {0};
    uint64_t tau = 10 * SEC;
    hs_balance_ewma_observe(&e, 10 * MS, 1 * SEC, tau);
    assert_true(e.sampled);
    assert_float_equal(e.v, 10 * MS, 1);
    /* a higher sample is taken at once */
    hs_balance_ewma_observe(&e, 200 * MS, 1 * SEC + 1, tau);
    assert_float_equal(e.v, 200 * MS, 1);
    /* a lower one after exactly tau: weight 1 - 1/e */
    hs_balance_ewma_observe(&e, 10 * MS, 11 * SEC + 1, tau);
    double want = 200 * MS * exp(-1.0) + 10 * MS * (1 - exp(-1.0));
    assert_float_equal(e.v, want, 1);
    /* a sample at the same instant (or soon after) still pulls 1/16 */
    double before = e.v;
    hs_balance_ewma_observe(&e, 1 * MS, 11 * SEC + 1, tau);
    assert_float_equal(e.v, before * 15 / 16 + 1 * MS / 16.0, 1e-3);
    /* so a peak is forgotten after dozens of answers, not after tau */
    hs_balance_ewma_t f = {0};
    hs_balance_ewma_observe(&f, 10 * MS, 1 * SEC, tau);
    hs_balance_ewma_observe(&f, 300 * MS, 1 * SEC + 10 * MS, tau);
    for (int i = 2; i <= 51; i++)
        hs_balance_ewma_observe(&f, 10 * MS, 1 * SEC + (uint64_t)i * 10 * MS, tau);
    assert_true(f.v < 25 * MS); /* 10 + 290 x (15/16)^50 = 14 ms */
    assert_true(f.v > 10 * MS);
    /* many lower samples converge to them */
    for (int i = 1; i <= 100; i++)
        hs_balance_ewma_observe(&e, 10 * MS, 11 * SEC + 1 + (uint64_t)i * SEC, tau);
    assert_true(fabs(e.v - 10 * MS) < 0.01 * MS);
}

static void test_slow_start(void **state)
{
    (void)state;
    assert_float_equal(hs_balance_slow_start(0, 5000, 30000), 1.0, 0);      /* no ramp */
    assert_float_equal(hs_balance_slow_start(1000, 5000, 0), 1.0, 0);       /* off */
    assert_float_equal(hs_balance_slow_start(1000, 1000, 30000), 0.1, 1e-9); /* floor */
    assert_float_equal(hs_balance_slow_start(1000, 16000, 30000), 0.5, 1e-9);
    assert_float_equal(hs_balance_slow_start(1000, 25000, 30000), 0.8, 1e-9);
    assert_float_equal(hs_balance_slow_start(1000, 31000, 30000), 1.0, 0);
    /* monotone over the window */
    double last = 0;
    for (uint64_t t = 1000; t <= 32000; t += 500) {
        double f = hs_balance_slow_start(1000, t, 30000);
        assert_true(f >= last);
        last = f;
    }
}

static void test_ejection_time_and_share(void **state)
{
    (void)state;
    assert_int_equal(hs_balance_ejection_ms(30000, 300000, 1), 30000);
    assert_int_equal(hs_balance_ejection_ms(30000, 300000, 2), 60000);
    assert_int_equal(hs_balance_ejection_ms(30000, 300000, 10), 300000);
    assert_int_equal(hs_balance_ejection_ms(30000, 300000, 1000000), 300000);
    assert_int_equal(hs_balance_ejection_ms(30000, 10, 3), 30000); /* max below base */
    assert_int_equal(hs_balance_max_ejected(10, 50), 5);
    assert_int_equal(hs_balance_max_ejected(3, 50), 1);
    assert_int_equal(hs_balance_max_ejected(1, 50), 0); /* never the only backend */
    assert_int_equal(hs_balance_max_ejected(4, 100), 4);
    assert_int_equal(hs_balance_max_ejected(4, 250), 4);
}

static void test_success_rate_outliers(void **state)
{
    (void)state;
    uint64_t reqs[7] = {1000, 1000, 1000, 1000, 1000, 1000, 50};
    uint64_t fails[7] = {10, 12, 8, 11, 300, 9, 50};
    uint8_t out[7];
    /* backend 4 (70% success) is far below the others; 6 has too few
     * requests to be measured (its 0% would otherwise stand out) */
    assert_int_equal(hs_balance_success_outliers(reqs, fails, 7, 100, 5, 1.9, out), 1);
    assert_int_equal(out[4], 1);
    assert_int_equal(out[6], 0);
    assert_int_equal(out[0] + out[1] + out[2] + out[3] + out[5], 0);
    /* not enough measured backends: nothing */
    assert_int_equal(hs_balance_success_outliers(reqs, fails, 7, 100, 7, 1.9, out), 0);
    /* one outlier among n can be at most sqrt(n - 1) deviations away: with
     * 5 hosts and k = 2.1 nothing is ever marked */
    assert_int_equal(hs_balance_success_outliers(reqs, fails, 5, 100, 5, 2.1, out), 0);
    /* all alike: nothing */
    uint64_t same[4] = {10, 10, 10, 10};
    assert_int_equal(hs_balance_success_outliers(reqs, same, 4, 100, 3, 1.9, out), 0);
    /* fails > reqs cannot produce a negative rate that marks others */
    uint64_t odd[3] = {5000, 0, 0};
    assert_int_equal(hs_balance_success_outliers(reqs, odd, 3, 100, 3, 1.0, out), 1);
    assert_int_equal(out[0], 1);
}

static void test_budget(void **state)
{
    (void)state;
    hs_balance_budget_t b;
    hs_balance_budget_init(&b, 20, 3);
    uint64_t t = 100 * SEC;
    /* no traffic: the floor, 3/s over the 10 s window */
    assert_int_equal(hs_balance_budget_allowed(&b, t), 30);
    for (int i = 0; i < 30; i++)
        assert_true(hs_balance_budget_try(&b, t));
    assert_false(hs_balance_budget_try(&b, t));
    assert_int_equal(hs_balance_budget_spent(&b, t), 30);
    /* 1000 first tries: 20% of them */
    for (int i = 0; i < 1000; i++)
        hs_balance_budget_request(&b, t + (uint64_t)i * MS);
    assert_int_equal(hs_balance_budget_allowed(&b, t + SEC), 200);
    int ok = 0;
    while (hs_balance_budget_try(&b, t + SEC))
        ok++;
    assert_int_equal(ok, 170); /* 200 minus the 30 already spent */
    /* after the window the counts are gone */
    assert_int_equal(hs_balance_budget_allowed(&b, t + 12 * SEC), 30);
    assert_int_equal(hs_balance_budget_spent(&b, t + 12 * SEC), 0);
    /* sliding: requests 5 s ago still count, 11 s ago not */
    hs_balance_budget_init(&b, 50, 0);
    for (int i = 0; i < 100; i++)
        hs_balance_budget_request(&b, 200 * SEC);
    assert_int_equal(hs_balance_budget_allowed(&b, 205 * SEC), 50);
    assert_int_equal(hs_balance_budget_allowed(&b, 211 * SEC), 0);
    assert_false(hs_balance_budget_try(&b, 211 * SEC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ewma_peak_and_decay),
        cmocka_unit_test(test_slow_start),
        cmocka_unit_test(test_ejection_time_and_share),
        cmocka_unit_test(test_success_rate_outliers),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
