/* HTTP/1.1 client types (see client.h). */
#ifndef HS_HTTP_CLIENT_T_H
#define HS_HTTP_CLIENT_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/msg-t.h"

typedef struct hs_http_client hs_http_client_t;
typedef struct hs_http_call hs_http_call_t;

/* Client options; every 0 means the default given in brackets. */
typedef struct hs_http_client_opts {
    uint32_t connect_timeout_ms;     /* [5000] TCP connect */
    uint32_t read_timeout_ms;        /* [30000] longest wait for upstream progress */
    uint32_t idle_timeout_ms;        /* [60000] pooled connection lifetime while idle */
    uint32_t max_idle_per_upstream;  /* [16] pooled idle connections kept */
    uint32_t max_conns_per_upstream; /* [unlimited] open connections (idle + busy) */
    uint32_t max_queue_per_upstream; /* [1024] calls waiting for a connection */
    uint32_t max_response_head;      /* [HS_HTTP_DEFAULT_MAX_HEAD] status line + fields */
    uint32_t max_response_headers;   /* [HS_HTTP_DEFAULT_MAX_HEADERS] */
} hs_http_client_opts_t;

/* Where the request body comes from. */
typedef enum hs_http_client_body {
    HS_HTTP_CLIENT_BODY_NONE = 0, /* no body (Content-Length: 0 for POST/PUT/PATCH) */
    HS_HTTP_CLIENT_BODY_BUFFER,   /* body/body_len, borrowed until on_done */
    HS_HTTP_CLIENT_BODY_STREAM,   /* hs_http_call_write + hs_http_call_finish */
} hs_http_client_body_t;

/* One request. Everything is copied by hs_http_client_request except a
 * BUFFER body, which the caller keeps valid until on_done (it may be sent
 * twice when a stale pooled connection forces a retry). */
typedef struct hs_http_client_req {
    hs_http_method_t method;
    hs_str_t method_str;             /* the token when method is HS_HTTP_OTHER */
    hs_str_t target;                 /* origin-form "/path?query" (or any valid request-target) */
    hs_str_t host;                   /* Host field value; empty: the upstream name */
    const hs_http_header_t *headers; /* extra fields; not Host/Content-Length/
                                      * Transfer-Encoding/Expect (framing is ours) */
    unsigned num_headers;
    hs_http_client_body_t body_kind;
    const void *body;      /* BUFFER */
    size_t body_len;       /* BUFFER */
    int64_t stream_length; /* STREAM: >= 0 sent as Content-Length, < 0 chunked */
    bool expect_continue;  /* send "Expect: 100-continue" and hold the body */
    /* Content-Length response bodies are dropped in the kernel instead of
     * copied: on_body gets data == NULL and the count of bytes dropped (a
     * load generator's reads then cost no copy). Chunked and close-delimited
     * bodies are delivered as usual. */
    bool discard_body;
} hs_http_client_req_t;

/* Callbacks of one call; ctx is the caller's. The struct is copied. */
typedef struct hs_http_client_cbs {
    /* The final response head (1xx are skipped). resp and every string in it
     * are valid only during the call. Optional. */
    void (*on_head)(void *ctx, const hs_http_msg_t *resp);
    /* Body bytes, already de-chunked; data is valid only during the call.
     * Optional. */
    void (*on_body)(void *ctx, const char *data, size_t len);
    /* Exactly once per call: 0 = the whole response was received, or a
     * negative HS_E* code. The call handle is invalid once it returns. */
    void (*on_done)(void *ctx, int status);
    /* STREAM bodies, optional: the request body queue fell below its low
     * mark after hs_http_call_write reported it full. */
    void (*on_writable)(void *ctx);
} hs_http_client_cbs_t;

#endif
