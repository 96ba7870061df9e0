/*
 * `hyperscale objects`: operator commands of the object store
 * (src/objects): put, get, stat, ls, rm, fsck, heal, scrub, gc, tier,
 * info and micro-benchmarks. The store lives in DATA/objects. Every
 * failure prints one line naming what failed and why; long passes print
 * progress on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <isa-l.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "core/err.h"
#include "objects/cdc.h"
#include "objects/durability.h"
#include "objects/ec.h"
#include "objects/objects.h"
#include "objects/tier.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(hs_cli_t *cli, const char *what, int err)
{
    fprintf(stderr, "hyperscale objects: %s: %s (%s)\n", what, hs_strerror(err), hs_errname(err));
    (void)cli;
    return 1;
}

static void progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    (void)arg;
    bool tty = isatty(2);
    if (!tty && done != total) return;
    fprintf(stderr, "%s%s: %" PRIu64 "/%" PRIu64 " (%.0f%%)%s", tty ? "\r" : "", phase, done, total,
            total ? 100.0 * (double)done / (double)total : 100.0,
            done == total || !tty ? "\n" : "");
}

static int open_store(hs_cli_t *cli, hs_objects_t **s)
{
    char dir[4096];
    const char *data = cli->cfg.data && cli->cfg.data[0] ? cli->cfg.data : "./data";
    snprintf(dir, sizeof(dir), "%s/objects", data);
    hs_objects_opts_t o = {
        .ndrives = (int)cli->cfg.objects_drives,
        .chunk_min = (uint32_t)cli->cfg.objects_chunk_min,
        .chunk_avg = (uint32_t)cli->cfg.objects_chunk_avg,
        .chunk_max = (uint32_t)cli->cfg.objects_chunk_max,
    };
    char *dirs[65] = {0}, *copy = NULL;
    if (cli->cfg.objects_drive_dirs && cli->cfg.objects_drive_dirs[0]) {
        int n = 0;
        copy = strdup(cli->cfg.objects_drive_dirs);
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n < 64;
             t = strtok_r(NULL, ",", &save))
            dirs[n++] = t;
        o.drive_dirs = (const char *const *)dirs;
        o.ndrives = 0;
    }
    if (getenv("HS_OBJECTS_NO_FSYNC")) o.no_fsync = true; /* benchmarks of CPU cost only */
    const char *fm = hs_cli_opt(cli, "frag-max");
    uint64_t fmv = 0;
    /* Checked here because a store created with a bad value stays unusable.
     * Whole 4 KiB pages keep full fragments O_DIRECT-able; a largest chunk
     * must fit in one fragment (a 1-drive store has D = 1); 64 MiB bounds a
     * put's stripe buffer ((D+P) x frag_max) and a reader's. */
    uint64_t cmax = o.chunk_max ? o.chunk_max : HS_CDC_MAX_DEFAULT;
    if (fm && (hs_parse_size(fm, &fmv) < 0 || fmv < 4096 || fmv % 4096 != 0 || fmv < cmax ||
               fmv > (64u << 20))) {
        free(copy);
        return hs_cli_fail(cli,
                           "--frag-max %s: expected a multiple of 4k, at least the largest chunk "
                           "(%" PRIu64 ") and at most 64m",
                           fm, cmax);
    }
    o.frag_max = (uint32_t)fmv;
    hs_tier_policy_t pol = {
        .half_life_ns = cli->cfg.objects_tier_half_life * 1000000ull,
        .hot_window_ns = cli->cfg.objects_tier_hot_window * 1000000ull,
        .warm_window_ns = cli->cfg.objects_tier_warm_window * 1000000ull,
        .min_age_ns = cli->cfg.objects_tier_min_age * 1000000ull,
    };
    if (pol.half_life_ns == 0) pol.half_life_ns = 1;
    hs_tier_policy_set(&pol);
    char why[4400];
    int rc = hs_objects_open_why(dir, &o, s, why, sizeof(why));
    free(copy);
    if (rc == HS_ECONFIG && why[0])
        return hs_cli_fail(cli, "--frag-max %s: %s", fm, why); /* only frag_max fills why */
    if (rc == HS_ECONFIG) {
        fprintf(stderr,
                "hyperscale objects: %s: options contradict the existing store (drives and "
                "chunk sizes are fixed at creation) or are invalid\n",
                dir);
        return 1;
    }
    if (rc < 0) {
        char what[4200];
        snprintf(what, sizeof(what), "open %s", dir);
        return fail(cli, what, rc);
    }
    return 0;
}

