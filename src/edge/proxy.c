/*
 * The caching reverse proxy handler (see proxy.h).
 *
 * Every origin request is a "fill". A shared fill is keyed by the URL and
 * listed in the fill table while others may join it: concurrent misses
 * subscribe to it and get the head and every body byte as they arrive
 * (late joiners first get what is buffered). A private fill serves one
 * request and is never joined: passes (unsafe methods, Authorization,
 * URLs recently found uncacheable) and waiters released from a shared fill
 * whose answer could not be shared (RFC 9111 4: an uncacheable response
 * must not answer other requests) or whose Vary does not match them.
 * A cold miss, and the revalidation of one stored version, is also shared
 * with the other worker threads through the process-wide registry of
 * fillshare.h: the first thread fetches, the others stand a "remote" fill
 * in their table that replays its head, body and end, or merges its 304
 * into their own copy (see docs/design/edge-coalescing.md).
 *
 * Re-entrancy: ending a response can make the server start the next
 * pipelined request of that connection at once, which may join or look up
 * the very fill being finished. So a fill leaves the table before its
 * subscribers are finished, subscribers are unlinked before their response
 * ends, and a fill is freed only when no callback of it is on the stack.
 *
 * Answers from stored objects are in answer.c, PURGE in purge.c; the types
 * they share are in proxy-int.h.
 */
#include "edge/proxy.h"

#include <assert.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

#include "balance/balance.h"
#include "core/arena.h"
#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/str.h"
#include "edge/disk.h"
#include "edge/fillshare.h"
#include "edge/mem.h"
#include "edge/policy.h"
#include "edge/proxy-int.h"
#include "http/client.h"
#include "http/parse.h"

/* A body chunk shared by the output queues of several readers. */
typedef struct chunk {
    unsigned refs;
    char data[];
} chunk_t;

static void chunk_release(void *p)
{
    chunk_t *k = p;
    if (--k->refs == 0)
        free(k);
}

/* ---- metrics ---- */

hs_counter_t *hs__edge_m_req[L_N], *hs__edge_m_bytes[L_N], *hs__edge_m_purged;
static hs_counter_t *m_origin, *m_coalesced, *m_invalidated, *m_uncacheable, *m_disk_reads;
static hs_counter_t *m_hits_memory, *m_hits_disk;
static hs_histogram_t *m_origin_seconds;

