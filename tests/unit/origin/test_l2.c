/*
 * Unit tests of the origin's L2 cache (src/origin/l2*.c): the byte bound,
 * references that outlive eviction and replacement, fill tokens against
 * deletes (single-threaded and racing threads), scan resistance of the
 * policies that claim it, and many threads mixing get/put/del (run under
 * ASan/UBSan in the sanitizer build; a deadlock trips meson's timeout).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "origin/l2.h"

/* ---- helpers ---- */

static hs_l2_t *mk(size_t bytes, hs_l2_policy_kind_t p, unsigned shards)
{
    hs_l2_opts_t o = {.max_bytes = bytes, .max_item_bytes = 0, .policy = p, .shards = shards};
    hs_l2_t *c = hs_l2_new_opts(&o);
    assert_non_null(c);
    return c;
}

static int keyf(char *buf, const char *prefix, unsigned i)
{
    return snprintf(buf, 64, "%s%u", prefix, i);
}

/* Stores a value of len bytes of `fill` under "<prefix><i>" with a fresh token. */
static bool put_n(hs_l2_t *c, const char *prefix, unsigned i, size_t len, int fill)
{
    char k[64];
    int kl = keyf(k, prefix, i);
    void *d;
    hs_l2_val_t *v = hs_l2_val_alloc(len, 0, &d);
    assert_non_null(v);
    memset(d, fill, len);
    bool ok = hs_l2_put(c, k, (size_t)kl, v, hs_l2_begin_fill(c, k, (size_t)kl));
    hs_l2_val_unref(v);
    return ok;
}

static hs_l2_val_t *get_n(hs_l2_t *c, const char *prefix, unsigned i)
{
    char k[64];
    int kl = keyf(k, prefix, i);
    return hs_l2_get(c, k, (size_t)kl);
}

static bool has_n(hs_l2_t *c, const char *prefix, unsigned i)
{
    hs_l2_val_t *v = get_n(c, prefix, i);
    hs_l2_val_unref(v);
    return v != NULL;
}

static void del_n(hs_l2_t *c, const char *prefix, unsigned i)
{
    char k[64];
    int kl = keyf(k, prefix, i);
    hs_l2_del(c, k, (size_t)kl);
}

