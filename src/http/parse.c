/*
 * HTTP/1.1 message-head parser (RFC 9112 sections 2-6, RFC 9110 fields).
 *
 * One left-to-right pass over the bytes of the head, table-driven character
 * classes, no allocation. The parser keeps no state between calls: a caller
 * that got HS_EAGAIN calls again from the start with more bytes. Every error
 * is decided by the bytes before the offending position (or by the head
 * limit), so a prefix of an input never yields a different verdict than the
 * whole input would; the fuzz harnesses check exactly that.
 *
 * The rules that guard against request smuggling (Content-Length and
 * Transfer-Encoding handling, obs-fold, bare CR, whitespace before the colon)
 * are strict on purpose. A bare LF ends a line of the head (RFC 9112 2.2
 * allows it); a CR not followed by LF is rejected wherever it appears.
 */
#include "http/parse.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/err.h"
#include "core/str.h"
#include "http/chars.h"

/* Generated: bit set per byte, see the HS__HC_* classes in chars.h. */
const uint8_t hs__http_ctype[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  /* 00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 10 */
    2,  15, 6,  7,  15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 6,  /* 20 */
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 6,  14, 6,  14, 6,  6,  /* 30 */
    6,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 40 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6,  6,  6,  7,  15, /* 50 */
    7,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 60 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6,  7,  6,  15, 0,  /* 70 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 80 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 90 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* a0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* b0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* c0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* d0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* e0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* f0 */
};

#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

/*
 * The two long runs of a head (request-target, field values) are checked 16
 * bytes at a time where SSE2 exists (every x86-64); the table loop finishes
 * the tail and serves other targets. Both return the first byte that is not
 * of the class, or end.
 */
static inline const char *scan_vchar(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i lo = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so below 0x21 too */
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, lo), _mm_cmpeq_epi8(v, del));
        int m = _mm_movemask_epi8(bad);
        if (m)
            return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    while (p < end && HS__HC(*p, HS__HC_VCHAR))
        p++;
    return p;
}

static inline const char *scan_field_value(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i ctl = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'),
                  del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const void *)p);
        /* unsigned v <= 0x1f, except HTAB; or DEL */
        __m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v);
        bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), bad);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, del));
        int m = _mm_movemask_epi8(bad);
        if (m)
            return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    while (p < end && HS__HC(*p, HS__HC_FVALUE))
        p++;
    return p;
}

/* What the header fields told us, gathered while scanning them. */
struct fields {
    uint64_t content_length;
    hs_str_t host;
    unsigned host_count;
    unsigned te_chunked; /* how many times "chunked" was listed */
    bool have_cl;
    bool te_seen;
    bool te_last_chunked; /* the last listed coding is chunked */
    bool te_other;        /* a coding other than chunked was listed */
    bool conn_close, conn_keep_alive, conn_upgrade;
    bool expect_continue;
    bool expect_other;
};

/*
 * Case-insensitive compare of a token against a lowercase literal made of
 * letters and '-'. `c | 0x20` lowercases letters; no other tchar maps onto a
 * lowercase letter or '-', so this cannot produce a false match.
 */
static inline bool token_is(const char *s, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)(s[i] | 0x20) != (unsigned char)lit[i])
            return false;
    return true;
}

#define TOKEN_IS(s, len, lit) ((len) == sizeof(lit) - 1 && token_is((s), (lit), sizeof(lit) - 1))

/*
 * uri-host [ ":" port ] (RFC 9110 7.2 / RFC 3986): an IP-literal in brackets
 * or a reg-name (unreserved, sub-delims, pct-encoded), then an optional port
 * of digits. need_port requires a non-empty port (authority-form).
 */
static bool host_valid(const char *s, size_t n, bool need_port)
{
    size_t i = 0;
    if (n && s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!HS__HC(s[i], HS__HC_REGNAME) && s[i] != ':')
                return false;
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n && HS__HC(s[i], HS__HC_REGNAME))
            i++;
    }
    if (i == n)
        return !need_port;
    if (s[i] != ':')
        return false;
    i++;
    if (i == n)
        return !need_port;
    if (n - i > 5)
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/*
 * Content-Length = 1*DIGIT. A comma list of identical values ("5, 5") is the
 * same length sent twice and is accepted (RFC 9110 8.6); anything else is
 * not. Returns false on a malformed or conflicting value.
 */
