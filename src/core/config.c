/*
 * Configuration: the key table of config-tbl.h turned into defaults, typed
 * validation by key name, a strict line-oriented file parser (a pure
 * function over an untrusted buffer, fuzzed), HYPERSCALE_* environment
 * mapping, and the two dumps (a config file that parses back to the same
 * values, and the Markdown reference for docs/configuration.md).
 *
 * Every error message starts with the caller's `origin` ("file.conf:12",
 * "environment HYPERSCALE_X", "flag --listen") so a user can find the line
 * to fix without reading code.
 */
#include "core/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

/* Longest line the parser accepts, terminator excluded. */
#define LINE_MAX_BYTES 4096
/* Largest config file hs_config_load_file reads. */
#define FILE_MAX_BYTES (16u << 20)
/* Longest key (with its section prefix) we look up; longer is unknown. */
#define KEY_MAX 128
/* Longest value of any key. Bounded so that a dumped line, quoted and
 * escaped (twice as long at worst), still fits LINE_MAX_BYTES: the dump
 * must always parse back. */
#define VALUE_MAX 2000

typedef enum ktype { T_INT, T_SIZE, T_DURATION, T_BOOL, T_STR, T_ADDR, T_LEVEL } ktype_t;

typedef struct keydesc {
    const char *key;
    ktype_t type;
    const char *def;
    const char *help;
    size_t off;
} keydesc_t;

static const keydesc_t keys[] = {
#define HS_CFG(field, key, type, def, help) {key, T_##type, def, help, offsetof(hs_config_t, field)},
#include "core/config-tbl.h"
#undef HS_CFG
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *const hs_config_env_ignored[] = {
    "HYPERSCALE_CONFIG",     /* names the config file itself */
    "HYPERSCALE_ACCESS_KEY", /* credentials are never config keys */
    "HYPERSCALE_SECRET_KEY",
    "HYPERSCALE_BIN",   /* test harnesses: path of the binary */
    "HYPERSCALE_TEST_*", /* test harnesses: anything they need */
    NULL,
};

static const char *const type_names[] = {
    [T_INT] = "int",   [T_SIZE] = "size", [T_DURATION] = "duration", [T_BOOL] = "bool",
    [T_STR] = "string", [T_ADDR] = "address", [T_LEVEL] = "level",
};

static const char *const type_expect[] = {
    [T_INT] = "an integer",
    [T_SIZE] = "a size in bytes: a number with an optional k, m, g or t suffix such as 16k",
    [T_DURATION] = "a duration: a number with an ms, s, m or h suffix such as 250ms or 10s",
    [T_BOOL] = "true or false (also yes/no, on/off, 1/0)",
    [T_STR] = "text without control characters",
    [T_ADDR] = "host:port, [ipv6]:port or :port with a port from 0 to 65535",
    [T_LEVEL] = "debug, info, warn, error or off",
};

/* ---- value parsers (pure, over NUL-terminated strings) ---- */

/* Parses leading decimal digits of s into *v. Returns the number of digits
 * (0 if none) or -1 on overflow. */
static int parse_digits(const char *s, uint64_t *v)
{
    uint64_t n = 0;
    int i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *v = n;
    return i;
}

static int parse_int(const char *s, int64_t *out)
{
    bool neg = s[0] == '-';
    uint64_t v;
    int n = parse_digits(s + neg, &v);
    if (n < 0)
        return HS_ERANGE;
    if (n == 0 || s[neg + n] != '\0')
        return HS_EINVAL;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return HS_ERANGE;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return HS_ERANGE;
        *out = (int64_t)v;
    }
    return 0;
}

/* Multiplies with overflow check. */
static int mul_check(uint64_t v, uint64_t m, uint64_t *out)
{
    if (m != 0 && v > UINT64_MAX / m)
        return HS_ERANGE;
    *out = v * m;
    return 0;
}

