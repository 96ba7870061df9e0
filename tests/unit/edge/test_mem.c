/*
 * Unit tests of src/edge/mem.c: lookups by primary and secondary key, the
 * byte budget, SIEVE eviction order, references that outlive eviction,
 * Vary changes and invalidation; large bodies in memfds (read back through
 * the mapping and the fd, the process-wide cap, fallback when a memfd
 * cannot be made, close on the last unref).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* ---- memfd bodies ---- */

/* A large object whose bytes differ per position, and a copy of them. */
static hs_edge_obj_t *mk_pattern(size_t len, char **copy)
{
    hs_edge_obj_t *o = mk(len, "ETag: \"p\"\r\n");
    for (size_t i = 0; i < len; i++)
        o->body[i] = (char)(i * 131 + (i >> 8));
    *copy = malloc(len);
    assert_non_null(*copy);
    memcpy(*copy, o->body, len);
    return o;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void test_memfd_default_cap(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    unsigned want = HS_EDGE_MEMFD_MAX;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < want)
        want = (unsigned)(rl.rlim_cur / 4);
    assert_int_equal(hs_edge_memfd_cap(), want);
}

static void test_memfd_body(void **state)
{
    (void)state;
    hs_edge_memfd_set_cap(HS_EDGE_MEMFD_MAX);
    unsigned n0 = hs_edge_memfd_count();
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 22);
    size_t len = 100 * 1024;
    char *want;
    hs_edge_obj_t *o = mk_pattern(len, &want);
    assert_int_equal(hs_edge_mem_insert(m, K("h/big"), HS_STR_NULL, HS_STR_NULL, o), 0);
    assert_int_equal(o->body_kind, HS_EDGE_BODY_MEMFD);
    assert_int_equal(hs_edge_memfd_count(), n0 + 1);
    int fd = o->body_memfd;
    assert_true(fd >= 0);
    assert_memory_equal(o->body, want, len); /* through the mapping */
    char *got = malloc(len + 1);
    assert_int_equal(pread(fd, got, len + 1, 0), (ssize_t)len); /* through the fd, no more */
    assert_memory_equal(got, want, len);
    int seals = fcntl(fd, F_GET_SEALS);
    assert_true(seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SHRINK));
    assert_true(pwrite(fd, "z", 1, 0) < 0); /* immutable */

    /* the smallest body that moves, and one byte below it */
    hs_edge_obj_t *at = mk(HS_EDGE_MEMFD_MIN, ""), *below = mk(HS_EDGE_MEMFD_MIN - 1, "");
    assert_int_equal(hs_edge_mem_insert(m, K("h/at"), HS_STR_NULL, HS_STR_NULL, at), 0);
    assert_int_equal(hs_edge_mem_insert(m, K("h/below"), HS_STR_NULL, HS_STR_NULL, below), 0);
    assert_int_equal(at->body_kind, HS_EDGE_BODY_MEMFD);
    assert_int_equal(below->body_kind, HS_EDGE_BODY_HEAP);
    assert_int_equal(at->body[HS_EDGE_MEMFD_MIN - 1], 'x');
    hs_edge_obj_unref(at);
    hs_edge_obj_unref(below);

    /* our reference stands for a response in flight: removal from the
     * tier keeps the fd and the mapping until it is dropped */
    hs_edge_mem_remove(m, o);
    assert_false(o->cached);
    assert_true(fd_open(fd));
    assert_memory_equal(o->body, want, len);
    assert_int_equal(hs_edge_memfd_count(), n0 + 2);
    hs_edge_obj_unref(o);
    assert_false(fd_open(fd));
    assert_int_equal(hs_edge_memfd_count(), n0 + 1);
    hs_edge_mem_free(m); /* drops "at" */
    assert_int_equal(hs_edge_memfd_count(), n0);
    /* a heap body only: anything else is refused */
    hs_edge_obj_t *e = hs_edge_obj_new();
    assert_int_equal(hs_edge_obj_to_memfd(e), HS_EINVAL);
    hs_edge_obj_unref(e);
    free(got);
    free(want);
}

