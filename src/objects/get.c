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
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/internal.h"
#include "objects/objects.h"

#define PREFETCH_DEPTH 2 /* stripes read ahead of a sequential reader */

struct hs_obj_reader {
    hs_objects_t *s;
    hs_kv_txn_t *txn; /* read snapshot, held until close */
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
    const uint8_t *cptr;  /* the current chunk's bytes (cbuf or the window) */
    hs__chunk_rec_t crec; /* the current chunk's record */
    bool cwin;            /* cptr points into the window */
    /* open fragments of one stripe, each with a window of verified blocks */
    uint64_t fstripe;
    hs__stripe_rec_t fst;
    int fd[HS_EC_MAX];
    hs__frag_hdr_t hdr[HS_EC_MAX];
    /* one window of verified blocks [w0, w1) of fragment wfrag: a single
     * small buffer stays in the CPU cache as the read walks fragments */
    uint8_t *win;
    uint32_t winb; /* window size in blocks: holds the largest chunk */
    int wfrag;
    uint32_t w0, w1;
    /* whole decoded stripe, after a degraded read */
    uint64_t prefetched[PREFETCH_DEPTH]; /* stripes whose readahead was asked */
    unsigned pfnext;
    long loading; /* chunk index load_chunk is working on */
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
    }
    r->fstripe = 0;
    r->cwin = false;
    r->w0 = r->w1 = 0;
    r->wfrag = -1;
    r->cptr = NULL; /* it may have pointed into the window */
    r->cur = -1;
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
        if (good >= d && !all_frags && !repair) break;
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
            if (rep) rep->frags_missing++;
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
                if (rep) rep->frags_corrupt++;
            } else if (rep) {
                rep->frags_missing++;
            }
            continue;
        }
        if (rep) rep->bytes_read += (uint64_t)got;
        have[i] = 1;
        good++;
    }
    if (good < d) {
        if (rep) rep->stripes_lost++;
        rc = HS_EIO;
        goto out;
    }
    for (int i = 0; i < n; i++)
        want[i] = !have[i] && (i < d || (repair && bad[i]));
    if ((rc = hs_ec_rebuild(ec, f, frags, have, want)) < 0) goto out;
    if (repair) {
        pthread_mutex_lock(&s->repair_mu);
        for (int i = 0; i < n; i++) {
            if (!bad[i]) continue;
            char path[4200];
            const char *drive = hs__frag_drive(s, st, i);
            hs__frag_path(path, sizeof(path), drive, id, i);
            int w = hs__frag_write(path, id, i, st, frags[i], true);
            if (w == 0 && !s->no_fsync) w = hs__fsync_path(drive, false);
            if (w == 0) {
                atomic_fetch_add(&s->repaired, 1);
                hs__count(s->m_repaired, 1);
                hs_log_info("objects_fragment_repaired", "stripe=%016llx fragment=%d path=%s",
                            (unsigned long long)id, i, path);
                if (rep) rep->frags_rebuilt++;
            } else {
                hs_log_error("objects_repair_failed", "stripe=%016llx fragment=%d path=%s err=%s",
                             (unsigned long long)id, i, path, hs_errname(w));
                if (rep) rep->errors++;
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
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32) return HS_EIO;
    return memcmp(md, hash, 32) == 0 ? 0 : HS_ECORRUPT;
}

static int ensure_buf(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    uint8_t *n = realloc(*b, need);
    if (!n) return HS_ENOMEM;
    *b = n;
    *cap = need;
    return 0;
}

/*
 * Fragments are read with pread(2) into one small window of blocks
 * (256 KiB, so it stays in the CPU's L2): a block's CRC is checked
 * while the bytes are cache-hot, and chunks are then served as views into
 * the window — the caller writes them out (to a socket, a file) without
 * another copy. A sequential reader hints the kernel (POSIX_FADV_WILLNEED)
 * for every data fragment of the stripe at once, so cold reads keep all
 * drives busy in parallel.
 */
#define WIN_BLOCKS 4 /* the least; more when chunks can be larger */

static int frag_map(hs_obj_reader_t *r, uint64_t id, int i, bool sequential)
{
    hs_objects_t *s = r->s;
    char path[4200];
    hs__frag_path(path, sizeof(path), hs__frag_drive(s, &r->fst, i), id, i);
    int fd = hs__frag_open(path, id, i, &r->fst, &r->hdr[i]);
    if (fd < 0) return fd;
    if (!r->win && !(r->win = malloc((size_t)r->winb * HS_OBJ_BLOCK))) {
        close(fd);
        hs__frag_hdr_free(&r->hdr[i]);
        return HS_ENOMEM;
    }
    if (sequential) posix_fadvise(fd, r->hdr[i].hdr_len, r->hdr[i].frag_len, POSIX_FADV_WILLNEED);
    r->fd[i] = fd;
    return 0;
}

/* Pointer to payload bytes [foff, foff+len) of fragment i, every block
 * under them verified. Valid until the next call for this fragment. */
static int frag_view(hs_obj_reader_t *r, uint64_t id, int i, uint32_t foff, uint32_t len,
                     const uint8_t **out)
{
    int rc;
    if (r->fd[i] < 0 && (rc = frag_map(r, id, i, false)) < 0) return rc;
    const hs__frag_hdr_t *h = &r->hdr[i];
    uint32_t bs = h->block_size;
    uint32_t b0 = foff / bs, b1 = (foff + len + bs - 1) / bs;
    if (b1 > h->nblocks) b1 = h->nblocks;
    bool mine = r->wfrag == i && r->w1 > 0;
    if (!mine || b0 < r->w0 || b1 > r->w1) {
        if (b1 - b0 > r->winb) return HS_E2BIG; /* larger than any chunk: cannot be */
        /* slide: blocks already verified and still wanted move down */
        uint32_t keep = 0;
        if (mine && b0 >= r->w0 && b0 < r->w1) {
            keep = r->w1 - b0;
            memmove(r->win, r->win + (size_t)(b0 - r->w0) * bs, (size_t)keep * bs);
        }
        r->wfrag = -1;
        long got =
            hs__frag_read_blocks(r->fd[i], h, b0 + keep, b0 + r->winb, r->win + (size_t)keep * bs);
        if (got < 0) return (int)got;
        r->wfrag = i;
        r->w0 = b0;
        r->w1 = b0 + r->winb < h->nblocks ? b0 + r->winb : h->nblocks;
    }
    *out = r->win + (size_t)(foff - r->w0 * bs);
    return 0;
}

/* Asks the kernel to read ahead the data fragments of the next
 * PREFETCH_DEPTH stripes the reader will enter (found from the chunks after
 * the current one), so a cold sequential read keeps the drives busy while
 * this stripe is checked and copied. Best effort. */
static void prefetch_next(hs_obj_reader_t *r, uint64_t cur)
{
    hs_objects_t *s = r->s;
    hs_kv_txn_t *txn = r->txn;
    long from = r->loading + 1;
    uint64_t seen = cur;
    int found = 0;
    for (long k = from; k < (long)r->m.nchunks && k < from + 2048 && found < PREFETCH_DEPTH; k++) {
        hs__chunk_rec_t c;
        hs__stripe_rec_t st;
        if (hs__get_chunk(txn, r->m.chunks[k].hash, &c) < 0) break;
        if (c.stripe == cur || c.stripe == seen) continue;
        seen = c.stripe;
        found++;
        bool done = false;
        for (int j = 0; j < PREFETCH_DEPTH; j++)
            done |= r->prefetched[j] == c.stripe;
        if (done || hs__get_stripe(txn, c.stripe, &st) < 0) continue;
        for (int i = 0; i < st.d; i++) {
            char path[4200];
            hs__frag_path(path, sizeof(path), hs__frag_drive(s, &st, i), c.stripe, i);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
                close(fd);
            }
        }
        r->prefetched[r->pfnext++ % PREFETCH_DEPTH] = c.stripe;
    }
}

