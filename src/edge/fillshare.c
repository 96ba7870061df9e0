/*
 * Origin fetches shared across worker threads (see fillshare.h).
 *
 * Locking: a shard mutex guards its hash chains and each flight's `listed`
 * flag; a flight's own mutex guards everything it publishes and its waiter
 * list. Order: shard, then flight. The owner never waits on a waiter: it
 * appends under the flight lock and posts at most one wake per waiter
 * until that waiter has polled (w->posted), so a fast origin does not
 * flood a slow thread's post queue.
 *
 * Lifetimes: the flight is refcounted (owner and each waiter); a chunk is
 * refcounted (the flight's list and each output queue that sends it). A
 * waiter that leaves while a wake is queued for it is freed by that wake,
 * which runs on the same thread; until then it is an orphan, listed by
 * loop, so a loop that stops with the wake still queued (shutdown) can
 * free it with hs_edge_flight_loop_done: hs_loop_free drops queued posts
 * without running them.
 */
#include "edge/fillshare.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/loop.h"

#define SHARDS 64
#define SHARD_BUCKETS 64

typedef struct chunk {
    atomic_uint refs;
    struct chunk *next;
    size_t len;
    char data[];
} chunk_t;

struct hs_edge_flight_waiter {
    hs_edge_flight_t *f;
    hs_loop_t *loop;
    void (*wake)(void *);
    void *arg;
    hs_edge_flight_waiter_t *next, *prev; /* flight's waiters; orphans once gone */
    chunk_t *cursor; /* last chunk taken, NULL before the first */
    bool posted;     /* a wake is queued (flight lock) */
    bool gone;       /* left while a wake was queued */
};

struct hs_edge_flight {
    atomic_uint refs;
    const void *ns;
    char *key;     /* the key, then (a revalidation) the version's etag,
                    * last-modified and sec */
    size_t keylen; /* all of it */
    size_t vlen[3]; /* a revalidation: etag, last-modified, sec lengths */
    bool reval;
    uint64_t hash;
    hs_edge_flight_t *hnext; /* shard chain */
    bool listed;             /* shard lock */
    pthread_mutex_t mu;
    hs_edge_flight_waiter_t *waiters;
    bool has_head, ended;
    int status;
    hs_edge_flight_head_t head;
    char *head_mem;
    chunk_t *first, *last;
    uint64_t bytes;
};

typedef struct shard {
    pthread_mutex_t mu;
    hs_edge_flight_t *b[SHARD_BUCKETS];
} shard_t;

static shard_t shards[SHARDS];
static pthread_once_t shards_once = PTHREAD_ONCE_INIT;
static atomic_uint nlisted;

/* Waiters that left with a wake queued, of every loop. Rare (a waiter
 * leaving between a publication and its thread's next iteration), so one
 * list and one lock. */
static pthread_mutex_t orphans_mu = PTHREAD_MUTEX_INITIALIZER;
static hs_edge_flight_waiter_t *orphans;

static void orphan_add(hs_edge_flight_waiter_t *w)
{
    pthread_mutex_lock(&orphans_mu);
    w->prev = NULL;
    w->next = orphans;
    if (orphans)
        orphans->prev = w;
    orphans = w;
    pthread_mutex_unlock(&orphans_mu);
}

/* Under orphans_mu. */
static void orphan_del_locked(hs_edge_flight_waiter_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        orphans = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

static void shards_init(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].mu, NULL);
}

static shard_t *shard_of(uint64_t h)
{
    pthread_once(&shards_once, shards_init);
    return &shards[h % SHARDS];
}

static hs_edge_flight_t **bucket_of(shard_t *s, uint64_t h)
{
    return &s->b[(h / SHARDS) % SHARD_BUCKETS];
}

void hs_edge_flight_chunk_ref(void *ref)
{
    atomic_fetch_add_explicit(&((chunk_t *)ref)->refs, 1, memory_order_relaxed);
}

void hs_edge_flight_chunk_release(void *ref)
{
    chunk_t *k = ref;
    if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
        free(k);
}

static void flight_unref(hs_edge_flight_t *f)
{
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (chunk_t *k = f->first, *next; k; k = next) {
        next = k->next;
        hs_edge_flight_chunk_release(k);
    }
    pthread_mutex_destroy(&f->mu);
    free(f->head_mem);
    free(f->key);
    free(f);
}

/* Under the shard lock. */
static void unlist_locked(shard_t *s, hs_edge_flight_t *f)
{
    if (!f->listed)
        return;
    hs_edge_flight_t **pp = bucket_of(s, f->hash);
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    f->listed = false;
    atomic_fetch_sub(&nlisted, 1);
}

void hs_edge_flight_unlist(hs_edge_flight_t *f)
{
    shard_t *s = shard_of(f->hash);
    pthread_mutex_lock(&s->mu);
    unlist_locked(s, f);
    pthread_mutex_unlock(&s->mu);
}

