/* Token bucket arithmetic (see bucket.h). */
#include "shield/bucket.h"

void hs_bucket_init(hs_bucket_t *b, uint32_t burst, uint64_t now_ms)
{
    b->tokens = (uint64_t)burst * HS_BUCKET_UNIT;
    b->last_ms = now_ms;
}

uint32_t hs_bucket_take(hs_bucket_t *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)burst * HS_BUCKET_UNIT;
    uint64_t per_ms = (uint64_t)rate * (HS_BUCKET_UNIT / 1000);
    if (now_ms > b->last_ms) {
        uint64_t dt = now_ms - b->last_ms;
        /* Past the time a refill from empty takes, the bucket is full: the
         * check also keeps dt * per_ms from overflowing after long idling. */
        if (dt > cap / per_ms + 1)
            b->tokens = cap;
        else
            b->tokens += dt * per_ms;
        b->last_ms = now_ms;
    }
    if (b->tokens > cap)
        b->tokens = cap;
    if (b->tokens >= HS_BUCKET_UNIT) {
        b->tokens -= HS_BUCKET_UNIT;
        return 0;
    }
    uint64_t wait_ms = (HS_BUCKET_UNIT - b->tokens + per_ms - 1) / per_ms;
    uint64_t s = (wait_ms + 999) / 1000;
    return s ? (uint32_t)s : 1;
}
