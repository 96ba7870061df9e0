/*
 * The access model and tier policy (pure functions, reusable by the
 * planner and testable alone), and access-record helpers. See tier.c for
 * the model; knobs are documented in docs/objects.md.
 */
#ifndef HS_OBJECTS_TIER_H
#define HS_OBJECTS_TIER_H

#include <stdint.h>

#include "objects/objects-t.h"

typedef struct hs_tier_policy {
    uint64_t half_life_ns;   /* decay of the access score */
    uint64_t hot_window_ns;  /* predicted next access within: hot */
    uint64_t warm_window_ns; /* within: warm; beyond: cold */
    uint64_t min_age_ns;     /* younger objects are not moved */
} hs_tier_policy_t;

void hs_tier_policy_default(hs_tier_policy_t *p);
/* Sets the process-wide policy (call before starting tier passes). */
void hs_tier_policy_set(const hs_tier_policy_t *p);

/* Score decayed from last_ns to now_ns. */
double hs_access_decay(double score, uint64_t last_ns, uint64_t now_ns, uint64_t half_life_ns);
/* Predicted time (ns) from now to the next access; INFINITY if never. */
double hs_access_next_ns(double score, uint64_t last_ns, uint64_t now_ns, uint64_t half_life_ns);
/* The tier the policy picks. */
hs_tier_t hs_tier_choose(const hs_tier_policy_t *p, double score, uint64_t last_ns,
                         uint64_t created_ns, uint64_t now_ns, hs_tier_t current);

/* Reads / overwrites an object's access record (tests and tools). */
int hs_obj_access_get(hs_objects_t *s, const char *name, double *score, uint64_t *last_ns,
                      uint64_t *count);
int hs_obj_access_set(hs_objects_t *s, const char *name, double score, uint64_t last_ns);

#endif
