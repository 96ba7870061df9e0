/*
 * The shield.* configuration keys turned into hs_shield_opts_t, with every
 * range checked here so a bad value stops the command at startup (and a
 * reload) with a message naming the key, never later in a worker.
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "shield/bucket.h"
#include "shield/hitters.h"
#include "shield/shield.h"

static bool in_range(int64_t v, int64_t lo, int64_t hi, const char *key, char *err,
                     size_t errlen)
{
    if (v >= lo && v <= hi)
        return true;
    snprintf(err, errlen, "%s: %lld is out of range (expected %lld..%lld)", key, (long long)v,
             (long long)lo, (long long)hi);
    return false;
}

static bool list(const char *text, hs_cidr_list_t *out, const char *key, char *err,
                 size_t errlen)
{
    char why[200];
    if (hs_cidr_parse_list(text, strlen(text), out, why, sizeof(why)) == 0)
        return true;
    snprintf(err, errlen, "%s: %s", key, why);
    return false;
}

int hs_shield_opts_from_config(const hs_config_t *cfg, hs_shield_opts_t *o, char *err,
                               size_t errlen)
{
    memset(o, 0, sizeof(*o));
    const int64_t rmax = HS_BUCKET_RATE_MAX;
    if (!in_range(cfg->shield_rate, 0, rmax, "shield.rate", err, errlen) ||
        !in_range(cfg->shield_burst, 0, rmax, "shield.burst", err, errlen) ||
        !in_range(cfg->shield_ipv6_prefix, 1, 128, "shield.ipv6_prefix", err, errlen) ||
        !in_range(cfg->shield_max_clients, 64, 1 << 24, "shield.max_clients", err, errlen) ||
        !in_range(cfg->shield_max_conns_per_client, 0, 100000000, "shield.max_conns_per_client",
                  err, errlen) ||
        !in_range(cfg->shield_max_connections, 0, 100000000, "shield.max_connections", err,
                  errlen) ||
        !in_range(cfg->shield_max_refusals, 0, 100000000, "shield.max_refusals", err, errlen) ||
        !in_range(cfg->shield_top_k, 0, HS_HITTERS_K_MAX, "shield.top_k", err, errlen) ||
        !in_range(cfg->shield_auto_throttle_share, 1, 100, "shield.auto_throttle_share", err,
                  errlen) ||
        !in_range(cfg->shield_auto_throttle_rate, 1, rmax, "shield.auto_throttle_rate", err,
                  errlen))
        return HS_ECONFIG;
    if (cfg->shield_window < 1000 || cfg->shield_window > 3600000) {
        snprintf(err, errlen, "shield.window: %llums is out of range (expected 1s..1h)",
                 (unsigned long long)cfg->shield_window);
        return HS_ECONFIG;
    }
    if (cfg->shield_auto_throttle_for < 1000) {
        snprintf(err, errlen, "shield.auto_throttle_for: %llums is too short (at least 1s)",
                 (unsigned long long)cfg->shield_auto_throttle_for);
        return HS_ECONFIG;
    }
    if (!list(cfg->shield_deny, &o->deny, "shield.deny", err, errlen))
        return HS_ECONFIG;
    if (!list(cfg->shield_allow, &o->allow, "shield.allow", err, errlen)) {
        hs_cidr_list_free(&o->deny);
        return HS_ECONFIG;
    }
    o->rate = (uint32_t)cfg->shield_rate;
    o->burst = (uint32_t)(cfg->shield_burst ? cfg->shield_burst : cfg->shield_rate);
    o->ipv6_prefix = (unsigned)cfg->shield_ipv6_prefix;
    o->max_clients = (uint32_t)cfg->shield_max_clients;
    o->max_conns_per_client = (uint32_t)cfg->shield_max_conns_per_client;
    o->max_connections = (uint32_t)cfg->shield_max_connections;
    o->max_refusals = (uint32_t)cfg->shield_max_refusals;
    o->top_k = (unsigned)cfg->shield_top_k;
    o->window_ms = cfg->shield_window;
    o->auto_throttle = cfg->shield_auto_throttle;
    o->throttle_share = (unsigned)cfg->shield_auto_throttle_share;
    o->throttle_rate = (uint32_t)cfg->shield_auto_throttle_rate;
    o->throttle_ms = cfg->shield_auto_throttle_for;
    if (o->auto_throttle && o->top_k == 0)
        o->top_k = 16; /* the throttle reads the same sketch */
    return 0;
}

void hs_shield_opts_free(hs_shield_opts_t *o)
{
    hs_cidr_list_free(&o->deny);
    hs_cidr_list_free(&o->allow);
}

bool hs_shield_opts_active(const hs_shield_opts_t *o)
{
    /* An allow list alone exempts from nothing. */
    return o->rate || o->max_conns_per_client || o->max_connections || o->deny.n || o->top_k ||
           o->auto_throttle;
}
