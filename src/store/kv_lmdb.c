/*
 * Embedded engine of the role-store interface, over LMDB: a copy-on-write
 * B+tree in one memory-mapped file. Readers never block writers and see a
 * consistent snapshot; one writer at a time (LMDB's own lock, also across
 * processes); a commit is durable when it returns (fsync of data then meta
 * page) unless no_sync was asked for. A process killed at any point leaves
 * the last committed state: there is no recovery step.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "store/kv.h"

typedef struct lmdb_kv {
    hs_kv_t base;
    MDB_env *env;
    MDB_dbi dbi;
} lmdb_kv_t;

typedef struct lmdb_txn {
    hs_kv_txn_t base;
    lmdb_kv_t *kv;
    MDB_txn *txn;
} lmdb_txn_t;

typedef struct lmdb_cursor {
    hs_kv_cursor_t base;
    MDB_cursor *cur;
    int started;
    void *start;
    size_t slen;
    void *end; /* NULL: unbounded */
    size_t elen;
} lmdb_cursor_t;

static int map_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return HS_ENOENT;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return HS_ENOSPC;
    case MDB_READERS_FULL:
        return HS_ELIMIT;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return HS_ECORRUPT;
    case MDB_BAD_VALSIZE:
        return HS_E2BIG;
    default:
        return rc > 0 ? HS_ERR(rc) : HS_EIO;
    }
}

static int lmdb_open(const char *path, const hs_kv_opts_t *opts, hs_kv_t **out)
{
    lmdb_kv_t *kv = calloc(1, sizeof(*kv));
    MDB_txn *txn = NULL;
    int rc;
    if (!kv) return HS_ENOMEM;
    kv->base.ops = &hs_kv_lmdb_ops;
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        rc = HS_ERR(errno);
        free(kv);
        return rc;
    }
    rc = mdb_env_create(&kv->env);
    if (rc) goto fail;
    /* The map is address space, not disk: the file grows as data does. */
    rc = mdb_env_set_mapsize(kv->env, opts->map_size ? opts->map_size : (64ull << 30));
    if (rc) goto fail;
    rc = mdb_env_set_maxreaders(kv->env, opts->max_readers > 0 ? (unsigned)opts->max_readers : 256);
    if (rc) goto fail;
    /* MDB_NOTLS: read transactions are not bound to a thread slot, so a
     * thread pool can run them; MDB_NORDAHEAD: lookups are random. */
    rc = mdb_env_open(kv->env, path, MDB_NOTLS | MDB_NORDAHEAD | (opts->no_sync ? MDB_NOSYNC : 0),
                      0644);
    if (rc) goto fail;
    int dead = 0;
    mdb_reader_check(kv->env, &dead); /* slots of killed processes */
    rc = mdb_txn_begin(kv->env, NULL, 0, &txn);
    if (rc) goto fail;
    rc = mdb_dbi_open(txn, NULL, 0, &kv->dbi);
    if (rc) {
        mdb_txn_abort(txn);
        goto fail;
    }
    rc = mdb_txn_commit(txn);
    if (rc) goto fail;
    *out = &kv->base;
    return 0;
fail:
    if (kv->env) mdb_env_close(kv->env);
    free(kv);
    return map_err(rc);
}

static void lmdb_close(hs_kv_t *base)
{
    lmdb_kv_t *kv = (lmdb_kv_t *)base;
    mdb_env_sync(kv->env, 1);
    mdb_env_close(kv->env);
    free(kv);
}

static int lmdb_txn_begin(hs_kv_t *base, int flags, hs_kv_txn_t **out)
{
    lmdb_kv_t *kv = (lmdb_kv_t *)base;
    lmdb_txn_t *t = malloc(sizeof(*t));
    if (!t) return HS_ENOMEM;
    t->base.ops = &hs_kv_lmdb_ops;
    t->kv = kv;
    int rc = mdb_txn_begin(kv->env, NULL, (flags & HS_KV_RDONLY) ? MDB_RDONLY : 0, &t->txn);
    if (rc) {
        free(t);
        return map_err(rc);
    }
    *out = &t->base;
    return 0;
}

/* LMDB nests write transactions natively: a child's pages are copied
 * into the parent on commit and dropped on abort. */
