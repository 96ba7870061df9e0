/*
 * libFuzzer harness for the object store's record decoders: manifests,
 * chunk and stripe records (read from the index) and fragment headers
 * (read from drive files, which bitrot or an attacker with disk access can
 * change). The first input byte picks the decoder. Properties checked
 * (abort on violation):
 *  - no decoder crashes or reads out of bounds on any input;
 *  - whatever decodes re-encodes to bytes that decode to the same values
 *    (manifest, chunk and stripe records);
 *  - a manifest that decodes has chunk sizes summing to its size;
 *  - a fragment header that parses is self-consistent (block count, header
 *    length, geometry) and the input covers its header length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "objects/internal.h"

static void manifest(const uint8_t *p, size_t n)
{
    hs__manifest_t m, m2;
    if (hs__manifest_dec(&m, p, n) < 0)
        return;
    uint64_t total = 0;
    for (uint32_t i = 0; i < m.nchunks; i++)
        total += m.chunks[i].raw_len;
    CHECK(total == m.size);
    uint8_t *enc;
    size_t elen;
    CHECK(hs__manifest_enc(&m, &enc, &elen) == 0);
    CHECK(hs__manifest_dec(&m2, enc, elen) == 0);
    CHECK(m2.size == m.size && m2.nchunks == m.nchunks && m2.tier == m.tier &&
          m2.mtime_ns == m.mtime_ns && memcmp(m2.etag, m.etag, 32) == 0);
    CHECK(m.nchunks == 0 || memcmp(m2.chunks, m.chunks, m.nchunks * sizeof(*m.chunks)) == 0);
    free(enc);
    hs__manifest_free(&m);
    hs__manifest_free(&m2);
}

static void chunk(const uint8_t *p, size_t n)
{
    hs__chunk_rec_t c, c2;
    uint8_t b[HS__CHUNK_REC_LEN];
    if (hs__chunk_dec(&c, p, n) < 0)
        return;
    hs__chunk_enc(b, &c);
    CHECK(hs__chunk_dec(&c2, b, sizeof(b)) == 0);
    CHECK(c2.stripe == c.stripe && c2.off == c.off && c2.stored_len == c.stored_len &&
          c2.raw_len == c.raw_len && c2.comp == c.comp && c2.tier == c.tier && c2.refs == c.refs);
}

static void stripe(const uint8_t *p, size_t n)
{
    hs__stripe_rec_t s, s2;
    uint8_t b[HS__STRIPE_REC_LEN];
    if (hs__stripe_dec(&s, p, n) < 0)
        return;
    CHECK(s.d >= 1 && s.d + s.p <= HS_EC_MAX);
    hs__stripe_enc(b, &s);
    CHECK(hs__stripe_dec(&s2, b, sizeof(b)) == 0);
    CHECK(memcmp(&s, &s2, sizeof(s)) == 0 || (s2.d == s.d && s2.p == s.p &&
                                              s2.frag_len == s.frag_len &&
                                              s2.data_len == s.data_len &&
                                              s2.live_bytes == s.live_bytes));
}

static void frag_header(const uint8_t *p, size_t n)
{
    hs__frag_hdr_t h;
    int rc = hs__frag_hdr_parse(p, n, &h);
    if (rc == 0) {
        CHECK(n >= h.hdr_len);
        CHECK(h.d >= 1 && h.d + h.p <= HS_EC_MAX && h.index < h.d + h.p);
        CHECK(h.nblocks == (h.frag_len + (uint64_t)HS_OBJ_BLOCK - 1) / HS_OBJ_BLOCK);
        CHECK(h.hdr_len >= 64 + 4 * (uint64_t)h.nblocks);
        CHECK(h.crcs != NULL);
    } else {
        CHECK(rc == HS_ECORRUPT || rc == HS_ENOMEM);
    }
    hs__frag_hdr_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        manifest(data + 1, size - 1);
        break;
    case 1:
        chunk(data + 1, size - 1);
        break;
    case 2:
        stripe(data + 1, size - 1);
        break;
    default:
        frag_header(data + 1, size - 1);
        break;
    }
    return 0;
}