/* The stored bytes of chunk c: *out points into a window when the chunk
 * lies in one fragment, else they are assembled in *tmp (cap *tcap).
 * Missing or bad fragments switch the stripe to a degraded read. */
static int read_stored(hs_obj_reader_t *r, const hs__chunk_rec_t *c, const uint8_t **out,
                       uint8_t **tmp, size_t *tcap, bool *degraded)
{
    hs_objects_t *s = r->s;
    int rc;
    *degraded = false;
    if (r->dstripe == c->stripe) {
        *out = r->dbuf + c->off;
        *degraded = true;
        return 0;
    }
    if (r->fstripe != c->stripe) {
        close_frags(r);
        rc = hs__get_stripe(r->txn, c->stripe, &r->fst);
        if (rc < 0) return rc == HS_ENOENT ? HS_EIO : rc;
        r->fstripe = c->stripe;
        /* map the data fragments the rest of the read will need, so their
         * readahead runs in parallel, and start reading the next stripe */
        uint64_t left = r->end > r->pos ? r->end - r->pos : 0;
        if (left > c->raw_len) {
            for (int i = (int)(c->off / r->fst.frag_len); i < r->fst.d; i++)
                if (frag_map(r, c->stripe, i, true) < 0) break;
            if (left > (uint64_t)r->fst.data_len) prefetch_next(r, c->stripe);
        }
    }
    const hs__stripe_rec_t *st = &r->fst;
    if ((uint64_t)c->off + c->stored_len > st->data_len) return HS_ECORRUPT;
    uint32_t off = c->off, len = c->stored_len, done = 0;
    int i0 = (int)(off / st->frag_len);
    rc = 0;
    if ((off + len - 1) / st->frag_len == (uint32_t)i0 || len == 0) {
        rc = frag_view(r, c->stripe, i0, off % st->frag_len, len, out);
        if (rc == 0) return 0;
    } else if ((rc = ensure_buf(tmp, tcap, len)) == 0) {
        while (done < len) {
            int i = (int)(off / st->frag_len);
            uint32_t foff = off % st->frag_len;
            uint32_t n = st->frag_len - foff;
            const uint8_t *p;
            if (n > len - done) n = len - done;
            if ((rc = frag_view(r, c->stripe, i, foff, n, &p)) < 0) break;
            memcpy(*tmp + done, p, n);
            off += n;
            done += n;
        }
        if (rc == 0) {
            *out = *tmp;
            return 0;
        }
    }
    if (rc == HS_ENOMEM) return rc;
    if (rc == HS_ECORRUPT) {
        atomic_fetch_add(&s->corrupt_detected, 1);
        hs__count(s->m_corrupt, 1);
    }
    /* Degraded: decode the whole stripe from the good fragments, rewrite
     * the bad ones, and serve this stripe from the decoded copy. */
    size_t need = (size_t)st->d * st->frag_len;
    if ((rc = ensure_buf(&r->dbuf, &r->dcap, need)) < 0) return rc;
    hs__stripe_rec_t stc = *st;
    uint64_t id = c->stripe;
    close_frags(r);
    if ((rc = hs__stripe_load(s, id, &stc, r->dbuf, false, true, NULL)) < 0) return rc;
    r->dstripe = id;
    *out = r->dbuf + c->off;
    *degraded = true;
    return 0;
}

