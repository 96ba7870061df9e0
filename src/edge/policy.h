/*
 * HTTP caching policy of the edge (RFC 9111, RFC 5861, RFC 8246, RFC 9213)
 * as pure functions: Cache-Control and targeted-field parsing, whether a
 * response may be stored, its freshness lifetime and age, whether a stored
 * response may answer a request, and the secondary (Vary) key of a
 * request. No allocation, no I/O, no clock: callers pass the time in.
 * docs/edge.md lists every directive and how it is handled.
 */
#ifndef HS_EDGE_POLICY_H
#define HS_EDGE_POLICY_H

#include <stddef.h>

#include "edge/policy-t.h"
#include "http/msg-t.h"

/* Largest delta-seconds value (RFC 9111 1.2.2). */
#define HS_CC_DELTA_MAX 2147483648LL

/* Sets every directive to absent. */
void hs_cc_init(hs_cc_t *cc);

/*
 * Parses one Cache-Control field value (RFC 9111 5.2) into cc, adding to
 * what earlier calls put there (so every field line of a message can be
 * fed in turn). Directive names are case-insensitive; arguments may be
 * tokens or quoted strings. A duplicated directive keeps its most
 * restrictive value; an invalid max-age or s-maxage counts as 0 (stale,
 * as RFC 9111 4.2.1 encourages); other invalid arguments and malformed
 * members are skipped. Returns 0, or HS_EBADMSG when something was
 * skipped (cc still holds everything valid).
 */
int hs_cc_parse(hs_str_t value, hs_cc_t *cc);

/*
 * Parses a targeted field value (RFC 9213: a Structured Fields Dictionary,
 * RFC 8941) into cc. Returns 0, or HS_EBADMSG if the value is not a valid
 * dictionary, in which case cc is left untouched and the field must be
 * ignored. Members with a value of the wrong type are ignored; a later
 * duplicate key replaces an earlier one, as RFC 8941 says.
 */
int hs_cc_parse_targeted(hs_str_t value, hs_cc_t *cc);

/* True if the comma-separated field-name list `list` (from a qualified
 * private / no-cache) names `name` (case-insensitive). */
bool hs_cc_lists_field(hs_str_t list, hs_str_t name);

/* Request directives: every Cache-Control line; Pragma: no-cache counts
 * as no-cache when there is no Cache-Control (RFC 9111 5.4). */
void hs_edge_request_cc(const hs_http_msg_t *req, hs_cc_t *cc);

/*
 * Extracts what `resp` says about caching. targets[0..ntargets) is this
 * cache's target list of field names (e.g. "CDN-Cache-Control"), in
 * precedence order: the first one present with a valid, non-empty value
 * replaces Cache-Control and Expires (RFC 9213 2.2).
 */
void hs_edge_resp_info(const hs_http_msg_t *resp, const hs_str_t *targets, unsigned ntargets,
                       hs_edge_resp_info_t *out);

/* True for the statuses RFC 9110 15.1 defines as heuristically cacheable. */
bool hs_edge_status_heuristic(int status);

/*
 * Whether a shared cache may store the response to a `method` request
 * (RFC 9111 3, 3.5): req_cc are the request's directives, req_auth tells
 * whether it carried Authorization.
 */
hs_edge_store_t hs_edge_storable(hs_http_method_t method, const hs_cc_t *req_cc, bool req_auth,
                                 const hs_edge_resp_info_t *ri);

/* Short name of a verdict for logs and metrics ("no_store", ...). */
const char *hs_edge_store_name(hs_edge_store_t v);

/*
 * freshness_lifetime for a shared cache (RFC 9111 4.2.1): s-maxage, else
 * max-age, else Expires - Date (Date defaults to response_time), else the
 * heuristic of 10% of the time since Last-Modified for heuristically
 * cacheable statuses, capped at heuristic_max seconds. *heuristic is set
 * when the heuristic was used.
 */
int64_t hs_edge_freshness_lifetime(const hs_edge_resp_info_t *ri, int64_t response_time,
                                   int64_t heuristic_max, bool *heuristic);

/* corrected_initial_age (RFC 9111 4.2.3) from the Age and Date fields and
 * the times the request was sent and the response received. */
int64_t hs_edge_initial_age(const hs_edge_resp_info_t *ri, int64_t request_time,
                            int64_t response_time);

/* Fills the freshness state of a response about to be stored. */
void hs_edge_meta_init(hs_edge_meta_t *m, const hs_edge_resp_info_t *ri, int64_t request_time,
                       int64_t response_time, int64_t heuristic_max);

/* current_age at wall time `now` (never negative). */
int64_t hs_edge_age(const hs_edge_meta_t *m, int64_t now);

/*
 * Whether a stored response may answer a request with directives req_cc at
 * time now (RFC 9111 4, 5.2.1; RFC 5861 3; RFC 8246). *background is set
 * for USE_STALE under stale-while-revalidate: the caller revalidates in
 * the background. A fresh immutable response is reused even when the
 * request says no-cache or max-age=0 (a browser reload).
 */
hs_edge_use_t hs_edge_reuse(const hs_edge_meta_t *m, const hs_cc_t *req_cc, int64_t now,
                            bool *background);

/* Whether a stale stored response may answer after the origin failed
 * (error or 5xx): stale-if-error from the response or the request
 * (RFC 5861 4), never past must-revalidate / proxy-revalidate / s-maxage. */
bool hs_edge_stale_if_error(const hs_edge_meta_t *m, const hs_cc_t *req_cc, int64_t now);

/*
 * Normalizes the Vary fields of a response into a sorted, deduplicated,
 * lower-case, comma-separated list of field names in out[0..cap).
 * Returns its length (0: no Vary), HS_EINVAL for "Vary: *", HS_E2BIG when
 * it does not fit.
 */
int hs_edge_vary_list(const hs_http_msg_t *resp, char *out, size_t cap);

/*
 * The secondary key of `req` for a normalized Vary list (RFC 9111 4.1):
 * for each listed field, its name and its normalized value (every line
 * combined, list members trimmed, whitespace collapsed; lower-cased and
 * sorted for the Accept-* fields whose values are case-insensitive), with
 * an absent field distinct from an empty one. Returns the length written
 * to out[0..cap) or HS_E2BIG.
 */
int hs_edge_vary_key(hs_str_t vary_list, const hs_http_msg_t *req, char *out, size_t cap);

#endif
