/* dash_internal.h: what the dashboard's files share (nvtop's interface_internal_common.h is the
 * model): the state of the one dashboard (D), its log lines and views, and the functions one file
 * offers the others. dash_loop.c: the loop, the source's history and the setup; dash_log.c: the event
 * log, markers and events; dash_draw.c: colours, windows and every pane; dash_input.c: the readline
 * bridge and the keys. Not a public interface: only src/ui/dash*.c include it. */
#ifndef SMARTTY_UI_DASH_INTERNAL_H
#define SMARTTY_UI_DASH_INTERNAL_H

#include <curses.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/canvas.h"
#include "ui/chart.h"
#include "ui/dash.h"
#include "ui/layout.h"
#include "ui/theme.h"

#ifndef SMARTTY_THEMESDIR
#define SMARTTY_THEMESDIR ""
#endif
#ifndef SMARTTY_SRC_THEMESDIR
#define SMARTTY_SRC_THEMESDIR ""
#endif

#define LOG_CAP 2000
#define KNOB_CAP 64
#define INQ_CAP 64

/* ---- what a curve panel can show ---- */
typedef enum view_id {
    VIEW_LOSSES = 0, /* loss, rs, breg, total */
    VIEW_LOSS,
    VIEW_RS,
    VIEW_BREG,
    VIEW_TOTAL,
    VIEW_DEV,
    VIEW_LR,
    VIEW_GRAD,
    VIEW_DELTA,
    VIEW_RATE,
    VIEW_COUNT
} view_id;

extern const char *const view_title[VIEW_COUNT];

typedef struct log_line {
    int kind;
    int64_t step;
    char *text; /* whole: long lines wrap when drawn, never cut */
} log_line;

typedef struct dash {
    int active;
    const ui_source *src;
    ui_options opt;
    int utf8, ascii, ncolors;
    ui_theme theme;
    attr_t role_attr[UI_ROLE_COUNT];
    short role_pair[UI_ROLE_COUNT];
    ui_layout L;
    WINDOW *hdr, *panel[UI_MAX_PANELS], *knobs, *log, *keys, *cmd, *help;
    int rows, cols;

    ui_state st;
    int have_state;
    sm_step_record *steps;
    size_t n_steps, cap_steps;
    sm_eval_record *evals;
    size_t n_evals, cap_evals;
    ui_knob knob[KNOB_CAP];
    int n_knobs;
    ui_marker *marks;
    size_t n_marks, cap_marks;
    double *xs, *ys[4];
    int steps_from_source, evals_from_source, sampled_new;
    size_t cap_xy;

    log_line lines[LOG_CAP];
    int log_head, log_count, log_scroll;

    int view[UI_MAX_PANELS];
    int focus, zoom, log_y, ema_on, window_idx;
    ui_glyphs glyphs;

    int dirty_hdr, dirty_panels, dirty_knobs, dirty_log, dirty_cmd, dirty_all;
    int show_help;
    double last_frame, rate, rate_t;
    int64_t rate_step;

    unsigned char inq[INQ_CAP];
    int inq_head, inq_len;
    int quit;
    int seen_running;

    int saved_stderr;
    char log_path[1024];
    const char *theme_dirs[6];
    char theme_dir_buf[1024];
} dash;

extern dash D;
extern const double window_steps[3];

/* dash_loop.c */
/* Make *p hold at least need elements of elem bytes (doubling); 0, or -1 when out of memory. */
int dash_grow(void **p, size_t *cap, size_t need, size_t elem);

/* dash_log.c */
void dash_notice_hook(void *ud, sm_log_level level, const char *msg); /* sm_log hook, any thread */
void dash_drain_notices(void);
void dash_logf(int kind, const char *fmt, ...) SM_PRINTF(2, 3);

/* dash_draw.c */
void dash_apply_theme(void);
void dash_free_windows(void);
void dash_relayout(void);
void dash_draw_cmd(void);
void dash_draw_frame(void);
/* One cell (a code point in a theme role; '?' for non-ASCII in ASCII mode) at (y, x) of w. */
void dash_put_cell(WINDOW *w, int y, int x, uint32_t ch, int role);
/* Write UTF-8 text at (y, x) in role, at most max columns; returns the columns written. */
int dash_put_text(WINDOW *w, int y, int x, int max, int role, const char *s);
/* A box around w with a title (NULL: none) in its top border, highlighted when focused. */
void dash_frame(WINDOW *w, const char *title, int focused);
/* The value a curve view (VIEW_LOSS ... VIEW_RATE; VIEW_LOSSES: the loss) plots for a step. */
double dash_step_field(const sm_step_record *r, int view);
/* The series as a chart with the dashboard's options (glyphs, log scale, EMA, window, every panel's
 * time axis from step 1 with 7-column labels) in w's rows top..top+h-1, columns 1..wd-2. */
void dash_chart(WINDOW *w, int top, int h, int wd, const ui_series *ser, size_t n, const ui_marker *marks,
                size_t n_marks);

/* dash_compare.c */
int dash_compare_on(void);
/* Draw panel i (its window w, rect r) as the compare view. */
void dash_compare_panel(int i, WINDOW *w, ui_rect r);
void dash_compare_toggle(void);
void dash_compare_free(void);

/* dash_input.c */
void dash_feed_bytes(const char *s, int n);
void dash_key(int k);
void dash_readline_start(void);
void dash_readline_stop(void);

#endif
