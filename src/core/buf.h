/*
 * A growable byte buffer for connection I/O: read(2) into the space at the
 * end, parse from the data at the front, consume what was handled. Data is
 * moved to the front only when space runs out (compaction), so consuming
 * is O(1). The buffer never bounds itself: callers check hs_buf_len()
 * against their limit (header bytes, body in memory) before reserving.
 */
#ifndef HS_CORE_BUF_H
#define HS_CORE_BUF_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf-t.h"

/* Unread bytes start here; hs_buf_len() of them. */
static inline char *hs_buf_data(const hs_buf_t *b)
{
    /* Integer arithmetic: an empty buffer has base NULL, and NULL + 0 is
     * undefined behaviour that clang's UBSan reports. */
    return (char *)((uintptr_t)b->base + b->off);
}

static inline size_t hs_buf_len(const hs_buf_t *b)
{
    return b->len;
}

/* Writable space starts here (after the data); hs_buf_space_len() bytes. */
static inline char *hs_buf_space(const hs_buf_t *b)
{
    return (char *)((uintptr_t)b->base + b->off + b->len);
}

static inline size_t hs_buf_space_len(const hs_buf_t *b)
{
    return b->cap - b->off - b->len;
}

/* Marks n bytes written into hs_buf_space() (e.g. by read(2)) as data. */
static inline void hs_buf_commit(hs_buf_t *b, size_t n)
{
    assert(n <= hs_buf_space_len(b));
    b->len += n;
}

/* Ensures at least n writable bytes after the data: compacts first, grows
 * (at least doubling) only if that is not enough. Pointers into the buffer
 * are invalid afterwards. Returns 0 or HS_ENOMEM (buffer unchanged). */
int hs_buf_reserve(hs_buf_t *b, size_t n);

/* Drops n (<= hs_buf_len) bytes from the front of the data. */
void hs_buf_consume(hs_buf_t *b, size_t n);

/* Appends n bytes. Returns 0 or HS_ENOMEM. */
int hs_buf_append(hs_buf_t *b, const void *p, size_t n);

/* Appends printf-formatted text (no NUL is counted in the data, but one is
 * always written after it). Returns 0, HS_ENOMEM or HS_EINVAL (bad format). */
int hs_buf_printf(hs_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the storage; the buffer is empty and reusable afterwards. */
void hs_buf_free(hs_buf_t *b);

#endif
