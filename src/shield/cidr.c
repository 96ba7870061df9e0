/*
 * CIDR list parsing and matching, and the mapped 16-byte address form the
 * whole shield keys clients by. The parser reads configuration text, which
 * an operator (or a fuzzer) controls: every entry is length-checked before
 * it is copied, and an error names the entry.
 */
#include "shield/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define ENTRY_MAX 64 /* longest text of one entry: a full IPv6 address and "/128" fit */

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool hs_cidr_is_v4(const uint8_t addr[16])
{
    return memcmp(addr, v4_prefix, 12) == 0;
}

void hs_cidr_mask(uint8_t addr[16], unsigned bits)
{
    if (bits >= 128)
        return;
    unsigned byte = bits / 8;
    if (bits % 8)
        addr[byte++] &= (uint8_t)(0xff00u >> (bits % 8));
    memset(addr + byte, 0, 16 - byte);
}

bool hs_cidr_match(const hs_cidr_t *c, const uint8_t addr[16])
{
    unsigned whole = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (addr[whole] & m) == c->addr[whole];
}

bool hs_cidr_list_match(const hs_cidr_list_t *l, const uint8_t addr[16])
{
    for (unsigned i = 0; i < l->n; i++)
        if (hs_cidr_match(&l->v[i], addr))
            return true;
    return false;
}

bool hs_cidr_from_sockaddr(const struct sockaddr_storage *ss, uint8_t addr[16])
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
        memcpy(addr, v4_prefix, 12);
        memcpy(addr + 12, &s4->sin_addr, 4);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ss;
        memcpy(addr, &s6->sin6_addr, 16);
        return true;
    }
    return false;
}

const char *hs_cidr_addr_str(const uint8_t addr[16], char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (hs_cidr_is_v4(addr))
        inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
    return buf;
}

static bool is_sep(char ch)
{
    return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Formats the error, showing the entry with non-printable bytes replaced so
 * the message is safe to print whatever the input was. */
static void entry_error(char *err, size_t errlen, const char *e, size_t n, const char *why)
{
    if (!errlen)
        return;
    char shown[ENTRY_MAX + 4];
    size_t k = 0;
    for (size_t i = 0; i < n && k < ENTRY_MAX; i++)
        shown[k++] = (e[i] >= 0x20 && e[i] < 0x7f) ? e[i] : '?';
    if (n > ENTRY_MAX) {
        memcpy(shown + k, "...", 3);
        k += 3;
    }
    shown[k] = '\0';
    snprintf(err, errlen, "bad entry '%s': %s", shown, why);
}

/* Parses one entry e[0..n). Returns NULL or the reason it is bad. */
static const char *parse_entry(const char *e, size_t n, hs_cidr_t *out)
{
    if (n > ENTRY_MAX)
        return "too long to be an address";
    char a[ENTRY_MAX + 1];
    const char *slash = memchr(e, '/', n);
    size_t alen = slash ? (size_t)(slash - e) : n;
    memcpy(a, e, alen);
    a[alen] = '\0';
    bool v6 = memchr(a, ':', alen) != NULL;
    memset(out, 0, sizeof(*out));
    if (v6) {
        if (inet_pton(AF_INET6, a, out->addr) != 1)
            return "not an IPv6 address";
    } else {
        memcpy(out->addr, v4_prefix, 12);
        if (inet_pton(AF_INET, a, out->addr + 12) != 1)
            return "not an IPv4 address (expected a.b.c.d or an IPv6 address)";
    }
    unsigned max = v6 ? 128 : 32;
    unsigned len = max;
    if (slash) {
        const char *p = slash + 1, *end = e + n;
        if (p == end)
            return "missing prefix length after '/'";
        len = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "prefix length is not a number";
            len = len * 10 + (unsigned)(*p - '0');
            if (len > max)
                break;
        }
        if (len > max)
            return v6 ? "prefix length over 128" : "prefix length over 32";
    }
    out->bits = (uint8_t)(v6 ? len : len + 96);
    uint8_t masked[16];
    memcpy(masked, out->addr, 16);
    hs_cidr_mask(masked, out->bits);
    if (memcmp(masked, out->addr, 16) != 0)
        return "address has bits set past the prefix length";
    return NULL;
}

int hs_cidr_parse_list(const char *text, size_t len, hs_cidr_list_t *out, char *err,
                       size_t errlen)
{
    out->v = NULL;
    out->n = 0;
    if (errlen)
        err[0] = '\0';
    size_t i = 0;
    unsigned cap = 0;
    while (i < len) {
        while (i < len && is_sep(text[i]))
            i++;
        if (i == len)
            break;
        size_t s = i;
        while (i < len && !is_sep(text[i]))
            i++;
        if (out->n == HS_CIDR_MAX) {
            entry_error(err, errlen, text + s, i - s, "more than 1024 entries");
            hs_cidr_list_free(out);
            return HS_EINVAL;
        }
        hs_cidr_t c;
        const char *why = parse_entry(text + s, i - s, &c);
        if (why) {
            entry_error(err, errlen, text + s, i - s, why);
            hs_cidr_list_free(out);
            return HS_EINVAL;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            hs_cidr_t *v = realloc(out->v, cap * sizeof(*v));
            if (!v) {
                hs_cidr_list_free(out);
                if (errlen)
                    snprintf(err, errlen, "out of memory");
                return HS_ENOMEM;
            }
            out->v = v;
        }
        out->v[out->n++] = c;
    }
    return 0;
}

void hs_cidr_list_free(hs_cidr_list_t *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
