/*
 * Unit tests of ListObjects / ListMultipartUploads in the metadata store
 * (src/origin/meta_list.c): thousands of random queries (prefix,
 * delimiter, start-after, max-keys) paged to the end against a brute-force
 * reference over the same key sets, keys past the 400-byte head included;
 * and the cost bound: a page touches O(max_keys) records even when one
 * common prefix holds 100,000 keys (counted with the hs__meta_steps hook).
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
#include "origin/meta-int.h"
#include "origin/meta.h"
#include "store/tmpdir.h"

typedef struct bytes {
    char *p;
    size_t n;
} bytes_t;

static int bcmp_(const bytes_t *a, const bytes_t *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int r = n ? memcmp(a->p, b->p, n) : 0;
    if (r) return r;
    return a->n < b->n ? -1 : a->n > b->n;
}

static int bcmp_qsort(const void *a, const void *b)
{
    return bcmp_(a, b);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Random keys from few building blocks, so prefixes, delimiters and long
 * keys sharing a 400-byte head all occur often. */
static char filler[HS_META_KEY_MAX];
static bytes_t rand_key(void)
{
    static const char *parts[] = {"a", "b", "/", "-", "ab", "a/", "\xff", "z"};
    char buf[HS_META_KEY_MAX];
    size_t n = 0;
    if (rn(4) == 0) { /* long: the same 399..401-byte head, then more */
        size_t h = 399 + rn(3);
        memcpy(buf, filler, h);
        n = h;
    }
    unsigned np = 1 + rn(5);
    for (unsigned i = 0; i < np; i++) {
        const char *s = parts[rn(8)];
        size_t l = strlen(s);
        if (n + l > HS_META_KEY_MAX) break;
        memcpy(buf + n, s, l);
        n += l;
    }
    bytes_t b = {malloc(n), n};
    memcpy(b.p, buf, n);
    return b;
}

typedef struct keyset {
    bytes_t *k;
    size_t n;
} keyset_t;

static void keyset_make(keyset_t *ks, size_t want)
{
    ks->k = calloc(want, sizeof(bytes_t));
    ks->n = 0;
    for (size_t i = 0; i < want; i++)
        ks->k[ks->n++] = rand_key();
    qsort(ks->k, ks->n, sizeof(bytes_t), bcmp_qsort);
    size_t o = 0;
    for (size_t i = 0; i < ks->n; i++) {
        if (o && bcmp_(&ks->k[o - 1], &ks->k[i]) == 0) {
            free(ks->k[i].p);
            continue;
        }
        ks->k[o++] = ks->k[i];
    }
    ks->n = o;
}

static void keyset_free(keyset_t *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i].p);
    free(ks->k);
}

/* An item: a key (is_prefix false) or a common prefix. */
typedef struct item {
    bytes_t b;
    bool is_prefix;
    char id[33];
} item_t;

typedef struct items {
    item_t *v;
    size_t n, cap;
} items_t;

static void items_add(items_t *it, const char *p, size_t n, bool is_prefix, const char *id)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 64;
        it->v = realloc(it->v, it->cap * sizeof(item_t));
    }
    item_t *e = &it->v[it->n++];
    e->b.p = malloc(n ? n : 1);
    if (n) memcpy(e->b.p, p, n);
    e->b.n = n;
    e->is_prefix = is_prefix;
    snprintf(e->id, sizeof(e->id), "%s", id ? id : "");
}

static void items_free(items_t *it)
{
    for (size_t i = 0; i < it->n; i++)
        free(it->v[i].b.p);
    free(it->v);
    memset(it, 0, sizeof(*it));
}

static const void *memmem_(const void *h, size_t hl, const void *n, size_t nl)
{
    return nl ? memmem(h, hl, n, nl) : NULL;
}

