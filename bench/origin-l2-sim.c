/*
 * Driver of bench/origin-l2: replays synthetic traces through the real L2
 * cache (src/origin/l2.c) with each policy and prints miss ratios, and
 * measures lookups per second per thread.
 *
 *   origin-l2-sim miss [keys] [requests]    miss-ratio table
 *   origin-l2-sim tput [keys] [requests]    throughput, 1 and 2 threads
 *
 * Objects: `keys` keys of S3-like names with lognormal sizes (median
 * 8 KiB, sigma 1.2) clamped to 1..256 KiB, fixed per key. Values wrap one
 * shared buffer with the object's length, so the cache charges the real
 * size while the process stays small. Requests follow Zipf(s) over the
 * keys; the scan workload is Zipf(1.0) with a run of one-time keys after
 * every SCAN_EVERY requests. A miss does what the origin does: take a fill
 * token, "read", put.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "origin/l2.h"

#define MIN_SIZE 1024u
#define MAX_SIZE (256u * 1024u)
#define SCAN_EVERY 50000u
#define SCAN_LEN 10000u

static unsigned char blob[MAX_SIZE];
static uint32_t nkeys;
static uint32_t *sizes;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *x)
{
    return ((double)(splitmix(x) >> 11) + 0.5) / 9007199254740992.0;
}

static uint32_t size_of(uint64_t id)
{
    uint64_t x = id * 0x2545f4914f6cdd1dull + 7;
    double n = sqrt(-2.0 * log(unit(&x))) * cos(2.0 * M_PI * unit(&x));
    double s = exp(log(8192.0) + 1.2 * n);
    if (s < MIN_SIZE)
        s = MIN_SIZE;
    if (s > MAX_SIZE)
        s = MAX_SIZE;
    return (uint32_t)s;
}

static int key_of(uint64_t id, char *buf)
{
    return sprintf(buf, "bucket-%02u/data/part-%010llu.parquet", (unsigned)(id % 7),
                   (unsigned long long)id);
}

/* Zipf(s) ranks 0..n-1 by inverse CDF; rank r is key r (sizes are hashed
 * from the id, so popularity and size are independent). */
static uint32_t *zipf_trace(double s, uint32_t n, size_t len, uint64_t seed, int scans,
                            size_t *out_len)
{
    double *cdf = malloc(n * sizeof(*cdf));
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        cdf[i] = (sum += pow((double)(i + 1), -s));
    size_t cap = len + (scans ? (len / SCAN_EVERY + 1) * SCAN_LEN : 0);
    uint32_t *t = malloc(cap * sizeof(*t));
    uint64_t x = seed;
    uint32_t next_scan = n;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        double u = unit(&x) * sum;
        uint32_t lo = 0, hi = n - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        t[k++] = lo;
        if (scans && (i + 1) % SCAN_EVERY == 0)
            for (uint32_t j = 0; j < SCAN_LEN; j++)
                t[k++] = next_scan++;
    }
    free(cdf);
    *out_len = k;
    return t;
}

/* One request: get, or fill on a miss. Returns 1 on a miss. */
static int request(hs_l2_t *c, uint32_t id)
{
    char key[96];
    int kl = key_of(id, key);
    hs_l2_val_t *v = hs_l2_get(c, key, (size_t)kl);
    if (v) {
        hs_l2_val_unref(v);
        return 0;
    }
    uint64_t tok = hs_l2_begin_fill(c, key, (size_t)kl);
    uint32_t sz = id < nkeys ? sizes[id] : size_of(id);
    v = hs_l2_val_wrap(blob, sz, 0, NULL, NULL);
    hs_l2_put(c, key, (size_t)kl, v, tok);
    hs_l2_val_unref(v);
    return 1;
}

