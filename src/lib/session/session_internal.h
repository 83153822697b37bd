/* session_internal.h: the session's private structure and the functions its files share:
 * session.c (API, events, journal, view), session_run.c (steps, evaluations, the run's checkpoints,
 * the thread), session_cmd.c (commands), session_state.c (the state's JSON, its capture for
 * snapshots and checkpoints, restore), session_replay.c and session_export.c. Not a public API. */
#ifndef SMARTTY_SESSION_INTERNAL_H
#define SMARTTY_SESSION_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "smartty/capture.h"
#include "smartty/common.h"
#include "smartty/journal.h"
#include "smartty/session.h"

#define SNAP_MAX 64
#define EVAL_CAP 100000
#define BRANCH_MAX 256

/* A snapshot, or a branch's latest state kept while another branch is active. */
typedef struct snapshot {
    char name[64];
    sm_capture cap;   /* the state JSON, copies of the arrays (NULL while spilled), and the
                         history, evaluations and journal that lead to it */
    sm_hparams hp;    /* its hyperparameters */
    int branch;       /* id of the branch it was taken on */
    int64_t step;     /* the step it holds */
    size_t bytes;     /* of its arrays */
    uint64_t seq;     /* when it was taken (the oldest spill first) */
    char *spill;      /* NULL: in memory; else the file that holds its arrays (snapshot_spill.c) */
} snapshot;

/* A branch: what was trained from one snapshot on (session_branch.c). */
typedef struct branch {
    int id;
    char name[64];
    char from[64];      /* the snapshot it forked from ("" for the first branch) */
    int parent;         /* id of the branch that snapshot was taken on; -1 for the first */
    int64_t fork_step;
    sm_hparams fork_hp; /* the snapshot's hyperparameters */
    double wall;        /* seconds of the steps trained on it */
    double eps_sum;     /* sum of their examples/s */
    int64_t steps;      /* steps trained on it */
    int has_tip;        /* inactive: its latest state */
    snapshot tip;
    /* the summary of an inactive branch (the active one's is the session's) */
    sm_hparams hp;
    int64_t step;
    int has_eval, has_best;
    sm_eval_record eval, best;
} branch;

/* An exploration in progress (session_explore.c). */
typedef struct explore_run {
    int active;
    sm_explore_spec spec;
    int total, idx;          /* variants, and the one running (0-based) */
    int start_branch;        /* id of the branch it started from */
    sm_explore_result res[SM_EXPLORE_MAX_VARIANTS];
    int n_res;
    char kept[64];           /* at the end: the branch it ended on */
    double switch_s;         /* wall time outside the variants' steps: the snapshot it takes, each
                                rewind (the left branch kept, the snapshot restored), the sets and the
                                last checkout */
} explore_run;

typedef struct qitem {
    const sm_session_cmd *cmd;
    sm_session_reply *reply;
    int done;
    int cancel;     /* the waiting hook asked it to end early (under mu) */
    struct qitem *next;
} qitem;