static uint64_t rng(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int released;
static void count_release(void *arg)
{
    (void)arg;
    released++;
}

/* ---- basics ---- */

static void put_get_replace_del(void **state)
{
    (void)state;
    for (int p = 0; p < HS_L2_NPOLICIES; p++) {
        hs_l2_t *c = mk(1 << 20, (hs_l2_policy_kind_t)p, 4);
        assert_null(hs_l2_get(c, "a", 1));
        hs_l2_val_t *v = hs_l2_val_new("hello", 5, 7);
        assert_true(hs_l2_put(c, "a", 1, v, hs_l2_begin_fill(c, "a", 1)));
        hs_l2_val_unref(v);
        hs_l2_val_t *g = hs_l2_get(c, "a", 1);
        assert_non_null(g);
        assert_int_equal(hs_l2_val_len(g), 5);
        assert_memory_equal(hs_l2_val_data(g), "hello", 5);
        assert_int_equal(hs_l2_val_tag(g), 7);

        v = hs_l2_val_new("world!", 6, 8);
        assert_true(hs_l2_put(c, "a", 1, v, hs_l2_begin_fill(c, "a", 1)));
        hs_l2_val_unref(v);
        /* the old reference still reads the old bytes */
        assert_memory_equal(hs_l2_val_data(g), "hello", 5);
        hs_l2_val_unref(g);
        g = hs_l2_get(c, "a", 1);
        assert_memory_equal(hs_l2_val_data(g), "world!", 6);
        hs_l2_val_unref(g);

        hs_l2_del(c, "a", 1);
        assert_null(hs_l2_get(c, "a", 1));
        hs_l2_stats_t st;
        hs_l2_stats(c, &st);
        assert_int_equal(st.items, 0);
        assert_int_equal(st.bytes, 0);
        assert_int_equal(st.hits, 2);
        assert_int_equal(st.misses, 2);
        assert_int_equal(st.puts, 2);
        assert_int_equal(st.dels, 1);
        hs_l2_free(c);
    }
}

static void wrapped_value_released_once_at_last_unref(void **state)
{
    (void)state;
    static const char bytes[] = "external";
    released = 0;
    hs_l2_t *c = mk(1 << 20, HS_L2_DEFAULT, 1);
    hs_l2_val_t *v = hs_l2_val_wrap(bytes, 8, 1, count_release, NULL);
    assert_true(hs_l2_put(c, "k", 1, v, hs_l2_begin_fill(c, "k", 1)));
    hs_l2_val_unref(v);
    hs_l2_val_t *g = hs_l2_get(c, "k", 1);
    assert_ptr_equal(hs_l2_val_data(g), bytes);
    hs_l2_del(c, "k", 1);
    assert_int_equal(released, 0);
    hs_l2_val_release(g);
    assert_int_equal(released, 1);
    hs_l2_free(c);
    assert_int_equal(released, 1);
}

static void oversize_and_long_keys_refused(void **state)
{
    (void)state;
    hs_l2_opts_t o = {.max_bytes = 1 << 20, .max_item_bytes = 4096, .shards = 1};
    hs_l2_t *c = hs_l2_new_opts(&o);
    assert_non_null(c);
    assert_false(put_n(c, "big", 1, 4096, 'x')); /* plus overhead: over */
    assert_true(put_n(c, "small", 1, 1024, 'x'));
    char *longkey = malloc(HS_L2_KEY_MAX + 1);
    memset(longkey, 'k', HS_L2_KEY_MAX + 1);
    hs_l2_val_t *v = hs_l2_val_new("x", 1, 0);
    assert_false(hs_l2_put(c, longkey, HS_L2_KEY_MAX + 1, v,
                           hs_l2_begin_fill(c, longkey, HS_L2_KEY_MAX + 1)));
    assert_null(hs_l2_get(c, longkey, HS_L2_KEY_MAX + 1));
    hs_l2_del(c, longkey, HS_L2_KEY_MAX + 1);
    hs_l2_val_unref(v);
    free(longkey);
    hs_l2_stats_t st;
    hs_l2_stats(c, &st);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.items, 1);
    hs_l2_free(c);
}

static void bad_options_and_names(void **state)
{
    (void)state;
    hs_l2_opts_t o = {.max_bytes = 1 << 20, .shards = 3};
    assert_null(hs_l2_new_opts(&o));
    o.shards = 512;
    assert_null(hs_l2_new_opts(&o));
    o.shards = 0;
    o.policy = HS_L2_NPOLICIES;
    assert_null(hs_l2_new_opts(&o));
    assert_null(hs_l2_new(0, 0));
    for (int p = 0; p < HS_L2_NPOLICIES; p++)
        assert_int_equal(hs_l2_policy_parse(hs_l2_policy_name((hs_l2_policy_kind_t)p)), p);
    assert_int_equal(hs_l2_policy_parse("arc"), HS_EINVAL);

    hs_l2_t *c = hs_l2_new((size_t)1 << 30, 1 << 20);
    hs_l2_stats_t st;
    hs_l2_stats(c, &st);
    assert_int_equal(st.shards, 64);
    hs_l2_free(c);
    c = hs_l2_new(1 << 20, 64 << 10);
    hs_l2_stats(c, &st);
    assert_int_equal(st.shards, 1);
    hs_l2_free(c);
    c = hs_l2_new((size_t)1 << 30, 0); /* 1 MiB items by default */
    hs_l2_stats(c, &st);
    assert_int_equal(st.shards, 64);
    hs_l2_free(c);
}