static bool parse_content_length(hs_str_t v, struct fields *f)
{
    const char *p = v.base, *end = v.base + v.len;
    for (;;) {
        uint64_t n = 0;
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p - '0');
            if (n > (UINT64_MAX - d) / 10)
                return false;
            n = n * 10 + d;
            p++;
        }
        if (p == start)
            return false;
        if (f->have_cl && f->content_length != n)
            return false;
        f->have_cl = true;
        f->content_length = n;
        while (p < end && IS_OWS(*p))
            p++;
        if (p == end)
            return true;
        if (*p != ',')
            return false;
        p++;
        while (p < end && IS_OWS(*p))
            p++;
    }
}

/* Skips a quoted-string starting at *p == '"'; false if malformed. */
static bool skip_quoted(const char **pp, const char *end)
{
    const char *p = *pp + 1;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *pp = p + 1;
            return true;
        }
        if (c == '\\') {
            p++;
            if (p == end)
                return false;
        }
        p++; /* value bytes were already checked to be field-value bytes */
    }
    return false;
}

/*
 * Transfer-Encoding = #transfer-coding, transfer-coding = token
 * *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
 * Records which codings appear; empty list elements are ignored as RFC 9110
 * 5.6.1.2 asks of recipients. Returns false on a syntax error, or on
 * parameters given to "chunked" (it defines none).
 */
static bool parse_transfer_encoding(hs_str_t v, struct fields *f)
{
    const char *p = v.base, *end = v.base + v.len;
    f->te_seen = true;
    while (p < end) {
        if (*p == ',' || IS_OWS(*p)) {
            p++;
            continue;
        }
        const char *t = p;
        while (p < end && HS__HC(*p, HS__HC_TCHAR))
            p++;
        if (p == t)
            return false;
        bool chunked = TOKEN_IS(t, (size_t)(p - t), "chunked");
        if (chunked)
            f->te_chunked++;
        else
            f->te_other = true;
        f->te_last_chunked = chunked;
        for (;;) {
            while (p < end && IS_OWS(*p))
                p++;
            if (p == end || *p == ',')
                break;
            if (*p != ';' || chunked)
                return false;
            p++;
            while (p < end && IS_OWS(*p))
                p++;
            t = p;
            while (p < end && HS__HC(*p, HS__HC_TCHAR))
                p++;
            if (p == t)
                return false;
            while (p < end && IS_OWS(*p))
                p++;
            if (p == end || *p != '=')
                return false;
            p++;
            while (p < end && IS_OWS(*p))
                p++;
            if (p < end && *p == '"') {
                if (!skip_quoted(&p, end))
                    return false;
            } else {
                t = p;
                while (p < end && HS__HC(*p, HS__HC_TCHAR))
                    p++;
                if (p == t)
                    return false;
            }
        }
    }
    return true;
}

/* Connection = #connection-option; we act on close, keep-alive, upgrade and
 * leave the rest (names of hop-by-hop fields) to the proxy. */
static void parse_connection(hs_str_t v, struct fields *f)
{
    const char *p = v.base, *end = v.base + v.len;
    while (p < end) {
        while (p < end && (*p == ',' || IS_OWS(*p)))
            p++;
        const char *t = p;
        while (p < end && *p != ',' && !IS_OWS(*p))
            p++;
        size_t n = (size_t)(p - t);
        if (TOKEN_IS(t, n, "close"))
            f->conn_close = true;
        else if (TOKEN_IS(t, n, "keep-alive"))
            f->conn_keep_alive = true;
        else if (TOKEN_IS(t, n, "upgrade"))
            f->conn_upgrade = true;
    }
}

/* Looks at one header field for the few that decide framing and
 * persistence. Returns 0, or the status to reject the message with and *why. */
static int note_field(const hs_http_header_t *h, struct fields *f, bool is_request,
                      const char **why)
{
    const char *n = h->name.base;
    switch (h->name.len) {
    case 4:
        if (is_request && token_is(n, "host", 4)) {
            if (++f->host_count > 1) {
                *why = "more than one Host header field";
                return 400;
            }
            if (!host_valid(h->value.base, h->value.len, false)) {
                *why = "invalid Host header field";
                return 400;
            }
            f->host = h->value;
        }
        break;
    case 6:
        if (is_request && token_is(n, "expect", 6)) {
            if (HS_STR_IEQ(h->value, "100-continue"))
                f->expect_continue = true;
            else
                f->expect_other = true;
        }
        break;
    case 10:
        if (token_is(n, "connection", 10))
            parse_connection(h->value, f);
        break;
    case 14:
        if (token_is(n, "content-length", 14) && !parse_content_length(h->value, f)) {
            *why = "invalid or conflicting Content-Length";
            return 400;
        }
        break;
    case 17:
        if (token_is(n, "transfer-encoding", 17) && !parse_transfer_encoding(h->value, f)) {
            *why = "invalid Transfer-Encoding";
            return 400;
        }
        break;
    default:
        break;
    }
    return 0;
}

