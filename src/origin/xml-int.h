/*
 * Character classes of XML 1.0 (fifth edition) shared by the reader
 * (xml.c) and the writer (xmlw.c), so both agree on what a name and a
 * character are: whatever the writer emits, the reader accepts.
 */
#ifndef HS_ORIGIN_XML_INT_H
#define HS_ORIGIN_XML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin/utf8.h"

/* Char (XML 1.0 section 2.2): everything but most C0 controls, surrogates
 * and U+FFFE/U+FFFF. */
static inline bool hs__xml_is_char(uint32_t c)
{
    if (c < 0x20)
        return c == 0x9 || c == 0xA || c == 0xD;
    return c <= 0xD7FF || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static inline bool hs__xml_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* NameStartChar without ':' (Namespaces in XML: NCName). */
static inline bool hs__xml_name_start(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

/* NameChar without ':'. */
static inline bool hs__xml_name_char(uint32_t c)
{
    if (hs__xml_name_start(c))
        return true;
    if (c < 0x80)
        return (c >= '0' && c <= '9') || c == '-' || c == '.';
    return c == 0xB7 || (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/*
 * Length of the QName (NCName, or NCName ':' NCName) at the start of
 * s[0..n), 0 if there is none. A second ':' or a ':' not followed by a
 * name start ends the name there, and the caller then sees the ':' as a
 * character that may not follow a name. *local is set to the offset of
 * the local part (0 without a prefix).
 */
static inline size_t hs__xml_qname_len(const char *s, size_t n, size_t *local)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    bool colon = false;
    *local = 0;
    for (;;) {
        uint32_t c;
        size_t l = hs__utf8_decode(p + i, n - i, &c);
        if (l == 0 || !hs__xml_name_start(c))
            return 0;
        i += l;
        while (i < n) {
            if (p[i] < 0x80) { /* the hot path: S3 names are ASCII */
                c = p[i];
                l = 1;
            } else if ((l = hs__utf8_decode(p + i, n - i, &c)) == 0) {
                break;
            }
            if (!hs__xml_name_char(c))
                break;
            i += l;
        }
        if (colon || i + 1 >= n || p[i] != ':')
            return i;
        size_t l2 = hs__utf8_decode(p + i + 1, n - i - 1, &c);
        if (l2 == 0 || !hs__xml_name_start(c))
            return i; /* "a:" followed by no name: the ':' is left over */
        colon = true;
        *local = ++i;
    }
}

#endif
