/* Unit tests of src/shield/bucket.c: refill, burst, Retry-After. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "shield/bucket.h"

/* A full bucket gives exactly `burst` tokens at one instant. */
static void burst_then_refuse(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 5, 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hs_bucket_take(&b, 1, 5, 1000), 0);
    assert_int_not_equal(hs_bucket_take(&b, 1, 5, 1000), 0);
}

/* At 10/s one token comes back every 100 ms, not before. */
static void refill_rate(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 1, 0);
    assert_int_equal(hs_bucket_take(&b, 10, 1, 0), 0);
    assert_int_not_equal(hs_bucket_take(&b, 10, 1, 99), 0);
    assert_int_equal(hs_bucket_take(&b, 10, 1, 100), 0);
    assert_int_not_equal(hs_bucket_take(&b, 10, 1, 150), 0);
    assert_int_equal(hs_bucket_take(&b, 10, 1, 200), 0);
}

/* A long idle period refills to burst, never past it. */
static void refill_caps_at_burst(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 3, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_bucket_take(&b, 1, 3, 0), 0);
    uint64_t later = 1000ull * 1000 * 1000 * 1000; /* decades: no overflow either */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_bucket_take(&b, 1, 3, later), 0);
    assert_int_not_equal(hs_bucket_take(&b, 1, 3, later), 0);
}

/* Retry-After is the whole seconds until the next token, at least 1
 * (with rates of at least one per second it is never more than 1). */
static void retry_after(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 1, 0);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 0), 0);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 0), 1);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 500), 1);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 1000), 0);
    /* fast rates still say at least 1 */
    hs_bucket_init(&b, 1, 0);
    assert_int_equal(hs_bucket_take(&b, 1000, 1, 0), 0);
    assert_int_equal(hs_bucket_take(&b, 1000, 1, 0), 1);
    /* refusals do not dig a debt: the next token still comes on time */
    hs_bucket_init(&b, 1, 0);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 0), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(hs_bucket_take(&b, 1, 1, 10), 1);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 1000), 0);
}

/* An empty bucket at 2/s needs 500 ms for a token: Retry-After rounds up
 * to 1 and the token is there at 500 ms, not 499. */
static void retry_after_rounds_up(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 4, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(hs_bucket_take(&b, 2, 4, 0), 0);
    assert_int_equal(hs_bucket_take(&b, 2, 4, 0), 1);
    assert_int_equal(hs_bucket_take(&b, 2, 4, 499), 1);
    assert_int_equal(hs_bucket_take(&b, 2, 4, 500), 0);
}

/* A clock that steps back refills nothing and breaks nothing. */
static void clock_backwards(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 1, 1000);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 1000), 0);
    assert_int_not_equal(hs_bucket_take(&b, 1, 1, 500), 0);
    assert_int_not_equal(hs_bucket_take(&b, 1, 1, 1999), 0);
    assert_int_equal(hs_bucket_take(&b, 1, 1, 2000), 0);
}

/* Switching to a smaller burst (a throttle starting) cuts the bucket. */
static void smaller_burst_cuts(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 100, 0);
    assert_int_equal(hs_bucket_take(&b, 1, 2, 0), 0);
    assert_int_equal(hs_bucket_take(&b, 1, 2, 0), 0);
    assert_int_not_equal(hs_bucket_take(&b, 1, 2, 0), 0);
}

/* Over many seconds the admitted count matches rate * time + burst. */
static void long_run_average(void **state)
{
    (void)state;
    hs_bucket_t b;
    hs_bucket_init(&b, 10, 0);
    unsigned ok = 0;
    for (uint64_t t = 0; t <= 60000; t++) /* one try per ms for a minute */
        ok += hs_bucket_take(&b, 7, 10, t) == 0;
    assert_int_equal(ok, 7 * 60 + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refuse),   cmocka_unit_test(refill_rate),
        cmocka_unit_test(refill_caps_at_burst), cmocka_unit_test(retry_after),
        cmocka_unit_test(retry_after_rounds_up), cmocka_unit_test(clock_backwards),
        cmocka_unit_test(smaller_burst_cuts),  cmocka_unit_test(long_run_average),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
