/*
 * bench/sendcopy: what it costs the sender to put one response body on a
 * loopback TCP connection, writev from malloc memory against sendfile from
 * a memfd holding the same bytes (the question behind keeping large
 * memory-tier bodies in memfd pages). A child process reads and discards;
 * the parent's user+system CPU per response is the figure, both ways in
 * the same run, alternating.
 *
 *   cc -O2 -o /tmp/sendcopy bench/sendcopy.c && /tmp/sendcopy [body_bytes] [count] [rounds] [FILE]
 *
 * With FILE, the sendfile side reads a regular file of that name (created,
 * then unlinked) instead of a memfd: the disk tier's case. With
 * SENDCOPY_PIN=1 the sender runs on CPU 0 and the reader on CPU 1 (as
 * bench/edge-hit pins the server and wrk).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (getenv("SENDCOPY_PIN") && sched_setaffinity(0, sizeof(set), &set) != 0)
        die("sched_setaffinity");
}

static void sink(int fd)
{
    pin(1);
    static char buf[1 << 18];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    exit(0);
}

/* One response: a header (always written from memory), then the body. */
static void send_one(int s, const char *head, size_t hl, const char *body, int mfd, size_t bl)
{
    if (mfd < 0) {
        struct iovec iov[2] = {{(void *)head, hl}, {(void *)body, bl}};
        size_t left = hl + bl;
        while (left) {
            ssize_t n = writev(s, iov, 2);
            if (n <= 0)
                die("writev");
            left -= (size_t)n;
            for (int i = 0; i < 2 && n; i++) {
                size_t k = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
                iov[i].iov_base = (char *)iov[i].iov_base + k;
                iov[i].iov_len -= k;
                n -= (ssize_t)k;
            }
        }
        return;
    }
    if (write(s, head, hl) != (ssize_t)hl)
        die("write");
    off_t off = 0;
    while ((size_t)off < bl)
        if (sendfile(s, mfd, &off, bl - (size_t)off) <= 0)
            die("sendfile");
}

int main(int argc, char **argv)
{
    size_t bl = argc > 1 ? strtoul(argv[1], NULL, 0) : 100 * 1024;
    long count = argc > 2 ? strtol(argv[2], NULL, 0) : 20000;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &al))
        die("listen");
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof(a)))
            die("connect");
        sink(c);
    }
    pin(0);
    int s = accept(ls, NULL, NULL);
    if (s < 0)
        die("accept");
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    char *body = malloc(bl);
    for (size_t i = 0; i < bl; i++)
        body[i] = (char)('a' + i % 26);
    int mfd = argc > 4 ? open(argv[4], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                       : memfd_create("sendcopy", MFD_CLOEXEC);
    if (argc > 4)
        unlink(argv[4]);
    if (mfd < 0 || write(mfd, body, bl) != (ssize_t)bl)
        die("memfd");
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               "Content-Length: 102400\r\nX-Cache: HIT\r\nVia: 1.1 hyperscale\r\n\r\n";

    printf("body %zu bytes, %ld responses per run, %d rounds\n", bl, count, rounds);
    printf("%-6s %14s %14s %14s %14s %8s\n", "round", "writev us/resp", "sendfile us/resp",
           "writev MB/s", "sendfile MB/s", "ratio");
    double sum_ratio = 0;
    for (int r = 0; r < rounds; r++) {
        double us[2], mbs[2];
        for (int way = 0; way < 2; way++) {
            double c0 = cpu_now(), w0 = wall_now();
            for (long i = 0; i < count; i++)
                send_one(s, head, sizeof(head) - 1, body, way ? mfd : -1, bl);
            double c1 = cpu_now(), w1 = wall_now();
            us[way] = (c1 - c0) * 1e6 / (double)count;
            mbs[way] = (double)count * (double)bl / (w1 - w0) / 1e6;
        }
        double ratio = us[1] / us[0];
        sum_ratio += ratio;
        printf("%-6d %14.2f %14.2f %14.0f %14.0f %8.2f\n", r + 1, us[0], us[1], mbs[0], mbs[1],
               ratio);
    }
    printf("mean sendfile/writev sender CPU: %.2f\n", sum_ratio / rounds);
    close(s);
    waitpid(pid, NULL, 0);
    return 0;
}
