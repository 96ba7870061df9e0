/*
 * PutObject and UploadPart: the body streams from the loop into a buffer
 * while the I/O pool decodes (aws-chunked), hashes (MD5 for the ETag,
 * SHA-256 for signed payloads) and writes the previous buffer to the
 * object store; the loop pauses the client when both are full. The object
 * becomes visible only after its bytes and then its metadata are durable,
 * and only if every check passed: a cut, a bad signature or a bad digest
 * leaves nothing behind (the writer is aborted).
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "http/parse.h"
#include "objects/objects.h"
#include "origin/s3-int.h"

#define PIECE (1u << 20)
#define UMETA_MAX 2048

typedef struct putst {
    s3body_t body;
    bool body_inited;
    hs_obj_writer_t *w;
    hs_tier_t tier;
    EVP_MD_CTX *md5;
    uint8_t want_md5[16];
    bool has_md5;
    char objname[40];
    hs_buf_t fill, work; /* loop fills `fill`; a pool job consumes `work` */
    bool body_done, paused, failed;
    int client_err;
    uint64_t size;
    hs_meta_obj_t rec;
    hs_meta_pair_t *umeta;
    unsigned part;
    const char *upload_id;
    hs_meta_dropped_t dropped;
    char etag[40];
} putst_t;

static void put_cleanup(s3req_t *r)
{
    putst_t *p = r->st;
    if (!p)
        return;
    if (p->body_inited)
        hs__s3_body_free(&p->body);
    if (p->md5)
        EVP_MD_CTX_free(p->md5);
    hs_buf_free(&p->fill);
    hs_buf_free(&p->work);
    hs_meta_dropped_free(&p->dropped);
    /* p->w is aborted by a pool job before we get here */
    r->st = NULL;
}

/* ---- request headers to a record ---- */

static const char *hdup(s3req_t *r, const char *name)
{
    hs_str_t v = hs__s3_header(r, name);
    return v.base ? hs_arena_strndup(&r->req->arena, v.base, v.len) : NULL;
}

