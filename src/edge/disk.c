/*
 * Disk tier of the edge cache (see disk.h). The index is a memory tier
 * (mem.c) of body-less entries charged with their file sizes, so the disk
 * budget, SIEVE eviction, Vary variants, invalidation and purges come from
 * the same code; removing an entry deletes its file on the I/O pool.
 * Pool jobs own everything they touch (paths and copies), never the index.
 * The one file access on the loop is hs_edge_disk_open: a hit on a file
 * already checked reads a few page-cache bytes there, which costs less
 * than two thread hand-offs.
 */
#include "edge/disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "edge/mem.h"

#define MAGIC "HSEDGE02"
#define MAX_FIELD (1u << 20) /* keys, lists and header blocks are far smaller */
/* Bodies below this are read into memory (and go back to the memory tier);
 * larger ones are sent from their file. Below it a copy costs less than
 * the sendfile setup, and a whole-file checksum on every hit is cheap. */
#define INLINE_MAX 16384
/* First read of a file opened on the loop: fixed header plus the usual
 * keys and header block. */
#define HEAD_READ 4096

typedef struct fhdr {
    char magic[8];
    uint32_t status, meta_flags;
    int64_t response_time, initial_age, lifetime, swr, sie;
    uint32_t key_len, vary_len, sec_len, tags_len, hdr_len, pad;
    uint64_t body_len;
    uint64_t checksum;     /* XXH3 of everything after this header */
    uint64_t hdr_checksum; /* XXH3 of the keys, lists and header block (all but the body) */
} fhdr_t;

struct hs_edge_disk {
    char *dir;
    hs_loop_t *loop;
    hs_tpool_t *pool;
    hs_edge_mem_t *index;
    uint64_t max_bytes;
    uint64_t next_id;
    unsigned pending; /* jobs submitted and not done */
    uint64_t gen;     /* bumped by purges and invalidations */
    bool ready;
    bool warned; /* a failed write was logged (once: a full or read-only disk fails them all) */
    void (*ready_cb)(void *arg);
    void *ready_arg;
    char *scratch; /* hs_edge_disk_open's reads; its vary/sec point here */
    size_t scratch_cap;
};

static void path_of(char *out, size_t cap, const char *dir, uint64_t id, const char *ext)
{
    snprintf(out, cap, "%s/%016llx.%s", dir, (unsigned long long)id, ext);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return HS_ERR(errno);
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return HS_ERR(errno);
        }
        if (r == 0)
            return HS_ECORRUPT; /* shorter than its header says */
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static size_t strings_len(const fhdr_t *h)
{
    return (size_t)h->key_len + h->vary_len + h->sec_len + h->tags_len + h->hdr_len;
}

