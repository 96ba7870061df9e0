/* `hyperscale edge`: an RFC 9111 caching reverse proxy in front of one origin. */
#include <stdio.h>
#include <string.h>

#include "cmd/serve.h"
#include "core/err.h"
#include "edge/proxy.h"

static const char *admin_addr;

static hs_http_handler_t *make(void *ctx, int *err)
{
    return hs_edge_proxy_new(ctx, err);
}

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_edge_opts_t eo = {
        .origin = cfg->edge_origin,
        .origin_host = cfg->edge_origin_host,
        .memory_bytes = cfg->edge_memory_bytes,
        .object_max = cfg->edge_object_max,
        .heuristic_max_s = (int64_t)(cfg->edge_heuristic_max / 1000),
        .pass_ttl_ms = cfg->edge_pass_ttl,
        .targeted = cfg->edge_targeted_fields,
        .purge_token = cfg->edge_purge_token,
        .disk_path = cfg->edge_disk_path,
        .disk_bytes = cfg->edge_disk_bytes,
        .client =
            {
                .connect_timeout_ms = (uint32_t)cfg->upstream_connect_timeout,
                .read_timeout_ms = (uint32_t)cfg->upstream_read_timeout,
                .max_idle_per_upstream = (uint32_t)cfg->upstream_max_idle,
            },
    };
    hs_http_role_arg_t http = {
        .what = "edge",
        .server = hs_serve_http_opts(cfg, cfg->listen),
        .make = make,
        .destroy = hs_edge_proxy_free,
        .ctx = &eo,
    };
    return hs_serve_http_worker(cfg, ready_fd, &http, admin_addr, "edge");
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, admin_addr, out, max);
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s' (use --origin URL)", cli->argv[0]);
    char up[320];
    if (!cli->cfg.edge_origin[0])
        return hs_cli_fail(cli, "no origin: give --origin http://HOST:PORT");
    if (hs_edge_parse_origin(cli->cfg.edge_origin, up, sizeof(up)) != 0)
        return hs_cli_fail(cli,
                           "--origin %s: expected http://HOST:PORT with a numeric host or "
                           "localhost (no path, no https yet)",
                           cli->cfg.edge_origin);
    if (cli->cfg.workers < 0 || cli->cfg.workers > 1024)
        return hs_cli_fail(cli, "--workers %lld: expected 0..1024", (long long)cli->cfg.workers);
    if (cli->cfg.edge_memory_bytes < 4096)
        return hs_cli_fail(cli, "edge.memory_bytes %llu: expected at least 4k",
                           (unsigned long long)cli->cfg.edge_memory_bytes);
    admin_addr = hs_cli_opt(cli, "admin");
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"origin", "URL", "edge.origin", "origin to fetch from: http://HOST:PORT"},
    {"listen", "ADDR", "listen", "address to listen on (host:port)"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {"admin", "ADDR", NULL, "also serve /metrics, /healthz and /admin/status on ADDR"},
    {"memory", "SIZE", "edge.memory_bytes", "memory tier size per worker thread"},
    {"disk", "DIR", "edge.disk_path", "keep a disk tier under DIR (kept across restarts)"},
    {0},
};

const hs_cmd_t hs_cmd_edge = {
    .name = "edge",
    .summary = "caching reverse proxy (RFC 9111) in front of an HTTP origin",
    .usage = "--origin http://HOST:PORT [--listen ADDR] [--workers N] [--admin ADDR]",
    .details = "Answers from a per-thread memory cache when the origin's Cache-Control\n"
               "(or CDN-Cache-Control) allows it, makes one origin request for concurrent\n"
               "misses of a URL, revalidates stale objects with conditional requests, and\n"
               "passes everything else through. Responses carry X-Cache (HIT, MISS, STALE,\n"
               "EXPIRED, PASS, REVALIDATED) and Age. See docs/edge.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
