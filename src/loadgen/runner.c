/*
 * The run itself: worker threads, each with an event loop, an HTTP client
 * whose pool holds the thread's share of the connections, a timerfd that
 * wakes the loop at the next intended send time (the loop's own timers
 * have millisecond resolution, too coarse for a schedule of thousands of
 * requests per second), and its own histogram and counters. The calling
 * thread waits for signals, prints the live line, and merges the results.
 */
#include "loadgen/bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "http/client.h"
#include "loadgen/engine.h"
#include "loadgen/hist.h"
#include "loadgen/rng.h"
#include "loadgen/s3sign.h"
#include "loadgen/stats.h"
#include "loadgen/zipf.h"

#define TICK_MS 100
#define PATH_MAX_LEN 1200
#define DRAIN_GRACE_MS 1000 /* past the request timeout before in-flight calls are cut */
#define BODY_JITTER 65536   /* PUT bodies start at varying offsets of one buffer */

typedef struct shared shared_t;
typedef struct worker worker_t;
typedef struct slot slot_t;

enum phase { PH_PREPARE, PH_RUN };

struct shared {
    const hs_bench_opts_t *o;
    enum phase phase;
    hs_lg_zipf_t pop;
    char *body; /* max PUT size + BODY_JITTER bytes */
    hs_lg_series_t *series;
    pthread_barrier_t ready, go;
    uint64_t start_ns;   /* schedule origin (after the warmup begins) */
    uint64_t measure_ns; /* end of warmup */
    uint64_t end_ns;
    uint64_t stop_ns; /* end_ns, or earlier when interrupted (main thread only) */
    atomic_uint finished;
};

struct slot {
    worker_t *w;
    slot_t *next_free;
    uint64_t intended;
    uint64_t body_in, body_out;
    int status;
    hs_lg_xc_t xc;
    bool put;
};

