/* dash_draw.c: the dashboard's drawing: colours from the theme, the windows of the layout, and each
 * pane (header, curve panels, knobs, event log, keys, command line, help), redrawn only when its
 * inputs changed. It reads D and never changes the source's state. */
#include "config.h"

#include "ui/dash_internal.h"

#include <math.h>
#include <readline/readline.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui/text.h"

/* ---- colours ---- */

static attr_t ui_attrs(unsigned a)
{
    attr_t r = A_NORMAL;
    if (a & UI_ATTR_BOLD)
        r |= A_BOLD;
    if (a & UI_ATTR_DIM)
        r |= A_DIM;
    if (a & UI_ATTR_UNDERLINE)
        r |= A_UNDERLINE;
    if (a & UI_ATTR_REVERSE)
        r |= A_REVERSE;
#ifdef A_ITALIC
    if (a & UI_ATTR_ITALIC)
        r |= A_ITALIC;
#endif
    return r;
}

void dash_apply_theme(void)
{
    for (int r = 0; r < UI_ROLE_COUNT; r++) {
        const ui_style *s = &D.theme.role[r];
        attr_t a = ui_attrs(s->attrs);
        D.role_pair[r] = 0;
        if (D.ncolors >= 8) {
            int fg = ui_color_resolve(s->fg, D.ncolors), bg = ui_color_resolve(s->bg, D.ncolors);
            if (fg >= 0 || bg >= 0) {
                init_pair((short)(r + 1), (short)fg, (short)bg);
                D.role_pair[r] = (short)(r + 1);
            }
        } else if (!s->attrs) {
            /* no colours: keep the roles apart with attributes */
            if (r == UI_ROLE_TITLE || r == UI_ROLE_BAD || r == UI_ROLE_PROMPT || r == UI_ROLE_CURVE1)
                a = A_BOLD;
            else if (r == UI_ROLE_SELECTION || r == UI_ROLE_STATUS)
                a = A_REVERSE;
            else if (r == UI_ROLE_DIM || r == UI_ROLE_BORDER)
                a = A_DIM;
            else if (r == UI_ROLE_WARN)
                a = A_UNDERLINE;
        }
        D.role_attr[r] = a;
    }
}

void dash_put_cell(WINDOW *w, int y, int x, uint32_t ch, int role)
{
    if (D.ascii && ch >= 128)
        ch = '?';
    wchar_t wc[2] = {(wchar_t)ch, 0};
    cchar_t cc;
    setcchar(&cc, wc, D.role_attr[role], D.role_pair[role], NULL);
    mvwadd_wch(w, y, x, &cc);
}

int dash_put_text(WINDOW *w, int y, int x, int max, int role, const char *s)
{
    int n = 0;
    uint32_t cp;
    int k;
    while (n < max && (k = ui_utf8_decode(s, &cp)) > 0) {
        s += k;
        dash_put_cell(w, y, x + n, cp, role);
        n++;
    }
    return n;
}

static int put_fmt(WINDOW *w, int y, int x, int max, int role, const char *fmt, ...) SM_PRINTF(6, 7);
static int put_fmt(WINDOW *w, int y, int x, int max, int role, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return dash_put_text(w, y, x, max, role, buf);
}

static void fill_row(WINDOW *w, int y, int x, int n, int role)
{
    for (int i = 0; i < n; i++)
        dash_put_cell(w, y, x + i, ' ', role);
}

void dash_frame(WINDOW *w, const char *title, int focused)
{
    int h, wd;
    getmaxyx(w, h, wd);
    uint32_t hz = D.ascii ? '-' : 0x2500, vt = D.ascii ? '|' : 0x2502;
    uint32_t tl = D.ascii ? '+' : 0x256D, tr = D.ascii ? '+' : 0x256E;
    uint32_t bl = D.ascii ? '+' : 0x2570, br = D.ascii ? '+' : 0x256F;
    int role = UI_ROLE_BORDER;
    for (int x = 1; x < wd - 1; x++) {
        dash_put_cell(w, 0, x, hz, role);
        dash_put_cell(w, h - 1, x, hz, role);
    }
    for (int y = 1; y < h - 1; y++) {
        dash_put_cell(w, y, 0, vt, role);
        dash_put_cell(w, y, wd - 1, vt, role);
    }
    dash_put_cell(w, 0, 0, tl, role);
    dash_put_cell(w, 0, wd - 1, tr, role);
    dash_put_cell(w, h - 1, 0, bl, role);
    dash_put_cell(w, h - 1, wd - 1, br, role);
    if (title)
        put_fmt(w, 0, 2, wd - 4, focused ? UI_ROLE_SELECTION : UI_ROLE_TITLE, " %s ", title);
}

