/*
 * Decoder of aws-chunked request bodies (S3 streaming uploads): chunk
 * framing, chunk signatures chained from the request's seed signature,
 * the total against x-amz-decoded-content-length, and trailers (a
 * flexible checksum, and x-amz-trailer-signature in the signed-trailer
 * mode). Incremental in the style of hs_http_chunked_decode: input may be
 * cut anywhere and payload runs point into the caller's input.
 *
 * Body layout, per payload mode of the request (origin/sigv4.h):
 *   STREAMING:        hex-size;chunk-signature=SIG CRLF data CRLF ...
 *                     0;chunk-signature=SIG CRLF CRLF
 *   STREAMING_TRAILER: the same chunks, then after the final chunk line
 *                     [CRLF] name:value CRLF ... x-amz-trailer-signature:SIG
 *                     CRLF [CRLF]
 *   STREAMING_UNSIGNED_TRAILER: hex-size CRLF data CRLF ... 0 CRLF
 *                     name:value CRLF ... CRLF
 * (the bracketed empty lines are optional: AWS's documented example and
 * the SDKs disagree on them).
 *
 * Trailers: x-amz-checksum-crc32, -crc32c, -sha1 and -sha256 are checked
 * against the data (BadDigest on mismatch) when x-amz-trailer announced
 * them. Any other x-amz-checksum- algorithm (crc64nvme...) is accepted
 * without verification: refusing it would fail every upload of a newer
 * SDK, and in the signed mode the trailer signature still covers it. A
 * trailer that x-amz-trailer did not announce, or that is not an
 * x-amz-checksum-ALGO (or the trailer signature), is refused.
 */
#ifndef HS_ORIGIN_AWSCHUNKED_H
#define HS_ORIGIN_AWSCHUNKED_H

#include <stdbool.h>
#include <sys/types.h>

#include "origin/awschunked-t.h"

/* Sets d up for the body of the request auth describes (from a successful
 * hs_sigv4_verify with a STREAMING* payload mode). Any other mode, or an
 * x-amz-trailer we cannot take, makes the first decode call fail with
 * d->err set. May allocate digest contexts: release them with
 * hs_awschunked_free (they are also released when the body completes or
 * fails). */
void hs_awschunked_init(hs_awschunked_t *d, const hs_sigv4_auth_t *auth);

/*
 * Decodes from in[0..len). Returns the number of input bytes consumed
 * (>= 0), with *data and *data_len the first payload run among them (a
 * pointer into in; the call stops right after it, so callers loop until
 * consumed == 0 or done). A chunk's data is handed out before its
 * signature (which follows the data) can be checked: treat data as
 * provisional until hs_awschunked_done says true.
 * On error returns HS_EACCES (SignatureDoesNotMatch) or HS_EBADMSG
 * (IncompleteBody, InvalidChunkSizeError, BadDigest, InvalidRequest,
 * InvalidArgument; HS_ENOMEM for InternalError) with d->err filled, and
 * keeps returning it. Nothing is consumed after the body is done except an
 * optional final empty line; bytes past that are an error.
 */
ssize_t hs_awschunked_decode(hs_awschunked_t *d, const char *in, size_t len, const char **data,
                             size_t *data_len);

/* True once the whole body (last chunk, trailers, every signature and
 * checksum) has been received and verified. */
bool hs_awschunked_done(const hs_awschunked_t *d);

/* Releases what init allocated; d may be zeroed or already freed. */
void hs_awschunked_free(hs_awschunked_t *d);

#endif
