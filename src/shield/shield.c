/*
 * The shield as an HTTP gate (see shield.h and docs/shield.md). Decisions,
 * in order:
 *   accept:  allow list -> let in (counted, never capped); deny list -> 403;
 *            global cap -> 503; per-client cap -> 503.
 *   request: allow list -> serve; heavy-hitter count (and the share rule
 *            that starts a throttle); token bucket -> 429 + Retry-After,
 *            with Connection: close from the max_refusals-th one in a row.
 * Refusals at accept are answered at once and the connection closed; the
 * server does the writing.
 */
#include "shield/shield.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "shield/hitters.h"
#include "shield/table.h"

#define SWEEP_PARTS 60 /* the table is swept once a minute, a slice a second */
#define EXPORT_MAX 256 /* distinct clients ever exported as top-k series */

enum reason { R_RATE, R_CONN, R_GLOBAL, R_DENIED, R_THROTTLED, R_N };

typedef struct exported {
    uint8_t key[16];
    hs_gauge_t *g;
} exported_t;

struct hs_shield {
    hs_http_gate_t gate;
    hs_shield_opts_t o;
    hs_shield_table_t *table; /* NULL when nothing per-client is limited */
    hs_hitters_t *hitters;    /* NULL when top_k is 0 */
    _Atomic uint32_t conns;
    _Atomic uint64_t tick_s;
    pthread_mutex_t export_mu;
    exported_t exported[EXPORT_MAX];
    unsigned nexported;
    bool export_full_logged;
};

static hs_counter_t *m_actions[R_N];
static hs_gauge_t *m_tracked, *m_conns;

static void metrics_init(void)
{
    static const char *const labels[R_N] = {
        "reason=\"rate_limited\"", "reason=\"conn_capped\"", "reason=\"global_capped\"",
        "reason=\"denied\"", "reason=\"auto_throttled\""};
    for (int i = 0; i < R_N; i++)
        m_actions[i] = hs_counter("hs_shield_actions_total", labels[i],
                                  "connections and requests the shield refused, by reason");
    m_tracked = hs_gauge("hs_shield_tracked_clients", NULL,
                         "clients held in the shield's table (updated each second)");
    m_conns = hs_gauge("hs_shield_connections", NULL,
                       "open connections counted against shield.max_connections");
}

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The client key: the mapped address, IPv6 cut to the configured prefix.
 * False for peers without an IP address (they pass unchecked). */
static bool client_key(const hs_shield_t *s, const struct sockaddr_storage *peer,
                       uint8_t addr[16], uint8_t key[16])
{
    if (!hs_cidr_from_sockaddr(peer, addr))
        return false;
    memcpy(key, addr, 16);
    if (!hs_cidr_is_v4(key))
        hs_cidr_mask(key, s->o.ipv6_prefix);
    return true;
}

static bool allowed(const hs_shield_t *s, const uint8_t addr[16])
{
    return s->o.allow.n && hs_cidr_list_match(&s->o.allow, addr);
}

static bool refuse(hs_http_refusal_t *r, enum reason why, int status, uint32_t retry_after,
                   const char *text)
{
    hs_counter_inc(m_actions[why]);
    r->status = status;
    r->retry_after = retry_after;
    r->reason = text;
    r->close = status != 429;
    return false;
}

static void conns_dec(hs_shield_t *s)
{
    uint32_t n = atomic_load_explicit(&s->conns, memory_order_relaxed);
    while (n && !atomic_compare_exchange_weak_explicit(&s->conns, &n, n - 1, memory_order_relaxed,
                                                       memory_order_relaxed))
        ;
    hs_gauge_add(m_conns, -1);
}