int hs_parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mult = 1;
    int n = parse_digits(s, &v);
    if (n < 0)
        return HS_ERANGE;
    if (n == 0)
        return HS_EINVAL;
    const char *suf = s + n;
    if (suf[0] != '\0') {
        if (suf[1] != '\0')
            return HS_EINVAL;
        switch (suf[0] | 0x20) {
        case 'k': mult = 1ull << 10; break;
        case 'm': mult = 1ull << 20; break;
        case 'g': mult = 1ull << 30; break;
        case 't': mult = 1ull << 40; break;
        default: return HS_EINVAL;
        }
    }
    return mul_check(v, mult, out);
}

int hs_parse_duration_ms(const char *s, uint64_t *out)
{
    uint64_t v, mult;
    int n = parse_digits(s, &v);
    if (n < 0)
        return HS_ERANGE;
    if (n == 0)
        return HS_EINVAL;
    const char *suf = s + n;
    if (suf[0] == '\0' || strcmp(suf, "s") == 0)
        mult = 1000; /* a bare number is seconds */
    else if (strcmp(suf, "ms") == 0)
        mult = 1;
    else if (strcmp(suf, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(suf, "h") == 0)
        mult = 3600 * 1000;
    else
        return HS_EINVAL;
    return mul_check(v, mult, out);
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return HS_EINVAL;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
    /* hex digits, colons, a dotted IPv4 tail, and a %zone (fe80::1%eth0) */
    return isalnum((unsigned char)c) || c == ':' || c == '.' || c == '%' || c == '-' ||
           c == '_';
}

/* Validates host:port, [v6]:port or :port. The string is kept as written. */
static int parse_addr(const char *s)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return HS_EINVAL;
        for (const char *p = s + 1; p < close; p++)
            if (!v6_char(*p))
                return HS_EINVAL;
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon)
            return HS_EINVAL;
        for (const char *p = s; p < colon; p++)
            if (!host_char(*p))
                return HS_EINVAL;
    }
    const char *port = colon + 1;
    uint64_t v;
    int n = parse_digits(port, &v);
    if (n <= 0 || n > 5 || port[n] != '\0' || v > 65535)
        return HS_EINVAL;
    return 0;
}

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

/* Returns the canonical (lowercase, static) level name, or NULL. */
static const char *parse_level(const char *s)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return level_names[i];
    return NULL;
}

/* ---- keys ---- */

static const keydesc_t *find_key(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static void *field(hs_config_t *cfg, const keydesc_t *k)
{
    return (char *)cfg + k->off;
}

static const void *cfield(const hs_config_t *cfg, const keydesc_t *k)
{
    return (const char *)cfg + k->off;
}

static bool is_string_type(ktype_t t)
{
    return t == T_STR || t == T_ADDR || t == T_LEVEL;
}

/* The environment name of key: HYPERSCALE_ + key uppercased, with '.' and
 * '-' turned into '_'. */
static void env_name(const char *key, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "HYPERSCALE_");
    for (const char *p = key; *p && n + 1 < outlen; p++)
        out[n++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

/* Levenshtein distance between short strings (capped inputs), for
 * "did you mean" hints. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Closest key to `key` (or env name to `key` when env is true) if close
 * enough to be a likely typo; NULL otherwise. */
static const char *suggest(const char *key, bool env, char *buf, size_t buflen)
{
    size_t best = SIZE_MAX;
    const char *found = NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        char name[KEY_MAX + 16];
        const char *cand = keys[i].key;
        if (env) {
            env_name(keys[i].key, name, sizeof(name));
            cand = name;
        }
        size_t d = edit_distance(key, cand);
        if (d < best) {
            best = d;
            found = keys[i].key;
            if (env)
                snprintf(buf, buflen, "%s", name);
        }
    }
    size_t len = strlen(key);
    if (!found || best == 0 || best > 2 || best * 3 > len)
        return NULL;
    return env ? buf : found;
}

/* Copies s into out for an error message: at most ~60 bytes, control and
 * non-ASCII bytes shown as \xNN, so a hostile value cannot garble a log. */
static void quote_for_msg(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (n + 8 >= outlen || n >= 60) {
            memcpy(out + n, "...", 4);
            return;
        }
        if (*p < 0x20 || *p >= 0x7f || *p == '\'')
            n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", *p);
        else
            out[n++] = (char)*p;
    }
    out[n] = '\0';
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return true;
    return false;
}

