/*
 * aws-chunked decoder: a byte-at-a-time state machine over the body of an
 * S3 streaming upload, so any split of the input decodes the same. Chunk
 * data is never copied; it is hashed as it passes (the chunk's SHA-256 for
 * its signature, the announced flexible checksum over the whole payload)
 * and handed out as a run pointing into the caller's input.
 *
 * Strict where two readers could disagree: CRLF exactly, chunk-size is
 * 1..16 HEXDIG, the signed modes carry exactly one chunk-signature
 * extension, unsigned chunks carry none, every line is bounded, and the
 * sizes must add up to x-amz-decoded-content-length.
 */
#include "origin/awschunked.h"

#include <isa-l/crc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/err.h"
#include "origin/sigv4-int.h"
#include "origin/sigv4.h"

#define SIG_EXT "chunk-signature="
#define SIG_EXT_LEN (sizeof(SIG_EXT) - 1)
#define SIZE_EXT_MAX (SIG_EXT_LEN + 64)
#define MAX_TRAILERS 8
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum {
    S_SIZE_START = 0, /* first HEXDIG of chunk-size */
    S_SIZE,           /* more HEXDIG, ';' or CR */
    S_EXT,            /* the chunk-signature extension, up to CR */
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR, /* end of data: the chunk signature is checked here */
    S_DATA_LF,
    S_FINAL_CR, /* STREAMING: the empty line after the last chunk */
    S_FINAL_LF,
    S_TRAILER, /* a trailer line, or the empty line */
    S_TRAILER_LF,
    S_BLANK_LF, /* optional empty line before signed trailers */
    S_END_LF,   /* empty line that ends unsigned trailers */
    S_OPT_CR,   /* done; an empty line may still follow */
    S_OPT_LF,
    S_DONE,
    S_ERR,
};

enum { SUM_NONE = 0, SUM_CRC32, SUM_CRC32C, SUM_SHA1, SUM_SHA256, SUM_UNVERIFIED };

static bool signed_mode(const hs_awschunked_t *d)
{
    return d->mode != HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
}

static void release(hs_awschunked_t *d)
{
    EVP_MD_CTX_free(d->chunk_md);
    EVP_MD_CTX_free(d->sum_md);
    d->chunk_md = d->sum_md = NULL;
}

void hs_awschunked_free(hs_awschunked_t *d)
{
    release(d);
    OPENSSL_cleanse(d->signing_key, sizeof(d->signing_key));
}

static int ret_of(const hs_awschunked_t *d)
{
    if (d->err.status >= 500)
        return HS_ENOMEM;
    return d->err.status == 403 && !strcmp(d->err.code, "SignatureDoesNotMatch") ? HS_EACCES
                                                                                : HS_EBADMSG;
}

static int fail(hs_awschunked_t *d, int status, const char *code, const char *msg)
{
    d->err = (hs_sigv4_error_t){status, code, msg};
    d->state = S_ERR;
    d->done = false;
    release(d);
    return ret_of(d);
}

#define FRAMING(d, m) fail((d), 400, "IncompleteBody", "aws-chunked: " m)
#define SIZE_ERR(d, m) fail((d), 403, "InvalidChunkSizeError", "aws-chunked: " m)
#define TRAILER_ERR(d, m) fail((d), 400, "InvalidRequest", "aws-chunked trailer: " m)
#define SIG_ERR(d)                                                                                 \
    fail((d), 403, "SignatureDoesNotMatch",                                                        \
         "The request signature we calculated does not match the signature you provided.")
#define NOMEM(d) fail((d), 500, "InternalError", "libcrypto failed")

