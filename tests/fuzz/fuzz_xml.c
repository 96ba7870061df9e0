/*
 * libFuzzer harness for the origin's XML reader and writer
 * (src/origin/xml.c, xmlw.c) and the name checks (names.c). Properties
 * checked (abort on violation):
 *  - a parse either fails with HS_EBADMSG / HS_ELIMIT and a reason at an
 *    offset inside the input, or gives a tree whose names are QNames and
 *    whose texts are NUL-terminated, NUL-free XML character data;
 *  - round trip: a parsed tree written back with the writer parses again
 *    to the same tree, and writing that tree gives the same bytes;
 *  - bounds: with tighter limits a document is accepted as before or
 *    refused with HS_ELIMIT, and a refused one stays refused;
 *  - the writer takes any bytes as an element and an attribute: refused
 *    with HS_EINVAL (writing nothing) exactly when hs_xml_text_ok says
 *    so, and otherwise read back unchanged; url encoding decodes back;
 *  - hs_s3_key_ok agrees with its definition.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "origin/s3err.h"
#include "origin/xml.h"

static void check_node(const hs_xml_node_t *n, unsigned depth)
{
    CHECK(depth <= HS_XML_MAX_DEPTH);
    CHECK(strlen(n->name) == n->name_len && n->name_len > 0);
    CHECK(strchr(n->name, ':') == NULL);
    CHECK(strlen(n->text) == n->text_len);
    CHECK(hs_xml_text_ok(n->text, n->text_len));
    CHECK(n->nattrs <= HS_XML_MAX_ATTRS);
    for (size_t i = 0; i < n->nattrs; i++) {
        const hs_xml_attr_t *a = &n->attrs[i];
        CHECK(strlen(a->value) == a->value_len);
        CHECK(hs_xml_text_ok(a->value, a->value_len));
        CHECK(a->local >= a->name && a->local < a->name + strlen(a->name));
        CHECK(strcmp(a->name, "xmlns") != 0 && strncmp(a->name, "xmlns:", 6) != 0);
    }
    size_t k = 0;
    for (const hs_xml_node_t *c = n->children; c; c = c->next, k++) {
        CHECK(c->parent == n);
        check_node(c, depth + 1);
    }
    CHECK(k == n->nchildren);
    CHECK(hs_xml_count(n, NULL) == k);
}

/* Text first, then the children: the reader concatenates an element's
 * text pieces, so this is the same tree. */
static void write_node(hs_xmlw_t *w, const hs_xml_node_t *n)
{
    CHECK(hs_xmlw_open(w, n->name) == 0);
    for (size_t i = 0; i < n->nattrs; i++)
        CHECK(hs_xmlw_attr(w, n->attrs[i].name, n->attrs[i].value, n->attrs[i].value_len) == 0);
    if (n->text_len)
        CHECK(hs_xmlw_text(w, n->text, n->text_len) == 0);
    for (const hs_xml_node_t *c = n->children; c; c = c->next)
        write_node(w, c);
    CHECK(hs_xmlw_close(w, n->name) == 0);
}

static void write_doc(hs_buf_t *b, const hs_xml_node_t *root)
{
    hs_xmlw_t w;
    hs_xmlw_init(&w, b);
    CHECK(hs_xmlw_decl(&w) == 0);
    write_node(&w, root);
    CHECK(hs_xmlw_finish(&w) == 0);
}

static bool same_tree(const hs_xml_node_t *a, const hs_xml_node_t *b)
{
    if (strcmp(a->name, b->name) != 0 || a->text_len != b->text_len ||
        memcmp(a->text, b->text, a->text_len) != 0 || a->nattrs != b->nattrs ||
        a->nchildren != b->nchildren)
        return false;
    for (size_t i = 0; i < a->nattrs; i++) {
        if (strcmp(a->attrs[i].name, b->attrs[i].name) != 0 ||
            a->attrs[i].value_len != b->attrs[i].value_len ||
            memcmp(a->attrs[i].value, b->attrs[i].value, a->attrs[i].value_len) != 0)
            return false;
    }
    for (a = a->children, b = b->children; a && b; a = a->next, b = b->next) {
        if (!same_tree(a, b))
            return false;
    }
    return !a && !b;
}

static int parse(hs_arena_t *arena, const char *in, size_t n, const hs_xml_opts_t *o,
                 hs_xml_node_t **root)
{
    hs_xml_error_t e = {0, NULL};
    int rc = hs_xml_parse(arena, in, n, o, root, &e);
    CHECK(rc == 0 || rc == HS_EBADMSG || rc == HS_ELIMIT);
    if (rc != 0)
        CHECK(e.reason != NULL && e.offset <= n);
    return rc;
}

