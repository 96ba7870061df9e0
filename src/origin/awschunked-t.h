/* State of the aws-chunked body decoder (origin/awschunked.h). */
#ifndef HS_ORIGIN_AWSCHUNKED_T_H
#define HS_ORIGIN_AWSCHUNKED_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin/sigv4-t.h"

#define HS_AWSCHUNKED_LINE_MAX 256   /* a chunk-size extension or a trailer line */
#define HS_AWSCHUNKED_CANON_MAX 1024 /* the canonical trailer lines, signed */

typedef struct hs_awschunked {
    int state;
    uint8_t mode;     /* hs_sigv4_payload_t */
    uint8_t sum_algo; /* checksum announced by x-amz-trailer, if we verify it */
    bool done;        /* every chunk and trailer received and verified */
    bool blank_seen;  /* the optional empty line before signed trailers */
    bool sum_seen;    /* the announced checksum trailer arrived */
    uint8_t hex_digits;
    uint16_t line_len;
    uint16_t ntrailers;
    uint16_t canon_len;
    uint64_t size;      /* chunk-size of the current chunk */
    uint64_t remaining; /* data bytes left in it */
    uint64_t total;     /* data bytes so far */
    uint64_t decoded_length;
    uint32_t crc;
    void *chunk_md; /* EVP_MD_CTX: SHA-256 of the current chunk (signed modes) */
    void *sum_md;   /* EVP_MD_CTX: SHA-1/SHA-256 checksum of all data */
    uint8_t signing_key[32];
    char amz_date[17];
    char scope[128];
    char trailer[48];
    char prev_sig[65]; /* signature the next chunk chains from */
    char chunk_sig[65];
    char line[HS_AWSCHUNKED_LINE_MAX];
    char canon[HS_AWSCHUNKED_CANON_MAX];
    hs_sigv4_error_t err;
} hs_awschunked_t;

#endif
