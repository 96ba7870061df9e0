/*
 * GetObject and HeadObject. The hot path answers on the loop thread from
 * the L2 cache (the bucket's entry and the object's: pre-rendered headers
 * and, for small objects, the body, sent by reference). A miss reads the
 * metadata on the I/O pool, fills L2, and streams the bytes from the
 * object store in pool-sized pieces, pausing while the client is slow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "http/parse.h"
#include "http/range.h"
#include "objects/objects.h"
#include "origin/s3-int.h"

#define READ_PIECE (1024 * 1024)

enum { TAG_BUCKET = 1, TAG_OBJECT = 2 };

/* An object's L2 entry: this header, then the rendered header lines, then
 * the quoted ETag, then the object's Cache-Control value, then (has_body)
 * the whole body. Cache-Control is kept apart because what is sent
 * depends on the bucket (its default; "private" unless public-read). */
typedef struct objent {
    uint64_t size;
    int64_t mtime_ns;
    uint32_t hdr_len;
    uint32_t etag_len;
    uint32_t cc_len; /* 0: the object has no Cache-Control of its own */
    uint32_t has_body;
} objent_t;

static const objent_t *ent(const hs_l2_val_t *v)
{
    return hs_l2_val_data(v);
}
static const char *ent_hdr(const hs_l2_val_t *v)
{
    return (const char *)hs_l2_val_data(v) + sizeof(objent_t);
}
static const char *ent_etag(const hs_l2_val_t *v)
{
    return ent_hdr(v) + ent(v)->hdr_len;
}
static const char *ent_cc(const hs_l2_val_t *v)
{
    return ent_etag(v) + ent(v)->etag_len;
}
static const char *ent_body(const hs_l2_val_t *v)
{
    return ent_cc(v) + ent(v)->cc_len;
}

typedef struct getst {
    hs_l2_val_t *bucket; /* value: hs_meta_bucket_t */
    hs_l2_val_t *obj;    /* value: objent_t ... */
    uint64_t tok_b, tok_o;
    hs_meta_obj_t *rec; /* for streaming */
    /* streaming state (pool side) */
    uint64_t pos, end; /* next byte to send, end of the range (exclusive) */
    uint64_t rpos;     /* next byte to read (ahead of pos by a piece) */
    unsigned seg;
    uint64_t seg_pos;
    hs_obj_reader_t *rd;
    char *piece;
    size_t piece_len;
    bool waiting_drain;
    char *ready; /* a piece read ahead, waiting for the client to drain */
    size_t ready_len;
    bool overrides; /* response-* query parameters: no L2 for this answer */
    char l2key[HS_L2_KEY_MAX];
    size_t l2klen;
} getst_t;

static void get_cleanup(s3req_t *r)
{
    getst_t *g = r->st;
    if (!g)
        return;
    if (g->bucket)
        hs_l2_val_unref(g->bucket);
    if (g->obj)
        hs_l2_val_unref(g->obj);
    if (g->rd)
        hs_obj_get_close(g->rd); /* never while a job runs: end waits for it */
    free(g->piece);
    free(g->ready);
    if (g->rec)
        hs_meta_obj_free(g->rec);
    r->st = NULL;
}

/* ---- rendering (pool thread) ---- */

static const char *const overrides[][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

static bool has_overrides(const s3route_t *rt)
{
    for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++)
        if (hs__s3_has_param(rt, overrides[i][0]))
            return true;
    return false;
}

/* A header value from a query parameter must not break the header block. */
static bool value_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

static int hdr(hs_buf_t *b, const s3route_t *rt, const char *name, const char *val)
{
    if (rt) {
        for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
            if (strcmp(overrides[i][1], name))
                continue;
            const char *ov = hs__s3_param(rt, overrides[i][0]);
            if (ov && value_ok(ov))
                val = ov;
        }
    }
    if (!val || !val[0])
        return 0;
    return hs_buf_printf(b, "%s: %s\r\n", name, val);
}

/* Builds the L2 entry of an object (without body). rt: apply response-*
 * overrides. */