static const char *tier_name(int t)
{
    return t == HS_TIER_HOT ? "hot" : t == HS_TIER_WARM ? "warm" : t == HS_TIER_COLD ? "cold" : "?";
}

static int parse_tier(const char *s)
{
    if (!s) return HS_TIER_AUTO;
    if (strcmp(s, "hot") == 0) return HS_TIER_HOT;
    if (strcmp(s, "warm") == 0) return HS_TIER_WARM;
    if (strcmp(s, "cold") == 0) return HS_TIER_COLD;
    return -1;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int do_put(hs_cli_t *cli, hs_objects_t *s)
{
    if (cli->argc < 2 || cli->argc > 3) return hs_cli_fail(cli, "usage: objects put NAME [FILE|-]");
    const char *name = cli->argv[1];
    const char *file = cli->argc == 3 ? cli->argv[2] : "-";
    int tier = parse_tier(hs_cli_opt(cli, "tier"));
    if (tier < 0) return hs_cli_fail(cli, "--tier: expected hot, warm or cold");
    int fd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "hyperscale objects: put: cannot open %s: %s\n", file, strerror(errno));
        return 1;
    }
    hs_obj_put_opts_t po = {.tier = (hs_tier_t)tier};
    hs_obj_writer_t *w;
    int rc = hs_obj_put_begin(s, name, &po, &w);
    if (rc < 0) {
        if (fd) close(fd);
        return fail(cli, "put", rc);
    }
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    double t0 = now_s();
    for (;;) {
        ssize_t n = buf ? read(fd, buf, cap) : -1;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "hyperscale objects: put: reading %s: %s\n", file, strerror(errno));
            hs_obj_put_abort(w);
            free(buf);
            if (fd) close(fd);
            return 1;
        }
        if (n == 0) break;
        if ((rc = hs_obj_put_write(w, buf, (size_t)n)) < 0) {
            hs_obj_put_abort(w);
            free(buf);
            if (fd) close(fd);
            return fail(cli, "put", rc);
        }
    }
    free(buf);
    if (fd) close(fd);
    hs_obj_info_t info;
    if ((rc = hs_obj_put_commit(w, &info)) < 0) return fail(cli, "put commit", rc);
    double dt = now_s() - t0;
    char et[65];
    hex(et, info.etag, 32);
    if (!hs_cli_opt(cli, "quiet"))
        printf("%s size=%" PRIu64 " chunks=%u new_chunks=%u new_bytes=%" PRIu64
               " etag=%s seconds=%.3f MBps=%.1f\n",
               name, info.size, info.nchunks, info.new_chunks, info.new_bytes, et, dt,
               dt > 0 ? (double)info.size / dt / 1e6 : 0.0);
    return 0;
}

