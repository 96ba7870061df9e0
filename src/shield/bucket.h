/*
 * Token bucket arithmetic, pure and clock-free (callers pass the time in
 * milliseconds). Tokens are counted in millionths so slow rates refill
 * smoothly at millisecond steps without floating point.
 */
#ifndef HS_SHIELD_BUCKET_H
#define HS_SHIELD_BUCKET_H

#include <stdint.h>

#define HS_BUCKET_UNIT 1000000u /* one token */
#define HS_BUCKET_RATE_MAX 10000000u /* tokens/s and burst ceiling: no overflow below it */

typedef struct hs_bucket {
    uint64_t tokens;  /* millionths of a token */
    uint64_t last_ms; /* time of the last refill */
} hs_bucket_t;

/* A full bucket (burst tokens) as of now_ms. */
void hs_bucket_init(hs_bucket_t *b, uint32_t burst, uint64_t now_ms);

/*
 * Refills for the time since the last call at `rate` tokens per second (up
 * to `burst` tokens; 1 <= rate, burst <= HS_BUCKET_RATE_MAX) and takes one
 * token. Returns 0 when a token was taken, else the whole seconds until
 * one will be there (at least 1: the Retry-After value). A clock that
 * steps back (callers on other threads) refills nothing. A bucket holding
 * more than a smaller new burst is cut down to it.
 */
uint32_t hs_bucket_take(hs_bucket_t *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

#endif
