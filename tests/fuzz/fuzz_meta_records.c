/*
 * libFuzzer harness for the origin metadata store's record decoders
 * (src/origin/meta_rec.c): object records, bucket, part and upload
 * records, and the long-key envelope in front of object values. They read
 * values from the metadata store, which disk corruption or a damaged copy
 * can change. The first input byte picks the decoder. Properties checked
 * (abort on violation):
 *  - no decoder crashes or reads out of bounds on any input; a failure is
 *    HS_ECORRUPT (or HS_ENOMEM);
 *  - whatever decodes re-encodes, and the re-encoding decodes to the same
 *    values (object, bucket, part and upload records);
 *  - a decoded object's segments add up to its size and seg_off holds
 *    their start offsets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "origin/meta-int.h"
#include "origin/meta.h"

static void same_obj(const hs_meta_obj_t *a, const hs_meta_obj_t *b)
{
    CHECK(a->size == b->size && a->mtime_ns == b->mtime_ns && a->parts == b->parts);
    const char *fa[8] = {a->etag, a->content_type, a->content_encoding, a->content_disposition,
                         a->content_language, a->cache_control, a->expires, a->storage_class};
    const char *fb[8] = {b->etag, b->content_type, b->content_encoding, b->content_disposition,
                         b->content_language, b->cache_control, b->expires, b->storage_class};
    for (int i = 0; i < 8; i++)
        CHECK(strcmp(fa[i], fb[i]) == 0);
    CHECK(a->nmeta == b->nmeta && a->nsegs == b->nsegs);
    for (uint32_t i = 0; i < a->nmeta; i++)
        CHECK(strcmp(a->meta[i].name, b->meta[i].name) == 0 &&
              strcmp(a->meta[i].value, b->meta[i].value) == 0);
    for (uint32_t i = 0; i < a->nsegs; i++)
        CHECK(strcmp(a->segs[i].name, b->segs[i].name) == 0 && a->segs[i].size == b->segs[i].size);
}

static void obj(const uint8_t *p, size_t n)
{
    hs_meta_obj_t *o, *o2;
    int rc = hs__meta_obj_dec(p, n, &o);
    if (rc < 0) {
        CHECK(rc == HS_ECORRUPT || rc == HS_ENOMEM);
        return;
    }
    uint64_t off = 0;
    for (uint32_t i = 0; i < o->nsegs; i++) {
        CHECK(o->seg_off[i] == off);
        off += o->segs[i].size;
    }
    CHECK(off == o->size);
    if (o->size) {
        unsigned idx;
        uint64_t so;
        CHECK(hs_meta_seg_find(o, o->size - 1, &idx, &so) == 0);
        CHECK(idx < o->nsegs && so < o->segs[idx].size);
    }
    uint8_t *enc;
    size_t len;
    CHECK(hs__meta_obj_enc(o, 0, &enc, &len) == 0);
    CHECK(hs__meta_obj_dec(enc, len, &o2) == 0);
    same_obj(o, o2);
    free(enc);
    hs_meta_obj_free(o);
    hs_meta_obj_free(o2);
}

static void bucket(const uint8_t *p, size_t n)
{
    hs_meta_bucket_t b, b2;
    uint8_t buf[HS__META_BUCKET_REC_MAX];
    int rc = hs__meta_bucket_dec(&b, p, n);
    if (rc < 0) {
        CHECK(rc == HS_ECORRUPT);
        return;
    }
    size_t len = hs__meta_bucket_enc(buf, &b);
    CHECK(len <= sizeof(buf));
    CHECK(hs__meta_bucket_dec(&b2, buf, len) == 0);
    CHECK(memcmp(&b, &b2, sizeof(b)) == 0);
}

static void part(const uint8_t *p, size_t n)
{
    hs__meta_partrec_t r, r2;
    hs_meta_part_t v;
    uint8_t buf[HS__META_PART_REC_MAX];
    size_t len;
    int rc = hs__meta_part_dec(&r, p, n);
    if (rc < 0) {
        CHECK(rc == HS_ECORRUPT);
        return;
    }
    hs__meta_part_view(&r, &v);
    CHECK(hs__meta_part_enc(buf, &len, &v) == 0);
    CHECK(hs__meta_part_dec(&r2, buf, len) == 0);
    CHECK(strcmp(r.etag, r2.etag) == 0 && strcmp(r.objname, r2.objname) == 0 &&
          r.size == r2.size && r.mtime_ns == r2.mtime_ns);
}

static void upload(const uint8_t *p, size_t n)
{
    hs_meta_mpu_t *u, *u2;
    const char *id = "0123456789abcdef0123456789abcdef";
    int rc = hs__meta_upload_dec(p, n, id, &u);
    if (rc < 0) {
        CHECK(rc == HS_ECORRUPT || rc == HS_ENOMEM);
        return;
    }
    CHECK(u->keylen >= 1 && u->keylen <= HS_META_KEY_MAX && u->tmpl.nsegs == 0);
    uint8_t *enc;
    size_t len;
    CHECK(hs__meta_upload_enc(u->key, u->keylen, u->initiated_ns, &u->tmpl, &enc, &len) == 0);
    CHECK(hs__meta_upload_dec(enc, len, id, &u2) == 0);
    CHECK(u->keylen == u2->keylen && memcmp(u->key, u2->key, u->keylen) == 0 &&
          u->initiated_ns == u2->initiated_ns && strcmp(u2->upload_id, id) == 0);
    same_obj(&u->tmpl, &u2->tmpl);
    free(enc);
    hs_meta_mpu_free(u);
    hs_meta_mpu_free(u2);
}

static void envelope(const uint8_t *p, size_t n)
{
    const uint8_t *tail, *pl;
    size_t tl, pll;
    if (hs__meta_env_split(p, n, &tail, &tl, &pl, &pll) < 0) return;
    CHECK(tl <= HS_META_KEY_MAX - HS__META_HEAD && 2 + tl + pll == n);
    obj(pl, pll);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    switch (data[0] % 5) {
    case 0:
        obj(data + 1, size - 1);
        break;
    case 1:
        bucket(data + 1, size - 1);
        break;
    case 2:
        part(data + 1, size - 1);
        break;
    case 3:
        upload(data + 1, size - 1);
        break;
    default:
        envelope(data + 1, size - 1);
        break;
    }
    return 0;
}
