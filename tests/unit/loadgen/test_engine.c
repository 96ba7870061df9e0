/*
 * Unit tests of src/loadgen/engine.c: the open-loop schedule (intended
 * times across threads, backlog) and coordinated-omission correction,
 * checked on a simulated server that stalls for one second: the open loop
 * must report the stall in its latencies and lose no request; the closed
 * loop, which waits with the server, shows few slow samples and sends
 * fewer requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "loadgen/engine.h"
#include "loadgen/hist.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* ---- schedule ---- */

typedef struct log_ctx {
    uint64_t sent[64];
    unsigned n;
    int fail_every; /* every n-th send fails synchronously (0: never) */
} log_ctx_t;

static int log_send(void *ctx, uint64_t intended)
{
    log_ctx_t *c = ctx;
    unsigned i = c->n++;
    if (i < 64) c->sent[i] = intended;
    return c->fail_every && (i + 1) % (unsigned)c->fail_every == 0 ? -1 : 0;
}

static void test_intended_times(void **state)
{
    (void)state;
    /* 1000 req/s over 2 threads: thread 0 at 0, 2, 4 ms; thread 1 at 1, 3, 5 */
    hs_lg_engine_t a, b;
    log_ctx_t ca = {0}, cb = {0};
    uint64_t t0 = 5 * SEC;
    hs_lg_engine_init_open(&a, 1000, 2, 0, t0, t0 + 10 * MS, 100, log_send, &ca);
    hs_lg_engine_init_open(&b, 1000, 2, 1, t0, t0 + 10 * MS, 100, log_send, &cb);
    for (uint64_t i = 0; i < 5; i++) {
        assert_int_equal(hs_lg_engine_intended(&a, i), t0 + 2 * i * MS);
        assert_int_equal(hs_lg_engine_intended(&b, i), t0 + (2 * i + 1) * MS);
    }
    /* before the start nothing is due; the next due time is returned */
    assert_int_equal(hs_lg_engine_pump(&a, t0 - 1), t0);
    assert_int_equal(ca.n, 0);
    /* at 4.5 ms thread 0 sends 0, 2, 4 ms and wants to wake at 6 ms */
    assert_int_equal(hs_lg_engine_pump(&a, t0 + 4 * MS + MS / 2), t0 + 6 * MS);
    assert_int_equal(ca.n, 3);
    assert_int_equal(ca.sent[2], t0 + 4 * MS);
    /* the end is exclusive: 8 ms is the last; then nothing more is due */
    assert_int_equal(hs_lg_engine_pump(&a, t0 + 20 * MS), UINT64_MAX);
    assert_int_equal(ca.n, 5);
    assert_int_equal(ca.sent[4], t0 + 8 * MS);
    assert_false(hs_lg_engine_finished(&a, t0 + 20 * MS));
    for (int i = 0; i < 5; i++)
        hs_lg_engine_done(&a);
    assert_true(hs_lg_engine_finished(&a, t0 + 20 * MS));

    /* a fractional rate: 3 req/s over 1 thread is every 333.33.. ms */
    hs_lg_engine_t c;
    log_ctx_t cc = {0};
    hs_lg_engine_init_open(&c, 3, 1, 0, 0, 10 * SEC, 1, log_send, &cc);
    assert_int_equal(hs_lg_engine_intended(&c, 3), 1 * SEC);
    assert_int_equal(hs_lg_engine_intended(&c, 1), 333333333);
}

static void test_backlog(void **state)
{
    (void)state;
    /* 2 connections at 1000 req/s: at 10 ms, 11 requests are due, 2 are
     * sent, 9 wait; completions let the waiting ones go in order */
    hs_lg_engine_t e;
    log_ctx_t c = {0};
    hs_lg_engine_init_open(&e, 1000, 1, 0, 0, SEC, 2, log_send, &c);
    assert_int_equal(hs_lg_engine_pump(&e, 10 * MS), UINT64_MAX);
    assert_int_equal(c.n, 2);
    assert_int_equal(hs_lg_engine_backlog(&e, 10 * MS), 9);
    assert_int_equal(e.max_backlog, 9);
    hs_lg_engine_done(&e);
    hs_lg_engine_pump(&e, 10 * MS);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.sent[2], 2 * MS); /* the oldest waiting one, with its own time */
    assert_int_equal(hs_lg_engine_backlog(&e, 10 * MS), 8);
    /* a synchronous failure does not hold a slot */
    c.fail_every = 1;
    hs_lg_engine_done(&e);
    hs_lg_engine_pump(&e, 10 * MS);
    assert_int_equal(e.inflight, 1);
    assert_int_equal(hs_lg_engine_backlog(&e, 10 * MS), 0);
    /* stop: nothing after now is sent */
    c.fail_every = 0;
    hs_lg_engine_stop(&e, 10 * MS + 1);
    hs_lg_engine_done(&e);
    assert_int_equal(hs_lg_engine_pump(&e, 50 * MS), UINT64_MAX);
    assert_true(hs_lg_engine_finished(&e, 50 * MS));
    /* closed loop has no backlog and sends as many as it has slots */
    hs_lg_engine_t cl;
    log_ctx_t cc = {0};
    hs_lg_engine_init_closed(&cl, 0, SEC, 0, 4, log_send, &cc);
    assert_int_equal(hs_lg_engine_pump(&cl, 5), UINT64_MAX);
    assert_int_equal(cc.n, 4);
    assert_int_equal(cc.sent[3], 5);
    assert_int_equal(hs_lg_engine_backlog(&cl, 5), 0);
    /* a limit (the prepare phase) */
    hs_lg_engine_t lim;
    log_ctx_t lc = {0};
    hs_lg_engine_init_closed(&lim, 0, UINT64_MAX, 3, 8, log_send, &lc);
    hs_lg_engine_pump(&lim, 1);
    assert_int_equal(lc.n, 3);
    for (int i = 0; i < 3; i++)
        hs_lg_engine_done(&lim);
    assert_true(hs_lg_engine_finished(&lim, 2));
}

