/*
 * The edge's HTTP caching rules as pure functions (see policy.h). The
 * parsers here read untrusted bytes from origins and clients: every loop
 * is bounded by the slice, nothing is written outside the caller's
 * buffers, and malformed input is skipped, never trusted.
 */
#include "edge/policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"
#include "http/chars.h"
#include "http/parse.h"
#include "http/range.h"

#define MAX_VARY_FIELDS 16
#define MAX_LIST_MEMBERS 32

/* ---- Cache-Control (RFC 9111 5.2) ---- */

void hs_cc_init(hs_cc_t *cc)
{
    *cc = (hs_cc_t){
        .max_age = -1, .s_maxage = -1, .max_stale = -1, .min_fresh = -1, .swr = -1, .sie = -1};
}

enum dir {
    D_UNKNOWN,
    D_MAX_AGE,
    D_S_MAXAGE,
    D_MAX_STALE,
    D_MIN_FRESH,
    D_SWR,
    D_SIE,
    D_NO_CACHE,
    D_PRIVATE,
    D_NO_STORE,
    D_PUBLIC,
    D_MUST_REVALIDATE,
    D_PROXY_REVALIDATE,
    D_IMMUTABLE,
    D_ONLY_IF_CACHED,
    D_NO_TRANSFORM,
    D_MUST_UNDERSTAND,
};

static const struct {
    const char *name;
    enum dir d;
} dirs[] = {
    {"max-age", D_MAX_AGE},
    {"s-maxage", D_S_MAXAGE},
    {"max-stale", D_MAX_STALE},
    {"min-fresh", D_MIN_FRESH},
    {"stale-while-revalidate", D_SWR},
    {"stale-if-error", D_SIE},
    {"no-cache", D_NO_CACHE},
    {"private", D_PRIVATE},
    {"no-store", D_NO_STORE},
    {"public", D_PUBLIC},
    {"must-revalidate", D_MUST_REVALIDATE},
    {"proxy-revalidate", D_PROXY_REVALIDATE},
    {"immutable", D_IMMUTABLE},
    {"only-if-cached", D_ONLY_IF_CACHED},
    {"no-transform", D_NO_TRANSFORM},
    {"must-understand", D_MUST_UNDERSTAND},
};

static enum dir dir_lookup(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strlen(dirs[i].name) == n && strncasecmp(dirs[i].name, s, n) == 0)
            return dirs[i].d;
    return D_UNKNOWN;
}

/* delta-seconds: 1*DIGIT, clamped to 2^31. Returns -1 if not digits. */
static int64_t delta_seconds(const char *s, size_t n)
{
    if (n == 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v < HS_CC_DELTA_MAX)
            v = v * 10 + (s[i] - '0');
    }
    return v > HS_CC_DELTA_MAX ? HS_CC_DELTA_MAX : v;
}

/* Keeps the more restrictive of two values: smaller for limits on reuse. */
static void keep_min(int64_t *slot, int64_t v)
{
    if (*slot < 0 || v < *slot)
        *slot = v;
}

static void keep_max(int64_t *slot, int64_t v)
{
    if (v > *slot)
        *slot = v;
}

/* Applies one directive. arg is NULL when the directive had no argument.
 * Returns false when the argument was invalid for it. */
