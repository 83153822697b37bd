/* repl.h: the `smartty` console program (its options; -x FILE, -c 'cmd; cmd', commands from a
 * non-terminal stdin, exit statuses; the interactive console handed to a hook), and the pieces a
 * console's display reuses: readline through its callback interface, history and completion. The
 * reaction to the signal flags is host.c's. No curses here. */
#ifndef SMARTTY_CONSOLE_REPL_H
#define SMARTTY_CONSOLE_REPL_H

#include <stdio.h>

#include "console/console.h"

/* The console program: argv[0] is the program or subcommand name. Returns the exit status: 0
 * success, 1 a command failed, 2 a usage error. The interactive console (a terminal, no -x or -c)
 * is run by interactive (dash: the dashboard, else the plain prompt; o the display options; notice
 * what to say on opening, "" nothing): the program (cli/cmd_console.c) runs it as a client of an
 * in-process run server (server/local.c), so what works locally works attached. Scripts (-x, -c,
 * a pipe) have no display and run the console core here. */
struct ui_options;
typedef int (*con_interactive_fn)(int dash, struct ui_options *o, const char *notice);
int con_main_with(int argc, char **argv, con_interactive_fn interactive);

/* ---- for a console's display (the plain prompt of client.c) ---- */

/* Readline in callback mode, with readline's own signal handling off (rl_catch_signals,
 * rl_catch_sigwinch, rl_change_environment = 0), history loaded from con_state_path("history"):
 * line receives each accepted line (NULL on Ctrl-D; readline frees it after), complete the
 * candidates for the text up to the cursor (1: a file name, readline completes paths; NULL: none),
 * prompt the prompt to show. The host adds lines to the history (con_readline_add_history). */
typedef struct con_rl_host {
    void (*line)(void *ud, const char *line);
    int (*complete)(void *ud, const char *line_to_cursor, void (*add)(void *a, const char *w), void *a);
    const char *(*prompt)(void *ud);
    void *ud;
} con_rl_host;
void con_readline_start_host(const con_rl_host *h);
/* The command history's file, shared by every console (con_state_path("history")); NULL when its
 * path does not fit (no history is then kept). */
const char *con_history_path(void);
/* Add a line to the history unless empty or the same as the last. */
void con_readline_add_history(const char *line);
/* Print text (whole lines) to f around the prompt: the prompt and what is typed are redrawn below. */
void con_readline_print(FILE *f, const char *text);
/* Ctrl-C at the prompt: the line is cleared, "^C" shown, between (may be NULL) says what it has to,
 * and the prompt comes back. */
void con_readline_interrupt(void (*between)(void *ud), void *ud);
/* Take the prompt away (from inside the line callback: none is shown after the line) until
 * con_readline_resume shows it again, with the host's prompt then. */
void con_readline_pause(void);
void con_readline_resume(void);
/* Call when standard input is readable (rl_callback_read_char). */
void con_readline_feed(void);
/* Remove the handler and write the history. */
void con_readline_stop(void);
/* 1 while readline shows a prompt the output function must redraw around. */
int con_readline_active(void);

#endif
