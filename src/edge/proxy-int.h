/*
 * Internal to the proxy handler (proxy.c), its answers from stored objects
 * (answer.c) and its purges (purge.c): the handler's types and the few
 * functions they share. Not for other modules.
 */
#ifndef HS_EDGE_PROXY_INT_H
#define HS_EDGE_PROXY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "balance/balance-t.h"
#include "core/loop.h"
#include "core/metrics-t.h"
#include "core/str.h"
#include "edge/disk.h"
#include "edge/mem.h"
#include "edge/policy.h"
#include "edge/proxy.h"
#include "http/client-t.h"
#include "http/parse.h"
#include "http/server.h"

#define MAX_TARGETS 8
#define PASS_SLOTS 4096
#define FILL_BUCKETS 1024
#define MAX_FWD_HEADERS 128
#define VIA_VALUE "1.1 hyperscale"

typedef struct proxy proxy_t;
typedef struct fill fill_t;
typedef struct rq rq_t;
typedef struct purge_job purge_job_t;

enum label { L_HIT, L_MISS, L_STALE, L_EXPIRED, L_PASS, L_REVALIDATED, L_N };
/* X-Cache values, by enum label. */
extern const char *const hs__edge_label_names[L_N];

struct rq {
    proxy_t *p;
    hs_http_req_t *req;
    fill_t *fill;
    rq_t *snext, *sprev;
    hs_cc_t cc;
    char *key;
    size_t keylen;
    bool auth;
    bool started;   /* streaming response begun */
    bool want_full; /* Range: answered from the complete object */
    purge_job_t *purge; /* a PURGE waiting for every thread */
};

typedef struct pass_slot {
    uint64_t hash;
    uint64_t until_ms;
} pass_slot_t;

struct proxy {
    hs_http_handler_t h;
    hs_edge_opts_t o;
    hs_balance_pool_t *pool;  /* the origins (a reference) */
    hs_balance_view_t *bv;    /* this thread's view of it, made with the client */
    char *origin_host;
    char *targets_buf;
    hs_str_t targets[MAX_TARGETS];
    unsigned ntargets;
    _Atomic(hs_loop_t *) loop; /* set by the first request (read by purges elsewhere) */
    unsigned index;             /* creation order: names the disk directory */
    hs_edge_disk_t *disk;
    char *disk_path;
    fill_t *loading; /* requests waiting for the disk tier's startup scan */
    proxy_t *rnext, *rprev;     /* process-wide registry, for purges */
    char *purge_token;
    hs_http_client_t *client;
    hs_edge_mem_t *mem;
    fill_t *fills[FILL_BUCKETS];
    fill_t *all; /* every live fill, for shutdown */
    bool share;  /* the origin pool is shared with other threads' handlers:
                  * cold misses coalesce across threads (fillshare.h) */
    pass_slot_t pass[PASS_SLOTS];
};

struct fill {
    proxy_t *p;
    fill_t *hnext;                /* table chain */
    fill_t *anext, *aprev;        /* proxy's list of live fills */
    uint64_t hash;
    char *key;
    size_t keylen;
    bool in_table;
    bool private_;
    hs_http_call_t *call;
    bool calling;                 /* on_done not yet run */
    rq_t *subs, *subs_tail;
    unsigned nsubs;
    rq_t *leader;                 /* request whose fields were forwarded (NULL once gone) */
    rq_t *body_src;               /* request whose body goes to the origin */
    hs_edge_obj_t *stale;         /* object being revalidated (referenced) */
    /* tries: which origins, and what a retry sends again (in rbuf) */
    hs_balance_req_t br;
    hs_timer_t try_timer;
    hs_str_t target, host, method_str;
    bool has_body;
    int64_t stream_length;
    bool retry_pending; /* a 502/503/504 head is dropped: the next try follows */
    bool try_expired;   /* the per-try timeout canceled the call */
    uint64_t try_ns, head_lat_ns;
    hs_http_method_t method;
    hs_cc_t leader_cc;
    bool leader_auth;
    /* the request sent, kept for the Vary check */
    hs_http_header_t *rh;
    unsigned nrh;
    hs_http_msg_t rmsg;
    char *rbuf;
    int64_t request_time;
    uint64_t start_ns;
    /* the response */
    bool got_head, shareable, storing, merged;
    int status;
    char *hdr;
    size_t hdr_len, hdr_cap;
    int64_t clen;
    char *body;
    uint64_t len, cap;
    hs_edge_meta_t meta;
    char vary[HS_EDGE_VARY_MAX];
    int vary_len;
    char sec[HS_EDGE_SECONDARY_MAX];
    int sec_len;
    char *tags; /* surrogate keys of the response, space-separated */
    size_t tags_len;
    enum label label;
    unsigned in_cb;
    /* shared with other worker threads (fillshare.h): an owner publishes
     * to flight; a remote fill (remote) waits on another thread's via fw */
    struct hs_edge_flight *flight;
    struct hs_edge_flight_waiter *fw;
    bool remote;
};

