/* Byte buffer for connection I/O (see buf.h for the model). */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* Smallest allocation, so tiny appends do not realloc one byte at a time. */
#define BUF_MIN_CAP 256

int hs_buf_reserve(hs_buf_t *b, size_t n)
{
    if (b->cap - b->off - b->len >= n)
        return 0;
    if (b->cap - b->len >= n) {
        /* Enough room once consumed bytes are reclaimed. */
        memmove(b->base, b->base + b->off, b->len);
        b->off = 0;
        return 0;
    }
    if (n > SIZE_MAX / 2 - b->len)
        return HS_ENOMEM;
    size_t want = b->len + n;
    size_t cap = b->cap > BUF_MIN_CAP / 2 ? b->cap * 2 : BUF_MIN_CAP;
    if (cap < want)
        cap = want;
    char *nb = malloc(cap);
    if (!nb)
        return HS_ENOMEM;
    if (b->len)
        memcpy(nb, b->base + b->off, b->len);
    free(b->base);
    b->base = nb;
    b->off = 0;
    b->cap = cap;
    return 0;
}

void hs_buf_consume(hs_buf_t *b, size_t n)
{
    assert(n <= b->len);
    b->len -= n;
    /* An emptied buffer restarts at the front: no compaction ever needed
     * for the common read-parse-consume-all cycle. */
    b->off = b->len ? b->off + n : 0;
}

int hs_buf_append(hs_buf_t *b, const void *p, size_t n)
{
    int rc = hs_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(hs_buf_space(b), p, n);
    b->len += n;
    return 0;
}

int hs_buf_printf(hs_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    size_t space = hs_buf_space_len(b);
    int n = -1;
    if (space > 0) {
        va_start(ap, fmt);
        n = vsnprintf(hs_buf_space(b), space, fmt, ap);
        va_end(ap);
        if (n < 0)
            return HS_EINVAL;
        if ((size_t)n < space) {
            b->len += (size_t)n;
            return 0;
        }
    } else {
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return HS_EINVAL;
    }
    int rc = hs_buf_reserve(b, (size_t)n + 1);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(hs_buf_space(b), (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HS_EINVAL;
    b->len += (size_t)n;
    return 0;
}

void hs_buf_free(hs_buf_t *b)
{
    free(b->base);
    *b = HS_BUF_INIT;
}
