/*
 * Line charts as inline SVG for the HTML report: linear or log axes, a
 * "nines" axis for percentile spectra, ticks, a legend. Written for the
 * report, not as a general plotting library.
 */
#ifndef HS_LOADGEN_SVGPLOT_H
#define HS_LOADGEN_SVGPLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf-t.h"

typedef enum hs_lg_axis_kind {
    HS_LG_AXIS_LINEAR = 0,
    HS_LG_AXIS_LOG,   /* base 10; values <= 0 are not drawn */
    HS_LG_AXIS_NINES, /* x = -log10(1 - p/100) given as p in [0, 100] */
} hs_lg_axis_kind_t;

typedef struct hs_lg_axis {
    const char *label;
    hs_lg_axis_kind_t kind;
} hs_lg_axis_t;

typedef struct hs_lg_line {
    const char *label;
    const char *color; /* CSS colour */
    const double *x, *y;
    size_t n;
} hs_lg_line_t;

/* Appends one <svg> element (with a <title>) plotting the lines. Returns
 * 0 or HS_ENOMEM. */
int hs_lg_svg_plot(hs_buf_t *out, const char *title, const hs_lg_axis_t *x, const hs_lg_axis_t *y,
                   const hs_lg_line_t *lines, unsigned nlines);

/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
int hs_lg_html_escape(hs_buf_t *out, const char *s);

#endif