bool hs_shield_accept(hs_shield_t *s, const struct sockaddr_storage *peer, uint64_t now_ms,
                      hs_http_refusal_t *r)
{
    hs_shield_tick(s, now_ms);
    uint8_t addr[16], key[16];
    bool ip = client_key(s, peer, addr, key);
    bool exempt = ip && allowed(s, addr);
    if (ip && !exempt && s->o.deny.n && hs_cidr_list_match(&s->o.deny, addr))
        return refuse(r, R_DENIED, 403, 0, "your address is not allowed");
    /* Counted even when exempt, so exempt clients take their share of the
     * global cap from the others, not in addition to it. */
    uint32_t n = atomic_fetch_add_explicit(&s->conns, 1, memory_order_relaxed) + 1;
    hs_gauge_add(m_conns, 1);
    if (!ip || exempt)
        return true;
    if (s->o.max_connections && n > s->o.max_connections) {
        conns_dec(s);
        return refuse(r, R_GLOBAL, 503, 1, "server busy");
    }
    if (s->o.max_conns_per_client &&
        hs_shield_table_conn_open(s->table, key, s->o.max_conns_per_client, now_ms) == HS_ELIMIT) {
        conns_dec(s);
        return refuse(r, R_CONN, 503, 1, "too many connections from your address");
    }
    return true;
}

void hs_shield_close(hs_shield_t *s, const struct sockaddr_storage *peer)
{
    conns_dec(s);
    uint8_t addr[16], key[16];
    if (s->o.max_conns_per_client && client_key(s, peer, addr, key) && !allowed(s, addr))
        hs_shield_table_conn_close(s->table, key);
}

/* The share rule: a client whose sliding-window count is both above what
 * the throttled rate would allow and above throttle_share percent of all
 * requests gets throttled. */
static bool over_share(hs_shield_t *s, uint64_t est, uint64_t now_ms)
{
    uint64_t floor = (uint64_t)s->o.throttle_rate * s->o.window_ms / 1000;
    if (est <= floor)
        return false;
    uint64_t total = hs_hitters_total(s->hitters, now_ms);
    return est * 100 > total * s->o.throttle_share;
}

bool hs_shield_request(hs_shield_t *s, const struct sockaddr_storage *peer, uint64_t now_ms,
                       hs_http_refusal_t *r)
{
    hs_shield_tick(s, now_ms);
    uint8_t addr[16], key[16];
    if (!client_key(s, peer, addr, key) || allowed(s, addr))
        return true;
    hs_shield_limit_t lim = {.rate = s->o.rate, .burst = s->o.burst};
    if (s->hitters) {
        uint64_t est = hs_hitters_add(s->hitters, key, now_ms);
        if (s->o.auto_throttle) {
            lim.throttle_rate = lim.throttle_burst = s->o.throttle_rate;
            if (over_share(s, est, now_ms))
                lim.throttle_for_ms = s->o.throttle_ms;
        }
    }
    if (!s->o.rate && !s->o.auto_throttle)
        return true;
    hs_shield_verdict_t v;
    hs_shield_table_request(s->table, key, &lim, now_ms, &v);
    if (!v.retry_after)
        return true;
    refuse(r, v.throttled ? R_THROTTLED : R_RATE, 429, v.retry_after,
           v.throttled ? "request rate too high (throttled)" : "request rate too high");
    r->close = s->o.max_refusals && v.strikes >= s->o.max_refusals;
    return false;
}

uint32_t hs_shield_connections(const hs_shield_t *s)
{
    return atomic_load_explicit(&s->conns, memory_order_relaxed);
}

/* Sets the top-k gauges: one series per client ever in the top (up to
 * EXPORT_MAX), 0 for those no longer in it. */
static void export_top(hs_shield_t *s, uint64_t now_ms)
{
    hs_hitter_t top[HS_HITTERS_K_MAX];
    unsigned n = hs_hitters_top(s->hitters, now_ms, top, s->o.top_k);
    bool seen[EXPORT_MAX] = {false};
    for (unsigned i = 0; i < n; i++) {
        unsigned j = 0;
        while (j < s->nexported && memcmp(s->exported[j].key, top[i].key, 16) != 0)
            j++;
        if (j == s->nexported) {
            if (j == EXPORT_MAX) {
                if (!s->export_full_logged)
                    hs_log_warn("shield_top_export_full", "series=%d", EXPORT_MAX);
                s->export_full_logged = true;
                continue;
            }
            char a[64], labels[96];
            hs_cidr_addr_str(top[i].key, a, sizeof(a));
            if (hs_cidr_is_v4(top[i].key) || s->o.ipv6_prefix == 128)
                snprintf(labels, sizeof(labels), "client=\"%s\"", a);
            else
                snprintf(labels, sizeof(labels), "client=\"%s/%u\"", a, s->o.ipv6_prefix);
            hs_gauge_t *g = hs_gauge("hs_shield_top_client_requests", labels,
                                     "estimated requests in the last shield.window of the "
                                     "shield.top_k busiest clients (0 once out of the top)");
            if (!g)
                continue;
            memcpy(s->exported[j].key, top[i].key, 16);
            s->exported[j].g = g;
            s->nexported++;
        }
        seen[j] = true;
        hs_gauge_set(s->exported[j].g, (int64_t)top[i].count);
    }
    for (unsigned j = 0; j < s->nexported; j++)
        if (!seen[j])
            hs_gauge_set(s->exported[j].g, 0);
}

