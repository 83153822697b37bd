/* console.h: the console's core, independent of any display: a context holding the console's state
 * (settings, breakpoints, the hyperparameters of the next run), the one output function every line
 * goes through, the dispatcher of command lines, and the backend (the training session) that the
 * commands drive. The REPL (repl.c) and the dashboard both host this core; neither lives here. */
#ifndef SMARTTY_CONSOLE_CONSOLE_H
#define SMARTTY_CONSOLE_CONSOLE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "console/breakpoint.h"
#include "console/cmdtab.h"
#include "console/settings.h"
#include "smartty/common.h"
#include "smartty/hparams.h"
#include "smartty/record.h"

/* ---- output: every line the console produces goes through one function ---- */
typedef enum con_out_kind {
    CON_OUT_RESULT = 0, /* the answer to a command (`get`, `show`, `help`) */
    CON_OUT_INFO,       /* notices: "lambda_s = 3 from step 121" */
    CON_OUT_ERROR,      /* a failed command: "train: no model loaded (`load model PATH`)" */
    CON_OUT_PROGRESS,   /* a progress line of a running training */
    CON_OUT_EVENT,      /* asynchronous events: breakpoint fired, evaluation done, run finished */
    CON_OUT_CHANGE      /* the reply to a change of a value: "lr = 0.0005", "preset paper: ..." */
} con_out_kind;

/* Receives one message (no trailing newline; may contain newlines). Called on the main thread. */
typedef void (*con_out_fn)(void *ud, con_out_kind kind, const char *text);

/* ---- the training session as the console sees it ---- */
typedef enum con_run_state {
    CON_RUN_EMPTY = 0, /* no model */
    CON_RUN_IDLE,      /* a model, no training in progress */
    CON_RUN_RUNNING,
    CON_RUN_PAUSED,
    CON_RUN_BREAK,     /* paused by a breakpoint, the step's update pending */
    CON_RUN_STEPPING,
    CON_RUN_DONE       /* the planned steps are done */
} con_run_state;

const char *con_run_state_name(con_run_state s);

typedef struct con_status {
    con_run_state state;
    int64_t step;        /* optimizer steps completed */
    int64_t planned;     /* steps planned for the run, 0 when unknown */
    int epoch;
    int64_t unsaved;     /* steps trained since the last save or load */
    int has_step;
    sm_step_record last; /* the latest step (valid when has_step) */
    int has_eval;
    sm_eval_record eval; /* the latest evaluation (valid when has_eval) */
    char model[4096];    /* what is loaded, for headers: path or "new: 2 layers, hidden 128, 2 heads" */
    char data[4096];
    char branch[64];     /* the active branch ("" when the backend has none) */
    int explore_variant; /* an exploration runs: variant (1-based) of explore_total; else 0 */
    int explore_total;
    int64_t eval_done;   /* an evaluation in progress: dev rows done of eval_total; else both 0 */
    int64_t eval_total;
    int64_t evals_left;  /* evaluations the run still does after this step (counting an owed one) */
    int64_t eval_owed;   /* > 0: the run's evaluation after this step was ended early by a pause; it runs
                            again before the next step; 0 none */
} con_status;

struct con_ctx;
struct sm_data_opts;
struct sm_session_event;
struct sm_branch_info;
struct sm_explore_spec;
struct sm_explore_status;
struct sm_snapshot_info;

/* Operations on the training session. Any may be NULL (the command then says that this build has
 * no training session). Each returns SM_OK or fills e. Calls come from the main thread only. */
