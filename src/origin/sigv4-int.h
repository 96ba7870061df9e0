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
 * past cap sets overflow and drops the rest. Text for md is gathered in
 * stage first: a canonical request is some forty small pieces, and each
 * EVP_DigestUpdate is a call through the provider. */
typedef struct hs__sigv4_sink {
    void *md;
    char *buf;
    size_t len, cap;
    bool overflow;
    bool failed; /* the digest refused an update */
    size_t staged;
    char stage[256];
} hs__sigv4_sink_t;

void hs__sigv4_put(hs__sigv4_sink_t *s, const char *p, size_t n);
/* Hands what is staged to md; call before finishing the digest. */
void hs__sigv4_flush(hs__sigv4_sink_t *s);

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
/* This thread's reusable digest context (freed when the thread ends), or
 * NULL when it cannot be allocated. The HMAC, SHA-256 and canonical-hash
 * helpers here use it from init to final and never nest. It holds the last
 * digest's state until the next init, which wipes it (OpenSSL clears a
 * digest's context when it frees it). */
EVP_MD_CTX *hs__sigv4_thread_md(void);
/* HMAC-SHA256. Returns 0 or HS_ENOMEM. */
int hs__sigv4_hmac(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);
/* SHA-256. Returns 0 or HS_ENOMEM. */
int hs__sigv4_sha256(const void *p, size_t n, uint8_t out[32]);
/* 32 bytes to 64 lower-case hex digits and a NUL. */
void hs__sigv4_hex(const uint8_t in[32], char out[65]);
/* 64 hex digits (either case) to 32 bytes. Returns 0 or HS_EINVAL. */
int hs__sigv4_unhex(const char *in, size_t len, uint8_t out[32]);

/* Entries of each thread's signing-key cache (sigv4-cache.c). */
#define HS__SIGV4_KEY_SLOTS 16

/* The signing key of secret (NUL-terminated) for access_key, date8
 * ("YYYYMMDD") and region, service s3: from this thread's cache, or
 * derived with hs_sigv4_signing_key and cached, replacing the least
 * recently used entry when all HS__SIGV4_KEY_SLOTS are taken. Entries are
 * keyed by a 128-bit hash of the secret as well, so a secret that changes
 * under the same access key never gets the old secret's key. An access key
 * over 128 bytes is derived without caching (so is every key when the
 * thread's cache cannot be allocated).
 * Returns 1 when the key came from the cache, 0 when it was derived, or
 * HS_EINVAL (date8 not 8 bytes, region over 64, secret over 256) or
 * HS_ENOMEM as hs_sigv4_signing_key does. */
int hs__sigv4_cached_key(const char *secret, hs_str_t access_key, hs_str_t date8,
                         hs_str_t region, uint8_t out[32]);

/* Registers the cache's hit and miss counters
 * (hs_origin_sigv4_key_cache_{hits,misses}_total); lookups before it, or
 * without it, count nothing. Call once at startup. */
void hs__sigv4_key_cache_metrics_init(void);

/* Empties this thread's signing-key cache (its keys wiped). */
void hs__sigv4_key_cache_clear(void);

/* HMAC(signing_key, "AWS4-HMAC-SHA256"+"\n"+amz_date+"\n"+scope+"\n"+hash)
 * into 32 bytes: the final step of every SigV4 signature. algo is the
 * first line ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256-PAYLOAD"...), and
 * lines are the lines after the scope. */
int hs__sigv4_sign_lines(const uint8_t key[32], const char *algo, const char *amz_date,
                         const char *scope, const char *const *lines, unsigned nlines,
                         uint8_t out[32]);

#endif
