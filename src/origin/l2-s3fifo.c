/*
 * S3-FIFO for the L2 cache (Yang et al., SOSP 2023), size-aware. Three
 * queues: a small FIFO (10% of the bytes) that every newcomer enters, a
 * main FIFO, and a ghost of keys recently dropped from the small queue.
 * A hit bumps a 2-bit counter and moves nothing (hits stay cheap under
 * the lock). Leaving the small queue, an entry hit at least once goes to
 * main, others are dropped and remembered by the ghost; a newcomer the
 * ghost remembers goes straight to main. Leaving main, an entry with a
 * non-zero counter is reinserted with the counter decremented.
 *
 * The ghost holds key hashes only, in a 4-way set-associative table
 * stamped with an insertion sequence: an entry counts while it is among
 * the last |main| insertions (the paper's ghost length). Collisions only
 * forget a key early, which costs a little accuracy, never correctness.
 */
#include <stdlib.h>

#include "core/err.h"
#include "origin/l2-int.h"

#define Q_SMALL 0
#define Q_MAIN 1
#define FREQ_MAX 3
#define WAYS 4
#define GHOST_MIN_SLOTS 64

typedef struct gslot {
    uint64_t fp; /* hash | 1, 0 when empty */
    uint64_t seq;
} gslot_t;

typedef struct s3fifo {
    hs__l2_list_t s, m;
    size_t s_cap;
    gslot_t *g;
    size_t gslots; /* power of two, >= WAYS */
    uint64_t gseq;
} s3fifo_t;

static size_t ghost_len(const s3fifo_t *p)
{
    return p->m.n > 16 ? p->m.n : 16;
}

static gslot_t *ghost_set(gslot_t *g, size_t slots, uint64_t h)
{
    /* The shard and the core's buckets used other bits of h: remix. */
    uint64_t x = (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ull;
    return g + ((x >> 20) & (slots / WAYS - 1)) * WAYS;
}

static bool ghost_live(const s3fifo_t *p, const gslot_t *s)
{
    return s->fp && p->gseq - s->seq < ghost_len(p);
}

static void ghost_place(s3fifo_t *p, gslot_t *g, size_t slots, uint64_t fp, uint64_t seq)
{
    gslot_t *set = ghost_set(g, slots, fp), *v = set;
    for (int i = 0; i < WAYS; i++) {
        if (!ghost_live(p, &set[i])) {
            v = &set[i];
            break;
        }
        if (set[i].seq < v->seq)
            v = &set[i];
    }
    v->fp = fp;
    v->seq = seq;
}

/* Keeps the table at least twice the ghost length so sets rarely
 * overflow; on OOM the ghost just stays smaller. */
static void ghost_fit(s3fifo_t *p)
{
    size_t want = p->gslots;
    while (want < 2 * ghost_len(p))
        want *= 2;
    if (want == p->gslots)
        return;
    gslot_t *g = calloc(want, sizeof(*g));
    if (!g)
        return;
    for (size_t i = 0; i < p->gslots; i++)
        if (ghost_live(p, &p->g[i]))
            ghost_place(p, g, want, p->g[i].fp, p->g[i].seq);
    free(p->g);
    p->g = g;
    p->gslots = want;
}

static void ghost_put(s3fifo_t *p, uint64_t h)
{
    ghost_fit(p);
    p->gseq++;
    ghost_place(p, p->g, p->gslots, h | 1, p->gseq);
}

static bool ghost_take(s3fifo_t *p, uint64_t h)
{
    gslot_t *set = ghost_set(p->g, p->gslots, h | 1);
    for (int i = 0; i < WAYS; i++) {
        if (set[i].fp == (h | 1) && ghost_live(p, &set[i])) {
            set[i].fp = 0;
            return true;
        }
    }
    return false;
}

static int s3_init(void *st, size_t cap)
{
    s3fifo_t *p = st;
    p->s_cap = cap / 10;
    p->gslots = GHOST_MIN_SLOTS;
    p->g = calloc(p->gslots, sizeof(*p->g));
    return p->g ? 0 : HS_ENOMEM;
}

static void s3_fini(void *st)
{
    free(((s3fifo_t *)st)->g);
}

static void s3_access(void *st, uint64_t hash, hs__l2_ent_t *e)
{
    (void)st;
    (void)hash;
    if (e && e->bits < FREQ_MAX)
        e->bits++;
}

static void s3_insert(void *st, hs__l2_ent_t *e)
{
    s3fifo_t *p = st;
    e->bits = 0;
    if (ghost_take(p, e->hash)) {
        e->q = Q_MAIN;
        hs__l2_list_push(&p->m, e);
    } else {
        e->q = Q_SMALL;
        hs__l2_list_push(&p->s, e);
    }
}

static void s3_remove(void *st, hs__l2_ent_t *e)
{
    s3fifo_t *p = st;
    hs__l2_list_unlink(e->q == Q_SMALL ? &p->s : &p->m, e);
}

static hs__l2_ent_t *s3_evict(void *st, bool *rejected)
{
    s3fifo_t *p = st;
    (void)rejected;
    for (;;) {
        if (p->s.n && (p->s.bytes > p->s_cap || !p->m.n)) {
            hs__l2_ent_t *e = p->s.tail;
            hs__l2_list_unlink(&p->s, e);
            if (e->bits) {
                e->bits = 0;
                e->q = Q_MAIN;
                hs__l2_list_push(&p->m, e);
                continue;
            }
            ghost_put(p, e->hash);
            return e;
        }
        hs__l2_ent_t *e = p->m.tail;
        if (!e)
            return NULL;
        hs__l2_list_unlink(&p->m, e);
        if (e->bits) {
            e->bits--;
            hs__l2_list_push(&p->m, e);
            continue;
        }
        return e;
    }
}

const hs__l2_policy_t hs__l2_s3fifo = {
    .name = "s3fifo",
    .state_size = sizeof(s3fifo_t),
    .init = s3_init,
    .fini = s3_fini,
    .access = s3_access,
    .insert = s3_insert,
    .remove = s3_remove,
    .evict = s3_evict,
};
