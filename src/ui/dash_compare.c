/* dash_compare.c: the dashboard's compare view (F11, `show compare [BRANCH...]`): on each curve
 * panel, the selected branches' curves of the panel's metric overlaid and aligned by step, one
 * theme curve role per branch, a legend naming each branch and its knobs, and a marker where each
 * forked. The branches' records come from the source (ui_source.branches), fetched at most twice a
 * second. It changes nothing else of the dashboard. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "smartty/common.h"
#include "ui/dash_internal.h"
#include "ui/text.h"

#define CMP_MAX 6 /* one theme curve role each */

static struct {
    int on;
    char sel[CMP_MAX][64];
    int n_sel;              /* 0: every branch (the first CMP_MAX) */
    ui_branch_curve b[CMP_MAX];
    int n;
    double fetched;
    double *x, *y;
    size_t cap;
} C;

static void clear_curves(void)
{
    for (int i = 0; i < C.n; i++) {
        free(C.b[i].steps);
        free(C.b[i].evals);
    }
    memset(C.b, 0, sizeof C.b);
    C.n = 0;
}

void dash_compare_free(void)
{
    clear_curves();
    free(C.x);
    free(C.y);
    C.x = C.y = NULL;
    C.cap = 0;
}

int dash_compare_on(void) { return C.on; }

static void fetch(void)
{
    if (!D.src || !D.src->branches)
        return;
    double now = sm_now();
    if (C.fetched > 0 && now - C.fetched < 0.5)
        return;
    C.fetched = now;
    clear_curves();
    ui_branch_curve all[64];
    int n = D.src->branches(D.src->ud, all, 64);
    for (int i = 0; i < n; i++) {
        int want = C.n_sel == 0;
        for (int k = 0; k < C.n_sel && !want; k++)
            want = !strcmp(C.sel[k], all[i].name);
        if (want && C.n < CMP_MAX) {
            C.b[C.n++] = all[i];
        } else {
            free(all[i].steps);
            free(all[i].evals);
        }
    }
}

void ui_dash_compare(int on, int argc, char *const *argv)
{
    C.on = on;
    C.n_sel = 0;
    for (int i = 0; i < argc && C.n_sel < CMP_MAX; i++)
        snprintf(C.sel[C.n_sel++], sizeof C.sel[0], "%s", argv[i]);
    C.fetched = 0;
    D.dirty_panels = D.dirty_hdr = 1;
}

void ui_dash_compare_refresh(void)
{
    if (!C.on)
        return;
    C.fetched = 0;
    D.dirty_panels = 1;
}

void dash_compare_toggle(void) { ui_dash_compare(!C.on, 0, NULL); }

static void cell(WINDOW *w, int y, int x, uint32_t ch, int role)
{
    if (D.ascii && ch >= 128)
        ch = '?';
    wchar_t wc[2] = {(wchar_t)ch, 0};
    cchar_t cc;
    setcchar(&cc, wc, D.role_attr[role], D.role_pair[role], NULL);
    mvwadd_wch(w, y, x, &cc);
}

static int text(WINDOW *w, int y, int x, int max, int role, const char *s)
{
    int n = 0, k;
    uint32_t cp;
    while (n < max && (k = ui_utf8_decode(s, &cp)) > 0) {
        s += k;
        cell(w, y, x + n++, cp, role);
    }
    return n;
}

static double field(const sm_step_record *r, int view)
{
    switch (view) {
    case VIEW_LOSSES:
    case VIEW_LOSS: return r->loss;
    case VIEW_RS: return r->rs;
    case VIEW_BREG: return r->breg;
    case VIEW_TOTAL: return r->total;
    case VIEW_LR: return r->lr;
    case VIEW_GRAD: return r->grad_norm;
    case VIEW_DELTA: return r->delta_norm;
    case VIEW_RATE: return r->examples_per_s;
    default: return NAN;
    }
}

static double dev_value(const sm_eval_record *ev)
{
    return !isnan(ev->acc) ? ev->acc : !isnan(ev->pearson) ? ev->pearson : ev->loss;
}

