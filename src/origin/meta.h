/*
 * The origin's metadata store: buckets, object records (headers, etag, the
 * object-store segments holding the bytes) and multipart uploads, kept in
 * the metadata role store (store/kv.h, engine "lmdb"). Every public write
 * is one kv transaction, so a crash leaves either the old or the new state.
 * Key layout and record format: docs/design/origin-meta.md.
 *
 * Object-store bytes are the caller's: it writes them under names it
 * chooses before calling put/part_put, and deletes the names an operation
 * reports as dropped after the call returns. A crash in between leaves
 * unreferenced names; hs_meta_each_segment lets a reconcile pass find them.
 *
 * Errors beyond the usual: HS_ENOBUCKET (no such bucket: NoSuchBucket),
 * HS_ENOENT (no such key / upload), HS_EEXIST, HS_ENOTEMPTY, HS_EINVAL
 * (bad argument), HS_E2BIG (a record over the limits of meta-t.h),
 * HS_ELIMIT (too many keys longer than 400 bytes share their first 400
 * bytes, see the design note), HS_ECORRUPT (a stored record does not
 * decode). Keys are byte slices of 1..1024 bytes; bucket names 1..63.
 *
 * Thread safety: one hs_meta_t is shared by all threads; calls block on
 * disk (servers call them from the I/O thread pool). Listing callbacks run
 * inside a read snapshot and must not call back into the store.
 */
#ifndef HS_ORIGIN_META_H
#define HS_ORIGIN_META_H

#include "core/err.h"
#include "origin/meta-t.h"

/* What CompleteMultipartUpload's checks return, so the handler can tell
 * the S3 errors apart (aliases of err.h codes). */
#define HS_META_EPARTORDER HS_EINVAL /* InvalidPartOrder: numbers not ascending */
#define HS_META_EBADPART HS_EBADMSG  /* InvalidPart: no such part, or its etag differs */
#define HS_META_ESMALL HS_ERANGE     /* EntityTooSmall: a part but the last < 5 MiB */

/* Opens (creating dir if needed) the store under dir. Returns 0 and *out,
 * or an error of the kv engine. */
int hs_meta_open(const char *dir, hs_meta_t **out);
/* hs_meta_open with commits not flushed when no_sync (tests and benches
 * only: a crash may then lose acknowledged writes). */
int hs_meta_open_opts(const char *dir, bool no_sync, hs_meta_t **out);
void hs_meta_close(hs_meta_t *m);

/* ---- Buckets ---- */

/* Creates bucket name with b's created time, flags, cache-control and
 * region. HS_EEXIST if it exists. */
int hs_meta_bucket_create(hs_meta_t *m, const char *name, const hs_meta_bucket_t *b);
/* Fills *b. HS_ENOENT if there is no such bucket. */
int hs_meta_bucket_get(hs_meta_t *m, const char *name, hs_meta_bucket_t *b);
/* Replaces the bucket's flags and cache-control (created and region are
 * kept). HS_ENOENT if absent. */
int hs_meta_bucket_set(hs_meta_t *m, const char *name, const hs_meta_bucket_t *b);
/* Deletes an empty bucket: HS_ENOENT if absent, HS_ENOTEMPTY if it holds
 * any object or multipart upload. */
int hs_meta_bucket_delete(hs_meta_t *m, const char *name);
/* Calls fn for every bucket in name order until fn returns non-zero (that
 * value is returned). */
int hs_meta_bucket_list(hs_meta_t *m, int (*fn)(void *arg, const char *name, const hs_meta_bucket_t *b),
                        void *arg);

/* ---- Objects ---- */

/* Reads the record of (bucket, key) into *out, one malloc'd block to free
 * with hs_meta_obj_free. HS_ENOBUCKET or HS_ENOENT. */
int hs_meta_obj_get(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                    hs_meta_obj_t **out);
void hs_meta_obj_free(hs_meta_obj_t *rec);
/* Stores rec as (bucket, key), replacing any record; the segment sizes must
 * add up to rec->size (else HS_EINVAL). The old record's segments that rec
 * does not reuse are appended to dropped (may be NULL). */
int hs_meta_obj_put(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                    const hs_meta_obj_t *rec, hs_meta_dropped_t *dropped);
/* Deletes (bucket, key); its segments go to dropped. HS_ENOBUCKET/HS_ENOENT. */
int hs_meta_obj_delete(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                       hs_meta_dropped_t *dropped);

/*
 * ListObjects(V2): calls cb->object for keys and cb->prefix for common
 * prefixes, in key order, for keys that start with o->prefix; with a
 * delimiter, keys holding it after the prefix roll up into one common
 * prefix (up to and including the delimiter). Only items (keys or common
 * prefixes) greater than o->start_after are returned, at most o->max_keys
 * of them. *truncated says whether more items follow; next_marker gets the
 * last item returned (next_cap >= 1025 always suffices; *next_len 0 if
 * none), which as start_after continues the listing, skipping the rest of
 * a common prefix. A callback returning non-zero stops the listing and that
 * value is returned. Cost: O(max_keys) records read plus one seek per
 * common prefix, whatever the number of keys under a prefix.
 */
