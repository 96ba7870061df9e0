/* URL patterns with "{n}" placeholders (see pattern.h). */
#include "loadgen/pattern.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define WIDTH_MAX 20

int hs_lg_pattern_parse(hs_lg_pattern_t *p, const char *pat, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    size_t len = strlen(pat);
    if (len == 0 || pat[0] != '/' || len > HS_LG_PATTERN_MAX) {
        snprintf(err, errlen,
                 "--url-pattern '%.64s': must start with '/' and be at most %d bytes, "
                 "e.g. /bench/obj-{n:6}",
                 pat, HS_LG_PATTERN_MAX);
        return HS_EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)pat[i] <= 0x20 || (unsigned char)pat[i] >= 0x7f) {
            snprintf(err, errlen,
                     "--url-pattern: byte %zu is a space, control or non-ASCII "
                     "character; percent-encode it",
                     i);
            return HS_EINVAL;
        }
    memcpy(p->text, pat, len + 1);
    size_t start = 0, i = 0;
    while (i < len) {
        if (pat[i] != '{') {
            i++;
            continue;
        }
        unsigned width = 0;
        size_t j = i + 1;
        if (pat[j] != 'n') goto bad;
        j++;
        if (pat[j] == ':') {
            j++;
            size_t d0 = j;
            while (pat[j] >= '0' && pat[j] <= '9' && width <= WIDTH_MAX)
                width = width * 10 + (unsigned)(pat[j++] - '0');
            if (j == d0 || width > WIDTH_MAX) goto bad;
        }
        if (pat[j] != '}') goto bad;
        if (p->n + 1 >= HS_LG_PATTERN_PIECES) {
            snprintf(err, errlen, "--url-pattern: at most %d {n} placeholders",
                     HS_LG_PATTERN_PIECES - 1);
            return HS_EINVAL;
        }
        p->off[p->n] = (unsigned)start;
        p->len[p->n] = (unsigned)(i - start);
        p->width[p->n] = width;
        p->n++;
        i = start = j + 1;
    }
    p->off[p->n] = (unsigned)start;
    p->len[p->n] = (unsigned)(len - start);
    p->n++;
    return 0;
bad:
    snprintf(err, errlen,
             "--url-pattern: '{' at byte %zu must start {n} or {n:WIDTH} "
             "(WIDTH 1..%d)",
             i, WIDTH_MAX);
    return HS_EINVAL;
}

int hs_lg_pattern_format(const hs_lg_pattern_t *p, uint64_t n, char *out, size_t cap)
{
    char num[32];
    size_t pos = 0;
    for (unsigned i = 0; i < p->n; i++) {
        if (pos + p->len[i] >= cap) return HS_E2BIG;
        memcpy(out + pos, p->text + p->off[i], p->len[i]);
        pos += p->len[i];
        if (i + 1 == p->n) break;
        int k = snprintf(num, sizeof(num), "%0*" PRIu64, (int)p->width[i], n);
        if (pos + (size_t)k >= cap) return HS_E2BIG;
        memcpy(out + pos, num, (size_t)k);
        pos += (size_t)k;
    }
    out[pos] = '\0';
    return (int)pos;
}
