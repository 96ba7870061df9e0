/*
 * S3 request routing: which bucket and key a request names (virtual-host
 * style BUCKET.<domain> first, else path style /BUCKET/KEY), its query
 * sub-resources, and from method + sub-resources the operation. Pure over
 * the parsed message; everything decoded lands in the request arena.
 */
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/parse.h"
#include "origin/s3-int.h"

#define KEY_MAX 1024
#define MAX_PARAMS 64

static const char *const op_names[OP__COUNT] = {
    [OP_NONE] = "None",
    [OP_LIST_BUCKETS] = "ListBuckets",
    [OP_CREATE_BUCKET] = "CreateBucket",
    [OP_DELETE_BUCKET] = "DeleteBucket",
    [OP_HEAD_BUCKET] = "HeadBucket",
    [OP_GET_LOCATION] = "GetBucketLocation",
    [OP_GET_VERSIONING] = "GetBucketVersioning",
    [OP_GET_BUCKET_ACL] = "GetBucketAcl",
    [OP_PUT_BUCKET_ACL] = "PutBucketAcl",
    [OP_GET_BUCKET_POLICY] = "GetBucketPolicy",
    [OP_LIST_OBJECTS] = "ListObjects",
    [OP_LIST_OBJECTS_V2] = "ListObjectsV2",
    [OP_LIST_VERSIONS] = "ListObjectVersions",
    [OP_LIST_UPLOADS] = "ListMultipartUploads",
    [OP_DELETE_OBJECTS] = "DeleteObjects",
    [OP_GET_OBJECT] = "GetObject",
    [OP_HEAD_OBJECT] = "HeadObject",
    [OP_PUT_OBJECT] = "PutObject",
    [OP_COPY_OBJECT] = "CopyObject",
    [OP_DELETE_OBJECT] = "DeleteObject",
    [OP_GET_OBJECT_ACL] = "GetObjectAcl",
    [OP_CREATE_MPU] = "CreateMultipartUpload",
    [OP_UPLOAD_PART] = "UploadPart",
    [OP_UPLOAD_PART_COPY] = "UploadPartCopy",
    [OP_COMPLETE_MPU] = "CompleteMultipartUpload",
    [OP_ABORT_MPU] = "AbortMultipartUpload",
    [OP_LIST_PARTS] = "ListParts",
};

