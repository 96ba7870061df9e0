/*
 * The edge's answers that need no origin: a stored object (with the
 * client's conditionals and Range evaluated against it, several ranges as
 * multipart/byteranges), a 304, a short error; and the per-X-Cache
 * accounting every answer goes through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/metrics.h"
#include "edge/proxy-int.h"
#include "http/range.h"

/* Most parts of a multipart/byteranges answer; more ranges (after merging
 * those that overlap or touch) get one part spanning them all, which RFC
 * 9110 14.2 allows and which keeps many tiny parts from costing more in
 * part headers than they carry. */
#define MULTIPART_MAX 16

const char *const hs__edge_label_names[L_N] = {"HIT",     "MISS", "STALE",
                                               "EXPIRED", "PASS", "REVALIDATED"};


/* The request state lives in the request's arena, released when the
 * response ends: this only marks the point after which r is not used. */
void hs__edge_rq_free(rq_t *r)
{
    r->key = NULL;
}

void hs__edge_count(enum label l, uint64_t bytes)
{
    hs_counter_inc(hs__edge_m_req[l]);
    if (bytes)
        hs_counter_add(hs__edge_m_bytes[l], bytes);
}

void hs__edge_common_headers(hs_http_req_t *req, enum label l, int64_t age)
{
    const char *x = hs__edge_label_names[l];
    hs_http_resp_header(req, "X-Cache", 7, x, strlen(x));
    hs_http_resp_header(req, "Via", 3, VIA_VALUE, sizeof(VIA_VALUE) - 1);
    if (age >= 0) {
        char a[24];
        int n = snprintf(a, sizeof(a), "%lld", (long long)age);
        hs_http_resp_header(req, "Age", 3, a, (size_t)n);
    }
}

/* A short error answer; ends and frees r. */
void hs__edge_respond_error(rq_t *r, int status, const char *detail, enum label l)
{
    hs_http_req_t *req = r->req;
    char body[160];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, hs_http_reason(status),
                     detail ? ": " : "", detail ? detail : "");
    hs_http_resp_start(req, status, n);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
    hs__edge_common_headers(req, l, -1);
    hs_http_resp_body(req, body, (size_t)n);
    hs__edge_count(l, 0);
    hs__edge_rq_free(r);
    hs_http_resp_end(req);
}

static void send_obj_range(hs_http_req_t *req, hs_edge_obj_t *o, uint64_t off, uint64_t len)
{
    if (len == 0 || hs_http_req_is_head(req))
        return;
    if (o->body_in_file) {
        hs_edge_obj_ref(o); /* keeps the descriptor open until sent */
        hs_http_resp_body_file(req, o->body_fd, (off_t)(o->body_off + off), len,
                               hs_edge_obj_release, o);
    } else if (len <= 8192) {
        hs_http_resp_body(req, o->body + off, len); /* a copy is cheaper than a segment */
    } else if (o->body_kind == HS_EDGE_BODY_MEMFD) {
        /* The reference keeps the memfd open until the segment is sent;
         * pages already queued in socket buffers are the kernel's. */
        hs_edge_obj_ref(o);
        hs_http_resp_body_file(req, o->body_memfd, (off_t)off, len, hs_edge_obj_release, o);
    } else {
        hs_edge_obj_ref(o);
        hs_http_resp_body_ref(req, o->body + off, len, hs_edge_obj_release, o);
    }
}

/* Sorts ranges by start and merges those that overlap or are adjacent
 * (RFC 9110 14.6: a server may coalesce them whatever their order).
 * Returns how many are left. */
static int merge_ranges(hs_http_range_t *rg, int n)
{
    for (int i = 1; i < n; i++) {
        hs_http_range_t x = rg[i];
        int j = i;
        for (; j > 0 && rg[j - 1].first > x.first; j--)
            rg[j] = rg[j - 1];
        rg[j] = x;
    }
    int k = 0;
    for (int i = 1; i < n; i++) {
        if (rg[i].first <= rg[k].last + 1) {
            if (rg[i].last > rg[k].last)
                rg[k].last = rg[i].last;
        } else {
            rg[++k] = rg[i];
        }
    }
    return n ? k + 1 : 0;
}

/* The stored header block without its Content-Type line (a multipart
 * answer has its own; the object's goes into each part). */