/* Series shared with answer.c and purge.c (registered by proxy.c). */
extern hs_counter_t *hs__edge_m_req[L_N], *hs__edge_m_bytes[L_N], *hs__edge_m_purged;

static inline int64_t hs__edge_wall(proxy_t *p)
{
    return hs_loop_wall(p->loop);
}

static inline hs_str_t hs__edge_req_header(const hs_http_msg_t *m, const char *name, size_t len)
{
    int i = hs_http_find_header(m, name, len, 0);
    return i < 0 ? HS_STR_NULL : m->headers[i].value;
}

#define REQ_HEADER(m, lit) hs__edge_req_header((m), (lit), sizeof(lit) - 1)

/* ---- answer.c: answers that do not involve the origin ---- */

/* Marks the end of r's use (its memory is the request arena's). */
void hs__edge_rq_free(rq_t *r);
/* Counts a response (and its body bytes) under its X-Cache value. */
void hs__edge_count(enum label l, uint64_t bytes);
/* X-Cache, Via and (age >= 0) Age. */
void hs__edge_common_headers(hs_http_req_t *req, enum label l, int64_t age);
/* A short text error answer; ends and frees r. */
void hs__edge_respond_error(rq_t *r, int status, const char *detail, enum label l);
/* If-None-Match / If-Modified-Since of m against the validators. */
bool hs__edge_not_modified(const hs_http_msg_t *m, hs_str_t etag, hs_str_t lastmod);
/* A 304 carrying the validators; ends and frees r. */
void hs__edge_respond_304(rq_t *r, hs_str_t etag, hs_str_t lastmod, enum label l, int64_t age);
/* Answers r from a complete stored object (conditionals, Range, HEAD);
 * ends and frees r. */
void hs__edge_serve_obj(rq_t *r, hs_edge_obj_t *o, enum label l);

/* ---- purge.c ---- */

/* Handles a PURGE request (token, kind, broadcast to every thread). */
void hs__edge_purge(proxy_t *p, rq_t *r);
/* r went away while its purge runs: the answer is dropped. */
void hs__edge_purge_abort(rq_t *r);
/* The process-wide list of proxies a purge reaches. */
void hs__edge_registry_add(proxy_t *p);
void hs__edge_registry_del(proxy_t *p);

/* purge.c: parses an admin purge query (url=, prefix=, tag=, host=, soft=)
 * into kind and args, decoding into buf, which must hold
 * HS_EDGE_PURGE_QUERY_BUF(q.len) bytes (decoded values plus a host copy
 * per url=/prefix= key). *nargs and *soft start at 0/false. Returns NULL,
 * or the reason the request is bad. Pure: fuzzed by fuzz_purge_query. */
#define HS_EDGE_PURGE_QUERY_BUF(qlen) (((qlen) + 2) * (HS_EDGE_PURGE_MAX_ARGS + 2))
const char *hs__edge_purge_parse_query(hs_str_t q, char *buf, hs_edge_purge_kind_t *kind,
                                       hs_str_t *args, size_t *nargs, bool *soft);

#endif
