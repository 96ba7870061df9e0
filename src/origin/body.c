/*
 * Request payloads as SigV4 delivers them: plain bytes (unsigned, or
 * signed by x-amz-content-sha256, checked at the end), or aws-chunked
 * framing with per-chunk signatures or checksum trailers. Whoever stores
 * the bytes treats them as provisional until hs__s3_body_end says yes.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "origin/awschunked.h"
#include "origin/s3-int.h"

int hs__s3_body_init(s3body_t *b, const hs_sigv4_auth_t *auth)
{
    *b = (s3body_t){.mode = auth->payload};
    switch (auth->payload) {
    case HS_SIGV4_PAYLOAD_SHA256:
        b->sha = EVP_MD_CTX_new();
        if (!b->sha || EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL) != 1) {
            b->ecode = "InternalError";
            return HS_ENOMEM;
        }
        memcpy(b->want, auth->payload_sha256, 32);
        return 0;
    case HS_SIGV4_PAYLOAD_STREAMING:
    case HS_SIGV4_PAYLOAD_STREAMING_TRAILER:
    case HS_SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER:
        b->ac = malloc(sizeof(*b->ac));
        if (!b->ac) {
            b->ecode = "InternalError";
            return HS_ENOMEM;
        }
        hs_awschunked_init(b->ac, auth);
        return 0;
    default:
        return 0;
    }
}

int hs__s3_body_feed(s3body_t *b, const char *in, size_t len, s3_sink_fn sink, void *arg)
{
    if (!b->ac) {
        if (b->sha && EVP_DigestUpdate(b->sha, in, len) != 1) {
            b->ecode = "InternalError";
            return HS_ENOMEM;
        }
        b->total += len;
        int rc = len ? sink(arg, in, len) : 0;
        if (rc && !b->ecode)
            b->ecode = "InternalError";
        return rc;
    }
    while (len) {
        const char *data = NULL;
        size_t dlen = 0;
        ssize_t used = hs_awschunked_decode(b->ac, in, len, &data, &dlen);
        if (used < 0) {
            b->ecode = b->ac->err.code ? b->ac->err.code : "IncompleteBody";
            b->emsg = b->ac->err.message;
            return (int)used;
        }
        if (dlen) {
            b->total += dlen;
            int rc = sink(arg, data, dlen);
            if (rc) {
                if (!b->ecode)
                    b->ecode = "InternalError";
                return rc;
            }
        }
        if (used == 0 && dlen == 0)
            break;
        in += used;
        len -= (size_t)used;
    }
    return 0;
}

int hs__s3_body_end(s3body_t *b)
{
    if (b->ac) {
        if (!hs_awschunked_done(b->ac)) {
            b->ecode = "IncompleteBody";
            b->emsg = "the aws-chunked body ended before its last chunk";
            return HS_EBADMSG;
        }
        return 0;
    }
    if (b->sha) {
        uint8_t got[32];
        unsigned n = 0;
        if (EVP_DigestFinal_ex(b->sha, got, &n) != 1 || n != 32 || memcmp(got, b->want, 32)) {
            b->ecode = "XAmzContentSHA256Mismatch";
            b->emsg = "the body's SHA-256 differs from x-amz-content-sha256";
            return HS_EACCES;
        }
    }
    return 0;
}

void hs__s3_body_free(s3body_t *b)
{
    if (b->sha)
        EVP_MD_CTX_free(b->sha);
    if (b->ac)
        hs_awschunked_free(b->ac);
    free(b->ac);
    b->sha = NULL;
    b->ac = NULL;
}

int hs__s3_body_to_buf(void *arg, const char *data, size_t len)
{
    return hs_buf_append(arg, data, len);
}
