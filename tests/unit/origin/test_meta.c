/*
 * Unit tests of the origin's metadata store (src/origin/meta*.c): buckets,
 * object records, multipart uploads, dropped object-store names, the
 * reconcile walk and segment lookup, each against a fresh store in a temp
 * directory. Listing is tested in test_meta_list.c, codecs in
 * test_meta_rec.c.
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
#include "origin/meta.h"
#include "store/tmpdir.h"

typedef struct fx {
    char dir[256];
    hs_meta_t *m;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(tmp_make(f->dir, sizeof(f->dir), "meta"));
    assert_int_equal(hs_meta_open_opts(f->dir, true, &f->m), 0); /* durability is not under test */
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

static hs_meta_bucket_t bucket(uint32_t flags, const char *cc)
{
    hs_meta_bucket_t b;
    memset(&b, 0, sizeof(b));
    b.created_ns = 1700000000000000000;
    b.flags = flags;
    snprintf(b.cache_control, sizeof(b.cache_control), "%s", cc);
    snprintf(b.region, sizeof(b.region), "us-east-1");
    return b;
}

static void mkbucket(hs_meta_t *m, const char *name)
{
    hs_meta_bucket_t b = bucket(0, "");
    assert_int_equal(hs_meta_bucket_create(m, name, &b), 0);
}

/* A simple-PUT record with one segment (none when size is 0). */
static hs_meta_obj_t simple(const char *seg, uint64_t size, hs_meta_seg_t *segbuf)
{
    hs_meta_obj_t r;
    memset(&r, 0, sizeof(r));
    r.size = size;
    r.mtime_ns = 1700000000123456789;
    r.etag = "d41d8cd98f00b204e9800998ecf8427e";
    r.content_type = "text/plain";
    r.storage_class = "STANDARD";
    if (seg) {
        segbuf->name = seg;
        segbuf->size = size;
        r.segs = segbuf;
        r.nsegs = 1;
    }
    return r;
}

static void put(hs_meta_t *m, const char *b, const char *key, const char *seg, uint64_t size,
                hs_meta_dropped_t *d)
{
    hs_meta_seg_t s;
    hs_meta_obj_t r = simple(seg, size, &s);
    assert_int_equal(hs_meta_obj_put(m, b, key, strlen(key), &r, d), 0);
}

static bool dropped_has(const hs_meta_dropped_t *d, const char *name)
{
    for (unsigned i = 0; i < d->n; i++)
        if (strcmp(d->names[i], name) == 0) return true;
    return false;
}

/* ---- buckets ---- */

static int collect_bucket(void *arg, const char *name, const hs_meta_bucket_t *b)
{
    char *out = arg;
    strcat(out, name);
    strcat(out, b->flags & HS_META_BUCKET_PUBLIC_READ ? "+," : ",");
    return 0;
}

static int stop_bucket(void *arg, const char *name, const hs_meta_bucket_t *b)
{
    (*(int *)arg)++;
    return 42;
}

