/*
 * The read path. A reader holds the object's manifest (chunk hashes and
 * sizes), finds the chunks that overlap its range, resolves each chunk's
 * location in the index, and reads only the fragment blocks that hold it,
 * verifying each block's CRC32C. Sequential readers read ahead a few
 * blocks per fragment; a reader of a long range hands the reading and
 * checking of the next stripes to its worker threads (ahead.c) and
 * serves views of their verified slots. A missing fragment or a bad block switches that
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

#define PREFETCH_DEPTH 2    /* stripes read ahead of a sequential reader */
#define PREFETCH_RING 4     /* stripes remembered as already hinted */
#define AHEAD_MIN_STRIPES 3 /* a range this long gets read-ahead workers */
#define LA_RING 1024        /* chunk records looked up ahead of the reader */
#define VIEW_SLOT HS_EC_MAX /* cfrag: the view is in a read-ahead slot */

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
    const uint8_t *cptr;  /* the current chunk's bytes (a view, cbuf or sbuf) */
    hs__chunk_rec_t crec; /* the current chunk's record */
    int cfrag;            /* cptr is a view into fragment cfrag, or -1 */
    /* open fragments of one stripe */
    uint64_t fstripe;
    hs__stripe_rec_t fst;
    int fd[HS_EC_MAX];
    hs__frag_hdr_t hdr[HS_EC_MAX];
    /* the payload of fragment bfrag, each block at its own offset (so a
     * view never moves), holding the blocks read and verified so far:
     * vok[b] for block b */
    uint8_t *fbuf;
    size_t fcap;
    int bfrag;
    uint8_t *vok;
    size_t vcap;
    uint64_t prefetched[PREFETCH_RING]; /* stripes whose readahead was asked */
    unsigned pfnext;
    uint64_t pfoff; /* object offset prefetch_next probed last */
    /* the record of chunk nidx, looked up by extend_view but not used */
    long nidx;
    hs__chunk_rec_t nrec;
    long loading; /* chunk index load_chunk is working on */
    /* whole decoded stripe, after a degraded read */
    uint64_t dstripe;
    uint8_t *dbuf;
    size_t dcap;
    /* read-ahead workers (ahead.c), for long ranges; NULL: reading alone */
    hs__ahead_t *ahead;
    bool ahead_tried;
    const uint8_t *sdata; /* the current stripe's data, from a slot */
    uint32_t slo, shi;    /* the span of it that was verified */
    /* records of chunks [la_lo, la_next), la[idx % LA_RING]; name_ahead
     * has named the stripes of chunks before la_sched to the workers */
    hs__chunk_rec_t *la;
    long la_lo, la_next, la_sched, la_end;
    uint64_t la_skip; /* stripe whose chunks name_ahead passes by */
    uint64_t pend;    /* stripe being gathered, not yet named */
    hs__stripe_rec_t pst;
    uint32_t plo, phi;
};