static bool apply(hs_cc_t *cc, enum dir d, const char *arg, size_t arglen, bool quoted)
{
    int64_t v = arg ? delta_seconds(arg, arglen) : -1;
    switch (d) {
    case D_MAX_AGE:
    case D_S_MAXAGE:
        /* Invalid freshness information: treat as stale (4.2.1). */
        keep_min(d == D_MAX_AGE ? &cc->max_age : &cc->s_maxage, v < 0 ? 0 : v);
        return v >= 0;
    case D_MAX_STALE:
        if (!arg) {
            cc->flags |= HS_CC_MAX_STALE_ANY;
            return true;
        }
        if (v < 0)
            return false;
        keep_min(&cc->max_stale, v);
        return true;
    case D_MIN_FRESH:
        if (v < 0)
            return false;
        keep_max(&cc->min_fresh, v);
        return true;
    case D_SWR:
    case D_SIE:
        if (v < 0)
            return false;
        keep_min(d == D_SWR ? &cc->swr : &cc->sie, v);
        return true;
    case D_NO_CACHE:
        cc->flags |= HS_CC_NO_CACHE;
        if (arg && quoted)
            cc->no_cache_fields = (hs_str_t){arg, arglen};
        return true;
    case D_PRIVATE:
        if (arg && quoted && arglen)
            cc->private_fields = (hs_str_t){arg, arglen};
        else
            cc->flags |= HS_CC_PRIVATE;
        return true;
    case D_NO_STORE: cc->flags |= HS_CC_NO_STORE; return true;
    case D_PUBLIC: cc->flags |= HS_CC_PUBLIC; return true;
    case D_MUST_REVALIDATE: cc->flags |= HS_CC_MUST_REVALIDATE; return true;
    case D_PROXY_REVALIDATE: cc->flags |= HS_CC_PROXY_REVALIDATE; return true;
    case D_IMMUTABLE: cc->flags |= HS_CC_IMMUTABLE; return true;
    case D_ONLY_IF_CACHED: cc->flags |= HS_CC_ONLY_IF_CACHED; return true;
    case D_NO_TRANSFORM: cc->flags |= HS_CC_NO_TRANSFORM; return true;
    case D_MUST_UNDERSTAND: cc->flags |= HS_CC_MUST_UNDERSTAND; return true;
    case D_UNKNOWN:
    default:
        return true; /* extensions we do not know are ignored (5.2.3) */
    }
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int hs_cc_parse(hs_str_t value, hs_cc_t *cc)
{
    const char *p = value.base, *end = value.base + value.len;
    bool bad = false;
    while (p < end) {
        while (p < end && (is_ows(*p) || *p == ','))
            p++;
        if (p == end)
            break;
        const char *name = p;
        while (p < end && HS__HC(*p, HS__HC_TCHAR))
            p++;
        size_t nlen = (size_t)(p - name);
        const char *arg = NULL;
        size_t arglen = 0;
        bool quoted = false, ok = nlen > 0;
        while (p < end && is_ows(*p))
            p++;
        if (ok && p < end && *p == '=') {
            p++;
            while (p < end && is_ows(*p))
                p++;
            if (p < end && *p == '"') {
                /* quoted-string; escapes are kept in the slice, which only
                 * field-name lists (no escapes in valid ones) look into. */
                arg = ++p;
                while (p < end && *p != '"') {
                    if (*p == '\\' && p + 1 < end)
                        p++;
                    p++;
                }
                if (p == end) {
                    ok = false;
                } else {
                    arglen = (size_t)(p - arg);
                    quoted = true;
                    p++;
                }
            } else {
                arg = p;
                while (p < end && HS__HC(*p, HS__HC_TCHAR))
                    p++;
                arglen = (size_t)(p - arg);
                ok = arglen > 0;
            }
            while (p < end && is_ows(*p))
                p++;
        }
        if (p < end && *p != ',')
            ok = false;
        if (ok) {
            enum dir d = dir_lookup(name, nlen);
            if (!apply(cc, d, arg, arglen, quoted))
                bad = true;
        } else {
            bad = true;
            /* Skip the rest of this member, minding quotes. */
            bool inq = false;
            while (p < end && (inq || *p != ',')) {
                if (*p == '"')
                    inq = !inq;
                else if (*p == '\\' && inq && p + 1 < end)
                    p++;
                p++;
            }
        }
    }
    if (bad)
        cc->flags |= HS_CC_MALFORMED;
    return bad ? HS_EBADMSG : 0;
}

bool hs_cc_lists_field(hs_str_t list, hs_str_t name)
{
    size_t i = 0;
    while (i < list.len) {
        while (i < list.len && (list.base[i] == ',' || is_ows(list.base[i])))
            i++;
        size_t s = i;
        while (i < list.len && list.base[i] != ',' && !is_ows(list.base[i]))
            i++;
        if (i > s && i - s == name.len && strncasecmp(list.base + s, name.base, name.len) == 0)
            return true;
    }
    return false;
}

/* ---- targeted fields: RFC 8941 Dictionary ---- */

enum sf_type { SF_NONE, SF_INT, SF_DEC, SF_STR, SF_TOKEN, SF_BYTES, SF_BOOL, SF_DATE, SF_LIST };

typedef struct sf_item {
    enum sf_type type;
    int64_t i;       /* SF_INT, SF_DATE, SF_BOOL */
    hs_str_t s;      /* SF_STR (without quotes, escapes kept) / SF_TOKEN */
} sf_item_t;

typedef struct sf {
    const char *p, *end;
} sf_t;

static bool lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool sf_key(sf_t *s, hs_str_t *key)
{
    if (s->p == s->end || !(lcalpha(*s->p) || *s->p == '*'))
        return false;
    const char *k = s->p++;
    while (s->p < s->end && (lcalpha(*s->p) || digit(*s->p) || *s->p == '_' || *s->p == '-' ||
                             *s->p == '.' || *s->p == '*'))
        s->p++;
    *key = (hs_str_t){k, (size_t)(s->p - k)};
    return true;
}

static bool sf_number(sf_t *s, sf_item_t *it)
{
    bool neg = false;
    if (*s->p == '-') {
        neg = true;
        s->p++;
    }
    int idigits = 0, fdigits = 0;
    bool dec = false;
    int64_t v = 0;
    if (s->p == s->end || !digit(*s->p))
        return false;
    while (s->p < s->end) {
        char c = *s->p;
        if (digit(c)) {
            if (dec) {
                if (++fdigits > 3)
                    return false;
            } else {
                if (++idigits > 15)
                    return false;
                v = v * 10 + (c - '0');
            }
        } else if (c == '.' && !dec) {
            if (idigits > 12)
                return false;
            dec = true;
        } else {
            break;
        }
        s->p++;
    }
    if (dec && fdigits == 0)
        return false;
    it->type = dec ? SF_DEC : SF_INT;
    it->i = neg ? -v : v;
    return true;
}

static bool sf_bare_item(sf_t *s, sf_item_t *it)
{
    if (s->p == s->end)
        return false;
    char c = *s->p;
    if (c == '-' || digit(c))
        return sf_number(s, it);
    if (c == '"') {
        const char *b = ++s->p;
        while (s->p < s->end) {
            c = *s->p;
            if (c == '\\') {
                if (s->p + 1 == s->end || (s->p[1] != '"' && s->p[1] != '\\'))
                    return false;
                s->p += 2;
                continue;
            }
            if (c == '"') {
                it->type = SF_STR;
                it->s = (hs_str_t){b, (size_t)(s->p - b)};
                s->p++;
                return true;
            }
            if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
                return false;
            s->p++;
        }
        return false;
    }
    if (c == '*' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        const char *b = s->p++;
        while (s->p < s->end && (HS__HC(*s->p, HS__HC_TCHAR) || *s->p == ':' || *s->p == '/'))
            s->p++;
        it->type = SF_TOKEN;
        it->s = (hs_str_t){b, (size_t)(s->p - b)};
        return true;
    }
    if (c == ':') {
        s->p++;
        while (s->p < s->end && *s->p != ':') {
            c = *s->p;
            if (!(digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
                  c == '/' || c == '='))
                return false;
            s->p++;
        }
        if (s->p == s->end)
            return false;
        s->p++;
        it->type = SF_BYTES;
        return true;
    }
    if (c == '?') {
        s->p++;
        if (s->p == s->end || (*s->p != '0' && *s->p != '1'))
            return false;
        it->type = SF_BOOL;
        it->i = *s->p == '1';
        s->p++;
        return true;
    }
    if (c == '@') { /* Date (RFC 9651) */
        s->p++;
        if (s->p == s->end || !sf_number(s, it) || it->type != SF_INT)
            return false;
        it->type = SF_DATE;
        return true;
    }
    return false;
}

static bool sf_params(sf_t *s)
{
    while (s->p < s->end && *s->p == ';') {
        s->p++;
        while (s->p < s->end && *s->p == ' ')
            s->p++;
        hs_str_t k;
        if (!sf_key(s, &k))
            return false;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            sf_item_t it;
            if (!sf_bare_item(s, &it))
                return false;
        }
    }
    return true;
}

