/*
 * S3 errors of the origin: every error code it answers with, its HTTP
 * status and default message (after Amazon's "Error responses" list of
 * error codes), the <Error> document, and the pure checks of bucket names
 * and object keys that decide InvalidBucketName / KeyTooLongError /
 * InvalidArgument.
 */
#ifndef HS_ORIGIN_S3ERR_H
#define HS_ORIGIN_S3ERR_H

#include <stddef.h>

#include "core/buf-t.h"

/* X(code, HTTP status, default message) */
#define HS_S3ERR_MAP(X)                                                                            \
    X(AccessDenied, 403, "Access Denied")                                                          \
    X(AccountProblem, 403, "There is a problem with your account that prevents the operation "     \
                           "from completing successfully.")                                        \
    X(AllAccessDisabled, 403, "All access to this Amazon S3 resource has been disabled.")          \
    X(AuthorizationHeaderMalformed, 400, "The authorization header is malformed.")                 \
    X(AuthorizationQueryParametersError, 400,                                                      \
      "Error parsing the X-Amz-Credential parameter or a required query parameter is missing.")    \
    X(BadDigest, 400, "The Content-MD5 you specified did not match what we received.")             \
    X(BucketAlreadyExists, 409, "The requested bucket name is not available. The bucket "          \
                                "namespace is shared by all users of the system. Please select "   \
                                "a different name and try again.")                                 \
    X(BucketAlreadyOwnedByYou, 409,                                                                \
      "Your previous request to create the named bucket succeeded and you already own it.")        \
    X(BucketNotEmpty, 409, "The bucket you tried to delete is not empty")                          \
    X(EntityTooLarge, 400, "Your proposed upload exceeds the maximum allowed object size.")        \
    X(EntityTooSmall, 400, "Your proposed upload is smaller than the minimum allowed object size.") \
    X(ExpiredToken, 400, "The provided token has expired.")                                        \
    X(IllegalLocationConstraintException, 400,                                                     \
      "The specified location constraint is not valid for this endpoint.")                         \
    X(IncompleteBody, 400, "You did not provide the number of bytes specified by the "             \
                           "Content-Length HTTP header.")                                          \
    X(InternalError, 500, "We encountered an internal error. Please try again.")                   \
    X(InvalidAccessKeyId, 403,                                                                     \
      "The AWS access key Id you provided does not exist in our records.")                         \
    X(InvalidArgument, 400, "Invalid Argument")                                                    \
    X(InvalidBucketName, 400, "The specified bucket is not valid.")                                \
    X(InvalidBucketState, 409, "The request is not valid with the current state of the bucket.")   \
    X(InvalidChunkSizeError, 403, "Only the last chunk is allowed to have a size less than "       \
                                  "8192 bytes")                                                    \
    X(InvalidDigest, 400, "The Content-MD5 you specified is not valid.")                           \
    X(InvalidLocationConstraint, 400, "The specified location constraint is not valid.")           \
    X(InvalidObjectState, 403, "The operation is not valid for the current state of the object.")  \
    X(InvalidPart, 400, "One or more of the specified parts could not be found. The part might "   \
                        "not have been uploaded, or the specified entity tag might not have "      \
                        "matched the part's entity tag.")                                          \
    X(InvalidPartOrder, 400, "The list of parts was not in ascending order. Parts must be "        \
                             "ordered by part number.")                                            \
    X(InvalidRange, 416, "The requested range is not satisfiable")                                \
    X(InvalidRequest, 400, "Invalid Request")                                                      \
    X(InvalidStorageClass, 400, "The storage class you specified is not valid")                    \
    X(InvalidTag, 400, "The tag provided was not a valid tag.")                                    \
    X(InvalidToken, 400, "The provided token is malformed or otherwise invalid.")                  \
    X(InvalidURI, 400, "Couldn't parse the specified URI.")                                        \
    X(KeyTooLongError, 400, "Your key is too long")                                                \
    X(MalformedACLError, 400, "The XML you provided was not well-formed or did not validate "      \
                              "against our published schema")                                      \
    X(MalformedPolicy, 400, "Policies must be valid JSON and the first byte must be '{'")          \
    X(MalformedXML, 400, "The XML you provided was not well-formed or did not validate against "   \
                         "our published schema")                                                   \
    X(MaxMessageLengthExceeded, 400, "Your request was too big.")                                  \
    X(MetadataTooLarge, 400, "Your metadata headers exceed the maximum allowed metadata size.")    \
    X(MethodNotAllowed, 405, "The specified method is not allowed against this resource.")         \
    X(MissingContentLength, 411, "You must provide the Content-Length HTTP header.")               \
    X(MissingRequestBodyError, 400, "Request Body is empty")                                       \
    X(MissingSecurityHeader, 400, "Your request is missing a required header.")                    \
    X(NoSuchBucket, 404, "The specified bucket does not exist")                                    \
    X(NoSuchBucketPolicy, 404, "The bucket policy does not exist")                                 \
    X(NoSuchKey, 404, "The specified key does not exist.")                                         \
    X(NoSuchLifecycleConfiguration, 404, "The lifecycle configuration does not exist")             \
    X(NoSuchTagSet, 404, "The TagSet does not exist")                                              \
    X(NoSuchUpload, 404, "The specified upload does not exist. The upload ID may be invalid, or "  \
                         "the upload may have been aborted or completed.")                         \
    X(NoSuchVersion, 404, "The specified version does not exist.")                                 \
    X(NotImplemented, 501, "A header you provided implies functionality that is not implemented")  \
    X(OperationAborted, 409, "A conflicting conditional operation is currently in progress "       \
                             "against this resource. Try again.")                                  \
    X(PreconditionFailed, 412, "At least one of the preconditions you specified did not hold")     \
    X(RequestTimeTooSkewed, 403,                                                                   \
      "The difference between the request time and the server's time is too large.")               \
    X(RequestTimeout, 400, "Your socket connection to the server was not read from or written "    \
                           "to within the timeout period.")                                        \
    X(ServiceUnavailable, 503, "Service is unable to handle request.")                             \
    X(SignatureDoesNotMatch, 403, "The request signature we calculated does not match the "        \
                                  "signature you provided. Check your key and signing method.")    \
    X(SlowDown, 503, "Please reduce your request rate.")                                           \
    X(TooManyBuckets, 400, "You have attempted to create more buckets than allowed")               \
    X(TooManyParts, 400, "You have attempted to add more parts than the maximum of 10000 that "    \
                         "are allowed for this object.")                                           \
    X(XAmzContentSHA256Mismatch, 400,                                                              \
      "The provided 'x-amz-content-sha256' header does not match what was computed.")