static hs_l2_val_t *make_entry(const hs_meta_obj_t *rec, const s3route_t *rt, bool with_body,
                               void **body)
{
    hs_buf_t h = {0};
    int rc = hdr(&h, rt, "Content-Type",
                 rec->content_type && rec->content_type[0] ? rec->content_type
                                                           : "binary/octet-stream");
    rc |= hdr(&h, rt, "Content-Encoding", rec->content_encoding);
    rc |= hdr(&h, rt, "Content-Disposition", rec->content_disposition);
    rc |= hdr(&h, rt, "Content-Language", rec->content_language);
    rc |= hdr(&h, rt, "Expires", rec->expires);
    char date[40];
    hs_http_format_date((time_t)(rec->mtime_ns / 1000000000), date);
    rc |= hs_buf_printf(&h, "Last-Modified: %s\r\nETag: \"%s\"\r\nAccept-Ranges: bytes\r\n", date,
                        rec->etag);
    if (rec->storage_class && rec->storage_class[0] && strcmp(rec->storage_class, "STANDARD"))
        rc |= hs_buf_printf(&h, "x-amz-storage-class: %s\r\n", rec->storage_class);
    for (uint32_t i = 0; i < rec->nmeta; i++)
        rc |= hs_buf_printf(&h, "x-amz-meta-%s: %s\r\n", rec->meta[i].name, rec->meta[i].value);
    if (rc) {
        hs_buf_free(&h);
        return NULL;
    }
    char etag[160];
    int el = snprintf(etag, sizeof(etag), "\"%s\"", rec->etag);
    if (el < 0 || (size_t)el >= sizeof(etag))
        el = 2;
    const char *cc = rec->cache_control ? rec->cache_control : "";
    const char *occ = rt ? hs__s3_param(rt, "response-cache-control") : NULL;
    if (occ && value_ok(occ))
        cc = occ;
    size_t cl = strlen(cc);
    size_t total = sizeof(objent_t) + hs_buf_len(&h) + (size_t)el + cl + (with_body ? rec->size : 0);
    void *data;
    hs_l2_val_t *v = hs_l2_val_alloc(total, TAG_OBJECT, &data);
    if (!v) {
        hs_buf_free(&h);
        return NULL;
    }
    objent_t *e = data;
    *e = (objent_t){.size = rec->size,
                    .mtime_ns = rec->mtime_ns,
                    .hdr_len = (uint32_t)hs_buf_len(&h),
                    .etag_len = (uint32_t)el,
                    .cc_len = (uint32_t)cl,
                    .has_body = with_body};
    memcpy(e + 1, hs_buf_data(&h), hs_buf_len(&h));
    memcpy((char *)(e + 1) + e->hdr_len, etag, (size_t)el);
    memcpy((char *)(e + 1) + e->hdr_len + e->etag_len, cc, cl);
    *body = (char *)(e + 1) + e->hdr_len + e->etag_len + e->cc_len;
    hs_buf_free(&h);
    return v;
}

