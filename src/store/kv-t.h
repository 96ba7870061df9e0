/*
 * Types of the role-store interface: an ordered key-value store reached
 * through a small table of function pointers, so the embedded engine
 * (LMDB) and a remote engine (DynamoDB, Cassandra/CQL...) are
 * interchangeable behind the roles that use it (metadata, wide-column).
 * Only type definitions live here; functions are in kv.h.
 */
#ifndef HS_STORE_KV_T_H
#define HS_STORE_KV_T_H

#include <stddef.h>
#include <stdint.h>

typedef struct hs_kv hs_kv_t;
typedef struct hs_kv_txn hs_kv_txn_t;
typedef struct hs_kv_cursor hs_kv_cursor_t;

/* A byte slice owned by the engine; valid until its transaction ends. */
typedef struct hs_kv_val {
    const void *data;
    size_t len;
} hs_kv_val_t;

/* hs_kv_txn_begin flags */
enum {
    HS_KV_RDONLY = 1 << 0, /* read-only snapshot; many may run at once */
};

/* Options given to an engine's open. Zero means "engine default". */
typedef struct hs_kv_opts {
    uint64_t map_size; /* upper bound of the store's size in bytes */
    int max_readers;   /* concurrent read transactions (threads) */
    int no_sync;       /* 1: commits are not flushed (advisory data only) */
} hs_kv_opts_t;

/*
 * The engine vtable. Every method returns 0 or a negative HS_E* code;
 * "not found" is HS_ENOENT and "end of scan" is HS_EOF. An engine provides
 * all methods; callers use the hs_kv_* wrappers in kv.h.
 */
typedef struct hs_kv_ops {
    const char *name;
    int (*open)(const char *path, const hs_kv_opts_t *opts, hs_kv_t **out);
    void (*close)(hs_kv_t *kv);
    int (*txn_begin)(hs_kv_t *kv, int flags, hs_kv_txn_t **out);
    int (*txn_commit)(hs_kv_txn_t *txn);
    void (*txn_abort)(hs_kv_txn_t *txn);
    int (*get)(hs_kv_txn_t *txn, const void *key, size_t klen, hs_kv_val_t *val);
    int (*put)(hs_kv_txn_t *txn, const void *key, size_t klen, const void *val, size_t vlen);
    int (*del)(hs_kv_txn_t *txn, const void *key, size_t klen);
    /* Scans keys k with start <= k < end in byte order (end NULL: no bound). */
    int (*cursor_open)(hs_kv_txn_t *txn, const void *start, size_t slen, const void *end,
                       size_t elen, hs_kv_cursor_t **out);
    int (*cursor_next)(hs_kv_cursor_t *c, hs_kv_val_t *key, hs_kv_val_t *val);
    void (*cursor_close)(hs_kv_cursor_t *c);
    /* Makes every committed transaction durable (no-op when commits are). */
    int (*sync)(hs_kv_t *kv);
    /* Optional: begins a child of a write transaction. Its commit folds its
     * changes into the parent; its abort drops only them. Engines without
     * it run each hs_kv_group_run call in a transaction of its own. */
    int (*txn_child)(hs_kv_txn_t *parent, hs_kv_txn_t **out);
} hs_kv_ops_t;

struct hs__kv_group;

/* Every handle starts with this header so the wrappers can dispatch.
 * group is set by hs_kv_open (kv.c), not by the engine. */
struct hs_kv {
    const hs_kv_ops_t *ops;
    struct hs__kv_group *group;
};
struct hs_kv_txn {
    const hs_kv_ops_t *ops;
};
struct hs_kv_cursor {
    const hs_kv_ops_t *ops;
};

#endif