static bool sf_item_or_list(sf_t *s, sf_item_t *it)
{
    if (s->p < s->end && *s->p == '(') {
        s->p++;
        for (;;) {
            while (s->p < s->end && *s->p == ' ')
                s->p++;
            if (s->p == s->end)
                return false;
            if (*s->p == ')') {
                s->p++;
                break;
            }
            sf_item_t inner;
            if (!sf_bare_item(s, &inner) || !sf_params(s))
                return false;
            if (s->p < s->end && *s->p != ' ' && *s->p != ')')
                return false;
        }
        it->type = SF_LIST;
        return sf_params(s);
    }
    return sf_bare_item(s, it) && sf_params(s);
}

/* Applies one dictionary member to cc; wrong value types are ignored. */
static void sf_apply(hs_cc_t *cc, hs_str_t key, const sf_item_t *it)
{
    enum dir d = dir_lookup(key.base, key.len);
    switch (d) {
    case D_MAX_AGE:
    case D_S_MAXAGE:
    case D_MAX_STALE:
    case D_MIN_FRESH:
    case D_SWR:
    case D_SIE: {
        if (it->type != SF_INT || it->i < 0) {
            if (d == D_MAX_STALE && it->type == SF_BOOL && it->i)
                cc->flags |= HS_CC_MAX_STALE_ANY;
            return;
        }
        int64_t v = it->i > HS_CC_DELTA_MAX ? HS_CC_DELTA_MAX : it->i;
        int64_t *slot = d == D_MAX_AGE     ? &cc->max_age
                        : d == D_S_MAXAGE  ? &cc->s_maxage
                        : d == D_MAX_STALE ? &cc->max_stale
                        : d == D_MIN_FRESH ? &cc->min_fresh
                        : d == D_SWR       ? &cc->swr
                                           : &cc->sie;
        *slot = v; /* last one wins in a Dictionary */
        return;
    }
    case D_NO_CACHE:
    case D_PRIVATE:
        if (it->type == SF_STR && it->s.len) {
            if (d == D_NO_CACHE) {
                cc->flags |= HS_CC_NO_CACHE;
                cc->no_cache_fields = it->s;
            } else {
                cc->private_fields = it->s;
            }
        } else if (it->type == SF_BOOL && it->i) {
            cc->flags |= d == D_NO_CACHE ? HS_CC_NO_CACHE : HS_CC_PRIVATE;
        }
        return;
    case D_UNKNOWN:
        return;
    default:
        if (it->type == SF_BOOL && it->i)
            apply(cc, d, NULL, 0, false);
        return;
    }
}

