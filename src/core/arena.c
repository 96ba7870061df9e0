/*
 * Per-request arena: bump allocation in chained blocks (see arena.h).
 * Big allocations get a block of their own so they neither waste the
 * current block's tail nor make the arena keep a huge block after reset.
 */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/asan.h"

#define DEFAULT_FIRST_BLOCK 4096
/* Chained blocks double up to this size. */
#define MAX_BLOCK (1u << 20)

struct hs_arena_block {
    hs_arena_block_t *next;
    size_t size; /* usable bytes in data */
    alignas(HS_ARENA_ALIGN) char data[];
};

static size_t round_up(size_t n)
{
    return (n + HS_ARENA_ALIGN - 1) & ~(size_t)(HS_ARENA_ALIGN - 1);
}

void hs_arena_init(hs_arena_t *a, size_t first_block)
{
    memset(a, 0, sizeof(*a));
    a->first_size = round_up(first_block ? first_block : DEFAULT_FIRST_BLOCK);
    a->next_size = a->first_size;
}

static hs_arena_block_t *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(hs_arena_block_t))
        return NULL;
    hs_arena_block_t *b = aligned_alloc(HS_ARENA_ALIGN, sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    HS_POISON(b->data, size);
    return b;
}

static void block_free(hs_arena_block_t *b)
{
    HS_UNPOISON(b->data, b->size);
    free(b);
}

static void use_block(hs_arena_t *a, hs_arena_block_t *b)
{
    a->cur = b;
    a->ptr = b->data;
    a->end = b->data + b->size;
}

static void *alloc_slow(hs_arena_t *a, size_t n, size_t need)
{
    if (!a->first) {
        hs_arena_block_t *b = block_new(a->first_size);
        if (!b)
            return NULL;
        a->first = b;
        use_block(a, b);
        if (need <= a->first_size) {
            void *p = a->ptr;
            a->ptr += need;
            HS_UNPOISON(p, n);
            return p;
        }
    }
    if (need > a->next_size / 4) {
        hs_arena_block_t *b = block_new(need);
        if (!b)
            return NULL;
        b->next = a->large;
        a->large = b;
        HS_UNPOISON(b->data, n);
        return b->data;
    }
    hs_arena_block_t *b = block_new(a->next_size);
    if (!b)
        return NULL;
    a->cur->next = b;
    use_block(a, b);
    if (a->next_size < MAX_BLOCK)
        a->next_size *= 2;
    void *p = a->ptr;
    a->ptr += need;
    HS_UNPOISON(p, n);
    return p;
}

void *hs_arena_alloc(hs_arena_t *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = round_up(n) + HS_ASAN_REDZONE;
    if (a->cur && need <= (size_t)(a->end - a->ptr)) {
        void *p = a->ptr;
        a->ptr += need;
        HS_UNPOISON(p, n);
        return p;
    }
    return alloc_slow(a, n, need);
}

char *hs_arena_strndup(hs_arena_t *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = hs_arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void free_list(hs_arena_block_t *b)
{
    while (b) {
        hs_arena_block_t *next = b->next;
        block_free(b);
        b = next;
    }
}

void hs_arena_reset(hs_arena_t *a)
{
    free_list(a->large);
    a->large = NULL;
    a->next_size = a->first_size;
    if (!a->first)
        return;
    free_list(a->first->next);
    a->first->next = NULL;
    use_block(a, a->first);
    HS_POISON(a->first->data, a->first->size);
}

void hs_arena_free(hs_arena_t *a)
{
    free_list(a->large);
    free_list(a->first);
    hs_arena_init(a, a->first_size);
}

size_t hs_arena_bytes(const hs_arena_t *a)
{
    size_t n = 0;
    for (const hs_arena_block_t *b = a->first; b; b = b->next)
        n += b->size;
    for (const hs_arena_block_t *b = a->large; b; b = b->next)
        n += b->size;
    return n;
}
