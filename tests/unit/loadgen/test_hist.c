/*
 * Unit tests of src/loadgen/hist.c and series.c: percentiles against the
 * exact order statistics of the same samples, merging, bucket layout, and
 * the per-second series summarised across threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/hist.h"
#include "loadgen/rng.h"
#include "loadgen/series.h"

static hs_lg_hist_t *new_hist(void)
{
    hs_lg_hist_t *h = malloc(sizeof(*h));
    assert_non_null(h);
    hs_lg_hist_reset(h);
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact nearest-rank percentile of sorted v[0..n). */
static uint64_t exact(const uint64_t *v, size_t n, double q)
{
    double want = q / 100.0 * (double)n;
    size_t rank = (size_t)ceil(want);
    if (rank == 0) rank = 1;
    return v[rank - 1];
}

static void check_against_exact(uint64_t *v, size_t n)
{
    hs_lg_hist_t *h = new_hist();
    for (size_t i = 0; i < n; i++)
        hs_lg_hist_record(h, v[i]);
    qsort(v, n, sizeof(*v), cmp_u64);
    static const double qs[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        uint64_t want = exact(v, n, qs[i]), got = hs_lg_hist_percentile(h, qs[i]);
        double err = fabs((double)got - (double)want);
        /* half a bucket: 1/256 of the value, or exact below 256 ns */
        if (err > (double)want / 256.0 + 1.0)
            fail_msg("p%g: histogram %llu, exact %llu (error %.3f%%)", qs[i],
                     (unsigned long long)got, (unsigned long long)want, 100.0 * err / (double)want);
    }
    assert_int_equal(hs_lg_hist_percentile(h, 100), v[n - 1]);
    assert_int_equal(hs_lg_hist_percentile(h, 0), v[0]);
    assert_int_equal(h->total, n);
    free(h);
}

static void test_percentiles_lognormal(void **state)
{
    (void)state;
    /* latencies from 1 us to minutes, log-normal around 1 ms */
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    hs_lg_rng_t r;
    hs_lg_rng_seed(&r, 42, 1);
    for (size_t i = 0; i < n; i++) {
        double u1 = 1.0 - hs_lg_rng_unit(&r), u2 = hs_lg_rng_unit(&r);
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        double ns = exp(log(1e6) + 2.5 * z);
        v[i] = ns < 1000 ? 1000 : (uint64_t)ns;
    }
    check_against_exact(v, n);
    free(v);
}

static void test_percentiles_small_and_exact(void **state)
{
    (void)state;
    uint64_t v[300];
    for (size_t i = 0; i < 300; i++)
        v[i] = 299 - i; /* 0..299: the low range is exact */
    check_against_exact(v, 300);
    uint64_t one[1] = {123456789};
    check_against_exact(one, 1);
    hs_lg_hist_t *h = new_hist();
    assert_int_equal(hs_lg_hist_percentile(h, 50), 0);
    assert_true(hs_lg_hist_mean(h) == 0);
    free(h);
}

static void test_bucket_layout(void **state)
{
    (void)state;
    /* every bucket's range maps back to it, ranges tile the axis, and a
     * bucket is never wider than 1/128 of its lowest value */
    uint64_t prev_hi = 0;
    for (unsigned i = 0; i < HS_LG_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        hs_lg_hist_bucket_range(i, &lo, &hi);
        if (i > 0) assert_int_equal(lo, prev_hi + 1);
        if (hi <= HS_LG_HIST_MAX_NS) {
            assert_int_equal(hs_lg_hist_index(lo), i);
            assert_int_equal(hs_lg_hist_index(hi), i);
        } else if (lo <= HS_LG_HIST_MAX_NS) {
            assert_int_equal(hs_lg_hist_index(UINT64_MAX), i); /* the clamp bucket */
        }
        if (lo >= 256) assert_true((double)(hi - lo + 1) <= (double)lo / 128.0);
        prev_hi = hi;
    }
    assert_true(prev_hi >= HS_LG_HIST_MAX_NS);
    /* values past one hour are clamped into the last bucket; max stays exact */
    hs_lg_hist_t *h = new_hist();
    hs_lg_hist_record(h, UINT64_MAX / 2);
    assert_int_equal(h->counts[HS_LG_HIST_BUCKETS - 1], 1);
    assert_int_equal(h->max_ns, UINT64_MAX / 2);
    assert_int_equal(hs_lg_hist_percentile(h, 50), UINT64_MAX / 2);
    free(h);
}

