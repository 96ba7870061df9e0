/*
 * libFuzzer harness for S3 request routing (src/origin/route.c): the input
 * is an HTTP request head, parsed by the HTTP parser and then routed with
 * virtual-host domain "localhost". Properties (abort() when violated):
 * routing either fails with an S3 error code or names an operation; a
 * key is 1..1024 bytes without NUL; a bucket-less request is ListBuckets;
 * every decoded query parameter is NUL-free and as long as it says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/err.h"
#include "http/parse.h"
#include "origin/s3-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_http_header_t hdrs[64];
    hs_http_msg_t msg;
    hs_http_error_t err;
    hs_http_limits_t lim = {0};
    if (hs_http_parse_request((const char *)data, size, &msg, hdrs, 64, &lim, &err) <= 0)
        return 0;
    hs_arena_t a;
    hs_arena_init(&a, 1024);
    s3route_t rt;
    s3_route_err_t re = {0};
    int rc = hs__s3_route(&msg, "localhost", &a, &rt, &re);
    if (rc) {
        CHECK(rc == HS_ENOMEM || re.code != NULL);
    } else {
        CHECK(rt.op > OP_NONE && rt.op < OP__COUNT);
        if (!rt.bucket)
            CHECK(rt.op == OP_LIST_BUCKETS && !rt.key);
        else
            CHECK(rt.bucket[0] && strlen(rt.bucket) <= 255);
        if (rt.key)
            CHECK(rt.keylen >= 1 && rt.keylen <= 1024 && strlen(rt.key) == rt.keylen);
        for (unsigned i = 0; i < rt.nparams; i++)
            CHECK(strlen(rt.params[i].value) == rt.params[i].value_len);
    }
    hs_arena_free(&a);
    return 0;
}
