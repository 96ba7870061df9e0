/*
 * Reed-Solomon codec over ISA-L. Encoding multiplies the data by the parity
 * rows of the generator; rebuilding inverts the d x d submatrix of the rows
 * of d survivors and multiplies the survivors by the rows of that inverse
 * (for lost data) or by parity rows times the inverse (for lost parity).
 */
#include "objects/ec.h"

#include <isa-l.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int hs_ec_init(hs_ec_t *ec, int d, int p)
{
    if (d < 1 || p < 0 || d + p > HS_EC_MAX) return HS_EINVAL;
    memset(ec, 0, sizeof(*ec));
    ec->d = d;
    ec->p = p;
    gf_gen_cauchy1_matrix(ec->matrix, d + p, d);
    if (p > 0) {
        ec->enc_tbls = malloc((size_t)32 * d * p);
        if (!ec->enc_tbls) return HS_ENOMEM;
        ec_init_tables(d, p, ec->matrix + d * d, ec->enc_tbls);
    }
    return 0;
}

void hs_ec_free(hs_ec_t *ec)
{
    free(ec->enc_tbls);
    ec->enc_tbls = NULL;
}

void hs_ec_encode(const hs_ec_t *ec, size_t len, uint8_t *const *data, uint8_t **parity)
{
    if (ec->p == 0 || len == 0) return;
    ec_encode_data((int)len, ec->d, ec->p, ec->enc_tbls, (unsigned char **)data, parity);
}

int hs_ec_rebuild(const hs_ec_t *ec, size_t len, uint8_t **frags, const uint8_t *have,
                  const uint8_t *want)
{
    int d = ec->d, n = ec->d + ec->p;
    int surv[HS_EC_MAX], lost[HS_EC_MAX], nlost = 0, ns = 0;
    uint8_t sub[HS_EC_MAX * HS_EC_MAX], inv[HS_EC_MAX * HS_EC_MAX];
    uint8_t rows[HS_EC_MAX * HS_EC_MAX];
    for (int i = 0; i < n; i++) {
        if (have[i] && ns < d)
            surv[ns++] = i;
        else if (!have[i] && want[i])
            lost[nlost++] = i;
    }
    if (nlost == 0) return 0;
    if (ns < d) return HS_EIO;
    for (int r = 0; r < d; r++)
        memcpy(sub + r * d, ec->matrix + surv[r] * d, (size_t)d);
    if (gf_invert_matrix(sub, inv, d) != 0)
        return HS_EIO; /* cannot happen with a Cauchy generator */
    /* Row for lost fragment l: matrix[l] x inv (data rows of the identity
     * give inv's row directly). */
    for (int k = 0; k < nlost; k++) {
        const uint8_t *g = ec->matrix + lost[k] * d;
        for (int j = 0; j < d; j++) {
            uint8_t s = 0;
            for (int t = 0; t < d; t++)
                s ^= gf_mul(g[t], inv[t * d + j]);
            rows[k * d + j] = s;
        }
    }
    uint8_t *tbls = malloc((size_t)32 * d * nlost);
    if (!tbls) return HS_ENOMEM;
    uint8_t *src[HS_EC_MAX], *dst[HS_EC_MAX];
    for (int r = 0; r < d; r++)
        src[r] = frags[surv[r]];
    for (int k = 0; k < nlost; k++)
        dst[k] = frags[lost[k]];
    ec_init_tables(d, nlost, rows, tbls);
    ec_encode_data((int)len, d, nlost, tbls, src, dst);
    free(tbls);
    return 0;
}
