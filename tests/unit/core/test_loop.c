/*
 * Unit tests of the event loop (src/core/loop.c): timer order and the lazy
 * re-arm of moved deadlines, stop, a 10k-timer stress run against a model,
 * cross-thread posts and stop, and fd watchers on socketpairs. Each test
 * arms alarm() so a loop that never returns kills the test instead of
 * hanging it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static hs_loop_t *L;

static int setup(void **state)
{
    (void)state;
    alarm(20);
    L = hs_loop_new();
    return L ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hs_loop_free(L);
    L = NULL;
    alarm(0);
    return 0;
}

/* A timer that records when and in which order it fired. */
typedef struct rec {
    hs_timer_t t;
    int id;
    uint64_t fired_at; /* loop clock */
    int fired;
} rec_t;

static int order[64], norder;

static void on_rec(hs_loop_t *loop, hs_timer_t *t)
{
    rec_t *r = (rec_t *)t;
    r->fired++;
    r->fired_at = hs_loop_now(loop);
    order[norder++] = r->id;
}

static void on_stop(hs_loop_t *loop, hs_timer_t *t)
{
    (void)t;
    hs_loop_stop(loop);
}

static void test_timers_in_deadline_order(void **state)
{
    (void)state;
    rec_t r[5] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
    static const unsigned delay[5] = {50, 10, 30, 0, 20};
    hs_timer_t stop = {0};
    norder = 0;
    uint64_t t0 = hs_loop_now(L);
    for (int i = 0; i < 5; i++)
        hs_timer_start(L, &r[i].t, delay[i], on_rec);
    hs_timer_start(L, &stop, 80, on_stop);
    assert_int_equal(hs_loop_active(L), 6);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(norder, 5);
    static const int want[5] = {3, 1, 4, 2, 0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(order[i], want[i]);
        assert_int_equal(r[i].fired, 1);
        assert_false(hs_timer_active(&r[i].t));
        assert_true(r[i].fired_at >= t0 + delay[i]);
    }
    assert_int_equal(hs_loop_active(L), 0);
}

