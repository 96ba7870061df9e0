/*
 * Reed-Solomon erasure coding over GF(2^8) with ISA-L: D data fragments,
 * P parity fragments, any D of the D+P rebuild the rest. The generator is
 * a systematic Cauchy matrix (gf_gen_cauchy1_matrix), every square
 * submatrix of which is invertible, so any survivor set decodes. The matrix
 * is part of the on-disk format (parity bytes depend on it).
 *
 * A hs_ec_t is immutable after init and may be shared by threads.
 */
#ifndef HS_OBJECTS_EC_H
#define HS_OBJECTS_EC_H

#include <stddef.h>
#include <stdint.h>

#define HS_EC_MAX 32 /* D + P */

typedef struct hs_ec {
    int d, p;
    uint8_t matrix[HS_EC_MAX * HS_EC_MAX]; /* (d+p) x d, top d rows = I */
    uint8_t *enc_tbls;                     /* 32 * d * p bytes */
} hs_ec_t;

/* Prepares a codec for d data + p parity (1 <= d, 0 <= p, d+p <= 32).
 * Returns 0, HS_EINVAL or HS_ENOMEM. */
int hs_ec_init(hs_ec_t *ec, int d, int p);
void hs_ec_free(hs_ec_t *ec);

/* Computes the p parity buffers from the d data buffers, each len bytes. */
void hs_ec_encode(const hs_ec_t *ec, size_t len, uint8_t *const *data, uint8_t **parity);

/*
 * Rebuilds fragments from survivors. frags[0..d+p) point at len-byte
 * buffers; have[i] is 1 for each fragment whose content is valid. Every
 * fragment with have[i] == 0 and want[i] == 1 is written. Needs at least d
 * valid fragments. Returns 0, HS_EIO (too few survivors) or HS_ENOMEM.
 */
int hs_ec_rebuild(const hs_ec_t *ec, size_t len, uint8_t **frags, const uint8_t *have,
                  const uint8_t *want);

#endif
