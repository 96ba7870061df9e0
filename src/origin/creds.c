/*
 * Where the S3 access key and secret come from: the caller (tests), the
 * environment (HYPERSCALE_ACCESS_KEY / HYPERSCALE_SECRET_KEY), or
 * DATA/credentials, which the first start writes with fresh random keys
 * (mode 0600) so `hyperscale up` works with nothing configured.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "origin/s3-int.h"

static bool key_ok(const char *s, size_t min)
{
    size_t n = strlen(s);
    if (n < min || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

static int random_key(char *out, size_t len, const char *alphabet)
{
    size_t an = strlen(alphabet);
    uint8_t r[64];
    if (len > sizeof(r) || getrandom(r, len, 0) != (ssize_t)len)
        return HS_EIO;
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[r[i] % an];
    out[len] = 0;
    return 0;
}

static int read_file(hs_origin_t *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return HS_ERR(errno);
    char line[512];
    o->access_key[0] = o->secret_key[0] = 0;
    while (fgets(line, sizeof(line), f)) {
        char k[64], v[200];
        if (sscanf(line, " %63[a-z_] = %199s", k, v) != 2)
            continue;
        char *dst = !strcmp(k, "access_key")   ? o->access_key
                    : !strcmp(k, "secret_key") ? o->secret_key
                                               : NULL;
        if (dst && strlen(v) < sizeof(o->access_key))
            memcpy(dst, v, strlen(v) + 1);
    }
    fclose(f);
    if (!key_ok(o->access_key, 3) || !key_ok(o->secret_key, 8)) {
        hs_log_error("s3_credentials", "file=%s msg=\"needs access_key = ... and secret_key = ... "
                     "lines (delete it to make new keys)\"", path);
        return HS_ECONFIG;
    }
    return 0;
}

static int write_file(hs_origin_t *o, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return HS_ERR(errno);
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "# S3 credentials of this hyperscale data directory (made at first start).\n"
                     "access_key = %s\nsecret_key = %s\n",
                     o->access_key, o->secret_key);
    int rc = 0;
    if (write(fd, buf, (size_t)n) != n || fsync(fd) != 0)
        rc = HS_ERR(errno ? errno : EIO);
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = HS_ERR(errno);
    if (!rc) {
        int dfd = open(o->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

int hs__s3_creds_load(hs_origin_t *o, const char *ak, const char *sk, bool *created)
{
    *created = false;
    if (!ak || !sk) {
        ak = getenv("HYPERSCALE_ACCESS_KEY");
        sk = getenv("HYPERSCALE_SECRET_KEY");
        if ((ak && *ak) != (sk && *sk)) {
            hs_log_error("s3_credentials", "msg=\"set both HYPERSCALE_ACCESS_KEY and "
                         "HYPERSCALE_SECRET_KEY, or neither\"");
            return HS_ECONFIG;
        }
        if (ak && !*ak)
            ak = sk = NULL;
    }
    if (ak && sk) {
        if (!key_ok(ak, 3) || !key_ok(sk, 8)) {
            hs_log_error("s3_credentials", "msg=\"access key needs 3..128 and secret key 8..128 "
                         "printable characters without spaces\"");
            return HS_ECONFIG;
        }
        snprintf(o->access_key, sizeof(o->access_key), "%s", ak);
        snprintf(o->secret_key, sizeof(o->secret_key), "%s", sk);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/credentials", o->data);
    int rc = read_file(o, path);
    if (rc != HS_ENOENT)
        return rc;
    if ((rc = random_key(o->access_key, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")) ||
        (rc = random_key(o->secret_key, 40,
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")))
        return rc;
    rc = write_file(o, path);
    if (rc) {
        hs_log_error("s3_credentials", "file=%s err=\"%s\"", path, hs_strerror(rc));
        return rc;
    }
    *created = true;
    return 0;
}
