/*
 * The strict XML reader of S3 request bodies (contract in xml.h).
 *
 * One forward pass over the buffer with an explicit stack of open
 * elements, so nesting costs no C stack and the depth bound is exact.
 * Character data is decoded into one scratch block used as a stack too:
 * an element's text grows at the top, a child's text is pushed above it
 * and moved to the arena when the child closes, so the parent's pieces
 * end up contiguous without a copy per piece. Decoding never lengthens
 * input (every reference is at least as long as its UTF-8), so a
 * scratch block the size of the input always suffices.
 */
#include "origin/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "origin/xml-int.h"

struct frame {
    hs_xml_node_t *node;
    hs_xml_node_t *last;  /* last child, to append in order */
    const char *qname;    /* as written in the start tag, for the end tag */
    size_t qlen;
    size_t text_start;    /* where this element's text starts in scratch */
};

struct pending_attr {
    const char *qname;
    size_t qlen, local;
    size_t value_len;
    char *value; /* in the arena */
    bool xmlns;
};

struct parser {
    const char *in;
    size_t len, pos;
    hs_arena_t *arena;
    char *scratch;
    size_t top;
    unsigned depth, max_depth;
    unsigned nelems, max_elems;
    hs_xml_node_t *root;
    hs_xml_error_t *err;
    struct frame stack[HS_XML_DEPTH_CAP];
    struct pending_attr attrs[HS_XML_MAX_ATTRS];
};

static const char TRUNCATED[] = "unexpected end of input";

static int fail_at(struct parser *p, int rc, size_t off, const char *reason)
{
    if (p->err) {
        p->err->offset = off;
        p->err->reason = reason;
    }
    return rc;
}

static int fail(struct parser *p, const char *reason)
{
    return fail_at(p, HS_EBADMSG, p->pos, reason);
}

/* Fails as truncated at the end of input, else with reason. */
static int fail_or_eof(struct parser *p, const char *reason)
{
    return fail(p, p->pos >= p->len ? TRUNCATED : reason);
}

static bool at(const struct parser *p, const char *lit, size_t n)
{
    return p->len - p->pos >= n && memcmp(p->in + p->pos, lit, n) == 0;
}

#define AT(p, lit) at((p), (lit), sizeof(lit) - 1)

static bool skip_space(struct parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && hs__xml_is_space((unsigned char)p->in[p->pos]))
        p->pos++;
    return p->pos > start;
}

/* Length of the (valid XML) character at pos, or a negative error. */
static int char_len(struct parser *p)
{
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    unsigned char c = (unsigned char)p->in[p->pos];
    if (c >= 0x20 && c < 0x80)
        return 1;
    if (c < 0x20) {
        if (c == '\t' || c == '\n' || c == '\r')
            return 1;
        return fail(p, c == 0 ? "NUL byte" : "control character not allowed in XML");
    }
    uint32_t cp;
    size_t l = hs__utf8_decode((const unsigned char *)p->in + p->pos, p->len - p->pos, &cp);
    if (l == 0)
        return fail(p, "invalid UTF-8");
    if (!hs__xml_is_char(cp))
        return fail(p, "character not allowed in XML");
    return (int)l;
}

static size_t qname(struct parser *p, size_t *local)
{
    return hs__xml_qname_len(p->in + p->pos, p->len - p->pos, local);
}

/*
 * Decodes the reference at pos ('&') into out, which has room for 4
 * bytes. Returns the number of bytes written or a negative error.
 */
static int reference(struct parser *p, char *out)
{
    static const struct {
        const char *name;
        size_t len;
        char c;
    } predefined[] = {{"lt", 2, '<'}, {"gt", 2, '>'}, {"amp", 3, '&'}, {"apos", 4, '\''},
                      {"quot", 4, '"'}};
    size_t start = p->pos++;
    if (p->pos < p->len && p->in[p->pos] == '#') {
        bool hex = ++p->pos < p->len && p->in[p->pos] == 'x';
        p->pos += hex;
        uint32_t v = 0;
        size_t digits = 0;
        for (; p->pos < p->len && p->in[p->pos] != ';'; p->pos++, digits++) {
            unsigned char c = (unsigned char)p->in[p->pos];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                d = (c | 0x20) - 'a' + 10;
            else
                return fail(p, "bad character reference");
            /* Saturate: anything past U+10FFFF is invalid however long. */
            v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + d;
        }
        if (p->pos >= p->len)
            return fail(p, TRUNCATED);
        if (digits == 0)
            return fail(p, "bad character reference");
        if (!hs__xml_is_char(v))
            return fail_at(p, HS_EBADMSG, start, "character reference to a non-XML character");
        p->pos++;
        return (int)hs__utf8_encode(v, out);
    }
    size_t local;
    size_t n = qname(p, &local);
    if (n == 0)
        return fail_or_eof(p, "bare '&' (write &amp;)");
    const char *name = p->in + p->pos;
    p->pos += n;
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    if (p->in[p->pos] != ';')
        return fail(p, "entity reference without ';'");
    p->pos++;
    for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
        if (n == predefined[i].len && memcmp(name, predefined[i].name, n) == 0) {
            out[0] = predefined[i].c;
            return 1;
        }
    }
    return fail_at(p, HS_EBADMSG, start, "undefined entity (no DTD, only the predefined five)");
}

