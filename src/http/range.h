/*
 * Parsers for the request fields a file or cache answer depends on: Range
 * (RFC 9110 14.2), HTTP-date (RFC 9110 5.6.7) and entity-tag lists
 * (If-Match / If-None-Match, RFC 9110 8.8.3). Pure functions over slices.
 */
#ifndef HS_HTTP_RANGE_H
#define HS_HTTP_RANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/str-t.h"

#define HS_HTTP_MAX_RANGES 32

typedef struct hs_http_range {
    uint64_t first, last; /* inclusive, resolved against the representation size */
} hs_http_range_t;

/*
 * Parses a Range value for a representation of `size` bytes into out[]
 * (at most max). Returns the number of satisfiable ranges (>= 1), 0 when
 * the syntax is valid but nothing is satisfiable (416), or HS_EINVAL when
 * the field must be ignored (bad syntax, another unit, too many ranges).
 */
int hs_http_parse_range(hs_str_t value, uint64_t size, hs_http_range_t *out, int max);

/* Parses an HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms). Returns 0 and sets *out, or HS_EINVAL. */
int hs_http_parse_date(hs_str_t value, time_t *out);

/* Formats t as IMF-fixdate into buf (at least 30 bytes); returns length. */
int hs_http_format_date(time_t t, char *buf);

/* True if the entity-tag list `list` ("*" or 1#entity-tag) contains `etag`
 * (a quoted strong tag). weak selects the weak comparison. A malformed
 * list matches nothing. */
bool hs_http_etag_match(hs_str_t list, hs_str_t etag, bool weak);

/* If-Range (RFC 9110 13.1.5): true when the Range may be honoured. An
 * entity-tag must equal `etag` by strong comparison (a weak tag never
 * does); a date must equal the last-modified time exactly (has_lm false:
 * no Last-Modified, so a date never matches). An absent field is true. */
bool hs_http_if_range_ok(hs_str_t if_range, hs_str_t etag, bool has_lm, time_t lm);

#endif
