/*
 * A worker process: N threads, each with its own event loop running the
 * same role (shared-nothing; a listening socket per thread). The calling
 * thread waits for signals: SIGTERM/SIGINT drain every thread (in-flight
 * requests finish, then the loops stop; after drain_timeout the rest is
 * closed).
 */
#ifndef HS_CORE_WORKERS_H
#define HS_CORE_WORKERS_H

#include <stdint.h>

#include "core/loop-t.h"

/* What runs on each thread. start creates the thread's servers; drain asks
 * them to finish and calls done(done_arg) on the loop when they have;
 * close_all cuts whatever is left; free releases the thread state. */
typedef struct hs_role {
    const char *name;
    int (*start)(void *arg, hs_loop_t *loop, unsigned index, void **state);
    void (*drain)(void *state, void (*done)(void *), void *done_arg);
    void (*close_all)(void *state);
    void (*free)(void *state);
} hs_role_t;

typedef struct hs_workers_opts {
    unsigned threads;           /* 0: one per online CPU */
    uint64_t drain_timeout_ms;
    int ready_fd;               /* >= 0: a byte is written here once every thread started */
} hs_workers_opts_t;

/*
 * Starts `roles` (NULL-terminated, each with its arg in args[]) on every
 * thread and blocks until a SIGTERM/SIGINT drain completes. Returns 0 after
 * a clean drain, or a negative HS_E* code if a role failed to start (the
 * message is logged).
 */
int hs_workers_run(const hs_role_t *const *roles, void *const *args,
                   const hs_workers_opts_t *opts);

/* Threads hs_workers_run will start for `requested` (0 = one per CPU). */
unsigned hs_workers_threads(unsigned requested);

/* Wall-clock second at which this worker process started (for /status). */
extern int64_t hs_workers_started_at;

#endif
