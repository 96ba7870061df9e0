/*
 * Maglev table (src/balance/maglev.c): size, even spread, weights, and
 * the disruption when a backend leaves (table rebuilt without it, and the
 * pool's probing past an unavailable backend).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "balance/balance.h"
#include "balance/maglev.h"
#include "core/err.h"

#define KEYS 1000000u

static char names_buf[128][32];

static const char **names(unsigned n, unsigned from)
{
    static const char *p[128];
    for (unsigned i = 0; i < n; i++) {
        snprintf(names_buf[i], sizeof(names_buf[i]), "10.0.0.%u:80", from + i);
        p[i] = names_buf[i];
    }
    return p;
}

static uint64_t key_hash(uint32_t k)
{
    return XXH3_64bits(&k, sizeof(k));
}

static void test_size(void **state)
{
    (void)state;
    assert_int_equal(hs_maglev_size(1), 65537);
    assert_int_equal(hs_maglev_size(655), 65537);
    uint32_t m = hs_maglev_size(1000);
    assert_true(m >= 100000);
    for (uint32_t d = 2; d * d <= m; d++)
        assert_true(m % d != 0);
}

static void test_bad_args(void **state)
{
    (void)state;
    uint16_t t[7];
    const char *n[] = {"a:1", "b:1"};
    unsigned w[] = {1, 0};
    assert_int_equal(hs_maglev_build(t, 7, n, w, 2), HS_EINVAL); /* weight 0 */
    w[1] = 1;
    assert_int_equal(hs_maglev_build(t, 6, n, w, 2), HS_EINVAL); /* not prime */
    assert_int_equal(hs_maglev_build(t, 7, n, w, 0), HS_EINVAL);
    assert_int_equal(hs_maglev_build(t, 7, n, w, 2), 0);
}

/* Equal weights: slot shares within 1 slot of each other, and a million
 * keys within 1% of the mean on every backend. */
static void test_spread(void **state)
{
    (void)state;
    unsigned n = 10, w[10];
    for (unsigned i = 0; i < n; i++)
        w[i] = 1;
    uint32_t m = hs_maglev_size(n);
    uint16_t *t = malloc(m * sizeof(*t));
    assert_int_equal(hs_maglev_build(t, m, names(n, 1), w, n), 0);
    unsigned slots[10] = {0}, keys[10] = {0};
    for (uint32_t s = 0; s < m; s++) {
        assert_true(t[s] < n);
        slots[t[s]]++;
    }
    for (unsigned i = 0; i < n; i++)
        assert_true(slots[i] == m / n || slots[i] == m / n + 1);
    for (uint32_t k = 0; k < KEYS; k++)
        keys[t[key_hash(k) % m]]++;
    for (unsigned i = 0; i < n; i++) {
        double dev = ((double)keys[i] - KEYS / n) / (KEYS / n);
        if (dev > 0.01 || dev < -0.01)
            fail_msg("backend %u got %u keys (%.2f%% off the mean)", i, keys[i], dev * 100);
    }
    free(t);
}

static void test_weights(void **state)
{
    (void)state;
    unsigned w[4] = {1, 2, 3, 4};
    uint32_t m = hs_maglev_size(4);
    uint16_t *t = malloc(m * sizeof(*t));
    assert_int_equal(hs_maglev_build(t, m, names(4, 1), w, 4), 0);
    unsigned slots[4] = {0};
    for (uint32_t s = 0; s < m; s++)
        slots[t[s]]++;
    for (unsigned i = 0; i < 4; i++) {
        double want = (double)m * w[i] / 10.0;
        double dev = (slots[i] - want) / want;
        if (dev > 0.01 || dev < -0.01)
            fail_msg("weight %u: %u slots, want %.0f", w[i], slots[i], want);
    }
    free(t);
}

/* Rebuilding without one of 10 backends moves at most 12% of the keys
 * (10% are the removed backend's own). */
static void test_remap_on_removal(void **state)
{
    (void)state;
    unsigned w[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    uint32_t m = hs_maglev_size(10);
    uint16_t *a = malloc(m * sizeof(*a)), *b = malloc(m * sizeof(*b));
    const char **nm = names(10, 1);
    assert_int_equal(hs_maglev_build(a, m, nm, w, 10), 0);
    /* remove backend 3: the remaining names keep their identity */
    const char *rest[9];
    unsigned map[9];
    for (unsigned i = 0, k = 0; i < 10; i++)
        if (i != 3) {
            rest[k] = nm[i];
            map[k++] = i;
        }
    assert_int_equal(hs_maglev_build(b, m, rest, w, 9), 0);
    unsigned moved = 0, own = 0;
    for (uint32_t k = 0; k < KEYS; k++) {
        uint32_t s = (uint32_t)(key_hash(k) % m);
        unsigned before = a[s], after = map[b[s]];
        own += before == 3;
        moved += before != after;
    }
    double share = (double)moved / KEYS;
    if (share > 0.12)
        fail_msg("%.2f%% of keys moved", share * 100);
    assert_true(moved >= own); /* every key of the removed backend moved */
    free(a);
    free(b);
}

/* The pool probes past an unavailable backend: exactly its keys move,
 * the same key always lands on the same backend. */
static void test_pool_affinity(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.algo = &hs_balance_maglev, .seed = 1};
    hs_balance_pool_t *p = hs_balance_pool_new_list(
        &o, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80", NULL, NULL);
    assert_non_null(p);
    hs_balance_view_t *v = hs_balance_view_new(p);
    enum { N = 20000 };
    static int first[N];
    for (uint32_t k = 0; k < N; k++) {
        hs_balance_req_t r;
        hs_balance_req_init(&r);
        first[k] = hs_balance_pick(v, &r, key_hash(k));
        assert_true(first[k] >= 0);
        hs_balance_done(v, &r, 200, 1000);
        hs_balance_req_init(&r);
        assert_int_equal(hs_balance_pick(v, &r, key_hash(k)), first[k]);
        hs_balance_done(v, &r, 200, 1000);
    }
    hs_balance_backend_set_healthy(p, 1, false);
    unsigned moved = 0;
    for (uint32_t k = 0; k < N; k++) {
        hs_balance_req_t r;
        hs_balance_req_init(&r);
        int b = hs_balance_pick(v, &r, key_hash(k));
        hs_balance_done(v, &r, 200, 1000);
        assert_int_not_equal(b, 1);
        if (first[k] != 1)
            assert_int_equal(b, first[k]);
        else
            moved++;
    }
    assert_true(moved > N / 5 && moved < N / 3); /* about a quarter */
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size),          cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_spread),        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_remap_on_removal), cmocka_unit_test(test_pool_affinity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
