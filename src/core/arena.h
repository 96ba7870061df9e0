/*
 * Per-request arena (region) allocator: many small allocations, freed all
 * at once when the request ends. Allocation is a pointer bump inside a
 * block; blocks are chained as needed and the first one is kept across
 * resets, so a steady-state request allocates nothing from malloc.
 *
 * Debug mode: when built with AddressSanitizer, the unused tail of every
 * block and a red zone after every allocation are poisoned, and a reset
 * poisons everything, so overflows and use-after-reset are reported as
 * precisely as with malloc.
 */
#ifndef HS_CORE_ARENA_H
#define HS_CORE_ARENA_H

#include <stddef.h>

#include "core/arena-t.h"

/* Alignment of every allocation. */
#define HS_ARENA_ALIGN 16

/* Prepares an empty arena whose first block will have first_block usable
 * bytes (0 picks 4 KiB). Allocates nothing until the first allocation. */
void hs_arena_init(hs_arena_t *a, size_t first_block);

/* Returns n bytes aligned to HS_ARENA_ALIGN, valid until the next reset or
 * free, or NULL on out-of-memory. n = 0 returns a valid unique pointer. */
void *hs_arena_alloc(hs_arena_t *a, size_t n);

/* Copies at most n bytes of s (stopping at a NUL) into the arena and
 * NUL-terminates the copy. Returns it, or NULL on out-of-memory. */
char *hs_arena_strndup(hs_arena_t *a, const char *s, size_t n);

/* Releases every allocation; keeps the first block for reuse and frees
 * the others. */
void hs_arena_reset(hs_arena_t *a);

/* Frees all memory; the arena can be used again (as after init). */
void hs_arena_free(hs_arena_t *a);

/* Bytes of block memory currently held (for metrics and tests). */
size_t hs_arena_bytes(const hs_arena_t *a);

#endif
