/*
 * Read-ahead workers of one sequential reader (get.c). A reader of a long
 * range gets a few threads and a few stripe-sized slots; the reader names
 * the next stripes it will enter (and the span of each one's data it will
 * use), and the workers read and verify those spans while the reader's
 * own thread hands out the current stripe. On two cores this overlaps the
 * kernel copy and the CRC of the next stripes with the caller's writes.
 *
 * A slot is only a cache of bytes already verified: a worker that meets a
 * missing fragment or a bad block stops and reports it, and the reader
 * reads that stripe itself, where the corruption is counted and the
 * degraded read (decode, repair, hash check) happens. Workers never touch
 * the index (the reader's LMDB snapshot belongs to its thread): they get
 * the stripe record from the reader. The reader's shared store lock, held
 * until its workers are joined, keeps gc from unlinking the files.
 *
 * Fillers: fragment files are written with O_DIRECT, so the first read
 * fills the page cache, and a readahead hint or a pread fills it with
 * 4 KiB folios, which every later (warm) read of the object pays for per
 * folio in the kernel (~20 % of a warm GET's CPU). Faulting a fragment
 * in through a MADV_HUGEPAGE mapping (MADV_POPULATE_READ) fills it with
 * large folios instead, at no more CPU, but the fault waits for the whole
 * fragment's I/O. So when a worker finds the first fragment of its stripe
 * not cached at all, the reader's FILL_THREADS fillers start, and from
 * then on fill every fragment of each stripe as soon as it is named,
 * which keeps several fragments' reads in flight (what the readahead
 * hints did before); the worker waits for a fragment's fill before it
 * reads it (a pread first would fill small folios). A warm read starts no
 * fillers and pays one cachestat per stripe. The mapping only fills the
 * cache: it is unmapped at once, and the bytes served are the ones pread
 * and CRC-checked as before. A failed fill is ignored: the pread that
 * follows meets the error as an error code (MADV_POPULATE_READ itself
 * reports EFAULT/EIO, never SIGBUS, and maps no more than the file).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/internal.h"

#define AHEAD_THREADS 2            /* stripes read at once */
#define AHEAD_SLOTS 5              /* read ahead or being handed out; fills reach as far */
#define AHEAD_READERS 4            /* readers with workers, store-wide */
#define AHEAD_SLOT_MAX (16u << 20) /* larger stripes are read by the reader */
#define AHEAD_SPAN 4               /* blocks per pread: checked while in L2 */
#define FILL_THREADS 6             /* fragment fills in flight, cold reads only */
#define HUGE (2u << 20)

enum { FILL_NONE, FILL_QUEUED, FILL_RUNNING, FILL_DONE };

enum { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE, SLOT_TAKEN };

struct slot {
    int state;
    bool dropped; /* freed while a worker was loading it */
    uint64_t id, seq;
    hs__stripe_rec_t st;
    uint32_t lo, hi;
    int err;
    uint8_t fill[HS_EC_MAX]; /* FILL_* of each data fragment */
    uint8_t *buf;            /* the stripe's data: fragment i at i * frag_len */
    size_t cap;
};

struct hs__ahead {
    hs_objects_t *s;
    pthread_mutex_t mu;
    pthread_cond_t work, done, fillw, filled;
    bool stop;
    bool cold; /* a fragment was found uncached: fill what is named */
    uint64_t seq;
    int nthreads, nfill;
    pthread_t th[AHEAD_THREADS];
    pthread_t fth[FILL_THREADS];
    struct slot slot[AHEAD_SLOTS];
};

#ifndef SYS_cachestat
#define SYS_cachestat 451 /* Linux 6.5; the same number on every arch */
#endif

/* Whether no page of the file is cached. Not a read (which would start a
 * readahead of small folios around the byte it probes, and a large folio
 * cannot be added over a page already there), and no mapping: cachestat.
 * Where that is missing, the probe of the last byte. */
static bool uncached(int fd, off_t size)
{
    struct {
        uint64_t off, len;
    } range = {0, 0};
    uint64_t cs[5]; /* nr_cache, dirty, writeback, evicted, recently evicted */
    if (syscall(SYS_cachestat, fd, &range, cs, 0) == 0) return cs[0] == 0;
    return !hs__frag_cached(fd, (uint64_t)size - 1);
}

