/*
 * The admin endpoint: /healthz, /metrics (Prometheus text format) and
 * /admin/status. It runs on worker thread 0's loop beside the public
 * server, with its own listening socket and small connection limit.
 */
#ifndef HS_OPS_ADMIN_H
#define HS_OPS_ADMIN_H

#include "core/workers.h"

typedef struct hs_admin_opts {
    const char *listen;
    const char *role; /* what this process runs, for /admin/status */
} hs_admin_opts_t;

/* A role (see workers.h) that serves the admin endpoint on thread 0 only;
 * its arg is a hs_admin_opts_t. */
extern const hs_role_t hs_admin_role;

#endif
