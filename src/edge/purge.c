/*
 * PURGE on the edge: token check, what to purge, and the broadcast to every
 * worker thread's tiers (each tier is only ever touched by its own loop;
 * the last thread to finish posts the answer home). Also the process-wide
 * registry of proxies the broadcast walks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "edge/proxy-int.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static proxy_t *reg_head;

struct purge_job {
    atomic_uint pending; /* threads still purging */
    atomic_uint total;   /* objects purged from memory */
    atomic_uint total_disk; /* ... and from disk */
    hs_loop_t *home;     /* the requester's loop */
    rq_t *r;             /* the requester; NULL once it went away */
    hs_edge_purge_kind_t kind;
    bool soft;
    size_t nargs;
    hs_str_t args[16];
    char buf[];
};

typedef struct purge_post {
    purge_job_t *job;
    proxy_t *p;
} purge_post_t;

static void purge_finish(void *arg)
{
    purge_job_t *job = arg;
    rq_t *r = job->r;
    if (r) {
        hs_http_req_t *req = r->req;
        char body[128];
        int n = snprintf(body, sizeof(body), "{\"purged\":%u,\"purged_disk\":%u,\"soft\":%s}\n",
                         atomic_load(&job->total), atomic_load(&job->total_disk),
                         job->soft ? "true" : "false");
        r->purge = NULL;
        hs_http_resp_start(req, 200, n);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "application/json");
        HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
        hs_http_resp_body(req, body, (size_t)n);
        hs__edge_rq_free(r);
        hs_http_resp_end(req);
    }
    free(job);
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
    if (atomic_fetch_sub(&job->pending, 1) == 1 && hs_loop_post(job->home, purge_finish, job) != 0)
        free(job); /* out of memory: the requester gets no answer until it times out */
}

static bool token_ok(const char *want, hs_str_t got)
{
    size_t n = strlen(want);
    unsigned char d = (unsigned char)(n != got.len);
    for (size_t i = 0; i < n; i++) /* constant time in the token's length */
        d |= (unsigned char)(want[i] ^ (i < got.len ? got.base[i] : 0));
    return d == 0;
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
    if (kind == HS_EDGE_PURGE_TAG && !keys.len) {
        hs__edge_respond_error(r, 400, "Purge-Key lists no surrogate key", L_PASS);
        return;
    }
    purge_job_t *job = calloc(1, sizeof(*job) + r->keylen + keys.len + 1);
    if (!job) {
        hs__edge_respond_error(r, 503, "out of memory", L_PASS);
        return;
    }
    job->home = p->loop;
    job->kind = kind;
    job->soft = soft.base && (HS_STR_EQ(soft, "1") || HS_STR_IEQ(soft, "true"));
    if (kind == HS_EDGE_PURGE_TAG) {
        memcpy(job->buf, keys.base, keys.len);
        for (size_t k = 0; k < keys.len && job->nargs < 16;) {
            while (k < keys.len && (job->buf[k] == ' ' || job->buf[k] == ','))
                k++;
            size_t s = k;
            while (k < keys.len && job->buf[k] != ' ' && job->buf[k] != ',')
                k++;
            if (k > s)
                job->args[job->nargs++] = (hs_str_t){job->buf + s, k - s};
        }
    } else {
        memcpy(job->buf, r->key, r->keylen);
        job->args[job->nargs++] = (hs_str_t){job->buf, r->keylen};
    }
    /* One post per thread that has served (the others have empty tiers). */
    pthread_mutex_lock(&reg_mu);
    unsigned n = 0;
    for (proxy_t *q = reg_head; q; q = q->rnext)
        n += atomic_load(&q->loop) != NULL;
    atomic_store(&job->pending, n);
    job->r = r;
    r->purge = job;
    for (proxy_t *q = reg_head; q; q = q->rnext) {
        hs_loop_t *ql = atomic_load(&q->loop);
        if (!ql)
            continue;
        purge_post_t *pp = malloc(sizeof(*pp));
        if (pp) {
            pp->job = job;
            pp->p = q;
        }
        if (!pp || hs_loop_post(ql, purge_run, pp) != 0) {
            free(pp);
            /* count it as done so the answer still comes */
            if (atomic_fetch_sub(&job->pending, 1) == 1)
                hs_loop_post(job->home, purge_finish, job);
            continue;
        }
    }
    pthread_mutex_unlock(&reg_mu);
}

void hs__edge_purge_abort(rq_t *r)
{
    if (r->purge)
        r->purge->r = NULL; /* the purge goes on; its answer is dropped */
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
