/*
 * PUT body sizes: one fixed size ("4k"), a log-normal ("lognormal:64k:1.5",
 * median and sigma of the underlying normal), or a weighted list
 * ("4k:70,64k:25,1m:5"). Sizes take the k/m/g suffixes of hs_parse_size.
 */
#ifndef HS_LOADGEN_SIZES_H
#define HS_LOADGEN_SIZES_H

#include <stddef.h>
#include <stdint.h>

#include "loadgen/rng.h"

/* Largest body one PUT sends (bodies come from one shared buffer). */
#define HS_LG_SIZE_MAX (256ull << 20)
#define HS_LG_SIZES_LIST_MAX 16

typedef enum hs_lg_sizes_kind {
    HS_LG_SIZES_FIXED = 0,
    HS_LG_SIZES_LOGNORMAL,
    HS_LG_SIZES_LIST,
} hs_lg_sizes_kind_t;

typedef struct hs_lg_sizes {
    hs_lg_sizes_kind_t kind;
    uint64_t fixed;
    double mu, sigma; /* lognormal: ln(median), sigma */
    uint64_t max;     /* largest size sample() returns */
    unsigned n;       /* list entries */
    uint64_t size[HS_LG_SIZES_LIST_MAX];
    double cum[HS_LG_SIZES_LIST_MAX]; /* cumulative weight, last == 1 */
} hs_lg_sizes_t;

/* Parses a --size value (a single size, 0 allowed). Returns 0, or
 * HS_EINVAL / HS_ERANGE with a sentence in err saying what to write. */
int hs_lg_sizes_parse_fixed(const char *spec, hs_lg_sizes_t *out, char *err, size_t errlen);

/* Parses a --size-dist value (lognormal:MEDIAN:SIGMA or SIZE:WEIGHT,...).
 * Returns 0, or HS_EINVAL / HS_ERANGE with a message in err. */
int hs_lg_sizes_parse_dist(const char *spec, hs_lg_sizes_t *out, char *err, size_t errlen);

/* One size in [0, max]. */
uint64_t hs_lg_sizes_sample(const hs_lg_sizes_t *d, hs_lg_rng_t *r);

#endif