struct worker {
    shared_t *sh;
    unsigned index;
    pthread_t tid;
    int rc;
    hs_loop_t *loop;
    hs_http_client_t *client;
    hs_io_t tio;
    int tfd;
    uint64_t armed; /* timerfd deadline, UINT64_MAX when disarmed */
    hs_timer_t tick;
    hs_lg_engine_t eng;
    hs_lg_rng_t rng;
    slot_t *slots, *free_slots;
    unsigned nslots;
    uint64_t prep_next; /* prepare: next object of this thread */
    uint64_t drain_deadline;
    bool stopping, done;
    /* whole-run figures */
    hs_lg_hist_t hist;
    hs_lg_counts_t c;
    uint64_t window_responses, window_sent, window_bytes, warmup_responses;
    /* the current second, handed to the series when it is over */
    uint64_t cur_sec;
    hs_lg_hist_t ihist;
    hs_lg_counts_t ic;
    uint64_t ibacklog;
    /* S3 date, formatted once per wall-clock second */
    time_t date_for;
    char amz_date[20];
    char path[PATH_MAX_LEN];
    /* for the live line, read by the main thread */
    atomic_uint_fast64_t live_responses, live_errors, live_backlog;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- per-second series ---- */

/* Hands every second that ended before `now` to the series. */
static void advance(worker_t *w, uint64_t now)
{
    shared_t *sh = w->sh;
    if (sh->phase != PH_RUN || now < sh->measure_ns) return;
    uint64_t sec = (now - sh->measure_ns) / 1000000000ull;
    while (w->cur_sec < sec) {
        hs_lg_series_submit(sh->series, w->cur_sec, w->ihist.total ? &w->ihist : NULL, &w->ic,
                            w->ibacklog);
        if (w->ihist.total) hs_lg_hist_reset(&w->ihist);
        memset(&w->ic, 0, sizeof(w->ic));
        w->ibacklog = 0;
        w->cur_sec++;
    }
}

static void flush_last(worker_t *w)
{
    if (w->sh->phase == PH_RUN)
        hs_lg_series_submit(w->sh->series, w->cur_sec, w->ihist.total ? &w->ihist : NULL, &w->ic,
                            w->ibacklog);
}

/* ---- timers ---- */

static void arm(worker_t *w, uint64_t at)
{
    if (at == w->armed) return;
    struct itimerspec its = {0};
    if (at != UINT64_MAX) {
        if (at == 0) at = 1;
        its.it_value.tv_sec = (time_t)(at / 1000000000ull);
        its.it_value.tv_nsec = (long)(at % 1000000000ull);
    }
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    w->armed = at;
}

static void finish(worker_t *w);

static void pump(worker_t *w)
{
    uint64_t now = mono_ns();
    uint64_t next = hs_lg_engine_pump(&w->eng, now);
    arm(w, next);
    uint64_t b = hs_lg_engine_backlog(&w->eng, now);
    if (b > w->ibacklog) w->ibacklog = b;
    atomic_store_explicit(&w->live_backlog, b, memory_order_relaxed);
    if (!w->done && hs_lg_engine_finished(&w->eng, now)) finish(w);
}

static void on_timerfd(hs_loop_t *loop, hs_io_t *io, unsigned events)
{
    worker_t *w = hs_container_of(io, worker_t, tio);
    uint64_t expirations;
    if (read(w->tfd, &expirations, sizeof(expirations)) < 0) {
        /* spurious wake-up (EAGAIN): the timer stays armed */
    }
    w->armed = UINT64_MAX;
    if (!w->done) pump(w);
}

/* ---- requests ---- */

static void count_error(worker_t *w, hs_lg_err_t k, bool measured)
{
    if (measured) {
        w->c.errors[k]++;
        w->ic.errors[k]++;
    }
    atomic_fetch_add_explicit(&w->live_errors, 1, memory_order_relaxed);
}

static void on_head(void *ctx, const hs_http_msg_t *resp)
{
    slot_t *s = ctx;
    s->status = resp->status;
    s->xc = HS_LG_XC_NONE;
    for (unsigned i = 0; i < resp->num_headers; i++)
        if (HS_STR_IEQ(resp->headers[i].name, "x-cache")) {
            s->xc = hs_lg_xc_of(resp->headers[i].value);
            break;
        }
}

static void on_body(void *ctx, const char *data, size_t len)
{
    slot_t *s = ctx;
    (void)data;
    s->body_in += len;
}

static void record(worker_t *w, slot_t *s, int status, uint64_t now)
{
    shared_t *sh = w->sh;
    bool measured = sh->phase == PH_RUN && s->intended >= sh->measure_ns;
    if (sh->phase == PH_PREPARE) {
        w->c.puts++;
        if (status != 0 || s->status < 200 || s->status >= 300)
            w->c.errors[status != 0 ? hs_lg_err_of(status) : hs_lg_err_of_status(s->status)]++;
        else
            w->c.responses++;
        atomic_fetch_add_explicit(&w->live_responses, 1, memory_order_relaxed);
        return;
    }
    if (!measured) {
        if (status == 0) w->warmup_responses++;
        return;
    }
    advance(w, now);
    if (status != 0) {
        count_error(w, hs_lg_err_of(status), true);
        return;
    }
    uint64_t lat = now > s->intended ? now - s->intended : 0;
    hs_lg_hist_record(&w->hist, lat);
    hs_lg_hist_record(&w->ihist, lat);
    hs_lg_counts_t *cs[2] = {&w->c, &w->ic};
    int cls = s->status / 100;
    hs_lg_err_t ek = hs_lg_err_of_status(s->status);
    for (int i = 0; i < 2; i++) {
        hs_lg_counts_t *c = cs[i];
        c->responses++;
        c->status[cls >= 1 && cls <= 5 ? cls : 0]++;
        c->xcache[s->xc]++;
        c->bytes_in += s->body_in;
        c->bytes_out += s->body_out;
        if (ek != HS_LG_ERR_N) c->errors[ek]++;
    }
    if (ek != HS_LG_ERR_N) atomic_fetch_add_explicit(&w->live_errors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->live_responses, 1, memory_order_relaxed);
    if (now < w->eng.end_ns) {
        w->window_responses++;
        w->window_bytes += s->body_in + s->body_out;
    }
}

static void release(worker_t *w, slot_t *s)
{
    s->next_free = w->free_slots;
    w->free_slots = s;
}

static void on_done(void *ctx, int status)
{
    slot_t *s = ctx;
    worker_t *w = s->w;
    record(w, s, status, mono_ns());
    release(w, s);
    hs_lg_engine_done(&w->eng);
    if (!w->done && !w->stopping)
        pump(w);
    else if (!w->done && w->eng.inflight == 0)
        finish(w);
}

static const char *amz_date(worker_t *w)
{
    time_t now = time(NULL);
    if (now != w->date_for) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->amz_date, sizeof(w->amz_date), "%Y%m%dT%H%M%SZ", &tm);
        w->date_for = now;
    }
    return w->amz_date;
}

