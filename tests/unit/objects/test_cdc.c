/* Unit tests of the FastCDC chunker: bounds, determinism, the fast scan
 * against a byte-at-a-time reference, and boundary resynchronization after
 * an insertion (the property dedup rests on). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/objects/cdc.c" /* to reach gear[] for the reference */
#define OBJ_FIXTURE_TAG "cdc"
#include "fixture.h"

/* The definition, one byte at a time. */
static size_t ref_next(const hs_cdc_t *c, const uint8_t *p, size_t n)
{
    if (n <= c->min) return n;
    size_t end = n < c->max ? n : c->max, i;
    uint64_t h = 0;
    for (i = c->min; i < end; i++) {
        h = (h << 1) + gear[p[i]];
        if (!(h & (i < c->avg ? c->mask_s : c->mask_l))) return i + 1;
    }
    return end;
}

static void test_init_validation(void **state)
{
    (void)state;
    hs_cdc_t c = {0};
    assert_int_equal(hs_cdc_init(&c, 16384, 32768, 131072), 0);
    assert_int_equal(hs_cdc_init(&c, 16384, 30000, 131072), HS_EINVAL); /* not 2^k */
    assert_int_equal(hs_cdc_init(&c, 65536, 32768, 131072), HS_EINVAL); /* min > avg */
    assert_int_equal(hs_cdc_init(&c, 1024, 32768, 16384), HS_EINVAL);   /* max < avg */
}

static void test_matches_reference_and_bounds(void **state)
{
    (void)state;
    size_t n = 8 << 20;
    uint8_t *p = rnd(n, 42);
    uint32_t sizes[][3] = {{16384, 32768, 131072}, {2048, 8192, 65536}, {256, 1024, 4096}};
    for (int s = 0; s < 3; s++) {
        hs_cdc_t c = {0};
        assert_int_equal(hs_cdc_init(&c, sizes[s][0], sizes[s][1], sizes[s][2]), 0);
        size_t pos = 0, chunks = 0;
        while (pos < n) {
            size_t k = hs_cdc_next(&c, p + pos, n - pos, true);
            assert_int_equal(k, ref_next(&c, p + pos, n - pos));
            assert_true(k >= 1);
            assert_true(k <= c.max);
            if (pos + k < n) assert_true(k > c.min);
            pos += k;
            chunks++;
        }
        /* mean chunk size within a factor of 2 of the average asked for */
        double mean = (double)n / (double)chunks;
        assert_true(mean > c.avg / 2.0 && mean < c.avg * 2.5);
    }
    free(p);
}

static void test_needs_more_input(void **state)
{
    (void)state;
    hs_cdc_t c = {0};
    uint8_t *p = rnd(1 << 20, 7);
    assert_int_equal(hs_cdc_init(&c, 16384, 32768, 131072), 0);
    assert_int_equal(hs_cdc_next(&c, p, 0, false), 0);
    assert_int_equal(hs_cdc_next(&c, p, 100, false), 0);
    assert_int_equal(hs_cdc_next(&c, p, 100, true), 100);
    /* with max bytes available a boundary is always known */
    assert_true(hs_cdc_next(&c, p, c.max, false) > 0);
    /* streaming in pieces gives the same cuts as all at once */
    size_t a = hs_cdc_next(&c, p, 1 << 20, false);
    assert_int_equal(a, ref_next(&c, p, 1 << 20));
    free(p);
}

static void test_insertion_resyncs(void **state)
{
    (void)state;
    hs_cdc_t c = {0};
    size_t n = 4 << 20;
    uint8_t *a = rnd(n, 99), *b = malloc(n + 10);
    memcpy(b, a, n / 2);
    memcpy(b + n / 2, "0123456789", 10); /* insert 10 bytes in the middle */
    memcpy(b + n / 2 + 10, a + n / 2, n / 2);
    assert_int_equal(hs_cdc_init(&c, 16384, 32768, 131072), 0);
    /* collect cut offsets of a, then count b's chunks ending at a cut of a
     * shifted by 10 after the insertion point */
    size_t cuts_a[1024], na = 0, pos = 0;
    while (pos < n) {
        pos += hs_cdc_next(&c, a + pos, n - pos, true);
        cuts_a[na++] = pos;
    }
    size_t same = 0, nb = 0;
    pos = 0;
    while (pos < n + 10) {
        pos += hs_cdc_next(&c, b + pos, n + 10 - pos, true);
        nb++;
        size_t want = pos <= n / 2 ? pos : pos - 10;
        for (size_t i = 0; i < na; i++)
            if (cuts_a[i] == want) same++;
    }
    /* all but the one or two chunks around the edit line up again */
    assert_true(same + 3 >= nb);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_validation),
        cmocka_unit_test(test_matches_reference_and_bounds),
        cmocka_unit_test(test_needs_more_input),
        cmocka_unit_test(test_insertion_resyncs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
