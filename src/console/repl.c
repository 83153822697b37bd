/* repl.c: the console program: option parsing, the interactive loop (select on standard input with
 * a short timeout, readline's callback interface, ticking the session between keys), the script
 * modes, history, completion and the reaction to signal flags. Output goes through one function;
 * in a terminal it redraws readline's prompt around asynchronous lines. */
#include "console/repl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "console/host.h"
#include "console/signals.h"
#include "smartty/checkpoint.h"
#include "smartty/str.h"
#include "ui/dash.h"

static con_rl_host rl_host; /* what readline's lines, completions and prompt go to */
static int rl_on;          /* the callback handler is installed */
static int rl_paused;      /* removed by con_readline_pause, to be installed again */
static int rl_in_handler;  /* inside the line handler: no prompt on screen */
static char history_path[1100];

const char *con_history_path(void)
{
    if (!history_path[0] && !con_state_path(history_path, sizeof history_path, "history", 1))
        history_path[0] = '\0';
    return history_path[0] ? history_path : NULL;
}

/* ---- output ---- */

void con_readline_print(FILE *f, const char *text)
{
    int redraw = rl_on && !rl_in_handler;
    if (redraw)
        rl_clear_visible_line();
    fputs(text, f);
    fflush(f);
    if (redraw)
        rl_forced_update_display();
}

/* ---- readline ---- */

void con_readline_add_history(const char *line)
{
    if (!*line)
        return;
    HIST_ENTRY *h = history_length ? history_get(history_base + history_length - 1) : NULL;
    if (!h || strcmp(h->line, line))
        add_history(line);
}

static void line_handler(char *line)
{
    rl_in_handler = 1;
    rl_host.line(rl_host.ud, line);
    free(line);
    rl_in_handler = 0;
    if (rl_on)
        rl_set_prompt(rl_host.prompt(rl_host.ud));
}

/* ---- the prompt under the signals (host.c acts on them) ---- */

void con_readline_interrupt(void (*between)(void *ud), void *ud)
{
    rl_in_handler = 1;
    rl_replace_line("", 0);
    fputs("^C\n", stdout);
    if (between)
        between(ud);
    rl_in_handler = 0;
    rl_set_prompt(rl_host.prompt(rl_host.ud));
    rl_on_new_line();
    rl_redisplay();
}

/* Completion candidates collected from the host's complete. */
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
    if (!rl_host.complete)
        return NULL;
    char *upto = strndup(rl_line_buffer, (size_t)end);
    if (!upto)
        return NULL;
    int files = rl_host.complete(rl_host.ud, upto, cand_add, &cands);
    free(upto);
    if (files)
        return NULL; /* readline completes file names */
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, cand_gen);
}

void con_readline_start_host(const con_rl_host *h)
{
    rl_host = *h;
    rl_readline_name = "smartty";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(2000);
    if (con_history_path())
        read_history(history_path);
    rl_callback_handler_install(rl_host.prompt(rl_host.ud), line_handler);
    rl_on = 1;
    rl_paused = 0;
}

void con_readline_feed(void) { rl_callback_read_char(); }

int con_readline_active(void) { return rl_on && !rl_in_handler; }

void con_readline_pause(void)
{
    if (!rl_on)
        return;
    rl_callback_handler_remove();
    rl_on = 0;
    rl_paused = 1;
}

void con_readline_resume(void)
{
    if (!rl_paused)
        return;
    rl_paused = 0;
    rl_callback_handler_install(rl_host.prompt(rl_host.ud), line_handler);
    rl_on = 1;
}

void con_readline_stop(void)
{
    if (!rl_on && !rl_paused)
        return;
    if (rl_on)
        rl_callback_handler_remove();
    rl_on = 0;
    rl_paused = 0;
    if (history_path[0])
        write_history(history_path);
    for (size_t i = 0; i < cands.n; i++)
        free(cands.v[i]);
    free(cands.v);
    cands = (cand_list){0};
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

/* The autosaves of earlier sessions (SIGHUP, SIGTERM) are found again: the newest few are named with
 * how to continue them, older ones are removed (saying so). */
#define AUTOSAVE_KEEP 3
typedef struct autosave_ent {
    char path[1200];
    time_t mtime;
} autosave_ent;

static int autosave_newer(const void *a, const void *b)
{
    const autosave_ent *x = a, *y = b;
    return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : strcmp(x->path, y->path);
}

/* Each notice to the dashboard's log (c), into collect (the local console's, said by its session
 * once the dashboard is up), or to stderr. */
static void autosave_notice(con_ctx *c, int dash, sm_str *collect)
{
    char dir[1200];
    if (!con_state_path(dir, sizeof dir, "", 0))
        return;
    size_t dl = strlen(dir);
    if (dl > 1 && dir[dl - 1] == '/')
        dir[dl - 1] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    autosave_ent ents[64];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64) {
        if (strncmp(de->d_name, "autosave-", 9) || strchr(de->d_name, '.'))
            continue;
        autosave_ent *a = &ents[n];
        char real[1300], probe[1400];
        /* a path that does not fit is not looked at: cut short it would name another folder (which
           the clean-up below could remove) */
        if (snprintf(a->path, sizeof a->path, "%s/%s", dir, de->d_name) >= (int)sizeof a->path)
            continue;
        snprintf(probe, sizeof probe, "%s/trainer_state.json", a->path);
        struct stat sb;
        if (sm_checkpoint_resolve(a->path, real, sizeof real) != SM_CKPT_SMARTTY || stat(probe, &sb) != 0)
            continue;
        a->mtime = sb.st_mtime;
        n++;
    }
    closedir(d);
    if (!n)
        return;
    qsort(ents, (size_t)n, sizeof ents[0], autosave_newer);
    for (int i = 0; i < n; i++) {
        char when[32] = "";
        struct tm tmv;
        if (gmtime_r(&ents[i].mtime, &tmv))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
        char msg[1500];
        if (i < AUTOSAVE_KEEP) {
            snprintf(msg, sizeof msg, "an autosave of an interrupted session exists: %s (saved %s); continue "
                                      "it with `resume %s`", ents[i].path, when, ents[i].path);
        } else {
            sm_error e;
            if (sm_checkpoint_remove(ents[i].path, &e) != SM_OK)
                snprintf(msg, sizeof msg, "autosave %s: %s", ents[i].path, e.msg);
            else
                snprintf(msg, sizeof msg, "removed the old autosave %s (saved %s): the newest %d are kept",
                         ents[i].path, when, AUTOSAVE_KEEP);
        }
        if (collect)
            sm_str_appendf(collect, "%s%s", collect->len ? "\n" : "", msg);
        else if (dash)
            con_info(c, "%s", msg);
        else
            fprintf(stderr, "smartty: %s\n", msg);
    }
}

int con_main_with(int argc, char **argv, con_interactive_fn interactive)
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
    if (dash || (!njobs && tty_in)) { /* the session on an in-process server, this thread its client */
        sm_str notice = SM_STR_INIT;
        autosave_notice(NULL, dash, dash ? &notice : NULL);
        int rc = interactive(dash, &uo, sm_str_cstr(&notice));
        sm_str_free(&notice);
        return rc;
    }
    con_host_open(&c, con_out_plain, 0);
    autosave_notice(&c, 0, NULL);
    c.plain_progress = 1;
    if (keep_going)
        c.set.on_error = CON_ON_ERROR_CONTINUE;
    int status = 0;
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
    con_host_close(&c);
    return status;
}
