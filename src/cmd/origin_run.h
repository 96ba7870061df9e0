/* The S3 origin as a worker, shared by `hyperscale origin` and `up`. */
#ifndef HS_CMD_ORIGIN_RUN_H
#define HS_CMD_ORIGIN_RUN_H

#include "core/config.h"

/* Opens the origin's stores under cfg->data, serves the S3 API on
 * cfg->listen (one server per worker thread) and the admin endpoint on
 * admin_addr (NULL: none) until told to stop. Prints the credentials the
 * first start made. Returns the worker's exit status. */
int hs_cmd_origin_worker(const hs_config_t *cfg, int ready_fd, const char *admin_addr,
                         const char *role);

#endif
