/*
 * Durability model of erasure-coded storage: the standard continuous-time
 * Markov chain of a group of n = D + P drives, failing independently at a
 * constant rate (from the annual failure rate, AFR) and rebuilt one at a
 * time at rate 1/rebuild time; data is lost when P + 1 drives are down at
 * once. The capacity planner (src/plan) reuses these functions. Pure and
 * thread-safe. Derivation: docs/objects.md, "Durability model".
 */
#ifndef HS_OBJECTS_DURABILITY_H
#define HS_OBJECTS_DURABILITY_H

#define HS_HOURS_PER_YEAR 8766.0 /* 365.25 days */

/* Failure rate per hour of one drive with annual failure rate afr in
 * (0, 1): lambda = -ln(1 - afr) / 8766. */
double hs_dur_lambda(double afr);

/* Mean time to data loss (hours) of one D+P group, solved exactly on the
 * birth-death chain. Returns a negative value on bad input. */
double hs_dur_mttdl_hours(int d, int p, double afr, double rebuild_hours);

/* The textbook closed form, valid when rebuilds are much faster than
 * failures: MTTDL ~= mu^P / (lambda^(P+1) * n (n-1) ... (n-P)). */
double hs_dur_mttdl_approx_hours(int d, int p, double afr, double rebuild_hours);

/* Probability that a D+P group loses data within one year:
 * 1 - exp(-8766 / MTTDL). groups > 1 scales to that many independent
 * groups (a cluster's drive sets). */
double hs_dur_annual_loss(int d, int p, double afr, double rebuild_hours, double groups);

/* -log10(loss): "11 nines" is 11. */
double hs_dur_nines(double loss);

#endif
