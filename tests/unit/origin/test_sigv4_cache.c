/*
 * Unit tests of src/origin/sigv4-cache.c, the per-thread signing-key
 * cache: a repeated scope is a hit with the same key; another day, region,
 * access key or secret misses and gets that scope's own key; a full cache
 * drops its least recently used entry; each thread has its own cache; and
 * through the verifier, a secret changed under the same access key is
 * never verified with the old secret's key. Derived keys are checked
 * against hs_sigv4_signing_key, which test_sigv4.c holds to the AWS
 * examples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parse.h"
#include "origin/sigv4-int.h"
#include "origin/sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SK2 "rotated/secret/key/of/the/same/access/id"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S(lit) HS_STR_LIT(lit)

static int setup(void **state)
{
    (void)state;
    hs__sigv4_key_cache_clear();
    return 0;
}

/* Looks (secret, ak, date8, region) up and checks the key against a
 * fresh derivation; returns what the cache returned (1 hit, 0 derived). */
static int lookup(const char *secret, const char *ak, const char *date8, const char *region,
                  uint8_t key[32])
{
    uint8_t want[32];
    assert_int_equal(hs_sigv4_signing_key(secret, date8, region, want), 0);
    int rc = hs__sigv4_cached_key(secret, (hs_str_t){ak, strlen(ak)},
                                  (hs_str_t){date8, strlen(date8)},
                                  (hs_str_t){region, strlen(region)}, key);
    assert_true(rc == 0 || rc == 1);
    assert_memory_equal(key, want, 32);
    return rc;
}

static void test_same_scope_hits(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", a), 0);
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", b), 1);
    assert_memory_equal(a, b, 32);
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", b), 1);
    hs__sigv4_key_cache_clear();
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", b), 0);
}

static void test_other_scope_misses(void **state)
{
    (void)state;
    uint8_t base[32], k[32];
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", base), 0);
    /* another day, region or secret is another key */
    assert_int_equal(lookup(SK, AK, "20130525", "us-east-1", k), 0);
    assert_memory_not_equal(k, base, 32);
    assert_int_equal(lookup(SK, AK, "20130524", "eu-west-1", k), 0);
    assert_memory_not_equal(k, base, 32);
    assert_int_equal(lookup(SK2, AK, "20130524", "us-east-1", k), 0);
    assert_memory_not_equal(k, base, 32);
    /* a region that is a prefix of another is not the other */
    assert_int_equal(lookup(SK, AK, "20130524", "us-east", k), 0);
    assert_memory_not_equal(k, base, 32);
    /* another access key with the same secret: its own entry, same key */
    assert_int_equal(lookup(SK, "AKIDOTHER", "20130524", "us-east-1", k), 0);
    assert_memory_equal(k, base, 32);
    /* each of them is cached now, the first one still */
    assert_int_equal(lookup(SK2, AK, "20130524", "us-east-1", k), 1);
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", k), 1);
    assert_memory_equal(k, base, 32);
}

static void day(char out[9], int i)
{
    snprintf(out, 9, "2013%02d%02d", 1 + i / 28, 1 + i % 28);
}

static void test_full_cache_evicts_lru(void **state)
{
    (void)state;
    uint8_t k[32];
    char d[9];
    for (int i = 0; i < HS__SIGV4_KEY_SLOTS; i++) {
        day(d, i);
        assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 0);
    }
    for (int i = 0; i < HS__SIGV4_KEY_SLOTS; i++) {
        day(d, i);
        assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 1);
    }
    day(d, 0);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 1); /* day 1 now the least recent */
    day(d, HS__SIGV4_KEY_SLOTS);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 0); /* full: evicts day 1 */
    day(d, 0);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 1);
    day(d, HS__SIGV4_KEY_SLOTS);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 1);
    day(d, 1);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 0); /* was evicted */
    day(d, 2);
    assert_int_equal(lookup(SK, AK, d, "us-east-1", k), 0); /* and made room by evicting 2 */
}

