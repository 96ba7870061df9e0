/*
 * The admin endpoint: /healthz, /metrics (Prometheus text format) and
 * /admin/status. It runs on worker thread 0's loop beside the public
 * server, with its own listening socket and small connection limit.
 */
#ifndef HS_OPS_ADMIN_H
#define HS_OPS_ADMIN_H

#include "core/buf-t.h"
#include "core/loop-t.h"
#include "core/workers.h"
#include "http/msg-t.h"

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

/* One request an async hook answers later (hs_admin_done). */
typedef struct hs_admin_call hs_admin_call_t;

/* What an async hook sees of its request: msg (method, path, query,
 * headers) is valid only while the hook's fn runs; loop is the admin
 * loop, the one hs_admin_done must be called on. */
typedef struct hs_admin_req {
    const hs_http_msg_t *msg;
    hs_loop_t *loop;
    hs_admin_call_t *call;
} hs_admin_req_t;

/*
 * Serves `path` (any method) with fn(arg, req), which must end the call
 * with hs_admin_done(req->call, ...) exactly once, then or later. fn runs
 * on the admin thread. Returns like hs_admin_hook (both kinds share the 8
 * slots); hs_admin_unhook removes it (calls already started still end).
 */
int hs_admin_hook_async(const char *path, void (*fn)(void *arg, const hs_admin_req_t *req),
                        void *arg);

/*
 * Ends an async hook's call on the admin loop: answers status with the
 * JSON body[0..len) (a status >= 400 with len 0 gets a plain-text
 * default). If the client went away meanwhile the answer is dropped.
 * Frees call.
 */
void hs_admin_done(hs_admin_call_t *call, int status, const char *body, size_t len);

#endif
