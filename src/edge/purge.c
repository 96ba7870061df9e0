/*
 * PURGE on the edge: token check, what to purge, and the broadcast to every
 * worker thread's tiers (each tier is only ever touched by its own loop;
 * the last thread to finish posts the answer home), shared by PURGE on the
 * edge's listener and POST /admin/purge on the admin port. Also the
 * process-wide registry of proxies the broadcast walks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/str.h"
#include "edge/proxy-int.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static proxy_t *reg_head;

struct purge_job {
    atomic_uint pending;        /* posts not yet done, plus one until all are made */
    atomic_uint total;          /* objects purged from memory */
    atomic_uint total_disk;     /* ... and from disk */
    hs_loop_t *home;            /* where done runs */
    hs_edge_purge_done_fn done; /* NULL once the requester went away */
    void *arg;
    hs_edge_purge_kind_t kind;
    bool soft;
    size_t nargs;
    hs_str_t args[HS_EDGE_PURGE_MAX_ARGS];
    char buf[];
};

typedef struct purge_post {
    purge_job_t *job;
    proxy_t *p;
} purge_post_t;

static void purge_finish(void *arg)
{
    purge_job_t *job = arg;
    if (job->done)
        job->done(job->arg, atomic_load(&job->total), atomic_load(&job->total_disk));
    free(job);
}

/* One post fewer to wait for; the last one sends the answer home. */
static void purge_one_done(purge_job_t *job)
{
    if (atomic_fetch_sub(&job->pending, 1) == 1 && hs_loop_post(job->home, purge_finish, job) != 0)
        free(job); /* out of memory: the requester gets no answer until it times out */
}

/* On each thread's loop: purge its tier, then report home. */
static void purge_run(void *arg)
{
    purge_post_t *pp = arg;
    purge_job_t *job = pp->job;
    unsigned n = 0, nd = 0;
    for (size_t i = 0; i < job->nargs; i++) {
        n += hs_edge_mem_purge(pp->p->mem, job->kind, job->args[i], job->soft);
        if (pp->p->disk)
            nd += hs_edge_disk_purge(pp->p->disk, job->kind, job->args[i], job->soft);
    }
    hs_counter_add(hs__edge_m_purged, n + nd);
    atomic_fetch_add(&job->total, n);
    atomic_fetch_add(&job->total_disk, nd);
    free(pp);
    purge_one_done(job);
}

/* The broadcast behind both PURGE and hs_edge_purge; NULL when out of
 * memory. The job is the caller's to cancel (done = NULL) until done runs. */
static purge_job_t *broadcast(hs_loop_t *home, hs_edge_purge_kind_t kind, const hs_str_t *args,
                              size_t nargs, bool soft, hs_edge_purge_done_fn done, void *arg)
{
    size_t len = 0;
    for (size_t i = 0; i < nargs; i++)
        len += args[i].len;
    purge_job_t *job = calloc(1, sizeof(*job) + len + 1);
    if (!job)
        return NULL;
    job->home = home;
    job->done = done;
    job->arg = arg;
    job->kind = kind;
    job->soft = soft;
    for (size_t i = 0, off = 0; i < nargs; i++) {
        if (args[i].len)
            memcpy(job->buf + off, args[i].base, args[i].len);
        job->args[job->nargs++] = (hs_str_t){job->buf + off, args[i].len};
        off += args[i].len;
    }
    /* One post per thread that has served (the others have empty tiers);
     * the extra count keeps the answer back until every post is made. */
    atomic_store(&job->pending, 1);
    pthread_mutex_lock(&reg_mu);
    for (proxy_t *q = reg_head; q; q = q->rnext) {
        hs_loop_t *ql = atomic_load(&q->loop);
        if (!ql)
            continue;
        purge_post_t *pp = malloc(sizeof(*pp));
        if (!pp)
            continue; /* that thread keeps its objects; the answer still comes */
        pp->job = job;
        pp->p = q;
        atomic_fetch_add(&job->pending, 1);
        if (hs_loop_post(ql, purge_run, pp) != 0) {
            free(pp);
            atomic_fetch_sub(&job->pending, 1);
        }
    }
    pthread_mutex_unlock(&reg_mu);
    purge_one_done(job);
    return job;
}

int hs_edge_purge(hs_loop_t *home, hs_edge_purge_kind_t kind, const hs_str_t *args, size_t nargs,
                  bool soft, hs_edge_purge_done_fn done, void *arg)
{
    if (nargs == 0 || nargs > HS_EDGE_PURGE_MAX_ARGS)
        return HS_EINVAL;
    return broadcast(home, kind, args, nargs, soft, done, arg) ? 0 : HS_ENOMEM;
}