static hs_l2_t *mk(size_t bytes, hs_l2_policy_kind_t p)
{
    hs_l2_opts_t o = {.max_bytes = bytes, .max_item_bytes = MAX_SIZE + 512, .policy = p};
    return hs_l2_new_opts(&o);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void miss_table(size_t nreq)
{
    static const struct {
        const char *name;
        double s;
        int scans;
    } wl[] = {{"zipf-0.8", 0.8, 0}, {"zipf-1.0", 1.0, 0}, {"zipf-1.2", 1.2, 0},
              {"zipf-1.0+scan", 1.0, 1}};
    static const double frac[] = {0.001, 0.01, 0.1};
    const char *only_frac = getenv("L2_FRAC"); /* one cache size, e.g. 0.1 */
    double ratio_sum[HS_L2_NPOLICIES] = {0};
    int rows = 0;
    uint64_t ws = 0;
    char key[96];
    for (uint32_t i = 0; i < nkeys; i++)
        ws += sizes[i] + (uint64_t)key_of(i, key);
    printf("keys %u, working set %.2f GiB (object bytes + keys), %zu requests per run,\n"
           "miss ratio over the requests after the first 25%% (scan: Zipf requests only)\n\n",
           nkeys, (double)ws / (1 << 30), nreq);
    printf("%-14s %6s %6s", "workload", "cache", "shards");
    for (int p = 0; p < HS_L2_NPOLICIES; p++)
        printf(" %8s", hs_l2_policy_name((hs_l2_policy_kind_t)p));
    for (int p = 1; p < HS_L2_NPOLICIES; p++)
        printf(" %8s", hs_l2_policy_name((hs_l2_policy_kind_t)p));
    printf("\n%-14s %6s %6s %35s %26s\n", "", "", "", "miss ratio", "ratio to lru");
    for (size_t w = 0; w < sizeof(wl) / sizeof(wl[0]); w++) {
        size_t len;
        uint32_t *t = zipf_trace(wl[w].s, nkeys, nreq, 42 + w, wl[w].scans, &len);
        for (size_t f = 0; f < sizeof(frac) / sizeof(frac[0]); f++) {
            if (only_frac && fabs(frac[f] - atof(only_frac)) > 1e-9)
                continue;
            double mr[HS_L2_NPOLICIES];
            unsigned shards = 0;
            for (int p = 0; p < HS_L2_NPOLICIES; p++) {
                hs_l2_t *c = mk((size_t)((double)ws * frac[f]), (hs_l2_policy_kind_t)p);
                uint64_t miss = 0, n = 0;
                for (size_t i = 0; i < len; i++) {
                    int m = request(c, t[i]);
                    if (i >= len / 4 && t[i] < nkeys) {
                        miss += (uint64_t)m;
                        n++;
                    }
                }
                hs_l2_stats_t st;
                hs_l2_stats(c, &st);
                shards = st.shards;
                mr[p] = (double)miss / (double)n;
                hs_l2_free(c);
            }
            printf("%-14s %5.1f%% %6u", wl[w].name, frac[f] * 100, shards);
            for (int p = 0; p < HS_L2_NPOLICIES; p++)
                printf(" %8.4f", mr[p]);
            for (int p = 1; p < HS_L2_NPOLICIES; p++) {
                printf(" %8.3f", mr[p] / mr[0]);
                ratio_sum[p] += mr[p] / mr[0];
            }
            printf("\n");
            fflush(stdout);
            rows++;
        }
        free(t);
    }
    printf("%-14s %6s %6s %35s", "mean ratio", "", "", "");
    for (int p = 1; p < HS_L2_NPOLICIES; p++)
        printf(" %8.3f", ratio_sum[p] / rows);
    printf("\n");
}

typedef struct run {
    hs_l2_t *c;
    const uint32_t *t;
    size_t len;
    uint64_t misses;
    double cpu; /* this thread's CPU seconds */
} run_t;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *runner(void *arg)
{
    run_t *r = arg;
    double c0 = cpu_now();
    for (size_t i = 0; i < r->len; i++)
        r->misses += (uint64_t)request(r->c, r->t[i]);
    r->cpu = cpu_now() - c0;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define ROUNDS_MAX 15

/*
 * Rounds alternate the policies so load from other processes hits all of
 * them alike; the median round counts. Two rates per thread: by wall
 * time (what a loop thread gets, lock waits included) and by the
 * thread's own CPU time (less sensitive to other processes).
 */
static void throughput(size_t nreq)
{
    uint64_t ws = 0;
    char key[96];
    for (uint32_t i = 0; i < nkeys; i++)
        ws += sizes[i] + (uint64_t)key_of(i, key);
    const char *re = getenv("L2_ROUNDS");
    int rounds = re ? atoi(re) : 3;
    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 3;
    size_t len[2];
    uint32_t *t[2] = {zipf_trace(1.0, nkeys, nreq, 7, 0, &len[0]),
                      zipf_trace(1.0, nkeys, nreq, 8, 0, &len[1])};
    printf("Zipf 1.0, cache 10%% of the working set, %zu lookups per thread (get; on a\n"
           "miss: token + put), cache warmed with one pass first; median of %d rounds\n\n",
           nreq, rounds);
    const char *only = getenv("L2_POLICY"); /* profile one policy */
    static double wall[HS_L2_NPOLICIES][2][ROUNDS_MAX], cpu[HS_L2_NPOLICIES][2][ROUNDS_MAX];
    static double miss[HS_L2_NPOLICIES][2];
    for (int rd = 0; rd < rounds; rd++) {
        for (int p = 0; p < HS_L2_NPOLICIES; p++) {
            if (only && hs_l2_policy_parse(only) != p)
                continue;
            for (int nt = 1; nt <= 2; nt++) {
                hs_l2_t *c = mk((size_t)((double)ws * 0.1), (hs_l2_policy_kind_t)p);
                run_t warm = {c, t[0], len[0], 0, 0};
                runner(&warm);
                run_t r[2];
                pthread_t th[2];
                double t0 = now();
                for (int i = 0; i < nt; i++) {
                    r[i] = (run_t){c, t[i], len[i], 0, 0};
                    pthread_create(&th[i], NULL, runner, &r[i]);
                }
                uint64_t m = 0;
                double cs = 0;
                for (int i = 0; i < nt; i++) {
                    pthread_join(th[i], NULL);
                    m += r[i].misses;
                    cs += r[i].cpu;
                }
                double dt = now() - t0;
                wall[p][nt - 1][rd] = (double)nreq / dt;
                cpu[p][nt - 1][rd] = (double)nreq * nt / cs;
                miss[p][nt - 1] = (double)m / (double)(nreq * (size_t)nt);
                hs_l2_free(c);
            }
        }
    }
    printf("%-8s %7s %14s %14s %10s %10s %7s\n", "policy", "threads", "wall/s/thread",
           "cpu/s/thread", "wall:lru", "cpu:lru", "miss");
    double base[2][2] = {{0, 0}, {0, 0}};
    for (int p = 0; p < HS_L2_NPOLICIES; p++) {
        if (only && hs_l2_policy_parse(only) != p)
            continue;
        for (int nt = 1; nt <= 2; nt++) {
            qsort(wall[p][nt - 1], (size_t)rounds, sizeof(double), cmp_double);
            qsort(cpu[p][nt - 1], (size_t)rounds, sizeof(double), cmp_double);
            double w = wall[p][nt - 1][rounds / 2], cp = cpu[p][nt - 1][rounds / 2];
            if (p == 0) {
                base[nt - 1][0] = w;
                base[nt - 1][1] = cp;
            }
            printf("%-8s %7d %14.0f %14.0f %10.2f %10.2f %7.4f\n",
                   hs_l2_policy_name((hs_l2_policy_kind_t)p), nt, w, cp,
                   base[nt - 1][0] ? w / base[nt - 1][0] : 0,
                   base[nt - 1][1] ? cp / base[nt - 1][1] : 0, miss[p][nt - 1]);
        }
    }
    free(t[0]);
    free(t[1]);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "miss";
    nkeys = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000000;
    size_t nreq = argc > 3 ? strtoull(argv[3], NULL, 10) : 4000000;
    if (nkeys < 100 || nreq < 1000) {
        fprintf(stderr, "usage: %s miss|tput [keys >= 100] [requests >= 1000]\n", argv[0]);
        return 2;
    }
    sizes = malloc(nkeys * sizeof(*sizes));
    for (uint32_t i = 0; i < nkeys; i++)
        sizes[i] = size_of(i);
    if (strcmp(mode, "miss") == 0)
        miss_table(nreq);
    else if (strcmp(mode, "tput") == 0)
        throughput(nreq);
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    free(sizes);
    return 0;
}