/* Fills the page cache with fragment i of the stripe when none of it is
 * cached yet; returns whether it was not. Best effort. */
static bool fill_frag(hs_objects_t *s, uint64_t id, const hs__stripe_rec_t *st, int i)
{
    char path[4200];
    struct stat sb;
    hs__frag_path(path, sizeof(path), hs__frag_drive(s, st, i), id, i);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool cold = fstat(fd, &sb) == 0 && sb.st_size > 0 && uncached(fd, sb.st_size);
    if (cold) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            madvise(p, (size_t)sb.st_size, MADV_HUGEPAGE);
            madvise(p, (size_t)sb.st_size, MADV_POPULATE_READ);
            munmap(p, (size_t)sb.st_size);
        }
    }
    close(fd);
    return cold;
}

/* The earliest named stripe's next fragment to fill, or NULL. */
static struct slot *next_fill(hs__ahead_t *a, int *frag)
{
    struct slot *best = NULL;
    for (int i = 0; i < AHEAD_SLOTS; i++) {
        struct slot *x = &a->slot[i];
        if ((x->state != SLOT_QUEUED && x->state != SLOT_BUSY) || x->dropped ||
            (best && x->seq > best->seq))
            continue;
        for (int j = 0; j < x->st.d; j++)
            if (x->fill[j] == FILL_QUEUED) {
                best = x;
                *frag = j;
                break;
            }
    }
    return best;
}

