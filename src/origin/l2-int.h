/*
 * Internals shared by the L2 core (l2.c) and its eviction policies
 * (l2-lru.c, l2-sieve.c, l2-s3fifo.c, l2-tinylfu.c). A policy sees only
 * entries and their charges; the core owns the hash table, the byte
 * accounting, the values and the lock. Every policy call runs under the
 * shard's lock, so policies are plain single-threaded code.
 */
#ifndef HS_ORIGIN_L2_INT_H
#define HS_ORIGIN_L2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin/l2-t.h"

typedef struct hs__l2_ent hs__l2_ent_t;
struct hs__l2_ent {
    hs__l2_ent_t *hnext;      /* hash chain (core) */
    hs__l2_ent_t *prev, *next; /* policy queue; prev is toward the newer end */
    uint64_t hash;
    hs_l2_val_t *val;
    size_t charge;
    uint32_t klen;
    uint8_t q;    /* which of the policy's queues holds the entry */
    uint8_t bits; /* the policy's per-entry counter or visited bit */
    char key[];
};

/* A doubly linked queue that knows its bytes; head is the newest end. */
typedef struct hs__l2_list {
    hs__l2_ent_t *head, *tail;
    size_t bytes, n;
} hs__l2_list_t;

static inline void hs__l2_list_push(hs__l2_list_t *l, hs__l2_ent_t *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    else
        l->tail = e;
    l->head = e;
    l->bytes += e->charge;
    l->n++;
}

static inline void hs__l2_list_unlink(hs__l2_list_t *l, hs__l2_ent_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
    l->bytes -= e->charge;
    l->n--;
}

/*
 * One policy. `evict` picks the entry to drop when the shard is over its
 * budget and unlinks it from the policy's queues; it sets *rejected when
 * the entry is dropped by admission (a newcomer judged less useful than
 * what it would displace) rather than evicted. It returns NULL only when
 * the policy holds nothing.
 */
typedef struct hs__l2_policy {
    const char *name;
    size_t state_size;
    int (*init)(void *st, size_t cap_bytes); /* 0 or HS_ENOMEM */
    void (*fini)(void *st);
    void (*access)(void *st, uint64_t hash, hs__l2_ent_t *e); /* e NULL: miss */
    void (*insert)(void *st, hs__l2_ent_t *e);
    void (*remove)(void *st, hs__l2_ent_t *e);
    hs__l2_ent_t *(*evict)(void *st, bool *rejected);
} hs__l2_policy_t;

extern const hs__l2_policy_t hs__l2_lru;
extern const hs__l2_policy_t hs__l2_sieve;
extern const hs__l2_policy_t hs__l2_s3fifo;
extern const hs__l2_policy_t hs__l2_tinylfu;

#endif
