/* `hyperscale static`: serve a directory over HTTP/1.1. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/serve.h"
#include "core/err.h"
#include "http/static.h"

static const char *admin_addr;

static hs_http_handler_t *make(void *ctx, int *err)
{
    return hs_static_new(ctx, err);
}

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_static_opts_t so = {
        .root = cfg->static_root,
        .dir_index = cfg->static_dir_index,
        .cache_bytes = cfg->static_cache_bytes,
        .cache_file_max = cfg->static_cache_file_max,
        .revalidate_ms = cfg->static_revalidate,
    };
    hs_http_role_arg_t http = {
        .what = "static",
        .server = hs_serve_http_opts(cfg, cfg->listen),
        .make = make,
        .destroy = hs_static_free,
        .ctx = &so,
    };
    return hs_serve_http_worker(cfg, ready_fd, &http, admin_addr, "static");
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, admin_addr, out, max);
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s' (use --root DIR)", cli->argv[0]);
    struct stat st;
    if (!cli->cfg.static_root[0])
        return hs_cli_fail(cli, "no directory to serve: give --root DIR");
    if (stat(cli->cfg.static_root, &st) != 0 || !S_ISDIR(st.st_mode))
        return hs_cli_fail(cli, "--root %s: not a readable directory", cli->cfg.static_root);
    if (cli->cfg.workers < 0 || cli->cfg.workers > 1024)
        return hs_cli_fail(cli, "--workers %lld: expected 0..1024", (long long)cli->cfg.workers);
    admin_addr = hs_cli_opt(cli, "admin");
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"root", "DIR", "static.root", "directory to serve"},
    {"listen", "ADDR", "listen", "address to listen on (host:port)"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {"admin", "ADDR", NULL, "also serve /metrics, /healthz and /admin/status on ADDR"},
    {"directory-index", NULL, "static.directory_index", "list directories that have no index.html"},
    {0},
};

const hs_cmd_t hs_cmd_static = {
    .name = "static",
    .summary = "serve files from a directory (GET/HEAD, ranges, conditional requests)",
    .usage = "--root DIR [--listen ADDR] [--workers N]",
    .details = "Files up to static.cache_file_max are kept in memory per thread and\n"
               "re-checked with stat every static.revalidate; larger files go out with sendfile.\n"
               "Paths cannot leave DIR, not even through symlinks.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