static void set_msg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Stores value into the field of k. Returns 0, HS_EINVAL, HS_ERANGE or
 * HS_ENOMEM; nothing changes on failure. */
static int store(hs_config_t *cfg, const keydesc_t *k, const char *value)
{
    void *f = field(cfg, k);
    int rc = 0;
    const char *str = value;
    if (strlen(value) > VALUE_MAX)
        return HS_E2BIG;
    if (has_control(value))
        return HS_EINVAL;
    switch (k->type) {
    case T_INT: {
        int64_t v;
        if ((rc = parse_int(value, &v)) == 0)
            *(int64_t *)f = v;
        return rc;
    }
    case T_SIZE:
    case T_DURATION: {
        uint64_t v;
        rc = k->type == T_SIZE ? hs_parse_size(value, &v) : hs_parse_duration_ms(value, &v);
        if (rc == 0)
            *(uint64_t *)f = v;
        return rc;
    }
    case T_BOOL: {
        bool v;
        if ((rc = parse_bool(value, &v)) == 0)
            *(bool *)f = v;
        return rc;
    }
    case T_ADDR:
        if ((rc = parse_addr(value)) != 0)
            return rc;
        break;
    case T_LEVEL:
        if (!(str = parse_level(value)))
            return HS_EINVAL;
        break;
    case T_STR:
        break;
    }
    char *copy = strdup(str);
    if (!copy)
        return HS_ENOMEM;
    free(*(char **)f);
    *(char **)f = copy;
    return 0;
}

int hs_config_set(hs_config_t *cfg, const char *key, const char *value, const char *origin,
                  char *err, size_t errlen)
{
    const keydesc_t *k = find_key(key);
    char q[80];
    if (!k) {
        char hintbuf[KEY_MAX + 16];
        const char *hint = suggest(key, false, hintbuf, sizeof(hintbuf));
        quote_for_msg(key, q, sizeof(q));
        set_msg(err, errlen, "%s: unknown key '%s'%s%s%s", origin, q, hint ? " (did you mean '" : "",
                hint ? hint : "", hint ? "'?)" : "");
        return HS_ENOENT;
    }
    int rc = store(cfg, k, value);
    if (rc == HS_ENOMEM) {
        set_msg(err, errlen, "%s: out of memory setting '%s'", origin, k->key);
        return rc;
    }
    if (rc == HS_E2BIG) {
        set_msg(err, errlen, "%s: value for '%s' too long (more than %d bytes)", origin, k->key,
                VALUE_MAX);
        return HS_EINVAL;
    }
    if (rc != 0) {
        quote_for_msg(value, q, sizeof(q));
        set_msg(err, errlen, "%s: invalid value '%s' for '%s' (%sexpected %s)", origin, q, k->key,
                rc == HS_ERANGE ? "out of range; " : "", type_expect[k->type]);
        return HS_EINVAL;
    }
    return 0;
}

/* ---- lifecycle ---- */

void hs_config_free(hs_config_t *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (is_string_type(keys[i].type)) {
            char **p = field(cfg, &keys[i]);
            free(*p);
            *p = NULL;
        }
    }
}

int hs_config_init(hs_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS; i++) {
        /* hs_config_dump's line bound relies on short keys. */
        if (strlen(keys[i].key) > 64) {
            fprintf(stderr, "config-tbl.h: key '%s' longer than 64 bytes\n", keys[i].key);
            abort();
        }
        int rc = store(cfg, &keys[i], keys[i].def);
        if (rc == HS_ENOMEM) {
            hs_config_free(cfg);
            return rc;
        }
        /* A default that does not parse is a bug in config-tbl.h. */
        if (rc != 0) {
            fprintf(stderr, "config-tbl.h: bad default '%s' for '%s'\n", keys[i].def, keys[i].key);
            abort();
        }
    }
    return 0;
}

int hs_config_copy(hs_config_t *dst, const hs_config_t *src)
{
    memcpy(dst, src, sizeof(*dst));
    for (size_t i = 0; i < NKEYS; i++)
        if (is_string_type(keys[i].type))
            *(char **)field(dst, &keys[i]) = NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        if (!is_string_type(keys[i].type))
            continue;
        const char *s = *(char *const *)cfield(src, &keys[i]);
        if (s && !(*(char **)field(dst, &keys[i]) = strdup(s))) {
            hs_config_free(dst);
            return HS_ENOMEM;
        }
    }
    return 0;
}

