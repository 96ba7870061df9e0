/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table
 * of prime size M in which each backend owns slots in proportion to its
 * weight, filled by each backend's own permutation of the slots so that
 * removing a backend moves few keys that were not its own.
 */
#ifndef HS_BALANCE_MAGLEV_H
#define HS_BALANCE_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* Table size for n backends: 65537, or the smallest prime >= 100 * n when
 * that is larger. */
uint32_t hs_maglev_size(unsigned n);

/*
 * Fills table[0..m) (m prime, m >= n) with indices into names/weights:
 * names[i] (NUL-terminated) seeds backend i's permutation, weights[i] > 0
 * its share. n is 1..65535. Returns 0, HS_EINVAL (bad arguments) or
 * HS_ENOMEM.
 */
int hs_maglev_build(uint16_t *table, uint32_t m, const char *const *names,
                    const unsigned *weights, unsigned n);

#endif
