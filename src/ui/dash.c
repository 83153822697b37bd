/* dash.c: the dashboard: curses windows laid out by layout.c, charts by chart.c, colours from a
 * theme, readline through its callback interface at the foot. Each frame (at most ui_fps a second)
 * it copies the source's latest state, re-renders only the panes whose inputs changed, and sends
 * them with wnoutrefresh + one doupdate; curses then writes only the cells that differ. While the
 * screen is ours, stderr (library and OpenBLAS chatter) goes to a log file and sm_log lines go to
 * the event log. It does not train, parse commands or own the session: the source does. */
#include "config.h"

#include "ui/dash.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "ui/canvas.h"
#include "ui/chart.h"
#include "ui/layout.h"
#include "ui/theme.h"
#include "smartty/escape.h"

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

static const char *const view_title[VIEW_COUNT] = {
    "train losses", "task loss", "lambda_s*R_s", "mu*D_Breg", "total loss", "dev metric",
    "learning rate", "grad norm", "perturbation norm", "examples/s",
};

typedef struct log_line {
    int kind;
    int64_t step;
    char text[240];
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

static dash D;

static const double window_steps[] = {0, 100, 1000};

const char *ui_run_state_name(int s)
{
    static const char *const n[] = {"no model", "idle", "running", "paused", "at breakpoint",
                                    "stepping", "done"};
    return s >= 0 && s <= UI_RUN_DONE ? n[s] : "?";
}

void ui_options_default(ui_options *o)
{
    memset(o, 0, sizeof *o);
    o->fps = 4;
}

const char *ui_dash_log_path(void) { return D.log_path; }

/* ---- library notices from any thread: queued, drained into the log each frame ---- */
static pthread_mutex_t notice_mu = PTHREAD_MUTEX_INITIALIZER;
static log_line notices[64];
static int n_notices, dropped_notices;

static void notice_hook(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level < SM_LOG_INFO)
        return;
    pthread_mutex_lock(&notice_mu);
    if (n_notices < (int)(sizeof notices / sizeof notices[0])) {
        notices[n_notices].kind = level >= SM_LOG_WARN ? UI_LOG_WARN : UI_LOG_INFO;
        notices[n_notices].step = -1;
        snprintf(notices[n_notices].text, sizeof notices[0].text, "%s", msg);
        n_notices++;
    } else {
        dropped_notices++;
    }
    pthread_mutex_unlock(&notice_mu);
}

/* ---- the event log ---- */

static void log_add_one(int kind, int64_t step, const char *text, size_t len)
{
    int idx = (D.log_head + D.log_count) % LOG_CAP;
    if (D.log_count == LOG_CAP)
        D.log_head = (D.log_head + 1) % LOG_CAP;
    else
        D.log_count++;
    log_line *l = &D.lines[idx];
    l->kind = kind;
    l->step = step;
    if (len >= sizeof l->text)
        len = sizeof l->text - 1;
    memcpy(l->text, text, len);
    l->text[len] = 0;
    for (char *p = l->text; *p; p++)
        if (*p == '\t' || *p == '\r')
            *p = ' ';
    if (D.log_scroll > 0) /* keep the view where the user scrolled it */
        D.log_scroll++;
    D.dirty_log = 1;
}

/* CPU time of the calling thread, in seconds. */
static double thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Every line of the event log also goes to the log file (standard error while the dashboard is up),
 * stamped, so that a session's history survives the screen (a dropped SSH link, a scrolled pane). */
static void log_to_file(int kind, int64_t step, const char *text)
{
    static const char *const tag[] = {"output", "info", "error", "event", "change", "break", "warn", "command"};
    char ts[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *k = kind >= 0 && kind < (int)(sizeof tag / sizeof tag[0]) ? tag[kind] : "log";
    if (step >= 0)
        fprintf(stderr, "%s %s [step %lld] %s\n", ts, k, (long long)step, text);
    else
        fprintf(stderr, "%s %s %s\n", ts, k, text);
    fflush(stderr);
}

static void dash_print(int kind, int64_t step, const char *text);

/* Text from outside (file names, data, journal arguments) is escaped before it is shown or logged. */
void ui_dash_print(int kind, int64_t step, const char *text)
{
    char *safe = sm_text_escape_dup(text, SM_ESC_KEEP_NL);
    dash_print(kind, step, safe ? safe : "(out of memory)");
    free(safe);
}

static void dash_print(int kind, int64_t step, const char *text)
{
    if (!D.active) {
        fprintf(stderr, "%s\n", text);
        return;
    }
    log_to_file(kind, step, text);
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len || !nl)
            log_add_one(kind, step, p, len);
        if (!nl || !nl[1])
            break;
        p = nl + 1;
        step = -1;
    }
}

static void logf_(int kind, const char *fmt, ...) SM_PRINTF(2, 3);
static void logf_(int kind, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_dash_print(kind, -1, buf);
}

