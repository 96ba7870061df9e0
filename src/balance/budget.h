/*
 * Retry budget: over a sliding window of 10 one-second slots, retries are
 * allowed up to max(min_per_s * 10, percent/100 * first tries in the
 * window). Retries do not earn budget, so a failing backend cannot turn
 * every request into several (the retry storm budgets exist to stop).
 * Pure over its struct and a caller-given clock; one per thread.
 */
#ifndef HS_BALANCE_BUDGET_H
#define HS_BALANCE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define HS_BALANCE_BUDGET_SLOTS 10

typedef struct hs_balance_budget {
    unsigned percent, min_per_s;
    uint64_t epoch; /* current second, on the caller's clock */
    uint32_t reqs[HS_BALANCE_BUDGET_SLOTS], retries[HS_BALANCE_BUDGET_SLOTS];
} hs_balance_budget_t;

/* An empty budget. */
void hs_balance_budget_init(hs_balance_budget_t *b, unsigned percent, unsigned min_per_s);
/* Counts a first try at now_ns. */
void hs_balance_budget_request(hs_balance_budget_t *b, uint64_t now_ns);
/* Retries the window allows at now_ns, and those already spent. */
uint64_t hs_balance_budget_allowed(hs_balance_budget_t *b, uint64_t now_ns);
uint64_t hs_balance_budget_spent(hs_balance_budget_t *b, uint64_t now_ns);
/* Spends one retry if the budget allows it; returns whether it did. */
bool hs_balance_budget_try(hs_balance_budget_t *b, uint64_t now_ns);

#endif