/* Engine callback: starts one request. */
static int send_req(void *ctx, uint64_t intended)
{
    worker_t *w = ctx;
    shared_t *sh = w->sh;
    const hs_bench_opts_t *o = sh->o;
    slot_t *s = w->free_slots;
    if (!s) return HS_ELIMIT; /* cannot happen: the engine counts the slots */
    uint64_t obj;
    bool put;
    if (sh->phase == PH_PREPARE) {
        obj = w->prep_next;
        w->prep_next += o->threads;
        put = true;
    } else {
        obj = hs_lg_zipf_sample(&sh->pop, &w->rng);
        put = o->put_ratio > 0 && hs_lg_rng_unit(&w->rng) < o->put_ratio;
    }
    bool measured = sh->phase == PH_RUN && intended >= sh->measure_ns;
    if (hs_lg_pattern_format(&o->pattern, obj, w->path, sizeof(w->path)) < 0) {
        count_error(w, HS_LG_ERR_OTHER, measured);
        return HS_E2BIG;
    }
    hs_http_client_req_t req = {
        .method = put ? HS_HTTP_PUT : HS_HTTP_GET,
        .target = hs_str(w->path, strlen(w->path)),
        .host = hs_str(o->upstream, strlen(o->upstream)),
        /* Only the byte count of an answer is used: dropping the body in
         * the kernel keeps the generator from being the bottleneck on large
         * objects (wrk copies every byte, 8 KiB per read). */
        .discard_body = true,
    };
    uint64_t size = 0;
    if (put) {
        size = hs_lg_sizes_sample(&o->sizes, &w->rng);
        req.body_kind = HS_HTTP_CLIENT_BODY_BUFFER;
        req.body = sh->body + hs_lg_rng_below(&w->rng, BODY_JITTER);
        req.body_len = size;
    }
    hs_lg_s3sig_t sig;
    if (o->s3) {
        int rc = hs_lg_s3_sign(&sig, put ? "PUT" : "GET", w->path, o->upstream, put, o->access_key,
                               o->secret_key, o->region, amz_date(w));
        if (rc < 0) {
            count_error(w, HS_LG_ERR_OTHER, measured);
            return rc;
        }
        req.headers = sig.h;
        req.num_headers = 3;
    }
    static const hs_http_client_cbs_t cbs = {
        .on_head = on_head, .on_body = on_body, .on_done = on_done};
    slot_t *rest = s->next_free;
    *s = (slot_t){.w = w, .intended = intended, .body_out = size, .put = put, .xc = HS_LG_XC_NONE};
    int rc = hs_http_client_request(w->client, o->upstream, &req, &cbs, s, NULL);
    if (rc < 0) {
        s->next_free = rest;
        count_error(w, rc == HS_ELIMIT ? HS_LG_ERR_OTHER : hs_lg_err_of(rc), measured);
        return rc;
    }
    w->free_slots = rest;
    uint64_t now = mono_ns();
    if (measured) {
        advance(w, now);
        w->c.sent++;
        w->ic.sent++;
        if (put)
            w->c.puts++, w->ic.puts++;
        else
            w->c.gets++, w->ic.gets++;
        if (now < w->eng.end_ns) w->window_sent++;
    }
    return 0;
}

