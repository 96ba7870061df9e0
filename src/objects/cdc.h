/*
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a gear
 * rolling hash over the bytes, cut points where the hash's top bits are
 * zero, with "normalized chunking": a stricter mask before the average
 * size and a looser one after it, so chunk sizes cluster around the
 * average. Boundaries depend only on content, so an insertion shifts at
 * most a chunk or two and the rest deduplicate.
 *
 * The gear table and mask layout are part of the on-disk format in effect
 * (changing them changes every boundary and so defeats dedup against data
 * already stored); they are fixed here forever. Pure functions, thread-safe.
 */
#ifndef HS_OBJECTS_CDC_H
#define HS_OBJECTS_CDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_cdc {
    uint32_t min, avg, max;
    uint64_t mask_s; /* before avg: harder to match (more bits) */
    uint64_t mask_l; /* after avg: easier to match (fewer bits) */
} hs_cdc_t;

/* Defaults, chosen by bench/objects-chunking and bench/objects-dedup. */
#define HS_CDC_MIN_DEFAULT (16u * 1024)
#define HS_CDC_AVG_DEFAULT (32u * 1024)
#define HS_CDC_MAX_DEFAULT (128u * 1024)

/* Fills c for the given sizes: avg a power of two in [256, 16M],
 * 64 <= min <= avg <= max <= 16M. Returns 0 or HS_EINVAL. */
int hs_cdc_init(hs_cdc_t *c, uint32_t min, uint32_t avg, uint32_t max);

/*
 * Length of the chunk that starts at p, given the n bytes available.
 * Returns a length in [1, n] when a boundary is known (a cut point, the
 * max size, or eof with bytes left), or 0 when more input is needed
 * (!eof and no boundary within n < max bytes) or n == 0.
 */
size_t hs_cdc_next(const hs_cdc_t *c, const uint8_t *p, size_t n, bool eof);

#endif
