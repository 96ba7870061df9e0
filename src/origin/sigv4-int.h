/*
 * Internals shared by the SigV4 verifier, signer and aws-chunked decoder:
 * the canonical-request builder and the HMAC/SHA-256/hex helpers.
 * Not for use outside src/origin/sigv4*.c, awschunked*.c and their tests.
 */
#ifndef HS_ORIGIN_SIGV4_INT_H
#define HS_ORIGIN_SIGV4_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "core/str-t.h"
#include "http/msg-t.h"

/* Where canonical text goes: into a SHA-256 context (md, an EVP_MD_CTX *)
 * when set, and into buf[0..cap) when set (tests read the text). Appending
 * past cap sets overflow and drops the rest. */
typedef struct hs__sigv4_sink {
    void *md;
    char *buf;
    size_t len, cap;
    bool overflow;
    bool failed; /* the digest refused an update */
} hs__sigv4_sink_t;

void hs__sigv4_put(hs__sigv4_sink_t *s, const char *p, size_t n);

/* Most query parameters a canonical query may hold (sorting is on the
 * stack). More gets HS_E2BIG. */
#define HS__SIGV4_MAX_PARAMS 128
/* Most signed headers. */
#define HS__SIGV4_MAX_SIGNED 64

/* What the canonical request is made of. path and query are as sent
 * (percent-encoded); they are decoded once and re-encoded the AWS way.
 * names are the signed header names, lower case, in SignedHeaders order;
 * signed_list is that list as one string ("host;x-amz-date"). Headers are
 * looked up case-insensitively in hdrs; a missing "host" falls back to
 * host. */
typedef struct hs__sigv4_creq {
    hs_str_t method, path, query;
    bool skip_signature; /* presigned: leave X-Amz-Signature out of the query */
    const hs_http_header_t *hdrs;
    unsigned nhdrs;
    hs_str_t host;
    const hs_str_t *names;
    unsigned nnames;
    hs_str_t signed_list;
    hs_str_t payload_hash;
} hs__sigv4_creq_t;

/* Writes the canonical request to s. Returns 0, or HS_E2BIG past
 * HS__SIGV4_MAX_PARAMS query parameters. */
int hs__sigv4_canonical(const hs__sigv4_creq_t *c, hs__sigv4_sink_t *s);

/* hex(sha256(canonical request)) into out[65]. Returns 0, HS_E2BIG, or
 * HS_ENOMEM when libcrypto fails. */
int hs__sigv4_canonical_hash(const hs__sigv4_creq_t *c, char out[65]);

/* Writes UriEncode(decode(in)) to s: every byte but A-Za-z0-9-_.~ as %XX
 * (and '/' kept when keep_slash). Percent escapes of in are decoded
 * first; a '%' not followed by two hex digits is taken literally. */
void hs__sigv4_encode(hs__sigv4_sink_t *s, hs_str_t in, bool keep_slash);

/* SHA-256, fetched from the default provider once per process. */
const EVP_MD *hs__sigv4_md(void);
/* HMAC-SHA256. Returns 0 or HS_ENOMEM. */
int hs__sigv4_hmac(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);
/* SHA-256. Returns 0 or HS_ENOMEM. */
int hs__sigv4_sha256(const void *p, size_t n, uint8_t out[32]);
/* 32 bytes to 64 lower-case hex digits and a NUL. */
void hs__sigv4_hex(const uint8_t in[32], char out[65]);
/* 64 hex digits (either case) to 32 bytes. Returns 0 or HS_EINVAL. */
int hs__sigv4_unhex(const char *in, size_t len, uint8_t out[32]);

/* HMAC(signing_key, "AWS4-HMAC-SHA256"+"\n"+amz_date+"\n"+scope+"\n"+hash)
 * into 32 bytes: the final step of every SigV4 signature. algo is the
 * first line ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256-PAYLOAD"...), and
 * lines are the lines after the scope. */
int hs__sigv4_sign_lines(const uint8_t key[32], const char *algo, const char *amz_date,
                         const char *scope, const char *const *lines, unsigned nlines,
                         uint8_t out[32]);

#endif
