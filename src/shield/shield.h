/*
 * The shield: per-client admission control in front of every HTTP role
 * (docs/shield.md). It plugs into the HTTP server as an hs_http_gate_t and
 * holds, for the whole worker process (every thread shares it):
 *   - CIDR deny and allow lists (cidr.h),
 *   - a global connection cap and a per-client connection cap,
 *   - a per-client token bucket rate limit (table.h, bucket.h),
 *   - heavy-hitter tracking (hitters.h) exported as metrics, and optional
 *     automatic throttling of clients that take too large a share.
 * A client is an IPv4 address or an IPv6 prefix (shield.ipv6_prefix).
 */
#ifndef HS_SHIELD_SHIELD_H
#define HS_SHIELD_SHIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/server.h"
#include "shield/cidr.h"

typedef struct hs_shield hs_shield_t;

typedef struct hs_shield_opts {
    uint32_t rate, burst;         /* requests/s and bucket size; rate 0 = no limit */
    unsigned ipv6_prefix;         /* IPv6 clients are grouped by this prefix */
    uint32_t max_clients;         /* client table slots */
    uint32_t max_conns_per_client; /* 0 = no cap */
    uint32_t max_connections;     /* global across threads; 0 = no cap */
    uint32_t max_refusals;        /* consecutive 429s before one also closes; 0 = never */
    hs_cidr_list_t deny, allow;   /* owned */
    unsigned top_k;               /* heavy hitters tracked; 0 = none */
    uint64_t window_ms;           /* heavy-hitter sliding window */
    bool auto_throttle;
    unsigned throttle_share;      /* percent of all requests that triggers it */
    uint32_t throttle_rate;       /* requests/s while throttled */
    uint64_t throttle_ms;         /* how long a throttle lasts after the last trigger */
} hs_shield_opts_t;

/*
 * Reads and checks the shield.* keys of cfg into *o. Returns 0, or
 * HS_ECONFIG with "shield.KEY: what is wrong" in err (for a CIDR list it
 * names the bad entry). On success o owns the parsed lists
 * (hs_shield_opts_free); on failure nothing is left to free.
 */
int hs_shield_opts_from_config(const hs_config_t *cfg, hs_shield_opts_t *o, char *err,
                               size_t errlen);
void hs_shield_opts_free(hs_shield_opts_t *o);

/* True when o asks for anything at all; otherwise no shield needs to be
 * made and requests pay nothing for it. */
bool hs_shield_opts_active(const hs_shield_opts_t *o);

/*
 * Creates a shield from *o, taking ownership of its lists (o is emptied).
 * Registers its metrics. Returns 0 or HS_ENOMEM.
 */
int hs_shield_new(hs_shield_opts_t *o, hs_shield_t **out);
/* Frees the shield; every server using its gate must be gone. */
void hs_shield_free(hs_shield_t *s);

/* The gate to put in hs_http_server_opts_t.gate; lives as long as s. */
hs_http_gate_t *hs_shield_gate(hs_shield_t *s);

/*
 * The checks behind the gate, with the clock passed in (for tests).
 * accept: true = let the connection in (then call close for it later);
 * false = answer *r and close. request: true = serve; false = answer *r.
 */
bool hs_shield_accept(hs_shield_t *s, const struct sockaddr_storage *peer, uint64_t now_ms,
                      hs_http_refusal_t *r);
bool hs_shield_request(hs_shield_t *s, const struct sockaddr_storage *peer, uint64_t now_ms,
                       hs_http_refusal_t *r);
void hs_shield_close(hs_shield_t *s, const struct sockaddr_storage *peer);

/* Open connections counted against shield.max_connections. */
uint32_t hs_shield_connections(const hs_shield_t *s);

/*
 * Once-a-second housekeeping (idle table slots freed, metrics published).
 * The gate runs it from whichever request or accept first sees a new
 * second; exposed for tests.
 */
void hs_shield_tick(hs_shield_t *s, uint64_t now_ms);
/* hs_shield_tick at the shield's own clock: for a once-a-second timer, so
 * metrics stay current when no request arrives. */
void hs_shield_housekeep(hs_shield_t *s);

/* The shield whose gate g is (g from hs_shield_gate). */
hs_shield_t *hs_shield_from_gate(hs_http_gate_t *g);

#endif
