/*
 * libFuzzer harness for the shield's CIDR list parser (hs_cidr_parse_list,
 * src/shield/cidr.c), which reads shield.deny and shield.allow. Properties
 * (abort() when violated):
 *   the result is 0 or HS_EINVAL; a failure leaves the list empty and an
 *   error starting "bad entry '" that is NUL-terminated in its buffer;
 *   a success holds at most HS_CIDR_MAX entries, each with no bit set past
 *   its prefix, each matching its own address and, below /128, the
 *   address with its last bit flipped;
 *   printing the entries back as "addr/len" and parsing that gives the
 *   same entries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "shield/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_cidr_list_t l;
    char err[160];
    memset(err, 'x', sizeof(err));
    int rc = hs_cidr_parse_list((const char *)data, size, &l, err, sizeof(err));
    CHECK(rc == 0 || rc == HS_EINVAL);
    if (rc != 0) {
        CHECK(l.n == 0 && l.v == NULL);
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        CHECK(strncmp(err, "bad entry '", 11) == 0);
        return 0;
    }
    CHECK(l.n <= HS_CIDR_MAX);
    size_t cap = (size_t)l.n * 64 + 1;
    char *text = malloc(cap);
    CHECK(text);
    size_t tl = 0;
    for (unsigned i = 0; i < l.n; i++) {
        hs_cidr_t c = l.v[i];
        CHECK(c.bits <= 128);
        uint8_t m[16];
        memcpy(m, c.addr, 16);
        hs_cidr_mask(m, c.bits);
        CHECK(memcmp(m, c.addr, 16) == 0);
        CHECK(hs_cidr_match(&c, c.addr));
        if (c.bits < 128) {
            m[15] ^= 1;
            CHECK(hs_cidr_match(&c, m));
        }
        /* A mapped address keeps its ::ffff only with a prefix of at
         * least 96, so it always prints as dotted IPv4 with bits - 96. */
        char a[64];
        hs_cidr_addr_str(c.addr, a, sizeof(a));
        bool v4 = hs_cidr_is_v4(c.addr);
        CHECK(!v4 || c.bits >= 96);
        tl += (size_t)snprintf(text + tl, cap - tl, "%s%s/%u", i ? "," : "", a,
                               v4 ? c.bits - 96u : c.bits);
    }
    hs_cidr_list_t again;
    char err2[160];
    int rc2 = hs_cidr_parse_list(text, tl, &again, err2, sizeof(err2));
    if (rc2 != 0)
        fprintf(stderr, "reparse of \"%s\": %s\n", text, err2);
    CHECK(rc2 == 0);
    CHECK(again.n == l.n);
    for (unsigned i = 0; i < l.n; i++)
        CHECK(memcmp(&again.v[i], &l.v[i], sizeof(hs_cidr_t)) == 0);
    hs_cidr_list_free(&again);
    free(text);
    hs_cidr_list_free(&l);
    return 0;
}
