/* A borrowed byte slice: points into a buffer someone else owns. */
#ifndef HS_CORE_STR_T_H
#define HS_CORE_STR_T_H

#include <stddef.h>

typedef struct hs_str {
    const char *base;
    size_t len;
} hs_str_t;

#define HS_STR_LIT(s) ((hs_str_t){(s), sizeof(s) - 1})
#define HS_STR_NULL ((hs_str_t){NULL, 0})

#endif