const char *hs__s3_op_name(s3op_t op)
{
    return op < OP__COUNT && op_names[op] ? op_names[op] : "Unknown";
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long hs__s3_pct_decode(const char *s, size_t n, char *out, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return HS_EINVAL;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return HS_EINVAL;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (c == 0)
            return HS_EINVAL; /* keys are C strings in the stores */
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (long)o;
}

const char *hs__s3_param(const s3route_t *rt, const char *name)
{
    for (unsigned i = 0; i < rt->nparams; i++)
        if (!strcmp(rt->params[i].name, name))
            return rt->params[i].value;
    return NULL;
}

bool hs__s3_has_param(const s3route_t *rt, const char *name)
{
    return hs__s3_param(rt, name) != NULL;
}

/* '+' stays '+' (as SigV4's canonical query reads it): S3 clients send a
 * space as %20, so a '+' they send means a plus. */
static int parse_query(hs_str_t q, hs_arena_t *a, s3route_t *rt, s3_route_err_t *err)
{
    if (!q.len)
        return 0; /* most GETs: nothing to parse or allocate */
    size_t cap = 1;
    for (size_t i = 0; i < q.len && cap <= MAX_PARAMS; i++)
        cap += q.base[i] == '&';
    rt->params = hs_arena_alloc(a, sizeof(s3param_t) * (cap < MAX_PARAMS ? cap : MAX_PARAMS));
    if (!rt->params)
        return HS_ENOMEM;
    size_t i = 0;
    while (i < q.len) {
        size_t end = i;
        while (end < q.len && q.base[end] != '&')
            end++;
        if (end > i) {
            if (rt->nparams == MAX_PARAMS) {
                *err = (s3_route_err_t){"InvalidArgument", "too many query parameters"};
                return HS_EINVAL;
            }
            const char *eq = memchr(q.base + i, '=', end - i);
            size_t nlen = eq ? (size_t)(eq - (q.base + i)) : end - i;
            size_t vlen = eq ? (size_t)(q.base + end - eq - 1) : 0;
            s3param_t *p = &rt->params[rt->nparams];
            p->name = hs_arena_alloc(a, nlen + 1);
            p->value = hs_arena_alloc(a, vlen + 1);
            if (!p->name || !p->value)
                return HS_ENOMEM;
            long nl = hs__s3_pct_decode(q.base + i, nlen, p->name, false);
            long vl = eq ? hs__s3_pct_decode(eq + 1, vlen, p->value, false) : 0;
            if (nl < 0 || vl < 0) {
                *err = (s3_route_err_t){"InvalidArgument", "bad percent-encoding in the query"};
                return HS_EINVAL;
            }
            if (!eq)
                p->value[0] = 0;
            p->value_len = (size_t)vl;
            p->has_value = eq != NULL;
            rt->nparams++;
        }
        i = end + 1;
    }
    return 0;
}

/* Sub-resources S3 has that we answer NotImplemented (rather than treating
 * the request as a plain GET/PUT of the bucket or object). */
static bool unsupported_sub(const s3route_t *rt)
{
    static const char *const subs[] = {
        "lifecycle",  "cors",          "tagging",         "website",     "logging",
        "notification", "replication", "encryption",      "object-lock", "ownershipControls",
        "publicAccessBlock", "requestPayment", "accelerate", "analytics", "metrics",
        "inventory",  "intelligent-tiering", "legal-hold", "retention",   "torrent",
        "restore",    "select",        "attributes",      "policyStatus", NULL,
    };
    for (const char *const *s = subs; *s; s++)
        if (hs__s3_has_param(rt, *s))
            return true;
    return false;
}

static s3op_t bucket_op(hs_http_method_t m, const s3route_t *rt)
{
#define HAS(n) hs__s3_has_param(rt, n)
    switch (m) {
    case HS_HTTP_GET:
        if (HAS("location"))
            return OP_GET_LOCATION;
        if (HAS("versioning"))
            return OP_GET_VERSIONING;
        if (HAS("acl"))
            return OP_GET_BUCKET_ACL;
        if (HAS("policy"))
            return OP_GET_BUCKET_POLICY;
        if (HAS("uploads"))
            return OP_LIST_UPLOADS;
        if (HAS("versions"))
            return OP_LIST_VERSIONS;
        if (unsupported_sub(rt))
            return OP_NONE;
        {
            const char *lt = hs__s3_param(rt, "list-type");
            if (lt && !strcmp(lt, "2"))
                return OP_LIST_OBJECTS_V2;
        }
        return OP_LIST_OBJECTS;
    case HS_HTTP_HEAD:
        return OP_HEAD_BUCKET;
    case HS_HTTP_PUT:
        if (HAS("acl"))
            return OP_PUT_BUCKET_ACL;
        if (unsupported_sub(rt) || HAS("versioning") || HAS("policy"))
            return OP_NONE;
        return OP_CREATE_BUCKET;
    case HS_HTTP_DELETE:
        if (unsupported_sub(rt) || HAS("policy"))
            return OP_NONE;
        return OP_DELETE_BUCKET;
    case HS_HTTP_POST:
        if (HAS("delete"))
            return OP_DELETE_OBJECTS;
        return OP_NONE;
    default:
        return OP_NONE;
    }
#undef HAS
}

static s3op_t object_op(const hs_http_msg_t *msg, const s3route_t *rt)
{
    bool upload = hs__s3_has_param(rt, "uploadId");
    bool copy = hs_http_find_header(msg, "x-amz-copy-source", 17, 0) >= 0;
    switch (msg->method) {
    case HS_HTTP_GET:
        if (hs__s3_has_param(rt, "acl"))
            return OP_GET_OBJECT_ACL;
        if (upload)
            return OP_LIST_PARTS;
        if (unsupported_sub(rt))
            return OP_NONE;
        return OP_GET_OBJECT;
    case HS_HTTP_HEAD:
        return OP_HEAD_OBJECT;
    case HS_HTTP_PUT:
        if (upload || hs__s3_has_param(rt, "partNumber"))
            return copy ? OP_UPLOAD_PART_COPY : OP_UPLOAD_PART;
        if (unsupported_sub(rt) || hs__s3_has_param(rt, "acl"))
            return OP_NONE;
        return copy ? OP_COPY_OBJECT : OP_PUT_OBJECT;
    case HS_HTTP_DELETE:
        if (upload)
            return OP_ABORT_MPU;
        if (unsupported_sub(rt))
            return OP_NONE;
        return OP_DELETE_OBJECT;
    case HS_HTTP_POST:
        if (hs__s3_has_param(rt, "uploads"))
            return OP_CREATE_MPU;
        if (upload)
            return OP_COMPLETE_MPU;
        return OP_NONE;
    default:
        return OP_NONE;
    }
}

/* The bucket of a virtual-host-style request: host (port removed) ends in
 * "." domain. Returns the bucket's length, 0 if not virtual-host style. */
static size_t vhost_bucket(hs_str_t host, const char *domain)
{
    if (!domain || !domain[0] || !host.len)
        return 0;
    size_t hl = host.len;
    if (host.base[0] == '[')
        return 0; /* IPv6 literal */
    for (size_t i = hl; i-- > 0;)
        if (host.base[i] == ':') {
            hl = i;
            break;
        }
    size_t dl = strlen(domain);
    if (hl <= dl + 1 || host.base[hl - dl - 1] != '.' ||
        strncasecmp(host.base + hl - dl, domain, dl) != 0)
        return 0;
    return hl - dl - 1;
}

int hs__s3_route(const hs_http_msg_t *m, const char *domain, hs_arena_t *a, s3route_t *rt,
                 s3_route_err_t *err)
{
    *rt = (s3route_t){0};
    int rc = parse_query(m->query, a, rt, err);
    if (rc)
        return rc;
    hs_str_t path = m->path;
    if (!path.len || path.base[0] != '/') {
        *err = (s3_route_err_t){"InvalidURI", "the request target must be an absolute path"};
        return HS_EINVAL;
    }
    char *dec = hs_arena_alloc(a, path.len + 1);
    if (!dec)
        return HS_ENOMEM;
    long dl = hs__s3_pct_decode(path.base, path.len, dec, false);
    if (dl < 0) {
        *err = (s3_route_err_t){"InvalidURI", "bad percent-encoding in the path"};
        return HS_EINVAL;
    }
    const char *rest = dec + 1; /* after the leading '/' */
    size_t vb = vhost_bucket(m->host, domain);
    if (vb) {
        rt->bucket = hs_arena_strndup(a, m->host.base, vb);
    } else if (*rest) {
        const char *slash = strchr(rest, '/');
        size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);
        rt->bucket = hs_arena_strndup(a, rest, bl);
        rest = slash ? slash + 1 : rest + bl;
    }
    if (vb || rt->bucket) {
        if (!rt->bucket)
            return HS_ENOMEM;
        if (!rt->bucket[0] || strlen(rt->bucket) > 255) {
            *err = (s3_route_err_t){"InvalidBucketName", "the bucket name is empty or too long"};
            return HS_EINVAL;
        }
    }
    size_t kl = strlen(rest);
    if (rt->bucket && kl) {
        if (kl > KEY_MAX) {
            *err = (s3_route_err_t){"KeyTooLongError", NULL};
            return HS_EINVAL;
        }
        rt->key = (char *)rest;
        rt->keylen = kl;
    }
    if (!rt->bucket)
        rt->op = m->method == HS_HTTP_GET ? OP_LIST_BUCKETS : OP_NONE;
    else if (!rt->key)
        rt->op = bucket_op(m->method, rt);
    else
        rt->op = object_op(m, rt);
    if (rt->op == OP_NONE) {
        bool known = m->method == HS_HTTP_GET || m->method == HS_HTTP_HEAD ||
                     m->method == HS_HTTP_PUT || m->method == HS_HTTP_DELETE ||
                     m->method == HS_HTTP_POST;
        *err = known ? (s3_route_err_t){"NotImplemented",
                                        "this operation or sub-resource is not implemented"}
                     : (s3_route_err_t){"MethodNotAllowed", NULL};
        return HS_ENOTSUP;
    }
    return 0;
}
