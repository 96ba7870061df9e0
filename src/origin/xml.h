/*
 * XML for the S3 API: a strict reader of request bodies
 * (CompleteMultipartUpload, Delete, CreateBucketConfiguration, Tagging,
 * AccessControlPolicy...) and a writer of response documents.
 *
 * The reader is a pure function over a buffer that builds a tree in a
 * caller's arena. It accepts well-formed XML 1.0 in UTF-8 with what S3
 * clients send (declaration, comments, processing instructions, CDATA,
 * the five predefined entities and character references, namespaces) and
 * rejects everything else, notably any DOCTYPE: no entity is ever
 * defined or expanded, so entity bombs and external entities cannot
 * exist. Names are matched by local name (the prefix is dropped) and
 * xmlns attributes are dropped, because S3 bodies come with and without
 * the S3 namespace. Character data is normalised as XML 1.0 says
 * (CR LF and lone CR become LF; in attribute values TAB, CR and LF
 * become a space) and otherwise kept exactly, leading and trailing
 * whitespace included: it is significant in <Key>.
 *
 * The writer appends to an hs_buf_t and cannot produce a malformed
 * document: names are checked, text is escaped, elements are closed in
 * order (a misuse is a failed assertion, a programming error), and text
 * that XML 1.0 cannot carry is refused rather than written.
 */
#ifndef HS_ORIGIN_XML_H
#define HS_ORIGIN_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena-t.h"
#include "core/buf-t.h"

/* Namespace of S3 response documents (xmlns of the root element). */
#define HS_S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

/* ---- reader ---- */

#define HS_XML_MAX_DEPTH 32       /* default bound on element nesting */
#define HS_XML_MAX_ELEMS 10000    /* default bound on elements per document */
#define HS_XML_DEPTH_CAP 256      /* largest max_depth a caller may ask for */
#define HS_XML_MAX_ATTRS 64       /* attributes per element, xmlns included */

typedef struct hs_xml_attr {
    const char *name;  /* qualified name as written, NUL-terminated */
    const char *local; /* local part of name (points into name) */
    const char *value; /* decoded, NUL-terminated */
    size_t value_len;
} hs_xml_attr_t;

typedef struct hs_xml_node hs_xml_node_t;
struct hs_xml_node {
    const char *name;  /* local name (prefix dropped), NUL-terminated */
    size_t name_len;
    /* The element's own character data (text and CDATA, not that of its
     * children), decoded, concatenated in document order and
     * NUL-terminated; "" when there is none. Never contains a NUL byte,
     * always valid UTF-8. */
    const char *text;
    size_t text_len;
    const hs_xml_attr_t *attrs; /* in document order, xmlns ones dropped */
    size_t nattrs;
    hs_xml_node_t *parent;    /* NULL for the root */
    hs_xml_node_t *children;  /* first child element, NULL if none */
    hs_xml_node_t *next;      /* next sibling element */
    size_t nchildren;
    size_t offset; /* of the '<' of its start tag in the input */
};

/* Bounds of one parse; a zero field takes its default. */
typedef struct hs_xml_opts {
    unsigned max_depth; /* HS_XML_MAX_DEPTH; at most HS_XML_DEPTH_CAP */
    unsigned max_elems; /* HS_XML_MAX_ELEMS */
} hs_xml_opts_t;

/* Where and why a parse failed. reason is a static string. */
typedef struct hs_xml_error {
    size_t offset;
    const char *reason;
} hs_xml_error_t;

/*
 * Parses the document in[0..len) into a tree allocated in `arena`: every
 * node, name, attribute and text lives there until the arena is reset or
 * freed (the input buffer may be released right after the call). Also
 * uses two temporary heap blocks (len bytes of scratch and ~16 KiB of
 * parser state), freed before returning.
 * opts may be NULL (defaults). On success sets *root and returns 0.
 * Otherwise returns HS_EBADMSG (not well-formed, or something we refuse:
 * DOCTYPE, undefined entity, non-UTF-8 encoding), HS_ELIMIT (deeper than
 * max_depth, more than max_elems elements or more than HS_XML_MAX_ATTRS
 * attributes on one element) or HS_ENOMEM, and fills *err when err is
 * not NULL; what was allocated in the arena stays there until its reset.
 * The S3 handler answers HS_EBADMSG and HS_ELIMIT with MalformedXML.
 */
int hs_xml_parse(hs_arena_t *arena, const char *in, size_t len, const hs_xml_opts_t *opts,
                 hs_xml_node_t **root, hs_xml_error_t *err);

/* First child element of n whose local name is `name`; NULL if none or
 * if n is NULL. name NULL matches any element. */
hs_xml_node_t *hs_xml_child(const hs_xml_node_t *n, const char *name);

/* Next sibling after n with local name `name` (NULL: any); NULL at the
 * end or if n is NULL. With hs_xml_child it walks the children by name:
 *   for (p = hs_xml_child(root, "Part"); p; p = hs_xml_next(p, "Part")) */
hs_xml_node_t *hs_xml_next(const hs_xml_node_t *n, const char *name);