/* The reference: every item of the listing, by definition. */
static void reference(const keyset_t *ks, const bytes_t *pre, const bytes_t *del,
                      const bytes_t *after, items_t *out)
{
    for (size_t i = 0; i < ks->n; i++) {
        const bytes_t *k = &ks->k[i];
        if (k->n < pre->n || (pre->n && memcmp(k->p, pre->p, pre->n) != 0)) continue;
        const char *d = memmem_(k->p + pre->n, k->n - pre->n, del->p, del->n);
        bytes_t item = *k;
        if (d) item.n = (size_t)(d - k->p) + del->n;
        if (after && bcmp_(&item, after) <= 0) continue;
        if (out->n && bcmp_(&out->v[out->n - 1].b, &item) == 0) continue;
        items_add(out, item.p, item.n, d != NULL, NULL);
    }
}

/* ---- fixture ---- */

typedef struct fx {
    char dir[256];
    hs_meta_t *m;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(tmp_make(f->dir, sizeof(f->dir), "metalist"));
    assert_int_equal(hs_meta_open_opts(f->dir, true, &f->m), 0);
    memset(filler, 'F', sizeof(filler));
    filler[100] = '/'; /* a delimiter inside the head too */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    hs_meta_close(f->m);
    tmp_rm(f->dir);
    free(f);
    return 0;
}

static int obj_cb(void *arg, const char *key, size_t keylen, const hs_meta_obj_t *rec)
{
    items_t *it = arg;
    /* Each record's size is its key's length: checks records match keys. */
    assert_int_equal(rec->size, keylen);
    items_add(it, key, keylen, false, NULL);
    return 0;
}

static int prefix_cb(void *arg, const char *cp, size_t len)
{
    items_add(arg, cp, len, true, NULL);
    return 0;
}

static void put_keyset(hs_meta_t *m, const char *bucket, const keyset_t *ks)
{
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(hs_meta_bucket_create(m, bucket, &b), 0);
    for (size_t i = 0; i < ks->n; i++) {
        hs_meta_seg_t s = {"seg", ks->k[i].n};
        hs_meta_obj_t r;
        memset(&r, 0, sizeof(r));
        r.size = ks->k[i].n;
        r.segs = &s;
        r.nsegs = 1;
        assert_int_equal(hs_meta_obj_put(m, bucket, ks->k[i].p, ks->k[i].n, &r, NULL), 0);
    }
}

/* A random slice for a query: from a key of the set (cut anywhere), a
 * fixed string, or absent. */
static bytes_t rand_slice(const keyset_t *ks, bool allow_none)
{
    unsigned c = rn(allow_none ? 5 : 4);
    bytes_t b = {NULL, 0};
    if (c == 0 && allow_none) return b;
    if (c <= 2 && ks->n) {
        const bytes_t *k = &ks->k[rn((unsigned)ks->n)];
        size_t n = rn(3) == 0 ? k->n : rn((unsigned)k->n + 1);
        b.p = malloc(n + 1);
        memcpy(b.p, k->p, n);
        b.n = n;
        if (rn(4) == 0 && n) b.p[n - 1]++; /* a near miss */
        return b;
    }
    static const char *fixed[] = {"a", "a/", "b", "\xff", "z", "-"};
    const char *s = fixed[rn(6)];
    b.n = strlen(s);
    b.p = malloc(b.n + 1);
    memcpy(b.p, s, b.n);
    return b;
}

