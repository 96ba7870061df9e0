/* `hyperscale edge`: an RFC 9111 caching reverse proxy in front of one or
 * more origins, balanced (src/balance) with failover to fallbacks. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "cmd/roles.h"
#include "cmd/serve.h"
#include "core/err.h"
#include "core/log.h"
#include "core/workers.h"
#include "edge/mem.h"
#include "edge/proxy.h"
#include "ops/admin.h"

static const char *admin_addr;

static hs_http_handler_t *make(void *ctx, int *err)
{
    return hs_edge_proxy_new(ctx, err);
}

static int pool_json(void *arg, hs_buf_t *out)
{
    return hs_balance_pool_json(arg, out);
}

static void purge_answer(void *arg, int status, const char *body, size_t len)
{
    hs_admin_done(arg, status, body, len);
}

static void purge_hook(void *arg, const hs_admin_req_t *req)
{
    const hs_edge_opts_t *eo = arg;
    hs_edge_purge_admin(eo->purge_token, req->msg, req->loop, purge_answer, req->call);
}

static hs_balance_pool_t *make_pool(const hs_config_t *cfg, const char *origins, int *err)
{
    hs_balance_opts_t bo = {
        .name = "edge",
        .algo = hs_balance_algo_by_name(cfg->balance_algorithm),
        .ewma_tau_ms = cfg->balance_ewma_tau,
        .ewma_penalty_ms = cfg->balance_ewma_penalty,
        .health_path = cfg->balance_health_path,
        .health_interval_ms = cfg->balance_health_interval,
        .health_timeout_ms = cfg->balance_health_timeout,
        .health_rise = (unsigned)cfg->balance_health_rise,
        .health_fall = (unsigned)cfg->balance_health_fall,
        .consecutive_5xx = (unsigned)cfg->balance_consecutive_5xx,
        .consecutive_gateway = (unsigned)cfg->balance_consecutive_gateway,
        .outlier_interval_ms = cfg->balance_outlier_interval,
        .success_rate_min_requests = (unsigned)cfg->balance_success_rate_min_requests,
        .success_rate_min_hosts = (unsigned)cfg->balance_success_rate_min_hosts,
        .success_rate_stdev_milli = (unsigned)cfg->balance_success_rate_stdev_factor,
        .max_ejection_percent = (unsigned)cfg->balance_max_ejection_percent,
        .ejection_time_ms = cfg->balance_ejection_time,
        .max_ejection_time_ms = cfg->balance_max_ejection_time,
        .slow_start_ms = cfg->balance_slow_start,
        .retries = (unsigned)cfg->balance_retries,
        .retry_budget_percent = (unsigned)cfg->balance_retry_budget_percent,
        .retry_budget_min_per_s = (unsigned)cfg->balance_retry_budget_min,
        .try_timeout_ms = cfg->balance_try_timeout,
    };
    return hs_balance_pool_new_list(&bo, origins, cfg->balance_fallback, err);
}

/* edge.body_dir refused (the directory, then the reason): said by the
 * startup check and by a worker applying a reloaded configuration. */
#define BODY_DIR_FAILED                                                                            \
    "edge.body_dir %s: cannot create unlinked files there (%s); give a directory on ext4, xfs "  \
    "or btrfs, or leave it empty for memfds"

