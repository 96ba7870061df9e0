/*
 * Index records of the object store and their byte layouts (little-endian,
 * a version byte first so the format can evolve), plus the index keys.
 * Keys put the big-endian stripe id after the prefix so scans walk stripes
 * in id order. Layouts: docs/design/objects-format.md.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/err.h"
#include "objects/internal.h"

static void le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}
static void le64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t rd32(const uint8_t *b)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}
static uint64_t rd64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}
static void be64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

size_t hs__key_chunk(uint8_t *k, const uint8_t hash[32])
{
    k[0] = HS_K_CHUNK;
    memcpy(k + 1, hash, 32);
    return 33;
}

size_t hs__key_zero(uint8_t *k, const uint8_t hash[32])
{
    k[0] = HS_K_ZERO;
    memcpy(k + 1, hash, 32);
    return 33;
}

size_t hs__key_stripe(uint8_t *k, uint64_t id)
{
    k[0] = HS_K_STRIPE;
    be64(k + 1, id);
    return 9;
}

size_t hs__key_garbage(uint8_t *k, uint64_t id)
{
    k[0] = HS_K_GARBAGE;
    be64(k + 1, id);
    return 9;
}

size_t hs__key_rev(uint8_t *k, uint64_t id, uint32_t off)
{
    k[0] = HS_K_REV;
    be64(k + 1, id);
    for (int i = 0; i < 4; i++)
        k[9 + i] = (uint8_t)(off >> (24 - 8 * i));
    return 13;
}

int hs__key_object(uint8_t *k, const char *name, size_t *klen)
{
    size_t n = strlen(name);
    if (n == 0 || n > HS_OBJ_NAME_MAX) return HS_EINVAL;
    k[0] = HS_K_OBJECT;
    memcpy(k + 1, name, n);
    *klen = n + 1;
    return 0;
}

void hs__chunk_enc(uint8_t *b, const hs__chunk_rec_t *r)
{
    memset(b, 0, HS__CHUNK_REC_LEN);
    b[0] = 1;
    b[1] = r->comp;
    b[2] = r->tier;
    le64(b + 4, r->stripe);
    le32(b + 12, r->off);
    le32(b + 16, r->stored_len);
    le32(b + 20, r->raw_len);
    le64(b + 24, r->refs);
}

int hs__chunk_dec(hs__chunk_rec_t *r, const void *v, size_t len)
{
    const uint8_t *b = v;
    if (len < HS__CHUNK_REC_LEN || b[0] != 1) return HS_ECORRUPT;
    r->comp = b[1];
    r->tier = b[2];
    r->stripe = rd64(b + 4);
    r->off = rd32(b + 12);
    r->stored_len = rd32(b + 16);
    r->raw_len = rd32(b + 20);
    r->refs = rd64(b + 24);
    return 0;
}

void hs__stripe_enc(uint8_t *b, const hs__stripe_rec_t *r)
{
    memset(b, 0, HS__STRIPE_REC_LEN);
    b[0] = 1;
    b[1] = r->d;
    b[2] = r->p;
    b[3] = r->tier;
    b[4] = r->first_drive;
    le32(b + 8, r->frag_len);
    le32(b + 12, r->data_len);
    le32(b + 16, r->live_chunks);
    le64(b + 20, r->live_bytes);
    le64(b + 28, r->ctime_ns);
}

int hs__stripe_dec(hs__stripe_rec_t *r, const void *v, size_t len)
{
    const uint8_t *b = v;
    if (len < HS__STRIPE_REC_LEN || b[0] != 1 || b[1] == 0 || b[1] + b[2] > HS_EC_MAX)
        return HS_ECORRUPT;
    r->d = b[1];
    r->p = b[2];
    r->tier = b[3];
    r->first_drive = b[4];
    r->frag_len = rd32(b + 8);
    r->data_len = rd32(b + 12);
    r->live_chunks = rd32(b + 16);
    r->live_bytes = rd64(b + 20);
    r->ctime_ns = rd64(b + 28);
    return 0;
}

#define MHDR 64
#define MENT 36

int hs__manifest_enc(const hs__manifest_t *m, uint8_t **out, size_t *len)
{
    size_t n = MHDR + (size_t)m->nchunks * MENT;
    uint8_t *b = calloc(1, n);
    if (!b) return HS_ENOMEM;
    b[0] = 'M';
    b[1] = 1;
    le32(b + 4, m->nchunks);
    le64(b + 8, m->size);
    le64(b + 16, m->mtime_ns);
    memcpy(b + 24, m->etag, 32);
    b[56] = m->tier;
    for (uint32_t i = 0; i < m->nchunks; i++) {
        memcpy(b + MHDR + (size_t)i * MENT, m->chunks[i].hash, 32);
        le32(b + MHDR + (size_t)i * MENT + 32, m->chunks[i].raw_len);
    }
    *out = b;
    *len = n;
    return 0;
}

int hs__manifest_dec(hs__manifest_t *m, const void *v, size_t len)
{
    const uint8_t *b = v;
    memset(m, 0, sizeof(*m));
    if (len < MHDR || b[0] != 'M' || b[1] != 1) return HS_ECORRUPT;
    m->nchunks = rd32(b + 4);
    if ((len - MHDR) / MENT < m->nchunks) return HS_ECORRUPT;
    m->size = rd64(b + 8);
    m->mtime_ns = rd64(b + 16);
    memcpy(m->etag, b + 24, 32);
    m->tier = b[56];
    m->chunks = malloc(((size_t)m->nchunks + 1) * sizeof(*m->chunks));
    if (!m->chunks) return HS_ENOMEM;
    uint64_t total = 0;
    for (uint32_t i = 0; i < m->nchunks; i++) {
        memcpy(m->chunks[i].hash, b + MHDR + (size_t)i * MENT, 32);
        m->chunks[i].raw_len = rd32(b + MHDR + (size_t)i * MENT + 32);
        total += m->chunks[i].raw_len;
    }
    if (total != m->size) {
        hs__manifest_free(m);
        return HS_ECORRUPT;
    }
    return 0;
}

void hs__manifest_free(hs__manifest_t *m)
{
    free(m->chunks);
    m->chunks = NULL;
}

void hs__manifest_info(const hs__manifest_t *m, hs_obj_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->size = m->size;
    info->mtime_ns = m->mtime_ns;
    memcpy(info->etag, m->etag, 32);
    info->nchunks = m->nchunks;
    info->tier = (hs_tier_t)m->tier;
}

int hs__get_chunk(hs_kv_txn_t *txn, const uint8_t hash[32], hs__chunk_rec_t *r)
{
    uint8_t k[33];
    hs_kv_val_t v;
    int rc = hs_kv_get(txn, k, hs__key_chunk(k, hash), &v);
    return rc < 0 ? rc : hs__chunk_dec(r, v.data, v.len);
}

int hs__get_stripe(hs_kv_txn_t *txn, uint64_t id, hs__stripe_rec_t *r)
{
    uint8_t k[9];
    hs_kv_val_t v;
    int rc = hs_kv_get(txn, k, hs__key_stripe(k, id), &v);
    return rc < 0 ? rc : hs__stripe_dec(r, v.data, v.len);
}

int hs__put_chunk(hs_kv_txn_t *txn, const uint8_t hash[32], const hs__chunk_rec_t *r)
{
    uint8_t k[33], b[HS__CHUNK_REC_LEN];
    hs__chunk_enc(b, r);
    return hs_kv_put(txn, k, hs__key_chunk(k, hash), b, sizeof(b));
}

int hs__put_stripe(hs_kv_txn_t *txn, uint64_t id, const hs__stripe_rec_t *r)
{
    uint8_t k[9], b[HS__STRIPE_REC_LEN];
    hs__stripe_enc(b, r);
    return hs_kv_put(txn, k, hs__key_stripe(k, id), b, sizeof(b));
}

int hs__chunk_raw(const hs__chunk_rec_t *c, const uint8_t *buf, uint8_t *out)
{
    if (!c->comp) {
        memcpy(out, buf + c->off, c->raw_len);
        return 0;
    }
    size_t got = ZSTD_decompress(out, c->raw_len, buf + c->off, c->stored_len);
    return ZSTD_isError(got) || got != c->raw_len ? HS_ECORRUPT : 0;
}

int hs__chunk_repoint(hs_kv_txn_t *txn, const uint8_t hash[32], const hs__chunk_rec_t *cur,
                      hs__chunk_rec_t *rec, const uint64_t *ids, hs__stripe_rec_t *recs,
                      size_t n)
{
    uint8_t rk[13];
    rec->refs = cur->refs;
    int rc = hs__put_chunk(txn, hash, rec);
    if (rc < 0) return rc;
    hs_kv_del(txn, rk, hs__key_rev(rk, cur->stripe, cur->off)); /* absent: already moved */
    rc = hs_kv_put(txn, rk, hs__key_rev(rk, rec->stripe, rec->off), hash, 32);
    for (size_t j = 0; j < n && rc == 0; j++)
        if (ids[j] == rec->stripe) {
            recs[j].live_chunks++;
            recs[j].live_bytes += rec->stored_len;
        }
    return rc;
}

