/*
 * libFuzzer harness for hs_http_parse_response, parsed as the answer to a
 * GET, a HEAD and a CONNECT. Properties checked (abort on violation):
 *  - prefixes answer HS_EAGAIN or the whole input's verdict; on success all
 *    prefixes shorter than the head are HS_EAGAIN;
 *  - every rejection is a 502; slices stay inside the head; the status is
 *    100..599; framing follows RFC 9112 6.3 (no body for 1xx/204/304, HEAD
 *    answers and 2xx answers to CONNECT; a body delimited by close is never
 *    keep-alive; CL and TE never both);
 *  - the request method changes framing only, never the verdict or length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "core/err.h"
#include "http/parse.h"

#define MAXH 128

struct outcome {
    ssize_t r;
    int status; /* err.status */
    hs_http_msg_t msg;
    hs_http_header_t hdrs[MAXH];
};

static bool in_buf(hs_str_t s, const char *b, size_t n)
{
    return s.len == 0 || (s.base >= b && s.base + s.len <= b + n);
}

/* Parses from an exact-size copy; slices are checked against the copy
 * before it goes, then only lengths and offsets are kept. */
static void parse(const char *buf, size_t n, hs_http_method_t m, const hs_http_limits_t *lim,
                  struct outcome *o)
{
    char *copy = calloc(1, n ? n : 1);
    CHECK(copy);
    if (n)
        memcpy(copy, buf, n);
    hs_http_error_t err = {0};
    memset(o, 0, sizeof(*o));
    o->r = hs_http_parse_response(copy, n, m, &o->msg, o->hdrs, MAXH, lim, &err);
    o->status = err.status;
    if (o->r > 0) {
        size_t r = (size_t)o->r;
        hs_http_msg_t *msg = &o->msg;
        CHECK(r <= n && copy[r - 1] == '\n');
        CHECK(in_buf(msg->reason, copy, r));
        CHECK(msg->status >= 100 && msg->status <= 599);
        CHECK(msg->version_minor == 0 || msg->version_minor == 1);
        CHECK(copy[0] == '\r' || copy[0] == '\n' || memcmp(copy, "HTTP/1.", 7) == 0);
        for (size_t i = 0; i < msg->reason.len; i++) {
            unsigned char c = (unsigned char)msg->reason.base[i];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        unsigned n_cl = 0, n_te = 0;
        for (unsigned i = 0; i < msg->num_headers; i++) {
            hs_str_t name = o->hdrs[i].name, v = o->hdrs[i].value;
            CHECK(name.len && in_buf(name, copy, r) && in_buf(v, copy, r));
            for (size_t j = 0; j < v.len; j++) {
                unsigned char c = (unsigned char)v.base[j];
                CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
            }
            if (name.len == 14 && strncasecmp(name.base, "content-length", 14) == 0)
                n_cl++;
            if (name.len == 17 && strncasecmp(name.base, "transfer-encoding", 17) == 0)
                n_te++;
            /* offsets, so the outcome can be compared after the copy is gone */
            o->hdrs[i].name.base = (const char *)(uintptr_t)(name.base - copy);
            o->hdrs[i].value.base = (const char *)(uintptr_t)(v.base - copy);
        }
        CHECK(!(n_cl && n_te));
        int s = msg->status;
        bool no_body = s < 200 || s == 204 || s == 304 || m == HS_HTTP_HEAD ||
                       (m == HS_HTTP_CONNECT && s < 300);
        if (no_body)
            CHECK(msg->framing == HS_HTTP_BODY_NONE);
        else if (n_te)
            CHECK(msg->framing == HS_HTTP_BODY_CHUNKED || msg->framing == HS_HTTP_BODY_EOF);
        else if (n_cl)
            CHECK(msg->framing == HS_HTTP_BODY_LENGTH);
        else
            CHECK(msg->framing == HS_HTTP_BODY_EOF);
        if (n_te)
            CHECK(msg->version_minor == 1);
        if (msg->framing == HS_HTTP_BODY_EOF)
            CHECK(!msg->keep_alive);
        msg->reason.base = (const char *)(uintptr_t)(msg->reason.base - copy);
        msg->headers = NULL;
    } else if (o->r == HS_EBADMSG) {
        CHECK(o->status == 502 && err.reason);
    } else {
        size_t max_head = lim && lim->max_head_bytes ? lim->max_head_bytes : HS_HTTP_DEFAULT_MAX_HEAD;
        CHECK(o->r == HS_EAGAIN && n < max_head);
    }
    free(copy);
}

static void same_outcome(const struct outcome *a, const struct outcome *b, bool same_method)
{
    CHECK(a->r == b->r);
    if (a->r == HS_EBADMSG)
        CHECK(a->status == b->status);
    if (a->r <= 0)
        return;
    const hs_http_msg_t *x = &a->msg, *y = &b->msg;
    CHECK(x->status == y->status && x->version_minor == y->version_minor);
    CHECK(x->reason.base == y->reason.base && x->reason.len == y->reason.len);
    CHECK(x->num_headers == y->num_headers && x->content_length == y->content_length);
    CHECK(x->upgrade == y->upgrade);
    if (same_method)
        CHECK(x->framing == y->framing && x->keep_alive == y->keep_alive);
    for (unsigned i = 0; i < x->num_headers; i++)
        CHECK(a->hdrs[i].name.base == b->hdrs[i].name.base &&
              a->hdrs[i].name.len == b->hdrs[i].name.len &&
              a->hdrs[i].value.base == b->hdrs[i].value.base &&
              a->hdrs[i].value.len == b->hdrs[i].value.len);
}

static void check_method(const char *buf, size_t n, hs_http_method_t m,
                         const hs_http_limits_t *lim, struct outcome *full)
{
    static struct outcome o;
    parse(buf, n, m, lim, full);
    size_t stride = n <= 256 ? 1 : n / 96;
    for (size_t k = 0; k < n; k += stride) {
        parse(buf, k, m, lim, &o);
        if (full->r > 0) {
            if (k < (size_t)full->r)
                CHECK(o.r == HS_EAGAIN);
            else
                same_outcome(&o, full, true);
        } else if (o.r != HS_EAGAIN) {
            same_outcome(&o, full, true);
        }
    }
    if (full->r > 0) {
        parse(buf, (size_t)full->r, m, lim, &o);
        same_outcome(&o, full, true);
        parse(buf, (size_t)full->r - 1, m, lim, &o);
        CHECK(o.r == HS_EAGAIN);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome get, head, connect;
    static const hs_http_limits_t small = {.max_head_bytes = 80, .max_headers = 3};
    const char *buf = (const char *)data;
    for (int i = 0; i < 2; i++) {
        const hs_http_limits_t *lim = i ? &small : NULL;
        check_method(buf, size, HS_HTTP_GET, lim, &get);
        check_method(buf, size, HS_HTTP_HEAD, lim, &head);
        check_method(buf, size, HS_HTTP_CONNECT, lim, &connect);
        same_outcome(&get, &head, false);
        same_outcome(&get, &connect, false);
        if (get.r > 0 && head.r > 0)
            CHECK(head.msg.framing == HS_HTTP_BODY_NONE);
    }
    return 0;
}
