/*
 * The dispatch logic of one worker thread, free of sockets and clocks so it
 * can be driven by a simulated server in tests.
 *
 * Open loop: request i of thread `index` (of `threads`) is intended at
 * start + (i * threads + index) / rate seconds, so the threads together
 * follow one evenly spaced schedule of `rate` req/s. A request is sent when
 * it is due and one of the thread's `slots` (connections) is free; when all
 * are busy the due requests wait (the backlog) and are sent late, with their
 * latency still counted from the intended time (coordinated omission
 * correction: a stalled server shows up as latency, never as fewer
 * samples). Nothing is dropped.
 *
 * Closed loop: every free slot sends at once and again as soon as its
 * answer is complete (like wrk); latency counts from the send.
 */
#ifndef HS_LOADGEN_ENGINE_H
#define HS_LOADGEN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

/* Starts one request whose latency counts from intended_ns. Returns 0
 * (hs_lg_engine_done follows for it later) or < 0 when it could not be
 * started (the caller counts the error; nothing is in flight). */
typedef int (*hs_lg_send_fn)(void *ctx, uint64_t intended_ns);

typedef struct hs_lg_engine {
    bool closed;
    unsigned slots;
    uint64_t start_ns, end_ns; /* requests are intended in [start, end) */
    double rate;               /* open: req/s of all threads together */
    unsigned stride, offset;   /* open: threads and this thread's index */
    uint64_t limit;            /* closed: stop after this many (0 = none) */
    uint64_t next;             /* open: schedule index of the next send; closed: sends */
    unsigned inflight;
    uint64_t max_backlog;
    hs_lg_send_fn send;
    void *ctx;
} hs_lg_engine_t;

/* Open-loop engine for thread `index` of `threads` (rate > 0). */
void hs_lg_engine_init_open(hs_lg_engine_t *e, double rate, unsigned threads, unsigned index,
                            uint64_t start_ns, uint64_t end_ns, unsigned slots, hs_lg_send_fn send,
                            void *ctx);

/* Closed-loop engine: sends until end_ns, or `limit` requests when limit
 * is not 0. */
void hs_lg_engine_init_closed(hs_lg_engine_t *e, uint64_t start_ns, uint64_t end_ns, uint64_t limit,
                              unsigned slots, hs_lg_send_fn send, void *ctx);

/* Intended send time of open-loop request i. */
uint64_t hs_lg_engine_intended(const hs_lg_engine_t *e, uint64_t i);

/*
 * Sends every request that is due at `now` and has a free slot. Returns the
 * time at which the next request falls due (arm a timer for it), or
 * UINT64_MAX when nothing will be due before a completion frees a slot (or
 * the schedule is over).
 */
uint64_t hs_lg_engine_pump(hs_lg_engine_t *e, uint64_t now);

/* A request sent by pump has finished (answer, error or cancel); call pump
 * afterwards to use the free slot. */
void hs_lg_engine_done(hs_lg_engine_t *e);

/* Open loop: requests due at `now` that wait for a slot (0 in closed loop). */
uint64_t hs_lg_engine_backlog(const hs_lg_engine_t *e, uint64_t now);

/* Every request of the schedule has been sent and answered. */
bool hs_lg_engine_finished(const hs_lg_engine_t *e, uint64_t now);

/* Ends the schedule at `now` (an interrupted run): what was due before it
 * is still sent; nothing after it. */
void hs_lg_engine_stop(hs_lg_engine_t *e, uint64_t now);

#endif
