/*
 * SigV4 headers for the load generator's S3 requests, over the origin's
 * signer (origin/sigv4.h). Bodies are sent as UNSIGNED-PAYLOAD so a PUT
 * costs a few HMACs, not a hash of every body byte.
 */
#ifndef HS_LOADGEN_S3SIGN_H
#define HS_LOADGEN_S3SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "http/msg-t.h"

/* Room for one request's signing headers and their values. */
typedef struct hs_lg_s3sig {
    hs_http_header_t h[3]; /* x-amz-date, x-amz-content-sha256, authorization */
    char date[20];
    char auth[512];
} hs_lg_s3sig_t;

/*
 * Signs `method path` for host with the given credentials at amz_date
 * ("YYYYMMDDTHHMMSSZ") and fills sig->h. Returns 0 or the signer's error
 * (HS_EINVAL, HS_E2BIG, HS_ENOMEM).
 */
int hs_lg_s3_sign(hs_lg_s3sig_t *sig, const char *method, const char *path, const char *host,
                  bool has_body, const char *access_key, const char *secret_key, const char *region,
                  const char *amz_date);

#endif
