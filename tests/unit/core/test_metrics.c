/* Unit tests for src/core/metrics.c: registry, exposition format, sharded
 * concurrent updates. Series live for the process, so each test uses its
 * own metric names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"

static char *render(void)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(hs_metrics_render(&out, &len), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    assert_true(len > 0 && out[len - 1] == '\n');
    return out;
}

/* The lines of `text` from the first one starting with `from` (inclusive),
 * `n` of them, joined with '\n'. Caller frees. */
static char *lines_from(const char *text, const char *from, int n)
{
    const char *p = strstr(text, from);
    if (!p)
        return strdup("");
    const char *e = p;
    for (int i = 0; i < n && e; i++) {
        e = strchr(e, '\n');
        if (e)
            e++;
    }
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *r = malloc(len + 1);
    memcpy(r, p, len);
    r[len] = '\0';
    return r;
}

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Checks the whole exposition against text format 0.0.4: comment lines are
 * HELP/TYPE, HELP and TYPE appear once per family and before its samples,
 * samples are `name[{labels}] value` with a float value. */
static void check_exposition(const char *text)
{
    char families[256][128];
    int nfam = 0;
    char typed[128] = "";
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        char buf[1024];
        size_t len = (size_t)(nl - line);
        assert_true(len > 0 && len < sizeof(buf));
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strncmp(buf, "# HELP ", 7) == 0) {
            char name[128];
            assert_int_equal(sscanf(buf + 7, "%127s", name), 1);
            for (int i = 0; i < nfam; i++)
                if (strcmp(families[i], name) == 0)
                    fail_msg("HELP for %s twice", name);
            assert_true(nfam < 256);
            strcpy(families[nfam++], name);
        } else if (strncmp(buf, "# TYPE ", 7) == 0) {
            char name[128], type[32];
            assert_int_equal(sscanf(buf + 7, "%127s %31s", name, type), 2);
            assert_string_equal(name, families[nfam - 1]); /* right after its HELP */
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            strcpy(typed, name);
        } else {
            assert_true(buf[0] != '#');
            size_t i = 0;
            while (name_char(buf[i], i == 0))
                i++;
            assert_true(i > 0);
            /* the sample belongs to the last TYPEd family */
            assert_memory_equal(buf, typed, strlen(typed));
            if (buf[i] == '{') {
                char *close = strchr(buf + i, '}');
                assert_non_null(close);
                i = (size_t)(close - buf) + 1;
            }
            assert_int_equal(buf[i], ' ');
            char *end;
            strtod(buf + i + 1, &end);
            assert_int_equal(*end, '\0');
            assert_ptr_not_equal(end, buf + i + 1);
        }
        line = nl + 1;
    }
}

static void test_register_and_render(void **state)
{
    (void)state;
    hs_counter_t *ok = hs_counter("t1_requests_total", "code=\"200\"", "Requests served.");
    hs_counter_t *nf = hs_counter("t1_requests_total", "code=\"404\"", "ignored help");
    hs_gauge_t *g = hs_gauge("t1_connections", NULL, "Open connections.");
    hs_counter_t *plain = hs_counter("t1_plain_total", "", "A \\ backslash\nand newline.");
    assert_non_null(ok);
    assert_non_null(nf);
    assert_non_null(g);
    assert_non_null(plain);
    assert_ptr_not_equal(ok, nf);
    /* same (name, labels) gives the same series; another type gives NULL */
    assert_ptr_equal(hs_counter("t1_requests_total", "code=\"200\"", "x"), ok);
    assert_null(hs_gauge("t1_requests_total", "code=\"200\"", "x"));
    assert_null(hs_histogram("t1_connections", NULL, "x"));

    hs_counter_add(ok, 41);
    hs_counter_inc(ok);
    hs_counter_inc(nf);
    hs_gauge_set(g, 10);
    hs_gauge_add(g, -13);
    assert_int_equal(hs_counter_value(ok), 42);
    assert_int_equal(hs_gauge_value(g), -3);

    char *out = render();
    check_exposition(out);
    char *part = lines_from(out, "# HELP t1_requests_total", 9);
    assert_string_equal(part, "# HELP t1_requests_total Requests served.\n"
                              "# TYPE t1_requests_total counter\n"
                              "t1_requests_total{code=\"200\"} 42\n"
                              "t1_requests_total{code=\"404\"} 1\n"
                              "# HELP t1_connections Open connections.\n"
                              "# TYPE t1_connections gauge\n"
                              "t1_connections -3\n"
                              "# HELP t1_plain_total A \\\\ backslash\\nand newline.\n"
                              "# TYPE t1_plain_total counter\n");
    free(part);
    assert_non_null(strstr(out, "\nt1_plain_total 0\n"));
    free(out);
}

