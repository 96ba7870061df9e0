/* Listening-socket registry and the one place that binds TCP listeners. */
#include "core/listeners.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"

#define MAX_ADDRS 16
#define MAX_PER_ADDR 256

typedef struct entry {
    char *addr;
    unsigned count;
    int fds[MAX_PER_ADDR];
} entry_t;

static entry_t tab[MAX_ADDRS];
static unsigned ntab;

/* Parses "host:port", "[v6]:port" or ":port". Returns 0 or HS_EINVAL. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return HS_EINVAL;
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0')
        return HS_EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[') {
        size_t l = strlen(host);
        if (l < 2 || host[l - 1] != ']')
            return HS_EINVAL;
        host[l - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return HS_EINVAL;
        *sl = sizeof(*s6);
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return HS_EINVAL;
    *sl = sizeof(*s4);
    return 0;
}

static int bind_listen(const char *addr, int backlog, bool reuseport)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = parse_addr(addr, &ss, &sl);
    if (rc != 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return HS_ERR(errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return HS_ERR(e);
    }
    return fd;
}

int hs_listen_tcp(const char *addr, int backlog)
{
    return bind_listen(addr, backlog, true);
}

/* SO_REUSEPORT would let us share a port with an unrelated process (a second
 * hyperscale, say) and split its traffic silently: a plain bind first
 * proves nobody else is there. */
static int probe_free(const char *addr)
{
    int fd = bind_listen(addr, 1, false);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static entry_t *find(const char *addr)
{
    for (unsigned i = 0; i < ntab; i++)
        if (strcmp(tab[i].addr, addr) == 0)
            return &tab[i];
    return NULL;
}

int hs_listeners_fd(const char *addr, unsigned index)
{
    entry_t *e = addr ? find(addr) : NULL;
    return e && index < e->count ? e->fds[index] : -1;
}

static void close_entry(entry_t *e, unsigned from)
{
    for (unsigned i = from; i < e->count; i++)
        close(e->fds[i]);
    e->count = from;
}

int hs_listeners_prepare(const hs_listen_spec_t *specs, unsigned n, char *err, size_t errlen)
{
    /* What would be opened, kept apart until everything succeeded. */
    int fresh[MAX_ADDRS][MAX_PER_ADDR];
    unsigned have[MAX_ADDRS];
    if (n > MAX_ADDRS) {
        snprintf(err, errlen, "too many listening addresses (at most %d)", MAX_ADDRS);
        return HS_E2BIG;
    }
    int rc = 0;
    unsigned i;
    for (i = 0; i < n; i++) {
        entry_t *e = find(specs[i].addr);
        have[i] = e ? e->count : 0;
        unsigned want = specs[i].count > MAX_PER_ADDR ? MAX_PER_ADDR : specs[i].count;
        if (have[i] == 0 && want > 0 && (rc = probe_free(specs[i].addr)) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", specs[i].addr, hs_strerror(rc));
            break;
        }
        for (unsigned k = have[i]; k < want; k++) {
            /* The first socket of an address binds alone; further ones join
             * it through SO_REUSEPORT. */
            int fd = hs_listen_tcp(specs[i].addr, 4096);
            if (fd < 0) {
                snprintf(err, errlen, "cannot listen on %s: %s", specs[i].addr,
                         hs_strerror(fd));
                for (unsigned j = have[i]; j < k; j++)
                    close(fresh[i][j]);
                rc = fd;
                break;
            }
            fresh[i][k] = fd;
        }
        if (rc)
            break;
    }
    if (rc) {
        for (unsigned a = 0; a < i; a++) {
            unsigned want = specs[a].count > MAX_PER_ADDR ? MAX_PER_ADDR : specs[a].count;
            for (unsigned k = have[a]; k < want; k++)
                close(fresh[a][k]);
        }
        return rc;
    }
    /* Commit: close what is no longer wanted, then add what was opened. */
    for (unsigned t = 0; t < ntab;) {
        bool wanted = false;
        unsigned want = 0;
        for (unsigned a = 0; a < n; a++)
            if (strcmp(specs[a].addr, tab[t].addr) == 0) {
                wanted = true;
                want = specs[a].count > MAX_PER_ADDR ? MAX_PER_ADDR : specs[a].count;
            }
        if (!wanted) {
            close_entry(&tab[t], 0);
            free(tab[t].addr);
            tab[t] = tab[--ntab];
            continue;
        }
        if (tab[t].count > want)
            close_entry(&tab[t], want);
        t++;
    }
    for (unsigned a = 0; a < n; a++) {
        entry_t *e = find(specs[a].addr);
        if (!e) {
            e = &tab[ntab++];
            e->addr = strdup(specs[a].addr);
            e->count = 0;
            if (!e->addr) {
                snprintf(err, errlen, "out of memory");
                ntab--;
                return HS_ENOMEM;
            }
        }
        unsigned want = specs[a].count > MAX_PER_ADDR ? MAX_PER_ADDR : specs[a].count;
        for (unsigned k = e->count; k < want; k++)
            e->fds[k] = fresh[a][k];
        if (want > e->count)
            e->count = want;
    }
    return 0;
}
