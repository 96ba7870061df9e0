/*
 * Maglev table construction (see maglev.h). Weights: every round each
 * backend earns weight/max_weight of a turn and claims its next preferred
 * free slot per whole turn earned, so slot shares follow the weights while
 * each backend still walks only its own permutation.
 */
#include "balance/maglev.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"

static int is_prime(uint32_t x)
{
    if (x < 2)
        return 0;
    for (uint32_t d = 2; (uint64_t)d * d <= x; d++)
        if (x % d == 0)
            return 0;
    return 1;
}

uint32_t hs_maglev_size(unsigned n)
{
    uint64_t want = (uint64_t)n * 100;
    if (want <= 65537)
        return 65537;
    uint32_t m = (uint32_t)want;
    while (!is_prime(m))
        m++;
    return m;
}

int hs_maglev_build(uint16_t *table, uint32_t m, const char *const *names,
                    const unsigned *weights, unsigned n)
{
    if (!table || !names || !weights || n == 0 || n > 65535 || m < n || m < 2 || !is_prime(m))
        return HS_EINVAL;
    unsigned wmax = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!names[i] || weights[i] == 0)
            return HS_EINVAL;
        if (weights[i] > wmax)
            wmax = weights[i];
    }
    uint64_t *offset = calloc(n, sizeof(*offset));
    uint64_t *skip = calloc(n, sizeof(*skip));
    uint64_t *next = calloc(n, sizeof(*next));
    double *credit = calloc(n, sizeof(*credit));
    if (!offset || !skip || !next || !credit) {
        free(offset);
        free(skip);
        free(next);
        free(credit);
        return HS_ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        /* Two independent hashes of the name, as the paper asks: where the
         * walk starts, and its stride (never 0, so it visits every slot). */
        offset[i] = XXH3_64bits_withSeed(names[i], len, 0x6d61676c65763031ull) % m;
        skip[i] = XXH3_64bits_withSeed(names[i], len, 0x6d61676c65763032ull) % (m - 1) + 1;
    }
    for (uint32_t s = 0; s < m; s++)
        table[s] = UINT16_MAX;
    uint32_t filled = 0;
    while (filled < m) {
        for (unsigned i = 0; i < n && filled < m; i++) {
            credit[i] += (double)weights[i] / wmax;
            if (credit[i] < 1.0)
                continue;
            credit[i] -= 1.0;
            uint32_t c;
            do {
                c = (uint32_t)((offset[i] + next[i] * skip[i]) % m);
                next[i]++;
            } while (table[c] != UINT16_MAX);
            table[c] = (uint16_t)i;
            filled++;
        }
    }
    free(offset);
    free(skip);
    free(next);
    free(credit);
    return 0;
}
