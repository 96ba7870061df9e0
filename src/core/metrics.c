/*
 * Metrics registry with thread-sharded, lock-free updates.
 *
 * Every counter and histogram holds one cache-line-aligned slot per shard
 * (HS_METRICS_SHARDS); a thread that called hs_metrics_thread_init(i)
 * owns shard i and updates it with a relaxed load and store (no locked
 * instruction, no cache line shared with other writers). Shard 0 belongs
 * to the main thread and to every unregistered thread, so it is always
 * updated with an atomic add. Shard ownership is tracked in a bitmap and
 * released when the thread exits, so a second thread asking for a shard
 * that is still owned falls back to shard 0 instead of losing updates.
 * Gauges are a single atomic (set has no meaning per shard).
 *
 * All slot accesses are C11 atomics with relaxed order, so the renderer
 * summing shards while workers update them is race-free (TSan-clean).
 * Registration and rendering take a mutex; neither is on a hot path.
 */
#include "core/metrics.h"

#include <assert.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"

#define HS_METRICS_SHARDS 64
#define CACHE_LINE 64
#define NBUCKETS 20 /* 19 finite upper bounds and +Inf */

typedef enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype_t;

static const char *const mtype_names[] = {"counter", "gauge", "histogram"};

/* Upper bounds in nanoseconds, and as rendered (seconds). */
static const uint64_t bucket_ns[NBUCKETS - 1] = {
    50000,      100000,     250000,     500000,      1000000,     2500000,    5000000,
    10000000,   25000000,   50000000,   100000000,   250000000,   500000000,  1000000000,
    2500000000, 5000000000, 10000000000, 30000000000, 60000000000,
};
static const char *const bucket_le[NBUCKETS] = {
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",    "0.025",  "0.05",    "0.1",    "0.25",  "0.5",    "1",
    "2.5",     "5",      "10",      "30",     "60",    "+Inf",
};

/* Aligned like the shards that follow it, so the cast from a series to its
 * counter/gauge/histogram never loses alignment. */
typedef struct series {
    alignas(CACHE_LINE) struct series *next;
    char *labels; /* inside of the braces; "" for none */
} series_t;

typedef struct family {
    struct family *next;
    char *name;
    char *help;
    mtype_t type;
    series_t *head, **tail;
} family_t;

struct cslot {
    alignas(CACHE_LINE) _Atomic uint64_t v;
};

struct hslot {
    alignas(CACHE_LINE) _Atomic uint64_t bucket[NBUCKETS]; /* not cumulative */
    _Atomic uint64_t sum_ns;
};

struct hs_counter {
    series_t s;
    struct cslot shard[HS_METRICS_SHARDS];
};

struct hs_gauge {
    series_t s;
    alignas(CACHE_LINE) _Atomic int64_t v;
};

struct hs_histogram {
    series_t s;
    struct hslot shard[HS_METRICS_SHARDS];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static family_t *families;
static family_t **families_tail = &families;

/* ---- shard ownership ---- */

static _Thread_local unsigned my_shard; /* 0: shared shard, atomic adds */
static _Atomic uint64_t shards_owned;   /* bit i: shard i has a live owner */
static pthread_key_t shard_key;
static pthread_once_t shard_key_once = PTHREAD_ONCE_INIT;

static void release_shard(unsigned shard)
{
    if (shard != 0)
        atomic_fetch_and_explicit(&shards_owned, ~(UINT64_C(1) << shard), memory_order_acq_rel);
}

static void shard_key_dtor(void *p)
{
    release_shard((unsigned)(uintptr_t)p);
}

static void shard_key_create(void)
{
    int rc = pthread_key_create(&shard_key, shard_key_dtor);
    assert(rc == 0);
    (void)rc;
}

void hs_metrics_thread_init(unsigned shard)
{
    pthread_once(&shard_key_once, shard_key_create);
    if (shard == my_shard)
        return;
    release_shard(my_shard);
    my_shard = 0;
    pthread_setspecific(shard_key, NULL);
    if (shard == 0 || shard >= HS_METRICS_SHARDS)
        return;
    /* acq_rel: the previous owner's relaxed stores to this shard happen
     * before our loads, so no update is lost across owners. */
    uint64_t bit = UINT64_C(1) << shard;
    if (atomic_fetch_or_explicit(&shards_owned, bit, memory_order_acq_rel) & bit)
        return; /* owned by another live thread: share shard 0 instead */
    my_shard = shard;
    pthread_setspecific(shard_key, (void *)(uintptr_t)shard);
}

static inline void slot_add(_Atomic uint64_t *p, uint64_t n)
{
    if (my_shard == 0)
        atomic_fetch_add_explicit(p, n, memory_order_relaxed);
    else
        atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
                              memory_order_relaxed);
}

/* ---- updates ---- */

void hs_counter_add(hs_counter_t *c, uint64_t n)
{
    slot_add(&c->shard[my_shard].v, n);
}

