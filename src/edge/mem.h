/*
 * The edge's memory tier: stored responses of one worker thread, bounded in
 * bytes, evicted with SIEVE (docs/design/edge-cache.md says why).
 * Objects are keyed by a primary key (host + path + query of a GET) and, for
 * responses with Vary, a secondary key computed from the request
 * (policy.h). Objects are refcounted: one reference is the tier's, and a
 * response being sent holds its own, so eviction never frees bytes still in
 * an output queue. Not thread-safe: one tier per worker thread.
 */
#ifndef HS_EDGE_MEM_H
#define HS_EDGE_MEM_H

#include <stddef.h>

#include "edge/mem-t.h"
#include "http/msg-t.h"

/* Most variants kept per URL; a new one past it evicts the oldest. */
#define HS_EDGE_MAX_VARIANTS 16
/* Longest normalized Vary list and secondary key accepted. */
#define HS_EDGE_VARY_MAX 256
#define HS_EDGE_SECONDARY_MAX 2048

/* Bodies of at least this many bytes are moved into a memfd at insert, so
 * hits send them with sendfile (measured: 0.24-0.32x the sender CPU of
 * writev with 64-256 connections; below ~16 KiB the extra syscalls and the
 * per-object fd and mapping are not worth it). docs/edge.md. */
#define HS_EDGE_MEMFD_MIN (16 * 1024)
/* Default most memfd bodies per process (see hs_edge_memfd_cap). */
#define HS_EDGE_MEMFD_MAX 8192

/*
 * Moves o's heap body (o->size >= 1 bytes) into a new sealed memfd with a
 * read-only mapping in o->body (o->body_kind becomes HS_EDGE_BODY_MEMFD).
 * Returns 0; HS_ELIMIT when the process already holds hs_edge_memfd_cap()
 * of them; HS_EINVAL for an object that is not a heap body; or a negated
 * errno from memfd_create/pwrite/mmap. On error o is unchanged
 * (the body stays on the heap). hs_edge_mem_insert calls it for bodies of
 * HS_EDGE_MEMFD_MIN bytes and more.
 */
int hs_edge_obj_to_memfd(hs_edge_obj_t *o);

/* The process-wide cap on memfd bodies (one fd and one mapping each):
 * HS_EDGE_MEMFD_MAX, or a quarter of RLIMIT_NOFILE when that is lower.
 * _set replaces it (0 disables memfd bodies; tests, configuration);
 * _count is how many exist now. Thread-safe. */
unsigned hs_edge_memfd_cap(void);
void hs_edge_memfd_set_cap(unsigned cap);
unsigned hs_edge_memfd_count(void);
/* Applies the edge.memfd_max setting: 0 restores the automatic cap; any
 * other value becomes the cap, clamped to half of RLIMIT_NOFILE. Returns
 * the cap now in force (below want when clamped). Call before workers
 * start: bodies already in memfds stay when the cap drops. */
unsigned hs_edge_memfd_configure(uint64_t want);
/* Applies edge.body_dir: bodies moved out of the heap go into unlinked
 * files created in dir (O_TMPFILE, so page-cache pages: on Linux 6.x they
 * cost less to sendfile than a memfd's, for the server and the receiver),
 * or into memfds when dir is NULL or empty. Checks that a file can be made
 * there. Returns 0 or a negative HS_E* code (the setting is unchanged).
 * Call before workers start. */
int hs_edge_body_dir_set(const char *dir);

/* A tier holding at most max_bytes (objects, headers, keys). NULL on OOM.
 * Its metrics carry tier="memory"; _tier names another (an index). */
hs_edge_mem_t *hs_edge_mem_new(uint64_t max_bytes);
hs_edge_mem_t *hs_edge_mem_new_tier(uint64_t max_bytes, const char *tier);
/* Drops every object (objects still referenced live until released). */
void hs_edge_mem_free(hs_edge_mem_t *m);

/* A new, empty object with one reference (the caller's). NULL on OOM. */
hs_edge_obj_t *hs_edge_obj_new(void);
void hs_edge_obj_ref(hs_edge_obj_t *o);
void hs_edge_obj_unref(hs_edge_obj_t *o);
/* hs_oq_release_cb-shaped unref, for hs_http_resp_body_ref. */
void hs_edge_obj_release(void *o);

/* Finds ETag, Last-Modified, Content-Type and Accept-Ranges in o->hdr
 * (after setting or replacing it). */
void hs_edge_obj_index(hs_edge_obj_t *o);

/*
 * Finds the variant of `key` that matches `req` (its secondary key under
 * the URL's Vary list) and marks it used. Returns it with a new reference
 * (release with hs_edge_obj_unref), or NULL.
 */
hs_edge_obj_t *hs_edge_mem_lookup(hs_edge_mem_t *m, hs_str_t key, const hs_http_msg_t *req);

/*
 * Stores o (the tier takes its own reference) under key, with the URL's
 * normalized Vary list `vary` and o's secondary key `sec` (computed by the
 * caller from the request the response answers). Replaces a variant with
 * the same secondary key; a different Vary list drops the URL's older
 * variants. Evicts until the budget holds. A heap body of
 * HS_EDGE_MEMFD_MIN bytes or more is moved into a memfd first (kept on
 * the heap when that fails or the cap is reached). Returns 0, HS_E2BIG (larger
 * than the whole budget, or keys too long), HS_ENOTSUP (a body sent from
 * a disk file: o->body_in_file) or HS_ENOMEM.
 */
int hs_edge_mem_insert(hs_edge_mem_t *m, hs_str_t key, hs_str_t vary, hs_str_t sec,
                       hs_edge_obj_t *o);

/* Re-charges o after its header block changed (304 merge). */
void hs_edge_mem_recharge(hs_edge_mem_t *m, hs_edge_obj_t *o);

/* Removes one object from the tier (if cached). */
void hs_edge_mem_remove(hs_edge_mem_t *m, hs_edge_obj_t *o);

/* Removes every variant of key. Returns how many were removed. */
unsigned hs_edge_mem_invalidate(hs_edge_mem_t *m, hs_str_t key);

/*
 * Purges objects: removes them (hard), or marks them stale (soft: the next
 * request revalidates, and stale-while-revalidate / stale-if-error still
 * apply). URL and prefix purges match primary keys; tag purges match one
 * surrogate key of o->tags. Prefix and tag purges scan the whole tier.
 * Returns how many objects were purged.
 */
unsigned hs_edge_mem_purge(hs_edge_mem_t *m, hs_edge_purge_kind_t kind, hs_str_t arg, bool soft);

/* True if the space-separated list `tags` holds `tag` (exact match). */
bool hs_edge_tags_has(hs_str_t tags, hs_str_t tag);

/* Calls cb(arg, o) whenever an object leaves the tier (eviction,
 * replacement, invalidation, purge), before the tier drops its reference. */
void hs_edge_mem_on_remove(hs_edge_mem_t *m, void (*cb)(void *arg, hs_edge_obj_t *o), void *arg);

/* Bytes charged, objects held, evictions so far (for metrics and tests). */
uint64_t hs_edge_mem_bytes(const hs_edge_mem_t *m);
uint64_t hs_edge_mem_count(const hs_edge_mem_t *m);
uint64_t hs_edge_mem_evictions(const hs_edge_mem_t *m);

#endif
