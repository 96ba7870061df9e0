/*
 * The S3 handler: per request it routes, authenticates, and hands the
 * operation to its file; this file also holds what every operation shares
 * (pool jobs, S3 error answers, request ids, metrics).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/arena.h"
#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/str.h"
#include "http/parse.h"
#include "objects/objects.h"
#include "origin/s3-int.h"
#include "origin/s3err.h"
#include "origin/sigv4-int.h"
#include "origin/xml.h"

static hs_counter_t *m_ops[OP__COUNT], *m_errors4, *m_errors5;
static hs_histogram_t *m_seconds;
static uint32_t reqid_salt;

void hs__s3_metrics_init(void)
{
    if (m_seconds)
        return;
    for (int i = 1; i < OP__COUNT; i++) {
        char l[64];
        snprintf(l, sizeof(l), "op=\"%s\"", hs__s3_op_name((s3op_t)i));
        m_ops[i] = hs_counter("hs_origin_requests_total", l, "S3 requests by operation");
    }
    m_errors4 = hs_counter("hs_origin_errors_total", "class=\"4xx\"", "S3 error answers by class");
    m_errors5 = hs_counter("hs_origin_errors_total", "class=\"5xx\"", "S3 error answers by class");
    m_seconds = hs_histogram("hs_origin_request_seconds", NULL,
                             "S3 request time, head received to response end");
    hs__sigv4_key_cache_metrics_init();
    if (getrandom(&reqid_salt, sizeof(reqid_salt), 0) != sizeof(reqid_salt))
        reqid_salt = (uint32_t)time(NULL);
}

uint64_t hs__s3_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hs__s3_iso8601(uint64_t ns, char out[32])
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(ns / 1000000u % 1000u));
}

void hs__s3_new_objname(char out[40])
{
    uint8_t r[16];
    if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
        uint64_t t = hs__s3_now_ns();
        memcpy(r, &t, 8);
        memcpy(r + 8, &out, sizeof(void *) < 8 ? sizeof(void *) : 8);
    }
    static const char hx[] = "0123456789abcdef";
    out[0] = 'o';
    out[1] = '/';
    for (int i = 0; i < 16; i++) {
        out[2 + 2 * i] = hx[r[i] >> 4];
        out[3 + 2 * i] = hx[r[i] & 15];
    }
    out[34] = 0;
}

void hs__s3_drop(hs_origin_t *o, hs_meta_dropped_t *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        int rc = hs_obj_delete(o->objs, d->names[i]);
        if (rc && rc != HS_ENOENT)
            hs_log_warn("s3_drop", "object=%s err=%s", d->names[i], hs_errname(rc));
    }
    hs_meta_dropped_free(d);
}

size_t hs__s3_l2_key(const char *bucket, const char *key, size_t keylen, char *out, size_t cap)
{
    size_t bl = strlen(bucket);
    if (2 + bl + keylen > cap)
        return 0;
    out[0] = 'o';
    memcpy(out + 1, bucket, bl);
    out[1 + bl] = 0;
    memcpy(out + 2 + bl, key, keylen);
    return 2 + bl + keylen;
}

void hs__s3_l2_forget(hs_origin_t *o, const char *bucket, const char *key, size_t keylen)
{
    if (!o->l2)
        return;
    char k[HS_L2_KEY_MAX];
    size_t kl = hs__s3_l2_key(bucket, key, keylen, k, sizeof(k));
    if (kl)
        hs_l2_del(o->l2, k, kl);
}

size_t hs__s3_private_cc(hs_str_t cc, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "private");
    size_t i = 0;
    while (i < cc.len && n + 1 < cap) {
        size_t j = i;
        while (j < cc.len && cc.base[j] != ',')
            j++;
        hs_str_t d = hs_str_trim_ows((hs_str_t){cc.base + i, j - i});
        bool drop = !d.len || hs_str_ieq(d, "public", 6) || hs_str_ieq(d, "private", 7) ||
                    (d.len >= 8 && !strncasecmp(d.base, "s-maxage", 8));
        if (!drop && n + 2 + d.len < cap) {
            memcpy(out + n, ", ", 2);
            memcpy(out + n + 2, d.base, d.len);
            n += 2 + d.len;
            out[n] = 0;
        }
        i = j + 1;
    }
    return n;
}

hs_str_t hs__s3_header(const s3req_t *r, const char *name)
{
    int i = hs_http_find_header(&r->req->msg, name, strlen(name), 0);
    return i < 0 ? HS_STR_NULL : r->req->msg.headers[i].value;
}

void hs__s3_xml_start(s3req_t *r, hs_xmlw_t *w, const char *root)
{
    hs_xmlw_init(w, &r->out);
    hs_xmlw_decl(w);
    hs_xmlw_open(w, root);
    hs_xmlw_attr(w, "xmlns", HS_S3_XMLNS, strlen(HS_S3_XMLNS));
}

void hs__s3_xml_owner(const s3req_t *r, hs_xmlw_t *w, const char *elem)
{
    hs_xmlw_open(w, elem);
    hs_xmlw_elem_str(w, "ID", r->o->access_key);
    hs_xmlw_elem_str(w, "DisplayName", "hyperscale");
    hs_xmlw_close(w, elem);
}

void hs__s3_xml_acl(const s3req_t *r, hs_xmlw_t *w, bool public_read)
{
    static const char xsi[] = "http://www.w3.org/2001/XMLSchema-instance";
    hs_xmlw_open(w, "AccessControlList");
    hs_xmlw_open(w, "Grant");
    hs_xmlw_open(w, "Grantee");
    hs_xmlw_attr(w, "xmlns:xsi", xsi, sizeof(xsi) - 1);
    hs_xmlw_attr(w, "xsi:type", "CanonicalUser", 13);
    hs_xmlw_elem_str(w, "ID", r->o->access_key);
    hs_xmlw_elem_str(w, "DisplayName", "hyperscale");
    hs_xmlw_close(w, "Grantee");
    hs_xmlw_elem_str(w, "Permission", "FULL_CONTROL");
    hs_xmlw_close(w, "Grant");
    if (public_read) {
        hs_xmlw_open(w, "Grant");
        hs_xmlw_open(w, "Grantee");
        hs_xmlw_attr(w, "xmlns:xsi", xsi, sizeof(xsi) - 1);
        hs_xmlw_attr(w, "xsi:type", "Group", 5);
        hs_xmlw_elem_str(w, "URI", "http://acs.amazonaws.com/groups/global/AllUsers");
        hs_xmlw_close(w, "Grantee");
        hs_xmlw_elem_str(w, "Permission", "READ");
        hs_xmlw_close(w, "Grant");
    }
    hs_xmlw_close(w, "AccessControlList");
}

/* ---- answers ---- */

