/*
 * The S3 error table and the <Error> document (contract in s3err.h).
 * Lookups by code are a binary search: the table is sorted by code, which
 * a unit test checks, so adding an entry out of order fails the build's
 * tests rather than a lookup at run time.
 */
#include "origin/s3err.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "origin/xml.h"

static const hs_s3err_info_t table[HS_S3ERR_COUNT] = {
#define HS_S3ERR_ROW(code, status, msg) [HS_S3ERR_##code] = {#code, status, msg},
    HS_S3ERR_MAP(HS_S3ERR_ROW)
#undef HS_S3ERR_ROW
};

static const hs_s3err_info_t unknown = {"InternalError", 500,
                                        "We encountered an internal error. Please try again."};

const hs_s3err_info_t *hs_s3err_info(hs_s3err_t e)
{
    return (unsigned)e < HS_S3ERR_COUNT ? &table[e] : &unknown;
}

const hs_s3err_info_t *hs_s3err_lookup(const char *code)
{
    size_t lo = 0, hi = HS_S3ERR_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, table[mid].code);
        if (c == 0)
            return &table[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int hs_s3err_status(const char *code)
{
    const hs_s3err_info_t *e = hs_s3err_lookup(code);
    return e ? e->status : unknown.status;
}

/* An element from a string we were handed: escaped, or url-encoded when
 * XML cannot carry it, so the error document is always produced. */
static void elem_any(hs_xmlw_t *w, const char *name, const char *s)
{
    size_t n = strlen(s);
    if (hs_xml_text_ok(s, n))
        hs_xmlw_elem(w, name, s, n);
    else
        hs_xmlw_elem_url(w, name, s, n);
}

int hs_s3err_xml(hs_buf_t *out, const char *code, const char *message, const char *resource,
                 const char *request_id, const char *extra_elems)
{
    const hs_s3err_info_t *e = hs_s3err_lookup(code);
    if (!message)
        message = e ? e->message : unknown.message;
    hs_xmlw_t w;
    hs_xmlw_init(&w, out);
    hs_xmlw_decl(&w);
    hs_xmlw_open(&w, "Error");
    elem_any(&w, "Code", code);
    elem_any(&w, "Message", message);
    if (extra_elems && hs_buf_append(out, extra_elems, strlen(extra_elems)) < 0)
        return HS_ENOMEM;
    if (resource)
        elem_any(&w, "Resource", resource);
    if (request_id)
        elem_any(&w, "RequestId", request_id);
    hs_xmlw_close(&w, "Error");
    return hs_xmlw_finish(&w);
}