static void test_bucket_crud(void **state)
{
    fx_t *f = *state;
    hs_meta_bucket_t b = bucket(HS_META_BUCKET_PUBLIC_READ, "max-age=60"), g;
    assert_int_equal(hs_meta_bucket_get(f->m, "photos", &g), HS_ENOENT);
    assert_int_equal(hs_meta_bucket_create(f->m, "photos", &b), 0);
    assert_int_equal(hs_meta_bucket_create(f->m, "photos", &b), HS_EEXIST);
    assert_int_equal(hs_meta_bucket_get(f->m, "photos", &g), 0);
    assert_int_equal(g.created_ns, b.created_ns);
    assert_int_equal(g.flags, HS_META_BUCKET_PUBLIC_READ);
    assert_string_equal(g.cache_control, "max-age=60");
    assert_string_equal(g.region, "us-east-1");

    hs_meta_bucket_t s = bucket(0, "no-cache");
    s.created_ns = 5;
    snprintf(s.region, sizeof(s.region), "elsewhere");
    assert_int_equal(hs_meta_bucket_set(f->m, "photos", &s), 0);
    assert_int_equal(hs_meta_bucket_get(f->m, "photos", &g), 0);
    assert_int_equal(g.flags, 0);
    assert_string_equal(g.cache_control, "no-cache");
    assert_int_equal(g.created_ns, b.created_ns); /* kept */
    assert_string_equal(g.region, "us-east-1");   /* kept */
    assert_int_equal(hs_meta_bucket_set(f->m, "nope", &s), HS_ENOENT);

    mkbucket(f->m, "a");
    mkbucket(f->m, "photos-2");
    mkbucket(f->m, "photo");
    hs_meta_bucket_t pb = bucket(HS_META_BUCKET_PUBLIC_READ, "");
    assert_int_equal(hs_meta_bucket_create(f->m, "zz", &pb), 0);
    char list[256] = "";
    assert_int_equal(hs_meta_bucket_list(f->m, collect_bucket, list), 0);
    assert_string_equal(list, "a,photo,photos,photos-2,zz+,");
    int calls = 0;
    assert_int_equal(hs_meta_bucket_list(f->m, stop_bucket, &calls), 42);
    assert_int_equal(calls, 1);

    assert_int_equal(hs_meta_bucket_delete(f->m, "photos"), 0);
    assert_int_equal(hs_meta_bucket_delete(f->m, "photos"), HS_ENOENT);
    assert_int_equal(hs_meta_bucket_get(f->m, "photos", &g), HS_ENOENT);
    list[0] = 0;
    assert_int_equal(hs_meta_bucket_list(f->m, collect_bucket, list), 0);
    assert_string_equal(list, "a,photo,photos-2,zz+,");

    char longname[80];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_int_equal(hs_meta_bucket_create(f->m, longname, &b), HS_EINVAL);
    assert_int_equal(hs_meta_bucket_create(f->m, "", &b), HS_EINVAL);
    longname[63] = 0;
    assert_int_equal(hs_meta_bucket_create(f->m, longname, &b), 0);
}

static void test_bucket_delete_not_empty(void **state)
{
    fx_t *f = *state;
    hs_meta_dropped_t d = {0};
    mkbucket(f->m, "b");
    mkbucket(f->m, "b2"); /* a neighbour whose name extends "b" */
    put(f->m, "b2", "x", "seg-b2", 1, NULL);
    assert_int_equal(hs_meta_bucket_delete(f->m, "b"), 0); /* b2's object is not b's */
    mkbucket(f->m, "b");
    put(f->m, "b", "k", "seg1", 3, NULL);
    assert_int_equal(hs_meta_bucket_delete(f->m, "b"), HS_ENOTEMPTY);
    assert_int_equal(hs_meta_obj_delete(f->m, "b", "k", 1, &d), 0);
    assert_int_equal(hs_meta_bucket_delete(f->m, "b"), 0);

    /* An upload in progress keeps the bucket too. */
    mkbucket(f->m, "b");
    hs_meta_obj_t t;
    memset(&t, 0, sizeof(t));
    char id[65];
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "k", 1, &t, id), 0);
    assert_int_equal(hs_meta_bucket_delete(f->m, "b"), HS_ENOTEMPTY);
    assert_int_equal(hs_meta_mpu_abort(f->m, "b", id, &d), 0);
    assert_int_equal(hs_meta_bucket_delete(f->m, "b"), 0);
    hs_meta_dropped_free(&d);
}

/* ---- objects ---- */