/* ---- life cycle ---- */

static void finish(worker_t *w)
{
    w->done = true;
    arm(w, UINT64_MAX);
    advance(w, mono_ns());
    flush_last(w);
    hs_loop_stop(w->loop);
}

/* Past the drain deadline: whatever is still in flight or never sent
 * counts as unfinished. */
static void cut(worker_t *w, uint64_t now)
{
    shared_t *sh = w->sh;
    w->stopping = true;
    uint64_t unsent = hs_lg_engine_backlog(&w->eng, now);
    if (sh->phase == PH_RUN) {
        w->c.errors[HS_LG_ERR_UNFINISHED] += unsent;
        w->ic.errors[HS_LG_ERR_UNFINISHED] += unsent;
    }
    hs_lg_engine_stop(&w->eng, now);
    arm(w, UINT64_MAX);
    /* Freeing the client cancels every call (on_done(HS_ECANCELED) each),
     * which the loop is not inside of here: we are in a timer callback. */
    hs_http_client_free(w->client);
    w->client = NULL;
    if (!w->done) finish(w);
}

static void on_tick(hs_loop_t *loop, hs_timer_t *t)
{
    worker_t *w = hs_container_of(t, worker_t, tick);
    uint64_t now = mono_ns();
    if (w->done) return;
    advance(w, now);
    if (now >= w->drain_deadline) {
        cut(w, now);
        return;
    }
    pump(w);
    if (!w->done) hs_timer_start(loop, &w->tick, TICK_MS, on_tick);
}

/* Posted by the main thread on SIGINT/SIGTERM: end the schedule now. */
static void stop_now(void *arg)
{
    worker_t *w = arg;
    uint64_t now = mono_ns();
    if (w->done) return;
    hs_lg_engine_stop(&w->eng, now);
    uint64_t dl = now + w->sh->o->timeout_ms * 1000000ull + DRAIN_GRACE_MS * 1000000ull;
    if (dl < w->drain_deadline) w->drain_deadline = dl;
    pump(w);
}

/* Posted on a second signal: give up on what is in flight. */
static void cut_now(void *arg)
{
    worker_t *w = arg;
    if (!w->done) w->drain_deadline = 0;
}

static unsigned slots_of(const hs_bench_opts_t *o, unsigned index)
{
    return o->connections / o->threads + (index < o->connections % o->threads ? 1 : 0);
}

static int worker_setup(worker_t *w)
{
    const hs_bench_opts_t *o = w->sh->o;
    w->nslots = slots_of(o, w->index);
    w->slots = calloc(w->nslots, sizeof(*w->slots));
    w->loop = hs_loop_new();
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!w->slots || !w->loop || w->tfd < 0) return HS_ENOMEM;
    for (unsigned i = 0; i < w->nslots; i++)
        release(w, &w->slots[i]);
    hs_http_client_opts_t co = {
        .connect_timeout_ms = (uint32_t)o->timeout_ms,
        .read_timeout_ms = (uint32_t)o->timeout_ms,
        .max_idle_per_upstream = w->nslots,
        .max_conns_per_upstream = w->nslots,
        .max_queue_per_upstream = w->nslots,
    };
    w->client = hs_http_client_new(w->loop, &co);
    if (!w->client) return HS_ENOMEM;
    w->armed = UINT64_MAX;
    int rc = hs_io_start(w->loop, &w->tio, w->tfd, HS_IO_READ, on_timerfd);
    if (rc < 0) return rc;
    hs_lg_hist_reset(&w->hist);
    hs_lg_hist_reset(&w->ihist);
    hs_lg_rng_seed(&w->rng, o->seed, w->index + 1);
    return 0;
}