static void metrics_exported_with_prefix(void **state)
{
    (void)state;
    hs_l2_opts_t o = {.max_bytes = 1 << 20, .metrics_prefix = "hs_test_l2"};
    hs_l2_t *c = hs_l2_new_opts(&o);
    assert_non_null(c);
    assert_true(put_n(c, "m", 1, 100, 'x'));
    assert_true(has_n(c, "m", 1));
    assert_false(has_n(c, "m", 2));
    char *out;
    size_t len;
    assert_int_equal(hs_metrics_render(&out, &len), 0);
    assert_non_null(strstr(out, "hs_test_l2_hits_total 1\n"));
    assert_non_null(strstr(out, "hs_test_l2_misses_total 1\n"));
    assert_non_null(strstr(out, "hs_test_l2_puts_total 1\n"));
    assert_non_null(strstr(out, "hs_test_l2_items 1\n"));
    free(out);
    hs_l2_free(c);
    assert_int_equal(hs_metrics_render(&out, &len), 0);
    assert_non_null(strstr(out, "hs_test_l2_items 0\n"));
    assert_non_null(strstr(out, "hs_test_l2_bytes 0\n"));
    free(out);
}

/* ---- byte bound ---- */

static void byte_bound_never_exceeded(void **state)
{
    (void)state;
    for (int p = 0; p < HS_L2_NPOLICIES; p++) {
        const size_t max = 256 << 10;
        hs_l2_t *c = mk(max, (hs_l2_policy_kind_t)p, 4);
        uint64_t x = 88172645463325252ull;
        hs_l2_stats_t st;
        for (int i = 0; i < 20000; i++) {
            unsigned k = (unsigned)(rng(&x) % 600);
            if (rng(&x) % 4 == 0) {
                hs_l2_val_unref(get_n(c, "b", k));
            } else {
                put_n(c, "b", k, 1 + rng(&x) % 12000, 'b');
            }
            hs_l2_stats(c, &st);
            assert_true(st.bytes <= max);
        }
        assert_true(st.evictions + st.rejected > 0);
        assert_true(st.items > 10);
        /* accounting is exact: removing everything returns to zero */
        for (unsigned k = 0; k < 600; k++)
            del_n(c, "b", k);
        hs_l2_stats(c, &st);
        assert_int_equal(st.bytes, 0);
        assert_int_equal(st.items, 0);
        hs_l2_free(c);
    }
}

/* ---- references outlive eviction ---- */

static void reference_keeps_evicted_value_alive(void **state)
{
    (void)state;
    for (int p = 0; p < HS_L2_NPOLICIES; p++) {
        hs_l2_t *c = mk(256 << 10, (hs_l2_policy_kind_t)p, 1);
        assert_true(put_n(c, "v", 0, 4000, 'A'));
        hs_l2_val_t *held = get_n(c, "v", 0);
        assert_non_null(held);
        /* newcomers read more often than v0 was, so every policy prefers them */
        for (unsigned i = 1; i < 400; i++) {
            if (!has_n(c, "v", i) && !has_n(c, "v", i))
                put_n(c, "v", i, 4000, 'B');
            has_n(c, "v", i);
        }
        assert_false(has_n(c, "v", 0));
        const unsigned char *d = hs_l2_val_data(held);
        for (size_t i = 0; i < hs_l2_val_len(held); i++)
            assert_int_equal(d[i], 'A');
        hs_l2_free(c);
        /* even the cache itself is gone */
        assert_int_equal(d[3999], 'A');
        hs_l2_val_unref(held);
    }
}

/* ---- fill tokens ---- */

static void fill_token_refused_after_del(void **state)
{
    (void)state;
    hs_l2_t *c = mk(1 << 20, HS_L2_DEFAULT, 2);
    hs_l2_val_t *v = hs_l2_val_new("old", 3, 0);
    uint64_t tok = hs_l2_begin_fill(c, "obj", 3);
    assert_int_not_equal(tok, 0);
    hs_l2_del(c, "obj", 3); /* a PUT committed while the miss was reading */
    assert_false(hs_l2_put(c, "obj", 3, v, tok));
    assert_null(hs_l2_get(c, "obj", 3));
    assert_false(hs_l2_put(c, "obj", 3, v, 0));
    hs_l2_stats_t st;
    hs_l2_stats(c, &st);
    assert_int_equal(st.stale, 2);
    /* a token taken after the del is good; other keys' tokens are unaffected */
    uint64_t other = hs_l2_begin_fill(c, "zzz", 3);
    assert_true(hs_l2_put(c, "obj", 3, v, hs_l2_begin_fill(c, "obj", 3)));
    assert_true(hs_l2_put(c, "zzz", 3, v, other));
    hs_l2_val_unref(v);
    hs_l2_free(c);
}