static int64_t ctime_ns(const struct stat *st)
{
    return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static bool fhdr_ok(const fhdr_t *h, uint64_t file_size)
{
    if (memcmp(h->magic, MAGIC, 8) != 0)
        return false;
    if (h->key_len == 0 || h->key_len > MAX_FIELD || h->vary_len > MAX_FIELD ||
        h->sec_len > MAX_FIELD || h->tags_len > MAX_FIELD || h->hdr_len > MAX_FIELD)
        return false;
    uint64_t want = sizeof(*h) + (uint64_t)h->key_len + h->vary_len + h->sec_len + h->tags_len +
                    h->hdr_len + h->body_len;
    return h->body_len <= file_size && want == file_size;
}

/* ---- removal ---- */

typedef struct ujob {
    hs_tpool_job_t job;
    hs_edge_disk_t *d;
    char path[PATH_MAX];
} ujob_t;

static void unlink_work(hs_tpool_job_t *job)
{
    unlink(((ujob_t *)job)->path);
}

static void unlink_done(hs_tpool_job_t *job)
{
    ((ujob_t *)job)->d->pending--;
    free(job);
}

static void on_index_remove(void *arg, hs_edge_obj_t *e)
{
    hs_edge_disk_t *d = arg;
    ujob_t *u = malloc(sizeof(*u));
    if (!u)
        return; /* the file stays; the next scan finds it again */
    u->d = d;
    path_of(u->path, sizeof(u->path), d->dir, e->file_id, "hso");
    u->job.work = unlink_work;
    u->job.done = unlink_done;
    if (hs_tpool_submit(d->pool, d->loop, &u->job) != 0)
        free(u);
    else
        d->pending++;
}

/* ---- index entries ---- */

/* A new file's header: magic and the freshness fields of m. */
static void fhdr_set_meta(fhdr_t *h, const hs_edge_meta_t *m)
{
    memcpy(h->magic, MAGIC, 8);
    h->meta_flags = m->flags;
    h->response_time = m->response_time;
    h->initial_age = m->initial_age;
    h->lifetime = m->lifetime;
    h->swr = m->swr;
    h->sie = m->sie;
}

static hs_edge_obj_t *entry_new(const fhdr_t *h, uint64_t id, const char *tags)
{
    hs_edge_obj_t *e = hs_edge_obj_new();
    if (!e)
        return NULL;
    e->status = (int)h->status;
    e->size = sizeof(*h) + h->key_len + h->vary_len + h->sec_len + h->tags_len + h->hdr_len +
              h->body_len; /* charged: the whole file */
    e->meta = (hs_edge_meta_t){h->response_time, h->initial_age, h->lifetime, h->swr, h->sie,
                               h->meta_flags};
    e->file_id = id;
    if (h->tags_len && (e->tags = malloc(h->tags_len)) != NULL) {
        memcpy(e->tags, tags, h->tags_len);
        e->tags_len = h->tags_len;
    }
    return e;
}

/* st: the file as written by this process (its checksum is the one just
 * computed from memory), or NULL when its body is not verified yet. */
static void index_put(hs_edge_disk_t *d, const fhdr_t *h, uint64_t id, const char *strings,
                      const struct stat *st)
{
    const char *key = strings, *vary = key + h->key_len, *sec = vary + h->vary_len;
    const char *tags = sec + h->sec_len;
    hs_edge_obj_t *e = entry_new(h, id, tags);
    if (!e)
        return;
    if (st) {
        e->file_ok = true;
        e->file_ino = (uint64_t)st->st_ino;
        e->file_ctime_ns = ctime_ns(st);
    }
    int rc = hs_edge_mem_insert(d->index, (hs_str_t){key, h->key_len},
                                (hs_str_t){vary, h->vary_len}, (hs_str_t){sec, h->sec_len}, e);
    if (rc != 0)
        on_index_remove(d, e); /* cannot be indexed: its file goes */
    hs_edge_obj_unref(e);
}

/* ---- startup scan ---- */

typedef struct found {
    fhdr_t h;
    uint64_t id;
    char *strings; /* key, vary, sec, tags, hdr */
} found_t;

typedef struct sjob {
    hs_tpool_job_t job;
    hs_edge_disk_t *d;
    char dir[PATH_MAX];
    found_t *v;
    size_t n, cap;
} sjob_t;

static int by_time(const void *a, const void *b)
{
    const found_t *x = a, *y = b;
    return x->h.response_time < y->h.response_time ? -1 : x->h.response_time > y->h.response_time;
}

static void mkdir_p(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

static void scan_work(hs_tpool_job_t *job)
{
    sjob_t *s = (sjob_t *)job;
    mkdir_p(s->dir);
    DIR *dir = opendir(s->dir);
    if (!dir)
        return;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        char path[PATH_MAX + 300]; /* dir (< PATH_MAX) + '/' + a d_name (< 256) */
        size_t nl = strlen(de->d_name);
        if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
            snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
            unlink(path); /* a write cut by a crash */
            continue;
        }
        if (nl != 20 || strcmp(de->d_name + 16, ".hso") != 0)
            continue;
        char *end;
        uint64_t id = strtoull(de->d_name, &end, 16);
        if (end != de->d_name + 16)
            continue;
        snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        found_t f = {.id = id};
        bool ok = fstat(fd, &st) == 0 && read_all(fd, &f.h, sizeof(f.h)) == 0 &&
                  fhdr_ok(&f.h, (uint64_t)st.st_size);
        size_t sl = ok ? strings_len(&f.h) : 0; /* the header block too, for its checksum */
        if (ok && (f.strings = malloc(sl ? sl : 1)) != NULL && read_all(fd, f.strings, sl) == 0 &&
            (ok = XXH3_64bits(f.strings, sl) == f.h.hdr_checksum)) {
            if (s->n == s->cap) {
                size_t c = s->cap ? s->cap * 2 : 64;
                found_t *nv = realloc(s->v, c * sizeof(*nv));
                if (!nv) {
                    free(f.strings);
                    close(fd);
                    break;
                }
                s->v = nv;
                s->cap = c;
            }
            s->v[s->n++] = f;
        } else {
            free(f.strings);
            if (!ok)
                unlink(path);
        }
        close(fd);
    }
    closedir(dir);
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), by_time); /* oldest first: SIEVE keeps the newest */
}

