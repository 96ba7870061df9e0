/*
 * Static file handler. Request paths are percent-decoded and normalized
 * first, then opened with openat2(RESOLVE_BENEATH) under the root's
 * descriptor, so neither ".." nor a symlink can leave the root. Answers
 * for a path are cached per thread with their precomputed header block;
 * a cached answer costs one hash lookup and a copy into the output queue.
 */
#include "http/static.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/tpool.h"
#include "http/parse.h"
#include "http/range.h"

#define MAX_PATH_BYTES 4096
#define COPY_MAX 8192       /* bodies up to this size are copied, larger are referenced */
#define MAX_ENTRIES 65536
#define MAX_FD_ENTRIES 1024 /* large files keep a descriptor open while cached */

typedef struct fentry {
    struct fentry *hnext;
    struct fentry *prev, *next; /* LRU, most recent first */
    uint64_t hash;
    char *key; /* normalized request path, e.g. "docs/" or "a/b.txt" */
    size_t keylen;
    char *fpath; /* file actually served, relative to root */
    int fd;      /* -1 when the contents are in `data` */
    char *data;
    uint64_t size;
    dev_t dev;
    ino_t ino;
    struct timespec mtim;
    uint64_t checked_ms;
    unsigned refs;
    bool cached;
    bool revalidating; /* a stat is in flight: others keep using this meanwhile */
    const char *mime;
    char etag[64];
    size_t etag_len;
    char lastmod[32];
    char hdr[384]; /* Content-Type, Last-Modified, ETag, Accept-Ranges lines */
    size_t hdr_len;
} fentry_t;

typedef struct hs_static {
    hs_http_handler_t h;
    hs_static_opts_t o;
    char *root;
    int root_fd;
    fentry_t **buckets;
    size_t nbuckets;
    fentry_t *lru_head, *lru_tail;
    size_t nentries, nfd;
    unsigned pending; /* lookups on the I/O pool */
    uint64_t data_bytes;
    char boundary[24];
} hs_static_t;

/* ---- paths ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decodes and normalizes an origin-form path into a relative path
 * ("" is the root; a trailing '/' is kept). Returns the length, or a
 * negative HTTP status to answer (400 bad encoding or escape, 414 too long).
 */
static int normalize_path(hs_str_t path, char *out, size_t cap)
{
    if (path.len == 0 || path.base[0] != '/')
        return -400;
    size_t n = 0;
    size_t seg_start = 0;
    for (size_t i = 1; i <= path.len; i++) {
        char ch = i < path.len ? path.base[i] : '/';
        if (ch == '%' && i < path.len) {
            if (i + 2 >= path.len)
                return -400;
            int hi = hexval(path.base[i + 1]);
            int lo = hexval(path.base[i + 2]);
            if (hi < 0 || lo < 0)
                return -400;
            ch = (char)(hi * 16 + lo);
            if (ch == '\0')
                return -400;
            i += 2;
        }
        if (ch != '/') {
            if (n + 1 >= cap)
                return -414;
            out[n++] = ch;
            continue;
        }
        /* End of a segment: out[seg_start .. n) */
        size_t sl = n - seg_start;
        if (sl == 0) {
            continue; /* empty segment: "//" */
        } else if (sl == 1 && out[seg_start] == '.') {
            n = seg_start;
        } else if (sl == 2 && out[seg_start] == '.' && out[seg_start + 1] == '.') {
            if (seg_start == 0)
                return -400; /* above the root */
            /* Drop the previous segment and its slash. */
            size_t k = seg_start - 1;
            while (k > 0 && out[k - 1] != '/')
                k--;
            n = k;
        } else {
            if (n + 1 >= cap)
                return -414;
            out[n++] = '/';
        }
        seg_start = n;
    }
    /* Keep a trailing slash only if the request had one. */
    bool slash = path.base[path.len - 1] == '/' ||
                 (path.len >= 2 && path.base[path.len - 1] == '.' && path.base[path.len - 2] == '/');
    if (n > 0 && out[n - 1] == '/' && !slash)
        n--;
    out[n] = '\0';
    return (int)n;
}

static int open_beneath(int root_fd, const char *rel, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how, sizeof(how));
    if (fd < 0)
        return HS_ERR(errno);
    return (int)fd;
}

/* ---- cache ---- */

static uint64_t hash_key(const char *k, size_t len)
{
    return XXH3_64bits(k, len);
}

static void entry_free(fentry_t *e)
{
    if (e->fd >= 0)
        close(e->fd);
    free(e->data);
    free(e->key);
    free(e->fpath);
    free(e);
}

