/*
 * `hyperscale up --origins N` (N > 1): the caching edge in front of N S3
 * origin processes sharing one data directory, each supervised on its own
 * loopback port, all in one balancer pool. Design: docs/operations.md.
 */
#ifndef HS_CMD_UP_ORIGINS_H
#define HS_CMD_UP_ORIGINS_H

#include "cmd/cli.h"

/* Largest up.origins. */
#define HS_UP_MAX_ORIGINS 64

/*
 * Runs until SIGTERM/SIGINT as a supervisor of supervisors: one child runs
 * the edge and admin endpoint (the `up` worker minus its origin), N children
 * each run one origin (HS_ORIGIN_HEALTH_PATH answers the edge's health
 * checks) on up.origin_listen's port + i, each child being an ordinary
 * hs_serve supervisor around its worker. A child that dies is started
 * again (crash loops back off); SIGHUP is passed on to every child;
 * SIGTERM drains every child and returns once all have exited. Returns the
 * exit status: 0 after SIGTERM, 2 on a bad option (message on stderr), or
 * the status of a child that failed its first start (a port in use).
 */
int hs_up_origins_run(hs_cli_t *cli);

#endif