void hs_awschunked_init(hs_awschunked_t *d, const hs_sigv4_auth_t *auth)
{
    memset(d, 0, sizeof(*d));
    d->mode = (uint8_t)auth->payload;
    d->decoded_length = auth->decoded_length;
    memcpy(d->signing_key, auth->signing_key, 32);
    memcpy(d->amz_date, auth->amz_date, sizeof(d->amz_date));
    memcpy(d->scope, auth->scope, sizeof(d->scope));
    memcpy(d->prev_sig, auth->seed_signature, sizeof(d->prev_sig));
    d->amz_date[16] = d->scope[127] = d->prev_sig[64] = 0;
    if (auth->payload < HS_SIGV4_PAYLOAD_STREAMING ||
        auth->payload > HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER) {
        fail(d, 400, "InvalidRequest", "the request's payload mode is not aws-chunked");
        return;
    }
    if (signed_mode(d) && !(d->chunk_md = EVP_MD_CTX_new())) {
        NOMEM(d);
        return;
    }
    if (d->mode == HS_SIGV4_PAYLOAD_STREAMING || !auth->trailer[0])
        return;
    size_t tl = strnlen(auth->trailer, sizeof(auth->trailer) - 1);
    memcpy(d->trailer, auth->trailer, tl);
    static const char pre[] = "x-amz-checksum-";
    if (strncmp(d->trailer, pre, sizeof(pre) - 1)) {
        fail(d, 400, "InvalidArgument", "x-amz-trailer must name an x-amz-checksum-* trailer");
        return;
    }
    const char *algo = d->trailer + sizeof(pre) - 1;
    d->sum_algo = !strcmp(algo, "crc32")    ? SUM_CRC32
                  : !strcmp(algo, "crc32c") ? SUM_CRC32C
                  : !strcmp(algo, "sha1")   ? SUM_SHA1
                  : !strcmp(algo, "sha256") ? SUM_SHA256
                                            : SUM_UNVERIFIED;
    d->crc = d->sum_algo == SUM_CRC32C ? 0xffffffffu : 0;
    if (d->sum_algo == SUM_SHA1 || d->sum_algo == SUM_SHA256) {
        d->sum_md = EVP_MD_CTX_new();
        if (!d->sum_md || EVP_DigestInit_ex(d->sum_md, d->sum_algo == SUM_SHA1 ? EVP_sha1()
                                                                               : hs__sigv4_md(),
                                            NULL) != 1)
            NOMEM(d);
    }
}

bool hs_awschunked_done(const hs_awschunked_t *d)
{
    return d->done;
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

/* Their 64 hex digits (any case) against ours, in constant time. */
static bool sig_equal(const char *ours, const char *theirs)
{
    char low[64];
    for (int i = 0; i < 64; i++) {
        char c = theirs[i];
        low[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
    }
    return CRYPTO_memcmp(ours, low, 64) == 0;
}

static bool is_hex64(const char *p, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexv((unsigned char)p[i]) < 0)
            return false;
    return true;
}

/* Verifies the signature of the chunk whose SHA-256 is `hash` and makes
 * it the one the next chunk chains from. */
static int check_chunk_sig(hs_awschunked_t *d, const char *hash_hex)
{
    uint8_t s[32];
    char ours[65];
    const char *lines[3] = {d->prev_sig, EMPTY_SHA256, hash_hex};
    if (hs__sigv4_sign_lines(d->signing_key, "AWS4-HMAC-SHA256-PAYLOAD", d->amz_date, d->scope,
                             lines, 3, s))
        return NOMEM(d);
    hs__sigv4_hex(s, ours);
    if (!sig_equal(ours, d->chunk_sig))
        return SIG_ERR(d);
    memcpy(d->prev_sig, ours, 65);
    return 0;
}

static void feed_sums(hs_awschunked_t *d, const char *p, size_t n)
{
    /* SHA updates cannot fail once the context is initialised */
    if (d->chunk_md)
        (void)EVP_DigestUpdate(d->chunk_md, p, n);
    switch (d->sum_algo) {
    case SUM_CRC32:
        d->crc = crc32_gzip_refl(d->crc, (const unsigned char *)p, n);
        break;
    case SUM_CRC32C:
        /* crc32_iscsi takes an int length: feed huge runs in pieces */
        while (n) {
            size_t k = n > (1u << 30) ? (1u << 30) : n;
            d->crc = crc32_iscsi((unsigned char *)p, (int)k, d->crc);
            p += k;
            n -= k;
        }
        break;
    case SUM_SHA1:
    case SUM_SHA256:
        (void)EVP_DigestUpdate(d->sum_md, p, n);
        break;
    default:
        break;
    }
}

static size_t b64(const uint8_t *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? al[v & 63] : '=';
    }
    return o;
}

/* The announced checksum of all data, base64 as S3 writes it, into out
 * (>= 45 bytes). Returns its length, 0 when unverified, < 0 on failure. */
static int sum_b64(hs_awschunked_t *d, char *out)
{
    uint8_t h[32];
    unsigned hl = 0;
    uint32_t c = d->crc;
    switch (d->sum_algo) {
    case SUM_CRC32C:
        c ^= 0xffffffffu;
        __attribute__((fallthrough));
    case SUM_CRC32:
        h[0] = (uint8_t)(c >> 24);
        h[1] = (uint8_t)(c >> 16);
        h[2] = (uint8_t)(c >> 8);
        h[3] = (uint8_t)c;
        return (int)b64(h, 4, out);
    case SUM_SHA1:
    case SUM_SHA256:
        if (EVP_DigestFinal_ex(d->sum_md, h, &hl) != 1)
            return -1;
        return (int)b64(h, hl, out);
    default:
        return 0;
    }
}

