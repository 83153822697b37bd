/* layout.c: splits the terminal into the dashboard's panes. Pure arithmetic on sizes: no curses,
 * no state. The curve area gets what the header, knob column, log and command line leave. */
#include "ui/layout.h"

#include <string.h>

static ui_rect rect(int y, int x, int h, int w)
{
    ui_rect r = {y, x, h > 0 ? h : 0, w > 0 ? w : 0};
    if (r.h == 0 || r.w == 0)
        r.h = r.w = 0;
    return r;
}

int ui_rect_overlap(ui_rect a, ui_rect b)
{
    if (a.h <= 0 || a.w <= 0 || b.h <= 0 || b.w <= 0)
        return 0;
    return a.y < b.y + b.h && b.y < a.y + a.h && a.x < b.x + b.w && b.x < a.x + a.w;
}

void ui_header_fit_compute(int w, int lead, int labels, int state, int model_len, int data_len, int always,
                           int bar, int rate, int eta, ui_header_fit *out)
{
    int room = w - lead - labels - state - 2; /* a blank before the state and at the end */
    if (room < 0)
        room = 0;
    out->model_room = room / 2;
    out->data_room = room - out->model_room;
    if (data_len < out->data_room) /* what one does not need, the other may use */
        out->model_room += out->data_room - data_len, out->data_room = data_len;
    else if (model_len < out->model_room)
        out->data_room += out->model_room - model_len, out->model_room = model_len;
    int need = always + rate + eta;
    out->bar = need + bar < w;
    out->rate = out->bar || need <= w;
    if (!out->rate)
        need -= rate;
    out->eta = out->bar || out->rate || need <= w;
}

double ui_eta_seconds(int64_t step, int64_t planned, double steps_per_s, int64_t evals_left, double eval_s)
{
    if (planned <= step || !(steps_per_s > 0))
        return -1;
    double t = (double)(planned - step) / steps_per_s;
    if (evals_left > 0 && eval_s > 0)
        t += (double)evals_left * eval_s;
    return t;
}

int ui_layout_compute(int rows, int cols, int zoom, ui_layout *out)
{
    memset(out, 0, sizeof *out);
    if (rows < 1 || cols < 1)
        return out->too_small = 1, -1;
    out->cmd = rect(rows - 1, 0, 1, cols);
    if (rows < UI_MIN_ROWS || cols < UI_MIN_COLS) {
        out->too_small = 1;
        return -1;
    }
    out->header = rect(0, 0, 2, cols);
    int bottom = rows - 1; /* first row below the middle area */
    if (rows >= 20) {
        out->keys = rect(rows - 2, 0, 1, cols);
        bottom = rows - 2;
    }
    int top = 2;
    int mid_h = bottom - top;

    /* Knob column: wide enough for "name  value  @step"; narrower on small terminals. */
    int knob_w = cols >= 120 ? 34 : cols >= 100 ? 32 : cols >= 80 ? 28 : 24;
    int left_w = cols - knob_w;
    out->knobs = rect(top, left_w, mid_h, knob_w);

    /* Event log under the curves: about a quarter of the middle, at least 4 rows (2 inside a box). */
    int log_h = mid_h / 4;
    if (log_h < 4)
        log_h = 4;
    if (log_h > 12)
        log_h = 12;
    int curve_h = mid_h - log_h;
    out->log = rect(top + curve_h, 0, log_h, left_w);

    /* Curve panels: a grid of 1-2 columns by 1-2 rows, each at least 8 rows and 30 columns. */
    int pc = (!zoom && left_w >= 80) ? 2 : 1;
    int pr = (!zoom && curve_h >= 16) ? 2 : 1;
    out->n_panels = pc * pr;
    for (int r = 0; r < pr; r++) {
        int y0 = top + curve_h * r / pr, y1 = top + curve_h * (r + 1) / pr;
        for (int c = 0; c < pc; c++) {
            int x0 = left_w * c / pc, x1 = left_w * (c + 1) / pc;
            out->panels[r * pc + c] = rect(y0, x0, y1 - y0, x1 - x0);
        }
    }
    return 0;
}