static int decode_chunk(const hs__chunk_rec_t *c, const uint8_t *stored, uint8_t *out)
{
    if (c->comp == 0) {
        if (stored != out) memcpy(out, stored, c->raw_len);
        return 0;
    }
    size_t n = ZSTD_decompress(out, c->raw_len, stored, c->stored_len);
    return !ZSTD_isError(n) && n == c->raw_len ? 0 : HS_ECORRUPT;
}

/* Makes chunk idx current: r->cptr points at its raw bytes (in a
 * fragment window for a plain chunk, else decompressed into cbuf). */
static int load_chunk(hs_obj_reader_t *r, long idx)
{
    hs__chunk_rec_t c;
    const hs__mchunk_t *mc = &r->m.chunks[idx];
    int rc = hs__get_chunk(r->txn, mc->hash, &c);
    if (rc < 0) return rc == HS_ENOENT ? HS_EIO : rc;
    if (c.raw_len != mc->raw_len || (!c.comp && c.stored_len != c.raw_len)) return HS_ECORRUPT;
    r->cur = -1;
    r->cptr = NULL;
    r->loading = idx;
    const uint8_t *stored;
    bool degraded;
    if ((rc = read_stored(r, &c, &stored, &r->sbuf, &r->scap, &degraded)) < 0) return rc;
    if (c.comp) {
        if ((rc = ensure_buf(&r->cbuf, &r->ccap, c.raw_len)) < 0) return rc;
        if ((rc = decode_chunk(&c, stored, r->cbuf)) < 0) return rc;
        stored = r->cbuf;
    }
    /* a rebuilt chunk is checked end to end before use */
    if (degraded && (rc = verify_hash(stored, c.raw_len, mc->hash)) < 0) return rc;
    r->cptr = stored;
    r->cur = idx;
    r->crec = c;
    r->cwin = !c.comp && !degraded && r->win && stored >= r->win &&
              stored + c.stored_len <= r->win + (size_t)r->winb * HS_OBJ_BLOCK;
    return 0;
}

/* After the current chunk: while the next chunks sit right after it in
 * the same verified window (a sequential object written in one put), make
 * them current and return how many more bytes the view can cover. */
