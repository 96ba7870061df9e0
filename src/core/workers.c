/*
 * Worker threads and their drain. Signals are blocked in every thread and
 * taken synchronously by the main thread with sigtimedwait, so no handler
 * ever runs inside an event loop.
 */
#include "core/workers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/tpool.h"

#define MAX_ROLES 8

int64_t hs_workers_started_at;

typedef struct wthread {
    pthread_t tid;
    unsigned index;
    hs_loop_t *loop;
    const hs_role_t *const *roles;
    void *const *args;
    void *state[MAX_ROLES];
    unsigned nroles;
    unsigned pending_drains;
    int start_rc;
    atomic_int started; /* 0 = starting, 1 = ok, -1 = failed */
    atomic_int drained;
} wthread_t;

static void on_role_drained(void *arg)
{
    wthread_t *t = arg;
    if (--t->pending_drains == 0) {
        atomic_store(&t->drained, 1);
        hs_loop_stop(t->loop);
    }
}

static void do_drain(void *arg)
{
    wthread_t *t = arg;
    t->pending_drains = t->nroles + 1; /* +1 keeps it from finishing mid-loop */
    for (unsigned i = 0; i < t->nroles; i++)
        t->roles[i]->drain(t->state[i], on_role_drained, t);
    on_role_drained(t);
}

static void do_close_all(void *arg)
{
    wthread_t *t = arg;
    for (unsigned i = 0; i < t->nroles; i++)
        t->roles[i]->close_all(t->state[i]);
    hs_loop_stop(t->loop);
}

static void *thread_main(void *arg)
{
    wthread_t *t = arg;
    hs_metrics_thread_init(t->index + 1);
    for (; t->roles[t->nroles]; t->nroles++) {
        int rc = t->roles[t->nroles]->start(t->args[t->nroles], t->loop, t->index,
                                            &t->state[t->nroles]);
        if (rc != 0) {
            t->start_rc = rc;
            atomic_store(&t->started, -1);
            return NULL;
        }
    }
    atomic_store(&t->started, 1);
    int rc = hs_loop_run(t->loop);
    if (rc != 0)
        hs_log_error("loop_failed", "thread=%u err=%s", t->index, hs_errname(rc));
    return NULL;
}

static void cleanup(wthread_t *ts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        for (unsigned r = 0; r < ts[i].nroles; r++)
            if (ts[i].roles[r]->free)
                ts[i].roles[r]->free(ts[i].state[r]);
        hs_loop_free(ts[i].loop);
    }
    free(ts);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

unsigned hs_workers_threads(unsigned requested)
{
    if (requested)
        return requested;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned)cpus : 1;
}

int hs_workers_run(const hs_role_t *const *roles, void *const *args,
                   const hs_workers_opts_t *opts)
{
    unsigned n = hs_workers_threads(opts->threads);
    hs_workers_started_at = (int64_t)time(NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    wthread_t *ts = calloc(n, sizeof(*ts));
    if (!ts)
        return HS_ENOMEM;
    unsigned created = 0;
    int rc = 0;
    for (unsigned i = 0; i < n; i++) {
        ts[i].index = i;
        ts[i].roles = roles;
        ts[i].args = args;
        ts[i].loop = hs_loop_new();
        if (!ts[i].loop || pthread_create(&ts[i].tid, NULL, thread_main, &ts[i]) != 0) {
            rc = HS_ENOMEM;
            break;
        }
        created++;
        /* Start threads one by one so a bind failure is reported once. */
        while (atomic_load(&ts[i].started) == 0)
            usleep(1000);
        if (atomic_load(&ts[i].started) < 0) {
            rc = ts[i].start_rc;
            break;
        }
    }
    if (rc != 0) {
        for (unsigned i = 0; i < created; i++) {
            hs_loop_post(ts[i].loop, do_close_all, &ts[i]);
            pthread_join(ts[i].tid, NULL);
        }
        cleanup(ts, created);
        return rc;
    }
    if (opts->ready_fd >= 0) {
        char b = 1;
        ssize_t w = write(opts->ready_fd, &b, 1);
        (void)w;
    }
    hs_log_info("worker_ready", "threads=%u", n);

    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        /* SIGHUP is the supervisor's business; SIGPIPE is ignored. */
    }
    hs_log_info("drain_start", "timeout_ms=%llu", (unsigned long long)opts->drain_timeout_ms);
    for (unsigned i = 0; i < n; i++)
        hs_loop_post(ts[i].loop, do_drain, &ts[i]);
    uint64_t deadline = mono_ms() + opts->drain_timeout_ms;
    for (unsigned i = 0; i < n; i++) {
        while (!atomic_load(&ts[i].drained) && mono_ms() < deadline) {
            struct timespec ten = {0, 10 * 1000000};
            sigset_t term;
            sigemptyset(&term);
            sigaddset(&term, SIGINT);
            /* A second SIGINT (Ctrl-C twice) skips the wait. */
            if (sigtimedwait(&term, NULL, &ten) == SIGINT)
                deadline = 0;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (!atomic_load(&ts[i].drained)) {
            hs_log_warn("drain_timeout", "thread=%u", i);
            hs_loop_post(ts[i].loop, do_close_all, &ts[i]);
        }
        pthread_join(ts[i].tid, NULL);
    }
    /* A disk job still running would post its completion to a freed loop:
     * give the I/O pool a moment, and if it is still busy leave the loops
     * to the process exit that follows. */
    for (int i = 0; i < 100 && hs_tpool_io_started() && hs_tpool_pending(hs_tpool_io()); i++)
        usleep(10000);
    if (!hs_tpool_io_started() || hs_tpool_pending(hs_tpool_io()) == 0)
        cleanup(ts, n);
    hs_log_info("drain_done", "");
    return 0;
}
