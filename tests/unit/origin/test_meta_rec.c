/*
 * Unit tests of the metadata store's record codecs (src/origin/meta_rec.c):
 * round trips at the size limits (10,000 segments with 128-byte names,
 * 64 KiB of user metadata, 65,535-byte header strings) through the codec
 * and through the store; the extension area; and corruption: every
 * truncation and many byte flips of valid records give HS_ECORRUPT or a
 * record that re-encodes, never a crash (ASan build).
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

static void assert_same(const hs_meta_obj_t *a, const hs_meta_obj_t *b)
{
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->mtime_ns, b->mtime_ns);
    assert_int_equal(a->parts, b->parts);
    assert_string_equal(a->etag ? a->etag : "", b->etag);
    assert_string_equal(a->content_type ? a->content_type : "", b->content_type);
    assert_string_equal(a->content_encoding ? a->content_encoding : "", b->content_encoding);
    assert_string_equal(a->content_disposition ? a->content_disposition : "", b->content_disposition);
    assert_string_equal(a->content_language ? a->content_language : "", b->content_language);
    assert_string_equal(a->cache_control ? a->cache_control : "", b->cache_control);
    assert_string_equal(a->expires ? a->expires : "", b->expires);
    assert_string_equal(a->storage_class ? a->storage_class : "", b->storage_class);
    assert_int_equal(a->nmeta, b->nmeta);
    for (uint32_t i = 0; i < a->nmeta; i++) {
        assert_string_equal(a->meta[i].name, b->meta[i].name);
        assert_string_equal(a->meta[i].value, b->meta[i].value);
    }
    assert_int_equal(a->nsegs, b->nsegs);
    uint64_t off = 0;
    for (uint32_t i = 0; i < a->nsegs; i++) {
        assert_string_equal(a->segs[i].name, b->segs[i].name);
        assert_int_equal(a->segs[i].size, b->segs[i].size);
        assert_int_equal(b->seg_off[i], off);
        off += a->segs[i].size;
    }
}

static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* The biggest record the limits allow. */
typedef struct big {
    hs_meta_obj_t r;
    hs_meta_seg_t *segs;
    char **names;
    hs_meta_pair_t meta[4];
    char *strs[8];
    char *mv[4];
} big_t;

static void big_make(big_t *b)
{
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < 8; i++)
        b->strs[i] = filled(HS_META_STR_MAX, (char)('a' + i));
    b->r.etag = b->strs[0];
    b->r.content_type = b->strs[1];
    b->r.content_encoding = b->strs[2];
    b->r.content_disposition = b->strs[3];
    b->r.content_language = b->strs[4];
    b->r.cache_control = b->strs[5];
    b->r.expires = b->strs[6];
    b->r.storage_class = b->strs[7];
    /* 64 KiB of user metadata exactly: four pairs of 1 + 16383 bytes. */
    for (int i = 0; i < 4; i++) {
        b->mv[i] = filled(16383, (char)('0' + i));
        b->meta[i].name = i == 0 ? "a" : i == 1 ? "b" : i == 2 ? "c" : "d";
        b->meta[i].value = b->mv[i];
    }
    b->r.meta = b->meta;
    b->r.nmeta = 4;
    b->segs = calloc(HS_META_SEGS_MAX, sizeof(*b->segs));
    b->names = calloc(HS_META_SEGS_MAX, sizeof(char *));
    for (unsigned i = 0; i < HS_META_SEGS_MAX; i++) {
        b->names[i] = filled(HS_META_OBJNAME_MAX, 'n');
        snprintf(b->names[i], 12, "%010u", i);
        b->names[i][10] = 'x';
        b->segs[i].name = b->names[i];
        b->segs[i].size = (uint64_t)5 << 30; /* 5 GiB parts: sizes near 2^46 */
        b->r.size += b->segs[i].size;
    }
    b->r.segs = b->segs;
    b->r.nsegs = HS_META_SEGS_MAX;
    b->r.parts = HS_META_SEGS_MAX;
    b->r.mtime_ns = -1; /* negative times survive */
}

static void big_free(big_t *b)
{
    for (int i = 0; i < 8; i++)
        free(b->strs[i]);
    for (int i = 0; i < 4; i++)
        free(b->mv[i]);
    for (unsigned i = 0; i < HS_META_SEGS_MAX; i++)
        free(b->names[i]);
    free(b->names);
    free(b->segs);
}