static void test_timer_moved_later(void **state)
{
    (void)state;
    rec_t r = {.id = 0}, other = {.id = 1};
    hs_timer_t stop = {0};
    norder = 0;
    uint64_t t0 = hs_loop_now(L);
    hs_timer_start(L, &r.t, 20, on_rec);
    hs_timer_start(L, &r.t, 150, on_rec); /* moved later before the loop runs */
    hs_timer_start(L, &other.t, 60, on_rec);
    assert_true(hs_timer_active(&r.t));
    assert_int_equal(hs_loop_active(L), 2); /* still one heap entry per timer */
    hs_timer_start(L, &stop, 250, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(r.fired, 1);
    assert_int_equal(other.fired, 1);
    /* it fired at the later deadline, not the earlier one */
    assert_true(r.fired_at >= t0 + 150);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
}

static void test_timer_moved_earlier(void **state)
{
    (void)state;
    rec_t r = {.id = 0}, other = {.id = 1};
    hs_timer_t stop = {0};
    norder = 0;
    uint64_t t0 = hs_loop_now(L);
    hs_timer_start(L, &r.t, 500, on_rec);
    hs_timer_start(L, &other.t, 100, on_rec);
    hs_timer_start(L, &r.t, 30, on_rec);
    hs_timer_start(L, &stop, 200, on_stop);
    uint64_t w0 = mono_ms();
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(r.fired, 1);
    assert_true(r.fired_at >= t0 + 30);
    assert_true(r.fired_at < t0 + 100);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_true(mono_ms() - w0 < 450); /* did not wait for the old 500 ms */
}

/* Later, then earlier again but still after the first key: the last call wins. */
static void test_timer_moved_later_then_earlier(void **state)
{
    (void)state;
    rec_t r = {.id = 0};
    hs_timer_t stop = {0};
    norder = 0;
    uint64_t t0 = hs_loop_now(L);
    hs_timer_start(L, &r.t, 20, on_rec);
    hs_timer_start(L, &r.t, 300, on_rec);
    hs_timer_start(L, &r.t, 100, on_rec);
    hs_timer_start(L, &stop, 400, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(r.fired, 1);
    assert_true(r.fired_at >= t0 + 100);
    assert_true(r.fired_at < t0 + 300);
}

/* Two timers overdue in the same iteration fire in deadline order, also
 * when one of them was moved later (its heap key is still the old, earlier
 * deadline). A first timer blocks the loop so that both are overdue. */
static void on_block(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    (void)t;
    sleep_ms(250);
}

static void test_overdue_timers_fire_in_deadline_order(void **state)
{
    (void)state;
    rec_t a = {.id = 0}, b = {.id = 1};
    hs_timer_t block = {0}, stop = {0};
    norder = 0;
    hs_timer_start(L, &block, 0, on_block);
    hs_timer_start(L, &b.t, 10, on_rec);
    hs_timer_start(L, &a.t, 150, on_rec);
    hs_timer_start(L, &b.t, 200, on_rec); /* b now due after a */
    hs_timer_start(L, &stop, 400, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 0); /* a (150) before b (200) */
    assert_int_equal(order[1], 1);
}

/* Deadlines moved from inside a callback while the loop runs. */
typedef struct mover {
    hs_timer_t t;
    rec_t *target;
    unsigned delay;
} mover_t;

static void on_move(hs_loop_t *loop, hs_timer_t *t)
{
    mover_t *m = (mover_t *)t;
    hs_timer_start(loop, &m->target->t, m->delay, on_rec);
}

static void test_timer_moved_while_running(void **state)
{
    (void)state;
    rec_t r = {.id = 0};
    mover_t m = {.target = &r, .delay = 200};
    hs_timer_t stop = {0};
    norder = 0;
    uint64_t t0 = hs_loop_now(L);
    hs_timer_start(L, &r.t, 60, on_rec);
    hs_timer_start(L, &m.t, 20, on_move); /* at ~20: move r to ~220 */
    hs_timer_start(L, &stop, 350, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(r.fired, 1);
    assert_true(r.fired_at >= t0 + 220);
}

static void test_timer_stop(void **state)
{
    (void)state;
    rec_t a = {.id = 0}, b = {.id = 1}, c = {.id = 2};
    hs_timer_t stop = {0};
    norder = 0;
    hs_timer_start(L, &a.t, 10, on_rec);
    hs_timer_start(L, &b.t, 20, on_rec);
    hs_timer_start(L, &c.t, 30, on_rec);
    hs_timer_stop(L, &b.t);
    assert_false(hs_timer_active(&b.t));
    hs_timer_stop(L, &b.t); /* stopping twice is harmless */
    hs_timer_start(L, &c.t, 200, on_rec); /* moved later (lazily), then stopped */
    hs_timer_stop(L, &c.t);
    hs_timer_start(L, &stop, 100, on_stop);
    assert_int_equal(hs_loop_active(L), 2);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(a.fired, 1);
    assert_int_equal(b.fired, 0);
    assert_int_equal(c.fired, 0);
    /* a stopped timer can be started again */
    hs_timer_start(L, &b.t, 5, on_rec);
    hs_timer_start(L, &stop, 50, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(b.fired, 1);
}

/* A timer that stops a later one from its callback, and one re-arming itself. */
static rec_t *victim;
static void on_kill(hs_loop_t *loop, hs_timer_t *t)
{
    (void)t;
    hs_timer_stop(loop, &victim->t);
}

typedef struct periodic {
    hs_timer_t t;
    int n;
} periodic_t;

static void on_periodic(hs_loop_t *loop, hs_timer_t *t)
{
    periodic_t *p = (periodic_t *)t;
    if (++p->n < 5)
        hs_timer_start(loop, t, 5, on_periodic);
}

static void test_timer_stop_and_rearm_from_callback(void **state)
{
    (void)state;
    rec_t v = {.id = 0};
    hs_timer_t killer = {0}, stop = {0};
    periodic_t per = {0};
    victim = &v;
    norder = 0;
    hs_timer_start(L, &v.t, 30, on_rec);
    hs_timer_start(L, &killer, 10, on_kill);
    hs_timer_start(L, &per.t, 1, on_periodic);
    hs_timer_start(L, &stop, 120, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(v.fired, 0);
    assert_int_equal(per.n, 5);
    assert_false(hs_timer_active(&per.t));
}

/* ---- 10k random timers against a model ---- */

#define NT 10000

typedef struct st {
    hs_timer_t t;
    uint64_t deadline; /* model: loop clock ms it should fire at (or after) */
    int fired;
    bool stopped;
} st_t;

static uint64_t last_deadline;
static int nfired, bad_order, early;

static void on_st(hs_loop_t *loop, hs_timer_t *t)
{
    st_t *s = (st_t *)t;
    s->fired++;
    nfired++;
    if (s->deadline < last_deadline)
        bad_order++;
    last_deadline = s->deadline;
    if (hs_loop_now(loop) < s->deadline)
        early++;
}

static void on_all_done(hs_loop_t *loop, hs_timer_t *t)
{
    (void)t;
    hs_loop_stop(loop);
}

static void test_many_random_timers(void **state)
{
    (void)state;
    st_t *ts = calloc(NT, sizeof(*ts));
    assert_non_null(ts);
    uint64_t x = 0x9E3779B97F4A7C15ull;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    uint64_t now = hs_loop_now(L);
    for (int i = 0; i < NT; i++) {
        uint64_t d = RND() % 300;
        hs_timer_start(L, &ts[i].t, d, on_st);
        ts[i].deadline = now + d;
    }
    /* move a third (later or earlier), stop a tenth */
    for (int i = 0; i < NT; i++) {
        uint64_t r = RND() % 10;
        if (r < 3) {
            uint64_t d = RND() % 400;
            hs_timer_start(L, &ts[i].t, d, on_st);
            ts[i].deadline = now + d;
        } else if (r == 3) {
            hs_timer_stop(L, &ts[i].t);
            ts[i].stopped = true;
        }
    }
    int expect = 0;
    for (int i = 0; i < NT; i++)
        expect += !ts[i].stopped;
    assert_int_equal(hs_loop_active(L), (unsigned)expect);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 450, on_all_done);
    last_deadline = 0;
    nfired = bad_order = early = 0;
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(nfired, expect);
    assert_int_equal(bad_order, 0);
    assert_int_equal(early, 0);
    for (int i = 0; i < NT; i++)
        assert_int_equal(ts[i].fired, ts[i].stopped ? 0 : 1);
    assert_int_equal(hs_loop_active(L), 0);
    free(ts);
#undef RND
}

/* ---- cross-thread posts and stop ---- */

static pthread_t loop_thread;
static atomic_int posts_run, posts_wrong_thread, posts_out_of_order;
static int last_seq[4];

typedef struct post_arg {
    int producer;
    int seq;
} post_arg_t;

static void on_post(void *arg)
{
    post_arg_t *a = arg;
    if (!pthread_equal(pthread_self(), loop_thread))
        atomic_fetch_add(&posts_wrong_thread, 1);
    /* one consumer: no lock needed for last_seq */
    if (a->seq != last_seq[a->producer] + 1)
        atomic_fetch_add(&posts_out_of_order, 1);
    last_seq[a->producer] = a->seq;
    atomic_fetch_add(&posts_run, 1);
}

#define NPOST 5000

static post_arg_t post_args[4][NPOST];

static void *producer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < NPOST; i++) {
        post_args[id][i] = (post_arg_t){id, i + 1};
        if (hs_loop_post(L, on_post, &post_args[id][i]) != 0)
            abort();
        if (i % 512 == 0)
            sched_yield();
    }
    return NULL;
}

static void on_check_done(hs_loop_t *loop, hs_timer_t *t)
{
    if (atomic_load(&posts_run) == 4 * NPOST)
        hs_loop_stop(loop);
    else
        hs_timer_start(loop, t, 5, on_check_done);
}

static void test_post_from_threads(void **state)
{
    (void)state;
    loop_thread = pthread_self();
    atomic_store(&posts_run, 0);
    atomic_store(&posts_wrong_thread, 0);
    atomic_store(&posts_out_of_order, 0);
    memset(last_seq, 0, sizeof(last_seq));
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, producer, (void *)(intptr_t)i), 0);
    hs_timer_t check = {0};
    hs_timer_start(L, &check, 5, on_check_done);
    assert_int_equal(hs_loop_run(L), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&posts_run), 4 * NPOST);
    assert_int_equal(atomic_load(&posts_wrong_thread), 0);
    assert_int_equal(atomic_load(&posts_out_of_order), 0); /* FIFO per producer */
    for (int i = 0; i < 4; i++)
        assert_int_equal(last_seq[i], NPOST);
}