static void check_query(hs_meta_t *m, const char *bucket, const keyset_t *ks, const bytes_t *pre,
                        const bytes_t *del, const bytes_t *after0, unsigned max)
{
    items_t want = {0}, got = {0};
    reference(ks, pre, del, after0->p ? after0 : NULL, &want);
    hs_meta_list_cb_t cb = {obj_cb, prefix_cb, &got};
    bytes_t after = *after0;
    char next[HS_META_KEY_MAX + 1];
    char *cur = NULL;
    for (unsigned page = 0;; page++) {
        hs_meta_list_opts_t o = {pre->p, pre->n, del->p, del->n, after.p, after.n, max};
        bool trunc;
        size_t nl;
        size_t before = got.n;
        assert_int_equal(hs_meta_obj_list(m, bucket, &o, &cb, &trunc, next, sizeof(next), &nl), 0);
        assert_true(got.n - before <= max);
        if (!trunc) break;
        /* A truncated page is full, and its marker is its last item. */
        assert_int_equal(got.n - before, max);
        assert_int_equal(nl, got.v[got.n - 1].b.n);
        assert_memory_equal(next, got.v[got.n - 1].b.p, nl);
        free(cur);
        cur = malloc(nl + 1);
        memcpy(cur, next, nl);
        after.p = cur;
        after.n = nl;
        assert_true(page < 100000);
    }
    free(cur);
    if (max == 0) {
        assert_int_equal(got.n, 0);
    } else {
        if (got.n != want.n) fprintf(stderr, "got %zu items, want %zu\n", got.n, want.n);
        assert_int_equal(got.n, want.n);
        for (size_t i = 0; i < want.n; i++) {
            assert_int_equal(got.v[i].is_prefix, want.v[i].is_prefix);
            assert_int_equal(got.v[i].b.n, want.v[i].b.n);
            assert_memory_equal(got.v[i].b.p, want.v[i].b.p, want.v[i].b.n);
        }
    }
    items_free(&want);
    items_free(&got);
}

static void test_list_random(void **state)
{
    fx_t *f = *state;
    enum { SETS = 12, QUERIES = 400 };
    keyset_t ks[SETS];
    char names[SETS][16];
    for (int s = 0; s < SETS; s++) {
        keyset_make(&ks[s], s == 0 ? 0 : 10 + rn(250));
        snprintf(names[s], sizeof(names[s]), "b%d", s);
        put_keyset(f->m, names[s], &ks[s]);
    }
    static const char *delims[] = {"", "/", "-", "a/", "\xff", "F/"};
    unsigned cases = 0;
    for (int s = 0; s < SETS; s++) {
        for (int q = 0; q < QUERIES; q++) {
            bytes_t pre = rn(3) == 0 ? (bytes_t){NULL, 0} : rand_slice(&ks[s], false);
            bytes_t after = rand_slice(&ks[s], true);
            const char *dl = delims[rn(6)];
            bytes_t del = {(char *)dl, strlen(dl)};
            if (!del.n) del.p = NULL;
            unsigned maxes[] = {0, 1, 2, 3, 7, 1000};
            unsigned max = maxes[rn(6)];
            check_query(f->m, names[s], &ks[s], &pre, &del, &after, max);
            free(pre.p);
            free(after.p);
            cases++;
        }
    }
    assert_true(cases >= 4000);
    for (int s = 0; s < SETS; s++)
        keyset_free(&ks[s]);
}

static void test_list_errors(void **state)
{
    fx_t *f = *state;
    hs_meta_list_opts_t o = {.max_keys = 10};
    hs_meta_list_cb_t cb = {obj_cb, prefix_cb, NULL};
    bool trunc;
    char next[8];
    size_t nl;
    assert_int_equal(hs_meta_obj_list(f->m, "none", &o, &cb, &trunc, next, sizeof(next), &nl),
                     HS_ENOBUCKET);
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(hs_meta_bucket_create(f->m, "b", &b), 0);
    assert_int_equal(hs_meta_obj_list(f->m, "b", &o, &cb, &trunc, next, sizeof(next), &nl), 0);
    assert_false(trunc);
    assert_int_equal(nl, 0);
}

static int stop_cb(void *arg, const char *key, size_t keylen, const hs_meta_obj_t *rec)
{
    return 7;
}

/* A callback's non-zero value stops the listing and comes back. */
static void test_list_stop(void **state)
{
    fx_t *f = *state;
    keyset_t ks;
    keyset_make(&ks, 20);
    put_keyset(f->m, "b", &ks);
    hs_meta_list_opts_t o = {.max_keys = 100};
    hs_meta_list_cb_t cb = {stop_cb, NULL, NULL};
    bool trunc;
    char next[HS_META_KEY_MAX + 1];
    size_t nl;
    assert_int_equal(hs_meta_obj_list(f->m, "b", &o, &cb, &trunc, next, sizeof(next), &nl), 7);
    keyset_free(&ks);
}

/* ---- the cost bound ---- */