int hs_cc_parse_targeted(hs_str_t value, hs_cc_t *cc)
{
    /* Two passes: validate the whole dictionary first, so a field that
     * fails to parse changes nothing (RFC 9213 2.1). */
    for (int pass = 0; pass < 2; pass++) {
        sf_t s = {value.base, value.base + value.len};
        while (s.p < s.end && *s.p == ' ')
            s.p++;
        if (s.p == s.end)
            return HS_EBADMSG; /* empty: ignored */
        for (;;) {
            hs_str_t key;
            if (!sf_key(&s, &key))
                return HS_EBADMSG;
            sf_item_t it = {.type = SF_BOOL, .i = 1};
            if (s.p < s.end && *s.p == '=') {
                s.p++;
                if (!sf_item_or_list(&s, &it))
                    return HS_EBADMSG;
            } else if (!sf_params(&s)) {
                return HS_EBADMSG;
            }
            if (pass == 1)
                sf_apply(cc, key, &it);
            while (s.p < s.end && is_ows(*s.p))
                s.p++;
            if (s.p == s.end)
                break;
            if (*s.p != ',')
                return HS_EBADMSG;
            s.p++;
            while (s.p < s.end && is_ows(*s.p))
                s.p++;
            if (s.p == s.end)
                return HS_EBADMSG; /* trailing comma */
        }
    }
    return 0;
}

/* ---- messages ---- */

#define FIND(msg, lit, from) hs_http_find_header((msg), (lit), sizeof(lit) - 1, (from))

void hs_edge_request_cc(const hs_http_msg_t *req, hs_cc_t *cc)
{
    hs_cc_init(cc);
    bool any = false;
    for (int i = FIND(req, "cache-control", 0); i >= 0; i = FIND(req, "cache-control", i + 1)) {
        hs_cc_parse(req->headers[i].value, cc);
        any = true;
    }
    if (!any) {
        for (int i = FIND(req, "pragma", 0); i >= 0; i = FIND(req, "pragma", i + 1))
            if (hs_cc_lists_field(req->headers[i].value, HS_STR_LIT("no-cache")))
                cc->flags |= HS_CC_NO_CACHE;
    }
}

