/* client.h: what the run server's clients share (client.c, client_dash.c): a local mirror of the
 * run fed by status and history frames, connecting with a hello, the text of an event frame, and
 * the attached dashboard. No sockets of their own beyond sock.h's connection. */
#ifndef SMARTTY_SERVER_CLIENT_H
#define SMARTTY_SERVER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "server/proto.h"
#include "server/sock.h"
#include "ui/dash.h"

/* The run as the server last described it. */
typedef struct cl_mirror {
    sv_status st;
    int has_status;
    sm_step_record *steps; /* the history (reduced on attach), then every step since */
    size_t n_steps, cap_steps;
    sm_eval_record *evals;
    size_t n_evals, cap_evals;
    int history_done;      /* the attach history has arrived whole */
    unsigned generation;   /* counts the full histories received (a rewind sends one again) */
} cl_mirror;

void cl_mirror_init(cl_mirror *m);
void cl_mirror_free(cl_mirror *m);
/* Take a STATUS or HISTORY frame (others are ignored). */
void cl_mirror_take(cl_mirror *m, const sv_msg *msg);

/* Connect to name as role (history: points wanted on attach; confirm: 1 when a person at a terminal
 * answers questions, so `shutdown` with unsaved training asks instead of refusing) and wait for the
 * server's hello. Returns 0, or 1 with a message on stderr (cmd names the subcommand). */
int cl_open(sv_conn *c, const char *cmd, const char *name, const char *role, int64_t history, int confirm,
            sv_msg *hello);

/* The same over a connected descriptor fd (the local console's in-process server: sv_local_start). */
int cl_open_fd(sv_conn *c, int fd, const char *cmd, const char *name, const char *role, int64_t history,
               int confirm, sv_msg *hello);

/* 1: this client is the local console of an in-process server (repl.c): `quit` and `detach` go to the
 * server (quit ends the session, asking first as it always did), a hang-up waits for the server's
 * autosave and bye, and nothing says "attach". */
extern int cl_local;

/* This client's name (the author of its commands), once cl_open said hello. */
extern char cl_self[256];

/* An EVENT frame as one line of text (its author named); 0 when the event has no text. */
size_t cl_event_text(const sv_msg *msg, char *buf, size_t cap);

/* Tab completion over the connection: send a complete frame for line (the text up to the cursor)
 * and wait up to CL_COMPLETE_WAIT seconds for its answer, handing each candidate to add; the
 * frames that come meanwhile are queued on c for the next sv_conn_recv (none is lost). `detach`,
 * the attached console's own word, is offered as a command name too (`shutdown` is typed whole).
 * Returns 1 when the word is a file name (the caller completes paths itself, in its own working
 * folder), else 0. When the server is older (it does not know the frame) or busy past the wait
 * (inside a long command such as `load`), only command names are offered, from this program's own
 * table; when it is gone, nothing. */
#define CL_COMPLETE_WAIT 1.0
int cl_complete(sv_conn *c, const char *line, void (*add)(void *ud, const char *w), void *ud);

/* Ctrl-C in an attached console: when the mirrored run is training (running or stepping) or busy (a
 * command of ours waits), send an interrupt frame (the server pauses the run and ends a wait, as a
 * local console's Ctrl-C does) and return 1; else 0 (the caller clears its line). mir may be NULL
 * when busy (ctl, which mirrors nothing). */
int cl_interrupt(sv_conn *c, const cl_mirror *mir, int busy);

/* The dashboard over the connection until detach, a hang-up or the server's end. Returns the exit
 * status (0 detached, 1 the server ended). Closes c. */
int cl_dash_run(sv_conn *c, const char *name, ui_options *o);

/* The plain console over the connection (tty: a person types at a terminal) until detach, the end
 * of standard input or the server's end. Returns the exit status (0, or 1 a command failed or the
 * server ended). Closes c. */
int cl_attach_plain(sv_conn *c, const char *name, int tty);

#endif
