/* Result classification for the load generator (see stats.h). */
#include "loadgen/stats.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"

static const char *const err_keys[] = {
#define HS_LG_ERR_KEY(name, key, help) key,
    HS_LG_ERR_MAP(HS_LG_ERR_KEY)
#undef HS_LG_ERR_KEY
};
static const char *const err_helps[] = {
#define HS_LG_ERR_HELP(name, key, help) help,
    HS_LG_ERR_MAP(HS_LG_ERR_HELP)
#undef HS_LG_ERR_HELP
};
static const char *const xc_labels[] = {
#define HS_LG_XC_LABEL(name, label) label,
    HS_LG_XC_MAP(HS_LG_XC_LABEL)
#undef HS_LG_XC_LABEL
};

hs_lg_err_t hs_lg_err_of(int e)
{
    switch (e) {
    case HS_ECONNREFUSED:
    case -ENETUNREACH:
    case -EHOSTUNREACH:
    case -EADDRNOTAVAIL:
        return HS_LG_ERR_CONNECT;
    case HS_ETIMEDOUT:
        return HS_LG_ERR_TIMEOUT;
    case HS_ECONNRESET:
    case HS_EPIPE:
    case HS_EOF:
        return HS_LG_ERR_RESET;
    case HS_EBADMSG:
    case HS_E2BIG:
        return HS_LG_ERR_BADRESP;
    case HS_ECANCELED:
        return HS_LG_ERR_UNFINISHED;
    default:
        return HS_LG_ERR_OTHER;
    }
}

hs_lg_err_t hs_lg_err_of_status(int status)
{
    if (status >= 400 && status < 500) return HS_LG_ERR_HTTP4XX;
    if (status >= 500 && status < 600) return HS_LG_ERR_HTTP5XX;
    return HS_LG_ERR_N;
}

const char *hs_lg_err_key(hs_lg_err_t k)
{
    return k < HS_LG_ERR_N ? err_keys[k] : "?";
}

const char *hs_lg_err_help(hs_lg_err_t k)
{
    return k < HS_LG_ERR_N ? err_helps[k] : "?";
}

hs_lg_xc_t hs_lg_xc_of(hs_str_t v)
{
    size_t n = 0;
    while (n < v.len && v.base[n] != ',' && v.base[n] != ' ' && v.base[n] != '\t' &&
           v.base[n] != ';')
        n++;
    if (n == 0) return v.len ? HS_LG_XC_OTHER : HS_LG_XC_NONE;
    if (n >= 3 && strncasecmp(v.base, "HIT", 3) == 0) return HS_LG_XC_HIT;
    for (unsigned k = HS_LG_XC_MISS; k < HS_LG_XC_OTHER; k++)
        if (strlen(xc_labels[k]) == n && strncasecmp(v.base, xc_labels[k], n) == 0)
            return (hs_lg_xc_t)k;
    return HS_LG_XC_OTHER;
}

const char *hs_lg_xc_label(hs_lg_xc_t k)
{
    return k < HS_LG_XC_N ? xc_labels[k] : "?";
}

void hs_lg_counts_add(hs_lg_counts_t *d, const hs_lg_counts_t *s)
{
    d->sent += s->sent;
    d->responses += s->responses;
    d->gets += s->gets;
    d->puts += s->puts;
    for (unsigned i = 0; i < 6; i++)
        d->status[i] += s->status[i];
    for (unsigned i = 0; i < HS_LG_ERR_N; i++)
        d->errors[i] += s->errors[i];
    for (unsigned i = 0; i < HS_LG_XC_N; i++)
        d->xcache[i] += s->xcache[i];
    d->bytes_in += s->bytes_in;
    d->bytes_out += s->bytes_out;
}

uint64_t hs_lg_counts_errors(const hs_lg_counts_t *c)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < HS_LG_ERR_N; i++)
        n += c->errors[i];
    return n;
}

double hs_lg_counts_hit_ratio(const hs_lg_counts_t *c)
{
    uint64_t labelled = 0;
    for (unsigned i = 0; i < HS_LG_XC_NONE; i++)
        labelled += c->xcache[i];
    return labelled ? (double)c->xcache[HS_LG_XC_HIT] / (double)labelled : -1.0;
}
