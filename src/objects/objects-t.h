/*
 * Public types of the object store (src/objects): handles, options and the
 * reports its operations fill. Functions are in objects.h.
 */
#ifndef HS_OBJECTS_OBJECTS_T_H
#define HS_OBJECTS_OBJECTS_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_objects hs_objects_t;
typedef struct hs_obj_writer hs_obj_writer_t;
typedef struct hs_obj_reader hs_obj_reader_t;

/* Storage tiers. Values are stored on disk. */
typedef enum hs_tier {
    HS_TIER_HOT = 0,    /* chunks stored plain, narrow stripes */
    HS_TIER_WARM = 1,   /* chunks zstd-compressed (fast level) */
    HS_TIER_COLD = 2,   /* zstd at a higher level, widest stripes */
    HS_TIER_AUTO = 255, /* put: let the access model decide (starts hot) */
} hs_tier_t;

/* Options for hs_objects_open. Fields left 0/NULL take their defaults;
 * drive layout and chunking are fixed when a store is created and read
 * back from it afterwards (changing them later is refused). */
typedef struct hs_objects_opts {
    int ndrives;                   /* drives under DIR/drives (default 6) */
    const char *const *drive_dirs; /* or explicit drive directories */
    int d, p;                      /* override the hot geometry */
    uint32_t chunk_min, chunk_avg, chunk_max;
    uint32_t frag_max;  /* largest fragment (default 1 MiB) */
    bool no_fsync;      /* tests/bench only: skip data fsync */
    bool readonly_open; /* fail rather than create */
} hs_objects_opts_t;

typedef struct hs_obj_put_opts {
    hs_tier_t tier; /* hint (the S3 storage class maps here) */
} hs_obj_put_opts_t;

/* What stat returns about an object. */
typedef struct hs_obj_info {
    uint64_t size;
    uint64_t mtime_ns;
    uint8_t etag[32]; /* SHA-256 over the chunk hashes in order */
    uint32_t nchunks;
    uint32_t new_chunks; /* put only: chunks that were not stored before */
    uint64_t new_bytes;  /* put only: bytes those chunks took (stored form) */
    hs_tier_t tier;
} hs_obj_info_t;

/* Progress of a long operation: called every few hundred ms with the
 * units done out of total (stripes), and a short phase name. */
typedef void (*hs_obj_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);

typedef struct hs_obj_maint_opts {
    bool repair;       /* fsck: fix what is found */
    bool verify_data;  /* fsck/heal: read every block, not only headers */
    uint64_t rate_bps; /* scrub: bytes per second bound (0 = unbounded) */
    bool nonblock;     /* gc: HS_EBUSY instead of waiting for the lock */
    hs_obj_progress_fn progress;
    void *progress_arg;
} hs_obj_maint_opts_t;

/* Counts a maintenance pass fills (fields it does not touch stay 0). */
typedef struct hs_obj_report {
    uint64_t objects, chunks, stripes;
    uint64_t bytes_logical;  /* sum of object sizes */
    uint64_t bytes_stored;   /* fragment payload bytes on drives */
    uint64_t bytes_read;     /* bytes read by the pass */
    uint64_t frags_missing;  /* fragments absent or with a bad header */
    uint64_t frags_corrupt;  /* fragments with a bad block checksum */
    uint64_t frags_rebuilt;  /* fragments rewritten from survivors */
    uint64_t stripes_lost;   /* fewer than D good fragments */
    uint64_t chunks_missing; /* manifest names a chunk not indexed */
    uint64_t refs_fixed;     /* refcounts that disagreed with manifests */
    uint64_t orphans;        /* fragment files no stripe owns */
    uint64_t orphans_removed;
    uint64_t chunks_freed, stripes_freed, stripes_compacted;
    uint64_t bytes_freed;
    uint64_t moved;  /* tier pass: objects moved */
    uint64_t errors; /* anything else wrong */
} hs_obj_report_t;

/* Background maintenance (hs_objects_bg_start): what runs and how often. */
typedef struct hs_obj_bg_opts {
    uint64_t interval_ms;    /* pause between passes (default 60 s) */
    uint64_t scrub_rate_bps; /* scrub read bound (default 64 MiB/s; 0 = no scrub) */
    bool tiering;            /* run a tier pass each round */
    bool gc;                 /* run gc when the store is idle enough */
} hs_obj_bg_opts_t;

typedef struct hs_obj_bg hs_obj_bg_t;

#endif
