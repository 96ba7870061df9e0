/*
 * Per-thread cache of SigV4 signing keys. The key is a chain of four
 * HMACs over (secret, day, region, service) that changes once a day per
 * access key, yet deriving it was half the cost of verifying a request.
 * Each thread keeps its own few entries, so a lookup takes no lock and
 * shares no cache line. Entries carry a 128-bit hash of the secret they
 * were derived from rather than a copy of it: a changed secret misses and
 * a stale key is never used, with no invalidation hook to forget.
 * The service is always s3 here (the verifier refuses any other), so it
 * is not part of the entry.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/metrics.h"
#include "origin/sigv4-int.h"
#include "origin/sigv4.h"

#define AK_MAX 128
#define REGION_MAX 64

typedef struct key_ent {
    XXH128_hash_t secret_id;
    uint64_t used; /* tick of the last hit; 0: free */
    uint8_t ak_len, region_len;
    char date8[9];
    char region[REGION_MAX + 1];
    char ak[AK_MAX];
    uint8_t key[32];
} key_ent_t;

typedef struct key_cache {
    uint64_t tick;
    key_ent_t e[HS__SIGV4_KEY_SLOTS];
} key_cache_t;

/* NULL until hs__sigv4_key_cache_metrics_init (unit tests go without). */
static hs_counter_t *m_hits, *m_misses;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local key_cache_t *tl_cache;

/* Signing keys are secrets: wiped before the memory goes back. */
static void free_cache(void *p)
{
    OPENSSL_cleanse(p, sizeof(key_cache_t));
    free(p);
}

static void make_cache_key(void)
{
    (void)pthread_key_create(&cache_key, free_cache);
}

static key_cache_t *thread_cache(void)
{
    if (tl_cache)
        return tl_cache;
    pthread_once(&cache_once, make_cache_key);
    tl_cache = calloc(1, sizeof(*tl_cache));
    if (tl_cache)
        (void)pthread_setspecific(cache_key, tl_cache);
    return tl_cache;
}

void hs__sigv4_key_cache_metrics_init(void)
{
    m_hits = hs_counter("hs_origin_sigv4_key_cache_hits_total", NULL,
                        "SigV4 signing keys found in the per-thread cache");
    m_misses = hs_counter("hs_origin_sigv4_key_cache_misses_total", NULL,
                          "SigV4 signing keys derived (not in the per-thread cache)");
}

void hs__sigv4_key_cache_clear(void)
{
    if (tl_cache)
        OPENSSL_cleanse(tl_cache, sizeof(*tl_cache));
}

static bool same(const key_ent_t *e, XXH128_hash_t id, hs_str_t ak, hs_str_t date8,
                 hs_str_t region)
{
    return e->used && XXH128_isEqual(e->secret_id, id) && e->ak_len == ak.len &&
           e->region_len == region.len && !memcmp(e->date8, date8.base, 8) &&
           !memcmp(e->ak, ak.base, ak.len) && !memcmp(e->region, region.base, region.len);
}

int hs__sigv4_cached_key(const char *secret, hs_str_t access_key, hs_str_t date8,
                         hs_str_t region, uint8_t out[32])
{
    if (date8.len != 8 || region.len > REGION_MAX)
        return HS_EINVAL;
    key_cache_t *c = access_key.len <= AK_MAX ? thread_cache() : NULL;
    key_ent_t tmp, *e = &tmp;
    XXH128_hash_t id = XXH3_128bits(secret, strlen(secret));
    if (c) {
        key_ent_t *victim = &c->e[0];
        for (unsigned i = 0; i < HS__SIGV4_KEY_SLOTS; i++) {
            key_ent_t *x = &c->e[i];
            if (same(x, id, access_key, date8, region)) {
                x->used = ++c->tick;
                memcpy(out, x->key, 32);
                if (m_hits) hs_counter_inc(m_hits);
                return 1;
            }
            if (x->used < victim->used)
                victim = x;
        }
        e = victim;
    }
    /* uncached (tmp) or not, the derivation wants NUL-terminated strings */
    memset(e, 0, sizeof(*e));
    memcpy(e->date8, date8.base, 8);
    memcpy(e->region, region.base, region.len);
    if (m_misses) hs_counter_inc(m_misses);
    int rc = hs_sigv4_signing_key(secret, e->date8, e->region, out);
    if (rc || !c) {
        OPENSSL_cleanse(e, sizeof(*e));
        return rc;
    }
    e->secret_id = id;
    e->ak_len = (uint8_t)access_key.len;
    e->region_len = (uint8_t)region.len;
    memcpy(e->ak, access_key.base, access_key.len);
    memcpy(e->key, out, 32);
    e->used = ++c->tick;
    return 0;
}
