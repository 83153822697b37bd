/* layout.h: the dashboard's layout as a pure function of the terminal size (rows x columns) to
 * rectangles for each pane. Knows nothing of curses; unit-tested without a terminal. */
#ifndef SMARTTY_UI_LAYOUT_H
#define SMARTTY_UI_LAYOUT_H

#include <stdint.h>

#define UI_MAX_PANELS 4
#define UI_MIN_ROWS 16
#define UI_MIN_COLS 60

typedef struct ui_rect {
    int y, x; /* top-left corner, 0-based */
    int h, w; /* size in cells; 0 when the pane is absent */
} ui_rect;

typedef struct ui_layout {
    int too_small;      /* 1: the terminal is below UI_MIN_ROWS x UI_MIN_COLS; only `cmd` is set */
    ui_rect header;     /* two lines: model, data, state; step, progress bar, ETA, rate */
    ui_rect panels[UI_MAX_PANELS]; /* curve panels, row-major */
    int n_panels;
    ui_rect knobs;      /* hyperparameter panel (right column) */
    ui_rect log;        /* event log (below the curves) */
    ui_rect keys;       /* one line of function-key hints; absent on short terminals */
    ui_rect cmd;        /* the command line (last row) */
} ui_layout;

/* Fill *out for a terminal of rows x cols. zoom: 1 gives one curve panel over the whole curve area.
 * Returns 0, or -1 when the terminal is too small (out->too_small set, out->cmd still the last row). */
int ui_layout_compute(int rows, int cols, int zoom, ui_layout *out);

/* What the header shows at w columns. Row 0: lead cells (" smartty "), the model and the data (fixed
 * cells of their labels, then each its text, elided in the middle beyond its room), and the run state
 * (state cells) always at the right. Row 1: `always` cells that always show (step, epoch, percentage,
 * loss, dev metric); the progress bar (bar cells), then the rate, then the ETA give way when short. */
typedef struct ui_header_fit {
    int model_room, data_room; /* cells for the model's and the data's text */
    int bar, rate, eta;        /* 1: shown */
} ui_header_fit;
void ui_header_fit_compute(int w, int lead, int labels, int state, int model_len, int data_len, int always,
                           int bar, int rate, int eta, ui_header_fit *out);

/* The ETA in seconds of a run at step of planned, at steps_per_s (measured outside evaluations),
 * with evals_left evaluations still to come of eval_s seconds each (the last one's time); -1 when
 * unknown (nothing planned, done, or no rate yet). */
double ui_eta_seconds(int64_t step, int64_t planned, double steps_per_s, int64_t evals_left, double eval_s);

/* 1 when the rectangles share a cell (absent rectangles never overlap). */
int ui_rect_overlap(ui_rect a, ui_rect b);

#endif