static void scan_done(hs_tpool_job_t *job)
{
    sjob_t *s = (sjob_t *)job;
    hs_edge_disk_t *d = s->d;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].id >= d->next_id)
            d->next_id = s->v[i].id + 1;
        index_put(d, &s->v[i].h, s->v[i].id, s->v[i].strings, NULL);
        free(s->v[i].strings);
    }
    free(s->v);
    d->ready = true;
    d->pending--;
    hs_log_info("edge_disk_loaded", "dir=%s objects=%zu", d->dir, s->n);
    free(s);
    if (d->ready_cb)
        d->ready_cb(d->ready_arg);
}

/* ---- public ---- */

hs_edge_disk_t *hs_edge_disk_new(const char *dir, uint64_t max_bytes, hs_loop_t *loop,
                                 hs_tpool_t *pool, void (*ready)(void *arg), void *arg,
                                 int *err)
{
    hs_edge_disk_t *d = calloc(1, sizeof(*d));
    sjob_t *s = calloc(1, sizeof(*s));
    if (!d || !s || strlen(dir) + 32 >= PATH_MAX || !(d->dir = strdup(dir)) ||
        !(d->index = hs_edge_mem_new_tier(max_bytes, "disk"))) {
        *err = d && s && strlen(dir) + 32 >= PATH_MAX ? HS_EINVAL : HS_ENOMEM;
        if (d)
            free(d->dir);
        free(d);
        free(s);
        return NULL;
    }
    d->loop = loop;
    d->pool = pool;
    d->max_bytes = max_bytes;
    d->ready_cb = ready;
    d->ready_arg = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d->next_id = (uint64_t)ts.tv_sec << 24; /* above the ids of earlier runs */
    hs_edge_mem_on_remove(d->index, on_index_remove, d);
    s->d = d;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->job.work = scan_work;
    s->job.done = scan_done;
    if (hs_tpool_submit(pool, loop, &s->job) != 0) {
        free(s);
        d->ready = true; /* start empty */
        if (ready)
            ready(arg);
    } else {
        d->pending++;
    }
    return d;
}

void hs_edge_disk_free(hs_edge_disk_t *d)
{
    if (!d)
        return;
    hs_edge_mem_on_remove(d->index, NULL, NULL); /* freeing the index keeps the files */
    hs_edge_mem_free(d->index);
    free(d->scratch);
    free(d->dir);
    free(d);
}

hs_edge_mem_t *hs_edge_disk_index(hs_edge_disk_t *d)
{
    return d->index;
}

unsigned hs_edge_disk_purge(hs_edge_disk_t *d, hs_edge_purge_kind_t kind, hs_str_t arg, bool soft)
{
    d->gen++;
    return hs_edge_mem_purge(d->index, kind, arg, soft);
}

bool hs_edge_disk_ready(const hs_edge_disk_t *d)
{
    return d->ready;
}

unsigned hs_edge_disk_pending(const hs_edge_disk_t *d)
{
    return d->pending;
}

hs_edge_obj_t *hs_edge_disk_lookup(hs_edge_disk_t *d, hs_str_t key, const hs_http_msg_t *req)
{
    return hs_edge_mem_lookup(d->index, key, req);
}

/* ---- writes ---- */

typedef struct wjob {
    hs_tpool_job_t job;
    hs_edge_disk_t *d;
    hs_edge_obj_t *o; /* referenced: the body is read on the pool */
    uint64_t gen;     /* d->gen when queued */
    fhdr_t h;
    uint64_t id;
    char path[PATH_MAX], tmp[PATH_MAX];
    int err;
    struct stat st; /* the file written */
    char strings[]; /* key, vary, sec, tags, hdr */
} wjob_t;

