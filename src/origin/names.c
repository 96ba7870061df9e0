/*
 * Bucket-name and object-key rules of S3 (contracts in s3err.h). Pure
 * functions: the handlers call them before touching any store, so a name
 * that S3 would refuse never becomes a directory, a metadata key or a
 * virtual-host label.
 */
#include <stdbool.h>
#include <string.h>

#include "origin/s3err.h"
#include "origin/utf8.h"

static bool lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s, p, pl) == 0;
}

static bool has_suffix(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s + n - pl, p, pl) == 0;
}

/* Four all-digit labels: S3 refuses these whatever the numbers. */
static bool ipv4_shaped(const char *s, size_t n)
{
    unsigned dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return dots == 3;
}

const char *hs_s3_bucket_name_ok(const char *name, size_t len)
{
    static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"};
    if (len < 3 || len > 63)
        return "Bucket name must be between 3 and 63 characters long";
    for (size_t i = 0; i < len; i++) {
        if (!lower_or_digit(name[i]) && name[i] != '.' && name[i] != '-')
            return "Bucket name may contain only lowercase letters, digits, '.' and '-'";
    }
    if (!lower_or_digit(name[0]) || !lower_or_digit(name[len - 1]))
        return "Bucket name must begin and end with a letter or digit";
    for (size_t i = 0; i + 1 < len; i++) {
        /* every label must be a valid DNS label for virtual-host access */
        if (name[i] == '.' && (name[i + 1] == '.' || name[i + 1] == '-'))
            return "Bucket name must not contain \"..\" or \".-\"";
        if (name[i] == '-' && name[i + 1] == '.')
            return "Bucket name must not contain \"-.\"";
    }
    if (ipv4_shaped(name, len))
        return "Bucket name must not be formatted as an IP address";
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (has_prefix(name, len, prefixes[i]))
            return "Bucket name uses a reserved prefix";
    }
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (has_suffix(name, len, suffixes[i]))
            return "Bucket name uses a reserved suffix";
    }
    return NULL;
}

const char *hs_s3_key_ok(const char *key, size_t len)
{
    if (len == 0)
        return "Object key must not be empty";
    if (len > HS_S3_KEY_MAX)
        return "Your key is too long";
    if (memchr(key, '\0', len))
        return "Object key must not contain a NUL byte";
    if (!hs__utf8_valid(key, len))
        return "Object key must be valid UTF-8";
    return NULL;
}