typedef enum hs_s3err {
#define HS_S3ERR_ENUM(code, status, msg) HS_S3ERR_##code,
    HS_S3ERR_MAP(HS_S3ERR_ENUM)
#undef HS_S3ERR_ENUM
    HS_S3ERR_COUNT
} hs_s3err_t;

typedef struct hs_s3err_info {
    const char *code; /* "NoSuchKey" */
    int status;       /* 404 */
    const char *message;
} hs_s3err_info_t;

/* The table entry of e (a valid hs_s3err_t). Never NULL. */
const hs_s3err_info_t *hs_s3err_info(hs_s3err_t e);

/* The table entry of the code named `code` (case-sensitive, as S3
 * codes are), or NULL if the origin does not know it. */
const hs_s3err_info_t *hs_s3err_lookup(const char *code);

/* HTTP status of `code`; 500 for a code not in the table. */
int hs_s3err_status(const char *code);

/*
 * Appends an S3 error document to out:
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <Error><Code>..</Code><Message>..</Message>extra_elems
 *   <Resource>..</Resource><RequestId>..</RequestId></Error>
 * message NULL takes the table's default (a generic one for an unknown
 * code); resource and request_id NULL leave their element out. code,
 * message, resource and request_id are escaped; a resource XML cannot
 * carry (an object key with control bytes) is written url-encoded as by
 * hs_s3_url_encode rather than dropped. extra_elems (may be NULL) is
 * copied verbatim and must be well-formed, escaped XML elements, such as
 * "<BucketName>b</BucketName>" -- build it with hs_xmlw_elem into a
 * scratch buffer when it holds request data. Returns 0 or HS_ENOMEM
 * (out then holds a partial document, to be dropped).
 */
int hs_s3err_xml(hs_buf_t *out, const char *code, const char *message, const char *resource,
                 const char *request_id, const char *extra_elems);

/*
 * Whether `name` (len bytes) may name a bucket: 3 to 63 characters of
 * lower-case letters, digits, '.' and '-', starting and ending with a
 * letter or digit, no "..", not shaped like an IPv4 address, and none of
 * the prefixes (xn--, sthree-, amzn-s3-demo-) and suffixes (-s3alias,
 * --ol-s3, .mrap, --x-s3, --table-s3) that S3 reserves. Returns NULL if
 * it may, else a static reason for the InvalidBucketName message.
 */
const char *hs_s3_bucket_name_ok(const char *name, size_t len);

/* Longest object key, in bytes of UTF-8 (S3's limit). */
#define HS_S3_KEY_MAX 1024

/*
 * Whether `key` (len bytes) may name an object: 1 to HS_S3_KEY_MAX bytes
 * of valid UTF-8 without NUL. Other control characters are allowed, as S3
 * allows them; listings must then carry such keys with encoding-type=url,
 * since XML 1.0 cannot (hs_xml_text_ok). NUL is refused because S3 itself
 * refuses it and keys travel as C strings through logs and stores.
 * Returns NULL if valid, else a static reason (the handler answers
 * KeyTooLongError when len > HS_S3_KEY_MAX, InvalidArgument otherwise).
 */
const char *hs_s3_key_ok(const char *key, size_t len);

#endif
