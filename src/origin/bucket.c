/*
 * Bucket-level calls: ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
 * GetBucketLocation, GetBucketVersioning (never versioned), the bucket ACL
 * (canned private / public-read: public-read lets anonymous clients and
 * so the edge read objects) and GetBucketPolicy (none). A bucket's default
 * Cache-Control is set with the x-hyperscale-cache-control header on
 * CreateBucket or PutBucketAcl.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "http/parse.h"
#include "origin/s3-int.h"
#include "origin/s3err.h"
#include "origin/xml.h"

#define ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"

typedef struct bst {
    hs_meta_bucket_t b;
    bool set_acl, set_cc;
} bst_t;

static void forget_bucket(hs_origin_t *o, const char *name)
{
    if (!o->l2)
        return;
    char k[80];
    size_t bl = strlen(name);
    if (bl + 1 > sizeof(k))
        return;
    k[0] = 'b';
    memcpy(k + 1, name, bl);
    hs_l2_del(o->l2, k, bl + 1);
}

/* ---- ListBuckets ---- */

static int list_one(void *arg, const char *name, const hs_meta_bucket_t *b)
{
    hs_xmlw_t *w = arg;
    char when[32];
    hs__s3_iso8601((uint64_t)b->created_ns, when);
    hs_xmlw_open(w, "Bucket");
    hs_xmlw_elem_str(w, "Name", name);
    hs_xmlw_elem_str(w, "CreationDate", when);
    return hs_xmlw_close(w, "Bucket");
}

static void list_buckets_work(s3req_t *r)
{
    hs_xmlw_t w;
    hs__s3_xml_start(r, &w, "ListAllMyBucketsResult");
    hs__s3_xml_owner(r, &w, "Owner");
    hs_xmlw_open(&w, "Buckets");
    r->rc = hs_meta_bucket_list(r->o->meta, list_one, &w);
    hs_xmlw_close(&w, "Buckets");
    hs_xmlw_close(&w, "ListAllMyBucketsResult");
    if (!r->rc)
        r->rc = hs_xmlw_finish(&w);
}

/* ---- the rest ---- */

static void bucket_work(s3req_t *r)
{
    hs_origin_t *o = r->o;
    bst_t *s = r->st;
    hs_meta_bucket_t b;
    switch (r->rt.op) {
    case OP_CREATE_BUCKET:
        r->rc = hs_meta_bucket_create(o->meta, r->rt.bucket, &s->b);
        if (r->rc == 0)
            forget_bucket(o, r->rt.bucket);
        return;
    case OP_DELETE_BUCKET:
        r->rc = hs_meta_bucket_delete(o->meta, r->rt.bucket);
        forget_bucket(o, r->rt.bucket);
        return;
    case OP_PUT_BUCKET_ACL:
        if ((r->rc = hs_meta_bucket_get(o->meta, r->rt.bucket, &b)) != 0)
            return;
        if (s->set_acl)
            b.flags = (b.flags & ~(uint32_t)HS_META_BUCKET_PUBLIC_READ) |
                      (s->b.flags & HS_META_BUCKET_PUBLIC_READ);
        if (s->set_cc)
            memcpy(b.cache_control, s->b.cache_control, sizeof(b.cache_control));
        r->rc = hs_meta_bucket_set(o->meta, r->rt.bucket, &b);
        forget_bucket(o, r->rt.bucket);
        return;
    default:
        break;
    }
    if ((r->rc = hs_meta_bucket_get(o->meta, r->rt.bucket, &b)) != 0)
        return;
    s->b = b;
    hs_xmlw_t w;
    switch (r->rt.op) {
    case OP_GET_LOCATION:
        hs__s3_xml_start(r, &w, "LocationConstraint");
        /* us-east-1 answers an empty constraint, as S3 does */
        if (strcmp(b.region, "us-east-1"))
            hs_xmlw_text(&w, b.region, strlen(b.region));
        hs_xmlw_close(&w, "LocationConstraint");
        break;
    case OP_GET_VERSIONING:
        hs__s3_xml_start(r, &w, "VersioningConfiguration");
        hs_xmlw_close(&w, "VersioningConfiguration");
        break;
    case OP_GET_BUCKET_ACL:
        hs__s3_xml_start(r, &w, "AccessControlPolicy");
        hs__s3_xml_owner(r, &w, "Owner");
        hs__s3_xml_acl(r, &w, b.flags & HS_META_BUCKET_PUBLIC_READ);
        hs_xmlw_close(&w, "AccessControlPolicy");
        break;
    default:
        return; /* HEAD, GetBucketPolicy: the record was all we needed */
    }
    r->rc = hs_xmlw_finish(&w);
}

