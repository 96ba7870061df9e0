/*
 * libFuzzer harness for hs_http_parse_request. Beyond "does not crash" it
 * checks properties that a correct incremental parser must have, and aborts
 * when one fails:
 *  - prefixes: a prefix of the input answers HS_EAGAIN or exactly the verdict
 *    of the whole input (the same length and fields on success, the same
 *    status on error); on success every prefix shorter than the head is
 *    HS_EAGAIN;
 *  - results: every slice points inside the head, names are tokens, values
 *    hold no CTL and no edge whitespace, framing agrees with the header
 *    fields, limits hold;
 *  - acceptance: a request generated from the input to be valid parses, with
 *    the fields it was built from.
 * Each parse gets an exact-size heap copy so ASan sees any read past len.
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
    hs_http_error_t err;
    hs_http_msg_t msg;
    hs_http_header_t hdrs[MAXH];
};

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool in_buf(hs_str_t s, const char *b, size_t n)
{
    return s.len == 0 || (s.base >= b && s.base + s.len <= b + n);
}

/* Parses buf[0..n) from an exact-size copy; slices are rebased onto buf. */
static void parse(const char *buf, size_t n, const hs_http_limits_t *lim, unsigned max_hdrs,
                  struct outcome *o)
{
    char *copy = calloc(1, n ? n : 1);
    CHECK(copy);
    if (n)
        memcpy(copy, buf, n);
    memset(o, 0, sizeof(*o));
    o->r = hs_http_parse_request(copy, n, &o->msg, o->hdrs, max_hdrs, lim, &o->err);
    /* rebase every slice from the copy onto buf so they outlive the copy */
#define REBASE(s)                                                                                  \
    do {                                                                                           \
        if ((s).base >= copy && (s).base <= copy + n)                                              \
            (s).base = buf + ((s).base - copy);                                                    \
    } while (0)
    if (o->r > 0) {
        REBASE(o->msg.method_str);
        REBASE(o->msg.target);
        REBASE(o->msg.path);
        REBASE(o->msg.query);
        REBASE(o->msg.host);
        for (unsigned i = 0; i < o->msg.num_headers; i++) {
            REBASE(o->hdrs[i].name);
            REBASE(o->hdrs[i].value);
        }
        o->msg.headers = o->hdrs;
    }
#undef REBASE
    free(copy);
}

static bool same_str(hs_str_t a, hs_str_t b)
{
    return a.len == b.len && (a.len == 0 || a.base == b.base);
}

static void same_outcome(const struct outcome *a, const struct outcome *b)
{
    CHECK(a->r == b->r);
    if (a->r < 0) {
        if (a->r == HS_EBADMSG)
            CHECK(a->err.status == b->err.status);
        return;
    }
    const hs_http_msg_t *x = &a->msg, *y = &b->msg;
    CHECK(x->method == y->method && same_str(x->method_str, y->method_str));
    CHECK(same_str(x->target, y->target) && same_str(x->query, y->query));
    CHECK(x->path.len == y->path.len);
    CHECK(x->version_minor == y->version_minor && x->num_headers == y->num_headers);
    CHECK(x->framing == y->framing && x->content_length == y->content_length);
    CHECK(same_str(x->host, y->host));
    CHECK(x->keep_alive == y->keep_alive && x->expect_continue == y->expect_continue &&
          x->upgrade == y->upgrade);
    for (unsigned i = 0; i < x->num_headers; i++)
        CHECK(same_str(a->hdrs[i].name, b->hdrs[i].name) &&
              same_str(a->hdrs[i].value, b->hdrs[i].value));
}