static void check_document(const char *in, size_t n)
{
    hs_arena_t arena;
    hs_arena_init(&arena, 0);
    hs_xml_node_t *root = NULL;
    int rc = parse(&arena, in, n, NULL, &root);

    hs_xml_opts_t tight = {.max_depth = 3, .max_elems = 8};
    hs_xml_node_t *troot;
    int trc = parse(&arena, in, n, &tight, &troot);
    if (rc == 0)
        CHECK(trc == 0 || trc == HS_ELIMIT);
    else
        CHECK(trc != 0);
    if (trc == 0)
        CHECK(rc == 0 && same_tree(root, troot));

    if (rc == 0) {
        check_node(root, 1);
        hs_buf_t out = HS_BUF_INIT, again = HS_BUF_INIT;
        write_doc(&out, root);
        /* an exact-size copy, so ASan sees reads past the end */
        size_t len = hs_buf_len(&out);
        char *copy = malloc(len);
        CHECK(copy);
        memcpy(copy, hs_buf_data(&out), len);
        hs_xml_node_t *back = NULL;
        int brc = parse(&arena, copy, len, NULL, &back);
        if (brc != 0) {
            fprintf(stderr, "written document rejected:\n%.*s\n", (int)len, copy);
            abort();
        }
        CHECK(same_tree(root, back));
        write_doc(&again, back);
        CHECK(hs_buf_len(&again) == len && memcmp(hs_buf_data(&again), copy, len) == 0);
        free(copy);
        hs_buf_free(&out);
        hs_buf_free(&again);
    }
    hs_arena_free(&arena);
}

static int unhex(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

static void check_writer(const char *s, size_t n)
{
    hs_arena_t arena;
    hs_arena_init(&arena, 0);
    bool ok = hs_xml_text_ok(s, n);
    hs_buf_t b = HS_BUF_INIT;
    hs_xmlw_t w;
    hs_xmlw_init(&w, &b);
    hs_xmlw_open(&w, "r");
    int arc = hs_xmlw_attr(&w, "a", s, n);
    size_t before = hs_buf_len(&b);
    int erc = hs_xmlw_elem(&w, "k", s, n);
    CHECK(arc == (ok ? 0 : HS_EINVAL) && erc == arc);
    if (!ok)
        CHECK(hs_buf_len(&b) == before);
    hs_xmlw_elem_url(&w, "u", s, n);
    hs_xmlw_close(&w, "r");
    CHECK(hs_xmlw_finish(&w) == 0);

    hs_xml_node_t *r;
    CHECK(parse(&arena, hs_buf_data(&b), hs_buf_len(&b), NULL, &r) == 0);
    if (ok) {
        CHECK(r->nattrs == 1 && r->attrs[0].value_len == n &&
              memcmp(r->attrs[0].value, s, n) == 0);
        const hs_xml_node_t *k = hs_xml_child(r, "k");
        CHECK(k && k->text_len == n && memcmp(k->text, s, n) == 0);
    }
    size_t ulen;
    const char *u = hs_xml_child_text(r, "u", &ulen);
    CHECK(u);
    char *dec = malloc(n + 1);
    CHECK(dec);
    size_t d = 0;
    for (size_t i = 0; i < ulen; i++) {
        if (u[i] == '%') {
            CHECK(i + 2 < ulen);
            dec[d++] = (char)(unhex(u[i + 1]) << 4 | unhex(u[i + 2]));
            i += 2;
        } else {
            dec[d++] = u[i] == '+' ? ' ' : u[i];
        }
        CHECK(d <= n);
    }
    CHECK(d == n && memcmp(dec, s, n) == 0);
    free(dec);
    hs_buf_free(&b);
    hs_arena_free(&arena);
}

static void check_names(const char *s, size_t n)
{
    const char *why = hs_s3_key_ok(s, n);
    bool valid = n >= 1 && n <= HS_S3_KEY_MAX && !memchr(s, 0, n);
    if (!valid)
        CHECK(why != NULL);
    if (valid && hs_xml_text_ok(s, n))
        CHECK(why == NULL); /* XML-valid text is valid UTF-8 */
    why = hs_s3_bucket_name_ok(s, n);
    if (!why) {
        CHECK(n >= 3 && n <= 63);
        CHECK(hs_xml_text_ok(s, n));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_document(s, size);
    size_t small = size < 4096 ? size : 4096;
    check_writer(s, small);
    check_names(s, small);
    return 0;
}