/* A post wakes a loop blocked with nothing else to do. */
static atomic_int woke;
static void on_wake(void *arg)
{
    hs_loop_t *loop = arg;
    atomic_store(&woke, 1);
    hs_loop_stop(loop);
}

static void *post_later(void *arg)
{
    (void)arg;
    sleep_ms(50);
    hs_loop_post(L, on_wake, L);
    return NULL;
}

static void test_post_wakes_idle_loop(void **state)
{
    (void)state;
    atomic_store(&woke, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_later, NULL), 0);
    uint64_t t0 = mono_ms();
    assert_int_equal(hs_loop_run(L), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&woke), 1);
    assert_true(mono_ms() - t0 < 5000);
}

static void *stop_later(void *arg)
{
    (void)arg;
    sleep_ms(50);
    hs_loop_stop(L);
    return NULL;
}

static void test_stop_from_other_thread(void **state)
{
    (void)state;
    /* a far timer keeps the loop waiting in epoll */
    hs_timer_t far = {0};
    hs_timer_start(L, &far, 30000, on_rec);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stop_later, NULL), 0);
    uint64_t t0 = mono_ms();
    assert_int_equal(hs_loop_run(L), 0);
    uint64_t took = mono_ms() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 40);
    assert_true(took < 5000);
    assert_true(hs_timer_active(&far));
    /* the loop can run again after a stop */
    hs_timer_stop(L, &far);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 10, on_stop);
    t0 = mono_ms();
    assert_int_equal(hs_loop_run(L), 0);
    assert_true(mono_ms() - t0 < 5000);
}