/* Properties of one verdict, with no reference to other parses. */
static void check_outcome(const char *buf, size_t n, const hs_http_limits_t *lim,
                          unsigned max_hdrs, const struct outcome *o)
{
    size_t max_head = lim && lim->max_head_bytes ? lim->max_head_bytes : HS_HTTP_DEFAULT_MAX_HEAD;
    unsigned max_count = lim && lim->max_headers ? lim->max_headers : HS_HTTP_DEFAULT_MAX_HEADERS;
    uint64_t max_body = lim && lim->max_body_bytes ? lim->max_body_bytes : HS_HTTP_DEFAULT_MAX_BODY;
    if (max_count > max_hdrs)
        max_count = max_hdrs;

    if (o->r == HS_EAGAIN) {
        CHECK(n < max_head);
        return;
    }
    if (o->r < 0) {
        CHECK(o->r == HS_EBADMSG);
        int s = o->err.status;
        CHECK(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
        CHECK(o->err.reason != NULL);
        if (s == 414)
            CHECK(n >= max_head);
        return;
    }
    const hs_http_msg_t *m = &o->msg;
    size_t r = (size_t)o->r;
    CHECK(r <= n && r <= max_head);
    CHECK(buf[r - 1] == '\n');
    CHECK(m->method_str.len > 0 && in_buf(m->method_str, buf, r));
    for (size_t i = 0; i < m->method_str.len; i++)
        CHECK(is_tchar((unsigned char)m->method_str.base[i]));
    CHECK(m->method == hs_http_method_from(m->method_str.base, m->method_str.len));
    CHECK(m->target.len > 0 && in_buf(m->target, buf, r));
    for (size_t i = 0; i < m->target.len; i++)
        CHECK(m->target.base[i] > 0x20 && m->target.base[i] < 0x7f);
    CHECK(m->path.len == 0 || in_buf(m->path, buf, r) || (m->path.len == 1 && m->path.base[0] == '/'));
    CHECK(in_buf(m->query, buf, r) && in_buf(m->host, buf, r));
    CHECK(m->version_minor == 0 || m->version_minor == 1);
    CHECK(m->num_headers <= max_count);
    CHECK(m->headers == o->hdrs);

    unsigned n_cl = 0, n_te = 0, n_host = 0;
    for (unsigned i = 0; i < m->num_headers; i++) {
        hs_str_t name = o->hdrs[i].name, v = o->hdrs[i].value;
        CHECK(name.len > 0 && in_buf(name, buf, r) && in_buf(v, buf, r));
        for (size_t j = 0; j < name.len; j++)
            CHECK(is_tchar((unsigned char)name.base[j]));
        for (size_t j = 0; j < v.len; j++) {
            unsigned char c = (unsigned char)v.base[j];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        if (v.len)
            CHECK(v.base[0] != ' ' && v.base[0] != '\t' && v.base[v.len - 1] != ' ' &&
                  v.base[v.len - 1] != '\t');
        if (name.len == 14 && strncasecmp(name.base, "content-length", 14) == 0)
            n_cl++;
        if (name.len == 17 && strncasecmp(name.base, "transfer-encoding", 17) == 0)
            n_te++;
        if (name.len == 4 && strncasecmp(name.base, "host", 4) == 0)
            n_host++;
    }
    CHECK(n_host <= 1);
    if (m->version_minor == 1)
        CHECK(n_host == 1);
    /* framing: TE never together with CL, chunked only with TE */
    CHECK(!(n_te && n_cl));
    if (n_te) {
        CHECK(m->framing == HS_HTTP_BODY_CHUNKED && m->version_minor == 1);
    } else {
        CHECK(m->framing == HS_HTTP_BODY_NONE || m->framing == HS_HTTP_BODY_LENGTH);
    }
    if (m->framing == HS_HTTP_BODY_LENGTH)
        CHECK(n_cl && m->content_length > 0 && m->content_length <= max_body);
    if (m->framing == HS_HTTP_BODY_NONE)
        CHECK(m->content_length == 0);
    if (!n_cl)
        CHECK(m->content_length == 0);
    if (m->expect_continue)
        CHECK(m->version_minor == 1);
}

/* Prefixes agree with the whole input. */
static void check_prefixes(const char *buf, size_t n, const hs_http_limits_t *lim,
                           unsigned max_hdrs, const struct outcome *full)
{
    static struct outcome o;
    size_t stride = n <= 256 ? 1 : n / 96;
    size_t seen = 0;
    bool parsed = false;
    for (size_t k = 0; k < n; k += stride) {
        /* a server that parses only when the pre-check says so never
         * misses the first prefix that holds the head */
        bool ready = hs_http_head_maybe_complete(buf, k, seen);
        seen = k;
        parse(buf, k, lim, max_hdrs, &o);
        check_outcome(buf, k, lim, max_hdrs, &o);
        if (o.r > 0 && !parsed) {
            CHECK(ready);
            parsed = true;
        }
        if (full->r > 0) {
            if (k < (size_t)full->r)
                CHECK(o.r == HS_EAGAIN);
            else
                same_outcome(&o, full);
        } else if (o.r != HS_EAGAIN) {
            CHECK(full->r == HS_EBADMSG);
            same_outcome(&o, full);
        }
    }
    if (full->r > 0) {
        /* right at the end of the head, and one byte short of it */
        parse(buf, (size_t)full->r, lim, max_hdrs, &o);
        same_outcome(&o, full);
        parse(buf, (size_t)full->r - 1, lim, max_hdrs, &o);
        CHECK(o.r == HS_EAGAIN);
    }
}

/* Builds a valid request from the input and checks it parses as built. */
static void check_generated(const uint8_t *data, size_t size)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "FOO"};
    static char req[8192];
    struct {
        size_t name_off, name_len, value_off, value_len;
    } want[16];
    size_t n = 0, i = 0, nh = 0;
#define NEXT() (i < size ? data[i++] : 0)
    const char *method = methods[NEXT() % 7];
    n += (size_t)snprintf(req + n, sizeof(req) - n, "%s /", method);
    size_t path_len = NEXT() % 32;
    for (size_t k = 0; k < path_len; k++)
        req[n++] = (char)(0x21 + NEXT() % 94);
    unsigned minor = NEXT() & 1;
    n += (size_t)snprintf(req + n, sizeof(req) - n, " HTTP/1.%u\r\nHost: h.example\r\n", minor);
    size_t count = NEXT() % 16;
    while (nh < count && n < sizeof(req) - 256) {
        want[nh].name_off = n;
        req[n++] = 'x'; /* never collides with a framing field */
        req[n++] = '-';
        size_t len = NEXT() % 24;
        for (size_t k = 0; k < len; k++)
            req[n++] = tchars[NEXT() % (sizeof(tchars) - 1)];
        want[nh].name_len = n - want[nh].name_off;
        req[n++] = ':';
        size_t ows = NEXT() % 3;
        for (size_t k = 0; k < ows; k++)
            req[n++] = k ? '\t' : ' ';
        want[nh].value_off = n;
        len = NEXT() % 40;
        for (size_t k = 0; k < len; k++) {
            uint8_t c = NEXT();
            c = c < 0x20 || c == 0x7f ? (uint8_t)(c | 0x40) : c;
            if (c == 0x7f)
                c = 'z';
            req[n++] = (char)c;
        }
        /* trailing whitespace of the value is OWS: it is not part of it */
        size_t end = n;
        while (end > want[nh].value_off && (req[end - 1] == ' ' || req[end - 1] == '\t'))
            end--;
        /* neither is leading whitespace */
        size_t start = want[nh].value_off;
        while (start < end && (req[start] == ' ' || req[start] == '\t'))
            start++;
        want[nh].value_off = start;
        want[nh].value_len = end - start;
        const char *eol = NEXT() & 1 ? "\n" : "\r\n";
        n += (size_t)snprintf(req + n, sizeof(req) - n, "%s", eol);
        nh++;
    }
    size_t body = NEXT();
    if (body & 1)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "Content-Length: %zu\r\n", body);
    else if (minor == 1 && (body & 2))
        n += (size_t)snprintf(req + n, sizeof(req) - n, "Transfer-Encoding: chunked\r\n");
    n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