static int write_full(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int do_get(hs_cli_t *cli, hs_objects_t *s)
{
    if (cli->argc < 2 || cli->argc > 3)
        return hs_cli_fail(cli, "usage: objects get NAME [FILE|-] [--range A-B]");
    const char *name = cli->argv[1];
    const char *file = cli->argc == 3 ? cli->argv[2] : "-";
    uint64_t off = 0, len = UINT64_MAX;
    const char *range = hs_cli_opt(cli, "range");
    if (range) {
        unsigned long long a, b;
        char dash;
        if (sscanf(range, "%llu%c%llu", &a, &dash, &b) == 3 && dash == '-' && b >= a) {
            off = a;
            len = b - a + 1;
        } else if (sscanf(range, "%llu%c", &a, &dash) == 2 && dash == '-') {
            off = a;
        } else {
            return hs_cli_fail(cli, "--range %s: expected A-B (inclusive) or A-", range);
        }
    }
    hs_obj_reader_t *r;
    int rc = hs_obj_get_open(s, name, off, len, &r);
    if (rc < 0) {
        char what[1200];
        snprintf(what, sizeof(what), "get %s", name);
        return fail(cli, what, rc);
    }
    int fd =
        strcmp(file, "-") == 0 ? 1 : open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "hyperscale objects: get: cannot create %s: %s\n", file, strerror(errno));
        hs_obj_get_close(r);
        return 1;
    }
    const void *view;
    long n;
    int ret = 0;
    /* write straight from the store's verified pages: one copy, by write */
    while ((n = hs_obj_read_view(r, &view, 1 << 20)) != 0) {
        if (n < 0) {
            ret = fail(cli, "get: read", (int)n);
            break;
        }
        if (write_full(fd, view, (size_t)n) < 0) {
            fprintf(stderr, "hyperscale objects: get: writing %s: %s\n", file, strerror(errno));
            ret = 1;
            break;
        }
    }
    hs_obj_get_close(r);
    if (fd != 1) close(fd);
    return ret;
}

static int do_stat(hs_cli_t *cli, hs_objects_t *s)
{
    if (cli->argc != 2) return hs_cli_fail(cli, "usage: objects stat NAME");
    hs_obj_info_t info;
    int rc = hs_obj_stat(s, cli->argv[1], &info);
    if (rc < 0) return fail(cli, cli->argv[1], rc);
    char et[65];
    hex(et, info.etag, 32);
    double score = 0;
    uint64_t last = 0, count = 0;
    hs_obj_access_get(s, cli->argv[1], &score, &last, &count);
    printf("name=%s size=%" PRIu64 " chunks=%u tier=%s etag=%s mtime_ns=%" PRIu64
           " accesses=%" PRIu64 " score=%.3f\n",
           cli->argv[1], info.size, info.nchunks, tier_name(info.tier), et, info.mtime_ns, count,
           score);
    return 0;
}

static int ls_one(void *arg, const char *name, const hs_obj_info_t *info)
{
    (void)arg;
    printf("%s\t%" PRIu64 "\t%s\n", name, info->size, tier_name(info->tier));
    return 0;
}

static void print_report(const char *what, const hs_obj_report_t *r)
{
    printf("%s: objects=%" PRIu64 " chunks=%" PRIu64 " stripes=%" PRIu64 " bytes_logical=%" PRIu64
           " bytes_stored=%" PRIu64 " bytes_read=%" PRIu64 " frags_missing=%" PRIu64
           " frags_corrupt=%" PRIu64 " frags_rebuilt=%" PRIu64 " stripes_lost=%" PRIu64
           " chunks_missing=%" PRIu64 " refs_fixed=%" PRIu64 " orphans=%" PRIu64
           " orphans_removed=%" PRIu64 " chunks_freed=%" PRIu64 " stripes_freed=%" PRIu64
           " stripes_compacted=%" PRIu64 " bytes_freed=%" PRIu64 " moved=%" PRIu64
           " errors=%" PRIu64 "\n",
           what, r->objects, r->chunks, r->stripes, r->bytes_logical, r->bytes_stored,
           r->bytes_read, r->frags_missing, r->frags_corrupt, r->frags_rebuilt, r->stripes_lost,
           r->chunks_missing, r->refs_fixed, r->orphans, r->orphans_removed, r->chunks_freed,
           r->stripes_freed, r->stripes_compacted, r->bytes_freed, r->moved, r->errors);
}

static int maint_result(const char *what, int rc, const hs_obj_report_t *r)
{
    print_report(what, r);
    if (rc == HS_ECORRUPT) {
        fprintf(stderr, "hyperscale objects: %s: problems remain (see counts above)%s\n", what,
                strcmp(what, "fsck") == 0 ? "; try `objects fsck --repair`" : "");
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "hyperscale objects: %s: %s\n", what, hs_strerror(rc));
        return 1;
    }
    return 0;
}