void ui_dash_mark(int kind, int64_t step)
{
    for (size_t i = 0; i < D.n_marks; i++)
        if (D.marks[i].kind == kind && D.marks[i].x == (double)step)
            return;
    if (D.n_marks == D.cap_marks) {
        size_t nc = D.cap_marks ? D.cap_marks * 2 : 32;
        ui_marker *m = realloc(D.marks, nc * sizeof *m);
        if (!m)
            return;
        D.marks = m;
        D.cap_marks = nc;
    }
    D.marks[D.n_marks].x = (double)step;
    D.marks[D.n_marks].kind = kind;
    D.n_marks++;
    D.dirty_panels = 1;
}

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

static void apply_theme(void)
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

static void put_cell(WINDOW *w, int y, int x, uint32_t ch, int role)
{
    if (D.ascii && ch >= 128)
        ch = '?';
    wchar_t wc[2] = {(wchar_t)ch, 0};
    cchar_t cc;
    setcchar(&cc, wc, D.role_attr[role], D.role_pair[role], NULL);
    mvwadd_wch(w, y, x, &cc);
}

/* Write UTF-8 text at (y, x) in role, at most max columns; returns the columns written. */
static int put_text(WINDOW *w, int y, int x, int max, int role, const char *s)
{
    int n = 0;
    uint32_t cp;
    int k;
    while (n < max && (k = ui_utf8_decode(s, &cp)) > 0) {
        s += k;
        put_cell(w, y, x + n, cp, role);
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
    return put_text(w, y, x, max, role, buf);
}

static void fill_row(WINDOW *w, int y, int x, int n, int role)
{
    for (int i = 0; i < n; i++)
        put_cell(w, y, x + i, ' ', role);
}

/* A box around w with a title in its top border. */
static void frame(WINDOW *w, const char *title, int focused)
{
    int h, wd;
    getmaxyx(w, h, wd);
    uint32_t hz = D.ascii ? '-' : 0x2500, vt = D.ascii ? '|' : 0x2502;
    uint32_t tl = D.ascii ? '+' : 0x256D, tr = D.ascii ? '+' : 0x256E;
    uint32_t bl = D.ascii ? '+' : 0x2570, br = D.ascii ? '+' : 0x256F;
    int role = UI_ROLE_BORDER;
    for (int x = 1; x < wd - 1; x++) {
        put_cell(w, 0, x, hz, role);
        put_cell(w, h - 1, x, hz, role);
    }
    for (int y = 1; y < h - 1; y++) {
        put_cell(w, y, 0, vt, role);
        put_cell(w, y, wd - 1, vt, role);
    }
    put_cell(w, 0, 0, tl, role);
    put_cell(w, 0, wd - 1, tr, role);
    put_cell(w, h - 1, 0, bl, role);
    put_cell(w, h - 1, wd - 1, br, role);
    if (title)
        put_fmt(w, 0, 2, wd - 4, focused ? UI_ROLE_SELECTION : UI_ROLE_TITLE, " %s ", title);
}

/* ---- windows ---- */

static void free_windows(void)
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

static void relayout(void)
{
    free_windows();
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

/* ---- history ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* History comes from the source when it keeps one (steps/evals report a total). A source that does
 * not is sampled instead: its latest record at every tick (20 times a second or more), so every step
 * shows when training runs slower than that and a sample of them when faster. */
static int fetch_history(void)
{
    int changed = 0;
    const ui_source *s = D.src;
    sm_step_record probe;
    sm_eval_record probe_ev;
    size_t total = 0;
    if (s->steps && !D.steps_from_source) {
        s->steps(s->ud, 0, &probe, 0, &total);
        if (total > 0) {
            D.steps_from_source = 1;
            D.n_steps = 0;
        }
    }
    total = 0;
    if (s->evals && !D.evals_from_source) {
        s->evals(s->ud, 0, &probe_ev, 0, &total);
        if (total > 0) {
            D.evals_from_source = 1;
            D.n_evals = 0;
        }
    }
    for (int guard = 0; D.steps_from_source && guard < 1000; guard++) {
        total = 0;
        if (grow((void **)&D.steps, &D.cap_steps, D.n_steps + 4096, sizeof *D.steps))
            break;
        size_t got = s->steps(s->ud, D.n_steps, D.steps + D.n_steps, 4096, &total);
        if (total < D.n_steps) { /* the history was replaced: fetch it again */
            D.n_steps = 0;
            changed = 1;
            continue;
        }
        D.n_steps += got;
        changed |= got > 0;
        if (got == 0 || D.n_steps >= total)
            break;
    }
    for (int guard = 0; D.evals_from_source && guard < 1000; guard++) {
        total = 0;
        if (grow((void **)&D.evals, &D.cap_evals, D.n_evals + 256, sizeof *D.evals))
            break;
        size_t got = s->evals(s->ud, D.n_evals, D.evals + D.n_evals, 256, &total);
        if (total < D.n_evals) {
            D.n_evals = 0;
            changed = 1;
            continue;
        }
        D.n_evals += got;
        changed |= got > 0;
        if (got == 0 || D.n_evals >= total)
            break;
    }
    changed |= D.sampled_new;
    D.sampled_new = 0;
    return changed;
}

/* Sample the latest records of a source that keeps no history (see fetch_history). */
static void sample_history(const ui_state *st)
{
    if (D.steps_from_source && D.evals_from_source)
        return;
    if (!D.steps_from_source) {
        while (D.n_steps && D.steps[D.n_steps - 1].step > st->step) { /* rewound */
            D.n_steps--;
            D.sampled_new = 1;
        }
        if (st->has_step && st->last.step <= st->step &&
            (!D.n_steps || st->last.step > D.steps[D.n_steps - 1].step) &&
            !grow((void **)&D.steps, &D.cap_steps, D.n_steps + 1, sizeof *D.steps)) {
            D.steps[D.n_steps++] = st->last;
            D.sampled_new = 1;
        }
    }
    if (!D.evals_from_source) {
        while (D.n_evals && D.evals[D.n_evals - 1].step > st->step) {
            D.n_evals--;
            D.sampled_new = 1;
        }
        if (st->has_eval && st->eval.step <= st->step &&
            (!D.n_evals || st->eval.step != D.evals[D.n_evals - 1].step) &&
            !grow((void **)&D.evals, &D.cap_evals, D.n_evals + 1, sizeof *D.evals)) {
            D.evals[D.n_evals++] = st->eval;
            D.sampled_new = 1;
        }
    }
}

static void poll_source(void)
{
    ui_state st;
    memset(&st, 0, sizeof st);
    D.src->state(D.src->ud, &st);
    double now = sm_now();
    if (!D.have_state || memcmp(&st, &D.st, sizeof st))
        D.dirty_hdr = 1;
    /* steps per second over the last frames, for the ETA */
    if (st.run == UI_RUN_RUNNING && D.have_state && st.step > D.rate_step && now > D.rate_t) {
        double r = (double)(st.step - D.rate_step) / (now - D.rate_t);
        D.rate = D.rate > 0 ? 0.8 * D.rate + 0.2 * r : r;
    }
    if (!D.have_state || st.step != D.rate_step || st.run != UI_RUN_RUNNING) {
        D.rate_step = st.step;
        D.rate_t = now;
    }
    if (st.run == UI_RUN_RUNNING)
        D.seen_running = 1;
    if (D.opt.exit_when_done && D.seen_running &&
        (st.run == UI_RUN_DONE || st.run == UI_RUN_IDLE || st.run == UI_RUN_EMPTY))
        D.quit = 1; /* the run ended (finished or stopped) */
    if (st.fps > 0 && st.fps != D.opt.fps)
        D.opt.fps = st.fps;
    D.st = st;
    D.have_state = 1;
    sample_history(&st);
    if (fetch_history())
        D.dirty_panels = 1;
    if (D.src->knobs) {
        ui_knob k[KNOB_CAP];
        int n = D.src->knobs(D.src->ud, k, KNOB_CAP);
        if (n != D.n_knobs || memcmp(k, D.knob, (size_t)n * sizeof k[0])) {
            for (int i = 0; i < n; i++) { /* a new change of a knob: a marker on the time axis */
                int64_t before = -1;
                for (int j = 0; j < D.n_knobs; j++)
                    if (!strcmp(D.knob[j].name, k[i].name))
                        before = D.knob[j].changed_at;
                if (k[i].changed_at >= 0 && k[i].changed_at != before &&
                    (D.n_knobs > 0 || k[i].changed_at > 0))
                    ui_dash_mark(UI_MARK_CHANGE, k[i].changed_at);
            }
            memcpy(D.knob, k, (size_t)n * sizeof k[0]);
            D.n_knobs = n;
            D.dirty_knobs = 1;
        }
    }
    pthread_mutex_lock(&notice_mu);
    log_line q[64];
    int nq = n_notices, dropped = dropped_notices;
    memcpy(q, notices, (size_t)nq * sizeof q[0]);
    n_notices = dropped_notices = 0;
    pthread_mutex_unlock(&notice_mu);
    for (int i = 0; i < nq; i++)
        ui_dash_print(q[i].kind, -1, q[i].text);
    if (dropped)
        logf_(UI_LOG_WARN, "(%d more library notices dropped)", dropped);
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
    fill_row(w, 0, 0, wd, UI_ROLE_STATUS);
    int x = put_text(w, 0, 0, wd, UI_ROLE_STATUS, " smartty ");
    x += put_fmt(w, 0, x, wd - x, UI_ROLE_STATUS, " model: %s   data: %s", s->model[0] ? s->model : "-",
                 s->data[0] ? s->data : "-");
    char state[64];
    snprintf(state, sizeof state, " %s ", ui_run_state_name(s->run));
    for (char *p = state; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    int role = s->run == UI_RUN_RUNNING || s->run == UI_RUN_STEPPING ? UI_ROLE_GOOD
               : s->run == UI_RUN_BREAK                              ? UI_ROLE_BAD
               : s->run == UI_RUN_PAUSED                             ? UI_ROLE_WARN
                                                                     : UI_ROLE_DIM;
    int sl = (int)strlen(state);
    if (wd - sl - 1 > x)
        put_text(w, 0, wd - sl - 1, sl, role, state);

    fill_row(w, 1, 0, wd, UI_ROLE_TEXT);
    x = put_fmt(w, 1, 1, wd - 1, UI_ROLE_TEXT, "step %lld", (long long)s->step) + 1;
    if (s->planned > 0)
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_DIM, "/%lld", (long long)s->planned);
    x += put_fmt(w, 1, x, wd - x, UI_ROLE_TEXT, "  epoch %d  ", s->epoch + 1);
    double frac = s->planned > 0 ? (double)s->step / (double)s->planned : 0;
    if (frac > 1)
        frac = 1;
    int bar = wd >= 100 ? 24 : 12;
    if (x + bar + 2 < wd) {
        int full = (int)lrint(frac * bar);
        put_cell(w, 1, x++, '[', UI_ROLE_BORDER);
        for (int i = 0; i < bar; i++)
            put_cell(w, 1, x++, i < full ? (D.ascii ? '#' : 0x2588) : (D.ascii ? '.' : 0x2591),
                     i < full ? UI_ROLE_GOOD : UI_ROLE_DIM);
        put_cell(w, 1, x++, ']', UI_ROLE_BORDER);
    }
    char eta[32];
    fmt_duration(s->planned > s->step && D.rate > 0 ? (double)(s->planned - s->step) / D.rate : -1, eta,
                 sizeof eta);
    x += put_fmt(w, 1, x, wd - x, UI_ROLE_TEXT, " %3.0f%%  ETA %s  %.0f ex/s", frac * 100, eta,
                 s->examples_per_s);
    if (s->has_step)
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_TEXT, "  loss %.4g", s->last.loss);
    double v;
    const char *m = s->has_eval ? dev_metric(&s->eval, &v) : NULL;
    if (m)
        x += put_fmt(w, 1, x, wd - x, UI_ROLE_GOOD, "  dev %s %.4g", m, v);
    if (s->note[0] && x + 4 < wd)
        put_fmt(w, 1, x, wd - x, UI_ROLE_BAD, "  %s", s->note);
    wnoutrefresh(w);
}

static double step_field(const sm_step_record *r, int view)
{
    switch (view) {
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

static void draw_panel(int i)
{
    WINDOW *w = D.panel[i];
    if (!w)
        return;
    ui_rect r = D.L.panels[i];
    int view = D.view[i];
    werase(w);
    char title[96];
    ui_series ser[4];
    int ns = 0;
    size_t n = view == VIEW_DEV ? D.n_evals : D.n_steps;
    if (grow((void **)&D.xs, &D.cap_xy, n + 1, sizeof(double)) == 0) {
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
                D.ys[k][j] = step_field(&D.steps[j], vv);
            ser[ns++] = (ui_series){D.xs, D.ys[k], n, UI_ROLE_CURVE1 + (view == VIEW_LOSSES ? k : (view % 6))};
        }
        for (size_t j = 0; j < n; j++)
            D.xs[j] = (double)D.steps[j].step;
        snprintf(title, sizeof title, "%s", view_title[view]);
    }
    ui_canvas c;
    if (r.h > 2 && r.w > 2 && ui_canvas_init(&c, r.w - 2, r.h - 2) == 0) {
        ui_chart_opts o;
        memset(&o, 0, sizeof o);
        o.glyphs = D.ascii ? UI_GLYPHS_ASCII : D.glyphs;
        o.log_y = D.log_y;
        o.ema = D.ema_on ? 0.9 : 0;
        o.window = window_steps[D.window_idx];
        o.x_from = 1;  /* every panel's time axis starts at step 1 ... */
        o.label_w = 7; /* ... and has the same width, so side-by-side panels share a scale */
        o.markers = D.marks;
        o.n_markers = D.n_marks;
        ui_chart_render(&c, ser, (size_t)ns, &o, NULL);
        for (int y = 0; y < c.h; y++)
            for (int x = 0; x < c.w; x++) {
                ui_cell *cell = ui_canvas_at(&c, y, x);
                put_cell(w, y + 1, x + 1, cell->ch, cell->role);
            }
        ui_canvas_free(&c);
    }
    char full[160];
    snprintf(full, sizeof full, "%s%s%s%s", title, D.log_y ? " (log)" : "", D.ema_on ? " (ema)" : "",
             D.window_idx ? (D.window_idx == 1 ? " (last 100)" : " (last 1000)") : "");
    frame(w, full, D.L.n_panels > 1 && i == D.focus);
    if (view == VIEW_LOSSES && r.w > 40) { /* legend on the top border */
        static const char *const names[4] = {"loss", "rs", "breg", "total"};
        int x = r.w - 2 - 22;
        for (int k = 0; k < 4; k++) {
            put_cell(w, 0, x++, ' ', UI_ROLE_BORDER);
            x += put_text(w, 0, x, r.w - 1 - x, UI_ROLE_CURVE1 + k, names[k]);
        }
        put_cell(w, 0, x, ' ', UI_ROLE_BORDER);
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
    frame(w, "knobs", 0);
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
            put_text(w, y++, 2, wd - 3, UI_ROLE_TITLE, group[k->group >= 0 && k->group < 3 ? k->group : 2]);
            if (y >= h - 1)
                break;
        }
        int changed = k->changed_at >= 0;
        int role = changed ? UI_ROLE_WARN : UI_ROLE_TEXT;
        put_text(w, y, 2, 13, role, k->name);
        char at[24] = "";
        if (changed)
            snprintf(at, sizeof at, "@%lld", (long long)k->changed_at);
        int atw = changed ? (int)strlen(at) : 0;
        int vw = (int)strlen(k->value);
        int vx = wd - 2 - atw - (atw ? 1 : 0) - vw;
        if (vx < 15)
            vx = 15;
        put_text(w, y, vx, wd - 1 - vx, changed ? UI_ROLE_WARN : UI_ROLE_TEXT, k->value);
        if (changed && wd - 2 - atw > vx + vw)
            put_text(w, y, wd - 1 - atw, atw, UI_ROLE_DIM, at);
        y++;
    }
    if (i < D.n_knobs)
        put_fmt(w, h - 2, 2, wd - 3, UI_ROLE_DIM, "+%d more: show params", D.n_knobs - i);
    if (D.n_knobs == 0)
        put_text(w, 1, 2, wd - 3, UI_ROLE_DIM, "(no hyperparameters)");
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
    frame(w, title, 0);
    /* newest at the bottom; long lines wrap under their text */
    int avail = wd - 2 - 7, row = inner;
    for (int i = D.log_count - 1 - D.log_scroll; i >= 0 && row > 0 && avail > 4; i--) {
        const log_line *l = &D.lines[(D.log_head + i) % LOG_CAP];
        int len = 0, k;
        uint32_t cp;
        for (const char *p = l->text; (k = ui_utf8_decode(p, &cp)) > 0; p += k)
            len++;
        int need = len ? (len + avail - 1) / avail : 1;
        int top = row - need;
        const char *p = l->text;
        for (int part = 0; part < need; part++) {
            int y = top + part;
            int cols = 0;
            const char *q = p;
            while (cols < avail && (k = ui_utf8_decode(q, &cp)) > 0) {
                q += k;
                cols++;
            }
            if (y >= 0) {
                if (part == 0 && l->step >= 0)
                    put_fmt(w, y + 1, 1, 7, UI_ROLE_DIM, "%6lld ", (long long)l->step);
                char chunk[256];
                size_t nb = (size_t)(q - p) < sizeof chunk - 1 ? (size_t)(q - p) : sizeof chunk - 1;
                memcpy(chunk, p, nb);
                chunk[nb] = 0;
                put_text(w, y + 1, 8, avail, log_role(l->kind), chunk);
            }
            p = q;
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
    };
    int x = 0;
    for (size_t i = 0; i < sizeof k / sizeof k[0] && x < wd; i++) {
        const char *label = k[i][1];
        if (i == 1 && (D.st.run == UI_RUN_PAUSED || D.st.run == UI_RUN_BREAK))
            label = "resume";
        x += put_text(w, 0, x, wd - x, UI_ROLE_SELECTION, k[i][0]);
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

static void draw_cmd(void)
{
    WINDOW *w = D.cmd;
    if (!w)
        return;
    int wd = D.L.cmd.w;
    werase(w);
    const char *prompt = rl_display_prompt ? rl_display_prompt : "";
    int pw = put_text(w, 0, 0, wd, UI_ROLE_PROMPT, prompt);
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
    put_text(w, 0, pw, avail, UI_ROLE_TEXT, p);
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
    put_text(stdscr, y, x, D.cols - x, UI_ROLE_WARN, msg);
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
    frame(D.help, "smartty dashboard: help", 0);
    for (int i = 0; i < n && i < h - 2; i++)
        put_text(D.help, i + 1, 2, wd - 4, lines[i][0] == ' ' || !lines[i][0] ? UI_ROLE_TEXT : UI_ROLE_TITLE,
                 lines[i]);
    wnoutrefresh(D.help);
}

static void draw_frame(void)
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
    draw_cmd();
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
        apply_theme();
        relayout();
    }
    return SM_OK;
}

/* ---- readline ---- */

static void rl_redisplay_cb(void)
{
    if (D.active) {
        draw_cmd();
        doupdate();
    }
}

static int rl_getc_cb(FILE *f)
{
    (void)f;
    if (!D.inq_len)
        return EOF;
    int c = D.inq[D.inq_head];
    D.inq_head = (D.inq_head + 1) % INQ_CAP;
    D.inq_len--;
    return c;
}

static int rl_avail_cb(void) { return D.inq_len > 0; }

static void feed_bytes(const char *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (D.inq_len == INQ_CAP)
            return;
        D.inq[(D.inq_head + D.inq_len) % INQ_CAP] = (unsigned char)s[i];
        D.inq_len++;
    }
    while (D.inq_len > 0)
        rl_callback_read_char();
}

static void prep_term_noop(int meta) { (void)meta; }
static void deprep_term_noop(void) {}

static void show_matches(char **matches, int n, int maxlen)
{
    (void)maxlen;
    char buf[240];
    size_t len = 0;
    buf[0] = 0;
    for (int i = 1; i <= n && len + 2 < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i > 1 ? "  " : "", matches[i]);
    ui_dash_print(UI_LOG_OUTPUT, -1, buf);
    rl_forced_update_display();
}

/* completion: candidates from the source */
typedef struct cand_list {
    char **v;
    size_t n, cap;
} cand_list;

static void add_cand(void *ud, const char *w)
{
    cand_list *l = ud;
    if (l->n + 1 >= l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        char **q = realloc(l->v, nc * sizeof *q);
        if (!q)
            return;
        l->v = q;
        l->cap = nc;
    }
    char *d = strdup(w);
    if (d)
        l->v[l->n++] = d;
}

static cand_list cands;
static size_t cand_next;

static char *cand_gen(const char *text, int state)
{
    if (!state)
        cand_next = 0;
    size_t tl = strlen(text);
    while (cand_next < cands.n) {
        const char *c = cands.v[cand_next++];
        if (!strncmp(c, text, tl))
            return strdup(c);
    }
    return NULL;
}

static char **complete_cb(const char *text, int start, int end)
{
    (void)end;
    for (size_t i = 0; i < cands.n; i++)
        free(cands.v[i]);
    cands.n = 0;
    if (!D.src->complete)
        return NULL;
    char *upto = strndup(rl_line_buffer, (size_t)rl_point);
    if (!upto)
        return NULL;
    int files = D.src->complete(D.src->ud, upto, add_cand, &cands);
    free(upto);
    (void)start;
    if (files)
        return NULL; /* readline completes the path */
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, cand_gen);
}