int hs__put_moved_stripes(hs_kv_txn_t *txn, const uint64_t *ids, const hs__stripe_rec_t *recs,
                          size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (recs[i].live_chunks > 0) {
            rc = hs__put_stripe(txn, ids[i], &recs[i]);
        } else {
            uint8_t gk[9], gv[HS__STRIPE_REC_LEN];
            hs__stripe_enc(gv, &recs[i]);
            rc = hs_kv_put(txn, gk, hs__key_garbage(gk, ids[i]), gv, sizeof(gv));
        }
    }
    return rc;
}

int hs__deref_manifest(hs_kv_txn_t *txn, const hs__manifest_t *m)
{
    for (uint32_t i = 0; i < m->nchunks; i++) {
        hs__chunk_rec_t c;
        int rc = hs__get_chunk(txn, m->chunks[i].hash, &c);
        if (rc == HS_ENOENT) continue; /* already inconsistent; fsck reports it */
        if (rc < 0) return rc;
        if (c.refs > 0) c.refs--;
        rc = hs__put_chunk(txn, m->chunks[i].hash, &c);
        if (rc < 0) return rc;
        if (c.refs == 0) {
            uint8_t k[33];
            rc = hs_kv_put(txn, k, hs__key_zero(k, m->chunks[i].hash), "", 0);
            if (rc < 0) return rc;
        }
    }
    return 0;
}