static void metrics_init(void)
{
    if (m_origin_seconds)
        return;
    for (int i = 0; i < L_N; i++) {
        char l[32];
        snprintf(l, sizeof(l), "cache=\"%s\"", hs__edge_label_names[i]);
        hs__edge_m_req[i] = hs_counter("hs_edge_requests_total", l, "edge responses by X-Cache value");
        hs__edge_m_bytes[i] = hs_counter("hs_edge_response_bytes_total", l,
                                "edge response body bytes by X-Cache value");
    }
    m_origin = hs_counter("hs_edge_origin_requests_total", NULL, "requests the edge sent to the origin");
    m_coalesced = hs_counter("hs_edge_coalesced_total", NULL,
                             "requests that waited on another request's origin fetch");
    m_invalidated = hs_counter("hs_edge_invalidations_total", NULL,
                               "stored objects removed after unsafe methods");
    m_uncacheable = hs_counter("hs_edge_uncacheable_total", NULL,
                               "origin responses to GET that could not be stored");
    m_origin_seconds = hs_histogram("hs_edge_origin_seconds", NULL,
                                    "origin fetch time, request to end of response");
    hs__edge_m_purged = hs_counter("hs_edge_purged_total", NULL, "objects removed or marked stale by PURGE");
    m_disk_reads = hs_counter("hs_edge_disk_reads_total", NULL,
                              "disk-tier hits (files read back or sent)");
    m_hits_memory = hs_counter("hs_edge_hits_total", "tier=\"memory\"",
                               "fresh hits by the tier that held the object");
    m_hits_disk = hs_counter("hs_edge_hits_total", "tier=\"disk\"",
                             "fresh hits by the tier that held the object");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* ---- small helpers ---- */

static bool token_listed(hs_str_t list, hs_str_t name)
{
    return hs_cc_lists_field(list, name);
}

/* Hop-by-hop fields (RFC 9110 7.6.1), and those the Connection field names. */
static bool hop_by_hop(hs_str_t n, const hs_http_msg_t *m)
{
    if (HS_STR_IEQ(n, "connection") || HS_STR_IEQ(n, "keep-alive") ||
        HS_STR_IEQ(n, "proxy-connection") || HS_STR_IEQ(n, "te") || HS_STR_IEQ(n, "trailer") ||
        HS_STR_IEQ(n, "transfer-encoding") || HS_STR_IEQ(n, "upgrade") ||
        HS_STR_IEQ(n, "proxy-authenticate") || HS_STR_IEQ(n, "proxy-authorization"))
        return true;
    for (int i = hs_http_find_header(m, "connection", 10, 0); i >= 0;
         i = hs_http_find_header(m, "connection", 10, i + 1))
        if (token_listed(m->headers[i].value, n))
            return true;
    return false;
}

static bool is_unsafe(hs_http_method_t m)
{
    return !(m == HS_HTTP_GET || m == HS_HTTP_HEAD || m == HS_HTTP_OPTIONS || m == HS_HTTP_TRACE);
}

/* origin-form of the request target (absolute-form is reduced to it). */
static hs_str_t origin_form(const hs_http_msg_t *m)
{
    if (m->target.len && (m->target.base[0] == '/' || HS_STR_EQ(m->target, "*")))
        return m->target; /* origin-form, or asterisk-form (OPTIONS *) */
    /* absolute-form: the path starts at the first '/' after "scheme://" */
    const char *t = m->target.base, *end = t + m->target.len;
    const char *s = memmem(t, m->target.len, "://", 3);
    if (s) {
        const char *slash = memchr(s + 3, '/', (size_t)(end - s - 3));
        if (slash)
            return (hs_str_t){slash, (size_t)(end - slash)};
    }
    return HS_STR_LIT("/");
}

/* Primary key: lower-cased host, then the origin-form target; from the
 * arena a when given, else malloc'd. */
static char *make_key(const hs_http_msg_t *m, size_t *len, hs_arena_t *a)
{
    hs_str_t t = origin_form(m);
    size_t n = m->host.len + 1 + t.len;
    char *k = a ? hs_arena_alloc(a, n) : malloc(n);
    if (!k)
        return NULL;
    for (size_t i = 0; i < m->host.len; i++) {
        char c = m->host.base[i];
        k[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    k[m->host.len] = ' ';
    memcpy(k + m->host.len + 1, t.base, t.len);
    *len = n;
    return k;
}

static uint64_t hash_key(const char *k, size_t n)
{
    return XXH3_64bits(k, n);
}

/* ---- hit-for-miss markers ---- */

static bool pass_marked(proxy_t *p, uint64_t h)
{
    pass_slot_t *s = &p->pass[h & (PASS_SLOTS - 1)];
    return s->hash == h && s->until_ms > hs_loop_now(p->loop);
}

static void pass_mark(proxy_t *p, uint64_t h, bool on)
{
    pass_slot_t *s = &p->pass[h & (PASS_SLOTS - 1)];
    if (on) {
        s->hash = h;
        s->until_ms = hs_loop_now(p->loop) + p->o.pass_ttl_ms;
    } else if (s->hash == h) {
        s->until_ms = 0;
    }
}

/* ---- fill table ---- */

static fill_t *fill_find(proxy_t *p, const char *key, size_t len, uint64_t h)
{
    for (fill_t *f = p->fills[h & (FILL_BUCKETS - 1)]; f; f = f->hnext)
        if (f->hash == h && f->keylen == len && memcmp(f->key, key, len) == 0)
            return f;
    return NULL;
}

static void fill_unlist(fill_t *f)
{
    if (!f->in_table)
        return;
    if (f->flight)
        hs_edge_flight_unlist(f->flight); /* late joiners elsewhere fetch for themselves too */
    fill_t **pp = &f->p->fills[f->hash & (FILL_BUCKETS - 1)];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    f->in_table = false;
}

static void fill_free(fill_t *f)
{
    proxy_t *p = f->p;
    fill_unlist(f);
    if (hs_timer_active(&f->try_timer))
        hs_timer_stop(p->loop, &f->try_timer);
    if (f->aprev)
        f->aprev->anext = f->anext;
    else
        p->all = f->anext;
    if (f->anext)
        f->anext->aprev = f->aprev;
    if (f->stale)
        hs_edge_obj_unref(f->stale);
    if (f->flight)
        hs_edge_flight_end(f->flight, HS_ECANCELED);
    if (f->fw)
        hs_edge_flight_leave(f->fw);
    free(f->rh);
    free(f->rbuf);
    free(f->hdr);
    free(f->body);
    free(f->tags);
    free(f->key);
    free(f);
}

static void fill_maybe_free(fill_t *f)
{
    if (!f->calling && f->nsubs == 0 && f->in_cb == 0)
        fill_free(f);
}

static void sub_add(fill_t *f, rq_t *r)
{
    r->fill = f;
    r->snext = NULL;
    r->sprev = f->subs_tail;
    if (f->subs_tail)
        f->subs_tail->snext = r;
    else
        f->subs = r;
    f->subs_tail = r;
    f->nsubs++;
}

static void sub_del(rq_t *r)
{
    fill_t *f = r->fill;
    if (r->sprev)
        r->sprev->snext = r->snext;
    else
        f->subs = r->snext;
    if (r->snext)
        r->snext->sprev = r->sprev;
    else
        f->subs_tail = r->sprev;
    r->snext = r->sprev = NULL;
    r->fill = NULL;
    f->nsubs--;
    if (f->body_src == r)
        f->body_src = NULL;
    if (f->leader == r)
        f->leader = NULL;
}

/* ---- origin requests ---- */

static void on_head(void *ctx, const hs_http_msg_t *resp);
static void on_body(void *ctx, const char *data, size_t len);
static void on_done(void *ctx, int status);
static void fill_finish(fill_t *f, int status);
static void on_req_body(hs_http_req_t *req, const char *data, size_t len, int status);
static void start_private(proxy_t *p, rq_t *r);

/* The per-try timeout (to the response head): the try is given up as a
 * timeout, which on_done may retry elsewhere. */
static void on_try_timeout(hs_loop_t *loop, hs_timer_t *t)
{
    (void)loop;
    fill_t *f = hs_container_of(t, fill_t, try_timer);
    if (!f->calling || f->got_head || f->retry_pending)
        return;
    f->try_expired = true;
    hs_http_call_cancel(f->call); /* on_done runs (and may free f) before this returns */
}

/* Sends the fill's request to an origin the balancer picks among those
 * this fill has not tried. Returns 0 (on_done will run) or a negative
 * HS_E* code. */
static int fill_send(fill_t *f)
{
    proxy_t *p = f->p;
#ifdef HS_EDGE_DIRECT_ORIGIN
    /* Bench-only build (bench/whole-path part B): always the first
     * origin, no balancer, to measure what the balancer costs. f->br is
     * never picked, so hs_balance_done/retry return at once. */
    int b = 0;
#else
    int b = hs_balance_pick(p->bv, &f->br, f->hash);
    if (b < 0)
        return b;
#endif
    hs_http_client_req_t creq = {
        .method = f->method,
        .method_str = f->method_str,
        .target = f->target,
        .host = f->host,
        .headers = f->rh,
        .num_headers = f->nrh,
    };
    if (f->has_body) {
        creq.body_kind = HS_HTTP_CLIENT_BODY_STREAM;
        creq.stream_length = f->stream_length;
    }
    hs_http_client_cbs_t cbs = {.on_head = on_head, .on_body = on_body, .on_done = on_done};
    f->try_ns = now_ns();
    int rc = hs_http_client_request(p->client, hs_balance_backend_name(p->pool, (unsigned)b),
                                    &creq, &cbs, f, &f->call);
    if (rc < 0) {
        hs_balance_done(p->bv, &f->br, HS_ECANCELED, 0); /* not the origin's doing */
        return rc;
    }
    hs_counter_inc(m_origin);
    uint64_t tt = hs_balance_pool_opts(p->pool)->try_timeout_ms;
    if (tt)
        hs_timer_start(p->loop, &f->try_timer, tt, on_try_timeout);
    return 0;
}

/* The try may be repeated on another origin: an idempotent request
 * without a body, nothing of the answer sent to anyone yet, and someone
 * still waiting for it (or a shared fill that may be stored). */
static bool retryable(const fill_t *f)
{
    if (f->has_body || f->got_head || !hs_balance_idempotent(f->method, true))
        return false;
    return !f->private_ || f->nsubs > 0;
}

static bool conditional_or_range(hs_str_t n)
{
    return HS_STR_IEQ(n, "if-none-match") || HS_STR_IEQ(n, "if-modified-since") ||
           HS_STR_IEQ(n, "if-match") || HS_STR_IEQ(n, "if-unmodified-since") ||
           HS_STR_IEQ(n, "if-range") || HS_STR_IEQ(n, "range");
}

/* Copies the request fields to forward into the fill (its own memory),
 * with the target, Host and method token a retry sends again. */
static int copy_request(fill_t *f, const hs_http_msg_t *m, bool shared, hs_str_t target,
                        hs_str_t host)
{
    size_t bytes = 64 + sizeof(VIA_VALUE) + target.len + host.len + m->method_str.len;
    unsigned n = 0;
    for (unsigned i = 0; i < m->num_headers; i++)
        bytes += m->headers[i].name.len + m->headers[i].value.len;
    if (f->stale)
        bytes += f->stale->etag.len + f->stale->last_modified.len;
    f->rh = calloc(MAX_FWD_HEADERS + 4, sizeof(*f->rh));
    f->rbuf = malloc(bytes);
    if (!f->rh || !f->rbuf)
        return HS_ENOMEM;
    char *b = f->rbuf;
#define PUT(dst, s)                                                            \
    do {                                                                       \
        memcpy(b, (s).base, (s).len);                                          \
        (dst) = (hs_str_t){b, (s).len};                                        \
        b += (s).len;                                                          \
    } while (0)
    for (unsigned i = 0; i < m->num_headers && n < MAX_FWD_HEADERS; i++) {
        const hs_http_header_t *h = &m->headers[i];
        if (hop_by_hop(h->name, m) || HS_STR_IEQ(h->name, "host") ||
            HS_STR_IEQ(h->name, "content-length") || HS_STR_IEQ(h->name, "expect") ||
            (shared && conditional_or_range(h->name)))
            continue;
        PUT(f->rh[n].name, h->name);
        PUT(f->rh[n].value, h->value);
        n++;
    }
    if (f->stale && f->stale->etag.len) {
        f->rh[n].name = HS_STR_LIT("If-None-Match");
        PUT(f->rh[n].value, f->stale->etag);
        n++;
    }
    if (f->stale && f->stale->last_modified.len) {
        f->rh[n].name = HS_STR_LIT("If-Modified-Since");
        PUT(f->rh[n].value, f->stale->last_modified);
        n++;
    }
    if (target.len)
        PUT(f->target, target);
    if (host.len)
        PUT(f->host, host);
    if (m->method_str.len)
        PUT(f->method_str, m->method_str);
#undef PUT
    f->rh[n].name = HS_STR_LIT("Via");
    f->rh[n].value = HS_STR_LIT(VIA_VALUE);
    n++;
    f->nrh = n;
    f->rmsg.headers = f->rh;
    f->rmsg.num_headers = n;
    f->rmsg.method = f->method;
    return 0;
}

/*
 * Starts a fill for request r (subscribed to it). shared: listed in the
 * table under r's key and fetched with GET without the client's
 * conditionals; private: r's own request is forwarded as it is.
 * stale: object to revalidate (a reference is taken). r may be NULL for a
 * background revalidation. Returns 0, or a negative HS_E* code when no
 * fill started (r is then not answered).
 */
static int fill_start(proxy_t *p, rq_t *r, const hs_http_msg_t *m, const char *key,
                      size_t keylen, bool shared, hs_edge_obj_t *stale)
{
    fill_t *f = calloc(1, sizeof(*f));
    if (!f)
        return HS_ENOMEM;
    f->p = p;
    f->private_ = !shared;
    f->key = malloc(keylen);
    if (!f->key) {
        free(f);
        return HS_ENOMEM;
    }
    memcpy(f->key, key, keylen);
    f->keylen = keylen;
    f->hash = hash_key(key, keylen);
    f->method = shared ? HS_HTTP_GET : m->method;
    f->clen = -1;
    f->label = shared ? (stale ? L_EXPIRED : L_MISS) : L_PASS;
    if (r) {
        f->leader_cc = r->cc;
        f->leader_auth = r->auth;
    } else {
        hs_cc_init(&f->leader_cc);
    }
    if (stale) {
        f->stale = stale;
        hs_edge_obj_ref(stale);
    }
    f->anext = p->all;
    if (p->all)
        p->all->aprev = f;
    p->all = f;
    hs_str_t host = p->origin_host ? (hs_str_t){p->origin_host, strlen(p->origin_host)} : m->host;
    if (copy_request(f, m, shared, origin_form(m), host) != 0) {
        fill_free(f);
        return HS_ENOMEM;
    }
    bool body = !shared && m->framing != HS_HTTP_BODY_NONE;
    f->has_body = body;
    f->stream_length = m->framing == HS_HTTP_BODY_LENGTH ? (int64_t)m->content_length : -1;
    hs_balance_req_init(&f->br);
    f->request_time = hs__edge_wall(p);
    f->start_ns = now_ns();
    int rc = fill_send(f);
    if (rc < 0) {
        hs_log_debug("edge_origin_refused", "err=%s", hs_errname(rc));
        fill_free(f);
        return rc;
    }
    f->calling = true;
    if (shared) {
        f->in_table = true;
        f->hnext = p->fills[f->hash & (FILL_BUCKETS - 1)];
        p->fills[f->hash & (FILL_BUCKETS - 1)] = f;
    }
    if (r) {
        sub_add(f, r);
        f->leader = r;
        if (body) {
            /* the body callback may run from here and even end the call */
            f->body_src = r;
            r->req->data = r;
            f->in_cb++;
            hs_http_req_read_body(r->req, on_req_body);
            f->in_cb--;
            fill_maybe_free(f);
        }
    }
    return 0;
}

/* Request body bytes of a pass, to the origin. */
static void on_req_body(hs_http_req_t *req, const char *data, size_t len, int status)
{
    rq_t *r = req->data;
    fill_t *f = r->fill;
    if (!f || f->body_src != r || !f->calling)
        return;
    if (status == 0 && len) {
        hs_http_call_write(f->call, data, len); /* the client buffers (see report) */
    } else if (status == 1) {
        hs_http_call_finish(f->call);
    } else if (status < 0) {
        f->body_src = NULL;
        hs_http_call_cancel(f->call);
    }
}

/* Releases r from a shared fill it cannot share: it goes to the origin
 * with its own request. */
static void release(rq_t *r)
{
    sub_del(r);
    start_private(r->p, r);
}

/* ---- response head ---- */

/* Fields that a stored or forwarded response does not carry from the
 * origin: framing and hop-by-hop fields, and the ones we generate. */
static bool drop_resp_field(hs_str_t n, const hs_http_msg_t *resp)
{
    return hop_by_hop(n, resp) || HS_STR_IEQ(n, "content-length") || HS_STR_IEQ(n, "date") ||
           HS_STR_IEQ(n, "server") || HS_STR_IEQ(n, "age") || HS_STR_IEQ(n, "x-cache") ||
           HS_STR_IEQ(n, "surrogate-key") || HS_STR_IEQ(n, "cache-tag");
}

static int hdr_append(char **buf, size_t *len, size_t *cap, hs_str_t n, hs_str_t v)
{
    size_t need = n.len + v.len + 4;
    if (need > 16000)
        return 0; /* the server's header segment limit: drop the field */
    if (*len + need > *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        while (c < *len + need)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return HS_ENOMEM;
        *buf = nb;
        *cap = c;
    }
    char *p = *buf + *len;
    memcpy(p, n.base, n.len);
    p[n.len] = ':';
    p[n.len + 1] = ' ';
    memcpy(p + n.len + 2, v.base, v.len);
    p[need - 2] = '\r';
    p[need - 1] = '\n';
    *len += need;
    return 0;
}

/* Header block of a response: what we forward and store. */
static int build_hdr(fill_t *f, const hs_http_msg_t *resp, hs_str_t strip)
{
    for (unsigned i = 0; i < resp->num_headers; i++) {
        const hs_http_header_t *h = &resp->headers[i];
        if (drop_resp_field(h->name, resp))
            continue;
        if (strip.len && hs_cc_lists_field(strip, h->name))
            continue;
        if (hdr_append(&f->hdr, &f->hdr_len, &f->hdr_cap, h->name, h->value) < 0)
            return HS_ENOMEM;
    }
    return 0;
}

/* Surrogate keys for purges: Surrogate-Key (space-separated, Fastly) and
 * Cache-Tag (comma-separated, Cloudflare), joined with spaces. */
static int collect_tags(fill_t *f, const hs_http_msg_t *resp)
{
    size_t cap = 0;
    for (unsigned i = 0; i < resp->num_headers; i++)
        if (HS_STR_IEQ(resp->headers[i].name, "surrogate-key") ||
            HS_STR_IEQ(resp->headers[i].name, "cache-tag"))
            cap += resp->headers[i].value.len + 1;
    if (cap == 0)
        return 0;
    if (cap > 8192)
        cap = 8192; /* bounded: keys past it are not indexed */
    char *t = malloc(cap);
    if (!t)
        return HS_ENOMEM;
    size_t n = 0;
    for (unsigned i = 0; i < resp->num_headers; i++) {
        const hs_http_header_t *h = &resp->headers[i];
        if (!HS_STR_IEQ(h->name, "surrogate-key") && !HS_STR_IEQ(h->name, "cache-tag"))
            continue;
        for (size_t k = 0; k < h->value.len;) {
            while (k < h->value.len && (h->value.base[k] == ' ' || h->value.base[k] == ',' ||
                                        h->value.base[k] == '\t'))
                k++;
            size_t s = k;
            while (k < h->value.len && h->value.base[k] != ' ' && h->value.base[k] != ',' &&
                   h->value.base[k] != '\t')
                k++;
            if (k > s && n + (k - s) + (n ? 1 : 0) <= cap) {
                if (n)
                    t[n++] = ' ';
                memcpy(t + n, h->value.base + s, k - s);
                n += k - s;
            }
        }
    }
    f->tags = t;
    f->tags_len = n;
    return 0;
}

/* Parses a header block back into fields (pointing into it). */
static unsigned block_fields(const char *b, size_t len, hs_http_header_t *out, unsigned max)
{
    unsigned n = 0;
    if (!b)
        return 0;
    const char *p = b, *end = b + len;
    while (p < end && n < max) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol)
            break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            out[n].name = (hs_str_t){p, (size_t)(colon - p)};
            out[n].value = hs_str_trim_ows((hs_str_t){colon + 1, (size_t)(eol - colon - 1)});
            n++;
        }
        p = eol + 2;
    }
    return n;
}

