/* Metric series types; opaque outside metrics.c. */
#ifndef HS_CORE_METRICS_T_H
#define HS_CORE_METRICS_T_H

typedef struct hs_counter hs_counter_t;
typedef struct hs_gauge hs_gauge_t;
typedef struct hs_histogram hs_histogram_t;

#endif