static int word_is(const char *line, const char *cmd, size_t min)
{
    while (*line == ' ')
        line++;
    size_t n = 0;
    while (line[n] && line[n] != ' ')
        n++;
    return n >= min && n <= strlen(cmd) && !strncmp(line, cmd, n);
}

static void run_line(const char *line)
{
    int fail = D.src->command ? D.src->command(D.src->ud, line) : 1;
    if (!fail) {
        if (word_is(line, "snapshot", 2) || word_is(line, "rewind", 3)) {
            ui_state st;
            D.src->state(D.src->ud, &st);
            ui_dash_mark(word_is(line, "snapshot", 2) ? UI_MARK_SNAPSHOT : UI_MARK_REWIND, st.step);
        }
    }
    D.dirty_hdr = D.dirty_knobs = 1;
}

static void line_cb(char *line)
{
    if (!line) { /* Ctrl-D on an empty line: like `quit` */
        run_line("quit");
        return;
    }
    char *s = line;
    while (*s == ' ')
        s++;
    if (*s) {
        HIST_ENTRY *h = history_length ? history_get(history_base + history_length - 1) : NULL;
        if (!h || strcmp(h->line, s))
            add_history(s);
        ui_dash_print(UI_LOG_COMMAND, -1, s);
        run_line(s);
    }
    free(line);
}

