/*
 * FastCDC chunker: gear table, normalized masks, and the scanning loop.
 * The loop is the hot path of every PUT: one shift, one add, one table
 * load and one test per byte, and the first min bytes are skipped.
 */
#include "objects/cdc.h"

#include "core/err.h"

/* 256 pseudo-random 64-bit gear values, generated once from a fixed seed
 * with splitmix64 so the table is reproducible from this file alone. */
static uint64_t gear[256];

static void gear_init(void)
{
    uint64_t x = 0x6879706572736361ull; /* "hypersca" */
    for (int i = 0; i < 256; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        gear[i] = z ^ (z >> 31);
    }
}

__attribute__((constructor)) static void cdc_ctor(void)
{
    gear_init();
}

/* A mask of the top `bits` bits: in a gear hash bit k depends on the last
 * k+1 bytes, so the top bits see the widest window (64 bytes). */
static uint64_t top_mask(unsigned bits)
{
    return bits == 0 ? 0 : ~0ull << (64 - bits);
}

int hs_cdc_init(hs_cdc_t *c, uint32_t min, uint32_t avg, uint32_t max)
{
    if (avg < 256 || avg > (16u << 20) || (avg & (avg - 1)) != 0) return HS_EINVAL;
    if (min < 64 || min > avg || max < avg || max > (16u << 20)) return HS_EINVAL;
    unsigned bits = (unsigned)__builtin_ctz(avg);
    c->min = min;
    c->avg = avg;
    c->max = max;
    /* Normalization level 2, as the paper recommends. */
    c->mask_s = top_mask(bits + 2);
    c->mask_l = top_mask(bits - 2);
    return 0;
}

/*
 * Scans p[i..end) for the first position whose hash has no bit of m set;
 * returns its index + 1 (the chunk length) or 0, updating *hp.
 *
 * The gear recurrence h = 2h + gear[b] is one dependent lea per byte, so
 * a single chain is latency-bound. The scan runs two chains at once over
 * the two halves of each block: the second chain starts 64 bytes early
 * from 0, which yields the exact hash (a gear hash only depends on the
 * last 64 bytes), so the cut points are those of the byte-at-a-time loop.
 * A hit in the first half wins; a hit in the second half is kept until
 * the first half is done.
 */
#define BLOCK 4096

static inline size_t scan1(const uint8_t *p, size_t i, size_t end, uint64_t *hp, uint64_t m)
{
    uint64_t h = *hp;
    for (; i < end; i++) {
        h = (h << 1) + gear[p[i]];
        if (!(h & m)) return i + 1;
    }
    *hp = h;
    return 0;
}

static inline size_t scan(const uint8_t *p, size_t i, size_t end, uint64_t *hp, uint64_t m)
{
    uint64_t h = *hp;
    while (end - i >= 256) {
        size_t w = (end - i) / 2;
        if (w > BLOCK) w = BLOCK;
        uint64_t hb = 0;
        const uint8_t *pa = p + i, *pb = p + i + w;
        for (size_t k = 64; k > 0; k--)
            hb = (hb << 1) + gear[pb[-(ptrdiff_t)k]];
        size_t bhit = 0;
        for (size_t j = 0; j < w; j++) {
            h = (h << 1) + gear[pa[j]];
            hb = (hb << 1) + gear[pb[j]];
            if (__builtin_expect(!(h & m), 0)) return i + j + 1;
            if (__builtin_expect(!(hb & m), 0) && !bhit) bhit = i + w + j + 1;
        }
        if (bhit) return bhit;
        h = hb;
        i += 2 * w;
    }
    *hp = h;
    return scan1(p, i, end, hp, m);
}

size_t hs_cdc_next(const hs_cdc_t *c, const uint8_t *p, size_t n, bool eof)
{
    if (n == 0) return 0;
    if (n <= c->min) return eof ? n : 0;
    size_t end = n < c->max ? n : c->max;
    size_t mid = c->avg < end ? c->avg : end;
    uint64_t h = 0;
    size_t cut = scan(p, c->min, mid, &h, c->mask_s);
    if (cut) return cut;
    cut = scan(p, mid, end, &h, c->mask_l);
    if (cut) return cut;
    if (end == c->max) return end;
    return eof ? n : 0;
}