/* ---- windows ---- */

void dash_free_windows(void)
{
    WINDOW **all[] = {&D.hdr, &D.panel[0], &D.panel[1], &D.panel[2], &D.panel[3],
                      &D.knobs, &D.log, &D.keys, &D.cmd, &D.help};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i]) {
            delwin(*all[i]);
            *all[i] = NULL;
        }
}

static WINDOW *mkwin(ui_rect r)
{
    if (r.h <= 0 || r.w <= 0)
        return NULL;
    WINDOW *w = newwin(r.h, r.w, r.y, r.x);
    if (w) {
        wbkgdset(w, ' ' | D.role_attr[UI_ROLE_TEXT] | COLOR_PAIR(D.role_pair[UI_ROLE_TEXT]));
        werase(w);
    }
    return w;
}

void dash_relayout(void)
{
    dash_free_windows();
    getmaxyx(stdscr, D.rows, D.cols);
    ui_layout_compute(D.rows, D.cols, D.zoom, &D.L);
    wbkgdset(stdscr, ' ' | D.role_attr[UI_ROLE_TEXT] | COLOR_PAIR(D.role_pair[UI_ROLE_TEXT]));
    werase(stdscr);
    wnoutrefresh(stdscr);
    D.cmd = mkwin(D.L.cmd);
    if (D.cmd) {
        keypad(D.cmd, TRUE);
        nodelay(D.cmd, FALSE);
    }
    if (!D.L.too_small) {
        D.hdr = mkwin(D.L.header);
        for (int i = 0; i < D.L.n_panels; i++)
            D.panel[i] = mkwin(D.L.panels[i]);
        D.knobs = mkwin(D.L.knobs);
        D.log = mkwin(D.L.log);
        D.keys = mkwin(D.L.keys);
    }
    if (D.focus >= D.L.n_panels)
        D.focus = 0;
    D.dirty_all = 1;
}

/* ---- drawing ---- */

static void fmt_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || !isfinite(s) || s > 99 * 3600.0) {
        snprintf(buf, cap, "--");
        return;
    }
    long t = lrint(s);
    if (t >= 3600)
        snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lds", t);
}

static const char *dev_metric(const sm_eval_record *ev, double *v)
{
    static const struct { const char *name; size_t off; } m[] = {
        {"acc", offsetof(sm_eval_record, acc)},         {"pearson", offsetof(sm_eval_record, pearson)},
        {"f1", offsetof(sm_eval_record, f1)},           {"macro_f1", offsetof(sm_eval_record, macro_f1)},
        {"loss", offsetof(sm_eval_record, loss)},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        double x;
        memcpy(&x, (const char *)ev + m[i].off, sizeof x);
        if (isfinite(x)) {
            *v = x;
            return m[i].name;
        }
    }
    *v = NAN;
    return NULL;
}

