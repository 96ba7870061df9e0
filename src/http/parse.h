/*
 * HTTP/1.1 message-head parser and chunked-body decoder (RFC 9110/9112).
 * Pure functions over a buffer: no allocation, no I/O, no global state,
 * safe to call again from the start when more bytes arrive. Strict where
 * request smuggling lives; every rejection names the status to send.
 */
#ifndef HS_HTTP_PARSE_H
#define HS_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http/msg-t.h"

#define HS_HTTP_DEFAULT_MAX_HEAD 16384
#define HS_HTTP_DEFAULT_MAX_HEADERS 100
/* Declared Content-Length accepted when limits say 0: the largest object a
 * single S3 PUT may carry (5 GiB). */
#define HS_HTTP_DEFAULT_MAX_BODY (5ull << 30)

/*
 * Parses one request head (request line + header fields + empty line) from
 * buf[0..len). hdrs/max_hdrs is the caller's header array; msg->headers is
 * set to it. Leading empty lines (CRLF) before the request line are skipped
 * as RFC 9112 2.2 allows.
 * Returns the number of bytes the head took (> 0), HS_EAGAIN when the head
 * is incomplete and still within limits, or HS_EBADMSG with *err set.
 * err->status is 400 for malformed input (and every smuggling pattern:
 * CL with TE, differing CLs, TE not ending in chunked, obs-fold, bare CR,
 * whitespace before a colon, CTLs), 413 for a Content-Length past
 * max_body_bytes, 414 for a request line past max_head_bytes, 417 for an
 * expectation other than 100-continue, 431 for a head past max_head_bytes or
 * more fields than max_headers / max_hdrs, 501 for a transfer coding other
 * than chunked, 505 for a well-formed version other than HTTP/1.0 and 1.1.
 * A prefix of an input never gets a different verdict than the whole input
 * (it gets HS_EAGAIN or the same answer), so errors come as early as the
 * bytes allow. msg->host is the Host field, or the authority of an
 * absolute-form target (RFC 9112 3.2.2).
 */
ssize_t hs_http_parse_request(const char *buf, size_t len, hs_http_msg_t *msg,
                              hs_http_header_t *hdrs, unsigned max_hdrs,
                              const hs_http_limits_t *lim, hs_http_error_t *err);

/*
 * Cheap pre-check for a server that reads a head in pieces: false when
 * buf[0..len) surely does not yet hold the empty line that ends a head,
 * looking only at the bytes from `seen` on (the len of the previous check;
 * 0 the first time). Calling the parser only when this says true, or when
 * len reaches the head limit, keeps a client that sends one byte at a time
 * from costing a full re-parse per byte (quadratic work). Parsing the first
 * read of a connection regardless still rejects garbage (TLS on a plain
 * port) at once.
 */
bool hs_http_head_maybe_complete(const char *buf, size_t len, size_t seen);

/*
 * Parses one response head. req_method is the method of the request this
 * answers (HEAD and CONNECT change framing). Returns like
 * hs_http_parse_request; err->status is 502 for a malformed upstream answer.
 */
ssize_t hs_http_parse_response(const char *buf, size_t len, hs_http_method_t req_method,
                               hs_http_msg_t *msg, hs_http_header_t *hdrs,
                               unsigned max_hdrs, const hs_http_limits_t *lim,
                               hs_http_error_t *err);

/* Finds a header by case-insensitive name; returns its index or -1. */
int hs_http_find_header(const hs_http_msg_t *msg, const char *name, size_t name_len, int from);

/* Chunked transfer-coding decoder state; zero it (or hs_http_chunked_init)
 * before the first call. */
typedef struct hs_http_chunked {
    int state;
    uint64_t remaining;    /* bytes left in the current chunk */
    uint32_t line_bytes;   /* bytes seen on the current size/trailer line */
    uint32_t trailer_bytes;
    uint64_t total;        /* decoded bytes so far */
    uint64_t max_total;    /* 0: unlimited; past it: HS_E2BIG */
    bool done;             /* last-chunk and trailer section consumed */
} hs_http_chunked_t;

static inline void hs_http_chunked_init(hs_http_chunked_t *d, uint64_t max_total)
{
    *d = (hs_http_chunked_t){.max_total = max_total};
}

/*
 * Decodes from in[0..len). Returns the number of input bytes consumed (>= 0)
 * or HS_EBADMSG (bad chunk size, missing CRLF, bare CR, oversize line) or
 * HS_E2BIG (past max_total). When the consumed bytes contain chunk data, the
 * first such run is reported in *data and *data_len (pointing into `in`) and the
 * call stops right after it, so callers loop until consumed == 0 or
 * d->done. *data_len is 0 when the call consumed only framing.
 */
ssize_t hs_http_chunked_decode(hs_http_chunked_t *d, const char *in, size_t len,
                               const char **data, size_t *data_len);

/* Method token to enum (HS_HTTP_OTHER for unknown). */
hs_http_method_t hs_http_method_from(const char *s, size_t len);

/* Standard reason phrase for a status code ("OK", "Not Found"...). */
const char *hs_http_reason(int status);

#endif