static void bucket_done(s3req_t *r)
{
    if (r->aborted) {
        hs__s3_end(r);
        return;
    }
    bst_t *s = r->st;
    if (r->rc == HS_ENOENT && r->rt.op != OP_LIST_BUCKETS) {
        hs__s3_reply_err(r, "NoSuchBucket", NULL);
        return;
    }
    if (r->rc == HS_EEXIST) {
        hs__s3_reply_err(r, "BucketAlreadyOwnedByYou", NULL);
        return;
    }
    if (r->rc) {
        hs__s3_reply_rc(r, r->rc);
        return;
    }
    switch (r->rt.op) {
    case OP_CREATE_BUCKET: {
        hs__s3_start(r, 200, 0);
        char loc[80];
        int n = snprintf(loc, sizeof(loc), "/%s", r->rt.bucket);
        hs_http_resp_header(r->req, "Location", 8, loc, (size_t)n);
        hs__s3_end(r);
        return;
    }
    case OP_DELETE_BUCKET:
        hs__s3_start(r, 204, 0);
        hs__s3_end(r);
        return;
    case OP_PUT_BUCKET_ACL:
        hs__s3_start(r, 200, 0);
        hs__s3_end(r);
        return;
    case OP_HEAD_BUCKET:
        hs__s3_start(r, 200, 0);
        hs_http_resp_header(r->req, "x-amz-bucket-region", 19, s->b.region, strlen(s->b.region));
        hs__s3_end(r);
        return;
    case OP_GET_BUCKET_POLICY:
        hs__s3_reply_err(r, "NoSuchBucketPolicy", NULL);
        return;
    default:
        hs__s3_reply_xml(r, 200);
        return;
    }
}

/* Canned ACL and default Cache-Control from the request headers. Returns
 * NULL or the S3 error code. */
static const char *acl_headers(s3req_t *r, bst_t *s)
{
    hs_str_t acl = hs__s3_header(r, "x-amz-acl");
    if (acl.base) {
        s->set_acl = true;
        if (hs_str_eq(acl, "public-read", 11) || hs_str_eq(acl, "public-read-write", 17))
            s->b.flags |= HS_META_BUCKET_PUBLIC_READ; /* never anonymous writes */
        else if (!hs_str_eq(acl, "private", 7) && !hs_str_eq(acl, "authenticated-read", 18) &&
                 !hs_str_eq(acl, "bucket-owner-full-control", 25) &&
                 !hs_str_eq(acl, "bucket-owner-read", 17))
            return "InvalidArgument";
    }
    hs_str_t cc = hs__s3_header(r, "x-hyperscale-cache-control");
    if (cc.base) {
        if (cc.len > HS_META_CC_MAX)
            return "InvalidArgument";
        s->set_cc = true;
        memcpy(s->b.cache_control, cc.base, cc.len);
        s->b.cache_control[cc.len] = 0;
    }
    return NULL;
}

/* PutBucketAcl / CreateBucket bodies. */
static void body_read(s3req_t *r)
{
    bst_t *s = r->st;
    if (hs_buf_len(&r->out)) {
        hs_xml_node_t *root;
        hs_xml_error_t xe;
        if (hs_xml_parse(&r->req->arena, hs_buf_data(&r->out), hs_buf_len(&r->out), NULL, &root,
                         &xe) != 0) {
            hs__s3_reply_err(r, "MalformedXML", xe.reason);
            return;
        }
        if (r->rt.op == OP_CREATE_BUCKET) {
            const char *lc = hs_xml_child_text(root, "LocationConstraint", NULL);
            if (strcmp(root->name, "CreateBucketConfiguration")) {
                hs__s3_reply_err(r, "MalformedXML", "expected CreateBucketConfiguration");
                return;
            }
            if (lc && lc[0] && strcmp(lc, r->o->region)) {
                hs__s3_reply_err(r, "InvalidLocationConstraint",
                                 "the location constraint must be this server's region");
                return;
            }
        } else if (!s->set_acl) {
            if (strcmp(root->name, "AccessControlPolicy")) {
                hs__s3_reply_err(r, "MalformedXML", "expected AccessControlPolicy");
                return;
            }
            s->set_acl = true;
            hs_xml_node_t *acl = hs_xml_child(root, "AccessControlList");
            for (hs_xml_node_t *g = hs_xml_child(acl, "Grant"); g; g = hs_xml_next(g, "Grant")) {
                const char *uri = hs_xml_child_text(hs_xml_child(g, "Grantee"), "URI", NULL);
                const char *perm = hs_xml_child_text(g, "Permission", NULL);
                if (uri && perm && !strcmp(uri, ALL_USERS) &&
                    (!strcmp(perm, "READ") || !strcmp(perm, "FULL_CONTROL")))
                    s->b.flags |= HS_META_BUCKET_PUBLIC_READ;
            }
        }
        hs_buf_consume(&r->out, hs_buf_len(&r->out));
    }
    hs__s3_submit(r, bucket_work, bucket_done);
}

void hs__s3_bucket_op(s3req_t *r)
{
    bst_t *s = hs_arena_alloc(&r->req->arena, sizeof(*s));
    if (!s) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(s, 0, sizeof(*s));
    r->st = s;
    switch (r->rt.op) {
    case OP_LIST_BUCKETS:
        hs__s3_submit(r, list_buckets_work, bucket_done);
        return;
    case OP_CREATE_BUCKET: {
        const char *why = hs_s3_bucket_name_ok(r->rt.bucket, strlen(r->rt.bucket));
        if (why) {
            hs__s3_reply_err(r, "InvalidBucketName", why);
            return;
        }
        s->b.created_ns = (int64_t)hs__s3_now_ns();
        snprintf(s->b.region, sizeof(s->b.region), "%s", r->o->region);
        __attribute__((fallthrough));
    }
    case OP_PUT_BUCKET_ACL: {
        const char *code = acl_headers(r, s);
        if (code) {
            hs__s3_reply_err(r, code, "unsupported x-amz-acl or bad x-hyperscale-cache-control");
            return;
        }
        hs__s3_read_small_body(r, 64 * 1024, body_read);
        return;
    }
    default:
        hs__s3_submit(r, bucket_work, bucket_done);
        return;
    }
}
