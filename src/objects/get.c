/*
 * The read path. A reader holds the object's manifest (chunk hashes and
 * sizes), finds the chunks that overlap its range, resolves each chunk's
 * location in the index, and reads only the fragment blocks that hold it,
 * verifying each block's CRC32C. Sequential readers read ahead a few
 * blocks per fragment. A missing fragment or a bad block switches that
 * stripe to a degraded read: the stripe is decoded from any D good
 * fragments (each verified), the bad fragments are rewritten (atomically:
 * temp file, fsync, rename) and counted, and the decoded chunk is checked
 * against its SHA-256 before a byte of it is returned.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/internal.h"
#include "objects/objects.h"

#define RA_MAX_BLOCKS 16 /* read-ahead per fragment: 1 MiB */

struct hs_obj_reader {
    hs_objects_t *s;
    char *name;
    int lockfd;
    hs__manifest_t m;
    uint64_t *starts; /* starts[i]: object offset of chunk i; [n] = size */
    uint64_t pos, end;
    /* current chunk, decoded */
    long cur;
    uint8_t *cbuf;
    size_t ccap;
    uint8_t *sbuf; /* stored form when compressed */
    size_t scap;
    /* open fragments of one stripe, with a block cache each */
    uint64_t fstripe;
    hs__stripe_rec_t fst;
    int fd[HS_EC_MAX];
    hs__frag_hdr_t hdr[HS_EC_MAX];
    uint8_t *blk[HS_EC_MAX];
    uint32_t b0[HS_EC_MAX], b1[HS_EC_MAX];
    /* whole decoded stripe, after a degraded read */
    uint64_t dstripe;
    uint8_t *dbuf;
    size_t dcap;
};

static void close_frags(hs_obj_reader_t *r)
{
    for (int i = 0; i < HS_EC_MAX; i++) {
        if (r->fd[i] >= 0) {
            close(r->fd[i]);
            hs__frag_hdr_free(&r->hdr[i]);
        }
        r->fd[i] = -1;
        r->b0[i] = r->b1[i] = 0;
    }
    r->fstripe = 0;
}