void hs_gauge_set(hs_gauge_t *g, int64_t v)
{
    atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void hs_gauge_add(hs_gauge_t *g, int64_t delta)
{
    atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}

void hs_histogram_observe_ns(hs_histogram_t *h, uint64_t ns)
{
    unsigned i = 0;
    while (i < NBUCKETS - 1 && ns > bucket_ns[i])
        i++;
    struct hslot *s = &h->shard[my_shard];
    slot_add(&s->bucket[i], 1);
    slot_add(&s->sum_ns, ns);
}

uint64_t hs_counter_value(const hs_counter_t *c)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < HS_METRICS_SHARDS; i++)
        sum += atomic_load_explicit(&c->shard[i].v, memory_order_relaxed);
    return sum;
}

int64_t hs_gauge_value(const hs_gauge_t *g)
{
    return atomic_load_explicit(&g->v, memory_order_relaxed);
}

/* Sums the shards: per-bucket counts (not cumulative) and the sum in ns. */
static void histogram_snapshot(const hs_histogram_t *h, uint64_t buckets[NBUCKETS],
                               uint64_t *sum_ns)
{
    memset(buckets, 0, NBUCKETS * sizeof(buckets[0]));
    *sum_ns = 0;
    for (unsigned i = 0; i < HS_METRICS_SHARDS; i++) {
        for (unsigned b = 0; b < NBUCKETS; b++)
            buckets[b] += atomic_load_explicit(&h->shard[i].bucket[b], memory_order_relaxed);
        *sum_ns += atomic_load_explicit(&h->shard[i].sum_ns, memory_order_relaxed);
    }
}

uint64_t hs_histogram_count(const hs_histogram_t *h)
{
    uint64_t b[NBUCKETS], sum, n = 0;
    histogram_snapshot(h, b, &sum);
    for (unsigned i = 0; i < NBUCKETS; i++)
        n += b[i];
    return n;
}

