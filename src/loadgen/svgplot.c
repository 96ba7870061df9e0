/* Inline SVG line charts (see svgplot.h). */
#include "loadgen/svgplot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

#define W 820
#define H 320
#define ML 78 /* margins: room for tick labels and axis titles */
#define MR 150
#define MT 34
#define MB 48
#define NINES_MAX 7.0 /* 99.99999% */

typedef struct scale {
    hs_lg_axis_kind_t kind;
    double lo, hi; /* in transformed units */
    double p0, p1; /* pixel range */
} scale_t;

static double tr(hs_lg_axis_kind_t k, double v)
{
    switch (k) {
    case HS_LG_AXIS_LOG:
        return v > 0 ? log10(v) : NAN;
    case HS_LG_AXIS_NINES:
        if (v >= 100.0) return NAN;
        return v < 0 ? NAN : -log10(1.0 - v / 100.0);
    default:
        return v;
    }
}

static double px(const scale_t *s, double t)
{
    double span = s->hi - s->lo;
    return s->p0 + (t - s->lo) / (span > 0 ? span : 1) * (s->p1 - s->p0);
}

/* Range of the transformed values of every line along one axis. */
static void range(const hs_lg_line_t *l, unsigned n, bool y, hs_lg_axis_kind_t k, double *lo,
                  double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (unsigned i = 0; i < n; i++)
        for (size_t j = 0; j < l[i].n; j++) {
            double t = tr(k, y ? l[i].y[j] : l[i].x[j]);
            if (!isfinite(t)) continue;
            if (t < *lo) *lo = t;
            if (t > *hi) *hi = t;
        }
    if (!isfinite(*lo)) {
        *lo = 0;
        *hi = 1;
    }
    if (k == HS_LG_AXIS_LOG) {
        *lo = floor(*lo);
        *hi = ceil(*hi);
        if (*hi <= *lo) *hi = *lo + 1;
    } else if (k == HS_LG_AXIS_NINES) {
        *lo = 0;
        *hi = ceil(*hi) < 1 ? 1 : ceil(*hi);
        if (*hi > NINES_MAX) *hi = NINES_MAX;
    } else {
        if (*lo > 0) *lo = 0;
        if (*hi <= *lo) *hi = *lo + 1;
    }
}

/* A 1-2-5 step giving about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void fmt_num(char *b, size_t n, double v)
{
    double a = fabs(v);
    if (a == 0)
        snprintf(b, n, "0");
    else if (a >= 1e6 || a < 1e-3)
        snprintf(b, n, "%.0e", v);
    else if (a >= 100 || v == floor(v))
        snprintf(b, n, "%.0f", v);
    else
        snprintf(b, n, "%.3g", v);
}

static void fmt_nines(char *b, size_t n, int k)
{
    if (k == 0) {
        snprintf(b, n, "0%%");
        return;
    }
    /* 1 -> 90%, 2 -> 99%, 3 -> 99.9% ... */
    char digits[16] = "90";
    if (k >= 2) {
        snprintf(digits, sizeof(digits), "99");
        if (k > 2) {
            size_t d = strlen(digits);
            digits[d++] = '.';
            for (int i = 2; i < k && d + 1 < sizeof(digits); i++)
                digits[d++] = '9';
            digits[d] = '\0';
        }
    }
    snprintf(b, n, "%s%%", digits);
}