unsigned hs_edge_flight_listed(void)
{
    return atomic_load(&nlisted);
}

/* key and, for a revalidation (v not NULL), the version, as one string. */
static hs_edge_flight_t *flight_new(const void *ns, hs_str_t key, const hs_edge_flight_version_t *v,
                                    uint64_t hash)
{
    size_t n = key.len + (v ? v->etag.len + v->last_modified.len + v->sec.len : 0);
    hs_edge_flight_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->key = malloc(n ? n : 1))) {
        free(f);
        return NULL;
    }
    char *p = f->key;
    hs_str_t parts[4] = {key};
    if (v) {
        parts[1] = v->etag;
        parts[2] = v->last_modified;
        parts[3] = v->sec;
        for (unsigned i = 0; i < 3; i++)
            f->vlen[i] = parts[i + 1].len;
        f->reval = true;
    }
    for (unsigned i = 0; i < 4; i++) {
        if (parts[i].len)
            memcpy(p, parts[i].base, parts[i].len);
        p += parts[i].len;
    }
    f->keylen = n;
    f->ns = ns;
    f->hash = hash;
    atomic_init(&f->refs, 1);
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

/* The lengths apart from the bytes: ("a", "bc") and ("ab", "c") differ. */
static bool flight_matches(const hs_edge_flight_t *f, const void *ns, hs_str_t key,
                           const hs_edge_flight_version_t *v, uint64_t hash)
{
    if (f->hash != hash || f->ns != ns || f->reval != (v != NULL))
        return false;
    if (!v)
        return f->keylen == key.len && memcmp(f->key, key.base, key.len) == 0;
    hs_str_t parts[4] = {key, v->etag, v->last_modified, v->sec};
    size_t off = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (i && f->vlen[i - 1] != parts[i].len)
            return false;
        if (off + parts[i].len > f->keylen ||
            (parts[i].len && memcmp(f->key + off, parts[i].base, parts[i].len) != 0))
            return false;
        off += parts[i].len;
    }
    return off == f->keylen;
}

static int acquire(const void *ns, hs_str_t key, const hs_edge_flight_version_t *v, uint64_t hash,
                   hs_loop_t *loop, hs_edge_flight_t **out, hs_edge_flight_waiter_t **wout)
{
    *out = NULL;
    *wout = NULL;
    hs_edge_flight_waiter_t *w = calloc(1, sizeof(*w));
    if (!w)
        return HS_ENOMEM;
    shard_t *s = shard_of(hash);
    pthread_mutex_lock(&s->mu);
    hs_edge_flight_t *f = *bucket_of(s, hash);
    while (f && !flight_matches(f, ns, key, v, hash))
        f = f->hnext;
    if (f) {
        atomic_fetch_add(&f->refs, 1);
        pthread_mutex_lock(&f->mu);
        w->f = f;
        w->loop = loop;
        w->next = f->waiters;
        if (f->waiters)
            f->waiters->prev = w;
        f->waiters = w;
        pthread_mutex_unlock(&f->mu);
        pthread_mutex_unlock(&s->mu);
        *out = f;
        *wout = w;
        return 0;
    }
    free(w);
    if (!(f = flight_new(ns, key, v, hash))) {
        pthread_mutex_unlock(&s->mu);
        return HS_ENOMEM;
    }
    hs_edge_flight_t **b = bucket_of(s, hash);
    f->hnext = *b;
    *b = f;
    f->listed = true;
    atomic_fetch_add(&nlisted, 1);
    pthread_mutex_unlock(&s->mu);
    *out = f;
    return 0;
}

int hs_edge_flight_acquire(const void *ns, hs_str_t key, uint64_t hash, hs_loop_t *loop,
                           hs_edge_flight_t **out, hs_edge_flight_waiter_t **wout)
{
    return acquire(ns, key, NULL, hash, loop, out, wout);
}

int hs_edge_flight_acquire_reval(const void *ns, hs_str_t key, const hs_edge_flight_version_t *v,
                                 uint64_t hash, hs_loop_t *loop, hs_edge_flight_t **out,
                                 hs_edge_flight_waiter_t **wout)
{
    return acquire(ns, key, v, hash, loop, out, wout);
}

void hs_edge_flight_waiter_bind(hs_edge_flight_waiter_t *w, void (*wake)(void *), void *arg)
{
    w->wake = wake;
    w->arg = arg;
}

/* Runs on the waiter's loop. */
static void wake_trampoline(void *arg)
{
    hs_edge_flight_waiter_t *w = arg;
    hs_edge_flight_t *f = w->f;
    pthread_mutex_lock(&f->mu);
    w->posted = false;
    bool gone = w->gone;
    pthread_mutex_unlock(&f->mu);
    if (gone) {
        pthread_mutex_lock(&orphans_mu);
        orphan_del_locked(w);
        pthread_mutex_unlock(&orphans_mu);
        free(w);
        flight_unref(f);
        return;
    }
    if (w->wake)
        w->wake(w->arg);
}

