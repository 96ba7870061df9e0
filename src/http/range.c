/* Range, HTTP-date and entity-tag parsing (see range.h). */
#include "http/range.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"

static void skip_ows(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

/* Reads 1*DIGIT; returns false if none or on overflow. */
static bool read_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        unsigned d = (unsigned)(**p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        (*p)++;
    }
    *out = v;
    return *p > s;
}

int hs_http_parse_range(hs_str_t value, uint64_t size, hs_http_range_t *out, int max)
{
    const char *p = value.base, *end = value.base + value.len;
    skip_ows(&p, end);
    if (end - p < 6 || strncasecmp(p, "bytes=", 6) != 0)
        return HS_EINVAL;
    p += 6;
    int n = 0, specs = 0;
    for (;;) {
        skip_ows(&p, end);
        if (p < end && *p == ',') { /* empty list elements are allowed */
            p++;
            continue;
        }
        if (p == end)
            break;
        uint64_t a = 0, b = 0;
        bool has_a = read_u64(&p, end, &a);
        if (p == end || *p != '-')
            return HS_EINVAL;
        p++;
        bool has_b = read_u64(&p, end, &b);
        skip_ows(&p, end);
        if (p < end && *p != ',')
            return HS_EINVAL;
        if (!has_a && !has_b)
            return HS_EINVAL;
        if (has_a && has_b && b < a)
            return HS_EINVAL;
        if (++specs > max)
            return HS_EINVAL; /* too many to honour: serve the whole thing */
        hs_http_range_t r;
        if (!has_a) { /* suffix: last b bytes */
            if (b == 0 || size == 0)
                continue;
            r.first = b >= size ? 0 : size - b;
            r.last = size - 1;
        } else {
            if (a >= size)
                continue;
            r.first = a;
            r.last = has_b && b < size ? b : size - 1;
        }
        out[n++] = r;
    }
    if (specs == 0)
        return HS_EINVAL;
    return n;
}

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static int month_of(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months[i], 3) == 0)
            return i;
    return -1;
}

static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static bool hms(const char *p, struct tm *tm)
{
    return p[2] == ':' && p[5] == ':' && digits(p, 2, &tm->tm_hour) &&
           digits(p + 3, 2, &tm->tm_min) && digits(p + 6, 2, &tm->tm_sec) && tm->tm_hour < 24 &&
           tm->tm_min < 60 && tm->tm_sec <= 60;
}

int hs_http_parse_date(hs_str_t v, time_t *out)
{
    v = hs_str_trim_ows(v);
    const char *p = v.base;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int day, year;
    if (v.len == 29 && p[3] == ',') { /* Sun, 06 Nov 1994 08:49:37 GMT */
        if (p[4] != ' ' || !digits(p + 5, 2, &day) || p[7] != ' ' ||
            (tm.tm_mon = month_of(p + 8)) < 0 || p[11] != ' ' || !digits(p + 12, 4, &year) ||
            p[16] != ' ' || !hms(p + 17, &tm) || memcmp(p + 25, " GMT", 4) != 0)
            return HS_EINVAL;
    } else if (v.len == 24 && p[3] == ' ') { /* Sun Nov  6 08:49:37 1994 */
        if ((tm.tm_mon = month_of(p + 4)) < 0 || p[7] != ' ' || p[10] != ' ' ||
            !hms(p + 11, &tm) || p[19] != ' ' || !digits(p + 20, 4, &year))
            return HS_EINVAL;
        if (p[8] == ' ') {
            if (!digits(p + 9, 1, &day))
                return HS_EINVAL;
        } else if (!digits(p + 8, 2, &day)) {
            return HS_EINVAL;
        }
    } else { /* Sunday, 06-Nov-94 08:49:37 GMT */
        const char *comma = memchr(p, ',', v.len);
        if (!comma || v.len - (size_t)(comma - p) != 24)
            return HS_EINVAL;
        const char *q = comma + 1;
        int yy;
        if (q[0] != ' ' || !digits(q + 1, 2, &day) || q[3] != '-' ||
            (tm.tm_mon = month_of(q + 4)) < 0 || q[7] != '-' || !digits(q + 8, 2, &yy) ||
            q[10] != ' ' || !hms(q + 11, &tm) || memcmp(q + 19, " GMT", 4) != 0)
            return HS_EINVAL;
        /* RFC 9110: a two-digit year more than 50 years ahead is in the past century. */
        year = yy < 70 ? 2000 + yy : 1900 + yy;
    }
    if (day < 1 || day > 31 || year < 1900)
        return HS_EINVAL;
    tm.tm_mday = day;
    tm.tm_year = year - 1900;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return HS_EINVAL;
    *out = t;
    return 0;
}

bool hs_http_if_range_ok(hs_str_t if_range, hs_str_t etag, bool has_lm, time_t lm)
{
    if (!if_range.base)
        return true;
    hs_str_t v = hs_str_trim_ows(if_range);
    if (v.len && (v.base[0] == '"' || v.base[0] == 'W'))
        return v.base[0] == '"' && v.len == etag.len && memcmp(v.base, etag.base, v.len) == 0;
    time_t t;
    return has_lm && hs_http_parse_date(v, &t) == 0 && t == lm;
}

int hs_http_format_date(time_t t, char *buf)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char *p = buf;
    memcpy(p, wdays[tm.tm_wday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    *p++ = (char)('0' + tm.tm_mday / 10);
    *p++ = (char)('0' + tm.tm_mday % 10);
    *p++ = ' ';
    memcpy(p, months[tm.tm_mon], 3);
    p += 3;
    *p++ = ' ';
    int y = tm.tm_year + 1900;
    for (int div = 1000; div; div /= 10)
        *p++ = (char)('0' + (y / div) % 10);
    *p++ = ' ';
    int f[3] = {tm.tm_hour, tm.tm_min, tm.tm_sec};
    for (int i = 0; i < 3; i++) {
        *p++ = (char)('0' + f[i] / 10);
        *p++ = (char)('0' + f[i] % 10);
        *p++ = i < 2 ? ':' : ' ';
    }
    memcpy(p, "GMT", 3);
    p += 3;
    *p = '\0';
    return (int)(p - buf);
}

bool hs_http_etag_match(hs_str_t list, hs_str_t etag, bool weak)
{
    const char *p = list.base, *end = list.base + list.len;
    skip_ows(&p, end);
    if (end - p == 1 && *p == '*')
        return true;
    /* Compare the opaque-tags; the stored tag is strong ("..."). */
    if (etag.len < 2 || etag.base[0] != '"')
        return false;
    bool matched = false;
    while (p < end) {
        skip_ows(&p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p == end)
            break;
        bool is_weak = false;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            is_weak = true;
            p += 2;
        }
        if (p == end || *p != '"')
            return false;
        const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!q)
            return false;
        size_t len = (size_t)(q - p + 1);
        if ((weak || !is_weak) && len == etag.len && memcmp(p, etag.base, len) == 0)
            matched = true;
        p = q + 1;
        skip_ows(&p, end);
        if (p < end && *p != ',')
            return false; /* a malformed list matches nothing, wherever the junk is */
    }
    return matched;
}