static bool token_ok(const char *want, hs_str_t got)
{
    size_t n = strlen(want);
    unsigned char d = (unsigned char)(n != got.len);
    for (size_t i = 0; i < n; i++) /* constant time in the token's length */
        d |= (unsigned char)(want[i] ^ (i < got.len ? got.base[i] : 0));
    return d == 0;
}

/* The answer to a PURGE, once every thread is done. */
static void purge_answer(void *arg, unsigned purged, unsigned purged_disk)
{
    rq_t *r = arg;
    hs_http_req_t *req = r->req;
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"purged\":%u,\"purged_disk\":%u,\"soft\":%s}\n", purged,
                     purged_disk, r->purge->soft ? "true" : "false");
    r->purge = NULL;
    hs_http_resp_start(req, 200, n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "application/json");
    HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
    hs_http_resp_body(req, body, (size_t)n);
    hs__edge_rq_free(r);
    hs_http_resp_end(req);
}

/* Splits a surrogate-key list (space- or comma-separated) into args[*n..);
 * false if it holds more than fit. */
static bool split_tags(hs_str_t list, hs_str_t *args, size_t *n)
{
    for (size_t k = 0; k < list.len;) {
        while (k < list.len && (list.base[k] == ' ' || list.base[k] == ','))
            k++;
        size_t s = k;
        while (k < list.len && list.base[k] != ' ' && list.base[k] != ',')
            k++;
        if (k == s)
            continue;
        if (*n == HS_EDGE_PURGE_MAX_ARGS)
            return false;
        args[(*n)++] = (hs_str_t){list.base + s, k - s};
    }
    return true;
}

/*
 * PURGE <target> with Purge-Token; Purge-Type: url (default), prefix or key
 * (surrogate keys listed in Purge-Key, space- or comma-separated);
 * Purge-Soft: 1 marks stale instead of removing. Every worker thread of the
 * process purges its tier; the answer says how many objects went.
 */
void hs__edge_purge(proxy_t *p, rq_t *r)
{
    const hs_http_msg_t *m = &r->req->msg;
    if (!p->purge_token) {
        hs__edge_respond_error(r, 405, "PURGE is disabled (set edge.purge_token)", L_PASS);
        return;
    }
    if (!token_ok(p->purge_token, REQ_HEADER(m, "Purge-Token"))) {
        hs__edge_respond_error(r, 403, "bad or missing Purge-Token", L_PASS);
        return;
    }
    hs_str_t type = REQ_HEADER(m, "Purge-Type"), keys = REQ_HEADER(m, "Purge-Key");
    hs_str_t soft = REQ_HEADER(m, "Purge-Soft");
    hs_edge_purge_kind_t kind = HS_EDGE_PURGE_URL;
    if (type.base && HS_STR_IEQ(type, "prefix"))
        kind = HS_EDGE_PURGE_PREFIX;
    else if (type.base && HS_STR_IEQ(type, "key"))
        kind = HS_EDGE_PURGE_TAG;
    else if (type.base && !HS_STR_IEQ(type, "url")) {
        hs__edge_respond_error(r, 400, "Purge-Type: url, prefix or key", L_PASS);
        return;
    }
    hs_str_t args[HS_EDGE_PURGE_MAX_ARGS];
    size_t nargs = 0;
    if (kind == HS_EDGE_PURGE_TAG)
        split_tags(keys, args, &nargs); /* keys past the first 16 are ignored */
    else
        args[nargs++] = (hs_str_t){r->key, r->keylen};
    if (nargs == 0) {
        hs__edge_respond_error(r, 400, "Purge-Key lists no surrogate key", L_PASS);
        return;
    }
    bool is_soft = soft.base && (HS_STR_EQ(soft, "1") || HS_STR_IEQ(soft, "true"));
    purge_job_t *job = broadcast(p->loop, kind, args, nargs, is_soft, purge_answer, r);
    if (!job) {
        hs__edge_respond_error(r, 503, "out of memory", L_PASS);
        return;
    }
    r->purge = job; /* its answer runs on this loop, so not before this returns */
}

/* ---- POST /admin/purge (hs_edge_purge_admin) ---- */

typedef struct admin_purge {
    hs_edge_purge_answer_fn answer;
    void *arg;
    bool soft;
} admin_purge_t;

