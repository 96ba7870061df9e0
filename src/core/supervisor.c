/*
 * Master process. It holds no sockets and runs no requests, so it has
 * nothing to crash on: all it does is fork, wait, and forward signals.
 * Readiness comes back over a pipe, which is what lets it tell a startup
 * failure (exit, do not retry) from a crash of a serving worker (restart).
 */
#include "core/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/listeners.h"
#include "core/log.h"

pid_t hs_supervisor_pid;
unsigned hs_worker_generation;

#define MAX_OLD 16

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT)
        got_term = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct child {
    pid_t pid;
    int ready_rd; /* -1 once ready */
    unsigned gen;
    uint64_t started_ms;
} child_t;

static const hs_supervisor_ops_t *g_ops;
static void *g_arg;

static int spawn(child_t *c, unsigned gen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        /* Die with the supervisor rather than outlive it unsupervised. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigset_t none;
        sigemptyset(&none);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        hs_worker_generation = gen;
        hs_log_set_role("worker");
        _exit(g_ops->worker_main(g_arg, gen, p[1]));
    }
    close(p[1]);
    c->pid = pid;
    c->ready_rd = p[0];
    c->gen = gen;
    c->started_ms = mono_ms();
    hs_log_info("worker_start", "worker_pid=%d generation=%u", (int)pid, gen);
    return 0;
}

static void describe(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "signal=%d reason=\"killed by %s%s\"", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(buf, len, "exit=%d", WEXITSTATUS(status));
}

int hs_supervise(const hs_supervisor_ops_t *ops, void *arg)
{
    g_ops = ops;
    g_arg = arg;
    hs_supervisor_pid = getpid();
    hs_log_set_role("supervisor");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned gen = 1;
    child_t cur = {0};
    child_t old[MAX_OLD];
    unsigned nold = 0;
    uint64_t backoff = 0;
    if (spawn(&cur, gen) != 0) {
        hs_log_error("fork_failed", "err=\"%s\"", strerror(errno));
        return 1;
    }
    for (;;) {
        if (got_term) {
            got_term = 0;
            hs_log_info("shutdown", "worker_pid=%d", (int)cur.pid);
            /* New connections are refused from now on: the draining worker
             * holds the only other copies and closes them itself. */
            char e[64];
            hs_listeners_prepare(NULL, 0, e, sizeof(e));
            if (cur.pid > 0)
                kill(cur.pid, SIGTERM);
            for (unsigned i = 0; i < nold; i++)
                kill(old[i].pid, SIGTERM);
            int st;
            while (wait(&st) > 0 || errno == EINTR)
                ;
            hs_log_info("stopped", "");
            return 0;
        }
        if (got_hup) {
            got_hup = 0;
            char err[512] = "";
            if (ops->reload(arg, err, sizeof(err)) != 0) {
                hs_log_error("reload_failed", "error=\"%s\" action=\"keeping the running configuration\"", err);
            } else if (nold == MAX_OLD) {
                hs_log_error("reload_failed", "error=\"too many draining generations\"");
            } else {
                child_t next = {0};
                if (spawn(&next, ++gen) == 0) {
                    /* The old generation drains once the new one is ready. */
                    old[nold++] = cur;
                    cur = next;
                    hs_log_info("reload", "generation=%u", gen);
                }
            }
        }
        if (cur.ready_rd >= 0) {
            char b;
            struct pollfd pfd = {cur.ready_rd, POLLIN, 0};
            if (poll(&pfd, 1, 0) == 1 && read(cur.ready_rd, &b, 1) == 1) {
                close(cur.ready_rd);
                cur.ready_rd = -1;
                backoff = 0;
                hs_log_info("worker_ready", "worker_pid=%d generation=%u", (int)cur.pid, cur.gen);
                for (unsigned i = 0; i < nold; i++)
                    kill(old[i].pid, SIGTERM);
            }
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            char why[160];
            describe(st, why, sizeof(why));
            bool was_old = false;
            for (unsigned i = 0; i < nold; i++)
                if (old[i].pid == pid) {
                    if (old[i].ready_rd >= 0)
                        close(old[i].ready_rd);
                    old[i] = old[--nold];
                    was_old = true;
                    hs_log_info("worker_retired", "worker_pid=%d %s", (int)pid, why);
                    break;
                }
            if (was_old || pid != cur.pid)
                continue;
            bool never_ready = cur.ready_rd >= 0;
            if (never_ready) {
                close(cur.ready_rd);
                cur.ready_rd = -1;
            }
            /* Only a worker that exits with an error before it ever served is a
             * startup failure (bad root, bad config); a signal is a crash to
             * recover from, even this early. */
            if (never_ready && gen == 1 && WIFEXITED(st) && WEXITSTATUS(st) != 0) {
                hs_log_error("worker_failed_start", "worker_pid=%d %s", (int)pid, why);
                return WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
            }
            hs_log_error("worker_exit", "worker_pid=%d generation=%u %s action=restart",
                         (int)pid, cur.gen, why);
            /* Crash loops back off; a worker that served for a while
             * restarts at once. */
            if (mono_ms() - cur.started_ms < 1000)
                backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 100;
            else
                backoff = 0;
            if (backoff)
                usleep((useconds_t)backoff * 1000);
            cur.pid = 0;
            if (spawn(&cur, ++gen) != 0) {
                hs_log_error("fork_failed", "err=\"%s\"", strerror(errno));
                return 1;
            }
        }
        got_chld = 0;
        /* Wake at least every 50 ms; signals interrupt the sleep. */
        struct pollfd pfd = {cur.ready_rd, POLLIN, 0};
        if (!got_term && !got_hup && !got_chld)
            poll(&pfd, cur.ready_rd >= 0 ? 1 : 0, 50);
    }
}