/* ---- file parser ---- */

static bool key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses one line (no terminator). section/seclen is the current section
 * (updated by [section] lines). Returns 0, HS_ECONFIG or HS_ENOMEM. */
static int parse_line(hs_config_t *cfg, const char *p, size_t len, char *section, size_t *seclen,
                      const char *where, char *err, size_t errlen)
{
    const char *end = p + len;
    while (p < end && is_ws(*p))
        p++;
    if (p == end || *p == '#')
        return 0;

    if (*p == '[') {
        p++;
        while (p < end && is_ws(*p))
            p++;
        const char *name = p;
        while (p < end && key_char(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (p < end && is_ws(*p))
            p++;
        if (p == end || *p != ']') {
            set_msg(err, errlen, "%s: bad section header (expected '[name]' with letters, digits, "
                    "'_', '-' or '.')", where);
            return HS_ECONFIG;
        }
        p++;
        while (p < end && is_ws(*p))
            p++;
        if (p < end && *p != '#') {
            set_msg(err, errlen, "%s: unexpected text after section header", where);
            return HS_ECONFIG;
        }
        if (nlen == 0 || nlen >= KEY_MAX) {
            set_msg(err, errlen, "%s: %s section name", where, nlen ? "overlong" : "empty");
            return HS_ECONFIG;
        }
        memcpy(section, name, nlen);
        section[nlen] = '\0';
        *seclen = nlen;
        return 0;
    }

    const char *key = p;
    while (p < end && key_char(*p))
        p++;
    size_t klen = (size_t)(p - key);
    while (p < end && is_ws(*p))
        p++;
    if (klen == 0 || p == end || *p != '=') {
        set_msg(err, errlen, "%s: expected 'key = value'%s", where,
                klen && p < end && *p != '=' ? " (keys are letters, digits, '_', '-' and '.')"
                                              : "");
        return HS_ECONFIG;
    }
    p++;
    while (p < end && is_ws(*p))
        p++;

    char fullkey[2 * KEY_MAX + 2];
    if (klen >= KEY_MAX) {
        set_msg(err, errlen, "%s: unknown key '%.40s...' (too long)", where, key);
        return HS_ECONFIG;
    }
    if (*seclen)
        snprintf(fullkey, sizeof(fullkey), "%s.%.*s", section, (int)klen, key);
    else
        snprintf(fullkey, sizeof(fullkey), "%.*s", (int)klen, key);

    char value[LINE_MAX_BYTES + 1];
    size_t vlen = 0;
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p == end) {
                set_msg(err, errlen, "%s: unterminated quoted value for '%s'", where, fullkey);
                return HS_ECONFIG;
            }
            char c = *p++;
            if (c == '"')
                break;
            if (c == '\\') {
                if (p == end || (*p != '"' && *p != '\\')) {
                    set_msg(err, errlen, "%s: bad escape in quoted value for '%s' (only \\\" and "
                            "\\\\ are allowed)", where, fullkey);
                    return HS_ECONFIG;
                }
                c = *p++;
            }
            value[vlen++] = c;
        }
        while (p < end && is_ws(*p))
            p++;
        if (p < end && *p != '#') {
            set_msg(err, errlen, "%s: unexpected text after the closing quote of '%s'", where,
                    fullkey);
            return HS_ECONFIG;
        }
    } else {
        const char *v = p;
        while (p < end && *p != '#')
            p++;
        while (p > v && is_ws(p[-1]))
            p--;
        vlen = (size_t)(p - v);
        memcpy(value, v, vlen);
    }
    value[vlen] = '\0';
    if (memchr(value, '\0', vlen)) {
        set_msg(err, errlen, "%s: NUL byte in value of '%s'", where, fullkey);
        return HS_ECONFIG;
    }
    int rc = hs_config_set(cfg, fullkey, value, where, err, errlen);
    if (rc == HS_ENOMEM)
        return rc;
    return rc ? HS_ECONFIG : 0;
}

