/*
 * Keys of the metadata store in the kv role store. A bucket's contents sit
 * in one contiguous range ('o' NAME 00 ...), objects in S3 key order inside
 * it, so a listing is a range scan and bucket emptiness one seek. LMDB
 * bounds kv keys at 511 bytes while S3 keys reach 1024, so keys past
 * HS__META_HEAD bytes keep only their head in the kv key (plus a hash to
 * tell them apart); docs/design/origin-meta.md explains why order survives.
 */
#include <openssl/evp.h>
#include <string.h>

#include "origin/meta-int.h"

bool hs__meta_bucket_ok(const char *name)
{
    if (!name) return false;
    size_t n = strnlen(name, HS_META_BUCKET_MAX + 1);
    return n >= 1 && n <= HS_META_BUCKET_MAX;
}

size_t hs__meta_key_bucket(uint8_t *k, const char *bucket)
{
    size_t n = strlen(bucket);
    k[0] = 'b';
    memcpy(k + 1, bucket, n);
    return n + 1;
}

size_t hs__meta_key_ns(uint8_t *k, const char *bucket, int sub)
{
    size_t n = strlen(bucket);
    k[0] = 'o';
    memcpy(k + 1, bucket, n);
    k[n + 1] = 0;
    if (!sub) return n + 2;
    k[n + 2] = (uint8_t)sub;
    return n + 3;
}

size_t hs__meta_key_ek(uint8_t *k, size_t n, const char *key, size_t keylen)
{
    if (keylen <= HS__META_HEAD) {
        memcpy(k + n, key, keylen);
        return n + keylen;
    }
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    memcpy(k + n, key, HS__META_HEAD);
    k[n + HS__META_HEAD] = 1;
    /* SHA-256 rather than a fast hash: a client choosing keys must not be
     * able to make two long keys share a kv key. */
    int ok = EVP_Digest(key, keylen, h, &hl, EVP_sha256(), NULL);
    if (!ok || hl < HS__META_HASH) memset(h, 0, sizeof(h)); /* envelope check still tells keys apart */
    memcpy(k + n + HS__META_HEAD + 1, h, HS__META_HASH);
    return n + HS__META_EK_LONG;
}

size_t hs__meta_key_upload(uint8_t *k, const char *bucket, const char *id)
{
    size_t n = hs__meta_key_ns(k, bucket, HS__META_K_UPLOAD);
    memcpy(k + n, id, HS_META_UPLOAD_ID_LEN);
    return n + HS_META_UPLOAD_ID_LEN;
}

size_t hs__meta_key_part(uint8_t *k, const char *bucket, const char *id, unsigned part)
{
    size_t n = hs__meta_key_ns(k, bucket, HS__META_K_PART);
    memcpy(k + n, id, HS_META_UPLOAD_ID_LEN);
    n += HS_META_UPLOAD_ID_LEN;
    k[n] = (uint8_t)(part >> 8);
    k[n + 1] = (uint8_t)part;
    return n + 2;
}

size_t hs__meta_succ(uint8_t *p, size_t n)
{
    while (n > 0 && p[n - 1] == 0xff)
        n--;
    if (n == 0) return 0;
    p[n - 1]++;
    return n;
}

bool hs__meta_upload_id_ok(const char *id)
{
    if (!id) return false;
    for (int i = 0; i < HS_META_UPLOAD_ID_LEN; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return id[HS_META_UPLOAD_ID_LEN] == 0;
}
