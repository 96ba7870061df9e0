/*
 * DeleteObject, DeleteObjects, CopyObject, UploadPartCopy and
 * GetObjectAcl. Copies stream the source's bytes into a new object-store
 * object on the I/O pool (dedup keeps the second copy's storage cost to
 * metadata); sharing segments between records would need reference counts
 * the metadata store does not keep.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/log.h"
#include "http/parse.h"
#include "http/range.h"
#include "objects/objects.h"
#include "origin/s3-int.h"
#include "origin/s3err.h"
#include "origin/xml.h"

#define COPY_PIECE (1u << 20)

typedef struct dkey {
    char *key;
    size_t len;
    int rc;
} dkey_t;

typedef struct xst {
    /* DeleteObjects */
    dkey_t *keys;
    unsigned nkeys;
    bool quiet;
    /* copies */
    char *src_bucket, *src_key;
    size_t src_keylen;
    bool replace;
    uint64_t first, last; /* UploadPartCopy range (inclusive); last = UINT64_MAX: whole */
    hs_meta_obj_t dst;    /* REPLACE: metadata from the request */
    hs_tier_t tier;
    unsigned part;
    const char *upload_id;
    char objname[40];
    char etag[40];
    int64_t mtime_ns;
    hs_meta_dropped_t dropped;
} xst_t;


static void x_cleanup(s3req_t *r)
{
    xst_t *s = r->st;
    if (!s)
        return;
    hs_meta_dropped_free(&s->dropped);
    if (r->small.inited)
        hs__s3_body_free(&r->small.body);
    r->st = NULL;
}

/* ---- DeleteObject / DeleteObjects ---- */

static void delete_work(s3req_t *r)
{
    xst_t *s = r->st;
    hs_origin_t *o = r->o;
    if (r->rt.op == OP_DELETE_OBJECT) {
        r->rc = hs_meta_obj_delete(o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &s->dropped);
        if (r->rc == HS_ENOENT)
            r->rc = 0; /* S3 answers 204 for a key that is not there */
        hs__s3_l2_forget(o, r->rt.bucket, r->rt.key, r->rt.keylen);
        hs__s3_drop(o, &s->dropped);
        return;
    }
    hs_meta_bucket_t b;
    if ((r->rc = hs_meta_bucket_get(o->meta, r->rt.bucket, &b)) != 0) {
        if (r->rc == HS_ENOENT)
            r->rc = HS_ENOBUCKET;
        return;
    }
    hs_xmlw_t w;
    hs__s3_xml_start(r, &w, "DeleteResult");
    for (unsigned i = 0; i < s->nkeys; i++) {
        dkey_t *k = &s->keys[i];
        int rc = hs_meta_obj_delete(o->meta, r->rt.bucket, k->key, k->len, &s->dropped);
        if (rc == HS_ENOENT)
            rc = 0;
        hs__s3_l2_forget(o, r->rt.bucket, k->key, k->len);
        hs__s3_drop(o, &s->dropped);
        if (rc == 0 && s->quiet)
            continue;
        hs_xmlw_open(&w, rc ? "Error" : "Deleted");
        if (hs_xmlw_elem(&w, "Key", k->key, k->len))
            hs_xmlw_elem_url(&w, "Key", k->key, k->len);
        if (rc) {
            hs_xmlw_elem_str(&w, "Code", "InternalError");
            hs_xmlw_elem_str(&w, "Message", hs_strerror(rc));
        }
        hs_xmlw_close(&w, rc ? "Error" : "Deleted");
    }
    hs_xmlw_close(&w, "DeleteResult");
    r->rc = hs_xmlw_finish(&w);
}

static void x_done(s3req_t *r)
{
    if (hs__s3_job_answered(r))
        return;
    if (r->rt.op == OP_DELETE_OBJECT) {
        hs__s3_start(r, 204, 0);
        hs__s3_end(r);
        return;
    }
    hs__s3_reply_xml(r, 200);
}

