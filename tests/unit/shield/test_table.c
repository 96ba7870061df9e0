/* Unit tests of src/shield/table.c: per-client limits, the memory bound
 * under a flood of distinct addresses, eviction, sweeping, and exact
 * counting when threads share clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <string.h>

#include "core/err.h"
#include "shield/table.h"

static void key_v4(uint32_t ip, uint8_t k[16])
{
    memset(k, 0, 16);
    k[10] = k[11] = 0xff;
    k[12] = (uint8_t)(ip >> 24);
    k[13] = (uint8_t)(ip >> 16);
    k[14] = (uint8_t)(ip >> 8);
    k[15] = (uint8_t)ip;
}

static void rate_and_strikes(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(1024, &t), 0);
    uint8_t a[16], b[16];
    key_v4(0x7f000002, a);
    key_v4(0x7f000003, b);
    hs_shield_limit_t lim = {.rate = 2, .burst = 3};
    hs_shield_verdict_t v;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hs_shield_table_request(t, a, &lim, 1000, &v), 0);
        assert_int_equal(v.retry_after, 0);
    }
    for (uint32_t i = 1; i <= 4; i++) {
        hs_shield_table_request(t, a, &lim, 1000, &v);
        assert_int_equal(v.retry_after, 1);
        assert_int_equal(v.strikes, i);
    }
    /* another client is not affected */
    hs_shield_table_request(t, b, &lim, 1000, &v);
    assert_int_equal(v.retry_after, 0);
    /* 500 ms later one token is back; strikes reset on success */
    hs_shield_table_request(t, a, &lim, 1500, &v);
    assert_int_equal(v.retry_after, 0);
    assert_int_equal(v.strikes, 0);
    hs_shield_table_request(t, a, &lim, 1500, &v);
    assert_int_equal(v.strikes, 1);
    /* no rate: never refused */
    hs_shield_limit_t none = {0};
    hs_shield_table_request(t, a, &none, 1500, &v);
    assert_int_equal(v.retry_after, 0);
    hs_shield_table_free(t);
}

static void throttle(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(1024, &t), 0);
    uint8_t a[16];
    key_v4(0x0a000001, a);
    hs_shield_limit_t lim = {.rate = 0, .throttle_rate = 1, .throttle_burst = 1};
    hs_shield_verdict_t v;
    for (int i = 0; i < 10; i++) { /* not throttled: unlimited */
        hs_shield_table_request(t, a, &lim, 0, &v);
        assert_int_equal(v.retry_after, 0);
        assert_false(v.throttled);
    }
    lim.throttle_for_ms = 5000; /* the share rule fired */
    hs_shield_table_request(t, a, &lim, 100, &v);
    assert_true(v.throttled);
    assert_int_equal(v.retry_after, 0);
    lim.throttle_for_ms = 0;
    hs_shield_table_request(t, a, &lim, 200, &v);
    assert_true(v.throttled);
    assert_int_equal(v.retry_after, 1);
    /* still throttled until 5100, then free again */
    hs_shield_table_request(t, a, &lim, 5099, &v);
    assert_true(v.throttled);
    hs_shield_table_request(t, a, &lim, 5100, &v);
    assert_false(v.throttled);
    assert_int_equal(v.retry_after, 0);
    /* a throttle never raises a stricter base limit */
    hs_shield_limit_t strict = {.rate = 1, .burst = 1, .throttle_rate = 100,
                                .throttle_burst = 100, .throttle_for_ms = 1000};
    hs_shield_table_request(t, a, &strict, 6000, &v);
    assert_false(v.throttled);
    hs_shield_table_request(t, a, &strict, 6000, &v);
    assert_int_equal(v.retry_after, 1);
    hs_shield_table_free(t);
}

static void conn_cap(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(1024, &t), 0);
    uint8_t a[16];
    key_v4(0x0a000001, a);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_shield_table_conn_open(t, a, 3, 0), 0);
    assert_int_equal(hs_shield_table_conn_open(t, a, 3, 0), HS_ELIMIT);
    assert_int_equal(hs_shield_table_conns(t, a), 3);
    hs_shield_table_conn_close(t, a);
    assert_int_equal(hs_shield_table_conn_open(t, a, 3, 0), 0);
    for (int i = 0; i < 5; i++) /* saturates at 0 */
        hs_shield_table_conn_close(t, a);
    assert_int_equal(hs_shield_table_conns(t, a), 0);
    assert_int_equal(hs_shield_table_conn_open(t, a, 0, 0), 0); /* 0 = no cap */
    hs_shield_table_free(t);
}

/* 1M distinct addresses through a 64k-slot table: the table never holds
 * more than its capacity and allocates nothing after creation. */
static void flood_is_bounded(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(65536, &t), 0);
    assert_int_equal(hs_shield_table_capacity(t), 65536);
    struct mallinfo2 before = mallinfo2();
    hs_shield_limit_t lim = {.rate = 10, .burst = 10};
    hs_shield_verdict_t v;
    uint8_t k[16];
    for (uint32_t i = 0; i < 1000000; i++) {
        key_v4(0x01000000u + i * 2654435761u, k);
        hs_shield_table_request(t, k, &lim, i / 1000, &v);
        assert_int_equal(v.retry_after, 0);
        assert_true(hs_shield_table_size(t) <= 65536);
    }
    struct mallinfo2 after = mallinfo2();
    assert_true(after.uordblks <= before.uordblks + 4096);
    assert_true(hs_shield_table_size(t) > 60000); /* it was used, not bypassed */
    hs_shield_table_free(t);
}

