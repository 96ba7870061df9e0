/*
 * Listings: ListObjectsV2, ListObjects (V1), ListObjectVersions (buckets
 * are unversioned: every current object is its own only version, id
 * "null") and ListMultipartUploads. Each is one range scan of the
 * metadata store on the I/O pool, written straight into the XML answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "origin/s3-int.h"
#include "origin/xml.h"

typedef struct lst {
    hs_xmlw_t w;
    bool url; /* encoding-type=url */
    bool owner;
    unsigned count;
    hs_meta_list_opts_t lo;
    hs_meta_mpu_list_opts_t mo;
    const char *token; /* V2 continuation-token as given */
    char *after;       /* decoded start point */
    size_t after_len;
    const char *start_after;
    const char *version_marker;
} lst_t;

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Continuation tokens are the next marker in base64url: opaque to clients
 * and safe in XML and URLs whatever bytes the key holds. */
static size_t token_encode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = b64u[v >> 18 & 63];
        out[o++] = b64u[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = b64u[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = b64u[v & 63];
    }
    out[o] = 0;
    return o;
}

static long token_decode(const char *in, char *out)
{
    size_t n = strlen(in), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(b64u, in[i], 64);
        if (!p || !in[i])
            return HS_EINVAL;
        acc = acc << 6 | (uint32_t)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(acc >> bits & 0xff);
        }
    }
    out[o] = 0;
    return (long)o;
}

/* Writes a key-like value, url-encoded when asked. HS_EINVAL: XML cannot
 * carry it (the client must ask for encoding-type=url). */
static int kv(lst_t *s, const char *name, const char *v, size_t len)
{
    if (s->url)
        return hs_xmlw_elem_url(&s->w, name, v, len);
    return hs_xmlw_elem(&s->w, name, v, len);
}

typedef struct cbarg {
    s3req_t *r;
    lst_t *s;
} cbarg_t;

static int on_object(void *arg, const char *key, size_t keylen, const hs_meta_obj_t *rec)
{
    cbarg_t *a = arg;
    lst_t *s = a->s;
    bool versions = a->r->rt.op == OP_LIST_VERSIONS;
    const char *el = versions ? "Version" : "Contents";
    char when[32];
    hs__s3_iso8601((uint64_t)rec->mtime_ns, when);
    hs_xmlw_open(&s->w, el);
    int rc = kv(s, "Key", key, keylen);
    if (rc)
        return rc;
    if (versions) {
        hs_xmlw_elem_str(&s->w, "VersionId", "null");
        hs_xmlw_elem_str(&s->w, "IsLatest", "true");
    }
    hs_xmlw_elem_str(&s->w, "LastModified", when);
    hs_xmlw_elemf(&s->w, "ETag", "\"%s\"", rec->etag);
    hs_xmlw_elemf(&s->w, "Size", "%llu", (unsigned long long)rec->size);
    hs_xmlw_elem_str(&s->w, "StorageClass",
                     rec->storage_class && rec->storage_class[0] ? rec->storage_class : "STANDARD");
    if (s->owner || versions || a->r->rt.op == OP_LIST_OBJECTS)
        hs__s3_xml_owner(a->r, &s->w, "Owner");
    s->count++;
    return hs_xmlw_close(&s->w, el);
}

static int on_prefix(void *arg, const char *p, size_t len)
{
    cbarg_t *a = arg;
    lst_t *s = a->s;
    hs_xmlw_open(&s->w, "CommonPrefixes");
    int rc = kv(s, "Prefix", p, len);
    if (rc)
        return rc;
    s->count++;
    return hs_xmlw_close(&s->w, "CommonPrefixes");
}

