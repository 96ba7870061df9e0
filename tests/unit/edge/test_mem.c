/*
 * Unit tests of src/edge/mem.c: lookups by primary and secondary key, the
 * byte budget, SIEVE eviction order, references that outlive eviction,
 * Vary changes and invalidation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "edge/mem.h"
#include "edge/policy.h"

/* x^a for the Zipf weights without libm's pow (exp/log series is plenty). */
static double pow_approx(double x, double a)
{
    return __builtin_exp(a * __builtin_log(x));
}

static hs_edge_obj_t *mk(size_t body, const char *hdr)
{
    hs_edge_obj_t *o = hs_edge_obj_new();
    assert_non_null(o);
    o->status = 200;
    o->size = body;
    o->body = malloc(body ? body : 1);
    assert_non_null(o->body);
    memset(o->body, 'x', body);
    o->hdr_len = strlen(hdr);
    o->hdr = malloc(o->hdr_len + 1);
    memcpy(o->hdr, hdr, o->hdr_len + 1);
    hs_edge_obj_index(o);
    return o;
}

static hs_http_msg_t plain_req = {0};

static hs_str_t K(const char *s)
{
    return (hs_str_t){s, strlen(s)};
}

static bool has(hs_edge_mem_t *m, const char *key)
{
    hs_edge_obj_t *o = hs_edge_mem_lookup(m, K(key), &plain_req);
    if (o)
        hs_edge_obj_unref(o);
    return o != NULL;
}

/* inserts without marking anything visited */
static void put(hs_edge_mem_t *m, const char *key, size_t body)
{
    hs_edge_obj_t *o = mk(body, "");
    assert_int_equal(hs_edge_mem_insert(m, K(key), HS_STR_NULL, HS_STR_NULL, o), 0);
    hs_edge_obj_unref(o);
}

static void test_insert_lookup(void **state)
{
    (void)state;
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 20);
    hs_edge_obj_t *o = mk(100, "ETag: \"v1\"\r\nContent-Type: text/plain\r\nLast-Modified: x\r\n");
    assert_true(HS_STR_EQ(o->etag, "\"v1\""));
    assert_true(HS_STR_EQ(o->content_type, "text/plain"));
    assert_true(HS_STR_EQ(o->last_modified, "x"));
    assert_int_equal(hs_edge_mem_insert(m, K("h/a"), HS_STR_NULL, HS_STR_NULL, o), 0);
    assert_int_equal(o->refs, 2);
    hs_edge_obj_unref(o);
    hs_edge_obj_t *got = hs_edge_mem_lookup(m, K("h/a"), &plain_req);
    assert_ptr_equal(got, o);
    assert_int_equal(got->refs, 2);
    hs_edge_obj_unref(got);
    assert_null(hs_edge_mem_lookup(m, K("h/b"), &plain_req));
    assert_int_equal(hs_edge_mem_count(m), 1);
    assert_true(hs_edge_mem_bytes(m) >= 100);
    /* same key again replaces */
    put(m, "h/a", 50);
    assert_int_equal(hs_edge_mem_count(m), 1);
    hs_edge_mem_free(m);
}

static void test_budget_and_refs(void **state)
{
    (void)state;
    hs_edge_mem_t *m = hs_edge_mem_new(10000);
    hs_edge_obj_t *big = mk(20000, "");
    assert_int_equal(hs_edge_mem_insert(m, K("big"), HS_STR_NULL, HS_STR_NULL, big), HS_E2BIG);
    hs_edge_obj_unref(big);
    /* our reference stands for a response in flight (no lookup: a hit
     * would mark it visited and SIEVE would keep it) */
    hs_edge_obj_t *a = mk(3000, "");
    assert_int_equal(hs_edge_mem_insert(m, K("a"), HS_STR_NULL, HS_STR_NULL, a), 0);
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        put(m, k, 3000);
        assert_true(hs_edge_mem_bytes(m) <= 10000);
    }
    assert_true(hs_edge_mem_evictions(m) > 0);
    assert_false(a->cached);    /* evicted ... */
    assert_int_equal(a->refs, 1); /* ... but still ours */
    assert_int_equal(a->body[2999], 'x');
    hs_edge_obj_unref(a);
    hs_edge_mem_free(m);
}