/* ---- a simulated server ---- */

#define SLOTS 10
#define SERVICE (1 * MS)
#define STALL_AT (2 * SEC)
#define STALL_END (3 * SEC)
#define RUN_END (5 * SEC)

typedef struct sim {
    hs_lg_engine_t e;
    uint64_t now;
    uint64_t done_at[SLOTS], intended[SLOTS];
    bool busy[SLOTS];
    hs_lg_hist_t *h;
    uint64_t sent, sent_in_stall, intended_in_stall;
} sim_t;

/* The server answers after SERVICE, except that nothing is answered while
 * it stalls: answers due then come out when the stall ends. */
static int sim_send(void *ctx, uint64_t intended)
{
    sim_t *s = ctx;
    for (int i = 0; i < SLOTS; i++)
        if (!s->busy[i]) {
            uint64_t at = s->now + SERVICE;
            if (at >= STALL_AT && at < STALL_END) at = STALL_END;
            s->busy[i] = true;
            s->done_at[i] = at;
            s->intended[i] = intended;
            s->sent++;
            if (s->now >= STALL_AT && s->now < STALL_END) s->sent_in_stall++;
            if (intended >= STALL_AT && intended < STALL_END) s->intended_in_stall++;
            return 0;
        }
    fail_msg("engine sent with every slot busy");
    return -1;
}

/* Runs the engine against the server until it has finished. */
static void simulate(sim_t *s)
{
    uint64_t wake = hs_lg_engine_pump(&s->e, s->now);
    while (!hs_lg_engine_finished(&s->e, s->now)) {
        uint64_t next = wake;
        int who = -1;
        for (int i = 0; i < SLOTS; i++)
            if (s->busy[i] && s->done_at[i] <= next) {
                next = s->done_at[i];
                who = i;
            }
        /* a closed loop with nothing in flight wakes at the end to finish */
        if (next == UINT64_MAX) next = RUN_END;
        assert_true(next >= s->now);
        s->now = next;
        if (who >= 0) {
            s->busy[who] = false;
            hs_lg_hist_record(s->h, s->now - s->intended[who]);
            hs_lg_engine_done(&s->e);
        }
        wake = hs_lg_engine_pump(&s->e, s->now);
    }
}

static void test_co_correction(void **state)
{
    (void)state;
    sim_t *open = calloc(1, sizeof(*open)), *closed = calloc(1, sizeof(*closed));
    assert_non_null(open);
    assert_non_null(closed);
    open->h = malloc(sizeof(hs_lg_hist_t));
    closed->h = malloc(sizeof(hs_lg_hist_t));
    hs_lg_hist_reset(open->h);
    hs_lg_hist_reset(closed->h);

    /* open loop at 1000 req/s on 10 connections: 1% utilisation outside the stall */
    hs_lg_engine_init_open(&open->e, 1000, 1, 0, 0, RUN_END, SLOTS, sim_send, open);
    simulate(open);
    /* no request lost: one sample per scheduled request */
    assert_int_equal(open->sent, 5000);
    assert_int_equal(open->h->total, 5000);
    /* the stall is in the latencies: ~1000 of 5000 requests were due during
     * it and each waited for its end, so p90 and p99 are hundreds of ms
     * and the max is the full second */
    uint64_t p50 = hs_lg_hist_percentile(open->h, 50), p90 = hs_lg_hist_percentile(open->h, 90),
             p99 = hs_lg_hist_percentile(open->h, 99);
    assert_true(p50 <= 1100000);
    assert_true(p90 >= 400 * MS);
    assert_true(p99 >= 900 * MS);
    assert_true(open->h->max_ns >= 999 * MS && open->h->max_ns <= 1010 * MS);
    /* the requests due during the stall waited as backlog */
    assert_true(open->e.max_backlog >= 980 && open->e.max_backlog <= 1000);

    /* closed loop on the same server: 10 requests are stuck for the stall
     * and nothing else is sent, so the slow samples are 10 of ~40000 and
     * p99 never sees the stall */
    hs_lg_engine_init_closed(&closed->e, 0, RUN_END, 0, SLOTS, sim_send, closed);
    simulate(closed);
    assert_true(closed->h->max_ns >= 999 * MS);
    assert_true(hs_lg_hist_percentile(closed->h, 99) <= 1100000);
    /* the open loop kept its schedule through the stall (every request
     * due in it was sent late and counted); the closed loop sent none */
    assert_int_equal(open->intended_in_stall, 1000);
    assert_int_equal(closed->sent_in_stall, 0);
    assert_int_equal(closed->intended_in_stall, 0);
    /* 4 s worth of requests in 5 s: the stall cost the closed loop a
     * fifth of its requests instead of showing up as latency */
    assert_true(closed->sent <= 40010 && closed->sent >= 39990);

    free(open->h);
    free(closed->h);
    free(open);
    free(closed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intended_times),
        cmocka_unit_test(test_backlog),
        cmocka_unit_test(test_co_correction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