static void *filler(void *arg)
{
    hs__ahead_t *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        struct slot *sl;
        int i = 0;
        while (!a->stop && !(sl = next_fill(a, &i)))
            pthread_cond_wait(&a->fillw, &a->mu);
        if (a->stop) break;
        sl->fill[i] = FILL_RUNNING;
        uint64_t seq = sl->seq, id = sl->id;
        hs__stripe_rec_t st = sl->st;
        pthread_mutex_unlock(&a->mu);
        fill_frag(a->s, id, &st, i);
        pthread_mutex_lock(&a->mu);
        if (sl->seq == seq) sl->fill[i] = FILL_DONE; /* else the slot moved on */
        pthread_cond_broadcast(&a->filled);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Before fragment i is read: fills it here if no filler has started on
 * it, else waits for the filler (a pread now would fill small folios). */
static void fill_wait(hs__ahead_t *a, struct slot *sl, int i)
{
    pthread_mutex_lock(&a->mu);
    bool mine = sl->fill[i] == FILL_QUEUED;
    if (mine) sl->fill[i] = FILL_RUNNING;
    while (!mine && sl->fill[i] == FILL_RUNNING)
        pthread_cond_wait(&a->filled, &a->mu);
    pthread_mutex_unlock(&a->mu);
    if (!mine) return;
    fill_frag(a->s, sl->id, &sl->st, i);
    pthread_mutex_lock(&a->mu);
    sl->fill[i] = FILL_DONE;
    pthread_cond_broadcast(&a->filled);
    pthread_mutex_unlock(&a->mu);
}

/* A stripe's first fragment was not cached: the object is being read
 * cold, so its fragments [from, to] and those of every stripe named from
 * now on are filled by the fillers (started here, the first time). A
 * warm read never starts them: it pays one probe per stripe. */
static void go_cold(hs__ahead_t *a, struct slot *sl, int from, int to)
{
    pthread_mutex_lock(&a->mu);
    a->cold = true;
    for (int i = from; i <= to; i++)
        if (sl->fill[i] == FILL_NONE) sl->fill[i] = FILL_QUEUED;
    /* workers are joined before hs__ahead_free reads nfill */
    for (int i = a->nfill; i < FILL_THREADS && !a->stop; i++) {
        if (pthread_create(&a->fth[i], NULL, filler, a) != 0) break;
        a->nfill++;
    }
    pthread_cond_broadcast(&a->fillw);
    pthread_mutex_unlock(&a->mu);
}

/* Reads and verifies the blocks under [lo, hi) of the stripe's data. All
 * the fragments are filled (see fillers) and opened first, so a cold read
 * has each drive's I/O in flight at once. */
static int load(hs__ahead_t *ah, struct slot *sl)
{
    hs_objects_t *s = ah->s;
    const hs__stripe_rec_t *st = &sl->st;
    uint32_t f = st->frag_len;
    int i0 = (int)(sl->lo / f), i1 = (int)((sl->hi - 1) / f), rc = 0;
    int fd[HS_EC_MAX];
    hs__frag_hdr_t h[HS_EC_MAX];
    for (int i = i0; i <= i1; i++)
        fd[i] = -1;
    pthread_mutex_lock(&ah->mu);
    bool probe = sl->fill[i0] == FILL_NONE;
    if (probe) sl->fill[i0] = FILL_RUNNING;
    pthread_mutex_unlock(&ah->mu);
    if (probe && fill_frag(s, sl->id, st, i0)) go_cold(ah, sl, i0 + 1, i1);
    if (probe) {
        pthread_mutex_lock(&ah->mu);
        sl->fill[i0] = FILL_DONE;
        pthread_mutex_unlock(&ah->mu);
    }
    for (int i = i0; i <= i1 && rc == 0; i++) {
        char path[4200];
        fill_wait(ah, sl, i);
        hs__frag_path(path, sizeof(path), hs__frag_drive(s, st, i), sl->id, i);
        if ((fd[i] = rc = hs__frag_open(path, sl->id, i, st, &h[i])) < 0) break;
        rc = 0;
        if (!hs__frag_cached(fd[i], (uint64_t)h[i].hdr_len + f - 1))
            posix_fadvise(fd[i], h[i].hdr_len, f, POSIX_FADV_WILLNEED);
    }
    for (int i = i0; i <= i1 && rc == 0; i++) {
        uint32_t bs = h[i].block_size;
        uint32_t a = i == i0 ? sl->lo - (uint32_t)i * f : 0;
        uint32_t z = i == i1 ? sl->hi - (uint32_t)i * f : f;
        uint32_t b1 = (z + bs - 1) / bs;
        for (uint32_t x = a / bs; x < b1 && rc == 0; x += AHEAD_SPAN) {
            uint32_t y = x + AHEAD_SPAN < b1 ? x + AHEAD_SPAN : b1;
            long got =
                hs__frag_read_blocks(fd[i], &h[i], x, y, sl->buf + (size_t)i * f + (size_t)x * bs);
            if (got < 0) rc = (int)got;
        }
    }
    for (int i = i0; i <= i1; i++)
        if (fd[i] >= 0) {
            close(fd[i]);
            hs__frag_hdr_free(&h[i]);
        }
    return rc;
}

static struct slot *next_queued(hs__ahead_t *a)
{
    struct slot *best = NULL;
    for (int i = 0; i < AHEAD_SLOTS; i++)
        if (a->slot[i].state == SLOT_QUEUED && (!best || a->slot[i].seq < best->seq))
            best = &a->slot[i];
    return best;
}

static void *worker(void *arg)
{
    hs__ahead_t *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        struct slot *sl;
        while (!a->stop && !(sl = next_queued(a)))
            pthread_cond_wait(&a->work, &a->mu);
        if (a->stop) break;
        sl->state = SLOT_BUSY;
        pthread_mutex_unlock(&a->mu);
        int rc = load(a, sl);
        pthread_mutex_lock(&a->mu);
        sl->err = rc;
        sl->state = sl->dropped ? SLOT_FREE : SLOT_DONE;
        sl->dropped = false;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int hs__ahead_new(hs_objects_t *s, hs__ahead_t **out)
{
    /* bounds the threads and slot memory all readers of a store take */
    if (atomic_fetch_add(&s->ahead_readers, 1) >= AHEAD_READERS) {
        atomic_fetch_sub(&s->ahead_readers, 1);
        return HS_EBUSY;
    }
    hs__ahead_t *a = calloc(1, sizeof(*a));
    if (!a) {
        atomic_fetch_sub(&s->ahead_readers, 1);
        return HS_ENOMEM;
    }
    a->s = s;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->work, NULL);
    pthread_cond_init(&a->done, NULL);
    pthread_cond_init(&a->fillw, NULL);
    pthread_cond_init(&a->filled, NULL);
    for (int i = 0; i < AHEAD_THREADS; i++) {
        if (pthread_create(&a->th[i], NULL, worker, a) != 0) break;
        a->nthreads++;
    }
    if (a->nthreads == 0) {
        hs__ahead_free(a);
        return HS_ENOMEM;
    }
    *out = a;
    return 0;
}

int hs__ahead_submit(hs__ahead_t *a, uint64_t id, const hs__stripe_rec_t *st, uint32_t lo,
                     uint32_t hi)
{
    size_t need = (size_t)st->d * st->frag_len;
    if (lo >= hi || hi > st->data_len || need > AHEAD_SLOT_MAX || st->frag_len == 0)
        return HS_EINVAL;
    struct slot *sl = NULL;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < AHEAD_SLOTS && !sl; i++)
        if (a->slot[i].state == SLOT_FREE) sl = &a->slot[i];
    pthread_mutex_unlock(&a->mu);
    if (!sl) return HS_EBUSY;
    /* a free slot is the reader's alone until it is queued */
    if (sl->cap < need) {
        void *b;
        size_t cap = (need + HUGE - 1) & ~(size_t)(HUGE - 1);
        if (posix_memalign(&b, HUGE, cap) != 0) return HS_ENOMEM;
        /* huge pages: the kernel's copy into the slot is the main cost of
         * a warm read, and 4 KiB pages make it miss the TLB */
        madvise(b, cap, MADV_HUGEPAGE);
        free(sl->buf);
        sl->buf = b;
        sl->cap = cap;
    }
    sl->id = id;
    sl->st = *st;
    sl->lo = lo;
    sl->hi = hi;
    sl->err = 0;
    uint32_t f = st->frag_len;
    pthread_mutex_lock(&a->mu);
    sl->seq = ++a->seq;
    for (int i = 0; i < HS_EC_MAX; i++)
        sl->fill[i] =
            a->cold && i >= (int)(lo / f) && i <= (int)((hi - 1) / f) ? FILL_QUEUED : FILL_NONE;
    sl->state = SLOT_QUEUED;
    pthread_cond_signal(&a->work);
    pthread_cond_broadcast(&a->fillw);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

static void drop(struct slot *sl)
{
    if (sl->state == SLOT_BUSY)
        sl->dropped = true;
    else
        sl->state = SLOT_FREE;
}

int hs__ahead_take(hs__ahead_t *a, uint64_t id, const uint8_t **data, uint32_t *lo, uint32_t *hi)
{
    struct slot *sl = NULL;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < AHEAD_SLOTS; i++) {
        struct slot *x = &a->slot[i];
        if (x->id == id && x->state >= SLOT_QUEUED && x->state <= SLOT_DONE && !x->dropped &&
            (!sl || x->seq < sl->seq))
            sl = x;
    }
    if (!sl) {
        pthread_mutex_unlock(&a->mu);
        return HS_ENOENT;
    }
    /* stripes are entered in the order they were named: earlier ones
     * were passed by (an error, or a run the reader left early) */
    for (int i = 0; i < AHEAD_SLOTS; i++) {
        struct slot *x = &a->slot[i];
        if (x->state >= SLOT_QUEUED && x->state <= SLOT_DONE && x->seq < sl->seq) drop(x);
    }
    while (sl->state != SLOT_DONE)
        pthread_cond_wait(&a->done, &a->mu);
    int rc = sl->err;
    sl->state = rc < 0 ? SLOT_FREE : SLOT_TAKEN;
    pthread_mutex_unlock(&a->mu);
    if (rc < 0) return rc;
    *data = sl->buf;
    *lo = sl->lo;
    *hi = sl->hi;
    return 0;
}

void hs__ahead_release(hs__ahead_t *a)
{
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < AHEAD_SLOTS; i++)
        if (a->slot[i].state == SLOT_TAKEN) a->slot[i].state = SLOT_FREE;
    pthread_mutex_unlock(&a->mu);
}

void hs__ahead_free(hs__ahead_t *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->work);
    pthread_cond_broadcast(&a->fillw);
    pthread_mutex_unlock(&a->mu);
    for (int i = 0; i < a->nthreads; i++)
        pthread_join(a->th[i], NULL);
    for (int i = 0; i < a->nfill; i++)
        pthread_join(a->fth[i], NULL);
    for (int i = 0; i < AHEAD_SLOTS; i++)
        free(a->slot[i].buf);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pthread_cond_destroy(&a->fillw);
    pthread_cond_destroy(&a->filled);
    pthread_mutex_destroy(&a->mu);
    atomic_fetch_sub(&a->s->ahead_readers, 1);
    free(a);
}