static void test_histogram(void **state)
{
    (void)state;
    hs_histogram_t *h = hs_histogram("t2_latency_seconds", "route=\"get\"", "Latency.");
    hs_histogram_t *h2 = hs_histogram("t2_latency_seconds", NULL, "Latency.");
    assert_non_null(h);
    assert_non_null(h2);
    assert_ptr_equal(hs_histogram("t2_latency_seconds", "route=\"get\"", ""), h);
    /* bounds are inclusive (le): 50 us lands in the first bucket */
    hs_histogram_observe_ns(h, 0);
    hs_histogram_observe_ns(h, 50000);
    hs_histogram_observe_ns(h, 50001);
    hs_histogram_observe_ns(h, 1000000);      /* 1 ms */
    hs_histogram_observe_ns(h, 1500000000);   /* 1.5 s */
    hs_histogram_observe_ns(h, 60000000000);  /* 60 s */
    hs_histogram_observe_ns(h, 61000000000);  /* past the last bound */
    assert_int_equal(hs_histogram_count(h), 7);
    assert_int_equal(hs_histogram_count(h2), 0);
    hs_histogram_observe_ns(h2, 3);

    char *out = render();
    check_exposition(out);
    char *part = lines_from(out, "# HELP t2_latency_seconds", 2 + 22 + 22);
    assert_string_equal(part,
                        "# HELP t2_latency_seconds Latency.\n"
                        "# TYPE t2_latency_seconds histogram\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.00005\"} 2\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.0001\"} 3\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.00025\"} 3\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.0005\"} 3\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.001\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.0025\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.005\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.01\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.025\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.05\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.1\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.25\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"0.5\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"1\"} 4\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"2.5\"} 5\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"5\"} 5\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"10\"} 5\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"30\"} 5\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"60\"} 6\n"
                        "t2_latency_seconds_bucket{route=\"get\",le=\"+Inf\"} 7\n"
                        "t2_latency_seconds_sum{route=\"get\"} 122.501100001\n"
                        "t2_latency_seconds_count{route=\"get\"} 7\n"
                        "t2_latency_seconds_bucket{le=\"0.00005\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.0001\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.00025\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.0005\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.001\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.0025\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.005\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.01\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.025\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.05\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.1\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.25\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"0.5\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"1\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"2.5\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"5\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"10\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"30\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"60\"} 1\n"
                        "t2_latency_seconds_bucket{le=\"+Inf\"} 1\n"
                        "t2_latency_seconds_sum 0.000000003\n"
                        "t2_latency_seconds_count 1\n");
    free(part);
    free(out);
}

static void test_family_order(void **state)
{
    (void)state;
    /* families render in registration order, a later series joins its
     * family rather than starting a new one */
    assert_non_null(hs_gauge("t3_b", NULL, "b"));
    assert_non_null(hs_gauge("t3_a", NULL, "a"));
    assert_non_null(hs_gauge("t3_b", "x=\"1\"", "b"));
    char *out = render();
    char *b = strstr(out, "# HELP t3_b ");
    char *a = strstr(out, "# HELP t3_a ");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(b < a);
    char *part = lines_from(out, "# HELP t3_b ", 4);
    assert_string_equal(part, "# HELP t3_b b\n# TYPE t3_b gauge\nt3_b 0\nt3_b{x=\"1\"} 0\n");
    free(part);
    free(out);
}

static void test_process_metrics(void **state)
{
    (void)state;
    char *out = render();
    check_exposition(out);
    double rss = 0, fds = 0, start = 0, cpu = -1;
    char *p;
    assert_non_null(p = strstr(out, "\nprocess_resident_memory_bytes "));
    rss = strtod(p + 31, NULL);
    assert_non_null(p = strstr(out, "\nprocess_open_fds "));
    fds = strtod(p + 18, NULL);
    assert_non_null(p = strstr(out, "\nprocess_start_time_seconds "));
    start = strtod(p + 28, NULL);
    assert_non_null(p = strstr(out, "\nprocess_cpu_seconds_total "));
    cpu = strtod(p + 27, NULL);
    assert_non_null(strstr(out, "# TYPE process_cpu_seconds_total counter\n"));
    assert_true(rss > 1024 * 1024); /* at least a MiB resident */
    assert_true(fds >= 3);          /* stdin, stdout, stderr */
    double now = (double)time(NULL);
    assert_true(start > now - 3600 && start <= now + 1);
    assert_true(cpu >= 0);
    free(out);
}