/*
 * Copies one character of character data (text or CDATA) at pos to
 * scratch, turning CR LF and a lone CR into LF. Returns 0 or an error.
 */
static int copy_char(struct parser *p)
{
    int l = char_len(p);
    if (l < 0)
        return l;
    const char *s = p->in + p->pos;
    p->pos += (size_t)l;
    if (*s == '\r') {
        if (p->pos < p->len && p->in[p->pos] == '\n')
            p->pos++;
        p->scratch[p->top++] = '\n';
        return 0;
    }
    memcpy(p->scratch + p->top, s, (size_t)l);
    p->top += (size_t)l;
    return 0;
}

static int text(struct parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->in[p->pos];
        if (c == '<')
            return 0;
        if (c == '&') {
            int n = reference(p, p->scratch + p->top);
            if (n < 0)
                return n;
            p->top += (size_t)n;
            continue;
        }
        if (c == ']' && AT(p, "]]>"))
            return fail(p, "']]>' in text");
        if (c >= 0x20 && c < 0x80 && c != ']') {
            /* a run of plain ASCII, the bulk of any S3 body, in one copy */
            size_t end = p->pos + 1;
            while (end < p->len) {
                unsigned char d = (unsigned char)p->in[end];
                if (d < 0x20 || d >= 0x80 || d == '<' || d == '&' || d == ']')
                    break;
                end++;
            }
            memcpy(p->scratch + p->top, p->in + p->pos, end - p->pos);
            p->top += end - p->pos;
            p->pos = end;
            continue;
        }
        int rc = copy_char(p);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cdata(struct parser *p)
{
    p->pos += 9;
    while (!AT(p, "]]>")) {
        int rc = copy_char(p);
        if (rc < 0)
            return rc;
    }
    p->pos += 3;
    return 0;
}

static int comment(struct parser *p)
{
    p->pos += 4;
    for (;;) {
        if (AT(p, "--")) {
            p->pos += 2;
            if (p->pos >= p->len)
                return fail(p, TRUNCATED);
            if (p->in[p->pos] != '>')
                return fail(p, "'--' in comment");
            p->pos++;
            return 0;
        }
        int l = char_len(p);
        if (l < 0)
            return l;
        p->pos += (size_t)l;
    }
}

static bool is_xml_ci(const char *s, size_t n)
{
    return n == 3 && (s[0] | 0x20) == 'x' && (s[1] | 0x20) == 'm' && (s[2] | 0x20) == 'l';
}

/* A processing instruction: checked and skipped. */
static int pi(struct parser *p)
{
    size_t start = p->pos;
    p->pos += 2;
    size_t local;
    size_t n = qname(p, &local);
    if (n == 0)
        return fail_or_eof(p, "bad processing instruction target");
    if (is_xml_ci(p->in + p->pos, n))
        return fail_at(p, HS_EBADMSG, start, "XML declaration not at the start");
    p->pos += n;
    if (!skip_space(p) && !AT(p, "?>"))
        return fail_or_eof(p, "bad processing instruction");
    while (!AT(p, "?>")) {
        int l = char_len(p);
        if (l < 0)
            return l;
        p->pos += (size_t)l;
    }
    p->pos += 2;
    return 0;
}

/* name Eq quoted-value of the XML declaration; sets the value slice. */
static int decl_field(struct parser *p, const char **v, size_t *vlen)
{
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    if (p->in[p->pos] != '=')
        return fail(p, "expected '=' in XML declaration");
    p->pos++;
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    char q = p->in[p->pos];
    if (q != '"' && q != '\'')
        return fail(p, "expected a quoted value in XML declaration");
    const char *s = p->in + ++p->pos;
    const char *e = memchr(s, q, p->len - p->pos);
    if (!e) {
        p->pos = p->len;
        return fail(p, TRUNCATED);
    }
    *v = s;
    *vlen = (size_t)(e - s);
    p->pos += *vlen + 1;
    return 0;
}

static bool eq_ci(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int xml_decl(struct parser *p)
{
    const char *v;
    size_t vlen;
    int rc;
    p->pos += 5;
    if (!skip_space(p) || !AT(p, "version"))
        return fail_or_eof(p, "XML declaration without version");
    p->pos += 7;
    if ((rc = decl_field(p, &v, &vlen)) < 0)
        return rc;
    if (vlen != 3 || memcmp(v, "1.0", 3) != 0)
        return fail(p, "XML version is not 1.0");
    bool sp = skip_space(p);
    if (sp && AT(p, "encoding")) {
        p->pos += 8;
        if ((rc = decl_field(p, &v, &vlen)) < 0)
            return rc;
        if (!eq_ci(v, vlen, "UTF-8"))
            return fail(p, "encoding is not UTF-8");
        sp = skip_space(p);
    }
    if (sp && AT(p, "standalone")) {
        p->pos += 10;
        if ((rc = decl_field(p, &v, &vlen)) < 0)
            return rc;
        if (!(vlen == 3 && memcmp(v, "yes", 3) == 0) && !(vlen == 2 && memcmp(v, "no", 2) == 0))
            return fail(p, "bad standalone value");
        skip_space(p);
    }
    if (!AT(p, "?>"))
        return fail_or_eof(p, "bad XML declaration");
    p->pos += 2;
    return 0;
}

/* Attribute value between quotes, decoded and normalised into the arena. */
static int attr_value(struct parser *p, struct pending_attr *a)
{
    char q = p->in[p->pos++];
    char *out = p->scratch + p->top; /* decoding never lengthens: it fits */
    size_t o = 0;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, TRUNCATED);
        unsigned char c = (unsigned char)p->in[p->pos];
        if (c == (unsigned char)q) {
            p->pos++;
            break;
        }
        if (c == '<')
            return fail(p, "'<' in attribute value");
        if (c == '&') {
            int n = reference(p, out + o);
            if (n < 0)
                return n;
            o += (size_t)n;
            continue;
        }
        int l = char_len(p);
        if (l < 0)
            return l;
        if (c == '\r' || c == '\n' || c == '\t') {
            /* CR LF is one line end, so one space */
            if (c == '\r' && p->pos + 1 < p->len && p->in[p->pos + 1] == '\n')
                p->pos++;
            out[o++] = ' ';
        } else {
            memcpy(out + o, p->in + p->pos, (size_t)l);
            o += (size_t)l;
        }
        p->pos += (size_t)l;
    }
    a->value = hs_arena_alloc(p->arena, o + 1);
    if (!a->value)
        return fail_at(p, HS_ENOMEM, p->pos, "out of memory");
    memcpy(a->value, out, o);
    a->value[o] = '\0';
    a->value_len = o;
    return 0;
}

