/*
 * Driver of bench/sigv4-verify: the cost of one SigV4 verification
 * (hs_sigv4_verify) on requests as the S3 origin sees them, in ns/verify.
 *
 *   sigv4-verify-bench [iterations] [rounds]
 *
 * Cases, each parsed once and verified `iterations` times per round (the
 * verifier is a pure function of the parsed head), best round reported:
 * - get:     an aws-cli style signed GetObject (host;x-amz-content-sha256;
 *            x-amz-date signed, User-Agent and Accept-Encoding unsigned),
 *            signed at start with the documentation key pair;
 * - list:    the captured aws-cli ListObjectsV2 of tests/unit/origin
 *            (a query of three parameters to decode, sort and re-encode);
 * - presign: the captured `aws s3 presign` URL;
 * - key:     hs_sigv4_signing_key alone (the per-day HMAC chain).
 * Every verification must succeed; a failure aborts the run.
 * Output: one "case ns/verify" line per case, for bench/sigv4-verify to
 * put side by side with another build's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "http/parse.h"
#include "origin/sigv4.h"
#include "../tests/unit/origin/sigv4_vectors.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define GET_NOW 1795860300ll /* 2026-11-28T10:05:00Z */
#define GET_DATE "20261128T100500Z"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *secret_of(void *arg, const char *ak, size_t len)
{
    return len == strlen(AK) && !memcmp(ak, AK, len) ? SK : NULL;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct bcase {
    const char *name;
    char *head;
    int64_t now;
    hs_http_msg_t msg;
    hs_http_header_t h[32];
} bcase_t;

static void parse_case(bcase_t *c)
{
    hs_http_error_t err;
    size_t n = strlen(c->head);
    if (hs_http_parse_request(c->head, n, &c->msg, c->h, 32, NULL, &err) != (ssize_t)n) {
        fprintf(stderr, "%s: does not parse (%d %s)\n", c->name, err.status, err.reason);
        exit(1);
    }
}

/* The GetObject aws-cli 2 sends, signed here so its date is fixed. */
static char *signed_get(void)
{
    hs_http_header_t hs[3] = {
        {HS_STR_LIT("Host"), HS_STR_LIT("127.0.0.1:9000")},
        {HS_STR_LIT("X-Amz-Date"), HS_STR_LIT(GET_DATE)},
        {HS_STR_LIT("X-Amz-Content-SHA256"), HS_STR_LIT(EMPTY_SHA)},
    };
    char auth[512];
    if (hs_sigv4_sign("GET", "/bench/obj-000123", "", hs, 3, EMPTY_SHA, AK, SK, "us-east-1",
                      GET_DATE, auth, sizeof(auth)) < 0) {
        fprintf(stderr, "signing the GET failed\n");
        exit(1);
    }
    char *head = malloc(2048);
    snprintf(head, 2048,
             "GET /bench/obj-000123 HTTP/1.1\r\n"
             "Host: 127.0.0.1:9000\r\n"
             "Accept-Encoding: identity\r\n"
             "User-Agent: aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0-28-amd64 "
             "source/x86_64.debian.12 prompt/off command/s3api.get-object\r\n"
             "X-Amz-Date: " GET_DATE "\r\n"
             "X-Amz-Content-SHA256: " EMPTY_SHA "\r\n"
             "Authorization: %s\r\n"
             "\r\n",
             auth);
    return head;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    bcase_t cases[3] = {
        {.name = "get", .head = signed_get(), .now = GET_NOW},
        {.name = "list", .head = strdup(awscli_list), .now = AWSCLI_LIST_NOW},
        {.name = "presign", .head = strdup(awscli_presign), .now = AWSCLI_PRESIGN_NOW},
    };
    for (int i = 0; i < 3; i++)
        parse_case(&cases[i]);
    volatile unsigned sink = 0;
    for (int i = 0; i < 4; i++) {
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            double t0 = now_ns();
            for (long k = 0; k < iters; k++) {
                if (i == 3) {
                    uint8_t key[32];
                    if (hs_sigv4_signing_key(SK, "20261128", "us-east-1", key))
                        abort();
                    sink += key[0];
                    continue;
                }
                hs_sigv4_auth_t a;
                int rc = hs_sigv4_verify(&cases[i].msg, secret_of, NULL, "us-east-1",
                                         cases[i].now, 900, &a);
                if (rc) {
                    fprintf(stderr, "%s: verify failed %d %s: %s\n", cases[i].name, rc,
                            a.err.code, a.err.message);
                    return 1;
                }
                sink += a.signing_key[0];
            }
            double ns = (now_ns() - t0) / (double)iters;
            if (ns < best)
                best = ns;
        }
        printf("%s %.0f\n", i == 3 ? "key" : cases[i].name, best);
        fflush(stdout);
    }
    for (int i = 0; i < 3; i++)
        free(cases[i].head);
    return sink == 12345 ? 2 : 0;
}
