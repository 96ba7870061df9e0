/*
 * Leveled, structured logging: one line per event in logfmt
 * ("ts=... level=info pid=12 role=worker event=listen addr=0.0.0.0:8080"),
 * written to stderr with a single write(2) so lines from threads and
 * processes never interleave. The level check is inline so a disabled
 * level costs one compare.
 */
#ifndef HS_CORE_LOG_H
#define HS_CORE_LOG_H

typedef enum hs_log_level {
    HS_LOG_DEBUG = 0,
    HS_LOG_INFO,
    HS_LOG_WARN,
    HS_LOG_ERROR,
    HS_LOG_OFF,
} hs_log_level_t;

extern hs_log_level_t hs__log_min;

/* Sets the process's role tag ("supervisor", "worker", "cli"...); the string
 * must outlive logging. */
void hs_log_set_role(const char *role);
void hs_log_set_level(hs_log_level_t level);
/* "debug", "info", "warn", "error", "off" -> level. Returns 0 or HS_EINVAL. */
int hs_log_level_parse(const char *s, hs_log_level_t *out);

/* Writes one line: standard fields, then event=<event>, then the caller's
 * fields formatted from fmt (already "k=v k2=v2"; fmt may be ""). Values
 * with spaces should be quoted by the caller with %s inside "..". */
void hs__log(hs_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fmt may be "": the pragmas keep -Wformat-zero-length quiet about it. */
#define hs_log(level, event, ...)                                              \
    do {                                                                       \
        _Pragma("GCC diagnostic push")                                         \
        _Pragma("GCC diagnostic ignored \"-Wformat-zero-length\"")             \
        if ((level) >= hs__log_min)                                            \
            hs__log((level), (event), __VA_ARGS__);                            \
        _Pragma("GCC diagnostic pop")                                          \
    } while (0)
#define hs_log_debug(event, ...) hs_log(HS_LOG_DEBUG, event, __VA_ARGS__)
#define hs_log_info(event, ...) hs_log(HS_LOG_INFO, event, __VA_ARGS__)
#define hs_log_warn(event, ...) hs_log(HS_LOG_WARN, event, __VA_ARGS__)
#define hs_log_error(event, ...) hs_log(HS_LOG_ERROR, event, __VA_ARGS__)

#endif