static void header_block_without_ct(hs_http_req_t *req, const hs_edge_obj_t *o)
{
    const char *b = o->hdr, *end = o->hdr + o->hdr_len;
    const char *v = o->content_type.base;
    if (!o->hdr_len)
        return;
    if (!v || v < b || v > end) {
        hs_http_resp_header_raw(req, b, o->hdr_len);
        return;
    }
    const char *ls = v;
    while (ls > b && ls[-1] != '\n')
        ls--;
    const char *le = memchr(v, '\n', (size_t)(end - v));
    le = le ? le + 1 : end;
    if (ls > b)
        hs_http_resp_header_raw(req, b, (size_t)(ls - b));
    if (le < end)
        hs_http_resp_header_raw(req, le, (size_t)(end - le));
}

/* One part's delimiter and header fields (RFC 9110 14.6), into buf (NULL:
 * only measured). Returns the length. */
static size_t part_head(char *buf, size_t cap, bool first_part, const char *boundary,
                        hs_str_t ct, const hs_http_range_t *rg, uint64_t size)
{
    int n = snprintf(buf, cap, "%s--%s\r\n%s%.*s%sContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
                     first_part ? "" : "\r\n", boundary, ct.len ? "Content-Type: " : "",
                     (int)ct.len, ct.len ? ct.base : "", ct.len ? "\r\n" : "",
                     (unsigned long long)rg->first, (unsigned long long)rg->last,
                     (unsigned long long)size);
    return n > 0 ? (size_t)n : 0;
}

/* A 206 with one part per range (nr >= 2, sorted, apart). Returns
 * HS_ENOMEM before anything is sent. */
static int serve_multipart(rq_t *r, hs_edge_obj_t *o, const hs_http_range_t *rg, int nr,
                           enum label l, int64_t age)
{
    hs_http_req_t *req = r->req;
    /* A boundary nobody can predict, so a body cannot contain it by design
     * (RFC 2046 5.1.1); it need not be secret. */
    static _Thread_local uint64_t seq;
    struct {
        struct timespec ts;
        const void *o, *req;
        uint64_t seq;
    } seed = {.o = o, .req = req, .seq = ++seq};
    clock_gettime(CLOCK_MONOTONIC, &seed.ts);
    char boundary[24];
    snprintf(boundary, sizeof(boundary), "hs%016llx",
             (unsigned long long)XXH3_64bits(&seed, sizeof(seed)));
    hs_str_t ct = o->content_type;
    size_t heads_len = 0;
    for (int i = 0; i < nr; i++)
        heads_len += part_head(NULL, 0, i == 0, boundary, ct, &rg[i], o->size);
    char tail[48];
    int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
    char *heads = malloc(heads_len + 1);
    if (!heads)
        return HS_ENOMEM;
    uint64_t total = heads_len + (uint64_t)tl;
    for (int i = 0; i < nr; i++)
        total += rg[i].last - rg[i].first + 1;
    hs_http_resp_start(req, 206, (int64_t)total);
    header_block_without_ct(req, o);
    char ctv[64];
    int cl = snprintf(ctv, sizeof(ctv), "multipart/byteranges; boundary=%s", boundary);
    hs_http_resp_header(req, "Content-Type", 12, ctv, (size_t)cl);
    hs__edge_common_headers(req, l, age);
    char *h = heads;
    for (int i = 0; i < nr; i++) {
        size_t n = part_head(h, heads_len + 1 - (size_t)(h - heads), i == 0, boundary, ct, &rg[i],
                             o->size);
        hs_http_resp_body(req, h, n);
        send_obj_range(req, o, rg[i].first, rg[i].last - rg[i].first + 1);
        h += n;
    }
    hs_http_resp_body(req, tail, (size_t)tl);
    free(heads);
    hs__edge_count(l, total);
    hs__edge_rq_free(r);
    hs_http_resp_end(req);
    return 0;
}

/* If-None-Match / If-Modified-Since against a stored 200 (RFC 9110 13.2.2). */
bool hs__edge_not_modified(const hs_http_msg_t *m, hs_str_t etag, hs_str_t lastmod)
{
    hs_str_t v = REQ_HEADER(m, "If-None-Match");
    if (v.base)
        return etag.len && hs_http_etag_match(v, etag, true);
    v = REQ_HEADER(m, "If-Modified-Since");
    time_t since, lm;
    if (v.base && lastmod.len && hs_http_parse_date(v, &since) == 0 &&
        hs_http_parse_date(lastmod, &lm) == 0)
        return lm <= since;
    return false;
}

