/* `hyperscale config`: print the effective configuration (every key, its
 * value and help), check a file, or emit the reference table for docs. */
#include <stdio.h>

#include "cmd/cli.h"

static int run(hs_cli_t *cli)
{
    if (hs_cli_opt(cli, "markdown")) {
        hs_config_dump_markdown(stdout);
        return 0;
    }
    if (hs_cli_opt(cli, "check")) {
        printf("configuration ok%s%s\n", cli->config_path ? ": " : "",
               cli->config_path ? cli->config_path : "");
        return 0;
    }
    hs_config_dump(&cli->cfg, stdout);
    return 0;
}

static const hs_cli_opt_t opts[] = {
    {"check", NULL, NULL, "only validate the configuration; exit 0 if valid, 2 if not"},
    {"markdown", NULL, NULL, "print the key reference as a Markdown table"},
    {0},
};

const hs_cmd_t hs_cmd_config = {
    .name = "config",
    .summary = "print the effective configuration, or check it",
    .details = "Layers, later ones winning: built-in defaults, the file given with --config\n"
               "(or HYPERSCALE_CONFIG), HYPERSCALE_<KEY> environment variables, flags.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
