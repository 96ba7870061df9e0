/* --target parsing (see target.h). */
#include "loadgen/target.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

int hs_lg_target_parse(const char *url, char *upstream, size_t cap, char *err, size_t errlen)
{
    if (strncmp(url, "https://", 8) == 0) {
        snprintf(err, errlen, "--target %s: https is not supported yet; use http://HOST:PORT", url);
        return HS_ENOTSUP;
    }
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen,
                 "--target '%s': expected http://HOST:PORT, e.g. http://127.0.0.1:8080", url);
        return HS_EINVAL;
    }
    const char *h = url + 7, *end = h + strcspn(h, "/?#");
    if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0')) {
        snprintf(err, errlen,
                 "--target '%s': give only http://HOST:PORT; object paths come from "
                 "--bucket or --url-pattern",
                 url);
        return HS_EINVAL;
    }
    char host[256];
    const char *port = NULL;
    size_t hlen;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb) goto bad;
        hlen = (size_t)(rb - h - 1);
        if (hlen == 0 || hlen >= sizeof(host)) goto bad;
        memcpy(host, h + 1, hlen);
        host[hlen] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) goto bad;
        if (rb + 1 < end) {
            if (rb[1] != ':') goto bad;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        hlen = (size_t)((colon ? colon : end) - h);
        if (hlen == 0 || hlen >= sizeof(host)) goto bad;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        struct in_addr a4;
        if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, &a4) != 1) {
            snprintf(err, errlen,
                     "--target '%s': HOST must be an IP address or localhost "
                     "(names are not resolved)",
                     url);
            return HS_EINVAL;
        }
        if (colon) port = colon + 1;
    }
    unsigned long pv = 80;
    if (port) {
        if (port == end) goto bad;
        pv = 0;
        for (const char *q = port; q < end; q++) {
            if (*q < '0' || *q > '9' || pv > 65535) goto bad;
            pv = pv * 10 + (unsigned long)(*q - '0');
        }
        if (pv == 0 || pv > 65535) goto bad;
    }
    int n = *h == '[' ? snprintf(upstream, cap, "[%s]:%lu", host, pv)
                      : snprintf(upstream, cap, "%s:%lu", host, pv);
    if (n < 0 || (size_t)n >= cap) goto bad;
    return 0;
bad:
    snprintf(err, errlen,
             "--target '%s': expected http://HOST:PORT with PORT 1..65535, "
             "e.g. http://127.0.0.1:8080 or http://[::1]:8080",
             url);
    return HS_EINVAL;
}
