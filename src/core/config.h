/*
 * Configuration: compiled-in defaults, then one config file, then
 * HYPERSCALE_* environment variables, then command-line flags, each layer
 * overriding the one before. Keys and types come from config-tbl.h.
 *
 * File format (docs/configuration.md): UTF-8 text, one `key = value` per
 * line, `#` starts a comment, `[section]` prefixes the keys below it with
 * "section.", values may be double-quoted. Unknown keys and bad values are
 * errors naming the file, line and key.
 */
#ifndef HS_CORE_CONFIG_H
#define HS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HS_CFG_C_INT int64_t
#define HS_CFG_C_SIZE uint64_t
#define HS_CFG_C_DURATION uint64_t /* milliseconds */
#define HS_CFG_C_BOOL bool
#define HS_CFG_C_STR char *
#define HS_CFG_C_ADDR char *
#define HS_CFG_C_LEVEL char *

typedef struct hs_config {
#define HS_CFG(field, key, type, def, help) HS_CFG_C_##type field;
#include "core/config-tbl.h"
#undef HS_CFG
} hs_config_t;

/* Fills every key with its default. Returns 0 or HS_ENOMEM. */
int hs_config_init(hs_config_t *cfg);
/* Frees the strings a config owns; the struct can be re-initialized. */
void hs_config_free(hs_config_t *cfg);
/* Deep copy. Returns 0 or HS_ENOMEM. */
int hs_config_copy(hs_config_t *dst, const hs_config_t *src);

/*
 * Sets one key from its text form. On failure returns HS_ENOENT (unknown
 * key) or HS_EINVAL (bad value) and writes a message naming the key and
 * what is expected into err (if errlen > 0). `origin` prefixes the message
 * ("file.conf:12", "environment HYPERSCALE_X", "flag --listen").
 */
int hs_config_set(hs_config_t *cfg, const char *key, const char *value, const char *origin,
                  char *err, size_t errlen);

/* Parses config text (pure over the buffer, not NUL-terminated); name is
 * used in messages as "name:line". Returns 0 or HS_ECONFIG with err set. */
int hs_config_parse(hs_config_t *cfg, const char *text, size_t len, const char *name,
                    char *err, size_t errlen);
/* Reads and parses a file. Returns 0, HS_ECONFIG, or a negated errno with err set. */
int hs_config_load_file(hs_config_t *cfg, const char *path, char *err, size_t errlen);
/* Applies HYPERSCALE_<KEY> variables from envp (NULL-terminated). Unknown
 * HYPERSCALE_* names are errors, except those in hs_config_env_ignored. */
int hs_config_load_env(hs_config_t *cfg, char *const *envp, char *err, size_t errlen);

/* Writes a complete, commented config file holding cfg's values. */
void hs_config_dump(const hs_config_t *cfg, FILE *out);
/* Writes the keys as a Markdown table (for docs/configuration.md). */
void hs_config_dump_markdown(FILE *out);

/* Parses "16k", "5g", "1024" into bytes; "10s", "250ms", "2m" into ms. */
int hs_parse_size(const char *s, uint64_t *out);
int hs_parse_duration_ms(const char *s, uint64_t *out);

/* Environment names that are read elsewhere and are not config keys
 * (HYPERSCALE_CONFIG names the file itself). NULL-terminated. */
extern const char *const hs_config_env_ignored[];

#endif