int hs__stripe_load(hs_objects_t *s, uint64_t id, const hs__stripe_rec_t *st, uint8_t *buf,
                    bool all_frags, bool repair, hs_obj_report_t *rep)
{
    int d = st->d, n = st->d + st->p, good = 0, rc = 0;
    size_t f = st->frag_len;
    uint8_t have[HS_EC_MAX] = {0}, bad[HS_EC_MAX] = {0}, want[HS_EC_MAX] = {0};
    uint8_t *frags[HS_EC_MAX];
    uint8_t *par = malloc((size_t)(st->p ? st->p : 1) * f);
    const hs_ec_t *ec = hs__ec(s, st->d, st->p);
    if (!par || !ec) {
        free(par);
        return HS_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        frags[i] = i < d ? buf + (size_t)i * f : par + (size_t)(i - d) * f;
    for (int i = 0; i < n; i++) {
        if (good >= d && !all_frags && !repair)
            break;
        char path[4200];
        hs__frag_hdr_t h;
        hs__frag_path(path, sizeof(path), hs__frag_drive(s, st, i), id, i);
        int fd = hs__frag_open(path, id, i, st, &h);
        if (fd < 0) {
            if (fd == HS_ENOMEM) {
                rc = fd;
                goto out;
            }
            bad[i] = 1;
            if (rep)
                rep->frags_missing++;
            continue;
        }
        long got = hs__frag_read_blocks(fd, &h, 0, h.nblocks, frags[i]);
        close(fd);
        hs__frag_hdr_free(&h);
        if (got < 0) {
            bad[i] = 1;
            if (got == HS_ECORRUPT) {
                atomic_fetch_add(&s->corrupt_detected, 1);
                hs__count(s->m_corrupt, 1);
                hs_log_warn("objects_corrupt_fragment", "stripe=%016llx fragment=%d path=%s",
                            (unsigned long long)id, i, path);
                if (rep)
                    rep->frags_corrupt++;
            } else if (rep) {
                rep->frags_missing++;
            }
            continue;
        }
        if (rep)
            rep->bytes_read += (uint64_t)got;
        have[i] = 1;
        good++;
    }
    if (good < d) {
        if (rep)
            rep->stripes_lost++;
        rc = HS_EIO;
        goto out;
    }
    for (int i = 0; i < n; i++)
        want[i] = !have[i] && (i < d || (repair && bad[i]));
    if ((rc = hs_ec_rebuild(ec, f, frags, have, want)) < 0)
        goto out;
    if (repair) {
        pthread_mutex_lock(&s->repair_mu);
        for (int i = 0; i < n; i++) {
            if (!bad[i])
                continue;
            char path[4200];
            const char *drive = hs__frag_drive(s, st, i);
            hs__frag_path(path, sizeof(path), drive, id, i);
            int w = hs__frag_write(path, id, i, st, frags[i], true);
            if (w == 0 && !s->no_fsync)
                w = hs__fsync_path(drive, false);
            if (w == 0) {
                atomic_fetch_add(&s->repaired, 1);
                hs__count(s->m_repaired, 1);
                hs_log_info("objects_fragment_repaired", "stripe=%016llx fragment=%d path=%s",
                            (unsigned long long)id, i, path);
                if (rep)
                    rep->frags_rebuilt++;
            } else {
                hs_log_error("objects_repair_failed", "stripe=%016llx fragment=%d path=%s err=%s",
                             (unsigned long long)id, i, path, hs_errname(w));
                if (rep)
                    rep->errors++;
            }
        }
        pthread_mutex_unlock(&s->repair_mu);
    }
out:
    free(par);
    return rc;
}

static int verify_hash(const uint8_t *p, size_t n, const uint8_t hash[32])
{
    uint8_t md[32];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return HS_EIO;
    return memcmp(md, hash, 32) == 0 ? 0 : HS_ECORRUPT;
}

static int ensure_buf(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *n = realloc(*b, need);
    if (!n)
        return HS_ENOMEM;
    *b = n;
    *cap = need;
    return 0;
}

/* Copies stored bytes [off, off+len) of the stripe from fragment i, via
 * the block cache. ra: extra blocks to read ahead. */
static int frag_copy(hs_obj_reader_t *r, uint64_t id, int i, uint32_t foff, uint32_t len,
                     uint32_t ra, uint8_t *dst)
{
    hs_objects_t *s = r->s;
    if (r->fd[i] < 0) {
        char path[4200];
        hs__frag_path(path, sizeof(path), hs__frag_drive(s, &r->fst, i), id, i);
        int fd = hs__frag_open(path, id, i, &r->fst, &r->hdr[i]);
        if (fd < 0)
            return fd;
        r->fd[i] = fd;
        if (!r->blk[i] && !(r->blk[i] = malloc((size_t)RA_MAX_BLOCKS * HS_OBJ_BLOCK)))
            return HS_ENOMEM;
    }
    const hs__frag_hdr_t *h = &r->hdr[i];
    uint32_t bs = h->block_size;
    uint32_t b0 = foff / bs, b1 = (foff + len + bs - 1) / bs;
    if (b0 < r->b0[i] || b1 > r->b1[i]) {
        uint32_t e = b0 + (b1 - b0 > ra ? b1 - b0 : ra);
        if (e > b0 + RA_MAX_BLOCKS)
            e = b0 + RA_MAX_BLOCKS;
        if (e < b1)
            return HS_E2BIG; /* a chunk larger than the cache: cannot be */
        long got = hs__frag_read_blocks(r->fd[i], h, b0, e, r->blk[i]);
        if (got < 0) {
            r->b0[i] = r->b1[i] = 0;
            return (int)got;
        }
        r->b0[i] = b0;
        r->b1[i] = e > h->nblocks ? h->nblocks : e;
    }
    memcpy(dst, r->blk[i] + (size_t)(foff - r->b0[i] * bs), len);
    return 0;
}

/* Reads the stored bytes of chunk c into dst, fast path then degraded. */
static int read_stored(hs_obj_reader_t *r, const hs__chunk_rec_t *c, uint8_t *dst, bool *degraded)
{
    hs_objects_t *s = r->s;
    int rc;
    *degraded = false;
    if (r->dstripe == c->stripe) {
        memcpy(dst, r->dbuf + c->off, c->stored_len);
        *degraded = true;
        return 0;
    }
    if (r->fstripe != c->stripe) {
        hs_kv_txn_t *txn;
        close_frags(r);
        if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0)
            return rc;
        rc = hs__get_stripe(txn, c->stripe, &r->fst);
        hs_kv_txn_abort(txn);
        if (rc < 0)
            return rc == HS_ENOENT ? HS_EIO : rc;
        r->fstripe = c->stripe;
    }
    const hs__stripe_rec_t *st = &r->fst;
    if ((uint64_t)c->off + c->stored_len > st->data_len)
        return HS_ECORRUPT;
    uint64_t left = r->end > r->pos ? r->end - r->pos : 0;
    uint32_t ra = (uint32_t)(left / st->d / HS_OBJ_BLOCK) + 1;
    uint32_t off = c->off, len = c->stored_len, done = 0;
    rc = 0;
    while (done < len) {
        int i = (int)(off / st->frag_len);
        uint32_t foff = off % st->frag_len;
        uint32_t n = st->frag_len - foff;
        if (n > len - done)
            n = len - done;
        rc = frag_copy(r, c->stripe, i, foff, n, ra, dst + done);
        if (rc < 0)
            break;
        off += n;
        done += n;
    }
    if (rc == 0)
        return 0;
    if (rc == HS_ENOMEM || rc == HS_E2BIG)
        return rc;
    if (rc == HS_ECORRUPT) {
        atomic_fetch_add(&s->corrupt_detected, 1);
        hs__count(s->m_corrupt, 1);
    }
    /* Degraded: decode the whole stripe from the good fragments, rewrite
     * the bad ones, and serve this stripe from the decoded copy. */
    size_t need = (size_t)st->d * st->frag_len;
    if ((rc = ensure_buf(&r->dbuf, &r->dcap, need)) < 0)
        return rc;
    hs__stripe_rec_t stc = *st;
    uint64_t id = c->stripe;
    close_frags(r);
    if ((rc = hs__stripe_load(s, id, &stc, r->dbuf, false, true, NULL)) < 0)
        return rc;
    r->dstripe = id;
    memcpy(dst, r->dbuf + c->off, c->stored_len);
    *degraded = true;
    return 0;
}