static void entry_unref(void *p)
{
    fentry_t *e = p;
    if (--e->refs == 0)
        entry_free(e);
}

static void lru_unlink(hs_static_t *s, fentry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(hs_static_t *s, fentry_t *e)
{
    e->next = s->lru_head;
    e->prev = NULL;
    if (s->lru_head)
        s->lru_head->prev = e;
    s->lru_head = e;
    if (!s->lru_tail)
        s->lru_tail = e;
}

static void cache_remove(hs_static_t *s, fentry_t *e)
{
    fentry_t **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(s, e);
    s->nentries--;
    if (e->fd >= 0)
        s->nfd--;
    s->data_bytes -= e->data ? e->size : 0;
    e->cached = false;
    entry_unref(e);
}

static fentry_t *cache_find(hs_static_t *s, const char *key, size_t len, uint64_t h)
{
    for (fentry_t *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static void cache_insert(hs_static_t *s, fentry_t *e)
{
    while (s->lru_tail && (s->nentries >= MAX_ENTRIES ||
                           (e->data && s->data_bytes + e->size > s->o.cache_bytes) ||
                           (e->fd >= 0 && s->nfd >= MAX_FD_ENTRIES)))
        cache_remove(s, s->lru_tail);
    size_t b = e->hash & (s->nbuckets - 1);
    e->hnext = s->buckets[b];
    s->buckets[b] = e;
    lru_front(s, e);
    e->cached = true;
    e->refs++;
    s->nentries++;
    if (e->fd >= 0)
        s->nfd++;
    s->data_bytes += e->data ? e->size : 0;
}

static bool same_file(const fentry_t *e, const struct stat *st)
{
    return e->ino == st->st_ino && e->dev == st->st_dev && (uint64_t)st->st_size == e->size &&
           e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* Builds an entry for regular file `fd` (taking ownership of fd). */
static fentry_t *entry_build(hs_static_t *s, const char *key, size_t keylen, const char *fpath,
                             int fd, const struct stat *st, uint64_t now_ms)
{
    fentry_t *e = calloc(1, sizeof(*e));
    if (!e) {
        close(fd);
        return NULL;
    }
    e->fd = fd;
    e->key = strndup(key, keylen);
    e->keylen = keylen;
    e->fpath = strdup(fpath);
    e->hash = hash_key(key, keylen);
    e->size = (uint64_t)st->st_size;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->mtim = st->st_mtim;
    e->checked_ms = now_ms;
    e->refs = 1; /* the caller's */
    if (!e->key || !e->fpath) {
        entry_free(e);
        return NULL;
    }
    e->mime = hs_mime_type(fpath, strlen(fpath));
    e->etag_len = (size_t)snprintf(e->etag, sizeof(e->etag), "\"%llx.%lx-%llx\"",
                                   (unsigned long long)st->st_mtim.tv_sec,
                                   (unsigned long)st->st_mtim.tv_nsec,
                                   (unsigned long long)e->size);
    hs_http_format_date(st->st_mtim.tv_sec, e->lastmod);
    int n = snprintf(e->hdr, sizeof(e->hdr),
                     "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %s\r\n"
                     "Accept-Ranges: bytes\r\n",
                     e->mime, e->lastmod, e->etag);
    e->hdr_len = (size_t)n;
    if (s->o.cache_bytes && e->size <= s->o.cache_file_max && e->size <= s->o.cache_bytes) {
        e->data = malloc(e->size ? e->size : 1);
        uint64_t got = 0;
        while (e->data && got < e->size) {
            ssize_t r = pread(fd, e->data + got, e->size - got, (off_t)got);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                break;
            }
            got += (uint64_t)r;
        }
        if (e->data && got == e->size) {
            close(fd);
            e->fd = -1;
        } else {
            free(e->data);
            e->data = NULL;
        }
    }
    return e;
}

/* ---- answers ---- */

static void send_entry_range(hs_http_req_t *req, fentry_t *e, uint64_t off, uint64_t len)
{
    if (len == 0 || hs_http_req_is_head(req))
        return;
    if (e->data) {
        if (len <= COPY_MAX) {
            hs_http_resp_body(req, e->data + off, len);
        } else {
            e->refs++;
            hs_http_resp_body_ref(req, e->data + off, len, entry_unref, e);
        }
    } else {
        e->refs++;
        hs_http_resp_body_file(req, e->fd, (off_t)off, len, entry_unref, e);
    }
}

static void redirect_slash(hs_http_req_t *req)
{
    const hs_http_msg_t *m = &req->msg;
    char loc[MAX_PATH_BYTES + 16];
    int n = snprintf(loc, sizeof(loc), "%.*s/%s%.*s", (int)m->path.len, m->path.base,
                     m->query.len ? "?" : "", (int)m->query.len, m->query.base);
    if (n < 0 || (size_t)n >= sizeof(loc)) {
        hs_http_respond_text(req, 414, NULL);
        return;
    }
    static const char body[] = "301 Moved Permanently\n";
    hs_http_resp_start(req, 301, sizeof(body) - 1);
    hs_http_resp_header(req, "Location", 8, loc, (size_t)n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
    hs_http_resp_body(req, body, sizeof(body) - 1);
    hs_http_resp_end(req);
}

static void html_escape(hs_http_req_t *req, const char *s)
{
    char buf[1024];
    size_t n = 0;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (n + 8 > sizeof(buf)) {
            hs_http_resp_body(req, buf, n);
            n = 0;
        }
        if (rep) {
            memcpy(buf + n, rep, strlen(rep));
            n += strlen(rep);
        } else {
            buf[n++] = *s;
        }
    }
    hs_http_resp_body(req, buf, n);
}

static void url_escape(hs_http_req_t *req, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[1024];
    size_t n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (n + 4 > sizeof(buf)) {
            hs_http_resp_body(req, buf, n);
            n = 0;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c)) {
            buf[n++] = (char)c;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    hs_http_resp_body(req, buf, n);
}

/* Directory entries for a listing, read on a pool thread; a trailing '/'
 * marks subdirectories. */
typedef struct names {
    char **v;
    size_t n;
} names_t;

static void names_free(names_t *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->v[i]);
    free(nm->v);
    nm->v = NULL;
    nm->n = 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_names(int dirfd, names_t *out)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = HS_ERR(errno);
        close(dirfd);
        return e;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && out->n < 100000) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(out->v, cap * sizeof(*nn));
            if (!nn)
                break;
            out->v = nn;
        }
        struct stat st;
        bool dir = fstatat(dirfd, de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
        size_t l = strlen(de->d_name);
        char *nm = malloc(l + 2);
        if (!nm)
            break;
        memcpy(nm, de->d_name, l);
        nm[l] = dir ? '/' : '\0';
        nm[l + 1] = '\0';
        out->v[out->n++] = nm;
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), name_cmp);
    return 0;
}