static void test_roundtrip_max(void **state)
{
    big_t b;
    big_make(&b);
    uint8_t *enc;
    size_t len;
    hs_meta_obj_t *o;
    assert_int_equal(hs__meta_obj_enc(&b.r, 0, &enc, &len), 0);
    assert_int_equal(hs__meta_obj_dec(enc, len, &o), 0);
    assert_same(&b.r, o);
    hs_meta_obj_free(o);
    free(enc);

    /* One more byte of user metadata, one more segment, a longer string:
     * each refused. */
    char *mv = filled(16384, 'x');
    b.meta[3].value = mv;
    assert_int_equal(hs__meta_obj_enc(&b.r, 0, &enc, &len), HS_E2BIG);
    b.meta[3].value = b.mv[3];
    free(mv);
    char *s = filled(HS_META_STR_MAX + 1, 's');
    b.r.expires = s;
    assert_int_equal(hs__meta_obj_enc(&b.r, 0, &enc, &len), HS_E2BIG);
    b.r.expires = b.strs[6];
    free(s);
    b.r.nsegs = HS_META_SEGS_MAX + 1;
    assert_int_equal(hs__meta_obj_enc(&b.r, 0, &enc, &len), HS_E2BIG);
    big_free(&b);
}

static void test_roundtrip_store_max(void **state)
{
    char dir[256];
    hs_meta_t *m;
    assert_non_null(tmp_make(dir, sizeof(dir), "metarec"));
    assert_int_equal(hs_meta_open(dir, &m), 0);
    hs_meta_bucket_t bk;
    memset(&bk, 0, sizeof(bk));
    assert_int_equal(hs_meta_bucket_create(m, "b", &bk), 0);
    big_t b;
    big_make(&b);
    char key[HS_META_KEY_MAX];
    memset(key, 'k', sizeof(key));
    hs_meta_obj_t *o;
    assert_int_equal(hs_meta_obj_put(m, "b", key, sizeof(key), &b.r, NULL), 0);
    assert_int_equal(hs_meta_obj_get(m, "b", key, sizeof(key), &o), 0);
    assert_same(&b.r, o);
    hs_meta_obj_free(o);

    /* The same headers as an upload's template. */
    char id[65];
    hs_meta_mpu_t *u;
    assert_int_equal(hs_meta_mpu_create(m, "b", key, sizeof(key), &b.r, id), 0);
    assert_int_equal(hs_meta_mpu_get(m, "b", id, &u), 0);
    assert_int_equal(u->keylen, sizeof(key));
    assert_memory_equal(u->key, key, sizeof(key));
    assert_string_equal(u->tmpl.expires, b.r.expires);
    assert_int_equal(u->tmpl.nmeta, 4);
    assert_string_equal(u->tmpl.meta[3].value, b.mv[3]);
    assert_int_equal(u->tmpl.nsegs, 0);
    hs_meta_mpu_free(u);

    hs_meta_dropped_t d = {0};
    assert_int_equal(hs_meta_obj_delete(m, "b", key, sizeof(key), &d), 0);
    assert_int_equal(d.n, HS_META_SEGS_MAX);
    hs_meta_dropped_free(&d);
    big_free(&b);
    hs_meta_close(m);
    tmp_rm(dir);
}

static uint8_t *small_rec(size_t *len)
{
    hs_meta_seg_t segs[2] = {{"s1", 3}, {"s2", 4}};
    hs_meta_pair_t meta[1] = {{"k", "v"}};
    hs_meta_obj_t r;
    memset(&r, 0, sizeof(r));
    r.size = 7;
    r.parts = 2;
    r.etag = "abc-2";
    r.content_type = "x/y";
    r.meta = meta;
    r.nmeta = 1;
    r.segs = segs;
    r.nsegs = 2;
    uint8_t *enc;
    assert_int_equal(hs__meta_obj_enc(&r, 0, &enc, len), 0);
    return enc;
}

static void test_extension_area(void **state)
{
    size_t len;
    uint8_t *enc = small_rec(&len);
    uint8_t *x = malloc(len + 8);
    memcpy(x, enc, len);
    hs_meta_obj_t *o;
    /* An unknown optional field is skipped... */
    x[len] = 0x01;
    x[len + 1] = 3;
    x[len + 2] = 0;
    memcpy(x + len + 3, "abc", 3);
    assert_int_equal(hs__meta_obj_dec(x, len + 6, &o), 0);
    assert_int_equal(o->size, 7);
    hs_meta_obj_free(o);
    /* ...a must-understand one is not, nor a field running off the end. */
    x[len] = 0x81;
    assert_int_equal(hs__meta_obj_dec(x, len + 6, &o), HS_ECORRUPT);
    x[len] = 0x01;
    assert_int_equal(hs__meta_obj_dec(x, len + 5, &o), HS_ECORRUPT);
    /* An unknown version. */
    enc[0] = 2;
    assert_int_equal(hs__meta_obj_dec(enc, len, &o), HS_ECORRUPT);
    free(x);
    free(enc);
}