struct sm_session {
    sm_session_backend be;
    /* owned by the thread that runs steps (the trainer thread once started) */
    sm_hparams hp;
    int prepared;
    int hp_changed;           /* the backend has not seen hp yet */
    int64_t step;
    int epoch;
    int64_t run_end;          /* TRAIN: the step at which the run ends; 0 none */
    int64_t step_end;         /* STEP: the step at which stepping pauses */
    int pending_epoch_end;
    char *pre_state;          /* backend state before the pending step's compute */
    int64_t last_eval_step;
    int in_cmd;               /* ses_exec_cmd runs a command (its evaluations are not the run's own) */
    int own_eval;             /* the run's own evaluation runs: a pause, stop or interrupt ends it */
    snapshot snaps[SNAP_MAX];
    size_t n_snaps;
    uint64_t snap_seq;
    size_t snap_budget;       /* bytes of snapshot arrays kept in memory; 0 no limit */
    char spill_dir[4096];     /* where snapshots beyond the budget go; "" none given */
    branch *branches;         /* [n_branches] (under mu), the active one branches[cur_branch] */
    size_t n_branches;
    int cur_branch, next_branch_id;
    explore_run explore;
    int replaying;            /* no breakpoints while replay runs to an event */
    char out_dir[4096];       /* where save_every and save_best write; "" none */
    int64_t skipped_in_row;   /* updates skipped as non-finite one after another (SM_SESSION_MAX_SKIPPED) */
    int64_t replay_end;       /* replay: the furthest step its train and step events reach */
    volatile sig_atomic_t *replay_flags[2]; /* replay stops when one becomes non-zero */
    void (*replay_progress)(void *ud, int64_t step, int64_t target);
    void *replay_ud;

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sm_session_state state;
    int pending;
    sm_step_record pending_rec;
    char why[256];
    sm_step_record last;
    int has_step, has_eval, has_best;
    sm_eval_record eval, best;
    int dirty;
    sm_hparams view_hp;
    int64_t view_step, view_planned;
    int64_t view_epoch_steps; /* the backend's steps per epoch (0 unknown) */
    sm_step_record *hist;     /* ring [hist_cap] */
    size_t hist_cap, hist_n, hist_head;
    sm_eval_record *evals;
    size_t n_evals, cap_evals;
    sm_journal journal;
    sm_journal deferred;      /* events decided at a breakpoint, journalled once it is resolved */
    qitem *qhead, *qtail;
    qitem *running;           /* the queued command the trainer thread runs now, or NULL (under mu) */
    int64_t eval_done, eval_total; /* an evaluation in progress: rows done of total; else 0 (under mu) */
    int64_t eval_owed;        /* the step whose own evaluation a pause or an interrupt ended early: it
                                 runs again, whole, before the next step; -1 none (written under mu) */
    int pause_asked;          /* a pause came (from a waiting hook) while a queued command ran (under mu) */
    int threaded, quit;
    pthread_t thread;
    atomic_int interrupt;

    sm_session_event_fn on_event;
    void *event_ud;
    sm_break_fn on_break;
    void *break_ud;
    sm_session_wait_fn on_wait;
    void *wait_ud;
};

static inline int ses_active(sm_session_state st) { return st == SM_SESSION_RUNNING || st == SM_SESSION_STEPPING; }

/* ---- session.c: events, the run state, the journal, the plan ---- */

/* Deliver a typed event (its strings stay the caller's; the handler copies what it keeps). */
void ses_emit_event(sm_session *s, sm_session_event *e);
/* An event of kind with the records given (may be NULL) and a message made from fmt (NULL: none). */
void ses_emit(sm_session *s, sm_event_kind kind, const sm_step_record *rec, const sm_eval_record *ev,
              const char *fmt, ...) SM_PRINTF(5, 6);
/* A notice event (level SM_LOG_NOTICE: every console and `smartty train` show it). */
void ses_notice(sm_session *s, const char *fmt, ...) SM_PRINTF(2, 3);
/* Forget an owed evaluation (see own_eval in session_run.c). */
void ses_drop_owed_eval(sm_session *s);
void ses_set_state(sm_session *s, sm_session_state st);
/* Journal an event at step (or defer it while an update is pending). Caller does not hold mu. */
void ses_journal(sm_session *s, int64_t step, const char *op, int argc, const char *const *argv);
int64_t ses_planned(sm_session *s);
void ses_publish_hp(sm_session *s);
sm_status ses_prepare(sm_session *s, sm_error *e);
/* Replace the journal (by a restored checkpoint's). */
sm_status sm_session_journal_set(sm_session *s, const sm_journal *j, sm_error *e);

/* ---- session_run.c: steps, records, evaluations, the thread ---- */

void ses_hist_push(sm_session *s, const sm_step_record *r);
/* Whether evaluation a is better than b by hp's best_metric. */
int ses_better(const sm_hparams *hp, const sm_eval_record *a, const sm_eval_record *b);
sm_status ses_run_eval(sm_session *s, int check_break, sm_error *e);
sm_status ses_resolve(sm_session *s, sm_step_record *rec, int epoch_end, sm_pending_action act,
                      sm_error *e);
sm_status ses_one_step(sm_session *s, sm_error *e);
sm_status ses_resolve_pending(sm_session *s, sm_pending_action act, sm_error *e);
void ses_loop_once(sm_session *s);
void *ses_thread_main(void *arg);

/* ---- session_cmd.c: commands ---- */

sm_status ses_exec_cmd(sm_session *s, const sm_session_cmd *c, sm_session_reply *r);
sm_session_cmd ses_mkcmd(sm_cmd_kind kind);
/* Rewind to sn (on a new branch), journal it, reply and emit; the run must not be active. */
sm_status ses_rewind_to(sm_session *s, snapshot *sn, sm_session_reply *r);
int ses_cmd_field(char *dst, size_t cap, const char *text, const char *what, sm_session_reply *r);

