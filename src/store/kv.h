/*
 * Role-store interface: an ordered key-value store with snapshot reads,
 * atomic multi-key write transactions, range scans and explicit sync.
 * The metadata role (buckets, manifests) and the wide-column role (chunk
 * index, access events) both use it; each deployment picks an engine by
 * name ("lmdb" is the embedded default). See docs/design/store.md.
 *
 * Thread safety: a hs_kv_t may be shared by threads. A transaction and its
 * cursors belong to the thread that began it. Write transactions are
 * serialized by the engine (a second writer waits for the first).
 */
#ifndef HS_STORE_KV_H
#define HS_STORE_KV_H

#include "store/kv-t.h"

/* Looks up an engine by name ("lmdb"). Returns NULL if unknown. */
const hs_kv_ops_t *hs_kv_engine(const char *name);

/* Opens (creating if needed) the store at path with the named engine.
 * opts may be NULL. Returns 0 and *out, or HS_ENOENT (unknown engine) or
 * an engine error. */
int hs_kv_open(const char *engine, const char *path, const hs_kv_opts_t *opts, hs_kv_t **out);
void hs_kv_close(hs_kv_t *kv);
int hs_kv_sync(hs_kv_t *kv);

/* Begins a transaction (flags: HS_KV_RDONLY). It must end in exactly one
 * commit or abort; both free it. Commit of a write transaction is durable
 * on return unless the store was opened with no_sync. */
int hs_kv_txn_begin(hs_kv_t *kv, int flags, hs_kv_txn_t **out);
int hs_kv_txn_commit(hs_kv_txn_t *txn);
void hs_kv_txn_abort(hs_kv_txn_t *txn);

/* Group commit: runs fn(txn, arg) in a write transaction shared with the
 * callers that arrive while another group is committing, so one durable
 * commit (one flush) covers them all. Each fn runs in a child transaction
 * of the shared one, on whichever caller's thread leads the group: a fn
 * returning < 0 drops only its own changes. Returns fn's result, or the
 * shared commit's error if fn succeeded and the commit failed (then none
 * of the group's changes are stored). On return with 0 fn's changes are
 * durable as with hs_kv_txn_commit. fn must not begin transactions on kv,
 * must not block on other group callers, and anything it hands back in
 * arg is valid only if the call returns >= 0. Engines without child
 * transactions run fn in a transaction of its own. */
int hs_kv_group_run(hs_kv_t *kv, int (*fn)(hs_kv_txn_t *txn, void *arg), void *arg);

/* Point operations inside a transaction. get's *val points into the engine
 * and stays valid until the transaction ends (copy it to keep it). del of
 * a missing key returns HS_ENOENT. */
int hs_kv_get(hs_kv_txn_t *txn, const void *key, size_t klen, hs_kv_val_t *val);
int hs_kv_put(hs_kv_txn_t *txn, const void *key, size_t klen, const void *val, size_t vlen);
int hs_kv_del(hs_kv_txn_t *txn, const void *key, size_t klen);

/* Range scan over [start, end) in byte order; end NULL means unbounded.
 * next returns 0 with key/val (valid until the next call or the end of the
 * transaction) or HS_EOF. A write transaction may put/del keys it has
 * already passed while scanning. */
int hs_kv_cursor_open(hs_kv_txn_t *txn, const void *start, size_t slen, const void *end,
                      size_t elen, hs_kv_cursor_t **out);
/* Scans every key that begins with prefix. */
int hs_kv_cursor_prefix(hs_kv_txn_t *txn, const void *prefix, size_t plen, hs_kv_cursor_t **out);
int hs_kv_cursor_next(hs_kv_cursor_t *c, hs_kv_val_t *key, hs_kv_val_t *val);
void hs_kv_cursor_close(hs_kv_cursor_t *c);

/* One-shot helpers, each its own transaction. get1 returns a malloc'd copy
 * in *out (caller frees). */
int hs_kv_get1(hs_kv_t *kv, const void *key, size_t klen, void **out, size_t *outlen);
int hs_kv_put1(hs_kv_t *kv, const void *key, size_t klen, const void *val, size_t vlen);
int hs_kv_del1(hs_kv_t *kv, const void *key, size_t klen);

/* The embedded engine. */
extern const hs_kv_ops_t hs_kv_lmdb_ops;

#endif
