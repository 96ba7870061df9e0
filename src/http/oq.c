/*
 * Connection output queue. Owned segments come from a per-thread free list
 * so that a keep-alive connection holds no buffer memory while idle.
 */
#include "http/oq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/err.h"

#define FREE_MAX 64
#define IOV_BATCH 64

enum { HS_OSEG_OWN, HS_OSEG_REF, HS_OSEG_FILE };

static _Thread_local hs_oseg_t *free_own;
static _Thread_local unsigned free_own_n;
static pthread_key_t free_key;
static pthread_once_t free_once = PTHREAD_ONCE_INIT;

/* Thread exit: give the cached segments back. */
static void free_list_destroy(void *unused)
{
    (void)unused;
    while (free_own) {
        hs_oseg_t *s = free_own;
        free_own = s->next;
        free(s);
    }
    free_own_n = 0;
}

static void free_key_init(void)
{
    pthread_key_create(&free_key, free_list_destroy);
}

static hs_oseg_t *seg_new(unsigned char kind)
{
    hs_oseg_t *s;
    if (kind == HS_OSEG_OWN && free_own) {
        s = free_own;
        free_own = s->next;
        free_own_n--;
        s->next = NULL;
        s->len = 0;
        s->base = (char *)(s + 1);
        return s;
    }
    size_t extra = kind == HS_OSEG_OWN ? HS_OQ_SEG_SIZE : 0;
    s = malloc(sizeof(*s) + extra);
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->fd = -1;
    if (kind == HS_OSEG_OWN) {
        s->base = (char *)(s + 1);
        s->cap = HS_OQ_SEG_SIZE;
    }
    return s;
}

static void seg_free(hs_oseg_t *s)
{
    if (s->release)
        s->release(s->ref);
    if (s->kind == HS_OSEG_OWN && free_own_n < FREE_MAX) {
        if (free_own_n == 0) {
            pthread_once(&free_once, free_key_init);
            pthread_setspecific(free_key, (void *)1);
        }
        s->next = free_own;
        free_own = s;
        free_own_n++;
        return;
    }
    free(s);
}

static void push(hs_oq_t *q, hs_oseg_t *s)
{
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
}

/* Room left in the tail's owned storage (0 if the tail is not owned). */
static size_t tail_room(const hs_oq_t *q)
{
    const hs_oseg_t *t = q->tail;
    if (!t || t->kind != HS_OSEG_OWN)
        return 0;
    /* base advances as bytes are sent; storage ends at (t+1)+cap */
    return (size_t)((const char *)(t + 1) + t->cap - (t->base + t->len));
}

char *hs_oq_reserve(hs_oq_t *q, size_t len)
{
    if (tail_room(q) < len) {
        hs_oseg_t *s = seg_new(HS_OSEG_OWN);
        if (!s)
            return NULL;
        push(q, s);
    }
    return q->tail->base + q->tail->len;
}

void hs_oq_commit(hs_oq_t *q, size_t len)
{
    q->tail->len += len;
    q->bytes += len;
}

int hs_oq_append(hs_oq_t *q, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        size_t room = tail_room(q);
        if (!room) {
            hs_oseg_t *s = seg_new(HS_OSEG_OWN);
            if (!s)
                return HS_ENOMEM;
            push(q, s);
            room = s->cap;
        }
        size_t n = len < room ? len : room;
        memcpy(q->tail->base + q->tail->len, p, n);
        q->tail->len += n;
        q->bytes += n;
        p += n;
        len -= n;
    }
    return 0;
}

int hs_oq_append_ref(hs_oq_t *q, const void *data, size_t len, hs_oq_release_cb release,
                     void *ref)
{
    hs_oseg_t *s = seg_new(HS_OSEG_REF);
    if (!s) {
        if (release)
            release(ref);
        return HS_ENOMEM;
    }
    s->base = (char *)data;
    s->len = len;
    s->release = release;
    s->ref = ref;
    push(q, s);
    q->bytes += len;
    return 0;
}

int hs_oq_append_file(hs_oq_t *q, int fd, off_t off, size_t len, hs_oq_release_cb release,
                      void *ref)
{
    hs_oseg_t *s = seg_new(HS_OSEG_FILE);
    if (!s) {
        if (release)
            release(ref);
        return HS_ENOMEM;
    }
    s->fd = fd;
    s->off = off;
    s->len = len;
    s->release = release;
    s->ref = ref;
    push(q, s);
    q->bytes += len;
    return 0;
}

static void pop_done(hs_oq_t *q)
{
    while (q->head && q->head->len == 0) {
        hs_oseg_t *s = q->head;
        q->head = s->next;
        if (!q->head)
            q->tail = NULL;
        seg_free(s);
    }
}

int hs_oq_flush(hs_oq_t *q, int fd, size_t *sent)
{
    pop_done(q);
    while (q->head) {
        hs_oseg_t *s = q->head;
        ssize_t n;
        if (s->kind == HS_OSEG_FILE) {
            size_t want = s->len > (1u << 30) ? (1u << 30) : s->len;
            n = sendfile(fd, s->fd, &s->off, want);
            if (n == 0)
                return HS_EIO; /* file shrank under us: the framing is now wrong */
            if (n > 0) {
                s->len -= (size_t)n;
                q->bytes -= (size_t)n;
            }
        } else {
            struct iovec iov[IOV_BATCH];
            int cnt = 0;
            for (hs_oseg_t *t = s; t && t->kind != HS_OSEG_FILE && cnt < IOV_BATCH; t = t->next)
                if (t->len)
                    iov[cnt++] = (struct iovec){t->base, t->len};
            n = cnt == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len) : writev(fd, iov, cnt);
            if (n > 0) {
                size_t left = (size_t)n;
                q->bytes -= left;
                for (hs_oseg_t *t = s; left; t = t->next) {
                    size_t k = t->len < left ? t->len : left;
                    t->base += k;
                    t->len -= k;
                    left -= k;
                }
            }
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return HS_EAGAIN;
            if (errno == EINTR)
                continue;
            return HS_ERR(errno);
        }
        if (sent)
            *sent += (size_t)n;
        /* Owned segments that are now empty restart at their storage start. */
        pop_done(q);
    }
    return 0;
}

void hs_oq_clear(hs_oq_t *q)
{
    while (q->head) {
        hs_oseg_t *s = q->head;
        q->head = s->next;
        seg_free(s);
    }
    q->tail = NULL;
    q->bytes = 0;
}