static void put_key(hs_meta_t *m, const char *b, const char *k)
{
    hs_meta_obj_t r;
    memset(&r, 0, sizeof(r));
    r.size = strlen(k);
    hs_meta_seg_t s = {"seg", r.size};
    r.segs = &s;
    r.nsegs = 1;
    assert_int_equal(hs_meta_obj_put(m, b, k, strlen(k), &r, NULL), 0);
}

static unsigned long list_steps(hs_meta_t *m, const char *pre, const char *del, const char *after,
                                unsigned max, items_t *got, bool *trunc)
{
    hs_meta_list_opts_t o = {pre, strlen(pre), del, strlen(del), after, strlen(after), max};
    hs_meta_list_cb_t cb = {obj_cb, prefix_cb, got};
    char next[HS_META_KEY_MAX + 1];
    size_t nl;
    unsigned long s0 = atomic_load(&hs__meta_steps);
    assert_int_equal(hs_meta_obj_list(m, "b", &o, &cb, trunc, next, sizeof(next), &nl), 0);
    return atomic_load(&hs__meta_steps) - s0;
}

static void test_list_seeks_past_prefix(void **state)
{
    fx_t *f = *state;
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(hs_meta_bucket_create(f->m, "b", &b), 0);
    put_key(f->m, "b", "a");
    put_key(f->m, "b", "b/1");
    put_key(f->m, "b", "b/2");
    for (int i = 0; i < 100000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "p/%06d", i);
        put_key(f->m, "b", k);
    }
    put_key(f->m, "b", "q");
    put_key(f->m, "b", "r/x");
    put_key(f->m, "b", "s");
    items_t got = {0};
    bool trunc;
    unsigned long steps = list_steps(f->m, "", "/", "", 5, &got, &trunc);
    /* a, b/, p/, q, r/ then s tells it is truncated: one record per item,
     * plus the one that shows truncation. */
    assert_int_equal(got.n, 5);
    assert_true(trunc);
    assert_memory_equal(got.v[2].b.p, "p/", 2);
    assert_true(got.v[2].is_prefix);
    assert_true(steps <= 8);
    items_free(&got);

    /* Continuing from the common prefix skips its 100,000 keys. */
    steps = list_steps(f->m, "", "/", "p/", 1000, &got, &trunc);
    assert_int_equal(got.n, 3); /* q, r/, s */
    assert_false(trunc);
    assert_true(steps <= 5);
    items_free(&got);

    /* Inside the prefix: a page of 10 reads 11 records. */
    steps = list_steps(f->m, "p/", "/", "p/000500", 10, &got, &trunc);
    assert_int_equal(got.n, 10);
    assert_true(trunc);
    assert_memory_equal(got.v[0].b.p, "p/000501", 8);
    assert_true(steps <= 12);
    items_free(&got);

    /* Everything rolled up under a delimiter at the prefix's end. */
    steps = list_steps(f->m, "p", "/", "", 1000, &got, &trunc);
    assert_int_equal(got.n, 1);
    assert_false(trunc);
    assert_true(steps <= 2);
    items_free(&got);
}

/* ---- ListMultipartUploads ---- */

typedef struct upitem {
    bytes_t key;
    char id[33];
} upitem_t;

static int up_cmp(const void *a, const void *b)
{
    const upitem_t *x = a, *y = b;
    int c = bcmp_(&x->key, &y->key);
    return c ? c : strcmp(x->id, y->id);
}

static int up_cb(void *arg, const hs_meta_mpu_t *u)
{
    items_add(arg, u->key, u->keylen, false, u->upload_id);
    return 0;
}