static void worker_teardown(worker_t *w)
{
    if (w->client) hs_http_client_free(w->client);
    w->client = NULL;
    if (w->loop && w->tfd >= 0) hs_io_stop(w->loop, &w->tio);
    if (w->loop && hs_timer_active(&w->tick)) hs_timer_stop(w->loop, &w->tick);
    if (w->tfd >= 0) close(w->tfd);
    if (w->loop) hs_loop_free(w->loop);
    free(w->slots);
    w->loop = NULL;
    w->slots = NULL;
    w->tfd = -1;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    const hs_bench_opts_t *o = sh->o;
    w->rc = worker_setup(w);
    pthread_barrier_wait(&sh->ready);
    pthread_barrier_wait(&sh->go);
    if (w->rc == 0) {
        unsigned slots = w->nslots;
        if (sh->phase == PH_PREPARE) {
            uint64_t mine = o->objects / o->threads + (w->index < o->objects % o->threads ? 1 : 0);
            w->prep_next = w->index;
            hs_lg_engine_init_closed(&w->eng, sh->start_ns, UINT64_MAX, mine, slots, send_req, w);
            w->drain_deadline = UINT64_MAX;
            if (mine == 0) w->done = true;
        } else if (o->closed) {
            hs_lg_engine_init_closed(&w->eng, sh->start_ns, sh->end_ns, 0, slots, send_req, w);
        } else {
            hs_lg_engine_init_open(&w->eng, o->rate, o->threads, w->index, sh->start_ns, sh->end_ns,
                                   slots, send_req, w);
        }
        if (sh->phase == PH_RUN)
            w->drain_deadline =
                sh->end_ns + o->timeout_ms * 1000000ull + DRAIN_GRACE_MS * 1000000ull;
        if (!w->done) {
            hs_timer_start(w->loop, &w->tick, TICK_MS, on_tick);
            arm(w, sh->start_ns);
            w->rc = hs_loop_run(w->loop);
        }
    }
    worker_teardown(w);
    atomic_fetch_add(&sh->finished, 1);
    return NULL;
}

/* ---- the calling thread ---- */

static int check_reachable(const char *upstream, uint64_t timeout_ms, char *err, size_t errlen)
{
    char host[HS_LG_HOST_MAX];
    snprintf(host, sizeof(host), "%s", upstream);
    char *colon = strrchr(host, ':');
    if (!colon) return HS_EINVAL;
    *colon = '\0';
    int port = atoi(colon + 1);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strlen(h) - 1] = '\0';
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (strcmp(h, "localhost") == 0) h = "127.0.0.1";
    if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        return HS_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return HS_ERR(errno);
    int rc = 0;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS) {
            rc = HS_ERR(errno);
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int n = poll(&pfd, 1, (int)(timeout_ms < 5000 ? timeout_ms : 5000));
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (n == 0)
                rc = HS_ETIMEDOUT;
            else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                rc = HS_ERR(errno);
            else if (soerr)
                rc = HS_ERR(soerr);
        }
    }
    close(fd);
    if (rc < 0)
        snprintf(err, errlen, "cannot connect to %s: %s (is the server running?)", upstream,
                 hs_strerror(rc));
    return rc;
}

static void live_line(worker_t *ws, unsigned n, shared_t *sh, uint64_t now, bool tty)
{
    uint64_t resp = 0, errs = 0, backlog = 0;
    for (unsigned i = 0; i < n; i++) {
        resp += atomic_load_explicit(&ws[i].live_responses, memory_order_relaxed);
        errs += atomic_load_explicit(&ws[i].live_errors, memory_order_relaxed);
        backlog += atomic_load_explicit(&ws[i].live_backlog, memory_order_relaxed);
    }
    char line[256];
    if (sh->phase == PH_PREPARE) {
        snprintf(line, sizeof(line), "prepare  %llu of %llu objects stored, %llu errors",
                 (unsigned long long)resp, (unsigned long long)sh->o->objects,
                 (unsigned long long)errs);
    } else if (now < sh->measure_ns) {
        snprintf(line, sizeof(line), "warmup  %.0fs left", (double)(sh->measure_ns - now) / 1e9);
    } else {
        hs_lg_point_t p;
        int64_t sec = hs_lg_series_latest(sh->series, &p);
        double el = (double)(now - sh->measure_ns) / 1e9;
        if (sec < 0)
            snprintf(line, sizeof(line), "%5.0fs  %llu answers  %llu errors  backlog %llu", el,
                     (unsigned long long)resp, (unsigned long long)errs,
                     (unsigned long long)backlog);
        else
            snprintf(line, sizeof(line),
                     "%5.0fs  second %lld: %llu req/s  p50 %.3f ms  p99 %.3f ms  %llu errors  "
                     "| total %llu errors, backlog %llu",
                     el, (long long)sec + 1, (unsigned long long)p.c.responses,
                     (double)p.p50_ns / 1e6, (double)p.p99_ns / 1e6,
                     (unsigned long long)hs_lg_counts_errors(&p.c), (unsigned long long)errs,
                     (unsigned long long)backlog);
    }
    fprintf(stderr, tty ? "\r%-100s" : "%s\n", line);
    fflush(stderr);
}

