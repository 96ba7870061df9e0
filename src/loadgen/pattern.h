/*
 * Object URLs: a --url-pattern such as "/bench/obj-{n:6}" with the object
 * number put in at every "{n}" (decimal) or "{n:W}" (zero-padded to W
 * digits). Parsed once; formatting is a few memcpys per request.
 */
#ifndef HS_LOADGEN_PATTERN_H
#define HS_LOADGEN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define HS_LG_PATTERN_MAX 1024 /* pattern bytes */
#define HS_LG_PATTERN_PIECES 8 /* "{n}" occurrences + 1 */

typedef struct hs_lg_pattern {
    char text[HS_LG_PATTERN_MAX + 1];
    unsigned n;                         /* literal pieces; n - 1 numbers between them */
    unsigned off[HS_LG_PATTERN_PIECES]; /* piece i is text[off[i] .. off[i] + len[i]) */
    unsigned len[HS_LG_PATTERN_PIECES];
    unsigned width[HS_LG_PATTERN_PIECES]; /* zero-pad width of the number after piece i */
} hs_lg_pattern_t;

/* Parses pattern (origin-form: starts with '/', visible ASCII only).
 * Returns 0, or HS_EINVAL with a message in err. */
int hs_lg_pattern_parse(hs_lg_pattern_t *p, const char *pattern, char *err, size_t errlen);

/* Writes the URL of object n with a NUL into out. Returns its length, or
 * HS_E2BIG when cap is too small. */
int hs_lg_pattern_format(const hs_lg_pattern_t *p, uint64_t n, char *out, size_t cap);

#endif
