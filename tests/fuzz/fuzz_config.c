/*
 * libFuzzer harness for the config file parser (src/core/config.c).
 * Besides "no crash, no leak, no read past the buffer" it checks:
 *  - a failure leaves a one-line message naming the input ("fuzz:LINE: ...");
 *  - a success dumps to a file that parses back and dumps identically
 *    (hs_config_dump is a faithful, stable serialization);
 *  - hs_config_copy gives a config that dumps identically.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const hs_config_t *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    hs_config_dump(cfg, f);
    fclose(f);
    return buf;
}

static void check_message(const char *err)
{
    if (strncmp(err, "fuzz:", 5) != 0) {
        fprintf(stderr, "message does not name the input: %s\n", err);
        abort();
    }
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "control character in message: %s\n", err);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_config_t cfg, again, copy;
    char err[512];
    if (hs_config_init(&cfg) != 0)
        return 0;
    err[0] = '\0';
    int rc = hs_config_parse(&cfg, (const char *)data, size, "fuzz", err, sizeof(err));
    if (rc != 0) {
        if (rc != HS_ECONFIG && rc != HS_ENOMEM)
            abort();
        if (rc == HS_ECONFIG)
            check_message(err);
        hs_config_free(&cfg);
        return 0;
    }

    size_t n1 = 0, n2 = 0, n3 = 0;
    char *d1 = dump(&cfg, &n1);
    if (hs_config_init(&again) != 0)
        abort();
    if (hs_config_parse(&again, d1, n1, "dump", err, sizeof(err)) != 0) {
        fprintf(stderr, "dump does not parse back: %s\n--- dump ---\n%s", err, d1);
        abort();
    }
    char *d2 = dump(&again, &n2);
    if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
        fprintf(stderr, "dump changed across a round trip\n--- first ---\n%s--- second ---\n%s",
                d1, d2);
        abort();
    }
    if (hs_config_copy(&copy, &cfg) != 0)
        abort();
    char *d3 = dump(&copy, &n3);
    if (n1 != n3 || memcmp(d1, d3, n1) != 0)
        abort();
    free(d1);
    free(d2);
    free(d3);
    hs_config_free(&copy);
    hs_config_free(&again);
    hs_config_free(&cfg);
    return 0;
}