void hs_edge_resp_info(const hs_http_msg_t *resp, const hs_str_t *targets, unsigned ntargets,
                       hs_edge_resp_info_t *out)
{
    memset(out, 0, sizeof(*out));
    out->status = resp->status;
    out->age = -1;
    hs_cc_init(&out->cc);
    /* Targeted fields first: the first valid, non-empty one wins. */
    for (unsigned t = 0; t < ntargets && !out->targeted; t++) {
        hs_cc_t cc;
        hs_cc_init(&cc);
        bool found = false, ok = true;
        for (int i = hs_http_find_header(resp, targets[t].base, targets[t].len, 0); i >= 0;
             i = hs_http_find_header(resp, targets[t].base, targets[t].len, i + 1)) {
            found = true;
            if (hs_cc_parse_targeted(resp->headers[i].value, &cc) != 0)
                ok = false;
        }
        if (found && ok) {
            out->cc = cc;
            out->targeted = true;
            out->has_cc = true;
        }
    }
    for (unsigned i = 0; i < resp->num_headers; i++) {
        const hs_http_header_t *h = &resp->headers[i];
        if (!out->targeted && HS_STR_IEQ(h->name, "cache-control")) {
            hs_cc_parse(h->value, &out->cc);
            out->has_cc = true;
        } else if (!out->targeted && HS_STR_IEQ(h->name, "expires")) {
            if (!out->has_expires) {
                out->has_expires = true;
                out->expires_valid = hs_http_parse_date(h->value, &out->expires) == 0;
            } else {
                out->expires_valid = false; /* more than one: treat as stale */
            }
        } else if (HS_STR_IEQ(h->name, "date")) {
            if (!out->has_date)
                out->has_date = hs_http_parse_date(h->value, &out->date) == 0;
        } else if (HS_STR_IEQ(h->name, "last-modified")) {
            if (!out->has_last_modified)
                out->has_last_modified = hs_http_parse_date(h->value, &out->last_modified) == 0;
        } else if (HS_STR_IEQ(h->name, "etag")) {
            out->has_etag = h->value.len > 0;
        } else if (HS_STR_IEQ(h->name, "age")) {
            uint64_t v;
            if (out->age < 0 && hs_str_to_u64(h->value, &v) == 0)
                out->age = v > HS_CC_DELTA_MAX ? HS_CC_DELTA_MAX : (int64_t)v;
        } else if (HS_STR_IEQ(h->name, "vary")) {
            hs_str_t v = h->value;
            for (size_t k = 0; k < v.len; k++)
                if (v.base[k] == '*')
                    out->vary_star = true;
        } else if (HS_STR_IEQ(h->name, "set-cookie")) {
            out->set_cookie = true;
        }
    }
}

bool hs_edge_status_heuristic(int status)
{
    switch (status) {
    case 200: case 203: case 204: case 206: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
        return true;
    default:
        return false;
    }
}

/* Final statuses this cache understands well enough to store with explicit
 * freshness: the heuristic ones plus redirects and common errors. 206
 * (we store only full representations) and 304 are excluded. */
static bool status_understood(int status)
{
    if (status == 206)
        return false;
    if (hs_edge_status_heuristic(status))
        return true;
    switch (status) {
    case 302: case 303: case 307: case 400: case 403: case 500: case 502: case 503: case 504:
        return true;
    default:
        return false;
    }
}

hs_edge_store_t hs_edge_storable(hs_http_method_t method, const hs_cc_t *req_cc, bool req_auth,
                                 const hs_edge_resp_info_t *ri)
{
    const hs_cc_t *cc = &ri->cc;
    if (method != HS_HTTP_GET)
        return HS_EDGE_NOSTORE_METHOD;
    if (ri->status < 200 || ri->status == 304 || ri->status == 206)
        return HS_EDGE_NOSTORE_STATUS;
    if ((cc->flags & HS_CC_MUST_UNDERSTAND) && !status_understood(ri->status))
        return HS_EDGE_NOSTORE_MUST_UNDERSTAND;
    if ((cc->flags & HS_CC_NO_STORE) && !(cc->flags & HS_CC_MUST_UNDERSTAND &&
                                          status_understood(ri->status)))
        return HS_EDGE_NOSTORE_NO_STORE;
    if (req_cc && (req_cc->flags & HS_CC_NO_STORE))
        return HS_EDGE_NOSTORE_NO_STORE;
    if (cc->flags & HS_CC_PRIVATE)
        return HS_EDGE_NOSTORE_PRIVATE;
    if (req_auth && !(cc->flags & (HS_CC_MUST_REVALIDATE | HS_CC_PUBLIC)) && cc->s_maxage < 0)
        return HS_EDGE_NOSTORE_AUTH;
    if (ri->vary_star)
        return HS_EDGE_NOSTORE_VARY_STAR;
    if (ri->set_cookie)
        return HS_EDGE_NOSTORE_SET_COOKIE;
    bool explicit_ok = (cc->flags & HS_CC_PUBLIC) || cc->max_age >= 0 || cc->s_maxage >= 0 ||
                       (ri->has_expires && !ri->targeted);
    if (explicit_ok) {
        if (!status_understood(ri->status))
            return HS_EDGE_NOSTORE_STATUS;
        return HS_EDGE_STORE;
    }
    if (hs_edge_status_heuristic(ri->status))
        return HS_EDGE_STORE;
    return HS_EDGE_NOSTORE_NO_FRESHNESS;
}