typedef struct con_backend {
    sm_status (*load_model)(void *ud, const char *path, sm_error *e);
    sm_status (*new_model)(void *ud, int argc, char *const *argv, sm_error *e);
    /* Resume a smartty checkpoint with the data it saved (train: a moved training file, or NULL). */
    sm_status (*resume_checkpoint)(void *ud, const char *dir, const char *train, sm_error *e);
    /* split is "train" or "dev"; o the parsed data options (data.h) */
    sm_status (*load_data)(void *ud, const char *split, const char *path, const struct sm_data_opts *o,
                           sm_error *e);
    /* Set one hyperparameter (already validated). While training runs it takes effect at the next
     * step boundary; *at_step receives the completed steps when it took (or will take) effect. */
    sm_status (*set_hparam)(void *ud, int id, double v, int64_t *at_step, sm_error *e);
    /* Start (or extend) training for count steps or epochs (count 0: the configured epochs). */
    sm_status (*train)(void *ud, int64_t count, int epochs, sm_error *e);
    sm_status (*pause)(void *ud, sm_error *e);
    /* Resume; at a breakpoint apply (1) or discard (0) the pending update. */
    sm_status (*resume)(void *ud, int apply_pending, sm_error *e);
    /* Run exactly n steps from a paused state and return when they are done (or a breakpoint). */
    sm_status (*step)(void *ud, int64_t n, sm_error *e);
    sm_status (*eval)(void *ud, sm_eval_record *out, sm_error *e);
    /* End an `eval` the trainer runs now (posted by a command this thread waits for) early; 1 when one
     * ran. From inside the wait only (a server that shuts down during another client's eval). */
    int (*cancel_eval)(void *ud);
    sm_status (*stop)(void *ud, sm_error *e);
    sm_status (*snapshot)(void *ud, const char *name, sm_error *e);
    sm_status (*rewind)(void *ud, const char *name, int64_t *step, sm_error *e);
    sm_status (*save)(void *ud, const char *dir, sm_error *e);
    sm_status (*export_metrics)(void *ud, const char *path, sm_error *e);
    sm_status (*replay)(void *ud, const char *path, sm_error *e);
    sm_status (*predict)(void *ud, const char *text_a, const char *text_b, char *out, size_t cap,
                         sm_error *e);
    /* Print what (model, data or journal) through con_print. */
    sm_status (*show)(void *ud, const char *what, struct con_ctx *c, sm_error *e);
    void (*status)(void *ud, con_status *out);
    /* Wait up to timeout seconds for news from the trainer. */
    void (*wait)(void *ud, double timeout);
    /* Record a console action in the session's journal (break, delete): replay skips them. */
    sm_status (*journal)(void *ud, const char *op, int argc, const char *const *argv, sm_error *e);
    /* Step records from position from (0-based) of the run's history, at most cap; *total gets the
     * history's length (shorter than before: it was replaced, e.g. by a rewind). Evaluations alike. */
    size_t (*steps)(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total);
    size_t (*evals)(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total);
    /* Hand over what happened since the last call (breakpoints fired, evaluations, the end of the
     * run, warnings) through con_event. Called by the REPL loop and the dashboard. */
    void (*poll)(void *ud, struct con_ctx *c);
    /* Branches and exploration (session.h; cmd_branch.c): the branches in tree order (caller frees),
     * one branch's records (caller frees both), checkout (msg: what happened, e.g. that a run was
     * paused first), rename the active branch, start an exploration, its table, the comparison
     * CSV, and the snapshots with their bytes (caller frees). */
    size_t (*branches)(void *ud, struct sm_branch_info **out);
    sm_status (*branch_records)(void *ud, const char *name, sm_step_record **steps, size_t *n,
                                sm_eval_record **evals, size_t *ne, sm_error *e);
    sm_status (*checkout)(void *ud, const char *name, char *msg, size_t cap, sm_error *e);
    sm_status (*branch_rename)(void *ud, const char *name, sm_error *e);
    sm_status (*explore)(void *ud, const struct sm_explore_spec *spec, char *msg, size_t cap, sm_error *e);
    void (*explore_status)(void *ud, struct sm_explore_status *out);
    sm_status (*export_compare)(void *ud, const char *path, sm_error *e);
    size_t (*snapshots)(void *ud, struct sm_snapshot_info **out);
} con_backend;

/* Hooks of the display hosting the console (the dashboard); any may be NULL. */
typedef struct con_host {
    /* `theme NAME`: switch the theme; fill e when it cannot (the current theme stays). */
    sm_status (*theme)(void *ud, const char *name, sm_error *e);
    /* A typed event of the session (session.h), in place of its text: the display renders it and
     * takes colours and curve markers from its kind. NULL: the console prints con_event_text. */
    void (*event)(void *ud, const struct sm_session_event *ev);
    /* `show compare [BRANCH...]`: show the compare view of those branches (none: all). */
    sm_status (*compare)(void *ud, int argc, char *const *argv, sm_error *e);
    /* Called by con_tick after the backend's events, also while a command waits for the run
     * (`wait`, `step N`): a host that serves others (the run server) keeps them up to date. */
    void (*tick)(void *ud);
} con_host;

