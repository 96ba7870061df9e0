/*
 * A small streaming JSON writer into an hs_buf_t: the writer places commas
 * and colons, escapes strings (control characters, quotes, backslashes;
 * invalid UTF-8 becomes U+FFFD so the output always parses) and writes
 * non-finite numbers as null.
 */
#ifndef HS_LOADGEN_JSONW_H
#define HS_LOADGEN_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf-t.h"

#define HS_LG_JSONW_DEPTH 32

typedef struct hs_lg_jsonw {
    hs_buf_t *out;
    unsigned depth;
    bool first[HS_LG_JSONW_DEPTH]; /* nothing written yet at this level */
    bool after_key;
    int err; /* first error (HS_ENOMEM, HS_EINVAL for misuse), sticky */
} hs_lg_jsonw_t;

/* Starts writing into out (appended to). */
void hs_lg_jsonw_init(hs_lg_jsonw_t *w, hs_buf_t *out);

void hs_lg_jsonw_obj(hs_lg_jsonw_t *w);
void hs_lg_jsonw_obj_end(hs_lg_jsonw_t *w);
void hs_lg_jsonw_arr(hs_lg_jsonw_t *w);
void hs_lg_jsonw_arr_end(hs_lg_jsonw_t *w);
/* A member name inside an object; the next value is its value. */
void hs_lg_jsonw_key(hs_lg_jsonw_t *w, const char *key);
void hs_lg_jsonw_str(hs_lg_jsonw_t *w, const char *s);
void hs_lg_jsonw_strn(hs_lg_jsonw_t *w, const char *s, size_t len);
void hs_lg_jsonw_u64(hs_lg_jsonw_t *w, uint64_t v);
void hs_lg_jsonw_i64(hs_lg_jsonw_t *w, int64_t v);
void hs_lg_jsonw_dbl(hs_lg_jsonw_t *w, double v);
void hs_lg_jsonw_bool(hs_lg_jsonw_t *w, bool v);
void hs_lg_jsonw_null(hs_lg_jsonw_t *w);

/* Returns 0 when every value was written and every container closed,
 * else the first error (HS_ENOMEM, or HS_EINVAL for unbalanced use). */
int hs_lg_jsonw_finish(const hs_lg_jsonw_t *w);

#endif
