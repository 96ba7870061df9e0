/* `hyperscale up`: every role on this machine with embedded defaults. The
 * edge answers on the public port (cache, shield) in front of the S3
 * origin, which listens on loopback (up.origin_listen); the admin endpoint
 * serves both. */
#include <stdio.h>

#include "cmd/roles.h"
#include "cmd/serve.h"
#include "cmd/up_origins.h"
#include "core/log.h"
#include "origin/origin.h"

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_origin_t *o;
    if (hs_cmd_origin_open(cfg, "up", NULL, &o) != 0)
        return 1;
    char origin_url[300];
    snprintf(origin_url, sizeof(origin_url), "http://%s", cfg->up_origin_listen);
    hs_cmd_edge_t e;
    if (hs_cmd_edge_open(cfg, origin_url, true, &e) != 0) {
        hs_origin_close(o);
        return 1;
    }
    hs_http_role_arg_t edge = hs_cmd_edge_role(cfg, &e, cfg->listen);
    hs_http_role_arg_t s3 = hs_cmd_origin_role(cfg, o, cfg->up_origin_listen);
    hs_http_role_arg_t *https[] = {&edge, &s3};
    int rc = hs_serve_http_workers(cfg, ready_fd, https, 2, cfg->admin_listen, "up");
    hs_cmd_edge_close(&e);
    hs_origin_close(o);
    return rc;
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    unsigned n = hs_serve_http_listens(cfg, cfg->admin_listen, out, max);
    if (n < max)
        out[n++] = (hs_listen_spec_t){cfg->up_origin_listen,
                                      hs_workers_threads((unsigned)cfg->workers)};
    return n;
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s'", cli->argv[0]);
    if (cli->cfg.workers < 0 || cli->cfg.workers > 1024)
        return hs_cli_fail(cli, "--workers %lld: expected 0..1024", (long long)cli->cfg.workers);
    if (cli->cfg.up_origins < 1 || cli->cfg.up_origins > HS_UP_MAX_ORIGINS)
        return hs_cli_fail(cli, "--origins %lld: expected 1..%d", (long long)cli->cfg.up_origins,
                           HS_UP_MAX_ORIGINS);
    int err = hs_cmd_edge_check_body_dir(cli);
    if (err != 0)
        return err;
    if (cli->cfg.up_origins > 1)
        return hs_up_origins_run(cli);
    hs_log_info("up", "edge=%s origin=%s admin=%s data=%s", cli->cfg.listen,
                cli->cfg.up_origin_listen, cli->cfg.admin_listen, cli->cfg.data);
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"listen", "ADDR", "listen", "public address: the S3 API through the edge"},
    {"origin-listen", "ADDR", "up.origin_listen", "the S3 origin behind the edge (loopback)"},
    {"origins", "N", "up.origins", "origin processes behind the edge, on ports from --origin-listen's"},
    {"admin", "ADDR", "admin.listen", "admin endpoint: /metrics, /healthz, /admin/status"},
    {"data", "DIR", "data", "data directory"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {0},
};

const hs_cmd_t hs_cmd_up = {
    .name = "up",
    .summary = "run every role on this machine with embedded defaults",
    .details = "Serves the S3 API on --listen (default 0.0.0.0:8080) through the caching edge;\n"
               "the origin itself listens on --origin-listen (127.0.0.1:8081). Data under\n"
               "--data. Credentials: HYPERSCALE_ACCESS_KEY and HYPERSCALE_SECRET_KEY, else\n"
               "made at first start and printed. --origins N runs N supervised origin processes\n"
               "(ports --origin-listen's + 0..N-1) behind the edge's balancer. See\n"
               "docs/operations.md and docs/origin.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