/* An HTML listing, sent chunked since its size is not known up front. */
static void send_listing(hs_http_req_t *req, names_t *nm, const char *shown)
{
    hs_http_resp_start(req, 200, -1);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/html; charset=utf-8");
    static const char head[] = "<!doctype html>\n<meta charset=\"utf-8\">\n<title>Index of /";
    hs_http_resp_body(req, head, sizeof(head) - 1);
    html_escape(req, shown);
    static const char mid[] = "</title>\n<h1>Index of /";
    hs_http_resp_body(req, mid, sizeof(mid) - 1);
    html_escape(req, shown);
    static const char list[] = "</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n";
    hs_http_resp_body(req, list, sizeof(list) - 1);
    for (size_t i = 0; i < nm->n; i++) {
        char *name = nm->v[i];
        size_t l = strlen(name);
        bool dir = name[l - 1] == '/';
        if (dir)
            name[l - 1] = '\0';
        hs_http_resp_body(req, "<li><a href=\"", 13);
        url_escape(req, name);
        if (dir)
            hs_http_resp_body(req, "/", 1);
        hs_http_resp_body(req, "\">", 2);
        html_escape(req, name);
        if (dir)
            hs_http_resp_body(req, "/", 1);
        hs_http_resp_body(req, "</a></li>\n", 10);
    }
    hs_http_resp_body(req, "</ul>\n", 6);
    hs_http_resp_end(req);
}

static hs_str_t header(const hs_http_req_t *req, const char *name, size_t len)
{
    int i = hs_http_find_header(&req->msg, name, len, 0);
    return i < 0 ? HS_STR_NULL : req->msg.headers[i].value;
}

#define HEADER(req, lit) header((req), (lit), sizeof(lit) - 1)

static void respond_304(hs_http_req_t *req, const fentry_t *e)
{
    hs_http_resp_start(req, 304, -1);
    hs_http_resp_header(req, "ETag", 4, e->etag, e->etag_len);
    hs_http_resp_header(req, "Last-Modified", 13, e->lastmod, strlen(e->lastmod));
    hs_http_resp_end(req);
}

