/* session.h: a training session: the trainer's state (through a backend), the hyperparameters, the
 * step counter, the journal, snapshots, breakpoints and a history of records, driven either
 * synchronously (`smartty train`, tests) or from its own thread through a command queue (the
 * console). It never prints: observers read a consistent copy of its state and receive events.
 *
 * Threading. After sm_session_start, one trainer thread alone touches the backend (model, optimizer,
 * teacher, data, RNGs). Other threads call sm_session_command, which queues the command and waits
 * for its reply; commands are applied at step boundaries (between two steps, or at a breakpoint),
 * so a `set` takes effect at the next step and its reply says at which step. sm_session_view copies
 * the latest state under the session's mutex. Events are delivered on the trainer thread, without
 * the session's lock held; a handler must not call sm_session_command (it would wait on itself)
 * but may call sm_session_view. Without sm_session_start, sm_session_command runs each command in
 * the caller's thread (a TRAIN returns when the run ends) and events arrive in the caller's thread.
 *
 * Steps. The step counter counts resolved batches: applied updates, updates skipped because they
 * were not finite, and updates discarded at a breakpoint. Record i carries step i (1-based); the
 * journal stores the counter's value when each event took effect (see journal.h for replay).
 *
 * Breakpoints. A hook supplied by the console is evaluated on every step's record after the
 * gradients are computed and BEFORE the update is applied ('s'), and after every evaluation ('e').
 * When it fires on a step the session pauses AT_BREAK with the update pending; the weights,
 * moments and teacher are still those before the step. Then:
 *   - RESUME with SM_PENDING_APPLY applies the pending update exactly as computed (with the
 *     hyperparameters in force when it was computed) and carries on;
 *   - RESUME with SM_PENDING_DISCARD drops it: weights, moments and teacher stay as they are, the
 *     batch is consumed and the step counts as skipped (record.skipped = 1), as a non-finite
 *     update would be;
 *   - STEP n applies the pending update as the first of its n steps;
 *   - STOP discards the pending update, then stops;
 *   - REWIND drops it (the snapshot restores everything);
 *   - SET/PRESET change the hyperparameters of the following steps (they take effect at the step
 *     after the pending one; the reply says so);
 *   - SNAPSHOT and SAVE capture the state before the pending step (the step will be computed again
 *     after a rewind or a load).
 * After an evaluation breakpoint there is no pending update: RESUME continues either way. */
#ifndef SMARTTY_SESSION_H
#define SMARTTY_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* A run whose updates are skipped as non-finite this many steps in a row has diverged: it stops
 * with SM_ERR_NONFINITE and a message naming the steps. */
#define SM_SESSION_MAX_SKIPPED 20

#include "smartty/capture.h"
#include "smartty/common.h"
#include "smartty/hparams.h"
#include "smartty/journal.h"
#include "smartty/record.h"

/* ---- the backend: the model, optimizer, teacher, data and RNGs the session drives ---- */

/* The state's arrays are sm_state_tensor (capture.h). */

/* Every function runs on the thread that owns the session's state (the trainer thread once
 * started). Statuses and errors as everywhere in the library. */
typedef struct sm_session_backend {
    void *ctx;
    /* Make ready to train with hp before the first step (allocate the optimizer, teacher...); called
     * again after a rewind or a restore. */
    sm_status (*prepare)(void *ctx, const sm_hparams *hp, sm_error *e);
    /* The hyperparameters changed between steps. */
    sm_status (*set_hparams)(void *ctx, const sm_hparams *hp, sm_error *e);
    /* Total steps of the run that hp plans (max_steps, or epochs times batches per epoch). */
    int64_t (*planned_steps)(void *ctx, const sm_hparams *hp);
    /* Steps in one epoch with hp (batches of the training data; may be NULL, or 0 when unknown): for
     * counting the evaluations at the ends of epochs that a run still does. */
    int64_t (*epoch_steps)(void *ctx, const sm_hparams *hp);
    /* Take the next batch and compute the step's gradients and record; the weights do not change.
     * *epoch_end = 1 when this batch was its epoch's last. */
    sm_status (*compute)(void *ctx, sm_step_record *rec, int *epoch_end, sm_error *e);
    /* Apply the computed update (or skip it when not finite, setting rec->skipped). */
    sm_status (*apply)(void *ctx, sm_step_record *rec, sm_error *e);
    /* Drop the computed update: nothing but the data position changes. */
    void (*discard)(void *ctx);
    /* Evaluate on the dev set (NULL, or SM_ERR_STATE when there is none), telling progress (may be
     * NULL) how far it got; its nonzero stops it early (SM_ERR_CANCELLED). */
    sm_status (*eval)(void *ctx, sm_eval_record *ev, const sm_progress *progress, sm_error *e);
    /* The arrays of the state, i in [0, tensor_count). Sizes never change after prepare. */
    size_t (*tensor_count)(void *ctx);
    void (*tensor_at)(void *ctx, size_t i, sm_state_tensor *out);
    /* Everything else of the state (counters, RNGs, data position) as a JSON object text (caller
     * frees), and back. */
    char *(*state_to_json)(void *ctx);
    sm_status (*state_from_json)(void *ctx, const char *json, sm_error *e);
    /* Write the model as a Hugging Face folder into dir (which exists). NULL: not supported. */
    sm_status (*save_model)(void *ctx, const char *dir, sm_error *e);
    void (*free)(void *ctx);
} sm_session_backend;

