/* check_ui.c: tests of the dashboard's pure pieces, without a terminal: the layout at many sizes,
 * the chart renderer (braille, block and ASCII output into a cell buffer), the theme parser (good
 * files, each kind of bad line, colour degradation, the search path), and the demo's data and model
 * (the labelling rules, determinism, the committed files, loading and tokenizing them). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/data.h"
#include "smartty/tokenizer.h"
#include "testutil.h"
#include "ui/chart.h"
#include "cli/demo_data.h"
#include "smartty/model_config.h"
#include "smartty/hf.h"
#include "smartty/model.h"
#include "ui/events.h"
#include "ui/layout.h"
#include "ui/source.h"
#include "ui/text.h"
#include "ui/theme.h"

/* ---- layout ---- */

static void check_layout_size(int rows, int cols)
{
    ui_layout L;
    ck_assert_int_eq(ui_layout_compute(rows, cols, 0, &L), 0);
    ck_assert_int_eq(L.too_small, 0);
    ui_rect all[UI_MAX_PANELS + 5];
    int n = 0;
    all[n++] = L.header;
    all[n++] = L.knobs;
    all[n++] = L.log;
    all[n++] = L.cmd;
    all[n++] = L.keys;
    ck_assert_int_ge(L.n_panels, 1);
    for (int i = 0; i < L.n_panels; i++)
        all[n++] = L.panels[i];
    /* every pane present (keys only from 20 rows), inside the screen, no overlap, no gap */
    for (int i = 0; i < n; i++) {
        if (i == 4 && rows < 20)
            continue;
        ck_assert_msg(all[i].h > 0 && all[i].w > 0, "%dx%d: pane %d absent", rows, cols, i);
        ck_assert(all[i].y >= 0 && all[i].x >= 0);
        ck_assert_msg(all[i].y + all[i].h <= rows && all[i].x + all[i].w <= cols,
                      "%dx%d: pane %d outside", rows, cols, i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(!ui_rect_overlap(all[i], all[j]), "%dx%d: panes %d and %d overlap",
                          rows, cols, i, j);
    }
    long area = 0;
    for (int i = 0; i < n; i++)
        area += (long)all[i].h * all[i].w;
    ck_assert_int_eq(area, (long)rows * cols);
    ck_assert_int_eq(L.cmd.y, rows - 1);
    ck_assert_int_eq(L.header.y, 0);
    /* panels are big enough to hold a chart with labels */
    for (int i = 0; i < L.n_panels; i++)
        ck_assert(L.panels[i].h >= 6 && L.panels[i].w >= 24);
}

START_TEST(test_layout_sizes)
{
    static const int sizes[][2] = {{16, 60}, {24, 80}, {25, 80}, {30, 100}, {40, 120},
                                   {50, 132}, {60, 200}, {100, 300}, {19, 61}, {20, 79}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_layout_size(sizes[i][0], sizes[i][1]);
}
END_TEST

START_TEST(test_layout_too_small)
{
    ui_layout L;
    ck_assert_int_eq(ui_layout_compute(24, 59, 0, &L), -1);
    ck_assert_int_eq(L.too_small, 1);
    ck_assert_int_eq(L.cmd.y, 23);
    ck_assert_int_eq(ui_layout_compute(15, 80, 0, &L), -1);
    ck_assert_int_eq(L.too_small, 1);
    ck_assert_int_eq(L.n_panels, 0);
    ck_assert_int_eq(ui_layout_compute(0, 0, 0, &L), -1);
}
END_TEST

START_TEST(test_layout_panels)
{
    ui_layout L;
    ck_assert_int_eq(ui_layout_compute(40, 120, 0, &L), 0);
    ck_assert_int_eq(L.n_panels, 4);
    /* the knob panel holds all 28 hyperparameters and three group headings inside its box */
    ck_assert_int_ge(L.knobs.h - 2, 31);
    ck_assert_int_eq(ui_layout_compute(40, 120, 1, &L), 0);
    ck_assert_int_eq(L.n_panels, 1);
    ck_assert_int_ge(L.panels[0].w, 80);
    ck_assert_int_eq(ui_layout_compute(24, 80, 0, &L), 0);
    ck_assert_int_eq(L.n_panels, 1);
    ck_assert_int_ge(L.log.h, 4);
}
END_TEST

/* ---- chart ---- */

typedef struct fixture {
    ui_canvas c;
    double x[2000], y[2000];
} fixture;

static fixture *fx_new(int w, int h)
{
    fixture *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ui_canvas_init(&f->c, w, h), 0);
    return f;
}

static void fx_free(fixture *f)
{
    ui_canvas_free(&f->c);
    free(f);
}

static int is_braille(uint32_t ch) { return ch >= 0x2800 && ch <= 0x28FF; }

static int row_has_text(ui_canvas *c, int row, const char *s)
{
    char line[1024];
    int n = 0;
    for (int x = 0; x < c->w && n < 1000; x++)
        n += ui_utf8_encode(ui_canvas_at(c, row, x)->ch, line + n);
    line[n] = 0;
    return strstr(line, s) != NULL;
}

START_TEST(test_chart_constant_is_flat)
{
    fixture *f = fx_new(40, 12);
    for (int i = 0; i < 60; i++)
        f->y[i] = 2.5;
    ui_series s = {NULL, f->y, 60, UI_ROLE_CURVE1};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, NULL, &info), 0);
    ck_assert_int_eq(info.plot_h, 10);
    ck_assert_int_eq(info.points, 60);
    int row = -1;
    for (int r = 0; r < info.plot_h; r++)
        for (int x = info.plot_x; x < info.plot_x + info.plot_w; x++) {
            ui_cell *cell = ui_canvas_at(&f->c, r, x);
            if (cell->ch == ' ')
                continue;
            ck_assert(is_braille(cell->ch));
            ck_assert_int_eq(cell->role, UI_ROLE_CURVE1);
            if (row < 0)
                row = r;
            ck_assert_int_eq(r, row); /* all dots on one row */
        }
    /* the range is centred on the value: the line sits in the middle rows */
    ck_assert(row == 4 || row == 5);
    /* 60 steps at 2 steps a cell (per = 1): cells 0..29 of the plot are drawn, 30.. are empty */
    for (int x = 0; x < 30; x++)
        ck_assert(is_braille(ui_canvas_at(&f->c, row, info.plot_x + x)->ch));
    ck_assert_int_eq(ui_canvas_at(&f->c, row, info.plot_x + 30)->ch, ' ');
    fx_free(f);
}
END_TEST

