/* Per-request arena type; functions in core/arena.h. */
#ifndef HS_CORE_ARENA_T_H
#define HS_CORE_ARENA_T_H

#include <stddef.h>

typedef struct hs_arena_block hs_arena_block_t;

/* Treat as opaque; embed it by value (in a connection or request). */
typedef struct hs_arena {
    hs_arena_block_t *first;   /* kept across resets; NULL until first use */
    hs_arena_block_t *cur;     /* block being carved */
    hs_arena_block_t *large;   /* dedicated blocks of big allocations */
    char *ptr, *end;           /* free space of cur */
    size_t first_size;         /* usable bytes of the first block */
    size_t next_size;          /* usable bytes of the next chained block */
} hs_arena_t;

#endif
