/*
 * Origin fetches shared across worker threads ("flights"). Each worker
 * thread coalesces misses in its own fill table; this process-wide
 * registry (sharded by key hash, a mutex per shard) makes the first
 * thread to miss a key the owner of its one origin request, and lets the
 * other threads wait on it: the owner publishes the head, every body
 * chunk (refcounted, sent by reference from the waiters' output queues)
 * and the end, and each waiter thread is woken on its own loop through
 * hs_loop_post. Revalidations of one stored version share the same way
 * (hs_edge_flight_acquire_reval); a 304 is published as a head of status
 * 304. See docs/design/edge-coalescing.md.
 *
 * Thread rules: an owner's calls come from its thread; a waiter's calls
 * (and its wake callback) run on the loop it registered with.
 */
#ifndef HS_EDGE_FILLSHARE_H
#define HS_EDGE_FILLSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop-t.h"
#include "core/str-t.h"
#include "edge/policy-t.h"

typedef struct hs_edge_flight hs_edge_flight_t;
typedef struct hs_edge_flight_waiter hs_edge_flight_waiter_t;

/* The response head as the owner will store it (fields already filtered). */
typedef struct hs_edge_flight_head {
    int status;
    int64_t clen;        /* body length, -1 unknown */
    hs_str_t hdr;        /* header block "Name: value\r\n"... */
    hs_str_t vary, sec;  /* normalized Vary list and the owner's secondary key */
    hs_str_t tags;       /* surrogate keys, space-separated */
    hs_edge_meta_t meta;
    bool joinable;       /* shared and being stored: body chunks follow */
    bool pass;           /* uncacheable: hit-for-miss applies */
    /* When the owner's request was sent: a revalidation's 304 (status 304,
     * hdr its fields as received but the hop-by-hop ones, Date and Age
     * included) is merged by each waiter into its own stored copy, whose
     * freshness counts from this time. */
    int64_t request_time;
} hs_edge_flight_head_t;

/*
 * The stored version a revalidation flight is for: the validators sent
 * (ETag, Last-Modified) and the variant's secondary key. Threads holding
 * different versions never share a flight (a 304 confirms only the
 * version asked about), and a revalidation never shares a cold miss's.
 */
typedef struct hs_edge_flight_version {
    hs_str_t etag, last_modified, sec;
} hs_edge_flight_version_t;

/* What a waiter sees when it polls (valid until it leaves). */
typedef struct hs_edge_flight_view {
    const hs_edge_flight_head_t *head; /* NULL until published; then immutable */
    bool ended;
    int status;      /* once ended: 0 or a negative HS_E* code */
    uint64_t bytes;  /* body bytes published so far */
} hs_edge_flight_view_t;

/*
 * Finds the flight of (ns, key) or starts one. ns names a cache (the
 * edge's origin pool): flights of other namespaces never match. On a
 * start, *w is NULL and the caller owns *f (it must end it). Otherwise *w
 * is a new waiter on the listed flight *f, woken on `loop` by wake(arg)
 * (set with hs_edge_flight_waiter_bind before the loop runs again).
 * Returns 0 or HS_ENOMEM.
 */
int hs_edge_flight_acquire(const void *ns, hs_str_t key, uint64_t hash, hs_loop_t *loop,
                           hs_edge_flight_t **f, hs_edge_flight_waiter_t **w);

/*
 * hs_edge_flight_acquire for the revalidation of the stored version v of
 * key: matches only flights of the same ns, key and version (byte for
 * byte). Returns 0 or HS_ENOMEM.
 */
int hs_edge_flight_acquire_reval(const void *ns, hs_str_t key, const hs_edge_flight_version_t *v,
                                 uint64_t hash, hs_loop_t *loop, hs_edge_flight_t **f,
                                 hs_edge_flight_waiter_t **w);

/* Sets the waiter's wake callback; called on the waiter's loop thread. */
void hs_edge_flight_waiter_bind(hs_edge_flight_waiter_t *w, void (*wake)(void *arg), void *arg);

/* Owner: publishes the head (copied). A head that is not joinable also
 * unlists the flight. Returns 0 or HS_ENOMEM (nothing published). */
int hs_edge_flight_head(hs_edge_flight_t *f, const hs_edge_flight_head_t *h);

/* Owner: publishes len body bytes (copied once into a shared chunk).
 * Returns 0 or HS_ENOMEM. */
int hs_edge_flight_body(hs_edge_flight_t *f, const char *data, size_t len);

/* Owner: no new waiter may join (late ones then fetch for themselves). */
void hs_edge_flight_unlist(hs_edge_flight_t *f);

/* Owner: publishes the end (0, or why the answer stops here), unlists,
 * wakes the waiters and drops the owner's reference: f is gone. */
void hs_edge_flight_end(hs_edge_flight_t *f, int status);

/* Waiter: what has been published (see hs_edge_flight_view_t). */
void hs_edge_flight_poll(hs_edge_flight_waiter_t *w, hs_edge_flight_view_t *v);

/*
 * Waiter: the next body chunk after this waiter's cursor. Returns true
 * with data[0..*len) and a reference *ref the caller must drop with
 * hs_edge_flight_chunk_release (an hs_oq_release_cb: give it to an output
 * queue), or false when it has taken everything published.
 */
bool hs_edge_flight_next(hs_edge_flight_waiter_t *w, const char **data, size_t *len, void **ref);

/* Takes another reference on a chunk from hs_edge_flight_next. */
void hs_edge_flight_chunk_ref(void *ref);
/* Drops one (thread-safe). */
void hs_edge_flight_chunk_release(void *ref);

/* Waiter: stops waiting; no wake runs after this returns. w is gone. */
void hs_edge_flight_leave(hs_edge_flight_waiter_t *w);

/*
 * Call when `loop` will never run again (after it stopped, before
 * hs_loop_free, which drops queued wakes without running them): frees the
 * waiters of that loop that left with a wake still queued, and their
 * references on their flights. Returns how many were freed. Thread-safe;
 * other loops' waiters are untouched.
 */
unsigned hs_edge_flight_loop_done(hs_loop_t *loop);

/* Flights currently listed (for tests). */
unsigned hs_edge_flight_listed(void);

#endif