static int attribute(struct parser *p, unsigned nattrs)
{
    size_t start = p->pos;
    if (nattrs == HS_XML_MAX_ATTRS)
        return fail_at(p, HS_ELIMIT, start, "too many attributes");
    struct pending_attr *a = &p->attrs[nattrs];
    a->qlen = qname(p, &a->local);
    if (a->qlen == 0)
        return fail_or_eof(p, "bad attribute name");
    a->qname = p->in + p->pos;
    p->pos += a->qlen;
    for (unsigned i = 0; i < nattrs; i++) {
        if (p->attrs[i].qlen == a->qlen && memcmp(p->attrs[i].qname, a->qname, a->qlen) == 0)
            return fail_at(p, HS_EBADMSG, start, "duplicate attribute");
    }
    a->xmlns = (a->qlen == 5 && memcmp(a->qname, "xmlns", 5) == 0) ||
               (a->local == 6 && memcmp(a->qname, "xmlns:", 6) == 0);
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    if (p->in[p->pos] != '=')
        return fail(p, "expected '=' after attribute name");
    p->pos++;
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    if (p->in[p->pos] != '"' && p->in[p->pos] != '\'')
        return fail(p, "attribute value not quoted");
    return attr_value(p, a);
}

static char *arena_copy(struct parser *p, const char *s, size_t n)
{
    char *c = hs_arena_alloc(p->arena, n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* Builds the node of a parsed start tag and links it into the tree. */
static int make_node(struct parser *p, size_t start, const char *qn, size_t qlen, size_t local,
                     unsigned nattrs, hs_xml_node_t **out)
{
    hs_xml_node_t *n = hs_arena_alloc(p->arena, sizeof(*n));
    if (!n)
        return fail_at(p, HS_ENOMEM, start, "out of memory");
    memset(n, 0, sizeof(*n));
    n->offset = start;
    n->name_len = qlen - local;
    n->name = arena_copy(p, qn + local, n->name_len);
    n->text = "";
    unsigned kept = 0;
    for (unsigned i = 0; i < nattrs; i++)
        kept += !p->attrs[i].xmlns;
    hs_xml_attr_t *attrs = kept ? hs_arena_alloc(p->arena, kept * sizeof(*attrs)) : NULL;
    if (!n->name || (kept && !attrs))
        return fail_at(p, HS_ENOMEM, start, "out of memory");
    for (unsigned i = 0, j = 0; i < nattrs; i++) {
        const struct pending_attr *a = &p->attrs[i];
        if (a->xmlns)
            continue;
        char *name = arena_copy(p, a->qname, a->qlen);
        if (!name)
            return fail_at(p, HS_ENOMEM, start, "out of memory");
        attrs[j++] = (hs_xml_attr_t){name, name + a->local, a->value, a->value_len};
    }
    n->attrs = attrs;
    n->nattrs = kept;
    if (p->depth == 0) {
        p->root = n;
    } else {
        struct frame *f = &p->stack[p->depth - 1];
        n->parent = f->node;
        if (f->last)
            f->last->next = n;
        else
            f->node->children = n;
        f->last = n;
        f->node->nchildren++;
    }
    *out = n;
    return 0;
}

static int start_tag(struct parser *p)
{
    size_t start = p->pos;
    if (p->depth == 0 && p->root)
        return fail(p, "second root element");
    p->pos++;
    size_t local;
    size_t qlen = qname(p, &local);
    if (qlen == 0)
        return fail_or_eof(p, "bad element name");
    if (++p->nelems > p->max_elems)
        return fail_at(p, HS_ELIMIT, start, "too many elements");
    if (p->depth == p->max_depth)
        return fail_at(p, HS_ELIMIT, start, "elements nested too deep");
    const char *qn = p->in + p->pos;
    p->pos += qlen;
    unsigned nattrs = 0;
    bool empty;
    for (;;) {
        bool sp = skip_space(p);
        if (p->pos >= p->len)
            return fail(p, TRUNCATED);
        char c = p->in[p->pos];
        if (c == '>') {
            p->pos++;
            empty = false;
            break;
        }
        if (c == '/') {
            if (++p->pos >= p->len)
                return fail(p, TRUNCATED);
            if (p->in[p->pos] != '>')
                return fail(p, "expected '>' after '/'");
            p->pos++;
            empty = true;
            break;
        }
        if (!sp)
            return fail(p, "bad character in start tag");
        int rc = attribute(p, nattrs);
        if (rc < 0)
            return rc;
        nattrs++;
    }
    hs_xml_node_t *n;
    int rc = make_node(p, start, qn, qlen, local, nattrs, &n);
    if (rc < 0 || empty)
        return rc;
    p->stack[p->depth++] = (struct frame){n, NULL, qn, qlen, p->top};
    return 0;
}

static int end_tag(struct parser *p)
{
    size_t start = p->pos;
    if (p->depth == 0)
        return fail(p, "end tag outside the root element");
    p->pos += 2;
    size_t local;
    size_t qlen = qname(p, &local);
    if (qlen == 0)
        return fail_or_eof(p, "bad element name");
    struct frame *f = &p->stack[p->depth - 1];
    if (qlen != f->qlen || memcmp(p->in + p->pos, f->qname, qlen) != 0)
        return fail_at(p, HS_EBADMSG, start, "end tag does not match start tag");
    p->pos += qlen;
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, TRUNCATED);
    if (p->in[p->pos] != '>')
        return fail(p, "expected '>' in end tag");
    p->pos++;
    size_t n = p->top - f->text_start;
    if (n) {
        char *t = arena_copy(p, p->scratch + f->text_start, n);
        if (!t)
            return fail_at(p, HS_ENOMEM, start, "out of memory");
        f->node->text = t;
        f->node->text_len = n;
    }
    p->top = f->text_start;
    p->depth--;
    return 0;
}

/* Markup starting with '<' at pos. */
static int markup(struct parser *p)
{
    if (p->pos + 1 >= p->len)
        return fail(p, TRUNCATED);
    switch (p->in[p->pos + 1]) {
    case '/':
        return end_tag(p);
    case '?':
        return pi(p);
    case '!':
        if (AT(p, "<!--"))
            return comment(p);
        if (AT(p, "<![CDATA[")) {
            if (p->depth == 0)
                return fail(p, "CDATA outside the root element");
            return cdata(p);
        }
        if (AT(p, "<!DOCTYPE"))
            return fail(p, "DOCTYPE not allowed");
        /* a prefix of one of the above may just be cut short */
        if (p->len - p->pos < 9 &&
            (memcmp(p->in + p->pos, "<!--", p->len - p->pos < 4 ? p->len - p->pos : 4) == 0 ||
             memcmp(p->in + p->pos, "<![CDATA[", p->len - p->pos) == 0))
            return fail_at(p, HS_EBADMSG, p->len, TRUNCATED);
        return fail(p, "markup declarations not allowed");
    default:
        return start_tag(p);
    }
}

static int document(struct parser *p)
{
    if (AT(p, "\xEF\xBB\xBF"))
        p->pos += 3;
    if (AT(p, "<?xml") && p->pos + 5 < p->len &&
        (hs__xml_is_space((unsigned char)p->in[p->pos + 5]) || p->in[p->pos + 5] == '?')) {
        int rc = xml_decl(p);
        if (rc < 0)
            return rc;
    }
    while (p->pos < p->len) {
        int rc;
        unsigned char c = (unsigned char)p->in[p->pos];
        if (c == '<')
            rc = markup(p);
        else if (p->depth > 0)
            rc = text(p);
        else if (hs__xml_is_space(c))
            rc = (p->pos++, 0);
        else
            rc = fail(p, c == 0 ? "NUL byte" : "text outside the root element");
        if (rc < 0)
            return rc;
    }
    if (!p->root || p->depth > 0)
        return fail(p, TRUNCATED);
    return 0;
}

int hs_xml_parse(hs_arena_t *arena, const char *in, size_t len, const hs_xml_opts_t *opts,
                 hs_xml_node_t **root, hs_xml_error_t *err)
{
    /* The stack of frames and attributes is big: keep it off the C stack
     * of a worker thread. */
    struct parser *p = malloc(sizeof(*p));
    if (!p) {
        if (err)
            *err = (hs_xml_error_t){0, "out of memory"};
        return HS_ENOMEM;
    }
    memset(p, 0, offsetof(struct parser, stack));
    p->in = in;
    p->len = len;
    p->arena = arena;
    p->err = err;
    p->max_depth = opts && opts->max_depth ? opts->max_depth : HS_XML_MAX_DEPTH;
    if (p->max_depth > HS_XML_DEPTH_CAP)
        p->max_depth = HS_XML_DEPTH_CAP;
    p->max_elems = opts && opts->max_elems ? opts->max_elems : HS_XML_MAX_ELEMS;
    int rc;
    p->scratch = malloc(len ? len : 1);
    if (!p->scratch)
        rc = fail_at(p, HS_ENOMEM, 0, "out of memory");
    else if (len == 0)
        rc = fail(p, "empty document");
    else
        rc = document(p);
    if (rc == 0)
        *root = p->root;
    free(p->scratch);
    free(p);
    return rc;
}

hs_xml_node_t *hs_xml_next(const hs_xml_node_t *n, const char *name)
{
    for (n = n ? n->next : NULL; n; n = n->next) {
        if (!name || strcmp(n->name, name) == 0)
            return (hs_xml_node_t *)n;
    }
    return NULL;
}

hs_xml_node_t *hs_xml_child(const hs_xml_node_t *n, const char *name)
{
    const hs_xml_node_t *c = n ? n->children : NULL;
    if (!c || !name || strcmp(c->name, name) == 0)
        return (hs_xml_node_t *)c;
    return hs_xml_next(c, name);
}

size_t hs_xml_count(const hs_xml_node_t *n, const char *name)
{
    size_t k = 0;
    for (const hs_xml_node_t *c = hs_xml_child(n, name); c; c = hs_xml_next(c, name))
        k++;
    return k;
}

const char *hs_xml_text(const hs_xml_node_t *n, size_t *len)
{
    if (len)
        *len = n ? n->text_len : 0;
    return n ? n->text : NULL;
}

const char *hs_xml_child_text(const hs_xml_node_t *n, const char *name, size_t *len)
{
    return hs_xml_text(hs_xml_child(n, name), len);
}

const char *hs_xml_attr(const hs_xml_node_t *n, const char *name)
{
    for (size_t i = 0; n && i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].local, name) == 0)
            return n->attrs[i].value;
    }
    return NULL;
}

bool hs_xml_text_ok(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] >= 0x20 && u[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = hs__utf8_decode(u + i, len - i, &cp);
        if (l == 0 || !hs__xml_is_char(cp))
            return false;
        i += l;
    }
    return true;
}
