/*
 * Subcommand dispatch, option parsing and --help, all driven by the
 * descriptors of cmd-tbl.h, plus the configuration layering every
 * long-running command shares.
 */
#include "cmd/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

extern char **environ;

static const hs_cmd_t *const commands[] = {
#define HS_CMD(name) &hs_cmd_##name,
#include "cmd/cmd-tbl.h"
#undef HS_CMD
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Options every configurable command takes. */
static const hs_cli_opt_t common_opts[] = {
    {"config", "FILE", NULL, "read configuration from FILE (also HYPERSCALE_CONFIG)"},
    {"set", "KEY=VALUE", NULL, "set any configuration key (repeatable); see `hyperscale config`"},
    {"log-level", "LEVEL", "log.level", "debug, info, warn, error or off"},
    {0},
};

static void print_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", prog);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "  %-10s %s\n", "help", "show this list, or `help COMMAND` for one command");
    fprintf(out, "\nRun `%s COMMAND --help` for a command's options.\n", prog);
}

static void print_opts(FILE *out, const hs_cli_opt_t *opts)
{
    for (const hs_cli_opt_t *o = opts; o && o->name; o++) {
        char lhs[64];
        snprintf(lhs, sizeof(lhs), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-24s %s", lhs, o->help);
        if (o->key)
            fprintf(out, " [key %s]", o->key);
        fputc('\n', out);
    }
}

static void print_cmd_help(FILE *out, const char *prog, const hs_cmd_t *cmd)
{
    fprintf(out, "usage: %s %s [OPTIONS]%s%s\n\n%s\n", prog, cmd->name,
            cmd->usage ? " " : "", cmd->usage ? cmd->usage : "", cmd->summary);
    if (cmd->details)
        fprintf(out, "\n%s\n", cmd->details);
    fprintf(out, "\noptions:\n");
    print_opts(out, cmd->opts);
    if (cmd->uses_config)
        print_opts(out, common_opts);
    fprintf(out, "  %-24s %s\n", "--help", "show this help");
}

int hs_cli_fail(const hs_cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s %s: ", cli->prog, cli->cmd ? cli->cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

const char *hs_cli_opt(const hs_cli_t *cli, const char *name)
{
    int i = 0;
    for (const hs_cli_opt_t *o = cli->cmd->opts; o && o->name; o++, i++)
        if (strcmp(o->name, name) == 0)
            return cli->vals[i];
    return NULL;
}

int hs_cli_load_config(const hs_cli_t *cli, hs_config_t *out, char *err, size_t errlen)
{
    int rc = hs_config_init(out);
    if (rc == 0 && cli->config_path)
        rc = hs_config_load_file(out, cli->config_path, err, errlen);
    if (rc == 0)
        rc = hs_config_load_env(out, environ, err, errlen);
    for (int i = 0; rc == 0 && i < cli->nsets; i++)
        rc = hs_config_set(out, cli->sets[i][0], cli->sets[i][1], cli->sets[i][2], err, errlen);
    if (rc != 0) {
        if (rc == HS_ENOMEM)
            snprintf(err, errlen, "out of memory");
        hs_config_free(out);
        return HS_ECONFIG;
    }
    return 0;
}

/* Finds option `name` in opts; returns its index or -1. */
static int find_opt(const hs_cli_opt_t *opts, const char *name, size_t len)
{
    int i = 0;
    for (const hs_cli_opt_t *o = opts; o && o->name; o++, i++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return i;
    return -1;
}

static int add_set(hs_cli_t *cli, const char *key, const char *val, const char *origin)
{
    if (cli->nsets == HS_CLI_MAX_SETS)
        return hs_cli_fail(cli, "too many --set options (at most %d)", HS_CLI_MAX_SETS);
    cli->sets[cli->nsets][0] = key;
    cli->sets[cli->nsets][1] = val;
    cli->sets[cli->nsets][2] = origin;
    cli->nsets++;
    return 0;
}

/* Parses argv after the command name. Returns 0, 1 for --help, or 2. */
static int parse_args(hs_cli_t *cli, int argc, char **argv)
{
    static char origins[HS_CLI_MAX_SETS][160];
    static char keybuf[HS_CLI_MAX_SETS][128];
    char **pos = calloc((size_t)argc + 1, sizeof(*pos));
    if (!pos)
        return hs_cli_fail(cli, "out of memory");
    cli->argv = pos;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] != '-' || a[2] == '\0') {
            if (!only_pos && strcmp(a, "--") == 0) {
                only_pos = true;
                continue;
            }
            if (a[0] == '-' && a[1] != '\0' && !only_pos)
                return hs_cli_fail(cli, "unknown option '%s' (try --help)", a);
            pos[cli->argc++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen == 4 && memcmp(name, "help", 4) == 0)
            return 1;
        const hs_cli_opt_t *opt = NULL;
        int idx = find_opt(cli->cmd->opts, name, nlen);
        bool common = false;
        if (idx >= 0) {
            opt = &cli->cmd->opts[idx];
        } else if (cli->cmd->uses_config && (idx = find_opt(common_opts, name, nlen)) >= 0) {
            opt = &common_opts[idx];
            common = true;
        } else {
            return hs_cli_fail(cli, "unknown option '--%.*s' (try --help)", (int)nlen, name);
        }
        const char *val = "1";
        if (opt->arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return hs_cli_fail(cli, "option --%s needs a value (%s)", opt->name, opt->arg);
        } else if (eq) {
            return hs_cli_fail(cli, "option --%s takes no value", opt->name);
        }
        int n = cli->nsets;
        if (common && strcmp(opt->name, "config") == 0) {
            cli->config_path = val;
        } else if (common && strcmp(opt->name, "set") == 0) {
            const char *veq = strchr(val, '=');
            if (!veq || veq == val)
                return hs_cli_fail(cli, "--set wants KEY=VALUE, got '%s'", val);
            if (n == HS_CLI_MAX_SETS || (size_t)(veq - val) >= sizeof(keybuf[0]))
                return hs_cli_fail(cli, "--set '%s': key too long or too many --set", val);
            memcpy(keybuf[n], val, (size_t)(veq - val));
            keybuf[n][veq - val] = '\0';
            snprintf(origins[n], sizeof(origins[n]), "flag --set %s", keybuf[n]);
            if (add_set(cli, keybuf[n], veq + 1, origins[n]))
                return 2;
        } else if (opt->key) {
            if (n == HS_CLI_MAX_SETS)
                return hs_cli_fail(cli, "too many options");
            snprintf(origins[n], sizeof(origins[n]), "flag --%s", opt->name);
            if (add_set(cli, opt->key, val, origins[n]))
                return 2;
        } else {
            cli->vals[idx] = val;
        }
    }
    return 0;
}

int hs_cli_main(int argc, char **argv)
{
    hs_cli_t cli = {.prog = "hyperscale"};
    if (argc < 2) {
        print_usage(stderr, cli.prog);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(commands[i]->name, argv[2]) == 0) {
                    print_cmd_help(stdout, cli.prog, commands[i]);
                    return 0;
                }
            fprintf(stderr, "hyperscale: unknown command '%s'\n", argv[2]);
            return 2;
        }
        print_usage(stdout, cli.prog);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            cli.cmd = commands[i];
    if (!cli.cmd) {
        fprintf(stderr, "hyperscale: unknown command '%s'\n\n", name);
        print_usage(stderr, cli.prog);
        return 2;
    }
    int rc = parse_args(&cli, argc - 2, argv + 2);
    if (rc == 1) {
        print_cmd_help(stdout, cli.prog, cli.cmd);
        rc = 0;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (cli.cmd->uses_config) {
        if (!cli.config_path)
            cli.config_path = getenv("HYPERSCALE_CONFIG");
        char err[512] = "";
        if (hs_cli_load_config(&cli, &cli.cfg, err, sizeof(err)) != 0) {
            rc = hs_cli_fail(&cli, "configuration error: %s", err);
            goto out;
        }
    }
    rc = cli.cmd->run(&cli);
    if (cli.cmd->uses_config)
        hs_config_free(&cli.cfg);
out:
    free(cli.argv);
    return rc;
}
