/*
 * Pools and views (src/balance/pool.c, view.c, algo.c) on a fake clock:
 * P2C against simulated latencies, round-robin and least-request weights,
 * passive ejection (consecutive failures, ejected share, growing
 * ejection time), slow start, tiers and fallback, retry decisions, the
 * backend parser and the JSON export.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance/balance.h"
#include "core/buf.h"
#include "core/err.h"

#define MS 1000000ull

static uint64_t fake_now = 1000 * MS;

static uint64_t fake_clock(void)
{
    return fake_now;
}

static hs_balance_pool_t *pool(hs_balance_opts_t *o, const char *prim, const char *fb)
{
    o->clock_ns = fake_clock;
    if (!o->seed)
        o->seed = 42;
    int err = 0;
    hs_balance_pool_t *p = hs_balance_pool_new_list(o, prim, fb, &err);
    if (!p)
        fail_msg("pool: %s", hs_errname(err));
    return p;
}

/* One complete try on whatever the view picks; returns the backend. */
static int one(hs_balance_view_t *v, int result)
{
    hs_balance_req_t r;
    hs_balance_req_init(&r);
    int b = hs_balance_pick(v, &r, 0);
    assert_true(b >= 0);
    hs_balance_done(v, &r, result, 1 * MS);
    return b;
}

/* Picks (answering 200 elsewhere) until backend `want` comes up, then
 * reports `result` for it. Round robin reaches every backend quickly. */
static void hit(hs_balance_view_t *v, int want, int result)
{
    for (int i = 0; i < 1000; i++) {
        hs_balance_req_t r;
        hs_balance_req_init(&r);
        int b = hs_balance_pick(v, &r, 0);
        assert_true(b >= 0);
        hs_balance_done(v, &r, b == want ? result : 200, 1 * MS);
        if (b == want)
            return;
    }
    fail_msg("backend %d never picked", want);
}

/* ---- P2C ---- */

typedef struct pending {
    hs_balance_req_t r;
    uint64_t end;
    int used;
} pending_t;

/* Requests every `gap` for 20 s against backends whose answers take
 * lat[i]; returns the share of picks that went to backend 0. */
