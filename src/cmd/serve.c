/* Supervisor wiring and the per-thread HTTP role (see serve.h). */
#include "cmd/serve.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/supervisor.h"
#include "ops/admin.h"
#include "shield/shield.h"

typedef struct http_state {
    hs_http_server_t *srv;
    hs_http_handler_t *h;
    const hs_http_role_arg_t *arg;
    hs_loop_t *loop;
    hs_timer_t shield_tick; /* thread 0 only: shield metrics stay current */
} http_state_t;

static void shield_tick(hs_loop_t *loop, hs_timer_t *t)
{
    http_state_t *st = hs_container_of(t, http_state_t, shield_tick);
    hs_shield_housekeep(hs_shield_from_gate(st->arg->server.gate));
    hs_timer_start(loop, t, 1000, shield_tick);
}

static int http_start(void *arg, hs_loop_t *loop, unsigned index, void **state)
{
    const hs_http_role_arg_t *a = arg;
    http_state_t *st = calloc(1, sizeof(*st));
    if (!st)
        return HS_ENOMEM;
    st->arg = a;
    int err = 0;
    st->h = a->make(a->ctx, &err);
    if (!st->h) {
        hs_log_error("start_failed", "what=%s err=\"%s\"", a->what, hs_strerror(err));
        free(st);
        return err ? err : HS_ENOMEM;
    }
    hs_http_server_opts_t so = a->server;
    so.handler = st->h;
    so.listen_fd = hs_listeners_fd(so.listen, index);
    int rc = hs_http_server_start(loop, &so, &st->srv);
    if (rc != 0) {
        hs_log_error("listen_failed", "what=%s addr=%s err=\"%s\"", a->what, so.listen,
                     hs_strerror(rc));
        a->destroy(st->h);
        free(st);
        return rc;
    }
    if (index == 0)
        hs_log_info("listen", "what=%s addr=%s", a->what, so.listen);
    st->loop = loop;
    if (index == 0 && so.gate)
        hs_timer_start(loop, &st->shield_tick, 1000, shield_tick);
    *state = st;
    return 0;
}

static void http_drain(void *state, void (*done)(void *), void *arg)
{
    http_state_t *st = state;
    hs_timer_stop(st->loop, &st->shield_tick);
    hs_http_server_drain(st->srv, done, arg);
}

static void http_close_all(void *state)
{
    http_state_t *st = state;
    hs_http_server_close_all(st->srv);
}

static void http_free(void *state)
{
    http_state_t *st = state;
    hs_timer_stop(st->loop, &st->shield_tick);
    hs_http_server_free(st->srv);
    st->arg->destroy(st->h);
    free(st);
}

const hs_role_t hs_http_role = {
    .name = "http",
    .start = http_start,
    .drain = http_drain,
    .close_all = http_close_all,
    .free = http_free,
};

int hs_serve_http_workers(const hs_config_t *cfg, int ready_fd, hs_http_role_arg_t *const *https,
                          unsigned n, const char *admin_addr, const char *role)
{
    hs_admin_opts_t admin = {.listen = admin_addr, .role = role};
    const hs_role_t *roles[HS_SERVE_MAX_HTTP + 2];
    void *args[HS_SERVE_MAX_HTTP + 2];
    if (n == 0 || n > HS_SERVE_MAX_HTTP)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        roles[i] = &hs_http_role;
        args[i] = https[i];
    }
    roles[n] = &hs_admin_role;
    args[n] = &admin;
    roles[n + 1] = NULL;
    args[n + 1] = NULL;
    hs_workers_opts_t wo = {
        .threads = (unsigned)cfg->workers,
        .drain_timeout_ms = cfg->drain_timeout,
        .ready_fd = ready_fd,
    };
    /* One shield for the whole process: its limits hold across threads.
     * It guards the first (public) server only: the others are internal. */
    hs_shield_opts_t so;
    hs_shield_t *shield = NULL;
    char err[256];
    if (hs_shield_opts_from_config(cfg, &so, err, sizeof(err)) != 0) {
        hs_log_error("start_failed", "what=shield err=\"%s\"", err);
        return 1;
    }
    if (hs_shield_opts_active(&so)) {
        int rc = hs_shield_new(&so, &shield);
        if (rc != 0) {
            hs_log_error("start_failed", "what=shield err=\"%s\"", hs_strerror(rc));
            hs_shield_opts_free(&so);
            return 1;
        }
        https[0]->server.gate = hs_shield_gate(shield);
    }
    hs_shield_opts_free(&so);
    int rc = hs_workers_run(roles, args, &wo) == 0 ? 0 : 1;
    https[0]->server.gate = NULL;
    hs_shield_free(shield);
    return rc;
}

