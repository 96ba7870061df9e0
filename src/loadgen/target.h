/* The --target URL of `hyperscale bench`. */
#ifndef HS_LOADGEN_TARGET_H
#define HS_LOADGEN_TARGET_H

#include <stddef.h>

#define HS_LG_HOST_MAX 300

/*
 * Parses "http://HOST[:PORT][/]" into the HTTP client's upstream name
 * ("HOST:PORT", port 80 by default). HOST is an IPv4 address, a bracketed
 * IPv6 address or "localhost" (the client resolves no names on its loop).
 * Returns 0, or HS_EINVAL / HS_ENOTSUP (https) with a message in err.
 */
int hs_lg_target_parse(const char *url, char *upstream, size_t cap, char *err, size_t errlen);

#endif
