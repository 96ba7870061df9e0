/*
 * libFuzzer harness for the edge's admin purge query parser
 * (hs__edge_purge_parse_query in src/edge/purge.c). The input is the query
 * string. Properties (abort() when violated): the decode buffer of the
 * documented size is never overrun (ASan checks the exact allocation);
 * on success 1..16 arguments, each inside the buffer, and url=/prefix=
 * keys hold "host /path" with a lower-case host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "edge/proxy-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *q = malloc(size ? size : 1);
    size_t blen = HS_EDGE_PURGE_QUERY_BUF(size);
    char *buf = malloc(blen);
    if (!q || !buf)
        abort();
    memcpy(q, data, size);
    hs_edge_purge_kind_t kind;
    hs_str_t args[HS_EDGE_PURGE_MAX_ARGS];
    size_t nargs = 0;
    bool soft = false;
    const char *why = hs__edge_purge_parse_query((hs_str_t){q, size}, buf, &kind, args, &nargs,
                                                 &soft);
    CHECK(nargs <= HS_EDGE_PURGE_MAX_ARGS);
    if (!why) {
        CHECK(nargs >= 1);
        for (size_t i = 0; i < nargs; i++) {
            CHECK(args[i].base >= buf && args[i].base + args[i].len <= buf + blen);
            if (kind != HS_EDGE_PURGE_TAG) {
                const char *sp = memchr(args[i].base, ' ', args[i].len);
                CHECK(sp != NULL && sp + 1 < args[i].base + args[i].len && sp[1] == '/');
                for (const char *c = args[i].base; c < sp; c++)
                    CHECK(!(*c >= 'A' && *c <= 'Z'));
            }
        }
    }
    free(buf);
    free(q);
    return 0;
}
