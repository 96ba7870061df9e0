/* Internal helpers shared by the report writers of loadgen. */
#ifndef HS_LOADGEN_REPORT_H
#define HS_LOADGEN_REPORT_H

#include <stddef.h>

#include "core/buf-t.h"
#include "loadgen/bench-t.h"

/* Points of the percentile spectrum in reports. */
#define HS_LG_SPECTRUM_MAX 128

/* Renders the JSON report into out. Returns 0 or HS_ENOMEM. */
int hs_lg_report_json(hs_buf_t *out, const hs_bench_opts_t *o, const hs_bench_result_t *r);

/* Renders the HTML report into out. Returns 0 or HS_ENOMEM. */
int hs_lg_report_html(hs_buf_t *out, const hs_bench_opts_t *o, const hs_bench_result_t *r);

/* Writes len bytes to path ("-" is stdout) through a temporary file and a
 * rename, so a reader never sees half a report. Returns 0 or HS_E*. */
int hs_lg_write_file(const char *path, const char *data, size_t len);

#endif