static void write_work(hs_tpool_job_t *job)
{
    wjob_t *w = (wjob_t *)job;
    size_t sl = strings_len(&w->h);
    w->h.hdr_checksum = XXH3_64bits(w->strings, sl);
    XXH3_state_t *st = XXH3_createState();
    if (!st) {
        w->err = HS_ENOMEM;
        return;
    }
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, w->strings, sl);
    if (w->h.body_len)
        XXH3_64bits_update(st, w->o->body, w->h.body_len);
    w->h.checksum = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    int fd = open(w->tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        w->err = HS_ERR(errno);
        return;
    }
    int rc = write_all(fd, &w->h, sizeof(w->h));
    if (rc == 0)
        rc = write_all(fd, w->strings, sl);
    if (rc == 0 && w->h.body_len)
        rc = write_all(fd, w->o->body, w->h.body_len);
    if (close(fd) != 0 && rc == 0)
        rc = HS_ERR(errno);
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = HS_ERR(errno);
    if (rc == 0 && stat(w->path, &w->st) != 0) /* after the rename: it changes the ctime */
        w->st.st_ino = 0; /* indexed unverified: checked on first use */
    if (rc != 0)
        unlink(w->tmp);
    w->err = rc;
}

static void write_done(hs_tpool_job_t *job)
{
    wjob_t *w = (wjob_t *)job;
    w->d->pending--;
    if (w->err == 0 && w->gen != w->d->gen) {
        /* a purge or invalidation ran meanwhile and may have meant this
         * object: do not let it come back from disk */
        hs_edge_obj_t tmp = {.file_id = w->id};
        on_index_remove(w->d, &tmp);
    } else if (w->err == 0)
        index_put(w->d, &w->h, w->id, w->strings, w->st.st_ino ? &w->st : NULL);
    else if (!w->d->warned) {
        w->d->warned = true;
        hs_log_warn("edge_disk_write", "path=%s err=%s (further failures not logged)", w->path,
                    hs_errname(w->err));
    }
    hs_edge_obj_unref(w->o);
    free(w);
}

void hs_edge_disk_store(hs_edge_disk_t *d, hs_str_t key, hs_str_t vary, hs_str_t sec,
                        hs_edge_obj_t *o)
{
    size_t sl = key.len + vary.len + sec.len + o->tags_len + o->hdr_len;
    if (!key.len || sizeof(fhdr_t) + sl + o->size > d->max_bytes || o->hdr_len > MAX_FIELD ||
        vary.len > MAX_FIELD || sec.len > MAX_FIELD || o->tags_len > MAX_FIELD)
        return;
    wjob_t *w = calloc(1, sizeof(*w) + sl);
    if (!w)
        return;
    w->d = d;
    w->o = o;
    w->gen = d->gen;
    w->id = d->next_id++;
    fhdr_set_meta(&w->h, &o->meta);
    w->h.status = (uint32_t)o->status;
    w->h.key_len = (uint32_t)key.len;
    w->h.vary_len = (uint32_t)vary.len;
    w->h.sec_len = (uint32_t)sec.len;
    w->h.tags_len = (uint32_t)o->tags_len;
    w->h.hdr_len = (uint32_t)o->hdr_len;
    w->h.body_len = o->size;
    char *p = w->strings;
#define PUT(b, n)                                                              \
    do {                                                                       \
        if (n)                                                                 \
            memcpy(p, (b), (n));                                               \
        p += (n);                                                              \
    } while (0)
    PUT(key.base, key.len);
    PUT(vary.base, vary.len);
    PUT(sec.base, sec.len);
    PUT(o->tags, o->tags_len);
    PUT(o->hdr, o->hdr_len);
#undef PUT
    path_of(w->path, sizeof(w->path), d->dir, w->id, "hso");
    path_of(w->tmp, sizeof(w->tmp), d->dir, w->id, "tmp");
    w->job.work = write_work;
    w->job.done = write_done;
    hs_edge_obj_ref(o);
    if (hs_tpool_submit(d->pool, d->loop, &w->job) != 0) {
        hs_edge_obj_unref(o);
        free(w); /* the pool is busy: this object is simply not on disk */
        return;
    }
    d->pending++;
}

/* ---- refresh after a 304 ---- */

