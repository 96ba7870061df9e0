/*
 * SIEVE for the L2 cache (Zhang et al., NSDI 2024): one FIFO queue, a
 * visited bit per entry and a hand that walks from the old end toward the
 * new one. A hit only sets the bit; the hand clears set bits as it passes
 * and evicts the first entry whose bit is clear. New entries that are not
 * hit again before the hand reaches them leave without displacing the
 * entries the hand has already spared.
 */
#include "origin/l2-int.h"

typedef struct sieve {
    hs__l2_list_t l;
    hs__l2_ent_t *hand; /* next entry to examine; NULL: start at the tail */
} sieve_t;

static int sieve_init(void *st, size_t cap)
{
    (void)st;
    (void)cap;
    return 0;
}

static void sieve_fini(void *st)
{
    (void)st;
}

static void sieve_access(void *st, uint64_t hash, hs__l2_ent_t *e)
{
    (void)st;
    (void)hash;
    if (e)
        e->bits = 1;
}

static void sieve_insert(void *st, hs__l2_ent_t *e)
{
    e->bits = 0;
    hs__l2_list_push(&((sieve_t *)st)->l, e);
}

static void sieve_remove(void *st, hs__l2_ent_t *e)
{
    sieve_t *p = st;
    if (p->hand == e)
        p->hand = e->prev;
    hs__l2_list_unlink(&p->l, e);
}

static hs__l2_ent_t *sieve_evict(void *st, bool *rejected)
{
    sieve_t *p = st;
    (void)rejected;
    hs__l2_ent_t *e = p->hand ? p->hand : p->l.tail;
    if (!e)
        return NULL;
    while (e->bits) {
        e->bits = 0;
        e = e->prev ? e->prev : p->l.tail;
    }
    p->hand = e->prev;
    hs__l2_list_unlink(&p->l, e);
    return e;
}

const hs__l2_policy_t hs__l2_sieve = {
    .name = "sieve",
    .state_size = sizeof(sieve_t),
    .init = sieve_init,
    .fini = sieve_fini,
    .access = sieve_access,
    .insert = sieve_insert,
    .remove = sieve_remove,
    .evict = sieve_evict,
};
