/*
 * Internals of the S3 handler shared by its files: the process-wide origin,
 * the per-thread handler, the per-request state, the operation table and
 * the helpers every operation uses to run store calls on the I/O pool and
 * to answer (S3 error XML, request ids).
 */
#ifndef HS_ORIGIN_S3_INT_H
#define HS_ORIGIN_S3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str-t.h"
#include "core/tpool.h"
#include "origin/l2.h"
#include "origin/meta.h"
#include "origin/origin.h"
#include "origin/sigv4.h"
#include "origin/xml.h"

struct hs_origin {
    char *data, *region, *domain;
    int64_t max_skew_s;
    uint64_t max_object;
    uint64_t cache_object_max;
    char access_key[129], secret_key[129];
    hs_meta_t *meta;
    hs_objects_t *objs;
    hs_obj_bg_t *bg;
    hs_l2_t *l2; /* NULL when the cache is off */
};

typedef enum s3op {
    OP_NONE = 0,
    OP_LIST_BUCKETS,
    OP_CREATE_BUCKET,
    OP_DELETE_BUCKET,
    OP_HEAD_BUCKET,
    OP_GET_LOCATION,
    OP_GET_VERSIONING,
    OP_GET_BUCKET_ACL,
    OP_PUT_BUCKET_ACL,
    OP_GET_BUCKET_POLICY,
    OP_LIST_OBJECTS,
    OP_LIST_OBJECTS_V2,
    OP_LIST_VERSIONS,
    OP_LIST_UPLOADS,
    OP_DELETE_OBJECTS,
    OP_GET_OBJECT,
    OP_HEAD_OBJECT,
    OP_PUT_OBJECT,
    OP_COPY_OBJECT,
    OP_DELETE_OBJECT,
    OP_GET_OBJECT_ACL,
    OP_CREATE_MPU,
    OP_UPLOAD_PART,
    OP_UPLOAD_PART_COPY,
    OP_COMPLETE_MPU,
    OP_ABORT_MPU,
    OP_LIST_PARTS,
    OP__COUNT,
} s3op_t;

/* Why routing refused a request: an S3 error code and message. */
typedef struct s3_route_err {
    const char *code;
    const char *msg;
} s3_route_err_t;

typedef struct s3param {
    char *name, *value; /* percent-decoded, NUL-terminated */
    size_t value_len;
    bool has_value; /* "name=" or "name=v" (not just "name") */
} s3param_t;

/* What routing found: the operation and its target. */
typedef struct s3route {
    s3op_t op;
    char *bucket; /* NULL: service level */
    char *key;    /* NULL: bucket level; decoded, may hold any byte but NUL */
    size_t keylen;
    s3param_t *params;
    unsigned nparams;
} s3route_t;

typedef struct s3h {
    hs_http_handler_t base;
    hs_origin_t *o;
    unsigned thread; /* for request ids */
    uint64_t seq;
} s3h_t;

typedef struct s3req s3req_t;
typedef void (*s3_fn)(s3req_t *r);

/* Request payload decoding (body.c): aws-chunked framing with chunk
 * signatures, and the x-amz-content-sha256 check of signed payloads. */
typedef struct s3body {
    hs_sigv4_payload_t mode;
    struct hs_awschunked *ac; /* streaming modes */
    struct evp_md_ctx_st *sha; /* signed payload: running SHA-256 */
    uint8_t want[32];
    uint64_t total;       /* payload bytes delivered */
    const char *ecode, *emsg; /* the S3 error when a call fails */
} s3body_t;
typedef int (*s3_sink_fn)(void *arg, const char *data, size_t len);

typedef struct s3_small {
    s3body_t body;
    size_t max;
    s3_fn next;
    bool inited, failed;
} s3_small_t;

