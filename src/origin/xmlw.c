/*
 * The XML writer of S3 responses (contract in xml.h).
 *
 * Well-formedness is kept by construction: the writer tracks the open
 * elements and the attributes of the open start tag and asserts every
 * structural call against them, and it validates a value before writing
 * any of it, so a refused value leaves no partial output behind. State
 * is updated even after an out-of-memory error, so a caller that checks
 * only hs_xmlw_finish never trips an assertion on the way.
 */
#include "origin/xml.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "origin/xml-int.h"

static const char DECL[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

static bool name_ok(const char *name)
{
    size_t n = strlen(name), local;
    return n > 0 && hs__xml_qname_len(name, n, &local) == n;
}

static int put(hs_xmlw_t *w, const char *s, size_t n)
{
    if (!w->err && hs_buf_append(w->out, s, n) < 0)
        w->err = HS_ENOMEM;
    return w->err;
}

static int put_str(hs_xmlw_t *w, const char *s)
{
    return put(w, s, strlen(s));
}

static int end_start_tag(hs_xmlw_t *w)
{
    if (!w->tag_open)
        return w->err;
    w->tag_open = false;
    w->nattrs = 0;
    return put(w, ">", 1);
}

/*
 * Escapes s[0..len), already checked with hs_xml_text_ok. '>' is escaped
 * too so "]]>" cannot appear; CR always, and TAB and LF in attribute
 * values, become references because the reader normalises them.
 */
static int put_escaped(hs_xmlw_t *w, const char *s, size_t len, bool attr)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = attr ? "&#10;" : NULL; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        default: rep = NULL; break;
        }
        if (!rep)
            continue;
        put(w, s + run, i - run);
        put_str(w, rep);
        run = i + 1;
    }
    return put(w, s + run, len - run);
}

void hs_xmlw_init(hs_xmlw_t *w, hs_buf_t *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

int hs_xmlw_decl(hs_xmlw_t *w)
{
    assert(!w->started && "the XML declaration must come first");
    w->started = true;
    return put(w, DECL, sizeof(DECL) - 1);
}

int hs_xmlw_open(hs_xmlw_t *w, const char *name)
{
    assert(name_ok(name));
    assert(!w->root_done && "a document has one root element");
    assert(w->depth < HS_XMLW_MAX_DEPTH);
    end_start_tag(w);
    w->started = true;
    w->open[w->depth++] = name;
    w->tag_open = true;
    put(w, "<", 1);
    return put_str(w, name);
}

int hs_xmlw_attr(hs_xmlw_t *w, const char *name, const char *value, size_t len)
{
    assert(w->tag_open && "attributes go right after hs_xmlw_open");
    assert(name_ok(name));
    for (unsigned i = 0; i < w->nattrs; i++)
        assert(strcmp(w->attrs[i], name) != 0 && "duplicate attribute");
    assert(w->nattrs < HS_XML_MAX_ATTRS);
    if (w->err)
        return w->err;
    if (!hs_xml_text_ok(value, len))
        return HS_EINVAL;
    w->attrs[w->nattrs++] = name;
    put(w, " ", 1);
    put_str(w, name);
    put(w, "=\"", 2);
    put_escaped(w, value, len, true);
    return put(w, "\"", 1);
}

int hs_xmlw_close(hs_xmlw_t *w, const char *name)
{
    assert(w->depth > 0 && strcmp(w->open[w->depth - 1], name) == 0 &&
           "close the innermost open element");
    end_start_tag(w);
    if (--w->depth == 0)
        w->root_done = true;
    put(w, "</", 2);
    put_str(w, name);
    return put(w, ">", 1);
}

int hs_xmlw_text(hs_xmlw_t *w, const char *s, size_t len)
{
    assert(w->depth > 0 && "text goes inside the root element");
    if (w->err)
        return w->err;
    if (!hs_xml_text_ok(s, len))
        return HS_EINVAL;
    end_start_tag(w);
    return put_escaped(w, s, len, false);
}

int hs_xmlw_elem(hs_xmlw_t *w, const char *name, const char *s, size_t len)
{
    assert(name_ok(name));
    if (w->err)
        return w->err;
    if (!hs_xml_text_ok(s, len))
        return HS_EINVAL;
    hs_xmlw_open(w, name);
    hs_xmlw_text(w, s, len);
    return hs_xmlw_close(w, name);
}

int hs_xmlw_elem_str(hs_xmlw_t *w, const char *name, const char *s)
{
    return hs_xmlw_elem(w, name, s, strlen(s));
}

int hs_xmlw_elemf(hs_xmlw_t *w, const char *name, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return HS_EINVAL;
    if ((size_t)n < sizeof(small))
        return hs_xmlw_elem(w, name, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        w->err = HS_ENOMEM;
        return w->err;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = hs_xmlw_elem(w, name, big, (size_t)n);
    free(big);
    return rc;
}

int hs_xmlw_elem_url(hs_xmlw_t *w, const char *name, const char *s, size_t len)
{
    hs_xmlw_open(w, name);
    end_start_tag(w);
    if (!w->err && hs_s3_url_encode(w->out, s, len) < 0)
        w->err = HS_ENOMEM;
    return hs_xmlw_close(w, name);
}

int hs_xmlw_finish(hs_xmlw_t *w)
{
    if (w->err)
        return w->err;
    assert(w->root_done && w->depth == 0 && "the root element must be closed");
    return 0;
}

static bool url_keep(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '*' || c == '/';
}

int hs_s3_url_encode(hs_buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len > (SIZE_MAX - 1) / 3)
        return HS_ENOMEM;
    int rc = hs_buf_reserve(out, len * 3 + 1);
    if (rc < 0)
        return rc;
    char *o = hs_buf_space(out), *start = o;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (url_keep(c)) {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    hs_buf_commit(out, (size_t)(o - start));
    return 0;
}