static double simulate(const hs_balance_algo_t *algo, const uint64_t *lat, unsigned n, uint64_t gap)
{
    static const char *const lists[] = {"", "10.0.0.1:80", "10.0.0.1:80,10.0.0.2:80",
                                        "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"};
    hs_balance_opts_t o = {.algo = algo};
    fake_now = 1000 * MS;
    hs_balance_pool_t *p = pool(&o, lists[n], NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    enum { SLOTS = 4096 };
    pending_t *q = calloc(SLOTS, sizeof(*q));
    unsigned picks[4] = {0}, total = 0;
    uint64_t start = fake_now;
    for (uint64_t t = start; t < start + 20000 * MS; t += gap) {
        /* complete everything due by t, in any order (each at its own time) */
        for (unsigned k = 0; k < SLOTS; k++) {
            if (q[k].used && q[k].end <= t) {
                fake_now = q[k].end;
                hs_balance_done(v, &q[k].r, 200, 0);
                q[k].used = 0;
            }
        }
        fake_now = t;
        unsigned k = 0;
        while (q[k].used)
            k++;
        assert_true(k < SLOTS);
        hs_balance_req_init(&q[k].r);
        int b = hs_balance_pick(v, &q[k].r, (uint64_t)t * 2654435761u);
        assert_true(b >= 0 && (unsigned)b < n);
        q[k].used = 1;
        q[k].end = t + lat[b];
        picks[b]++;
        total++;
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (q[k].used)
            hs_balance_done(v, &q[k].r, HS_ECANCELED, 0);
    free(q);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
    return (double)picks[0] / total;
}

static void test_p2c_prefers_fast(void **state)
{
    (void)state;
    uint64_t lat2[2] = {10 * MS, 100 * MS};
    double p2c = simulate(&hs_balance_p2c, lat2, 2, 5 * MS);
    double rr = simulate(&hs_balance_round_robin, lat2, 2, 5 * MS);
    if (p2c < 0.8)
        fail_msg("p2c sent %.1f%% to the fast backend", p2c * 100);
    assert_true(rr > 0.49 && rr < 0.51);
    /* one slow among three (+200 ms): it gets little */
    uint64_t lat3[3] = {210 * MS, 10 * MS, 10 * MS};
    double slow = simulate(&hs_balance_p2c, lat3, 3, 5 * MS);
    if (slow > 0.1)
        fail_msg("p2c sent %.1f%% to the slow backend", slow * 100);
    /* least-request also avoids it (its requests pile up) */
    double lr = simulate(&hs_balance_least_request, lat3, 3, 5 * MS);
    assert_true(lr < 0.2);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Closed loop, the shape of bench/balance-origins part A: `clients`
 * clients each send their next request when the previous one answers.
 * Backends 1..n-1 serve one request at a time (FIFO) in `svc` (their
 * latency is mostly queueing); backend 0 serves in parallel in lat0.
 * Returns backend 0's share; *p99 gets the 99th percentile latency. */
/* Every `stall_every`, every backend stops for `stall` (a loaded machine
 * descheduling the origins' process): work due inside a stall ends at
 * its end. */
static uint64_t stall_every, stall;

static uint64_t after_stall(uint64_t t)
{
    if (!stall_every)
        return t;
    uint64_t k = t % stall_every;
    return k < stall ? t - k + stall : t;
}

static double closed_loop(unsigned n, uint64_t lat0, uint64_t svc, unsigned clients, uint64_t *p99)
{
    static const char *const lists[] = {"", "", "",
                                        "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80",
                                        "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80"};
    enum { CLIENTS = 32, MAXLAT = 1 << 16 };
    assert_true(n < sizeof(lists) / sizeof(lists[0]) && clients <= CLIENTS);
    hs_balance_opts_t o = {0};
    fake_now = 1000 * MS;
    hs_balance_pool_t *p = pool(&o, lists[n], NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    hs_balance_req_t r[CLIENTS];
    uint64_t end[CLIENTS], free_at[4] = {0};
    uint64_t *lat = calloc(MAXLAT, sizeof(*lat));
    unsigned nlat = 0, picks0 = 0;
    uint64_t stop = fake_now + 20000 * MS;
    for (unsigned c = 0; c < clients; c++) {
        hs_balance_req_init(&r[c]);
        end[c] = 0;
    }
    for (;;) {
        /* next event: a client with no request out, or the earliest answer */
        unsigned c = 0;
        for (unsigned k = 1; k < clients; k++)
            if (end[k] < end[c])
                c = k;
        if (end[c]) {
            fake_now = end[c];
            if (nlat < MAXLAT)
                lat[nlat++] = fake_now - r[c].start_ns;
            hs_balance_done(v, &r[c], 200, 0);
        }
        if (fake_now >= stop)
            break;
        hs_balance_req_init(&r[c]);
        int b = hs_balance_pick(v, &r[c], 0);
        assert_true(b >= 0 && (unsigned)b < n);
        if (b == 0) {
            picks0++;
            end[c] = after_stall(fake_now + lat0);
        } else {
            uint64_t s = after_stall(free_at[b] > fake_now ? free_at[b] : fake_now);
            end[c] = free_at[b] = after_stall(s + svc);
        }
    }
    for (unsigned c = 0; c < clients; c++)
        if (r[c].backend >= 0)
            hs_balance_done(v, &r[c], HS_ECANCELED, 0);
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    *p99 = lat[(size_t)(nlat * 0.99)];
    free(lat);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
    return (double)picks0 / nlat;
}

/* Regression (issue 6): with cost = peak-EWMA latency x (in-flight + 1)
 * the queueing backends' cost (about 42 ms x 6) passed the idle slow
 * one's 200 ms, so the slow backend always had a request out: 1.3% of
 * the requests and the p99 at 200 ms. */
static void test_p2c_slow_among_queueing(void **state)
{
    (void)state;
    uint64_t p99_healthy, p99_slow;
    double share_h = closed_loop(4, 8 * MS, 8 * MS, 16, &p99_healthy);
    double share_s = closed_loop(4, 208 * MS, 8 * MS, 16, &p99_slow);
    assert_true(share_h > 0.15); /* a healthy backend 0 gets its part */

    if (share_s > 0.001)
        fail_msg("the slow backend got %.2f%% of requests", share_s * 100);
    if (p99_slow > p99_healthy * 3 / 2)
        fail_msg("p99 %.1f ms with the slow backend vs %.1f ms without", p99_slow / 1e6,
                 p99_healthy / 1e6);
    /* Every second everything stalls for 150 ms (a loaded machine): the
     * healthy backends' peaks must not hold for tau (it was 3% at 10 s). */
    stall_every = 1000 * MS;
    stall = 150 * MS;
    share_s = closed_loop(4, 208 * MS, 8 * MS, 16, &p99_slow);
    stall_every = stall = 0;
    if (share_s > 0.006)
        fail_msg("with stalls the slow backend got %.2f%% of requests", share_s * 100);
}

/* ---- weights ---- */

static void test_round_robin_weights(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.algo = &hs_balance_round_robin};
    hs_balance_pool_t *p =
        pool(&o, "10.0.0.1:80;weight=500,10.0.0.2:80;weight=100,10.0.0.3:80;weight=100", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    int seq[7], counts[3] = {0};
    for (int i = 0; i < 7; i++)
        seq[i] = one(v, 200);
    /* smooth: a a b a c a a, never b and c in a run */
    static const int want[7] = {0, 0, 1, 0, 2, 0, 0};
    for (int i = 0; i < 7; i++)
        assert_int_equal(seq[i], want[i]);
    for (int i = 0; i < 7000; i++)
        counts[one(v, 200)]++;
    assert_int_equal(counts[0], 5000);
    assert_int_equal(counts[1], 1000);
    assert_int_equal(counts[2], 1000);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

static void test_p2c_weights(void **state)
{
    (void)state;
    /* equal costs: the weighted draw decides */
    hs_balance_opts_t o = {0};
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80;weight=300,10.0.0.2:80;weight=100", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    int counts[2] = {0};
    for (int i = 0; i < 20000; i++) {
        hs_balance_req_t r;
        hs_balance_req_init(&r);
        int b = hs_balance_pick(v, &r, 0);
        counts[b]++;
        hs_balance_done(v, &r, HS_ECANCELED, 0); /* no sample: costs stay equal */
    }
    /* P(a) = P(draw a first) * 1/2 + P(draw b first) * 1/2... both are
     * drawn every time with 2 backends, so ties split evenly */
    assert_true(counts[0] > 9000 && counts[1] > 9000);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

/* ---- ejection ---- */

static void test_consecutive_failures_eject(void **state)
{
    (void)state;
    hs_balance_opts_t o = {
        .algo = &hs_balance_round_robin,
        .consecutive_gateway = 3,
        .consecutive_5xx = 5,
        .ejection_time_ms = 1000,
        .max_ejection_time_ms = 10000,
    };
    fake_now = 1000 * MS;
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    /* a success in between resets the count */
    hit(v, 0, HS_ECONNREFUSED);
    hit(v, 0, HS_ECONNREFUSED);
    hit(v, 0, 200);
    hit(v, 0, HS_ECONNREFUSED);
    hit(v, 0, HS_ECONNREFUSED);
    assert_true(hs_balance_backend_available(p, 0));
    hit(v, 0, 503);
    assert_false(hs_balance_backend_available(p, 0));
    /* 500s count toward consecutive 5xx, not gateway */
    for (int i = 0; i < 4; i++)
        hit(v, 1, 500);
    assert_true(hs_balance_backend_available(p, 1));
    hit(v, 1, 500);
    assert_false(hs_balance_backend_available(p, 1));
    /* half of the tier is out: the third is never ejected */
    for (int i = 0; i < 10; i++)
        hit(v, 2, HS_ETIMEDOUT);
    assert_true(hs_balance_backend_available(p, 2));
    /* ejected backends get nothing */
    for (int i = 0; i < 100; i++) {
        int b = one(v, 200);
        assert_true(b == 2 || b == 3);
    }
    /* after the ejection time they are back */
    fake_now += 1000 * MS;
    assert_true(hs_balance_backend_available(p, 0));
    assert_true(hs_balance_backend_available(p, 1));
    /* the second ejection lasts twice as long */
    for (int i = 0; i < 3; i++)
        hit(v, 0, HS_ECONNRESET);
    assert_false(hs_balance_backend_available(p, 0));
    fake_now += 1500 * MS;
    assert_false(hs_balance_backend_available(p, 0));
    fake_now += 501 * MS;
    assert_true(hs_balance_backend_available(p, 0));
    /* canceled tries say nothing about a backend */
    for (int i = 0; i < 10; i++)
        hit(v, 3, HS_ECANCELED);
    assert_true(hs_balance_backend_available(p, 3));
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

static void test_single_backend_never_ejected(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.consecutive_gateway = 1, .consecutive_5xx = 1};
    hs_balance_pool_t *p = pool(&o, "127.0.0.1:1", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    for (int i = 0; i < 10; i++)
        one(v, HS_ECONNREFUSED);
    assert_true(hs_balance_backend_available(p, 0));
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

static void test_slow_start(void **state)
{
    (void)state;
    hs_balance_opts_t o = {
        .algo = &hs_balance_round_robin,
        .consecutive_gateway = 1,
        .ejection_time_ms = 1000,
        .slow_start_ms = 10000,
    };
    fake_now = 1000 * MS;
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80,10.0.0.2:80", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    assert_float_equal(hs_balance_backend_weight(p, 0), 100, 1e-9); /* no ramp at start */
    hit(v, 0, HS_ECONNREFUSED);
    assert_false(hs_balance_backend_available(p, 0));
    fake_now += 1000 * MS;
    assert_true(hs_balance_backend_available(p, 0)); /* re-admitted: ramp starts */
    assert_float_equal(hs_balance_backend_weight(p, 0), 10, 1e-9);
    fake_now += 5000 * MS;
    assert_float_equal(hs_balance_backend_weight(p, 0), 50, 1e-9);
    /* round robin follows the effective weight: 50 vs 100 */
    int c[2] = {0};
    for (int i = 0; i < 300; i++)
        c[one(v, 200)]++;
    /* (positions carried over from the earlier picks shift it by one) */
    assert_true(c[0] >= 99 && c[0] <= 101);
    assert_int_equal(c[0] + c[1], 300);
    fake_now += 5000 * MS;
    assert_float_equal(hs_balance_backend_weight(p, 0), 100, 1e-9);
    /* health recovery ramps too */
    hs_balance_backend_set_healthy(p, 1, false);
    assert_false(hs_balance_backend_available(p, 1));
    hs_balance_backend_set_healthy(p, 1, true);
    assert_float_equal(hs_balance_backend_weight(p, 1), 10, 1e-9);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

/* ---- tiers ---- */

static void test_fallback_tier(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.retries = 3};
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80,10.0.0.2:80", "10.0.0.9:80");
    hs_balance_view_t *v = hs_balance_view_new(p);
    assert_int_equal(hs_balance_pool_size(p), 3);
    assert_string_equal(hs_balance_backend_name(p, 2), "10.0.0.9:80");
    for (int i = 0; i < 200; i++)
        assert_true(one(v, 200) < 2);
    /* one primary left: still primaries only */
    hs_balance_backend_set_healthy(p, 0, false);
    for (int i = 0; i < 50; i++)
        assert_int_equal(one(v, 200), 1);
    /* a request that failed on every primary is retried on the fallback */
    hs_balance_backend_set_healthy(p, 0, true);
    hs_balance_req_t r;
    hs_balance_req_init(&r);
    int a = hs_balance_pick(v, &r, 0);
    hs_balance_done(v, &r, HS_ECONNREFUSED, 0);
    assert_true(hs_balance_retry(v, &r, HS_ECONNREFUSED));
    int b = hs_balance_pick(v, &r, 0);
    assert_true(b != a && b < 2);
    hs_balance_done(v, &r, 503, 0);
    assert_true(hs_balance_retry(v, &r, 503));
    assert_int_equal(hs_balance_pick(v, &r, 0), 2);
    hs_balance_done(v, &r, 200, 0);
    /* every primary down: the fallback serves */
    hs_balance_backend_set_healthy(p, 0, false);
    hs_balance_backend_set_healthy(p, 1, false);
    for (int i = 0; i < 50; i++)
        assert_int_equal(one(v, 200), 2);
    /* nothing healthy at all: any backend rather than none */
    hs_balance_backend_set_healthy(p, 2, false);
    int seen[3] = {0};
    for (int i = 0; i < 100; i++)
        seen[one(v, 200)]++;
    assert_true(seen[0] + seen[1] == 100);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

/* ---- retries ---- */

static void test_retry_rules(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.retries = 2, .retry_budget_percent = 20, .retry_budget_min_per_s = 1};
    fake_now = 1000 * MS;
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80", NULL);
    hs_balance_view_t *v = hs_balance_view_new(p);
    hs_balance_req_t r;
    hs_balance_req_init(&r);
    assert_false(hs_balance_retry(v, &r, 503)); /* nothing tried yet */
    int a = hs_balance_pick(v, &r, 0);
    assert_int_equal(hs_balance_pick(v, &r, 0), HS_EBUSY);
    hs_balance_done(v, &r, 404, 0);
    assert_false(hs_balance_retry(v, &r, 404));
    assert_false(hs_balance_retry(v, &r, 500));
    assert_false(hs_balance_retry(v, &r, HS_ECANCELED));
    assert_true(hs_balance_retry(v, &r, 502));
    int b = hs_balance_pick(v, &r, 0);
    assert_int_not_equal(a, b);
    hs_balance_done(v, &r, HS_ETIMEDOUT, 0);
    assert_true(hs_balance_retry(v, &r, HS_ETIMEDOUT));
    int c = hs_balance_pick(v, &r, 0);
    assert_true(c != a && c != b);
    hs_balance_done(v, &r, 504, 0);
    assert_false(hs_balance_retry(v, &r, 504)); /* 1 + 2 retries used */
    /* the budget: 1/s floor = 10 per window; 2 spent above */
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        hs_balance_req_t q;
        hs_balance_req_init(&q);
        hs_balance_pick(v, &q, 0);
        hs_balance_done(v, &q, 503, 0);
        ok += hs_balance_retry(v, &q, 503);
    }
    /* 51 first tries in the window: 20% = 10; floor 10; 2 spent before */
    assert_int_equal(ok, 8);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
    /* idempotency */
    assert_true(hs_balance_idempotent(HS_HTTP_GET, true));
    assert_true(hs_balance_idempotent(HS_HTTP_PUT, true));
    assert_false(hs_balance_idempotent(HS_HTTP_PUT, false));
    assert_false(hs_balance_idempotent(HS_HTTP_POST, true));
    assert_false(hs_balance_idempotent(HS_HTTP_OTHER, true));
}

/* ---- parsing and export ---- */

static void test_parse(void **state)
{
    (void)state;
    char name[HS_BALANCE_NAME_MAX];
    unsigned w = 0;
#define OK(s, n, wt)                                                           \
    do {                                                                       \
        assert_int_equal(hs_balance_parse_backend(s, strlen(s), name, sizeof(name), &w), 0); \
        assert_string_equal(name, n);                                          \
        assert_int_equal(w, wt);                                               \
    } while (0)
    OK("http://127.0.0.1:8080", "127.0.0.1:8080", 100);
    OK("127.0.0.1:8080/", "127.0.0.1:8080", 100);
    OK("http://[::1]:80;weight=7", "[::1]:80", 7);
    OK("localhost:9000;weight=65535", "localhost:9000", 65535);
#undef OK
    static const char *const bad[] = {
        "", "http://", "https://127.0.0.1:443", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
        "127.0.0.1:80/x", "example.com:80", ":80", "[::1:80", "127.0.0.1:80;weight=0",
        "127.0.0.1:80;weight=65536", "127.0.0.1:80;weight=", "127.0.0.1:80;w=3",
        "127.0.0.1:80;weight=3x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hs_balance_parse_backend(bad[i], strlen(bad[i]), name, sizeof(name), &w) != HS_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    char why[64];
    assert_int_equal(hs_balance_check_list(" http://127.0.0.1:1 , 127.0.0.1:2;weight=3", why,
                                           sizeof(why)), 2);
    assert_int_equal(hs_balance_check_list("", why, sizeof(why)), 0);
    assert_int_equal(hs_balance_check_list("127.0.0.1:1,,127.0.0.1:2", why, sizeof(why)), HS_EINVAL);
    assert_int_equal(hs_balance_check_list("127.0.0.1:1, nope:2", why, sizeof(why)), HS_EINVAL);
    assert_string_equal(why, "nope:2");
    int err = 0;
    assert_null(hs_balance_pool_new_list(NULL, "127.0.0.1:1,127.0.0.1:1", NULL, &err));
    assert_int_equal(err, HS_EINVAL); /* duplicate */
    assert_null(hs_balance_pool_new_list(NULL, "", "127.0.0.1:1", &err));
    assert_int_equal(err, HS_EINVAL); /* no primary */
    assert_non_null(hs_balance_algo_by_name("maglev"));
    assert_null(hs_balance_algo_by_name("random"));
}

static void test_json(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.name = "edge", .consecutive_gateway = 1};
    hs_balance_pool_t *p = pool(&o, "10.0.0.1:80,10.0.0.2:80", "10.0.0.3:80");
    hs_balance_view_t *v = hs_balance_view_new(p);
    hit(v, 0, HS_ECONNREFUSED);
    hs_buf_t b = HS_BUF_INIT;
    assert_int_equal(hs_balance_pool_json(p, &b), 0);
    const char *s = hs_buf_data(&b);
    assert_non_null(strstr(s, "\"pool\":\"edge\""));
    assert_non_null(strstr(s, "{\"name\":\"10.0.0.1:80\",\"tier\":\"primary\""));
    assert_non_null(strstr(s, "\"name\":\"10.0.0.3:80\",\"tier\":\"fallback\""));
    assert_non_null(strstr(s, "\"ejected\":true"));
    assert_non_null(strstr(s, "\"failures\":1"));
    assert_true(s[hs_buf_len(&b) - 2] == '}');
    hs_buf_free(&b);
    hs_balance_view_free(v);
    hs_balance_pool_release(p);
}

/* The control thread starts and stops cleanly (health checks of a closed
 * port fail and mark the backend unhealthy). */
static void test_control_thread(void **state)
{
    (void)state;
    hs_balance_opts_t o = {.health_path = "/health", .health_interval_ms = 10, .health_fall = 1,
                           .health_timeout_ms = 200};
    hs_balance_pool_t *p = hs_balance_pool_new_list(&o, "127.0.0.1:1,127.0.0.1:2", NULL, NULL);
    assert_non_null(p);
    assert_int_equal(hs_balance_pool_start(p), 0);
    /* port 1 refuses at once; allow a generous 5 s for a busy machine */
    for (int i = 0; i < 500 && hs_balance_backend_available(p, 0); i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_false(hs_balance_backend_available(p, 0));
    hs_balance_pool_stop(p);
    hs_balance_pool_stop(p);
    hs_balance_pool_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2c_prefers_fast),
        cmocka_unit_test(test_p2c_slow_among_queueing),
        cmocka_unit_test(test_round_robin_weights),
        cmocka_unit_test(test_p2c_weights),
        cmocka_unit_test(test_consecutive_failures_eject),
        cmocka_unit_test(test_single_backend_never_ejected),
        cmocka_unit_test(test_slow_start),
        cmocka_unit_test(test_fallback_tier),
        cmocka_unit_test(test_retry_rules),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_control_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