typedef struct fjob {
    hs_tpool_job_t job;
    hs_edge_disk_t *d;
    hs_edge_obj_t *e; /* index entry refreshed, referenced */
    uint64_t gen;     /* d->gen when queued */
    uint64_t id;      /* the new file */
    fhdr_t h;         /* the new file's header: meta and hdr_len set when queued */
    char old[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
    struct stat st;  /* the file written */
    char *strings;   /* new key, vary, sec, tags, hdr (built on the pool) */
    int err;
    char hdr[]; /* the new header block (h.hdr_len bytes) */
} fjob_t;

/* Copies the old file's keys and body behind the new header block into
 * f->tmp, checking the old file on the way; renames it to f->path. */
static int refresh_copy(fjob_t *f, int in, int out)
{
    struct stat st;
    fhdr_t oh;
    int rc = fstat(in, &st) == 0 ? 0 : HS_ERR(errno);
    if (rc == 0)
        rc = read_all(in, &oh, sizeof(oh));
    if (rc == 0 && !fhdr_ok(&oh, (uint64_t)st.st_size))
        rc = HS_ECORRUPT;
    if (rc != 0)
        return rc;
    size_t osl = strings_len(&oh), keep = osl - oh.hdr_len;
    char *os = malloc(osl ? osl : 1);
    f->strings = malloc(keep + f->h.hdr_len + 1);
    if (!os || !f->strings) {
        free(os);
        return HS_ENOMEM;
    }
    rc = read_all(in, os, osl);
    if (rc == 0 && XXH3_64bits(os, osl) != oh.hdr_checksum)
        rc = HS_ECORRUPT;
    XXH3_state_t *xo = XXH3_createState(), *xn = XXH3_createState();
    char *buf = malloc(65536);
    if (rc == 0 && (!xo || !xn || !buf))
        rc = HS_ENOMEM;
    if (rc == 0) {
        memcpy(f->strings, os, keep);
        memcpy(f->strings + keep, f->hdr, f->h.hdr_len);
        f->h.status = oh.status;
        f->h.key_len = oh.key_len;
        f->h.vary_len = oh.vary_len;
        f->h.sec_len = oh.sec_len;
        f->h.tags_len = oh.tags_len;
        f->h.body_len = oh.body_len;
        size_t nsl = strings_len(&f->h);
        f->h.hdr_checksum = XXH3_64bits(f->strings, nsl);
        XXH3_64bits_reset(xo);
        XXH3_64bits_update(xo, os, osl);
        XXH3_64bits_reset(xn);
        XXH3_64bits_update(xn, f->strings, nsl);
        /* the header goes last, once the body checksum is known */
        if (lseek(out, (off_t)sizeof(f->h), SEEK_SET) < 0)
            rc = HS_ERR(errno);
        if (rc == 0)
            rc = write_all(out, f->strings, nsl);
        for (uint64_t left = oh.body_len; rc == 0 && left;) {
            size_t n = left < 65536 ? (size_t)left : 65536;
            rc = read_all(in, buf, n);
            if (rc == 0) {
                XXH3_64bits_update(xo, buf, n);
                XXH3_64bits_update(xn, buf, n);
                rc = write_all(out, buf, n);
            }
            left -= n;
        }
        if (rc == 0 && XXH3_64bits_digest(xo) != oh.checksum)
            rc = HS_ECORRUPT; /* never carry a damaged body into a new file */
        f->h.checksum = XXH3_64bits_digest(xn);
        if (rc == 0 && pwrite(out, &f->h, sizeof(f->h), 0) != (ssize_t)sizeof(f->h))
            rc = HS_EIO;
    }
    XXH3_freeState(xo);
    XXH3_freeState(xn);
    free(buf);
    free(os);
    return rc;
}

static void refresh_work(hs_tpool_job_t *job)
{
    fjob_t *f = (fjob_t *)job;
    int in = open(f->old, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        f->err = HS_ERR(errno);
        return;
    }
    int out = open(f->tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    int rc = out < 0 ? HS_ERR(errno) : refresh_copy(f, in, out);
    close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = HS_ERR(errno);
    if (rc == 0 && rename(f->tmp, f->path) != 0)
        rc = HS_ERR(errno);
    if (rc == 0 && stat(f->path, &f->st) != 0)
        f->st.st_ino = 0; /* indexed unverified: checked on first use */
    if (rc != 0 && out >= 0)
        unlink(f->tmp);
    f->err = rc;
}

static void refresh_done(hs_tpool_job_t *job)
{
    fjob_t *f = (fjob_t *)job;
    hs_edge_disk_t *d = f->d;
    d->pending--;
    if (f->err == 0 && f->gen == d->gen && f->e->cached) {
        /* replaces the entry (same keys), which deletes the old file */
        index_put(d, &f->h, f->id, f->strings, f->st.st_ino ? &f->st : NULL);
    } else if (f->err == 0) {
        /* purged, invalidated or stored anew meanwhile: the copy is stale */
        hs_edge_obj_t tmp = {.file_id = f->id};
        on_index_remove(d, &tmp);
    } else if (f->err == HS_ECORRUPT && f->e->cached) {
        hs_log_warn("edge_disk_read", "path=%s err=%s", f->old, hs_errname(f->err));
        hs_edge_mem_remove(d->index, f->e); /* and its file */
    }
    hs_edge_obj_unref(f->e);
    free(f->strings);
    free(f);
}

void hs_edge_disk_refresh(hs_edge_disk_t *d, hs_str_t key, const hs_http_msg_t *req,
                          const hs_edge_obj_t *o)
{
    hs_edge_obj_t *e = hs_edge_disk_lookup(d, key, req);
    if (!e)
        return;
    e->meta = o->meta; /* fresh for lookups now, whatever becomes of the copy */
    fjob_t *f = o->hdr_len <= MAX_FIELD ? calloc(1, sizeof(*f) + o->hdr_len) : NULL;
    if (!f) {
        hs_edge_obj_unref(e);
        return; /* the file keeps its old freshness: one more revalidation after a restart */
    }
    f->d = d;
    f->e = e;
    f->gen = d->gen;
    f->id = d->next_id++;
    fhdr_set_meta(&f->h, &o->meta);
    f->h.hdr_len = (uint32_t)o->hdr_len;
    if (o->hdr_len)
        memcpy(f->hdr, o->hdr, o->hdr_len);
    path_of(f->old, sizeof(f->old), d->dir, e->file_id, "hso");
    path_of(f->path, sizeof(f->path), d->dir, f->id, "hso");
    path_of(f->tmp, sizeof(f->tmp), d->dir, f->id, "tmp");
    f->job.work = refresh_work;
    f->job.done = refresh_done;
    if (hs_tpool_submit(d->pool, d->loop, &f->job) != 0) {
        hs_edge_obj_unref(e);
        free(f);
        return;
    }
    d->pending++;
}

/* ---- reads ---- */

/* A new object (one reference) of index entry e from its file's header and
 * strings; the caller gives it its body. NULL on OOM. */
static hs_edge_obj_t *obj_from(const hs_edge_obj_t *e, const fhdr_t *h, const char *strings)
{
    const char *tags = strings + h->key_len + h->vary_len + h->sec_len;
    const char *hdr = tags + h->tags_len;
    hs_edge_obj_t *o = hs_edge_obj_new();
    if (!o)
        return NULL;
    o->status = (int)h->status;
    o->meta = e->meta; /* the index's: a soft purge may have changed it */
    o->size = h->body_len;
    if (!(o->hdr = malloc(h->hdr_len ? h->hdr_len : 1))) {
        hs_edge_obj_unref(o);
        return NULL;
    }
    memcpy(o->hdr, hdr, h->hdr_len);
    o->hdr_len = h->hdr_len;
    if (h->tags_len && (o->tags = malloc(h->tags_len)) != NULL) {
        memcpy(o->tags, tags, h->tags_len);
        o->tags_len = h->tags_len;
    }
    hs_edge_obj_index(o);
    return o;
}

static void strings_vary_sec(const fhdr_t *h, const char *strings, hs_str_t *vary, hs_str_t *sec)
{
    *vary = (hs_str_t){strings + h->key_len, h->vary_len};
    *sec = (hs_str_t){vary->base + vary->len, h->sec_len};
}

typedef struct rjob {
    hs_tpool_job_t job;
    hs_edge_disk_t *d;
    hs_edge_obj_t *e; /* index entry, referenced */
    void (*cb)(void *arg, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec);
    void *arg;
    char path[PATH_MAX];
    fhdr_t h;
    struct stat st;
    char *strings; /* key, vary, sec, tags, hdr */
    char *body;    /* small bodies; larger ones stay in the file */
    int fd;        /* open on a large body, handed to the object */
    int err;
} rjob_t;

/* Reads and checks the whole file once (header, strings, every body byte
 * against the checksum); keeps small bodies, and the descriptor of large
 * ones. */
static void read_work(hs_tpool_job_t *job)
{
    rjob_t *r = (rjob_t *)job;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r->err = HS_ERR(errno);
        return;
    }
    int rc = fstat(fd, &r->st) == 0 ? 0 : HS_ERR(errno);
    if (rc == 0)
        rc = read_all(fd, &r->h, sizeof(r->h));
    if (rc == 0 && !fhdr_ok(&r->h, (uint64_t)r->st.st_size))
        rc = HS_ECORRUPT;
    size_t sl = rc == 0 ? strings_len(&r->h) : 0;
    if (rc == 0 && !(r->strings = malloc(sl ? sl : 1)))
        rc = HS_ENOMEM;
    if (rc == 0)
        rc = read_all(fd, r->strings, sl);
    if (rc == 0 && XXH3_64bits(r->strings, sl) != r->h.hdr_checksum)
        rc = HS_ECORRUPT;
    XXH3_state_t *xs = rc == 0 ? XXH3_createState() : NULL;
    if (rc == 0 && !xs)
        rc = HS_ENOMEM;
    if (rc == 0) {
        XXH3_64bits_reset(xs);
        XXH3_64bits_update(xs, r->strings, sl);
        bool small = r->h.body_len < INLINE_MAX;
        size_t cap = small ? (size_t)r->h.body_len : 65536;
        char *buf = malloc(cap ? cap : 1);
        if (!buf)
            rc = HS_ENOMEM;
        for (uint64_t left = r->h.body_len; rc == 0 && left;) {
            size_t n = left < cap ? (size_t)left : cap;
            rc = read_all(fd, buf, n);
            if (rc == 0)
                XXH3_64bits_update(xs, buf, n);
            left -= n;
        }
        if (rc == 0 && XXH3_64bits_digest(xs) != r->h.checksum)
            rc = HS_ECORRUPT;
        if (small)
            r->body = buf;
        else
            free(buf);
        XXH3_freeState(xs);
    }
    if (rc == 0 && r->h.body_len >= INLINE_MAX)
        r->fd = fd;
    else
        close(fd);
    r->err = rc;
}

static void read_done(hs_tpool_job_t *job)
{
    rjob_t *r = (rjob_t *)job;
    r->d->pending--;
    hs_edge_obj_t *o = NULL;
    hs_str_t vary = HS_STR_NULL, sec = HS_STR_NULL;
    if (r->err == 0 && (o = obj_from(r->e, &r->h, r->strings)) != NULL) {
        strings_vary_sec(&r->h, r->strings, &vary, &sec);
        if (r->fd >= 0) {
            o->body_in_file = true;
            o->body_fd = r->fd;
            o->body_off = sizeof(r->h) + strings_len(&r->h);
            r->fd = -1;
        } else {
            o->body = r->body;
            r->body = NULL;
        }
        r->e->file_ok = true; /* later hits open it on the loop */
        r->e->file_ino = (uint64_t)r->st.st_ino;
        r->e->file_ctime_ns = ctime_ns(&r->st);
    } else if (r->err != 0) {
        hs_log_warn("edge_disk_read", "path=%s err=%s", r->path, hs_errname(r->err));
        hs_edge_mem_remove(r->d->index, r->e); /* and its file */
    }
    r->cb(r->arg, o, vary, sec);
    if (o)
        hs_edge_obj_unref(o);
    if (r->fd >= 0)
        close(r->fd);
    hs_edge_obj_unref(r->e);
    free(r->strings);
    free(r->body);
    free(r);
}

int hs_edge_disk_read(hs_edge_disk_t *d, hs_edge_obj_t *e,
                      void (*done)(void *arg, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec),
                      void *arg)
{
    rjob_t *r = calloc(1, sizeof(*r));
    if (!r)
        return HS_ENOMEM;
    r->d = d;
    r->e = e;
    r->cb = done;
    r->arg = arg;
    r->fd = -1;
    path_of(r->path, sizeof(r->path), d->dir, e->file_id, "hso");
    r->job.work = read_work;
    r->job.done = read_done;
    hs_edge_obj_ref(e);
    int rc = hs_tpool_submit(d->pool, d->loop, &r->job);
    if (rc != 0) {
        hs_edge_obj_unref(e);
        free(r);
        return rc;
    }
    d->pending++;
    return 0;
}

/* ---- opening on the loop ---- */

static int scratch_fit(hs_edge_disk_t *d, size_t n)
{
    if (n <= d->scratch_cap)
        return 0;
    char *s = realloc(d->scratch, n);
    if (!s)
        return HS_ENOMEM;
    d->scratch = s;
    d->scratch_cap = n;
    return 0;
}

static int pread_all(int fd, char *p, size_t n, off_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return HS_ERR(errno);
        if (r == 0)
            return HS_ECORRUPT;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Reads and checks what an open needs into d->scratch: the whole file for
 * a small body (every byte checked), else header and strings. */
static int open_read(hs_edge_disk_t *d, int fd, uint64_t fsize, fhdr_t *h)
{
    size_t first = fsize < HEAD_READ ? (size_t)fsize : HEAD_READ;
    if (first < sizeof(*h))
        return HS_ECORRUPT;
    int rc = scratch_fit(d, first);
    if (rc == 0)
        rc = pread_all(fd, d->scratch, first, 0);
    if (rc != 0)
        return rc;
    memcpy(h, d->scratch, sizeof(*h));
    if (!fhdr_ok(h, fsize))
        return HS_ECORRUPT;
    size_t sl = strings_len(h);
    size_t need = sizeof(*h) + sl + (h->body_len < INLINE_MAX ? (size_t)h->body_len : 0);
    if (need > first) {
        if ((rc = scratch_fit(d, need)) != 0 ||
            (rc = pread_all(fd, d->scratch + first, need - first, (off_t)first)) != 0)
            return rc;
    }
    const char *strings = d->scratch + sizeof(*h);
    if (XXH3_64bits(strings, sl) != h->hdr_checksum)
        return HS_ECORRUPT;
    if (h->body_len < INLINE_MAX && XXH3_64bits(strings, sl + h->body_len) != h->checksum)
        return HS_ECORRUPT;
    return 0;
}

int hs_edge_disk_open(hs_edge_disk_t *d, hs_edge_obj_t *e, hs_edge_obj_t **out, hs_str_t *vary,
                      hs_str_t *sec)
{
    *out = NULL;
    if (!e->file_ok)
        return HS_EAGAIN;
    char path[PATH_MAX];
    path_of(path, sizeof(path), d->dir, e->file_id, "hso");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = fd < 0 ? HS_ERR(errno) : fstat(fd, &st) != 0 ? HS_ERR(errno) : 0;
    if (rc == 0 && ((uint64_t)st.st_ino != e->file_ino || ctime_ns(&st) != e->file_ctime_ns ||
                    (uint64_t)st.st_size != e->size)) {
        close(fd); /* changed since it was checked: check it all again */
        e->file_ok = false;
        return HS_EAGAIN;
    }
    fhdr_t h;
    if (rc == 0)
        rc = open_read(d, fd, (uint64_t)st.st_size, &h);
    hs_edge_obj_t *o = NULL;
    if (rc == 0 && !(o = obj_from(e, &h, d->scratch + sizeof(h))))
        rc = HS_ENOMEM;
    if (rc == 0 && h.body_len < INLINE_MAX) {
        if ((o->body = malloc(h.body_len ? h.body_len : 1)) != NULL)
            memcpy(o->body, d->scratch + sizeof(h) + strings_len(&h), h.body_len);
        else
            rc = HS_ENOMEM;
        close(fd);
    } else if (rc == 0) {
        o->body_in_file = true;
        o->body_fd = fd;
        o->body_off = sizeof(h) + strings_len(&h);
    } else if (fd >= 0) {
        close(fd);
    }
    if (rc != 0) {
        if (o)
            hs_edge_obj_unref(o); /* closes fd if it took it: not on this path */
        if (rc == HS_ECORRUPT || rc == HS_ENOENT) {
            hs_log_warn("edge_disk_read", "path=%s err=%s", path, hs_errname(rc));
            hs_edge_mem_remove(d->index, e); /* and its file */
        }
        return rc;
    }
    strings_vary_sec(&h, d->scratch + sizeof(h), vary, sec);
    *out = o;
    return 0;
}