/* RFC 9111 4.3.4: a 304 updates the stored header fields it carries; the
 * freshness is then computed from the updated response. */
static int merge_304(fill_t *f, const hs_http_msg_t *resp)
{
    proxy_t *p = f->p;
    hs_edge_obj_t *o = f->stale;
    hs_http_header_t *old = calloc(MAX_FWD_HEADERS, sizeof(*old));
    hs_http_header_t *merged = calloc(MAX_FWD_HEADERS * 2, sizeof(*merged));
    char *nb = NULL;
    size_t nlen = 0, ncap = 0;
    int rc = HS_ENOMEM;
    if (!old || !merged)
        goto out;
    unsigned no = block_fields(o->hdr, o->hdr_len, old, MAX_FWD_HEADERS);
    for (unsigned i = 0; i < no; i++) {
        if (hs_http_find_header(resp, old[i].name.base, old[i].name.len, 0) >= 0 &&
            !drop_resp_field(old[i].name, resp))
            continue; /* replaced */
        if (hdr_append(&nb, &nlen, &ncap, old[i].name, old[i].value) < 0)
            goto out;
    }
    for (unsigned i = 0; i < resp->num_headers; i++) {
        const hs_http_header_t *h = &resp->headers[i];
        if (drop_resp_field(h->name, resp) || HS_STR_IEQ(h->name, "content-type") ||
            HS_STR_IEQ(h->name, "content-range"))
            continue;
        if (hdr_append(&nb, &nlen, &ncap, h->name, h->value) < 0)
            goto out;
    }
    /* freshness of the merged response; Date and Age come from the 304 */
    hs_edge_resp_info_t r304, ri;
    hs_edge_resp_info(resp, p->targets, p->ntargets, &r304);
    unsigned nm = block_fields(nb, nlen, merged, MAX_FWD_HEADERS * 2);
    hs_http_msg_t mm = {.status = o->status, .headers = merged, .num_headers = nm};
    hs_edge_resp_info(&mm, p->targets, p->ntargets, &ri);
    ri.has_date = r304.has_date;
    ri.date = r304.date;
    ri.age = r304.age;
    hs_edge_meta_init(&o->meta, &ri, f->request_time, hs__edge_wall(p), p->o.heuristic_max_s);
    free(o->hdr);
    o->hdr = nb;
    o->hdr_len = nlen;
    nb = NULL;
    hs_edge_obj_index(o);
    if (o->cached)
        hs_edge_mem_recharge(p->mem, o);
    rc = 0;
out:
    free(nb);
    free(old);
    free(merged);
    return rc;
}

/* Starts streaming the fill's response to r. */
static void sub_start(fill_t *f, rq_t *r)
{
    hs_http_req_t *req = r->req;
    r->started = true;
    hs_http_resp_start(req, f->status, f->clen);
    if (f->hdr_len)
        hs_http_resp_header_raw(req, f->hdr, f->hdr_len);
    int64_t age = f->meta.initial_age;
    hs__edge_common_headers(req, f->label, f->private_ && age == 0 ? -1 : age);
    if (f->len)
        hs_http_resp_body(req, f->body, f->len); /* a late joiner: what is buffered */
}

/* Hands a response head to the fill's subscribers (etag, lastmod: its
 * validators). */
static void head_to_subs(fill_t *f, hs_str_t etag, hs_str_t lastmod)
{
    /* Subscribers: the leader (whose request this answers) streams; the
     * others only if they may share it. A response that may not be shared
     * never goes to a waiter, even when the leader has gone away: it may
     * have been made for the leader's credentials or cookies. */
    for (rq_t *r = f->subs, *next; r; r = next) {
        next = r->snext;
        if (r->started)
            continue; /* joined (and started) while an earlier one's answer ended */
        if (!f->private_ && r != f->leader) {
            bool ok = f->shareable;
            if (ok && f->vary_len) {
                char sec[HS_EDGE_SECONDARY_MAX];
                int n = hs_edge_vary_key((hs_str_t){f->vary, (size_t)f->vary_len}, &r->req->msg,
                                         sec, sizeof(sec));
                ok = n == f->sec_len && memcmp(sec, f->sec, (size_t)n) == 0;
            }
            if (!ok) {
                release(r);
                continue;
            }
        }
        if (r->want_full) {
            if (!f->storing)
                release(r); /* it forwards its own Range */
            continue;       /* else answered from the stored object */
        }
        if (f->status == 200 && !f->private_ && hs__edge_not_modified(&r->req->msg, etag, lastmod)) {
            /* the client's validators were not forwarded: answer them here */
            sub_del(r);
            hs__edge_respond_304(r, etag, lastmod, f->label, f->meta.initial_age);
            continue;
        }
        sub_start(f, r);
    }
}

