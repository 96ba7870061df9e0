/*
 * The one HTTP message model. HTTP/1.1 fills it from the wire today; HTTP/2
 * and HTTP/3 will fill the same struct, so cache, proxy and balancer code is
 * written once against it. Every hs_str_t points into the connection's input
 * buffer (or the request arena): a message never owns its bytes.
 */
#ifndef HS_HTTP_MSG_T_H
#define HS_HTTP_MSG_T_H

#include <stdint.h>

#include "core/str-t.h"

typedef enum hs_http_method {
    HS_HTTP_OTHER = 0, /* a valid token we do not know: 501 for origin roles */
    HS_HTTP_GET,
    HS_HTTP_HEAD,
    HS_HTTP_POST,
    HS_HTTP_PUT,
    HS_HTTP_DELETE,
    HS_HTTP_OPTIONS,
    HS_HTTP_PATCH,
    HS_HTTP_CONNECT,
    HS_HTTP_TRACE,
} hs_http_method_t;

/* How the message body is delimited (RFC 9112 section 6.3). */
typedef enum hs_http_framing {
    HS_HTTP_BODY_NONE = 0, /* no body (requests without CL/TE, 1xx/204/304, HEAD answers) */
    HS_HTTP_BODY_LENGTH,   /* Content-Length bytes follow */
    HS_HTTP_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
    HS_HTTP_BODY_EOF,      /* responses only: body runs until the connection closes */
} hs_http_framing_t;

typedef struct hs_http_header {
    hs_str_t name;
    hs_str_t value; /* leading/trailing OWS removed */
} hs_http_header_t;

typedef struct hs_http_msg {
    /* request line (requests) */
    hs_http_method_t method;
    hs_str_t method_str;
    hs_str_t target; /* request-target as sent */
    hs_str_t path;   /* origin-form: target up to '?'; absolute-form: the path part */
    hs_str_t query;  /* after '?', without it; empty if none */
    /* status line (responses) */
    int status;
    hs_str_t reason;

    int version_minor; /* HTTP/1.<minor>: 0 or 1 */

    hs_http_header_t *headers; /* caller-provided array */
    unsigned num_headers;

    /* Derived by the parser so nobody re-reads the headers for framing. */
    hs_http_framing_t framing;
    uint64_t content_length; /* valid when framing == HS_HTTP_BODY_LENGTH */
    hs_str_t host;           /* Host header value (requests); empty if absent */
    unsigned keep_alive : 1; /* persistence per RFC 9112 9.3 (version + Connection) */
    unsigned expect_continue : 1; /* request carried "Expect: 100-continue" */
    unsigned upgrade : 1;         /* Connection: upgrade present */
} hs_http_msg_t;

/* Why a message was rejected: the status to answer with, and a short reason
 * that goes into the response body and the log. */
typedef struct hs_http_error {
    int status;         /* 400, 408, 413, 414, 431, 501, 505... */
    const char *reason; /* static string */
} hs_http_error_t;

/* Bounds applied while parsing; 0 means the compiled-in default. */
typedef struct hs_http_limits {
    uint32_t max_head_bytes;  /* request/status line + headers (431 / 414 past it) */
    uint32_t max_headers;     /* header count (431 past it) */
    uint64_t max_body_bytes;  /* declared Content-Length past it: 413 */
} hs_http_limits_t;

#endif