START_TEST(test_chart_extremes_and_labels)
{
    fixture *f = fx_new(50, 10);
    for (int i = 0; i < 11; i++)
        f->y[i] = i; /* 0, 1, ..., 10 */
    ui_series s = {NULL, f->y, 11, UI_ROLE_CURVE2};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, NULL, &info), 0);
    ck_assert(info.y_lo == 0.0 && info.y_hi == 10.0);
    /* first point (0) in the bottom plot row, last (10) in the top row */
    ck_assert(is_braille(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x)->ch));
    ck_assert(is_braille(ui_canvas_at(&f->c, 0, info.plot_x + 5)->ch)); /* step 11 -> cell 5 */
    ck_assert_int_eq(ui_canvas_at(&f->c, 0, info.plot_x)->ch, ' ');
    /* the lowest dot of the bottom-left cell is its bottom-left dot (braille bit 0x40) */
    ck_assert(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x)->ch & 0x40);
    ck_assert(row_has_text(&f->c, 0, "10"));
    ck_assert(row_has_text(&f->c, info.plot_h - 1, "0"));
    /* the time axis and its first step label */
    ck_assert_int_eq(ui_canvas_at(&f->c, info.axis_row, info.plot_x)->ch, 0x2500);
    ck_assert(row_has_text(&f->c, info.axis_row + 1, "1"));
    fx_free(f);
}
END_TEST

START_TEST(test_chart_marker_column)
{
    fixture *f = fx_new(70, 10);
    for (int i = 0; i < 100; i++)
        f->y[i] = (double)(i % 7);
    ui_series s = {NULL, f->y, 100, UI_ROLE_CURVE1};
    ui_marker m[2] = {{50, UI_MARK_CHANGE}, {80, UI_MARK_SNAPSHOT}};
    ui_chart_opts o = {UI_GLYPHS_BRAILLE, 0, 0, 0, m, 2, 0, 0};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    ck_assert_int_ge(info.plot_w, 50); /* 100 steps fit at one step a dot, two a cell */
    /* step 50 is the 50th step: dot column 49, cell 24; step 80: dot 79, cell 39 */
    ui_cell *a = ui_canvas_at(&f->c, info.axis_row, info.plot_x + 24);
    ck_assert_uint_eq(a->ch, ui_marker_glyph(UI_MARK_CHANGE, 0));
    ck_assert_int_eq(a->role, UI_ROLE_WARN);
    ck_assert_uint_eq(ui_canvas_at(&f->c, info.axis_row, info.plot_x + 39)->ch,
                      ui_marker_glyph(UI_MARK_SNAPSHOT, 0));
    int count = 0;
    for (int x = 0; x < f->c.w; x++)
        count += ui_canvas_at(&f->c, info.axis_row, x)->ch == ui_marker_glyph(UI_MARK_CHANGE, 0);
    ck_assert_int_eq(count, 1);
    fx_free(f);
}
END_TEST

START_TEST(test_chart_ascii_only)
{
    fixture *f = fx_new(60, 12);
    for (int i = 0; i < 300; i++) {
        f->x[i] = i + 1;
        f->y[i] = 2.0 / (1.0 + i * 0.05) + 0.1 * ((i * 7919) % 13) / 13.0;
    }
    f->y[100] = NAN;
    ui_series s = {f->x, f->y, 300, UI_ROLE_CURVE1};
    ui_marker m = {120, UI_MARK_REWIND};
    ui_chart_opts o = {UI_GLYPHS_ASCII, 0, 0.5, 0, &m, 1, 0, 0};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    int marks = 0, drawn = 0;
    for (int y = 0; y < f->c.h; y++)
        for (int x = 0; x < f->c.w; x++) {
            uint32_t ch = ui_canvas_at(&f->c, y, x)->ch;
            ck_assert_msg(ch >= 32 && ch < 127, "non-ASCII U+%04X at %d,%d", ch, y, x);
            marks += ch == '<';
            drawn += y < info.plot_h && x >= info.plot_x && ch != ' ' && ch != ':';
        }
    ck_assert_int_eq(marks, 1);
    ck_assert_int_ge(drawn, info.plot_w / 2);
    fx_free(f);
}
END_TEST

START_TEST(test_chart_block_glyphs)
{
    fixture *f = fx_new(30, 8);
    for (int i = 0; i < 20; i++)
        f->y[i] = i < 10 ? 0 : 1;
    ui_series s = {NULL, f->y, 20, UI_ROLE_CURVE3};
    ui_chart_opts o = {UI_GLYPHS_BLOCK, 0, 0, 0, NULL, 0, 0, 0};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    for (int y = 0; y < info.plot_h; y++)
        for (int x = info.plot_x; x < f->c.w; x++) {
            uint32_t ch = ui_canvas_at(&f->c, y, x)->ch;
            ck_assert(ch == ' ' || ch == 0x2580 || ch == 0x2584 || ch == 0x2588);
        }
    /* ten 0s then ten 1s, a step a cell: the lower half of the bottom cell, then the upper half of
     * the top cell */
    ck_assert_uint_eq(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x)->ch, 0x2584);
    ck_assert_uint_eq(ui_canvas_at(&f->c, 0, info.plot_x + 15)->ch, 0x2580);
    fx_free(f);
}
END_TEST

START_TEST(test_chart_log_scale)
{
    fixture *f = fx_new(40, 10);
    double v[4] = {1, 10, 100, 1000};
    for (int i = 0; i < 4; i++)
        f->y[i] = v[i];
    f->y[4] = 0; /* not drawable in log scale: a gap */
    ui_series s = {NULL, f->y, 5, UI_ROLE_CURVE1};
    ui_chart_opts o = {UI_GLYPHS_BRAILLE, 1, 0, 0, NULL, 0, 0, 0};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    ck_assert_int_eq(info.points, 4);
    ck_assert(tu_close(info.y_lo, 0.0, 1e-12) && tu_close(info.y_hi, 3.0, 1e-12));
    ck_assert(row_has_text(&f->c, 0, "1e+03"));
    ck_assert(row_has_text(&f->c, info.plot_h - 1, "1"));
    fx_free(f);
}
END_TEST