int hs_config_parse(hs_config_t *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t errlen)
{
    char section[KEY_MAX];
    size_t seclen = 0;
    const char *p = text, *end = text + len;
    section[0] = '\0';
    /* A UTF-8 byte order mark is tolerated (some editors add one). */
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t llen = (size_t)(eol - p);
        if (llen && p[llen - 1] == '\r')
            llen--;
        char where[300];
        snprintf(where, sizeof(where), "%s:%u", name, line);
        if (llen > LINE_MAX_BYTES) {
            set_msg(err, errlen, "%s: line too long (more than %d bytes)", where, LINE_MAX_BYTES);
            return HS_ECONFIG;
        }
        int rc = parse_line(cfg, p, llen, section, &seclen, where, err, errlen);
        if (rc != 0)
            return rc;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int hs_config_load_file(hs_config_t *cfg, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_msg(err, errlen, "cannot open config file '%s': %s", path, strerror(e));
        return HS_ERR(e);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)FILE_MAX_BYTES) {
        int e = errno;
        if (S_ISDIR(st.st_mode))
            e = EISDIR;
        else if (st.st_size > (off_t)FILE_MAX_BYTES)
            e = EFBIG;
        set_msg(err, errlen, "cannot read config file '%s': %s", path,
                e == EFBIG ? "larger than 16 MiB" : strerror(e ? e : EINVAL));
        close(fd);
        return e == EFBIG ? HS_E2BIG : HS_ERR(e ? e : EINVAL);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        set_msg(err, errlen, "out of memory reading '%s'", path);
        return HS_ENOMEM;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            set_msg(err, errlen, "cannot read config file '%s': %s", path, strerror(e));
            free(buf);
            close(fd);
            return HS_ERR(e);
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) { /* the file grew while we read it */
            set_msg(err, errlen, "config file '%s' changed while being read", path);
            free(buf);
            close(fd);
            return HS_EAGAIN;
        }
    }
    close(fd);
    int rc = hs_config_parse(cfg, buf, len, path, err, errlen);
    free(buf);
    return rc;
}

/* ---- environment ---- */

static bool env_ignored(const char *name, size_t len)
{
    for (const char *const *ig = hs_config_env_ignored; *ig; ig++) {
        size_t il = strlen(*ig);
        if (il && (*ig)[il - 1] == '*') {
            if (len >= il - 1 && memcmp(name, *ig, il - 1) == 0)
                return true;
        } else if (il == len && memcmp(name, *ig, len) == 0) {
            return true;
        }
    }
    return false;
}

int hs_config_load_env(hs_config_t *cfg, char *const *envp, char *err, size_t errlen)
{
    static const char prefix[] = "HYPERSCALE_";
    for (; envp && *envp; envp++) {
        const char *e = *envp;
        const char *eq = strchr(e, '=');
        if (!eq || strncmp(e, prefix, sizeof(prefix) - 1) != 0)
            continue;
        size_t nlen = (size_t)(eq - e);
        if (env_ignored(e, nlen))
            continue;
        char origin[KEY_MAX + 32], name[KEY_MAX + 16];
        const keydesc_t *k = NULL;
        for (size_t i = 0; i < NKEYS && !k; i++) {
            env_name(keys[i].key, name, sizeof(name));
            if (strlen(name) == nlen && memcmp(name, e, nlen) == 0)
                k = &keys[i];
        }
        if (!k) {
            char q[80], given[KEY_MAX + 16], hintbuf[KEY_MAX + 16];
            snprintf(given, sizeof(given), "%.*s", (int)(nlen < KEY_MAX ? nlen : KEY_MAX), e);
            quote_for_msg(given, q, sizeof(q));
            const char *hint = suggest(given, true, hintbuf, sizeof(hintbuf));
            set_msg(err, errlen, "environment %s: unknown variable (not a configuration key)%s%s%s",
                    q, hint ? "; did you mean " : "", hint ? hint : "", hint ? "?" : "");
            return HS_ECONFIG;
        }
        snprintf(origin, sizeof(origin), "environment %s", name);
        int rc = hs_config_set(cfg, k->key, eq + 1, origin, err, errlen);
        if (rc == HS_ENOMEM)
            return rc;
        if (rc != 0)
            return HS_ECONFIG;
    }
    return 0;
}