static void test_sieve_keeps_visited(void **state)
{
    (void)state;
    /* room for 4 objects of ~1000 bytes */
    hs_edge_mem_t *m = hs_edge_mem_new(4 * (1000 + sizeof(hs_edge_obj_t) + 64 + 2) + 10);
    put(m, "a", 1000);
    put(m, "b", 1000);
    put(m, "c", 1000);
    put(m, "d", 1000);
    assert_int_equal(hs_edge_mem_count(m), 4);
    assert_true(has(m, "a")); /* visited: survives the next eviction */
    assert_true(has(m, "c"));
    put(m, "e", 1000); /* evicts b: the oldest unvisited */
    assert_true(has(m, "a"));
    assert_false(has(m, "b"));
    assert_true(has(m, "c"));
    assert_true(has(m, "d"));
    assert_true(has(m, "e"));
    /* all visited now: the hand clears bits and evicts in FIFO order from its position */
    put(m, "f", 1000);
    assert_int_equal(hs_edge_mem_count(m), 4);
    assert_true(has(m, "f"));
    hs_edge_mem_free(m);
}

static hs_http_header_t RH[2];

static hs_http_msg_t req_with(const char *name, const char *val)
{
    hs_http_msg_t r = {0};
    r.headers = RH;
    if (name) {
        RH[0].name = K(name);
        RH[0].value = K(val);
        r.num_headers = 1;
    }
    return r;
}

static void insert_variant(hs_edge_mem_t *m, const char *key, const char *vary, hs_http_msg_t req,
                           size_t body)
{
    char sec[256];
    int n = hs_edge_vary_key(K(vary), &req, sec, sizeof(sec));
    assert_true(n >= 0);
    hs_edge_obj_t *o = mk(body, "");
    assert_int_equal(hs_edge_mem_insert(m, K(key), K(vary), (hs_str_t){sec, (size_t)n}, o), 0);
    hs_edge_obj_unref(o);
}

static void test_vary_variants(void **state)
{
    (void)state;
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 20);
    insert_variant(m, "u", "accept-encoding", req_with("Accept-Encoding", "gzip"), 10);
    insert_variant(m, "u", "accept-encoding", req_with("Accept-Encoding", "br"), 20);
    insert_variant(m, "u", "accept-encoding", req_with(NULL, NULL), 30);
    assert_int_equal(hs_edge_mem_count(m), 3);
    hs_http_msg_t r = req_with("accept-encoding", "GZIP");
    hs_edge_obj_t *o = hs_edge_mem_lookup(m, K("u"), &r);
    assert_non_null(o);
    assert_int_equal(o->size, 10);
    hs_edge_obj_unref(o);
    r = req_with(NULL, NULL);
    o = hs_edge_mem_lookup(m, K("u"), &r);
    assert_non_null(o);
    assert_int_equal(o->size, 30);
    hs_edge_obj_unref(o);
    r = req_with("Accept-Encoding", "deflate");
    assert_null(hs_edge_mem_lookup(m, K("u"), &r));
    /* a response with another Vary list replaces every variant */
    insert_variant(m, "u", "accept-language", req_with("Accept-Language", "fr"), 40);
    assert_int_equal(hs_edge_mem_count(m), 1);
    r = req_with("Accept-Language", "fr");
    o = hs_edge_mem_lookup(m, K("u"), &r);
    assert_non_null(o);
    assert_int_equal(o->size, 40);
    hs_edge_obj_unref(o);
    /* variant cap */
    for (int i = 0; i < HS_EDGE_MAX_VARIANTS + 5; i++) {
        char v[8];
        snprintf(v, sizeof(v), "l%d", i);
        insert_variant(m, "w", "accept-language", req_with("Accept-Language", v), 1);
    }
    assert_int_equal(hs_edge_mem_count(m), 1 + HS_EDGE_MAX_VARIANTS);
    /* invalidation removes every variant */
    assert_int_equal(hs_edge_mem_invalidate(m, K("w")), HS_EDGE_MAX_VARIANTS);
    assert_int_equal(hs_edge_mem_invalidate(m, K("w")), 0);
    assert_int_equal(hs_edge_mem_count(m), 1);
    hs_edge_mem_free(m);
}