static int decode_chunk(const hs__chunk_rec_t *c, const uint8_t *stored, uint8_t *out)
{
    if (c->comp == 0) {
        if (stored != out)
            memcpy(out, stored, c->raw_len);
        return 0;
    }
    size_t n = ZSTD_decompress(out, c->raw_len, stored, c->stored_len);
    return !ZSTD_isError(n) && n == c->raw_len ? 0 : HS_ECORRUPT;
}

/* Loads chunk idx of the manifest into r->cbuf. */
static int load_chunk(hs_obj_reader_t *r, long idx)
{
    hs_objects_t *s = r->s;
    hs_kv_txn_t *txn;
    hs__chunk_rec_t c;
    const hs__mchunk_t *mc = &r->m.chunks[idx];
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0)
        return rc;
    rc = hs__get_chunk(txn, mc->hash, &c);
    hs_kv_txn_abort(txn);
    if (rc < 0)
        return rc == HS_ENOENT ? HS_EIO : rc;
    if (c.raw_len != mc->raw_len)
        return HS_ECORRUPT;
    if ((rc = ensure_buf(&r->cbuf, &r->ccap, c.raw_len)) < 0)
        return rc;
    uint8_t *dst = r->cbuf;
    if (c.comp) {
        if ((rc = ensure_buf(&r->sbuf, &r->scap, c.stored_len)) < 0)
            return rc;
        dst = r->sbuf;
    }
    bool degraded;
    if ((rc = read_stored(r, &c, dst, &degraded)) < 0)
        return rc;
    if ((rc = decode_chunk(&c, dst, r->cbuf)) < 0)
        return rc;
    if (degraded && (rc = verify_hash(r->cbuf, c.raw_len, mc->hash)) < 0)
        return rc;
    r->cur = idx;
    return 0;
}

