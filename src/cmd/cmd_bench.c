/* `hyperscale bench`: the load generator's command line (loadgen/bench.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "core/config.h"
#include "core/err.h"
#include "core/workers.h"
#include "loadgen/bench.h"
#include "loadgen/zipf.h"

#define MAX_CONNECTIONS 100000u
#define MAX_THREADS 256u
#define MAX_RATE 1e8
#define MAX_OBJECTS 1000000000ull

/* Parses an unsigned decimal in [lo, hi]. */
static int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!s || s[0] < '0' || s[0] > '9') return HS_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno || v < lo || v > hi) return HS_EINVAL;
    *out = v;
    return 0;
}

/* Parses a finite decimal in [lo, hi]. */
static int parse_real(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.')) return HS_EINVAL;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || v < lo || v > hi) return HS_EINVAL;
    *out = v;
    return 0;
}

static int duration_opt(hs_cli_t *cli, const char *name, uint64_t def, uint64_t min, uint64_t *out)
{
    const char *v = hs_cli_opt(cli, name);
    *out = def;
    if (!v) return 0;
    if (hs_parse_duration_ms(v, out) != 0 || *out < min || *out > 24ull * 3600 * 1000)
        return hs_cli_fail(cli, "--%s '%s': expected a duration such as 30s, 500ms or 2m%s", name,
                           v, min ? " (more than 0)" : "");
    return 0;
}

