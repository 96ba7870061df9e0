/* Streaming JSON writer (see jsonw.h). */
#include "loadgen/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

void hs_lg_jsonw_init(hs_lg_jsonw_t *w, hs_buf_t *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->first[0] = true;
}

static void put(hs_lg_jsonw_t *w, const char *s, size_t n)
{
    if (w->err == 0 && hs_buf_append(w->out, s, n) != 0) w->err = HS_ENOMEM;
}

/* Separator before a value (or a key, which is handled like one). */
static void sep(hs_lg_jsonw_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth]) put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_(hs_lg_jsonw_t *w, char c)
{
    sep(w);
    put(w, &c, 1);
    if (w->depth + 1 >= HS_LG_JSONW_DEPTH) {
        w->err = w->err ? w->err : HS_EINVAL;
        return;
    }
    w->first[++w->depth] = true;
}

static void close_(hs_lg_jsonw_t *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->err = w->err ? w->err : HS_EINVAL;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void hs_lg_jsonw_obj(hs_lg_jsonw_t *w)
{
    open_(w, '{');
}

void hs_lg_jsonw_obj_end(hs_lg_jsonw_t *w)
{
    close_(w, '}');
}

void hs_lg_jsonw_arr(hs_lg_jsonw_t *w)
{
    open_(w, '[');
}

void hs_lg_jsonw_arr_end(hs_lg_jsonw_t *w)
{
    close_(w, ']');
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0xc2 || c > 0xf4) return 0;
    if (c < 0xe0) {
        len = 2;
        min = 0x80;
    } else if (c < 0xf0) {
        len = 3;
        min = 0x800;
    } else {
        len = 4;
        min = 0x10000;
    }
    if (n < len) return 0;
    unsigned cp = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void hs_lg_jsonw_strn(hs_lg_jsonw_t *w, const char *s, size_t len)
{
    sep(w);
    put(w, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* bytes before i that need no escaping */
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_len(p + i, len - i);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            put(w, (const char *)p + i - run, run);
            run = 0;
            put(w, esc, strlen(esc));
        } else {
            run += adv;
        }
        i += adv;
    }
    put(w, (const char *)p + len - run, run);
    put(w, "\"", 1);
}

void hs_lg_jsonw_str(hs_lg_jsonw_t *w, const char *s)
{
    if (!s) {
        hs_lg_jsonw_null(w);
        return;
    }
    hs_lg_jsonw_strn(w, s, strlen(s));
}

void hs_lg_jsonw_key(hs_lg_jsonw_t *w, const char *key)
{
    if (w->after_key) {
        w->err = w->err ? w->err : HS_EINVAL;
        return;
    }
    hs_lg_jsonw_str(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

static void raw(hs_lg_jsonw_t *w, const char *s)
{
    sep(w);
    put(w, s, strlen(s));
}

void hs_lg_jsonw_u64(hs_lg_jsonw_t *w, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    raw(w, b);
}

void hs_lg_jsonw_i64(hs_lg_jsonw_t *w, int64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRId64, v);
    raw(w, b);
}

void hs_lg_jsonw_dbl(hs_lg_jsonw_t *w, double v)
{
    char b[32];
    if (!isfinite(v)) {
        raw(w, "null");
        return;
    }
    /* %.17g round-trips, but reports read better with 6 significant digits
     * and no figure here is that precise. */
    snprintf(b, sizeof(b), "%.6g", v);
    raw(w, b);
}

void hs_lg_jsonw_bool(hs_lg_jsonw_t *w, bool v)
{
    raw(w, v ? "true" : "false");
}

void hs_lg_jsonw_null(hs_lg_jsonw_t *w)
{
    raw(w, "null");
}

int hs_lg_jsonw_finish(const hs_lg_jsonw_t *w)
{
    if (w->err) return w->err;
    return w->depth == 0 && !w->after_key ? 0 : HS_EINVAL;
}
