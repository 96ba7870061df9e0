/*
 * Character classes shared by the HTTP/1.1 head parser and the chunked
 * decoder (internal to src/http). One 256-byte table answers "is this byte a
 * tchar / field-value byte / ..." with a single load, so the scanning loops
 * of the parsers make no per-byte function calls.
 */
#ifndef HS_HTTP_CHARS_H
#define HS_HTTP_CHARS_H

#include <stdint.h>

enum {
    HS__HC_TCHAR = 1,   /* token (RFC 9110 5.6.2) */
    HS__HC_FVALUE = 2,  /* field-value byte: VCHAR, obs-text, SP, HTAB */
    HS__HC_VCHAR = 4,   /* visible ASCII 0x21-0x7e: request-target bytes */
    HS__HC_REGNAME = 8, /* reg-name byte: unreserved, sub-delims, '%' */
    HS__HC_HEX = 16,    /* HEXDIG */
};

extern const uint8_t hs__http_ctype[256];

#define HS__HC(c, cls) (hs__http_ctype[(unsigned char)(c)] & (cls))

#endif
