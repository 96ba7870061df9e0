/*
 * `hyperscale up --origins N`: a supervisor of supervisors. The top process
 * forks one child per "tree" (the edge, then each origin); every child runs
 * hs_serve, so each tree keeps the ordinary supervisor semantics of its
 * worker (restart on death with the listening sockets held, reload on
 * SIGHUP, drain on SIGTERM) and hs_supervise needs no change for several
 * workers. The top process only restarts a tree whose supervisor itself
 * died and relays signals.
 *
 * Why separate processes rather than threads of one worker: an origin crash
 * (kill -9) must take down one origin, not the edge or its siblings.
 */
#include "cmd/up_origins.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/objopts.h"
#include "cmd/roles.h"
#include "cmd/serve.h"
#include "core/err.h"
#include "core/log.h"
#include "origin/origin.h"

typedef struct tree {
    pid_t pid;          /* 0 while waiting to be started again */
    bool restarted;     /* a failure is no longer a startup failure */
    uint64_t started_ms;
    uint64_t backoff_ms;
    uint64_t due_ms;    /* when to start it again */
} tree_t;

/* Set in each child before hs_serve, read by its worker and listens. */
static char my_addr[300];         /* an origin tree's address */
static char *origin_list;         /* the edge's pool: "http://A,http://B,..." */

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Splits "HOST:PORT" / "[V6]:PORT" at its last ':'. */
static int split_addr(const char *addr, char *host, size_t hostlen, unsigned *port)
{
    const char *c = strrchr(addr, ':');
    if (!c || c == addr || (size_t)(c - addr) >= hostlen)
        return HS_EINVAL;
    char *end;
    unsigned long p = strtoul(c + 1, &end, 10);
    if (*end || c[1] == '\0' || p == 0 || p > 65535)
        return HS_EINVAL;
    memcpy(host, addr, (size_t)(c - addr));
    host[c - addr] = '\0';
    *port = (unsigned)p;
    return 0;
}

/* One origin process's threads: `workers` when set, else the cores shared
 * among the origins (the edge runs on all of them too). */
static int64_t origin_threads(const hs_config_t *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    unsigned n = hs_workers_threads(0) / (unsigned)cfg->up_origins;
    return n ? n : 1;
}

static int open_origin(const hs_config_t *cfg, bool serving, hs_origin_t **out)
{
    hs_cmd_origin_mode_t mode = {.shared = true, .serving = serving};
    return hs_cmd_origin_open(cfg, "up", &mode, out);
}

static int origin_worker(const hs_config_t *cfg, int ready_fd)
{
    hs_config_t c = *cfg; /* shallow: only the thread count differs */
    c.workers = origin_threads(cfg);
    hs_origin_t *o;
    if (open_origin(&c, true, &o) != 0)
        return 1;
    hs_http_role_arg_t http = hs_cmd_origin_role(&c, o, my_addr);
    int rc = hs_serve_http_worker(&c, ready_fd, &http, NULL, "up-origin");
    hs_origin_close(o);
    return rc;
}

static unsigned origin_listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    if (max == 0)
        return 0;
    out[0] = (hs_listen_spec_t){my_addr, hs_workers_threads((unsigned)origin_threads(cfg))};
    return 1;
}

static int edge_worker(const hs_config_t *cfg, int ready_fd)
{
    /* The pool checks our own origins on their health route, often enough
     * that a restarted origin is back within a second. */
    hs_config_t c;
    if (hs_config_copy(&c, cfg) != 0)
        return 1;
    char iv[32], err[256];
    snprintf(iv, sizeof(iv), "%llums", (unsigned long long)cfg->up_origin_check_interval);
    if (hs_config_set(&c, "balance.health_path", HS_ORIGIN_HEALTH_PATH, "up", err, sizeof(err)) ||
        hs_config_set(&c, "balance.health_interval", iv, "up", err, sizeof(err))) {
        hs_log_error("start_failed", "what=edge err=\"%s\"", err);
        hs_config_free(&c);
        return 1;
    }
    hs_cmd_edge_t e;
    int rc = 1;
    if (hs_cmd_edge_open(&c, origin_list, true, &e) == 0) {
        hs_http_role_arg_t edge = hs_cmd_edge_role(&c, &e, c.listen);
        rc = hs_serve_http_worker(&c, ready_fd, &edge, c.admin_listen, "up");
        hs_cmd_edge_close(&e);
    }
    hs_config_free(&c);
    return rc;
}

static unsigned edge_listens(const hs_config_t *cfg, hs_listen_spec_t *out, unsigned max)
{
    return hs_serve_http_listens(cfg, cfg->admin_listen, out, max);
}