void hs__s3_start(s3req_t *r, int status, int64_t content_length)
{
    r->started = true;
    hs_http_resp_start(r->req, status, content_length);
    hs_http_resp_header(r->req, "x-amz-request-id", 16, r->reqid, strlen(r->reqid));
    hs_http_resp_header(r->req, "x-amz-id-2", 10, r->reqid, strlen(r->reqid));
    if (status >= 400)
        hs_counter_inc(status >= 500 ? m_errors5 : m_errors4);
}

static void finish(s3req_t *r)
{
    if (!r->started) /* aborted before any answer: the engine needs one */
        hs__s3_start(r, 500, 0);
    if (r->cleanup)
        r->cleanup(r);
    hs_buf_free(&r->out);
    hs_histogram_observe_ns(m_seconds, (hs_loop_now(r->req->loop) - r->req->start_ms) * 1000000u);
    hs_http_resp_end(r->req);
}

void hs__s3_end(s3req_t *r)
{
    if (r->ended)
        return;
    r->ended = true;
    if (r->hold) {
        r->end_pending = true;
        return;
    }
    finish(r);
}

bool hs__s3_unhold(s3req_t *r)
{
    if (--r->hold > 0)
        return !r->ended;
    if (r->end_pending) {
        r->end_pending = false;
        finish(r);
        return false;
    }
    return !r->ended;
}

void hs__s3_reply_xml(s3req_t *r, int status)
{
    hs__s3_start(r, status, (int64_t)hs_buf_len(&r->out));
    HS_HTTP_HEADER_LIT(r->req, "Content-Type", "application/xml");
    hs__s3_hold(r);
    hs_http_resp_body(r->req, hs_buf_data(&r->out), hs_buf_len(&r->out));
    if (hs__s3_unhold(r))
        hs__s3_end(r);
}

void hs__s3_reply_err(s3req_t *r, const char *code, const char *msg)
{
    hs_buf_t b = {0};
    char res[1100];
    int n = snprintf(res, sizeof(res), "/%s%s%.*s", r->rt.bucket ? r->rt.bucket : "",
                     r->rt.key ? "/" : "", r->rt.key ? (int)(r->rt.keylen > 1024 ? 1024 : r->rt.keylen) : 0,
                     r->rt.key ? r->rt.key : "");
    (void)n;
    int status = hs_s3err_status(code);
    if (hs_s3err_xml(&b, code, msg, res, r->reqid, NULL) != 0) {
        hs_buf_free(&b);
        hs_http_respond_text(r->req, 500, "out of memory");
        r->ended = true;
        if (r->cleanup)
            r->cleanup(r);
        hs_buf_free(&r->out);
        return;
    }
    hs_log_debug("s3_error", "op=%s code=%s status=%d", hs__s3_op_name(r->rt.op), code, status);
    hs__s3_start(r, status, (int64_t)hs_buf_len(&b));
    HS_HTTP_HEADER_LIT(r->req, "Content-Type", "application/xml");
    hs__s3_hold(r);
    hs_http_resp_body(r->req, hs_buf_data(&b), hs_buf_len(&b));
    hs_buf_free(&b);
    if (hs__s3_unhold(r))
        hs__s3_end(r);
}

