/* Byte buffer type for connection I/O; functions in core/buf.h. */
#ifndef HS_CORE_BUF_T_H
#define HS_CORE_BUF_T_H

#include <stddef.h>

/* Unread data is base[off .. off+len); writable space is
 * base[off+len .. cap). A zeroed struct is an empty buffer. */
typedef struct hs_buf {
    char *base;
    size_t off, len, cap;
} hs_buf_t;

#define HS_BUF_INIT ((hs_buf_t){NULL, 0, 0, 0})

#endif
