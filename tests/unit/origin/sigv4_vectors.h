/*
 * Requests captured from the real clients of Debian 12 (aws-cli 2.9.19,
 * python3-boto3 1.26.27 / botocore 1.29.27) against a logging HTTP server,
 * signed with the AWS documentation key pair (AKIAIOSFODNN7EXAMPLE /
 * wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1). Headers the
 * signature does not cover (User-Agent, Accept-Encoding) were dropped;
 * the amz-sdk-* ones were kept as unsigned headers. *_NOW is the
 * request's x-amz-date as seconds since the epoch.
 * Over http:// both clients sign the payload (hex x-amz-content-sha256);
 * boto3 with payload_signing_enabled=False sends UNSIGNED-PAYLOAD; over
 * https:// boto3 sends UNSIGNED-PAYLOAD, and STREAMING-UNSIGNED-PAYLOAD-
 * TRAILER with an x-amz-checksum-crc32 trailer when a checksum is asked
 * for (boto_trailer below).
 */
#ifndef TEST_SIGV4_VECTORS_H
#define TEST_SIGV4_VECTORS_H

/* awscli/001.head */
#define AWSCLI_PUT_KEY_NOW 1795860224ll
static const char awscli_put_key[] =
    "PUT /bkt/dir/a%20b%2Bc~d%3De%26f%20%C3%BC.txt HTTP/1.1\r\n"
    "Host: 127.0.0.1:18931\r\n"
    "Content-Type: text/plain\r\n"
    "Content-MD5: b1kCrCNwJL3QwXbLkwY9xA==\r\n"
    "Expect: 100-continue\r\n"
    "X-Amz-Date: 20261128T100344Z\r\n"
    "X-Amz-Content-SHA256: a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date, Signature=821430789dbb761492bda2a993fa63f688a6174481f322dfd3d811d157a12d96\r\n"
    "Content-Length: 12\r\n"
    "\r\n";

/* awscli/004.head */
#define AWSCLI_LIST_NOW 1795860230ll
static const char awscli_list[] =
    "GET /bkt?list-type=2&prefix=a%20b%2Bc%3Dd%26e%2F%C3%BC&encoding-type=url HTTP/1.1\r\n"
    "Host: 127.0.0.1:18931\r\n"
    "X-Amz-Date: 20261128T100350Z\r\n"
    "X-Amz-Content-SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=6744cd1164561a6013e8971ef62ea668f33eaf343ae046c30da94654c6c29bd8\r\n"
    "\r\n";

/* awscli/006.head */
#define AWSCLI_PART_NOW 1795860231ll
static const char awscli_part[] =
    "PUT /bkt/big.bin?uploadId=UP1&partNumber=2 HTTP/1.1\r\n"
    "Host: 127.0.0.1:18931\r\n"
    "Content-MD5: /wWsFRRVgjL5bo4GIgLNvw==\r\n"
    "Expect: 100-continue\r\n"
    "X-Amz-Date: 20261128T100351Z\r\n"
    "X-Amz-Content-SHA256: 28fc935854bcbbfa44c54806a9ccb91735dc7db53446d430c97afa2d8bb1ff8b\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, Signature=52a4b9c33ee2263e97880e1b72410eff5b9d6ff1b29853b702301a9ab2eaf050\r\n"
    "Content-Length: 611392\r\n"
    "\r\n";

/* boto/004.head */
#define BOTO_LIST_NOW 1795860250ll
static const char boto_list[] =
    "GET /bkt?list-type=2&prefix=p%20q%2Br&start-after=a%3Db%26c&encoding-type=url HTTP/1.1\r\n"
    "host: 127.0.0.1:18932\r\n"
    "X-Amz-Date: 20261128T100410Z\r\n"
    "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=1675f6605da890506d507e20dd66b155a83aaa922bdcdbb2900af6353dd8838d\r\n"
    "amz-sdk-invocation-id: 9de6c479-e7f8-4e78-88db-c5835233d2a0\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "\r\n";