/* Maps an S3 storage class to a tier hint; false if unknown. */
static bool storage_tier(const char *sc, hs_tier_t *t)
{
    static const struct {
        const char *name;
        hs_tier_t tier;
    } m[] = {
        {"STANDARD", HS_TIER_HOT},        {"REDUCED_REDUNDANCY", HS_TIER_HOT},
        {"STANDARD_IA", HS_TIER_WARM},    {"ONEZONE_IA", HS_TIER_WARM},
        {"INTELLIGENT_TIERING", HS_TIER_AUTO}, {"GLACIER_IR", HS_TIER_COLD},
        {"GLACIER", HS_TIER_COLD},        {"DEEP_ARCHIVE", HS_TIER_COLD},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (!strcmp(sc, m[i].name)) {
            *t = m[i].tier;
            return true;
        }
    return false;
}

/* Fills rec's headers and user metadata from the request. Returns NULL or
 * the S3 error code (with *msg). */
const char *hs__s3_meta_from_headers(s3req_t *r, hs_meta_obj_t *rec, hs_tier_t *tier,
                                     const char **msg)
{
    rec->content_type = hdup(r, "Content-Type");
    rec->content_encoding = hdup(r, "Content-Encoding");
    rec->content_disposition = hdup(r, "Content-Disposition");
    rec->content_language = hdup(r, "Content-Language");
    rec->cache_control = hdup(r, "Cache-Control");
    rec->expires = hdup(r, "Expires");
    /* aws-chunked is the transfer framing, not the object's encoding */
    if (rec->content_encoding && !strncmp(rec->content_encoding, "aws-chunked", 11)) {
        const char *rest = rec->content_encoding + 11;
        while (*rest == ',' || *rest == ' ')
            rest++;
        rec->content_encoding = *rest ? rest : NULL;
    }
    const char *sc = hdup(r, "x-amz-storage-class");
    *tier = HS_TIER_AUTO;
    if (sc) {
        if (!storage_tier(sc, tier)) {
            *msg = "unknown x-amz-storage-class";
            return "InvalidStorageClass";
        }
        rec->storage_class = sc;
    }
    const hs_http_msg_t *m = &r->req->msg;
    unsigned n = 0;
    size_t total = 0;
    for (unsigned i = 0; i < m->num_headers; i++)
        if (m->headers[i].name.len > 11 && !strncasecmp(m->headers[i].name.base, "x-amz-meta-", 11))
            n++;
    if (!n)
        return NULL;
    hs_meta_pair_t *pairs = hs_arena_alloc(&r->req->arena, n * sizeof(*pairs));
    if (!pairs)
        return "InternalError";
    n = 0;
    for (unsigned i = 0; i < m->num_headers; i++) {
        hs_str_t nm = m->headers[i].name, v = m->headers[i].value;
        if (nm.len <= 11 || strncasecmp(nm.base, "x-amz-meta-", 11))
            continue;
        total += nm.len - 11 + v.len;
        char *name = hs_arena_strndup(&r->req->arena, nm.base + 11, nm.len - 11);
        char *val = hs_arena_strndup(&r->req->arena, v.base, v.len);
        if (!name || !val)
            return "InternalError";
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        pairs[n++] = (hs_meta_pair_t){name, val};
    }
    if (total > UMETA_MAX) {
        *msg = "user metadata (x-amz-meta-*) is limited to 2 KB";
        return "MetadataTooLarge";
    }
    rec->meta = pairs;
    rec->nmeta = n;
    return NULL;
}

/* ---- pool jobs ---- */

static int sink(void *arg, const char *data, size_t len)
{
    s3req_t *r = arg;
    putst_t *p = r->st;
    if (p->size + len > r->o->max_object)
        return HS_E2BIG;
    if (!p->w) {
        hs_obj_put_opts_t po = {.tier = p->tier};
        int rc = hs_obj_put_begin(r->o->objs, p->objname, &po, &p->w);
        if (rc)
            return rc;
    }
    if (EVP_DigestUpdate(p->md5, data, len) != 1)
        return HS_ENOMEM;
    p->size += len;
    return hs_obj_put_write(p->w, data, len);
}

static void write_work(s3req_t *r)
{
    putst_t *p = r->st;
    r->rc = hs__s3_body_feed(&p->body, hs_buf_data(&p->work), hs_buf_len(&p->work), sink, r);
    if (r->rc) {
        r->ecode = r->rc == HS_E2BIG ? "EntityTooLarge" : p->body.ecode;
        r->emsg = r->rc == HS_E2BIG ? NULL : p->body.emsg;
    }
    hs_buf_consume(&p->work, hs_buf_len(&p->work));
}

static void abort_work(s3req_t *r)
{
    putst_t *p = r->st;
    if (p->w)
        hs_obj_put_abort(p->w);
    p->w = NULL;
}

static void final_work(s3req_t *r)
{
    putst_t *p = r->st;
    hs_origin_t *o = r->o;
    write_work(r);
    if (r->rc)
        goto fail;
    if ((r->rc = hs__s3_body_end(&p->body)) != 0) {
        r->ecode = p->body.ecode;
        r->emsg = p->body.emsg;
        goto fail;
    }
    uint8_t md5[16];
    unsigned ml = 0;
    EVP_DigestFinal_ex(p->md5, md5, &ml);
    if (p->has_md5 && memcmp(md5, p->want_md5, 16)) {
        r->rc = HS_EBADMSG;
        r->ecode = "BadDigest";
        goto fail;
    }
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        p->etag[2 * i] = hx[md5[i] >> 4];
        p->etag[2 * i + 1] = hx[md5[i] & 15];
    }
    p->etag[32] = 0;
    hs_meta_seg_t seg = {p->objname, p->size};
    if (p->w) {
        r->rc = hs_obj_put_commit(p->w, NULL);
        p->w = NULL;
        if (r->rc)
            goto fail;
    }
    if (r->rt.op == OP_UPLOAD_PART) {
        hs_meta_part_t part = {.etag = p->etag,
                               .size = p->size,
                               .objname = p->size ? p->objname : "",
                               .mtime_ns = (int64_t)hs__s3_now_ns()};
        if (!p->size) {
            /* An empty part still needs bytes to name: an empty object. */
            hs_obj_writer_t *w;
            if ((r->rc = hs_obj_put_begin(o->objs, p->objname, NULL, &w)) == 0)
                r->rc = hs_obj_put_commit(w, NULL);
            if (r->rc)
                goto fail;
            part.objname = p->objname;
        }
        r->rc = hs_meta_mpu_part_put(o->meta, r->rt.bucket, p->upload_id, p->part, &part,
                                     &p->dropped);
    } else {
        p->rec.size = p->size;
        p->rec.mtime_ns = (int64_t)hs__s3_now_ns();
        p->rec.etag = p->etag;
        p->rec.segs = p->size ? &seg : NULL;
        p->rec.nsegs = p->size ? 1 : 0;
        r->rc = hs_meta_obj_put(o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &p->rec,
                                &p->dropped);
    }
    if (r->rc) {
        hs_obj_delete(o->objs, p->objname); /* never named: nobody reads it */
        r->ecode = r->rc == HS_ENOBUCKET ? "NoSuchBucket"
                   : r->rc == HS_ENOENT  ? "NoSuchUpload"
                                         : "InternalError";
        return;
    }
    hs_log_debug("s3_put_commit", "req=%s bucket=%s etag=%s object=%s size=%llu", r->reqid,
                 r->rt.bucket, p->etag, p->objname, (unsigned long long)p->size);
    hs__s3_l2_forget(o, r->rt.bucket, r->rt.key, r->rt.keylen);
    hs__s3_drop(o, &p->dropped);
    return;
fail:
    if (p->w)
        hs_obj_put_abort(p->w);
    p->w = NULL;
    if (!r->ecode)
        r->ecode = r->rc == HS_E2BIG ? "EntityTooLarge" : "InternalError";
}