static void test_corruption(void **state)
{
    size_t len;
    uint8_t *enc = small_rec(&len);
    hs_meta_obj_t *o;
    /* Every truncation. Cutting exactly at the end of the segment list
     * leaves a valid record, so only shorter ones count. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, enc, n);
        assert_int_equal(hs__meta_obj_dec(cut, n, &o), HS_ECORRUPT);
        free(cut);
    }
    /* Byte flips: decode or HS_ECORRUPT, and what decodes re-encodes to a
     * record that decodes the same. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        uint8_t *c = malloc(len);
        memcpy(c, enc, len);
        for (int f = 0; f < 1 + i % 3; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            c[x % len] ^= (uint8_t)(x >> 32 | 1);
        }
        int rc = hs__meta_obj_dec(c, len, &o);
        assert_true(rc == 0 || rc == HS_ECORRUPT);
        if (rc == 0) {
            uint8_t *re;
            size_t rl;
            hs_meta_obj_t *o2;
            assert_int_equal(hs__meta_obj_enc(o, 0, &re, &rl), 0);
            assert_int_equal(hs__meta_obj_dec(re, rl, &o2), 0);
            assert_same(o, o2);
            hs_meta_obj_free(o2);
            hs_meta_obj_free(o);
            free(re);
        }
        free(c);
    }
    /* A NUL inside a string is corruption (it could not round-trip). */
    uint8_t *c = malloc(len);
    memcpy(c, enc, len);
    size_t at = 1 + 1 + 8 + 8 + 4 + 2; /* first byte of the etag */
    c[at] = 0;
    assert_int_equal(hs__meta_obj_dec(c, len, &o), HS_ECORRUPT);
    free(c);
    free(enc);
}

static void test_other_records(void **state)
{
    hs_meta_bucket_t b, b2;
    memset(&b, 0, sizeof(b));
    b.created_ns = 123;
    b.flags = HS_META_BUCKET_PUBLIC_READ;
    memset(b.cache_control, 'c', HS_META_CC_MAX);
    memset(b.region, 'r', HS_META_REGION_MAX);
    uint8_t buf[HS__META_BUCKET_REC_MAX];
    size_t n = hs__meta_bucket_enc(buf, &b);
    assert_true(n <= sizeof(buf));
    assert_int_equal(hs__meta_bucket_dec(&b2, buf, n), 0);
    assert_memory_equal(&b, &b2, sizeof(b));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hs__meta_bucket_dec(&b2, buf, i), HS_ECORRUPT);

    char on[HS_META_OBJNAME_MAX + 1];
    memset(on, 'o', HS_META_OBJNAME_MAX);
    on[HS_META_OBJNAME_MAX] = 0;
    hs_meta_part_t p = {"0123456789abcdef0123456789abcdef", 5ull << 30, on, -7}, pv;
    uint8_t pb[HS__META_PART_REC_MAX];
    hs__meta_partrec_t pr;
    assert_int_equal(hs__meta_part_enc(pb, &n, &p), 0);
    assert_int_equal(hs__meta_part_dec(&pr, pb, n), 0);
    hs__meta_part_view(&pr, &pv);
    assert_string_equal(pv.etag, p.etag);
    assert_string_equal(pv.objname, on);
    assert_int_equal(pv.size, p.size);
    assert_int_equal(pv.mtime_ns, -7);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hs__meta_part_dec(&pr, pb, i), HS_ECORRUPT);
    p.objname = "";
    assert_int_equal(hs__meta_part_enc(pb, &n, &p), HS_EINVAL);

    /* Envelope: a tail longer than a key can have is corruption. */
    uint8_t env[4] = {0xff, 0x03, 0, 0};
    const uint8_t *t, *pl;
    size_t tl, pll;
    assert_int_equal(hs__meta_env_split(env, sizeof(env), &t, &tl, &pl, &pll), HS_ECORRUPT);
    assert_int_equal(hs__meta_env_split(env, 1, &t, &tl, &pl, &pll), HS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_max),
        cmocka_unit_test(test_roundtrip_store_max),
        cmocka_unit_test(test_extension_area),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_other_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
