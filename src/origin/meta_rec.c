/*
 * Record codecs of the metadata store: object, bucket, upload and part
 * records and the long-key envelope. Little-endian, a version byte first,
 * every variable field length-prefixed. Decoders take any bytes: a value
 * that does not parse exactly is HS_ECORRUPT, never a crash or an
 * over-read (tests/fuzz/fuzz_meta_records.c). Layouts:
 * docs/design/origin-meta.md.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "origin/meta-int.h"

#define REC_V1 1

/* Object record extension area: (tag u8, len u16, bytes)*; tags below 0x80
 * that a reader does not know are skipped, others make the record
 * unreadable (a writer sets those when old readers must not guess). */
#define EXT_MUST 0x80

/* ---- little-endian writer over a sized buffer ---- */

typedef struct wr {
    uint8_t *p;
    size_t off;
} wr_t;

static void w8(wr_t *w, unsigned v)
{
    w->p[w->off++] = (uint8_t)v;
}
static void wle(wr_t *w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        w->p[w->off++] = (uint8_t)(v >> (8 * i));
}
static void wbytes(wr_t *w, const void *s, size_t n)
{
    if (n) memcpy(w->p + w->off, s, n);
    w->off += n;
}

/* ---- bounds-checked reader: any short read sets bad ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} rd_t;

static uint64_t rle(rd_t *r, int bytes)
{
    if (r->bad || r->n - r->off < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | r->p[r->off + (size_t)i];
    r->off += (size_t)bytes;
    return v;
}

/* A string of n bytes with no NUL inside (a NUL would not survive the
 * NUL-terminated view the record hands out). */
static const uint8_t *rstr(rd_t *r, size_t n)
{
    if (r->bad || r->n - r->off < n || (n && memchr(r->p + r->off, 0, n))) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *s = r->p + r->off;
    r->off += n;
    return s;
}

/* ---- envelope ---- */

int hs__meta_env_split(const void *v, size_t vlen, const uint8_t **tail, size_t *tlen,
                       const uint8_t **payload, size_t *plen)
{
    const uint8_t *b = v;
    if (vlen < 2) return HS_ECORRUPT;
    size_t t = (size_t)b[0] | (size_t)b[1] << 8;
    if (t > HS_META_KEY_MAX - HS__META_HEAD || vlen - 2 < t) return HS_ECORRUPT;
    *tail = b + 2;
    *tlen = t;
    *payload = b + 2 + t;
    *plen = vlen - 2 - t;
    return 0;
}

int hs__meta_env_check(const char *key, size_t keylen, const uint8_t *tail, size_t tlen)
{
    if (keylen <= HS__META_HEAD) return tlen == 0 ? 0 : HS_ECORRUPT;
    if (tlen != keylen - HS__META_HEAD || memcmp(key + HS__META_HEAD, tail, tlen) != 0)
        return HS_ECORRUPT;
    return 0;
}

/* ---- object records ---- */

static const char *nz(const char *s)
{
    return s ? s : "";
}

static const char *const *obj_strs(const hs_meta_obj_t *r, const char *v[8])
{
    v[0] = nz(r->etag);
    v[1] = nz(r->content_type);
    v[2] = nz(r->content_encoding);
    v[3] = nz(r->content_disposition);
    v[4] = nz(r->content_language);
    v[5] = nz(r->cache_control);
    v[6] = nz(r->expires);
    v[7] = nz(r->storage_class);
    return v;
}

int hs__meta_obj_check(const hs_meta_obj_t *r)
{
    const char *v[8];
    obj_strs(r, v);
    for (int i = 0; i < 8; i++)
        if (strlen(v[i]) > HS_META_STR_MAX) return HS_E2BIG;
    if (r->nmeta > 0 && !r->meta) return HS_EINVAL;
    size_t um = 0;
    for (uint32_t i = 0; i < r->nmeta; i++) {
        size_t a = strlen(nz(r->meta[i].name)), b = strlen(nz(r->meta[i].value));
        if (a > HS_META_STR_MAX || b > HS_META_STR_MAX) return HS_E2BIG;
        um += a + b;
    }
    if (um > HS_META_UMETA_MAX) return HS_E2BIG;
    if (r->nsegs > HS_META_SEGS_MAX) return HS_E2BIG;
    if (r->nsegs > 0 && !r->segs) return HS_EINVAL;
    if (r->parts && r->parts != r->nsegs) return HS_EINVAL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < r->nsegs; i++) {
        size_t n = r->segs[i].name ? strlen(r->segs[i].name) : 0;
        if (n == 0 || n > HS_META_OBJNAME_MAX) return HS_EINVAL;
        if (r->segs[i].size > UINT64_MAX - sum) return HS_EINVAL;
        sum += r->segs[i].size;
    }
    return sum == r->size ? 0 : HS_EINVAL;
}