static void test_obj_put_get_delete(void **state)
{
    fx_t *f = *state;
    hs_meta_obj_t *o;
    hs_meta_dropped_t d = {0};
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), HS_ENOBUCKET);
    hs_meta_seg_t s;
    hs_meta_obj_t r = simple("seg1", 10, &s);
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), HS_ENOBUCKET);
    assert_int_equal(hs_meta_obj_delete(f->m, "b", "k", 1, NULL), HS_ENOBUCKET);
    mkbucket(f->m, "b");
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), HS_ENOENT);
    assert_int_equal(hs_meta_obj_delete(f->m, "b", "k", 1, NULL), HS_ENOENT);

    hs_meta_pair_t meta[2] = {{"color", "blue"}, {"empty", ""}};
    r.meta = meta;
    r.nmeta = 2;
    r.content_encoding = "gzip";
    r.content_disposition = "attachment; filename=\"a b.txt\"";
    r.content_language = "en";
    r.cache_control = "max-age=3600";
    r.expires = "Thu, 01 Dec 2094 16:00:00 GMT";
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), 0);
    assert_int_equal(o->size, 10);
    assert_int_equal(o->mtime_ns, r.mtime_ns);
    assert_int_equal(o->parts, 0);
    assert_string_equal(o->etag, r.etag);
    assert_string_equal(o->content_type, "text/plain");
    assert_string_equal(o->content_encoding, "gzip");
    assert_string_equal(o->content_disposition, r.content_disposition);
    assert_string_equal(o->content_language, "en");
    assert_string_equal(o->cache_control, "max-age=3600");
    assert_string_equal(o->expires, r.expires);
    assert_string_equal(o->storage_class, "STANDARD");
    assert_int_equal(o->nmeta, 2);
    assert_string_equal(o->meta[0].name, "color");
    assert_string_equal(o->meta[0].value, "blue");
    assert_string_equal(o->meta[1].value, "");
    assert_int_equal(o->nsegs, 1);
    assert_string_equal(o->segs[0].name, "seg1");
    assert_int_equal(o->segs[0].size, 10);
    hs_meta_obj_free(o);

    /* Overwrite: the old segment is dropped. */
    put(f->m, "b", "k", "seg2", 20, &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "seg1");
    hs_meta_dropped_free(&d);
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), 0);
    assert_int_equal(o->size, 20);
    assert_int_equal(o->nmeta, 0);
    assert_string_equal(o->content_encoding, ""); /* absent reads back as "" */
    hs_meta_obj_free(o);

    /* Overwrite reusing the same segment (a metadata-only copy onto
     * itself) drops nothing. */
    put(f->m, "b", "k", "seg2", 20, &d);
    assert_int_equal(d.n, 0);

    /* Zero-byte object with no segments; overwriting it drops nothing. */
    put(f->m, "b", "empty", NULL, 0, &d);
    assert_int_equal(hs_meta_obj_get(f->m, "b", "empty", 5, &o), 0);
    assert_int_equal(o->size, 0);
    assert_int_equal(o->nsegs, 0);
    hs_meta_obj_free(o);
    put(f->m, "b", "empty", "seg3", 1, &d);
    assert_int_equal(d.n, 0);

    assert_int_equal(hs_meta_obj_delete(f->m, "b", "k", 1, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "seg2");
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), HS_ENOENT);
    hs_meta_dropped_free(&d);
}

static void test_obj_bad_args(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    hs_meta_seg_t s;
    hs_meta_obj_t r = simple("seg", 10, &s), *o;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 0, &r, NULL), HS_EINVAL);
    char big[HS_META_KEY_MAX + 2];
    memset(big, 'a', sizeof(big));
    assert_int_equal(hs_meta_obj_put(f->m, "b", big, HS_META_KEY_MAX + 1, &r, NULL), HS_EINVAL);
    assert_int_equal(hs_meta_obj_get(f->m, "b", big, HS_META_KEY_MAX + 1, &o), HS_EINVAL);
    /* Segments must add up to the size. */
    r.size = 11;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), HS_EINVAL);
    r.size = 10;
    s.name = "";
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), HS_EINVAL);
    char longseg[HS_META_OBJNAME_MAX + 2];
    memset(longseg, 's', sizeof(longseg) - 1);
    longseg[sizeof(longseg) - 1] = 0;
    s.name = longseg;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), HS_EINVAL);
    longseg[HS_META_OBJNAME_MAX] = 0;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), 0);
    /* User metadata over 64 KiB cannot be stored. */
    char *v = malloc(40000);
    memset(v, 'v', 39999);
    v[39999] = 0;
    hs_meta_pair_t meta[2] = {{"a", v}, {"b", v}};
    r.meta = meta;
    r.nmeta = 2;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), HS_E2BIG);
    free(v);
}