void dash_compare_panel(int i, WINDOW *w, ui_rect r)
{
    fetch();
    werase(w);
    int view = D.view[i];
    /* the legend: one line per branch inside the top of the panel */
    int legend = C.n < r.h - 6 ? C.n : 0;
    size_t need = 0;
    for (int k = 0; k < C.n; k++)
        need += view == VIEW_DEV ? C.b[k].n_evals : C.b[k].n_steps;
    if (dash_grow((void **)&C.x, &C.cap, need + 1, sizeof(double)) == 0) {
        double *q = realloc(C.y, C.cap * sizeof(double));
        if (q)
            C.y = q;
        else
            need = 0;
    }
    ui_series ser[CMP_MAX];
    ui_marker marks[CMP_MAX];
    int nm = 0;
    size_t off = 0;
    for (int k = 0; k < C.n && C.y; k++) {
        size_t n = view == VIEW_DEV ? C.b[k].n_evals : C.b[k].n_steps;
        for (size_t j = 0; j < n; j++) {
            C.x[off + j] = view == VIEW_DEV ? (double)C.b[k].evals[j].step : (double)C.b[k].steps[j].step;
            C.y[off + j] = view == VIEW_DEV ? dev_value(&C.b[k].evals[j]) : field(&C.b[k].steps[j], view);
        }
        ser[k] = (ui_series){C.x + off, C.y + off, n, UI_ROLE_CURVE1 + k};
        off += n;
        if (C.b[k].fork_step > 0)
            marks[nm++] = (ui_marker){(double)C.b[k].fork_step, UI_MARK_REWIND};
    }
    ui_canvas c;
    int ch = r.h - 2 - legend;
    if (C.y && ch > 2 && r.w > 2 && ui_canvas_init(&c, r.w - 2, ch) == 0) {
        ui_chart_opts o;
        memset(&o, 0, sizeof o);
        o.glyphs = D.ascii ? UI_GLYPHS_ASCII : D.glyphs;
        o.log_y = D.log_y;
        o.ema = D.ema_on ? 0.9 : 0;
        o.window = window_steps[D.window_idx];
        o.x_from = 1;
        o.label_w = 7;
        o.markers = marks;
        o.n_markers = (size_t)nm;
        ui_chart_render(&c, ser, (size_t)C.n, &o, NULL);
        for (int y = 0; y < c.h; y++)
            for (int x = 0; x < c.w; x++) {
                ui_cell *cc = ui_canvas_at(&c, y, x);
                cell(w, y + 1 + legend, x + 1, cc->ch, cc->role);
            }
        ui_canvas_free(&c);
    }
    for (int k = 0; k < legend; k++) {
        int x = 2;
        x += text(w, 1 + k, x, r.w - 2 - x, UI_ROLE_CURVE1 + k, D.ascii ? "== " : "\u2501\u2501 ");
        char line[256];
        snprintf(line, sizeof line, "%s%s  %s  from step %lld", C.b[k].name, C.b[k].active ? "*" : "",
                 C.b[k].knobs[0] ? C.b[k].knobs : "(as its parent)", (long long)C.b[k].fork_step);
        text(w, 1 + k, x, r.w - 2 - x, UI_ROLE_CURVE1 + k, line);
    }
    if (!C.n)
        text(w, 1, 2, r.w - 4, UI_ROLE_DIM, "no branches yet: `snapshot a`, train, `rewind a` (or `explore`)");
    /* the frame, titled with the metric */
    int h = r.h, wd = r.w;
    uint32_t hz = D.ascii ? '-' : 0x2500, vt = D.ascii ? '|' : 0x2502;
    for (int x = 1; x < wd - 1; x++) {
        cell(w, 0, x, hz, UI_ROLE_BORDER);
        cell(w, h - 1, x, hz, UI_ROLE_BORDER);
    }
    for (int y = 1; y < h - 1; y++) {
        cell(w, y, 0, vt, UI_ROLE_BORDER);
        cell(w, y, wd - 1, vt, UI_ROLE_BORDER);
    }
    cell(w, 0, 0, D.ascii ? '+' : 0x256D, UI_ROLE_BORDER);
    cell(w, 0, wd - 1, D.ascii ? '+' : 0x256E, UI_ROLE_BORDER);
    cell(w, h - 1, 0, D.ascii ? '+' : 0x2570, UI_ROLE_BORDER);
    cell(w, h - 1, wd - 1, D.ascii ? '+' : 0x256F, UI_ROLE_BORDER);
    char title[128];
    snprintf(title, sizeof title, " compare %d branch%s: %s ", C.n, C.n == 1 ? "" : "es",
             view == VIEW_DEV ? "dev metric" : view == VIEW_LOSSES ? "loss" : view_title[view]);
    text(w, 0, 2, wd - 4, D.L.n_panels > 1 && i == D.focus ? UI_ROLE_SELECTION : UI_ROLE_TITLE, title);
    wnoutrefresh(w);
}
