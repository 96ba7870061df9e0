/*
 * Functions shared by the files of the origin's metadata layer (hs__meta_
 * prefix): kv keys, record codecs, the long-key envelope, dropped lists and
 * the write paths that both objects and multipart completion use. Layout:
 * docs/design/origin-meta.md.
 */
#ifndef HS_ORIGIN_META_INT_H
#define HS_ORIGIN_META_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin/meta-t.h"
#include "store/kv.h"

struct hs_meta {
    hs_kv_t *kv;
};

/* Test hook: records read by meta cursors since start (every kv cursor
 * step of this layer goes through hs__meta_next). */
extern atomic_ulong hs__meta_steps;
int hs__meta_next(hs_kv_cursor_t *c, hs_kv_val_t *k, hs_kv_val_t *v);
/* A cursor over every kv key that starts with p[0..n), n <= HS__META_KEY_CAP
 * (hs_kv_cursor_prefix stops at shorter prefixes than our keys reach). */
int hs__meta_cursor_prefix(hs_kv_txn_t *txn, const void *p, size_t n, hs_kv_cursor_t **out);

/* ---- keys (meta_key.c) ----
 * 'b' NAME                          bucket record
 * 'o' NAME 00 'k' EK                object record     (EK: encoded key)
 * 'o' NAME 00 'l' EK                upload index: ids of the key's uploads
 * 'o' NAME 00 'u' ID                upload record     (ID: 32 hex)
 * 'o' NAME 00 'p' ID PART(be16)     part record
 * EK is the key itself when it has at most HS__META_HEAD bytes, else its
 * first HS__META_HEAD bytes, 01, and 16 bytes of SHA-256(key) (the rest of
 * the key is kept in the value's envelope). */
#define HS__META_HEAD 400
#define HS__META_HASH 16
#define HS__META_EK_LONG (HS__META_HEAD + 1 + HS__META_HASH)
#define HS__META_NS_MAX (3 + HS_META_BUCKET_MAX + 1)
#define HS__META_KEY_CAP (HS__META_NS_MAX + HS__META_EK_LONG + 2)
/* Most long keys that may share one head (see the design note). */
#define HS__META_GROUP_MAX 2048

enum { HS__META_K_OBJ = 'k', HS__META_K_UPIDX = 'l', HS__META_K_UPLOAD = 'u', HS__META_K_PART = 'p' };

/* Bucket name check: 1..63 bytes. */
bool hs__meta_bucket_ok(const char *name);
size_t hs__meta_key_bucket(uint8_t *k, const char *bucket);
/* 'o' NAME 00 (sub omitted when sub == 0): the start of a bucket's range. */
size_t hs__meta_key_ns(uint8_t *k, const char *bucket, int sub);
/* Appends EK of key to k (which holds n bytes); returns the new length. */
size_t hs__meta_key_ek(uint8_t *k, size_t n, const char *key, size_t keylen);
size_t hs__meta_key_upload(uint8_t *k, const char *bucket, const char *id);
size_t hs__meta_key_part(uint8_t *k, const char *bucket, const char *id, unsigned part);
/* The smallest byte string above every string that starts with p[0..n):
 * written over p, returns its length, 0 if there is none (all 0xff). */
size_t hs__meta_succ(uint8_t *p, size_t n);
/* Upload ids are exactly 32 lowercase hex characters. */
bool hs__meta_upload_id_ok(const char *id);

/* ---- values (meta_rec.c) ---- */

/* Envelope of 'k' and 'l' values: u16 length + the key's bytes past the
 * head (none for short keys), then the payload. */
int hs__meta_env_split(const void *v, size_t vlen, const uint8_t **tail, size_t *tlen,
                       const uint8_t **payload, size_t *plen);
/* Checks that an envelope's tail belongs to key (HS_ECORRUPT if not). */
int hs__meta_env_check(const char *key, size_t keylen, const uint8_t *tail, size_t tlen);

/* Object record: enc returns a malloc'd buffer of *len bytes with
 * envelope room: hdr bytes left free at its front for the caller. */
int hs__meta_obj_enc(const hs_meta_obj_t *r, size_t hdr, uint8_t **out, size_t *len);
/* Decodes into one malloc'd block (hs_meta_obj_free). HS_ECORRUPT on any
 * malformed input, HS_ENOMEM. */
int hs__meta_obj_dec(const void *p, size_t n, hs_meta_obj_t **out);
/* Checks what the encoder needs: lengths, segment sum. */
int hs__meta_obj_check(const hs_meta_obj_t *r);

#define HS__META_BUCKET_REC_MAX (1 + 8 + 4 + 2 + HS_META_CC_MAX + 1 + HS_META_REGION_MAX)
size_t hs__meta_bucket_enc(uint8_t *b, const hs_meta_bucket_t *r);
int hs__meta_bucket_dec(hs_meta_bucket_t *r, const void *p, size_t n);

typedef struct hs__meta_partrec {
    char etag[65];
    char objname[HS_META_OBJNAME_MAX + 1];
    uint64_t size;
    int64_t mtime_ns;
} hs__meta_partrec_t;
#define HS__META_PART_REC_MAX (1 + 8 + 8 + 1 + 64 + 1 + HS_META_OBJNAME_MAX)
int hs__meta_part_enc(uint8_t *b, size_t *len, const hs_meta_part_t *p);
int hs__meta_part_dec(hs__meta_partrec_t *r, const void *p, size_t n);
void hs__meta_part_view(const hs__meta_partrec_t *r, hs_meta_part_t *p);

/* Upload record: key, initiated time and the template (an object record). */
int hs__meta_upload_enc(const char *key, size_t keylen, int64_t initiated,
                        const hs_meta_obj_t *tmpl, uint8_t **out, size_t *len);
/* One malloc'd block (hs_meta_mpu_free); id is copied in. */
int hs__meta_upload_dec(const void *p, size_t n, const char *id, hs_meta_mpu_t **out);

/* ---- dropped lists and shared write paths (meta.c) ---- */
int hs__meta_dropped_add(hs_meta_dropped_t *d, const char *name);
/* Moves every name of src to the end of dst (dst NULL: frees them). */
void hs__meta_dropped_move(hs_meta_dropped_t *dst, hs_meta_dropped_t *src);
int64_t hs__meta_now_ns(void);
/* HS_ENOBUCKET unless the bucket exists in txn's snapshot. */
int hs__meta_bucket_exists(hs_kv_txn_t *txn, const char *bucket);
/* Counts the long keys of a head group (kv prefix gk[0..gklen)) up to
 * HS__META_GROUP_MAX; returns HS_ELIMIT at the cap. */
int hs__meta_group_room(hs_kv_txn_t *txn, const uint8_t *gk, size_t gklen);
/* Installs the encoded record (enc with envelope room) of rec as (bucket,
 * key) inside txn; old segments not in rec go to dropped. */
int hs__meta_obj_install(hs_kv_txn_t *txn, const char *bucket, const char *key, size_t keylen,
                         const hs_meta_obj_t *rec, uint8_t *enc, size_t enclen,
                         hs_meta_dropped_t *dropped);

/* ---- upload index (meta_mpu.c) ---- */
int hs__meta_upidx_update(hs_kv_txn_t *txn, const char *bucket, const char *key, size_t keylen,
                          const char *id, bool add);

#endif