/* ---- the session ---- */

typedef enum sm_session_state {
    SM_SESSION_STOPPED = 0, /* no run in progress */
    SM_SESSION_RUNNING,     /* a run is going */
    SM_SESSION_PAUSED,      /* a run is paused (steps remain) */
    SM_SESSION_AT_BREAK,    /* a breakpoint fired; see `pending` */
    SM_SESSION_STEPPING     /* running the n steps of a STEP, then pauses */
} sm_session_state;
const char *sm_session_state_name(sm_session_state s);

typedef enum sm_pending_action { SM_PENDING_APPLY = 0, SM_PENDING_DISCARD } sm_pending_action;

typedef enum sm_cmd_kind {
    SM_CMD_SET = 0,  /* name = value */
    SM_CMD_PRESET,   /* name */
    SM_CMD_TRAIN,    /* n steps (n > 0), or epochs (epochs > 0), or to the end of the plan (both
                        0). The learning-rate schedule and beta switch always follow the plan of
                        the hyperparameters (max_steps, else epochs), whatever n is */
    SM_CMD_STEP,     /* n steps (>= 1) from a paused or stopped state, then pause */
    SM_CMD_PAUSE,
    SM_CMD_RESUME,   /* pending: what to do with an update pending at a breakpoint */
    SM_CMD_STOP,
    SM_CMD_EVAL,
    SM_CMD_SNAPSHOT, /* name */
    SM_CMD_REWIND,   /* name */
    SM_CMD_SAVE,     /* path: checkpoint folder */
    SM_CMD_DISCARD,  /* (journal replay) compute the next step and drop its update */
    SM_CMD_CALL,     /* run fn(session, arg, err) on the thread that owns the state (loads...) */
    SM_CMD_CHECKOUT, /* name: return exactly to branch name's latest state (a run is paused first) */
    SM_CMD_BRANCH,   /* name: rename the active branch */
    SM_CMD_EXPLORE   /* arg: an sm_explore_spec (copied): run each variant as a branch */
} sm_cmd_kind;

struct sm_session;
typedef sm_status (*sm_session_call_fn)(struct sm_session *s, void *arg, sm_error *e);

typedef struct sm_session_cmd {
    sm_cmd_kind kind;
    sm_session_call_fn fn; /* CALL */
    void *arg;             /* CALL */
    char name[64];
    char value[256];
    char path[4096];
    int64_t n;
    int64_t epochs;
    sm_pending_action pending;
} sm_session_cmd;

typedef struct sm_session_reply {
    sm_status status;
    sm_error err;
    int64_t step;        /* the step counter when the command took effect */
    int64_t effect_step; /* SET/PRESET: the first step computed with the new values */
    char msg[256];       /* a short human summary ("lambda_s = 3 from step 121") */
} sm_session_reply;

/* The typed event stream from the session to every display. An event is plain data: records are held
 * by value and strings are the event's own (after sm_session_event_copy), so it can be queued, sent
 * to another thread or serialised; nothing in it points into the session. Displays choose colours,
 * curve markers and de-duplication from `kind` alone and render the text in one place each. */