/*
 * request-target forms (RFC 9112 3.2): origin-form "/path?query" for every
 * method but CONNECT; authority-form "host:port" for CONNECT only;
 * asterisk-form "*" for OPTIONS only; absolute-form "scheme://authority/path"
 * for any but CONNECT. Sets path and query; for absolute-form also *authority.
 */
static bool split_target(hs_http_msg_t *msg, hs_str_t *authority)
{
    const char *t = msg->target.base, *end = t + msg->target.len;
    const char *p;
    msg->query = hs_str(end, 0);
    *authority = HS_STR_NULL;
    if (msg->method == HS_HTTP_CONNECT) {
        msg->path = hs_str(end, 0);
        return host_valid(t, msg->target.len, true);
    }
    if (t[0] == '/') {
        p = t;
    } else if (msg->target.len == 1 && t[0] == '*') {
        msg->path = msg->target;
        return msg->method == HS_HTTP_OPTIONS;
    } else {
        /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
        p = t;
        if (!((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
            return false;
        while (p < end && (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
                           (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
            p++;
        if (end - p < 3 || memcmp(p, "://", 3) != 0)
            return false;
        p += 3;
        const char *a = p;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == a || !host_valid(a, (size_t)(p - a), false))
            return false;
        *authority = hs_str(a, (size_t)(p - a));
        if (p == end || *p == '?') {
            /* path-abempty is empty: the path is "/" (RFC 9112 3.2.1) */
            msg->path = HS_STR_LIT("/");
            if (p < end)
                msg->query = hs_str(p + 1, (size_t)(end - p - 1));
            return true;
        }
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q) {
        msg->path = hs_str(p, (size_t)(q - p));
        msg->query = hs_str(q + 1, (size_t)(end - q - 1));
    } else {
        msg->path = hs_str(p, (size_t)(end - p));
    }
    return true;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT. Returns the minor version for
 * 1.0/1.1, -505 for another well-formed version, -400 otherwise. */
static int parse_version(const char *v, size_t n)
{
    if (n == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1'))
        return v[7] - '0';
    if (n >= 6 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
        (n == 6 || (n == 8 && v[6] == '.' && v[7] >= '0' && v[7] <= '9')))
        return -505;
    return -400;
}

enum { IN_EMPTY_LINES, IN_START_LINE, IN_FIELDS };

/*
 * The shared body of both parsers. req_method is the request method when
 * parsing a response. Errors of a response all map to 502.
 */
static ssize_t parse_head(bool is_request, const char *buf, size_t len,
                          hs_http_method_t req_method, hs_http_msg_t *msg,
                          hs_http_header_t *hdrs, unsigned max_hdrs,
                          const hs_http_limits_t *lim, hs_http_error_t *err)
{
    size_t max_head = lim && lim->max_head_bytes ? lim->max_head_bytes : HS_HTTP_DEFAULT_MAX_HEAD;
    unsigned max_fields = lim && lim->max_headers ? lim->max_headers : HS_HTTP_DEFAULT_MAX_HEADERS;
    uint64_t max_body = lim && lim->max_body_bytes ? lim->max_body_bytes : HS_HTTP_DEFAULT_MAX_BODY;
    if (max_fields > max_hdrs)
        max_fields = max_hdrs;

    /* Only the first max_head bytes can belong to an acceptable head. */
    const char *p = buf, *end = buf + (len < max_head ? len : max_head);
    int where = IN_EMPTY_LINES;
    int status;
    const char *why;
    struct fields f = {0};
    hs_str_t authority = HS_STR_NULL;

    memset(msg, 0, sizeof(*msg));
    msg->headers = hdrs;

    /* Leading empty lines (RFC 9112 2.2). */
    for (;;) {
        if (p == end)
            goto incomplete;
        if (*p == '\n') {
            p++;
        } else if (*p == '\r') {
            if (p + 1 == end)
                goto incomplete;
            if (p[1] != '\n')
                goto bare_cr;
            p += 2;
        } else {
            break;
        }
    }
    where = IN_START_LINE;

    const char *eol;         /* end of the start line, before CR/LF */
    hs_str_t version = {0}; /* requests: HTTP-version as sent */
    if (is_request) {
        /* method SP request-target SP HTTP-version */
        const char *m = p;
        while (p < end && HS__HC(*p, HS__HC_TCHAR))
            p++;
        if (p == end)
            goto incomplete;
        if (p == m || *p != ' ') {
            status = 400, why = "invalid method";
            goto fail;
        }
        msg->method_str = hs_str(m, (size_t)(p - m));
        p++;
        const char *t = p;
        p = scan_vchar(p, end);
        if (p == end)
            goto incomplete;
        if (p == t || *p != ' ') {
            status = 400, why = "invalid request-target";
            goto fail;
        }
        msg->target = hs_str(t, (size_t)(p - t));
        p++;
        const char *v = p;
        while (p < end && HS__HC(*p, HS__HC_VCHAR) && p - v < 8)
            p++;
        if (p == end)
            goto incomplete;
        if (*p != '\r' && *p != '\n') {
            /* trailing junk, or a ninth version byte */
            status = 400, why = "invalid HTTP version";
            goto fail;
        }
        eol = p;
        version = hs_str(v, (size_t)(p - v));
    } else {
        /* HTTP-version SP status-code [ SP reason-phrase ] */
        static const char pfx[] = "HTTP/1.";
        for (int i = 0; i < 7; i++, p++) {
            if (p == end)
                goto incomplete;
            if (*p != pfx[i])
                goto bad_status_line;
        }
        if (p == end)
            goto incomplete;
        if (*p != '0' && *p != '1')
            goto bad_status_line;
        msg->version_minor = *p++ - '0';
        if (p == end)
            goto incomplete;
        if (*p++ != ' ')
            goto bad_status_line;
        int code = 0;
        for (int i = 0; i < 3; i++, p++) {
            if (p == end)
                goto incomplete;
            if (*p < '0' || *p > '9')
                goto bad_status_line;
            code = code * 10 + (*p - '0');
        }
        if (code < 100 || code > 599)
            goto bad_status_line;
        msg->status = code;
        if (p == end)
            goto incomplete;
        const char *r = p;
        if (*p == ' ') {
            r = ++p;
            p = scan_field_value(p, end);
            if (p == end)
                goto incomplete;
        }
        if (*p != '\r' && *p != '\n')
            goto bad_status_line;
        eol = p;
        msg->reason = hs_str(r, (size_t)(p - r));
    }
    /* CRLF or a bare LF ends the start line. */
    if (*eol == '\r') {
        if (eol + 1 == end)
            goto incomplete;
        if (eol[1] != '\n')
            goto bare_cr;
        p = eol + 2;
    } else {
        p = eol + 1;
    }
    if (is_request) {
        int minor = parse_version(version.base, version.len);
        if (minor < 0) {
            status = -minor;
            why = minor == -505 ? "HTTP version not supported" : "invalid HTTP version";
            goto fail;
        }
        msg->version_minor = minor;
        msg->method = hs_http_method_from(msg->method_str.base, msg->method_str.len);
        if (!split_target(msg, &authority)) {
            status = 400, why = "invalid request-target form";
            goto fail;
        }
    }
    where = IN_FIELDS;

    /* *( field-line CRLF ) CRLF */
    unsigned nh = 0;
    for (;;) {
        if (p == end)
            goto incomplete;
        if (*p == '\r') {
            if (p + 1 == end)
                goto incomplete;
            if (p[1] != '\n')
                goto bare_cr;
            p += 2;
            break;
        }
        if (*p == '\n') {
            p++;
            break;
        }
        const char *n = p;
        while (p < end && HS__HC(*p, HS__HC_TCHAR))
            p++;
        if (p == end)
            goto incomplete;
        if (*p != ':' || p == n) {
            if (p == n && IS_OWS(*p))
                status = 400, why = "obsolete line folding";
            else if (IS_OWS(*p))
                status = 400, why = "whitespace before colon";
            else
                status = 400, why = "invalid header name";
            goto fail;
        }
        hs_str_t name = hs_str(n, (size_t)(p - n));
        p++;
        while (p < end && IS_OWS(*p))
            p++;
        const char *vs = p;
        p = scan_field_value(p, end);
        if (p == end)
            goto incomplete;
        const char *ve = p;
        if (*p == '\r') {
            if (p + 1 == end)
                goto incomplete;
            if (p[1] != '\n')
                goto bare_cr;
            p += 2;
        } else if (*p == '\n') {
            p++;
        } else {
            status = 400, why = "invalid character in header value";
            goto fail;
        }
        while (ve > vs && IS_OWS(ve[-1]))
            ve--;
        if (nh == max_fields) {
            status = 431, why = "too many header fields";
            goto fail;
        }
        hdrs[nh].name = name;
        hdrs[nh].value = hs_str(vs, (size_t)(ve - vs));
        if ((status = note_field(&hdrs[nh], &f, is_request, &why)) != 0)
            goto fail;
        nh++;
    }
    msg->num_headers = nh;

    /* The head is complete: decide framing and persistence. */
    bool v11 = msg->version_minor == 1;
    bool keep_alive = v11 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
    msg->upgrade = f.conn_upgrade;
    msg->content_length = f.content_length;
    if (is_request) {
        if (v11 && f.host_count == 0) {
            status = 400, why = "missing Host header field";
            goto fail;
        }
        msg->host = authority.base ? authority : f.host;
        if (f.te_seen) {
            /* RFC 9112 6.1 and 6.3: any of these makes the length ambiguous. */
            if (!v11 || f.have_cl || !f.te_last_chunked || f.te_chunked > 1) {
                status = 400, why = "invalid Transfer-Encoding";
                goto fail;
            }
            if (f.te_other) {
                status = 501, why = "unsupported transfer coding";
                goto fail;
            }
            msg->framing = HS_HTTP_BODY_CHUNKED;
        } else if (f.have_cl) {
            if (f.content_length > max_body) {
                status = 413, why = "content too large";
                goto fail;
            }
            msg->framing = f.content_length ? HS_HTTP_BODY_LENGTH : HS_HTTP_BODY_NONE;
        }
        if (f.expect_other) {
            status = 417, why = "unsupported expectation";
            goto fail;
        }
        msg->expect_continue = v11 && f.expect_continue;
    } else {
        int s = msg->status;
        if (f.te_seen && (!v11 || f.have_cl || f.te_chunked > 1))
            goto bad_framing;
        if (s < 200 || s == 204 || s == 304 || req_method == HS_HTTP_HEAD ||
            (req_method == HS_HTTP_CONNECT && s < 300))
            msg->framing = HS_HTTP_BODY_NONE;
        else if (f.te_seen)
            msg->framing = f.te_last_chunked ? HS_HTTP_BODY_CHUNKED : HS_HTTP_BODY_EOF;
        else if (f.have_cl)
            msg->framing = HS_HTTP_BODY_LENGTH;
        else
            msg->framing = HS_HTTP_BODY_EOF;
        if (msg->framing == HS_HTTP_BODY_EOF)
            keep_alive = false;
    }
    msg->keep_alive = keep_alive;
    return p - buf;

incomplete:
    if (len < max_head)
        return HS_EAGAIN;
    if (where == IN_START_LINE && is_request)
        status = 414, why = "request line too long";
    else
        status = 431, why = "header section too large";
    goto fail;
bare_cr:
    status = 400, why = "bare CR";
    goto fail;
bad_status_line:
    status = 502, why = "invalid status line";
    goto fail;
bad_framing:
    status = 502, why = "invalid Transfer-Encoding";
    goto fail;
fail:
    if (!is_request)
        status = 502;
    if (err) {
        err->status = status;
        err->reason = why;
    }
    return HS_EBADMSG;
}

ssize_t hs_http_parse_request(const char *buf, size_t len, hs_http_msg_t *msg,
                              hs_http_header_t *hdrs, unsigned max_hdrs,
                              const hs_http_limits_t *lim, hs_http_error_t *err)
{
    return parse_head(true, buf, len, HS_HTTP_OTHER, msg, hdrs, max_hdrs, lim, err);
}

ssize_t hs_http_parse_response(const char *buf, size_t len, hs_http_method_t req_method,
                               hs_http_msg_t *msg, hs_http_header_t *hdrs,
                               unsigned max_hdrs, const hs_http_limits_t *lim,
                               hs_http_error_t *err)
{
    return parse_head(false, buf, len, req_method, msg, hdrs, max_hdrs, lim, err);
}

bool hs_http_head_maybe_complete(const char *buf, size_t len, size_t seen)
{
    /* The head ends with LF LF or LF CR LF; one that ends at or after
     * `seen` starts at most two bytes before it. */
    size_t i = seen > len ? len : seen;
    i = i > 2 ? i - 2 : 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl)
            return false;
        size_t k = (size_t)(nl - buf);
        if (k + 1 < len && (buf[k + 1] == '\n' || (buf[k + 1] == '\r' && k + 2 < len &&
                                                   buf[k + 2] == '\n')))
            return true;
        i = k + 1;
    }
    return false;
}
