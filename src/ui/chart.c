/* chart.c: the line-chart renderer. Points are averaged per dot column and consecutive columns are
 * joined with straight lines. The x scale uses power-of-two steps per dot so that, while a run grows,
 * old columns stay where they were and only the newest changes (cheap to redraw over SSH).
 * It does not know where the numbers come from nor how cells reach the screen. */
#include "ui/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t braille_bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};

uint32_t ui_marker_glyph(int kind, int ascii)
{
    switch (kind) {
    case UI_MARK_SNAPSHOT: return ascii ? 's' : 0x25CF; /* ● */
    case UI_MARK_REWIND: return ascii ? '<' : 0x25C0;   /* ◀ */
    default: return ascii ? '^' : 0x25B2;               /* ▲ */
    }
}

static int marker_role(int kind)
{
    return kind == UI_MARK_SNAPSHOT ? UI_ROLE_GOOD : kind == UI_MARK_REWIND ? UI_ROLE_BAD : UI_ROLE_WARN;
}

void ui_format_value(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, cap, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (a != 0 && (a >= 1e5 || a < 1e-3))
        snprintf(buf, cap, "%.1e", v);
    else
        snprintf(buf, cap, "%.3g", v);
}

/* A "nice" step (1, 2 or 5 times a power of ten) near raw. */
static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw))
        return 1.0;
    double p = pow(10.0, floor(log10(raw)));
    double f = raw / p;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * p;
}

static void note(ui_canvas *c, const char *msg)
{
    ui_canvas_text(c, c->h / 2, 0, msg, UI_ROLE_DIM);
}

/* Dots of the plot area: bits per cell and the role of the last series that set one. */
typedef struct dots {
    int gx, gy;       /* dots per cell */
    int w, h;         /* cells */
    uint8_t *bits;    /* [h][w] */
    uint8_t *role;    /* [h][w] */
    ui_glyphs glyphs;
} dots;

static void dot_set(dots *d, int px, int py, int role) /* py: 0 = top */
{
    if (px < 0 || py < 0 || px >= d->w * d->gx || py >= d->h * d->gy)
        return;
    int cx = px / d->gx, cy = py / d->gy, sx = px % d->gx, sy = py % d->gy;
    uint8_t bit = d->glyphs == UI_GLYPHS_BRAILLE ? braille_bit[sy][sx] : (uint8_t)(1u << sy);
    d->bits[cy * d->w + cx] |= bit;
    d->role[cy * d->w + cx] = (uint8_t)role;
}

static void dot_line(dots *d, int x0, int y0, int x1, int y1, int role)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        dot_set(d, x0, y0, role);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static uint32_t cell_glyph(ui_glyphs g, uint8_t bits)
{
    if (!bits)
        return ' ';
    switch (g) {
    case UI_GLYPHS_BRAILLE: return 0x2800u | bits;
    case UI_GLYPHS_BLOCK: return bits == 1 ? 0x2580 : bits == 2 ? 0x2584 : 0x2588; /* ▀ ▄ █ */
    default: return bits == 1 ? '\'' : bits == 2 ? '-' : bits == 4 ? '_' : '|';
    }
}

static double transform(double v, int log_y)
{
    if (!isfinite(v))
        return NAN;
    if (log_y)
        return v > 0 ? log10(v) : NAN;
    return v;
}

/* EMA-smoothed copy of s->y (non-finite values are passed through as gaps). */
static double *smooth(const ui_series *s, double ema)
{
    double *out = malloc((s->n ? s->n : 1) * sizeof *out);
    if (!out)
        return NULL;
    double acc = NAN;
    for (size_t i = 0; i < s->n; i++) {
        double v = s->y[i];
        if (!isfinite(v) || ema <= 0) {
            out[i] = v;
            continue;
        }
        acc = isfinite(acc) ? ema * acc + (1.0 - ema) * v : v;
        out[i] = acc;
    }
    return out;
}

static double xs(const ui_series *s, size_t i) { return s->x ? s->x[i] : (double)(i + 1); }

