/*
 * Decoder of the chunked transfer coding (RFC 9112 section 7.1).
 *
 * A byte-at-a-time state machine, so input may be cut anywhere: the whole
 * body in one buffer and the same body fed one byte per call give the same
 * data and the same verdict. Chunk data is never copied; each call reports
 * the run of data it consumed as a pointer into the caller's input.
 *
 * Strict where smuggling lives: chunk framing lines end in CRLF exactly (a
 * bare LF or CR is an error, unlike in the head where RFC 9112 2.2 lets us
 * accept a bare LF), chunk data must be followed by CRLF, chunk-size is
 * 1*HEXDIG with nothing else, and every line is bounded.
 */
#include "http/parse.h"

#include "core/err.h"
#include "http/chars.h"

#define CHUNK_LINE_MAX 4096         /* chunk-size line, without CRLF */
#define CHUNK_TRAILER_MAX (16 << 10) /* trailer section, all bytes */
#define CHUNK_SIZE_LIMIT_SHIFT 62    /* chunk-size must stay below 2^62 */

enum {
    CH_SIZE_START = 0, /* first HEXDIG of chunk-size */
    CH_SIZE,           /* more HEXDIG, or what follows chunk-size */
    CH_EXT_BWS,        /* BWS before ";" */
    CH_EXT_NAME_START, /* after ";": BWS, then chunk-ext-name */
    CH_EXT_NAME,
    CH_EXT_AFTER_NAME, /* BWS after the name: "=" or ";" */
    CH_EXT_VAL_START,  /* after "=": BWS, then token or quoted-string */
    CH_EXT_VAL_TOKEN,
    CH_EXT_VAL_QUOTED,
    CH_EXT_VAL_QPAIR,
    CH_EXT_AFTER_QUOTED,
    CH_SIZE_LF, /* CR seen at the end of the size line */
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line or the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE,
    CH_ERR_BADMSG,
    CH_ERR_2BIG,
};

static inline unsigned hexval(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

ssize_t hs_http_chunked_decode(hs_http_chunked_t *d, const char *in, size_t len,
                               const char **data, size_t *data_len)
{
    const char *p = in, *end = in + len;
    int st = d->state;

    *data = NULL;
    *data_len = 0;
    if (st == CH_ERR_BADMSG)
        return HS_EBADMSG;
    if (st == CH_ERR_2BIG)
        return HS_E2BIG;

    while (p < end && st != CH_DONE) {
        if (st == CH_DATA) {
            size_t n = (size_t)(end - p);
            if (n > d->remaining)
                n = (size_t)d->remaining;
            *data = p;
            *data_len = n;
            p += n;
            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0)
                st = CH_DATA_CR;
            break; /* one data run per call */
        }

        unsigned char c = (unsigned char)*p++;
        if (st < CH_SIZE_LF && c != '\r' && ++d->line_bytes > CHUNK_LINE_MAX)
            goto bad;
        if (st >= CH_TRAILER_START && ++d->trailer_bytes > CHUNK_TRAILER_MAX)
            goto bad;

        switch (st) {
        case CH_SIZE_START:
            if (!HS__HC(c, HS__HC_HEX))
                goto bad;
            d->remaining = hexval(c);
            st = CH_SIZE;
            break;
        case CH_SIZE:
            if (HS__HC(c, HS__HC_HEX)) {
                if (d->remaining >> (CHUNK_SIZE_LIMIT_SHIFT - 4))
                    goto bad;
                d->remaining = d->remaining << 4 | hexval(c);
            } else if (c == '\r') {
                st = CH_SIZE_LF;
            } else if (c == ';') {
                st = CH_EXT_NAME_START;
            } else if (c == ' ' || c == '\t') {
                st = CH_EXT_BWS;
            } else {
                goto bad;
            }
            break;
        case CH_EXT_BWS:
            if (c == ';')
                st = CH_EXT_NAME_START;
            else if (c != ' ' && c != '\t')
                goto bad;
            break;
        case CH_EXT_NAME_START:
            if (HS__HC(c, HS__HC_TCHAR))
                st = CH_EXT_NAME;
            else if (c != ' ' && c != '\t')
                goto bad;
            break;
        case CH_EXT_NAME:
            if (HS__HC(c, HS__HC_TCHAR))
                break;
            if (c == '\r')
                st = CH_SIZE_LF;
            else if (c == ';')
                st = CH_EXT_NAME_START;
            else if (c == '=')
                st = CH_EXT_VAL_START;
            else if (c == ' ' || c == '\t')
                st = CH_EXT_AFTER_NAME;
            else
                goto bad;
            break;
        case CH_EXT_AFTER_NAME:
            if (c == '=')
                st = CH_EXT_VAL_START;
            else if (c == ';')
                st = CH_EXT_NAME_START;
            else if (c != ' ' && c != '\t')
                goto bad;
            break;
        case CH_EXT_VAL_START:
            if (c == '"')
                st = CH_EXT_VAL_QUOTED;
            else if (HS__HC(c, HS__HC_TCHAR))
                st = CH_EXT_VAL_TOKEN;
            else if (c != ' ' && c != '\t')
                goto bad;
            break;
        case CH_EXT_VAL_TOKEN:
            if (HS__HC(c, HS__HC_TCHAR))
                break;
            __attribute__((fallthrough)); /* what may follow a value */
        case CH_EXT_AFTER_QUOTED:
            if (c == '\r')
                st = CH_SIZE_LF;
            else if (c == ';')
                st = CH_EXT_NAME_START;
            else if (c == ' ' || c == '\t')
                st = CH_EXT_BWS;
            else
                goto bad;
            break;
        case CH_EXT_VAL_QUOTED:
            if (c == '"')
                st = CH_EXT_AFTER_QUOTED;
            else if (c == '\\')
                st = CH_EXT_VAL_QPAIR;
            else if (!HS__HC(c, HS__HC_FVALUE))
                goto bad;
            break;
        case CH_EXT_VAL_QPAIR:
            if (!HS__HC(c, HS__HC_FVALUE))
                goto bad;
            st = CH_EXT_VAL_QUOTED;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                goto bad;
            d->line_bytes = 0;
            if (d->remaining == 0) {
                d->trailer_bytes = 0;
                st = CH_TRAILER_START;
                break;
            }
            if (d->max_total && d->remaining > d->max_total - d->total) {
                d->state = CH_ERR_2BIG;
                return HS_E2BIG;
            }
            st = CH_DATA;
            break;
        case CH_DATA_CR:
            if (c != '\r')
                goto bad;
            st = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                goto bad;
            st = CH_SIZE_START;
            break;
        case CH_TRAILER_START:
            if (c == '\r')
                st = CH_END_LF;
            else if (HS__HC(c, HS__HC_TCHAR))
                st = CH_TRAILER_NAME;
            else
                goto bad; /* obs-fold, bare LF, junk */
            break;
        case CH_TRAILER_NAME:
            if (c == ':')
                st = CH_TRAILER_VALUE;
            else if (!HS__HC(c, HS__HC_TCHAR))
                goto bad;
            break;
        case CH_TRAILER_VALUE:
            if (c == '\r')
                st = CH_TRAILER_LF;
            else if (!HS__HC(c, HS__HC_FVALUE))
                goto bad;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                goto bad;
            st = CH_TRAILER_START;
            break;
        case CH_END_LF:
            if (c != '\n')
                goto bad;
            st = CH_DONE;
            d->done = true;
            break;
        default:
            goto bad; /* a corrupted state is bad input, not a crash */
        }
    }
    d->state = st;
    return p - in;

bad:
    d->state = CH_ERR_BADMSG;
    return HS_EBADMSG;
}