static void delete_body(s3req_t *r)
{
    xst_t *s = r->st;
    hs_xml_node_t *root;
    hs_xml_error_t xe = {0};
    if (hs_xml_parse(&r->req->arena, hs_buf_data(&r->out), hs_buf_len(&r->out), NULL, &root,
                     &xe) != 0 ||
        strcmp(root->name, "Delete")) {
        hs__s3_reply_err(r, "MalformedXML", xe.reason);
        return;
    }
    size_t n = hs_xml_count(root, "Object");
    if (n == 0 || n > 1000) {
        hs__s3_reply_err(r, "MalformedXML", "Delete needs 1 to 1000 Object elements");
        return;
    }
    const char *q = hs_xml_child_text(root, "Quiet", NULL);
    s->quiet = q && !strcasecmp(q, "true");
    s->keys = hs_arena_alloc(&r->req->arena, n * sizeof(*s->keys));
    if (!s->keys) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    for (hs_xml_node_t *o = hs_xml_child(root, "Object"); o; o = hs_xml_next(o, "Object")) {
        size_t kl = 0;
        const char *k = hs_xml_child_text(o, "Key", &kl);
        if (!k || !kl || kl > 1024) {
            hs__s3_reply_err(r, "MalformedXML", "each Object needs a Key of 1 to 1024 bytes");
            return;
        }
        s->keys[s->nkeys++] = (dkey_t){(char *)k, kl, 0};
    }
    hs_buf_consume(&r->out, hs_buf_len(&r->out));
    hs__s3_submit(r, delete_work, x_done);
}

/* ---- copies ---- */

/* Copies [first, last] of rec into a new object-store object (pool). */
static int copy_bytes(s3req_t *r, xst_t *s, const hs_meta_obj_t *rec, uint64_t first, uint64_t len)
{
    hs_origin_t *o = r->o;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(COPY_PIECE);
    hs_obj_writer_t *w = NULL;
    int rc = (!md || !buf || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) ? HS_ENOMEM : 0;
    if (!rc) {
        hs_obj_put_opts_t po = {.tier = s->tier};
        rc = hs_obj_put_begin(o->objs, s->objname, &po, &w);
    }
    uint64_t pos = first, end = first + len;
    while (!rc && pos < end) {
        unsigned si;
        uint64_t so;
        if ((rc = hs_meta_seg_find(rec, pos, &si, &so)) != 0)
            break;
        uint64_t n = rec->segs[si].size - so;
        if (n > end - pos)
            n = end - pos;
        hs_obj_reader_t *rd;
        if ((rc = hs_obj_get_open(o->objs, rec->segs[si].name, so, n, &rd)) != 0)
            break;
        uint64_t done = 0;
        while (!rc && done < n) {
            size_t want = n - done > COPY_PIECE ? COPY_PIECE : (size_t)(n - done);
            long k = hs_obj_read(rd, buf, want);
            if (k <= 0) {
                rc = k < 0 ? (int)k : HS_EIO;
                break;
            }
            if (EVP_DigestUpdate(md, buf, (size_t)k) != 1)
                rc = HS_ENOMEM;
            else
                rc = hs_obj_put_write(w, buf, (size_t)k);
            done += (uint64_t)k;
        }
        hs_obj_get_close(rd);
        pos += n;
    }
    if (!rc) {
        rc = hs_obj_put_commit(w, NULL);
        w = NULL;
    }
    if (w)
        hs_obj_put_abort(w);
    if (!rc) {
        uint8_t d[16];
        unsigned dl;
        EVP_DigestFinal_ex(md, d, &dl);
        static const char hx[] = "0123456789abcdef";
        for (int i = 0; i < 16; i++) {
            s->etag[2 * i] = hx[d[i] >> 4];
            s->etag[2 * i + 1] = hx[d[i] & 15];
        }
        s->etag[32] = 0;
    }
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}

/* x-amz-copy-source-if-* against the source (RFC 9110 order). NULL if
 * they pass, else "PreconditionFailed". */
static const char *copy_conditions(s3req_t *r, const hs_meta_obj_t *src)
{
    char etag[160];
    int el = snprintf(etag, sizeof(etag), "\"%s\"", src->etag);
    hs_str_t et = {etag, (size_t)(el > 0 ? el : 0)};
    time_t lm = (time_t)(src->mtime_ns / 1000000000), t;
    hs_str_t im = hs__s3_header(r, "x-amz-copy-source-if-match");
    hs_str_t ius = hs__s3_header(r, "x-amz-copy-source-if-unmodified-since");
    hs_str_t inm = hs__s3_header(r, "x-amz-copy-source-if-none-match");
    hs_str_t ims = hs__s3_header(r, "x-amz-copy-source-if-modified-since");
    if (im.base ? !hs_http_etag_match(im, et, false)
                : (ius.base && hs_http_parse_date(ius, &t) == 0 && lm > t))
        return "PreconditionFailed";
    if (inm.base ? hs_http_etag_match(inm, et, true)
                 : (ims.base && hs_http_parse_date(ims, &t) == 0 && lm <= t))
        return "PreconditionFailed";
    return NULL;
}