void hs__s3_reply_rc(s3req_t *r, int rc)
{
    switch (rc) {
    case HS_ENOBUCKET:
        hs__s3_reply_err(r, "NoSuchBucket", NULL);
        return;
    case HS_ENOENT:
        hs__s3_reply_err(r, "NoSuchKey", NULL);
        return;
    case HS_ENOTEMPTY:
        hs__s3_reply_err(r, "BucketNotEmpty", NULL);
        return;
    case HS_EBUSY:
        hs__s3_reply_err(r, "SlowDown", NULL);
        return;
    case HS_ENOSPC:
        hs__s3_reply_err(r, "InternalError", "no space left on the object store's drives");
        return;
    case HS_ELIMIT:
        hs__s3_reply_err(r, "InvalidArgument",
                         "too many keys longer than 400 bytes share their first 400 bytes");
        return;
    case HS_E2BIG:
        hs__s3_reply_err(r, "InvalidArgument", "the object's metadata is over the store's limits");
        return;
    default:
        hs_log_warn("s3_internal", "op=%s err=%s", hs__s3_op_name(r->rt.op), hs_errname(rc));
        hs__s3_reply_err(r, "InternalError", NULL);
        return;
    }
}

/* ---- pool jobs ---- */

bool hs__s3_job_answered(s3req_t *r)
{
    if (r->aborted) {
        hs__s3_end(r);
        return true;
    }
    if (!r->rc)
        return false;
    if (r->ecode)
        hs__s3_reply_err(r, r->ecode, r->emsg);
    else
        hs__s3_reply_rc(r, r->rc);
    return true;
}

static void job_work(hs_tpool_job_t *j)
{
    s3req_t *r = hs_container_of(j, s3req_t, job);
    r->work(r);
}

static void job_done(hs_tpool_job_t *j)
{
    s3req_t *r = hs_container_of(j, s3req_t, job);
    r->busy = false;
    r->done(r);
}

bool hs__s3_submit(s3req_t *r, s3_fn work, s3_fn done)
{
    r->work = work;
    r->done = done;
    r->job.work = job_work;
    r->job.done = job_done;
    r->busy = true;
    if (hs_tpool_submit(hs_tpool_io(), r->req->loop, &r->job) != 0) {
        r->busy = false;
        hs__s3_reply_err(r, "SlowDown", "the server's I/O queue is full; retry");
        return false;
    }
    return true;
}

/* ---- small bodies (XML documents) ---- */

static void small_body_cb(hs_http_req_t *req, const char *data, size_t len, int status)
{
    s3req_t *r = req->data;
    if (r->ended)
        return;
    if (status < 0) {
        hs__s3_reply_err(r, status == HS_E2BIG ? "MaxMessageLengthExceeded" : "IncompleteBody",
                         NULL);
        return;
    }
    s3_small_t *sb = &r->small;
    if (status == 0) {
        int rc = hs__s3_body_feed(&sb->body, data, len, hs__s3_body_to_buf, &r->out);
        if (rc == 0 && hs_buf_len(&r->out) > sb->max)
            rc = HS_E2BIG;
        if (rc) {
            sb->failed = true;
            hs__s3_reply_err(r, rc == HS_E2BIG ? "MaxMessageLengthExceeded" : sb->body.ecode,
                             rc == HS_E2BIG ? NULL : sb->body.emsg);
        }
        return;
    }
    int rc = hs__s3_body_end(&sb->body);
    if (rc) {
        hs__s3_reply_err(r, sb->body.ecode, sb->body.emsg);
        return;
    }
    sb->next(r);
}

void hs__s3_read_small_body(s3req_t *r, size_t max, s3_fn next)
{
    r->small.max = max;
    r->small.next = next;
    if (r->req->msg.framing == HS_HTTP_BODY_LENGTH && r->req->msg.content_length > max * 2 + 65536) {
        hs__s3_reply_err(r, "MaxMessageLengthExceeded", NULL);
        return;
    }
    int rc = hs__s3_body_init(&r->small.body, &r->auth);
    if (rc) {
        hs__s3_reply_err(r, r->small.body.ecode, r->small.body.emsg);
        return;
    }
    r->small.inited = true;
    hs__s3_hold(r);
    hs_http_req_read_body(r->req, small_body_cb);
    if (hs__s3_unhold(r) && r->aborted && !r->busy)
        hs__s3_end(r); /* the client left while we read, and nothing runs */
}

