/*
 * bench/delay-origin: an HTTP/1.1 origin that answers every request after a
 * fixed delay, for the miss part of bench/edge-hit. The delay stands for an
 * origin farther away than one on loopback; it is kept steady (a few µs
 * between runs) so that a proxy's added latency is not lost in the
 * origin's own noise, as it was with a Python origin.
 *
 *   cc -O2 -pthread -o /tmp/delay-origin bench/delay-origin.c
 *   /tmp/delay-origin PORT DELAY_US [BODY_BYTES]
 *
 * One thread per connection, keep-alive, pipelining answered in order.
 * Every request gets 200 with a body of BODY_BYTES (1024) and
 * Cache-Control: public, max-age=3600, sent DELAY_US after the request head
 * was read, measured on CLOCK_MONOTONIC with an absolute clock_nanosleep
 * and a timer slack of 1 ns (the default 50 µs slack would add up to 50 µs
 * of jitter). A request body (Content-Length) is read and dropped. Listens
 * on 127.0.0.1 only; "GET /count" answers with how many requests came
 * before it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 65536

static long delay_ns;
static char *answer;
static size_t answer_len;
static atomic_ulong served;

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Content-Length of a request head (0 when absent or unreadable). */
static size_t body_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof(name) - 1 < len; i++) {
        if (strncasecmp(head + i, name, sizeof(name) - 1) == 0)
            return strtoul(head + i + sizeof(name) - 1, NULL, 10);
    }
    return 0;
}

static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
        ;
}

static int answer_one(int fd, const char *head, size_t len, const struct timespec *arrived)
{
    unsigned long n = atomic_fetch_add(&served, 1);
    if (len >= 11 && memcmp(head, "GET /count ", 11) == 0) {
        char b[160], num[24];
        int bl = snprintf(num, sizeof(num), "%lu\n", n);
        int hl = snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                          "Cache-Control: no-store\r\n\r\n%s", bl, num);
        return write_all(fd, b, (size_t)hl);
    }
    struct timespec t = *arrived;
    t.tv_nsec += delay_ns;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    sleep_until(&t);
    return write_all(fd, answer, answer_len);
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *in = malloc(IN_CAP);
    size_t have = 0, skip = 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    while (in) {
        ssize_t r = read(fd, in + have, IN_CAP - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        struct timespec arrived;
        clock_gettime(CLOCK_MONOTONIC, &arrived);
        have += (size_t)r;
        size_t off = 0;
        for (;;) {
            if (skip) { /* the rest of a request body */
                size_t k = have - off < skip ? have - off : skip;
                off += k;
                skip -= k;
                if (skip)
                    break;
            }
            char *end = memmem(in + off, have - off, "\r\n\r\n", 4);
            if (!end)
                break;
            size_t hl = (size_t)(end + 4 - (in + off));
            skip = body_length(in + off, hl);
            if (answer_one(fd, in + off, hl, &arrived) != 0)
                goto out;
            off += hl;
        }
        memmove(in, in + off, have - off);
        have -= off;
        if (have == IN_CAP) /* a head larger than the buffer: not ours to serve */
            break;
    }
out:
    free(in);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT DELAY_US [BODY_BYTES]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    delay_ns = atol(argv[2]) * 1000L;
    size_t body = argc > 3 ? strtoul(argv[3], NULL, 10) : 1024;
    char head[200];
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Cache-Control: public, max-age=3600\r\nContent-Length: %zu\r\n\r\n", body);
    answer_len = (size_t)hl + body;
    answer = malloc(answer_len);
    if (!answer)
        return 1;
    memcpy(answer, head, (size_t)hl);
    for (size_t i = 0; i < body; i++)
        answer[hl + i] = (char)('a' + i % 26);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1024) != 0) {
        perror("delay-origin: bind/listen");
        return 1;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            int e = errno;
            if (e == EMFILE || e == ENFILE)
                usleep(1000); /* out of descriptors: wait for some to close */
            if (e == EINTR || e == ECONNABORTED || e == EMFILE || e == ENFILE)
                continue;
            perror("delay-origin: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        if (pthread_create(&t, &at, conn_main, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
}