typedef enum sm_event_kind {
    SM_EVENT_STATE = 0,  /* the run state changed: state (sm_session_state), msg its name */
    SM_EVENT_STEP,       /* a step completed (every step; printers use log_every): rec */
    SM_EVENT_CHANGE,     /* a hyperparameter changed: name, old_value, new_value; step: the last step
                            computed with the old value (the change takes effect at step + 1) */
    SM_EVENT_EVAL,       /* an evaluation completed: eval */
    SM_EVENT_CHECKPOINT, /* a checkpoint was written: msg is the folder */
    SM_EVENT_BREAK,      /* a breakpoint fired: msg the condition with its values; rec (a step's,
                            before its update) or eval (after an evaluation) */
    SM_EVENT_WARN,       /* e.g. a non-finite update was skipped: msg */
    SM_EVENT_DONE,       /* a run reached its end: rec and eval the last ones when has_rec/has_eval */
    SM_EVENT_ERROR,      /* the trainer failed; the run stopped: msg is the error */
    SM_EVENT_SNAPSHOT,   /* a snapshot was taken: name, at step */
    SM_EVENT_REWIND,     /* a rewind restored snapshot `name`: step and epoch are the restored ones,
                            from_step the step left; rec/eval the restored latest records when known */
    SM_EVENT_NOTICE,     /* a notice: level, msg; a library one (sm_log, which the console queues) or
                            the session's own (save_limit removing a checkpoint folder) */
    SM_EVENT_REPLY,      /* a command's reply (the console's): level is the console's output kind */
    SM_EVENT_BRANCH,     /* a branch was made, checked out or renamed, or an exploration's variant
                            began or it ended: name the active branch, msg what happened */
    SM_EVENT_KIND_COUNT
} sm_event_kind;

typedef struct sm_session_event {
    sm_event_kind kind;
    int64_t step;              /* the step counter when it happened */
    int64_t from_step;         /* REWIND: the step left */
    int epoch;                 /* REWIND: the restored epoch (0-based); else the current one */
    int state;                 /* STATE: the new sm_session_state */
    int level;                 /* NOTICE: sm_log_level; REPLY: the console's output kind */
    int has_rec, has_eval;
    sm_step_record rec;        /* valid when has_rec */
    sm_eval_record eval;       /* valid when has_eval */
    const char *name;          /* CHANGE: the hyperparameter; SNAPSHOT, REWIND: the snapshot; else NULL */
    const char *old_value;     /* CHANGE: canonical text of the values; else NULL */
    const char *new_value;
    const char *msg;               /* the message of BREAK, CHECKPOINT, WARN, ERROR, NOTICE, REPLY, STATE */
} sm_session_event;

/* Deep copy (dst receives its own strings); SM_ERR_NOMEM leaves dst empty. Free with
 * sm_session_event_free, which frees the strings and zeroes ev (an event delivered to a handler
 * belongs to the session: copy it to keep it). */
sm_status sm_session_event_copy(sm_session_event *dst, const sm_session_event *src, sm_error *e);
void sm_session_event_free(sm_session_event *ev);
/* "change", "eval", "rewind", ...: the kind's stable name (for logs and serialisation). */
const char *sm_event_kind_name(sm_event_kind k);
typedef void (*sm_session_event_fn)(void *ud, const sm_session_event *ev);

/* The breakpoint hook: when = 's' (a computed step, before its update: s is its record, ev the last
 * evaluation or NULL) or 'e' (after an evaluation: ev, and s the last step or NULL). Return nonzero
 * to break and write why into why[cap]. Called on the trainer thread. */
typedef int (*sm_break_fn)(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev,
                           char *why, size_t cap);

/* The waiting hook: while a command posted from another thread runs on the trainer thread, the
 * posting thread calls it about every 50 ms with the command's kind and the session's lock released
 * (a server goes on reading its clients during a long evaluation or save). Nonzero asks the command
 * to end early: an evaluation then stops between batches with SM_ERR_CANCELLED (Ctrl-C); the others
 * run to their end. A command posted from inside the hook waits without calling it again. */
typedef int (*sm_session_wait_fn)(void *ud, sm_cmd_kind kind);