int hs_cmd_edge_open(const hs_config_t *cfg, const char *origins, bool admin, hs_cmd_edge_t *e)
{
    /* Disk-tier reads allocate bodies on I/O-pool threads (their own malloc
     * arenas) and loop threads free them on eviction; at glibc's default
     * 128 KiB trim threshold each such free hands the pages back and the
     * next read faults them in again (~18 faults, a third of the CPU of a
     * 100 KiB disk hit in bench/edge-hit). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    *e = (hs_cmd_edge_t){0};
    if (cfg->edge_memfd_max < 0) {
        fprintf(stderr, "hyperscale edge: edge.memfd_max %lld: expected 0 (automatic) or more\n",
                (long long)cfg->edge_memfd_max);
        return HS_EINVAL;
    }
    /* Set before any worker thread inserts: the cap is read on every insert
     * and a later change would not move bodies already in memfds. */
    unsigned cap = hs_edge_memfd_configure((uint64_t)cfg->edge_memfd_max);
    if (cfg->edge_memfd_max > 0 && cap < (uint64_t)cfg->edge_memfd_max)
        hs_log_warn("edge_memfd_max", "requested=%lld cap=%u reason=\"half of RLIMIT_NOFILE\"",
                    (long long)cfg->edge_memfd_max, cap);
    int err = hs_edge_body_dir_set(cfg->edge_body_dir);
    if (err < 0) {
        fprintf(stderr, "hyperscale edge: " BODY_DIR_FAILED "\n", cfg->edge_body_dir,
                hs_strerror(err));
        return HS_EINVAL;
    }
    e->pool = make_pool(cfg, origins, &err);
    if (!e->pool || (err = hs_balance_pool_start(e->pool)) != 0) {
        fprintf(stderr, "hyperscale edge: origins: %s\n", hs_strerror(err));
        hs_balance_pool_release(e->pool);
        e->pool = NULL;
        return err ? err : HS_ENOMEM;
    }
    e->hooked = admin && hs_admin_hook("/admin/balance", pool_json, e->pool) == 0;
    if (e->hooked && hs_admin_hook_async("/admin/purge", purge_hook, &e->eo) != 0) {
        hs_admin_unhook("/admin/balance"); /* hooked covers both */
        e->hooked = false;
    }
    e->eo = (hs_edge_opts_t){
        .pool = e->pool,
        .solo = hs_workers_threads((unsigned)cfg->workers) <= 1,
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
    return 0;
}

hs_http_role_arg_t hs_cmd_edge_role(const hs_config_t *cfg, hs_cmd_edge_t *e, const char *listen)
{
    return (hs_http_role_arg_t){
        .what = "edge",
        .server = hs_serve_http_opts(cfg, listen),
        .make = make,
        .destroy = hs_edge_proxy_free,
        .ctx = &e->eo,
    };
}

void hs_cmd_edge_close(hs_cmd_edge_t *e)
{
    if (e->hooked) {
        hs_admin_unhook("/admin/balance");
        hs_admin_unhook("/admin/purge");
    }
    if (e->pool) {
        hs_balance_pool_stop(e->pool);
        hs_balance_pool_release(e->pool); /* handlers still alive keep their reference */
    }
    *e = (hs_cmd_edge_t){0};
}

static int worker(const hs_config_t *cfg, int ready_fd)
{
    hs_cmd_edge_t e;
    if (hs_cmd_edge_open(cfg, cfg->edge_origin, admin_addr != NULL, &e) != 0)
        return 1;
    hs_http_role_arg_t http = hs_cmd_edge_role(cfg, &e, cfg->listen);
    int rc = hs_serve_http_worker(cfg, ready_fd, &http, admin_addr, "edge");
    hs_cmd_edge_close(&e);
    return rc;
}

static unsigned listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, admin_addr, out, max);
}

/* `--origin A --origin B` is one list "A,B": the flag layer keeps one
 * entry per key, so repeated flags are joined here, once, and the joined
 * value replaces them (a reload re-reads it from the same place). */
static char *joined_values[2]; /* freed when run() returns */

static int join_flags(hs_cli_t *cli, const char *key, const char *flag, char **keep)
{
    size_t len = 0;
    int n = 0;
    for (int i = 0; i < cli->nsets; i++)
        if (strcmp(cli->sets[i][0], key) == 0 && strcmp(cli->sets[i][2], flag) == 0) {
            len += strlen(cli->sets[i][1]) + 1;
            n++;
        }
    if (n < 2)
        return 0;
    char *joined = malloc(len);
    if (!joined)
        return HS_ENOMEM;
    *keep = joined;
    joined[0] = '\0';
    int first = -1, k = 0;
    for (int i = 0; i < cli->nsets; i++) {
        if (strcmp(cli->sets[i][0], key) == 0 && strcmp(cli->sets[i][2], flag) == 0) {
            if (first < 0) {
                first = k;
            } else {
                strcat(joined, ",");
                strcat(joined, cli->sets[i][1]);
                continue; /* dropped: joined into the first */
            }
            strcat(joined, cli->sets[i][1]);
        }
        memmove(cli->sets[k], cli->sets[i], sizeof(cli->sets[k]));
        k++;
    }
    cli->nsets = k;
    cli->sets[first][1] = joined;
    char err[256];
    return hs_config_set(&cli->cfg, key, joined, flag, err, sizeof(err)) == 0 ? 0 : HS_EINVAL;
}

static int check_int(hs_cli_t *cli, const char *key, int64_t v, int64_t lo, int64_t hi)
{
    if (v >= lo && v <= hi)
        return 0;
    return hs_cli_fail(cli, "%s %lld: expected %lld..%lld", key, (long long)v, (long long)lo,
                       (long long)hi);
}

static int check_and_serve(hs_cli_t *cli);

static int run(hs_cli_t *cli)
{
    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s' (use --origin URL)", cli->argv[0]);
    int rc = check_and_serve(cli);
    free(joined_values[0]);
    free(joined_values[1]);
    return rc;
}

int hs_cmd_edge_check_body_dir(const hs_cli_t *cli)
{
    int err = hs_edge_body_dir_set(cli->cfg.edge_body_dir);
    if (err < 0)
        return hs_cli_fail(cli, BODY_DIR_FAILED, cli->cfg.edge_body_dir, hs_strerror(err));
    return 0;
}