struct s3req {
    hs_tpool_job_t job;
    s3_fn work, done; /* the job in flight: pool thread, then loop */
    s3h_t *h;
    hs_origin_t *o;
    hs_http_req_t *req;
    s3route_t rt;
    hs_sigv4_auth_t auth;
    char reqid[24];
    bool busy;    /* a pool job is in flight (it owns r until done runs) */
    bool aborted; /* the client went away */
    bool ended;
    bool started; /* the response head is out */
    int hold;     /* inside our own call into the engine: see hs__s3_hold */
    bool end_pending; /* ended while held: finish at the last unhold */
    /* An error a pool job found, answered by s3_reply_err on the loop. */
    const char *ecode, *emsg;
    int rc; /* the job's HS_E* result */
    hs_buf_t out; /* response body a job built (XML) */
    void *st;     /* the operation's own state */
    void (*cleanup)(s3req_t *r); /* frees st (loop thread, once) */
    void (*on_abort)(s3req_t *r); /* the operation's, when it streams */
    void (*on_drain)(s3req_t *r);
    s3_small_t small;
};

/* ---- route.c ---- */
/* Finds bucket, key, sub-resources and the operation of a request. Path
 * and query are percent-decoded into the request arena. Returns 0, or an
 * error with *err filled (InvalidBucketName, InvalidArgument,
 * MethodNotAllowed, NotImplemented, KeyTooLongError, InvalidURI). */
int hs__s3_route(const hs_http_msg_t *m, const char *domain, hs_arena_t *arena, s3route_t *rt,
                 s3_route_err_t *err);
/* The value of query parameter `name` (NULL if absent). */
const char *hs__s3_param(const s3route_t *rt, const char *name);
bool hs__s3_has_param(const s3route_t *rt, const char *name);
/* Operation name for logs and metrics ("GetObject"). */
const char *hs__s3_op_name(s3op_t op);
/* Percent-decodes s[0..n) into out (n+1 bytes); returns the length or
 * HS_EINVAL (bad escape, NUL byte). plus_space: '+' means ' '. */
long hs__s3_pct_decode(const char *s, size_t n, char *out, bool plus_space);

/* ---- s3.c: helpers for every operation ---- */
/* Runs work on the I/O pool, then done on the loop. An aborted request
 * still gets done (it must end the response). On a full pool answers
 * SlowDown, ends the request (r is gone) and returns false. */
bool hs__s3_submit(s3req_t *r, s3_fn work, s3_fn done);
/* Answers an S3 error (XML, request id) and ends the request. msg NULL:
 * the code's default message. */
void hs__s3_reply_err(s3req_t *r, const char *code, const char *msg);
/* The common start of a job's done: ends an aborted request, answers a
 * failed job (r->ecode/emsg, else from r->rc). Returns true when r was
 * answered (it is gone), false when the job succeeded. */
bool hs__s3_job_answered(s3req_t *r);
/* <AccessControlList> with the owner's FULL_CONTROL grant, and AllUsers
 * READ when public_read. */
void hs__s3_xml_acl(const s3req_t *r, hs_xmlw_t *w, bool public_read);
/* Maps a store error to an S3 error and answers it. */
void hs__s3_reply_rc(s3req_t *r, int rc);
/* Answers `status` with r->out as an XML body and ends the request. */
void hs__s3_reply_xml(s3req_t *r, int status);
/* Starts a response with the headers every S3 answer carries. */
void hs__s3_start(s3req_t *r, int status, int64_t content_length);
/* Ends the response (once) and frees the request state (r is gone after,
 * unless held: then at the last hs__s3_unhold). */
void hs__s3_end(s3req_t *r);
/* Brackets our calls into the HTTP engine that may flush, read or close
 * (and so call on_abort, or the body callback, re-entrantly): while held,
 * an abort only marks r->aborted and an end is deferred, so r stays valid
 * until the matching unhold. hs__s3_unhold returns false when r is gone
 * (ended) and the caller must not touch it. */
static inline void hs__s3_hold(s3req_t *r)
{
    r->hold++;
}
bool hs__s3_unhold(s3req_t *r);
/* Reads the whole (small) request body into r->out, then calls next on
 * the loop; answers MaxMessageLengthExceeded past max, IncompleteBody or
 * the auth error on bad bodies. Verifies the payload hash when signed. */