static int ticks(hs_buf_t *o, const scale_t *s, bool vertical)
{
    char lab[32];
    int rc = 0;
    double step = s->kind == HS_LG_AXIS_LINEAR ? nice_step(s->hi - s->lo, 6) : 1.0;
    double first = ceil(s->lo / step - 1e-9) * step;
    for (double t = first; t <= s->hi + 1e-9 && rc == 0; t += step) {
        if (s->kind == HS_LG_AXIS_LOG)
            fmt_num(lab, sizeof(lab), pow(10, t));
        else if (s->kind == HS_LG_AXIS_NINES)
            fmt_nines(lab, sizeof(lab), (int)lround(t));
        else
            fmt_num(lab, sizeof(lab), t);
        double p = px(s, t);
        if (vertical)
            rc = hs_buf_printf(o,
                               "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                               ML, p, W - MR, p, ML - 6, p + 4, lab);
        else
            rc = hs_buf_printf(o,
                               "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>"
                               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                               p, MT, p, H - MB, p, H - MB + 16, lab);
    }
    return rc;
}

int hs_lg_html_escape(hs_buf_t *out, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&':
            rc = hs_buf_append(out, "&amp;", 5);
            break;
        case '<':
            rc = hs_buf_append(out, "&lt;", 4);
            break;
        case '>':
            rc = hs_buf_append(out, "&gt;", 4);
            break;
        case '"':
            rc = hs_buf_append(out, "&quot;", 6);
            break;
        case '\'':
            rc = hs_buf_append(out, "&#39;", 5);
            break;
        default:
            rc = hs_buf_append(out, s, 1);
            break;
        }
    }
    return rc;
}

int hs_lg_svg_plot(hs_buf_t *o, const char *title, const hs_lg_axis_t *xa, const hs_lg_axis_t *ya,
                   const hs_lg_line_t *lines, unsigned nlines)
{
    scale_t xs = {.kind = xa->kind, .p0 = ML, .p1 = W - MR};
    scale_t ys = {.kind = ya->kind, .p0 = H - MB, .p1 = MT};
    range(lines, nlines, false, xa->kind, &xs.lo, &xs.hi);
    range(lines, nlines, true, ya->kind, &ys.lo, &ys.hi);
    int rc = hs_buf_printf(o,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                           "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
                           W, H, W, H);
    rc = rc ? rc : hs_lg_html_escape(o, title);
    rc = rc ? rc : hs_buf_printf(o, "</title>\n<text x=\"%d\" y=\"20\" class=\"title\">", ML);
    rc = rc ? rc : hs_lg_html_escape(o, title);
    rc = rc ? rc
            : hs_buf_printf(o,
                            "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                            "class=\"frame\"/>\n",
                            ML, MT, W - MR - ML, H - MB - MT);
    rc = rc ? rc : ticks(o, &xs, false);
    rc = rc ? rc : ticks(o, &ys, true);
    rc = rc ? rc
            : hs_buf_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + W - MR) / 2,
                            H - 8);
    rc = rc ? rc : hs_lg_html_escape(o, xa->label);
    rc = rc ? rc
            : hs_buf_printf(o,
                            "</text>\n<text x=\"14\" y=\"%d\" text-anchor=\"middle\" "
                            "transform=\"rotate(-90 14 %d)\">",
                            (MT + H - MB) / 2, (MT + H - MB) / 2);
    rc = rc ? rc : hs_lg_html_escape(o, ya->label);
    rc = rc ? rc : hs_buf_printf(o, "</text>\n");
    for (unsigned i = 0; i < nlines && rc == 0; i++) {
        const hs_lg_line_t *l = &lines[i];
        bool open = false;
        for (size_t j = 0; j < l->n && rc == 0; j++) {
            double tx = tr(xs.kind, l->x[j]), ty = tr(ys.kind, l->y[j]);
            if (!isfinite(tx) || !isfinite(ty) || tx > xs.hi + 1e-9) {
                if (open) rc = hs_buf_printf(o, "\"/>\n");
                open = false;
                continue;
            }
            if (!open)
                rc = hs_buf_printf(o, "<polyline class=\"line\" stroke=\"%s\" points=\"", l->color);
            open = true;
            rc = rc ? rc : hs_buf_printf(o, "%.1f,%.1f ", px(&xs, tx), px(&ys, ty));
        }
        if (open && rc == 0) rc = hs_buf_printf(o, "\"/>\n");
        int ly = MT + 14 + 18 * (int)i;
        rc =
            rc ? rc
               : hs_buf_printf(o,
                               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                               "stroke-width=\"3\"/><text x=\"%d\" y=\"%d\">",
                               W - MR + 10, ly - 4, W - MR + 30, ly - 4, l->color, W - MR + 36, ly);
        rc = rc ? rc : hs_lg_html_escape(o, l->label);
        rc = rc ? rc : hs_buf_printf(o, "</text>\n");
    }
    return rc ? rc : hs_buf_printf(o, "</svg>\n");
}
