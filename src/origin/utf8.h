/*
 * Strict UTF-8 (RFC 3629) for the origin's XML reader and writer and its
 * object-key checks. S3 rejects keys that are not valid UTF-8, so overlong
 * forms, surrogates (U+D800..DFFF) and code points above U+10FFFF are all
 * invalid here: accepting any of them would let two byte strings that a
 * client sees as one name reach the metadata store as different keys.
 */
#ifndef HS_ORIGIN_UTF8_H
#define HS_ORIGIN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the character at p[0..n). Returns its length in bytes (1-4) and
 * sets *cp, or 0 if the bytes are not a complete, valid UTF-8 character. */
static inline size_t hs__utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint32_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0; /* a continuation byte, or a lead that only starts overlongs */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Writes cp (a valid scalar value) as UTF-8 into out[0..4); returns the
 * number of bytes written. */
static inline size_t hs__utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* True if s[0..n) is entirely valid UTF-8. */
static inline bool hs__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = hs__utf8_decode(p + i, n - i, &cp);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

#endif