static uint64_t extend_view(hs_obj_reader_t *r, uint64_t want)
{
    uint64_t got = 0;
    while (got < want && r->cwin && r->cur + 1 < (long)r->m.nchunks) {
        long nx = r->cur + 1;
        hs__chunk_rec_t c;
        if (hs__get_chunk(r->txn, r->m.chunks[nx].hash, &c) < 0 || c.comp ||
            c.stripe != r->fstripe || c.raw_len != r->m.chunks[nx].raw_len ||
            c.off != r->crec.off + r->crec.stored_len)
            break;
        uint32_t f = r->fst.frag_len, bs = HS_OBJ_BLOCK;
        if ((int)(c.off / f) != r->wfrag || (c.off + c.stored_len - 1) / f != c.off / f ||
            c.off % f + c.stored_len > r->w1 * bs || c.off % f < r->w0 * bs)
            break;
        r->cur = nx;
        r->crec = c;
        r->cptr = r->win + (c.off % f - r->w0 * bs);
        got += c.raw_len;
    }
    return got;
}

int hs__chunk_read(hs_objects_t *s, const hs__chunk_rec_t *c, uint8_t **out)
{
    hs__stripe_rec_t st;
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs__get_stripe(txn, c->stripe, &st);
    hs_kv_txn_abort(txn);
    if (rc < 0) return rc;
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
    if (rc < 0) return rc;
    hs_obj_reader_t *r = calloc(1, sizeof(*r));
    if (!r) return HS_ENOMEM;
    r->s = s;
    r->cur = -1;
    r->winb = (s->cdc.max + HS_OBJ_BLOCK - 1) / HS_OBJ_BLOCK + 1;
    if (r->winb < WIN_BLOCKS) r->winb = WIN_BLOCKS;
    r->lockfd = -1;
    for (int i = 0; i < HS_EC_MAX; i++)
        r->fd[i] = -1;
    /* Shared lock: gc cannot unlink a stripe under an open reader. */
    if ((rc = r->lockfd = hs__lock(s, false, false)) < 0) goto fail;
    if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0) goto fail;
    /* One snapshot for the reader's life: the manifest and every chunk and
     * stripe location come from the same consistent state (the files of
     * stripes it names cannot go: gc waits for our shared lock). */
    r->txn = txn;
    rc = hs_kv_get(txn, k, klen, &v);
    if (rc == 0) rc = hs__manifest_dec(&r->m, v.data, v.len);
    if (rc < 0) goto fail;
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

/* Makes the chunk holding r->pos current; returns its index or an error. */
static long seek_chunk(hs_obj_reader_t *r)
{
    long idx = r->cur;
    if (idx >= 0 && r->pos >= r->starts[idx] && r->pos < r->starts[idx + 1]) return idx;
    long lo = 0, hi = (long)r->m.nchunks - 1;
    while (lo < hi) { /* binary search the chunk holding pos */
        long mid = (lo + hi + 1) / 2;
        if (r->starts[mid] <= r->pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    int rc = load_chunk(r, lo);
    return rc < 0 ? rc : lo;
}

long hs_obj_read_view(hs_obj_reader_t *r, const void **p, size_t max)
{
    if (r->pos >= r->end || max == 0) return 0;
    long idx = seek_chunk(r);
    if (idx < 0) return idx;
    uint64_t in = r->pos - r->starts[idx];
    uint64_t n = r->starts[idx + 1] - r->pos;
    uint64_t lim = r->end - r->pos < max ? r->end - r->pos : max;
    *p = r->cptr + in;
    if (n < lim) n += extend_view(r, lim - n); /* one view over adjacent chunks */
    if (n > lim) n = lim;
    r->pos += n;
    hs__count(r->s->m_get_bytes, n);
    return (long)n;
}

long hs_obj_read(hs_obj_reader_t *r, void *buf, size_t cap)
{
    size_t done = 0;
    while (done < cap && r->pos < r->end) {
        const void *p;
        long n = hs_obj_read_view(r, &p, cap - done);
        if (n < 0) return n;
        memcpy((uint8_t *)buf + done, p, (size_t)n);
        done += (size_t)n;
    }
    return (long)done;
}

void hs_obj_get_close(hs_obj_reader_t *r)
{
    if (!r) return;
    if (r->name && r->pos > 0) hs__access_record(r->s, r->name);
    close_frags(r);
    free(r->win);
    hs_kv_txn_abort(r->txn);
    hs__unlock(r->lockfd);
    hs__manifest_free(&r->m);
    free(r->starts);
    free(r->cbuf);
    free(r->sbuf);
    free(r->dbuf);
    free(r->name);
    free(r);
}