/* Number of children of n named `name` (NULL: all). */
size_t hs_xml_count(const hs_xml_node_t *n, const char *name);

/* The decoded text of n (see hs_xml_node_t.text), its length in *len if
 * len is not NULL. Returns NULL (and *len = 0) when n is NULL, so a
 * missing element and an empty one can be told apart:
 *   const char *etag = hs_xml_text(hs_xml_child(part, "ETag"), &n); */
const char *hs_xml_text(const hs_xml_node_t *n, size_t *len);

/* hs_xml_text(hs_xml_child(n, name), len). */
const char *hs_xml_child_text(const hs_xml_node_t *n, const char *name, size_t *len);

/* Value of n's attribute whose local name is `name`, or NULL. */
const char *hs_xml_attr(const hs_xml_node_t *n, const char *name);

/* True if XML 1.0 can carry s[0..len) as character data: valid UTF-8 of
 * XML Chars only (no NUL, no C0 control but TAB, LF and CR, no U+FFFE or
 * U+FFFF). The writer refuses text for which this is false. */
bool hs_xml_text_ok(const char *s, size_t len);

/* ---- writer ---- */

#define HS_XMLW_MAX_DEPTH 64

/* Treat as opaque. Embed by value; set up with hs_xmlw_init. */
typedef struct hs_xmlw {
    hs_buf_t *out;
    int err;        /* first out-of-memory error, sticky */
    unsigned depth; /* open elements */
    bool tag_open;  /* a start tag is written up to its attributes */
    bool root_done; /* the root element is closed */
    bool started;   /* something was written (the declaration must be first) */
    unsigned nattrs; /* attributes of the open start tag */
    const char *open[HS_XMLW_MAX_DEPTH];  /* names of the open elements */
    const char *attrs[HS_XML_MAX_ATTRS];  /* attribute names of the open tag */
} hs_xmlw_t;

/*
 * Usage contract, common to the writer functions below: element and
 * attribute names must be valid XML QNames that live until the element
 * is closed (string literals, in practice); passing an invalid name,
 * closing the wrong element, writing a second root, text outside the
 * root or the declaration after anything else are programming errors and
 * fail an assertion. Values are untrusted: they are escaped, and a value
 * XML 1.0 cannot carry (!hs_xml_text_ok) makes the call return HS_EINVAL
 * having written nothing, the writer still usable -- the caller picks
 * what to do (for object keys: encoding-type=url, see hs_xmlw_elem_url).
 * Running out of memory makes the call, every later call and
 * hs_xmlw_finish return HS_ENOMEM. Otherwise calls return 0.
 */

/* Starts a document appended to out (after whatever out already holds). */
void hs_xmlw_init(hs_xmlw_t *w, hs_buf_t *out);

/* Writes <?xml version="1.0" encoding="UTF-8"?> and a newline. Must come
 * first if at all. */
int hs_xmlw_decl(hs_xmlw_t *w);

/* Writes the start tag <name>; attributes may follow until the next
 * call that is not hs_xmlw_attr. */
int hs_xmlw_open(hs_xmlw_t *w, const char *name);

/* Adds name="value" to the start tag just opened (quotes, <, &, TAB, CR,
 * LF escaped so the reader gives back value exactly). */
int hs_xmlw_attr(hs_xmlw_t *w, const char *name, const char *value, size_t len);

/* Writes the end tag of the innermost open element, which must be
 * `name`. An element with no content is written <name></name>. */
int hs_xmlw_close(hs_xmlw_t *w, const char *name);

/* Writes escaped character data into the innermost open element. */
int hs_xmlw_text(hs_xmlw_t *w, const char *s, size_t len);

/* <name>s escaped</name>, written whole or not at all. */
int hs_xmlw_elem(hs_xmlw_t *w, const char *name, const char *s, size_t len);

/* hs_xmlw_elem with a NUL-terminated value. */
int hs_xmlw_elem_str(hs_xmlw_t *w, const char *name, const char *s);

/* hs_xmlw_elem with a printf-formatted value (escaped too). A format
 * error returns HS_EINVAL. */
int hs_xmlw_elemf(hs_xmlw_t *w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* <name>s in S3 url encoding</name> (see hs_s3_url_encode): for keys,
 * prefixes and delimiters of a listing asked with encoding-type=url.
 * Any byte string can be written this way. */
int hs_xmlw_elem_url(hs_xmlw_t *w, const char *name, const char *s, size_t len);

/* Checks the document is complete (root closed). Returns 0 or the sticky
 * error; on error out holds a partial document the caller must drop. */
int hs_xmlw_finish(hs_xmlw_t *w);

/*
 * Appends s[0..len) to out in the url encoding of S3 listings
 * (encoding-type=url): ASCII letters, digits and - _ . * / are kept, a
 * space becomes '+', every other byte becomes %XX (upper-case hex), as
 * Amazon S3 does; clients decode it with form-url decoding. Returns 0 or
 * HS_ENOMEM.
 */
int hs_s3_url_encode(hs_buf_t *out, const char *s, size_t len);

#endif
