/*
 * Listening sockets that outlive worker generations. The supervisor opens
 * them (one SO_REUSEPORT socket per worker thread and address) before it
 * forks, workers inherit them, and a reload hands the very same sockets to
 * the new generation, so no connection waiting in an accept queue is lost
 * when the old generation stops accepting.
 */
#ifndef HS_CORE_LISTENERS_H
#define HS_CORE_LISTENERS_H

#include <stddef.h>

typedef struct hs_listen_spec {
    const char *addr; /* "host:port", "[v6]:port", ":port" */
    unsigned count;   /* sockets wanted (one per thread that accepts) */
} hs_listen_spec_t;

/*
 * Makes the registry hold exactly `specs`: opens what is missing, closes
 * what is no longer wanted. All or nothing: on failure nothing changes and
 * err names the address and the reason. Returns 0 or a negative HS_E* code.
 */
int hs_listeners_prepare(const hs_listen_spec_t *specs, unsigned n, char *err, size_t errlen);

/* The index-th socket for addr, or -1 if the registry has none. */
int hs_listeners_fd(const char *addr, unsigned index);

/* Binds and listens on a new non-blocking TCP socket with SO_REUSEPORT.
 * Returns the fd or a negative HS_E* code (HS_EINVAL for a bad address). */
int hs_listen_tcp(const char *addr, int backlog);

#endif