/* Reads [off, off+len) of rec into dst (pool thread). */
static int read_range(hs_origin_t *o, const hs_meta_obj_t *rec, uint64_t off, uint64_t len, char *dst)
{
    while (len) {
        unsigned si;
        uint64_t so;
        int rc = hs_meta_seg_find(rec, off, &si, &so);
        if (rc)
            return rc;
        uint64_t n = rec->segs[si].size - so;
        if (n > len)
            n = len;
        hs_obj_reader_t *rd;
        if ((rc = hs_obj_get_open(o->objs, rec->segs[si].name, so, n, &rd)) != 0)
            return rc == HS_ENOENT ? HS_EIO : rc;
        uint64_t got = 0;
        while (got < n) {
            long k = hs_obj_read(rd, dst + got, (size_t)(n - got));
            if (k <= 0) {
                hs_obj_get_close(rd);
                return k < 0 ? (int)k : HS_EIO;
            }
            got += (uint64_t)k;
        }
        hs_obj_get_close(rd);
        dst += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* ---- the miss job ---- */

static void miss_work(s3req_t *r)
{
    getst_t *g = r->st;
    hs_origin_t *o = r->o;
    if (!g->bucket) {
        hs_meta_bucket_t b;
        int rc = hs_meta_bucket_get(o->meta, r->rt.bucket, &b);
        if (rc) {
            r->rc = rc == HS_ENOENT ? HS_ENOBUCKET : rc;
            return;
        }
        g->bucket = hs_l2_val_new(&b, sizeof(b), TAG_BUCKET);
        if (!g->bucket) {
            r->rc = HS_ENOMEM;
            return;
        }
        if (o->l2) {
            char k[80];
            k[0] = 'b';
            size_t bl = strlen(r->rt.bucket);
            memcpy(k + 1, r->rt.bucket, bl);
            hs_l2_put(o->l2, k, bl + 1, g->bucket, g->tok_b);
        }
    }
    const hs_meta_bucket_t *b = hs_l2_val_data(g->bucket);
    if (r->auth.kind == HS_SIGV4_ANON && !(b->flags & HS_META_BUCKET_PUBLIC_READ)) {
        r->rc = HS_EACCES;
        return;
    }
    int rc = hs_meta_obj_get(o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &g->rec);
    if (rc) {
        r->rc = rc;
        return;
    }
    bool small = o->l2 && g->rec->size <= o->cache_object_max && !g->overrides;
    void *body = NULL;
    g->obj = make_entry(g->rec, g->overrides ? &r->rt : NULL, small, &body);
    if (!g->obj) {
        r->rc = HS_ENOMEM;
        return;
    }
    if (small && g->rec->size) {
        rc = read_range(o, g->rec, 0, g->rec->size, body);
        if (rc) {
            hs_log_warn("s3_get", "bucket=%s err=%s", r->rt.bucket, hs_errname(rc));
            r->rc = rc;
            return;
        }
    }
    if (o->l2 && !g->overrides)
        hs_l2_put(o->l2, g->l2key, g->l2klen, g->obj, g->tok_o);
    r->rc = 0;
}

/* ---- streaming (large objects) ---- */

static void piece_work(s3req_t *r)
{
    getst_t *g = r->st;
    uint64_t want = g->end - g->rpos;
    if (want > READ_PIECE)
        want = READ_PIECE;
    if (!g->piece && !(g->piece = malloc(READ_PIECE))) {
        r->rc = HS_ENOMEM;
        return;
    }
    size_t got = 0;
    while (got < want) {
        if (!g->rd) {
            unsigned si;
            uint64_t so;
            int rc = hs_meta_seg_find(g->rec, g->rpos + got, &si, &so);
            if (rc) {
                r->rc = rc;
                return;
            }
            g->seg = si;
            uint64_t n = g->rec->segs[si].size - so;
            if (n > g->end - (g->rpos + got))
                n = g->end - (g->rpos + got);
            rc = hs_obj_get_open(r->o->objs, g->rec->segs[si].name, so, n, &g->rd);
            if (rc) {
                r->rc = rc == HS_ENOENT ? HS_EIO : rc;
                return;
            }
        }
        long k = hs_obj_read(g->rd, g->piece + got, (size_t)(want - got));
        if (k < 0) {
            r->rc = (int)k;
            return;
        }
        if (k == 0) { /* this segment's part of the range is done */
            hs_obj_get_close(g->rd);
            g->rd = NULL;
            continue;
        }
        got += (size_t)k;
    }
    g->piece_len = got;
    g->rpos += got;
    r->rc = 0;
}

static void piece_done(s3req_t *r);

/* Pieces stream with one read in flight while the one before is queued
 * for the client: the pool's read overlaps the socket's send. A piece read
 * while the client is still behind waits in g->ready for on_drain, so a
 * slow client holds at most two pieces. */
static void start_read(s3req_t *r)
{
    getst_t *g = r->st;
    if (g->rpos < g->end && !r->busy && !g->ready)
        hs__s3_submit(r, piece_work, piece_done);
}

/* Queues a piece for the client. Returns false when r is gone. */
static bool send_piece(s3req_t *r, char *piece, size_t len)
{
    getst_t *g = r->st;
    hs__s3_hold(r);
    hs_http_resp_body_ref(r->req, piece, len, free, piece);
    if (!hs__s3_unhold(r))
        return false;
    if (r->aborted) {
        if (!r->busy)
            hs__s3_end(r);
        return false;
    }
    g->pos += len;
    return true;
}

static void next_piece(s3req_t *r)
{
    getst_t *g = r->st;
    if (g->ready) {
        if (hs_http_resp_congested(r->req)) {
            g->waiting_drain = true;
            return;
        }
        char *p = g->ready;
        g->ready = NULL;
        if (!send_piece(r, p, g->ready_len))
            return;
    }
    if (g->pos >= g->end) {
        if (!r->busy)
            hs__s3_end(r);
        return;
    }
    start_read(r);
}

static void piece_done(s3req_t *r)
{
    getst_t *g = r->st;
    if (r->aborted) {
        hs__s3_end(r);
        return;
    }
    if (r->rc) {
        /* Headers are out: all we can do is cut the connection so the
         * client sees a short body, never wrong bytes. */
        hs_log_error("s3_get_stream", "bucket=%s err=%s", r->rt.bucket, hs_errname(r->rc));
        hs_http_resp_close(r->req);
        hs__s3_end(r);
        return;
    }
    g->ready = g->piece; /* the reader's next piece needs a new buffer */
    g->ready_len = g->piece_len;
    g->piece = NULL;
    next_piece(r);
}

static void get_drain(s3req_t *r)
{
    getst_t *g = r->st;
    if (g->waiting_drain) {
        g->waiting_drain = false;
        next_piece(r);
    }
}

static void get_abort(s3req_t *r)
{
    if (!r->busy)
        hs__s3_end(r);
}

/* ---- answering ---- */

static void send_headers(s3req_t *r, int status, int64_t clen)
{
    getst_t *g = r->st;
    hs__s3_start(r, status, clen);
    hs_http_resp_header_raw(r->req, ent_hdr(g->obj), ent(g->obj)->hdr_len);
    const hs_meta_bucket_t *b = hs_l2_val_data(g->bucket);
    hs_str_t cc = {ent_cc(g->obj), ent(g->obj)->cc_len};
    if (!cc.len)
        cc = (hs_str_t){b->cache_control, strlen(b->cache_control)};
    if (b->flags & HS_META_BUCKET_PUBLIC_READ) {
        if (cc.len)
            hs_http_resp_header(r->req, "Cache-Control", 13, cc.base, cc.len);
        return;
    }
    /* A signed answer from a private bucket must never be stored by a
     * shared cache (RFC 9111 3.5 lets "public" override Authorization):
     * browsers may keep it, the edge may not. */
    char pcc[HS_META_CC_MAX + 16];
    size_t n = hs__s3_private_cc(cc, pcc, sizeof(pcc));
    hs_http_resp_header(r->req, "Cache-Control", 13, pcc, n);
}

/* RFC 9110 section 13.2.2 order. Returns 0 to go on, or the status. */
static int preconditions(s3req_t *r)
{
    getst_t *g = r->st;
    hs_str_t etag = {ent_etag(g->obj), ent(g->obj)->etag_len};
    time_t lm = (time_t)(ent(g->obj)->mtime_ns / 1000000000);
    time_t t;
    hs_str_t im = hs__s3_header(r, "If-Match");
    if (im.base) {
        if (!hs_http_etag_match(im, etag, false))
            return 412;
    } else {
        hs_str_t ius = hs__s3_header(r, "If-Unmodified-Since");
        if (ius.base && hs_http_parse_date(ius, &t) == 0 && lm > t)
            return 412;
    }
    hs_str_t inm = hs__s3_header(r, "If-None-Match");
    if (inm.base) {
        if (hs_http_etag_match(inm, etag, true))
            return 304;
    } else {
        hs_str_t ims = hs__s3_header(r, "If-Modified-Since");
        if (ims.base && hs_http_parse_date(ims, &t) == 0 && lm <= t)
            return 304;
    }
    return 0;
}

static void miss_done(s3req_t *r);

static void answer(s3req_t *r)
{
    getst_t *g = r->st;
    const objent_t *e = ent(g->obj);
    int pc = preconditions(r);
    if (pc == 412) {
        hs__s3_reply_err(r, "PreconditionFailed", NULL);
        return;
    }
    if (pc == 304) {
        send_headers(r, 304, -1);
        hs__s3_end(r);
        return;
    }
    uint64_t first = 0, last = e->size ? e->size - 1 : 0;
    int status = 200;
    const char *pn = hs__s3_param(&r->rt, "partNumber");
    hs_str_t range = hs__s3_header(r, "Range");
    if (pn) {
        char *endp;
        unsigned long n = strtoul(pn, &endp, 10);
        if (*endp || n < 1 || n > 10000) {
            hs__s3_reply_err(r, "InvalidArgument", "partNumber must be an integer from 1 to 10000");
            return;
        }
        if (!g->rec) {
            /* The cached entry has no segment list: read it. */
            hs_l2_val_unref(g->obj);
            g->obj = NULL;
            g->overrides = true; /* bypass L2 for this answer */
            hs__s3_submit(r, miss_work, miss_done);
            return;
        }
        uint32_t parts = g->rec->parts ? g->rec->parts : 1;
        if (n > parts || (n > 1 && n > g->rec->nsegs)) {
            hs__s3_reply_err(r, "InvalidPartNumber", "the object has fewer parts");
            return;
        }
        if (g->rec->parts && g->rec->nsegs) {
            first = g->rec->seg_off[n - 1];
            last = first + g->rec->segs[n - 1].size - 1;
        }
        status = e->size ? 206 : 200;
    } else if (range.base && e->size) {
        hs_http_range_t rg[1];
        int nr = hs_http_parse_range(range, e->size, rg, 1);
        hs_str_t etag = {ent_etag(g->obj), e->etag_len};
        if (nr == 0) {
            hs__s3_reply_err(r, "InvalidRange", NULL);
            return;
        }
        if (nr == 1 && hs_http_if_range_ok(hs__s3_header(r, "If-Range"), etag, true,
                                           (time_t)(e->mtime_ns / 1000000000))) {
            first = rg[0].first;
            last = rg[0].last;
            status = 206;
        }
    }
    uint64_t len = e->size ? last - first + 1 : 0;
    send_headers(r, status, (int64_t)len);
    if (status == 206) {
        char cr[80];
        int n = snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                         (unsigned long long)last, (unsigned long long)e->size);
        hs_http_resp_header(r->req, "Content-Range", 13, cr, (size_t)n);
    }
    if (pn) {
        char pc_s[16];
        int n = snprintf(pc_s, sizeof(pc_s), "%u", g->rec->parts ? g->rec->parts : 1);
        hs_http_resp_header(r->req, "x-amz-mp-parts-count", 20, pc_s, (size_t)n);
    }
    if (r->rt.op == OP_HEAD_OBJECT || len == 0) {
        hs__s3_end(r);
        return;
    }
    if (e->has_body) {
        hs_l2_val_ref(g->obj);
        hs__s3_hold(r);
        hs_http_resp_body_ref(r->req, ent_body(g->obj) + first, (size_t)len, hs_l2_val_release,
                              g->obj);
        if (hs__s3_unhold(r))
            hs__s3_end(r);
        return;
    }
    g->pos = g->rpos = first;
    g->end = last + 1;
    r->on_drain = get_drain;
    r->on_abort = get_abort;
    next_piece(r);
}

static void miss_done(s3req_t *r)
{
    if (r->aborted) {
        hs__s3_end(r);
        return;
    }
    if (r->rc == HS_EACCES) {
        hs__s3_reply_err(r, "AccessDenied", NULL);
        return;
    }
    if (r->rc) {
        hs__s3_reply_rc(r, r->rc);
        return;
    }
    answer(r);
}

void hs__s3_get_op(s3req_t *r)
{
    hs_origin_t *o = r->o;
    getst_t *g = hs_arena_alloc(&r->req->arena, sizeof(*g));
    if (!g) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(g, 0, offsetof(getst_t, l2key));
    r->st = g;
    r->cleanup = get_cleanup;
    g->overrides = has_overrides(&r->rt);
    if (g->overrides && r->auth.kind == HS_SIGV4_ANON) {
        hs__s3_reply_err(r, "InvalidRequest",
                         "response-* parameters need a signed request");
        return;
    }
    g->l2klen = hs__s3_l2_key(r->rt.bucket, r->rt.key, r->rt.keylen, g->l2key, sizeof(g->l2key));
    if (o->l2 && g->l2klen) {
        char k[80];
        size_t bl = strlen(r->rt.bucket);
        if (bl < sizeof(k) - 1) {
            k[0] = 'b';
            memcpy(k + 1, r->rt.bucket, bl);
            g->bucket = hs_l2_get(o->l2, k, bl + 1);
            if (!g->bucket)
                g->tok_b = hs_l2_begin_fill(o->l2, k, bl + 1);
        }
        if (!g->overrides) {
            g->obj = hs_l2_get(o->l2, g->l2key, g->l2klen);
            if (!g->obj)
                g->tok_o = hs_l2_begin_fill(o->l2, g->l2key, g->l2klen);
        }
        if (g->bucket && g->obj) {
            const hs_meta_bucket_t *b = hs_l2_val_data(g->bucket);
            if (r->auth.kind == HS_SIGV4_ANON && !(b->flags & HS_META_BUCKET_PUBLIC_READ)) {
                hs__s3_reply_err(r, "AccessDenied", NULL);
                return;
            }
            if (ent(g->obj)->has_body || r->rt.op == OP_HEAD_OBJECT) {
                answer(r);
                return;
            }
        }
        if (g->obj) { /* streaming needs the record's segments */
            hs_l2_val_unref(g->obj);
            g->obj = NULL;
            g->tok_o = hs_l2_begin_fill(o->l2, g->l2key, g->l2klen);
        }
    }
    hs__s3_submit(r, miss_work, miss_done);
}