START_TEST(test_chart_ema_and_window)
{
    fixture *f = fx_new(70, 10);
    for (int i = 0; i < 100; i++)
        f->y[i] = i < 50 ? 0.0 : 10.0;
    ui_series s = {NULL, f->y, 100, UI_ROLE_CURVE1};
    ui_chart_info info;
    /* raw: step 53 (cell 26) is already at the top */
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, NULL, &info), 0);
    ck_assert(is_braille(ui_canvas_at(&f->c, 0, info.plot_x + 26)->ch));
    /* smoothed with weight 0.9: after 3 steps the curve is at 10*(1-0.9^3) = 2.7, far from the top */
    ui_chart_opts o = {UI_GLYPHS_BRAILLE, 0, 0.9, 0, NULL, 0, 0, 0};
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    ck_assert_int_eq(ui_canvas_at(&f->c, 0, info.plot_x + 26)->ch, ' ');
    /* window: the last 20 of 1000 steps */
    for (int i = 0; i < 1000; i++)
        f->y[i] = i;
    s.n = 1000;
    ui_chart_opts w = {UI_GLYPHS_BRAILLE, 0, 0, 20, NULL, 0, 0, 0};
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &w, &info), 0);
    ck_assert(info.x_lo >= 981 - 1 && info.x_lo <= 981);
    ck_assert_int_le(info.points, 21);
    ck_assert(info.y_lo >= 900);
    fx_free(f);
}
END_TEST

START_TEST(test_chart_empty_and_tiny)
{
    fixture *f = fx_new(40, 10);
    ui_series s = {NULL, f->y, 0, UI_ROLE_CURVE1};
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, NULL, NULL), 0);
    ck_assert(row_has_text(&f->c, 5, "no data"));
    f->y[0] = NAN;
    s.n = 1;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, NULL, NULL), 0);
    fx_free(f);
    f = fx_new(10, 3);
    f->y[0] = 1;
    ui_series one = {NULL, f->y, 1, UI_ROLE_CURVE1};
    ck_assert_int_eq(ui_chart_render(&f->c, &one, 1, NULL, NULL), -1);
    fx_free(f);
}
END_TEST

START_TEST(test_chart_x_from)
{
    fixture *f = fx_new(60, 10);
    double x[3] = {25, 50, 75}, y[3] = {0.5, 0.7, 0.9};
    ui_series s = {x, y, 3, UI_ROLE_CURVE3};
    ui_chart_opts o = {UI_GLYPHS_BRAILLE, 0, 0, 0, NULL, 0, 1, 7};
    ck_assert_int_eq(o.label_w, 7);
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, &s, 1, &o, &info), 0);
    ck_assert(info.x_lo == 1.0);
    ck_assert_int_eq(info.plot_x, 8); /* labels padded to 7 columns, then the axis */
    /* step 25 is the 25th step from 1: dot column 24, cell 12 */
    ck_assert_int_eq(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x + 11)->ch, ' ');
    ck_assert(is_braille(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x + 12)->ch));
    fx_free(f);
}
END_TEST

START_TEST(test_chart_two_series_roles)
{
    fixture *f = fx_new(50, 10);
    double a[30], b[30];
    for (int i = 0; i < 30; i++) {
        a[i] = 10;
        b[i] = 0;
    }
    ui_series s[2] = {{NULL, a, 30, UI_ROLE_CURVE1}, {NULL, b, 30, UI_ROLE_CURVE2}};
    ui_chart_info info;
    ck_assert_int_eq(ui_chart_render(&f->c, s, 2, NULL, &info), 0);
    ck_assert_int_eq(ui_canvas_at(&f->c, 0, info.plot_x + 3)->role, UI_ROLE_CURVE1);
    ck_assert_int_eq(ui_canvas_at(&f->c, info.plot_h - 1, info.plot_x + 3)->role, UI_ROLE_CURVE2);
    fx_free(f);
}
END_TEST

/* ---- themes ---- */

START_TEST(test_theme_good)
{
    const char *text = "# a comment line\n"
                       "\n"
                       "  title = bold cyan on default   # trailing comment\n"
                       "curve1 = #5fafff\n"
                       "STATUS = 15 on 236\r\n"
                       "warn = underline bright-yellow\n"
                       "bad = brightred on #000000\n"
                       "text = grey";
    ui_theme t;
    sm_error e;
    ck_assert_int_eq(ui_theme_parse(text, "t.theme", "t", &t, &e), SM_OK);
    ck_assert_str_eq(t.name, "t");
    ck_assert_int_eq(t.role[UI_ROLE_TITLE].attrs, UI_ATTR_BOLD);
    ck_assert_int_eq(t.role[UI_ROLE_TITLE].fg.kind, UI_COLOR_INDEX);
    ck_assert_int_eq(t.role[UI_ROLE_TITLE].fg.value, 6);
    ck_assert_int_eq(t.role[UI_ROLE_TITLE].bg.kind, UI_COLOR_DEFAULT);
    ck_assert_int_eq(t.role[UI_ROLE_CURVE1].fg.kind, UI_COLOR_RGB);
    ck_assert_int_eq(t.role[UI_ROLE_CURVE1].fg.value, 0x5fafff);
    ck_assert_int_eq(t.role[UI_ROLE_STATUS].fg.value, 15);
    ck_assert_int_eq(t.role[UI_ROLE_STATUS].bg.kind, UI_COLOR_INDEX);
    ck_assert_int_eq(t.role[UI_ROLE_STATUS].bg.value, 236);
    ck_assert_int_eq(t.role[UI_ROLE_WARN].attrs, UI_ATTR_UNDERLINE);
    ck_assert_int_eq(t.role[UI_ROLE_WARN].fg.value, 11);
    ck_assert_int_eq(t.role[UI_ROLE_BAD].fg.value, 9);
    ck_assert_int_eq(t.role[UI_ROLE_BAD].bg.kind, UI_COLOR_RGB);
    ck_assert_int_eq(t.role[UI_ROLE_BAD].bg.value, 0);
    ck_assert_int_eq(t.role[UI_ROLE_TEXT].fg.value, 8);
    /* roles the file leaves out take the text style */
    ck_assert(!memcmp(&t.role[UI_ROLE_PROMPT], &t.role[UI_ROLE_TEXT], sizeof(ui_style)));
    /* the built-in theme parses and differs from an empty file */
    ui_theme b;
    ui_theme_builtin(&b);
    ck_assert_str_eq(b.name, "default");
    ck_assert_int_eq(b.role[UI_ROLE_TITLE].attrs, UI_ATTR_BOLD);
    ck_assert_int_eq(b.role[UI_ROLE_SELECTION].bg.value, 6);
}
END_TEST