/* ---- registration ---- */

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static family_t *find_family(const char *name)
{
    for (family_t *f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static size_t series_size(mtype_t t)
{
    switch (t) {
    case M_COUNTER: return sizeof(hs_counter_t);
    case M_GAUGE: return sizeof(hs_gauge_t);
    case M_HISTOGRAM: return sizeof(hs_histogram_t);
    }
    return 0;
}

static series_t *do_register(mtype_t type, const char *name, const char *labels, const char *help)
{
    /* A bad name or label set is a programming error, not input. */
    assert(valid_name(name));
    if (!labels)
        labels = "";
    /* labels are pre-escaped by the caller; a raw newline would end the
     * sample line early */
    assert(!strchr(labels, '\n'));

    series_t *found = NULL;
    pthread_mutex_lock(&reg_lock);
    family_t *f = find_family(name);
    if (f) {
        if (f->type != type)
            goto out;
        for (series_t *s = f->head; s; s = s->next)
            if (strcmp(s->labels, labels) == 0) {
                found = s;
                goto out;
            }
    } else {
        f = calloc(1, sizeof(*f));
        if (!f)
            goto out;
        f->name = strdup(name);
        f->help = strdup(help ? help : "");
        if (!f->name || !f->help) {
            free(f->name);
            free(f->help);
            free(f);
            goto out;
        }
        f->type = type;
        f->tail = &f->head;
        *families_tail = f;
        families_tail = &f->next;
    }
    size_t size = series_size(type);
    series_t *s = aligned_alloc(CACHE_LINE, size);
    char *lab = strdup(labels);
    if (!s || !lab) {
        free(s);
        free(lab);
        goto out; /* an empty family stays registered; it renders nothing */
    }
    memset(s, 0, size);
    s->labels = lab;
    *f->tail = s;
    f->tail = &s->next;
    found = s;
out:
    pthread_mutex_unlock(&reg_lock);
    return found;
}

hs_counter_t *hs_counter(const char *name, const char *labels, const char *help)
{
    return (hs_counter_t *)do_register(M_COUNTER, name, labels, help);
}

hs_gauge_t *hs_gauge(const char *name, const char *labels, const char *help)
{
    return (hs_gauge_t *)do_register(M_GAUGE, name, labels, help);
}

hs_histogram_t *hs_histogram(const char *name, const char *labels, const char *help)
{
    return (hs_histogram_t *)do_register(M_HISTOGRAM, name, labels, help);
}

/* ---- rendering ---- */

/* HELP text escapes backslash and newline (text format 0.0.4). */
static int put_help(hs_buf_t *b, const char *name, const char *help, const char *type)
{
    int rc = hs_buf_printf(b, "# HELP %s ", name);
    for (const char *p = help; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = hs_buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            rc = hs_buf_append(b, "\\n", 2);
        else
            rc = hs_buf_append(b, p, 1);
    }
    if (rc == 0)
        rc = hs_buf_printf(b, "\n# TYPE %s %s\n", name, type);
    return rc;
}

/* "{labels}" or "" when there are none. */
static int put_series_name(hs_buf_t *b, const char *name, const char *suffix, const char *labels)
{
    return labels[0] ? hs_buf_printf(b, "%s%s{%s}", name, suffix, labels)
                     : hs_buf_printf(b, "%s%s", name, suffix);
}

static int render_histogram(hs_buf_t *b, const family_t *f, const hs_histogram_t *h)
{
    uint64_t buckets[NBUCKETS], sum_ns, cum = 0;
    int rc = 0;
    histogram_snapshot(h, buckets, &sum_ns);
    const char *labels = h->s.labels;
    for (unsigned i = 0; rc == 0 && i < NBUCKETS; i++) {
        cum += buckets[i];
        rc = hs_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", f->name, labels,
                           labels[0] ? "," : "", bucket_le[i], cum);
    }
    if (rc == 0)
        rc = put_series_name(b, f->name, "_sum", labels);
    if (rc == 0)
        rc = hs_buf_printf(b, " %" PRIu64 ".%09" PRIu64 "\n", sum_ns / 1000000000,
                           sum_ns % 1000000000);
    if (rc == 0)
        rc = put_series_name(b, f->name, "_count", labels);
    if (rc == 0)
        rc = hs_buf_printf(b, " %" PRIu64 "\n", cum);
    return rc;
}

static int render_family(hs_buf_t *b, const family_t *f)
{
    if (!f->head)
        return 0;
    int rc = put_help(b, f->name, f->help, mtype_names[f->type]);
    for (const series_t *s = f->head; rc == 0 && s; s = s->next) {
        switch (f->type) {
        case M_COUNTER:
            if ((rc = put_series_name(b, f->name, "", s->labels)) == 0)
                rc = hs_buf_printf(b, " %" PRIu64 "\n",
                                   hs_counter_value((const hs_counter_t *)s));
            break;
        case M_GAUGE:
            if ((rc = put_series_name(b, f->name, "", s->labels)) == 0)
                rc = hs_buf_printf(b, " %" PRId64 "\n", hs_gauge_value((const hs_gauge_t *)s));
            break;
        case M_HISTOGRAM:
            rc = render_histogram(b, f, (const hs_histogram_t *)s);
            break;
        }
    }
    return rc;
}

/* Number of open file descriptors, or -1. */
static long count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

/* Boot time (seconds since the epoch) from /proc/stat, or 0. */
static unsigned long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long bt = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

/* process_* metrics of the Prometheus client conventions, read from /proc
 * at render time. Each is skipped if its source cannot be read. */
static int render_process(hs_buf_t *b)
{
    int rc = 0;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char stat[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
    if (f)
        fclose(f);
    stat[n] = '\0';
    /* Fields after the command name, which may itself hold spaces and ')'. */
    const char *p = strrchr(stat, ')');
    unsigned long long utime, stime, start, vsize;
    long long rss;
    if (p && tck > 0 &&
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &utime, &stime, &start, &vsize, &rss) == 5) {
        rc = put_help(b, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      "counter");
        if (rc == 0)
            rc = hs_buf_printf(b, "process_cpu_seconds_total %.2f\n",
                               (double)(utime + stime) / (double)tck);
        if (rc == 0)
            rc = put_help(b, "process_resident_memory_bytes", "Resident memory size in bytes.",
                          "gauge");
        if (rc == 0)
            rc = hs_buf_printf(b, "process_resident_memory_bytes %lld\n", rss * page);
        if (rc == 0)
            rc = put_help(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                          "gauge");
        if (rc == 0)
            rc = hs_buf_printf(b, "process_virtual_memory_bytes %llu\n", vsize);
        unsigned long long bt = boot_time();
        if (rc == 0 && bt)
            rc = put_help(b, "process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.", "gauge");
        if (rc == 0 && bt)
            rc = hs_buf_printf(b, "process_start_time_seconds %.2f\n",
                               (double)bt + (double)start / (double)tck);
    }
    long fds = count_open_fds();
    if (rc == 0 && fds >= 0)
        rc = put_help(b, "process_open_fds", "Number of open file descriptors.", "gauge");
    if (rc == 0 && fds >= 0)
        rc = hs_buf_printf(b, "process_open_fds %ld\n", fds);
    struct rlimit rl;
    if (rc == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rc = put_help(b, "process_max_fds", "Maximum number of open file descriptors.", "gauge");
        if (rc == 0)
            rc = hs_buf_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    return rc;
}

int hs_metrics_render(char **out, size_t *out_len)
{
    hs_buf_t b = HS_BUF_INIT;
    int rc = hs_buf_reserve(&b, 16384);
    pthread_mutex_lock(&reg_lock);
    for (const family_t *f = families; rc == 0 && f; f = f->next)
        rc = render_family(&b, f);
    pthread_mutex_unlock(&reg_lock);
    if (rc == 0)
        rc = render_process(&b);
    if (rc == 0)
        rc = hs_buf_reserve(&b, 1);
    if (rc != 0) {
        hs_buf_free(&b);
        return HS_ENOMEM;
    }
    /* data starts at offset 0: nothing was consumed */
    b.base[b.len] = '\0';
    *out = b.base;
    *out_len = b.len;
    return 0;
}
