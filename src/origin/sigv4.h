/*
 * AWS Signature Version 4 for the S3 origin: the server-side verifier of
 * Authorization-header and presigned-URL requests, and the client-side
 * signer `hyperscale bench` and the tests use. Pure functions over the
 * request as parsed (http/msg-t.h): no I/O, no state between calls.
 * The body side of streaming uploads is origin/awschunked.h.
 */
#ifndef HS_ORIGIN_SIGV4_H
#define HS_ORIGIN_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "http/msg-t.h"
#include "origin/sigv4-t.h"

/* Longest presigned lifetime S3 accepts (seven days), in seconds. */
#define HS_SIGV4_MAX_EXPIRES 604800

/*
 * Verifies a request signed in the Authorization header
 * ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...") or
 * by presigned query parameters (X-Amz-Algorithm, X-Amz-Credential,
 * X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature), or
 * finds it anonymous (neither present: returns 0 with kind ANON).
 * now is the server's clock (seconds since the epoch); max_skew_s the
 * allowed |request time - now| for header auth (RequestTimeTooSkewed) and
 * how far in the future a presigned X-Amz-Date may be. Presigned URLs are
 * checked against X-Amz-Expires (1..604800) instead (AccessDenied
 * "Request has expired"). region is the region we serve; a credential
 * scope naming another gets AuthorizationHeaderMalformed (or
 * AuthorizationQueryParametersError) naming the expected region.
 * Header auth requires x-amz-content-sha256 (MissingSecurityHeader, or
 * InvalidArgument when it is neither a digest nor a known mode); streaming
 * modes require x-amz-decoded-content-length (MissingContentLength).
 * The date is x-amz-date, or the Date header when that is absent; the
 * credential date must be its day. Signatures compare in constant time.
 * Returns 0 with auth filled, or a negative code with auth->err filled:
 * HS_EACCES (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied,
 * RequestTimeTooSkewed: 403), HS_EINVAL (AuthorizationHeaderMalformed,
 * AuthorizationQueryParametersError, MissingSecurityHeader,
 * InvalidArgument, MissingContentLength, InvalidRequest for another
 * algorithm such as SigV2), HS_ENOMEM (InternalError: libcrypto failed).
 * auth->err.message may point into auth->err_buf.
 */
int hs_sigv4_verify(const hs_http_msg_t *msg, hs_sigv4_secret_fn secret, void *arg,
                    const char *region, int64_t now, int64_t max_skew_s, hs_sigv4_auth_t *auth);

/*
 * Client side: signs a request. Writes the Authorization header value
 * into out (NUL-terminated). path and query are as they will be sent
 * (percent-encoded, query without '?'). headers are the headers to sign
 * (names any case; must include host, x-amz-date and, for S3,
 * x-amz-content-sha256; several with one name are joined with ','), and
 * payload_hash is a hex digest or "UNSIGNED-PAYLOAD" / a STREAMING-* mode.
 * amz_date is "YYYYMMDDTHHMMSSZ".
 * Returns the length written, HS_E2BIG when out is too small (or more than
 * 64 headers / 128 query parameters), HS_EINVAL for a malformed date or
 * missing host, HS_ENOMEM when libcrypto fails.
 */
int hs_sigv4_sign(const char *method, const char *path, const char *query,
                  const hs_http_header_t *headers, unsigned nheaders, const char *payload_hash,
                  const char *access_key, const char *secret_key, const char *region,
                  const char *amz_date, char *out, size_t cap);

/* The SigV4 signing key of secret for a day (date8 "YYYYMMDD") and region,
 * service s3. Returns 0, HS_EINVAL (secret over 256 bytes, bad date) or
 * HS_ENOMEM. */
int hs_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                         uint8_t out[32]);

/* Client side of aws-chunked: the chunk-signature of data[0..len) that
 * follows prev_signature (the seed signature for the first chunk), as 64
 * hex digits and a NUL. Returns 0 or HS_ENOMEM. */
int hs_sigv4_chunk_signature(const uint8_t signing_key[32], const char *amz_date,
                             const char *scope, const char *prev_signature, const void *data,
                             size_t len, char out[65]);

/* Client side: the x-amz-trailer-signature over trailers[0..len), the
 * canonical trailer lines ("name:value\n" each, without the signature),
 * following the final chunk's signature. Returns 0 or HS_ENOMEM. */
int hs_sigv4_trailer_signature(const uint8_t signing_key[32], const char *amz_date,
                               const char *scope, const char *prev_signature,
                               const char *trailers, size_t len, char out[65]);

#endif