typedef struct bad_case {
    const char *text;
    int line;
    const char *needle;
} bad_case;

START_TEST(test_theme_bad_lines)
{
    static const bad_case cases[] = {
        {"text = default\ntitle bold\n", 2, "no '='"},
        {"titel = bold\n", 1, "unknown role 'titel'"},
        {"text = default\n\n= red\n", 3, "missing role name"},
        {"title =   # nothing\n", 1, "no style"},
        {"title = cyna\n", 1, "unknown colour or attribute 'cyna'"},
        {"good = 256\n", 1, "out of range 0-255"},
        {"good = 12x\n", 1, "bad colour number"},
        {"good = #12345\n", 1, "#rrggbb"},
        {"good = #12345g\n", 1, "#rrggbb"},
        {"good = green on\n", 1, "background colour"},
        {"good = green on bold\n", 1, "background colour"},
        {"good = green on black red\n", 1, "after the background"},
        {"good = green red\n", 1, "second foreground"},
        {"good = green\ndim = 244\ngood = red\n", 3, "set twice (first on line 1)"},
        /* a long word after "bright" (no dash): the dash inserted used to write past the buffer */
        {"text = brightxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 1,
         "unknown colour or attribute 'brightxxxx"},
        {"text = brightxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 1,
         "unknown colour or attribute 'brightxxxx"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ui_theme t, before;
        memset(&t, 0x5a, sizeof t);
        before = t;
        sm_error e;
        sm_error_clear(&e);
        ck_assert_int_eq(ui_theme_parse(cases[i].text, "my.theme", "my", &t, &e), SM_ERR_FORMAT);
        char where[32];
        snprintf(where, sizeof where, "my.theme:%d:", cases[i].line);
        ck_assert_msg(strstr(e.msg, where), "case %zu: '%s' lacks %s", i, e.msg, where);
        ck_assert_msg(strstr(e.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, e.msg,
                      cases[i].needle);
        ck_assert_msg(!memcmp(&t, &before, sizeof t), "case %zu: the theme was modified", i);
    }
}
END_TEST

START_TEST(test_theme_shipped_files)
{
    const char *src = tu_srcdir();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/themes", src);
    const char *dirs[] = {dir, NULL};
    char names[16][64];
    size_t n = ui_theme_list(dirs, names, 16);
    ck_assert_int_ge(n, 4);
    static const char *const need[] = {"default", "light", "mono", "high-contrast"};
    for (size_t k = 0; k < 4; k++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= !strcmp(names[i], need[k]);
        ck_assert_msg(found, "themes/%s.theme is missing", need[k]);
    }
    for (size_t i = 0; i < n; i++) {
        ui_theme t;
        sm_error e;
        char path[2048];
        ck_assert_msg(ui_theme_load(names[i], dirs, &t, path, sizeof path, &e) == SM_OK, "%s",
                      e.msg);
        ck_assert_str_eq(t.name, names[i]);
    }
    /* the built-in theme is themes/default.theme */
    ui_theme b, d;
    sm_error e;
    ui_theme_builtin(&b);
    ck_assert_int_eq(ui_theme_load("default", dirs, &d, NULL, 0, &e), SM_OK);
    ck_assert(!memcmp(b.role, d.role, sizeof b.role));
    /* mono uses no colour at all */
    ck_assert_int_eq(ui_theme_load("mono", dirs, &d, NULL, 0, &e), SM_OK);
    for (int r = 0; r < UI_ROLE_COUNT; r++)
        ck_assert(d.role[r].fg.kind == UI_COLOR_DEFAULT && d.role[r].bg.kind == UI_COLOR_DEFAULT);
}
END_TEST

START_TEST(test_theme_search_path)
{
    char tmpl[256];
    tu_mkdtemp(tmpl, sizeof tmpl, "smartty-theme");
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/ok.theme", tmpl);
    snprintf(p2, sizeof p2, "%s/broken.theme", tmpl);
    sm_error e;
    ck_assert_int_eq(sm_write_file_atomic(p1, "title = red\n", 12, &e), SM_OK);
    ck_assert_int_eq(sm_write_file_atomic(p2, "title = red\nborder = blu\n", 25, &e), SM_OK);
    const char *dirs[] = {"/nonexistent-dir", tmpl, NULL};
    ui_theme t;
    ui_theme_builtin(&t);
    ui_theme keep = t;
    char used[512];
    ck_assert_int_eq(ui_theme_load("broken", dirs, &t, used, sizeof used, &e), SM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "broken.theme:2:10: unknown colour or attribute 'blu'"), "%s", e.msg);
    ck_assert(!memcmp(&t, &keep, sizeof t)); /* the current theme stays */
    ck_assert_int_eq(ui_theme_load("ok", dirs, &t, used, sizeof used, &e), SM_OK);
    ck_assert_str_eq(used, p1);
    ck_assert_int_eq(t.role[UI_ROLE_TITLE].fg.value, 1);
    ck_assert_int_eq(ui_theme_load("nope", dirs, &t, NULL, 0, &e), SM_ERR_NOTFOUND);
    ck_assert_int_eq(ui_theme_load("", dirs, &t, NULL, 0, &e), SM_ERR_INVALID); /* `theme ''` said theme: twice */
    ck_assert_msg(!strncmp(e.msg, "the theme name is empty", 23), "%s", e.msg);
    char longname[400]; /* refused whole, never looked up cut to 293 bytes (issue 13) */
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(ui_theme_load(longname, dirs, &t, NULL, 0, &e), SM_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "399 bytes long") != NULL, "%s", e.msg);
    ck_assert_int_eq(ui_theme_load(p1, NULL, &t, NULL, 0, &e), SM_OK); /* a path works too */
    char names[8][64];
    ck_assert_int_eq(ui_theme_list(dirs, names, 8), 2);
    ck_assert_str_eq(names[0], "broken");
    ck_assert_str_eq(names[1], "ok");
    /* the user directory comes from XDG_CONFIG_HOME, ahead of the compiled-in ones */
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    unsetenv("SMARTTY_THEMES");
    const char *d[6];
    char buf[256];
    ui_theme_dirs(d, 6, buf, sizeof buf, "/src/themes", "/usr/share/smartty/themes");
    ck_assert_str_eq(d[0], "/xdg/smartty/themes");
    ck_assert_str_eq(d[1], "/src/themes");
    ck_assert_str_eq(d[2], "/usr/share/smartty/themes");
    ck_assert_ptr_null(d[3]);
    unlink(p1);
    unlink(p2);
    rmdir(tmpl);
}
END_TEST