/* A consistent copy of what observers show. */
typedef struct sm_session_view {
    sm_session_state state;
    int64_t step;            /* the step counter */
    int epoch;               /* epoch of the last batch */
    int64_t planned;         /* steps planned by the hyperparameters */
    int64_t run_end;         /* the step at which the current run ends (0 when none) */
    double progress;         /* step / planned, in [0, 1] (0 when nothing is planned) */
    double examples_per_s;   /* of the last step */
    int has_step, has_eval, has_best;
    sm_step_record last;     /* the last resolved step */
    sm_eval_record eval;     /* the last evaluation */
    sm_eval_record best;     /* the best evaluation so far (by the task's main metric) */
    int pending;             /* 1: an update is pending at a breakpoint */
    sm_step_record pending_rec;
    char why[256];           /* why the breakpoint fired */
    sm_hparams hp;
    int dirty;               /* 1: steps were taken since the last save */
    size_t n_snapshots;
    char branch[64];         /* the active branch */
    int explore_variant;     /* an exploration runs: variant (1-based) of explore_total; else 0 */
    int explore_total;
    int64_t eval_done;       /* an evaluation in progress: rows done of eval_total; else both 0 */
    int64_t eval_total;
    int64_t eval_owed;       /* >= 0: the run's evaluation after this step was ended early by a pause or
                                an interrupt; it runs again, whole, before the next step; -1 none */
    int64_t evals_left;      /* the evaluations the run (to run_end, else planned) still does after this
                                step: every eval_every steps or at each epoch's end, and at its end;
                                an owed one counts; 0 when nothing is planned */
} sm_session_view;

typedef struct sm_session sm_session;

/* A session over a backend (its functions are copied; the session frees ctx through free). The
 * journal starts empty; hp is the starting hyperparameters. */
sm_status sm_session_new(const sm_session_backend *be, const sm_hparams *hp, sm_session **out,
                         sm_error *e);
/* Stops the thread if it runs, then frees everything (backend included). */
void sm_session_free(sm_session *s);

/* Observers (set before sm_session_start, or while stopped). */
void sm_session_set_event_fn(sm_session *s, sm_session_event_fn fn, void *ud);
void sm_session_set_break_fn(sm_session *s, sm_break_fn fn, void *ud);
void sm_session_set_wait_fn(sm_session *s, sm_session_wait_fn fn, void *ud);
/* Steps kept in the history (default 100000; older ones are dropped). */
void sm_session_set_history_cap(sm_session *s, size_t cap);

/* Where the checkpoints of save_every (DIR/checkpoint-STEP, the last save_limit kept) and save_best
 * (DIR/best) go; "" or NULL: none are written. Set before training. */
void sm_session_set_output_dir(sm_session *s, const char *dir);
const char *sm_session_output_dir(sm_session *s);

/* Start/stop the trainer thread. sm_session_join waits for the thread to end (after it applied
 * every queued command; a run in progress is paused first). */
sm_status sm_session_start(sm_session *s, sm_error *e);
void sm_session_join(sm_session *s);

/* Run a command: queued to the trainer thread and waited for (threaded), or run now. The reply
 * (may be NULL) receives the status, the error and the step at which it took effect. */
sm_status sm_session_command(sm_session *s, const sm_session_cmd *cmd, sm_session_reply *reply);
/* Convenience forms. */
sm_status sm_session_set(sm_session *s, const char *name, const char *value, sm_session_reply *r);
sm_status sm_session_train(sm_session *s, int64_t steps, sm_session_reply *r);
sm_status sm_session_step(sm_session *s, int64_t n, sm_session_reply *r);
sm_status sm_session_simple(sm_session *s, sm_cmd_kind kind, sm_session_reply *r);
sm_status sm_session_named(sm_session *s, sm_cmd_kind kind, const char *name, sm_session_reply *r);
sm_status sm_session_resume(sm_session *s, sm_pending_action pending, sm_session_reply *r);

/* Ask the run to pause at the next step boundary (async-signal-safe: only sets a flag). */
void sm_session_interrupt(sm_session *s);
/* End a posted `eval` that the trainer thread runs now before its next batch, as its poster's waiting
 * hook would (its reply: "evaluation interrupted after N of M rows"); for a server that shuts down
 * while another client's command waits. Any thread; 1 when one was running. */
int sm_session_cancel_eval(sm_session *s);

/* Run fn(s, arg, e) where the state lives (on the trainer thread, at a step boundary), e.g. the
 * loads below; the reply carries its status and error. */
sm_status sm_session_call(sm_session *s, sm_session_call_fn fn, void *arg, sm_session_reply *r);

/* Threaded: wait until the state is neither RUNNING nor STEPPING (timeout_s < 0: forever).
 * Returns 1 when it is so, 0 on timeout. */
