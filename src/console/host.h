/* host.h: hosting the console, written once for the programs that run it (scripts in repl.c,
 * `smartty demo` without a terminal in cli/cmd_demo.c; the run server, local or served, does the
 * same in server.c): opening it over the training session with the signal handlers, plain output to
 * stdout/stderr, the reaction to the signal flags (Ctrl-C pauses, SIGHUP/SIGTERM autosave), and
 * closing it. The prompt and the dashboard are the server's clients (src/server); nothing here draws. */
#ifndef SMARTTY_CONSOLE_HOST_H
#define SMARTTY_CONSOLE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "console/console.h"

/* Lines to stdout, errors ("error: ...") to stderr. */
void con_out_plain(void *ud, con_out_kind kind, const char *text);

/* con_init with out, the training session attached, the signal handlers installed (dashboard 1: curses
 * keeps SIGWINCH) and their flags wired into c (c->intr, c->hup). */
void con_host_open(con_ctx *c, con_out_fn out, int dashboard);
/* Stop the session and free c. */
void con_host_close(con_ctx *c);

/* Act on the signal flags (signals.c; c->intr, set by Ctrl-C or by an attached console's interrupt
 * frame): Ctrl-C pauses a running training; SIGHUP/SIGTERM finish the current step, write a
 * checkpoint to con_state_path("autosave-PID"), say where and set c->quit with the exit status.
 * Returns 1 when the host should leave. */
int con_handle_signals(con_ctx *c);

/* What Ctrl-C does to the run: a running (or stepping) training pauses, saying so. Returns 1 when
 * it was training (whether or not the pause succeeded: an error is said), else 0. */
int con_interrupt(con_ctx *c);

/* Save unsaved training to the autosave place (see con_handle_signals); path receives where.
 * Returns 0 (saved, or nothing to save: path is then ""), or 1 with the error reported. */
int con_autosave(con_ctx *c, char *path, size_t cap);

#endif
