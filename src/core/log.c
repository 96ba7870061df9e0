/*
 * Structured logging in logfmt. Each line is built in a stack buffer and
 * written with one write(2), so lines from many threads (and from the
 * processes sharing stderr) never interleave and no lock is taken: a line
 * of at most PIPE_BUF bytes is written atomically to a pipe. Lines longer
 * than that are cut and marked with truncated=true. Control characters in
 * the caller's fields are escaped so a hostile value cannot forge a line.
 */
#include "core/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

/* One line, newline included. PIPE_BUF (4096 on Linux) keeps writes to a
 * pipe atomic. */
#define LINE_MAX_LEN 4096

hs_log_level_t hs__log_min = HS_LOG_INFO;

static _Atomic(const char *) log_role = "main";

static const char *const level_names[] = {
    [HS_LOG_DEBUG] = "debug", [HS_LOG_INFO] = "info", [HS_LOG_WARN] = "warn",
    [HS_LOG_ERROR] = "error", [HS_LOG_OFF] = "off",
};

void hs_log_set_role(const char *role)
{
    atomic_store_explicit(&log_role, role ? role : "main", memory_order_relaxed);
}

void hs_log_set_level(hs_log_level_t level)
{
    hs__log_min = level;
}

int hs_log_level_parse(const char *s, hs_log_level_t *out)
{
    for (int i = HS_LOG_DEBUG; i <= HS_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (hs_log_level_t)i;
            return 0;
        }
    }
    return HS_EINVAL;
}

/* Appends ts=YYYY-MM-DDTHH:MM:SS.mmmZ. Returns bytes written. */
static size_t format_ts(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(out, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Writes all of buf to fd, retrying on EINTR and short writes. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing stderr */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void hs__log(hs_log_level_t level, const char *event, const char *fmt, ...)
{
    int saved_errno = errno;
    char line[LINE_MAX_LEN];
    /* Room kept at the end for the truncation marker and the newline. */
    static const char marker[] = " truncated=true";
    const size_t limit = sizeof(line) - sizeof(marker) - 1;
    if ((unsigned)level >= HS_LOG_OFF)
        level = HS_LOG_ERROR;

    size_t n = format_ts(line, limit);
    int k = snprintf(line + n, limit - n, " level=%s pid=%ld role=%s event=%s", level_names[level],
                     (long)getpid(), atomic_load_explicit(&log_role, memory_order_relaxed),
                     event ? event : "-");
    bool truncated = false;
    if (k < 0 || (size_t)k >= limit - n) {
        n = limit - 1;
        truncated = true;
    } else {
        n += (size_t)k;
    }

    if (!truncated && fmt && fmt[0]) {
        char fields[LINE_MAX_LEN];
        va_list ap;
        va_start(ap, fmt);
        int f = vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
        if (f < 0)
            f = 0;
        size_t flen = (size_t)f < sizeof(fields) ? (size_t)f : sizeof(fields) - 1;
        if ((size_t)f >= sizeof(fields))
            truncated = true;
        if (flen)
            line[n++] = ' ';
        for (size_t i = 0; i < flen; i++) {
            unsigned char c = (unsigned char)fields[i];
            char esc[5];
            size_t elen = 1;
            esc[0] = (char)c;
            if (c == '\n' || c == '\r' || c == '\t') {
                esc[0] = '\\';
                esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                elen = 2;
            } else if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof(esc), "\\x%02x", c);
                elen = 4;
            }
            if (n + elen > limit) {
                truncated = true;
                break;
            }
            memcpy(line + n, esc, elen);
            n += elen;
        }
    }
    if (truncated) {
        memcpy(line + n, marker, sizeof(marker) - 1);
        n += sizeof(marker) - 1;
    }
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, n);
    errno = saved_errno;
}
