/*
 * libFuzzer harness for hs_sigv4_verify and hs_sigv4_sign. The input is a
 * request head written with bare LFs ("GET /k?a=b HTTP/1.1\nHost: h\n..."):
 * LF becomes CRLF and the empty line is added, then the HTTP parser builds
 * the message. Properties checked (abort on violation):
 *  - verify never crashes or reads out of bounds, and every verdict is 0
 *    or a conventional code with an S3 error (status, code, message) set;
 *  - a successful verify fills what the body decoder needs;
 *  - signer and verifier agree: the same request signed by hs_sigv4_sign
 *    (every header signed) never fails with SignatureDoesNotMatch, so the
 *    two canonicalise every path, query and header value the same way.
 * The secret is fixed (the AWS documentation pair), the clock is the
 * AWS examples' 2013-05-24.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "http/parse.h"
#include "origin/sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW 1369353600ll
#define MAXH 64

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    (void)arg;
    return len == strlen(AK) && !memcmp(ak, AK, len) ? SK : NULL;
}

static int verify(const char *head, size_t n, hs_sigv4_auth_t *a, hs_http_msg_t *m,
                  hs_http_header_t *h)
{
    hs_http_error_t err;
    if (hs_http_parse_request(head, n, m, h, MAXH, NULL, &err) != (ssize_t)n)
        return 1; /* not a request: nothing to verify */
    int rc = hs_sigv4_verify(m, secret_of, NULL, "us-east-1", NOW, 900, a);
    if (rc == 0) {
        CHECK(a->kind == HS_SIGV4_ANON || a->access_key[0]);
        if (a->kind != HS_SIGV4_ANON) {
            CHECK(strlen(a->seed_signature) == 64 && strlen(a->amz_date) == 16);
            CHECK(strlen(a->scope) > 9);
        }
        return 0;
    }
    CHECK(rc == HS_EACCES || rc == HS_EINVAL || rc == HS_ENOMEM);
    CHECK(a->err.code && a->err.message);
    CHECK(a->err.status == 400 || a->err.status == 403 || a->err.status == 411 ||
          a->err.status == 500);
    CHECK((rc == HS_EACCES) == (a->err.status == 403));
    return rc;
}

/* A NUL-terminated copy of s, or NULL if s holds a NUL. */
static char *cstr(hs_str_t s)
{
    if (memchr(s.base, 0, s.len))
        return NULL;
    char *c = malloc(s.len + 1);
    CHECK(c);
    memcpy(c, s.base, s.len);
    c[s.len] = 0;
    return c;
}

static void round_trip(const char *head, size_t n, const hs_http_msg_t *m)
{
    if (hs_http_find_header(m, "authorization", 13, 0) >= 0)
        return;
    char *method = cstr(m->method_str), *path = cstr(m->path), *query = cstr(m->query);
    /* the signer signs the date it is given: give it the request's */
    int dh = hs_http_find_header(m, "x-amz-date", 10, 0);
    char *date = dh >= 0 ? cstr(m->headers[dh].value) : NULL;
    int ph = hs_http_find_header(m, "x-amz-content-sha256", 20, 0);
    char *payload = ph >= 0 ? cstr(m->headers[ph].value) : strdup("UNSIGNED-PAYLOAD");
    char auth[4096];
    int rc = HS_EINVAL;
    if (method && path && query && payload && date)
        rc = hs_sigv4_sign(method, path, query, m->headers, m->num_headers, payload, AK, SK,
                           "us-east-1", date, auth, sizeof(auth));
    free(date);
    free(method);
    free(path);
    free(query);
    free(payload);
    if (rc < 0)
        return; /* no host header, too many headers... */
    CHECK((size_t)rc == strlen(auth));
    /* the same head with the Authorization field before the empty line */
    size_t hl = n - 2, an = (size_t)rc;
    char *signed_head = malloc(hl + an + 32);
    CHECK(signed_head);
    memcpy(signed_head, head, hl);
    size_t o = hl;
    memcpy(signed_head + o, "Authorization: ", 15);
    o += 15;
    memcpy(signed_head + o, auth, an);
    o += an;
    memcpy(signed_head + o, "\r\n\r\n", 4);
    o += 4;
    hs_http_header_t h[MAXH];
    hs_http_msg_t m2;
    hs_sigv4_auth_t a;
    rc = verify(signed_head, o, &a, &m2, h);
    if (rc && a.err.code && !strcmp(a.err.code, "SignatureDoesNotMatch")) {
        fprintf(stderr, "signed request not verified:\n%.*s\n", (int)o, signed_head);
        abort();
    }
    free(signed_head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    /* LF -> CRLF, then the empty line */
    char *head = malloc(2 * size + 2);
    CHECK(head);
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n')
            head[n++] = '\r';
        head[n++] = (char)data[i];
    }
    head[n++] = '\r';
    head[n++] = '\n';
    /* an exact-size copy so ASan sees reads past the head */
    char *exact = malloc(n);
    CHECK(exact);
    memcpy(exact, head, n);
    free(head);
    hs_http_header_t h[MAXH];
    hs_http_msg_t m;
    hs_sigv4_auth_t a;
    if (verify(exact, n, &a, &m, h) != 1)
        round_trip(exact, n, &m);
    free(exact);
    return 0;
}
