/*
 * The event loop: one per worker thread, epoll underneath. File-descriptor
 * watchers, millisecond timers in a min-heap, and a thread-safe post queue
 * (eventfd) for work handed over from other threads (the I/O pool, the
 * supervisor's control messages). Not thread-safe except hs_loop_post.
 */
#ifndef HS_CORE_LOOP_H
#define HS_CORE_LOOP_H

#include "core/loop-t.h"

/* Creates a loop. Returns NULL on failure (errno set). */
hs_loop_t *hs_loop_new(void);
/* Frees the loop; watchers must have been stopped. */
void hs_loop_free(hs_loop_t *loop);

/* Runs until hs_loop_stop. Returns 0 or a negative HS_E* code. */
int hs_loop_run(hs_loop_t *loop);
/* Makes hs_loop_run return after the current iteration (thread-safe). */
void hs_loop_stop(hs_loop_t *loop);

/* Loop clock in ms (CLOCK_MONOTONIC), cached once per iteration. */
uint64_t hs_loop_now(const hs_loop_t *loop);
/* Wall-clock seconds, cached once per iteration. */
int64_t hs_loop_wall(const hs_loop_t *loop);

/* Starts watching fd for events; cb runs on readiness. Level-triggered.
 * Returns 0 or a negative HS_E* code. */
int hs_io_start(hs_loop_t *loop, hs_io_t *io, int fd, unsigned events, hs_io_cb cb);
/* Changes the watched events (no syscall when unchanged). */
int hs_io_modify(hs_loop_t *loop, hs_io_t *io, unsigned events);
/* Stops watching (before closing the fd). */
void hs_io_stop(hs_loop_t *loop, hs_io_t *io);

/* Arms the timer to fire once after delay_ms. Moving a queued deadline
 * later is O(1) (it is re-checked when the earlier one expires), so
 * per-request timeout refreshes are cheap. */
void hs_timer_start(hs_loop_t *loop, hs_timer_t *t, uint64_t delay_ms, hs_timer_cb cb);
void hs_timer_stop(hs_loop_t *loop, hs_timer_t *t);
static inline bool hs_timer_active(const hs_timer_t *t)
{
    return t->heap_at != 0;
}

/* Queues fn(arg) to run on the loop's thread. Thread-safe; the only loop
 * function other threads may call. Returns 0 or HS_ENOMEM. */
int hs_loop_post(hs_loop_t *loop, void (*fn)(void *arg), void *arg);

/* Number of watched descriptors and queued timers (for metrics/tests). */
unsigned hs_loop_active(const hs_loop_t *loop);

#endif