void hs_shield_tick(hs_shield_t *s, uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000;
    uint64_t last = atomic_load_explicit(&s->tick_s, memory_order_relaxed);
    if (sec <= last ||
        !atomic_compare_exchange_strong_explicit(&s->tick_s, &last, sec, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    if (pthread_mutex_trylock(&s->export_mu) != 0)
        return; /* the previous tick is still running */
    if (s->table) {
        /* Idle long enough that a fresh bucket would be just as full. */
        uint64_t idle = s->o.rate ? (uint64_t)s->o.burst * 1000 / s->o.rate + 1000 : 0;
        if (idle < 60000)
            idle = 60000;
        hs_shield_table_sweep(s->table, (uint32_t)(sec % SWEEP_PARTS), SWEEP_PARTS, idle, now_ms);
        hs_gauge_set(m_tracked, hs_shield_table_size(s->table));
    }
    if (s->hitters)
        export_top(s, now_ms);
    pthread_mutex_unlock(&s->export_mu);
}

/* ---- the gate ---- */

static bool gate_accept(hs_http_gate_t *g, const struct sockaddr_storage *peer,
                        hs_http_refusal_t *r)
{
    return hs_shield_accept(hs_container_of(g, hs_shield_t, gate), peer, clock_ms(), r);
}

static bool gate_request(hs_http_gate_t *g, hs_http_req_t *req, hs_http_refusal_t *r)
{
    return hs_shield_request(hs_container_of(g, hs_shield_t, gate), hs_http_req_peer(req),
                             clock_ms(), r);
}

static void gate_close(hs_http_gate_t *g, const struct sockaddr_storage *peer)
{
    hs_shield_close(hs_container_of(g, hs_shield_t, gate), peer);
}

int hs_shield_new(hs_shield_opts_t *o, hs_shield_t **out)
{
    metrics_init();
    hs_shield_t *s = calloc(1, sizeof(*s));
    if (!s)
        return HS_ENOMEM;
    s->o = *o;
    memset(&o->deny, 0, sizeof(o->deny));
    memset(&o->allow, 0, sizeof(o->allow));
    pthread_mutex_init(&s->export_mu, NULL);
    int rc = 0;
    if (s->o.rate || s->o.max_conns_per_client || s->o.auto_throttle)
        rc = hs_shield_table_new(s->o.max_clients, &s->table);
    if (rc == 0 && s->o.top_k)
        rc = hs_hitters_new(s->o.top_k, s->o.window_ms, clock_ms(), &s->hitters);
    if (rc != 0) {
        hs_shield_free(s);
        return rc;
    }
    s->gate.on_accept = gate_accept;
    s->gate.on_request = (s->o.rate || s->o.auto_throttle || s->hitters) ? gate_request : NULL;
    s->gate.on_close = gate_close;
    *out = s;
    return 0;
}

void hs_shield_free(hs_shield_t *s)
{
    if (!s)
        return;
    hs_shield_table_free(s->table);
    hs_hitters_free(s->hitters);
    hs_shield_opts_free(&s->o);
    pthread_mutex_destroy(&s->export_mu);
    free(s);
}

hs_http_gate_t *hs_shield_gate(hs_shield_t *s)
{
    return &s->gate;
}

hs_shield_t *hs_shield_from_gate(hs_http_gate_t *g)
{
    return hs_container_of(g, hs_shield_t, gate);
}

void hs_shield_housekeep(hs_shield_t *s)
{
    hs_shield_tick(s, clock_ms());
}