static void respond_multipart(hs_static_t *s, hs_http_req_t *req, fentry_t *e,
                              const hs_http_range_t *r, int nr)
{
    char parts[HS_HTTP_MAX_RANGES][192];
    size_t plen[HS_HTTP_MAX_RANGES];
    uint64_t total = 0;
    for (int i = 0; i < nr; i++) {
        int n = snprintf(parts[i], sizeof(parts[i]),
                         "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
                         s->boundary, e->mime, (unsigned long long)r[i].first,
                         (unsigned long long)r[i].last, (unsigned long long)e->size);
        plen[i] = (size_t)n;
        total += plen[i] + (r[i].last - r[i].first + 1);
    }
    char tail[64];
    int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", s->boundary);
    total += (uint64_t)tl;
    hs_http_resp_start(req, 206, (int64_t)total);
    char ct[96];
    int cl = snprintf(ct, sizeof(ct), "multipart/byteranges; boundary=%s", s->boundary);
    hs_http_resp_header(req, "Content-Type", 12, ct, (size_t)cl);
    hs_http_resp_header(req, "Last-Modified", 13, e->lastmod, strlen(e->lastmod));
    hs_http_resp_header(req, "ETag", 4, e->etag, e->etag_len);
    HS_HTTP_HEADER_LIT(req, "Accept-Ranges", "bytes");
    if (!hs_http_req_is_head(req)) {
        for (int i = 0; i < nr; i++) {
            hs_http_resp_body(req, parts[i], plen[i]);
            send_entry_range(req, e, r[i].first, r[i].last - r[i].first + 1);
        }
        hs_http_resp_body(req, tail, (size_t)tl);
    }
    hs_http_resp_end(req);
}

/* Conditional requests and ranges (RFC 9110 13.2.2 order), then the answer. */
static void serve_entry(hs_static_t *s, hs_http_req_t *req, fentry_t *e)
{
    const hs_http_msg_t *m = &req->msg;
    hs_str_t etag = {e->etag, e->etag_len};
    time_t mtime = e->mtim.tv_sec, t;
    hs_str_t v;
    if (m->num_headers > 1) { /* only Host: nothing conditional to check */
        if ((v = HEADER(req, "If-Match")).base) {
            if (!hs_http_etag_match(v, etag, false)) {
                hs_http_respond_text(req, 412, "If-Match");
                return;
            }
        } else if ((v = HEADER(req, "If-Unmodified-Since")).base &&
                   hs_http_parse_date(v, &t) == 0 && mtime > t) {
            hs_http_respond_text(req, 412, "If-Unmodified-Since");
            return;
        }
        if ((v = HEADER(req, "If-None-Match")).base) {
            if (hs_http_etag_match(v, etag, true)) {
                respond_304(req, e);
                return;
            }
        } else if ((v = HEADER(req, "If-Modified-Since")).base &&
                   hs_http_parse_date(v, &t) == 0 && mtime <= t) {
            respond_304(req, e);
            return;
        }
        hs_str_t range = HEADER(req, "Range");
        if (range.base && m->method == HS_HTTP_GET) {
            bool use = hs_http_if_range_ok(HEADER(req, "If-Range"), etag, true, mtime);
            hs_http_range_t r[HS_HTTP_MAX_RANGES];
            int nr = use ? hs_http_parse_range(range, e->size, r, HS_HTTP_MAX_RANGES) : HS_EINVAL;
            if (nr == 0) {
                char cr[48];
                int n = snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)e->size);
                static const char body[] = "416 Range Not Satisfiable\n";
                hs_http_resp_start(req, 416, sizeof(body) - 1);
                hs_http_resp_header(req, "Content-Range", 13, cr, (size_t)n);
                HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
                hs_http_resp_body(req, body, sizeof(body) - 1);
                hs_http_resp_end(req);
                return;
            }
            if (nr == 1) {
                char cr[80];
                int n = snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
                                 (unsigned long long)r[0].first, (unsigned long long)r[0].last,
                                 (unsigned long long)e->size);
                uint64_t len = r[0].last - r[0].first + 1;
                hs_http_resp_start(req, 206, (int64_t)len);
                hs_http_resp_header_raw(req, e->hdr, e->hdr_len);
                hs_http_resp_header(req, "Content-Range", 13, cr, (size_t)n);
                send_entry_range(req, e, r[0].first, len);
                hs_http_resp_end(req);
                return;
            }
            if (nr > 1) {
                respond_multipart(s, req, e, r, nr);
                return;
            }
        }
    }
    hs_http_resp_start(req, 200, (int64_t)e->size);
    hs_http_resp_header_raw(req, e->hdr, e->hdr_len);
    send_entry_range(req, e, 0, e->size);
    hs_http_resp_end(req);
}

