/*
 * A small pool of threads for blocking work (disk opens, stats, reads,
 * store calls) so that no event loop ever waits on a disk. A job's `work`
 * runs on a pool thread; its `done` runs afterwards on the loop that
 * submitted it.
 */
#ifndef HS_CORE_TPOOL_H
#define HS_CORE_TPOOL_H

#include <stdbool.h>

#include "core/loop-t.h"

typedef struct hs_tpool hs_tpool_t;
typedef struct hs_tpool_job hs_tpool_job_t;

struct hs_tpool_job {
    hs_tpool_job_t *next;
    hs_loop_t *loop;
    void (*work)(hs_tpool_job_t *job); /* pool thread */
    void (*done)(hs_tpool_job_t *job); /* submitting loop's thread */
};

/* Starts `threads` threads with room for `max_queue` waiting jobs.
 * Returns NULL on failure. */
hs_tpool_t *hs_tpool_new(unsigned threads, unsigned max_queue);

/* Queues a job. Returns 0, or HS_EBUSY when the queue is full (the caller
 * answers "busy" instead of growing without bound). */
int hs_tpool_submit(hs_tpool_t *pool, hs_loop_t *loop, hs_tpool_job_t *job);

/* Waits for running jobs, drops queued ones, joins the threads. */
void hs_tpool_free(hs_tpool_t *pool);

/* Jobs queued or running (not counting completions not yet run by their
 * loops). */
unsigned hs_tpool_pending(hs_tpool_t *pool);

/* True once hs_tpool_io() has created the pool. */
bool hs_tpool_io_started(void);

/* The process-wide pool for I/O work, created on first use with 4 threads
 * and a queue of 4096. */
hs_tpool_t *hs_tpool_io(void);

#endif