/*
 * Writer: commit version n+1 to the "store", then del. Fillers: token,
 * read the store, put what they read. Readers: note the last version whose
 * del has returned, then get: anything older is a stale insert that won.
 */
#define RACE_KEYS 4
typedef struct race {
    hs_l2_t *c;
    _Atomic uint64_t committed[RACE_KEYS];
    _Atomic uint64_t invalidated[RACE_KEYS];
    atomic_bool stop;
    _Atomic uint64_t fills, stale_seen, hits_seen;
} race_t;

static void *race_writer(void *arg)
{
    race_t *r = arg;
    char k[16];
    for (uint64_t n = 1; n <= 20000 || atomic_load(&r->fills) < 50000; n++) {
        unsigned i = (unsigned)(n % RACE_KEYS);
        int kl = snprintf(k, sizeof(k), "race%u", i);
        uint64_t ver = atomic_fetch_add(&r->committed[i], 1) + 1;
        hs_l2_del(r->c, k, (size_t)kl);
        atomic_store(&r->invalidated[i], ver);
        sched_yield();
    }
    atomic_store(&r->stop, true);
    return NULL;
}

static void *race_filler(void *arg)
{
    race_t *r = arg;
    char k[16];
    unsigned n = 0;
    while (!atomic_load(&r->stop)) {
        unsigned i = n++ % RACE_KEYS;
        int kl = snprintf(k, sizeof(k), "race%u", i);
        uint64_t tok = hs_l2_begin_fill(r->c, k, (size_t)kl);
        uint64_t ver = atomic_load(&r->committed[i]);
        if (n % 3 == 0)
            sched_yield(); /* a slow read widens the window */
        hs_l2_val_t *v = hs_l2_val_new(&ver, sizeof(ver), 0);
        hs_l2_put(r->c, k, (size_t)kl, v, tok);
        hs_l2_val_unref(v);
        atomic_fetch_add(&r->fills, 1);
    }
    return NULL;
}

static void *race_reader(void *arg)
{
    race_t *r = arg;
    char k[16];
    unsigned n = 0;
    while (!atomic_load(&r->stop)) {
        unsigned i = n++ % RACE_KEYS;
        int kl = snprintf(k, sizeof(k), "race%u", i);
        uint64_t floor = atomic_load(&r->invalidated[i]);
        hs_l2_val_t *v = hs_l2_get(r->c, k, (size_t)kl);
        if (!v)
            continue;
        uint64_t ver;
        memcpy(&ver, hs_l2_val_data(v), sizeof(ver));
        hs_l2_val_unref(v);
        atomic_fetch_add(&r->hits_seen, 1);
        if (ver < floor)
            atomic_fetch_add(&r->stale_seen, 1);
    }
    return NULL;
}

static void del_vs_concurrent_fill_never_leaves_stale_value(void **state)
{
    (void)state;
    race_t *r = calloc(1, sizeof(*r));
    r->c = mk(1 << 20, HS_L2_DEFAULT, 1);
    pthread_t w, f[2], rd[2];
    pthread_create(&w, NULL, race_writer, r);
    for (int i = 0; i < 2; i++) {
        pthread_create(&f[i], NULL, race_filler, r);
        pthread_create(&rd[i], NULL, race_reader, r);
    }
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(f[i], NULL);
        pthread_join(rd[i], NULL);
    }
    assert_int_equal(atomic_load(&r->stale_seen), 0);
    /* after the last del, nothing older than the last commit is cached */
    for (unsigned i = 0; i < RACE_KEYS; i++) {
        hs_l2_val_t *v = get_n(r->c, "race", i);
        if (v) {
            uint64_t ver;
            memcpy(&ver, hs_l2_val_data(v), sizeof(ver));
            assert_int_equal(ver, atomic_load(&r->committed[i]));
            hs_l2_val_unref(v);
        }
    }
    hs_l2_stats_t st;
    hs_l2_stats(r->c, &st);
    assert_true(st.puts > 0);
    print_message("race: %llu puts, %llu stale fills refused, %llu reader hits\n",
                  (unsigned long long)st.puts, (unsigned long long)st.stale,
                  (unsigned long long)atomic_load(&r->hits_seen));
    hs_l2_free(r->c);
    free(r);
}