/* boto/005.head */
#define BOTO_RANGE_NOW 1795860250ll
static const char boto_range[] =
    "GET /bkt/g HTTP/1.1\r\n"
    "Range: bytes=0-3\r\n"
    "host: 127.0.0.1:18932\r\n"
    "X-Amz-Date: 20261128T100410Z\r\n"
    "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=cc5b47c8424bb79b691454a0256feb8b68bbca648b67e1e817e33bd43edae9b7\r\n"
    "amz-sdk-invocation-id: 314504f8-1beb-495a-8b30-95b687f89cf6\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "\r\n";

/* boto/006.head */
#define BOTO_UNSIGNED_NOW 1795860250ll
static const char boto_unsigned[] =
    "PUT /bkt/unsigned HTTP/1.1\r\n"
    "Content-MD5: lKfbYbC6rOmg8Dd1lYZZQA==\r\n"
    "Expect: 100-continue\r\n"
    "host: 127.0.0.1:18932\r\n"
    "X-Amz-Date: 20261128T100410Z\r\n"
    "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, Signature=3019e252a5eed9f09ed5142d4110e64c24c362d64d3c166cc9371e8b251da08c\r\n"
    "amz-sdk-invocation-id: ddb0e948-138a-48df-bedb-fb77591ca33a\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "Content-Length: 13\r\n"
    "\r\n";

/* boto/001.head */
#define BOTO_PUT_KEY_NOW 1795860246ll
static const char boto_put_key[] =
    "PUT /bkt/x/y%20z%2B1~%3D%26%C3%BC HTTP/1.1\r\n"
    "Content-MD5: H6+dp/J6MIBKAS62lgFr9Q==\r\n"
    "Expect: 100-continue\r\n"
    "host: 127.0.0.1:18932\r\n"
    "X-Amz-Date: 20261128T100406Z\r\n"
    "x-amz-content-sha256: 200ffe97f9f394769eb3294e8593b435c28adb78a49c8d24b17a3f4adddef15a\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, Signature=98b68ff0c7ec9eb6255cab3e4723f2e456c474f2ada8ec9f136f8406919a4b41\r\n"
    "amz-sdk-invocation-id: 38fd4ec8-59b0-4ea1-90c4-2d5d7a407463\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "Content-Length: 10\r\n"
    "\r\n";

/* bototls/002.head */
#define BOTO_TRAILER_NOW 1795860574ll
static const char boto_trailer[] =
    "PUT /bkt/crc HTTP/1.1\r\n"
    "x-amz-sdk-checksum-algorithm: CRC32\r\n"
    "Expect: 100-continue\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Content-Encoding: aws-chunked\r\n"
    "X-Amz-Trailer: x-amz-checksum-crc32\r\n"
    "X-Amz-Decoded-Content-Length: 9\r\n"
    "host: 127.0.0.1:18934\r\n"
    "X-Amz-Date: 20261128T100934Z\r\n"
    "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=content-encoding;host;transfer-encoding;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checksum-algorithm;x-amz-trailer, Signature=18d01285dd45c8948642529e0a702cc4f353dabe7559922384c140bd15180909\r\n"
    "amz-sdk-invocation-id: 564731bc-7a7d-4d5a-9f5c-250cd1fd1709\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "\r\n";

static const char boto_trailer_body[] =
    "9\r\n"
    "hello crc\r\n"
    "0\r\n"
    "x-amz-checksum-crc32:kuphMA==\r\n"
    "\r\n";

/* aws s3 presign "s3://bkt/dir/a b+c.txt" --expires-in 600 */
#define AWSCLI_PRESIGN_NOW 1795860233ll
static const char awscli_presign[] =
    "GET /bkt/dir/a%20b%2Bc.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T100353Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=08a67762b4ae0f19ce035b8a5191e0ef22f5e65baaa9388a39871528137de221 HTTP/1.1\r\n"
    "Host: 127.0.0.1:18931\r\n"
    "\r\n";

/* boto3 generate_presigned_url('get_object', Key='x/y z+1~=&\xc3\xbc', ExpiresIn=3600) */
#define BOTO_PRESIGN_NOW 1795860250ll
static const char boto_presign[] =
    "GET /bkt/x/y%20z%2B1~%3D%26%C3%BC?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T100410Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=286e851ef19f213ac79217ef1a247931836173450bd232bdf3ef52b8a5bdab2e HTTP/1.1\r\n"
    "Host: 127.0.0.1:18932\r\n"
    "\r\n";

#endif
