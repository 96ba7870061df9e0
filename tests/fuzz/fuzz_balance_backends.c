/*
 * libFuzzer harness for the balancer's backend lists (src/balance/parse.c):
 * "http://HOST:PORT[;weight=N]" items, comma-separated, from --origin,
 * --fallback and the config file. The whole input is one list; each
 * comma-separated piece is also parsed on its own, without a NUL.
 * Properties (abort() when violated):
 *   - an accepted backend's name is NUL-terminated inside its buffer, has
 *     a port after its last ':', and parses again to itself (stable);
 *   - its weight is 1..65535;
 *   - a list's count is at most its number of commas plus one, and 0 only
 *     for an empty (blank) list;
 *   - a too-small name buffer gives HS_EINVAL, never a truncated name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "balance/balance.h"
#include "core/err.h"

static void one(const char *p, size_t n)
{
    char name[HS_BALANCE_NAME_MAX];
    unsigned w = 0;
    int rc = hs_balance_parse_backend(p, n, name, sizeof(name), &w);
    CHECK(rc == 0 || rc == HS_EINVAL);
    if (rc != 0)
        return;
    size_t len = strnlen(name, sizeof(name));
    CHECK(len < sizeof(name) && len > 2);
    const char *colon = strrchr(name, ':');
    CHECK(colon && colon[1] >= '0' && colon[1] <= '9');
    CHECK(w >= 1 && w <= 65535);
    char again[HS_BALANCE_NAME_MAX];
    unsigned w2 = 0;
    CHECK(hs_balance_parse_backend(name, len, again, sizeof(again), &w2) == 0);
    CHECK(strcmp(again, name) == 0 && w2 == HS_BALANCE_DEFAULT_WEIGHT);
    char small[8];
    if (len >= sizeof(small))
        CHECK(hs_balance_parse_backend(p, n, small, sizeof(small), NULL) == HS_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* pieces, each without a terminating NUL of its own */
    const char *p = (const char *)data, *end = p + size;
    while (p <= end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end;
        size_t n = (size_t)(e - p);
        char *piece = malloc(n ? n : 1);
        if (piece) {
            memcpy(piece, p, n);
            one(piece, n);
            free(piece);
        }
        if (!c)
            break;
        p = c + 1;
    }
    char bad[64];
    int count = hs_balance_check_list(s, bad, sizeof(bad));
    CHECK(count >= 0 || count == HS_EINVAL || count == HS_ELIMIT);
    if (strlen(s) == size) { /* no NUL inside: the list is the whole input */
        size_t commas = 0, blank = 1;
        for (size_t i = 0; i < size; i++) {
            commas += s[i] == ',';
            blank &= s[i] == ' ' || s[i] == '\t';
        }
        CHECK(count <= (int)(commas + 1));
        CHECK(count != 0 || blank);
    }
    free(s);
    return 0;
}
