/*
 * Internal types shared by the files of src/objects: the store handle and
 * the records kept in the index (wide-column role store). The byte layout
 * of each record is in meta.c and docs/design/objects-format.md.
 */
#ifndef HS_OBJECTS_INTERNAL_T_H
#define HS_OBJECTS_INTERNAL_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/metrics-t.h"
#include "objects/cdc.h"
#include "objects/ec.h"
#include "objects/objects-t.h"
#include "store/kv-t.h"

#define HS_OBJ_MAX_DRIVES 64
#define HS_OBJ_NAME_MAX 1024
#define HS_OBJ_BLOCK 65536u /* checksum block of fragment payloads */

/* Index key prefixes (first byte of every key). */
enum {
    HS_K_CHUNK = 'c',   /* 'c' sha256[32]             -> hs__chunk_rec_t */
    HS_K_REV = 'r',     /* 'r' be64 stripe be32 off   -> sha256[32] */
    HS_K_STRIPE = 's',  /* 's' be64 stripe            -> hs__stripe_rec_t */
    HS_K_OBJECT = 'o',  /* 'o' name                   -> manifest */
    HS_K_ZERO = 'z',    /* 'z' sha256[32]             -> "" (refs hit 0) */
    HS_K_GARBAGE = 'g', /* 'g' be64 stripe            -> geometry (files to unlink) */
    HS_K_META = 'm',    /* 'm' "config"               -> store config */
};

typedef struct hs__chunk_rec {
    uint64_t stripe;
    uint32_t off;        /* offset in the stripe's data */
    uint32_t stored_len; /* bytes in the stripe (compressed or not) */
    uint32_t raw_len;
    uint8_t comp; /* 0 plain, 1 zstd */
    uint8_t tier;
    uint64_t refs;
} hs__chunk_rec_t;

typedef struct hs__stripe_rec {
    uint8_t d, p, tier, first_drive;
    uint32_t frag_len; /* payload bytes per fragment */
    uint32_t data_len; /* stripe data bytes before padding */
    uint32_t live_chunks;
    uint64_t live_bytes;
    uint64_t ctime_ns;
} hs__stripe_rec_t;

typedef struct hs__mchunk {
    uint8_t hash[32];
    uint32_t raw_len;
} hs__mchunk_t;

typedef struct hs__manifest {
    uint64_t size, mtime_ns;
    uint8_t etag[32];
    uint8_t tier;
    uint32_t nchunks;
    hs__mchunk_t *chunks; /* owned (malloc'd) */
} hs__manifest_t;

typedef struct hs__geom {
    int d, p;
} hs__geom_t;

struct hs_objects {
    char *dir;
    char *lockpath;
    hs_kv_t *kv;  /* index: chunks, stripes, manifests (durable) */
    hs_kv_t *akv; /* access model state (advisory, not fsynced) */
    int ndrives;
    char *drives[HS_OBJ_MAX_DRIVES];
    hs__geom_t hot, cold;
    hs_cdc_t cdc;
    uint32_t frag_max;
    int no_fsync;
    pthread_mutex_t ec_mu;
    hs_ec_t *ecs[HS_EC_MAX + 1][HS_EC_MAX + 1]; /* codecs by (d, p) */
    pthread_mutex_t repair_mu;
    _Atomic uint64_t corrupt_detected, repaired;
    atomic_int ahead_readers; /* readers with read-ahead workers (ahead.c) */
    hs_counter_t *m_corrupt, *m_repaired, *m_put_bytes, *m_get_bytes, *m_dedup_bytes;
};

#endif