static void test_memfd_cap(void **state)
{
    (void)state;
    unsigned n0 = hs_edge_memfd_count();
    hs_edge_memfd_set_cap(n0 + 1);
    assert_int_equal(hs_edge_memfd_cap(), n0 + 1);
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 22);
    char *w1, *w2;
    hs_edge_obj_t *a = mk_pattern(40000, &w1), *b = mk_pattern(50000, &w2);
    assert_int_equal(hs_edge_mem_insert(m, K("a"), HS_STR_NULL, HS_STR_NULL, a), 0);
    assert_int_equal(hs_edge_mem_insert(m, K("b"), HS_STR_NULL, HS_STR_NULL, b), 0);
    assert_int_equal(a->body_kind, HS_EDGE_BODY_MEMFD);
    assert_int_equal(b->body_kind, HS_EDGE_BODY_HEAP); /* past the cap: today's path */
    assert_int_equal(hs_edge_memfd_count(), n0 + 1);
    hs_edge_obj_unref(a);
    hs_edge_obj_unref(b);
    hs_edge_obj_t *la = hs_edge_mem_lookup(m, K("a"), &plain_req);
    hs_edge_obj_t *lb = hs_edge_mem_lookup(m, K("b"), &plain_req);
    assert_memory_equal(la->body, w1, 40000);
    assert_memory_equal(lb->body, w2, 50000);
    hs_edge_obj_unref(la);
    hs_edge_obj_unref(lb);
    /* a freed slot is reusable */
    assert_int_equal(hs_edge_mem_invalidate(m, K("a")), 1);
    assert_int_equal(hs_edge_memfd_count(), n0);
    hs_edge_obj_t *c = mk(20000, "");
    assert_int_equal(hs_edge_mem_insert(m, K("c"), HS_STR_NULL, HS_STR_NULL, c), 0);
    assert_int_equal(c->body_kind, HS_EDGE_BODY_MEMFD);
    hs_edge_obj_unref(c);
    /* cap 0: no memfds at all */
    hs_edge_memfd_set_cap(0);
    hs_edge_obj_t *d = mk(20000, "");
    assert_int_equal(hs_edge_obj_to_memfd(d), HS_ELIMIT);
    assert_int_equal(d->body_kind, HS_EDGE_BODY_HEAP);
    hs_edge_obj_unref(d);
    hs_edge_mem_free(m);
    assert_int_equal(hs_edge_memfd_count(), n0);
    hs_edge_memfd_set_cap(HS_EDGE_MEMFD_MAX);
    free(w1);
    free(w2);
}

/* memfd_create failing (no fd left) keeps the body on the heap. */
static void test_memfd_fallback(void **state)
{
    (void)state;
    hs_edge_memfd_set_cap(HS_EDGE_MEMFD_MAX);
    unsigned n0 = hs_edge_memfd_count();
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 22);
    char *want;
    hs_edge_obj_t *o = mk_pattern(30000, &want);
    struct rlimit rl, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int lowest = dup(0); /* the lowest free descriptor */
    assert_true(lowest >= 0);
    close(lowest);
    low = rl;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int rc = hs_edge_mem_insert(m, K("f"), HS_STR_NULL, HS_STR_NULL, o);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rc, 0);
    assert_true(o->cached);
    assert_int_equal(o->body_kind, HS_EDGE_BODY_HEAP);
    assert_int_equal(hs_edge_memfd_count(), n0); /* the slot was given back */
    assert_memory_equal(o->body, want, 30000);
    hs_edge_obj_unref(o);
    hs_edge_mem_free(m);
    free(want);
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
        cmocka_unit_test(test_memfd_default_cap),
        cmocka_unit_test(test_memfd_body),
        cmocka_unit_test(test_memfd_cap),
        cmocka_unit_test(test_memfd_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