static int check_and_serve(hs_cli_t *cli)
{
    if (join_flags(cli, "edge.origin", "flag --origin", &joined_values[0]) != 0 ||
        join_flags(cli, "balance.fallback", "flag --fallback", &joined_values[1]) != 0)
        return hs_cli_fail(cli, "out of memory");
    const hs_config_t *c = &cli->cfg;
    char bad[256];
    int n = hs_balance_check_list(c->edge_origin, bad, sizeof(bad));
    if (n == 0)
        return hs_cli_fail(cli, "no origin: give --origin http://HOST:PORT");
    if (n < 0)
        return hs_cli_fail(cli,
                           "--origin %s: expected http://HOST:PORT[;weight=N] with a numeric host "
                           "or localhost (no path, no https yet), comma-separated",
                           n == HS_EINVAL ? bad : "(too many origins)");
    int nf = hs_balance_check_list(c->balance_fallback, bad, sizeof(bad));
    if (nf < 0 || n + nf > HS_BALANCE_MAX_BACKENDS)
        return hs_cli_fail(cli, "--fallback %s: expected http://HOST:PORT[;weight=N], comma-separated",
                           nf == HS_EINVAL ? bad : "(too many origins)");
    int err = 0;
    hs_balance_pool_t *probe = hs_balance_pool_new_list(NULL, c->edge_origin, c->balance_fallback, &err);
    if (!probe)
        return hs_cli_fail(cli, "origins: %s (an origin listed twice?)", hs_strerror(err));
    hs_balance_pool_release(probe);
    if (!hs_balance_algo_by_name(c->balance_algorithm))
        return hs_cli_fail(cli, "balance.algorithm '%s': expected p2c, maglev, round_robin or "
                           "least_request", c->balance_algorithm);
    if (check_int(cli, "balance.health_rise", c->balance_health_rise, 1, 1000) ||
        check_int(cli, "balance.health_fall", c->balance_health_fall, 1, 1000) ||
        check_int(cli, "balance.consecutive_5xx", c->balance_consecutive_5xx, 0, 1000000) ||
        check_int(cli, "balance.consecutive_gateway", c->balance_consecutive_gateway, 0, 1000000) ||
        check_int(cli, "balance.success_rate_min_requests", c->balance_success_rate_min_requests, 1,
                  1000000000) ||
        check_int(cli, "balance.success_rate_min_hosts", c->balance_success_rate_min_hosts, 1,
                  HS_BALANCE_MAX_BACKENDS) ||
        check_int(cli, "balance.success_rate_stdev_factor", c->balance_success_rate_stdev_factor, 0,
                  100000) ||
        check_int(cli, "balance.max_ejection_percent", c->balance_max_ejection_percent, 1, 100) ||
        check_int(cli, "balance.retries", c->balance_retries, 0, HS_BALANCE_MAX_TRIES - 1) ||
        check_int(cli, "balance.retry_budget_percent", c->balance_retry_budget_percent, 0, 1000) ||
        check_int(cli, "balance.retry_budget_min", c->balance_retry_budget_min, 0, 1000000) ||
        check_int(cli, "edge.memfd_max", c->edge_memfd_max, 0, INT32_MAX))
        return 2;
    if (c->balance_health_path[0] && c->balance_health_path[0] != '/')
        return hs_cli_fail(cli, "balance.health_path '%s': expected a path starting with /",
                           c->balance_health_path);
    if (c->workers < 0 || c->workers > 1024)
        return hs_cli_fail(cli, "--workers %lld: expected 0..1024", (long long)c->workers);
    if (c->edge_memory_bytes < 4096)
        return hs_cli_fail(cli, "edge.memory_bytes %llu: expected at least 4k",
                           (unsigned long long)c->edge_memory_bytes);
    if ((err = hs_cmd_edge_check_body_dir(cli)) != 0)
        return err;
    admin_addr = hs_cli_opt(cli, "admin");
    return hs_serve(cli, worker, listens);
}

static const hs_cli_opt_t opts[] = {
    {"origin", "URL", "edge.origin",
     "origin to fetch from: http://HOST:PORT[;weight=N] (repeat or comma-separate for several)"},
    {"fallback", "URL", "balance.fallback",
     "origin used only while every --origin is down (repeatable)"},
    {"listen", "ADDR", "listen", "address to listen on (host:port)"},
    {"workers", "N", "workers", "event-loop threads (0 = one per core)"},
    {"admin", "ADDR", NULL,
     "also serve /metrics, /healthz, /admin/status, /admin/balance and /admin/purge on ADDR"},
    {"memory", "SIZE", "edge.memory_bytes", "memory tier size per worker thread"},
    {"disk", "DIR", "edge.disk_path", "keep a disk tier under DIR (kept across restarts)"},
    {0},
};

const hs_cmd_t hs_cmd_edge = {
    .name = "edge",
    .summary = "caching reverse proxy (RFC 9111) in front of HTTP origins",
    .usage = "--origin http://HOST:PORT [--origin ...] [--fallback URL] [--listen ADDR] "
             "[--workers N] [--admin ADDR]",
    .details = "Answers from a per-thread memory cache when the origin's Cache-Control\n"
               "(or CDN-Cache-Control) allows it, makes one origin request for concurrent\n"
               "misses of a URL, revalidates stale objects with conditional requests, and\n"
               "passes everything else through. Responses carry X-Cache (HIT, MISS, STALE,\n"
               "EXPIRED, PASS, REVALIDATED) and Age. Several origins are balanced (balance.*\n"
               "keys: P2C over peak-EWMA latency by default, or Maglev by cache key), with\n"
               "health checks, outlier ejection and retries of failed GET/HEAD fetches on\n"
               "another origin; fallbacks serve only while every origin is down.\n"
               "See docs/edge.md and docs/balance.md.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
