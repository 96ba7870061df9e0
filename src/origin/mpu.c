/*
 * Multipart uploads: CreateMultipartUpload, CompleteMultipartUpload,
 * AbortMultipartUpload and ListParts (UploadPart is a PUT: obj_put.c;
 * UploadPartCopy a copy: obj_misc.c). A completed upload becomes an object
 * whose segments are its parts, installed in one metadata transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "origin/s3-int.h"
#include "origin/s3err.h"
#include "origin/xml.h"

typedef struct mst {
    hs_meta_obj_t tmpl;
    hs_tier_t tier;
    char upload_id[65];
    const char *uid; /* from the query */
    hs_meta_complete_part_t *parts;
    unsigned nparts;
    hs_meta_obj_t *rec;
    hs_meta_dropped_t dropped;
    unsigned part_marker, max_parts;
} mst_t;

static void mpu_cleanup(s3req_t *r)
{
    mst_t *s = r->st;
    if (!s)
        return;
    if (s->rec)
        hs_meta_obj_free(s->rec);
    hs_meta_dropped_free(&s->dropped);
    if (r->small.inited)
        hs__s3_body_free(&r->small.body);
    r->st = NULL;
}

/* The upload named by the query must exist and be for this key. */
static int upload_check(s3req_t *r, mst_t *s, hs_meta_mpu_t **out)
{
    hs_meta_mpu_t *u;
    int rc = hs_meta_mpu_get(r->o->meta, r->rt.bucket, s->uid, &u);
    if (rc)
        return rc;
    if (u->keylen != r->rt.keylen || memcmp(u->key, r->rt.key, u->keylen)) {
        hs_meta_mpu_free(u);
        return HS_ENOENT;
    }
    if (out)
        *out = u;
    else
        hs_meta_mpu_free(u);
    return 0;
}

static int on_part(void *arg, unsigned n, const hs_meta_part_t *p)
{
    hs_xmlw_t *w = arg;
    char when[32];
    hs__s3_iso8601((uint64_t)p->mtime_ns, when);
    hs_xmlw_open(w, "Part");
    hs_xmlw_elemf(w, "PartNumber", "%u", n);
    hs_xmlw_elem_str(w, "LastModified", when);
    hs_xmlw_elemf(w, "ETag", "\"%s\"", p->etag);
    hs_xmlw_elemf(w, "Size", "%llu", (unsigned long long)p->size);
    return hs_xmlw_close(w, "Part");
}

typedef struct lastpart {
    hs_xmlw_t *w;
    unsigned last;
} lastpart_t;

static int on_part_track(void *arg, unsigned n, const hs_meta_part_t *p)
{
    lastpart_t *lp = arg;
    lp->last = n;
    return on_part(lp->w, n, p);
}