/* ---- session_state.c: the state, snapshots, checkpoints ---- */

sm_status ses_snap_take(sm_session *s, const char *name, sm_error *e);
sm_status ses_snap_restore(sm_session *s, const char *name, sm_error *e);
/* The snapshot named name, or NULL with e naming those there are. */
snapshot *ses_snap_find(sm_session *s, const char *name, sm_error *e);
void ses_snap_free(snapshot *sn);
void ses_history_truncate(sm_session *s);
/* Capture the state with its history, evaluations and journal into sn (name given by the caller);
 * put_state: restore one (arrays read back when spilled). Only while no step runs. */
sm_status ses_snap_capture(sm_session *s, snapshot *sn, sm_error *e);
sm_status ses_snap_put(sm_session *s, snapshot *sn, sm_error *e);

/* ---- session_branch.c: branches ---- */

sm_status ses_branch_init(sm_session *s, sm_error *e);
void ses_branch_free_all(sm_session *s);
branch *ses_branch_cur(sm_session *s);
branch *ses_branch_by_id(sm_session *s, int id);
/* A rewind to sn is about to happen: stash the active branch (or drop it when nothing was done on
 * it), then make the new branch forked at sn active. */
void ses_adopt_journal(sm_session *s, sm_journal *j);
sm_status ses_branch_fork(sm_session *s, const snapshot *sn, sm_error *e);
/* Pause a running run first (the reply's message says so); returns 1 when it paused. */
int ses_pause_first(sm_session *s, sm_session_reply *r, const char *what);
sm_status ses_cmd_checkout(sm_session *s, const sm_session_cmd *c, sm_session_reply *r);
/* Checkout without pausing or cancelling (explore's end): the run must not be active. */
sm_status ses_branch_checkout(sm_session *s, const char *name, sm_session_reply *r);
sm_status ses_cmd_branch(sm_session *s, const sm_session_cmd *c, sm_session_reply *r);
/* The active branch's line, itself first, then its parent...: names and fork steps (a step t was
 * trained on the first whose fork step is below t). Returns how many (at most cap). */
size_t ses_branch_line(sm_session *s, char (*names)[64], int64_t *forks, size_t cap);
/* ses_resolve's accounting of one step on the active branch (caller holds mu). */
void ses_branch_count_step(sm_session *s, const sm_step_record *rec);

/* ---- session_explore.c ---- */

sm_status ses_cmd_explore(sm_session *s, const sm_session_cmd *c, sm_session_reply *r);
/* A run ended (after its `done`): start the next variant or finish; returns 1 when a variant runs. */
int ses_explore_next(sm_session *s);
/* A command that takes over (stop, rewind, checkout, train...) ends an exploration. */
void ses_explore_cancel(sm_session *s, const char *why);

/* ---- snapshot_spill.c: the memory budget ---- */

/* Spill the oldest resident snapshots until the budget holds; a failed spill keeps the snapshot in
 * memory and reports (SM_EVENT_WARN and the error returned). */
sm_status ses_spill_enforce(sm_session *s, sm_error *e);
/* Write sn's arrays to a file (atomic) and free them; read them back (checked) into sn. */
sm_status ses_spill_out(sm_session *s, snapshot *sn, sm_error *e);
sm_status ses_spill_in(snapshot *sn, sm_error *e);
void ses_spill_drop(snapshot *sn);
/* Capture the state and write it to dir as a checkpoint (SAVE, save_every, save_best). */
sm_status ses_save_checkpoint(sm_session *s, const char *dir, sm_error *e);
/* The state as JSON (caller frees; NULL when out of memory) and back: the session's counters, the
 * hyperparameters and the backend's state. Only while no step runs. */
char *sm_session_state_to_json(sm_session *s);
sm_status sm_session_state_from_json(sm_session *s, const char *json, sm_error *e);
/* Replace the history by saved records (a checkpoint's log_history, oldest first); the view's last
 * step and last and best evaluations follow from them. Only while no step runs. */
sm_status sm_session_history_set(sm_session *s, const sm_step_record *steps, size_t n,
                                 const sm_eval_record *evals, size_t ne, sm_error *e);

#endif
