/*
 * The load generator's random numbers: xoshiro256** (Blackman & Vigna),
 * one state per worker thread seeded from --seed and the thread index, so a
 * run's request sequence is reproducible and threads never share state.
 */
#ifndef HS_LOADGEN_RNG_H
#define HS_LOADGEN_RNG_H

#include <stdint.h>

typedef struct hs_lg_rng {
    uint64_t s[4];
} hs_lg_rng_t;

static inline uint64_t hs_lg_rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds r from (seed, stream): different streams give unrelated sequences. */
static inline void hs_lg_rng_seed(hs_lg_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = hs_lg_rng_splitmix(&x);
}

static inline uint64_t hs_lg_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t hs_lg_rng_next(hs_lg_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = hs_lg_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = hs_lg_rng_rotl(s[3], 45);
    return out;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double hs_lg_rng_unit(hs_lg_rng_t *r)
{
    return (double)(hs_lg_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) (n > 0), without modulo bias (Lemire). */
static inline uint64_t hs_lg_rng_below(hs_lg_rng_t *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)hs_lg_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = -n % n;
        while (lo < thresh) {
            m = (unsigned __int128)hs_lg_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

#endif
