/*
 * LRU for the L2 cache: the baseline the other policies are measured
 * against. Every hit moves the entry to the head of one queue.
 */
#include "origin/l2-int.h"

typedef struct lru {
    hs__l2_list_t l;
} lru_t;

static int lru_init(void *st, size_t cap)
{
    (void)st;
    (void)cap;
    return 0;
}

static void lru_fini(void *st)
{
    (void)st;
}

static void lru_access(void *st, uint64_t hash, hs__l2_ent_t *e)
{
    lru_t *p = st;
    (void)hash;
    if (!e || p->l.head == e)
        return;
    hs__l2_list_unlink(&p->l, e);
    hs__l2_list_push(&p->l, e);
}

static void lru_insert(void *st, hs__l2_ent_t *e)
{
    hs__l2_list_push(&((lru_t *)st)->l, e);
}

static void lru_remove(void *st, hs__l2_ent_t *e)
{
    hs__l2_list_unlink(&((lru_t *)st)->l, e);
}

static hs__l2_ent_t *lru_evict(void *st, bool *rejected)
{
    lru_t *p = st;
    hs__l2_ent_t *e = p->l.tail;
    (void)rejected;
    if (e)
        hs__l2_list_unlink(&p->l, e);
    return e;
}

const hs__l2_policy_t hs__l2_lru = {
    .name = "lru",
    .state_size = sizeof(lru_t),
    .init = lru_init,
    .fini = lru_fini,
    .access = lru_access,
    .insert = lru_insert,
    .remove = lru_remove,
    .evict = lru_evict,
};