/* Keys of any bytes, including ones past the 400-byte head that share it. */
static void test_obj_long_keys(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    char k1[HS_META_KEY_MAX], k2[HS_META_KEY_MAX];
    memset(k1, 'p', sizeof(k1));
    memcpy(k2, k1, sizeof(k2));
    k2[HS_META_KEY_MAX - 1] = 'q';
    hs_meta_seg_t s1, s2;
    hs_meta_obj_t r1 = simple("s1", 1, &s1), r2 = simple("s2", 2, &s2), *o;
    hs_meta_dropped_t d = {0};
    assert_int_equal(hs_meta_obj_put(f->m, "b", k1, sizeof(k1), &r1, &d), 0);
    assert_int_equal(hs_meta_obj_put(f->m, "b", k2, sizeof(k2), &r2, &d), 0);
    assert_int_equal(hs_meta_obj_put(f->m, "b", k1, 400, &r2, &d), 0); /* exactly the head */
    assert_int_equal(d.n, 0);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k1, sizeof(k1), &o), 0);
    assert_int_equal(o->size, 1);
    hs_meta_obj_free(o);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k2, sizeof(k2), &o), 0);
    assert_int_equal(o->size, 2);
    hs_meta_obj_free(o);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k1, 401, &o), HS_ENOENT);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k1, 400, &o), 0);
    hs_meta_obj_free(o);
    assert_int_equal(hs_meta_obj_put(f->m, "b", k1, sizeof(k1), &r2, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "s1");
    hs_meta_dropped_free(&d);
    assert_int_equal(hs_meta_obj_delete(f->m, "b", k2, sizeof(k2), &d), 0);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k2, sizeof(k2), &o), HS_ENOENT);
    assert_int_equal(hs_meta_obj_get(f->m, "b", k1, sizeof(k1), &o), 0);
    hs_meta_obj_free(o);
    hs_meta_dropped_free(&d);

    /* Keys with NUL and 0xff bytes. */
    const char odd[] = {'a', 0, 'b', (char)0xff};
    assert_int_equal(hs_meta_obj_put(f->m, "b", odd, sizeof(odd), &r1, NULL), 0);
    assert_int_equal(hs_meta_obj_get(f->m, "b", odd, sizeof(odd), &o), 0);
    hs_meta_obj_free(o);
    assert_int_equal(hs_meta_obj_get(f->m, "b", odd, 1, &o), HS_ENOENT);
}

static void test_long_key_group_limit(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    char k[410];
    memset(k, 'h', sizeof(k));
    hs_meta_seg_t s;
    hs_meta_obj_t r = simple(NULL, 0, &s);
    int rc = 0;
    unsigned i;
    for (i = 0; i < 3000; i++) {
        snprintf(k + 400, 10, "%09u", i);
        rc = hs_meta_obj_put(f->m, "b", k, sizeof(k), &r, NULL);
        if (rc < 0) break;
    }
    assert_int_equal(rc, HS_ELIMIT);
    assert_int_equal(i, 2048);
    /* Overwriting a member still works; a shorter key is unaffected. */
    snprintf(k + 400, 10, "%09u", 7u);
    assert_int_equal(hs_meta_obj_put(f->m, "b", k, sizeof(k), &r, NULL), 0);
    assert_int_equal(hs_meta_obj_put(f->m, "b", k, 400, &r, NULL), 0);
}

static void test_seg_find(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    hs_meta_seg_t segs[5] = {{"a", 5}, {"b", 0}, {"c", 3}, {"d", 1}, {"e", 0}};
    hs_meta_obj_t r = simple(NULL, 9, NULL), *o;
    r.segs = segs;
    r.nsegs = 5;
    assert_int_equal(hs_meta_obj_put(f->m, "b", "k", 1, &r, NULL), 0);
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), 0);
    assert_non_null(o->seg_off);
    static const unsigned want_idx[9] = {0, 0, 0, 0, 0, 2, 2, 2, 3};
    static const uint64_t want_off[9] = {0, 1, 2, 3, 4, 0, 1, 2, 0};
    for (uint64_t off = 0; off < 9; off++) {
        unsigned idx;
        uint64_t so;
        /* Decoded record (binary search) and caller-built (linear) agree. */
        assert_int_equal(hs_meta_seg_find(o, off, &idx, &so), 0);
        assert_int_equal(idx, want_idx[off]);
        assert_int_equal(so, want_off[off]);
        assert_int_equal(hs_meta_seg_find(&r, off, &idx, &so), 0);
        assert_int_equal(idx, want_idx[off]);
        assert_int_equal(so, want_off[off]);
    }
    unsigned idx;
    uint64_t so;
    assert_int_equal(hs_meta_seg_find(o, 9, &idx, &so), HS_ERANGE);
    assert_int_equal(hs_meta_seg_find(&r, 9, &idx, &so), HS_ERANGE);
    hs_meta_obj_free(o);
}

/* ---- multipart ---- */

#define MiB (1u << 20)