int hs__meta_obj_enc(const hs_meta_obj_t *r, size_t hdr, uint8_t **out, size_t *len)
{
    int rc = hs__meta_obj_check(r);
    if (rc < 0) return rc;
    const char *v[8];
    obj_strs(r, v);
    size_t need = hdr + 1 + 1 + 8 + 8 + 4 + 2 + 4;
    for (int i = 0; i < 8; i++)
        need += 2 + strlen(v[i]);
    for (uint32_t i = 0; i < r->nmeta; i++)
        need += 4 + strlen(nz(r->meta[i].name)) + strlen(nz(r->meta[i].value));
    for (uint32_t i = 0; i < r->nsegs; i++)
        need += 1 + strlen(r->segs[i].name) + 8;
    wr_t w = {malloc(need), hdr};
    if (!w.p) return HS_ENOMEM;
    w8(&w, REC_V1);
    w8(&w, 0);
    wle(&w, r->size, 8);
    wle(&w, (uint64_t)r->mtime_ns, 8);
    wle(&w, r->parts, 4);
    for (int i = 0; i < 8; i++) {
        size_t n = strlen(v[i]);
        wle(&w, n, 2);
        wbytes(&w, v[i], n);
    }
    wle(&w, r->nmeta, 2);
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const char *a = nz(r->meta[i].name), *b = nz(r->meta[i].value);
        wle(&w, strlen(a), 2);
        wbytes(&w, a, strlen(a));
        wle(&w, strlen(b), 2);
        wbytes(&w, b, strlen(b));
    }
    wle(&w, r->nsegs, 4);
    for (uint32_t i = 0; i < r->nsegs; i++) {
        size_t n = strlen(r->segs[i].name);
        w8(&w, (unsigned)n);
        wbytes(&w, r->segs[i].name, n);
        wle(&w, r->segs[i].size, 8);
    }
    *out = w.p;
    *len = w.off;
    return 0;
}

/* Walks an object record. With o == NULL it only validates and sizes the
 * strings (*strbytes); with o it fills o, its arrays and strings at s. The
 * two passes share this code so they cannot disagree. */
static int obj_walk(rd_t *r, hs_meta_obj_t *o, hs_meta_pair_t *pairs, hs_meta_seg_t *segs,
                    uint64_t *offs, char *s, size_t *strbytes, uint32_t *nmeta, uint32_t *nsegs)
{
    size_t sb = 0;
    const char **fields[8] = {NULL};
    if (o) {
        fields[0] = &o->etag;
        fields[1] = &o->content_type;
        fields[2] = &o->content_encoding;
        fields[3] = &o->content_disposition;
        fields[4] = &o->content_language;
        fields[5] = &o->cache_control;
        fields[6] = &o->expires;
        fields[7] = &o->storage_class;
    }
#define TAKE(dst, n)                                                                               \
    do {                                                                                           \
        const uint8_t *src_ = rstr(r, (n));                                                        \
        if (!src_) return HS_ECORRUPT;                                                             \
        if (o) {                                                                                   \
            memcpy(s + sb, src_, (n));                                                             \
            s[sb + (n)] = 0;                                                                       \
            (dst) = s + sb;                                                                        \
        }                                                                                          \
        sb += (n) + 1;                                                                             \
    } while (0)
    if (rle(r, 1) != REC_V1) return HS_ECORRUPT;
    rle(r, 1); /* flags: none defined yet */
    uint64_t size = rle(r, 8);
    uint64_t mtime = rle(r, 8);
    uint32_t parts = (uint32_t)rle(r, 4);
    if (r->bad) return HS_ECORRUPT;
    if (o) {
        o->size = size;
        o->mtime_ns = (int64_t)mtime;
        o->parts = parts;
    }
    for (int i = 0; i < 8; i++) {
        size_t n = (size_t)rle(r, 2);
        const char *tmp = NULL;
        TAKE(tmp, n);
        if (o) *fields[i] = tmp;
    }
    uint32_t nm = (uint32_t)rle(r, 2);
    size_t um = 0;
    for (uint32_t i = 0; i < nm; i++) {
        size_t a = (size_t)rle(r, 2);
        TAKE(pairs[i].name, a);
        size_t b = (size_t)rle(r, 2);
        TAKE(pairs[i].value, b);
        um += a + b;
    }
    if (um > HS_META_UMETA_MAX) return HS_ECORRUPT;
    uint32_t ns = (uint32_t)rle(r, 4);
    if (r->bad || ns > HS_META_SEGS_MAX) return HS_ECORRUPT;
    if (parts && parts != ns) return HS_ECORRUPT;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < ns; i++) {
        size_t n = (size_t)rle(r, 1);
        if (n == 0 || n > HS_META_OBJNAME_MAX) return HS_ECORRUPT;
        TAKE(segs[i].name, n);
        uint64_t sz = rle(r, 8);
        if (r->bad || sz > UINT64_MAX - sum) return HS_ECORRUPT;
        if (o) {
            segs[i].size = sz;
            offs[i] = sum;
        }
        sum += sz;
    }
    if (sum != size) return HS_ECORRUPT;
    while (!r->bad && r->off < r->n) {
        unsigned tag = (unsigned)rle(r, 1);
        size_t n = (size_t)rle(r, 2);
        if (r->bad || (tag & EXT_MUST) || r->n - r->off < n) return HS_ECORRUPT;
        r->off += n;
    }
    if (r->bad) return HS_ECORRUPT;
    *strbytes = sb;
    *nmeta = nm;
    *nsegs = ns;
    return 0;
