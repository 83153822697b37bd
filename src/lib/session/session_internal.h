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

typedef struct snapshot {
    char name[64];
    sm_capture cap;   /* the state JSON and copies of the arrays at the time */
} snapshot;

typedef struct qitem {
    const sm_session_cmd *cmd;
    sm_session_reply *reply;
    int done;
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
    snapshot snaps[SNAP_MAX];
    size_t n_snaps;
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
    sm_step_record *hist;     /* ring [hist_cap] */
    size_t hist_cap, hist_n, hist_head;
    sm_eval_record *evals;
    size_t n_evals, cap_evals;
    sm_journal journal;
    sm_journal deferred;      /* events decided at a breakpoint, journalled once it is resolved */
    qitem *qhead, *qtail;
    int threaded, quit;
    pthread_t thread;
    atomic_int interrupt;

    sm_session_event_fn on_event;
    void *event_ud;
    sm_break_fn on_break;
    void *break_ud;
};

static inline int ses_active(sm_session_state st) { return st == SM_SESSION_RUNNING || st == SM_SESSION_STEPPING; }

/* ---- session.c: events, the run state, the journal, the plan ---- */

/* Deliver a typed event (its strings stay the caller's; the handler copies what it keeps). */
void ses_emit_event(sm_session *s, sm_session_event *e);
/* An event of kind with the records given (may be NULL) and a message made from fmt (NULL: none). */
void ses_emit(sm_session *s, sm_event_kind kind, const sm_step_record *rec, const sm_eval_record *ev,
              const char *fmt, ...) SM_PRINTF(5, 6);
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
int ses_cmd_field(char *dst, size_t cap, const char *text, const char *what, sm_session_reply *r);

/* ---- session_state.c: the state, snapshots, checkpoints ---- */

sm_status ses_snap_take(sm_session *s, const char *name, sm_error *e);
sm_status ses_snap_restore(sm_session *s, const char *name, sm_error *e);
void ses_snap_free(snapshot *sn);
void ses_history_truncate(sm_session *s);
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
