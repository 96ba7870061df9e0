/* Blocking-work thread pool: one mutex-protected FIFO, condition variable
 * wake-ups, completions handed back with hs_loop_post. */
#include "core/tpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/metrics.h"

struct hs_tpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hs_tpool_job_t *head, *tail;
    unsigned queued, max_queue;
    unsigned running;
    unsigned nthreads;
    bool stop;
    pthread_t *threads;
};

static void run_done(void *arg)
{
    hs_tpool_job_t *job = arg;
    job->done(job);
}

static void *worker(void *arg)
{
    hs_tpool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        hs_tpool_job_t *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        job->work(job);
        /* If the post cannot be queued (out of memory) there is no safe way
         * to hand the job back; retry until it can. */
        while (hs_loop_post(job->loop, run_done, job) != 0)
            sched_yield();
        pthread_mutex_lock(&p->mu);
        p->running--;
        pthread_mutex_unlock(&p->mu);
    }
}

hs_tpool_t *hs_tpool_new(unsigned threads, unsigned max_queue)
{
    hs_tpool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->threads = calloc(threads, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max_queue = max_queue;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        hs_tpool_free(p);
        return NULL;
    }
    return p;
}

int hs_tpool_submit(hs_tpool_t *p, hs_loop_t *loop, hs_tpool_job_t *job)
{
    job->loop = loop;
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->queued >= p->max_queue || p->stop) {
        pthread_mutex_unlock(&p->mu);
        return HS_EBUSY;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void hs_tpool_free(hs_tpool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

static hs_tpool_t *io_pool;

unsigned hs_tpool_pending(hs_tpool_t *p)
{
    pthread_mutex_lock(&p->mu);
    unsigned n = p->queued + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

bool hs_tpool_io_started(void)
{
    return io_pool != NULL;
}

static pthread_once_t io_once = PTHREAD_ONCE_INIT;
static void io_init(void)
{
    io_pool = hs_tpool_new(4, 4096);
}

hs_tpool_t *hs_tpool_io(void)
{
    pthread_once(&io_once, io_init);
    return io_pool;
}