/* ---- fd watchers ---- */

typedef struct watcher {
    hs_io_t io;
    int calls;
    unsigned events;
    char got[64];
    size_t ngot;
    struct watcher *other; /* stopped by this one's first callback */
    bool stopped;
    int calls_after_stop;
} watcher_t;

static void on_readable(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    watcher_t *w = (watcher_t *)io;
    w->calls++;
    w->events |= events;
    if (w->stopped)
        w->calls_after_stop++;
    if (events & HS_IO_READ) {
        ssize_t n = read(io->fd, w->got + w->ngot, sizeof(w->got) - w->ngot);
        if (n > 0)
            w->ngot += (size_t)n;
        if (w->ngot >= 5)
            hs_loop_stop(loop);
    }
}

static void test_io_read(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    watcher_t w = {0};
    assert_int_equal(hs_io_start(L, &w.io, sv[0], HS_IO_READ, on_readable), 0);
    assert_int_equal(hs_loop_active(L), 1);
    assert_int_equal(write(sv[1], "hello", 5), 5);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(w.ngot, 5);
    assert_memory_equal(w.got, "hello", 5);
    assert_true(w.events & HS_IO_READ);
    assert_false(w.events & HS_IO_WRITE);
    /* a stopped watcher is not called, even with data waiting */
    hs_io_stop(L, &w.io);
    assert_int_equal(hs_loop_active(L), 0);
    int calls = w.calls;
    assert_int_equal(write(sv[1], "more!", 5), 5);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 30, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(w.calls, calls);
    close(sv[0]);
    close(sv[1]);
}