START_TEST(test_color_degrade)
{
    ui_color red = {UI_COLOR_RGB, 0xff0000};
    ck_assert_int_eq(ui_color_resolve(red, 256), 196);
    ck_assert_int_eq(ui_color_resolve(red, 16), 9);
    ck_assert_int_eq(ui_color_resolve(red, 8), 1);
    ck_assert_int_eq(ui_color_resolve(red, 2), -1);
    ui_color dflt = {UI_COLOR_DEFAULT, 0};
    ck_assert_int_eq(ui_color_resolve(dflt, 256), -1);
    ui_color i12 = {UI_COLOR_INDEX, 12};
    ck_assert_int_eq(ui_color_resolve(i12, 256), 12);
    ck_assert_int_eq(ui_color_resolve(i12, 16), 12);
    ck_assert_int_eq(ui_color_resolve(i12, 8), 4);
    ui_color grey = {UI_COLOR_INDEX, 244}; /* rgb 808080 */
    ck_assert_int_eq(ui_color_resolve(grey, 256), 244);
    ck_assert_int_eq(ui_color_resolve(grey, 16), 8);
    ui_color navy = {UI_COLOR_RGB, 0x000080};
    ck_assert_int_eq(ui_color_resolve(navy, 256), 18); /* cube (0,0,2) = rgb 0,0,135 */
    ck_assert_int_eq(ui_color_resolve(navy, 16), 4);
    ck_assert_int_eq(ui_color_index_rgb(231), 0xffffff);
    ck_assert_int_eq(ui_color_index_rgb(232), 0x080808);
}
END_TEST


/* ---- the demo's data ---- */

START_TEST(test_demo_rules)
{
    /* the rules, by hand: the last clause decides, negation in it flips */
    ck_assert_int_eq(demo_sentiment_rule("the movie is not bad ."), 1);
    ck_assert_int_eq(demo_sentiment_rule("the plot is good but boring ."), 0);
    ck_assert_int_eq(demo_sentiment_rule("although the cast is dull , it is charming ."), 1);
    ck_assert_int_eq(demo_sentiment_rule("the cast is not charming , it is quite dull ."), 0);
    ck_assert_int_eq(demo_sentiment_rule("i expected the movie to be great , but it was not at all good ."), 0);
    ck_assert_int_eq(demo_sentiment_rule("the ending is hardly awful ."), 1);
    ck_assert_int_eq(demo_sentiment_rule("the weather is fine ."), -1);
}
END_TEST

static char *slurp(const char *path)
{
    char *t = NULL;
    size_t n;
    sm_error e;
    ck_assert_msg(sm_read_file(path, &t, &n, 0, &e) == SM_OK, "%s", e.msg);
    return t;
}

static int in_vocab(const char *vocab, const char *tok)
{
    char key[80];
    snprintf(key, sizeof key, "\n%s\n", tok);
    return strstr(vocab, key) != NULL;
}

/* Greedy longest-match WordPiece of one word against the vocabulary: 1 when it needs no [UNK]
 * and no single-letter fallback pieces. */
static int wordpiece_clean(const char *vocab, const char *w)
{
    size_t n = strlen(w), at = 0;
    while (at < n) {
        size_t end = n;
        char piece[80];
        for (; end > at; end--) {
            snprintf(piece, sizeof piece, "%s%.*s", at ? "##" : "", (int)(end - at), w + at);
            if (in_vocab(vocab, piece))
                break;
        }
        if (end == at || (end - at == 1 && n > 1))
            return 0;
        at = end;
    }
    return 1;
}

