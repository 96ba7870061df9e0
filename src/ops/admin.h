/*
 * The admin endpoint: /healthz, /metrics (Prometheus text format) and
 * /admin/status. It runs on worker thread 0's loop beside the public
 * server, with its own listening socket and small connection limit.
 */
#ifndef HS_OPS_ADMIN_H
#define HS_OPS_ADMIN_H

#include "core/buf-t.h"
#include "core/workers.h"

typedef struct hs_admin_opts {
    const char *listen;
    const char *role; /* what this process runs, for /admin/status */
} hs_admin_opts_t;

/* A role (see workers.h) that serves the admin endpoint on thread 0 only;
 * its arg is a hs_admin_opts_t. */
extern const hs_role_t hs_admin_role;

/*
 * Serves GET `path` (e.g. "/admin/balance", copied; at most 8 hooks) with
 * the JSON document fn(arg, out) appends to out (fn returns 0 or a
 * negative HS_E* code: 500). fn runs on the admin thread. Returns 0,
 * HS_EEXIST (path taken) or HS_ELIMIT. hs_admin_unhook(path) removes it
 * and returns only when no call of it is running.
 */
int hs_admin_hook(const char *path, int (*fn)(void *arg, hs_buf_t *out), void *arg);
void hs_admin_unhook(const char *path);

#endif
