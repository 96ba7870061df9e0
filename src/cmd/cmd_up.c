/* `hyperscale up`: every role on this machine. Today that is the admin
 * endpoint; the edge, balancer and origin join it as they land. */
#include <stdio.h>

#include "cmd/serve.h"
#include "core/log.h"
#include "ops/admin.h"

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_admin_opts_t admin = {.listen = cfg->admin_listen, .role = "up"};
    const hs_role_t *roles[] = {&hs_admin_role, NULL};
    void *args[] = {&admin, NULL};
    hs_workers_opts_t wo = {
        .threads = 1,
        .drain_timeout_ms = cfg->drain_timeout,
        .ready_fd = ready_fd,
    };
    return hs_workers_run(roles, args, &wo) == 0 ? 0 : 1;
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    (void)max;
    out[0] = (hs_listen_spec_t){cfg->admin_listen, 1};
    return 1;
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s'", cli->argv[0]);
    hs_log_info("up", "admin=%s data=%s", cli->cfg.admin_listen, cli->cfg.data);
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"listen", "ADDR", "listen", "public address (S3 API through the edge, when it lands)"},
    {"admin", "ADDR", "admin.listen", "admin endpoint: /metrics, /healthz, /admin/status"},
    {"data", "DIR", "data", "data directory"},
    {0},
};

const hs_cmd_t hs_cmd_up = {
    .name = "up",
    .summary = "run every role on this machine with embedded defaults",
    .details = "Roles available now: admin endpoint. The edge, balancer and S3 origin join\n"
               "`up` as they land; see docs/operations.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