static void list_objects_work(s3req_t *r)
{
    lst_t *s = r->st;
    hs_origin_t *o = r->o;
    const char *root = r->rt.op == OP_LIST_VERSIONS ? "ListVersionsResult" : "ListBucketResult";
    hs__s3_xml_start(r, &s->w, root);
    hs_xmlw_elem_str(&s->w, "Name", r->rt.bucket);
    kv(s, "Prefix", s->lo.prefix ? s->lo.prefix : "", s->lo.prefix_len);
    if (s->lo.delimiter)
        kv(s, "Delimiter", s->lo.delimiter, s->lo.delim_len);
    hs_xmlw_elemf(&s->w, "MaxKeys", "%u", s->lo.max_keys);
    if (s->url)
        hs_xmlw_elem_str(&s->w, "EncodingType", "url");
    if (r->rt.op == OP_LIST_OBJECTS) {
        kv(s, "Marker", s->after ? s->after : "", s->after_len);
    } else if (r->rt.op == OP_LIST_VERSIONS) {
        kv(s, "KeyMarker", s->after ? s->after : "", s->after_len);
        hs_xmlw_elem_str(&s->w, "VersionIdMarker", s->version_marker ? s->version_marker : "");
    } else {
        if (s->token)
            hs_xmlw_elem_str(&s->w, "ContinuationToken", s->token);
        if (s->start_after)
            kv(s, "StartAfter", s->start_after, strlen(s->start_after));
    }
    /* The body is written after the summary fields, which S3 clients do
     * not depend on the order of; IsTruncated and the markers follow. */
    bool truncated = false;
    char *next = malloc(HS_META_KEY_MAX + 2);
    size_t next_len = 0;
    if (!next) {
        r->rc = HS_ENOMEM;
        return;
    }
    cbarg_t a = {r, s};
    hs_meta_list_cb_t cb = {on_object, on_prefix, &a};
    r->rc = hs_meta_obj_list(o->meta, r->rt.bucket, &s->lo, &cb, &truncated, next,
                             HS_META_KEY_MAX + 2, &next_len);
    if (r->rc == HS_EINVAL) {
        r->ecode = "InvalidArgument";
        r->emsg = "a key in this listing cannot be carried in XML 1.0: use encoding-type=url";
    }
    if (!r->rc) {
        hs_xmlw_elem_str(&s->w, "IsTruncated", truncated ? "true" : "false");
        if (r->rt.op == OP_LIST_OBJECTS_V2) {
            hs_xmlw_elemf(&s->w, "KeyCount", "%u", s->count);
            if (truncated && next_len) {
                char *tok = malloc(next_len * 4 / 3 + 8);
                if (tok) {
                    token_encode(next, next_len, tok);
                    hs_xmlw_elem_str(&s->w, "NextContinuationToken", tok);
                    free(tok);
                }
            }
        } else if (truncated && next_len) {
            kv(s, r->rt.op == OP_LIST_VERSIONS ? "NextKeyMarker" : "NextMarker", next, next_len);
            if (r->rt.op == OP_LIST_VERSIONS)
                hs_xmlw_elem_str(&s->w, "NextVersionIdMarker", "null");
        }
        hs_xmlw_close(&s->w, root);
        r->rc = hs_xmlw_finish(&s->w);
    }
    free(next);
}

/* ---- ListMultipartUploads ---- */

static int on_upload(void *arg, const hs_meta_mpu_t *u)
{
    cbarg_t *a = arg;
    lst_t *s = a->s;
    char when[32];
    hs__s3_iso8601((uint64_t)u->initiated_ns, when);
    hs_xmlw_open(&s->w, "Upload");
    int rc = kv(s, "Key", u->key, u->keylen);
    if (rc)
        return rc;
    hs_xmlw_elem_str(&s->w, "UploadId", u->upload_id);
    hs__s3_xml_owner(a->r, &s->w, "Initiator");
    hs__s3_xml_owner(a->r, &s->w, "Owner");
    hs_xmlw_elem_str(&s->w, "StorageClass", u->tmpl.storage_class && u->tmpl.storage_class[0]
                                                 ? u->tmpl.storage_class
                                                 : "STANDARD");
    hs_xmlw_elem_str(&s->w, "Initiated", when);
    return hs_xmlw_close(&s->w, "Upload");
}

static void list_uploads_work(s3req_t *r)
{
    lst_t *s = r->st;
    hs__s3_xml_start(r, &s->w, "ListMultipartUploadsResult");
    hs_xmlw_elem_str(&s->w, "Bucket", r->rt.bucket);
    kv(s, "KeyMarker", s->mo.key_marker ? s->mo.key_marker : "", s->mo.key_marker_len);
    hs_xmlw_elem_str(&s->w, "UploadIdMarker", s->mo.upload_id_marker ? s->mo.upload_id_marker : "");
    kv(s, "Prefix", s->mo.prefix ? s->mo.prefix : "", s->mo.prefix_len);
    if (s->mo.delimiter)
        kv(s, "Delimiter", s->mo.delimiter, s->mo.delim_len);
    hs_xmlw_elemf(&s->w, "MaxUploads", "%u", s->mo.max_uploads);
    if (s->url)
        hs_xmlw_elem_str(&s->w, "EncodingType", "url");
    bool truncated = false;
    hs_meta_mpu_list_next_t *next = calloc(1, sizeof(*next));
    if (!next) {
        r->rc = HS_ENOMEM;
        return;
    }
    cbarg_t a = {r, s};
    hs_meta_mpu_list_cb_t cb = {on_upload, on_prefix, &a};
    r->rc = hs_meta_mpu_list(r->o->meta, r->rt.bucket, &s->mo, &cb, &truncated, next);
    if (r->rc == HS_EINVAL) {
        r->ecode = "InvalidArgument";
        r->emsg = "a key in this listing cannot be carried in XML 1.0: use encoding-type=url";
    }
    if (!r->rc) {
        hs_xmlw_elem_str(&s->w, "IsTruncated", truncated ? "true" : "false");
        if (truncated) {
            kv(s, "NextKeyMarker", next->key, next->keylen);
            hs_xmlw_elem_str(&s->w, "NextUploadIdMarker", next->upload_id);
        }
        hs_xmlw_close(&s->w, "ListMultipartUploadsResult");
        r->rc = hs_xmlw_finish(&s->w);
    }
    free(next);
}

