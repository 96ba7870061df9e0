/* Helpers over hs_str_t slices; all are pure and allocation-free. */
#ifndef HS_CORE_STR_H
#define HS_CORE_STR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/str-t.h"

static inline hs_str_t hs_str(const char *s, size_t len)
{
    return (hs_str_t){s, len};
}

static inline bool hs_str_eq(hs_str_t a, const char *lit, size_t litlen)
{
    return a.len == litlen && memcmp(a.base, lit, litlen) == 0;
}

static inline bool hs_str_ieq(hs_str_t a, const char *lit, size_t litlen)
{
    return a.len == litlen && strncasecmp(a.base, lit, litlen) == 0;
}

#define HS_STR_EQ(s, lit) hs_str_eq((s), (lit), sizeof(lit) - 1)
#define HS_STR_IEQ(s, lit) hs_str_ieq((s), (lit), sizeof(lit) - 1)

/* Parses an unsigned decimal with no sign, no spaces, no leading '+'.
 * Returns 0 and sets *out, or HS_EINVAL / HS_ERANGE. */
int hs_str_to_u64(hs_str_t s, uint64_t *out);

/* Trims optional whitespace (SP / HTAB) at both ends. */
hs_str_t hs_str_trim_ows(hs_str_t s);

#endif