static void copy_work(s3req_t *r)
{
    xst_t *s = r->st;
    hs_origin_t *o = r->o;
    hs_meta_obj_t *src = NULL;
    if (r->rt.op == OP_UPLOAD_PART_COPY) {
        hs_meta_mpu_t *u;
        r->rc = hs_meta_mpu_get(o->meta, r->rt.bucket, s->upload_id, &u);
        if (r->rc == 0) {
            if (u->keylen != r->rt.keylen || memcmp(u->key, r->rt.key, u->keylen))
                r->rc = HS_ENOENT;
            hs_meta_mpu_free(u);
        }
        if (r->rc) {
            r->ecode = r->rc == HS_ENOENT ? "NoSuchUpload" : NULL;
            return;
        }
    }
    r->rc = hs_meta_obj_get(o->meta, s->src_bucket, s->src_key, s->src_keylen, &src);
    if (r->rc) {
        r->ecode = r->rc == HS_ENOBUCKET ? "NoSuchBucket" : r->rc == HS_ENOENT ? "NoSuchKey" : NULL;
        return;
    }
    if ((r->ecode = copy_conditions(r, src)) != NULL) {
        r->rc = HS_EINVAL;
        goto out;
    }
    uint64_t first = 0, len = src->size;
    if (s->last != UINT64_MAX) {
        if (s->first >= src->size || s->last >= src->size) {
            r->rc = HS_ERANGE;
            r->ecode = "InvalidRange";
            goto out;
        }
        first = s->first;
        len = s->last - s->first + 1;
    }
    hs__s3_new_objname(s->objname);
    if (len && (r->rc = copy_bytes(r, s, src, first, len)) != 0)
        goto out;
    if (!len)
        strcpy(s->etag, "d41d8cd98f00b204e9800998ecf8427e"); /* MD5 of nothing */
    s->mtime_ns = (int64_t)hs__s3_now_ns();
    hs_meta_seg_t seg = {s->objname, len};
    if (r->rt.op == OP_UPLOAD_PART_COPY) {
        if (!len) {
            hs_obj_writer_t *w;
            if ((r->rc = hs_obj_put_begin(o->objs, s->objname, NULL, &w)) == 0)
                r->rc = hs_obj_put_commit(w, NULL);
            if (r->rc)
                goto out;
        }
        hs_meta_part_t part = {s->etag, len, s->objname, s->mtime_ns};
        r->rc = hs_meta_mpu_part_put(o->meta, r->rt.bucket, s->upload_id, s->part, &part,
                                     &s->dropped);
    } else {
        hs_meta_obj_t rec = s->replace ? s->dst : *src;
        if (!s->replace)
            rec.storage_class = s->dst.storage_class ? s->dst.storage_class : src->storage_class;
        rec.size = len;
        rec.mtime_ns = s->mtime_ns;
        rec.parts = 0;
        rec.etag = s->etag;
        rec.segs = len ? &seg : NULL;
        rec.nsegs = len ? 1 : 0;
        rec.seg_off = NULL;
        r->rc = hs_meta_obj_put(o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &rec, &s->dropped);
    }
    if (r->rc) {
        if (len)
            hs_obj_delete(o->objs, s->objname);
        r->ecode = r->rc == HS_ENOBUCKET ? "NoSuchBucket" : r->rc == HS_ENOENT ? "NoSuchUpload" : NULL;
        goto out;
    }
    hs__s3_l2_forget(o, r->rt.bucket, r->rt.key, r->rt.keylen);
    hs__s3_drop(o, &s->dropped);
    char when[32];
    hs__s3_iso8601((uint64_t)s->mtime_ns, when);
    hs_xmlw_t w;
    const char *root = r->rt.op == OP_UPLOAD_PART_COPY ? "CopyPartResult" : "CopyObjectResult";
    hs__s3_xml_start(r, &w, root);
    hs_xmlw_elem_str(&w, "LastModified", when);
    hs_xmlw_elemf(&w, "ETag", "\"%s\"", s->etag);
    hs_xmlw_close(&w, root);
    r->rc = hs_xmlw_finish(&w);
out:
    hs_meta_obj_free(src);
}

/* Parses x-amz-copy-source: [/]bucket/key[?versionId=null], url-encoded. */
static const char *parse_source(s3req_t *r, xst_t *s)
{
    hs_str_t v = hs__s3_header(r, "x-amz-copy-source");
    const char *q = memchr(v.base, '?', v.len);
    size_t n = q ? (size_t)(q - v.base) : v.len;
    if (q && strncmp(q, "?versionId=null", v.len - n) != 0)
        return "only the null version of an unversioned bucket can be copied";
    char *dec = hs_arena_alloc(&r->req->arena, n + 1);
    if (!dec)
        return "out of memory";
    long dl = hs__s3_pct_decode(v.base, n, dec, false);
    if (dl < 0)
        return "bad percent-encoding in x-amz-copy-source";
    if (dec[0] == '/')
        dec++;
    char *slash = strchr(dec, '/');
    if (!slash || slash == dec || !slash[1])
        return "x-amz-copy-source must be bucket/key";
    *slash = 0;
    s->src_bucket = dec;
    s->src_key = slash + 1;
    s->src_keylen = strlen(s->src_key);
    if (s->src_keylen > 1024)
        return "the source key is longer than 1024 bytes";
    return NULL;
}