void hs__s3_read_small_body(s3req_t *r, size_t max, s3_fn next);
/* The value of request header `name` (HS_STR_NULL if absent). */
hs_str_t hs__s3_header(const s3req_t *r, const char *name);
/* Starts an S3 answer document in r->out: declaration and <root xmlns>. */
void hs__s3_xml_start(s3req_t *r, hs_xmlw_t *w, const char *root);
/* <elem><ID>access key</ID><DisplayName>hyperscale</DisplayName></elem> */
void hs__s3_xml_owner(const s3req_t *r, hs_xmlw_t *w, const char *elem);
/* Current time in ns (CLOCK_REALTIME). */
uint64_t hs__s3_now_ns(void);
/* ISO-8601 with milliseconds, as S3 lists print: 2024-01-02T03:04:05.000Z */
void hs__s3_iso8601(uint64_t ns, char out[32]);
/* A new object-store name for bytes of an object or part: "o/<hex>". */
void hs__s3_new_objname(char out[40]);
/* Deletes object-store objects dropped by a metadata change (pool thread). */
void hs__s3_drop(hs_origin_t *o, hs_meta_dropped_t *d);
/* L2 key of an object's entry: "o" bucket NUL key. Returns the length. */
size_t hs__s3_l2_key(const char *bucket, const char *key, size_t keylen, char *out, size_t cap);
/* Cache-Control for an answer from a bucket that is not public-read:
 * "private" plus cc's directives minus public and s-maxage. Writes out
 * (NUL-terminated, truncated to cap) and returns the length. */
size_t hs__s3_private_cc(hs_str_t cc, char *out, size_t cap);
/* Forgets an object in L2 (after a change). */
void hs__s3_l2_forget(hs_origin_t *o, const char *bucket, const char *key, size_t keylen);

/* ---- the operations (one entry point each, on the loop) ---- */
void hs__s3_bucket_op(s3req_t *r);   /* bucket.c: bucket-level calls */
void hs__s3_list_op(s3req_t *r);     /* list.c: ListObjects(V2), versions, uploads */
void hs__s3_get_op(s3req_t *r);      /* obj_get.c: GetObject, HeadObject */
void hs__s3_put_op(s3req_t *r);      /* obj_put.c: PutObject, UploadPart */
void hs__s3_objmisc_op(s3req_t *r);  /* obj_misc.c: delete(s), copy, object acl */
void hs__s3_mpu_op(s3req_t *r);      /* mpu.c: create, complete, abort, list parts */

/* obj_put.c: the object headers and x-amz-meta-* of a PUT, Copy (REPLACE)
 * or CreateMultipartUpload into rec (strings in the request arena), and
 * the tier its storage class asks for. Returns NULL, or the S3 error code
 * with *msg. */
const char *hs__s3_meta_from_headers(s3req_t *r, hs_meta_obj_t *rec, hs_tier_t *tier,
                                     const char **msg);

/* ---- body.c ---- */
/* Sets b up for a request authenticated as auth. Returns 0 or an error
 * with b->ecode/emsg. */
int hs__s3_body_init(s3body_t *b, const hs_sigv4_auth_t *auth);
/* Decodes wire bytes in[0..len), passing payload runs to sink (whose error
 * is returned). Errors fill b->ecode/emsg. */
int hs__s3_body_feed(s3body_t *b, const char *in, size_t len, s3_sink_fn sink, void *arg);
/* At the end of the wire body: the framing must be complete and the
 * payload hash must match. Returns 0 or an error with b->ecode/emsg. */
int hs__s3_body_end(s3body_t *b);
void hs__s3_body_free(s3body_t *b);
/* A sink appending to the hs_buf_t at arg. */
int hs__s3_body_to_buf(void *arg, const char *data, size_t len);
/* Registers the origin's metrics (once, before serving). */
void hs__s3_metrics_init(void);

/* ---- creds.c ---- */
/* Loads or creates the credentials (see hs_origin_open). */
int hs__s3_creds_load(hs_origin_t *o, const char *ak, const char *sk, bool *created);

#endif