static void test_remove_and_recharge(void **state)
{
    (void)state;
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 20);
    put(m, "a", 10);
    hs_edge_obj_t *o = hs_edge_mem_lookup(m, K("a"), &plain_req);
    uint64_t before = hs_edge_mem_bytes(m);
    free(o->hdr);
    o->hdr = strdup("ETag: \"v2\"\r\nX-New: 1\r\n");
    o->hdr_len = strlen(o->hdr);
    hs_edge_obj_index(o);
    hs_edge_mem_recharge(m, o);
    assert_int_equal(hs_edge_mem_bytes(m), before + o->hdr_len);
    assert_true(HS_STR_EQ(o->etag, "\"v2\""));
    hs_edge_mem_remove(m, o);
    assert_false(o->cached);
    assert_int_equal(hs_edge_mem_count(m), 0);
    assert_int_equal(hs_edge_mem_bytes(m), 0);
    hs_edge_mem_remove(m, o); /* twice is harmless */
    hs_edge_obj_unref(o);
    hs_edge_mem_free(m);
}


static void put_tagged(hs_edge_mem_t *m, const char *key, const char *tags)
{
    hs_edge_obj_t *o = mk(10, "");
    if (tags) {
        o->tags = strdup(tags);
        o->tags_len = strlen(tags);
    }
    assert_int_equal(hs_edge_mem_insert(m, K(key), HS_STR_NULL, HS_STR_NULL, o), 0);
    hs_edge_obj_unref(o);
}

static void test_purge(void **state)
{
    (void)state;
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 20);
    put_tagged(m, "h /a/1", "red blue");
    put_tagged(m, "h /a/2", "blue");
    put_tagged(m, "h /b/1", "red");
    put_tagged(m, "g /a/1", NULL);
    insert_variant(m, "h /v", "accept-language", req_with("Accept-Language", "fr"), 1);
    insert_variant(m, "h /v", "accept-language", req_with("Accept-Language", "de"), 1);
    assert_int_equal(hs_edge_mem_count(m), 6);
    /* url: every variant */
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_URL, K("h /v"), false), 2);
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_URL, K("h /v"), false), 0);
    /* tag: exact key, not a substring */
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_TAG, K("re"), false), 0);
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_TAG, K("red"), false), 2);
    assert_false(has(m, "h /a/1"));
    assert_false(has(m, "h /b/1"));
    assert_true(has(m, "h /a/2"));
    /* prefix: this host only */
    put_tagged(m, "h /a/3", NULL);
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_PREFIX, K("h /a/"), false), 2);
    assert_true(has(m, "g /a/1"));
    assert_int_equal(hs_edge_mem_count(m), 1);
    /* soft: kept, but stale */
    hs_edge_obj_t *o = hs_edge_mem_lookup(m, K("g /a/1"), &plain_req);
    o->meta.lifetime = 1000;
    assert_int_equal(hs_edge_mem_purge(m, HS_EDGE_PURGE_URL, K("g /a/1"), true), 1);
    assert_true(o->cached);
    assert_int_equal(o->meta.lifetime, 0);
    hs_edge_obj_unref(o);
    assert_true(hs_edge_tags_has(HS_STR_LIT(" a  b "), HS_STR_LIT("b")));
    assert_false(hs_edge_tags_has(HS_STR_LIT("ab"), HS_STR_LIT("a")));
    hs_edge_mem_free(m);
}

