/*
 * The SigV4 canonical request of S3, written straight into a SHA-256
 * context so verifying a request copies nothing:
 *
 *   METHOD \n canonical-URI \n canonical-query \n canonical-headers \n
 *   signed-headers \n payload-hash
 *
 * S3 flavour: the URI is the path decoded once and re-encoded per segment
 * (no '.'/'..' or '//' normalisation); query names and values are decoded
 * and re-encoded, then sorted by encoded name and value. A '+' is a
 * literal '+' everywhere (encoded %2B): the SDKs send a space as %20, so
 * a raw '+' can only mean itself.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "origin/sigv4-int.h"

void hs__sigv4_flush(hs__sigv4_sink_t *s)
{
    if (s->md && s->staged && EVP_DigestUpdate(s->md, s->stage, s->staged) != 1)
        s->failed = true;
    s->staged = 0;
}

void hs__sigv4_put(hs__sigv4_sink_t *s, const char *p, size_t n)
{
    if (!n)
        return; /* p may be NULL then (an empty slice) */
    if (s->md) {
        if (n > sizeof(s->stage) - s->staged)
            hs__sigv4_flush(s);
        if (n >= sizeof(s->stage)) {
            if (EVP_DigestUpdate(s->md, p, n) != 1)
                s->failed = true;
        } else {
            memcpy(s->stage + s->staged, p, n);
            s->staged += n;
        }
    }
    if (s->buf) {
        if (n > s->cap - s->len) {
            s->overflow = true;
            n = s->cap - s->len;
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
    }
}

static inline int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

/* Yields the bytes of UriEncode(decode(s)) one at a time, so two values
 * can be compared in encoded order without an encoded copy. */
typedef struct enc_it {
    const unsigned char *p, *end;
    bool keep_slash;
    unsigned char pend[2];
    unsigned npend;
} enc_it_t;

static const char HEXU[] = "0123456789ABCDEF";

static void enc_init(enc_it_t *it, hs_str_t s, bool keep_slash)
{
    /* an empty slice may have no base: arithmetic on NULL is undefined */
    it->p = (const unsigned char *)(s.len ? s.base : "");
    it->end = it->p + s.len;
    it->keep_slash = keep_slash;
    it->npend = 0;
}

static int enc_next(enc_it_t *it)
{
    if (it->npend) {
        int c = it->pend[2 - it->npend];
        it->npend--;
        return c;
    }
    if (it->p == it->end)
        return -1;
    unsigned char c = *it->p++;
    if (c == '%' && it->end - it->p >= 2) {
        int h = hexv(it->p[0]), l = hexv(it->p[1]);
        if (h >= 0 && l >= 0) {
            c = (unsigned char)(h << 4 | l);
            it->p += 2;
        }
    }
    if (unreserved(c) || (c == '/' && it->keep_slash))
        return c;
    it->pend[0] = (unsigned char)HEXU[c >> 4];
    it->pend[1] = (unsigned char)HEXU[c & 15];
    it->npend = 2;
    return '%';
}

void hs__sigv4_encode(hs__sigv4_sink_t *s, hs_str_t in, bool keep_slash)
{
    char tmp[256];
    size_t n = 0;
    enc_it_t it;
    enc_init(&it, in, keep_slash);
    for (int c; (c = enc_next(&it)) >= 0;) {
        tmp[n++] = (char)c;
        if (n == sizeof(tmp)) {
            hs__sigv4_put(s, tmp, n);
            n = 0;
        }
    }
    hs__sigv4_put(s, tmp, n);
}

static int enc_cmp(hs_str_t a, hs_str_t b)
{
    enc_it_t ia, ib;
    enc_init(&ia, a, false);
    enc_init(&ib, b, false);
    for (;;) {
        int ca = enc_next(&ia), cb = enc_next(&ib);
        if (ca != cb)
            return ca < cb ? -1 : 1; /* -1 (end) sorts first */
        if (ca < 0)
            return 0;
    }
}

typedef struct qparam {
    hs_str_t name, value;
} qparam_t;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam_t *x = a, *y = b;
    int c = enc_cmp(x->name, y->name);
    return c ? c : enc_cmp(x->value, y->value);
}