/* One "name:value" trailer line, d->line[0..line_len). */
static int trailer_line(hs_awschunked_t *d)
{
    char *l = d->line, *colon = memchr(l, ':', d->line_len);
    if (!colon || colon == l)
        return TRAILER_ERR(d, "a trailer line is not name:value");
    size_t nl = (size_t)(colon - l);
    for (size_t i = 0; i < nl; i++) {
        char c = l[i];
        if (c >= 'A' && c <= 'Z')
            l[i] = (char)(c + 32);
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return TRAILER_ERR(d, "a trailer name is not a header name");
    }
    const char *v = colon + 1, *ve = l + d->line_len;
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    size_t vl = (size_t)(ve - v);
    if (++d->ntrailers > MAX_TRAILERS)
        return TRAILER_ERR(d, "too many trailers");

    static const char tsig[] = "x-amz-trailer-signature";
    if (nl == sizeof(tsig) - 1 && !memcmp(l, tsig, nl)) {
        if (d->mode != HS_SIGV4_PAYLOAD_STREAMING_TRAILER)
            return TRAILER_ERR(d, "x-amz-trailer-signature in an unsigned upload");
        if (d->trailer[0] && !d->sum_seen)
            return TRAILER_ERR(d, "the trailer x-amz-trailer announced is missing");
        if (!is_hex64(v, vl))
            return TRAILER_ERR(d, "x-amz-trailer-signature is not 64 hex digits");
        char ours[65];
        if (hs_sigv4_trailer_signature(d->signing_key, d->amz_date, d->scope, d->prev_sig,
                                       d->canon, d->canon_len, ours))
            return NOMEM(d);
        if (!sig_equal(ours, v))
            return SIG_ERR(d);
        d->done = true;
        d->state = S_OPT_CR;
        release(d);
        return 0;
    }
    if (!d->trailer[0] || strlen(d->trailer) != nl || memcmp(l, d->trailer, nl))
        return TRAILER_ERR(d, "a trailer that x-amz-trailer did not announce");
    if (d->sum_seen)
        return TRAILER_ERR(d, "a trailer appears twice");
    d->sum_seen = true;
    char want[48];
    int wl = sum_b64(d, want);
    if (wl < 0)
        return NOMEM(d);
    if (wl && ((size_t)wl != vl || memcmp(want, v, vl)))
        return fail(d, 400, "BadDigest",
                    "The checksum in the trailer does not match the data we received.");
    /* the canonical form the trailer signature covers: name:value LF */
    if (nl + vl + 2 > sizeof(d->canon) - d->canon_len)
        return TRAILER_ERR(d, "trailers too long");
    memcpy(d->canon + d->canon_len, l, nl);
    d->canon[d->canon_len + nl] = ':';
    memcpy(d->canon + d->canon_len + nl + 1, v, vl);
    d->canon[d->canon_len + nl + 1 + vl] = '\n';
    d->canon_len = (uint16_t)(d->canon_len + nl + vl + 2);
    d->state = S_TRAILER;
    return 0;
}

/* The chunk-size line is complete (LF consumed). */
static int size_line(hs_awschunked_t *d)
{
    if (signed_mode(d)) {
        if (d->line_len != SIZE_EXT_MAX || memcmp(d->line, SIG_EXT, SIG_EXT_LEN) ||
            !is_hex64(d->line + SIG_EXT_LEN, 64))
            return SIZE_ERR(d, "a chunk needs exactly ;chunk-signature=<64 hex digits>");
        memcpy(d->chunk_sig, d->line + SIG_EXT_LEN, 64);
        d->chunk_sig[64] = 0;
    }
    d->line_len = 0;
    if (d->size > d->decoded_length - d->total)
        return SIZE_ERR(d, "the chunks carry more than x-amz-decoded-content-length");
    if (d->size == 0) {
        if (d->total != d->decoded_length)
            return FRAMING(d, "the chunks carry less than x-amz-decoded-content-length");
        if (signed_mode(d)) {
            int rc = check_chunk_sig(d, EMPTY_SHA256);
            if (rc)
                return rc;
        }
        d->state = d->mode == HS_SIGV4_PAYLOAD_STREAMING ? S_FINAL_CR : S_TRAILER;
        return 0;
    }
    if (d->chunk_md && EVP_DigestInit_ex(d->chunk_md, hs__sigv4_md(), NULL) != 1)
        return NOMEM(d);
    d->remaining = d->size;
    d->state = S_DATA;
    return 0;
}

/* End of a chunk's data (its CR consumed): check its signature. */
static int data_end(hs_awschunked_t *d)
{
    if (!signed_mode(d))
        return 0;
    uint8_t h[32];
    unsigned hl = 0;
    char hx[65];
    if (EVP_DigestFinal_ex(d->chunk_md, h, &hl) != 1 || hl != 32)
        return NOMEM(d);
    hs__sigv4_hex(h, hx);
    return check_chunk_sig(d, hx);
}

