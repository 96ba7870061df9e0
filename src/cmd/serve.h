/*
 * What every long-running command shares: the supervisor around a worker
 * process, configuration reload on SIGHUP, and an "HTTP role" that runs one
 * HTTP server per worker thread with a handler made per thread.
 */
#ifndef HS_CMD_SERVE_H
#define HS_CMD_SERVE_H

#include "cmd/cli.h"
#include "core/listeners.h"
#include "core/workers.h"
#include "http/server.h"

/* Argument of hs_http_role: the server options and a per-thread handler
 * factory. */
typedef struct hs_http_role_arg {
    const char *what; /* name in logs ("static", "edge"...) */
    hs_http_server_opts_t server;
    hs_http_handler_t *(*make)(void *ctx, int *err);
    void (*destroy)(hs_http_handler_t *h);
    void *ctx;
} hs_http_role_arg_t;

extern const hs_role_t hs_http_role;

/* A worker that runs `http` on cfg->workers threads, plus the admin
 * endpoint on admin_addr when it is set; `role` names it in /admin/status.
 * Returns the worker's exit status. */
int hs_serve_http_worker(const hs_config_t *cfg, int ready_fd, hs_http_role_arg_t *http,
                         const char *admin_addr, const char *role);

/* Several HTTP roles in one worker (each on its own sockets, all on the
 * same threads): https[0] is the public one the shield guards. */
#define HS_SERVE_MAX_HTTP 4
int hs_serve_http_workers(const hs_config_t *cfg, int ready_fd, hs_http_role_arg_t *const *https,
                          unsigned n, const char *admin_addr, const char *role);

/* The listening sockets of hs_serve_http_worker: cfg->listen once per
 * thread, and admin_addr (if set) once. */
unsigned hs_serve_http_listens(const hs_config_t *cfg, const char *admin_addr,
                               hs_listen_spec_t *out, unsigned max);

/* HTTP server options from the http.* configuration keys. */
hs_http_server_opts_t hs_serve_http_opts(const hs_config_t *cfg, const char *listen);

/*
 * Runs `worker(cfg, ready_fd)` under the supervisor: restarted when it
 * dies, re-run with a freshly loaded configuration on SIGHUP. `listens`
 * names the listening sockets a configuration needs; the supervisor opens
 * them once and every worker generation inherits them (see listeners.h).
 * The worker builds its roles and calls hs_workers_run. Returns the exit
 * status (1 when a socket cannot be opened, with the reason on stderr).
 */
int hs_serve(hs_cli_t *cli, int (*worker)(const hs_config_t *cfg, int ready_fd),
             unsigned (*listens)(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max));

#endif