#undef TAKE
}

/* Decodes an object record into a new block: front bytes first (the
 * record struct sits at obj_off inside them, front a multiple of 8), then
 * the record's arrays and strings, then back bytes for the caller. */
static int obj_dec_block(const void *p, size_t n, size_t front, size_t obj_off, size_t back,
                         uint8_t **blk_out, uint8_t **back_out)
{
    rd_t r = {p, n, 0, false};
    size_t sb;
    uint32_t nm, ns;
    int rc = obj_walk(&r, NULL, NULL, NULL, NULL, NULL, &sb, &nm, &ns);
    if (rc < 0) return rc;
    size_t total = front + nm * sizeof(hs_meta_pair_t) +
                   ns * (sizeof(hs_meta_seg_t) + sizeof(uint64_t)) + sb + back;
    uint8_t *blk = calloc(1, total);
    if (!blk) return HS_ENOMEM;
    hs_meta_obj_t *o = (hs_meta_obj_t *)(void *)(blk + obj_off);
    hs_meta_seg_t *segs = (hs_meta_seg_t *)(void *)(blk + front);
    uint64_t *offs = (uint64_t *)(segs + ns);
    hs_meta_pair_t *pairs = (hs_meta_pair_t *)(offs + ns);
    char *s = (char *)(pairs + nm);
    rd_t r2 = {p, n, 0, false};
    rc = obj_walk(&r2, o, pairs, segs, offs, s, &sb, &nm, &ns);
    if (rc < 0) { /* cannot happen: same bytes, same walk */
        free(blk);
        return rc;
    }
    o->meta = nm ? pairs : NULL;
    o->nmeta = nm;
    o->segs = ns ? segs : NULL;
    o->seg_off = ns ? offs : NULL;
    o->nsegs = ns;
    *blk_out = blk;
    if (back_out) *back_out = (uint8_t *)s + sb;
    return 0;
}

int hs__meta_obj_dec(const void *p, size_t n, hs_meta_obj_t **out)
{
    uint8_t *blk;
    int rc = obj_dec_block(p, n, sizeof(hs_meta_obj_t), 0, 0, &blk, NULL);
    if (rc < 0) return rc;
    *out = (hs_meta_obj_t *)(void *)blk;
    return 0;
}

/* ---- bucket records ---- */

size_t hs__meta_bucket_enc(uint8_t *b, const hs_meta_bucket_t *r)
{
    wr_t w = {b, 0};
    size_t cc = strnlen(r->cache_control, HS_META_CC_MAX);
    size_t rg = strnlen(r->region, HS_META_REGION_MAX);
    w8(&w, REC_V1);
    wle(&w, (uint64_t)r->created_ns, 8);
    wle(&w, r->flags, 4);
    wle(&w, cc, 2);
    wbytes(&w, r->cache_control, cc);
    w8(&w, (unsigned)rg);
    wbytes(&w, r->region, rg);
    return w.off;
}

int hs__meta_bucket_dec(hs_meta_bucket_t *o, const void *p, size_t n)
{
    rd_t r = {p, n, 0, false};
    if (rle(&r, 1) != REC_V1) return HS_ECORRUPT;
    memset(o, 0, sizeof(*o));
    o->created_ns = (int64_t)rle(&r, 8);
    o->flags = (uint32_t)rle(&r, 4);
    size_t cc = (size_t)rle(&r, 2);
    if (cc > HS_META_CC_MAX) return HS_ECORRUPT;
    const uint8_t *s = rstr(&r, cc);
    if (!s) return HS_ECORRUPT;
    memcpy(o->cache_control, s, cc);
    size_t rg = (size_t)rle(&r, 1);
    if (rg > HS_META_REGION_MAX) return HS_ECORRUPT;
    s = rstr(&r, rg);
    if (!s || r.off != n) return HS_ECORRUPT;
    memcpy(o->region, s, rg);
    return 0;
}

