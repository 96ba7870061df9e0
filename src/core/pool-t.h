/* Bounded free-list pool type; functions in core/pool.h. */
#ifndef HS_CORE_POOL_T_H
#define HS_CORE_POOL_T_H

#include <stddef.h>

/* Read the counters through hs_pool_live() / hs_pool_nfree(). */
typedef struct hs_pool {
    void *free_list;   /* singly linked through each free object's first word */
    size_t obj_size;   /* rounded up to hold the link */
    unsigned max_free; /* objects kept for reuse; more are freed */
    unsigned max_live; /* objects out at once; 0 = unlimited */
    unsigned live;     /* objects handed out and not yet put back */
    unsigned nfree;    /* objects on the free list */
} hs_pool_t;

#endif