/* stale-if-error (RFC 5861 4): the subscribers it allows get the stale
 * object. */
static void serve_stale_if_error(fill_t *f)
{
    int64_t now = hs__edge_wall(f->p);
    for (rq_t *r = f->subs, *next; r; r = next) {
        next = r->snext;
        if (hs_edge_stale_if_error(&f->stale->meta, &r->cc, now)) {
            sub_del(r);
            hs__edge_serve_obj(r, f->stale, L_STALE);
        }
    }
}

/* Owner of a revalidation flight: the 304 (its fields, without the
 * hop-by-hop ones) goes to the other threads, each merging it into its
 * own copy; the flight ends with it. */
static void publish_304(fill_t *f, const hs_http_msg_t *resp)
{
    char *b = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (unsigned i = 0; i < resp->num_headers && rc == 0; i++)
        if (!hop_by_hop(resp->headers[i].name, resp))
            rc = hdr_append(&b, &len, &cap, resp->headers[i].name, resp->headers[i].value);
    hs_edge_flight_head_t h = {
        .status = 304,
        .clen = 0,
        .hdr = {b, len},
        .request_time = f->request_time,
    };
    if (rc == 0)
        rc = hs_edge_flight_head(f->flight, &h);
    free(b);
    hs_edge_flight_end(f->flight, rc); /* out of memory: the waiters ask for themselves */
    f->flight = NULL;
}

/* Owner of a flight: other threads' waiters get the head; an answer they
 * may not share (or that is not kept whole) releases them at once. */
static void publish_head(fill_t *f, bool pass)
{
    hs_edge_flight_head_t h = {
        .status = f->status,
        .clen = f->clen,
        .hdr = {f->hdr, f->hdr_len},
        .vary = {f->vary, (size_t)f->vary_len},
        .sec = {f->sec, (size_t)f->sec_len},
        .tags = {f->tags, f->tags_len},
        .meta = f->meta,
        .joinable = f->shareable && f->storing,
        .pass = pass,
        .request_time = f->request_time,
    };
    int rc = hs_edge_flight_head(f->flight, &h);
    if (rc != 0 || !h.joinable) {
        hs_edge_flight_end(f->flight, rc);
        f->flight = NULL;
    }
}

static void on_head(void *ctx, const hs_http_msg_t *resp)
{
    fill_t *f = ctx;
    proxy_t *p = f->p;
    if (hs_timer_active(&f->try_timer))
        hs_timer_stop(p->loop, &f->try_timer);
    f->head_lat_ns = now_ns() - f->try_ns;
    if (resp->status >= 502 && resp->status <= 504 && retryable(f)) {
        hs_balance_done(p->bv, &f->br, resp->status, f->head_lat_ns);
        if (hs_balance_retry(p->bv, &f->br, resp->status)) {
            f->retry_pending = true;
            hs_http_call_cancel(f->call); /* on_done follows this callback */
            return;
        }
    }
    f->in_cb++;
    f->got_head = true;
    f->status = resp->status;
    int64_t now = hs__edge_wall(p);
    hs_edge_resp_info_t ri;
    hs_edge_resp_info(resp, p->targets, p->ntargets, &ri);

    if (f->stale && resp->status == 304) {
        /* Revalidated: every subscriber gets the updated stored object. */
        fill_unlist(f);
        f->merged = true;
        if (f->flight)
            publish_304(f, resp);
        if (merge_304(f, resp) == 0) {
            /* the disk entry too: an object sent from its file lives
             * nowhere else, and a restart reads the file's freshness */
            if (p->disk)
                hs_edge_disk_refresh(p->disk, (hs_str_t){f->key, f->keylen}, &f->rmsg, f->stale);
            rq_t *r;
            while ((r = f->subs)) {
                sub_del(r);
                hs__edge_serve_obj(r, f->stale, L_REVALIDATED);
            }
        } else {
            rq_t *r;
            while ((r = f->subs)) {
                sub_del(r);
                hs__edge_respond_error(r, 502, "out of memory", L_REVALIDATED);
            }
        }
        f->in_cb--;
        return;
    }
    if (f->stale && resp->status >= 500) {
        fill_unlist(f);
        serve_stale_if_error(f);
    }

    /* What the response allows by itself, and for this fill's own request
     * (a private fill may carry Authorization or no-store). */
    hs_edge_store_t v_resp = hs_edge_storable(f->method, NULL, false, &ri);
    hs_edge_store_t v = f->private_ || f->leader_auth
                            ? hs_edge_storable(f->method, &f->leader_cc, f->leader_auth, &ri)
                            : v_resp;
    f->vary_len = v == HS_EDGE_STORE ? hs_edge_vary_list(resp, f->vary, sizeof(f->vary)) : 0;
    if (f->vary_len < 0) {
        f->vary_len = 0;
        v = HS_EDGE_NOSTORE_VARY_STAR;
    }
    if (v == HS_EDGE_STORE && f->vary_len) {
        f->sec_len = hs_edge_vary_key((hs_str_t){f->vary, (size_t)f->vary_len}, &f->rmsg, f->sec,
                                      sizeof(f->sec));
        if (f->sec_len < 0) {
            f->sec_len = 0;
            v = HS_EDGE_NOSTORE_VARY_STAR;
        }
    }
    hs_edge_meta_init(&f->meta, &ri, f->request_time, now, p->o.heuristic_max_s);
    f->clen = resp->framing == HS_HTTP_BODY_LENGTH ? (int64_t)resp->content_length
              : resp->framing == HS_HTTP_BODY_NONE ? 0
                                                   : -1;
    if (f->method == HS_HTTP_HEAD) {
        /* a HEAD answer has no body but tells the length of the GET one */
        hs_str_t cl = REQ_HEADER(resp, "Content-Length");
        uint64_t n;
        f->clen = cl.base && hs_str_to_u64(cl, &n) == 0 && n <= INT64_MAX ? (int64_t)n : -1;
    }
    /* Shareable: the policy allows reuse, whatever its size. */
    f->shareable = v == HS_EDGE_STORE;
    bool useful = f->meta.lifetime > 0 || ri.has_etag || ri.has_last_modified ||
                  f->meta.sie >= 0 || f->meta.swr >= 0;
    f->storing = f->shareable && useful && !(f->leader_cc.flags & HS_CC_NO_STORE) &&
                 (f->clen < 0 || (uint64_t)f->clen <= p->o.object_max);
    if (f->method == HS_HTTP_GET && !f->shareable)
        hs_counter_inc(m_uncacheable);
    if (f->storing && collect_tags(f, resp) < 0)
        f->storing = false;
    if (build_hdr(f, resp, f->storing ? ri.cc.private_fields : HS_STR_NULL) < 0) {
        f->storing = false;
        f->shareable = false;
    }
    if (f->storing && f->clen > 0) {
        f->body = malloc((size_t)f->clen);
        f->cap = f->body ? (uint64_t)f->clen : 0;
        if (!f->body)
            f->storing = false;
    }
    if (!(f->shareable && f->storing))
        fill_unlist(f); /* nothing buffered for late joiners */
    /* hit-for-miss: after an uncacheable answer to a GET, requests for this
     * URL go to the origin in parallel instead of queueing on each other */
    if (f->method == HS_HTTP_GET)
        pass_mark(p, f->hash, v_resp != HS_EDGE_STORE);
    hs_str_t etag = REQ_HEADER(resp, "ETag"), lastmod = REQ_HEADER(resp, "Last-Modified");
    if (f->flight)
        publish_head(f, v_resp != HS_EDGE_STORE);
    head_to_subs(f, etag, lastmod);
    f->in_cb--;
}

/* Keeps body bytes of a fill being stored (bounded by edge.object_max:
 * past it, or out of memory, the fill stops storing and leaves the table). */
static void body_keep(fill_t *f, const char *data, size_t len)
{
    proxy_t *p = f->p;
    if (f->storing) {
        if (f->len + len > p->o.object_max) {
            f->storing = false;
            free(f->body);
            f->body = NULL;
            f->len = f->cap = 0;
            fill_unlist(f);
        } else {
            if (f->len + len > f->cap) {
                uint64_t c = f->cap ? f->cap * 2 : 16384;
                while (c < f->len + len)
                    c *= 2;
                if (c > p->o.object_max)
                    c = p->o.object_max;
                char *nb = realloc(f->body, c);
                if (!nb) {
                    f->storing = false;
                    free(f->body);
                    f->body = NULL;
                    f->len = f->cap = 0;
                    fill_unlist(f);
                    return;
                }
                f->body = nb;
                f->cap = c;
            }
            memcpy(f->body + f->len, data, len);
            f->len += len;
        }
    }
}

