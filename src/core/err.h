/*
 * The one error convention of hyperscale: functions return 0 (or a count)
 * on success and a negative HS_E* code on failure. Codes that have an errno
 * twin are that errno negated, so a failed syscall maps with HS_ERR(errno);
 * codes of our own live above every errno value.
 */
#ifndef HS_CORE_ERR_H
#define HS_CORE_ERR_H

#include <errno.h>

#define HS_ERRNO_MAP(X)                                                        \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                    \
    X(ENOMEM, -ENOMEM, "out of memory")                                       \
    X(EINVAL, -EINVAL, "invalid argument")                                    \
    X(ENOENT, -ENOENT, "no such file or directory")                           \
    X(EEXIST, -EEXIST, "already exists")                                      \
    X(EACCES, -EACCES, "permission denied")                                   \
    X(EIO, -EIO, "input/output error")                                        \
    X(ENOSPC, -ENOSPC, "no space left on device")                             \
    X(ERANGE, -ERANGE, "value out of range")                                  \
    X(E2BIG, -E2BIG, "too large")                                             \
    X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                     \
    X(ECONNRESET, -ECONNRESET, "connection reset")                            \
    X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                      \
    X(EPIPE, -EPIPE, "broken pipe")                                           \
    X(EBADMSG, -EBADMSG, "malformed message")                                 \
    X(ENOTSUP, -ENOTSUP, "not supported")                                     \
    X(EBUSY, -EBUSY, "busy")                                                  \
    X(ECANCELED, -ECANCELED, "canceled")                                      \
    X(ENOTEMPTY, -ENOTEMPTY, "not empty")                                     \
    X(EOF, -4095, "end of file")                                              \
    X(ECORRUPT, -4094, "data corrupted (checksum mismatch)")                  \
    X(ECONFIG, -4093, "invalid configuration")                                \
    X(ELIMIT, -4092, "limit reached")                                         \
    X(ENOBUCKET, -4091, "no such bucket")

enum {
#define HS_ERR_ENUM(name, val, msg) HS_##name = (val),
    HS_ERRNO_MAP(HS_ERR_ENUM)
#undef HS_ERR_ENUM
};

/* Maps a positive errno (from a failed syscall) to our negative code. */
#define HS_ERR(e) (-(e))

/* Returns a static, human-readable message for an HS_E* code (or any
 * negated errno). Never NULL. */
const char *hs_strerror(int err);

/* Returns the symbolic name ("ENOENT", "ECORRUPT"...) of a code, or "E?". */
const char *hs_errname(int err);

#endif
