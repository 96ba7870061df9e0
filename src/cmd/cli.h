/*
 * The command-line front end: every subcommand is a descriptor listed once
 * in cmd-tbl.h; option parsing, --help text and the config layering
 * (defaults < config file < HYPERSCALE_* environment < flags) are done here
 * once for all of them.
 */
#ifndef HS_CMD_CLI_H
#define HS_CMD_CLI_H

#include <stdbool.h>

#include "core/config.h"

#define HS_CLI_MAX_OPTS 32
#define HS_CLI_MAX_SETS 64

/* One option of a subcommand. If `key` is set, the option's value is the
 * config key's value (so --listen X is the same as listen = X in the file);
 * otherwise the command reads it with hs_cli_opt(). A NULL `arg` makes a
 * boolean flag. */
typedef struct hs_cli_opt {
    const char *name; /* long name without "--" */
    const char *arg;  /* metavariable ("DIR") or NULL for a flag */
    const char *key;  /* config key, or NULL */
    const char *help;
} hs_cli_opt_t;

typedef struct hs_cli hs_cli_t;

typedef struct hs_cmd {
    const char *name;
    const char *summary; /* one line for the command list */
    const char *usage;   /* arguments after the command name */
    const char *details; /* paragraph(s) for --help, or NULL */
    bool uses_config;    /* accepts --config/--set and loads configuration */
    const hs_cli_opt_t *opts; /* terminated by {0} */
    /* Returns the process exit status. */
    int (*run)(hs_cli_t *cli);
} hs_cmd_t;

struct hs_cli {
    const hs_cmd_t *cmd;
    const char *prog;
    int argc;         /* positional arguments after options */
    char **argv;
    const char *vals[HS_CLI_MAX_OPTS]; /* values of key-less options, by index */
    const char *config_path;           /* --config or HYPERSCALE_CONFIG */
    const char *sets[HS_CLI_MAX_SETS][3]; /* flag layer: key, value, origin */
    int nsets;
    hs_config_t cfg; /* effective configuration (when uses_config) */
};

/* Value of the key-less option `name` (NULL if absent; "1" for flags). */
const char *hs_cli_opt(const hs_cli_t *cli, const char *name);

/*
 * Builds a fresh configuration from every layer again (file and
 * environment are re-read), as SIGHUP does. Returns 0, or HS_ECONFIG with
 * a message in err naming the file/variable/flag and key.
 */
int hs_cli_load_config(const hs_cli_t *cli, hs_config_t *out, char *err, size_t errlen);

/* Prints "hyperscale CMD: msg\n" to stderr; returns 2 (the usage exit code). */
int hs_cli_fail(const hs_cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Entry point used by main(). */
int hs_cli_main(int argc, char **argv);

#define HS_CMD(name) extern const hs_cmd_t hs_cmd_##name;
#include "cmd/cmd-tbl.h"
#undef HS_CMD

#endif
