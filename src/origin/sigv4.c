/*
 * SigV4 request verification (Authorization header and presigned query)
 * and the client-side signer. Parsing is strict where a loose reading
 * could let two parties disagree on what was signed (duplicate or unknown
 * components, upper-case signed names, unsigned x-amz-* headers) and
 * every rejection carries the S3 error code a client expects.
 */
#include "origin/sigv4.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "http/parse.h"
#include "origin/sigv4-int.h"

#define ALGO "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MAX_REGION 64

/* ---- errors ---- */

static int fail(hs_sigv4_auth_t *a, int status, const char *code, const char *msg)
{
    a->err = (hs_sigv4_error_t){status, code, msg};
    if (status == 403)
        return HS_EACCES;
    return status >= 500 ? HS_ENOMEM : HS_EINVAL;
}

/* A message that names request values, kept in auth->err_buf. */
__attribute__((format(printf, 4, 5))) static int failf(hs_sigv4_auth_t *a, int status,
                                                       const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err_buf, sizeof(a->err_buf), fmt, ap);
    va_end(ap);
    return fail(a, status, code, a->err_buf);
}

#define MALFORMED(a, m) fail((a), 400, "AuthorizationHeaderMalformed", (m))
#define QUERY_ERR(a, m) fail((a), 400, "AuthorizationQueryParametersError", (m))

/* ---- small parsers ---- */

static inline int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool is_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int num(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil), so no libc time zone state is involved. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool civil_ok(int y, int mo, int d, int h, int mi, int s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] && h <= 23 &&
           mi <= 59 && s <= 60;
}

/* "YYYYMMDDTHHMMSSZ" to seconds since the epoch. */
static bool parse_amz_date(hs_str_t v, int64_t *t)
{
    const char *p = v.base;
    if (v.len != 16 || p[8] != 'T' || p[15] != 'Z' || !is_digits(p, 8) || !is_digits(p + 9, 6))
        return false;
    int y = num(p, 4), mo = num(p + 4, 2), d = num(p + 6, 2);
    int h = num(p + 9, 2), mi = num(p + 11, 2), s = num(p + 13, 2);
    if (!civil_ok(y, mo, d, h, mi, s))
        return false;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

/* IMF-fixdate ("Fri, 24 May 2013 00:00:00 GMT") to the amz form. */
static bool http_date_to_amz(hs_str_t v, char out[17])
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = v.base;
    if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
        p[16] != ' ' || p[19] != ':' || p[22] != ':' || p[25] != ' ' || memcmp(p + 26, "GMT", 3))
        return false;
    int mo = 0;
    for (int i = 0; i < 12; i++)
        if (!memcmp(p + 8, months + 3 * i, 3))
            mo = i + 1;
    if (!mo || !is_digits(p + 5, 2) || !is_digits(p + 12, 4) || !is_digits(p + 17, 2) ||
        !is_digits(p + 20, 2) || !is_digits(p + 23, 2))
        return false;
    memcpy(out, p + 12, 4);
    out[4] = (char)('0' + mo / 10);
    out[5] = (char)('0' + mo % 10);
    memcpy(out + 6, p + 5, 2);
    out[8] = 'T';
    memcpy(out + 9, p + 17, 2);
    memcpy(out + 11, p + 20, 2);
    memcpy(out + 13, p + 23, 2);
    out[15] = 'Z';
    out[16] = 0;
    return true;
}

static hs_str_t header(const hs_http_msg_t *msg, const char *name, int *count)
{
    int i = hs_http_find_header(msg, name, strlen(name), 0);
    if (count)
        *count = 0;
    if (i < 0)
        return HS_STR_NULL;
    if (count)
        for (int j = i; j >= 0; j = hs_http_find_header(msg, name, strlen(name), j + 1))
            (*count)++;
    return msg->headers[i].value;
}

/* Percent-decodes s into out[0..cap). Returns the length or -1 when it
 * does not fit or an escape is malformed. */
static ssize_t pct_decode(hs_str_t s, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.base[i];
        if (c == '%') {
            int h = i + 2 < s.len ? hexv((unsigned char)s.base[i + 1]) : -1;
            int l = h >= 0 ? hexv((unsigned char)s.base[i + 2]) : -1;
            if (l < 0)
                return -1;
            c = (unsigned char)(h << 4 | l);
            i += 2;
        }
        if (n == cap)
            return -1;
        out[n++] = (char)c;
    }
    return (ssize_t)n;
}