const char *hs_edge_store_name(hs_edge_store_t v)
{
    switch (v) {
    case HS_EDGE_STORE: return "store";
    case HS_EDGE_NOSTORE_METHOD: return "method";
    case HS_EDGE_NOSTORE_STATUS: return "status";
    case HS_EDGE_NOSTORE_NO_STORE: return "no_store";
    case HS_EDGE_NOSTORE_PRIVATE: return "private";
    case HS_EDGE_NOSTORE_AUTH: return "authorization";
    case HS_EDGE_NOSTORE_NO_FRESHNESS: return "no_freshness";
    case HS_EDGE_NOSTORE_VARY_STAR: return "vary_star";
    case HS_EDGE_NOSTORE_SET_COOKIE: return "set_cookie";
    case HS_EDGE_NOSTORE_MUST_UNDERSTAND: return "must_understand";
    }
    return "?";
}

/* ---- freshness and age (RFC 9111 4.2) ---- */

int64_t hs_edge_freshness_lifetime(const hs_edge_resp_info_t *ri, int64_t response_time,
                                   int64_t heuristic_max, bool *heuristic)
{
    const hs_cc_t *cc = &ri->cc;
    if (heuristic)
        *heuristic = false;
    if (cc->s_maxage >= 0)
        return cc->s_maxage;
    if (cc->max_age >= 0)
        return cc->max_age;
    if (ri->has_expires && !ri->targeted) {
        if (!ri->expires_valid)
            return 0;
        int64_t date = ri->has_date ? (int64_t)ri->date : response_time;
        int64_t d = (int64_t)ri->expires - date;
        return d > 0 ? d : 0;
    }
    if (hs_edge_status_heuristic(ri->status) && ri->has_last_modified) {
        int64_t date = ri->has_date ? (int64_t)ri->date : response_time;
        int64_t since = date - (int64_t)ri->last_modified;
        if (since <= 0)
            return 0;
        int64_t h = since / 10;
        if (h > heuristic_max)
            h = heuristic_max;
        if (heuristic)
            *heuristic = true;
        return h;
    }
    return 0;
}

int64_t hs_edge_initial_age(const hs_edge_resp_info_t *ri, int64_t request_time,
                            int64_t response_time)
{
    int64_t apparent = ri->has_date ? response_time - (int64_t)ri->date : 0;
    if (apparent < 0)
        apparent = 0;
    int64_t delay = response_time - request_time;
    if (delay < 0)
        delay = 0;
    int64_t corrected = (ri->age > 0 ? ri->age : 0) + delay;
    int64_t initial = apparent > corrected ? apparent : corrected;
    return initial > HS_CC_DELTA_MAX ? HS_CC_DELTA_MAX : initial;
}

