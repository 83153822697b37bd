/* repl.c: the console program: option parsing, the interactive loop (select on standard input with
 * a short timeout, readline's callback interface, ticking the session between keys), the script
 * modes, history, completion and the reaction to signal flags. Output goes through one function;
 * in a terminal it redraws readline's prompt around asynchronous lines. */
#include "console/repl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "console/backend.h"
#include "console/dash_source.h"
#include "console/signals.h"
#include "smartty/escape.h"
#include "ui/dash.h"

static con_ctx *rl_ctx;    /* the context whose lines readline delivers */
static int rl_on;          /* the callback handler is installed */
static int rl_in_handler;  /* inside the line handler: no prompt on screen */
static char history_path[1100];

/* ---- output ---- */

static void out_plain(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    FILE *f = kind == CON_OUT_ERROR ? stderr : stdout;
    char *safe = sm_text_escape_dup(text, SM_ESC_KEEP_NL); /* file names, data, journal arguments */
    fprintf(f, "%s%s\n", kind == CON_OUT_ERROR ? "error: " : "", safe ? safe : "(out of memory)");
    free(safe);
    fflush(f);
}

static void out_terminal(void *ud, con_out_kind kind, const char *text)
{
    int redraw = rl_on && !rl_in_handler;
    if (redraw)
        rl_clear_visible_line();
    out_plain(ud, kind, text);
    if (redraw)
        rl_forced_update_display();
}

/* ---- readline ---- */

static void line_handler(char *line)
{
    con_ctx *c = rl_ctx;
    rl_in_handler = 1;
    if (!line) { /* Ctrl-D */
        fputc('\n', stdout);
        con_exec_line(c, c->confirm_quit ? "y" : "quit");
    } else {
        if (*line && !c->confirm_quit) {
            HIST_ENTRY *h = history_length ? history_get(history_base + history_length - 1) : NULL;
            if (!h || strcmp(h->line, line))
                add_history(line);
        }
        con_exec_line(c, line);
        free(line);
    }
    rl_in_handler = 0;
    if (rl_on)
        rl_set_prompt(con_prompt(c));
}

/* Completion candidates collected from con_complete. */
typedef struct cand_list {
    char **v;
    size_t n, cap;
} cand_list;

static cand_list cands;
static size_t cand_next;

static void cand_add(void *ud, const char *w)
{
    cand_list *l = ud;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], w))
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    char *d = strdup(w);
    if (d)
        l->v[l->n++] = d;
}

static char *cand_gen(const char *text, int state)
{
    (void)text;
    if (!state)
        cand_next = 0;
    return cand_next < cands.n ? strdup(cands.v[cand_next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)start;
    for (size_t i = 0; i < cands.n; i++)
        free(cands.v[i]);
    cands.n = 0;
    char *upto = strndup(rl_line_buffer, (size_t)end);
    if (!upto)
        return NULL;
    int files = con_complete(rl_ctx, upto, cand_add, &cands);
    free(upto);
    if (files)
        return NULL; /* readline completes file names */
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, cand_gen);
}

void con_readline_start(con_ctx *c)
{
    rl_ctx = c;
    rl_readline_name = "smartty";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(2000);
    if (con_state_path(history_path, sizeof history_path, "history", 1))
        read_history(history_path);
    rl_callback_handler_install(con_prompt(c), line_handler);
    rl_on = 1;
}

void con_readline_feed(void) { rl_callback_read_char(); }

int con_readline_active(void) { return rl_on && !rl_in_handler; }

void con_readline_stop(void)
{
    if (!rl_on)
        return;
    rl_callback_handler_remove();
    rl_on = 0;
    if (history_path[0])
        write_history(history_path);
    for (size_t i = 0; i < cands.n; i++)
        free(cands.v[i]);
    free(cands.v);
    cands = (cand_list){0};
}

/* ---- signals ---- */

int con_autosave(con_ctx *c, char *path, size_t cap)
{
    con_status st;
    con_status_get(c, &st);
    path[0] = '\0';
    if (st.unsaved <= 0 || !c->be || !c->be->save)
        return 0;
    sm_error e;
    if ((st.state == CON_RUN_RUNNING || st.state == CON_RUN_STEPPING) && c->be->pause &&
        c->be->pause(c->be_ud, &e) != SM_OK)
        con_error(c, "autosave: pausing: %s", e.msg);
    char name[64];
    snprintf(name, sizeof name, "autosave-%ld", (long)getpid());
    if (!con_state_path(path, cap, name, 1))
        return con_error(c, "autosave: the path of the state directory is too long");
    if (c->be->save(c->be_ud, path, &e) != SM_OK) {
        con_error(c, "autosave to %s failed: %s", path, e.msg);
        return 1;
    }
    con_status_get(c, &st);
    con_event(c, "autosaved step %lld to %s", (long long)st.step, path);
    return 0;
}

