/*
 * W-TinyLFU for the L2 cache (Einziger, Friedman and Manes, 2017), size-
 * aware. A window LRU (1% of the bytes) takes every newcomer; the rest is
 * an SLRU main region split into probation (20%) and protected (80%).
 * When the window overflows, its oldest entry is a candidate for main: it
 * enters if there is room, else it is compared with main's next victim by
 * estimated access frequency and the less frequent of the two leaves (the
 * candidate leaving is an admission rejection).
 *
 * Frequencies come from a count-min sketch of the shard's accesses (hits
 * and misses): 4 rows of saturating 4-bit counters with conservative
 * update, halved every 10 x width accesses so old popularity fades. The
 * width follows the number of resident entries (the sketch is rebuilt
 * empty when it doubles, as an old sketch sized for fewer keys would be
 * mostly collisions anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "origin/l2-int.h"

#define Q_WIN 0
#define Q_PROB 1
#define Q_PROT 2
#define ROWS 4
#define CNT_MAX 15
#define WIDTH_MIN 256u
#define WIDTH_MAX (1u << 22)
#define SAMPLE_PER_COUNTER 10

typedef struct tinylfu {
    hs__l2_list_t win, prob, prot;
    size_t win_cap, main_cap, prot_cap;
    uint8_t *cm; /* ROWS x width counters */
    size_t width; /* power of two */
    uint64_t adds;
} tinylfu_t;

static size_t cm_index(const tinylfu_t *p, uint64_t h, unsigned row)
{
    /* Double hashing over a remix of h (shard and bucket used its bits). */
    uint64_t x = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
    uint64_t a = x >> 32, b = (x & 0xffffffffu) | 1;
    return row * p->width + ((a + row * b) & (p->width - 1));
}

static unsigned cm_freq(const tinylfu_t *p, uint64_t h)
{
    unsigned f = CNT_MAX;
    for (unsigned r = 0; r < ROWS; r++) {
        unsigned c = p->cm[cm_index(p, h, r)];
        if (c < f)
            f = c;
    }
    return f;
}

static void cm_age(tinylfu_t *p)
{
    for (size_t i = 0; i < ROWS * p->width; i++)
        p->cm[i] >>= 1;
    p->adds /= 2;
}

static void cm_add(tinylfu_t *p, uint64_t h)
{
    unsigned f = cm_freq(p, h);
    if (f < CNT_MAX)
        for (unsigned r = 0; r < ROWS; r++) {
            size_t i = cm_index(p, h, r);
            if (p->cm[i] == f)
                p->cm[i]++;
        }
    if (++p->adds >= (uint64_t)SAMPLE_PER_COUNTER * p->width)
        cm_age(p);
}

static int cm_resize(tinylfu_t *p, size_t width)
{
    uint8_t *cm = calloc(ROWS * width, 1);
    if (!cm)
        return HS_ENOMEM;
    free(p->cm);
    p->cm = cm;
    p->width = width;
    p->adds = 0;
    return 0;
}

static int tl_init(void *st, size_t cap)
{
    tinylfu_t *p = st;
    p->win_cap = cap / 100;
    p->main_cap = cap - p->win_cap;
    p->prot_cap = p->main_cap / 10 * 8;
    return cm_resize(p, WIDTH_MIN);
}

static void tl_fini(void *st)
{
    free(((tinylfu_t *)st)->cm);
}

static size_t main_bytes(const tinylfu_t *p)
{
    return p->prob.bytes + p->prot.bytes;
}

static void tl_access(void *st, uint64_t hash, hs__l2_ent_t *e)
{
    tinylfu_t *p = st;
    cm_add(p, hash);
    if (!e)
        return;
    switch (e->q) {
    case Q_WIN:
        hs__l2_list_unlink(&p->win, e);
        hs__l2_list_push(&p->win, e);
        break;
    case Q_PROB:
        hs__l2_list_unlink(&p->prob, e);
        e->q = Q_PROT;
        hs__l2_list_push(&p->prot, e);
        while (p->prot.bytes > p->prot_cap && p->prot.tail != e) {
            hs__l2_ent_t *d = p->prot.tail;
            hs__l2_list_unlink(&p->prot, d);
            d->q = Q_PROB;
            hs__l2_list_push(&p->prob, d);
        }
        break;
    default:
        hs__l2_list_unlink(&p->prot, e);
        hs__l2_list_push(&p->prot, e);
        break;
    }
}

static void win_to_prob(tinylfu_t *p, hs__l2_ent_t *e)
{
    hs__l2_list_unlink(&p->win, e);
    e->q = Q_PROB;
    hs__l2_list_push(&p->prob, e);
}

static void tl_insert(void *st, hs__l2_ent_t *e)
{
    tinylfu_t *p = st;
    size_t n = p->win.n + p->prob.n + p->prot.n + 1;
    if (n > p->width && p->width < WIDTH_MAX)
        (void)cm_resize(p, p->width * 2); /* on OOM keep the smaller sketch */
    e->q = Q_WIN;
    hs__l2_list_push(&p->win, e);
    /* While main has room nobody has to lose: overflow moves on freely. */
    while (p->win.bytes > p->win_cap && main_bytes(p) + p->win.tail->charge <= p->main_cap)
        win_to_prob(p, p->win.tail);
}

static void tl_remove(void *st, hs__l2_ent_t *e)
{
    tinylfu_t *p = st;
    hs__l2_list_unlink(e->q == Q_WIN ? &p->win : e->q == Q_PROB ? &p->prob : &p->prot, e);
}

static hs__l2_ent_t *main_victim(tinylfu_t *p)
{
    return p->prob.tail ? p->prob.tail : p->prot.tail;
}

static hs__l2_ent_t *tl_evict(void *st, bool *rejected)
{
    tinylfu_t *p = st;
    while (p->win.n && (p->win.bytes > p->win_cap || !main_victim(p))) {
        hs__l2_ent_t *c = p->win.tail;
        if (main_bytes(p) + c->charge <= p->main_cap) {
            win_to_prob(p, c);
            continue;
        }
        hs__l2_ent_t *v = main_victim(p);
        if (!v || cm_freq(p, c->hash) <= cm_freq(p, v->hash)) {
            hs__l2_list_unlink(&p->win, c);
            *rejected = true;
            return c;
        }
        tl_remove(p, v);
        return v;
    }
    hs__l2_ent_t *v = main_victim(p);
    if (!v)
        v = p->win.tail;
    if (v)
        tl_remove(p, v);
    return v;
}

const hs__l2_policy_t hs__l2_tinylfu = {
    .name = "tinylfu",
    .state_size = sizeof(tinylfu_t),
    .init = tl_init,
    .fini = tl_fini,
    .access = tl_access,
    .insert = tl_insert,
    .remove = tl_remove,
    .evict = tl_evict,
};