/* ---- policy behaviour ---- */

/*
 * A hot set that fits is read often; then a long scan of one-time keys
 * passes, with a hot read only every 4 scan keys (each hot key is read
 * again only after 1,600 scan keys, about twice what the cache holds).
 * Returns how many of the hot reads during the scan hit.
 */
#define HOT 400
#define SCAN 20000
static unsigned hot_hits_during_scan(hs_l2_policy_kind_t p)
{
    hs_l2_t *c = mk(1 << 20, p, 1); /* ~900 entries of 1 KiB */
    for (int round = 0; round < 4; round++)
        for (unsigned i = 0; i < HOT; i++)
            if (!has_n(c, "hot", i))
                put_n(c, "hot", i, 1024, 'h');
    unsigned hits = 0;
    for (unsigned i = 0; i < SCAN; i++) {
        if (!has_n(c, "scan", i))
            put_n(c, "scan", i, 1024, 's');
        if (i % 4 == 0) {
            if (has_n(c, "hot", (i / 4) % HOT))
                hits++;
            else
                put_n(c, "hot", (i / 4) % HOT, 1024, 'h');
        }
    }
    hs_l2_free(c);
    return hits;
}

static void scan_does_not_flush_hot_set(void **state)
{
    (void)state;
    const unsigned reads = SCAN / 4;
    unsigned lru = hot_hits_during_scan(HS_L2_LRU), sieve = hot_hits_during_scan(HS_L2_SIEVE);
    unsigned s3 = hot_hits_during_scan(HS_L2_S3FIFO), tl = hot_hits_during_scan(HS_L2_TINYLFU);
    print_message("hot hits during the scan, of %u: lru %u sieve %u s3fifo %u tinylfu %u\n", reads,
                  lru, sieve, s3, tl);
    assert_true(lru < reads / 10); /* the scan is long enough to flush LRU */
    assert_true(sieve >= reads * 9 / 10);
    assert_true(s3 >= reads * 9 / 10);
    assert_true(tl >= reads * 9 / 10);
}

static void tinylfu_rejects_one_hit_newcomer(void **state)
{
    (void)state;
    hs_l2_t *c = mk(64 << 10, HS_L2_TINYLFU, 1);
    for (int round = 0; round < 5; round++)
        for (unsigned i = 0; i < 200; i++)
            if (!has_n(c, "f", i))
                put_n(c, "f", i, 200, 'f');
    hs_l2_stats_t before, after;
    hs_l2_stats(c, &before);
    for (unsigned i = 0; i < 200; i++) {
        assert_false(has_n(c, "new", i));
        put_n(c, "new", i, 200, 'n');
    }
    hs_l2_stats(c, &after);
    assert_true(after.rejected - before.rejected >= 150);
    unsigned kept = 0;
    for (unsigned i = 0; i < 200; i++)
        kept += has_n(c, "f", i);
    assert_true(kept >= 190);
    hs_l2_free(c);
}

static void s3fifo_ghost_readmits_to_main(void **state)
{
    (void)state;
    /* a key dropped from the small queue and requested again goes to main,
     * where a following scan (which only churns the small queue) keeps it */
    hs_l2_t *c = mk(100 << 10, HS_L2_S3FIFO, 1);
    put_n(c, "g", 0, 1000, 'g');
    for (unsigned i = 0; i < 100; i++)
        put_n(c, "s", i, 1000, 's');
    assert_false(has_n(c, "g", 0));
    put_n(c, "g", 0, 1000, 'g');
    for (unsigned i = 100; i < 400; i++)
        put_n(c, "s", i, 1000, 's');
    assert_true(has_n(c, "g", 0));
    hs_l2_free(c);
}