static void on_body(void *ctx, const char *data, size_t len)
{
    fill_t *f = ctx;
    if (f->merged || f->retry_pending)
        return;
    f->in_cb++;
    body_keep(f, data, len);
    if (f->flight && (!f->storing || hs_edge_flight_body(f->flight, data, len) != 0)) {
        /* no longer kept whole: other threads' waiters stop here */
        hs_edge_flight_end(f->flight, HS_E2BIG);
        f->flight = NULL;
    }
    if (f->storing && f->clen >= 0 && f->len == (uint64_t)f->clen)
        /* The last bytes: once a client may have the whole answer, a new
         * request must not join this fetch (on this thread or another)
         * in the moment before it is stored; it looks up the cache or
         * fetches anew. */
        fill_unlist(f);
    /* Several readers share one refcounted copy of the chunk instead of
     * each queueing its own (a herd of 1,000 waiters on a large object).
     * Only while storing: the server does not flush referenced bytes
     * before the response ends (see design notes), so this is kept to
     * bodies bounded by edge.object_max; copies are flushed every 256 KiB. */
    unsigned readers = 0;
    for (rq_t *r = f->subs; r && readers < 2; r = r->snext)
        readers += r->started && !hs_http_req_is_head(r->req);
    chunk_t *k = NULL;
    if (readers > 1 && f->storing && len >= 512 &&
        (k = malloc(sizeof(*k) + len)) != NULL) {
        k->refs = 1;
        memcpy(k->data, data, len);
    }
    for (rq_t *r = f->subs, *next; r; r = next) {
        next = r->snext; /* a failed write may abort (and unlink) r */
        if (!r->started)
            continue;
        if (!hs_http_req_is_head(r->req))
            hs_counter_add(hs__edge_m_bytes[f->label], len);
        if (k) {
            k->refs++;
            hs_http_resp_body_ref(r->req, k->data, len, chunk_release, k);
        } else {
            hs_http_resp_body(r->req, data, len);
        }
    }
    if (k)
        chunk_release(k);
    f->in_cb--;
}

/* Invalidation after an unsafe method (RFC 9111 4.4). */
static void invalidate_uri(proxy_t *p, hs_str_t host, hs_str_t v)
{
    if (!v.len)
        return;
    hs_str_t path = HS_STR_NULL;
    if (v.base[0] == '/') {
        path = v;
    } else {
        const char *s = memmem(v.base, v.len, "://", 3);
        if (!s)
            return;
        const char *h = s + 3, *end = v.base + v.len;
        const char *slash = memchr(h, '/', (size_t)(end - h));
        size_t hl = (size_t)((slash ? slash : end) - h);
        if (hl != host.len || strncasecmp(h, host.base, hl) != 0)
            return; /* another origin: not ours to invalidate */
        path = slash ? (hs_str_t){slash, (size_t)(end - slash)} : HS_STR_LIT("/");
    }
    hs_http_msg_t m = {.host = host, .target = path};
    size_t kl;
    char *k = make_key(&m, &kl, NULL);
    if (!k)
        return;
    unsigned n = hs_edge_mem_invalidate(p->mem, (hs_str_t){k, kl});
    if (p->disk)
        n += hs_edge_disk_purge(p->disk, HS_EDGE_PURGE_URL, (hs_str_t){k, kl}, false);
    if (n)
        hs_counter_add(m_invalidated, n);
    free(k);
}

static void invalidate_after(fill_t *f, const hs_http_msg_t *req)
{
    proxy_t *p = f->p;
    hs_http_msg_t m = *req;
    invalidate_uri(p, m.host, origin_form(&m));
    hs_http_header_t fields[MAX_FWD_HEADERS];
    unsigned n = block_fields(f->hdr, f->hdr_len, fields, MAX_FWD_HEADERS);
    for (unsigned i = 0; i < n; i++)
        if (HS_STR_IEQ(fields[i].name, "location") || HS_STR_IEQ(fields[i].name, "content-location"))
            invalidate_uri(p, m.host, fields[i].value);
}

static hs_edge_obj_t *store(fill_t *f)
{
    proxy_t *p = f->p;
    hs_edge_obj_t *o = hs_edge_obj_new();
    if (!o)
        return NULL;
    o->status = f->status;
    o->hdr = f->hdr;
    o->hdr_len = f->hdr_len;
    f->hdr = NULL;
    f->hdr_len = f->hdr_cap = 0;
    o->body = f->body ? f->body : malloc(1);
    o->size = f->len;
    f->body = NULL;
    f->len = f->cap = 0;
    o->meta = f->meta;
    o->tags = f->tags;
    o->tags_len = f->tags_len;
    f->tags = NULL;
    f->tags_len = 0;
    hs_edge_obj_index(o);
    if (!o->body || hs_edge_mem_insert(p->mem, (hs_str_t){f->key, f->keylen},
                                       (hs_str_t){f->vary, (size_t)f->vary_len},
                                       (hs_str_t){f->sec, (size_t)f->sec_len}, o) != 0) {
        hs_edge_obj_unref(o);
        return NULL;
    }
    if (p->disk)
        hs_edge_disk_store(p->disk, (hs_str_t){f->key, f->keylen},
                           (hs_str_t){f->vary, (size_t)f->vary_len},
                           (hs_str_t){f->sec, (size_t)f->sec_len}, o);
    return o; /* the caller's reference */
}

static void on_done(void *ctx, int status)
{
    fill_t *f = ctx;
    proxy_t *p = f->p;
    if (hs_timer_active(&f->try_timer))
        hs_timer_stop(p->loop, &f->try_timer);
    if (f->try_expired)
        status = HS_ETIMEDOUT;
    bool retry = f->retry_pending;
    f->retry_pending = f->try_expired = false;
    f->call = NULL;
    if (!retry) {
        hs_balance_done(p->bv, &f->br, status == 0 ? f->status : status,
                        f->got_head ? f->head_lat_ns : 0);
        retry = status < 0 && status != HS_ECANCELED && retryable(f) &&
                hs_balance_retry(p->bv, &f->br, status);
    }
    if (retry) {
        hs_log_debug("edge_origin_retry", "after=%s", status ? hs_errname(status) : "5xx");
        int rc = fill_send(f);
        if (rc == 0)
            return; /* still calling, still joinable */
        if (status == HS_ECANCELED || status == 0)
            status = HS_ECONNREFUSED; /* the dropped 5xx cannot be forwarded any more */
    }
    hs_histogram_observe_ns(m_origin_seconds, now_ns() - f->start_ns);
    if (f->flight) {
        hs_edge_flight_end(f->flight, status);
        f->flight = NULL;
    }
    fill_finish(f, status);
}

/* The fill's answer is complete (status 0) or failed: stores it, and
 * ends, serves or releases every subscriber. */
static void fill_finish(fill_t *f, int status)
{
    proxy_t *p = f->p;
    f->in_cb++;
    f->calling = false;
    fill_unlist(f);
    if (status == 0 && f->merged) {
        /* subscribers were answered from the revalidated object */
    } else if (status == 0) {
        hs_edge_obj_t *o = NULL;
        if (f->storing && (f->clen < 0 || (uint64_t)f->clen == f->len))
            o = store(f);
        if (f->private_ && is_unsafe(f->method) && f->status >= 200 && f->status < 400 && f->subs)
            invalidate_after(f, &f->subs->req->msg);
        else if (f->stale && !o && !f->merged && f->status < 500 && f->stale->cached) {
            hs_edge_mem_remove(p->mem, f->stale); /* replaced by an uncacheable answer */
            if (p->disk)
                hs_edge_disk_purge(p->disk, HS_EDGE_PURGE_URL, (hs_str_t){f->key, f->keylen},
                                   false);
        }
        rq_t *r;
        while ((r = f->subs)) {
            sub_del(r);
            if (r->started) {
                hs_http_req_t *req = r->req;
                hs__edge_count(f->label, 0);
                hs__edge_rq_free(r);
                hs_http_resp_end(req);
            } else if (o) {
                hs__edge_serve_obj(r, o, f->label);
            } else {
                start_private(p, r);
            }
        }
        if (o)
            hs_edge_obj_unref(o);
    } else {
        hs_log_debug("edge_origin_error", "err=%s", hs_errname(status));
        int64_t now = hs__edge_wall(p);
        rq_t *r;
        while ((r = f->subs)) {
            sub_del(r);
            if (r->started) {
                /* The head is out: the client sees a truncated answer. */
                hs_http_req_t *req = r->req;
                hs__edge_count(f->label, 0);
                hs__edge_rq_free(r);
                hs_http_resp_close(req);
                hs_http_resp_end(req);
            } else if (f->stale && hs_edge_stale_if_error(&f->stale->meta, &r->cc, now)) {
                hs__edge_serve_obj(r, f->stale, L_STALE);
            } else {
                hs__edge_respond_error(r, status == HS_ETIMEDOUT ? 504 : 502, "origin unavailable",
                              f->label);
            }
        }
    }
    f->in_cb--;
    fill_maybe_free(f);
}

/* ---- requests ---- */

static void start_private(proxy_t *p, rq_t *r)
{
    if (fill_start(p, r, &r->req->msg, r->key, r->keylen, false, NULL) < 0)
        hs__edge_respond_error(r, 502, "origin unavailable", L_PASS);
}

