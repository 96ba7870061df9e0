/* Types of the origin's L2 cache (see l2.h). */
#ifndef HS_ORIGIN_L2_T_H
#define HS_ORIGIN_L2_T_H

#include <stddef.h>
#include <stdint.h>

typedef struct hs_l2 hs_l2_t;
/* An immutable, refcounted blob: data, length and a caller tag. */
typedef struct hs_l2_val hs_l2_val_t;

/* Eviction policies. HS_L2_DEFAULT is the one chosen by measurement
 * (docs/design/origin-l2.md). */
typedef enum hs_l2_policy_kind {
    HS_L2_LRU = 0,
    HS_L2_SIEVE,
    HS_L2_S3FIFO,
    HS_L2_TINYLFU,
    HS_L2_NPOLICIES,
    HS_L2_DEFAULT = HS_L2_TINYLFU,
} hs_l2_policy_kind_t;

typedef struct hs_l2_opts {
    size_t max_bytes;      /* budget: keys + values + per-entry overhead */
    size_t max_item_bytes; /* largest entry charge (0: min(1 MiB, max_bytes / 16)) */
    hs_l2_policy_kind_t policy;
    unsigned shards;            /* power of two <= 256, or 0 for automatic */
    const char *metrics_prefix; /* e.g. "hs_origin_l2", or NULL for none */
} hs_l2_opts_t;

typedef struct hs_l2_stats {
    uint64_t hits, misses;
    uint64_t puts;      /* entries stored */
    uint64_t rejected;  /* puts refused for size, or dropped by admission */
    uint64_t stale;     /* puts refused because a del happened since the token */
    uint64_t evictions; /* entries evicted to make room */
    uint64_t dels;      /* entries removed by hs_l2_del */
    uint64_t bytes, items;
    uint64_t max_bytes;
    unsigned shards;
} hs_l2_stats_t;

#endif
