/* dash_input.c: the dashboard's input: readline through its callback interface (bytes from curses
 * fed in, the line drawn by dash_draw.c, completion from the source) and the function keys. Command
 * lines go to the source; their replies and markers come back as events. */
#include "config.h"

#include "ui/dash_internal.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- readline ---- */

static void rl_redisplay_cb(void)
{
    if (D.active) {
        dash_draw_cmd();
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

void dash_feed_bytes(const char *s, int n)
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

static void run_line(const char *line)
{
    if (D.src->command)
        D.src->command(D.src->ud, line); /* its replies and markers come back as events */
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

void dash_readline_start(void)
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

void dash_readline_stop(void)
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

void dash_key(int k)
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
        dash_relayout();
        break;
    case KEY_F(6):
        D.focus = D.L.n_panels ? (D.focus + 1) % D.L.n_panels : 0;
        D.dirty_panels = 1;
        break;
    case KEY_F(7): D.log_y = !D.log_y, D.dirty_panels = 1; break;
    case KEY_F(8): D.ema_on = !D.ema_on, D.dirty_panels = 1; break;
    case KEY_F(9): D.window_idx = (D.window_idx + 1) % 3, D.dirty_panels = 1; break;
    case KEY_F(10): post(D.opt.quit_key ? D.opt.quit_key : "quit"); break;
    case KEY_F(11): dash_compare_toggle(); break;
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
    case KEY_BACKSPACE: dash_feed_bytes("\177", 1); break;
    case KEY_ENTER: dash_feed_bytes("\r", 1); break;
    default: break;
    }
    D.dirty_cmd = 1;
}