static void readline_start(void)
{
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = prep_term_noop;
    rl_deprep_term_function = deprep_term_noop;
    rl_getc_function = rl_getc_cb;
    rl_input_available_hook = rl_avail_cb;
    rl_redisplay_function = rl_redisplay_cb;
    rl_completion_display_matches_hook = show_matches;
    rl_attempted_completion_function = complete_cb;
    rl_readline_name = "smartty";
    rl_variable_bind("bell-style", "none");
    using_history();
    stifle_history(2000);
    if (D.opt.history_path)
        read_history(D.opt.history_path);
    rl_callback_handler_install("smartty> ", line_cb);
}

static void readline_stop(void)
{
    rl_callback_handler_remove();
    if (D.opt.history_path)
        write_history(D.opt.history_path);
    for (size_t i = 0; i < cands.n; i++)
        free(cands.v[i]);
    free(cands.v);
    memset(&cands, 0, sizeof cands);
}

/* ---- keys ---- */

static void post(const char *line)
{
    ui_dash_print(UI_LOG_COMMAND, -1, line);
    run_line(line);
}

static void key(int k)
{
    switch (k) {
    case KEY_F(1): D.show_help = 1; break;
    case KEY_F(2):
        post(D.st.run == UI_RUN_RUNNING || D.st.run == UI_RUN_STEPPING ? "pause"
             : D.st.run == UI_RUN_PAUSED || D.st.run == UI_RUN_BREAK   ? "resume"
                                                                        : "train");
        break;
    case KEY_F(3): post("step"); break;
    case KEY_F(4):
        D.view[D.focus] = (D.view[D.focus] + 1) % VIEW_COUNT;
        D.dirty_panels = 1;
        break;
    case KEY_F(5):
        if (!D.zoom && D.focus != 0) { /* the zoomed panel is panel 0: swap views */
            int t = D.view[0];
            D.view[0] = D.view[D.focus];
            D.view[D.focus] = t;
            D.focus = 0;
        }
        D.zoom = !D.zoom;
        relayout();
        break;
    case KEY_F(6):
        D.focus = D.L.n_panels ? (D.focus + 1) % D.L.n_panels : 0;
        D.dirty_panels = 1;
        break;
    case KEY_F(7): D.log_y = !D.log_y, D.dirty_panels = 1; break;
    case KEY_F(8): D.ema_on = !D.ema_on, D.dirty_panels = 1; break;
    case KEY_F(9): D.window_idx = (D.window_idx + 1) % 3, D.dirty_panels = 1; break;
    case KEY_F(10): post("quit"); break;
    case KEY_PPAGE: D.log_scroll += D.L.log.h > 4 ? D.L.log.h - 3 : 1, D.dirty_log = 1; break;
    case KEY_NPAGE:
        D.log_scroll -= D.L.log.h > 4 ? D.L.log.h - 3 : 1;
        if (D.log_scroll < 0)
            D.log_scroll = 0;
        D.dirty_log = 1;
        break;
    case KEY_UP: rl_get_previous_history(1, 0); break;
    case KEY_DOWN: rl_get_next_history(1, 0); break;
    case KEY_LEFT: rl_backward_char(1, 0); break;
    case KEY_RIGHT: rl_forward_char(1, 0); break;
    case KEY_HOME: rl_beg_of_line(1, 0); break;
    case KEY_END: rl_end_of_line(1, 0); break;
    case KEY_DC: rl_delete(1, 0); break;
    case KEY_BACKSPACE: feed_bytes("\177", 1); break;
    case KEY_ENTER: feed_bytes("\r", 1); break;
    default: break;
    }
    D.dirty_cmd = 1;
}

