/* Glue to the origin's SigV4 signer for the load generator's requests. */
#include "loadgen/s3sign.h"

#include <string.h>

#include "core/err.h"
#include "origin/sigv4.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static hs_str_t S(const char *s)
{
    return (hs_str_t){s, strlen(s)};
}

int hs_lg_s3_sign(hs_lg_s3sig_t *sig, const char *method, const char *path, const char *host,
                  bool has_body, const char *access_key, const char *secret_key, const char *region,
                  const char *amz_date)
{
    const char *payload = has_body ? "UNSIGNED-PAYLOAD" : EMPTY_SHA256;
    size_t dl = strlen(amz_date);
    if (dl >= sizeof(sig->date)) return HS_EINVAL;
    memcpy(sig->date, amz_date, dl + 1);
    /* what the signer signs: sorted lower-case names, host included */
    hs_http_header_t signed_h[3] = {
        {S("host"), S(host)},
        {S("x-amz-content-sha256"), S(payload)},
        {S("x-amz-date"), S(sig->date)},
    };
    int rc = hs_sigv4_sign(method, path, "", signed_h, 3, payload, access_key, secret_key, region,
                           sig->date, sig->auth, sizeof(sig->auth));
    if (rc < 0) return rc;
    sig->h[0] = signed_h[2];
    sig->h[1] = signed_h[1];
    sig->h[2] = (hs_http_header_t){S("authorization"), S(sig->auth)};
    return 0;
}