/* The empty line that ends the trailers of an unsigned upload. */
static int trailers_end(hs_awschunked_t *d)
{
    if (d->mode == HS_SIGV4_PAYLOAD_STREAMING_TRAILER) {
        if (d->ntrailers == 0 && !d->blank_seen) {
            d->blank_seen = true; /* AWS's example has one before the trailers */
            d->state = S_BLANK_LF;
            return 0;
        }
        return TRAILER_ERR(d, "x-amz-trailer-signature is missing");
    }
    if (d->trailer[0] && !d->sum_seen)
        return TRAILER_ERR(d, "the trailer x-amz-trailer announced is missing");
    d->state = S_END_LF;
    return 0;
}

ssize_t hs_awschunked_decode(hs_awschunked_t *d, const char *in, size_t len, const char **data,
                             size_t *data_len)
{
    const char *p = in, *end = in + len;
    *data = NULL;
    *data_len = 0;
    if (d->state == S_ERR)
        return ret_of(d);

    int rc = 0;
    while (p < end && d->state != S_DONE) {
        if (d->state == S_DATA) {
            size_t n = (size_t)(end - p);
            if (n > d->remaining)
                n = (size_t)d->remaining;
            feed_sums(d, p, n);
            *data = p;
            *data_len = n;
            p += n;
            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0)
                d->state = S_DATA_CR;
            break; /* one data run per call */
        }
        unsigned char c = (unsigned char)*p++;
        switch (d->state) {
        case S_SIZE_START:
        case S_SIZE: {
            int v = hexv(c);
            if (v >= 0) {
                if (d->hex_digits == 16) {
                    rc = SIZE_ERR(d, "chunk-size has more than 16 digits"); /* stays S_ERR */
                    break;
                }
                d->size = d->size << 4 | (uint64_t)v;
                d->hex_digits++;
                d->state = S_SIZE;
            } else if (d->state == S_SIZE_START) {
                rc = SIZE_ERR(d, "chunk-size is not hexadecimal");
            } else if (c == ';' && signed_mode(d)) {
                d->state = S_EXT;
            } else if (c == '\r' && !signed_mode(d)) {
                d->state = S_SIZE_LF;
            } else {
                rc = SIZE_ERR(d, "malformed chunk-size line");
            }
            break;
        }
        case S_EXT:
            if (c == '\r')
                d->state = S_SIZE_LF;
            else if (d->line_len == SIZE_EXT_MAX)
                rc = SIZE_ERR(d, "chunk extension too long");
            else
                d->line[d->line_len++] = (char)c;
            break;
        case S_SIZE_LF:
            if (c != '\n')
                rc = FRAMING(d, "chunk-size line does not end in CRLF");
            else
                rc = size_line(d);
            d->hex_digits = 0;
            d->size = 0;
            break;
        case S_DATA_CR:
            if (c != '\r')
                rc = FRAMING(d, "chunk data is longer than its chunk-size");
            else if (!(rc = data_end(d)))
                d->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (c != '\n')
                rc = FRAMING(d, "chunk data does not end in CRLF");
            else
                d->state = S_SIZE_START;
            break;
        case S_FINAL_CR:
        case S_OPT_CR:
            if (c != '\r')
                rc = FRAMING(d, "data after the last chunk");
            else
                d->state = d->state == S_FINAL_CR ? S_FINAL_LF : S_OPT_LF;
            break;
        case S_FINAL_LF:
        case S_OPT_LF:
        case S_END_LF:
            if (c != '\n') {
                rc = FRAMING(d, "the body does not end in CRLF");
                break;
            }
            d->state = S_DONE;
            d->done = true;
            release(d);
            break;
        case S_TRAILER:
            if (c == '\r') {
                if (d->line_len == 0)
                    rc = trailers_end(d);
                else
                    d->state = S_TRAILER_LF;
            } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                rc = TRAILER_ERR(d, "control byte in a trailer");
            } else if (d->line_len == HS_AWSCHUNKED_LINE_MAX) {
                rc = TRAILER_ERR(d, "trailer line too long");
            } else {
                d->line[d->line_len++] = (char)c;
            }
            break;
        case S_TRAILER_LF:
            if (c != '\n') {
                rc = TRAILER_ERR(d, "a trailer line does not end in CRLF");
                break;
            }
            rc = trailer_line(d);
            d->line_len = 0;
            break;
        case S_BLANK_LF:
            if (c != '\n')
                rc = FRAMING(d, "an empty line that is not CRLF");
            else
                d->state = S_TRAILER;
            break;
        default:
            rc = FRAMING(d, "decoder state corrupted");
            break;
        }
        if (rc)
            return rc;
    }
    return p - in;
}