static int do_info(hs_objects_t *s)
{
    int n, hd, hp, cd, cp;
    hs_objects_geometry(s, &n, &hd, &hp, &cd, &cp);
    printf("drives=%d hot=%d+%d cold=%d+%d\n", n, hd, hp, cd, cp);
    const double afr = 0.02, rebuild = 24;
    double lh = hs_dur_annual_loss(hd, hp, afr, rebuild, 1);
    double lc = hs_dur_annual_loss(cd, cp, afr, rebuild, 1);
    printf("durability (AFR 2%%, rebuild 24h, independent real drives): hot annual_loss=%.3g "
           "(%.1f nines) cold annual_loss=%.3g (%.1f nines)\n",
           lh, hs_dur_nines(lh), lc, hs_dur_nines(lc));
    printf("note: drive directories on one disk share its fate; real durability needs real "
           "drives\n");
    return 0;
}

static void fill_random(uint8_t *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

static int do_bench(hs_cli_t *cli)
{
    if (cli->argc != 2) return hs_cli_fail(cli, "usage: objects bench chunk|ec [--size MIB]");
    const char *sz = hs_cli_opt(cli, "size");
    size_t mib = sz ? (size_t)strtoul(sz, NULL, 10) : 256;
    if (mib == 0 || mib > 4096) return hs_cli_fail(cli, "--size: expected 1..4096 (MiB)");
    size_t n = mib << 20;
    uint8_t *buf = malloc(n);
    if (!buf) return fail(cli, "bench", HS_ENOMEM);
    fill_random(buf, n);
    if (strcmp(cli->argv[1], "chunk") == 0) {
        hs_cdc_t c;
        uint32_t mn = (uint32_t)cli->cfg.objects_chunk_min,
                 av = (uint32_t)cli->cfg.objects_chunk_avg,
                 mx = (uint32_t)cli->cfg.objects_chunk_max;
        if (hs_cdc_init(&c, mn, av, mx) < 0) {
            free(buf);
            return hs_cli_fail(cli, "bad chunk sizes");
        }
        double best = 1e9;
        size_t chunks = 0;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now_s();
            size_t pos = 0;
            chunks = 0;
            while (pos < n) {
                size_t k = hs_cdc_next(&c, buf + pos, n - pos, true);
                pos += k;
                chunks++;
            }
            double dt = now_s() - t0;
            if (dt < best) best = dt;
        }
        printf("chunk: bytes=%zu min=%u avg=%u max=%u chunks=%zu mean=%.0f GBps=%.2f\n", n, mn, av,
               mx, chunks, (double)n / (double)chunks, (double)n / best / 1e9);
    } else if (strcmp(cli->argv[1], "ec") == 0) {
        int d = 4, p = 2;
        const char *g = hs_cli_opt(cli, "geometry");
        if (g && (sscanf(g, "%d+%d", &d, &p) != 2 || d < 1 || p < 1 || d + p > HS_EC_MAX)) {
            free(buf);
            return hs_cli_fail(cli, "--geometry: expected D+P");
        }
        size_t f = 1 << 20; /* the store's fragment size */
        size_t stripes = n / ((size_t)d * f);
        if (stripes == 0) stripes = 1;
        uint8_t *par = malloc((size_t)p * f);
        uint8_t matrix[HS_EC_MAX * HS_EC_MAX], *tbls = malloc((size_t)32 * d * p);
        hs_ec_t ec;
        if (!par || !tbls || hs_ec_init(&ec, d, p) < 0 || (size_t)d * f > n) {
            free(buf);
            free(par);
            free(tbls);
            return hs_cli_fail(cli, "--size too small for the geometry or out of memory");
        }
        gf_gen_cauchy1_matrix(matrix, d + p, d);
        ec_init_tables(d, p, matrix + d * d, tbls);
        double raw = 1e9, ours = 1e9, ours_crc = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now_s();
            for (size_t s = 0; s < stripes; s++) {
                uint8_t *data[HS_EC_MAX], *pp[HS_EC_MAX];
                for (int i = 0; i < d; i++)
                    data[i] = buf + (s * (size_t)d + (size_t)i) * f;
                for (int i = 0; i < p; i++)
                    pp[i] = par + (size_t)i * f;
                ec_encode_data((int)f, d, p, tbls, data, pp);
            }
            double t1 = now_s();
            for (size_t s = 0; s < stripes; s++) {
                uint8_t *data[HS_EC_MAX], *pp[HS_EC_MAX];
                for (int i = 0; i < d; i++)
                    data[i] = buf + (s * (size_t)d + (size_t)i) * f;
                for (int i = 0; i < p; i++)
                    pp[i] = par + (size_t)i * f;
                hs_ec_encode(&ec, f, data, pp);
            }
            double t2 = now_s();
            /* Our full per-stripe work: encode plus a CRC32C per 64 KiB
             * block of every fragment (what the write path does). */
            volatile uint32_t sink = 0;
            for (size_t s = 0; s < stripes; s++) {
                uint8_t *data[HS_EC_MAX], *pp[HS_EC_MAX];
                for (int i = 0; i < d; i++)
                    data[i] = buf + (s * (size_t)d + (size_t)i) * f;
                for (int i = 0; i < p; i++)
                    pp[i] = par + (size_t)i * f;
                hs_ec_encode(&ec, f, data, pp);
                for (int i = 0; i < d + p; i++)
                    for (size_t b = 0; b < f; b += 65536)
                        sink ^= crc32_iscsi((i < d ? data[i] : pp[i - d]) + b, 65536, ~0u);
            }
            double t3 = now_s();
            (void)sink;
            if (t1 - t0 < raw) raw = t1 - t0;
            if (t2 - t1 < ours) ours = t2 - t1;
            if (t3 - t2 < ours_crc) ours_crc = t3 - t2;
        }
        double bytes = (double)stripes * d * f;
        printf("ec %d+%d: isal_raw_GBps=%.2f hyperscale_GBps=%.2f ratio=%.3f "
               "hyperscale_with_crc_GBps=%.2f ratio_with_crc=%.3f\n",
               d, p, bytes / raw / 1e9, bytes / ours / 1e9, raw / ours, bytes / ours_crc / 1e9,
               raw / ours_crc);
        hs_ec_free(&ec);
        free(par);
        free(tbls);
    } else {
        free(buf);
        return hs_cli_fail(cli, "bench: expected chunk or ec");
    }
    free(buf);
    return 0;
}

