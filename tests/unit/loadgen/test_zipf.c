/*
 * Unit tests of src/loadgen/zipf.c and sizes.c: sampled frequencies against
 * the exact distribution over 10^6 draws with a fixed seed, and the parsing
 * of size distributions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "loadgen/rng.h"
#include "loadgen/sizes.h"
#include "loadgen/zipf.h"

#define DRAWS 1000000

/* Draws DRAWS ranks and checks the top ranks' frequencies against the
 * pmf within 5 binomial standard deviations (a wrong exponent or an off-by-
 * one in the inversion moves them by far more). */
static void check_zipf(uint64_t n, double s, unsigned top)
{
    hs_lg_zipf_t z;
    assert_int_equal(hs_lg_zipf_init(&z, n, s), 0);
    uint64_t *hits = calloc(n, sizeof(*hits));
    assert_non_null(hits);
    hs_lg_rng_t r;
    hs_lg_rng_seed(&r, 12345, 0);
    for (int i = 0; i < DRAWS; i++) {
        uint64_t k = hs_lg_zipf_sample(&z, &r);
        assert_true(k < n);
        hits[k]++;
    }
    /* the exact pmf, computed here independently of the table */
    double norm = 0;
    for (uint64_t k = 1; k <= n; k++)
        norm += pow((double)k, -s);
    double sum = 0;
    for (uint64_t k = 0; k < n; k++)
        sum += hs_lg_zipf_pmf(&z, k);
    assert_true(fabs(sum - 1.0) < 1e-9);
    for (unsigned k = 0; k < top && k < n; k++) {
        double p = pow((double)(k + 1), -s) / norm;
        assert_true(fabs(hs_lg_zipf_pmf(&z, k) - p) < 1e-9);
        double want = p * DRAWS, sd = sqrt(DRAWS * p * (1 - p));
        if (fabs((double)hits[k] - want) > 5 * sd + 1)
            fail_msg("n=%llu s=%g rank %u: %llu draws, expected %.0f +- %.0f",
                     (unsigned long long)n, s, k, (unsigned long long)hits[k], want, sd);
    }
    free(hits);
    hs_lg_zipf_free(&z);
}

static void test_zipf_classic(void **state)
{
    (void)state;
    check_zipf(1000, 1.0, 20);
}

static void test_zipf_other_exponents(void **state)
{
    (void)state;
    check_zipf(100000, 0.8, 10);
    check_zipf(50, 1.5, 10);
    check_zipf(1, 1.0, 1);
}

static void test_uniform(void **state)
{
    (void)state;
    check_zipf(10, 0.0, 10); /* s = 0 has no table: the uniform path */
    hs_lg_zipf_t z;
    assert_int_equal(hs_lg_zipf_init(&z, 10, 0), 0);
    assert_null(z.cdf);
    hs_lg_zipf_free(&z);
}

static void test_zipf_invalid(void **state)
{
    (void)state;
    hs_lg_zipf_t z;
    assert_int_equal(hs_lg_zipf_init(&z, 0, 1.0), HS_EINVAL);
    assert_int_equal(hs_lg_zipf_init(&z, 10, -1.0), HS_EINVAL);
    assert_int_equal(hs_lg_zipf_init(&z, 10, NAN), HS_EINVAL);
    assert_int_equal(hs_lg_zipf_init(&z, HS_LG_ZIPF_MAX_N + 1ull, 1.0), HS_E2BIG);
    assert_int_equal(hs_lg_zipf_init(&z, HS_LG_ZIPF_MAX_N + 1ull, 0.0), 0);
}

static void test_sizes_parse(void **state)
{
    (void)state;
    hs_lg_sizes_t d;
    char err[256];
    assert_int_equal(hs_lg_sizes_parse_fixed("4k", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, HS_LG_SIZES_FIXED);
    assert_int_equal(d.fixed, 4096);
    assert_int_equal(d.max, 4096);
    assert_int_equal(hs_lg_sizes_parse_fixed("0", &d, err, sizeof(err)), 0);
    assert_int_equal(hs_lg_sizes_parse_fixed("1g", &d, err, sizeof(err)), HS_ERANGE);
    assert_non_null(strstr(err, "256m"));
    assert_int_equal(hs_lg_sizes_parse_fixed("4q", &d, err, sizeof(err)), HS_EINVAL);
    assert_non_null(strstr(err, "4k"));
    assert_int_equal(hs_lg_sizes_parse_fixed("", &d, err, sizeof(err)), HS_EINVAL);

    assert_int_equal(hs_lg_sizes_parse_dist("lognormal:64k:1.5", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, HS_LG_SIZES_LOGNORMAL);
    assert_true(fabs(exp(d.mu) - 65536) < 1e-6 && d.sigma == 1.5);
    assert_true(d.max > 65536 && d.max <= HS_LG_SIZE_MAX);

    assert_int_equal(hs_lg_sizes_parse_dist("4k:70,64k:25,1m:5", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, HS_LG_SIZES_LIST);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.size[2], 1 << 20);
    assert_int_equal(d.max, 1 << 20);
    assert_true(fabs(d.cum[0] - 0.70) < 1e-12 && d.cum[2] == 1.0);
    assert_int_equal(hs_lg_sizes_parse_dist("100:0.5", &d, err, sizeof(err)), 0);

    static const char *const bad[] = {
        "lognormal:",
        "lognormal:64k",
        "lognormal:0:1",
        "lognormal:64k:-1",
        "lognormal:64k:x",
        "lognormal:64k:11",
        "4k",
        "4k:",
        ":5",
        "4k:1,",
        "4k:-1",
        "4k:0",
        "4k:1,8k:abc",
        "4k:1:2",
        "1k:1,2k:1,3k:1,4k:1,5k:1,6k:1,7k:1,8k:1,9k:1,10k:1,11k:1,12k:1,13k:1,14k:1,"
        "15k:1,16k:1,17k:1",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = hs_lg_sizes_parse_dist(bad[i], &d, err, sizeof(err));
        if (rc != HS_EINVAL && rc != HS_ERANGE) fail_msg("'%s' parsed (rc %d)", bad[i], rc);
        assert_true(strlen(err) > 10);
    }
    assert_int_equal(hs_lg_sizes_parse_dist("2g:1", &d, err, sizeof(err)), HS_ERANGE);
}

static void test_sizes_sample(void **state)
{
    (void)state;
    hs_lg_sizes_t d;
    char err[256];
    hs_lg_rng_t r;
    hs_lg_rng_seed(&r, 5, 5);
    assert_int_equal(hs_lg_sizes_parse_dist("1k:70,2k:25,3k:5", &d, err, sizeof(err)), 0);
    unsigned cnt[3] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = hs_lg_sizes_sample(&d, &r);
        assert_true(v == 1024 || v == 2048 || v == 3072);
        cnt[v / 1024 - 1]++;
    }
    assert_true(abs((int)cnt[0] - 70000) < 1000 && abs((int)cnt[2] - 5000) < 500);

    assert_int_equal(hs_lg_sizes_parse_dist("lognormal:10k:1", &d, err, sizeof(err)), 0);
    unsigned below = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = hs_lg_sizes_sample(&d, &r);
        assert_true(v >= 1 && v <= d.max);
        below += v < 10240;
    }
    /* the median of a log-normal is exp(mu) */
    assert_true(abs((int)below - 50000) < 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zipf_classic), cmocka_unit_test(test_zipf_other_exponents),
        cmocka_unit_test(test_uniform),      cmocka_unit_test(test_zipf_invalid),
        cmocka_unit_test(test_sizes_parse),  cmocka_unit_test(test_sizes_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
