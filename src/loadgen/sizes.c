/* Parsing and sampling of PUT size distributions (see sizes.h). */
#include "loadgen/sizes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"

/* A log-normal's tail is unbounded; past this many sigmas it is noise
 * that would only make the shared body buffer huge. */
#define LOGNORMAL_TAIL_SIGMAS 5.0

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Parses one size from s[0..len) (a copy, so suffix rules stay in one place). */
static int parse_size_n(const char *s, size_t len, uint64_t *out)
{
    char tmp[32];
    if (len == 0 || len >= sizeof(tmp)) return HS_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    int rc = hs_parse_size(tmp, out);
    if (rc == 0 && *out > HS_LG_SIZE_MAX) return HS_ERANGE;
    return rc;
}

/* Parses a finite non-negative decimal from s[0..len). */
static int parse_num_n(const char *s, size_t len, double *out)
{
    char tmp[32], *end;
    if (len == 0 || len >= sizeof(tmp)) return HS_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (!(tmp[0] >= '0' && tmp[0] <= '9') && tmp[0] != '.') return HS_EINVAL;
    double v = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(v) || v < 0) return HS_EINVAL;
    *out = v;
    return 0;
}

int hs_lg_sizes_parse_fixed(const char *spec, hs_lg_sizes_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    uint64_t v;
    int rc = parse_size_n(spec, strlen(spec), &v);
    if (rc == HS_ERANGE)
        return fail(err, errlen, rc, "--size %s: larger than the 256m a PUT may send", spec);
    if (rc != 0)
        return fail(err, errlen, HS_EINVAL, "--size '%s': expected a size such as 4096, 4k or 1m",
                    spec);
    out->kind = HS_LG_SIZES_FIXED;
    out->fixed = out->max = v;
    return 0;
}

static int parse_lognormal(const char *spec, const char *args, hs_lg_sizes_t *out, char *err,
                           size_t errlen)
{
    const char *colon = strchr(args, ':');
    uint64_t median;
    double sigma;
    if (!colon || parse_size_n(args, (size_t)(colon - args), &median) != 0 || median == 0 ||
        parse_num_n(colon + 1, strlen(colon + 1), &sigma) != 0 || sigma > 10)
        return fail(err, errlen, HS_EINVAL,
                    "--size-dist '%s': expected lognormal:MEDIAN:SIGMA, e.g. lognormal:64k:1.5 "
                    "(MEDIAN a size > 0, SIGMA 0..10)",
                    spec);
    out->kind = HS_LG_SIZES_LOGNORMAL;
    out->mu = log((double)median);
    out->sigma = sigma;
    double top = exp(out->mu + LOGNORMAL_TAIL_SIGMAS * sigma);
    out->max = top >= (double)HS_LG_SIZE_MAX ? HS_LG_SIZE_MAX : (uint64_t)top;
    if (out->max < median) out->max = median;
    return 0;
}

static int parse_list(const char *spec, hs_lg_sizes_t *out, char *err, size_t errlen)
{
    const char *p = spec;
    double total = 0;
    out->kind = HS_LG_SIZES_LIST;
    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        uint64_t size;
        double w;
        if (out->n == HS_LG_SIZES_LIST_MAX)
            return fail(err, errlen, HS_EINVAL, "--size-dist '%s': at most 16 SIZE:WEIGHT entries",
                        spec);
        if (!colon)
            return fail(err, errlen, HS_EINVAL,
                        "--size-dist '%s': expected lognormal:MEDIAN:SIGMA or a list "
                        "SIZE:WEIGHT,... such as 4k:70,64k:25,1m:5",
                        spec);
        int rc = parse_size_n(p, (size_t)(colon - p), &size);
        if (rc == HS_ERANGE)
            return fail(err, errlen, rc, "--size-dist '%s': a size is larger than 256m", spec);
        if (rc != 0 || parse_num_n(colon + 1, len - (size_t)(colon + 1 - p), &w) != 0)
            return fail(err, errlen, HS_EINVAL,
                        "--size-dist '%s': each entry is SIZE:WEIGHT with a size like 4k and "
                        "a weight >= 0, e.g. 4k:70,64k:25,1m:5",
                        spec);
        out->size[out->n] = size;
        total += w;
        out->cum[out->n] = total;
        if (size > out->max) out->max = size;
        out->n++;
        if (!end) break;
        p = end + 1;
    }
    if (!(total > 0) || !isfinite(total))
        return fail(err, errlen, HS_EINVAL, "--size-dist '%s': the weights add up to 0", spec);
    for (unsigned i = 0; i < out->n; i++)
        out->cum[i] /= total;
    out->cum[out->n - 1] = 1.0;
    return 0;
}

int hs_lg_sizes_parse_dist(const char *spec, hs_lg_sizes_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "lognormal:", 10) == 0)
        return parse_lognormal(spec, spec + 10, out, err, errlen);
    return parse_list(spec, out, err, errlen);
}

uint64_t hs_lg_sizes_sample(const hs_lg_sizes_t *d, hs_lg_rng_t *r)
{
    switch (d->kind) {
    case HS_LG_SIZES_FIXED:
        return d->fixed;
    case HS_LG_SIZES_LOGNORMAL: {
        /* Box-Muller; 1 - u keeps the log argument in (0, 1]. */
        double u1 = 1.0 - hs_lg_rng_unit(r), u2 = hs_lg_rng_unit(r);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        double v = exp(d->mu + d->sigma * z);
        if (v >= (double)d->max) return d->max;
        return v < 1.0 ? 1 : (uint64_t)(v + 0.5);
    }
    case HS_LG_SIZES_LIST: {
        double u = hs_lg_rng_unit(r);
        for (unsigned i = 0; i < d->n; i++)
            if (u < d->cum[i]) return d->size[i];
        return d->size[d->n - 1];
    }
    }
    return 0;
}