static int run(hs_cli_t *cli)
{
    if (cli->argc < 1)
        return hs_cli_fail(cli, "missing subcommand; see `hyperscale objects --help`");
    const char *sub = cli->argv[0];
    if (strcmp(sub, "bench") == 0) return do_bench(cli);
    hs_objects_t *s;
    int ret = open_store(cli, &s);
    if (ret) return ret;
    hs_obj_maint_opts_t mo = {.progress = progress};
    hs_obj_report_t rep;
    if (strcmp(sub, "put") == 0) {
        ret = do_put(cli, s);
    } else if (strcmp(sub, "get") == 0) {
        ret = do_get(cli, s);
    } else if (strcmp(sub, "stat") == 0) {
        ret = do_stat(cli, s);
    } else if (strcmp(sub, "ls") == 0) {
        int rc = hs_obj_list(s, cli->argc > 1 ? cli->argv[1] : "", ls_one, NULL);
        ret = rc < 0 ? fail(cli, "ls", rc) : 0;
    } else if (strcmp(sub, "rm") == 0) {
        if (cli->argc < 2) ret = hs_cli_fail(cli, "usage: objects rm NAME...");
        for (int i = 1; i < cli->argc; i++) {
            int rc = hs_obj_delete(s, cli->argv[i]);
            if (rc < 0) ret = fail(cli, cli->argv[i], rc);
        }
    } else if (strcmp(sub, "fsck") == 0) {
        mo.repair = hs_cli_opt(cli, "repair") != NULL;
        mo.verify_data = hs_cli_opt(cli, "verify") != NULL;
        ret = maint_result("fsck", hs_objects_fsck(s, &mo, &rep), &rep);
    } else if (strcmp(sub, "heal") == 0) {
        mo.verify_data = hs_cli_opt(cli, "verify") != NULL;
        ret = maint_result("heal", hs_objects_heal(s, &mo, &rep), &rep);
    } else if (strcmp(sub, "scrub") == 0) {
        const char *rate = hs_cli_opt(cli, "rate");
        uint64_t r = cli->cfg.objects_scrub_rate;
        if (rate && hs_parse_size(rate, &r) < 0)
            ret = hs_cli_fail(cli, "--rate %s: expected bytes per second (e.g. 64m)", rate);
        else {
            mo.rate_bps = r;
            ret = maint_result("scrub", hs_objects_scrub(s, &mo, &rep), &rep);
        }
    } else if (strcmp(sub, "gc") == 0) {
        ret = maint_result("gc", hs_objects_gc(s, &mo, &rep), &rep);
    } else if (strcmp(sub, "tier") == 0) {
        if (cli->argc == 3) {
            int t = parse_tier(cli->argv[2]);
            if (t < 0 || t == HS_TIER_AUTO)
                ret = hs_cli_fail(cli, "tier: expected hot, warm or cold");
            else {
                int rc = hs_obj_set_tier(s, cli->argv[1], (hs_tier_t)t);
                ret = rc < 0 ? fail(cli, cli->argv[1], rc) : 0;
            }
        } else if (cli->argc == 1) {
            ret = maint_result("tier", hs_objects_tier_pass(s, 0, &mo, &rep), &rep);
        } else {
            ret = hs_cli_fail(cli, "usage: objects tier [NAME hot|warm|cold]");
        }
    } else if (strcmp(sub, "info") == 0) {
        ret = do_info(s);
    } else {
        ret = hs_cli_fail(cli, "unknown subcommand '%s'; see `hyperscale objects --help`", sub);
    }
    hs_objects_close(s);
    return ret;
}