static void copy_op(s3req_t *r, xst_t *s)
{
    const char *why = parse_source(r, s);
    if (why) {
        hs__s3_reply_err(r, "InvalidArgument", why);
        return;
    }
    s->last = UINT64_MAX;
    if (r->rt.op == OP_UPLOAD_PART_COPY) {
        const char *pn = hs__s3_param(&r->rt, "partNumber");
        char *end = NULL;
        unsigned long n = pn ? strtoul(pn, &end, 10) : 0;
        s->upload_id = hs__s3_param(&r->rt, "uploadId");
        if (!pn || *end || n < 1 || n > 10000 || !s->upload_id) {
            hs__s3_reply_err(r, "InvalidArgument", "UploadPartCopy needs partNumber and uploadId");
            return;
        }
        s->part = (unsigned)n;
        hs_str_t rg = hs__s3_header(r, "x-amz-copy-source-range");
        if (rg.base) {
            unsigned long long a, b;
            char tail;
            char tmp[80];
            if (rg.len >= sizeof(tmp)) {
                hs__s3_reply_err(r, "InvalidArgument", "bad x-amz-copy-source-range");
                return;
            }
            memcpy(tmp, rg.base, rg.len);
            tmp[rg.len] = 0;
            if (sscanf(tmp, "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || a > b) {
                hs__s3_reply_err(r, "InvalidArgument",
                                 "x-amz-copy-source-range must be bytes=first-last");
                return;
            }
            s->first = a;
            s->last = b;
        }
    } else {
        hs_str_t d = hs__s3_header(r, "x-amz-metadata-directive");
        if (d.base && !hs_str_eq(d, "COPY", 4) && !hs_str_eq(d, "REPLACE", 7)) {
            hs__s3_reply_err(r, "InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE");
            return;
        }
        s->replace = d.base && hs_str_eq(d, "REPLACE", 7);
        const char *msg = NULL;
        hs_meta_obj_t tmp = {0};
        const char *code = hs__s3_meta_from_headers(r, &tmp, &s->tier, &msg);
        if (code) {
            hs__s3_reply_err(r, code, msg);
            return;
        }
        if (s->replace)
            s->dst = tmp;
        s->dst.storage_class = tmp.storage_class;
        if (!s->replace && !tmp.storage_class && !strcmp(s->src_bucket, r->rt.bucket) &&
            s->src_keylen == r->rt.keylen && !memcmp(s->src_key, r->rt.key, r->rt.keylen)) {
            hs__s3_reply_err(r, "InvalidRequest",
                             "copying an object to itself needs a change: use "
                             "x-amz-metadata-directive REPLACE or another storage class");
            return;
        }
    }
    hs__s3_submit(r, copy_work, x_done);
}

/* ---- GetObjectAcl ---- */

static void acl_work(s3req_t *r)
{
    hs_meta_obj_t *rec;
    r->rc = hs_meta_obj_get(r->o->meta, r->rt.bucket, r->rt.key, r->rt.keylen, &rec);
    if (r->rc)
        return;
    hs_meta_obj_free(rec);
    hs_xmlw_t w;
    hs__s3_xml_start(r, &w, "AccessControlPolicy");
    hs__s3_xml_owner(r, &w, "Owner");
    hs__s3_xml_acl(r, &w, false); /* object ACLs are the owner's alone */
    hs_xmlw_close(&w, "AccessControlPolicy");
    r->rc = hs_xmlw_finish(&w);
}

void hs__s3_objmisc_op(s3req_t *r)
{
    xst_t *s = hs_arena_alloc(&r->req->arena, sizeof(*s));
    if (!s) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(s, 0, sizeof(*s));
    r->st = s;
    r->cleanup = x_cleanup;
    switch (r->rt.op) {
    case OP_DELETE_OBJECT:
        hs__s3_submit(r, delete_work, x_done);
        return;
    case OP_DELETE_OBJECTS:
        hs__s3_read_small_body(r, 2u << 20, delete_body);
        return;
    case OP_COPY_OBJECT:
    case OP_UPLOAD_PART_COPY:
        copy_op(r, s);
        return;
    default:
        hs__s3_submit(r, acl_work, x_done);
        return;
    }
}