static void respond_errno(hs_http_req_t *req, int err)
{
    switch (err) {
    case HS_ENOENT:
    case -ENOTDIR:
    case -EXDEV:  /* RESOLVE_BENEATH: the path tried to leave the root */
    case -ELOOP:
    case -ENAMETOOLONG:
        hs_http_respond_text(req, 404, NULL);
        return;
    case HS_EACCES:
    case -EPERM:
        hs_http_respond_text(req, 403, NULL);
        return;
    default:
        hs_log_warn("static_error", "err=%s", hs_errname(err));
        hs_http_respond_text(req, 500, hs_strerror(err));
    }
}

/* What a lookup on a pool thread found. */
enum lookup_result { L_FRESH, L_ENTRY, L_REDIRECT, L_LISTING, L_NOLIST, L_NOTREG, L_ERR, L_OOM };

typedef struct lookup {
    hs_tpool_job_t job;
    hs_static_t *s;
    hs_http_req_t *req;
    fentry_t *old; /* cached entry being revalidated (referenced), or NULL */
    fentry_t *e;   /* L_ENTRY: new entry (one reference, the job's) */
    names_t names; /* L_LISTING */
    uint64_t now_ms;
    int err;
    enum lookup_result result;
    size_t keylen;
    char key[];
} lookup_t;

