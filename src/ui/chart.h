/* chart.h: draws one or more series of numbers as a line chart into a ui_canvas: braille (2x4 dots
 * a cell), half blocks (1x2) or ASCII (1x3), autoscaled y with labels, optional log scale, EMA
 * smoothing, a window of the last N steps, and markers on the time axis. Knows nothing of curses. */
#ifndef SMARTTY_UI_CHART_H
#define SMARTTY_UI_CHART_H

#include <stddef.h>

#include "ui/canvas.h"

typedef enum ui_glyphs { UI_GLYPHS_BRAILLE = 0, UI_GLYPHS_BLOCK, UI_GLYPHS_ASCII } ui_glyphs;

typedef struct ui_series {
    const double *x; /* [n] step of each point, increasing; NULL: 1, 2, ..., n */
    const double *y; /* [n] values; non-finite values are gaps */
    size_t n;
    int role;        /* ui_role of the line, e.g. UI_ROLE_CURVE1 */
} ui_series;

typedef enum ui_marker_kind { UI_MARK_CHANGE = 0, UI_MARK_SNAPSHOT, UI_MARK_REWIND } ui_marker_kind;

typedef struct ui_marker {
    double x;  /* step */
    int kind;  /* ui_marker_kind */
} ui_marker;

typedef struct ui_chart_opts {
    ui_glyphs glyphs;
    int log_y;               /* 1: log10 scale (values <= 0 are gaps) */
    double ema;              /* smoothing weight of the past in [0, 1); 0: none */
    double window;           /* 0: all steps; N: the last N steps */
    const ui_marker *markers;
    size_t n_markers;
    double x_from;           /* with window 0: start the axis here when that is before the first
                                point (aligns a sparse series, e.g. evaluations, with the steps);
                                0: at the first point */
    int label_w;             /* at least this many columns for the y labels (charts side by side
                                then share one time scale); 0: as narrow as the labels allow */
} ui_chart_opts;

/* Where things went, for the caller (and the tests). */
typedef struct ui_chart_info {
    int plot_x, plot_y, plot_w, plot_h; /* the plotting area inside the canvas, in cells */
    int axis_row;                       /* the time axis (markers), just below the plot */
    double x_lo, x_per_col;             /* cell column c covers steps [x_lo + c*x_per_col, ...) */
    double y_lo, y_hi;                  /* the value range of the plot's bottom and top edges
                                           (log10 of the values under log_y) */
    int points;                         /* points drawn */
} ui_chart_info;

/* Render into c (cleared first). Returns 0, or -1 when the canvas is too small for a chart (a short
 * note is written instead). info may be NULL. */
int ui_chart_render(ui_canvas *c, const ui_series *series, size_t n_series, const ui_chart_opts *o,
                    ui_chart_info *info);

/* Glyph for a marker kind, in UTF-8 or ASCII mode. */
uint32_t ui_marker_glyph(int kind, int ascii);

/* Format a number compactly (at most 8 characters) for an axis label. */
void ui_format_value(double v, char *buf, size_t cap);

#endif
