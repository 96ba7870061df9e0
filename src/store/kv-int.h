/*
 * Internal to src/store: the group-commit state every store handle carries
 * (kv_group.c), created and freed by the dispatch layer (kv.c).
 */
#ifndef HS_STORE_KV_INT_H
#define HS_STORE_KV_INT_H

#include <stdint.h>

#include "store/kv-t.h"

/* Returns a new group state, or NULL when out of memory (the store then
 * runs each hs_kv_group_run call alone). */
struct hs__kv_group *hs__kv_group_new(void);
/* Frees it; no caller may be inside hs_kv_group_run. NULL is a no-op. */
void hs__kv_group_free(struct hs__kv_group *g);

/* Counters for tests and diagnostics: callers waiting in the queue,
 * shared transactions committed (or aborted when every fn failed), and
 * calls that ran in one. */
typedef struct hs__kv_group_stats {
    unsigned queued;
    uint64_t groups, calls;
} hs__kv_group_stats_t;
void hs__kv_group_stats(hs_kv_t *kv, hs__kv_group_stats_t *out);

#endif