int hs_serve_http_worker(const hs_config_t *cfg, int ready_fd, hs_http_role_arg_t *http,
                         const char *admin_addr, const char *role)
{
    return hs_serve_http_workers(cfg, ready_fd, &http, 1, admin_addr, role);
}

unsigned hs_serve_http_listens(const hs_config_t *cfg, const char *admin_addr,
                               hs_listen_spec_t *out, unsigned max)
{
    unsigned n = 0;
    if (max > n)
        out[n++] = (hs_listen_spec_t){cfg->listen, hs_workers_threads((unsigned)cfg->workers)};
    if (admin_addr && max > n)
        out[n++] = (hs_listen_spec_t){admin_addr, 1};
    return n;
}

hs_http_server_opts_t hs_serve_http_opts(const hs_config_t *cfg, const char *listen)
{
    return (hs_http_server_opts_t){
        .listen = listen,
        .max_head_bytes = (uint32_t)cfg->http_max_header_bytes,
        .max_headers = (uint32_t)cfg->http_max_headers,
        .max_body_bytes = cfg->http_max_body_bytes,
        .header_timeout_ms = cfg->http_header_timeout,
        .body_timeout_ms = cfg->http_body_timeout,
        .idle_timeout_ms = cfg->http_idle_timeout,
        .send_timeout_ms = cfg->http_send_timeout,
        .max_connections = (uint32_t)cfg->http_max_connections,
        .max_requests_per_conn = (uint32_t)cfg->http_max_requests_per_conn,
        .listen_fd = -1,
    };
}

typedef struct serve_ctx {
    hs_cli_t *cli;
    int (*worker)(const hs_config_t *cfg, int ready_fd);
    unsigned (*listens)(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max);
} serve_ctx_t;

/* Checked before any worker starts so a bad shield.* value fails the
 * command (or the reload) with the key named. */
static int check_shield(const hs_config_t *cfg, char *err, size_t errlen)
{
    hs_shield_opts_t so;
    if (hs_shield_opts_from_config(cfg, &so, err, errlen) != 0)
        return HS_ECONFIG;
    hs_shield_opts_free(&so);
    return 0;
}

static int prepare_listeners(serve_ctx_t *c, const hs_config_t *cfg, char *err, size_t errlen)
{
    hs_listen_spec_t specs[8];
    unsigned n = c->listens ? c->listens(cfg, specs, 8) : 0;
    return hs_listeners_prepare(specs, n, err, errlen);
}

static void apply_log_level(const hs_config_t *cfg)
{
    hs_log_level_t lvl;
    if (hs_log_level_parse(cfg->log_level, &lvl) == 0)
        hs_log_set_level(lvl);
}

static int worker_main(void *arg, unsigned generation, int ready_fd)
{
    serve_ctx_t *c = arg;
    (void)generation;
    apply_log_level(&c->cli->cfg);
    return c->worker(&c->cli->cfg, ready_fd);
}

static int reload(void *arg, char *err, size_t errlen)
{
    serve_ctx_t *c = arg;
    hs_config_t fresh;
    if (hs_cli_load_config(c->cli, &fresh, err, errlen) != 0)
        return HS_ECONFIG;
    int rc = check_shield(&fresh, err, errlen);
    if (rc == 0)
        rc = prepare_listeners(c, &fresh, err, errlen);
    if (rc != 0) {
        hs_config_free(&fresh);
        return rc;
    }
    hs_config_free(&c->cli->cfg);
    c->cli->cfg = fresh;
    apply_log_level(&c->cli->cfg);
    return 0;
}

int hs_serve(hs_cli_t *cli, int (*worker)(const hs_config_t *cfg, int ready_fd),
             unsigned (*listens)(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max))
{
    apply_log_level(&cli->cfg);
    serve_ctx_t c = {cli, worker, listens};
    char err[512];
    if (check_shield(&cli->cfg, err, sizeof(err)) != 0)
        return hs_cli_fail(cli, "%s", err);
    if (prepare_listeners(&c, &cli->cfg, err, sizeof(err)) != 0) {
        hs_log_error("listen_failed", "error=\"%s\"", err);
        fprintf(stderr, "hyperscale %s: %s\n", cli->cmd->name, err);
        return 1;
    }
    hs_supervisor_ops_t ops = {worker_main, reload};
    return hs_supervise(&ops, &c);
}
