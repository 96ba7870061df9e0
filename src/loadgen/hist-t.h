/* Latency histogram type (functions in loadgen/hist.h). */
#ifndef HS_LOADGEN_HIST_T_H
#define HS_LOADGEN_HIST_T_H

#include <stdint.h>

/* Log-linear buckets over nanoseconds: values below 2 * HS_LG_HIST_SUB are
 * exact, then every power of two is cut into HS_LG_HIST_SUB equal buckets,
 * so a bucket is never wider than 1/HS_LG_HIST_SUB (0.78%) of its values. */
#define HS_LG_HIST_SUB_BITS 7
#define HS_LG_HIST_SUB (1u << HS_LG_HIST_SUB_BITS)
/* Values are clamped to one hour (max stays exact). */
#define HS_LG_HIST_MAX_NS (3600ull * 1000000000ull)
/* 2^41 <= HS_LG_HIST_MAX_NS < 2^42: the last bucket is the one holding
 * the clamp value, in octave 41. */
#define HS_LG_HIST_BUCKETS                                                                         \
    ((42 - HS_LG_HIST_SUB_BITS) * HS_LG_HIST_SUB +                                                 \
     (unsigned)(HS_LG_HIST_MAX_NS >> (41 - HS_LG_HIST_SUB_BITS)) - HS_LG_HIST_SUB + 1)

typedef struct hs_lg_hist {
    uint64_t total;
    uint64_t min_ns, max_ns; /* exact; min is UINT64_MAX while empty */
    double sum_ns;
    uint64_t counts[HS_LG_HIST_BUCKETS];
} hs_lg_hist_t;

#endif