/* ---- setup ---- */

static int open_log(void)
{
    char dir[1024] = "";
    if (D.opt.log_path) {
        snprintf(D.log_path, sizeof D.log_path, "%s", D.opt.log_path);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(dir, sizeof dir, "%s/smartty", xdg);
        else if (home && *home)
            snprintf(dir, sizeof dir, "%s/.local/state/smartty", home);
        if (dir[0]) {
            char parent[1024];
            snprintf(parent, sizeof parent, "%s", dir);
            char *sl = strrchr(parent, '/');
            if (sl && sl != parent) { /* make the parent too (~/.local/state) */
                *sl = 0;
                char *s2 = strrchr(parent, '/');
                if (s2 && s2 != parent) {
                    *s2 = 0;
                    mkdir(parent, 0700);
                    *s2 = '/';
                }
                mkdir(parent, 0700);
            }
            mkdir(dir, 0700);
            snprintf(D.log_path, sizeof D.log_path, "%s/dashboard.log", dir);
        } else {
            snprintf(D.log_path, sizeof D.log_path, "/tmp/smartty-dashboard-%ld.log", (long)getuid());
        }
    }
    int fd = open(D.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fflush(stderr);
    D.saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
    return 0;
}

static void close_log(void)
{
    fflush(stderr);
    if (D.saved_stderr >= 0) {
        dup2(D.saved_stderr, 2);
        close(D.saved_stderr);
        D.saved_stderr = -1;
    }
}

int ui_dash_run(const ui_source *src, const ui_options *o)
{
    memset(&D, 0, sizeof D);
    D.saved_stderr = -1;
    D.src = src;
    if (o)
        D.opt = *o;
    else
        ui_options_default(&D.opt);
    if (D.opt.fps <= 0)
        D.opt.fps = 4;
    /* characters only (wide curses, readline): numbers are always read and written with a '.',
     * whatever LC_NUMERIC says (main() does the same for every subcommand) */
    setlocale(LC_CTYPE, "");
    D.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    D.ascii = D.opt.ascii || !D.utf8;
    D.glyphs = D.ascii ? UI_GLYPHS_ASCII : UI_GLYPHS_BRAILLE;
    D.view[0] = VIEW_LOSSES;
    D.view[1] = VIEW_DEV;
    D.view[2] = VIEW_GRAD;
    D.view[3] = VIEW_LR;

    struct stat sb;
    const char *srcdir = stat(SMARTTY_SRC_THEMESDIR, &sb) == 0 ? SMARTTY_SRC_THEMESDIR : NULL;
    ui_theme_dirs(D.theme_dirs, 6, D.theme_dir_buf, sizeof D.theme_dir_buf, srcdir, SMARTTY_THEMESDIR);
    ui_theme_builtin(&D.theme);
    sm_error e;
    char theme_err[1100] = "";
    if (D.opt.theme && ui_theme_load(D.opt.theme, D.theme_dirs, &D.theme, NULL, 0, &e))
        snprintf(theme_err, sizeof theme_err, "%s (using the built-in theme)", e.msg);

    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr, "smartty: the dashboard needs a terminal on standard input and output\n");
        return 1;
    }
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "smartty: cannot set up the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    /* No typeahead check in the middle of an update: ncurses would poll the keyboard and flush
     * what it has before every check, turning one frame into dozens of small writes, each waking
     * the terminal (and sshd, or tmux) on the way. A frame is one write; keys wait for it. */
    typeahead(-1);
    if (open_log() != 0) {
        endwin();
        delscreen(scr);
        fprintf(stderr, "smartty: cannot redirect standard error while the dashboard runs\n");
        return 1;
    }
    sm_log_set(notice_hook, NULL);
    D.active = 1;
    const double wall0 = sm_now(), cpu0 = thread_cpu();
    cbreak();
    noecho();
    nonl();
    set_escdelay(25);
    curs_set(1);
    D.ncolors = 0;
    if (!D.opt.no_color && has_colors() && start_color() == OK) {
        use_default_colors();
        D.ncolors = COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : COLORS >= 8 ? 8 : 0;
    }
    apply_theme();
    readline_start();
    relayout();
    if (theme_err[0])
        ui_dash_print(UI_LOG_ERROR, -1, theme_err);
    logf_(UI_LOG_INFO, "F1 or ? for help; library messages go to %s", D.log_path);
    /* ncurses (6.4) flushes its output after every cursor movement for as long as the screen has
     * never been resumed after endwin(): a frame went out as one small write per jump (about 25),
     * each a packet over SSH and a wake-up of the terminal. Leaving and resuming once before the
     * first paint (which the first doupdate does) makes every frame a single write. */
    endwin();
    poll_source();
    draw_frame();
    for (int i = 0; D.opt.startup && D.opt.startup[i] && !D.quit; i++) {
        ui_dash_print(UI_LOG_COMMAND, -1, D.opt.startup[i]);
        int fail = D.src->command ? D.src->command(D.src->ud, D.opt.startup[i]) : 1;
        poll_source();
        draw_frame();
        if (fail)
            break;
    }
    D.last_frame = sm_now();

    while (!D.quit) {
        double frame = 1.0 / (D.opt.fps > 0 ? D.opt.fps : 4);
        double wait = D.last_frame + frame - sm_now();
        int ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
        if (ms > 50 && (!D.steps_from_source || !D.evals_from_source))
            ms = 50; /* sampling a source without history: wake 20 times a second */
        if (D.cmd)
            wtimeout(D.cmd, ms);
        wint_t wc;
        int r = D.cmd ? wget_wch(D.cmd, &wc) : ERR;
        if (r == KEY_CODE_YES) {
            if (wc == KEY_RESIZE) {
                D.show_help = 0;
                relayout();
            } else if (D.show_help) {
                D.show_help = 0;
                relayout();
            } else {
                key((int)wc);
            }
        } else if (r == OK) {
            if (D.show_help) {
                D.show_help = 0;
                relayout();
            } else if (wc == '?' && rl_end == 0) {
                D.show_help = 1;
            } else if (wc == 12) { /* Ctrl-L */
                clearok(curscr, TRUE);
                relayout();
            } else {
                char mb[8];
                int n = ui_utf8_encode((uint32_t)wc, mb);
                feed_bytes(mb, n);
            }
        }
        if (D.src->tick && D.src->tick(D.src->ud))
            D.quit = 1;
        if (!D.steps_from_source || !D.evals_from_source) {
            ui_state st;
            D.src->state(D.src->ud, &st);
            sample_history(&st);
        }
        const char *pr = D.src->prompt ? D.src->prompt(D.src->ud) : NULL;
        if (pr && strcmp(pr, rl_prompt ? rl_prompt : "")) {
            rl_set_prompt(pr);
            D.dirty_cmd = 1;
        }
        double now = sm_now();
        if (now - D.last_frame >= frame || D.dirty_all || D.show_help || r != ERR) {
            if (now - D.last_frame >= frame) {
                poll_source();
                D.last_frame = now;
            }
            draw_frame();
        }
    }

    readline_stop();
    D.active = 0;
    free_windows();
    endwin();
    delscreen(scr);
    sm_log_set(NULL, NULL);
    /* what the dashboard itself cost: its thread's CPU time against the time it was up */
    const double up = sm_now() - wall0, cpu = thread_cpu() - cpu0;
    if (up > 0)
        fprintf(stderr, "dashboard: %.3f s of CPU in %.2f s on screen (%.2f %% of one core)\n", cpu, up,
                100.0 * cpu / up);
    close_log();
    free(D.steps);
    free(D.evals);
    free(D.marks);
    free(D.xs);
    for (int k = 0; k < 4; k++)
        free(D.ys[k]);
    int status = D.src->exit_status ? D.src->exit_status(D.src->ud) : 0;
    return status;
}