static int canonical_query(const hs__sigv4_creq_t *c, hs__sigv4_sink_t *s)
{
    qparam_t ps[HS__SIGV4_MAX_PARAMS];
    unsigned n = 0;
    const char *p = c->query.len ? c->query.base : "", *end = p + c->query.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) { /* "a=1&&b=2": the empty piece is no parameter */
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            qparam_t q = {{p, (size_t)((eq ? eq : stop) - p)}, {NULL, 0}};
            if (eq)
                q.value = (hs_str_t){eq + 1, (size_t)(stop - eq - 1)};
            if (!(c->skip_signature && enc_cmp(q.name, HS_STR_LIT("X-Amz-Signature")) == 0)) {
                if (n == HS__SIGV4_MAX_PARAMS)
                    return HS_E2BIG;
                ps[n++] = q;
            }
        }
        p = stop + 1;
    }
    qsort(ps, n, sizeof(ps[0]), qparam_cmp);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            hs__sigv4_put(s, "&", 1);
        hs__sigv4_encode(s, ps[i].name, false);
        hs__sigv4_put(s, "=", 1);
        hs__sigv4_encode(s, ps[i].value, false);
    }
    return 0;
}

/* A header value trimmed, with inner runs of whitespace as one space. */
static void put_trimall(hs__sigv4_sink_t *s, hs_str_t v)
{
    const char *p = v.len ? v.base : "", *end = p + v.len;
    bool first = true;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p > w) {
            if (!first)
                hs__sigv4_put(s, " ", 1);
            hs__sigv4_put(s, w, (size_t)(p - w));
            first = false;
        }
    }
}

static void canonical_headers(const hs__sigv4_creq_t *c, hs__sigv4_sink_t *s)
{
    for (unsigned i = 0; i < c->nnames; i++) {
        hs_str_t name = c->names[i];
        hs__sigv4_put(s, name.base, name.len);
        hs__sigv4_put(s, ":", 1);
        bool found = false;
        for (unsigned h = 0; h < c->nhdrs; h++) {
            const hs_http_header_t *hd = &c->hdrs[h];
            if (hd->name.len != name.len || strncasecmp(hd->name.base, name.base, name.len))
                continue;
            if (found)
                hs__sigv4_put(s, ",", 1);
            put_trimall(s, hd->value);
            found = true;
        }
        if (!found && name.len == 4 && !memcmp(name.base, "host", 4))
            put_trimall(s, c->host);
        hs__sigv4_put(s, "\n", 1);
    }
}

int hs__sigv4_canonical(const hs__sigv4_creq_t *c, hs__sigv4_sink_t *s)
{
    hs__sigv4_put(s, c->method.base, c->method.len);
    hs__sigv4_put(s, "\n", 1);
    if (c->path.len)
        hs__sigv4_encode(s, c->path, true);
    else
        hs__sigv4_put(s, "/", 1);
    hs__sigv4_put(s, "\n", 1);
    int rc = canonical_query(c, s);
    if (rc)
        return rc;
    hs__sigv4_put(s, "\n", 1);
    canonical_headers(c, s);
    hs__sigv4_put(s, "\n", 1);
    hs__sigv4_put(s, c->signed_list.base, c->signed_list.len);
    hs__sigv4_put(s, "\n", 1);
    hs__sigv4_put(s, c->payload_hash.base, c->payload_hash.len);
    return 0;
}

int hs__sigv4_canonical_hash(const hs__sigv4_creq_t *c, char out[65])
{
    EVP_MD_CTX *md = hs__sigv4_thread_md();
    if (!md)
        return HS_ENOMEM;
    hs__sigv4_sink_t s = {.md = md};
    uint8_t h[32];
    unsigned hl = 0;
    int rc = HS_ENOMEM;
    if (EVP_DigestInit_ex(md, hs__sigv4_md(), NULL) == 1) {
        rc = hs__sigv4_canonical(c, &s);
        if (!rc)
            hs__sigv4_flush(&s);
        if (!rc && (s.failed || EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32))
            rc = HS_ENOMEM;
    }
    if (!rc)
        hs__sigv4_hex(h, out);
    return rc;
}
