/* `hyperscale origin`: the S3-compatible object service alone. */
#include <stdio.h>
#include <string.h>

#include "cmd/objopts.h"
#include "cmd/roles.h"
#include "cmd/serve.h"
#include "core/err.h"
#include "core/log.h"
#include "origin/origin.h"

static hs_http_handler_t *make(void *ctx, int *err)
{
    return hs_origin_handler_new(ctx, err);
}

int hs_cmd_origin_open(const hs_config_t *cfg, const char *role, const hs_cmd_origin_mode_t *mode,
                       hs_origin_t **out)
{
    static const hs_cmd_origin_mode_t alone = {.shared = false, .serving = true};
    if (!mode)
        mode = &alone;
    hs_cmd_objopts_t oo;
    hs_cmd_objopts(cfg, &oo);
    hs_origin_opts_t opts = {
        .data = cfg->data,
        .region = cfg->origin_region,
        .domain = cfg->origin_domain,
        .max_skew_s = (int64_t)(cfg->origin_max_skew / 1000),
        /* Each process would cache its own copy, and a PUT through one
         * origin cannot invalidate another's (docs/operations.md). */
        .cache_bytes = mode->shared ? 0 : cfg->origin_cache_bytes,
        .cache_object_max = cfg->origin_cache_object_max,
        .max_object = cfg->http_max_body_bytes,
        .objects = oo.o,
        .background = mode->serving,
        /* Shared: another origin may be between committing a PUT's bytes
         * and its metadata; the top process reconciled before any started. */
        .no_reconcile = mode->shared && mode->serving,
    };
    bool created = false;
    int rc = hs_origin_open(&opts, out, &created);
    hs_cmd_objopts_free(&oo);
    if (rc) {
        fprintf(stderr, "hyperscale %s: cannot open the data directory %s: %s\n", role, cfg->data,
                hs_strerror(rc));
        return rc;
    }
    if (created) {
        const char *ak, *sk;
        hs_origin_credentials(*out, &ak, &sk);
        printf("S3 credentials made for %s (kept in %s/credentials):\n"
               "  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n",
               cfg->data, cfg->data, ak, sk);
        fflush(stdout);
    }
    return 0;
}

hs_http_role_arg_t hs_cmd_origin_role(const hs_config_t *cfg, hs_origin_t *o, const char *listen)
{
    return (hs_http_role_arg_t){
        .what = "s3",
        .server = hs_serve_http_opts(cfg, listen),
        .make = make,
        .destroy = hs_origin_handler_free,
        .ctx = o,
    };
}

static const char *admin_addr;

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_origin_t *o;
    if (hs_cmd_origin_open(cfg, "origin", NULL, &o) != 0)
        return 1;
    hs_http_role_arg_t http = hs_cmd_origin_role(cfg, o, cfg->listen);
    int rc = hs_serve_http_worker(cfg, ready_fd, &http, admin_addr, "origin");
    hs_origin_close(o);
    return rc;
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, admin_addr, out, max);
}

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s'", cli->argv[0]);
    if (cli->cfg.workers < 0 || cli->cfg.workers > 1024)
        return hs_cli_fail(cli, "--workers %lld: expected 0..1024", (long long)cli->cfg.workers);
    admin_addr = hs_cli_opt(cli, "admin");
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"listen", "ADDR", "listen", "address of the S3 API (host:port)"},
    {"data", "DIR", "data", "data directory (metadata, object store drives, credentials)"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {"admin", "ADDR", NULL, "also serve /metrics, /healthz and /admin/status on ADDR"},
    {"region", "NAME", "origin.region", "region requests are signed for"},
    {0},
};

const hs_cmd_t hs_cmd_origin = {
    .name = "origin",
    .summary = "serve the S3-compatible API from the object store",
    .details = "Credentials: HYPERSCALE_ACCESS_KEY and HYPERSCALE_SECRET_KEY, else\n"
               "DATA/credentials (made and printed at first start). See docs/origin.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