static int lmdb_txn_child(hs_kv_txn_t *pbase, hs_kv_txn_t **out)
{
    lmdb_txn_t *p = (lmdb_txn_t *)pbase;
    lmdb_txn_t *t = malloc(sizeof(*t));
    if (!t) return HS_ENOMEM;
    t->base.ops = &hs_kv_lmdb_ops;
    t->kv = p->kv;
    int rc = mdb_txn_begin(p->kv->env, p->txn, 0, &t->txn);
    if (rc) {
        free(t);
        return map_err(rc);
    }
    *out = &t->base;
    return 0;
}

static int lmdb_txn_commit(hs_kv_txn_t *base)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    int rc = mdb_txn_commit(t->txn);
    free(t);
    return map_err(rc);
}

static void lmdb_txn_abort(hs_kv_txn_t *base)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    mdb_txn_abort(t->txn);
    free(t);
}

static int lmdb_get(hs_kv_txn_t *base, const void *key, size_t klen, hs_kv_val_t *val)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(t->txn, t->kv->dbi, &k, &v);
    if (rc) return map_err(rc);
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

static int lmdb_put(hs_kv_txn_t *base, const void *key, size_t klen, const void *val, size_t vlen)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (klen == 0) return HS_EINVAL;
    return map_err(mdb_put(t->txn, t->kv->dbi, &k, &v, 0));
}

static int lmdb_del(hs_kv_txn_t *base, const void *key, size_t klen)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    MDB_val k = {klen, (void *)key};
    return map_err(mdb_del(t->txn, t->kv->dbi, &k, NULL));
}

static int lmdb_cursor_open(hs_kv_txn_t *base, const void *start, size_t slen, const void *end,
                            size_t elen, hs_kv_cursor_t **out)
{
    lmdb_txn_t *t = (lmdb_txn_t *)base;
    lmdb_cursor_t *c = calloc(1, sizeof(*c) + slen + elen + 2);
    if (!c) return HS_ENOMEM;
    c->base.ops = &hs_kv_lmdb_ops;
    c->start = (char *)(c + 1);
    memcpy(c->start, start, slen);
    c->slen = slen;
    if (end) {
        c->end = (char *)c->start + slen + 1;
        memcpy(c->end, end, elen);
        c->elen = elen;
    }
    int rc = mdb_cursor_open(t->txn, t->kv->dbi, &c->cur);
    if (rc) {
        free(c);
        return map_err(rc);
    }
    *out = &c->base;
    return 0;
}

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

static int lmdb_cursor_next(hs_kv_cursor_t *base, hs_kv_val_t *key, hs_kv_val_t *val)
{
    lmdb_cursor_t *c = (lmdb_cursor_t *)base;
    MDB_val k, v;
    int rc;
    if (!c->started) {
        c->started = 1;
        if (c->slen) {
            k.mv_size = c->slen;
            k.mv_data = c->start;
            rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
        } else {
            rc = mdb_cursor_get(c->cur, &k, &v, MDB_FIRST);
        }
    } else {
        rc = mdb_cursor_get(c->cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) return HS_EOF;
    if (rc) return map_err(rc);
    if (c->end && key_cmp(k.mv_data, k.mv_size, c->end, c->elen) >= 0) return HS_EOF;
    key->data = k.mv_data;
    key->len = k.mv_size;
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

static void lmdb_cursor_close(hs_kv_cursor_t *base)
{
    lmdb_cursor_t *c = (lmdb_cursor_t *)base;
    mdb_cursor_close(c->cur);
    free(c);
}

static int lmdb_sync(hs_kv_t *base)
{
    lmdb_kv_t *kv = (lmdb_kv_t *)base;
    return map_err(mdb_env_sync(kv->env, 1));
}

const hs_kv_ops_t hs_kv_lmdb_ops = {
    .name = "lmdb",
    .open = lmdb_open,
    .close = lmdb_close,
    .txn_begin = lmdb_txn_begin,
    .txn_commit = lmdb_txn_commit,
    .txn_abort = lmdb_txn_abort,
    .get = lmdb_get,
    .put = lmdb_put,
    .del = lmdb_del,
    .cursor_open = lmdb_cursor_open,
    .cursor_next = lmdb_cursor_next,
    .cursor_close = lmdb_cursor_close,
    .sync = lmdb_sync,
    .txn_child = lmdb_txn_child,
};