/* ---- measurement: SIEVE against LRU on a skewed trace with scans ---- */

#define NOBJ 5000
#define NREQ 200000
#define OBJ_BYTES 1000

static uint64_t rng = 88172645463325252ull;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Zipf(alpha) ranks by inverse CDF; every 10th request is part of a scan
 * over cold keys (seen once), the pattern that flushes an LRU. */
static int *make_trace(double alpha)
{
    double *cdf = malloc(NOBJ * sizeof(*cdf));
    int *t = malloc(NREQ * sizeof(*t));
    assert_non_null(cdf);
    assert_non_null(t);
    double sum = 0;
    for (int i = 0; i < NOBJ; i++)
        sum += 1.0 / pow_approx(i + 1, alpha);
    double acc = 0;
    for (int i = 0; i < NOBJ; i++) {
        acc += 1.0 / pow_approx(i + 1, alpha) / sum;
        cdf[i] = acc;
    }
    int scan = 1000000;
    for (int r = 0; r < NREQ; r++) {
        if (r % 10 == 9) {
            t[r] = scan++;
            continue;
        }
        double u = (double)(xorshift() >> 11) / (double)(1ull << 53);
        int lo = 0, hi = NOBJ - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        t[r] = lo;
    }
    free(cdf);
    return t;
}

/* Reference LRU over the same byte budget (objects of equal size). */
static double lru_hits(const int *t, int slots)
{
    int *stamp_key = calloc((size_t)slots, sizeof(int));
    long *stamp = calloc((size_t)slots, sizeof(long));
    int used = 0;
    long hits = 0;
    for (long r = 0; r < NREQ; r++) {
        int k = t[r], at = -1;
        for (int i = 0; i < used; i++)
            if (stamp_key[i] == k) {
                at = i;
                break;
            }
        if (at >= 0) {
            hits++;
            stamp[at] = r;
            continue;
        }
        if (used < slots) {
            at = used++;
        } else {
            at = 0;
            for (int i = 1; i < used; i++)
                if (stamp[i] < stamp[at])
                    at = i;
        }
        stamp_key[at] = k;
        stamp[at] = r;
    }
    free(stamp_key);
    free(stamp);
    return (double)hits / NREQ;
}

static double sieve_hits(const int *t, int slots)
{
    uint64_t per = sizeof(hs_edge_obj_t) + OBJ_BYTES + 64 + 8; /* one object's charge */
    hs_edge_mem_t *m = hs_edge_mem_new(per * (uint64_t)slots);
    long hits = 0;
    for (long r = 0; r < NREQ; r++) {
        char key[16];
        snprintf(key, sizeof(key), "%08d", t[r]);
        if (has(m, key))
            hits++;
        else
            put(m, key, OBJ_BYTES);
    }
    assert_true(hs_edge_mem_count(m) <= (uint64_t)slots);
    hs_edge_mem_free(m);
    return (double)hits / NREQ;
}

static void test_sieve_vs_lru(void **state)
{
    (void)state;
    int *t = make_trace(0.9);
    for (int slots = 100; slots <= 1000; slots *= 10) {
        double s = sieve_hits(t, slots), l = lru_hits(t, slots);
        printf("# cache %d of %d objects (+ scans): SIEVE hit ratio %.3f, LRU %.3f\n", slots, NOBJ,
               s, l);
        /* the measurement that chose SIEVE (docs/design/edge-cache.md) */
        assert_true(s >= l);
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup),
        cmocka_unit_test(test_budget_and_refs),
        cmocka_unit_test(test_sieve_keeps_visited),
        cmocka_unit_test(test_vary_variants),
        cmocka_unit_test(test_remove_and_recharge),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_sieve_vs_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