/* Tree 0 is the edge, tree i > 0 origin i - 1 on base_port + i - 1. */
static int start_tree(hs_cli_t *cli, tree_t *t, unsigned i, const char *host, unsigned base)
{
    pid_t top = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return HS_ERR(errno);
    if (pid == 0) {
        /* A tree dies with `up` rather than outliving it unsupervised. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != top)
            _exit(0);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int rc;
        if (i == 0) {
            rc = hs_serve(cli, edge_worker, edge_listens);
        } else {
            snprintf(my_addr, sizeof(my_addr), "%s:%u", host, base + i - 1);
            rc = hs_serve(cli, origin_worker, origin_listens);
        }
        fflush(NULL);
        _exit(rc);
    }
    t->pid = pid;
    t->started_ms = mono_ms();
    if (i == 0)
        hs_log_info("up_tree_start", "what=edge pid=%d", (int)pid);
    else
        hs_log_info("up_tree_start", "what=origin index=%u pid=%d listen=%s:%u", i - 1, (int)pid,
                    host, base + i - 1);
    return 0;
}

static void signal_all(tree_t *t, unsigned n, int sig)
{
    for (unsigned i = 0; i < n; i++)
        if (t[i].pid > 0)
            kill(t[i].pid, sig);
}

static void wait_all(tree_t *t, unsigned n)
{
    int st;
    pid_t pid;
    while ((pid = wait(&st)) > 0 || (pid < 0 && errno == EINTR))
        for (unsigned i = 0; i < n; i++)
            if (pid > 0 && t[i].pid == pid)
                t[i].pid = 0;
}

/* Builds the pool list; the origins' ports must all exist. */
static int make_list(hs_cli_t *cli, unsigned n, char *host, size_t hostlen, unsigned *base)
{
    const hs_config_t *cfg = &cli->cfg;
    if (split_addr(cfg->up_origin_listen, host, hostlen, base) != 0)
        return hs_cli_fail(cli, "up.origin_listen '%s': expected HOST:PORT", cfg->up_origin_listen);
    if (*base + n - 1 > 65535)
        return hs_cli_fail(cli, "up.origins %u: ports %u..%u do not exist", n, *base, *base + n - 1);
    size_t cap = (size_t)n * (hostlen + 16);
    origin_list = malloc(cap);
    if (!origin_list)
        return hs_cli_fail(cli, "out of memory");
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(origin_list + len, cap - len, "%shttp://%s:%u", i ? "," : "", host,
                                *base + i);
    return 0;
}

static int supervise(hs_cli_t *cli, tree_t *t, unsigned n, const char *host, unsigned base)
{
    for (unsigned i = 0; i < n; i++)
        if (start_tree(cli, &t[i], i, host, base) != 0) {
            hs_log_error("fork_failed", "err=\"%s\"", strerror(errno));
            signal_all(t, n, SIGTERM);
            wait_all(t, n);
            return 1;
        }
    for (;;) {
        if (got_term) {
            hs_log_info("shutdown", "trees=%u", n);
            signal_all(t, n, SIGTERM);
            wait_all(t, n);
            hs_log_info("stopped", "");
            return 0;
        }
        if (got_hup) {
            got_hup = 0;
            signal_all(t, n, SIGHUP);
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            unsigned i = 0;
            while (i < n && t[i].pid != pid)
                i++;
            if (i == n)
                continue;
            t[i].pid = 0;
            bool failed = WIFEXITED(st) && WEXITSTATUS(st) != 0;
            if (failed && !t[i].restarted) {
                /* The tree's own supervisor already told why (a port in
                 * use, a bad data directory): stop everything. */
                hs_log_error("up_failed_start", "tree=%u exit=%d", i, WEXITSTATUS(st));
                signal_all(t, n, SIGTERM);
                wait_all(t, n);
                return WEXITSTATUS(st);
            }
            uint64_t now = mono_ms();
            if (now - t[i].started_ms < 1000)
                t[i].backoff_ms = t[i].backoff_ms ? (t[i].backoff_ms * 2 > 5000 ? 5000
                                                                                 : t[i].backoff_ms * 2)
                                                  : 100;
            else
                t[i].backoff_ms = 0;
            t[i].due_ms = now + t[i].backoff_ms;
            t[i].restarted = true;
            hs_log_error("up_tree_exit", "tree=%u pid=%d status=%d action=restart delay_ms=%llu",
                         i, (int)pid, st, (unsigned long long)t[i].backoff_ms);
        }
        uint64_t now = mono_ms();
        for (unsigned i = 0; i < n; i++)
            if (t[i].pid == 0 && now >= t[i].due_ms && start_tree(cli, &t[i], i, host, base) != 0)
                t[i].due_ms = now + 1000; /* fork failed: try again later */
        if (!got_term && !got_hup)
            usleep(50 * 1000); /* signals cut it short */
    }
}

int hs_up_origins_run(hs_cli_t *cli)
{
    const hs_config_t *cfg = &cli->cfg;
    unsigned n = (unsigned)cfg->up_origins;
    char host[256];
    unsigned base = 0;
    int rc = make_list(cli, n, host, sizeof(host), &base);
    if (rc)
        return rc;
    hs_log_info("up", "edge=%s origins=%u origin_listen=%s..%u admin=%s data=%s", cfg->listen, n,
                cfg->up_origin_listen, base + n - 1, cfg->admin_listen, cfg->data);
    /* Once, before any origin serves: the stores are created, the
     * credentials made and printed, and the reconcile pass runs with no
     * writer about. No thread survives the close, so forking is safe. */
    hs_origin_t *o;
    if (open_origin(cfg, false, &o) != 0) {
        free(origin_list);
        return 1;
    }
    hs_origin_close(o);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    hs_log_set_role("up");
    tree_t t[HS_UP_MAX_ORIGINS + 1];
    memset(t, 0, sizeof(t));
    rc = supervise(cli, t, n + 1, host, base);
    free(origin_list);
    return rc;
}