/* ETag and Last-Modified of the fill's response head. */
static void block_validators(const fill_t *f, hs_str_t *etag, hs_str_t *lastmod)
{
    hs_http_header_t v[MAX_FWD_HEADERS];
    unsigned n = block_fields(f->hdr, f->hdr_len, v, MAX_FWD_HEADERS);
    *etag = *lastmod = HS_STR_NULL;
    for (unsigned i = 0; i < n; i++) {
        if (HS_STR_IEQ(v[i].name, "etag"))
            *etag = v[i].value;
        else if (HS_STR_IEQ(v[i].name, "last-modified"))
            *lastmod = v[i].value;
    }
}

/* ---- fills owned by another worker thread (fillshare.h) ----
 *
 * A "remote" fill stands in this thread's table for a flight another
 * thread fetches: this thread's misses join it like a local fill, and it
 * replays the owner's head, body chunks (sent by reference) and end as if
 * they came from the origin, keeping the body to store in this thread's
 * tiers. A remote fill of a revalidation holds this thread's stale copy:
 * a 304 is merged into it, an error falls back on it (stale-if-error). */

/* Releases every subscriber not yet answered: each fetches for itself. */
static void release_unstarted(fill_t *f)
{
    for (rq_t *r = f->subs, *next; r; r = next) {
        next = r->snext;
        if (!r->started)
            release(r);
    }
}

/* A revalidation flight's 304: merged into this thread's own stale copy
 * (and its disk entry) as the owner does with its own, with the owner's
 * request time; every subscriber gets it. */
static void remote_revalidated(fill_t *f, const hs_edge_flight_head_t *h)
{
    proxy_t *p = f->p;
    fill_unlist(f);
    f->merged = true;
    f->shareable = false; /* remote_pump leaves the flight: nothing follows */
    f->request_time = h->request_time;
    int rc = HS_ENOMEM;
    hs_http_header_t *fields = calloc(MAX_FWD_HEADERS * 2, sizeof(*fields));
    if (fields) {
        hs_http_msg_t resp = {
            .status = 304,
            .headers = fields,
            .num_headers = block_fields(h->hdr.base, h->hdr.len, fields, MAX_FWD_HEADERS * 2),
        };
        rc = merge_304(f, &resp);
        free(fields);
    }
    if (rc == 0 && p->disk)
        hs_edge_disk_refresh(p->disk, (hs_str_t){f->key, f->keylen}, &f->rmsg, f->stale);
    rq_t *r;
    while ((r = f->subs)) {
        sub_del(r);
        if (rc == 0)
            hs__edge_serve_obj(r, f->stale, L_REVALIDATED);
        else
            hs__edge_respond_error(r, 502, "out of memory", L_REVALIDATED);
    }
}

static void remote_head(fill_t *f, const hs_edge_flight_head_t *h)
{
    if (f->stale && h->status == 304) {
        f->got_head = true;
        f->status = 304;
        remote_revalidated(f, h);
        return;
    }
    if (f->stale && h->status >= 500)
        serve_stale_if_error(f);
    f->got_head = true;
    f->status = h->status;
    f->clen = h->clen;
    f->meta = h->meta;
    pass_mark(f->p, f->hash, h->pass);
    bool ok = h->joinable && h->vary.len <= sizeof(f->vary) && h->sec.len <= sizeof(f->sec);
    if (ok && h->hdr.len) {
        ok = (f->hdr = malloc(h->hdr.len)) != NULL;
        if (ok) {
            memcpy(f->hdr, h->hdr.base, h->hdr.len);
            f->hdr_len = f->hdr_cap = h->hdr.len;
        }
    }
    if (ok && h->tags.len) {
        ok = (f->tags = malloc(h->tags.len)) != NULL;
        if (ok) {
            memcpy(f->tags, h->tags.base, h->tags.len);
            f->tags_len = h->tags.len;
        }
    }
    if (ok && f->clen > 0) {
        ok = (f->body = malloc((size_t)f->clen)) != NULL;
        f->cap = ok ? (uint64_t)f->clen : 0;
    }
    if (ok) {
        memcpy(f->vary, h->vary.base, h->vary.len);
        f->vary_len = (int)h->vary.len;
        memcpy(f->sec, h->sec.base, h->sec.len);
        f->sec_len = (int)h->sec.len;
    }
    /* Not joinable: not shared, or not kept whole by the owner; its
     * waiters here make their own requests, as local waiters of an
     * unshareable answer do. */
    f->shareable = f->storing = ok;
    if (!ok) {
        fill_unlist(f);
        if (f->stale && h->status >= 500) {
            /* the rest get the owner's error status (its body is not
             * shared), as they got the error from this thread's own
             * revalidation, rather than all asking a failing origin */
            rq_t *r;
            while ((r = f->subs)) {
                sub_del(r);
                hs__edge_respond_error(r, h->status, "origin error", f->label);
            }
            return;
        }
        if (f->stale && !h->joinable && f->stale->cached) {
            /* replaced by an answer not kept, as on the owner's thread */
            hs_edge_mem_remove(f->p->mem, f->stale);
            if (f->p->disk)
                hs_edge_disk_purge(f->p->disk, HS_EDGE_PURGE_URL, (hs_str_t){f->key, f->keylen},
                                   false);
        }
        release_unstarted(f);
        return;
    }
    hs_str_t etag, lastmod;
    block_validators(f, &etag, &lastmod);
    head_to_subs(f, etag, lastmod);
}

static void remote_body(fill_t *f, const char *data, size_t len, void *ref)
{
    body_keep(f, data, len);
    for (rq_t *r = f->subs, *next; r; r = next) {
        next = r->snext; /* a failed write may abort (and unlink) r */
        if (!r->started)
            continue;
        if (!hs_http_req_is_head(r->req))
            hs_counter_add(hs__edge_m_bytes[f->label], len);
        hs_edge_flight_chunk_ref(ref);
        hs_http_resp_body_ref(r->req, data, len, hs_edge_flight_chunk_release, ref);
    }
    hs_edge_flight_chunk_release(ref);
}

/* The owner published something: catch up with it (runs on this loop). */
static void remote_pump(void *arg)
{
    fill_t *f = arg;
    if (!f->fw)
        return;
    f->in_cb++;
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(f->fw, &v);
    if (v.head && !f->got_head)
        remote_head(f, v.head);
    if (f->got_head && !f->shareable) {
        hs_edge_flight_leave(f->fw); /* everyone was released */
        f->fw = NULL;
        f->calling = false;
    }
    const char *data;
    size_t len;
    void *ref;
    while (f->fw && f->got_head && hs_edge_flight_next(f->fw, &data, &len, &ref))
        remote_body(f, data, len, ref);
    if (f->fw && v.ended) {
        hs_edge_flight_leave(f->fw);
        f->fw = NULL;
        int status = v.status;
        if (status == HS_E2BIG || (!v.head && status == HS_ENOMEM)) {
            /* the owner stopped sharing: who has no answer yet asks for itself */
            release_unstarted(f);
            status = HS_ECONNRESET;
        } else if (!v.head && status == 0) {
            status = HS_ECONNREFUSED;
        }
        fill_finish(f, status);
    }
    f->in_cb--;
    fill_maybe_free(f);
}

/* A request for key (m: its message) waits on a flight another thread
 * owns (w: its registration): r, or nobody for a background revalidation
 * of stale (referenced; NULL for a cold miss). Returns 0, or HS_ENOMEM
 * (w is released, r not answered). */
static int remote_start(proxy_t *p, rq_t *r, const hs_http_msg_t *m, const char *key,
                        size_t keylen, uint64_t h, hs_edge_flight_waiter_t *w,
                        hs_edge_obj_t *stale)
{
    fill_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->key = malloc(keylen))) {
        free(f);
        hs_edge_flight_leave(w);
        return HS_ENOMEM;
    }
    f->p = p;
    memcpy(f->key, key, keylen);
    f->keylen = keylen;
    f->hash = h;
    f->method = HS_HTTP_GET;
    f->clen = -1;
    f->label = stale ? L_EXPIRED : L_MISS;
    f->remote = true;
    f->fw = w;
    f->calling = true;
    hs_cc_init(&f->leader_cc);
    f->anext = p->all;
    if (p->all)
        p->all->aprev = f;
    p->all = f;
    if (stale) {
        f->stale = stale;
        hs_edge_obj_ref(stale);
        /* the request as the owner sent it: a 304's disk refresh picks the
         * variant with it */
        if (copy_request(f, m, true, HS_STR_NULL, HS_STR_NULL) != 0) {
            fill_free(f); /* leaves w */
            return HS_ENOMEM;
        }
    }
    f->in_table = true;
    f->hnext = p->fills[h & (FILL_BUCKETS - 1)];
    p->fills[h & (FILL_BUCKETS - 1)] = f;
    if (r)
        sub_add(f, r);
    hs_edge_flight_waiter_bind(w, remote_pump, f);
    remote_pump(f); /* the head (or more) may be out already */
    return 0;
}

/* Registers a shared fetch of key (h its hash) with the other threads: of
 * the stored version stale when given (a revalidation), else a cold miss.
 * Returns 0 (*fl and *w as hs_edge_flight_acquire sets them) or HS_ENOMEM. */