/* ---- loop side ---- */

static void put_body_cb(hs_http_req_t *req, const char *data, size_t len, int status);
static void write_done(s3req_t *r);
static void put_abort(s3req_t *r);

/* Submits a job of this PUT. On a full pool the answer (SlowDown) is out
 * and r is gone: the writer is aborted here, on the loop, since leaving
 * it open would hold gc off for ever. Returns false then. */
static bool submit(s3req_t *r, s3_fn work)
{
    putst_t *p = r->st;
    hs_obj_writer_t *w = p->w;
    if (hs__s3_submit(r, work, write_done))
        return true;
    if (w)
        hs_obj_put_abort(w);
    return false;
}

static void fail_now(s3req_t *r)
{
    /* Abort the writer on the pool, then answer. */
    putst_t *p = r->st;
    p->failed = true;
    submit(r, abort_work);
}

/* Moves the PUT along. Returns false when r is gone (answered). */
static bool kick(s3req_t *r)
{
    putst_t *p = r->st;
    if (r->busy)
        return true;
    if (p->body_done) {
        hs_buf_t t = p->work;
        p->work = p->fill;
        p->fill = t;
        submit(r, final_work);
        return false; /* r now belongs to the job, or is gone */
    }
    if (hs_buf_len(&p->fill) >= PIECE) {
        hs_buf_t t = p->work;
        p->work = p->fill;
        p->fill = t;
        if (!submit(r, write_work))
            return false;
    }
    if (p->paused && hs_buf_len(&p->fill) < PIECE) {
        p->paused = false;
        hs__s3_hold(r);
        hs_http_req_pause_body(r->req, false); /* may deliver body, or close */
        if (!hs__s3_unhold(r))
            return false;
        if (r->aborted) {
            put_abort(r);
            return false;
        }
    }
    return true;
}

static void write_done(s3req_t *r)
{
    putst_t *p = r->st;
    if (r->aborted) {
        if (p->w) {
            p->failed = true;
            submit(r, abort_work);
            return;
        }
        hs__s3_end(r);
        return;
    }
    if (p->failed) {
        if (p->w) { /* the client failed while a write ran: abort first */
            submit(r, abort_work);
            return;
        }
        if (p->client_err)
            hs__s3_reply_err(r, p->client_err == HS_ETIMEDOUT ? "RequestTimeout" : "IncompleteBody",
                             NULL);
        else
            hs__s3_reply_err(r, r->ecode ? r->ecode : "InternalError", r->emsg);
        return;
    }
    if (r->rc) {
        if (r->rc != HS_E2BIG && r->rc != HS_EACCES && r->rc != HS_EBADMSG && r->ecode &&
            !strcmp(r->ecode, "InternalError"))
            hs_log_warn("s3_put", "bucket=%s err=%s", r->rt.bucket, hs_errname(r->rc));
        if (p->w) {
            fail_now(r);
            return;
        }
        hs__s3_reply_err(r, r->ecode ? r->ecode : "InternalError", r->emsg);
        return;
    }
    if (p->body_done && !hs_buf_len(&p->fill) && !hs_buf_len(&p->work) && p->etag[0]) {
        hs__s3_start(r, 200, 0);
        char et[48];
        int n = snprintf(et, sizeof(et), "\"%s\"", p->etag);
        hs_http_resp_header(r->req, "ETag", 4, et, (size_t)n);
        hs__s3_end(r);
        return;
    }
    kick(r);
}

static void put_body_cb(hs_http_req_t *req, const char *data, size_t len, int status)
{
    s3req_t *r = req->data;
    putst_t *p = r->st;
    if (status < 0) {
        p->client_err = status;
        p->body_done = true;
        if (!r->busy)
            fail_now(r);
        else
            p->failed = true;
        return;
    }
    if (status == 1) {
        p->body_done = true;
        kick(r);
        return;
    }
    if (p->failed)
        return; /* bytes after an error: the answer is on its way */
    if (hs_buf_append(&p->fill, data, len) != 0) {
        p->client_err = HS_ENOMEM;
        p->body_done = true;
        if (!r->busy)
            fail_now(r);
        return;
    }
    if (!kick(r))
        return;
    if (hs_buf_len(&p->fill) >= PIECE && !p->paused) {
        p->paused = true;
        hs_http_req_pause_body(r->req, true);
    }
}