static void close_frags(hs_obj_reader_t *r)
{
    if (r->sdata) hs__ahead_release(r->ahead);
    r->sdata = NULL;
    for (int i = 0; i < HS_EC_MAX; i++) {
        if (r->fd[i] >= 0) {
            close(r->fd[i]);
            hs__frag_hdr_free(&r->hdr[i]);
        }
        r->fd[i] = -1;
    }
    r->fstripe = 0;
    r->cfrag = -1;
    r->bfrag = -1;
    r->cptr = NULL; /* it may have pointed into fbuf */
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
 * Fragment blocks are read with pread(2) into a fragment-sized buffer,
 * each block at its own offset, and verified there; chunks are served as
 * views into it (the caller writes them to a socket or file with no
 * further copy in user space). A block keeps its place, so a view never
 * has to move (no sliding window, no memmove), and a sequential reader
 * reads READ_SPAN blocks per call: the CRC runs, and the caller usually
 * writes the view out, while the bytes are still in the CPU's L2.
 *
 * Why not mmap the fragments and verify the page cache in place: on this
 * hardware it costs the same CPU as the copy it saves (faulting the pages
 * in and unmapping them again, and the CRC then reads DRAM instead of L2;
 * docs/benchmarks.md), and a view into the page cache is no longer the
 * bytes that were verified: a clean page can be evicted and read again
 * from the disk, unverified, before the caller sends it.
 *
 * A sequential reader also hints the kernel (POSIX_FADV_WILLNEED) for
 * every data fragment of the stripe at once, so cold reads keep all
 * drives busy; the hint is skipped when the fragment is already cached.
 * A reader with workers gives no hints: its fillers fill the cache with
 * large folios (ahead.c), which a hint's small folios would pre-empt.
 */
#define READ_SPAN 4 /* blocks per pread: 256 KiB */

static bool was_prefetched(const hs_obj_reader_t *r, uint64_t id);

/* Opens fragment i of the reader's stripe. */
static int frag_open_at(hs_obj_reader_t *r, uint64_t id, int i, bool sequential)
{
    hs_objects_t *s = r->s;
    char path[4200];
    hs__frag_path(path, sizeof(path), hs__frag_drive(s, &r->fst, i), id, i);
    int fd = hs__frag_open(path, id, i, &r->fst, &r->hdr[i]);
    if (fd < 0) return fd;
    const hs__frag_hdr_t *h = &r->hdr[i];
    if (sequential && !was_prefetched(r, id) &&
        !hs__frag_cached(fd, (uint64_t)h->hdr_len + h->frag_len - 1))
        posix_fadvise(fd, h->hdr_len, h->frag_len, POSIX_FADV_WILLNEED);
    r->fd[i] = fd;
    return 0;
}

/* Pointer to payload bytes [foff, foff+len) of fragment i, every block
 * under them verified. ahead (>= len): bytes from foff the reader will
 * likely read next, which may be read now too. Valid until another
 * fragment is viewed or the stripe is left. */
static int frag_view(hs_obj_reader_t *r, uint64_t id, int i, uint32_t foff, uint32_t len,
                     uint64_t ahead, const uint8_t **out)
{
    int rc;
    if (r->fd[i] < 0 && (rc = frag_open_at(r, id, i, false)) < 0) return rc;
    const hs__frag_hdr_t *h = &r->hdr[i];
    if (r->bfrag != i) { /* the buffer changes hands */
        if ((rc = ensure_buf(&r->fbuf, &r->fcap, h->frag_len)) < 0 ||
            (rc = ensure_buf(&r->vok, &r->vcap, h->nblocks)) < 0)
            return rc;
        memset(r->vok, 0, h->nblocks);
        r->bfrag = i;
    }
    uint8_t *ok = r->vok;
    uint32_t bs = h->block_size;
    uint32_t b0 = foff / bs, b1 = (foff + len + bs - 1) / bs;
    if (b1 > h->nblocks) b1 = h->nblocks;
    uint32_t x = b0;
    while (x < b1 && ok[x])
        x++;
    if (x < b1) {
        /* from the first block not yet read to the end of the view, and
         * on over what the reader will read next */
        uint32_t y = b1, ya = (uint32_t)(((uint64_t)foff + ahead + bs - 1) / bs);
        if (ya > x + READ_SPAN) ya = x + READ_SPAN;
        if (ya > h->nblocks) ya = h->nblocks;
        while (y < ya && !ok[y])
            y++;
        long got = hs__frag_read_blocks(r->fd[i], h, x, y, r->fbuf + (size_t)x * bs);
        if (got < 0) return (int)got;
        memset(ok + x, 1, y - x);
    }
    *out = r->fbuf + foff;
    return 0;
}

/* Index of the chunk holding object offset off (< size). */
static long chunk_at(const hs_obj_reader_t *r, uint64_t off)
{
    long lo = 0, hi = (long)r->m.nchunks - 1;
    while (lo < hi) {
        long mid = (lo + hi + 1) / 2;
        if (r->starts[mid] <= off)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Asks the kernel to read ahead the data fragments of the next
 * PREFETCH_DEPTH stripes after the one being entered, so a cold
 * sequential read keeps the drives busy while this stripe is checked and
 * sent. The stripes are found by looking up the chunk at every half
 * stripe of object offset ahead (each offset once per reader): two index
 * lookups per stripe rather than one per chunk. Best effort. */
static void hint_stripe(hs_objects_t *s, uint64_t id, const hs__stripe_rec_t *st)
{
    for (int i = 0; i < st->d; i++) {
        char path[4200];
        hs__frag_path(path, sizeof(path), hs__frag_drive(s, st, i), id, i);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        /* the header is 512 or 4096 bytes: this is in the last page */
        if (!hs__frag_cached(fd, (uint64_t)st->frag_len + 511))
            posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        close(fd);
    }
}

static void prefetch_next(hs_obj_reader_t *r, uint64_t cur)
{
    hs_objects_t *s = r->s;
    uint64_t step = r->fst.data_len / 2 ? r->fst.data_len / 2 : 1;
    /* half-stripe probes up to PREFETCH_DEPTH + 1 stripes ahead reach
     * into the stripe PREFETCH_DEPTH after this one */
    uint64_t to = r->pos + (PREFETCH_DEPTH + 1) * (uint64_t)r->fst.data_len;
    if (to > r->end) to = r->end;
    uint64_t at = r->pfoff > r->pos ? r->pfoff : r->pos;
    for (at += step; at < to; at += step) {
        hs__chunk_rec_t c;
        hs__stripe_rec_t st;
        if (hs__get_chunk(r->txn, r->m.chunks[chunk_at(r, at)].hash, &c) < 0) break;
        r->pfoff = at;
        if (c.stripe == cur || was_prefetched(r, c.stripe) ||
            hs__get_stripe(r->txn, c.stripe, &st) < 0)
            continue;
        hint_stripe(s, c.stripe, &st);
        r->prefetched[r->pfnext++ % PREFETCH_RING] = c.stripe;
    }
}

static bool was_prefetched(const hs_obj_reader_t *r, uint64_t id)
{
    for (int j = 0; j < PREFETCH_RING; j++)
        if (r->prefetched[j] == id) return true;
    return false;
}

/* The record of chunk idx: from the look-ahead ring when it is there.
 * The reader only moves forward, so records before idx are done with. */
static int chunk_rec(hs_obj_reader_t *r, long idx, hs__chunk_rec_t *c)
{
    if (r->la && idx >= r->la_lo && idx < r->la_next) {
        *c = r->la[idx % LA_RING];
        r->la_lo = idx;
        return 0;
    }
    return hs__get_chunk(r->txn, r->m.chunks[idx].hash, c);
}

/*
 * Names the stripes the reader will enter next to its workers, in the
 * order it will enter them, each with the span of its data the reader's
 * chunks cover there (so a range or a deduplicated object reads no more
 * than the single-threaded path would). A stripe is named once the chunk
 * after its run is seen, so its span is complete; name_ahead stops when
 * every slot is taken, or LA_RING records ahead, and goes on at the next
 * stripe the reader enters. Each chunk is looked up once: the reader
 * takes the records from the ring. A lookup that fails stops it; the
 * reader's own lookup then reports the error.
 */
static void name_ahead(hs_obj_reader_t *r)
{
    long from = r->loading + 1;
    if (r->la_next < from) r->la_lo = r->la_next = from;
    if (r->la_sched < from) { /* behind the reader: start again from it */
        r->la_sched = from;
        r->pend = 0;
        r->la_skip = r->fstripe;
    }
    while (r->la_sched < r->la_end) {
        if (r->la_sched == r->la_next) {
            if (r->la_next - r->la_lo >= LA_RING ||
                hs__get_chunk(r->txn, r->m.chunks[r->la_next].hash, &r->la[r->la_next % LA_RING]) <
                    0)
                return;
            r->la_next++;
        }
        const hs__chunk_rec_t *c = &r->la[r->la_sched % LA_RING];
        if (c->stripe == r->la_skip) { /* the rest of the run being read */
            r->la_sched++;
            continue;
        }
        r->la_skip = 0;
        if (r->pend && c->stripe != r->pend) {
            if (hs__ahead_submit(r->ahead, r->pend, &r->pst, r->plo, r->phi) == HS_EBUSY) return;
            r->pend = 0;
        }
        if (!r->pend) {
            if (hs__get_stripe(r->txn, c->stripe, &r->pst) < 0) return;
            r->pend = c->stripe;
            r->plo = UINT32_MAX;
            r->phi = 0;
        }
        /* a chunk outside its stripe is the reader's to report */
        if (c->stored_len > 0 && (uint64_t)c->off + c->stored_len <= r->pst.data_len) {
            if (c->off < r->plo) r->plo = c->off;
            if (c->off + c->stored_len > r->phi) r->phi = c->off + c->stored_len;
        }
        r->la_sched++;
    }
    if (r->pend && hs__ahead_submit(r->ahead, r->pend, &r->pst, r->plo, r->phi) != HS_EBUSY)
        r->pend = 0;
}

/* On entering stripe id: starts workers for a long range, takes the
 * stripe from a slot if a worker read it, and names the next stripes. */
static void ahead_enter(hs_obj_reader_t *r, uint64_t id)
{
    if (!r->ahead && !r->ahead_tried && r->end > r->pos &&
        r->end - r->pos >= AHEAD_MIN_STRIPES * (uint64_t)r->fst.data_len) {
        r->ahead_tried = true;
        r->la = malloc(LA_RING * sizeof(*r->la));
        if (!r->la || hs__ahead_new(r->s, &r->ahead) < 0) {
            free(r->la);
            r->la = NULL;
            return;
        }
        r->la_lo = r->la_next = r->la_sched = r->loading + 1;
        r->la_end = chunk_at(r, r->end - 1) + 1;
        r->la_skip = id;
    }
    if (!r->ahead) return;
    if (hs__ahead_take(r->ahead, id, &r->sdata, &r->slo, &r->shi) < 0) {
        r->sdata = NULL;
        /* read here: the rest of its run is not to be named again */
        if (r->pend == id) {
            r->pend = 0;
            r->la_skip = id;
        }
    }
    name_ahead(r);
}

/* The stored bytes of chunk c: *out is a view into fragment *vfrag when
 * the chunk lies in one fragment, else they are assembled in *tmp (cap
 * *tcap) and *vfrag is -1.
 * Missing or bad fragments switch the stripe to a degraded read. */
static int read_stored(hs_obj_reader_t *r, const hs__chunk_rec_t *c, const uint8_t **out,
                       uint8_t **tmp, size_t *tcap, bool *degraded, int *vfrag)
{
    hs_objects_t *s = r->s;
    int rc;
    *degraded = false;
    *vfrag = -1;
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
        ahead_enter(r, c->stripe);
        /* map the data fragments the rest of the read will need, so their
         * readahead runs in parallel, and start reading the next stripe
         * (the workers read ahead when there are workers) */
        uint64_t left = r->end > r->pos ? r->end - r->pos : 0;
        if (left > c->raw_len && !r->sdata) {
            for (int i = (int)(c->off / r->fst.frag_len); i < r->fst.d; i++)
                if (frag_open_at(r, c->stripe, i, true) < 0) break;
            if (left > (uint64_t)r->fst.data_len && !r->ahead) prefetch_next(r, c->stripe);
        }
    }
    const hs__stripe_rec_t *st = &r->fst;
    if ((uint64_t)c->off + c->stored_len > st->data_len) return HS_ECORRUPT;
    if (r->sdata && c->off >= r->slo && c->off + c->stored_len <= r->shi) {
        *out = r->sdata + c->off;
        *vfrag = VIEW_SLOT;
        return 0;
    }
    /* plain chunks laid out in object order: the rest of the range */
    uint64_t ahead = c->stored_len;
    if (!c->comp && r->end > r->starts[r->loading] + ahead) ahead = r->end - r->starts[r->loading];
    uint32_t off = c->off, len = c->stored_len, done = 0;
    int i0 = (int)(off / st->frag_len);
    rc = 0;
    if ((off + len - 1) / st->frag_len == (uint32_t)i0 || len == 0) {
        rc = frag_view(r, c->stripe, i0, off % st->frag_len, len, ahead, out);
        if (rc == 0) {
            *vfrag = i0;
            return 0;
        }
    } else if ((rc = ensure_buf(tmp, tcap, len)) == 0) {
        while (done < len) {
            int i = (int)(off / st->frag_len);
            uint32_t foff = off % st->frag_len;
            uint32_t n = st->frag_len - foff;
            const uint8_t *p;
            if (n > len - done) n = len - done;
            if ((rc = frag_view(r, c->stripe, i, foff, n, n, &p)) < 0) break;
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
 * view into a fragment for a plain chunk, else decompressed into cbuf). */
static int load_chunk(hs_obj_reader_t *r, long idx)
{
    hs__chunk_rec_t c;
    const hs__mchunk_t *mc = &r->m.chunks[idx];
    int rc = 0;
    if (r->nidx == idx)
        c = r->nrec;
    else
        rc = chunk_rec(r, idx, &c);
    r->nidx = -1;
    if (rc < 0) return rc == HS_ENOENT ? HS_EIO : rc;
    if (c.raw_len != mc->raw_len || (!c.comp && c.stored_len != c.raw_len)) return HS_ECORRUPT;
    r->cur = -1;
    r->cptr = NULL;
    r->loading = idx;
    const uint8_t *stored;
    bool degraded;
    int vfrag;
    if ((rc = read_stored(r, &c, &stored, &r->sbuf, &r->scap, &degraded, &vfrag)) < 0) return rc;
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
    r->cfrag = c.comp || degraded ? -1 : vfrag;
    return 0;
}

/* After the current chunk: while the next chunks sit right after it in
 * the same fragment (a sequential object written in one put) and their
 * blocks verify, make them current and return how many more bytes the
 * view can cover. A failure just ends the view: the next read meets it
 * again and takes the degraded path. */
static uint64_t extend_view(hs_obj_reader_t *r, uint64_t want)
{
    uint64_t got = 0;
    while (got < want && r->cfrag >= 0 && r->cur + 1 < (long)r->m.nchunks) {
        long nx = r->cur + 1;
        hs__chunk_rec_t c;
        if (chunk_rec(r, nx, &c) < 0) break;
        /* the same snapshot: load_chunk may use it if the view ends here */
        r->nidx = nx;
        r->nrec = c;
        if (c.comp || c.stripe != r->fstripe || c.raw_len != r->m.chunks[nx].raw_len ||
            c.stored_len != c.raw_len || c.off != r->crec.off + r->crec.stored_len ||
            c.stored_len == 0)
            break;
        const uint8_t *p;
        if (r->cfrag == VIEW_SLOT) { /* the slot holds the whole stripe */
            if (c.off < r->slo || (uint64_t)c.off + c.stored_len > r->shi) break;
            p = r->sdata + c.off;
        } else {
            uint32_t f = r->fst.frag_len;
            if ((int)(c.off / f) != r->cfrag || (c.off + c.stored_len - 1) / f != c.off / f ||
                (uint64_t)c.off + c.stored_len > r->fst.data_len)
                break;
            /* the same fragment: earlier views into it stay valid */
            uint64_t ahead = r->end > r->starts[nx] ? r->end - r->starts[nx] : 0;
            if (frag_view(r, c.stripe, r->cfrag, c.off % f, c.stored_len,
                          ahead > c.stored_len ? ahead : c.stored_len, &p) < 0)
                break;
        }
        r->nidx = -1;
        r->cur = nx;
        r->crec = c;
        r->cptr = p;
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
    r->cfrag = -1;
    r->nidx = -1;
    r->bfrag = -1;
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
    long lo = chunk_at(r, r->pos);
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
    hs__ahead_free(r->ahead); /* before unlocking: its workers read files */
    free(r->la);
    free(r->fbuf);
    free(r->vok);
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
