/*
 * Typed free-list pool for fixed-size objects (connections, requests),
 * single-threaded: each worker thread owns its pools, so there are no
 * locks. Two bounds: max_free caps the memory kept for reuse, max_live
 * caps objects out at once — reaching it makes hs_pool_get return NULL,
 * which is the caller's back-pressure signal (e.g. answer 503), never a
 * crash. With AddressSanitizer, objects on the free list are poisoned, so
 * a use after hs_pool_put is reported.
 */
#ifndef HS_CORE_POOL_H
#define HS_CORE_POOL_H

#include <stddef.h>

#include "core/pool-t.h"

/* Prepares an empty pool of objects of obj_size bytes (aligned to 16).
 * Allocates nothing. */
void hs_pool_init(hs_pool_t *p, size_t obj_size, unsigned max_free, unsigned max_live);

/* Returns an object (contents undefined), or NULL when max_live objects
 * are out or memory is exhausted. */
void *hs_pool_get(hs_pool_t *p);

/* Gives back an object obtained from this pool's hs_pool_get. */
void hs_pool_put(hs_pool_t *p, void *obj);

/* Frees the objects on the free list. Objects still out remain valid
 * malloc memory but must not be put back afterwards. */
void hs_pool_destroy(hs_pool_t *p);

static inline unsigned hs_pool_live(const hs_pool_t *p)
{
    return p->live;
}

static inline unsigned hs_pool_nfree(const hs_pool_t *p)
{
    return p->nfree;
}

#endif