int sm_session_wait_idle(sm_session *s, double timeout_s);

void sm_session_view_get(sm_session *s, sm_session_view *v);
/* Copies of the history's step records (oldest first) and of the evaluations; caller frees. */
size_t sm_session_history(sm_session *s, sm_step_record **out);
size_t sm_session_evals(sm_session *s, sm_eval_record **out);
/* Write every step record of the history as CSV (libcsv quoting): a header of record.h's step
 * field names and "branch", then one row per step; dev fields are filled on the rows where an
 * evaluation ran; branch names the branch that trained the step (the active one's line). */
sm_status sm_session_export_metrics(sm_session *s, const char *path, sm_error *e);
/* A copy of the journal (free with sm_journal_free). */
sm_status sm_session_journal(sm_session *s, sm_journal *out, sm_error *e);
/* Record an action that happened outside the session (the console's loads, breakpoints...) at the
 * current step. */
sm_status sm_session_journal_add(sm_session *s, const char *op, int argc, const char *const *argv,
                                 sm_error *e);

/* Apply one journal event as replay does: train (no breakpoints) until the step counter equals
 * ev->step, then apply set, preset, snapshot, rewind, discard, eval, save. Events that only mark
 * what happened (train, step, pause, resume, stop, done, break, delete, by) just advance. Loads and
 * any other op return SM_ERR_UNSUPPORTED with the step reached, for the caller to handle. Only
 * without the thread. */
sm_status sm_session_apply_event(sm_session *s, const sm_journal_event *ev, sm_error *e);
/* A journal is untrusted input: an event beyond both the plan and the furthest step its train and
 * step events reach is refused (SM_ERR_RANGE, with the numbers). While replay trains towards an
 * event it stops with SM_ERR_CANCELLED as soon as *a or *b (a signal handler's flags; either may be
 * NULL) or sm_session_interrupt says so, and calls progress (if any) about every quarter second
 * (its caller decides what to print; a server reads its clients' frames there, Ctrl-C's too). */
void sm_session_set_replay_watch(sm_session *s, volatile sig_atomic_t *a, volatile sig_atomic_t *b,
                                 void (*progress)(void *ud, int64_t step, int64_t target), void *ud);

/* Restore the training state of the checkpoint in dir (already resolved) into s, whose backend
 * already holds the model loaded from the same folder: hyperparameters, counters, generators, data
 * position, teacher and moments, the history, and the journal (the checkpoint's, followed by the
 * events s had already journalled, e.g. its loads, stamped with the checkpoint's step). Saving is
 * the SAVE command. Only while no step runs. */
sm_status sm_session_restore_checkpoint(sm_session *s, const char *dir, sm_error *e);
/* The arrays of the state (the backend's), i in [0, count): to compare weights. Only while no step
 * runs (stopped, paused, at a breakpoint, or from an event handler of the trainer thread). */
size_t sm_session_tensor_count(sm_session *s);
void sm_session_tensor_at(sm_session *s, size_t i, sm_state_tensor *out);
int64_t sm_session_step_count(sm_session *s); /* any thread */
const sm_hparams *sm_session_hparams(sm_session *s);
/* 1 while a run is in progress (running, stepping, paused or at a breakpoint). */
int sm_session_busy(sm_session *s);
/* The backend's ctx when its free function is free_fn (a type check for backend-specific calls),
 * else NULL. */
void *sm_session_backend_ctx(sm_session *s, void (*free_fn)(void *ctx));
/* The backend's model or data changed (a load before training): prepare it again before the next
 * step. Only at step 0. */
sm_status sm_session_reset(sm_session *s, sm_error *e);

/* ---- branches (session_branch.c) ----
 * A rewind to a snapshot starts a new branch, named after the snapshot ("a.1", "a.2"...); the branch
 * left keeps its records, hyperparameters, journal and latest state. Each branch's journal is its
 * parent's up to the snapshot, then its own, so a checkpoint saved on a branch replays to it bit for
 * bit whatever else was explored. The first branch is "main". */
typedef struct sm_branch_info {
    char name[64];
    char parent[64];         /* the branch the snapshot was taken on ("" for the first) */
    char from[64];           /* the snapshot it forked from ("" for the first) */
    int64_t fork_step;
    int64_t step;            /* its latest step */
    int64_t steps;           /* steps trained on it */
    int active;
    int depth;               /* in the tree (0 for the first) */
    double wall_s;           /* seconds of its steps */
    double examples_per_s;   /* mean over its steps (0 when none) */
    int has_eval, has_best;
    sm_eval_record eval, best;
    sm_hparams hp, fork_hp;  /* its values now, and the snapshot's */
} sm_branch_info;

