/* Classification and summing of results (errors, X-Cache, counters). */
#ifndef HS_LOADGEN_STATS_H
#define HS_LOADGEN_STATS_H

#include "core/str-t.h"
#include "loadgen/stats-t.h"

/* The error kind of a failed call (a negative HS_E* code from the HTTP
 * client). */
hs_lg_err_t hs_lg_err_of(int hs_err);

/* The error kind of an HTTP status, or HS_LG_ERR_N when it is no error. */
hs_lg_err_t hs_lg_err_of_status(int status);

/* Short key ("connect") and description of an error kind. */
const char *hs_lg_err_key(hs_lg_err_t k);
const char *hs_lg_err_help(hs_lg_err_t k);

/* The class of an X-Cache field value (case-insensitive; "HIT, HIT" from a
 * chain of caches counts by its first element). */
hs_lg_xc_t hs_lg_xc_of(hs_str_t value);
const char *hs_lg_xc_label(hs_lg_xc_t k);

/* dst += src, field by field. */
void hs_lg_counts_add(hs_lg_counts_t *dst, const hs_lg_counts_t *src);

/* Sum of every error kind. */
uint64_t hs_lg_counts_errors(const hs_lg_counts_t *c);

/* Hits over answers that carried an X-Cache field; -1 when none did. */
double hs_lg_counts_hit_ratio(const hs_lg_counts_t *c);

#endif