int hs_meta_obj_list(hs_meta_t *m, const char *bucket, const hs_meta_list_opts_t *o,
                     const hs_meta_list_cb_t *cb, bool *truncated, char *next_marker,
                     size_t next_cap, size_t *next_len);

/* Finds the segment holding byte offset (< rec->size): *seg_index and the
 * offset inside it. O(log n) on decoded records. HS_ERANGE past the end. */
int hs_meta_seg_find(const hs_meta_obj_t *rec, uint64_t offset, unsigned *seg_index,
                     uint64_t *seg_offset);

/* ---- Multipart uploads ---- */

/* Starts an upload of (bucket, key) with the metadata of meta_template
 * (content-type and the other headers, user metadata, storage class; its
 * size, etag and segments are ignored). Writes the new upload id (32 hex
 * characters, NUL-terminated) to upload_id. HS_ENOBUCKET. */
int hs_meta_mpu_create(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                       const hs_meta_obj_t *meta_template, char upload_id[65]);
/* Reads an upload (one malloc'd block: hs_meta_mpu_free). HS_ENOBUCKET, or
 * HS_ENOENT for an unknown or malformed upload id (NoSuchUpload). The
 * caller checks that u->key is the request's key. */
int hs_meta_mpu_get(hs_meta_t *m, const char *bucket, const char *upload_id, hs_meta_mpu_t **out);
void hs_meta_mpu_free(hs_meta_mpu_t *u);
/* Records part (1..10000, else HS_EINVAL) of an upload, replacing any part
 * of that number (its object-store name goes to dropped). */
int hs_meta_mpu_part_put(hs_meta_t *m, const char *bucket, const char *upload_id, unsigned part,
                         const hs_meta_part_t *p, hs_meta_dropped_t *dropped);
/* ListParts: calls fn for parts numbered above after_part, ascending, at
 * most max of them; *truncated if more follow. */
int hs_meta_mpu_parts(hs_meta_t *m, const char *bucket, const char *upload_id, unsigned after_part,
                      unsigned max, int (*fn)(void *arg, unsigned part, const hs_meta_part_t *p),
                      void *arg, bool *truncated);
/*
 * CompleteMultipartUpload with the client's part list (n >= 1). Checks, in
 * this order: numbers strictly ascending (HS_META_EPARTORDER), each part
 * exists with that etag (HS_META_EBADPART), every part but the last is at
 * least 5 MiB (HS_META_ESMALL). Then, in one transaction, installs the
 * object (segments = the parts in order, etag = hex md5 of the parts'
 * binary md5s + "-N", mtime now), replacing any old object, and removes the
 * upload and all its parts. dropped gets the old object's segments and the
 * parts not listed. *out_rec (may be NULL) gets the new record
 * (hs_meta_obj_free). HS_ENOENT: no such upload.
 */
int hs_meta_mpu_complete(hs_meta_t *m, const char *bucket, const char *upload_id,
                         const hs_meta_complete_part_t *parts, unsigned n, hs_meta_obj_t **out_rec,
                         hs_meta_dropped_t *dropped);
/* AbortMultipartUpload: removes the upload; its parts go to dropped. */
int hs_meta_mpu_abort(hs_meta_t *m, const char *bucket, const char *upload_id,
                      hs_meta_dropped_t *dropped);
/*
 * ListMultipartUploads: uploads ordered by key, then upload id, filtered
 * and rolled up like hs_meta_obj_list. Markers: without upload_id_marker,
 * uploads of keys after key_marker; with it, also the uploads of key_marker
 * itself whose id is greater. At most max_uploads items (an upload, or a
 * common prefix counted once). *truncated and *next (the last item: key and
 * upload id, or a common prefix and "") as in ListObjects. HS_ENOBUCKET.
 */
int hs_meta_mpu_list(hs_meta_t *m, const char *bucket, const hs_meta_mpu_list_opts_t *o,
                     const hs_meta_mpu_list_cb_t *cb, bool *truncated, hs_meta_mpu_list_next_t *next);

/* ---- Reconcile ---- */

/* Calls fn with every object-store name a record references (object
 * segments and uploaded parts), in no useful order, until fn returns
 * non-zero (returned). One read snapshot. */
int hs_meta_each_segment(hs_meta_t *m, int (*fn)(void *arg, const char *objname), void *arg);

/* Frees the names in d and empties it. */
void hs_meta_dropped_free(hs_meta_dropped_t *d);

#endif
