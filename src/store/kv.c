/*
 * Role-store interface dispatch: engine lookup by name, the thin wrappers
 * over the vtable, prefix scans and one-shot helpers written once for every
 * engine.
 */
#include "store/kv.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/kv-int.h"

static const hs_kv_ops_t *const engines[] = {
    &hs_kv_lmdb_ops,
};

const hs_kv_ops_t *hs_kv_engine(const char *name)
{
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
        if (strcmp(engines[i]->name, name) == 0) return engines[i];
    return NULL;
}

int hs_kv_open(const char *engine, const char *path, const hs_kv_opts_t *opts, hs_kv_t **out)
{
    const hs_kv_ops_t *ops = hs_kv_engine(engine ? engine : "lmdb");
    hs_kv_opts_t none = {0};
    if (!ops) return HS_ENOENT;
    int rc = ops->open(path, opts ? opts : &none, out);
    /* No group state (out of memory) only means no grouping. */
    if (rc == 0) (*out)->group = hs__kv_group_new();
    return rc;
}

void hs_kv_close(hs_kv_t *kv)
{
    if (!kv) return;
    hs__kv_group_free(kv->group);
    kv->ops->close(kv);
}

int hs_kv_sync(hs_kv_t *kv)
{
    return kv->ops->sync(kv);
}

int hs_kv_txn_begin(hs_kv_t *kv, int flags, hs_kv_txn_t **out)
{
    return kv->ops->txn_begin(kv, flags, out);
}

int hs_kv_txn_commit(hs_kv_txn_t *txn)
{
    return txn->ops->txn_commit(txn);
}

void hs_kv_txn_abort(hs_kv_txn_t *txn)
{
    if (txn) txn->ops->txn_abort(txn);
}

int hs_kv_get(hs_kv_txn_t *txn, const void *key, size_t klen, hs_kv_val_t *val)
{
    return txn->ops->get(txn, key, klen, val);
}

int hs_kv_put(hs_kv_txn_t *txn, const void *key, size_t klen, const void *val, size_t vlen)
{
    return txn->ops->put(txn, key, klen, val, vlen);
}

int hs_kv_del(hs_kv_txn_t *txn, const void *key, size_t klen)
{
    return txn->ops->del(txn, key, klen);
}

int hs_kv_cursor_open(hs_kv_txn_t *txn, const void *start, size_t slen, const void *end,
                      size_t elen, hs_kv_cursor_t **out)
{
    return txn->ops->cursor_open(txn, start, slen, end, elen, out);
}

int hs_kv_cursor_prefix(hs_kv_txn_t *txn, const void *prefix, size_t plen, hs_kv_cursor_t **out)
{
    /* The end bound is the prefix "plus one": the shortest key greater than
     * every key that starts with prefix (none if the prefix is all 0xff). */
    unsigned char end[256];
    size_t elen = plen;
    if (plen > sizeof(end)) return HS_EINVAL;
    memcpy(end, prefix, plen);
    while (elen > 0 && end[elen - 1] == 0xff)
        elen--;
    if (elen == 0) return hs_kv_cursor_open(txn, prefix, plen, NULL, 0, out);
    end[elen - 1]++;
    return hs_kv_cursor_open(txn, prefix, plen, end, elen, out);
}

int hs_kv_cursor_next(hs_kv_cursor_t *c, hs_kv_val_t *key, hs_kv_val_t *val)
{
    return c->ops->cursor_next(c, key, val);
}

void hs_kv_cursor_close(hs_kv_cursor_t *c)
{
    if (c) c->ops->cursor_close(c);
}

int hs_kv_get1(hs_kv_t *kv, const void *key, size_t klen, void **out, size_t *outlen)
{
    hs_kv_txn_t *txn;
    hs_kv_val_t v;
    int rc = hs_kv_txn_begin(kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_get(txn, key, klen, &v);
    if (rc == 0) {
        void *copy = malloc(v.len ? v.len : 1);
        if (!copy) {
            rc = HS_ENOMEM;
        } else {
            memcpy(copy, v.data, v.len);
            *out = copy;
            *outlen = v.len;
        }
    }
    hs_kv_txn_abort(txn);
    return rc;
}

int hs_kv_put1(hs_kv_t *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(kv, 0, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_put(txn, key, klen, val, vlen);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}

int hs_kv_del1(hs_kv_t *kv, const void *key, size_t klen)
{
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(kv, 0, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_del(txn, key, klen);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}