/* Under the flight lock. A failed post (out of memory) is retried by the
 * next publication; the end is always posted because nothing follows it,
 * so there it is retried until it goes through. */
static void wake_all_locked(hs_edge_flight_t *f)
{
    for (hs_edge_flight_waiter_t *w = f->waiters; w; w = w->next) {
        if (w->posted)
            continue;
        int tries = f->ended ? 100 : 1;
        int rc;
        while ((rc = hs_loop_post(w->loop, wake_trampoline, w)) != 0 && --tries > 0)
            ;
        w->posted = rc == 0;
    }
}

int hs_edge_flight_head(hs_edge_flight_t *f, const hs_edge_flight_head_t *h)
{
    size_t n = h->hdr.len + h->vary.len + h->sec.len + h->tags.len + 1;
    char *m = malloc(n);
    if (!m)
        return HS_ENOMEM;
    hs_edge_flight_head_t c = *h;
    char *p = m;
#define COPY(field)                                                            \
    do {                                                                       \
        if (h->field.len)                                                      \
            memcpy(p, h->field.base, h->field.len);                            \
        c.field = (hs_str_t){p, h->field.len};                                 \
        p += h->field.len;                                                     \
    } while (0)
    COPY(hdr);
    COPY(vary);
    COPY(sec);
    COPY(tags);
#undef COPY
    if (!h->joinable)
        hs_edge_flight_unlist(f);
    pthread_mutex_lock(&f->mu);
    f->head = c;
    f->head_mem = m;
    f->has_head = true;
    wake_all_locked(f);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int hs_edge_flight_body(hs_edge_flight_t *f, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    chunk_t *k = malloc(sizeof(*k) + len);
    if (!k)
        return HS_ENOMEM;
    atomic_init(&k->refs, 1);
    k->next = NULL;
    k->len = len;
    memcpy(k->data, data, len);
    pthread_mutex_lock(&f->mu);
    if (f->last)
        f->last->next = k;
    else
        f->first = k;
    f->last = k;
    f->bytes += len;
    wake_all_locked(f);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

void hs_edge_flight_end(hs_edge_flight_t *f, int status)
{
    hs_edge_flight_unlist(f);
    pthread_mutex_lock(&f->mu);
    f->ended = true;
    f->status = status;
    wake_all_locked(f);
    pthread_mutex_unlock(&f->mu);
    flight_unref(f);
}

void hs_edge_flight_poll(hs_edge_flight_waiter_t *w, hs_edge_flight_view_t *v)
{
    hs_edge_flight_t *f = w->f;
    pthread_mutex_lock(&f->mu);
    v->head = f->has_head ? &f->head : NULL;
    v->ended = f->ended;
    v->status = f->status;
    v->bytes = f->bytes;
    pthread_mutex_unlock(&f->mu);
}

bool hs_edge_flight_next(hs_edge_flight_waiter_t *w, const char **data, size_t *len, void **ref)
{
    hs_edge_flight_t *f = w->f;
    pthread_mutex_lock(&f->mu);
    chunk_t *k = w->cursor ? w->cursor->next : f->first;
    if (k) {
        w->cursor = k;
        hs_edge_flight_chunk_ref(k);
    }
    pthread_mutex_unlock(&f->mu);
    if (!k)
        return false;
    *data = k->data;
    *len = k->len;
    *ref = k;
    return true;
}

void hs_edge_flight_leave(hs_edge_flight_waiter_t *w)
{
    hs_edge_flight_t *f = w->f;
    pthread_mutex_lock(&f->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        f->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    bool posted = w->posted;
    w->gone = true;
    pthread_mutex_unlock(&f->mu);
    if (posted) {
        /* the queued wake frees it (or the loop's end, if it never runs):
         * w->posted cannot change now, nobody posts to a waiter off the list */
        orphan_add(w);
        return;
    }
    free(w);
    flight_unref(f);
}

unsigned hs_edge_flight_loop_done(hs_loop_t *loop)
{
    hs_edge_flight_waiter_t *mine = NULL;
    pthread_mutex_lock(&orphans_mu);
    for (hs_edge_flight_waiter_t *w = orphans, *next; w; w = next) {
        next = w->next;
        if (w->loop != loop)
            continue;
        orphan_del_locked(w);
        w->next = mine;
        mine = w;
    }
    pthread_mutex_unlock(&orphans_mu);
    unsigned n = 0;
    for (hs_edge_flight_waiter_t *w = mine, *next; w; w = next) {
        next = w->next;
        hs_edge_flight_t *f = w->f;
        free(w);
        flight_unref(f); /* outside orphans_mu: it may free the flight */
        n++;
    }
    return n;
}
