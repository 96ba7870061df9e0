/* `hyperscale version`: what this binary is. */
#include <stdio.h>

#include "cmd/cli.h"

#ifndef HS_VERSION
#define HS_VERSION "0.1.0"
#endif

static int run(hs_cli_t *cli)
{
    (void)cli;
    printf("hyperscale %s (built %s %s, gcc %d.%d)\n", HS_VERSION, __DATE__, __TIME__,
           __GNUC__, __GNUC_MINOR__);
    return 0;
}

static const hs_cli_opt_t opts[] = {{0}};

const hs_cmd_t hs_cmd_version = {
    .name = "version",
    .summary = "print the version",
    .opts = opts,
    .run = run,
};