/* ---- the handler ---- */

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    hs_origin_t *o = arg;
    if (len == strlen(o->access_key) && !memcmp(ak, o->access_key, len))
        return o->secret_key;
    return NULL;
}

static void small_cleanup(s3req_t *r)
{
    if (r->small.inited)
        hs__s3_body_free(&r->small.body);
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    s3h_t *h = hs_container_of(self, s3h_t, base);
    if (HS_STR_EQ(req->msg.path, HS_ORIGIN_HEALTH_PATH)) { hs_http_respond_text(req, 200, "ok"); return; }
    s3req_t *r = hs_arena_alloc(&req->arena, sizeof(*r));
    if (!r) {
        hs_http_respond_text(req, 500, "out of memory");
        return;
    }
    *r = (s3req_t){.h = h, .o = h->o, .req = req};
    req->data = r;
    snprintf(r->reqid, sizeof(r->reqid), "%08X%02X%06llX", reqid_salt, h->thread & 0xff,
             (unsigned long long)(++h->seq & 0xffffff));
    s3_route_err_t rerr = {0};
    int rc = hs__s3_route(&req->msg, h->o->domain, &req->arena, &r->rt, &rerr);
    if (rc == HS_ENOMEM) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    if (rc) {
        hs__s3_reply_err(r, rerr.code, rerr.msg);
        return;
    }
    hs_counter_inc(m_ops[r->rt.op]);
    rc = hs_sigv4_verify(&req->msg, secret_of, h->o, h->o->region, (int64_t)time(NULL),
                         h->o->max_skew_s, &r->auth);
    if (rc) {
        hs__s3_reply_err(r, r->auth.err.code ? r->auth.err.code : "AccessDenied",
                         r->auth.err.message);
        return;
    }
    if (r->auth.kind == HS_SIGV4_ANON && r->rt.op != OP_GET_OBJECT &&
        r->rt.op != OP_HEAD_OBJECT) {
        hs__s3_reply_err(r, "AccessDenied", "anonymous requests may only read objects of public buckets");
        return;
    }
    r->cleanup = small_cleanup;
    switch (r->rt.op) {
    case OP_GET_OBJECT:
    case OP_HEAD_OBJECT:
        hs__s3_get_op(r);
        return;
    case OP_PUT_OBJECT:
    case OP_UPLOAD_PART:
        hs__s3_put_op(r);
        return;
    case OP_COPY_OBJECT:
    case OP_UPLOAD_PART_COPY:
    case OP_DELETE_OBJECT:
    case OP_DELETE_OBJECTS:
    case OP_GET_OBJECT_ACL:
        hs__s3_objmisc_op(r);
        return;
    case OP_LIST_OBJECTS:
    case OP_LIST_OBJECTS_V2:
    case OP_LIST_VERSIONS:
    case OP_LIST_UPLOADS:
        hs__s3_list_op(r);
        return;
    case OP_CREATE_MPU:
    case OP_COMPLETE_MPU:
    case OP_ABORT_MPU:
    case OP_LIST_PARTS:
        hs__s3_mpu_op(r);
        return;
    default:
        hs__s3_bucket_op(r);
        return;
    }
}

static void on_abort(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    s3req_t *r = req->data;
    if (!r || r->ended)
        return;
    r->aborted = true;
    if (r->hold)
        return; /* a call of ours closed the connection: the caller sees it */
    if (r->on_abort) {
        r->on_abort(r);
        return;
    }
    if (!r->busy)
        hs__s3_end(r); /* nothing of ours is running: the answer is moot */
}

static void on_drain(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    s3req_t *r = req->data;
    if (r && !r->ended && r->on_drain)
        r->on_drain(r);
}

hs_http_handler_t *hs_origin_handler_new(hs_origin_t *o, int *err)
{
    static unsigned next_thread;
    s3h_t *h = calloc(1, sizeof(*h));
    if (!h) {
        *err = HS_ENOMEM;
        return NULL;
    }
    h->base.on_request = on_request;
    h->base.on_abort = on_abort;
    h->base.on_drain = on_drain;
    h->o = o;
    h->thread = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
    return &h->base;
}

void hs_origin_handler_free(hs_http_handler_t *hh)
{
    if (hh)
        free(hs_container_of(hh, s3h_t, base));
}