static void part(hs_meta_t *m, const char *id, unsigned n, const char *etag, uint64_t size,
                 const char *objname, hs_meta_dropped_t *d, int want)
{
    hs_meta_part_t p = {etag, size, objname, 1700000000000000000 + n};
    assert_int_equal(hs_meta_mpu_part_put(m, "b", id, n, &p, d), want);
}

typedef struct parts_seen {
    unsigned n, nums[16];
    uint64_t sizes[16];
} parts_seen_t;

static int collect_part(void *arg, unsigned number, const hs_meta_part_t *p)
{
    parts_seen_t *s = arg;
    s->nums[s->n] = number;
    s->sizes[s->n] = p->size;
    s->n++;
    return 0;
}

static const char *E1 = "0cc175b9c0f1b6a831c399e269772661"; /* md5("a") */
static const char *E2 = "92eb5ffee6ae2fec3ad71c777531578f"; /* md5("b") */
static const char *E3 = "4a8a08f09d37b73795649038408b5f33"; /* md5("c") */

static void test_mpu_flow(void **state)
{
    fx_t *f = *state;
    char id[65], id2[65];
    hs_meta_obj_t t;
    hs_meta_pair_t meta[1] = {{"owner", "me"}};
    memset(&t, 0, sizeof(t));
    t.content_type = "video/mp4";
    t.storage_class = "STANDARD_IA";
    t.meta = meta;
    t.nmeta = 1;
    t.size = 99; /* ignored in a template */
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "movie", 5, &t, id), HS_ENOBUCKET);
    mkbucket(f->m, "b");
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "movie", 5, &t, id), 0);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "movie", 5, &t, id2), 0);
    assert_string_not_equal(id, id2);

    hs_meta_mpu_t *u;
    assert_int_equal(hs_meta_mpu_get(f->m, "b", id, &u), 0);
    assert_string_equal(u->upload_id, id);
    assert_int_equal(u->keylen, 5);
    assert_memory_equal(u->key, "movie", 5);
    assert_true(u->initiated_ns > 0);
    assert_string_equal(u->tmpl.content_type, "video/mp4");
    assert_string_equal(u->tmpl.storage_class, "STANDARD_IA");
    assert_int_equal(u->tmpl.nmeta, 1);
    assert_string_equal(u->tmpl.meta[0].value, "me");
    assert_int_equal(u->tmpl.size, 0);
    hs_meta_mpu_free(u);
    assert_int_equal(hs_meta_mpu_get(f->m, "b", "0123456789abcdef0123456789abcdef", &u), HS_ENOENT);
    assert_int_equal(hs_meta_mpu_get(f->m, "b", "../../etc", &u), HS_ENOENT);
    assert_int_equal(hs_meta_mpu_get(f->m, "nob", id, &u), HS_ENOBUCKET);
    hs_meta_mpu_list_opts_t lo = {.max_uploads = 10};
    hs_meta_mpu_list_cb_t lcb = {NULL, NULL, NULL};
    hs_meta_mpu_list_next_t ln;
    bool ltrunc;
    assert_int_equal(hs_meta_mpu_list(f->m, "nob", &lo, &lcb, &ltrunc, &ln), HS_ENOBUCKET);
    assert_int_equal(hs_meta_mpu_list(f->m, "b", &lo, &lcb, &ltrunc, &ln), 0);
    assert_false(ltrunc);
    lo.max_uploads = 1;
    assert_int_equal(hs_meta_mpu_list(f->m, "b", &lo, &lcb, &ltrunc, &ln), 0);
    assert_true(ltrunc); /* two uploads of "movie" */
    assert_int_equal(ln.keylen, 5);
    assert_string_equal(ln.upload_id, strcmp(id, id2) < 0 ? id : id2);

    hs_meta_dropped_t d = {0};
    part(f->m, id, 1, E1, 5 * MiB, "p1a", &d, 0);
    part(f->m, id, 1, E1, 5 * MiB, "p1", &d, 0); /* replaces: p1a dropped */
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "p1a");
    hs_meta_dropped_free(&d);
    part(f->m, id, 2, E2, 6 * MiB, "p2", &d, 0);
    part(f->m, id, 3, E3, 1, "p3", &d, 0);
    part(f->m, id, 7, E3, 2, "p7", &d, 0);
    part(f->m, id, 0, E3, 2, "px", &d, HS_EINVAL);
    part(f->m, id, 10001, E3, 2, "px", &d, HS_EINVAL);
    part(f->m, "ffffffffffffffffffffffffffffffff", 1, E3, 2, "px", &d, HS_ENOENT);
    part(f->m, "nonsense", 1, E3, 2, "px", &d, HS_ENOENT);
    assert_int_equal(d.n, 0);

    parts_seen_t s = {0};
    bool trunc;
    assert_int_equal(hs_meta_mpu_parts(f->m, "b", id, 0, 1000, collect_part, &s, &trunc), 0);
    assert_int_equal(s.n, 4);
    assert_false(trunc);
    assert_int_equal(s.nums[0], 1);
    assert_int_equal(s.nums[3], 7);
    assert_int_equal(s.sizes[1], 6 * MiB);
    memset(&s, 0, sizeof(s));
    assert_int_equal(hs_meta_mpu_parts(f->m, "b", id, 1, 2, collect_part, &s, &trunc), 0);
    assert_int_equal(s.n, 2);
    assert_true(trunc);
    assert_int_equal(s.nums[0], 2);
    assert_int_equal(s.nums[1], 3);
    memset(&s, 0, sizeof(s));
    assert_int_equal(hs_meta_mpu_parts(f->m, "b", id, 3, 2, collect_part, &s, &trunc), 0);
    assert_int_equal(s.n, 1);
    assert_false(trunc);
    assert_int_equal(hs_meta_mpu_parts(f->m, "b", id2, 0, 10, collect_part, &s, &trunc), 0);
    assert_int_equal(hs_meta_mpu_parts(f->m, "b", "00000000000000000000000000000000", 0, 10,
                                       collect_part, &s, &trunc),
                     HS_ENOENT);

    /* Complete errors leave the upload intact. */
    hs_meta_complete_part_t bad_order[2] = {{2, E2}, {1, E1}};
    hs_meta_complete_part_t dup[2] = {{1, E1}, {1, E1}};
    hs_meta_complete_part_t bad_etag[2] = {{1, E1}, {2, E1}};
    hs_meta_complete_part_t missing[2] = {{1, E1}, {4, E1}};
    hs_meta_complete_part_t small[3] = {{1, E1}, {3, E3}, {7, E3}};
    hs_meta_obj_t *o;
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, bad_order, 2, &o, &d), HS_META_EPARTORDER);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, dup, 2, &o, &d), HS_META_EPARTORDER);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, bad_etag, 2, &o, &d), HS_META_EBADPART);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, missing, 2, &o, &d), HS_META_EBADPART);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, small, 3, &o, &d), HS_META_ESMALL);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, small, 0, &o, &d), HS_EINVAL);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", "00000000000000000000000000000000", small, 1,
                                          &o, &d),
                     HS_ENOENT);
    assert_int_equal(d.n, 0);

    /* An old object under the key gets replaced. */
    put(f->m, "b", "movie", "old-seg", 4, NULL);

    /* Quoted, upper-case etags from the client are fine; part 7 unused. */
    hs_meta_complete_part_t ok[3] = {
        {1, "\"0CC175B9C0F1B6A831C399E269772661\""}, {2, E2}, {3, E3}};
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, ok, 3, &o, &d), 0);
    /* md5(md5("a") || md5("b") || md5("c")) as binary, computed offline. */
    assert_int_equal(o->parts, 3);
    assert_int_equal(o->size, 11 * MiB + 1);
    assert_int_equal(o->nsegs, 3);
    assert_string_equal(o->segs[0].name, "p1");
    assert_string_equal(o->segs[2].name, "p3");
    assert_string_equal(o->content_type, "video/mp4");
    assert_string_equal(o->storage_class, "STANDARD_IA");
    assert_int_equal(o->nmeta, 1);
    /* echo <md5 a><md5 b><md5 c> | xxd -r -p | md5sum */
    assert_string_equal(o->etag, "4054c6f7787ecb7b323323155b0c0583-3");
    char etag[48];
    snprintf(etag, sizeof(etag), "%s", o->etag);
    hs_meta_obj_free(o);
    assert_int_equal(d.n, 2);
    assert_true(dropped_has(&d, "old-seg"));
    assert_true(dropped_has(&d, "p7"));
    hs_meta_dropped_free(&d);

    assert_int_equal(hs_meta_obj_get(f->m, "b", "movie", 5, &o), 0);
    assert_string_equal(o->etag, etag);
    unsigned idx;
    uint64_t so;
    assert_int_equal(hs_meta_seg_find(o, 5 * MiB, &idx, &so), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(so, 0);
    assert_int_equal(hs_meta_seg_find(o, 11 * MiB, &idx, &so), 0);
    assert_int_equal(idx, 2);
    hs_meta_obj_free(o);

    /* The upload and its parts are gone. */
    assert_int_equal(hs_meta_mpu_get(f->m, "b", id, &u), HS_ENOENT);
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, ok, 3, &o, &d), HS_ENOENT);
    assert_int_equal(hs_meta_mpu_abort(f->m, "b", id, &d), HS_ENOENT);

    /* Abort the other upload: its parts come back as dropped. */
    part(f->m, id2, 1, E1, 1, "q1", &d, 0);
    part(f->m, id2, 2, E2, 1, "q2", &d, 0);
    assert_int_equal(hs_meta_mpu_abort(f->m, "b", id2, &d), 0);
    assert_int_equal(d.n, 2);
    assert_true(dropped_has(&d, "q1") && dropped_has(&d, "q2"));
    hs_meta_dropped_free(&d);
    assert_int_equal(hs_meta_mpu_get(f->m, "b", id2, &u), HS_ENOENT);
}

