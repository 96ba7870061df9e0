/*
 * The supervisor (master) process: forks the worker process, restarts it
 * when it dies (logging why), reloads on SIGHUP by starting a new worker
 * generation and draining the old one, and on SIGTERM/SIGINT drains the
 * worker and exits.
 */
#ifndef HS_CORE_SUPERVISOR_H
#define HS_CORE_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

typedef struct hs_supervisor_ops {
    /* Runs in the forked worker; must write one byte to ready_fd once it
     * serves, and return an exit status. */
    int (*worker_main)(void *arg, unsigned generation, int ready_fd);
    /* Runs in the supervisor on SIGHUP: re-reads configuration into the
     * state worker_main will see. Returns 0, or non-zero with err set (the
     * running worker then keeps serving). */
    int (*reload)(void *arg, char *err, size_t errlen);
} hs_supervisor_ops_t;

/*
 * Supervises until told to stop. Returns the process exit status: 0 after
 * SIGTERM/SIGINT, or the first worker's status if it fails before it is
 * ready (a startup error such as a port in use is not retried forever).
 */
int hs_supervise(const hs_supervisor_ops_t *ops, void *arg);

/* The supervisor's pid as seen by a worker (0 when unsupervised). */
extern pid_t hs_supervisor_pid;
/* The worker generation (1 for the first, +1 per restart or reload). */
extern unsigned hs_worker_generation;

#endif