START_TEST(test_demo_generate)
{
    char tmpl[256];
    tu_mkdtemp(tmpl, sizeof tmpl, "smartty-demo");
    demo_sizes sz = {300, 60, 200, 40};
    sm_error e;
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/a", tmpl);
    snprintf(b, sizeof b, "%s/b", tmpl);
    ck_assert_msg(demo_generate(a, 7, &sz, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(demo_generate(b, 7, &sz, &e) == SM_OK, "%s", e.msg);
    static const char *const files[] = {"sentiment/train.tsv", "sentiment/dev.tsv", "pairs/train.tsv",
                                        "pairs/dev.tsv", "vocab.txt"};
    char pa[400], pb[400];
    for (int i = 0; i < 5; i++) { /* deterministic */
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        char *ta = slurp(pa), *tb = slurp(pb);
        ck_assert_str_eq(ta, tb);
        free(ta);
        free(tb);
    }
    snprintf(pa, sizeof pa, "%s/vocab.txt", a);
    char *vocab0 = slurp(pa);
    size_t vl = strlen(vocab0);
    char *vocab = malloc(vl + 2);
    vocab[0] = '\n';
    memcpy(vocab + 1, vocab0, vl + 1);
    ck_assert(!strncmp(vocab0, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 31));
    ck_assert(in_vocab(vocab, "##ing") && in_vocab(vocab, "charm") && !in_vocab(vocab, "charming"));
    /* sentiment: labels follow the rules, both labels occur, every word tokenizes cleanly */
    snprintf(pa, sizeof pa, "%s/sentiment/train.tsv", a);
    char *t = slurp(pa);
    ck_assert(!strncmp(t, "sentence\tlabel\n", 15));
    int rows = 0, ones = 0;
    for (char *line = strtok(strchr(t, '\n') + 1, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        ck_assert_ptr_nonnull(tab);
        *tab = 0;
        int label = atoi(tab + 1);
        ck_assert_msg(demo_sentiment_rule(line) == label, "'%s' labelled %d", line, label);
        rows++;
        ones += label;
        char copy[512];
        snprintf(copy, sizeof copy, "%s", line);
        char *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            ck_assert_msg(wordpiece_clean(vocab, w), "'%s' does not tokenize cleanly", w);
    }
    ck_assert_int_eq(rows, 300);
    ck_assert(ones > 100 && ones < 200);
    free(t);
    /* pairs: three columns, a binary label, dev distinct from train */
    snprintf(pa, sizeof pa, "%s/pairs/train.tsv", a);
    snprintf(pb, sizeof pb, "%s/pairs/dev.tsv", a);
    char *tr = slurp(pa), *dv = slurp(pb);
    ck_assert(!strncmp(tr, "sentence1\tsentence2\tlabel\n", 26));
    rows = 0;
    for (char *line = strtok(strchr(dv, '\n') + 1, "\n"); line; line = strtok(NULL, "\n")) {
        char *l = strrchr(line, '\t');
        ck_assert(l && (l[1] == '0' || l[1] == '1') && !l[2]);
        *l = 0;
        ck_assert_ptr_nonnull(strchr(line, '\t'));
        ck_assert_msg(!strstr(tr, line), "dev pair also in train: %s", line);
        rows++;
    }
    ck_assert_int_eq(rows, 40);
    free(tr);
    free(dv);
    free(vocab);
    free(vocab0);
    /* a different seed gives different data */
    ck_assert_msg(demo_generate(b, 8, &sz, &e) == SM_OK, "%s", e.msg);
    snprintf(pa, sizeof pa, "%s/sentiment/train.tsv", a);
    snprintf(pb, sizeof pb, "%s/sentiment/train.tsv", b);
    char *ta = slurp(pa), *tb = slurp(pb);
    ck_assert_str_ne(ta, tb);
    free(ta);
    free(tb);
    ck_assert_int_eq(tu_rmtree(tmpl), 0);
}
END_TEST

START_TEST(test_demo_committed_files)
{
    const char *src = tu_srcdir();
    char tmpl[256];
    tu_mkdtemp(tmpl, sizeof tmpl, "smartty-demo");
    sm_error e;
    ck_assert_msg(demo_generate(tmpl, DEMO_SEED, NULL, &e) == SM_OK, "%s", e.msg);
    static const char *const files[] = {"sentiment/train.tsv", "sentiment/dev.tsv", "pairs/train.tsv",
                                        "pairs/dev.tsv", "vocab.txt"};
    for (int i = 0; i < 5; i++) {
        char pa[1200], pb[1200];
        snprintf(pa, sizeof pa, "%s/datasets/%s", src, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", tmpl, files[i]);
        char *ta = slurp(pa), *tb = slurp(pb);
        ck_assert_msg(!strcmp(ta, tb), "datasets/%s differs from `smartty gen-demo` output", files[i]);
        free(ta);
        free(tb);
    }
    ck_assert_int_eq(tu_rmtree(tmpl), 0);
}
END_TEST

/* The committed files load through the data layer with its default options and tokenize with the
 * project's WordPiece tokenizer without [UNK]. */
START_TEST(test_demo_loads_and_tokenizes)
{
    const char *src = tu_srcdir();
    char path[1200];
    sm_error e;
    sm_tokenizer *tok;
    snprintf(path, sizeof path, "%s/datasets/vocab.txt", src);
    ck_assert_msg(sm_tokenizer_load(path, -1, &tok, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_pad_id(tok), 0);
    ck_assert_int_eq(sm_tokenizer_unk_id(tok), 1);
    ck_assert_int_eq(sm_tokenizer_cls_id(tok), 2);
    ck_assert_int_eq(sm_tokenizer_sep_id(tok), 3);
    ck_assert_int_eq(sm_tokenizer_mask_id(tok), 4);
    static const struct { const char *file; size_t rows; int pair; } f[] = {
        {"sentiment/train.tsv", 2000, 0}, {"sentiment/dev.tsv", 400, 0},
        {"pairs/train.tsv", 2000, 1},     {"pairs/dev.tsv", 400, 1},
    };
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/datasets/%s", src, f[k].file);
        sm_data_opts o;
        sm_data_opts_init(&o);
        sm_dataset *ds;
        ck_assert_msg(sm_dataset_load(path, &o, &ds, &e) == SM_OK, "%s", e.msg);
        ck_assert_uint_eq(sm_dataset_size(ds), f[k].rows);
        ck_assert_int_eq(sm_dataset_num_labels(ds), 2);
        for (size_t i = 0; i < sm_dataset_size(ds); i++) {
            const char *b = sm_dataset_text_pair(ds, i);
            ck_assert_int_eq(b != NULL, f[k].pair);
            sm_ids ids = {0}, types = {0};
            ck_assert(sm_tokenizer_encode_pair(tok, sm_dataset_text(ds, i), b, 0, &ids, &types, &e) == SM_OK);
            for (size_t j = 0; j < ids.n; j++)
                ck_assert_msg(ids.v[j] != sm_tokenizer_unk_id(tok), "[UNK] in %s row %zu", f[k].file, i + 1);
            sm_ids_free(&ids);
            sm_ids_free(&types);
        }
        sm_dataset_free(ds);
        sm_data_opts_free(&o);
    }
    sm_tokenizer_free(tok);
}
END_TEST

/* The demo's model: written as a Hugging Face folder that the library loads back with the shape
 * asked for, the demo vocabulary's size and the data's label names. */
START_TEST(test_demo_model)
{
    const char *src = tu_srcdir();
    char vocab[1200], tmpl[256];
    snprintf(vocab, sizeof vocab, "%s/datasets/vocab.txt", src);
    tu_mkdtemp(tmpl, sizeof tmpl, "smartty-model");
    sm_error e;
    /* the demo's shape (cmd_demo.c's `new model` line), through the library's one random-model function */
    sm_random_model_opts ro;
    sm_random_model_opts_default(&ro);
    ro.hidden = 64;
    ro.intermediate = 256;
    ro.max_position = 64;
    ro.seed = 7;
    ck_assert_msg(sm_hf_write_random(tmpl, vocab, &ro, &e) == SM_OK, "%s", e.msg);
    /* the same options give the same bytes: a journalled `new model` builds the same weights again */
    char again[] = "/tmp/smartty-model-XXXXXX", p1[1200], p2[1200];
    ck_assert_ptr_nonnull(mkdtemp(again));
    ck_assert_msg(sm_hf_write_random(again, vocab, &ro, &e) == SM_OK, "%s", e.msg);
    snprintf(p1, sizeof p1, "%s/model.safetensors", tmpl);
    snprintf(p2, sizeof p2, "%s/model.safetensors", again);
    FILE *f1 = fopen(p1, "rb"), *f2 = fopen(p2, "rb");
    ck_assert(f1 && f2);
    int c1, c2;
    long at = 0;
    do {
        c1 = fgetc(f1);
        c2 = fgetc(f2);
        ck_assert_msg(c1 == c2, "the two models differ at byte %ld", at);
        at++;
    } while (c1 != EOF);
    fclose(f1);
    fclose(f2);
    char rm[200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", again);
    ck_assert_int_eq(system(rm), 0);
    sm_hf_load_opts o;
    sm_hf_load_opts_default(&o);
    sm_bert *m = NULL;
    sm_bert_config cfg;
    ck_assert_msg(sm_hf_load(tmpl, &o, &m, &cfg, NULL, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(cfg.vocab_size, 196);
    ck_assert_int_eq(cfg.hidden_size, 64);
    ck_assert_int_eq(cfg.num_layers, 2);
    ck_assert_int_eq(cfg.num_heads, 2);
    ck_assert_int_eq(cfg.num_labels, 2);
    char b0[32], b1[32];
    ck_assert_str_eq(sm_config_label(&cfg, 0, b0, sizeof b0), "0");
    ck_assert_str_eq(sm_config_label(&cfg, 1, b1, sizeof b1), "1");
    sm_bert_free(m);
    sm_config_free(&cfg);
    ck_assert_int_eq(tu_rmtree(tmpl), 0);
}
END_TEST

/* ---- typed events: colours and markers from the kind alone ---- */

START_TEST(test_event_styles)
{
    static const struct { sm_event_kind kind; int log, mark; } want[] = {
        {SM_EVENT_CHANGE, UI_LOG_CHANGE, UI_MARK_CHANGE},  {SM_EVENT_SNAPSHOT, UI_LOG_EVENT, UI_MARK_SNAPSHOT},
        {SM_EVENT_REWIND, UI_LOG_EVENT, UI_MARK_REWIND},   {SM_EVENT_BREAK, UI_LOG_BREAK, -1},
        {SM_EVENT_WARN, UI_LOG_WARN, -1},                  {SM_EVENT_ERROR, UI_LOG_ERROR, -1},
        {SM_EVENT_EVAL, UI_LOG_EVENT, -1},                 {SM_EVENT_CHECKPOINT, UI_LOG_EVENT, -1},
        {SM_EVENT_DONE, UI_LOG_EVENT, -1},
    };
    /* messages that the old word matching misread: they change nothing */
    static const char *const msgs[] = {NULL, "breakpoint", "warning: x", "a = b", "snapshot s"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
            sm_session_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = want[i].kind;
            ev.step = 42;
            ev.msg = msgs[m];
            ui_event_style st;
            ui_event_style_of(&ev, &st);
            ck_assert_int_eq(st.log_kind, want[i].log);
            ck_assert_int_eq(st.mark, want[i].mark);
            if (st.mark >= 0)
                ck_assert_int_eq(st.mark_at, 42);
        }
    /* a reply carries its own kind; a notice its level */
    sm_session_event r;
    memset(&r, 0, sizeof r);
    r.kind = SM_EVENT_REPLY;
    r.msg = "lambda_s = 3";
    r.level = UI_LOG_INFO;
    ui_event_style st;
    ui_event_style_of(&r, &st);
    ck_assert_int_eq(st.log_kind, UI_LOG_INFO);
    ck_assert_int_eq(st.mark, -1);
    r.level = UI_LOG_CHANGE;
    r.msg = "preset paper: no change";
    ui_event_style_of(&r, &st);
    ck_assert_int_eq(st.log_kind, UI_LOG_CHANGE);
    ck_assert_int_eq(st.mark, -1); /* the markers come from the session's CHANGE events */
    r.kind = SM_EVENT_NOTICE;
    r.level = SM_LOG_WARN;
    ui_event_style_of(&r, &st);
    ck_assert_int_eq(st.log_kind, UI_LOG_WARN);
    r.level = SM_LOG_NOTICE;
    ui_event_style_of(&r, &st);
    ck_assert_int_eq(st.log_kind, UI_LOG_INFO);
}
END_TEST

/* ---- text: wrapping at spaces, eliding in the middle (issue 12: messages cut mid-word) ---- */

/* issue 12: at 80x24 the header lost the run state and the dev metric */
/* the ETA: the steps left at the rate measured outside evaluations, plus the evaluations to come at
 * the last one's time (a 40-minute MiniLM run with three 20 s evaluations is a minute longer) */
START_TEST(test_eta)
{
    ck_assert_double_eq_tol(ui_eta_seconds(100, 400, 2.0, 0, 20.0), 150.0, 1e-9);
    ck_assert_double_eq_tol(ui_eta_seconds(100, 400, 2.0, 3, 20.0), 210.0, 1e-9);
    ck_assert_double_eq_tol(ui_eta_seconds(100, 400, 2.0, 3, 0.0), 150.0, 1e-9); /* no evaluation timed yet */
    ck_assert(ui_eta_seconds(400, 400, 2.0, 1, 20.0) < 0); /* done */
    ck_assert(ui_eta_seconds(100, 0, 2.0, 1, 20.0) < 0);   /* nothing planned */
    ck_assert(ui_eta_seconds(100, 400, 0.0, 1, 20.0) < 0); /* no rate yet */
}
END_TEST

START_TEST(test_header_fit)
{
    /* what the demo's header holds: " smartty ", " model:    data: ", " PAUSED ", a 33-cell model, a
     * 45-cell data path; row 1 "step 1234/1890  epoch 13   41%  loss 0.6931  dev acc 0.8125" */
    const int lead = 9, labels = 17, state = 8, always = 1 + 9 + 5 + 12 + 5 + 13 + 16 + 1;
    ui_header_fit f;
    ui_header_fit_compute(80, lead, labels, state, 33, 45, always, 14, 10, 9, &f);
    /* row 0: the state keeps its cells; model and data share the rest, elided */
    ck_assert_int_eq(lead + labels + f.model_room + f.data_room + state + 2, 80);
    ck_assert_int_gt(f.model_room, 10);
    ck_assert_int_gt(f.data_room, 10);
    /* row 1: the bar and the rate give way; the ETA fits; the always-shown part (dev metric) fits */
    ck_assert_int_eq(f.bar, 0);
    ck_assert_int_eq(f.rate, 0);
    ck_assert_int_eq(f.eta, 1);
    ck_assert_int_le(always + 9, 80);
    /* a wide terminal shows everything whole */
    ui_header_fit_compute(160, lead, labels, state, 10, 45, always, 26, 10, 9, &f);
    ck_assert(f.bar && f.rate && f.eta);
    ck_assert_int_ge(f.model_room, 10);
    ck_assert_int_ge(f.data_room, 45);
    /* a long data path takes the room a short model leaves */
    ui_header_fit_compute(100, lead, labels, state, 10, 200, always, 14, 10, 9, &f);
    ck_assert_int_eq(f.model_room, 10);
    ck_assert_int_eq(f.data_room, 100 - lead - labels - state - 2 - 10);
    /* the minimum width: nothing negative, the optional parts gone */
    ui_header_fit_compute(UI_MIN_COLS, lead, labels, state, 33, 45, always, 14, 10, 9, &f);
    ck_assert_int_ge(f.model_room, 0);
    ck_assert_int_ge(f.data_room, 0);
    ck_assert(!f.bar && !f.rate && !f.eta);
}
END_TEST

START_TEST(test_wrap_rows)
{
    const char *msg = "unused weights: bert.pooler.dense.weight, bert.pooler.dense.bias, cls.predictions.bias";
    char rows[16][64];
    int n = 0;
    size_t adv, total = 0;
    for (const char *p = msg; *p && n < 16; p += adv, n++) {
        size_t len = ui_wrap_row(p, 30, &adv);
        ck_assert_uint_le((size_t)ui_text_len(p) < 30 ? len : 30, 30);
        ck_assert_uint_gt(adv, 0);
        snprintf(rows[n], sizeof rows[n], "%.*s", (int)len, p);
        ck_assert_int_le(ui_text_len(rows[n]), 30);
        total += adv;
    }
    ck_assert_uint_eq(total, strlen(msg)); /* every byte is on a row: nothing is cut */
    ck_assert_str_eq(rows[0], "unused weights:");
    ck_assert_str_eq(rows[1], "bert.pooler.dense.weight,");
    ck_assert_str_eq(rows[2], "bert.pooler.dense.bias,");
    ck_assert_str_eq(rows[3], "cls.predictions.bias");
    ck_assert_int_eq(n, 4);
    /* a word longer than the row is split; multibyte text counts code points */
    size_t len = ui_wrap_row("abcdefghij", 4, &adv);
    ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(adv, 4);
    len = ui_wrap_row("\u00e9\u00e9\u00e9 \u00e9\u00e9", 4, &adv);
    ck_assert_uint_eq(len, 6);
    ck_assert_uint_eq(adv, 7);
    ck_assert_uint_eq(ui_wrap_row("", 4, &adv), 0);
    ck_assert_uint_eq(adv, 0);
}
END_TEST

START_TEST(test_elide_middle)
{
    char out[256];
    ck_assert_str_eq(ui_elide_middle("/tmp/smartty-demo-model-Ab12Cd/model", 14, "\u2026", out, sizeof out),
                     "/tmp/\u2026/model");
    ck_assert_int_le(ui_text_len(out), 14);
    ck_assert_str_eq(ui_elide_middle("/tmp/smartty-demo-model-Ab12Cd/model", 14, "...", out, sizeof out),
                     "/tmp/.../model");
    /* it fits: whole, the leading / kept */
    ck_assert_str_eq(ui_elide_middle("/data/train.tsv", 40, "\u2026", out, sizeof out), "/data/train.tsv");
    /* a long folder keeps its first components and the file name */
    ui_elide_middle("/home/user/work/datasets/sentiment/train.tsv", 30, "\u2026", out, sizeof out);
    ck_assert_int_le(ui_text_len(out), 30);
    ck_assert_int_eq(strncmp(out, "/home/user/", 11), 0);
    ck_assert_ptr_nonnull(strstr(out, "\u2026/train.tsv"));
    /* no room for the last component: the start and the end of the text */
    ui_elide_middle("/x/averyveryverylongfilename.tsv", 10, "\u2026", out, sizeof out);
    ck_assert_int_le(ui_text_len(out), 10);
    ck_assert_int_eq(out[0], '/');
    ck_assert_ptr_nonnull(strstr(out, ".tsv"));
    ui_elide_middle("abcdef", 2, "\u2026", out, sizeof out);
    ck_assert_int_le(ui_text_len(out), 2);
}
END_TEST

static Suite *ui_suite(void)
{
    Suite *s = suite_create("ui");
    TCase *tl = tcase_create("layout");
    tcase_add_test(tl, test_layout_sizes);
    tcase_add_test(tl, test_layout_too_small);
    tcase_add_test(tl, test_layout_panels);
    tcase_add_test(tl, test_header_fit);
    tcase_add_test(tl, test_eta);
    tcase_add_test(tl, test_wrap_rows);
    tcase_add_test(tl, test_elide_middle);
    tcase_add_test(tl, test_event_styles);
    suite_add_tcase(s, tl);
    TCase *tc = tcase_create("chart");
    tcase_add_test(tc, test_chart_constant_is_flat);
    tcase_add_test(tc, test_chart_extremes_and_labels);
    tcase_add_test(tc, test_chart_marker_column);
    tcase_add_test(tc, test_chart_ascii_only);
    tcase_add_test(tc, test_chart_block_glyphs);
    tcase_add_test(tc, test_chart_log_scale);
    tcase_add_test(tc, test_chart_ema_and_window);
    tcase_add_test(tc, test_chart_empty_and_tiny);
    tcase_add_test(tc, test_chart_two_series_roles);
    tcase_add_test(tc, test_chart_x_from);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("theme");
    tcase_add_test(tt, test_theme_good);
    tcase_add_test(tt, test_theme_bad_lines);
    tcase_add_test(tt, test_theme_shipped_files);
    tcase_add_test(tt, test_theme_search_path);
    tcase_add_test(tt, test_color_degrade);
    suite_add_tcase(s, tt);
    TCase *td = tcase_create("demo_data");
    tcase_add_test(td, test_demo_rules);
    tcase_add_test(td, test_demo_generate);
    tcase_add_test(td, test_demo_committed_files);
    tcase_add_test(td, test_demo_loads_and_tokenizes);
    tcase_add_test(td, test_demo_model);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    return tu_run(ui_suite());
}