/* Runs one phase on o->threads threads; returns the first thread error. */
static int run_phase(shared_t *sh, worker_t *ws, hs_bench_result_t *r)
{
    const hs_bench_opts_t *o = sh->o;
    unsigned n = o->threads, started = 0;
    int rc = 0;
    atomic_store(&sh->finished, 0);
    pthread_barrier_init(&sh->ready, NULL, n + 1);
    pthread_barrier_init(&sh->go, NULL, n + 1);
    for (unsigned i = 0; i < n; i++) {
        ws[i] = (worker_t){.sh = sh, .index = i, .tfd = -1};
        atomic_init(&ws[i].live_responses, 0);
        atomic_init(&ws[i].live_errors, 0);
        atomic_init(&ws[i].live_backlog, 0);
    }
    for (; started < n; started++)
        if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) != 0) break;
    if (started < n) {
        /* the barriers count n + 1: stand in for the threads that never came */
        for (unsigned i = started; i < n; i++) {
            ws[i].rc = HS_ENOMEM;
            atomic_fetch_add(&sh->finished, 1);
        }
        pthread_barrier_destroy(&sh->ready);
        pthread_barrier_destroy(&sh->go);
        /* the started threads wait on barriers that cannot complete: this is
         * only reachable when the process is out of threads, so give up */
        fprintf(stderr, "hyperscale bench: cannot start %u threads\n", n);
        exit(1);
    }
    pthread_barrier_wait(&sh->ready);
    uint64_t now = mono_ns();
    /* 2 ms gives every thread time to arm its first timer */
    sh->start_ns = now + 2000000ull;
    if (sh->phase == PH_RUN) {
        sh->measure_ns = sh->start_ns + o->warmup_ms * 1000000ull;
        sh->end_ns = sh->measure_ns + o->duration_ms * 1000000ull;
    } else {
        sh->measure_ns = sh->end_ns = UINT64_MAX;
    }
    sh->stop_ns = sh->end_ns;
    pthread_barrier_wait(&sh->go);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    bool tty = isatty(STDERR_FILENO);
    uint64_t next_line = sh->start_ns + 1000000000ull;
    unsigned signals = 0;
    while (atomic_load(&sh->finished) < n) {
        struct timespec ts = {0, TICK_MS * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            signals++;
            r->interrupted = true;
            for (unsigned i = 0; i < n; i++)
                if (ws[i].loop) hs_loop_post(ws[i].loop, signals == 1 ? stop_now : cut_now, &ws[i]);
            now = mono_ns();
            if (signals == 1 && now < sh->stop_ns)
                sh->stop_ns = now > sh->measure_ns ? now : sh->measure_ns;
        }
        now = mono_ns();
        if (o->progress && now >= next_line) {
            live_line(ws, n, sh, now, tty);
            next_line += 1000000000ull;
        }
    }
    if (o->progress && tty) fputc('\n', stderr);
    for (unsigned i = 0; i < n; i++) {
        pthread_join(ws[i].tid, NULL);
        if (ws[i].rc < 0 && rc == 0) rc = ws[i].rc;
    }
    pthread_barrier_destroy(&sh->ready);
    pthread_barrier_destroy(&sh->go);
    return rc;
}

