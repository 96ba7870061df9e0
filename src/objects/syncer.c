/*
 * The write path's syncs, in parallel and shared. A put's fragment files
 * are fdatasynced at once by a few process-wide threads rather than one
 * after another: concurrent syncs on one filesystem join the same journal
 * commit and keep several flushes queued at the device. A drive directory
 * is fsynced once for every writer whose files it now names: a writer
 * waits for an fsync that began after its files were created (a ticket:
 * syncs of one directory are numbered and run one at a time), or starts
 * one, so N concurrent puts cost one directory fsync per drive, not N.
 */
#include "objects/syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* Threads that only wait on the device; each put brings up to D+P syncs
 * (6 with 4+2) and the I/O pool runs 4 puts at once. */
#define SYNC_THREADS 12
/* Directories with shared syncs (drives of every store in the process);
 * past this a directory is fsynced by each caller, as before sharing. */
#define DIRS_MAX 256

/* ---------------- shared directory syncs ---------------- */

typedef struct dsync {
    char *path;
    pthread_cond_t cv;
    uint64_t started, done; /* syncs begun / finished, in order */
    bool running;
    int rc; /* of the last finished sync */
} dsync_t;

static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static dsync_t dirs[DIRS_MAX];
static size_t ndirs;

static int fsync_at(const char *path, bool dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0) return errno == ENOENT ? HS_ENOENT : HS_ERR(errno);
    int rc = (dir ? fsync(fd) : fdatasync(fd)) < 0 ? HS_ERR(errno) : 0;
    close(fd);
    return rc;
}

/* The registry entry of path, added if new (caller holds dmu). */
static dsync_t *dir_find(const char *path)
{
    for (size_t i = 0; i < ndirs; i++)
        if (strcmp(dirs[i].path, path) == 0) return &dirs[i];
    if (ndirs == DIRS_MAX) return NULL;
    dsync_t *d = &dirs[ndirs];
    if (!(d->path = strdup(path))) return NULL;
    pthread_cond_init(&d->cv, NULL);
    ndirs++;
    return d;
}

int hs__dir_sync(const char *path)
{
    pthread_mutex_lock(&dmu);
    dsync_t *d = dir_find(path);
    if (!d) {
        pthread_mutex_unlock(&dmu);
        return fsync_at(path, true);
    }
    /* A sync running now may have read the directory before our entries
     * were made: only the next one to start counts for us. */
    uint64_t want = d->started + 1;
    while (d->done < want) {
        if (d->running) {
            pthread_cond_wait(&d->cv, &dmu);
            continue;
        }
        d->started++;
        d->running = true;
        pthread_mutex_unlock(&dmu);
        int rc = fsync_at(path, true);
        pthread_mutex_lock(&dmu);
        d->done = d->started;
        d->rc = rc;
        d->running = false;
        pthread_cond_broadcast(&d->cv);
    }
    /* Any sync finished by now began after our call; its result is ours. */
    int rc = d->rc;
    pthread_mutex_unlock(&dmu);
    return rc;
}

/* ---------------- parallel syncs ---------------- */

typedef struct batch {
    hs__sync_op_t *ops;
    size_t n, next, left;
    struct batch *qnext;
} batch_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static batch_t *qhead;
static pthread_once_t started_once = PTHREAD_ONCE_INIT;
static int nthreads;

static void run_op(hs__sync_op_t *op)
{
    op->rc = op->dir ? hs__dir_sync(op->path) : fsync_at(op->path, false);
}

/* Claims b's next op; unlinks b from the queue when it was the last
 * (caller holds mu, b has an op left). */
static hs__sync_op_t *claim(batch_t *b)
{
    hs__sync_op_t *op = &b->ops[b->next++];
    if (b->next == b->n)
        for (batch_t **pp = &qhead; *pp; pp = &(*pp)->qnext)
            if (*pp == b) {
                *pp = b->qnext;
                break;
            }
    return op;
}

static void *sync_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!qhead)
            pthread_cond_wait(&work_cv, &mu);
        batch_t *b = qhead;
        hs__sync_op_t *op = claim(b);
        pthread_mutex_unlock(&mu);
        run_op(op);
        pthread_mutex_lock(&mu);
        if (--b->left == 0) pthread_cond_broadcast(&done_cv);
    }
    return NULL;
}

static void start_threads(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 128 * 1024);
    for (int i = 0; i < SYNC_THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, &at, sync_thread, NULL) != 0) break;
        nthreads++;
    }
    pthread_attr_destroy(&at);
}

void hs__sync_run(hs__sync_op_t *ops, size_t n)
{
    pthread_once(&started_once, start_threads);
    if (n <= 1 || nthreads == 0) {
        for (size_t i = 0; i < n; i++)
            run_op(&ops[i]);
        return;
    }
    batch_t b = {.ops = ops, .n = n, .left = n};
    pthread_mutex_lock(&mu);
    batch_t **pp = &qhead; /* oldest first: at most a few puts are queued */
    while (*pp)
        pp = &(*pp)->qnext;
    *pp = &b;
    if (n - 1 < (size_t)nthreads)
        for (size_t i = 0; i + 1 < n; i++)
            pthread_cond_signal(&work_cv);
    else
        pthread_cond_broadcast(&work_cv);
    while (b.next < b.n) {
        hs__sync_op_t *op = claim(&b);
        pthread_mutex_unlock(&mu);
        run_op(op);
        pthread_mutex_lock(&mu);
        b.left--;
    }
    while (b.left > 0)
        pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
}
