/* Retry budget over a sliding window of one-second slots (see budget.h). */
#include "balance/budget.h"

#include <string.h>

#define SLOT_NS 1000000000ull

void hs_balance_budget_init(hs_balance_budget_t *b, unsigned percent, unsigned min_per_s)
{
    memset(b, 0, sizeof(*b));
    b->percent = percent;
    b->min_per_s = min_per_s;
}

/* Moves the window to now: slots of seconds that have passed are emptied. */
static void advance(hs_balance_budget_t *b, uint64_t now_ns)
{
    uint64_t e = now_ns / SLOT_NS;
    if (e <= b->epoch)
        return;
    uint64_t steps = e - b->epoch;
    if (steps > HS_BALANCE_BUDGET_SLOTS)
        steps = HS_BALANCE_BUDGET_SLOTS;
    for (uint64_t i = 1; i <= steps; i++) {
        unsigned s = (unsigned)((b->epoch + i) % HS_BALANCE_BUDGET_SLOTS);
        b->reqs[s] = 0;
        b->retries[s] = 0;
    }
    b->epoch = e;
}

void hs_balance_budget_request(hs_balance_budget_t *b, uint64_t now_ns)
{
    advance(b, now_ns);
    uint32_t *c = &b->reqs[b->epoch % HS_BALANCE_BUDGET_SLOTS];
    if (*c < UINT32_MAX)
        (*c)++;
}

uint64_t hs_balance_budget_allowed(hs_balance_budget_t *b, uint64_t now_ns)
{
    advance(b, now_ns);
    uint64_t reqs = 0;
    for (unsigned i = 0; i < HS_BALANCE_BUDGET_SLOTS; i++)
        reqs += b->reqs[i];
    uint64_t by_ratio = reqs * b->percent / 100;
    uint64_t floor = (uint64_t)b->min_per_s * HS_BALANCE_BUDGET_SLOTS;
    return by_ratio > floor ? by_ratio : floor;
}

uint64_t hs_balance_budget_spent(hs_balance_budget_t *b, uint64_t now_ns)
{
    advance(b, now_ns);
    uint64_t n = 0;
    for (unsigned i = 0; i < HS_BALANCE_BUDGET_SLOTS; i++)
        n += b->retries[i];
    return n;
}

bool hs_balance_budget_try(hs_balance_budget_t *b, uint64_t now_ns)
{
    if (hs_balance_budget_spent(b, now_ns) >= hs_balance_budget_allowed(b, now_ns))
        return false;
    uint32_t *c = &b->retries[b->epoch % HS_BALANCE_BUDGET_SLOTS];
    if (*c < UINT32_MAX)
        (*c)++;
    return true;
}