/* ---- dumps ---- */

/* Canonical text of a value: sizes and durations with the largest exact
 * unit, strings double-quoted with escapes. */
static void format_value(const hs_config_t *cfg, const keydesc_t *k, char *out, size_t outlen)
{
    const void *f = cfield(cfg, k);
    switch (k->type) {
    case T_INT:
        snprintf(out, outlen, "%" PRId64, *(const int64_t *)f);
        return;
    case T_SIZE: {
        static const char units[] = "tgmk";
        uint64_t v = *(const uint64_t *)f;
        for (int i = 0; i < 4 && v; i++) {
            uint64_t m = 1ull << (10 * (4 - i));
            if (v % m == 0) {
                snprintf(out, outlen, "%" PRIu64 "%c", v / m, units[i]);
                return;
            }
        }
        snprintf(out, outlen, "%" PRIu64, v);
        return;
    }
    case T_DURATION: {
        uint64_t v = *(const uint64_t *)f;
        if (v && v % 3600000 == 0)
            snprintf(out, outlen, "%" PRIu64 "h", v / 3600000);
        else if (v && v % 60000 == 0)
            snprintf(out, outlen, "%" PRIu64 "m", v / 60000);
        else if (v % 1000 == 0)
            snprintf(out, outlen, "%" PRIu64 "s", v / 1000);
        else
            snprintf(out, outlen, "%" PRIu64 "ms", v);
        return;
    }
    case T_BOOL:
        snprintf(out, outlen, "%s", *(const bool *)f ? "true" : "false");
        return;
    case T_ADDR:
    case T_LEVEL:
        snprintf(out, outlen, "%s", *(char *const *)f ? *(char *const *)f : "");
        return;
    case T_STR: {
        const char *s = *(char *const *)f ? *(char *const *)f : "";
        size_t n = 0;
        out[n++] = '"';
        for (; *s && n + 4 < outlen; s++) {
            if (*s == '"' || *s == '\\')
                out[n++] = '\\';
            out[n++] = *s;
        }
        out[n++] = '"';
        out[n] = '\0';
        return;
    }
    }
}

void hs_config_dump(const hs_config_t *cfg, FILE *out)
{
    fputs("# hyperscale configuration, as written by `hyperscale config`.\n"
          "# Layers, later ones winning: built-in defaults < this file <\n"
          "# HYPERSCALE_<KEY> environment variables < command-line flags.\n"
          "# Sizes take k/m/g/t suffixes (powers of 1024); durations ms/s/m/h.\n",
          out);
    /* Values are at most VALUE_MAX bytes; quoting can double them. */
    char val[2 * VALUE_MAX + 8], env[KEY_MAX + 16];
    for (size_t i = 0; i < NKEYS; i++) {
        const keydesc_t *k = &keys[i];
        env_name(k->key, env, sizeof(env));
        format_value(cfg, k, val, sizeof(val));
        fprintf(out, "\n# %s\n# %s, default %s%s%s, env %s\n%s = %s\n", k->help,
                type_names[k->type], k->type == T_STR ? "\"" : "", k->def,
                k->type == T_STR ? "\"" : "", env, k->key, val);
    }
}

void hs_config_dump_markdown(FILE *out)
{
    char env[KEY_MAX + 16];
    fputs("| key | env var | type | default | meaning |\n"
          "|---|---|---|---|---|\n",
          out);
    for (size_t i = 0; i < NKEYS; i++) {
        const keydesc_t *k = &keys[i];
        env_name(k->key, env, sizeof(env));
        fprintf(out, "| `%s` | `%s` | %s | ", k->key, env, type_names[k->type]);
        if (k->def[0])
            fprintf(out, "`%s`", k->def);
        else
            fputs("(empty)", out);
        fputs(" | ", out);
        for (const char *h = k->help; *h; h++) {
            if (*h == '|')
                fputc('\\', out);
            fputc(*h, out);
        }
        fputs(" |\n", out);
    }
}