static void test_bad_input(void **state)
{
    (void)state;
    uint8_t k[32];
    assert_int_equal(hs__sigv4_cached_key(SK, S(AK), S("2013052"), S("us-east-1"), k),
                     HS_EINVAL);
    char region[80];
    memset(region, 'a', 65);
    region[65] = 0;
    assert_int_equal(hs__sigv4_cached_key(SK, S(AK), S("20130524"), (hs_str_t){region, 65}, k),
                     HS_EINVAL);
    /* a secret too long to sign with is refused, and not cached */
    char secret[300];
    memset(secret, 's', 299);
    secret[299] = 0;
    assert_int_equal(hs__sigv4_cached_key(secret, S(AK), S("20130524"), S("us-east-1"), k),
                     HS_EINVAL);
    assert_int_equal(hs__sigv4_cached_key(secret, S(AK), S("20130524"), S("us-east-1"), k),
                     HS_EINVAL);
    /* a longer access key than an entry holds still gets its key, uncached */
    char ak[200];
    memset(ak, 'A', 199);
    ak[199] = 0;
    assert_int_equal(lookup(SK, ak, "20130524", "us-east-1", k), 0);
    assert_int_equal(lookup(SK, ak, "20130524", "us-east-1", k), 0);
}

static void *other_thread(void *arg)
{
    uint8_t k[32];
    int *rc = arg;
    rc[0] = hs__sigv4_cached_key(SK, S(AK), S("20130524"), S("us-east-1"), k);
    rc[1] = hs__sigv4_cached_key(SK, S(AK), S("20130524"), S("us-east-1"), k);
    return NULL;
}

static void test_per_thread(void **state)
{
    (void)state;
    uint8_t k[32];
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", k), 0);
    int rc[2] = {-1, -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, rc), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* the other thread had its own, empty cache (freed when it ended) */
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], 1);
    assert_int_equal(lookup(SK, AK, "20130524", "us-east-1", k), 1);
}

/* ---- through the verifier ---- */

typedef struct req {
    char *buf;
    hs_http_msg_t msg;
    hs_http_header_t h[16];
} req_t;

/* A GET signed with secret, parsed from an exact-size heap copy. */
static req_t *signed_get(const char *secret)
{
    hs_http_header_t hs[3] = {
        {S("Host"), S("examplebucket.s3.amazonaws.com")},
        {S("x-amz-date"), S("20130524T000000Z")},
        {S("x-amz-content-sha256"), S(EMPTY)},
    };
    char auth[512], head[1024];
    assert_true(hs_sigv4_sign("GET", "/test.txt", "", hs, 3, EMPTY, AK, secret, "us-east-1",
                              "20130524T000000Z", auth, sizeof(auth)) > 0);
    int n = snprintf(head, sizeof(head),
                     "GET /test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n"
                     "x-amz-date: 20130524T000000Z\r\nx-amz-content-sha256: " EMPTY "\r\n"
                     "Authorization: %s\r\n\r\n",
                     auth);
    req_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->buf = malloc((size_t)n);
    assert_non_null(r->buf);
    memcpy(r->buf, head, (size_t)n);
    hs_http_error_t err;
    assert_int_equal(hs_http_parse_request(r->buf, (size_t)n, &r->msg, r->h, 16, NULL, &err), n);
    return r;
}

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    return len == strlen(AK) && !memcmp(ak, AK, len) ? *(const char **)arg : NULL;
}

static int verify(req_t *r, const char *secret, hs_sigv4_auth_t *a)
{
    return hs_sigv4_verify(&r->msg, secret_of, &secret, "us-east-1", 1369353600ll, 900, a);
}

static void test_rotated_secret(void **state)
{
    (void)state;
    req_t *old = signed_get(SK), *rotated = signed_get(SK2);
    hs_sigv4_auth_t a;
    uint8_t key_old[32];
    assert_int_equal(verify(old, SK, &a), 0);
    memcpy(key_old, a.signing_key, 32);
    assert_int_equal(verify(old, SK, &a), 0); /* from the cache */
    /* the secret of AK changes: the old key must not verify anything */
    assert_int_equal(verify(old, SK2, &a), HS_EACCES);
    assert_string_equal(a.err.code, "SignatureDoesNotMatch");
    assert_int_equal(verify(rotated, SK2, &a), 0);
    assert_memory_not_equal(a.signing_key, key_old, 32);
    assert_int_equal(verify(rotated, SK, &a), HS_EACCES);
    assert_string_equal(a.err.code, "SignatureDoesNotMatch");
    assert_int_equal(verify(old, SK, &a), 0);
    assert_memory_equal(a.signing_key, key_old, 32);
    free(old->buf);
    free(old);
    free(rotated->buf);
    free(rotated);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_same_scope_hits, setup),
        cmocka_unit_test_setup(test_other_scope_misses, setup),
        cmocka_unit_test_setup(test_full_cache_evicts_lru, setup),
        cmocka_unit_test_setup(test_bad_input, setup),
        cmocka_unit_test_setup(test_per_thread, setup),
        cmocka_unit_test_setup(test_rotated_secret, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