/* The multipart etag against a value computed independently:
 * md5 of the 16-byte digests of "a" and "b" is what `printf` of the binary
 * digests piped to md5sum gives. */
static void test_mpu_etag_value(void **state)
{
    fx_t *f = *state;
    char id[65];
    hs_meta_obj_t t, *o;
    memset(&t, 0, sizeof(t));
    mkbucket(f->m, "b");
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "k", 1, &t, id), 0);
    part(f->m, id, 1, E1, 5 * MiB, "x1", NULL, 0);
    part(f->m, id, 2, E2, 0, "x2", NULL, 0);
    hs_meta_complete_part_t ok[2] = {{1, E1}, {2, E2}};
    assert_int_equal(hs_meta_mpu_complete(f->m, "b", id, ok, 2, &o, NULL), 0);
    /* echo 0cc175b9c0f1b6a831c399e26977266192eb5ffee6ae2fec3ad71c777531578f | xxd -r -p | md5sum */
    assert_string_equal(o->etag, "96e024ba2074fe77e8e965ba43a704be-2");
    hs_meta_obj_free(o);
}

/* ---- reconcile ---- */

static int collect_seg(void *arg, const char *name)
{
    hs_meta_dropped_t *d = arg;
    d->names = realloc(d->names, (d->n + 1) * sizeof(char *));
    d->names[d->n++] = strdup(name);
    return 0;
}