void hs_edge_meta_init(hs_edge_meta_t *m, const hs_edge_resp_info_t *ri, int64_t request_time,
                       int64_t response_time, int64_t heuristic_max)
{
    const hs_cc_t *cc = &ri->cc;
    bool heur = false;
    memset(m, 0, sizeof(*m));
    m->response_time = response_time;
    m->initial_age = hs_edge_initial_age(ri, request_time, response_time);
    m->lifetime = hs_edge_freshness_lifetime(ri, response_time, heuristic_max, &heur);
    m->swr = cc->swr;
    m->sie = cc->sie;
    if (cc->flags & HS_CC_NO_CACHE)
        m->flags |= HS_EDGE_M_NO_CACHE; /* qualified forms too: revalidate (safe) */
    /* s-maxage carries proxy-revalidate's meaning for shared caches (5.2.2.10). */
    if ((cc->flags & (HS_CC_MUST_REVALIDATE | HS_CC_PROXY_REVALIDATE)) || cc->s_maxage >= 0)
        m->flags |= HS_EDGE_M_MUST_REVALIDATE;
    if (cc->flags & HS_CC_IMMUTABLE)
        m->flags |= HS_EDGE_M_IMMUTABLE;
    if ((cc->flags & (HS_CC_MUST_REVALIDATE | HS_CC_PUBLIC)) || cc->s_maxage >= 0)
        m->flags |= HS_EDGE_M_AUTH_OK;
    if (heur)
        m->flags |= HS_EDGE_M_HEURISTIC;
}

int64_t hs_edge_age(const hs_edge_meta_t *m, int64_t now)
{
    int64_t resident = now - m->response_time;
    if (resident < 0)
        resident = 0;
    int64_t age = m->initial_age + resident;
    return age > HS_CC_DELTA_MAX ? HS_CC_DELTA_MAX : age;
}

hs_edge_use_t hs_edge_reuse(const hs_edge_meta_t *m, const hs_cc_t *req_cc, int64_t now,
                            bool *background)
{
    *background = false;
    int64_t age = hs_edge_age(m, now);
    bool fresh = age < m->lifetime;
    if (m->flags & HS_EDGE_M_NO_CACHE)
        return HS_EDGE_USE_VALIDATE;
    bool immutable_fresh = fresh && (m->flags & HS_EDGE_M_IMMUTABLE);
    if (req_cc && !immutable_fresh) {
        if (req_cc->flags & HS_CC_NO_CACHE)
            return HS_EDGE_USE_VALIDATE;
        if (req_cc->max_age >= 0 && age > req_cc->max_age)
            return HS_EDGE_USE_VALIDATE;
    }
    if (fresh) {
        if (req_cc && req_cc->min_fresh >= 0 && !immutable_fresh &&
            m->lifetime - age < req_cc->min_fresh)
            return HS_EDGE_USE_VALIDATE;
        return HS_EDGE_USE_FRESH;
    }
    if (m->flags & HS_EDGE_M_MUST_REVALIDATE)
        return HS_EDGE_USE_VALIDATE;
    int64_t staleness = age - m->lifetime;
    if (req_cc && ((req_cc->flags & HS_CC_MAX_STALE_ANY) ||
                   (req_cc->max_stale >= 0 && staleness <= req_cc->max_stale)))
        return HS_EDGE_USE_STALE;
    if (m->swr >= 0 && staleness <= m->swr) {
        *background = true;
        return HS_EDGE_USE_STALE;
    }
    return HS_EDGE_USE_VALIDATE;
}

bool hs_edge_stale_if_error(const hs_edge_meta_t *m, const hs_cc_t *req_cc, int64_t now)
{
    if (m->flags & HS_EDGE_M_MUST_REVALIDATE)
        return false;
    int64_t staleness = hs_edge_age(m, now) - m->lifetime;
    if (staleness < 0)
        staleness = 0; /* no-cache responses: fresh but unvalidated */
    if (req_cc && req_cc->sie >= 0)
        return staleness <= req_cc->sie;
    return m->sie >= 0 && staleness <= m->sie;
}

/* ---- Vary (RFC 9111 4.1) ---- */

typedef struct span {
    const char *p;
    size_t n;
} span_t;

