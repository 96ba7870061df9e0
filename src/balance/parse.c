/*
 * Backend specifications: "http://HOST:PORT[/][;weight=N]" and
 * comma-separated lists of them (see balance.h). Pure over the text: this
 * is configuration input, fuzzed by tests/fuzz/fuzz_balance_backends.c.
 */
#include <stdio.h>
#include <string.h>

#include "balance/balance.h"
#include "balance/internal.h"
#include "core/err.h"

/* HOST part: numeric IPv4 (digits and dots), a bracketed IPv6 literal, or
 * localhost; anything else would need a DNS lookup on the loop. */
static bool host_ok(const char *h, size_t n)
{
    if (n == 0)
        return false;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++) {
            char c = h[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return false;
        }
        return true;
    }
    if (n == 9 && memcmp(h, "localhost", 9) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return false;
    return true;
}

int hs_balance_parse_backend(const char *spec, size_t len, char *name, size_t cap,
                             unsigned *weight)
{
    const char *s = spec, *end = spec + len;
    unsigned w = HS_BALANCE_DEFAULT_WEIGHT;
    if (len >= 7 && memcmp(s, "http://", 7) == 0)
        s += 7;
    else if (memmem(s, len, "://", 3))
        return HS_EINVAL; /* https and other schemes: not yet */
    const char *semi = memchr(s, ';', (size_t)(end - s));
    if (semi) {
        const char *p = semi + 1;
        if ((size_t)(end - p) < 8 || memcmp(p, "weight=", 7) != 0)
            return HS_EINVAL;
        p += 7;
        unsigned long v = 0;
        if (p == end)
            return HS_EINVAL;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return HS_EINVAL;
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535)
                return HS_EINVAL;
        }
        if (v == 0)
            return HS_EINVAL;
        w = (unsigned)v;
        end = semi;
    }
    size_t n = (size_t)(end - s);
    if (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= cap || memchr(s, '/', n))
        return HS_EINVAL;
    const char *colon = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == ':') {
            colon = s + i;
            break;
        }
    if (!colon || colon + 1 == s + n)
        return HS_EINVAL;
    unsigned long port = 0;
    for (const char *c = colon + 1; c < s + n; c++) {
        if (*c < '0' || *c > '9')
            return HS_EINVAL;
        port = port * 10 + (unsigned long)(*c - '0');
        if (port > 65535)
            return HS_EINVAL;
    }
    if (!host_ok(s, (size_t)(colon - s)))
        return HS_EINVAL;
    memcpy(name, s, n);
    name[n] = '\0';
    if (weight)
        *weight = w;
    return 0;
}

/* Calls fn on each trimmed item of a comma-separated list; stops at the
 * first error, which it returns. Empty items are errors. */
static int each_item(const char *list, int (*fn)(void *arg, const char *item, size_t len),
                     void *arg)
{
    if (!list)
        return 0;
    const char *p = list;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        int rc = fn(arg, a, (size_t)(b - a));
        if (rc < 0)
            return rc;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

typedef struct check_ctx {
    unsigned n;
    char *bad;
    size_t badcap;
} check_ctx_t;

static int check_one(void *arg, const char *item, size_t len)
{
    check_ctx_t *c = arg;
    char name[HS_BALANCE_NAME_MAX];
    unsigned w;
    if (hs_balance_parse_backend(item, len, name, sizeof(name), &w) != 0) {
        if (c->badcap)
            snprintf(c->bad, c->badcap, "%.*s", (int)(len > 200 ? 200 : len), item);
        return HS_EINVAL;
    }
    if (++c->n > HS_BALANCE_MAX_BACKENDS)
        return HS_ELIMIT;
    return 0;
}

int hs_balance_check_list(const char *list, char *bad, size_t badcap)
{
    check_ctx_t c = {0, bad, badcap};
    if (badcap)
        bad[0] = '\0';
    int rc = each_item(list, check_one, &c);
    return rc < 0 ? rc : (int)c.n;
}

typedef struct collect_ctx {
    hs_balance_backend_spec_t *specs;
    char (*names)[HS_BALANCE_NAME_MAX];
    unsigned n, max;
    bool fallback;
} collect_ctx_t;

static int collect_one(void *arg, const char *item, size_t len)
{
    collect_ctx_t *c = arg;
    if (c->n >= c->max)
        return HS_ELIMIT;
    unsigned w;
    if (hs_balance_parse_backend(item, len, c->names[c->n], HS_BALANCE_NAME_MAX, &w) != 0)
        return HS_EINVAL;
    c->specs[c->n] = (hs_balance_backend_spec_t){c->names[c->n], w, c->fallback};
    c->n++;
    return 0;
}

int hs__balance_collect(const char *primaries, const char *fallbacks,
                        hs_balance_backend_spec_t *specs, char (*names)[HS_BALANCE_NAME_MAX],
                        unsigned max)
{
    collect_ctx_t c = {specs, names, 0, max, false};
    int rc = each_item(primaries, collect_one, &c);
    if (rc == 0) {
        c.fallback = true;
        rc = each_item(fallbacks, collect_one, &c);
    }
    return rc < 0 ? rc : (int)c.n;
}