/* Slots holding connections are never evicted; when a whole set is
 * pinned, newcomers go untracked instead of growing the table. */
static void pinned_slots(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(64, &t), 0);
    uint8_t k[16];
    unsigned ok = 0, nospc = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        key_v4(0x0b000000u + i, k);
        int rc = hs_shield_table_conn_open(t, k, 10, 0);
        ok += rc == 0;
        nospc += rc == HS_ENOSPC;
    }
    assert_int_equal(ok, 64);
    assert_int_equal(nospc, 1000 - 64);
    hs_shield_limit_t lim = {.rate = 1, .burst = 1};
    hs_shield_verdict_t v;
    key_v4(0x0c000000u, k);
    assert_int_equal(hs_shield_table_request(t, k, &lim, 0, &v), HS_ENOSPC);
    assert_true(v.untracked);
    assert_int_equal(v.retry_after, 0);
    /* every pinned client still has its count */
    unsigned held = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        key_v4(0x0b000000u + i, k);
        held += hs_shield_table_conns(t, k);
    }
    assert_int_equal(held, 64);
    /* once closed, the slots are reusable */
    for (uint32_t i = 0; i < 1000; i++) {
        key_v4(0x0b000000u + i, k);
        hs_shield_table_conn_close(t, k);
    }
    key_v4(0x0c000000u, k);
    assert_int_equal(hs_shield_table_request(t, k, &lim, 0, &v), 0);
    hs_shield_table_free(t);
}

static void sweep(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(1024, &t), 0);
    uint8_t k[16];
    hs_shield_limit_t lim = {.rate = 1, .burst = 1};
    hs_shield_verdict_t v;
    for (uint32_t i = 0; i < 100; i++) {
        key_v4(0x0d000000u + i, k);
        hs_shield_table_request(t, k, &lim, 1000, &v);
    }
    key_v4(0x0d000000u, k);
    hs_shield_table_conn_open(t, k, 0, 1000); /* pinned by a connection */
    assert_int_equal(hs_shield_table_size(t), 100);
    /* not idle long enough */
    uint32_t freed = 0;
    for (uint32_t p = 0; p < 4; p++)
        freed += hs_shield_table_sweep(t, p, 4, 60000, 30000);
    assert_int_equal(freed, 0);
    for (uint32_t p = 0; p < 4; p++)
        freed += hs_shield_table_sweep(t, p, 4, 60000, 61000);
    assert_int_equal(freed, 99);
    assert_int_equal(hs_shield_table_size(t), 1);
    assert_int_equal(hs_shield_table_conns(t, k), 1);
    hs_shield_table_free(t);
}

/* ---- threads ---- */

#define NTHREADS 4
#define NKEYS 16
#define TRIES 20000

typedef struct tharg {
    hs_shield_table_t *t;
    unsigned admitted[NKEYS];
} tharg_t;

static void *hammer(void *p)
{
    tharg_t *a = p;
    hs_shield_limit_t lim = {.rate = 1000, .burst = 1000};
    hs_shield_verdict_t v;
    uint8_t k[16];
    for (unsigned i = 0; i < TRIES; i++) {
        unsigned key = i % NKEYS;
        key_v4(0x0e000000u + key, k);
        if (hs_shield_table_conn_open(a->t, k, 0, 5) == 0)
            hs_shield_table_conn_close(a->t, k);
        hs_shield_table_request(a->t, k, &lim, 5, &v); /* frozen clock: no refill */
        if (v.retry_after == 0)
            a->admitted[key]++;
    }
    return NULL;
}

/* Several threads charging the same clients admit exactly burst requests
 * per client, and connection counts come back to zero. */
static void threads_share_exactly(void **state)
{
    (void)state;
    hs_shield_table_t *t;
    assert_int_equal(hs_shield_table_new(4096, &t), 0);
    pthread_t th[NTHREADS];
    tharg_t args[NTHREADS];
    memset(args, 0, sizeof(args));
    for (int i = 0; i < NTHREADS; i++) {
        args[i].t = t;
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    uint8_t k[16];
    for (unsigned key = 0; key < NKEYS; key++) {
        unsigned sum = 0;
        for (int i = 0; i < NTHREADS; i++)
            sum += args[i].admitted[key];
        assert_int_equal(sum, 1000);
        key_v4(0x0e000000u + key, k);
        assert_int_equal(hs_shield_table_conns(t, k), 0);
    }
    hs_shield_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_and_strikes), cmocka_unit_test(throttle),
        cmocka_unit_test(conn_cap),         cmocka_unit_test(flood_is_bounded),
        cmocka_unit_test(pinned_slots),     cmocka_unit_test(sweep),
        cmocka_unit_test(threads_share_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