void hs__edge_respond_304(rq_t *r, hs_str_t etag, hs_str_t lastmod, enum label l, int64_t age)
{
    hs_http_req_t *req = r->req;
    hs_http_resp_start(req, 304, -1);
    if (etag.len)
        hs_http_resp_header(req, "ETag", 4, etag.base, etag.len);
    if (lastmod.len)
        hs_http_resp_header(req, "Last-Modified", 13, lastmod.base, lastmod.len);
    hs__edge_common_headers(req, l, age);
    hs__edge_count(l, 0);
    hs__edge_rq_free(r);
    hs_http_resp_end(req);
}

/* Answers r from a complete stored object: conditionals, Range, HEAD.
 * Ends and frees r. */
void hs__edge_serve_obj(rq_t *r, hs_edge_obj_t *o, enum label l)
{
    proxy_t *p = r->p;
    hs_http_req_t *req = r->req;
    const hs_http_msg_t *m = &req->msg;
    int64_t age = hs_edge_age(&o->meta, hs__edge_wall(p));
    if (o->status == 200 && m->num_headers > 1) {
        if (hs__edge_not_modified(m, o->etag, o->last_modified)) {
            hs__edge_respond_304(r, o->etag, o->last_modified, l, age);
            return;
        }
        hs_str_t range = REQ_HEADER(m, "Range");
        if (range.base && m->method == HS_HTTP_GET) {
            time_t lm = 0;
            bool has_lm = o->last_modified.len && hs_http_parse_date(o->last_modified, &lm) == 0;
            bool use = hs_http_if_range_ok(REQ_HEADER(m, "If-Range"), o->etag, has_lm, lm);
            hs_http_range_t rg[HS_HTTP_MAX_RANGES];
            int nr = use ? hs_http_parse_range(range, o->size, rg, HS_HTTP_MAX_RANGES) : HS_EINVAL;
            if (nr == 0) {
                char cr[48];
                int n = snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o->size);
                static const char body[] = "416 Range Not Satisfiable\n";
                hs_http_resp_start(req, 416, sizeof(body) - 1);
                hs_http_resp_header(req, "Content-Range", 13, cr, (size_t)n);
                HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; charset=utf-8");
                hs__edge_common_headers(req, l, age);
                hs_http_resp_body(req, body, sizeof(body) - 1);
                hs__edge_count(l, 0);
                hs__edge_rq_free(r);
                hs_http_resp_end(req);
                return;
            }
            if (nr >= 2)
                nr = merge_ranges(rg, nr);
            if (nr >= 2 && nr <= MULTIPART_MAX && serve_multipart(r, o, rg, nr, l, age) == 0)
                return;
            if (nr >= 1) {
                /* One range, or too many parts (or no memory for them):
                 * one part spanning them all. */
                uint64_t first = rg[0].first, last = rg[0].last;
                for (int i = 1; i < nr; i++) {
                    if (rg[i].first < first)
                        first = rg[i].first;
                    if (rg[i].last > last)
                        last = rg[i].last;
                }
                char cr[80];
                int n = snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                                 (unsigned long long)last, (unsigned long long)o->size);
                uint64_t len = last - first + 1;
                hs_http_resp_start(req, 206, (int64_t)len);
                if (o->hdr_len)
                    hs_http_resp_header_raw(req, o->hdr, o->hdr_len);
                hs_http_resp_header(req, "Content-Range", 13, cr, (size_t)n);
                hs__edge_common_headers(req, l, age);
                send_obj_range(req, o, first, len);
                hs__edge_count(l, hs_http_req_is_head(req) ? 0 : len);
                hs__edge_rq_free(r);
                hs_http_resp_end(req);
                return;
            }
        }
    }
    hs_http_resp_start(req, o->status, (int64_t)o->size);
    if (o->hdr_len)
        hs_http_resp_header_raw(req, o->hdr, o->hdr_len);
    if (o->status == 200 && !o->accept_ranges) /* the origin's, when it sent one */
        HS_HTTP_HEADER_LIT(req, "Accept-Ranges", "bytes");
    hs__edge_common_headers(req, l, age);
    send_obj_range(req, o, 0, o->size);
    hs__edge_count(l, hs_http_req_is_head(req) ? 0 : o->size);
    hs__edge_rq_free(r);
    hs_http_resp_end(req);
}