/* The branches in tree order (each after its parent); caller frees. Any thread. */
size_t sm_session_branches(sm_session *s, sm_branch_info **out);
/* Copies of one branch's step records and evaluations (its whole line: the parent's up to the fork,
 * then its own); SM_ERR_NOTFOUND when there is no such branch. Any thread. */
sm_status sm_session_branch_records(sm_session *s, const char *name, sm_step_record **steps, size_t *n,
                                    sm_eval_record **evals, size_t *ne, sm_error *e);
/* The task's dev metric of ev by hp's best_metric (auto: accuracy, else Pearson; loss negated so
 * higher is better); *name receives its name. NAN when the evaluation lacks it. */
double sm_eval_main_metric(const sm_hparams *hp, const sm_eval_record *ev, const char **name);
/* "lambda_s=3 mu=1": the hyperparameters of hp that differ from fork, whole entries within cap;
 * when they do not all fit, those that do and " ..." (never an entry cut short). */
void sm_branch_knobs(const sm_hparams *hp, const sm_hparams *fork, char *buf, size_t cap);
/* One row per branch: its name, parent, fork step, steps, the knobs that differ from the parent,
 * last and best dev metric, examples/s, wall time (CSV, written atomically). */
sm_status sm_session_export_compare(sm_session *s, const char *path, sm_error *e);

/* ---- explore (session_explore.c) ---- */
#define SM_EXPLORE_MAX_PARAMS 4
#define SM_EXPLORE_MAX_VALUES 16
#define SM_EXPLORE_MAX_VARIANTS 64
typedef struct sm_explore_spec {
    int n_params;
    char names[SM_EXPLORE_MAX_PARAMS][64];
    int n_values[SM_EXPLORE_MAX_PARAMS];
    char values[SM_EXPLORE_MAX_PARAMS][SM_EXPLORE_MAX_VALUES][64];
    int64_t steps;           /* per variant */
    char from[64];           /* the snapshot; "" takes one of the current state first */
    int keep_best;           /* 1: end on the best variant; 0: return to where it started */
} sm_explore_spec;

typedef struct sm_explore_result {
    char branch[64];
    char knobs[256];         /* "lambda_s=3 mu=1" */
    int done;                /* 1: its N steps ran */
    int has_eval;
    sm_eval_record eval;     /* at its end */
    double metric;           /* the task's dev metric at its end (NAN when none) */
    double wall_s, examples_per_s;
} sm_explore_result;

typedef struct sm_explore_status {
    int active;              /* 1 while it runs */
    int variant, total;      /* the variant running (1-based) or last run, of total */
    char metric[16];         /* the metric's name */
    int n;
    sm_explore_result res[SM_EXPLORE_MAX_VARIANTS]; /* in grid order */
    char kept[64];           /* at the end: the branch it ended on */
    double switch_s;         /* seconds spent outside the variants' steps so far (taking the snapshot,
                                rewinding to it for each variant, the last checkout): what explore
                                costs beyond K x N steps */
} sm_explore_status;
/* The latest exploration (its table). Any thread. */
void sm_session_explore_status(sm_session *s, sm_explore_status *out);

/* ---- the snapshots' memory (snapshot_spill.c) ---- */
/* At most budget bytes of snapshot arrays in memory (0: no limit); beyond it the oldest spill to
 * files in dir (atomic: a temporary file, fsync, rename; read back with a length and checksum
 * check). Set while no step runs. The spill files that processes gone since left in dir (killed
 * with -9) are removed. */
void sm_session_set_snapshot_budget(sm_session *s, size_t budget, const char *dir);
typedef struct sm_snapshot_info {
    char name[64];           /* a snapshot's, or "branch NAME" for a branch's latest state */
    int64_t step;
    size_t bytes;
    int spilled;             /* 1: on disk */
    char path[4096];         /* its file when spilled */
} sm_snapshot_info;
/* Caller frees. Any thread. */
size_t sm_session_snapshots(sm_session *s, sm_snapshot_info **out);

/* The BERT backend and its loads are session_bert.h's. */

#endif
