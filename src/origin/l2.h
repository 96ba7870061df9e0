/*
 * The origin's L2 cache: hot object metadata and small object bodies kept
 * in process memory, so a hit is answered on the event-loop thread without
 * a trip through the I/O pool. Thread-safe: event-loop threads and pool
 * threads call it at once. Keys are hashed (xxh3) onto independent shards,
 * each with its own lock, hash table, byte budget and policy state.
 *
 * Values are immutable refcounted blobs. A get returns a held reference
 * that stays valid after the entry is evicted or replaced, so the HTTP
 * layer can send the bytes by reference (hs_http_resp_body_ref with
 * hs_l2_val_release) without copying.
 *
 * Freshness protocol (why: docs/design/origin-l2.md):
 *   reader miss:  tok = hs_l2_begin_fill(k);  read the stores;
 *                 hs_l2_put(k, v, tok)   -- refused if k was deleted since
 *   writer:       commit to the stores;  then hs_l2_del(k)
 */
#ifndef HS_ORIGIN_L2_H
#define HS_ORIGIN_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin/l2-t.h"

/* Longest key accepted; longer keys always miss and are never stored. */
#define HS_L2_KEY_MAX 4096

/* ---- values ---- */

/* A value holding a copy of data[0..len) with one reference (the
 * caller's). NULL on OOM. */
hs_l2_val_t *hs_l2_val_new(const void *data, size_t len, uint32_t tag);
/* A value of len uninitialized bytes at *data, for the caller to fill
 * (e.g. the I/O pool decoding fragments into it) before sharing it.
 * One reference. NULL on OOM. */
hs_l2_val_t *hs_l2_val_alloc(size_t len, uint32_t tag, void **data);
/* A value over bytes the caller owns: release(arg) runs once, when the
 * last reference goes. The bytes must not change meanwhile. The cache
 * charges len as if it held them. One reference. NULL on OOM (release is
 * not called then). */
hs_l2_val_t *hs_l2_val_wrap(const void *data, size_t len, uint32_t tag,
                            void (*release)(void *arg), void *arg);
const void *hs_l2_val_data(const hs_l2_val_t *v);
size_t hs_l2_val_len(const hs_l2_val_t *v);
uint32_t hs_l2_val_tag(const hs_l2_val_t *v);
/* Reference counting; safe from any thread. */
void hs_l2_val_ref(hs_l2_val_t *v);
void hs_l2_val_unref(hs_l2_val_t *v);
/* hs_oq_release_cb-shaped unref, for hs_http_resp_body_ref. */
void hs_l2_val_release(void *v);

/* ---- cache ---- */

/* A cache of at most max_bytes with the default policy, automatic sharding
 * and no metrics. max_item_bytes bounds one entry's charge (0: the
 * smaller of 1 MiB and max_bytes / 16).
 * NULL on OOM or a zero budget. */
hs_l2_t *hs_l2_new(size_t max_bytes, size_t max_item_bytes);
/* Same with every option. With a metrics_prefix, registers counters
 * <prefix>_{hits,misses,puts,rejected,stale_fills,evictions}_total and
 * gauges <prefix>_{bytes,items}. NULL on OOM or bad options. */
hs_l2_t *hs_l2_new_opts(const hs_l2_opts_t *o);
/* Drops every entry (values still referenced live until released). Must
 * not race with other calls on c. */
void hs_l2_free(hs_l2_t *c);

/* The value under key, with a new reference the caller releases, or NULL.
 * Counts a hit or a miss and feeds the policy. */
hs_l2_val_t *hs_l2_get(hs_l2_t *c, const void *key, size_t klen);

/* A fill token for key: call it before reading the stores on a miss and
 * hand it to hs_l2_put. Never 0. */
uint64_t hs_l2_begin_fill(hs_l2_t *c, const void *key, size_t klen);

/*
 * Stores v under key (replacing any value there) if no hs_l2_del of key
 * happened since `token` was taken, the entry fits max_item_bytes and the
 * policy admits it. The cache takes its own reference when it stores v;
 * the caller's reference is untouched either way. Evicts until the budget
 * holds. Returns true if v was stored.
 */
bool hs_l2_put(hs_l2_t *c, const void *key, size_t klen, hs_l2_val_t *v, uint64_t token);

/* Removes key and invalidates every fill token taken for it so far. Call
 * after the new state is committed to the stores (PUT, DELETE, completed
 * multipart upload). */
void hs_l2_del(hs_l2_t *c, const void *key, size_t klen);

/* Counters summed over shards (each shard read under its lock). */
void hs_l2_stats(hs_l2_t *c, hs_l2_stats_t *out);

/* "lru", "sieve", "s3fifo", "tinylfu"; hs_l2_policy_parse returns the
 * kind or HS_EINVAL for an unknown name. */
const char *hs_l2_policy_name(hs_l2_policy_kind_t k);
int hs_l2_policy_parse(const char *name);

#endif
