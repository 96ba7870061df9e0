/*
 * The cryptographic steps of SigV4 over libcrypto: HMAC-SHA256 chains,
 * the signing key, string-to-sign signatures and hex. Shared by the
 * verifier, the client-side signer and the aws-chunked decoder.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "core/err.h"
#include "origin/sigv4-int.h"
#include "origin/sigv4.h"

/* SHA-256 fetched once: OpenSSL 3 looks an implicit EVP_sha256() up in
 * its provider store on every use, and HMAC() fetches a MAC each call,
 * which made one verify cost six times what its hashing does. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *hs__sigv4_md(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}

/* One digest context per thread, reused by every HMAC and hash here:
 * EVP_MD_CTX_new per HMAC was an allocation and a free for each of the
 * five HMACs of a verify. The key's destructor frees it when the thread
 * ends; the main thread's lives until exit. */
static pthread_key_t md_key;
static pthread_once_t md_key_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *tl_md;

static void free_md(void *p)
{
    EVP_MD_CTX_free(p);
}

static void make_md_key(void)
{
    /* without a key the contexts of ending threads leak, but still work */
    (void)pthread_key_create(&md_key, free_md);
}

EVP_MD_CTX *hs__sigv4_thread_md(void)
{
    if (tl_md)
        return tl_md;
    pthread_once(&md_key_once, make_md_key);
    tl_md = EVP_MD_CTX_new();
    if (tl_md)
        (void)pthread_setspecific(md_key, tl_md);
    return tl_md;
}

static int digest2(EVP_MD_CTX *c, const void *a, size_t al, const void *b, size_t bl,
                   uint8_t out[32])
{
    unsigned ol = 0;
    if (EVP_DigestInit_ex(c, hs__sigv4_md(), NULL) != 1 || EVP_DigestUpdate(c, a, al) != 1 ||
        (bl && EVP_DigestUpdate(c, b, bl) != 1) || EVP_DigestFinal_ex(c, out, &ol) != 1 ||
        ol != 32)
        return HS_ENOMEM;
    return 0;
}

/* RFC 2104 over the fetched digest. */
int hs__sigv4_hmac(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
    uint8_t k[64] = {0}, pad[64], inner[32];
    EVP_MD_CTX *c = hs__sigv4_thread_md();
    if (!c)
        return HS_ENOMEM;
    int rc = 0;
    if (klen > 64)
        rc = digest2(c, key, klen, NULL, 0, k);
    else if (klen)
        memcpy(k, key, klen);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    if (!rc)
        rc = digest2(c, pad, 64, msg, mlen, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    if (!rc)
        rc = digest2(c, pad, 64, inner, 32, out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return rc;
}

int hs__sigv4_sha256(const void *p, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *c = hs__sigv4_thread_md();
    return c ? digest2(c, p, n, NULL, 0, out) : HS_ENOMEM;
}

void hs__sigv4_hex(const uint8_t in[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[64] = 0;
}

/* 0x10 | the value of each hex digit, 0 for anything else. A table and no
 * branches: a signature's digits are random, so a branch per digit (0-9 or
 * a-f?) was mispredicted half the time, some 30 times per request. */
static const uint8_t HEXVAL[256] = {
    ['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14,
    ['5'] = 0x15, ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19,
    ['a'] = 0x1a, ['b'] = 0x1b, ['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e, ['f'] = 0x1f,
    ['A'] = 0x1a, ['B'] = 0x1b, ['C'] = 0x1c, ['D'] = 0x1d, ['E'] = 0x1e, ['F'] = 0x1f,
};

int hs__sigv4_unhex(const char *in, size_t len, uint8_t out[32])
{
    if (len != 64)
        return HS_EINVAL;
    unsigned ok = 0x10;
    for (int i = 0; i < 32; i++) {
        unsigned h = HEXVAL[(unsigned char)in[2 * i]], l = HEXVAL[(unsigned char)in[2 * i + 1]];
        ok &= h & l;
        out[i] = (uint8_t)((h & 15) << 4 | (l & 15));
    }
    return ok ? 0 : HS_EINVAL;
}

int hs__sigv4_sign_lines(const uint8_t key[32], const char *algo, const char *amz_date,
                         const char *scope, const char *const *lines, unsigned nlines,
                         uint8_t out[32])
{
    /* every line is bounded: algo, a 16-byte date, a scope of < 128 and
     * 64-digit hashes or signatures */
    char sts[512];
    size_t n = 0;
    const char *head[3] = {algo, amz_date, scope};
    for (unsigned i = 0; i < 3 + nlines; i++) {
        const char *l = i < 3 ? head[i] : lines[i - 3];
        size_t ll = strlen(l);
        if (ll + 1 > sizeof(sts) - n)
            return HS_E2BIG;
        if (i)
            sts[n++] = '\n';
        memcpy(sts + n, l, ll);
        n += ll;
    }
    return hs__sigv4_hmac(key, 32, sts, n, out);
}

int hs_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                         uint8_t out[32])
{
    char k[4 + 256];
    size_t sl = strlen(secret);
    if (sl > 256 || strlen(date8) != 8)
        return HS_EINVAL;
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, sl);
    uint8_t a[32], b[32];
    int rc = hs__sigv4_hmac(k, 4 + sl, date8, 8, a);
    if (!rc)
        rc = hs__sigv4_hmac(a, 32, region, strlen(region), b);
    if (!rc)
        rc = hs__sigv4_hmac(b, 32, "s3", 2, a);
    if (!rc)
        rc = hs__sigv4_hmac(a, 32, "aws4_request", 12, out);
    /* the key material stays off the stack once used */
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    return rc;
}

int hs_sigv4_chunk_signature(const uint8_t signing_key[32], const char *amz_date,
                             const char *scope, const char *prev_signature, const void *data,
                             size_t len, char out[65])
{
    static const char empty[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    uint8_t h[32], sig[32];
    char hx[65];
    int rc = hs__sigv4_sha256(data, len, h);
    if (rc)
        return rc;
    hs__sigv4_hex(h, hx);
    const char *lines[3] = {prev_signature, empty, hx};
    rc = hs__sigv4_sign_lines(signing_key, "AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, lines, 3,
                              sig);
    if (!rc)
        hs__sigv4_hex(sig, out);
    return rc;
}

int hs_sigv4_trailer_signature(const uint8_t signing_key[32], const char *amz_date,
                               const char *scope, const char *prev_signature,
                               const char *trailers, size_t len, char out[65])
{
    uint8_t h[32], sig[32];
    char hx[65];
    int rc = hs__sigv4_sha256(trailers, len, h);
    if (rc)
        return rc;
    hs__sigv4_hex(h, hx);
    const char *lines[2] = {prev_signature, hx};
    rc = hs__sigv4_sign_lines(signing_key, "AWS4-HMAC-SHA256-TRAILER", amz_date, scope, lines, 2,
                              sig);
    if (!rc)
        hs__sigv4_hex(sig, out);
    return rc;
}