static void admin_answer(hs_edge_purge_answer_fn answer, void *arg, int status, const char *msg)
{
    char body[160];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
    answer(arg, status, body, (size_t)n);
}

static void admin_done(void *arg, unsigned purged, unsigned purged_disk)
{
    admin_purge_t *ap = arg;
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"purged\":%u,\"purged_disk\":%u,\"soft\":%s}\n", purged,
                     purged_disk, ap->soft ? "true" : "false");
    ap->answer(ap->arg, 200, body, (size_t)n);
    free(ap);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes in into out (at least in.len bytes); -1 on a bad escape. */
static ssize_t pct_decode(hs_str_t in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        if (in.base[i] != '%') {
            out[n++] = in.base[i];
            continue;
        }
        int hi = i + 2 < in.len ? hexval(in.base[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(in.base[i + 2]) : -1;
        if (lo < 0)
            return -1;
        out[n++] = (char)(hi << 4 | lo);
        i += 2;
    }
    return (ssize_t)n;
}

/* The next name=value pair of a query at *pos; false at its end. */
static bool next_param(hs_str_t q, size_t *pos, hs_str_t *name, hs_str_t *value)
{
    while (*pos < q.len && q.base[*pos] == '&')
        (*pos)++;
    if (*pos >= q.len)
        return false;
    const char *s = q.base + *pos, *amp = memchr(s, '&', q.len - *pos);
    size_t len = amp ? (size_t)(amp - s) : q.len - *pos;
    const char *eq = memchr(s, '=', len);
    *name = (hs_str_t){s, eq ? (size_t)(eq - s) : len};
    *value = eq ? (hs_str_t){eq + 1, len - name->len - 1} : HS_STR_NULL;
    *pos += len;
    return true;
}

/* "host /path?q" for a url= or prefix= value (absolute, or a path with
 * host) at *out, advancing it; NULL with *why set when it is unusable. */
static hs_str_t make_admin_key(hs_str_t v, hs_str_t host, char **out, const char **why)
{
    size_t skip = v.len >= 7 && strncasecmp(v.base, "http://", 7) == 0    ? 7
                  : v.len >= 8 && strncasecmp(v.base, "https://", 8) == 0 ? 8
                                                                           : 0;
    if (skip) {
        const char *slash = memchr(v.base + skip, '/', v.len - skip);
        host = (hs_str_t){v.base + skip, slash ? (size_t)(slash - v.base) - skip : v.len - skip};
        v = slash ? (hs_str_t){slash, (size_t)(v.base + v.len - slash)} : HS_STR_LIT("/");
    } else if (!v.len || v.base[0] != '/') {
        *why = "url= and prefix= take /path?query or http://host/path?query";
        return HS_STR_NULL;
    }
    if (!host.len) {
        *why = "a /path in url= or prefix= needs host=";
        return HS_STR_NULL;
    }
    for (size_t i = 0; i < host.len; i++)
        if ((unsigned char)host.base[i] <= ' ' || host.base[i] == 0x7f) {
            *why = "the host holds a space or a control character";
            return HS_STR_NULL;
        }
    char *k = *out;
    for (size_t i = 0; i < host.len; i++) { /* the key's host is lower-cased, as for PURGE */
        char c = host.base[i];
        k[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    k[host.len] = ' ';
    memcpy(k + host.len + 1, v.base, v.len);
    *out += host.len + 1 + v.len;
    return (hs_str_t){k, host.len + 1 + v.len};
}

const char *hs__edge_purge_parse_query(hs_str_t q, char *buf, hs_edge_purge_kind_t *kind,
                                       hs_str_t *args, size_t *nargs, bool *soft)
{
    hs_str_t name, value, host = HS_STR_NULL;
    char *out = buf;
    size_t pos = 0;
    while (next_param(q, &pos, &name, &value)) { /* host= and soft= first: order is free */
        bool is_host = HS_STR_EQ(name, "host");
        if (!is_host && !HS_STR_EQ(name, "soft"))
            continue;
        ssize_t n = pct_decode(value, out);
        if (n < 0)
            return "bad %-escape";
        hs_str_t v = {out, (size_t)n};
        out += n;
        if (is_host)
            host = v;
        else if (HS_STR_EQ(v, "1") || HS_STR_IEQ(v, "true"))
            *soft = true;
        else if (HS_STR_EQ(v, "0") || HS_STR_IEQ(v, "false") || !v.len)
            *soft = false;
        else
            return "soft= takes 1 or 0";
    }
    int seen = -1;
    pos = 0;
    while (next_param(q, &pos, &name, &value)) {
        hs_edge_purge_kind_t k;
        if (HS_STR_EQ(name, "url"))
            k = HS_EDGE_PURGE_URL;
        else if (HS_STR_EQ(name, "prefix"))
            k = HS_EDGE_PURGE_PREFIX;
        else if (HS_STR_EQ(name, "tag"))
            k = HS_EDGE_PURGE_TAG;
        else if (HS_STR_EQ(name, "host") || HS_STR_EQ(name, "soft"))
            continue;
        else
            return "unknown parameter (url, prefix, tag, host, soft)";
        if (seen >= 0 && seen != (int)k)
            return "name one of url=, prefix= or tag= (repeatable)";
        seen = (int)k;
        ssize_t n = pct_decode(value, out);
        if (n < 0)
            return "bad %-escape";
        hs_str_t v = {out, (size_t)n};
        out += n;
        if (k == HS_EDGE_PURGE_TAG) {
            if (!split_tags(v, args, nargs))
                return "too many arguments (at most 16)";
            continue;
        }
        if (*nargs == HS_EDGE_PURGE_MAX_ARGS)
            return "too many arguments (at most 16)";
        const char *why = NULL;
        hs_str_t key = make_admin_key(v, host, &out, &why);
        if (!key.base)
            return why;
        args[(*nargs)++] = key;
    }
    *kind = seen < 0 ? HS_EDGE_PURGE_URL : (hs_edge_purge_kind_t)seen;
    return *nargs ? NULL : "name what to purge: url=, prefix= or tag=";
}

void hs_edge_purge_admin(const char *token, const hs_http_msg_t *m, hs_loop_t *home,
                         hs_edge_purge_answer_fn answer, void *arg)
{
    if (!token || !token[0]) {
        admin_answer(answer, arg, 404, "purge is disabled (set edge.purge_token)");
        return;
    }
    hs_str_t got = REQ_HEADER(m, "Purge-Token");
    hs_str_t auth = REQ_HEADER(m, "Authorization");
    if (!got.base && auth.len > 7 && strncasecmp(auth.base, "Bearer ", 7) == 0)
        got = hs_str_trim_ows((hs_str_t){auth.base + 7, auth.len - 7});
    if (!got.base || !token_ok(token, got)) {
        admin_answer(answer, arg, 401, "bad or missing token (Authorization: Bearer or Purge-Token)");
        return;
    }
    if (m->method != HS_HTTP_POST) {
        admin_answer(answer, arg, 405, "use POST");
        return;
    }
    /* decoded values, plus a host copy per url=/prefix= key */
    char *buf = malloc(HS_EDGE_PURGE_QUERY_BUF(m->query.len));
    admin_purge_t *ap = malloc(sizeof(*ap));
    if (!buf || !ap) {
        free(buf);
        free(ap);
        admin_answer(answer, arg, 503, "out of memory");
        return;
    }
    hs_edge_purge_kind_t kind;
    hs_str_t args[HS_EDGE_PURGE_MAX_ARGS];
    size_t nargs = 0;
    bool soft = false;
    const char *why = hs__edge_purge_parse_query(m->query, buf, &kind, args, &nargs, &soft);
    *ap = (admin_purge_t){.answer = answer, .arg = arg, .soft = soft};
    int rc = why ? HS_EINVAL : hs_edge_purge(home, kind, args, nargs, soft, admin_done, ap);
    free(buf); /* hs_edge_purge copied the args */
    if (rc != 0) {
        free(ap);
        admin_answer(answer, arg, why ? 400 : 503, why ? why : "out of memory");
    }
}

void hs__edge_purge_abort(rq_t *r)
{
    if (r->purge)
        r->purge->done = NULL; /* the purge goes on; its answer is dropped */
}

void hs__edge_registry_add(proxy_t *p)
{
    pthread_mutex_lock(&reg_mu);
    p->rnext = reg_head;
    if (reg_head)
        reg_head->rprev = p;
    reg_head = p;
    pthread_mutex_unlock(&reg_mu);
}

void hs__edge_registry_del(proxy_t *p)
{
    pthread_mutex_lock(&reg_mu);
    if (p->rprev)
        p->rprev->rnext = p->rnext;
    else
        reg_head = p->rnext;
    if (p->rnext)
        p->rnext->rprev = p->rprev;
    pthread_mutex_unlock(&reg_mu);
}