enum { NTHREADS = 4, PER_THREAD = 1000000 };

/* All workers start together, so their updates really overlap. */
static pthread_barrier_t start_line;

typedef struct {
    hs_counter_t *c;
    hs_histogram_t *h;
    unsigned shard;
} worker_arg_t;

static void *worker(void *p)
{
    worker_arg_t *a = p;
    if (a->shard)
        hs_metrics_thread_init(a->shard);
    pthread_barrier_wait(&start_line);
    for (unsigned i = 0; i < PER_THREAD; i++) {
        hs_counter_inc(a->c);
        if ((i & 63) == 0)
            hs_histogram_observe_ns(a->h, 1000000 * (uint64_t)(i % 3));
    }
    return NULL;
}

static _Atomic bool stop_render;

static void *renderer(void *p)
{
    (void)p;
    while (!stop_render) {
        char *out;
        size_t len;
        if (hs_metrics_render(&out, &len) == 0)
            free(out);
    }
    return NULL;
}

/* Runs NTHREADS workers with the given shard indices while another thread
 * renders, and checks nothing was lost. */
static void run_concurrent(const char *name, const unsigned shards[NTHREADS])
{
    hs_counter_t *c = hs_counter(name, NULL, "concurrency");
    char hname[64];
    snprintf(hname, sizeof(hname), "%s_latency", name);
    hs_histogram_t *h = hs_histogram(hname, NULL, "concurrency");
    assert_non_null(c);
    assert_non_null(h);
    pthread_t t[NTHREADS], r;
    worker_arg_t args[NTHREADS];
    stop_render = false;
    assert_int_equal(pthread_barrier_init(&start_line, NULL, NTHREADS), 0);
    assert_int_equal(pthread_create(&r, NULL, renderer, NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (worker_arg_t){c, h, shards[i]};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    stop_render = true;
    pthread_join(r, NULL);
    pthread_barrier_destroy(&start_line);
    assert_int_equal(hs_counter_value(c), (uint64_t)NTHREADS * PER_THREAD);
    assert_int_equal(hs_histogram_count(h), (uint64_t)NTHREADS * ((PER_THREAD + 63) / 64));
    char *out = render();
    char want[128];
    snprintf(want, sizeof(want), "\n%s %u\n", name, NTHREADS * PER_THREAD);
    assert_non_null(strstr(out, want));
    free(out);
}

static void test_concurrent_registered(void **state)
{
    (void)state;
    static const unsigned shards[NTHREADS] = {1, 2, 3, 4};
    run_concurrent("t4_registered_total", shards);
}

static void test_concurrent_unregistered(void **state)
{
    (void)state;
    static const unsigned shards[NTHREADS] = {0, 0, 0, 0};
    run_concurrent("t5_unregistered_total", shards);
}

static void test_concurrent_same_shard(void **state)
{
    (void)state;
    /* a misconfigured caller giving two live threads the same index (and
     * one an index past the last shard) must not lose updates */
    static const unsigned shards[NTHREADS] = {9, 9, 9, 1000};
    run_concurrent("t6_same_shard_total", shards);
}

static void *add_on_shard(void *p)
{
    worker_arg_t *a = p;
    hs_metrics_thread_init(a->shard);
    hs_counter_add(a->c, 10);
    return NULL;
}

static void test_shard_handover(void **state)
{
    (void)state;
    /* a shard released by an exited thread is reused, values kept */
    hs_counter_t *c = hs_counter("t7_handover_total", NULL, "h");
    assert_non_null(c);
    for (int i = 0; i < 5; i++) {
        pthread_t t;
        worker_arg_t a = {c, NULL, 7};
        assert_int_equal(pthread_create(&t, NULL, add_on_shard, &a), 0);
        pthread_join(t, NULL);
    }
    hs_metrics_thread_init(0);
    hs_counter_add(c, 1);
    assert_int_equal(hs_counter_value(c), 51);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_render),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_family_order),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_concurrent_registered),
        cmocka_unit_test(test_concurrent_unregistered),
        cmocka_unit_test(test_concurrent_same_shard),
        cmocka_unit_test(test_shard_handover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