static void list_done(s3req_t *r)
{
    if (r->rc == HS_ENOENT && !r->ecode)
        r->rc = HS_ENOBUCKET; /* a listing's only missing thing is the bucket */
    if (hs__s3_job_answered(r))
        return;
    hs__s3_reply_xml(r, 200);
}

static int max_param(s3req_t *r, const char *name, unsigned *out)
{
    const char *v = hs__s3_param(&r->rt, name);
    *out = 1000;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0)
        return HS_EINVAL;
    *out = n > 1000 ? 1000 : (unsigned)n;
    return 0;
}

void hs__s3_list_op(s3req_t *r)
{
    lst_t *s = hs_arena_alloc(&r->req->arena, sizeof(*s));
    if (!s) {
        hs__s3_reply_err(r, "InternalError", "out of memory");
        return;
    }
    memset(s, 0, sizeof(*s));
    r->st = s;
    const s3route_t *rt = &r->rt;
    const char *enc = hs__s3_param(rt, "encoding-type");
    if (enc) {
        if (strcmp(enc, "url")) {
            hs__s3_reply_err(r, "InvalidArgument", "encoding-type must be url");
            return;
        }
        s->url = true;
    }
    const char *prefix = hs__s3_param(rt, "prefix");
    const char *delim = hs__s3_param(rt, "delimiter");
    if (delim && !delim[0])
        delim = NULL;
    if (r->rt.op == OP_LIST_UPLOADS) {
        if (max_param(r, "max-uploads", &s->mo.max_uploads)) {
            hs__s3_reply_err(r, "InvalidArgument", "max-uploads must be a non-negative integer");
            return;
        }
        s->mo.prefix = prefix;
        s->mo.prefix_len = prefix ? strlen(prefix) : 0;
        s->mo.delimiter = delim;
        s->mo.delim_len = delim ? strlen(delim) : 0;
        s->mo.key_marker = hs__s3_param(rt, "key-marker");
        s->mo.key_marker_len = s->mo.key_marker ? strlen(s->mo.key_marker) : 0;
        s->mo.upload_id_marker = hs__s3_param(rt, "upload-id-marker");
        hs__s3_submit(r, list_uploads_work, list_done);
        return;
    }
    if (max_param(r, "max-keys", &s->lo.max_keys)) {
        hs__s3_reply_err(r, "InvalidArgument", "max-keys must be a non-negative integer");
        return;
    }
    s->lo.prefix = prefix;
    s->lo.prefix_len = prefix ? strlen(prefix) : 0;
    s->lo.delimiter = delim;
    s->lo.delim_len = delim ? strlen(delim) : 0;
    s->owner = hs__s3_param(rt, "fetch-owner") && !strcmp(hs__s3_param(rt, "fetch-owner"), "true");
    const char *after = NULL;
    if (r->rt.op == OP_LIST_OBJECTS_V2) {
        s->token = hs__s3_param(rt, "continuation-token");
        s->start_after = hs__s3_param(rt, "start-after");
        if (s->token) {
            s->after = hs_arena_alloc(&r->req->arena, strlen(s->token) + 1);
            long n = s->after ? token_decode(s->token, s->after) : HS_ENOMEM;
            if (n < 0) {
                hs__s3_reply_err(r, "InvalidArgument", "the continuation token is not valid");
                return;
            }
            s->after_len = (size_t)n;
        } else {
            after = s->start_after;
        }
    } else if (r->rt.op == OP_LIST_VERSIONS) {
        after = hs__s3_param(rt, "key-marker");
        s->version_marker = hs__s3_param(rt, "version-id-marker");
    } else {
        after = hs__s3_param(rt, "marker");
    }
    if (after) {
        s->after = (char *)after;
        s->after_len = strlen(after);
    }
    s->lo.start_after = s->after;
    s->lo.start_after_len = s->after_len;
    hs__s3_submit(r, list_objects_work, list_done);
}