int con_handle_signals(con_ctx *c)
{
    if (con_sig_quit) {
        int sig = con_sig_quit;
        con_readline_stop(); /* the prompt is not redrawn around what follows */
        char path[1200];
        con_event(c, "%s: finishing the current step and saving", sig == SIGHUP ? "SIGHUP" : "SIGTERM");
        int rc = con_autosave(c, path, sizeof path);
        if (path[0] && !rc)
            fprintf(stderr, "smartty: %s: training saved to %s\n", sig == SIGHUP ? "hangup" : "terminated", path);
        else if (!rc)
            con_event(c, "no unsaved training: nothing to save");
        c->exit_status = rc ? 1 : 128 + sig; /* as `smartty train`: the script did not finish */
        c->quit = 1;
        return 1;
    }
    if (con_sig_int) {
        con_sig_int = 0;
        con_status st;
        con_status_get(c, &st);
        if ((st.state == CON_RUN_RUNNING || st.state == CON_RUN_STEPPING) && c->be && c->be->pause) {
            sm_error e;
            if (c->be->pause(c->be_ud, &e) != SM_OK)
                con_error(c, "pause: %s", e.msg);
            else
                con_info(c, "paused (Ctrl-C); `resume` continues, `step` steps");
        } else if (rl_on) {
            rl_in_handler = 1;
            rl_replace_line("", 0);
            fputs("^C\n", stdout);
            c->confirm_quit = 0;
            if (st.unsaved > 0)
                con_info(c, "%lld steps of training are unsaved: `save DIR` keeps them, `quit` asks first",
                         (long long)st.unsaved);
            rl_in_handler = 0;
            rl_set_prompt(con_prompt(c));
            rl_on_new_line();
            rl_redisplay();
        }
    }
    return c->quit;
}

/* ---- the program ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: smartty [console] [-x FILE]... [-c 'CMD; CMD']... [-e] [--plain] [--ascii]\n"
               "               [--no-color] [--theme NAME]\n"
               "  with no arguments: the interactive console, a full-screen dashboard when standard input\n"
               "  and output are terminals (--plain: a plain prompt); commands are read from standard\n"
               "  input when it is not a terminal\n"
               "  -x FILE   run the console commands in FILE (- for standard input)\n"
               "  -c CMDS   run the commands CMDS (separated by ;)\n"
               "  -e        keep going after a failed command (as `set on_error continue`)\n"
               "exit status: 0 success, 1 a command failed, 2 usage error\n"
               "SIGHUP/SIGTERM save unsaved training to $XDG_STATE_HOME/smartty/autosave-PID\n"
               "(~/.local/state/smartty/autosave-PID) and exit; `help` inside lists the commands\n");
}

static int run_interactive(con_ctx *c)
{
    c->interactive = 1;
    c->set.train_wait = 0;
    con_readline_start(c);
    while (!c->quit) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(STDIN_FILENO, &rd);
        struct timeval tv = {0, 100 * 1000};
        int r = select(STDIN_FILENO + 1, &rd, NULL, NULL, &tv);
        if (r > 0)
            con_readline_feed();
        else if (r < 0 && errno != EINTR)
            break;
        if (con_handle_signals(c))
            break;
        con_tick(c, c->plain_progress);
    }
    con_readline_stop();
    return c->exit_status;
}

int con_main(int argc, char **argv)
{
    typedef struct job { char kind; const char *arg; } job;
    job jobs[64];
    int njobs = 0, keep_going = 0, plain = 0;
    ui_options uo;
    ui_options_default(&uo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-e")) {
            keep_going = 1;
            continue;
        }
        if (!strcmp(a, "--plain")) {
            plain = 1;
            continue;
        }
        if (!strcmp(a, "--ascii") || !strcmp(a, "--no-color")) {
            *(a[2] == 'a' ? &uo.ascii : &uo.no_color) = 1;
            continue;
        }
        if (!strcmp(a, "--theme") && i + 1 < argc) {
            uo.theme = argv[++i];
            continue;
        }
        if ((!strcmp(a, "-x") || !strcmp(a, "-c")) && i + 1 < argc && njobs < 64) {
            jobs[njobs++] = (job){a[1], argv[++i]};
            continue;
        }
        fprintf(stderr, "smartty: %s '%s'\n", !strcmp(a, "-x") || !strcmp(a, "-c") ? "missing argument after" : "unknown option", a);
        usage(stderr);
        return 2;
    }
    con_ctx c;
    int tty_in = isatty(STDIN_FILENO), tty_out = isatty(STDOUT_FILENO);
    int dash = tty_in && tty_out && !njobs && !plain;
    con_init(&c, tty_in && tty_out && !njobs ? out_terminal : out_plain, NULL);
    con_backend_attach(&c);
    con_signals_install(!dash);
    c.intr = &con_sig_int;
    c.hup = &con_sig_quit;
    c.plain_progress = 1;
    if (keep_going)
        c.set.on_error = CON_ON_ERROR_CONTINUE;
    int status = 0;
    if (dash) {
        ui_source src;
        con_dash_source(&c, &src);
        c.interactive = 1;
        c.set.train_wait = 0;
        if (con_state_path(history_path, sizeof history_path, "history", 1))
            uo.history_path = history_path; /* kept across sessions, as at the plain prompt */
        status = ui_dash_run(&src, &uo);
        c.out = out_plain;
    } else if (!njobs && tty_in) {
        status = run_interactive(&c);
    } else {
        if (!njobs)
            jobs[njobs++] = (job){'s', "<stdin>"};
        for (int j = 0; j < njobs && !c.quit && !con_sig_quit; j++) {
            int rc = jobs[j].kind == 'c' ? con_exec_line(&c, jobs[j].arg)
                   : jobs[j].kind == 's' || !strcmp(jobs[j].arg, "-") ? con_exec_stream(&c, stdin, "<stdin>")
                   : con_exec_file(&c, jobs[j].arg);
            if (rc) {
                status = 1;
                if (c.set.on_error == CON_ON_ERROR_STOP)
                    break;
            }
        }
        if (!c.quit && !con_sig_quit && (!status || c.set.on_error == CON_ON_ERROR_CONTINUE))
            con_wait_run(&c, 0); /* a run started with train_wait off finishes before we leave */
        con_handle_signals(&c);
        if (c.exit_status)
            status = c.exit_status;
    }
    con_backend_detach(&c);
    con_free(&c);
    return status;
}