#undef NEXT

    static struct outcome o;
    parse(req, n, NULL, MAXH, &o);
    if (o.r != (ssize_t)n) {
        fprintf(stderr, "generated request rejected (%zd, %d %s):\n%.*s\n", o.r, o.err.status,
                o.err.reason ? o.err.reason : "", (int)n, req);
        abort();
    }
    CHECK(o.msg.num_headers == nh + 1 + ((body & 1) || (minor == 1 && (body & 2))));
    CHECK(strlen(method) == o.msg.method_str.len);
    for (size_t k = 0; k < nh; k++) {
        hs_str_t name = o.hdrs[k + 1].name, v = o.hdrs[k + 1].value;
        CHECK(name.base == req + want[k].name_off && name.len == want[k].name_len);
        CHECK(v.len == want[k].value_len);
        CHECK(v.len == 0 || v.base == req + want[k].value_off);
    }
    if (body & 1)
        CHECK(o.msg.content_length == body &&
              o.msg.framing == (body ? HS_HTTP_BODY_LENGTH : HS_HTTP_BODY_NONE));
    else if (minor == 1 && (body & 2))
        CHECK(o.msg.framing == HS_HTTP_BODY_CHUNKED);
    else
        CHECK(o.msg.framing == HS_HTTP_BODY_NONE);
    CHECK(o.msg.keep_alive == (minor == 1));
}

static void check_config(const char *buf, size_t n, const hs_http_limits_t *lim, unsigned max_hdrs)
{
    static struct outcome full;
    parse(buf, n, lim, max_hdrs, &full);
    check_outcome(buf, n, lim, max_hdrs, &full);
    check_prefixes(buf, n, lim, max_hdrs, &full);

    /* pipelined: whatever follows the head is parsed as the next request
     * (after skipping a declared body), as a server would */
    static struct outcome next;
    size_t off = 0;
    const struct outcome *cur = &full;
    for (int i = 0; i < 8 && cur->r > 0; i++) {
        off += (size_t)cur->r;
        if (cur->msg.framing == HS_HTTP_BODY_LENGTH) {
            if (cur->msg.content_length > n - off)
                break;
            off += (size_t)cur->msg.content_length;
        }
        parse(buf + off, n - off, lim, max_hdrs, &next);
        check_outcome(buf + off, n - off, lim, max_hdrs, &next);
        cur = &next;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    static const hs_http_limits_t small = {.max_head_bytes = 96, .max_headers = 4,
                                           .max_body_bytes = 1000};
    check_config(buf, size, NULL, MAXH);
    check_config(buf, size, &small, MAXH);
    check_config(buf, size, NULL, 2);
    check_generated(data, size);
    return 0;
}