static void draw_header(void)
{
    WINDOW *w = D.hdr;
    if (!w)
        return;
    int wd = D.L.header.w;
    const ui_state *s = &D.st;
    const char *ell = D.ascii ? "..." : "\u2026";
    /* row 0: the run state at the right always; model and data share what is left, each elided in
     * the middle when it does not fit (a path keeps its start and its last component) */
    char state[64];
    snprintf(state, sizeof state, " %s ", ui_run_state_name(s->run));
    for (char *p = state; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    int role = s->run == UI_RUN_RUNNING || s->run == UI_RUN_STEPPING ? UI_ROLE_GOOD
               : s->run == UI_RUN_BREAK                              ? UI_ROLE_BAD
               : s->run == UI_RUN_PAUSED                             ? UI_ROLE_WARN
                                                                     : UI_ROLE_DIM;
    int sl = (int)strlen(state);
    const char *model = s->model[0] ? s->model : "-", *data = s->data[0] ? s->data : "-";
    int ml = ui_text_len(model), dl = ui_text_len(data);
    /* row 1: step, epoch, progress, ETA, rate, loss and the dev metric; when the row is short the
     * bar goes first, then the rate, then the ETA: the step, the loss and the dev metric stay */
    char step[64], planned[32] = "", epoch[32], pct[16], eta_s[48], rate[32], loss[32] = "", dev[64] = "";
    snprintf(step, sizeof step, "step %lld", (long long)s->step);
    if (s->planned > 0)
        snprintf(planned, sizeof planned, "/%lld", (long long)s->planned);
    snprintf(epoch, sizeof epoch, "  epoch %d  ", s->epoch + 1);
    double frac = s->planned > 0 ? (double)s->step / (double)s->planned : 0;
    if (frac > 1)
        frac = 1;
    snprintf(pct, sizeof pct, " %3.0f%%", frac * 100);
    char eta[32];
    fmt_duration(ui_eta_seconds(s->step, s->planned, D.rate, s->evals_left, s->has_eval ? s->eval.seconds : 0), eta,
                 sizeof eta);
    snprintf(eta_s, sizeof eta_s, "  ETA %s", eta);
    snprintf(rate, sizeof rate, "  %.0f ex/s", s->examples_per_s);
    if (s->has_step)
        snprintf(loss, sizeof loss, "  loss %.4g", s->last.loss);
    double v;
    const char *m = s->has_eval ? dev_metric(&s->eval, &v) : NULL;
    if (m)
        snprintf(dev, sizeof dev, "  dev %s %.4g", m, v);
    int bar = wd >= 100 ? 24 : 12;
    int always = 1 + (int)(strlen(step) + strlen(planned) + strlen(epoch) + strlen(pct) + strlen(loss) +
                           strlen(dev)) + 1;
    ui_header_fit fit;
    ui_header_fit_compute(wd, (int)strlen(" smartty "), (int)strlen(" model:    data: "), sl, ml, dl, always,
                          bar + 2, (int)strlen(rate), (int)strlen(eta_s), &fit);
    int show_bar = fit.bar, show_rate = fit.rate, show_eta = fit.eta;
    fill_row(w, 0, 0, wd, UI_ROLE_STATUS);
    int x = dash_put_text(w, 0, 0, wd, UI_ROLE_STATUS, " smartty ");
    char mbuf[2048], dbuf[2048];
    x += put_fmt(w, 0, x, wd - x - sl - 1, UI_ROLE_STATUS, " model: %s   data: %s",
                 ui_elide_middle(model, fit.model_room, ell, mbuf, sizeof mbuf),
                 ui_elide_middle(data, fit.data_room, ell, dbuf, sizeof dbuf));
    if (wd - sl - 1 >= x)
        dash_put_text(w, 0, wd - sl - 1, sl, role, state);

    fill_row(w, 1, 0, wd, UI_ROLE_TEXT);
    x = 1 + dash_put_text(w, 1, 1, wd - 1, UI_ROLE_TEXT, step);
    x += dash_put_text(w, 1, x, wd - x, UI_ROLE_DIM, planned);
    x += dash_put_text(w, 1, x, wd - x, UI_ROLE_TEXT, epoch);
    if (show_bar) {
        int full = (int)lrint(frac * bar);
        dash_put_cell(w, 1, x++, '[', UI_ROLE_BORDER);
        for (int i = 0; i < bar; i++)
            dash_put_cell(w, 1, x++, i < full ? (D.ascii ? '#' : 0x2588) : (D.ascii ? '.' : 0x2591),
                     i < full ? UI_ROLE_GOOD : UI_ROLE_DIM);
        dash_put_cell(w, 1, x++, ']', UI_ROLE_BORDER);
    }
    x += dash_put_text(w, 1, x, wd - x, UI_ROLE_TEXT, pct);
    if (show_eta)
        x += dash_put_text(w, 1, x, wd - x, UI_ROLE_TEXT, eta_s);
    if (show_rate)
        x += dash_put_text(w, 1, x, wd - x, UI_ROLE_TEXT, rate);
    x += dash_put_text(w, 1, x, wd - x, UI_ROLE_TEXT, loss);
    if (dev[0])
        x += dash_put_text(w, 1, x, wd - x, UI_ROLE_GOOD, dev);
    if (s->branch[0]) /* issue 15: the active branch, and an exploration's variant */
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_TITLE, "  branch %s", s->branch);
    if (s->explore_total)
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_WARN, "  variant %d/%d", s->explore_variant, s->explore_total);
    if (s->eval_total)
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_WARN, "  evaluating %lld/%lld", (long long)s->eval_done,
                     (long long)s->eval_total);
    if (s->note[0] && x + 4 < wd)
        put_fmt(w, 1, x, wd - x, UI_ROLE_BAD, "  %s", s->note);
    wnoutrefresh(w);
}