/* ---- the context ---- */
typedef struct con_ctx {
    con_out_fn out;
    void *out_ud;
    con_settings set;
    con_breaks breaks;
    sm_hparams hp;             /* hyperparameters as the console last set them */
    int64_t hp_changed_at[SM_HP_COUNT]; /* step of the last change, -1 never changed */
    const con_backend *be;     /* may be NULL */
    void *be_ud;
    int interactive;           /* 1: a person types (quit asks; errors do not end the session) */
    int quit;                  /* set by `quit`: the host ends the loop */
    int exit_status;           /* what the program should return */
    int depth;                 /* nesting of `source` */
    const char *where;         /* "script.txt:12" while running a file, for error messages */
    int confirm_quit;          /* 1: the next answer line decides whether to quit (y/N) */
    double last_progress;      /* sm_now() of the last plain progress line */
    int64_t last_progress_step;
    int plain_progress;        /* 1: con_tick prints timestamped progress lines (no dashboard) */
    int waiting;               /* >0 while con_wait_run waits: the events then are the run's, not the
                                  command's (the run server names no author for them) */
    volatile sig_atomic_t *intr; /* set by Ctrl-C (signals.c); NULL: never interrupted */
    volatile sig_atomic_t *hup;  /* set by SIGHUP/SIGTERM: waits and scripts return at once */
    const con_host *host;      /* the display's hooks (may be NULL) */
    void *host_ud;
} con_ctx;

void con_init(con_ctx *c, con_out_fn out, void *ud);
void con_free(con_ctx *c);
void con_set_backend(con_ctx *c, const con_backend *be, void *ud);

/* Output helpers: all go through c->out. con_error prefixes the script position when there is one
 * and returns 1 so handlers can `return con_error(c, ...)`. */
void con_print(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
void con_info(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
void con_event(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
void con_progress(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
void con_change(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
int con_error(con_ctx *c, const char *fmt, ...) SM_PRINTF(2, 3);
/* An error followed by text and a caret under its column col (0-based); returns 1. */
int con_error_at(con_ctx *c, const char *text, int col, const char *fmt, ...) SM_PRINTF(4, 5);

/* The console's command table. */
const con_cmd *con_commands(size_t *n);

/* Let a display host the console: its hooks are then used by `theme`. */
void con_set_host(con_ctx *c, const con_host *host, void *ud);

/* Run one line (possibly several commands separated by ;). Returns 0 when every command succeeded,
 * 1 when one failed (the rest of the line is then skipped unless on_error is continue). */
int con_exec_line(con_ctx *c, const char *line);
/* Run each line of a file (name for messages). Stops at the first failure unless on_error is
 * continue. Returns 0 or 1. */
int con_exec_file(con_ctx *c, const char *path);
/* The same for an open stream (standard input); name is used in messages ("<stdin>:3"). */
int con_exec_stream(con_ctx *c, FILE *f, const char *name);

/* The backend's status (state EMPTY when there is no backend). */
void con_status_get(con_ctx *c, con_status *st);
/* Hand one event of the session to the display (its host's event hook), or print its text
 * (con_event_text) as an event line. */
void con_session_event(con_ctx *c, const struct sm_session_event *ev);
/* Let the backend report events, and emit a plain progress line when one is due (at most one every
 * progress_every seconds). Call from the host's loop. */
void con_tick(con_ctx *c, int plain_progress);
/* Block until the run is no longer running (finished, paused, at a breakpoint) or *c->intr is set
 * (the run is then paused) or *c->hup is set, ticking meanwhile. With until_step > 0, also return
 * once that step is reached. Returns 0, 1 when interrupted by Ctrl-C, 2 by SIGHUP/SIGTERM. */
int con_wait_run(con_ctx *c, int64_t until_step);

/* Answer to a pending confirmation (the host shows con_prompt()). */
const char *con_prompt(const con_ctx *c);

/* Where smartty keeps state: $XDG_STATE_HOME/smartty/NAME, else ~/.local/state/smartty/NAME, else
 * ./NAME. Creates the directory when mkdir_ok. Returns buf or NULL when it does not fit. */
char *con_state_path(char *buf, size_t cap, const char *name, int mkdir_ok);

/* Completion: call add(ud, candidate) for each word that can stand at the cursor, given the line
 * up to the cursor (the word being completed is its last, possibly empty, word). Returns 1 when the
 * word is a file name (the host completes paths itself), else 0. */
int con_complete(const con_ctx *c, const char *line_to_cursor, void (*add)(void *ud, const char *w),
                 void *ud);

/* Call add for the name of each theme file found (the dashboard's themes: ./themes,
 * $XDG_CONFIG_HOME/smartty/themes or ~/.config/smartty/themes, and the installed folder). */
void con_theme_names(void (*add)(void *ud, const char *name), void *ud);

#endif