/* ---- part records ---- */

int hs__meta_part_enc(uint8_t *b, size_t *len, const hs_meta_part_t *p)
{
    size_t e = p->etag ? strlen(p->etag) : 0;
    size_t o = p->objname ? strlen(p->objname) : 0;
    if (e > 64 || o == 0 || o > HS_META_OBJNAME_MAX) return HS_EINVAL;
    wr_t w = {b, 0};
    w8(&w, REC_V1);
    wle(&w, p->size, 8);
    wle(&w, (uint64_t)p->mtime_ns, 8);
    w8(&w, (unsigned)e);
    wbytes(&w, p->etag, e);
    w8(&w, (unsigned)o);
    wbytes(&w, p->objname, o);
    *len = w.off;
    return 0;
}

int hs__meta_part_dec(hs__meta_partrec_t *o, const void *p, size_t n)
{
    rd_t r = {p, n, 0, false};
    if (rle(&r, 1) != REC_V1) return HS_ECORRUPT;
    o->size = rle(&r, 8);
    o->mtime_ns = (int64_t)rle(&r, 8);
    size_t e = (size_t)rle(&r, 1);
    if (e > 64) return HS_ECORRUPT;
    const uint8_t *s = rstr(&r, e);
    if (!s) return HS_ECORRUPT;
    memcpy(o->etag, s, e);
    o->etag[e] = 0;
    size_t on = (size_t)rle(&r, 1);
    if (on == 0 || on > HS_META_OBJNAME_MAX) return HS_ECORRUPT;
    s = rstr(&r, on);
    if (!s || r.off != n) return HS_ECORRUPT;
    memcpy(o->objname, s, on);
    o->objname[on] = 0;
    return 0;
}

void hs__meta_part_view(const hs__meta_partrec_t *r, hs_meta_part_t *p)
{
    p->etag = r->etag;
    p->objname = r->objname;
    p->size = r->size;
    p->mtime_ns = r->mtime_ns;
}

/* ---- upload records ---- */

int hs__meta_upload_enc(const char *key, size_t keylen, int64_t initiated,
                        const hs_meta_obj_t *tmpl, uint8_t **out, size_t *len)
{
    hs_meta_obj_t t = *tmpl;
    /* The template carries headers only: bytes come at completion. */
    t.size = 0;
    t.parts = 0;
    t.etag = "";
    t.segs = NULL;
    t.nsegs = 0;
    size_t hdr = 1 + 8 + 2 + keylen;
    uint8_t *b;
    size_t n;
    if (keylen == 0 || keylen > HS_META_KEY_MAX) return HS_EINVAL;
    int rc = hs__meta_obj_enc(&t, hdr, &b, &n);
    if (rc < 0) return rc;
    wr_t w = {b, 0};
    w8(&w, REC_V1);
    wle(&w, (uint64_t)initiated, 8);
    wle(&w, keylen, 2);
    wbytes(&w, key, keylen);
    *out = b;
    *len = n;
    return 0;
}

int hs__meta_upload_dec(const void *p, size_t n, const char *id, hs_meta_mpu_t **out)
{
    rd_t r = {p, n, 0, false};
    if (rle(&r, 1) != REC_V1) return HS_ECORRUPT;
    int64_t init = (int64_t)rle(&r, 8);
    size_t kl = (size_t)rle(&r, 2);
    if (r.bad || kl == 0 || kl > HS_META_KEY_MAX || n - r.off < kl) return HS_ECORRUPT;
    const uint8_t *key = r.p + r.off;
    r.off += kl;
    uint8_t *blk, *kp;
    int rc = obj_dec_block(r.p + r.off, n - r.off, sizeof(hs_meta_mpu_t),
                           offsetof(hs_meta_mpu_t, tmpl), kl + 1, &blk, &kp);
    if (rc < 0) return rc;
    hs_meta_mpu_t *u = (hs_meta_mpu_t *)(void *)blk;
    /* What the encoder never writes into a template is corruption. */
    if (u->tmpl.nsegs || u->tmpl.size || u->tmpl.parts || u->tmpl.etag[0]) {
        free(blk);
        return HS_ECORRUPT;
    }
    memcpy(u->upload_id, id, HS_META_UPLOAD_ID_LEN);
    u->upload_id[HS_META_UPLOAD_ID_LEN] = 0;
    memcpy(kp, key, kl);
    kp[kl] = 0;
    u->key = (const char *)kp;
    u->keylen = kl;
    u->initiated_ns = init;
    *out = u;
    return 0;
}