static void test_mpu_list_random(void **state)
{
    fx_t *f = *state;
    hs_meta_bucket_t bk;
    memset(&bk, 0, sizeof(bk));
    assert_int_equal(hs_meta_bucket_create(f->m, "b", &bk), 0);
    keyset_t ks;
    keyset_make(&ks, 80);
    upitem_t *ups = calloc(ks.n * 3, sizeof(*ups));
    size_t nups = 0;
    hs_meta_obj_t t;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < ks.n; i++) {
        unsigned c = 1 + rn(3);
        for (unsigned j = 0; j < c; j++) {
            char id[65];
            assert_int_equal(hs_meta_mpu_create(f->m, "b", ks.k[i].p, ks.k[i].n, &t, id), 0);
            ups[nups].key = ks.k[i];
            memcpy(ups[nups].id, id, 33);
            nups++;
        }
    }
    /* Abort some: the index drops them. */
    for (size_t i = 0; i < nups; i++) {
        if (rn(5)) continue;
        assert_int_equal(hs_meta_mpu_abort(f->m, "b", ups[i].id, NULL), 0);
        ups[i] = ups[--nups];
        i--;
    }
    qsort(ups, nups, sizeof(*ups), up_cmp);
    static const char *delims[] = {"", "/", "-", "a/"};
    for (int q = 0; q < 1500; q++) {
        bytes_t pre = rn(3) == 0 ? (bytes_t){NULL, 0} : rand_slice(&ks, false);
        bytes_t km = rand_slice(&ks, true);
        char um[33] = "";
        if (km.p && nups && rn(2)) memcpy(um, ups[rn((unsigned)nups)].id, 33);
        const char *dl = delims[rn(4)];
        bytes_t del = {(char *)dl, strlen(dl)};
        unsigned maxes[] = {1, 2, 5, 1000};
        unsigned max = maxes[rn(4)];
        /* reference */
        items_t want = {0}, got = {0};
        for (size_t i = 0; i < nups; i++) {
            const bytes_t *k = &ups[i].key;
            if (k->n < pre.n || (pre.n && memcmp(k->p, pre.p, pre.n) != 0)) continue;
            int c = km.p ? bcmp_(k, &km) : 1;
            if (c < 0 || (c == 0 && (!um[0] || strcmp(ups[i].id, um) <= 0))) continue;
            const char *d = memmem_(k->p + pre.n, k->n - pre.n, del.p, del.n);
            if (d) {
                bytes_t cp = {k->p, (size_t)(d - k->p) + del.n};
                if (km.p && bcmp_(&cp, &km) <= 0) continue;
                if (want.n && want.v[want.n - 1].is_prefix && bcmp_(&want.v[want.n - 1].b, &cp) == 0)
                    continue;
                items_add(&want, cp.p, cp.n, true, NULL);
            } else {
                items_add(&want, k->p, k->n, false, ups[i].id);
            }
        }
        hs_meta_mpu_list_cb_t cb = {up_cb, prefix_cb, &got};
        hs_meta_mpu_list_next_t next;
        char curkey[HS_META_KEY_MAX + 1], curid[33];
        const char *kmp = km.p;
        size_t kml = km.n;
        const char *ump = um;
        for (int page = 0;; page++) {
            hs_meta_mpu_list_opts_t o = {pre.p, pre.n, del.n ? del.p : NULL, del.n, kmp, kml, ump, max};
            bool trunc;
            size_t before = got.n;
            assert_int_equal(hs_meta_mpu_list(f->m, "b", &o, &cb, &trunc, &next), 0);
            assert_true(got.n - before <= max);
            if (!trunc) break;
            assert_int_equal(got.n - before, max);
            memcpy(curkey, next.key, next.keylen);
            memcpy(curid, next.upload_id, 33);
            kmp = curkey;
            kml = next.keylen;
            ump = curid;
            assert_true(page < 10000);
        }
        if (got.n != want.n) fprintf(stderr, "query %d: got %zu, want %zu\n", q, got.n, want.n);
        assert_int_equal(got.n, want.n);
        for (size_t i = 0; i < want.n; i++) {
            assert_int_equal(got.v[i].is_prefix, want.v[i].is_prefix);
            assert_int_equal(got.v[i].b.n, want.v[i].b.n);
            assert_memory_equal(got.v[i].b.p, want.v[i].b.p, want.v[i].b.n);
            assert_string_equal(got.v[i].id, want.v[i].id);
        }
        items_free(&want);
        items_free(&got);
        free(pre.p);
        free(km.p);
    }
    free(ups);
    keyset_free(&ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_seeks_past_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mpu_list_random, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
