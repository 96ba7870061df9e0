/*
 * Helper of bench/balance-maglev: Maglev figures straight from the
 * library (src/balance/maglev.c). For N backends (argv, default 10 100):
 * table size, key spread over 1M keys, keys moved when one backend is
 * removed (table rebuilt without it) or added, and with probing past an
 * unavailable backend (what the pool does). One line of key=value each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "balance/maglev.h"

#define KEYS 1000000u

static char names_buf[2048][32];
static const char *names[2048];
static unsigned weights[2048];

static uint16_t *build(unsigned n, unsigned skip_idx, uint32_t m, unsigned *map)
{
    static const char *nm[2048];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i == skip_idx)
            continue;
        nm[k] = names[i];
        map[k++] = i;
    }
    uint16_t *t = malloc(m * sizeof(*t));
    if (!t || hs_maglev_build(t, m, nm, weights, k) != 0) {
        fprintf(stderr, "build failed\n");
        exit(1);
    }
    return t;
}

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < 2048; i++) {
        snprintf(names_buf[i], sizeof(names_buf[i]), "10.%u.%u.%u:80", i / 65536, i / 256 % 256,
                 i % 256);
        names[i] = names_buf[i];
        weights[i] = 100;
    }
    int first = argc > 1 ? 1 : 0;
    const char *defaults[] = {"10", "100"};
    int count = argc > 1 ? argc - 1 : 2;
    for (int a = 0; a < count; a++) {
        unsigned n = (unsigned)atoi(first ? argv[a + 1] : defaults[a]);
        if (n < 2 || n > 2000)
            continue;
        /* the table is sized for the larger set so add/remove compare alike */
        uint32_t m = hs_maglev_size(n + 1);
        static unsigned map_all[2048], map_less[2048], map_more[2048];
        uint16_t *all = build(n, UINT32_MAX, m, map_all);
        uint16_t *less = build(n, n / 2, m, map_less);
        uint16_t *more = build(n + 1, UINT32_MAX, m, map_more);
        unsigned *keys = calloc(n, sizeof(*keys));
        unsigned moved_rm = 0, moved_add = 0, moved_probe = 0, own = 0;
        for (uint32_t k = 0; k < KEYS; k++) {
            uint64_t h = XXH3_64bits(&k, sizeof(k));
            uint32_t s = (uint32_t)(h % m);
            unsigned b = map_all[all[s]];
            keys[b]++;
            own += b == n / 2;
            moved_rm += map_less[less[s]] != b;
            moved_add += map_more[more[s]] != b;
            /* probing past the removed backend, as the pool does */
            uint32_t p = s;
            while (map_all[all[p]] == n / 2)
                p = p + 1 == m ? 0 : p + 1;
            moved_probe += map_all[all[p]] != b;
        }
        unsigned lo = keys[0], hi = keys[0];
        for (unsigned i = 1; i < n; i++) {
            lo = keys[i] < lo ? keys[i] : lo;
            hi = keys[i] > hi ? keys[i] : hi;
        }
        double mean = (double)KEYS / n;
        printf("backends=%u table=%u keys=%u spread_min=%.2f%% spread_max=%+.2f%% "
               "remove_one_moved=%.2f%% (its own %.2f%%) add_one_moved=%.2f%% (ideal %.2f%%) "
               "probe_moved=%.2f%%\n",
               n, m, KEYS, (lo - mean) / mean * 100, (hi - mean) / mean * 100,
               100.0 * moved_rm / KEYS, 100.0 * own / KEYS, 100.0 * moved_add / KEYS,
               100.0 / (n + 1), 100.0 * moved_probe / KEYS);
        free(all);
        free(less);
        free(more);
        free(keys);
    }
    return 0;
}