/* Pool thread: stat or open the file; touches no shared cache state. */
static void lookup_work(hs_tpool_job_t *job)
{
    lookup_t *l = (lookup_t *)job;
    hs_static_t *s = l->s;
    struct stat st;
    if (l->old && fstatat(s->root_fd, l->old->fpath, &st, 0) == 0 && same_file(l->old, &st)) {
        l->result = L_FRESH;
        return;
    }
    char fpath[MAX_PATH_BYTES + 16];
    memcpy(fpath, l->key, l->keylen + 1);
    int fd = open_beneath(s->root_fd, fpath, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        l->result = L_ERR;
        l->err = fd;
        return;
    }
    if (fstat(fd, &st) != 0) {
        l->result = L_ERR;
        l->err = HS_ERR(errno);
        close(fd);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (l->keylen > 0 && l->key[l->keylen - 1] != '/') {
            close(fd);
            l->result = L_REDIRECT;
            return;
        }
        int ifd = openat(fd, "index.html", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        struct stat ist;
        if (ifd >= 0 && fstat(ifd, &ist) == 0 && S_ISREG(ist.st_mode) &&
            l->keylen + 11 <= sizeof(fpath)) {
            memcpy(fpath + l->keylen, "index.html", 11);
            close(fd);
            fd = ifd;
            st = ist;
        } else {
            if (ifd >= 0)
                close(ifd);
            if (!s->o.dir_index) {
                close(fd);
                l->result = L_NOLIST;
                return;
            }
            l->err = read_names(fd, &l->names);
            l->result = l->err ? L_ERR : L_LISTING;
            return;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        l->result = L_NOTREG;
        return;
    }
    l->e = entry_build(s, l->key, l->keylen, fpath, fd, &st, l->now_ms);
    l->result = l->e ? L_ENTRY : L_OOM;
}

/* Loop thread: update the cache and answer. */
static void lookup_done(hs_tpool_job_t *job)
{
    lookup_t *l = (lookup_t *)job;
    hs_static_t *s = l->s;
    hs_http_req_t *req = l->req;
    s->pending--;
    switch (l->result) {
    case L_FRESH:
        l->old->checked_ms = hs_loop_now(req->loop);
        serve_entry(s, req, l->old);
        break;
    case L_ENTRY: {
        if (l->old && l->old->cached)
            cache_remove(s, l->old);
        fentry_t *dup = cache_find(s, l->key, l->keylen, l->e->hash);
        if (dup)
            cache_remove(s, dup);
        if (s->o.cache_bytes || l->e->fd >= 0)
            cache_insert(s, l->e);
        serve_entry(s, req, l->e);
        entry_unref(l->e);
        break;
    }
    case L_REDIRECT:
        redirect_slash(req);
        break;
    case L_LISTING:
        send_listing(req, &l->names, l->key);
        break;
    case L_NOLIST:
        hs_http_respond_text(req, 403, "directory listing is off");
        break;
    case L_NOTREG:
        hs_http_respond_text(req, 403, "not a regular file");
        break;
    case L_OOM:
        hs_http_respond_text(req, 500, "out of memory");
        break;
    case L_ERR:
    default:
        respond_errno(req, l->err);
        break;
    }
    if (l->old) {
        l->old->revalidating = false;
        if (l->result != L_FRESH && l->old->cached)
            cache_remove(s, l->old);
        entry_unref(l->old);
    }
    names_free(&l->names);
    free(l);
}

/* Looks the path up on the I/O pool (stat, open, read never block the loop). */
static void lookup_async(hs_static_t *s, hs_http_req_t *req, const char *key, size_t keylen,
                         fentry_t *old)
{
    lookup_t *l = calloc(1, sizeof(*l) + keylen + 1);
    hs_tpool_t *pool = hs_tpool_io();
    if (!l || !pool) {
        free(l);
        hs_http_respond_text(req, 503, "out of memory");
        return;
    }
    l->s = s;
    l->req = req;
    l->keylen = keylen;
    memcpy(l->key, key, keylen);
    l->key[keylen] = '\0';
    l->now_ms = hs_loop_now(req->loop);
    l->job.work = lookup_work;
    l->job.done = lookup_done;
    if (old) {
        old->refs++;
        old->revalidating = true;
        l->old = old;
    }
    if (hs_tpool_submit(pool, req->loop, &l->job) != 0) {
        if (old) {
            old->revalidating = false;
            entry_unref(old);
        }
        free(l);
        hs_http_respond_text(req, 503, "I/O queue full");
        return;
    }
    s->pending++;
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    hs_static_t *s = (hs_static_t *)self;
    const hs_http_msg_t *m = &req->msg;
    if (m->method != HS_HTTP_GET && m->method != HS_HTTP_HEAD) {
        if (m->method == HS_HTTP_OTHER) {
            hs_http_respond_text(req, 501, "unknown method");
            return;
        }
        static const char body[] = "405 Method Not Allowed\n";
        hs_http_resp_start(req, 405, sizeof(body) - 1);
        HS_HTTP_HEADER_LIT(req, "Allow", "GET, HEAD");
        HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
        hs_http_resp_body(req, body, sizeof(body) - 1);
        hs_http_resp_end(req);
        return;
    }
    char key[MAX_PATH_BYTES];
    int kl = normalize_path(m->path, key, sizeof(key));
    if (kl < 0) {
        /* No file has a name longer than PATH_MAX, so a long one is 404. */
        hs_http_respond_text(req, kl == -414 ? 404 : -kl, kl == -414 ? "path too long" : "bad path");
        return;
    }
    uint64_t h = hash_key(key, (size_t)kl);
    fentry_t *e = cache_find(s, key, (size_t)kl, h);
    /* The request that finds the entry due for its stat waits for it; the
     * ones arriving while that stat is in flight (microseconds) are served
     * from the entry, so a busy file costs one stat per interval, not one
     * per concurrent request. */
    if (!e || (hs_loop_now(req->loop) - e->checked_ms >= s->o.revalidate_ms &&
               !e->revalidating)) {
        lookup_async(s, req, key, (size_t)kl, e);
        return;
    }
    if (s->lru_head != e) {
        lru_unlink(s, e);
        lru_front(s, e);
    }
    e->refs++;
    serve_entry(s, req, e);
    entry_unref(e);
}

hs_http_handler_t *hs_static_new(const hs_static_opts_t *opts, int *err)
{
    hs_static_t *s = calloc(1, sizeof(*s));
    if (!s) {
        *err = HS_ENOMEM;
        return NULL;
    }
    s->o = *opts;
    s->root_fd = open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        *err = HS_ERR(errno);
        free(s);
        return NULL;
    }
    s->nbuckets = 4096;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (!s->buckets) {
        close(s->root_fd);
        free(s);
        *err = HS_ENOMEM;
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->boundary, sizeof(s->boundary), "hs%016llx",
             (unsigned long long)XXH3_64bits(&ts, sizeof(ts)) ^ (unsigned long long)(uintptr_t)s);
    s->h.on_request = on_request;
    return &s->h;
}

void hs_static_free(hs_http_handler_t *h)
{
    hs_static_t *s = (hs_static_t *)h;
    if (!s)
        return;
    while (s->lru_tail)
        cache_remove(s, s->lru_tail);
    free(s->buckets);
    close(s->root_fd);
    free(s);
}
