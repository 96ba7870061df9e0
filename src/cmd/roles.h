/*
 * The serving roles as building blocks, so `hyperscale edge`, `origin` and
 * `up` assemble the same pieces: open a role's process-wide state, then
 * hand hs_serve_http_workers one hs_http_role_arg_t per server.
 */
#ifndef HS_CMD_ROLES_H
#define HS_CMD_ROLES_H

#include <stdbool.h>

#include "balance/balance-t.h"
#include "cmd/serve.h"
#include "edge/proxy.h"
#include "origin/origin.h"

/* ---- edge (cmd_edge.c) ---- */
typedef struct hs_cmd_edge {
    hs_balance_pool_t *pool;
    hs_edge_opts_t eo;
    bool hooked; /* /admin/balance is ours */
} hs_cmd_edge_t;

/* Builds the origin pool from `origins` (and balance.fallback) with the
 * balance.* keys, starts its health checks, and the edge options from the
 * edge.* keys. admin: serve /admin/balance on the admin endpoint. Returns
 * 0 or an error (message on stderr). */
int hs_cmd_edge_open(const hs_config_t *cfg, const char *origins, bool admin, hs_cmd_edge_t *e);
/* Before workers start: applies edge.body_dir, or fails the command (exit
 * 2, the fix in the message) when no file can be made there. Returns 0 or
 * hs_cli_fail's status. */
int hs_cmd_edge_check_body_dir(const hs_cli_t *cli);
hs_http_role_arg_t hs_cmd_edge_role(const hs_config_t *cfg, hs_cmd_edge_t *e, const char *listen);
void hs_cmd_edge_close(hs_cmd_edge_t *e);

/* ---- origin (cmd_origin.c) ---- */
/* How a process that shares DATA with other origin processes opens it. */
typedef struct hs_cmd_origin_mode {
    bool shared;  /* other origins serve DATA too: no L2, no reconcile */
    bool serving; /* false: open only to run reconcile and make credentials */
} hs_cmd_origin_mode_t;

/* Opens the origin's stores under cfg->data and prints the credentials a
 * first start made. mode NULL: the only origin of DATA, serving. Returns
 * 0 or an error (message on stderr). */
int hs_cmd_origin_open(const hs_config_t *cfg, const char *role, const hs_cmd_origin_mode_t *mode,
                       hs_origin_t **out);
hs_http_role_arg_t hs_cmd_origin_role(const hs_config_t *cfg, hs_origin_t *o, const char *listen);

#endif