static void test_each_segment(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    mkbucket(f->m, "c");
    put(f->m, "b", "k1", "s1", 1, NULL);
    put(f->m, "c", "k2", "s2", 1, NULL);
    put(f->m, "c", "empty", NULL, 0, NULL);
    hs_meta_obj_t t;
    memset(&t, 0, sizeof(t));
    char id[65];
    assert_int_equal(hs_meta_mpu_create(f->m, "b", "k3", 2, &t, id), 0);
    part(f->m, id, 1, E1, 1, "part1", NULL, 0);
    hs_meta_dropped_t seen = {0};
    assert_int_equal(hs_meta_each_segment(f->m, collect_seg, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_true(dropped_has(&seen, "s1"));
    assert_true(dropped_has(&seen, "s2"));
    assert_true(dropped_has(&seen, "part1"));
    hs_meta_dropped_free(&seen);
}

/* ---- persistence ---- */

static void test_reopen(void **state)
{
    fx_t *f = *state;
    mkbucket(f->m, "b");
    put(f->m, "b", "k", "s", 3, NULL);
    hs_meta_close(f->m);
    assert_int_equal(hs_meta_open(f->dir, &f->m), 0);
    hs_meta_obj_t *o;
    assert_int_equal(hs_meta_obj_get(f->m, "b", "k", 1, &o), 0);
    assert_int_equal(o->size, 3);
    hs_meta_obj_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bucket_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_delete_not_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obj_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obj_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obj_long_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_key_group_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seg_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mpu_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mpu_etag_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