int ui_chart_render(ui_canvas *c, const ui_series *series, size_t n_series, const ui_chart_opts *o,
                    ui_chart_info *info)
{
    ui_chart_opts dflt;
    memset(&dflt, 0, sizeof dflt);
    if (!o)
        o = &dflt;
    ui_chart_info inf;
    memset(&inf, 0, sizeof inf);
    if (info)
        *info = inf;
    ui_canvas_clear(c);
    int ascii = o->glyphs == UI_GLYPHS_ASCII;
    double ema = o->ema > 0 && o->ema < 1 ? o->ema : 0;

    /* x extent over all series */
    double x_first = INFINITY, x_last = -INFINITY;
    for (size_t k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = xs(&series[k], i);
            if (isfinite(x) && isfinite(transform(series[k].y[i], o->log_y))) {
                x_first = fmin(x_first, x);
                x_last = fmax(x_last, x);
            }
        }
    if (c->h < 4 || c->w < 16) {
        note(c, "(small)");
        return -1;
    }
    if (!(x_first <= x_last)) {
        note(c, o->log_y ? "  no positive data yet" : "  no data yet");
        return 0;
    }
    double *sm[8] = {0};
    if (n_series > 8)
        n_series = 8;
    for (size_t k = 0; k < n_series; k++)
        if (!(sm[k] = smooth(&series[k], ema))) {
            for (size_t j = 0; j < k; j++)
                free(sm[j]);
            note(c, "(out of memory)");
            return -1;
        }

    dots d;
    d.glyphs = o->glyphs;
    d.gx = o->glyphs == UI_GLYPHS_BRAILLE ? 2 : 1;
    d.gy = o->glyphs == UI_GLYPHS_BRAILLE ? 4 : o->glyphs == UI_GLYPHS_BLOCK ? 2 : 3;

    /* x window and scale: cols*gx dot columns, each `per` steps, per a power of two >= 1 */
    double x_lo = x_first;
    if (o->window <= 0 && o->x_from > 0 && o->x_from < x_first)
        x_lo = o->x_from;
    if (o->window > 0 && x_last - o->window + 1 > x_lo)
        x_lo = x_last - o->window + 1;
    double span = x_last - x_lo + 1;

    /* y range of the visible points: decided before the label width, which depends on it */
    double y_min = INFINITY, y_max = -INFINITY;
    for (size_t k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = xs(&series[k], i), y = transform(sm[k][i], o->log_y);
            if (x >= x_lo && isfinite(y)) {
                y_min = fmin(y_min, y);
                y_max = fmax(y_max, y);
            }
        }
    if (y_min == y_max) {
        double pad = fabs(y_min) > 0 ? fabs(y_min) * 0.1 : 1.0;
        y_min -= pad;
        y_max += pad;
    }
    int ph = c->h - 2;
    double ystep = nice_step((y_max - y_min) / (ph > 4 ? 4 : 2));
    double y_lo = floor(y_min / ystep + 1e-9) * ystep, y_hi = ceil(y_max / ystep - 1e-9) * ystep;
    if (y_hi <= y_lo)
        y_hi = y_lo + ystep;

    char lab[3][32];
    double lv[3] = {y_hi, (y_lo + y_hi) / 2, y_lo};
    int lw = o->label_w > 0 && o->label_w < c->w / 3 ? o->label_w : 1;
    for (int i = 0; i < 3; i++) {
        ui_format_value(o->log_y ? pow(10.0, lv[i]) : lv[i], lab[i], sizeof lab[i]);
        int n = (int)strlen(lab[i]);
        lw = n > lw ? n : lw;
    }
    int pw = c->w - lw - 1;
    d.w = pw;
    d.h = ph;
    double per = 1;
    while (per * pw * d.gx < span)
        per *= 2;
    if (o->window > 0) /* align so the view moves in whole dot columns */
        x_lo = floor((x_last - o->window + 1) / per) * per;
    if (o->window > 0 && x_lo < x_first)
        x_lo = x_first;

    d.bits = calloc((size_t)pw * (size_t)ph, 1);
    d.role = calloc((size_t)pw * (size_t)ph, 1);
    if (!d.bits || !d.role) {
        free(d.bits);
        free(d.role);
        for (size_t k = 0; k < n_series; k++)
            free(sm[k]);
        note(c, "(out of memory)");
        return -1;
    }

    int dots_x = pw * d.gx, dots_y = ph * d.gy;
    int points = 0;
    for (size_t k = 0; k < n_series; k++) {
        int prev_x = -1, prev_y = -1;
        double acc = 0;
        int cnt = 0, cur = -1;
        for (size_t i = 0; i <= series[k].n; i++) {
            int col = -1;
            double y = NAN;
            if (i < series[k].n) {
                double x = xs(&series[k], i);
                y = transform(sm[k][i], o->log_y);
                if (x < x_lo || !isfinite(y))
                    continue;
                col = (int)floor((x - x_lo) / per);
                if (col >= dots_x)
                    col = dots_x - 1;
            }
            if (col != cur && cnt > 0) { /* flush the finished column */
                double m = acc / cnt;
                int py = (int)lrint((y_hi - m) / (y_hi - y_lo) * (dots_y - 1));
                if (prev_x >= 0)
                    dot_line(&d, prev_x, prev_y, cur, py, series[k].role);
                else
                    dot_set(&d, cur, py, series[k].role);
                prev_x = cur;
                prev_y = py;
                acc = 0;
                cnt = 0;
            }
            if (i == series[k].n)
                break;
            cur = col;
            acc += y;
            cnt++;
            points++;
        }
    }

    /* compose: labels, axis, plot cells, markers */
    uint32_t vbar = ascii ? '|' : 0x2502, hbar = ascii ? '-' : 0x2500, corner = ascii ? '+' : 0x2514;
    int px0 = lw + 1;
    for (int r = 0; r < ph; r++) {
        ui_cell *a = ui_canvas_at(c, r, lw);
        a->ch = vbar;
        a->role = UI_ROLE_BORDER;
    }
    int lrow[3] = {0, (ph - 1) / 2, ph - 1};
    for (int i = 0; i < 3; i++)
        ui_canvas_text(c, lrow[i], lw - (int)strlen(lab[i]), lab[i], UI_ROLE_DIM);
    ui_cell *cn = ui_canvas_at(c, ph, lw);
    cn->ch = corner;
    cn->role = UI_ROLE_BORDER;
    for (int x = px0; x < c->w; x++) {
        ui_cell *a = ui_canvas_at(c, ph, x);
        a->ch = hbar;
        a->role = UI_ROLE_BORDER;
    }
    for (int r = 0; r < ph; r++)
        for (int x = 0; x < pw; x++) {
            uint8_t b = d.bits[r * pw + x];
            if (!b)
                continue;
            ui_cell *cell = ui_canvas_at(c, r, px0 + x);
            cell->ch = cell_glyph(o->glyphs, b);
            cell->role = d.role[r * pw + x];
        }
    double x_per_col = per * d.gx;
    for (size_t m = 0; m < o->n_markers; m++) {
        double x = o->markers[m].x;
        if (!(x >= x_lo) || x >= x_lo + x_per_col * pw)
            continue;
        int col = px0 + (int)floor((x - x_lo) / x_per_col);
        ui_cell *a = ui_canvas_at(c, ph, col);
        a->ch = ui_marker_glyph(o->markers[m].kind, ascii);
        a->role = (uint8_t)marker_role(o->markers[m].kind);
        for (int r = 0; r < ph; r++) {
            ui_cell *p = ui_canvas_at(c, r, col);
            if (p->ch == ' ') {
                p->ch = ascii ? ':' : 0x250A; /* ┊ */
                p->role = UI_ROLE_DIM;
            }
        }
    }
    /* step labels under the axis: first and last step of the view */
    char xl[32], xr[32];
    snprintf(xl, sizeof xl, "%.0f", x_lo);
    snprintf(xr, sizeof xr, "%.0f", x_lo + x_per_col * pw - 1);
    ui_canvas_text(c, ph + 1, px0, xl, UI_ROLE_DIM);
    int xrw = (int)strlen(xr);
    if (px0 + (int)strlen(xl) + 1 < c->w - xrw)
        ui_canvas_text(c, ph + 1, c->w - xrw, xr, UI_ROLE_DIM);

    inf.plot_x = px0;
    inf.plot_y = 0;
    inf.plot_w = pw;
    inf.plot_h = ph;
    inf.axis_row = ph;
    inf.x_lo = x_lo;
    inf.x_per_col = x_per_col;
    inf.y_lo = y_lo;
    inf.y_hi = y_hi;
    inf.points = points;
    if (info)
        *info = inf;
    free(d.bits);
    free(d.role);
    for (size_t k = 0; k < n_series; k++)
        free(sm[k]);
    return 0;
}
