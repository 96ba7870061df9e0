/*
 * Types of the SigV4 verifier (origin/sigv4.h) and of the aws-chunked
 * decoder that continues its work on the body (origin/awschunked.h).
 */
#ifndef HS_ORIGIN_SIGV4_T_H
#define HS_ORIGIN_SIGV4_T_H

#include <stddef.h>
#include <stdint.h>

/* S3 error the verifier reports; the handler turns it into S3 error XML.
 * code is one of the codes of origin/s3err.h and status its status. */
typedef struct hs_sigv4_error {
    int status;
    const char *code;
    const char *message; /* static, or points into the hs_sigv4_auth_t */
} hs_sigv4_error_t;

typedef enum { HS_SIGV4_ANON = 0, HS_SIGV4_HEADER, HS_SIGV4_QUERY } hs_sigv4_kind_t;

typedef enum {
    HS_SIGV4_PAYLOAD_UNSIGNED,  /* UNSIGNED-PAYLOAD (and presigned URLs, anonymous requests) */
    HS_SIGV4_PAYLOAD_SHA256,    /* x-amz-content-sha256 is a hex digest: the handler hashes the
                                   body and compares with hs_sigv4_auth_t.payload_sha256 */
    HS_SIGV4_PAYLOAD_STREAMING, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked body with
                                   chunk signatures */
    HS_SIGV4_PAYLOAD_STREAMING_TRAILER,          /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
} hs_sigv4_payload_t;

/* The secret for an access key id, or NULL if unknown (InvalidAccessKeyId).
 * The returned string must stay valid until hs_sigv4_verify returns. */
typedef const char *(*hs_sigv4_secret_fn)(void *arg, const char *access_key, size_t len);

typedef struct hs_sigv4_auth {
    hs_sigv4_kind_t kind;
    hs_sigv4_payload_t payload;
    char access_key[129];
    uint8_t payload_sha256[32]; /* when payload == SHA256 */
    uint64_t decoded_length;    /* x-amz-decoded-content-length for streaming */
    /* what the aws-chunked decoder needs to verify chunk signatures */
    uint8_t signing_key[32];
    char seed_signature[65];
    char amz_date[17]; /* 20130524T000000Z */
    char scope[128];   /* 20130524/us-east-1/s3/aws4_request */
    /* x-amz-trailer, lower-cased ("x-amz-checksum-crc32"), "" if none:
     * the trailer the streaming-trailer modes announce */
    char trailer[48];
    hs_sigv4_error_t err; /* filled when verify fails */
    char err_buf[160];    /* room for err.message when it names request values */
} hs_sigv4_auth_t;

#endif
