/*
 * epoll-based event loop. Timers live in a binary min-heap keyed by
 * deadline; a timer pushed later is not re-sifted but re-armed when its
 * old deadline pops, which keeps per-request idle/timeout refreshes O(1).
 * Cross-thread posts go through a mutex-protected list and an eventfd.
 */
#include "core/loop.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

#define MAX_EVENTS 256

typedef struct post {
    struct post *next;
    void (*fn)(void *);
    void *arg;
} post_t;

struct hs_loop {
    int epfd;
    int evfd;
    hs_io_t evio;
    atomic_bool stop;
    uint64_t now;
    int64_t wall;
    unsigned nio;
    uint64_t iter; /* epoll_wait calls so far */
    hs_io_t **watchers; /* by fd: a watcher stopped mid-iteration is skipped */
    unsigned nwatchers;
    hs_timer_t **heap; /* 1-based */
    unsigned heap_len, heap_cap;
    pthread_mutex_t post_mu;
    post_t *posts, **posts_tail;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void update_time(hs_loop_t *loop)
{
    loop->now = mono_ms();
    loop->wall = (int64_t)time(NULL);
}

uint64_t hs_loop_now(const hs_loop_t *loop)
{
    return loop->now;
}

int64_t hs_loop_wall(const hs_loop_t *loop)
{
    return loop->wall;
}

unsigned hs_loop_active(const hs_loop_t *loop)
{
    return loop->nio + loop->heap_len;
}

/* ---- timers ---- */

static void heap_set(hs_loop_t *loop, unsigned i, hs_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_at = i;
}

static void sift_up(hs_loop_t *loop, unsigned i)
{
    hs_timer_t *t = loop->heap[i];
    while (i > 1 && loop->heap[i / 2]->when > t->when) {
        heap_set(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    heap_set(loop, i, t);
}

static void sift_down(hs_loop_t *loop, unsigned i)
{
    hs_timer_t *t = loop->heap[i];
    for (;;) {
        unsigned c = i * 2;
        if (c > loop->heap_len)
            break;
        if (c + 1 <= loop->heap_len && loop->heap[c + 1]->when < loop->heap[c]->when)
            c++;
        if (loop->heap[c]->when >= t->when)
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

static void heap_remove(hs_loop_t *loop, hs_timer_t *t)
{
    unsigned i = t->heap_at;
    hs_timer_t *last = loop->heap[loop->heap_len--];
    t->heap_at = 0;
    if (last == t)
        return;
    heap_set(loop, i, last);
    sift_down(loop, i);
    sift_up(loop, last->heap_at);
}

static int heap_push(hs_loop_t *loop, hs_timer_t *t)
{
    if (loop->heap_len + 1 >= loop->heap_cap) {
        unsigned cap = loop->heap_cap ? loop->heap_cap * 2 : 256;
        hs_timer_t **h = realloc(loop->heap, cap * sizeof(*h));
        if (!h)
            return HS_ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    loop->heap_len++;
    heap_set(loop, loop->heap_len, t);
    sift_up(loop, loop->heap_len);
    return 0;
}

void hs_timer_start(hs_loop_t *loop, hs_timer_t *t, uint64_t delay_ms, hs_timer_cb cb)
{
    uint64_t want = loop->now + delay_ms;
    t->cb = cb;
    t->want = want;
    if (t->heap_at) {
        if (want >= t->when)
            return; /* lazily re-armed when the earlier key pops */
        t->when = want;
        sift_up(loop, t->heap_at);
        return;
    }
    t->when = want;
    /* Allocation failure here would silently drop a timeout; the heap only
     * grows in doubling steps, so treat it like any other OOM invariant. */
    int rc = heap_push(loop, t);
    assert(rc == 0);
    (void)rc;
}

void hs_timer_stop(hs_loop_t *loop, hs_timer_t *t)
{
    if (t->heap_at)
        heap_remove(loop, t);
}

static void run_timers(hs_loop_t *loop)
{
    while (loop->heap_len && loop->heap[1]->when <= loop->now) {
        hs_timer_t *t = loop->heap[1];
        if (t->want != t->when) {
            /* Moved later while queued: re-key, so that overdue timers
             * still fire in deadline order. */
            t->when = t->want;
            sift_down(loop, 1);
            continue;
        }
        heap_remove(loop, t);
        t->cb(loop, t);
    }
}

static int next_timeout(const hs_loop_t *loop)
{
    if (!loop->heap_len)
        return -1;
    uint64_t when = loop->heap[1]->when;
    if (when <= loop->now)
        return 0;
    uint64_t d = when - loop->now;
    return d > 60000 ? 60000 : (int)d;
}

/* ---- I/O ---- */

static uint32_t to_epoll(unsigned ev)
{
    return ((ev & HS_IO_READ) ? EPOLLIN | EPOLLRDHUP : 0) | ((ev & HS_IO_WRITE) ? EPOLLOUT : 0);
}

int hs_io_start(hs_loop_t *loop, hs_io_t *io, int fd, unsigned events, hs_io_cb cb)
{
    if (fd < 0)
        return HS_EINVAL;
    if ((unsigned)fd >= loop->nwatchers) {
        unsigned n = loop->nwatchers ? loop->nwatchers : 1024;
        while (n <= (unsigned)fd)
            n *= 2;
        hs_io_t **w = realloc(loop->watchers, n * sizeof(*w));
        if (!w)
            return HS_ENOMEM;
        memset(w + loop->nwatchers, 0, (n - loop->nwatchers) * sizeof(*w));
        loop->watchers = w;
        loop->nwatchers = n;
    }
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    io->fd = fd;
    io->since = loop->iter;
    io->cb = cb;
    io->events = events;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return HS_ERR(errno);
    loop->watchers[fd] = io;
    loop->nio++;
    return 0;
}

int hs_io_modify(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    if (io->events == events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = io->fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0)
        return HS_ERR(errno);
    io->events = events;
    return 0;
}

void hs_io_stop(hs_loop_t *loop, hs_io_t *io)
{
    if (io->fd < 0)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    if ((unsigned)io->fd < loop->nwatchers && loop->watchers[io->fd] == io)
        loop->watchers[io->fd] = NULL;
    io->fd = -1;
    loop->nio--;
}

/* ---- posts ---- */

int hs_loop_post(hs_loop_t *loop, void (*fn)(void *), void *arg)
{
    post_t *p = malloc(sizeof(*p));
    if (!p)
        return HS_ENOMEM;
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&loop->post_mu);
    bool was_empty = loop->posts == NULL;
    *loop->posts_tail = p;
    loop->posts_tail = &p->next;
    pthread_mutex_unlock(&loop->post_mu);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(loop->evfd, &one, sizeof(one));
        (void)n; /* EAGAIN means a wakeup is already pending */
    }
    return 0;
}

static void on_eventfd(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    uint64_t v;
    ssize_t n = read(io->fd, &v, sizeof(v));
    (void)n;
    (void)events;
    pthread_mutex_lock(&loop->post_mu);
    post_t *p = loop->posts;
    loop->posts = NULL;
    loop->posts_tail = &loop->posts;
    pthread_mutex_unlock(&loop->post_mu);
    while (p) {
        post_t *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

void hs_loop_stop(hs_loop_t *loop)
{
    atomic_store(&loop->stop, true);
    uint64_t one = 1;
    ssize_t n = write(loop->evfd, &one, sizeof(one));
    (void)n;
}

hs_loop_t *hs_loop_new(void)
{
    hs_loop_t *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&loop->post_mu, NULL);
    loop->posts_tail = &loop->posts;
    if (loop->epfd < 0 || loop->evfd < 0 ||
        hs_io_start(loop, &loop->evio, loop->evfd, HS_IO_READ, on_eventfd) != 0) {
        int e = errno;
        hs_loop_free(loop);
        errno = e;
        return NULL;
    }
    loop->nio = 0; /* the internal wakeup watcher does not count as activity */
    update_time(loop);
    return loop;
}

void hs_loop_free(hs_loop_t *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->evfd >= 0)
        close(loop->evfd);
    post_t *p = loop->posts;
    while (p) {
        post_t *next = p->next;
        free(p);
        p = next;
    }
    pthread_mutex_destroy(&loop->post_mu);
    free(loop->watchers);
    free(loop->heap);
    free(loop);
}

int hs_loop_run(hs_loop_t *loop)
{
    struct epoll_event evs[MAX_EVENTS];
    while (!atomic_load_explicit(&loop->stop, memory_order_relaxed)) {
        int n = epoll_wait(loop->epfd, evs, MAX_EVENTS, next_timeout(loop));
        if (n < 0 && errno != EINTR)
            return HS_ERR(errno);
        loop->iter++;
        update_time(loop);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            hs_io_t *io = (unsigned)fd < loop->nwatchers ? loop->watchers[fd] : NULL;
            /* Stopped by an earlier callback of this batch, or a new watcher
             * that reused the fd number of one that was: not its event. */
            if (!io || io->since == loop->iter)
                continue;
            uint32_t e = evs[i].events;
            unsigned ev = ((e & (EPOLLIN | EPOLLRDHUP)) ? HS_IO_READ : 0) |
                          ((e & EPOLLOUT) ? HS_IO_WRITE : 0) |
                          ((e & (EPOLLERR | EPOLLHUP)) ? HS_IO_ERROR : 0);
            io->cb(loop, io, ev);
        }
        run_timers(loop);
    }
    atomic_store(&loop->stop, false);
    return 0;
}
