/*
 * Types of the origin's metadata layer (meta.h): buckets, object records,
 * multipart uploads and their parts, as the S3 handlers see them. Only
 * type definitions live here.
 */
#ifndef HS_ORIGIN_META_T_H
#define HS_ORIGIN_META_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_meta hs_meta_t;

/* Limits of what a record can hold; the encoder refuses more (HS_E2BIG). */
#define HS_META_BUCKET_MAX 63      /* bucket name bytes */
#define HS_META_KEY_MAX 1024       /* object key bytes */
#define HS_META_OBJNAME_MAX 128    /* object-store name bytes */
#define HS_META_STR_MAX 65535      /* one header-like string */
#define HS_META_UMETA_MAX 65536    /* user metadata names + values, total */
#define HS_META_SEGS_MAX 10000     /* segments of one object (= parts) */
#define HS_META_PART_MAX 10000     /* highest part number */
#define HS_META_PART_MIN_SIZE (5u << 20) /* every part but the last */
#define HS_META_CC_MAX 1024        /* bucket default Cache-Control */
#define HS_META_REGION_MAX 63
#define HS_META_UPLOAD_ID_LEN 32   /* hex of 128 random bits */

/* Bucket flags */
enum {
    HS_META_BUCKET_PUBLIC_READ = 1u << 0, /* anonymous GET/HEAD allowed */
};

typedef struct hs_meta_bucket {
    int64_t created_ns;
    uint32_t flags;
    char cache_control[HS_META_CC_MAX + 1]; /* default Cache-Control, "" = none */
    char region[HS_META_REGION_MAX + 1];
} hs_meta_bucket_t;

/* One run of object bytes: a whole object-store object. */
typedef struct hs_meta_seg {
    const char *name; /* object-store name, 1..128 bytes */
    uint64_t size;
} hs_meta_seg_t;

/* One user metadata pair: name lowercase without "x-amz-meta-". */
typedef struct hs_meta_pair {
    const char *name;
    const char *value;
} hs_meta_pair_t;

/*
 * An object record. Strings are NUL-terminated and never NULL in a record
 * that get/list/complete return ("" = absent); a caller-built record may
 * leave them NULL. seg_off is filled by the decoder (start offset of each
 * segment, for hs_meta_seg_find's binary search) and ignored on input.
 */
typedef struct hs_meta_obj {
    uint64_t size;
    int64_t mtime_ns;
    uint32_t parts;     /* 0: simple PUT; N: completed multipart of N parts */
    const char *etag;   /* without quotes: 32 hex, or "hex-N" for multipart */
    const char *content_type;
    const char *content_encoding;
    const char *content_disposition;
    const char *content_language;
    const char *cache_control;
    const char *expires; /* raw header value */
    const char *storage_class;
    const hs_meta_pair_t *meta;
    uint32_t nmeta;
    const hs_meta_seg_t *segs;
    uint32_t nsegs;
    const uint64_t *seg_off;
} hs_meta_obj_t;

/* A multipart upload in progress (one malloc'd block: hs_meta_mpu_free). */
typedef struct hs_meta_mpu {
    char upload_id[HS_META_UPLOAD_ID_LEN + 1];
    const char *key; /* NUL-terminated too, but may hold NUL bytes: use keylen */
    size_t keylen;
    int64_t initiated_ns;
    hs_meta_obj_t tmpl; /* metadata given at Create: no size, etag or segments */
} hs_meta_mpu_t;

typedef struct hs_meta_part {
    const char *etag; /* 32 hex md5 of the part, no quotes */
    uint64_t size;
    const char *objname;
    int64_t mtime_ns;
} hs_meta_part_t;

/* A part as CompleteMultipartUpload's body lists it. */
typedef struct hs_meta_complete_part {
    unsigned number;
    const char *etag; /* quotes around it are ignored; hex case too */
} hs_meta_complete_part_t;

/* Object-store names an operation stopped referencing: the caller deletes
 * them from the object store after the call returns (the metadata commit is
 * done by then). Start zeroed; hs_meta_dropped_free releases. */
typedef struct hs_meta_dropped {
    char **names;
    unsigned n;
    unsigned cap;
} hs_meta_dropped_t;

/* ListObjects / ListObjectsV2 options. Strings are byte slices (keys may
 * hold any byte); NULL with length 0 means absent. */
typedef struct hs_meta_list_opts {
    const char *prefix;
    size_t prefix_len;
    const char *delimiter;
    size_t delim_len;
    const char *start_after; /* exclusive: V2 start-after/continuation key, V1 marker */
    size_t start_after_len;
    unsigned max_keys; /* 0..1000 */
} hs_meta_list_opts_t;

typedef struct hs_meta_list_cb {
    int (*object)(void *arg, const char *key, size_t keylen, const hs_meta_obj_t *rec);
    int (*prefix)(void *arg, const char *cprefix, size_t len);
    void *arg;
} hs_meta_list_cb_t;

/* ListMultipartUploads options. */
typedef struct hs_meta_mpu_list_opts {
    const char *prefix;
    size_t prefix_len;
    const char *delimiter;
    size_t delim_len;
    const char *key_marker;
    size_t key_marker_len;
    const char *upload_id_marker; /* NULL or "": none (only used with key_marker) */
    unsigned max_uploads;         /* 0..1000 */
} hs_meta_mpu_list_opts_t;

typedef struct hs_meta_mpu_list_cb {
    int (*upload)(void *arg, const hs_meta_mpu_t *u);
    int (*prefix)(void *arg, const char *cprefix, size_t len);
    void *arg;
} hs_meta_mpu_list_cb_t;

/* Where a listing stopped: the caller's NextMarker / NextKeyMarker /
 * NextUploadIdMarker / NextContinuationToken. */
typedef struct hs_meta_mpu_list_next {
    char key[HS_META_KEY_MAX + 1];
    size_t keylen;
    char upload_id[HS_META_UPLOAD_ID_LEN + 1]; /* "" after a common prefix */
} hs_meta_mpu_list_next_t;

#endif
