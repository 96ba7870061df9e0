/* Unit tests of src/shield/hitters.c: count-min + top-k accuracy on a
 * skewed (Zipf) stream, the sliding window, and exact counts when threads
 * count the same clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shield/hitters.h"

static void key_of(uint32_t id, uint8_t k[16])
{
    memset(k, 0, 16);
    k[10] = k[11] = 0xff;
    memcpy(k + 12, &id, 4);
}

static uint32_t id_of(const uint8_t k[16])
{
    uint32_t id;
    memcpy(&id, k + 12, 4);
    return id;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define CLIENTS 100000
#define REQUESTS 1000000

/* Zipf(1.1) over 100k clients, 1M requests: the true top 10 are all in
 * the top 16, in order, and every estimate is within the count-min bound
 * (never under, over by at most 2N/width). */
static void zipf_top10(void **state)
{
    (void)state;
    double *cdf = malloc(CLIENTS * sizeof(double));
    uint32_t *truth = calloc(CLIENTS, sizeof(uint32_t));
    double sum = 0;
    for (int i = 0; i < CLIENTS; i++)
        cdf[i] = sum += 1.0 / pow(i + 1, 1.1);
    for (int i = 0; i < CLIENTS; i++)
        cdf[i] /= sum;
    hs_hitters_t *h;
    uint64_t W = 1000000000ull; /* one window for the whole stream */
    assert_int_equal(hs_hitters_new(16, W, 0, &h), 0);
    /* the bound holds per query with probability 1 - 2^-DEPTH for a random
     * seed: a fixed one makes the run the same every time */
    hs_hitters_set_seed(h, 0x243f6a8885a308d3ull, 0x13198a2e03707344ull);
    uint8_t k[16];
    for (int r = 0; r < REQUESTS; r++) {
        double u = (double)(rng() >> 11) / 9007199254740992.0;
        int lo = 0, hi = CLIENTS - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* ids scattered so the sketch hash, not the id order, matters */
        uint32_t id = (uint32_t)lo * 2654435761u;
        truth[lo]++;
        key_of(id, k);
        hs_hitters_add(h, k, 1000);
    }
    hs_hitter_t top[16];
    unsigned n = hs_hitters_top(h, 1000, top, 16);
    assert_int_equal(n, 16);
    /* true top 10 = ranks 0..9 by construction; check against the counts */
    uint32_t order[10];
    for (int i = 0; i < 10; i++)
        order[i] = (uint32_t)i;
    for (int i = 0; i < 10; i++)
        for (int j = i + 1; j < CLIENTS; j++)
            if (truth[j] > truth[order[i]]) {
                fail_msg("rank %d is not the true #%d", j, i);
            }
    for (int i = 0; i < 10; i++) {
        uint32_t id = order[i] * 2654435761u;
        bool found = false;
        for (unsigned j = 0; j < n; j++)
            if (id_of(top[j].key) == id) {
                found = true;
                assert_true(top[j].count >= truth[order[i]]);
                assert_true(top[j].count <= truth[order[i]] + 2ull * REQUESTS / HS_HITTERS_WIDTH);
            }
        if (!found)
            fail_msg("true #%d (count %u) missing from the top 16", i, truth[order[i]]);
    }
    for (unsigned j = 1; j < n; j++)
        assert_true(top[j - 1].count >= top[j].count);
    assert_int_equal(hs_hitters_total(h, 1000), REQUESTS);
    hs_hitters_free(h);
    free(cdf);
    free(truth);
}

/* Counts slide out: half way into the next window half the previous one
 * still counts; two windows later nothing does and the client leaves the
 * top set. */
static void sliding_window(void **state)
{
    (void)state;
    hs_hitters_t *h;
    assert_int_equal(hs_hitters_new(4, 10000, 0, &h), 0);
    uint8_t a[16], b[16];
    key_of(1, a);
    key_of(2, b);
    for (int i = 0; i < 1000; i++)
        hs_hitters_add(h, a, 5000);
    assert_int_equal(hs_hitters_estimate(h, a, 9999), 1000);
    assert_int_equal(hs_hitters_estimate(h, a, 15000), 500);
    assert_int_equal(hs_hitters_total(h, 15000), 500);
    hs_hitter_t top[4];
    assert_int_equal(hs_hitters_top(h, 15000, top, 4), 1);
    assert_int_equal(top[0].count, 500);
    hs_hitters_add(h, b, 15000);
    assert_int_equal(hs_hitters_estimate(h, b, 15000), 1);
    assert_int_equal(hs_hitters_estimate(h, a, 25000), 0);
    /* b's single request weighs 1 * 0.5, which rounds down to nothing */
    assert_int_equal(hs_hitters_top(h, 25000, top, 4), 0);
    hs_hitters_free(h);
}

/* A jump of several windows clears both. */
static void long_gap(void **state)
{
    (void)state;
    hs_hitters_t *h;
    assert_int_equal(hs_hitters_new(4, 1000, 0, &h), 0);
    uint8_t a[16];
    key_of(7, a);
    for (int i = 0; i < 100; i++)
        hs_hitters_add(h, a, 500);
    assert_int_equal(hs_hitters_add(h, a, 100000), 1);
    assert_int_equal(hs_hitters_total(h, 100000), 1);
    /* an old clock from a lagging thread does not go back */
    assert_int_equal(hs_hitters_add(h, a, 500), 2);
    hs_hitters_free(h);
}

static void bad_args(void **state)
{
    (void)state;
    hs_hitters_t *h;
    assert_int_not_equal(hs_hitters_new(0, 1000, 0, &h), 0);
    assert_int_not_equal(hs_hitters_new(HS_HITTERS_K_MAX + 1, 1000, 0, &h), 0);
    assert_int_not_equal(hs_hitters_new(4, 0, 0, &h), 0);
}

#define NTHREADS 4
#define PER 50000

static hs_hitters_t *shared;

static void *adder(void *p)
{
    uint32_t base = (uint32_t)(uintptr_t)p;
    uint8_t k[16];
    for (int i = 0; i < PER; i++) {
        key_of(base + (uint32_t)(i % 4), k);
        hs_hitters_add(shared, k, 100);
    }
    return NULL;
}

/* Threads counting the same clients lose nothing. */
static void threads(void **state)
{
    (void)state;
    assert_int_equal(hs_hitters_new(8, 60000, 0, &shared), 0);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder, (void *)(uintptr_t)1000), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    uint8_t k[16];
    for (uint32_t c = 0; c < 4; c++) {
        key_of(1000 + c, k);
        assert_int_equal(hs_hitters_estimate(shared, k, 100), NTHREADS * PER / 4);
    }
    assert_int_equal(hs_hitters_total(shared, 100), NTHREADS * PER);
    hs_hitter_t top[8];
    assert_int_equal(hs_hitters_top(shared, 100, top, 8), 4);
    hs_hitters_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zipf_top10), cmocka_unit_test(sliding_window),
        cmocka_unit_test(long_gap),   cmocka_unit_test(bad_args),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