static const hs_cli_opt_t opts[] = {
    {"data", "DIR", "data", "data directory; the store is DIR/objects"},
    {"drives", "N", "objects.drives", "drive directories of a new store"},
    {"drive-dirs", "LIST", "objects.drive_dirs",
     "comma-separated drive directories of a new store"},
    {"frag-max", "SIZE", NULL, "largest fragment of a new store (default 1m; 4k multiples)"},
    {"tier", "TIER", NULL, "put: hot, warm or cold (the storage-class hint)"},
    {"range", "A-B", NULL, "get: bytes A..B inclusive (or A- to the end)"},
    {"repair", NULL, NULL, "fsck: fix what is found"},
    {"verify", NULL, NULL, "fsck/heal: read and check every block, not only headers"},
    {"rate", "BYTES", NULL, "scrub: read rate bound per second (default objects.scrub_rate)"},
    {"quiet", NULL, NULL, "put: print nothing on success"},
    {"size", "MIB", NULL, "bench: data size in MiB (default 256)"},
    {"geometry", "D+P", NULL, "bench ec: geometry (default 4+2)"},
    {0},
};

const hs_cmd_t hs_cmd_objects = {
    .name = "objects",
    .summary = "object store: put/get/stat/ls/rm, fsck, heal, scrub, gc, tier",
    .usage = "SUBCOMMAND [ARGS] [--data DIR]",
    .details = "Subcommands:\n  put NAME [FILE|-]      store FILE (default stdin) as NAME\n"
               "  get NAME [FILE|-]      write NAME to FILE (default stdout); --range A-B\n"
               "  stat NAME              size, chunks, tier, etag\n"
               "  ls [PREFIX]            list objects\n"
               "  rm NAME...             delete (space returns at the next gc)\n"
               "  fsck [--repair] [--verify]  check index, refcounts and fragments\n"
               "  heal [--verify]        rebuild missing/bad fragments (replaced drive)\n"
               "  scrub [--rate BYTES]   read and verify everything, repairing\n"
               "  gc                     reclaim unreferenced chunks and orphans; compact\n"
               "  tier [NAME hot|warm|cold]  move one object, or run a policy pass\n"
               "  info                   drives, geometry, durability\n"
               "  bench chunk|ec         micro-benchmarks (--size MIB, --geometry D+P)\n"
               "Exit status: 0 ok, 1 failure or problems found, 2 usage.",
    .uses_config = true,
    .opts = opts,
    .run = run,
};
