/* dash_loop.c: the dashboard (ui/dash.h): curses windows laid out by layout.c, charts by chart.c,
 * colours from a theme, readline through its callback interface at the foot. Each frame (at most
 * ui_fps a second) it copies the source's latest state, re-renders only the panes whose inputs
 * changed, and sends them with wnoutrefresh + one doupdate; curses then writes only the cells that
 * differ. While the screen is ours, stderr (library and OpenBLAS chatter) goes to a log file and
 * sm_log lines go to the event log. It does not train, parse commands or own the session: the source
 * does. This file holds the loop, the source's history and the setup; the other parts are dash_*.c
 * around dash_internal.h. */
#include "config.h"

#include "ui/dash_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


dash D;

const char *const view_title[VIEW_COUNT] = {
    "train losses", "task loss", "lambda_s*R_s", "mu*D_Breg", "total loss", "dev metric",
    "learning rate", "grad norm", "perturbation norm", "examples/s",
};


const double window_steps[3] = {0, 100, 1000};

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

/* CPU time of the calling thread, in seconds. */
static double thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- history ---- */

int dash_grow(void **p, size_t *cap, size_t need, size_t elem)
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
        if (dash_grow((void **)&D.steps, &D.cap_steps, D.n_steps + 4096, sizeof *D.steps))
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
        if (dash_grow((void **)&D.evals, &D.cap_evals, D.n_evals + 256, sizeof *D.evals))
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
            !dash_grow((void **)&D.steps, &D.cap_steps, D.n_steps + 1, sizeof *D.steps)) {
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
            !dash_grow((void **)&D.evals, &D.cap_evals, D.n_evals + 1, sizeof *D.evals)) {
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
    /* steps per second over the last frames, for the ETA; the time of evaluations is left out (the
       ETA adds the evaluations still to come at the last one's time) */
    if (st.eval_total || (D.have_state && D.st.eval_total)) {
        D.rate_step = st.step;
        D.rate_t = now;
    }
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
            memcpy(D.knob, k, (size_t)n * sizeof k[0]);
            D.n_knobs = n;
            D.dirty_knobs = 1;
        }
    }
    dash_drain_notices();
}

/* ---- setup ---- */

static int open_log(void)
{
    char dir[1024] = "";
    if (D.opt.log_path) {
        if (strlen(D.opt.log_path) >= sizeof D.log_path) /* refused: cut, it would name another file */
            return -2;
        snprintf(D.log_path, sizeof D.log_path, "%s", D.opt.log_path);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        int w = 0;
        if (xdg && *xdg)
            w = snprintf(dir, sizeof dir, "%s/smartty", xdg);
        else if (home && *home)
            w = snprintf(dir, sizeof dir, "%s/.local/state/smartty", home);
        if (w < 0 || (size_t)w + sizeof "/dashboard.log" > sizeof D.log_path)
            dir[0] = '\0'; /* too long for the log's path: the /tmp one below, never a cut folder */
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
    int log_rc = open_log();
    if (log_rc != 0) {
        endwin();
        delscreen(scr);
        if (log_rc == -2)
            fprintf(stderr, "smartty: --log: the path is %zu bytes long: give at most %zu\n",
                    strlen(D.opt.log_path), sizeof D.log_path - 1);
        else
            fprintf(stderr, "smartty: cannot redirect standard error while the dashboard runs\n");
        return 1;
    }
    sm_log_set(dash_notice_hook, NULL);
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
    dash_apply_theme();
    dash_readline_start();
    dash_relayout();
    if (theme_err[0])
        ui_dash_print(UI_LOG_ERROR, -1, theme_err);
    dash_logf(UI_LOG_INFO, "F1 or ? for help; library messages go to %s", D.log_path);
    /* ncurses (6.4) flushes its output after every cursor movement for as long as the screen has
     * never been resumed after endwin(): a frame went out as one small write per jump (about 25),
     * each a packet over SSH and a wake-up of the terminal. Leaving and resuming once before the
     * first paint (which the first doupdate does) makes every frame a single write. */
    endwin();
    poll_source();
    dash_draw_frame();
    for (int i = 0; D.opt.startup && D.opt.startup[i] && !D.quit; i++) {
        ui_dash_print(UI_LOG_COMMAND, -1, D.opt.startup[i]);
        int fail = D.src->command ? D.src->command(D.src->ud, D.opt.startup[i]) : 1;
        poll_source();
        dash_draw_frame();
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
                dash_relayout();
            } else if (D.show_help) {
                D.show_help = 0;
                dash_relayout();
            } else {
                dash_key((int)wc);
            }
        } else if (r == OK) {
            if (D.show_help) {
                D.show_help = 0;
                dash_relayout();
            } else if (wc == '?' && rl_end == 0) {
                D.show_help = 1;
            } else if (wc == 12) { /* Ctrl-L */
                clearok(curscr, TRUE);
                dash_relayout();
            } else {
                char mb[8];
                int n = ui_utf8_encode((uint32_t)wc, mb);
                dash_feed_bytes(mb, n);
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
            dash_draw_frame();
        }
    }

    dash_readline_stop();
    D.active = 0;
    dash_free_windows();
    dash_compare_free();
    endwin();
    delscreen(scr);
    sm_log_set(NULL, NULL);
    /* what the dashboard itself cost: its thread's CPU time against the time it was up */
    const double up = sm_now() - wall0, cpu = thread_cpu() - cpu0;
    if (up > 0)
        fprintf(stderr, "dashboard: %.3f s of CPU in %.2f s on screen (%.2f %% of one core)\n", cpu, up,
                100.0 * cpu / up);
    close_log();
    for (int i = 0; i < LOG_CAP; i++)
        free(D.lines[i].text);
    free(D.steps);
    free(D.evals);
    free(D.marks);
    free(D.xs);
    for (int k = 0; k < 4; k++)
        free(D.ys[k]);
    int status = D.src->exit_status ? D.src->exit_status(D.src->ud) : 0;
    return status;
}