/* Fills o from the options; returns 0 or the usage exit status. */
static int build_opts(hs_cli_t *cli, hs_bench_opts_t *o, const char **json, const char **html)
{
    char err[512];
    const char *v;
    uint64_t u;
    memset(o, 0, sizeof(*o));

    if (cli->argc > 0)
        return hs_cli_fail(cli, "unexpected argument '%s' (the server goes in --target URL)",
                           cli->argv[0]);
    o->target_url = hs_cli_opt(cli, "target");
    if (!o->target_url)
        return hs_cli_fail(cli, "no server to load: give --target http://HOST:PORT");
    if (hs_lg_target_parse(o->target_url, o->upstream, sizeof(o->upstream), err, sizeof(err)) != 0)
        return hs_cli_fail(cli, "%s", err);

    o->closed = hs_cli_opt(cli, "closed") != NULL;
    v = hs_cli_opt(cli, "rate");
    if (o->closed && v)
        return hs_cli_fail(cli, "--rate and --closed exclude each other: --rate N paces an open "
                                "loop, --closed sends as fast as answers come back");
    if (!o->closed) {
        if (!v)
            return hs_cli_fail(cli, "give --rate N (open loop, N requests/s) or --closed "
                                    "(as fast as the server answers)");
        if (parse_real(v, 0, MAX_RATE, &o->rate) != 0 || !(o->rate > 0))
            return hs_cli_fail(cli,
                               "--rate '%s': expected requests per second, a number > 0 "
                               "such as 1000 or 2.5",
                               v);
    }

    o->connections = 32;
    if ((v = hs_cli_opt(cli, "connections"))) {
        if (parse_uint(v, 1, MAX_CONNECTIONS, &u) != 0)
            return hs_cli_fail(cli, "--connections '%s': expected 1..%u", v, MAX_CONNECTIONS);
        o->connections = (unsigned)u;
    }
    if ((v = hs_cli_opt(cli, "threads"))) {
        if (parse_uint(v, 1, MAX_THREADS, &u) != 0)
            return hs_cli_fail(cli, "--threads '%s': expected 1..%u", v, MAX_THREADS);
        o->threads = (unsigned)u;
        if (o->threads > o->connections)
            return hs_cli_fail(cli,
                               "--threads %u is more than --connections %u: every thread "
                               "needs a connection; lower --threads or raise --connections",
                               o->threads, o->connections);
    } else {
        o->threads = hs_workers_threads(0);
        if (o->threads > o->connections) o->threads = o->connections;
    }
    int rc;
    if ((rc = duration_opt(cli, "duration", 10000, 1, &o->duration_ms)) ||
        (rc = duration_opt(cli, "warmup", 0, 0, &o->warmup_ms)) ||
        (rc = duration_opt(cli, "timeout", 10000, 1, &o->timeout_ms)))
        return rc;

    o->objects = 1000;
    if ((v = hs_cli_opt(cli, "objects")) && parse_uint(v, 1, MAX_OBJECTS, &o->objects) != 0)
        return hs_cli_fail(cli, "--objects '%s': expected 1..%llu", v, MAX_OBJECTS);
    o->zipf = 1.0;
    if ((v = hs_cli_opt(cli, "zipf")) && parse_real(v, 0, 10, &o->zipf) != 0)
        return hs_cli_fail(cli,
                           "--zipf '%s': expected the exponent s, 0..10 (1.0 is classic "
                           "Zipf, 0 is uniform)",
                           v);
    if (hs_cli_opt(cli, "uniform")) {
        if (v) return hs_cli_fail(cli, "--uniform and --zipf exclude each other");
        o->zipf = 0;
    }
    if (o->zipf > 0 && o->objects > HS_LG_ZIPF_MAX_N)
        return hs_cli_fail(cli,
                           "--objects %llu: Zipf popularity takes at most %u objects "
                           "(8 bytes each); use fewer objects or --uniform",
                           (unsigned long long)o->objects, HS_LG_ZIPF_MAX_N);

    const char *bucket = hs_cli_opt(cli, "bucket"), *pattern = hs_cli_opt(cli, "url-pattern");
    char defpat[128];
    if (bucket && pattern)
        return hs_cli_fail(cli, "--bucket and --url-pattern exclude each other (put the bucket "
                                "in the pattern: /BUCKET/obj-{n:6})");
    if (!pattern) {
        if (!bucket) bucket = "bench";
        if (!bucket[0] || strlen(bucket) > 63 || strpbrk(bucket, "/?#{}% \t"))
            return hs_cli_fail(cli,
                               "--bucket '%s': expected an S3 bucket name (1..63 characters, "
                               "no '/')",
                               bucket);
        snprintf(defpat, sizeof(defpat), "/%s/obj-{n:6}", bucket);
        pattern = defpat;
    }
    if (hs_lg_pattern_parse(&o->pattern, pattern, err, sizeof(err)) != 0)
        return hs_cli_fail(cli, "%s", err);

    if ((v = hs_cli_opt(cli, "put-ratio")) && parse_real(v, 0, 1, &o->put_ratio) != 0)
        return hs_cli_fail(cli, "--put-ratio '%s': expected the share of PUTs, 0..1 (0.1 = 10%%)",
                           v);
    const char *size = hs_cli_opt(cli, "size"), *dist = hs_cli_opt(cli, "size-dist");
    if (size && dist) return hs_cli_fail(cli, "--size and --size-dist exclude each other");
    rc = dist ? hs_lg_sizes_parse_dist(dist, &o->sizes, err, sizeof(err))
              : hs_lg_sizes_parse_fixed(size ? size : "4k", &o->sizes, err, sizeof(err));
    if (rc != 0) return hs_cli_fail(cli, "%s", err);
    o->prepare = hs_cli_opt(cli, "prepare") != NULL;

    o->s3 = hs_cli_opt(cli, "s3") != NULL;
    o->access_key = hs_cli_opt(cli, "access-key");
    o->secret_key = hs_cli_opt(cli, "secret-key");
    o->region = hs_cli_opt(cli, "region");
    if (!o->s3 && (o->access_key || o->secret_key || o->region))
        return hs_cli_fail(cli, "--access-key, --secret-key and --region only go with --s3");
    if (o->s3) {
        if (!o->access_key) o->access_key = getenv("AWS_ACCESS_KEY_ID");
        if (!o->secret_key) o->secret_key = getenv("AWS_SECRET_ACCESS_KEY");
        if (!o->region) o->region = getenv("AWS_REGION");
        if (!o->region) o->region = "us-east-1";
        if (!o->access_key || !o->secret_key || !o->access_key[0] || !o->secret_key[0])
            return hs_cli_fail(cli, "--s3 needs credentials: --access-key and --secret-key (or "
                                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }

    o->seed = 1;
    if ((v = hs_cli_opt(cli, "seed")) && parse_uint(v, 0, UINT64_MAX, &o->seed) != 0)
        return hs_cli_fail(cli, "--seed '%s': expected an unsigned integer", v);
    o->progress = hs_cli_opt(cli, "progress") != NULL || isatty(STDERR_FILENO);
    if (hs_cli_opt(cli, "quiet")) o->progress = false;
    *json = hs_cli_opt(cli, "json");
    *html = hs_cli_opt(cli, "html");
    if ((*json && !(*json)[0]) || (*html && !(*html)[0]))
        return hs_cli_fail(cli, "--json and --html want a file name (or - for stdout)");
    return 0;
}

static int run(hs_cli_t *cli)
{
    hs_bench_opts_t o;
    const char *json = NULL, *html = NULL;
    int rc = build_opts(cli, &o, &json, &html);
    if (rc != 0) return rc;
    hs_bench_result_t r;
    char err[512] = "";
    rc = hs_bench_run(&o, &r, err, sizeof(err));
    if (rc < 0 && !r.series) {
        fprintf(stderr, "hyperscale bench: %s\n", err[0] ? err : hs_strerror(rc));
        if (o.prepare && r.prepare_puts)
            fprintf(stderr, "hyperscale bench: prepare stored %llu of %llu objects\n",
                    (unsigned long long)(r.prepare_puts - r.prepare_errors),
                    (unsigned long long)o.objects);
        hs_bench_result_free(&r);
        return 1;
    }
    int status = rc < 0 ? 1 : 0;
    if (rc < 0) fprintf(stderr, "hyperscale bench: %s\n", err[0] ? err : hs_strerror(rc));
    /* with --json - the JSON owns stdout */
    bool json_stdout = json && strcmp(json, "-") == 0;
    hs_bench_print_summary(json_stdout ? stderr : stdout, &o, &r);
    if (json && (rc = hs_bench_write_json(json, &o, &r)) != 0) {
        fprintf(stderr, "hyperscale bench: cannot write --json %s: %s\n", json, hs_strerror(rc));
        status = 1;
    }
    if (html && (rc = hs_bench_write_html(html, &o, &r)) != 0) {
        fprintf(stderr, "hyperscale bench: cannot write --html %s: %s\n", html, hs_strerror(rc));
        status = 1;
    }
    hs_bench_result_free(&r);
    return status;
}

static const hs_cli_opt_t opts[] = {
    {"target", "URL", NULL, "server to load: http://HOST:PORT (IP address or localhost)"},
    {"rate", "N", NULL, "open loop: N requests/s over all connections (latency from the schedule)"},
    {"closed", NULL, NULL,
     "closed loop: each connection sends when its last answer is in (like wrk)"},
    {"connections", "C", NULL, "connections, spread over the threads [32]"},
    {"threads", "T", NULL, "event-loop threads [one per CPU, at most C]"},
    {"duration", "D", NULL, "measured time, e.g. 30s or 2m [10s]"},
    {"warmup", "W", NULL, "load before measuring starts (not counted) [0]"},
    {"timeout", "D", NULL, "connect/read timeout per request [10s]"},
    {"objects", "N", NULL, "objects in the key space [1000]"},
    {"zipf", "S", NULL, "Zipf popularity exponent over the objects [1.0]"},
    {"uniform", NULL, NULL, "every object equally popular (same as --zipf 0)"},
    {"bucket", "NAME", NULL, "objects are /NAME/obj-000123 [bench]"},
    {"url-pattern", "PAT", NULL, "object URLs, {n} or {n:WIDTH} is the object number"},
    {"put-ratio", "P", NULL, "share of requests that are PUTs, 0..1 [0]"},
    {"size", "SIZE", NULL, "PUT body size, e.g. 4k or 1m [4k]"},
    {"size-dist", "DIST", NULL,
     "PUT sizes: lognormal:MEDIAN:SIGMA or SIZE:WEIGHT,... (4k:70,1m:30)"},
    {"prepare", NULL, NULL, "PUT every object first, so GETs find them"},
    {"s3", NULL, NULL, "sign requests with AWS SigV4"},
    {"access-key", "KEY", NULL, "S3 access key [AWS_ACCESS_KEY_ID]"},
    {"secret-key", "KEY", NULL, "S3 secret key [AWS_SECRET_ACCESS_KEY]"},
    {"region", "NAME", NULL, "S3 region [AWS_REGION or us-east-1]"},
    {"seed", "N", NULL, "random seed of the workload [1]"},
    {"json", "FILE", NULL, "write every figure, the time series and the histogram as JSON"},
    {"html", "FILE", NULL, "write a self-contained HTML report with plots"},
    {"progress", NULL, NULL, "print a live line on stderr every second even when it is no tty"},
    {"quiet", NULL, NULL, "no live line"},
    {0},
};

const hs_cmd_t hs_cmd_bench = {
    .name = "bench",
    .summary = "load generator: open/closed loop, Zipf objects, GET/PUT mix, HDR latency",
    .usage = "--target http://HOST:PORT (--rate N | --closed)",
    .details = "Open loop (--rate) sends on a fixed schedule and measures latency from each\n"
               "request's intended send time, so a stalled server shows up as latency, never as\n"
               "fewer samples; requests that find every connection busy wait (the backlog).\n"
               "Closed loop (--closed) measures peak throughput. Exit status: 0 after a run\n"
               "(even with errors), 1 when the target is unreachable or --prepare fails, 2 for\n"
               "bad options. See docs/bench.md for how to read the results.",
    .uses_config = false,
    .opts = opts,
    .run = run,
};