static void on_writable(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    watcher_t *w = (watcher_t *)io;
    w->calls++;
    w->events |= events;
    if (events & HS_IO_WRITE) {
        assert_int_equal(write(io->fd, "x", 1), 1);
        /* only once: switch to read interest */
        assert_int_equal(hs_io_modify(loop, io, HS_IO_READ), 0);
    }
    if (events & HS_IO_READ) {
        char c;
        if (read(io->fd, &c, 1) == 1 && c == 'y')
            hs_loop_stop(loop);
    }
}

static void *echo_y(void *arg)
{
    int fd = *(int *)arg;
    char c;
    if (read(fd, &c, 1) == 1 && c == 'x')
        (void)!write(fd, "y", 1);
    return NULL;
}

static void test_io_write_and_modify(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, echo_y, &sv[1]), 0);
    watcher_t w = {0};
    assert_int_equal(hs_io_start(L, &w.io, sv[0], HS_IO_WRITE, on_writable), 0);
    assert_int_equal(w.io.events, HS_IO_WRITE);
    assert_int_equal(hs_loop_run(L), 0);
    pthread_join(th, NULL);
    assert_true(w.events & HS_IO_WRITE);
    assert_true(w.events & HS_IO_READ);
    assert_int_equal(w.io.events, HS_IO_READ);
    /* modify to nothing: no more callbacks although readable */
    assert_int_equal(hs_io_modify(L, &w.io, 0), 0);
    int calls = w.calls;
    assert_int_equal(write(sv[1], "z", 1), 1);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 30, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(w.calls, calls);
    hs_io_stop(L, &w.io);
    close(sv[0]);
    close(sv[1]);
}

static void on_hup(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    watcher_t *w = (watcher_t *)io;
    w->calls++;
    w->events |= events;
    char buf[8];
    if (read(io->fd, buf, sizeof(buf)) == 0) {
        hs_io_stop(loop, io);
        hs_loop_stop(loop);
    }
}

static void test_io_peer_close(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    watcher_t w = {0};
    assert_int_equal(hs_io_start(L, &w.io, sv[0], HS_IO_READ, on_hup), 0);
    close(sv[1]);
    assert_int_equal(hs_loop_run(L), 0);
    assert_true(w.events & HS_IO_READ); /* EOF is reported as readable */
    assert_int_equal(w.io.fd, -1);
    assert_int_equal(hs_loop_active(L), 0);
    close(sv[0]);
}

static void test_io_start_bad_fd(void **state)
{
    (void)state;
    watcher_t w = {0};
    int rc = hs_io_start(L, &w.io, 12345, HS_IO_READ, on_readable);
    assert_int_equal(rc, HS_ERR(EBADF));
    assert_int_equal(hs_loop_active(L), 0);
}

/* Two watchers ready in the same iteration; the first callback to run
 * stops the other. A stopped watcher must not be called afterwards (its
 * owner may free it right after hs_io_stop, e.g. a connection closed by a
 * drain posted to the loop). */
static void on_stop_other(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    watcher_t *w = (watcher_t *)io;
    (void)events;
    w->calls++;
    if (w->stopped) {
        w->calls_after_stop++;
        return;
    }
    char buf[8];
    (void)!read(io->fd, buf, sizeof(buf));
    if (w->other && !w->other->stopped) {
        hs_io_stop(loop, &w->other->io);
        w->other->stopped = true;
    }
}

