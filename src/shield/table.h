/*
 * The shield's process-wide client table: one fixed-size, set-associative
 * array shared by every worker thread (SO_REUSEPORT spreads one client's
 * connections over threads, so per-thread tables would multiply its
 * limits). A client's 16-byte key (cidr.h form, IPv6 already cut to its
 * prefix) hashes with a per-process random seed to a set of
 * HS_SHIELD_WAYS slots; sets are guarded by striped mutexes.
 *
 * Memory is fixed at creation: capacity * sizeof(slot) (64 bytes). A new
 * client takes a free slot of its set or evicts the least recently seen
 * one that holds no open connection; when every slot of its set holds
 * connections it goes untracked (served without per-client limits) rather
 * than growing anything. A flood of distinct addresses therefore only
 * recycles slots.
 */
#ifndef HS_SHIELD_TABLE_H
#define HS_SHIELD_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define HS_SHIELD_WAYS 8

typedef struct hs_shield_table hs_shield_table_t;

/* What a request is held to. */
typedef struct hs_shield_limit {
    uint32_t rate, burst;                   /* tokens/s and bucket size; rate 0 = none */
    uint32_t throttle_rate, throttle_burst; /* while the client is throttled */
    uint64_t throttle_for_ms;               /* > 0: throttle the client from now on for this long */
} hs_shield_limit_t;

typedef struct hs_shield_verdict {
    uint32_t retry_after; /* 0 = allowed; else seconds (>= 1) until a token */
    uint32_t strikes;     /* consecutive refusals of this client, this one included */
    bool throttled;       /* the reduced limit applied */
    bool untracked;       /* no slot: no limit applied */
} hs_shield_verdict_t;

/* Creates a table of at least `capacity` slots (rounded up to a power of
 * two, minimum 64). Returns 0 or HS_ENOMEM. */
int hs_shield_table_new(uint32_t capacity, hs_shield_table_t **out);
void hs_shield_table_free(hs_shield_table_t *t);

/* Slots in the table (its memory bound is this times 64 bytes). */
uint32_t hs_shield_table_capacity(const hs_shield_table_t *t);
/* Clients currently held. */
uint32_t hs_shield_table_size(const hs_shield_table_t *t);

/*
 * Counts a new connection of `key`. max_conns 0 = no cap. Returns 0, or
 * HS_ELIMIT when the client already has max_conns open (nothing counted),
 * or HS_ENOSPC when no slot could be had (nothing counted; the caller
 * lets it through).
 */
int hs_shield_table_conn_open(hs_shield_table_t *t, const uint8_t key[16], uint32_t max_conns,
                              uint64_t now_ms);
/* Uncounts a connection counted by conn_open (saturating at 0). */
void hs_shield_table_conn_close(hs_shield_table_t *t, const uint8_t key[16]);
/* Open connections counted for key (0 when untracked). */
uint32_t hs_shield_table_conns(hs_shield_table_t *t, const uint8_t key[16]);

/*
 * Charges one request of `key` against lim at now_ms and fills *v.
 * Returns 0, or HS_ENOSPC when the client could not be tracked (v says
 * allowed and untracked).
 */
int hs_shield_table_request(hs_shield_table_t *t, const uint8_t key[16],
                            const hs_shield_limit_t *lim, uint64_t now_ms,
                            hs_shield_verdict_t *v);

/*
 * Frees the slots among 1/parts of the table (chunk `part` of `parts`)
 * that have been idle for idle_ms, hold no connection and are not
 * throttled. Returns how many were freed. Callers sweep one chunk per tick.
 */
uint32_t hs_shield_table_sweep(hs_shield_table_t *t, uint32_t part, uint32_t parts,
                               uint64_t idle_ms, uint64_t now_ms);

#endif