/* The raw value of query parameter `name` (first one), or NULL base. */
static hs_str_t query_param(hs_str_t q, const char *name)
{
    size_t nl = strlen(name);
    const char *p = q.len ? q.base : "", *end = p + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= nl && !memcmp(p, name, nl) &&
            ((size_t)(stop - p) == nl || p[nl] == '='))
            return (size_t)(stop - p) == nl ? (hs_str_t){p + nl, 0}
                                            : (hs_str_t){p + nl + 1, (size_t)(stop - p - nl - 1)};
        p = stop + 1;
    }
    return HS_STR_NULL;
}

/* ---- the parts both forms share ---- */

typedef struct parsed {
    hs_str_t access_key, date8, region, scope;
    hs_str_t names[HS__SIGV4_MAX_SIGNED];
    unsigned nnames;
    hs_str_t signed_list;
    uint8_t sig[32];
    char amz_date[17];
    int64_t t;
} parsed_t;

/* "AK/YYYYMMDD/region/s3/aws4_request". Returns NULL or what is wrong. */
static const char *parse_credential(hs_str_t c, parsed_t *p)
{
    hs_str_t part[5];
    const char *s = c.base, *end = c.base + c.len;
    for (int i = 0; i < 5; i++) {
        const char *slash = i < 4 ? memchr(s, '/', (size_t)(end - s)) : NULL;
        if (i < 4 && !slash)
            return "the Credential has too few parts (access-key/date/region/s3/aws4_request)";
        const char *stop = slash ? slash : end;
        part[i] = (hs_str_t){s, (size_t)(stop - s)};
        s = stop + 1;
    }
    if (part[0].len == 0 || part[0].len > 128)
        return "the access key id is empty or too long";
    if (part[1].len != 8 || !is_digits(part[1].base, 8))
        return "the Credential date is not YYYYMMDD";
    if (part[2].len == 0 || part[2].len > MAX_REGION)
        return "the Credential region is empty or too long";
    for (size_t i = 0; i < part[2].len; i++) {
        char ch = part[2].base[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return "the Credential region is not a region name";
    }
    if (!HS_STR_EQ(part[3], "s3"))
        return "the Credential service must be s3";
    if (!HS_STR_EQ(part[4], "aws4_request"))
        return "the Credential must end in aws4_request";
    p->access_key = part[0];
    p->date8 = part[1];
    p->region = part[2];
    p->scope = (hs_str_t){part[1].base, c.len - part[0].len - 1};
    return NULL;
}

/* "host;range;x-amz-date": lower-case tokens. Returns NULL or what is wrong. */
static const char *parse_signed_headers(hs_str_t l, parsed_t *p)
{
    const char *s = l.base, *end = l.base + l.len;
    bool host = false;
    p->nnames = 0;
    p->signed_list = l;
    if (!l.len)
        return "SignedHeaders is empty";
    while (s <= end) {
        const char *semi = memchr(s, ';', (size_t)(end - s));
        const char *stop = semi ? semi : end;
        if (stop == s)
            return "SignedHeaders has an empty name";
        for (const char *q = s; q < stop; q++) {
            unsigned char ch = (unsigned char)*q;
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_' || ch == '.'))
                return "SignedHeaders names must be lower-case header names";
        }
        if (p->nnames == HS__SIGV4_MAX_SIGNED)
            return "SignedHeaders names too many headers";
        p->names[p->nnames] = (hs_str_t){s, (size_t)(stop - s)};
        if (HS_STR_EQ(p->names[p->nnames], "host"))
            host = true;
        p->nnames++;
        s = stop + 1;
        if (!semi)
            break;
    }
    return host ? NULL : "SignedHeaders must include host";
}

static bool is_signed(const parsed_t *p, hs_str_t name)
{
    for (unsigned i = 0; i < p->nnames; i++)
        if (p->names[i].len == name.len && !strncasecmp(p->names[i].base, name.base, name.len))
            return true;
    return false;
}

/* S3 refuses x-amz-* headers that the signature does not cover: they
 * carry semantics (copy source, ACL, checksums) a replayer could alter. */
static int check_all_amz_signed(const hs_http_msg_t *msg, const parsed_t *p, hs_sigv4_auth_t *a)
{
    for (unsigned i = 0; i < msg->num_headers; i++) {
        hs_str_t n = msg->headers[i].name;
        if (n.len < 6 || strncasecmp(n.base, "x-amz-", 6) || HS_STR_IEQ(n, "x-amz-content-sha256"))
            continue;
        if (!is_signed(p, n))
            return failf(a, 403, "AccessDenied",
                         "There were headers present in the request which were not signed: %.*s",
                         (int)(n.len > 64 ? 64 : n.len), n.base);
    }
    return 0;
}

/* Payload mode of x-amz-content-sha256 (header auth). */
static int payload_mode(const hs_http_msg_t *msg, hs_sigv4_auth_t *a, hs_str_t *hash)
{
    int count;
    hs_str_t v = header(msg, "x-amz-content-sha256", &count);
    *hash = v;
    if (!v.base)
        return fail(a, 400, "MissingSecurityHeader",
                    "Your request was missing a required header: x-amz-content-sha256");
    if (count > 1)
        return fail(a, 400, "InvalidArgument", "x-amz-content-sha256 appears more than once");
    if (HS_STR_EQ(v, UNSIGNED_PAYLOAD))
        a->payload = HS_SIGV4_PAYLOAD_UNSIGNED;
    else if (HS_STR_EQ(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))
        a->payload = HS_SIGV4_PAYLOAD_STREAMING;
    else if (HS_STR_EQ(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"))
        a->payload = HS_SIGV4_PAYLOAD_STREAMING_TRAILER;
    else if (HS_STR_EQ(v, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
        a->payload = HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    else if (hs__sigv4_unhex(v.base, v.len, a->payload_sha256) == 0)
        a->payload = HS_SIGV4_PAYLOAD_SHA256;
    else
        return fail(a, 400, "InvalidArgument",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* mode or a "
                    "SHA-256 hex digest");
    if (a->payload < HS_SIGV4_PAYLOAD_STREAMING)
        return 0;
    hs_str_t dl = header(msg, "x-amz-decoded-content-length", NULL);
    if (!dl.base)
        return fail(a, 411, "MissingContentLength",
                    "aws-chunked uploads need x-amz-decoded-content-length");
    if (hs_str_to_u64(dl, &a->decoded_length))
        return fail(a, 400, "InvalidArgument", "x-amz-decoded-content-length is not a number");
    hs_str_t tr = header(msg, "x-amz-trailer", NULL);
    if (tr.base) {
        tr = hs_str_trim_ows(tr);
        if (tr.len >= sizeof(a->trailer) || memchr(tr.base, ',', tr.len))
            return fail(a, 400, "InvalidArgument", "x-amz-trailer must name one checksum");
        for (size_t i = 0; i < tr.len; i++) {
            char c = tr.base[i];
            a->trailer[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        a->trailer[tr.len] = 0;
    }
    return 0;
}

/* Everything that follows parsing: region, dates, key, signature. */
static int finish(const hs_http_msg_t *msg, hs_sigv4_secret_fn secret, void *arg,
                  const char *region, parsed_t *p, hs_str_t query_for_sig, bool presigned,
                  hs_str_t payload_hash, hs_sigv4_auth_t *a)
{
    if (strlen(region) != p->region.len || memcmp(region, p->region.base, p->region.len))
        return failf(a, 400,
                     presigned ? "AuthorizationQueryParametersError"
                               : "AuthorizationHeaderMalformed",
                     "The authorization header is malformed; the region '%.*s' is wrong; "
                     "expecting '%s'",
                     (int)p->region.len, p->region.base, region);
    if (memcmp(p->date8.base, p->amz_date, 8))
        return presigned ? QUERY_ERR(a, "Invalid credential date. Date is not the same as "
                                        "X-Amz-Date.")
                         : MALFORMED(a, "Invalid credential date. Date is not the same as "
                                        "X-Amz-Date.");

    const char *sk = secret(arg, p->access_key.base, p->access_key.len);
    if (!sk)
        return fail(a, 403, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.");
    int rc = check_all_amz_signed(msg, p, a);
    if (rc)
        return rc;

    memcpy(a->access_key, p->access_key.base, p->access_key.len);
    a->access_key[p->access_key.len] = 0;
    memcpy(a->amz_date, p->amz_date, 17);
    if (p->scope.len >= sizeof(a->scope))
        return MALFORMED(a, "the credential scope is too long");
    memcpy(a->scope, p->scope.base, p->scope.len);
    a->scope[p->scope.len] = 0;
    if (hs__sigv4_cached_key(sk, p->access_key, p->date8, p->region, a->signing_key) < 0)
        return fail(a, 500, "InternalError", "the secret key cannot be used for signing");

    hs__sigv4_creq_t c = {
        .method = msg->method_str,
        .path = msg->path,
        .query = query_for_sig,
        .skip_signature = presigned,
        .hdrs = msg->headers,
        .nhdrs = msg->num_headers,
        .host = msg->host,
        .names = p->names,
        .nnames = p->nnames,
        .signed_list = p->signed_list,
        .payload_hash = payload_hash,
    };
    char ch[65];
    rc = hs__sigv4_canonical_hash(&c, ch);
    if (rc == HS_E2BIG)
        return fail(a, 400, "InvalidArgument", "too many query parameters to verify");
    if (rc)
        return fail(a, 500, "InternalError", "libcrypto failed");
    uint8_t want[32];
    const char *lines[1] = {ch};
    if (hs__sigv4_sign_lines(a->signing_key, ALGO, a->amz_date, a->scope, lines, 1, want))
        return fail(a, 500, "InternalError", "libcrypto failed");
    if (CRYPTO_memcmp(want, p->sig, 32) != 0)
        return fail(a, 403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.");
    hs__sigv4_hex(want, a->seed_signature);
    return 0;
}

/* ---- Authorization header ---- */

static int verify_header(const hs_http_msg_t *msg, hs_str_t v, hs_sigv4_secret_fn secret,
                         void *arg, const char *region, int64_t now, int64_t max_skew_s,
                         hs_sigv4_auth_t *a)
{
    parsed_t p = {0};
    a->kind = HS_SIGV4_HEADER;
    size_t al = sizeof(ALGO) - 1;
    if (v.len <= al || memcmp(v.base, ALGO, al) || (v.base[al] != ' ' && v.base[al] != '\t'))
        return fail(a, 400, "InvalidRequest",
                    "The authorization mechanism you have provided is not supported. Please "
                    "use AWS4-HMAC-SHA256.");
    hs_str_t cred = HS_STR_NULL, sh = HS_STR_NULL, sig = HS_STR_NULL;
    const char *s = v.base + al, *end = v.base + v.len;
    while (s < end) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        hs_str_t item = hs_str_trim_ows((hs_str_t){s, (size_t)(stop - s)});
        const char *eq = memchr(item.base, '=', item.len);
        if (!eq)
            return MALFORMED(a, "The authorization header is malformed; expected "
                                "Credential=, SignedHeaders= and Signature=");
        hs_str_t k = {item.base, (size_t)(eq - item.base)};
        hs_str_t val = {eq + 1, item.len - k.len - 1};
        hs_str_t *slot = HS_STR_EQ(k, "Credential")      ? &cred
                         : HS_STR_EQ(k, "SignedHeaders") ? &sh
                         : HS_STR_EQ(k, "Signature")     ? &sig
                                                         : NULL;
        if (!slot)
            return MALFORMED(a, "The authorization header is malformed; unknown component");
        if (slot->base)
            return MALFORMED(a, "The authorization header is malformed; repeated component");
        *slot = val;
        s = comma ? comma + 1 : end;
    }
    if (!cred.base || !sh.base || !sig.base)
        return MALFORMED(a, "The authorization header is malformed; expected Credential=, "
                            "SignedHeaders= and Signature=");
    const char *why = parse_credential(cred, &p);
    if (!why)
        why = parse_signed_headers(sh, &p);
    if (why)
        return MALFORMED(a, why);
    if (hs__sigv4_unhex(sig.base, sig.len, p.sig))
        return MALFORMED(a, "The authorization header is malformed; the Signature must be 64 "
                            "hex digits");

    int count;
    hs_str_t d = header(msg, "x-amz-date", &count);
    if (d.base) {
        if (count > 1 || !parse_amz_date(d, &p.t))
            return fail(a, 403, "AccessDenied",
                        "AWS authentication requires a valid Date or x-amz-date header");
        memcpy(p.amz_date, d.base, 16);
    } else {
        d = header(msg, "date", NULL);
        if (!d.base || !http_date_to_amz(d, p.amz_date) ||
            !parse_amz_date((hs_str_t){p.amz_date, 16}, &p.t))
            return fail(a, 403, "AccessDenied",
                        "AWS authentication requires a valid Date or x-amz-date header");
    }
    p.amz_date[16] = 0;
    int64_t skew = p.t > now ? p.t - now : now - p.t;
    if (skew > max_skew_s)
        return fail(a, 403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too "
                    "large.");
    hs_str_t hash;
    int rc = payload_mode(msg, a, &hash);
    if (rc)
        return rc;
    return finish(msg, secret, arg, region, &p, msg->query, false, hash, a);
}

/* ---- presigned URL ---- */

static int verify_query(const hs_http_msg_t *msg, hs_sigv4_secret_fn secret, void *arg,
                        const char *region, int64_t now, int64_t max_skew_s, hs_sigv4_auth_t *a)
{
    parsed_t p = {0};
    a->kind = HS_SIGV4_QUERY;
    a->payload = HS_SIGV4_PAYLOAD_UNSIGNED;
    hs_str_t q = msg->query;
    hs_str_t algo = query_param(q, "X-Amz-Algorithm"), cred = query_param(q, "X-Amz-Credential"),
             date = query_param(q, "X-Amz-Date"), exp = query_param(q, "X-Amz-Expires"),
             sh = query_param(q, "X-Amz-SignedHeaders"), sig = query_param(q, "X-Amz-Signature"),
             ph = query_param(q, "X-Amz-Content-Sha256");
    if (!HS_STR_EQ(algo, ALGO))
        return QUERY_ERR(a, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    if (!cred.base || !date.base || !exp.base || !sh.base || !sig.base)
        return QUERY_ERR(a, "Query-string authentication version 4 requires the "
                            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                            "X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
    /* decoded copies: clients escape '/' and ';' in these */
    char credb[256], shb[1024], dateb[17];
    ssize_t cl = pct_decode(cred, credb, sizeof(credb));
    ssize_t sl = pct_decode(sh, shb, sizeof(shb));
    ssize_t dl = pct_decode(date, dateb, 16);
    if (cl < 0 || sl < 0)
        return QUERY_ERR(a, "X-Amz-Credential or X-Amz-SignedHeaders is malformed");
    const char *why = parse_credential((hs_str_t){credb, (size_t)cl}, &p);
    if (!why)
        why = parse_signed_headers((hs_str_t){shb, (size_t)sl}, &p);
    if (why)
        return QUERY_ERR(a, why);
    if (dl != 16 || !parse_amz_date((hs_str_t){dateb, 16}, &p.t))
        return QUERY_ERR(a, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    memcpy(p.amz_date, dateb, 16);
    p.amz_date[16] = 0;
    uint64_t expires;
    if (hs_str_to_u64(exp, &expires) || expires < 1 || expires > HS_SIGV4_MAX_EXPIRES)
        return QUERY_ERR(a, "X-Amz-Expires must be between 1 and 604800 seconds");
    if (hs__sigv4_unhex(sig.base, sig.len, p.sig))
        return QUERY_ERR(a, "X-Amz-Signature must be 64 hex digits");
    if (now > p.t + (int64_t)expires)
        return fail(a, 403, "AccessDenied", "Request has expired");
    if (p.t - now > max_skew_s)
        return fail(a, 403, "AccessDenied", "Request is not valid yet");

    hs_str_t hash = HS_STR_LIT(UNSIGNED_PAYLOAD);
    char phb[65];
    if (ph.base) {
        ssize_t pl = pct_decode(ph, phb, 64);
        if (pl < 0)
            return QUERY_ERR(a, "X-Amz-Content-Sha256 is malformed");
        hash = (hs_str_t){phb, (size_t)pl};
        if (hs__sigv4_unhex(phb, (size_t)pl, a->payload_sha256) == 0)
            a->payload = HS_SIGV4_PAYLOAD_SHA256;
        else if (!HS_STR_EQ(hash, UNSIGNED_PAYLOAD))
            return QUERY_ERR(a, "X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a digest");
    }
    return finish(msg, secret, arg, region, &p, q, true, hash, a);
}

int hs_sigv4_verify(const hs_http_msg_t *msg, hs_sigv4_secret_fn secret, void *arg,
                    const char *region, int64_t now, int64_t max_skew_s, hs_sigv4_auth_t *auth)
{
    memset(auth, 0, sizeof(*auth));
    int count;
    hs_str_t h = header(msg, "authorization", &count);
    bool q = query_param(msg->query, "X-Amz-Algorithm").base != NULL;
    if (h.base && q)
        return fail(auth, 400, "InvalidArgument",
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                    "or the Authorization header should be specified");
    if (h.base) {
        if (count > 1)
            return MALFORMED(auth, "The authorization header is malformed; it appears twice");
        return verify_header(msg, h, secret, arg, region, now, max_skew_s, auth);
    }
    if (q)
        return verify_query(msg, secret, arg, region, now, max_skew_s, auth);
    if (query_param(msg->query, "X-Amz-Signature").base ||
        query_param(msg->query, "X-Amz-Credential").base)
        return QUERY_ERR(auth, "Query-string authentication version 4 requires the "
                               "X-Amz-Algorithm parameter.");
    auth->kind = HS_SIGV4_ANON;
    auth->payload = HS_SIGV4_PAYLOAD_UNSIGNED;
    return 0;
}

/* ---- client side ---- */

static int name_cmp(const void *a, const void *b)
{
    const hs_str_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->base, y->base, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int hs_sigv4_sign(const char *method, const char *path, const char *query,
                  const hs_http_header_t *headers, unsigned nheaders, const char *payload_hash,
                  const char *access_key, const char *secret_key, const char *region,
                  const char *amz_date, char *out, size_t cap)
{
    int64_t t;
    if (!parse_amz_date((hs_str_t){amz_date, strlen(amz_date)}, &t))
        return HS_EINVAL;
    if (nheaders > HS__SIGV4_MAX_SIGNED)
        return HS_E2BIG;
    char lower[2048], list[2048];
    hs_str_t names[HS__SIGV4_MAX_SIGNED];
    size_t used = 0;
    for (unsigned i = 0; i < nheaders; i++) {
        hs_str_t n = headers[i].name;
        if (n.len > sizeof(lower) - used)
            return HS_E2BIG;
        for (size_t j = 0; j < n.len; j++) {
            char c = n.base[j];
            lower[used + j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        names[i] = (hs_str_t){lower + used, n.len};
        used += n.len;
    }
    qsort(names, nheaders, sizeof(names[0]), name_cmp);
    unsigned nn = 0;
    size_t ll = 0;
    bool host = false;
    for (unsigned i = 0; i < nheaders; i++) {
        if (nn && !name_cmp(&names[nn - 1], &names[i]))
            continue; /* repeated name: one canonical line joins them */
        names[nn++] = names[i];
        if (HS_STR_EQ(names[i], "host"))
            host = true;
        if (names[i].len + 1 > sizeof(list) - ll)
            return HS_E2BIG;
        if (ll)
            list[ll++] = ';';
        memcpy(list + ll, names[i].base, names[i].len);
        ll += names[i].len;
    }
    if (!host)
        return HS_EINVAL;
    hs__sigv4_creq_t c = {
        .method = {method, strlen(method)},
        .path = {path, strlen(path)},
        .query = {query ? query : "", query ? strlen(query) : 0},
        .hdrs = headers,
        .nhdrs = nheaders,
        .names = names,
        .nnames = nn,
        .signed_list = {list, ll},
        .payload_hash = {payload_hash, strlen(payload_hash)},
    };
    char ch[65], scope[128], date8[9], sig[65];
    int rc = hs__sigv4_canonical_hash(&c, ch);
    if (rc)
        return rc;
    memcpy(date8, amz_date, 8);
    date8[8] = 0;
    if ((size_t)snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", date8, region) >=
        sizeof(scope))
        return HS_EINVAL;
    uint8_t key[32], s[32];
    rc = hs_sigv4_signing_key(secret_key, date8, region, key);
    if (rc)
        return rc;
    const char *lines[1] = {ch};
    rc = hs__sigv4_sign_lines(key, ALGO, amz_date, scope, lines, 1, s);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc)
        return rc;
    hs__sigv4_hex(s, sig);
    int n = snprintf(out, cap, ALGO " Credential=%s/%s, SignedHeaders=%.*s, Signature=%s",
                     access_key, scope, (int)ll, list, sig);
    if (n < 0 || (size_t)n >= cap)
        return HS_E2BIG;
    return n;
}