static void test_io_stopped_in_same_iteration(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    watcher_t wa = {0}, wb = {0};
    wa.other = &wb;
    wb.other = &wa;
    assert_int_equal(hs_io_start(L, &wa.io, a[0], HS_IO_READ, on_stop_other), 0);
    assert_int_equal(hs_io_start(L, &wb.io, b[0], HS_IO_READ, on_stop_other), 0);
    /* both readable before the loop's first epoll_wait */
    assert_int_equal(write(a[1], "1", 1), 1);
    assert_int_equal(write(b[1], "2", 1), 1);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 50, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(wa.calls + wb.calls - wa.calls_after_stop - wb.calls_after_stop, 1);
    assert_int_equal(wa.calls_after_stop, 0);
    assert_int_equal(wb.calls_after_stop, 0);
    if (!wa.stopped)
        hs_io_stop(L, &wa.io);
    if (!wb.stopped)
        hs_io_stop(L, &wb.io);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* The first callback of a batch stops the other ready watcher, closes its
 * fd, and starts a new watcher on a new socket that reuses that fd number
 * (as an accept right after a close does). The stale event of the old
 * watcher must not reach the new one: its socket was never readable. */
static watcher_t reuse_new;
static int reuse_pair[2] = {-1, -1};
static int reuse_old_fd = -1;

static void on_reuse_new(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    (void)loop;
    watcher_t *w = (watcher_t *)io;
    w->calls++;
    w->events |= events;
}

static void on_reuse_first(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    watcher_t *w = (watcher_t *)io;
    (void)events;
    w->calls++;
    char buf[8];
    (void)!read(io->fd, buf, sizeof(buf));
    if (w->other && !w->other->stopped) {
        watcher_t *v = w->other;
        reuse_old_fd = v->io.fd;
        hs_io_stop(loop, &v->io);
        v->stopped = true;
        close(reuse_old_fd);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, reuse_pair), 0);
        assert_int_equal(hs_io_start(loop, &reuse_new.io, reuse_pair[0], HS_IO_READ, on_reuse_new),
                         0);
        v->other = NULL;
        w->other = NULL;
    }
}

static void test_io_fd_reused_in_same_iteration(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    watcher_t wa = {0}, wb = {0};
    memset(&reuse_new, 0, sizeof(reuse_new));
    wa.other = &wb;
    wb.other = &wa;
    assert_int_equal(hs_io_start(L, &wa.io, a[0], HS_IO_READ, on_reuse_first), 0);
    assert_int_equal(hs_io_start(L, &wb.io, b[0], HS_IO_READ, on_reuse_first), 0);
    assert_int_equal(write(a[1], "1", 1), 1);
    assert_int_equal(write(b[1], "2", 1), 1);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 50, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_int_equal(wa.calls + wb.calls, 1);
    /* the precondition of the test: the fd number was reused */
    assert_int_equal(reuse_pair[0], reuse_old_fd);
    if (reuse_new.calls)
        fail_msg("new watcher on reused fd %d got the old watcher's event (events=%u)",
                 reuse_old_fd, reuse_new.events);
    hs_io_stop(L, &reuse_new.io);
    if (!wa.stopped) {
        hs_io_stop(L, &wa.io);
        close(a[0]);
    }
    if (!wb.stopped) {
        hs_io_stop(L, &wb.io);
        close(b[0]);
    }
    close(a[1]);
    close(b[1]);
    close(reuse_pair[0]);
    close(reuse_pair[1]);
}

static void test_now_and_wall(void **state)
{
    (void)state;
    uint64_t n0 = hs_loop_now(L);
    int64_t w0 = hs_loop_wall(L);
    assert_true(w0 > 1600000000); /* after 2020 */
    assert_true(llabs(w0 - (int64_t)time(NULL)) <= 2);
    hs_timer_t stop = {0};
    hs_timer_start(L, &stop, 30, on_stop);
    assert_int_equal(hs_loop_run(L), 0);
    assert_true(hs_loop_now(L) >= n0 + 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timers_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_moved_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_moved_earlier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_moved_later_then_earlier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overdue_timers_fire_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_moved_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_stop_and_rearm_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_random_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_from_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_wakes_idle_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_from_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_write_and_modify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_peer_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_start_bad_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_stopped_in_same_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_fd_reused_in_same_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_now_and_wall, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