int hs__chunk_read(hs_objects_t *s, const hs__chunk_rec_t *c, uint8_t **out)
{
    hs__stripe_rec_t st;
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0)
        return rc;
    rc = hs__get_stripe(txn, c->stripe, &st);
    hs_kv_txn_abort(txn);
    if (rc < 0)
        return rc;
    uint8_t *sbuf = malloc((size_t)st.d * st.frag_len);
    uint8_t *raw = malloc(c->raw_len ? c->raw_len : 1);
    if (!sbuf || !raw) {
        rc = HS_ENOMEM;
    } else if ((uint64_t)c->off + c->stored_len > st.data_len) {
        rc = HS_ECORRUPT;
    } else if ((rc = hs__stripe_load(s, c->stripe, &st, sbuf, false, true, NULL)) == 0) {
        rc = decode_chunk(c, sbuf + c->off, raw);
    }
    free(sbuf);
    if (rc < 0) {
        free(raw);
        return rc;
    }
    *out = raw;
    return 0;
}

int hs_obj_get_open(hs_objects_t *s, const char *name, uint64_t off, uint64_t len,
                    hs_obj_reader_t **out)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn;
    hs_kv_val_t v;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0)
        return rc;
    hs_obj_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return HS_ENOMEM;
    r->s = s;
    r->cur = -1;
    r->lockfd = -1;
    for (int i = 0; i < HS_EC_MAX; i++)
        r->fd[i] = -1;
    /* Shared lock: gc cannot unlink a stripe under an open reader. */
    if ((rc = r->lockfd = hs__lock(s, false, false)) < 0)
        goto fail;
    if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0)
        goto fail;
    rc = hs_kv_get(txn, k, klen, &v);
    if (rc == 0)
        rc = hs__manifest_dec(&r->m, v.data, v.len);
    hs_kv_txn_abort(txn);
    if (rc < 0)
        goto fail;
    if (off > r->m.size) {
        rc = HS_ERANGE;
        goto fail;
    }
    r->starts = malloc(((size_t)r->m.nchunks + 1) * sizeof(uint64_t));
    r->name = strdup(name);
    if (!r->starts || !r->name) {
        rc = HS_ENOMEM;
        goto fail;
    }
    uint64_t acc = 0;
    for (uint32_t i = 0; i < r->m.nchunks; i++) {
        r->starts[i] = acc;
        acc += r->m.chunks[i].raw_len;
    }
    r->starts[r->m.nchunks] = acc;
    r->pos = off;
    r->end = len >= r->m.size - off ? r->m.size : off + len;
    *out = r;
    return 0;
fail:
    hs_obj_get_close(r);
    return rc;
}

uint64_t hs_obj_reader_size(const hs_obj_reader_t *r)
{
    return r->m.size;
}

long hs_obj_read(hs_obj_reader_t *r, void *buf, size_t cap)
{
    size_t done = 0;
    while (done < cap && r->pos < r->end) {
        long idx = r->cur;
        if (idx < 0 || r->pos < r->starts[idx] || r->pos >= r->starts[idx + 1]) {
            /* binary search the chunk holding pos */
            long lo = 0, hi = (long)r->m.nchunks - 1;
            while (lo < hi) {
                long mid = (lo + hi + 1) / 2;
                if (r->starts[mid] <= r->pos)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            int rc = load_chunk(r, lo);
            if (rc < 0)
                return rc;
            idx = lo;
        }
        uint64_t in = r->pos - r->starts[idx];
        uint64_t n = r->starts[idx + 1] - r->pos;
        if (n > r->end - r->pos)
            n = r->end - r->pos;
        if (n > cap - done)
            n = cap - done;
        memcpy((uint8_t *)buf + done, r->cbuf + in, n);
        done += n;
        r->pos += n;
    }
    hs__count(r->s->m_get_bytes, done);
    return (long)done;
}

void hs_obj_get_close(hs_obj_reader_t *r)
{
    if (!r)
        return;
    if (r->name && r->pos > 0)
        hs__access_record(r->s, r->name);
    close_frags(r);
    for (int i = 0; i < HS_EC_MAX; i++)
        free(r->blk[i]);
    hs__unlock(r->lockfd);
    hs__manifest_free(&r->m);
    free(r->starts);
    free(r->cbuf);
    free(r->sbuf);
    free(r->dbuf);
    free(r->name);
    free(r);
}