int hs_bench_run(const hs_bench_opts_t *o, hs_bench_result_t *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    hs_lg_hist_reset(&r->hist);
    r->started_wall = (int64_t)time(NULL);
    int rc = check_reachable(o->upstream, o->timeout_ms, err, errlen);
    if (rc < 0) return rc;

    shared_t *sh = calloc(1, sizeof(*sh));
    worker_t *ws = calloc(o->threads, sizeof(*ws));
    size_t body_len = (size_t)o->sizes.max + BODY_JITTER;
    char *body = (o->put_ratio > 0 || o->prepare) ? malloc(body_len) : NULL;
    if (!sh || !ws || ((o->put_ratio > 0 || o->prepare) && !body)) {
        rc = HS_ENOMEM;
        goto out;
    }
    if (body) {
        /* incompressible bytes, so a compressing store sees real sizes */
        hs_lg_rng_t br;
        hs_lg_rng_seed(&br, o->seed, 0);
        for (size_t i = 0; i + 8 <= body_len; i += 8) {
            uint64_t v = hs_lg_rng_next(&br);
            memcpy(body + i, &v, 8);
        }
    }
    sh->o = o;
    sh->body = body;
    if ((rc = hs_lg_zipf_init(&sh->pop, o->objects, o->zipf)) < 0) {
        snprintf(err, errlen, "cannot build the popularity table: %s", hs_strerror(rc));
        goto out;
    }
    /* Threads must not take the signals: the calling thread waits for them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    if (o->prepare) {
        sh->phase = PH_PREPARE;
        uint64_t t0 = mono_ns();
        rc = run_phase(sh, ws, r);
        r->prepare_s = (double)(mono_ns() - t0) / 1e9;
        for (unsigned i = 0; i < o->threads; i++) {
            r->prepare_puts += ws[i].c.puts;
            r->prepare_errors += hs_lg_counts_errors(&ws[i].c);
        }
        if (rc == 0 && r->prepare_errors) {
            snprintf(err, errlen,
                     "--prepare: %llu of %llu PUTs failed (is the bucket there and "
                     "writable?)",
                     (unsigned long long)r->prepare_errors, (unsigned long long)r->prepare_puts);
            rc = HS_EIO;
        }
        if (rc == 0 && r->interrupted) rc = HS_ECANCELED;
    }
    if (rc == 0) {
        uint64_t secs = (o->warmup_ms + o->duration_ms + o->timeout_ms) / 1000 + 4;
        sh->series = hs_lg_series_new(o->threads, secs);
        if (!sh->series) {
            rc = HS_ENOMEM;
        } else {
            sh->phase = PH_RUN;
            rc = run_phase(sh, ws, r);
            hs_lg_series_finish(sh->series);
            r->series = sh->series;
            sh->series = NULL;
            uint64_t end = sh->stop_ns;
            r->window_s = (double)(end - sh->measure_ns) / 1e9;
            for (unsigned i = 0; i < o->threads; i++) {
                worker_t *w = &ws[i];
                hs_lg_hist_merge(&r->hist, &w->hist);
                hs_lg_counts_add(&r->c, &w->c);
                r->window_responses += w->window_responses;
                r->window_sent += w->window_sent;
                r->window_bytes += w->window_bytes;
                r->warmup_responses += w->warmup_responses;
                r->max_backlog += w->eng.max_backlog;
            }
            if (rc < 0) snprintf(err, errlen, "a worker thread failed: %s", hs_strerror(rc));
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
    if (rc == HS_ENOMEM && err[0] == '\0') snprintf(err, errlen, "out of memory");
    if (sh) hs_lg_zipf_free(&sh->pop);
    free(body);
    free(ws);
    free(sh);
    return rc;
}

void hs_bench_result_free(hs_bench_result_t *r)
{
    hs_lg_series_free(r->series);
    r->series = NULL;
}
