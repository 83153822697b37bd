/* repl.h: hosting the console core: the `smartty` console program (interactive readline loop,
 * -x FILE, -c 'cmd; cmd', commands from a non-terminal stdin, exit statuses), and the pieces a
 * display reuses: readline through its callback interface, history, completion, and the handling
 * of the signal flags (Ctrl-C pauses, SIGHUP/SIGTERM autosave). No curses here. */
#ifndef SMARTTY_CONSOLE_REPL_H
#define SMARTTY_CONSOLE_REPL_H

#include "console/console.h"

/* The console program: argv[0] is the program or subcommand name. Returns the exit status: 0
 * success, 1 a command failed, 2 a usage error. */
int con_main(int argc, char **argv);

/* ---- for a display hosting the console (the dashboard) ---- */

/* Readline in callback mode, with readline's own signal handling off (rl_catch_signals,
 * rl_catch_sigwinch, rl_change_environment = 0), completion from con_complete, history loaded from
 * con_state_path("history"). Each accepted line runs through con_exec_line. A display may then set
 * rl_getc_function, rl_redisplay_function, rl_input_available_hook, etc. to draw it. */
void con_readline_start(con_ctx *c);
/* Call when standard input is readable (rl_callback_read_char). */
void con_readline_feed(void);
/* Remove the handler and write the history. */
void con_readline_stop(void);
/* 1 while readline shows a prompt the output function must redraw around. */
int con_readline_active(void);

/* Act on the signal flags (signals.c): Ctrl-C pauses a running training, or at the prompt clears
 * the line (and reminds of unsaved training); SIGHUP/SIGTERM finish the current step, write a
 * checkpoint to con_state_path("autosave-PID"), say where and set c->quit with the exit status.
 * Returns 1 when the host should leave. */
int con_handle_signals(con_ctx *c);

/* Save unsaved training to the autosave place (see con_handle_signals); path receives where.
 * Returns 0 (saved, or nothing to save: path is then ""), or 1 with the error reported. */
int con_autosave(con_ctx *c, char *path, size_t cap);

#endif
