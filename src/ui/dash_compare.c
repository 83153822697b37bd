/* dash_compare.c: the dashboard's compare view (F11, `show compare [BRANCH...]`): on each curve
 * panel, the selected branches' curves of the panel's metric overlaid and aligned by step, one
 * theme curve role per branch, a legend naming each branch and its knobs, and a marker where each
 * forked. The branches' records come from the source (ui_source.branches), fetched at most twice a
 * second. It changes nothing else of the dashboard. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/common.h"
#include "ui/dash_internal.h"

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
            C.y[off + j] = view == VIEW_DEV ? dev_value(&C.b[k].evals[j]) : dash_step_field(&C.b[k].steps[j], view);
        }
        ser[k] = (ui_series){C.x + off, C.y + off, n, UI_ROLE_CURVE1 + k};
        off += n;
        if (C.b[k].fork_step > 0)
            marks[nm++] = (ui_marker){(double)C.b[k].fork_step, UI_MARK_REWIND};
    }
    int ch = r.h - 2 - legend;
    if (C.y && ch > 2)
        dash_chart(w, 1 + legend, ch, r.w, ser, (size_t)C.n, marks, (size_t)nm);
    for (int k = 0; k < legend; k++) {
        int x = 2;
        x += dash_put_text(w, 1 + k, x, r.w - 2 - x, UI_ROLE_CURVE1 + k, D.ascii ? "== " : "\u2501\u2501 ");
        /* the name, its knobs (whole: the panel's width is the only limit) and where it forked */
        char from[48];
        snprintf(from, sizeof from, "  from step %lld", (long long)C.b[k].fork_step);
        const char *part[] = {C.b[k].name, C.b[k].active ? "*" : "", "  ",
                              C.b[k].knobs[0] ? C.b[k].knobs : "(as its parent)", from};
        for (size_t p = 0; p < sizeof part / sizeof part[0]; p++)
            x += dash_put_text(w, 1 + k, x, r.w - 2 - x, UI_ROLE_CURVE1 + k, part[p]);
    }
    if (!C.n)
        dash_put_text(w, 1, 2, r.w - 4, UI_ROLE_DIM, "no branches yet: `snapshot a`, train, `rewind a` (or `explore`)");
    char title[128];
    snprintf(title, sizeof title, "compare %d branch%s: %s", C.n, C.n == 1 ? "" : "es",
             view == VIEW_DEV ? "dev metric" : view == VIEW_LOSSES ? "loss" : view_title[view]);
    dash_frame(w, title, D.L.n_panels > 1 && i == D.focus);
    wnoutrefresh(w);
}