static void mpu_work(s3req_t *r)
{
    mst_t *s = r->st;
    hs_origin_t *o = r->o;
    hs_xmlw_t w;
    switch (r->rt.op) {
    case OP_CREATE_MPU:
        r->rc = hs_meta_mpu_create(o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &s->tmpl,
                                   s->upload_id);
        if (r->rc)
            return;
        hs__s3_xml_start(r, &w, "InitiateMultipartUploadResult");
        hs_xmlw_elem_str(&w, "Bucket", r->rt.bucket);
        if (hs_xmlw_elem(&w, "Key", r->rt.key, r->rt.keylen))
            hs_xmlw_elem_url(&w, "Key", r->rt.key, r->rt.keylen);
        hs_xmlw_elem_str(&w, "UploadId", s->upload_id);
        hs_xmlw_close(&w, "InitiateMultipartUploadResult");
        r->rc = hs_xmlw_finish(&w);
        return;
    case OP_COMPLETE_MPU:
        if ((r->rc = upload_check(r, s, NULL)) != 0)
            return;
        r->rc = hs_meta_mpu_complete(o->meta, r->rt.bucket, s->uid, s->parts, s->nparts, &s->rec,
                                     &s->dropped);
        if (r->rc)
            return;
        hs_log_debug("s3_mpu_complete", "bucket=%s key=%.*s etag=%s", r->rt.bucket,
                     (int)r->rt.keylen, r->rt.key, s->rec->etag);
        hs__s3_l2_forget(o, r->rt.bucket, r->rt.key, r->rt.keylen);
        hs__s3_drop(o, &s->dropped);
        hs__s3_xml_start(r, &w, "CompleteMultipartUploadResult");
        {
            char *loc = malloc(r->rt.keylen + strlen(r->rt.bucket) + 4);
            if (loc) {
                int n = sprintf(loc, "/%s/", r->rt.bucket);
                memcpy(loc + n, r->rt.key, r->rt.keylen);
                if (hs_xmlw_elem(&w, "Location", loc, (size_t)n + r->rt.keylen))
                    hs_xmlw_elem_str(&w, "Location", "");
                free(loc);
            }
        }
        hs_xmlw_elem_str(&w, "Bucket", r->rt.bucket);
        if (hs_xmlw_elem(&w, "Key", r->rt.key, r->rt.keylen))
            hs_xmlw_elem_url(&w, "Key", r->rt.key, r->rt.keylen);
        hs_xmlw_elemf(&w, "ETag", "\"%s\"", s->rec->etag);
        hs_xmlw_close(&w, "CompleteMultipartUploadResult");
        r->rc = hs_xmlw_finish(&w);
        return;
    case OP_ABORT_MPU:
        if ((r->rc = upload_check(r, s, NULL)) != 0)
            return;
        r->rc = hs_meta_mpu_abort(o->meta, r->rt.bucket, s->uid, &s->dropped);
        if (!r->rc)
            hs__s3_drop(o, &s->dropped);
        return;
    case OP_LIST_PARTS: {
        hs_meta_mpu_t *u;
        if ((r->rc = upload_check(r, s, &u)) != 0)
            return;
        hs__s3_xml_start(r, &w, "ListPartsResult");
        hs_xmlw_elem_str(&w, "Bucket", r->rt.bucket);
        if (hs_xmlw_elem(&w, "Key", r->rt.key, r->rt.keylen))
            hs_xmlw_elem_url(&w, "Key", r->rt.key, r->rt.keylen);
        hs_xmlw_elem_str(&w, "UploadId", s->uid);
        hs__s3_xml_owner(r, &w, "Initiator");
        hs__s3_xml_owner(r, &w, "Owner");
        hs_xmlw_elem_str(&w, "StorageClass", u->tmpl.storage_class && u->tmpl.storage_class[0]
                                                 ? u->tmpl.storage_class
                                                 : "STANDARD");
        hs_meta_mpu_free(u);
        hs_xmlw_elemf(&w, "PartNumberMarker", "%u", s->part_marker);
        hs_xmlw_elemf(&w, "MaxParts", "%u", s->max_parts);
        bool truncated = false;
        lastpart_t lp = {&w, 0};
        r->rc = hs_meta_mpu_parts(o->meta, r->rt.bucket, s->uid, s->part_marker, s->max_parts,
                                  on_part_track, &lp, &truncated);
        if (r->rc)
            return;
        hs_xmlw_elem_str(&w, "IsTruncated", truncated ? "true" : "false");
        if (truncated)
            hs_xmlw_elemf(&w, "NextPartNumberMarker", "%u", lp.last);
        hs_xmlw_close(&w, "ListPartsResult");
        r->rc = hs_xmlw_finish(&w);
        return;
    }
    default:
        r->rc = HS_ENOTSUP;
        return;
    }
}