static void test_merge(void **state)
{
    (void)state;
    hs_lg_hist_t *a = new_hist(), *b = new_hist(), *all = new_hist();
    hs_lg_rng_t r;
    hs_lg_rng_seed(&r, 7, 2);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = 1000 + hs_lg_rng_below(&r, 5000000);
        hs_lg_hist_record(i % 3 ? a : b, v);
        hs_lg_hist_record(all, v);
    }
    hs_lg_hist_t *empty = new_hist();
    hs_lg_hist_merge(a, empty);
    hs_lg_hist_merge(a, b);
    assert_int_equal(a->total, all->total);
    assert_int_equal(a->min_ns, all->min_ns);
    assert_int_equal(a->max_ns, all->max_ns);
    assert_memory_equal(a->counts, all->counts, sizeof(a->counts));
    assert_true(fabs(a->sum_ns - all->sum_ns) < 1e-6 * all->sum_ns);
    for (double q = 1; q < 100; q += 7)
        assert_int_equal(hs_lg_hist_percentile(a, q), hs_lg_hist_percentile(all, q));
    free(a);
    free(b);
    free(all);
    free(empty);
}

static void test_spectrum(void **state)
{
    (void)state;
    hs_lg_hist_t *h = new_hist();
    for (uint64_t i = 1; i <= 10000; i++)
        hs_lg_hist_record(h, i * 1000);
    double q[128];
    uint64_t v[128];
    unsigned n = hs_lg_hist_spectrum(h, q, v, 128);
    /* 0 .. 99.99% in steps of a tenth of a nine, then the max */
    assert_int_equal(n, 42);
    assert_true(q[0] == 0 && q[n - 1] == 100.0);
    assert_int_equal(v[n - 1], 10000000);
    for (unsigned i = 1; i < n; i++) {
        assert_true(q[i] > q[i - 1]);
        assert_true(v[i] >= v[i - 1]);
    }
    assert_true(fabs(q[10] - 90.0) < 1e-9 && fabs(q[20] - 99.0) < 1e-9);
    free(h);
}

static void test_series(void **state)
{
    (void)state;
    hs_lg_series_t *s = hs_lg_series_new(2, 5);
    assert_non_null(s);
    hs_lg_hist_t *h1 = new_hist(), *h2 = new_hist();
    hs_lg_counts_t c1 = {.responses = 100}, c2 = {.responses = 100, .errors = {[0] = 3}};
    for (int i = 0; i < 100; i++) {
        hs_lg_hist_record(h1, 1000000);  /* thread 1: 1 ms */
        hs_lg_hist_record(h2, 50000000); /* thread 2: 50 ms */
    }
    hs_lg_point_t p;
    assert_int_equal(hs_lg_series_latest(s, &p), -1);
    hs_lg_series_submit(s, 0, h1, &c1, 2);
    assert_int_equal(hs_lg_series_latest(s, &p), -1); /* waits for the other thread */
    hs_lg_series_submit(s, 0, h2, &c2, 5);
    assert_int_equal(hs_lg_series_latest(s, &p), 0);
    assert_int_equal(p.c.responses, 200);
    assert_int_equal(p.c.errors[0], 3);
    assert_int_equal(p.backlog, 7);
    /* the median of both threads together, p99 from the slow one */
    assert_true(p.p50_ns >= 995000 && p.p50_ns <= 1005000);
    assert_true(p.p99_ns >= 49700000 && p.p99_ns <= 50300000);
    /* one thread only for second 1; finish() summarises it anyway; seconds
     * past the end fold into the last */
    hs_lg_series_submit(s, 1, h1, &c1, 0);
    hs_lg_series_submit(s, 99, NULL, &c1, 0);
    hs_lg_series_finish(s);
    uint64_t n;
    const hs_lg_point_t *pts = hs_lg_series_points(s, &n);
    assert_int_equal(n, 5);
    assert_true(pts[1].final);
    assert_int_equal(pts[1].c.responses, 100);
    assert_int_equal(pts[4].c.responses, 100);
    hs_lg_series_free(s);
    free(h1);
    free(h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_lognormal),
        cmocka_unit_test(test_percentiles_small_and_exact),
        cmocka_unit_test(test_bucket_layout),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_spectrum),
        cmocka_unit_test(test_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
