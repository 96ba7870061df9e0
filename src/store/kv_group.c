/*
 * Group commit for the role store: concurrent writers share one durable
 * commit. Callers queue; the first one to find no group running leads it:
 * it begins one write transaction, runs every queued caller's function in
 * a child transaction of it, commits once and hands each caller its own
 * result. Callers that arrive meanwhile queue for the next group, so under
 * load one flush covers every write that arrived while the previous one
 * was flushing, and no caller waits longer than one commit to start. See
 * docs/design/store.md "Group commit".
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/err.h"
#include "store/kv-int.h"
#include "store/kv.h"

/* Callers per shared transaction: bounds its dirty pages and how long the
 * last caller of a group waits for the others' functions. */
#define GROUP_MAX 64

typedef struct greq {
    int (*fn)(hs_kv_txn_t *txn, void *arg);
    void *arg;
    int rc;
    bool done;
    struct greq *next;
} greq_t;

struct hs__kv_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    greq_t *head, *tail;
    unsigned queued;
    bool leading;
    uint64_t groups, calls;
};

struct hs__kv_group *hs__kv_group_new(void)
{
    struct hs__kv_group *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    return g;
}

void hs__kv_group_free(struct hs__kv_group *g)
{
    if (!g) return;
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

void hs__kv_group_stats(hs_kv_t *kv, hs__kv_group_stats_t *out)
{
    struct hs__kv_group *g = kv->group;
    *out = (hs__kv_group_stats_t){0};
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    out->queued = g->queued;
    out->groups = g->groups;
    out->calls = g->calls;
    pthread_mutex_unlock(&g->mu);
}

static int run_alone(hs_kv_t *kv, int (*fn)(hs_kv_txn_t *, void *), void *arg)
{
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(kv, 0, &txn);
    if (rc < 0) return rc;
    rc = fn(txn, arg);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    int c = hs_kv_txn_commit(txn);
    return c < 0 ? c : rc;
}

/* Runs one group on the leader's thread and sets every member's rc. */
static void run_group(hs_kv_t *kv, greq_t *batch)
{
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(kv, 0, &txn);
    int kept = 0;
    /* Alone (no contention, the common case at low load): no child, whose
     * set-up is not free in LMDB; failing aborts only this caller's work. */
    if (rc == 0 && !batch->next) {
        batch->rc = batch->fn(txn, batch->arg);
        if (batch->rc < 0) {
            hs_kv_txn_abort(txn);
            return;
        }
        if ((rc = hs_kv_txn_commit(txn)) < 0) batch->rc = rc;
        return;
    }
    for (greq_t *r = batch; r; r = r->next) {
        hs_kv_txn_t *child;
        if (rc < 0) {
            r->rc = rc;
            continue;
        }
        if ((r->rc = kv->ops->txn_child(txn, &child)) < 0) continue;
        r->rc = r->fn(child, r->arg);
        if (r->rc < 0) {
            hs_kv_txn_abort(child);
            continue;
        }
        int c = hs_kv_txn_commit(child);
        if (c < 0)
            r->rc = c;
        else
            kept++;
    }
    if (rc < 0) return;
    if (kept == 0) {
        hs_kv_txn_abort(txn);
        return;
    }
    /* All or nothing: a failed shared commit stores no member's changes,
     * so every member that had succeeded gets its error. */
    if ((rc = hs_kv_txn_commit(txn)) < 0)
        for (greq_t *r = batch; r; r = r->next)
            if (r->rc >= 0) r->rc = rc;
}

int hs_kv_group_run(hs_kv_t *kv, int (*fn)(hs_kv_txn_t *txn, void *arg), void *arg)
{
    struct hs__kv_group *g = kv->group;
    if (!g || !kv->ops->txn_child) return run_alone(kv, fn, arg);
    greq_t me = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &me;
    else
        g->head = &me;
    g->tail = &me;
    g->queued++;
    while (!me.done) {
        if (g->leading) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        g->leading = true;
        greq_t *batch = g->head, *last = batch;
        unsigned n = 1;
        while (n < GROUP_MAX && last->next) {
            last = last->next;
            n++;
        }
        g->head = last->next;
        if (!g->head) g->tail = NULL;
        last->next = NULL;
        g->queued -= n;
        pthread_mutex_unlock(&g->mu);
        run_group(kv, batch);
        pthread_mutex_lock(&g->mu);
        /* A member returns (and its greq goes away) as soon as it sees
         * done, so read next first. */
        for (greq_t *r = batch, *next; r; r = next) {
            next = r->next;
            r->done = true;
        }
        g->groups++;
        g->calls += n;
        g->leading = false;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return me.rc;
}