static int flight_acquire(proxy_t *p, const char *key, size_t keylen, uint64_t h,
                          const hs_edge_obj_t *stale, hs_edge_flight_t **fl,
                          hs_edge_flight_waiter_t **w)
{
    hs_str_t k = {key, keylen};
    if (!stale)
        return hs_edge_flight_acquire(p->pool, k, h, p->loop, fl, w);
    hs_edge_flight_version_t v = {
        .etag = stale->etag,
        .last_modified = stale->last_modified,
        .sec = {stale->sec, stale->sec ? stale->sec_len : 0},
    };
    return hs_edge_flight_acquire_reval(p->pool, k, &v, h, p->loop, fl, w);
}

/* Starts the origin fetch of key (h its hash; m the request it is for)
 * for r, or for nobody (NULL: a background revalidation of stale): a cold
 * miss, or the revalidation of one stored version, makes at most one origin
 * request in the process, so this thread joins another's flight when there
 * is one, else fetches and lists its fill for the others (out of memory for
 * the registry, it fetches on its own). Returns 0, or a negative code with
 * r not answered; *remote says which start failed. */
static int fetch_start(proxy_t *p, rq_t *r, const hs_http_msg_t *m, const char *key,
                       size_t keylen, uint64_t h, hs_edge_obj_t *stale, bool *remote)
{
    hs_edge_flight_t *fl = NULL;
    hs_edge_flight_waiter_t *w = NULL;
    *remote = p->share && flight_acquire(p, key, keylen, h, stale, &fl, &w) == 0 && w;
    if (*remote) {
        hs_counter_inc(m_coalesced);
        return remote_start(p, r, m, key, keylen, h, w, stale);
    }
    int rc = fill_start(p, r, m, key, keylen, true, stale);
    if (rc < 0) {
        if (fl)
            hs_edge_flight_end(fl, HS_ENOMEM); /* waiters elsewhere fetch for themselves */
        return rc;
    }
    if (fl) {
        fill_t *f = r ? r->fill : fill_find(p, key, keylen, h);
        assert(f && !f->flight);
        f->flight = fl;
    }
    return 0;
}

/* Joins or starts the shared fill for r's key. */
static void fetch_shared(proxy_t *p, rq_t *r, hs_edge_obj_t *stale)
{
    uint64_t h = hash_key(r->key, r->keylen);
    fill_t *f = fill_find(p, r->key, r->keylen, h);
    if (f) {
        hs_counter_inc(m_coalesced);
        if (f->got_head && !r->want_full && f->status == 200) {
            /* a late joiner's own conditional, against the answer's validators */
            hs_str_t etag, lastmod;
            block_validators(f, &etag, &lastmod);
            if (hs__edge_not_modified(&r->req->msg, etag, lastmod)) {
                hs__edge_respond_304(r, etag, lastmod, f->label, f->meta.initial_age);
                return;
            }
        }
        sub_add(f, r);
        if (f->got_head && !r->want_full)
            sub_start(f, r);
        return;
    }
    bool remote;
    if (fetch_start(p, r, &r->req->msg, r->key, r->keylen, h, stale, &remote) < 0) {
        if (remote)
            hs__edge_respond_error(r, 502, "out of memory", stale ? L_EXPIRED : L_MISS);
        else
            hs__edge_respond_error(r, 502, "origin unavailable", L_MISS);
    }
}

/* Background revalidation for stale-while-revalidate (RFC 5861 3). */
static void revalidate_bg(proxy_t *p, rq_t *r, hs_edge_obj_t *stale)
{
    uint64_t h = hash_key(r->key, r->keylen);
    if (fill_find(p, r->key, r->keylen, h))
        return; /* one is already on its way */
    /* one per stored version in the process, as for foreground ones */
    bool remote;
    (void)fetch_start(p, NULL, &r->req->msg, r->key, r->keylen, h, stale, &remote);
}

static void lookup_and_serve(proxy_t *p, rq_t *r, hs_edge_obj_t *cand, bool disk_ok);

/* A pseudo-fill that holds requests until the disk index is loaded (a
 * restart must not turn the disk's contents into misses). */
static fill_t *disk_loading_new(proxy_t *p)
{
    fill_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->p = p;
    f->calling = true;
    f->clen = -1;
    f->anext = p->all;
    if (p->all)
        p->all->aprev = f;
    p->all = f;
    return f;
}

static void disk_ready(void *arg)
{
    proxy_t *p = arg;
    fill_t *f = p->loading;
    p->loading = NULL;
    if (!f)
        return;
    f->in_cb++;
    f->calling = false;
    rq_t *r;
    while ((r = f->subs)) {
        sub_del(r);
        lookup_and_serve(p, r, NULL, true);
    }
    f->in_cb--;
    fill_maybe_free(f);
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    proxy_t *p = (proxy_t *)self;
    const hs_http_msg_t *m = &req->msg;
    if (!p->client) {
        if (!p->bv && !(p->bv = hs_balance_view_new(p->pool))) {
            hs_http_respond_text(req, 503, "out of memory");
            return;
        }
        p->client = hs_http_client_new(req->loop, &p->o.client);
        if (!p->client) {
            hs_http_respond_text(req, 503, "out of memory");
            return;
        }
        atomic_store(&p->loop, req->loop);
        if (p->o.disk_path && p->o.disk_path[0]) {
            char dir[PATH_MAX];
            int err = 0;
            snprintf(dir, sizeof(dir), "%s/t%u", p->o.disk_path, p->index);
            p->loading = disk_loading_new(p);
            p->disk = hs_edge_disk_new(dir, p->o.disk_bytes, req->loop, hs_tpool_io(),
                                       disk_ready, p, &err);
            if (!p->disk) {
                hs_log_warn("edge_disk_off", "dir=%s err=%s", dir, hs_errname(err));
                disk_ready(p);
            }
        }
    }
    if (m->method == HS_HTTP_CONNECT) {
        hs_http_respond_text(req, 405, "CONNECT is not proxied");
        return;
    }
    rq_t *r = hs_arena_alloc(&req->arena, sizeof(*r));
    if (r)
        memset(r, 0, sizeof(*r));
    if (!r || !(r->key = make_key(m, &r->keylen, &req->arena))) {
        hs_http_respond_text(req, 503, "out of memory");
        return;
    }
    r->p = p;
    r->req = req;
    req->data = r;
    hs_edge_request_cc(m, &r->cc);
    r->auth = hs_http_find_header(m, "authorization", 13, 0) >= 0;

    if (m->method == HS_HTTP_OTHER && HS_STR_EQ(m->method_str, "PURGE")) {
        hs__edge_purge(p, r);
        return;
    }
    if (m->method != HS_HTTP_GET && m->method != HS_HTTP_HEAD) {
        start_private(p, r);
        return;
    }
    lookup_and_serve(p, r, NULL, true);
}

/* An object read from the disk tier: a small one goes back into memory; a
 * large one stays in its file (sendfile) and keeps its variant key, which
 * keys a revalidation shared with other threads as a memory copy's does. */
static void disk_obj_place(proxy_t *p, hs_str_t key, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec)
{
    if (!o->body_in_file) {
        hs_edge_mem_insert(p->mem, key, vary, sec, o);
    } else if (sec.len && (o->sec = malloc(sec.len))) {
        memcpy(o->sec, sec.base, sec.len);
        o->sec_len = sec.len;
    }
}

/* A disk read finished: its waiters look again (the object is now in
 * memory, or is passed to them directly when memory could not take it). */
static void disk_read_done(void *arg, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec)
{
    fill_t *f = arg;
    proxy_t *p = f->p;
    f->in_cb++;
    f->calling = false;
    fill_unlist(f);
    if (o) {
        hs_counter_inc(m_disk_reads);
        disk_obj_place(p, (hs_str_t){f->key, f->keylen}, o, vary, sec);
    }
    rq_t *r;
    while ((r = f->subs)) {
        sub_del(r);
        hs_edge_obj_t *cand = NULL;
        if (o && !o->cached) {
            /* memory refused it (too large): serve it if this waiter's
             * variant is the one read */
            char k[HS_EDGE_SECONDARY_MAX];
            int n = vary.len ? hs_edge_vary_key(vary, &r->req->msg, k, sizeof(k)) : 0;
            if (n >= 0 && (size_t)n == sec.len && (n == 0 || memcmp(k, sec.base, sec.len) == 0))
                cand = o;
        }
        lookup_and_serve(p, r, cand, false);
    }
    f->in_cb--;
    fill_maybe_free(f);
}

/* Starts reading the disk entry e for r (and whoever joins). Returns false
 * when no read started. */
static bool fetch_disk(proxy_t *p, rq_t *r, hs_edge_obj_t *e)
{
    fill_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->key = malloc(r->keylen))) {
        free(f);
        return false;
    }
    f->p = p;
    memcpy(f->key, r->key, r->keylen);
    f->keylen = r->keylen;
    f->hash = hash_key(r->key, r->keylen);
    f->clen = -1;
    f->label = L_HIT;
    f->anext = p->all;
    if (p->all)
        p->all->aprev = f;
    p->all = f;
    if (hs_edge_disk_read(p->disk, e, disk_read_done, f) != 0) {
        fill_free(f);
        return false;
    }
    f->calling = true;
    f->in_table = true;
    f->hnext = p->fills[f->hash & (FILL_BUCKETS - 1)];
    p->fills[f->hash & (FILL_BUCKETS - 1)] = f;
    sub_add(f, r);
    f->leader = r;
    return true;
}

