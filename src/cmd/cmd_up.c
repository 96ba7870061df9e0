/* `hyperscale up`: every role on this machine with embedded defaults.
 * Today: the S3 origin on the public port and the admin endpoint; the
 * edge and balancer join it in front of the origin as they land. */
#include <stdio.h>

#include "cmd/origin_run.h"
#include "cmd/serve.h"
#include "core/log.h"

static int worker(const hs_config_t *cfg, int ready_fd)
{
    return hs_cmd_origin_worker(cfg, ready_fd, cfg->admin_listen, "up");
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, cfg->admin_listen, out, max);
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s'", cli->argv[0]);
    hs_log_info("up", "s3=%s admin=%s data=%s", cli->cfg.listen, cli->cfg.admin_listen,
                cli->cfg.data);
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"listen", "ADDR", "listen", "public address: the S3 API"},
    {"admin", "ADDR", "admin.listen", "admin endpoint: /metrics, /healthz, /admin/status"},
    {"data", "DIR", "data", "data directory"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {0},
};

const hs_cmd_t hs_cmd_up = {
    .name = "up",
    .summary = "run every role on this machine with embedded defaults",
    .details = "Serves the S3 API on --listen (default 0.0.0.0:8080) with data under --data\n"
               "and the admin endpoint on --admin. Credentials: HYPERSCALE_ACCESS_KEY and\n"
               "HYPERSCALE_SECRET_KEY, else made at first start and printed. See\n"
               "docs/operations.md and docs/origin.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