static void mpu_done(s3req_t *r)
{
    if (r->aborted) {
        hs__s3_end(r);
        return;
    }
    switch (r->rc) {
    case 0:
        if (r->rt.op == OP_ABORT_MPU) {
            hs__s3_start(r, 204, 0);
            hs__s3_end(r);
        } else {
            hs__s3_reply_xml(r, 200);
        }
        return;
    case HS_ENOENT:
        hs__s3_reply_err(r, r->rt.op == OP_CREATE_MPU ? "NoSuchBucket" : "NoSuchUpload", NULL);
        return;
    case HS_META_EPARTORDER:
        hs__s3_reply_err(r, "InvalidPartOrder", NULL);
        return;
    case HS_META_EBADPART:
        hs__s3_reply_err(r, "InvalidPart", NULL);
        return;
    case HS_META_ESMALL:
        hs__s3_reply_err(r, "EntityTooSmall", NULL);
        return;
    default:
        hs__s3_reply_rc(r, r->rc);
        return;
    }
}

static void complete_body(s3req_t *r)
{
    mst_t *s = r->st;
    hs_xml_node_t *root;
    hs_xml_error_t xe = {0};
    if (hs_xml_parse(&r->req->arena, hs_buf_data(&r->out), hs_buf_len(&r->out), NULL, &root,
                     &xe) != 0 ||
        strcmp(root->name, "CompleteMultipartUpload")) {
        hs__s3_reply_err(r, "MalformedXML", xe.reason);
        return;
    }
    size_t n = hs_xml_count(root, "Part");
    if (n == 0 || n > 10000) {
        hs__s3_reply_err(r, "MalformedXML", "CompleteMultipartUpload needs 1 to 10000 Part elements");
        return;
    }
    s->parts = hs_arena_alloc(&r->req->arena, n * sizeof(*s->parts));
    if (!s->parts) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    for (hs_xml_node_t *p = hs_xml_child(root, "Part"); p; p = hs_xml_next(p, "Part")) {
        const char *num = hs_xml_child_text(p, "PartNumber", NULL);
        const char *etag = hs_xml_child_text(p, "ETag", NULL);
        char *end = NULL;
        unsigned long v = num ? strtoul(num, &end, 10) : 0;
        if (!num || !*num || *end || v < 1 || v > 10000 || !etag) {
            hs__s3_reply_err(r, "MalformedXML", "each Part needs a PartNumber (1..10000) and an ETag");
            return;
        }
        s->parts[s->nparts++] = (hs_meta_complete_part_t){(unsigned)v, etag};
    }
    hs_buf_consume(&r->out, hs_buf_len(&r->out));
    hs__s3_submit(r, mpu_work, mpu_done);
}


void hs__s3_mpu_op(s3req_t *r)
{
    mst_t *s = hs_arena_alloc(&r->req->arena, sizeof(*s));
    if (!s) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(s, 0, sizeof(*s));
    r->st = s;
    r->cleanup = mpu_cleanup;
    s->uid = hs__s3_param(&r->rt, "uploadId");
    switch (r->rt.op) {
    case OP_CREATE_MPU: {
        const char *msg = NULL;
        const char *code = hs__s3_meta_from_headers(r, &s->tmpl, &s->tier, &msg);
        if (code) {
            hs__s3_reply_err(r, code, msg);
            return;
        }
        hs__s3_submit(r, mpu_work, mpu_done);
        return;
    }
    case OP_COMPLETE_MPU:
        hs__s3_read_small_body(r, 2u << 20, complete_body);
        return;
    case OP_LIST_PARTS: {
        const char *m = hs__s3_param(&r->rt, "part-number-marker");
        const char *mp = hs__s3_param(&r->rt, "max-parts");
        char *end = NULL;
        s->part_marker = m ? (unsigned)strtoul(m, &end, 10) : 0;
        if (m && (!*m || *end || s->part_marker > 10000)) {
            hs__s3_reply_err(r, "InvalidArgument", "part-number-marker must be 0..10000");
            return;
        }
        long v = mp ? strtol(mp, &end, 10) : 1000;
        if (mp && (!*mp || *end || v < 0)) {
            hs__s3_reply_err(r, "InvalidArgument", "max-parts must be a non-negative integer");
            return;
        }
        s->max_parts = v > 1000 ? 1000 : (unsigned)v;
        hs__s3_submit(r, mpu_work, mpu_done);
        return;
    }
    default:
        hs__s3_submit(r, mpu_work, mpu_done);
        return;
    }
}