/* GET and HEAD: memory, then disk, then the origin. cand: an object to use
 * instead of a memory lookup; disk_ok: the disk may be consulted (false:
 * r waited on a disk read, so its hit is counted as the disk tier's). */
static void lookup_and_serve(proxy_t *p, rq_t *r, hs_edge_obj_t *cand, bool disk_ok)
{
    const hs_http_msg_t *m = &r->req->msg;
    uint64_t h = hash_key(r->key, r->keylen);
    hs_edge_obj_t *o = cand;
    bool from_disk = !disk_ok; /* a waiter of a disk read looks again */
    if (o)
        hs_edge_obj_ref(o);
    else
        o = hs_edge_mem_lookup(p->mem, (hs_str_t){r->key, r->keylen}, m);
    if (!o && disk_ok && p->disk && !r->auth) {
        if (p->loading) {
            sub_add(p->loading, r); /* back when the index is loaded */
            return;
        }
        if (fill_find(p, r->key, r->keylen, h)) {
            fetch_shared(p, r, NULL); /* join what is already on its way */
            return;
        }
        hs_edge_obj_t *e = hs_edge_disk_lookup(p->disk, (hs_str_t){r->key, r->keylen}, m);
        bool reading = false;
        if (e) {
            hs_str_t vary, sec;
            int rc = hs_edge_disk_open(p->disk, e, &o, &vary, &sec);
            if (rc == 0) {
                hs_counter_inc(m_disk_reads);
                from_disk = true;
                disk_obj_place(p, (hs_str_t){r->key, r->keylen}, o, vary, sec);
            } else if (rc == HS_EAGAIN) {
                reading = fetch_disk(p, r, e); /* first use: checked on the pool */
            }
            hs_edge_obj_unref(e);
        }
        if (reading)
            return;
    }
    if (o && r->auth && !(o->meta.flags & HS_EDGE_M_AUTH_OK)) {
        hs_edge_obj_unref(o);
        o = NULL;
    }
    if (o) {
        bool bg = false;
        hs_edge_use_t use = hs_edge_reuse(&o->meta, &r->cc, hs__edge_wall(p), &bg);
        if (use == HS_EDGE_USE_FRESH) {
            hs_counter_inc(from_disk ? m_hits_disk : m_hits_memory);
            hs__edge_serve_obj(r, o, L_HIT);
            hs_edge_obj_unref(o);
            return;
        }
        if (use == HS_EDGE_USE_STALE) {
            if (bg)
                revalidate_bg(p, r, o);
            hs__edge_serve_obj(r, o, L_STALE);
            hs_edge_obj_unref(o);
            return;
        }
        if (r->cc.flags & HS_CC_ONLY_IF_CACHED) {
            hs_edge_obj_unref(o);
            hs__edge_respond_error(r, 504, "not cached", L_MISS);
            return;
        }
        if (r->auth) {
            /* never in a shared fill: the answer is made for its credentials */
            hs_edge_obj_unref(o);
            start_private(p, r);
            return;
        }
        r->want_full = REQ_HEADER(m, "Range").base != NULL;
        fetch_shared(p, r, o);
        hs_edge_obj_unref(o);
        return;
    }
    if (r->cc.flags & HS_CC_ONLY_IF_CACHED) {
        hs__edge_respond_error(r, 504, "not cached", L_MISS);
        return;
    }
    if (r->auth || pass_marked(p, h)) {
        start_private(p, r);
        return;
    }
    r->want_full = REQ_HEADER(m, "Range").base != NULL;
    fetch_shared(p, r, NULL);
}

static void on_abort(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    rq_t *r = req->data;
    fill_t *f = r->fill;
    bool started = r->started;
    hs__edge_purge_abort(r);
    if (f) {
        sub_del(r);
        /* Nobody left to answer: stop fetching, unless the answer may still
         * be stored (a shared fill before its head, or while storing). */
        f->in_cb++;
        if (f->calling && f->call && f->nsubs == 0 &&
            (f->private_ || (f->got_head && !f->storing)))
            hs_http_call_cancel(f->call);
        f->in_cb--;
    }
    hs__edge_rq_free(r);
    if (started)
        hs_http_resp_end(req);
    else
        hs_http_respond_text(req, 502, "client went away");
    if (f)
        fill_maybe_free(f);
}

/* ---- setup ---- */

int hs_edge_parse_origin(const char *url, char *out, size_t cap)
{
    const char *s = url;
    if (strncmp(s, "http://", 7) == 0)
        s += 7;
    else if (strstr(s, "://"))
        return HS_EINVAL; /* https and others: not yet */
    size_t n = strlen(s);
    if (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= cap || memchr(s, '/', n) || !memchr(s, ':', n))
        return HS_EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    /* numeric or localhost only: the client never resolves names on a loop */
    const char *colon = strrchr(out, ':');
    size_t hl = (size_t)(colon - out);
    if (colon[1] == '\0')
        return HS_EINVAL;
    for (const char *c = colon + 1; *c; c++)
        if (*c < '0' || *c > '9')
            return HS_EINVAL;
    if (out[0] == '[')
        return 0;
    if (hl == 9 && strncmp(out, "localhost", 9) == 0)
        return 0;
    for (size_t i = 0; i < hl; i++)
        if (!((out[i] >= '0' && out[i] <= '9') || out[i] == '.'))
            return HS_EINVAL;
    return hl ? 0 : HS_EINVAL;
}

hs_http_handler_t *hs_edge_proxy_new(const hs_edge_opts_t *opts, int *err)
{
    metrics_init();
    proxy_t *p = calloc(1, sizeof(*p));
    if (!p) {
        *err = HS_ENOMEM;
        return NULL;
    }
    p->o = *opts;
    if (!p->o.object_max)
        p->o.object_max = 8u << 20;
    if (!p->o.memory_bytes)
        p->o.memory_bytes = 256u << 20;
    if (p->o.heuristic_max_s <= 0)
        p->o.heuristic_max_s = 86400;
    if (opts->pool) {
        p->pool = opts->pool;
        hs_balance_pool_ref(p->pool);
    } else {
        hs_balance_opts_t bo = {.name = "edge"};
        p->pool = hs_balance_pool_new_list(&bo, opts->origin ? opts->origin : "", opts->fallback,
                                           err);
        if (!p->pool) {
            free(p);
            return NULL;
        }
    }
    if (opts->origin_host && opts->origin_host[0])
        p->origin_host = strdup(opts->origin_host);
    if (opts->targeted && opts->targeted[0]) {
        p->targets_buf = strdup(opts->targeted);
        char *save = NULL;
        for (char *t = p->targets_buf ? strtok_r(p->targets_buf, ", ", &save) : NULL;
             t && p->ntargets < MAX_TARGETS; t = strtok_r(NULL, ", ", &save))
            p->targets[p->ntargets++] = (hs_str_t){t, strlen(t)};
    }
    if (opts->purge_token && opts->purge_token[0])
        p->purge_token = strdup(opts->purge_token);
    p->o.origin = NULL;
    p->o.fallback = NULL;
    p->o.pool = NULL;
    p->o.origin_host = NULL;
    p->o.targeted = NULL;
    p->o.purge_token = NULL;
    if (!p->o.disk_bytes)
        p->o.disk_bytes = 1ull << 30;
    p->mem = hs_edge_mem_new(p->o.memory_bytes);
    if (!p->mem) {
        hs_balance_pool_release(p->pool);
        free(p->origin_host);
        free(p->targets_buf);
        free(p->purge_token);
        free(p);
        *err = HS_ENOMEM;
        return NULL;
    }
    p->h.on_request = on_request;
    p->h.on_abort = on_abort;
    p->share = opts->pool != NULL && !opts->solo;
    static atomic_uint next_index;
    p->index = atomic_fetch_add(&next_index, 1);
    if (opts->disk_path && opts->disk_path[0] && !(p->disk_path = strdup(opts->disk_path))) {
        hs_edge_mem_free(p->mem);
        hs_balance_pool_release(p->pool);
        free(p->origin_host);
        free(p->targets_buf);
        free(p->purge_token);
        free(p);
        *err = HS_ENOMEM;
        return NULL;
    }
    p->o.disk_path = p->disk_path;
    hs__edge_registry_add(p);
    return &p->h;
}

void hs_edge_proxy_free(hs_http_handler_t *h)
{
    proxy_t *p = (proxy_t *)h;
    if (!p)
        return;
    hs__edge_registry_del(p);
    /* Canceling runs on_done for every call; fills without subscribers
     * (background revalidations) free themselves there. */
    if (p->client)
        hs_http_client_free(p->client);
    while (p->all) /* anything left had no call (or was a disk read) */
        fill_free(p->all);
    if (p->loop) /* stopped for good: wakes still queued on it never run */
        hs_edge_flight_loop_done(p->loop);
    hs_balance_view_free(p->bv); /* after the client: its cancels report to it */
    hs_balance_pool_release(p->pool);
    hs_edge_disk_free(p->disk);
    hs_edge_mem_free(p->mem);
    free(p->origin_host);
    free(p->targets_buf);
    free(p->purge_token);
    free(p->disk_path);
    free(p);
}
