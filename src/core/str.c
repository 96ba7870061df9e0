/* Slice helpers shared by every parser. */
#include "core/str.h"

#include "core/err.h"

int hs_str_to_u64(hs_str_t s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return HS_EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.base[i] - '0';
        if (d > 9)
            return HS_EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            return HS_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

hs_str_t hs_str_trim_ows(hs_str_t s)
{
    while (s.len && (s.base[0] == ' ' || s.base[0] == '\t')) {
        s.base++;
        s.len--;
    }
    while (s.len && (s.base[s.len - 1] == ' ' || s.base[s.len - 1] == '\t'))
        s.len--;
    return s;
}