static int span_cmp(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = strncasecmp(x->p, y->p, n);
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

int hs_edge_vary_list(const hs_http_msg_t *resp, char *out, size_t cap)
{
    span_t names[MAX_VARY_FIELDS];
    size_t nn = 0;
    for (int i = FIND(resp, "vary", 0); i >= 0; i = FIND(resp, "vary", i + 1)) {
        hs_str_t v = resp->headers[i].value;
        size_t k = 0;
        while (k < v.len) {
            while (k < v.len && (v.base[k] == ',' || is_ows(v.base[k])))
                k++;
            size_t s = k;
            while (k < v.len && v.base[k] != ',' && !is_ows(v.base[k]))
                k++;
            if (k == s)
                continue;
            if (k - s == 1 && v.base[s] == '*')
                return HS_EINVAL;
            if (nn == MAX_VARY_FIELDS)
                return HS_E2BIG;
            names[nn++] = (span_t){v.base + s, k - s};
        }
    }
    qsort(names, nn, sizeof(names[0]), span_cmp);
    size_t len = 0;
    for (size_t i = 0; i < nn; i++) {
        if (i > 0 && span_cmp(&names[i - 1], &names[i]) == 0)
            continue;
        /* room for the comma, the name and the terminating NUL */
        if (len + (len ? 1 : 0) + names[i].n + 1 > cap)
            return HS_E2BIG;
        if (len)
            out[len++] = ',';
        for (size_t k = 0; k < names[i].n; k++) {
            char c = names[i].p[k];
            out[len++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
    }
    if (cap)
        out[len] = '\0';
    return (int)len;
}

/* Fields whose list members are compared case-insensitively and in any
 * order: Accept-Encoding "gzip, br" and "BR,gzip" ask for the same thing. */
static bool fold_field(hs_str_t name)
{
    return HS_STR_IEQ(name, "accept-encoding") || HS_STR_IEQ(name, "accept-language") ||
           HS_STR_IEQ(name, "accept-charset") || HS_STR_IEQ(name, "accept");
}

/* Appends member m (trimmed) normalized: whitespace runs become one space,
 * none around ';' and '='. */
static int put_member(char *out, size_t cap, size_t *len, span_t m, bool fold)
{
    bool space = false;
    for (size_t k = 0; k < m.n; k++) {
        char c = m.p[k];
        if (is_ows(c)) {
            space = true;
            continue;
        }
        if (space && c != ';' && c != '=' && *len > 0 && out[*len - 1] != ';' &&
            out[*len - 1] != '=') {
            if (*len + 1 > cap)
                return HS_E2BIG;
            out[(*len)++] = ' ';
        }
        space = false;
        if (*len + 1 > cap)
            return HS_E2BIG;
        out[(*len)++] = (fold && c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    return 0;
}

int hs_edge_vary_key(hs_str_t vary_list, const hs_http_msg_t *req, char *out, size_t cap)
{
    size_t len = 0;
    size_t k = 0;
    while (k < vary_list.len) {
        size_t s = k;
        while (k < vary_list.len && vary_list.base[k] != ',')
            k++;
        hs_str_t name = {vary_list.base + s, k - s};
        k++; /* the comma */
        if (name.len == 0)
            continue;
        if (len + name.len + 2 > cap)
            return HS_E2BIG;
        memcpy(out + len, name.base, name.len);
        len += name.len;
        out[len++] = ':';
        bool fold = fold_field(name);
        span_t mem[MAX_LIST_MEMBERS];
        size_t nm = 0;
        bool present = false;
        for (int i = hs_http_find_header(req, name.base, name.len, 0); i >= 0;
             i = hs_http_find_header(req, name.base, name.len, i + 1)) {
            present = true;
            hs_str_t v = req->headers[i].value;
            if (v.len == 0)
                continue; /* an empty value has no members (and may have no base) */
            size_t j = 0;
            while (j <= v.len) {
                size_t b = j;
                bool inq = false;
                while (j < v.len && (inq || v.base[j] != ',')) {
                    if (v.base[j] == '"')
                        inq = !inq;
                    j++;
                }
                span_t m = {v.base + b, j - b};
                while (m.n && is_ows(m.p[0])) {
                    m.p++;
                    m.n--;
                }
                while (m.n && is_ows(m.p[m.n - 1]))
                    m.n--;
                if (m.n) {
                    if (nm == MAX_LIST_MEMBERS)
                        return HS_E2BIG;
                    mem[nm++] = m;
                }
                j++;
            }
        }
        if (!present) {
            if (len + 2 > cap)
                return HS_E2BIG;
            out[len++] = '\x01'; /* absent differs from empty */
            out[len++] = '\n';
            continue;
        }
        if (fold)
            qsort(mem, nm, sizeof(mem[0]), span_cmp);
        for (size_t i = 0; i < nm; i++) {
            if (i) {
                if (len + 1 > cap)
                    return HS_E2BIG;
                out[len++] = ',';
            }
            int rc = put_member(out, cap, &len, mem[i], fold);
            if (rc < 0)
                return rc;
        }
        if (len + 1 > cap)
            return HS_E2BIG;
        out[len++] = '\n';
    }
    return (int)len;
}