double dash_step_field(const sm_step_record *r, int view)
{
    switch (view) {
    case VIEW_LOSSES: /* one curve: the loss */
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

void dash_chart(WINDOW *w, int top, int h, int wd, const ui_series *ser, size_t n, const ui_marker *marks,
                size_t n_marks)
{
    ui_canvas c;
    if (h < 1 || wd <= 2 || ui_canvas_init(&c, wd - 2, h) != 0)
        return;
    ui_chart_opts o;
    memset(&o, 0, sizeof o);
    o.glyphs = D.ascii ? UI_GLYPHS_ASCII : D.glyphs;
    o.log_y = D.log_y;
    o.ema = D.ema_on ? 0.9 : 0;
    o.window = window_steps[D.window_idx];
    o.x_from = 1;  /* every panel's time axis starts at step 1 ... */
    o.label_w = 7; /* ... and has the same width, so side-by-side panels share a scale */
    o.markers = marks;
    o.n_markers = n_marks;
    ui_chart_render(&c, ser, n, &o, NULL);
    for (int y = 0; y < c.h; y++)
        for (int x = 0; x < c.w; x++) {
            ui_cell *cell = ui_canvas_at(&c, y, x);
            dash_put_cell(w, y + top, x + 1, cell->ch, cell->role);
        }
    ui_canvas_free(&c);
}

static void draw_panel(int i)
{
    WINDOW *w = D.panel[i];
    if (!w)
        return;
    ui_rect r = D.L.panels[i];
    int view = D.view[i];
    if (dash_compare_on()) {
        dash_compare_panel(i, w, r);
        return;
    }
    werase(w);
    char title[96];
    ui_series ser[4];
    int ns = 0;
    size_t n = view == VIEW_DEV ? D.n_evals : D.n_steps;
    if (dash_grow((void **)&D.xs, &D.cap_xy, n + 1, sizeof(double)) == 0) {
        for (int k = 0; k < 4; k++) {
            double *q = realloc(D.ys[k], D.cap_xy * sizeof(double));
            if (!q)
                n = 0;
            else
                D.ys[k] = q;
        }
    } else {
        n = 0;
    }
    const char *metric = NULL;
    if (view == VIEW_DEV) {
        for (size_t j = 0; j < n; j++) {
            double v;
            const char *m = dev_metric(&D.evals[j], &v);
            if (m && !metric)
                metric = m;
            D.xs[j] = (double)D.evals[j].step;
            D.ys[0][j] = v;
        }
        ser[ns++] = (ui_series){D.xs, D.ys[0], n, UI_ROLE_CURVE3};
        snprintf(title, sizeof title, "dev %s", metric ? metric : "metric");
    } else {
        static const int loss_views[4] = {VIEW_LOSS, VIEW_RS, VIEW_BREG, VIEW_TOTAL};
        int nv = view == VIEW_LOSSES ? 4 : 1;
        for (int k = 0; k < nv; k++) {
            int vv = view == VIEW_LOSSES ? loss_views[k] : view;
            for (size_t j = 0; j < n; j++)
                D.ys[k][j] = dash_step_field(&D.steps[j], vv);
            ser[ns++] = (ui_series){D.xs, D.ys[k], n, UI_ROLE_CURVE1 + (view == VIEW_LOSSES ? k : (view % 6))};
        }
        for (size_t j = 0; j < n; j++)
            D.xs[j] = (double)D.steps[j].step;
        snprintf(title, sizeof title, "%s", view_title[view]);
    }
    if (r.h > 2)
        dash_chart(w, 1, r.h - 2, r.w, ser, (size_t)ns, D.marks, D.n_marks);
    char full[160];
    snprintf(full, sizeof full, "%s%s%s%s", title, D.log_y ? " (log)" : "", D.ema_on ? " (ema)" : "",
             D.window_idx ? (D.window_idx == 1 ? " (last 100)" : " (last 1000)") : "");
    dash_frame(w, full, D.L.n_panels > 1 && i == D.focus);
    if (view == VIEW_LOSSES && r.w > 40) { /* legend on the top border */
        static const char *const names[4] = {"loss", "rs", "breg", "total"};
        int x = r.w - 2 - 22;
        for (int k = 0; k < 4; k++) {
            dash_put_cell(w, 0, x++, ' ', UI_ROLE_BORDER);
            x += dash_put_text(w, 0, x, r.w - 1 - x, UI_ROLE_CURVE1 + k, names[k]);
        }
        dash_put_cell(w, 0, x, ' ', UI_ROLE_BORDER);
    }
    wnoutrefresh(w);
}

static void draw_knobs(void)
{
    WINDOW *w = D.knobs;
    if (!w)
        return;
    int h = D.L.knobs.h, wd = D.L.knobs.w;
    werase(w);
    dash_frame(w, "knobs", 0);
    static const char *const group[3] = {"SMART", "optimizer", "run"};
    int y = 1, last_group = -1;
    /* rows the whole list needs (group headings and the blank lines between groups included) */
    int need = 0;
    for (int i = 0, g = -1; i < D.n_knobs; i++) {
        if (D.knob[i].group != g)
            need += g < 0 ? 1 : 2;
        g = D.knob[i].group;
        need++;
    }
    int fits = need <= h - 2;
    int i;
    for (i = 0; i < D.n_knobs && y < h - 1; i++) {
        const ui_knob *k = &D.knob[i];
        if (!fits && y == h - 2 && i < D.n_knobs - 1)
            break; /* keep the last row for the "more" line */
        if (k->group != last_group) {
            last_group = k->group;
            if (y > 1 && y < h - 2 && fits)
                y++;
            if (y >= h - 2 && !fits)
                break;
            dash_put_text(w, y++, 2, wd - 3, UI_ROLE_TITLE, group[k->group >= 0 && k->group < 3 ? k->group : 2]);
            if (y >= h - 1)
                break;
        }
        int changed = k->changed_at >= 0;
        int role = changed ? UI_ROLE_WARN : UI_ROLE_TEXT;
        dash_put_text(w, y, 2, 13, role, k->name);
        char at[24] = "";
        if (changed)
            snprintf(at, sizeof at, "@%lld", (long long)k->changed_at);
        int atw = changed ? (int)strlen(at) : 0;
        int vw = (int)strlen(k->value);
        int vx = wd - 2 - atw - (atw ? 1 : 0) - vw;
        if (vx < 15)
            vx = 15;
        dash_put_text(w, y, vx, wd - 1 - vx, changed ? UI_ROLE_WARN : UI_ROLE_TEXT, k->value);
        if (changed && wd - 2 - atw > vx + vw)
            dash_put_text(w, y, wd - 1 - atw, atw, UI_ROLE_DIM, at);
        y++;
    }
    if (i < D.n_knobs)
        put_fmt(w, h - 2, 2, wd - 3, UI_ROLE_DIM, "+%d more: show params", D.n_knobs - i);
    if (D.n_knobs == 0)
        dash_put_text(w, 1, 2, wd - 3, UI_ROLE_DIM, "(no hyperparameters)");
    wnoutrefresh(w);
}

static int log_role(int kind)
{
    switch (kind) {
    case UI_LOG_ERROR: return UI_ROLE_BAD;
    case UI_LOG_BREAK: return UI_ROLE_BAD;
    case UI_LOG_EVENT: return UI_ROLE_GOOD;
    case UI_LOG_CHANGE: return UI_ROLE_WARN;
    case UI_LOG_WARN: return UI_ROLE_WARN;
    case UI_LOG_COMMAND: return UI_ROLE_PROMPT;
    case UI_LOG_INFO: return UI_ROLE_TEXT;
    default: return UI_ROLE_TEXT;
    }
}

static void draw_log(void)
{
    WINDOW *w = D.log;
    if (!w)
        return;
    int h = D.L.log.h, wd = D.L.log.w, inner = h - 2;
    werase(w);
    int max_scroll = D.log_count > inner ? D.log_count - inner : 0;
    if (D.log_scroll > max_scroll)
        D.log_scroll = max_scroll;
    char title[64];
    if (D.log_scroll > 0)
        snprintf(title, sizeof title, "events (scrolled %d up: PgDn)", D.log_scroll);
    else
        snprintf(title, sizeof title, "events");
    dash_frame(w, title, 0);
    /* newest at the bottom; long lines wrap at spaces under their text, never cut */
    int avail = wd - 2 - 7, row = inner;
    for (int i = D.log_count - 1 - D.log_scroll; i >= 0 && row > 0 && avail > 4; i--) {
        const log_line *l = &D.lines[(D.log_head + i) % LOG_CAP];
        const char *text = l->text ? l->text : "";
        int need = 0;
        size_t adv;
        for (const char *p = text; need == 0 || *p; p += adv) {
            ui_wrap_row(p, avail, &adv);
            need++;
            if (!adv)
                break;
        }
        int top = row - need;
        const char *p = text;
        for (int part = 0; part < need; part++) {
            size_t nb = ui_wrap_row(p, avail, &adv);
            int y = top + part;
            if (y >= 0) {
                if (part == 0 && l->step >= 0)
                    put_fmt(w, y + 1, 1, 7, UI_ROLE_DIM, "%6lld ", (long long)l->step);
                char chunk[4096];
                if (nb > sizeof chunk - 1)
                    nb = sizeof chunk - 1; /* a row holds at most the pane's width of code points */
                memcpy(chunk, p, nb);
                chunk[nb] = 0;
                dash_put_text(w, y + 1, 8, avail, log_role(l->kind), chunk);
            }
            p += adv;
        }
        row = top;
    }
    wnoutrefresh(w);
}

static void draw_keys(void)
{
    WINDOW *w = D.keys;
    if (!w)
        return;
    int wd = D.L.keys.w;
    fill_row(w, 0, 0, wd, UI_ROLE_STATUS);
    static const char *const k[][2] = {
        {"F1", "help"}, {"F2", "pause"}, {"F3", "step"}, {"F4", "metric"}, {"F5", "zoom"},
        {"F6", "panel"}, {"F7", "log"}, {"F8", "smooth"}, {"F9", "window"}, {"F10", "quit"},
        {"F11", "compare"},
    };
    int x = 0;
    for (size_t i = 0; i < sizeof k / sizeof k[0] && x < wd; i++) {
        const char *label = k[i][1];
        if (i == 1 && (D.st.run == UI_RUN_PAUSED || D.st.run == UI_RUN_BREAK))
            label = "resume";
        if (i == 9 && D.opt.quit_key)
            label = D.opt.quit_key;
        x += dash_put_text(w, 0, x, wd - x, UI_ROLE_SELECTION, k[i][0]);
        x += put_fmt(w, 0, x, wd - x, UI_ROLE_STATUS, " %s  ", label);
    }
    wnoutrefresh(w);
}

static int text_width(const char *s, int nbytes)
{
    int w = 0, k;
    uint32_t cp;
    const char *end = s + nbytes;
    while (s < end && (k = ui_utf8_decode(s, &cp)) > 0) {
        s += k;
        int cw = wcwidth((wchar_t)cp);
        w += cw > 0 ? cw : (cp < 32 ? 2 : 0);
    }
    return w;
}

void dash_draw_cmd(void)
{
    WINDOW *w = D.cmd;
    if (!w)
        return;
    int wd = D.L.cmd.w;
    werase(w);
    const char *prompt = rl_display_prompt ? rl_display_prompt : "";
    int pw = dash_put_text(w, 0, 0, wd, UI_ROLE_PROMPT, prompt);
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    int cur = text_width(line, rl_point);
    int avail = wd - pw - 1;
    /* scroll horizontally so that the cursor stays visible */
    int skip_cols = cur > avail ? cur - avail : 0;
    const char *p = line;
    int col = 0, k;
    uint32_t cp;
    while (col < skip_cols && (k = ui_utf8_decode(p, &cp)) > 0) {
        p += k;
        col++;
    }
    dash_put_text(w, 0, pw, avail, UI_ROLE_TEXT, p);
    wmove(w, 0, pw + cur - skip_cols);
    wnoutrefresh(w);
}

static void draw_too_small(void)
{
    werase(stdscr);
    char msg[128];
    snprintf(msg, sizeof msg, "terminal too small: %dx%d, the dashboard needs at least %dx%d", D.cols,
             D.rows, UI_MIN_COLS, UI_MIN_ROWS);
    int y = D.rows > 2 ? D.rows / 2 - 1 : 0;
    int len = (int)strlen(msg);
    int x = D.cols > len ? (D.cols - len) / 2 : 0;
    dash_put_text(stdscr, y, x, D.cols - x, UI_ROLE_WARN, msg);
    wnoutrefresh(stdscr);
}

static void draw_help(void)
{
    static const char *const lines[] = {
        "Keys",
        "  F1, ?       this help (? on an empty command line)",
        "  F2          pause / resume training",
        "  F3          one step (from a pause)",
        "  F4          cycle the metric of the selected panel",
        "  F5          zoom the selected panel / back",
        "  F6          select the next panel",
        "  F7          log scale on / off",
        "  F8          smoothing (EMA 0.9) on / off",
        "  F9          window: all steps, last 100, last 1000",
        "  F10         quit (asks when training is unsaved)",
        "  F11         compare view: the branches' curves overlaid",
        "  PgUp/PgDn   scroll the event log      Ctrl-L  redraw",
        "  Tab, Up     complete, history (readline keys work)",
        "Commands (type them below)",
        "  set NAME VALUE, get NAME, show params, train, pause, resume,",
        "  step [N], eval, break COND, snapshot NAME, rewind NAME,",
        "  save DIR, theme NAME, set ui_fps N, help [CMD], quit",
        "",
        "Press any key to close.",
    };
    int n = (int)(sizeof lines / sizeof lines[0]);
    /* F10 as the key bar has it: an attached dashboard detaches (the run goes on) */
    int detach = D.opt.quit_key && !strcmp(D.opt.quit_key, "detach");
    int h = n + 2, wd = 66;
    if (h > D.rows - 1)
        h = D.rows - 1;
    if (wd > D.cols)
        wd = D.cols;
    if (!D.help)
        D.help = newwin(h, wd, (D.rows - h) / 2, (D.cols - wd) / 2);
    if (!D.help)
        return;
    wbkgdset(D.help, ' ' | D.role_attr[UI_ROLE_TEXT] | COLOR_PAIR(D.role_pair[UI_ROLE_TEXT]));
    werase(D.help);
    dash_frame(D.help, "smartty dashboard: help", 0);
    for (int i = 0; i < n && i < h - 2; i++) {
        const char *l = detach && !strncmp(lines[i], "  F10 ", 6) ? "  F10         detach (the run goes on)" : lines[i];
        dash_put_text(D.help, i + 1, 2, wd - 4, l[0] == ' ' || !l[0] ? UI_ROLE_TEXT : UI_ROLE_TITLE, l);
    }
    wnoutrefresh(D.help);
}

void dash_draw_frame(void)
{
    if (D.dirty_all) {
        D.dirty_hdr = D.dirty_panels = D.dirty_knobs = D.dirty_log = D.dirty_cmd = 1;
        if (D.L.too_small)
            draw_too_small();
    }
    if (!D.L.too_small) {
        if (D.dirty_hdr)
            draw_header();
        if (D.dirty_panels)
            for (int i = 0; i < D.L.n_panels; i++)
                draw_panel(i);
        if (D.dirty_knobs)
            draw_knobs();
        if (D.dirty_log)
            draw_log();
        if (D.dirty_all || D.dirty_hdr)
            draw_keys();
        if (D.show_help)
            draw_help();
    }
    dash_draw_cmd();
    doupdate();
    D.dirty_hdr = D.dirty_panels = D.dirty_knobs = D.dirty_log = D.dirty_cmd = D.dirty_all = 0;
}

/* ---- themes ---- */

sm_status ui_dash_theme(const char *name, sm_error *e)
{
    ui_theme t;
    char path[4096];
    sm_status st = ui_theme_load(name, D.theme_dirs, &t, path, sizeof path, e);
    if (st)
        return st;
    D.theme = t;
    if (D.active) {
        dash_apply_theme();
        dash_relayout();
    }
    return SM_OK;
}