/* ---- threads hammering ---- */

#define HKEYS 2000
typedef struct hammer {
    hs_l2_t *c;
    uint64_t seed;
    _Atomic uint64_t *bad;
} hammer_t;

static void *hammer_run(void *arg)
{
    hammer_t *h = arg;
    uint64_t x = h->seed;
    char k[32];
    for (int n = 0; n < 100000; n++) {
        unsigned i = (unsigned)(rng(&x) % HKEYS);
        int kl = snprintf(k, sizeof(k), "h/%u", i);
        unsigned op = (unsigned)(rng(&x) % 10);
        if (op < 6) {
            hs_l2_val_t *v = hs_l2_get(h->c, k, (size_t)kl);
            if (v) {
                /* the value names its key: a mix-up would show */
                unsigned got;
                memcpy(&got, hs_l2_val_data(v), sizeof(got));
                if (got != i || hs_l2_val_tag(v) != i)
                    atomic_fetch_add(h->bad, 1);
                hs_l2_val_unref(v);
            }
        } else if (op < 9) {
            uint64_t tok = hs_l2_begin_fill(h->c, k, (size_t)kl);
            size_t len = sizeof(unsigned) + rng(&x) % 3000;
            void *d;
            hs_l2_val_t *v = hs_l2_val_alloc(len, i, &d);
            memset(d, 0, len);
            memcpy(d, &i, sizeof(i));
            hs_l2_put(h->c, k, (size_t)kl, v, tok);
            hs_l2_val_unref(v);
        } else {
            hs_l2_del(h->c, k, (size_t)kl);
        }
    }
    return NULL;
}

static void many_threads_get_put_del(void **state)
{
    (void)state;
    for (int p = 0; p < HS_L2_NPOLICIES; p++) {
        const size_t max = 512 << 10;
        hs_l2_t *c = mk(max, (hs_l2_policy_kind_t)p, 8);
        _Atomic uint64_t bad = 0;
        enum { T = 6 };
        hammer_t hs[T];
        pthread_t th[T];
        for (int t = 0; t < T; t++) {
            hs[t] = (hammer_t){c, 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1) + (uint64_t)p, &bad};
            pthread_create(&th[t], NULL, hammer_run, &hs[t]);
        }
        for (int t = 0; t < T; t++)
            pthread_join(th[t], NULL);
        assert_int_equal(atomic_load(&bad), 0);
        hs_l2_stats_t st;
        hs_l2_stats(c, &st);
        assert_true(st.bytes <= max);
        assert_true(st.hits > 0);
        assert_true(st.evictions + st.rejected > 0);
        for (unsigned i = 0; i < HKEYS; i++)
            del_n(c, "h/", i);
        hs_l2_stats(c, &st);
        assert_int_equal(st.bytes, 0);
        assert_int_equal(st.items, 0);
        hs_l2_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_del),
        cmocka_unit_test(wrapped_value_released_once_at_last_unref),
        cmocka_unit_test(oversize_and_long_keys_refused),
        cmocka_unit_test(bad_options_and_names),
        cmocka_unit_test(metrics_exported_with_prefix),
        cmocka_unit_test(byte_bound_never_exceeded),
        cmocka_unit_test(reference_keeps_evicted_value_alive),
        cmocka_unit_test(fill_token_refused_after_del),
        cmocka_unit_test(del_vs_concurrent_fill_never_leaves_stale_value),
        cmocka_unit_test(scan_does_not_flush_hot_set),
        cmocka_unit_test(tinylfu_rejects_one_hit_newcomer),
        cmocka_unit_test(s3fifo_ghost_readmits_to_main),
        cmocka_unit_test(many_threads_get_put_del),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