static void put_abort(s3req_t *r)
{
    putst_t *p = r->st;
    if (r->busy || r->hold)
        return; /* write_done, or our caller, sees r->aborted */
    if (p->w) {
        p->failed = true;
        submit(r, abort_work);
        return;
    }
    hs__s3_end(r);
}

/* The target exists (bucket; for a part, the upload of this key). */
static void check_work(s3req_t *r)
{
    putst_t *p = r->st;
    if (r->rt.op == OP_UPLOAD_PART) {
        hs_meta_mpu_t *u;
        r->rc = hs_meta_mpu_get(r->o->meta, r->rt.bucket, p->upload_id, &u);
        if (r->rc == 0) {
            if (u->keylen != r->rt.keylen || memcmp(u->key, r->rt.key, u->keylen))
                r->rc = HS_ENOENT;
            hs_meta_mpu_free(u);
        }
        if (r->rc == HS_ENOENT)
            r->ecode = "NoSuchUpload";
    } else {
        hs_meta_bucket_t b;
        r->rc = hs_meta_bucket_get(r->o->meta, r->rt.bucket, &b);
        if (r->rc == HS_ENOENT)
            r->ecode = "NoSuchBucket";
    }
}

static void check_done(s3req_t *r)
{
    if (hs__s3_job_answered(r))
        return;
    hs__s3_hold(r);
    hs_http_req_read_body(r->req, put_body_cb);
    if (hs__s3_unhold(r) && r->aborted)
        put_abort(r);
}

static int b64_md5(hs_str_t v, uint8_t out[16])
{
    if (v.len != 24)
        return HS_EINVAL;
    unsigned char tmp[24];
    if (EVP_DecodeBlock(tmp, (const unsigned char *)v.base, 24) != 18)
        return HS_EINVAL;
    memcpy(out, tmp, 16);
    return 0;
}

void hs__s3_put_op(s3req_t *r)
{
    putst_t *p = hs_arena_alloc(&r->req->arena, sizeof(*p));
    if (!p) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(p, 0, sizeof(*p));
    r->st = p;
    r->cleanup = put_cleanup;
    r->on_abort = put_abort;
    const hs_http_msg_t *m = &r->req->msg;
    if (m->framing == HS_HTTP_BODY_NONE && hs__s3_header(r, "Content-Length").base == NULL &&
        hs__s3_header(r, "Transfer-Encoding").base == NULL) {
        hs__s3_reply_err(r, "MissingContentLength", NULL);
        return;
    }
    uint64_t declared = r->auth.payload >= HS_SIGV4_PAYLOAD_STREAMING ? r->auth.decoded_length
                        : m->framing == HS_HTTP_BODY_LENGTH      ? m->content_length
                                                                 : 0;
    if (declared > r->o->max_object) {
        hs__s3_reply_err(r, "EntityTooLarge", NULL);
        return;
    }
    if (r->rt.op == OP_UPLOAD_PART) {
        const char *pn = hs__s3_param(&r->rt, "partNumber");
        char *end = NULL;
        unsigned long n = pn ? strtoul(pn, &end, 10) : 0;
        p->upload_id = hs__s3_param(&r->rt, "uploadId");
        if (!pn || *end || n < 1 || n > 10000 || !p->upload_id) {
            hs__s3_reply_err(r, "InvalidArgument",
                             "UploadPart needs partNumber (1..10000) and uploadId");
            return;
        }
        p->part = (unsigned)n;
    } else {
        const char *msg = NULL;
        const char *code = hs__s3_meta_from_headers(r, &p->rec, &p->tier, &msg);
        if (code) {
            hs__s3_reply_err(r, code, msg);
            return;
        }
    }
    hs_str_t cm = hs__s3_header(r, "Content-MD5");
    if (cm.base) {
        if (b64_md5(cm, p->want_md5)) {
            hs__s3_reply_err(r, "InvalidDigest", NULL);
            return;
        }
        p->has_md5 = true;
    }
    if (hs__s3_body_init(&p->body, &r->auth)) {
        hs__s3_reply_err(r, p->body.ecode, p->body.emsg);
        return;
    }
    p->body_inited = true;
    p->md5 = EVP_MD_CTX_new();
    if (!p->md5 || EVP_DigestInit_ex(p->md5, EVP_md5(), NULL) != 1) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    hs__s3_new_objname(p->objname);
    hs__s3_submit(r, check_work, check_done);
}
