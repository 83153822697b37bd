/* backend_session.c: the console's backend over a training session (session.h) with the BERT
 * backend, run on the session's own thread: commands post to its queue; the breakpoint hook
 * evaluates the console's breakpoints on the trainer thread before each update; events are queued
 * by the trainer thread and printed by the main thread (con_tick). Also `replay`, `predict`,
 * `show model|data|journal`. It does not draw anything and owns no terminal. */
#include "console/backend.h"
#include "console/events.h"
#include "console/new_model.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartty/checkpoint.h"
#include "smartty/model_config.h"
#include "smartty/data.h"
#include "smartty/hf.h"
#include "smartty/journal.h"
#include "smartty/model.h"
#include "smartty/session.h"
#include "smartty/session_bert.h"
#include "smartty/predict.h"
#include "smartty/tokenizer.h"

typedef struct con_session {
    con_ctx *c;
    sm_session *s;
    int threaded;
    int has_model;
    int64_t saved_step;        /* the step of the last save or load */
    char model[4096], data[4096];
    pthread_mutex_t mu;        /* guards the event queue and the history */
    con_evq evq;               /* typed events from the trainer thread (and library notices) */
    sm_step_record *hist;      /* [n_hist] the steps of this session, for the dashboard's curves */
    size_t n_hist, cap_hist;
    sm_eval_record *evals;     /* [n_evals] */
    size_t n_evals, cap_evals;
    double run_t0;             /* when the session last started running (trainer thread only) */
    int64_t run_step0;         /* and at which step */
    double run_busy;           /* seconds spent in the steps themselves since then */
} con_session;

#define HIST_MAX 200000 /* steps kept; beyond, the older half is dropped */

static con_session S;

/* ---- events and breakpoints (trainer thread) ---- */

/* Queue a copy of ev for the main thread (con_tick hands it to the console). */
static void push(const sm_session_event *ev)
{
    pthread_mutex_lock(&S.mu);
    con_evq_push(&S.evq, ev);
    pthread_mutex_unlock(&S.mu);
}

/* Append one record to a history under S.mu (dropping the older half when it is full). */
static void hist_add(void **arr, size_t *n, size_t *cap, size_t size, const void *rec)
{
    if (*n == HIST_MAX) {
        memmove(*arr, (char *)*arr + size * (HIST_MAX / 2), size * (HIST_MAX - HIST_MAX / 2));
        *n = HIST_MAX - HIST_MAX / 2;
    }
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        void *p = realloc(*arr, nc * size);
        if (!p)
            return;
        *arr = p;
        *cap = nc;
    }
    memcpy((char *)*arr + size * *n, rec, size);
    (*n)++;
}

/* Replace the histories by the session's own (after a rewind or a replay). */
static void hist_reload(void)
{
    sm_step_record *st = NULL;
    sm_eval_record *ev = NULL;
    size_t ns = sm_session_history(S.s, &st), ne = sm_session_evals(S.s, &ev);
    pthread_mutex_lock(&S.mu);
    free(S.hist);
    free(S.evals);
    S.hist = st;
    S.n_hist = S.cap_hist = st ? ns : 0;
    S.evals = ev;
    S.n_evals = S.cap_evals = ev ? ne : 0;
    pthread_mutex_unlock(&S.mu);
}

static void on_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    if (ev->kind == SM_EVENT_STEP && ev->has_rec) {
        S.run_busy += ev->rec.seconds;
        pthread_mutex_lock(&S.mu);
        hist_add((void **)&S.hist, &S.n_hist, &S.cap_hist, sizeof *S.hist, &ev->rec);
        pthread_mutex_unlock(&S.mu);
    }
    if (ev->kind == SM_EVENT_EVAL && ev->has_eval) {
        pthread_mutex_lock(&S.mu);
        hist_add((void **)&S.evals, &S.n_evals, &S.cap_evals, sizeof *S.evals, &ev->eval);
        pthread_mutex_unlock(&S.mu);
    }
    switch (ev->kind) {
    case SM_EVENT_STEP: break; /* the history above holds them */
    case SM_EVENT_STATE:
        if (ev->state == SM_SESSION_RUNNING) {
            S.run_t0 = sm_now();
            S.run_step0 = ev->step;
            S.run_busy = 0;
        }
        push(ev);
        break;
    case SM_EVENT_DONE: {
        /* the throughput of the stretch that just ended: what the dashboard's cost is measured on */
        double dt = S.run_t0 > 0 ? sm_now() - S.run_t0 : 0;
        long long n = (long long)(ev->step - S.run_step0);
        char msg[300] = "";
        if (dt > 0 && n > 0)
            snprintf(msg, sizeof msg, "%lld steps in %.2f s since it last started running (%.2f steps/s, "
                     "evaluations included; %.2f s in the steps themselves)", n, dt, (double)n / dt, S.run_busy);
        sm_session_event done = *ev;
        done.msg = msg;
        push(&done);
        break;
    }
    case SM_EVENT_REWIND: /* also an exploration's, on this thread: the curves follow the branch */
        hist_reload();
        push(ev);
        break;
    default: push(ev); break;
    }
}

/* The library's notices and warnings (any thread) join the event queue. */
static void on_log(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level < SM_LOG_NOTICE)
        return;
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SM_EVENT_NOTICE;
    ev.step = -1;
    ev.level = (int)level;
    ev.msg = msg;
    push(&ev);
}

static int on_break(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev, char *why,
                    size_t cap)
{
    con_ctx *c = ud;
    return con_breaks_check(&c->breaks, when, s, ev, why, cap) > 0;
}

/* ---- life ---- */

/* While a command waits for the trainer thread (an `eval` or `save DIR`: seconds on a large model;
 * any command queued behind the run's own evaluation at an epoch's end), a server's host goes on
 * reading its clients, as it does while the run trains: a monitor's `show status` is answered,
 * watchers see the run, new clients are greeted, and the commands that do more than read are held
 * for after this one. Ctrl-C (the console's, or an attached one's interrupt) ends an evaluation,
 * and only it: a run training meanwhile goes on. */
static int on_wait(void *ud, sm_cmd_kind kind)
{
    (void)ud;
    if (S.c && S.c->host && S.c->host->tick)
        S.c->host->tick(S.c->host_ud);
    if (kind != SM_CMD_EVAL || !S.c || !S.c->intr || !*S.c->intr)
        return 0;
    *S.c->intr = 0; /* the session keeps the request until the evaluation ends */
    return 1;
}

static sm_status session_make(sm_session **out, sm_error *e)
{
    sm_session_backend be;
    sm_status st = sm_bert_backend_new(&be, e);
    if (st != SM_OK)
        return st;
    sm_hparams hp;
    sm_hparams_default(&hp);
    if ((st = sm_session_new(&be, &hp, out, e)) != SM_OK)
        return st;
    sm_session_set_event_fn(*out, on_event, NULL);
    sm_session_set_wait_fn(*out, on_wait, NULL);
    return SM_OK;
}

/* Start the trainer thread with the console's signals blocked, so that they reach the main
 * thread (whose loop reads the flags) and never the trainer. */
static sm_status session_start(sm_session *s, sm_error *e)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sm_status st = sm_session_start(s, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

/* ---- operations (main thread) ---- */

/* The console's copy of the hyperparameters follows the session's (a checkpoint's load, a rewind
 * or a replay bring their own). */
static void sync_hp(void)
{
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    S.c->hp = v.hp;
}

static sm_status reply_status(const sm_session_reply *r, sm_error *e)
{
    if (r->status != SM_OK && e)
        *e = r->err;
    return r->status;
}

typedef struct load_arg {
    const char *path;
    int which;
    const sm_data_opts *o;
} load_arg;

static sm_status call_load_model(sm_session *s, void *arg, sm_error *e)
{
    return sm_session_load_model(s, ((load_arg *)arg)->path, e);
}

static sm_status call_load_data(sm_session *s, void *arg, sm_error *e)
{
    load_arg *a = arg;
    return sm_session_load_data(s, a->which, a->path, a->o, e);
}

static sm_status be_load_model(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    load_arg a = {path, 0, NULL};
    sm_session_reply r;
    sm_session_call(S.s, call_load_model, &a, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    S.has_model = 1;
    S.saved_step = sm_session_step_count(S.s);
    snprintf(S.model, sizeof S.model, "%s", path);
    sync_hp();
    return SM_OK;
}

/* `new model`: a randomly initialised classifier of the given shape over a vocabulary, written as a
 * Hugging Face folder in the state directory and loaded like any model. The journal keeps `new_model`
 * with the shape, seed and vocabulary, so a replay builds the same weights again wherever it runs. */
static sm_status be_new_model(void *ud, int argc, char *const *argv, sm_error *e)
{
    con_new_model *a = malloc(sizeof *a);
    if (!a)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    char dir[1200] = "";
    sm_status st = con_new_model_parse(a, argc, argv, e);
    if (st == SM_OK)
        st = con_new_model_write(a, dir, sizeof dir, e);
    if (st == SM_OK && sm_session_step_count(S.s) == 0 && !sm_session_busy(S.s))
        st = sm_session_journal_add(S.s, "new_model", a->argc, a->argv, e);
    if (st == SM_OK)
        st = be_load_model(ud, dir, e);
    if (st == SM_OK) {
        snprintf(S.model, sizeof S.model, "new: %d layers, hidden %d, %d heads", a->o.layers, a->o.hidden,
                 a->o.heads);
        con_info(S.c, "new model written to %s", dir);
    }
    free(a);
    return st;
}

typedef struct resume_arg {
    const char *dir, *train;
} resume_arg;

static sm_status call_resume_ckpt(sm_session *s, void *arg, sm_error *e)
{
    resume_arg *a = arg;
    return sm_session_resume_checkpoint(s, a->dir, a->train, NULL, e);
}

/* `resume DIR [TRAIN]`: the checkpoint's model, data and complete state. */
static sm_status be_resume_ckpt(void *ud, const char *dir, const char *train, sm_error *e)
{
    (void)ud;
    resume_arg a = {dir, train};
    sm_session_reply r;
    sm_session_call(S.s, call_resume_ckpt, &a, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    S.has_model = 1;
    snprintf(S.model, sizeof S.model, "%s", dir);
    const sm_dataset *ds = sm_session_dataset(S.s, 0);
    if (ds)
        snprintf(S.data, sizeof S.data, "%s", sm_dataset_report(ds)->path);
    S.saved_step = sm_session_step_count(S.s);
    sync_hp();
    return SM_OK;
}

static sm_status be_load_data(void *ud, const char *split, const char *path, const sm_data_opts *o,
                              sm_error *e)
{
    (void)ud;
    load_arg a = {path, strcmp(split, "train") ? 1 : 0, o};
    sm_session_reply r;
    sm_session_call(S.s, call_load_data, &a, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    if (!a.which)
        snprintf(S.data, sizeof S.data, "%s", path);
    S.saved_step = sm_session_step_count(S.s); /* a resumed checkpoint is saved as it is */
    sync_hp();
    return SM_OK;
}

static sm_status be_set_hparam(void *ud, int id, double v, int64_t *at, sm_error *e)
{
    (void)ud;
    char txt[64];
    sm_hparam_format(id, v, txt, sizeof txt);
    sm_session_reply r;
    sm_session_set(S.s, sm_hparam_def_at(id)->name, txt, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    *at = r.effect_step - 1;
    return SM_OK;
}

static sm_status be_train(void *ud, int64_t count, int epochs, sm_error *e)
{
    (void)ud;
    sm_session_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = SM_CMD_TRAIN;
    if (epochs)
        cmd.epochs = count;
    else
        cmd.n = count;
    sm_session_reply r;
    sm_session_command(S.s, &cmd, &r);
    return reply_status(&r, e);
}

static sm_status simple(sm_cmd_kind kind, sm_error *e)
{
    sm_session_reply r;
    sm_session_simple(S.s, kind, &r);
    return reply_status(&r, e);
}

static sm_status be_pause(void *ud, sm_error *e)
{
    (void)ud;
    return simple(SM_CMD_PAUSE, e);
}

static int be_cancel_eval(void *ud)
{
    (void)ud;
    return S.s && sm_session_cancel_eval(S.s);
}

static sm_status be_resume(void *ud, int apply, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_resume(S.s, apply ? SM_PENDING_APPLY : SM_PENDING_DISCARD, &r);
    return reply_status(&r, e);
}

static sm_status be_step(void *ud, int64_t n, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_step(S.s, n, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    con_wait_run(S.c, 0); /* the n steps run on the trainer thread; Ctrl-C pauses them */
    return SM_OK;
}

static sm_status be_eval(void *ud, sm_eval_record *out, sm_error *e)
{
    (void)ud;
    sm_status st = simple(SM_CMD_EVAL, e);
    if (st != SM_OK)
        return st;
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    *out = v.eval;
    /* the event of this evaluation would print it a second time */
    pthread_mutex_lock(&S.mu);
    con_evq_drop_last(&S.evq, SM_EVENT_EVAL, v.eval.step);
    pthread_mutex_unlock(&S.mu);
    return SM_OK;
}

static sm_status be_stop(void *ud, sm_error *e)
{
    (void)ud;
    return simple(SM_CMD_STOP, e);
}

/* The console's snapshot_budget, for the session, with the state folder to spill to. */
static void apply_budget(void)
{
    char dir[4096] = "";
    double mib = S.c->set.snapshot_budget;
    if (mib > 0 && (!con_state_path(dir, sizeof dir, "snapshots", 1) || (mkdir(dir, 0700) != 0 && errno != EEXIST)))
        dir[0] = '\0'; /* the session then says that it has no folder to spill to */
    sm_session_set_snapshot_budget(S.s, mib > 0 ? (size_t)(mib * 1048576.0) : 0, dir);
}

static sm_status be_snapshot(void *ud, const char *name, sm_error *e)
{
    (void)ud;
    apply_budget();
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_SNAPSHOT, name, &r);
    return reply_status(&r, e);
}

static sm_status be_rewind(void *ud, const char *name, int64_t *step, sm_error *e)
{
    (void)ud;
    apply_budget();
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_REWIND, name, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    *step = sm_session_step_count(S.s);
    sync_hp(); /* the snapshot's hyperparameters are back */
    hist_reload();
    return SM_OK;
}

static sm_status be_save(void *ud, const char *dir, sm_error *e)
{
    (void)ud;
    if (strlen(dir) >= sizeof ((sm_session_cmd *)0)->path)
        return sm_err(e, SM_ERR_INVALID, "the path is too long");
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_SAVE, dir, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    S.saved_step = r.step;
    /* the CHECKPOINT event repeats what `save` says */
    pthread_mutex_lock(&S.mu);
    con_evq_drop_last(&S.evq, SM_EVENT_CHECKPOINT, r.step);
    pthread_mutex_unlock(&S.mu);
    return SM_OK;
}

static sm_status be_export(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    return sm_session_export_metrics(S.s, path, e);
}

/* ---- branches and exploration ---- */

static size_t be_branches(void *ud, sm_branch_info **out)
{
    (void)ud;
    return sm_session_branches(S.s, out);
}

static sm_status be_branch_records(void *ud, const char *name, sm_step_record **st, size_t *n,
                                   sm_eval_record **ev, size_t *ne, sm_error *e)
{
    (void)ud;
    return sm_session_branch_records(S.s, name, st, n, ev, ne, e);
}

static sm_status be_checkout(void *ud, const char *name, char *msg, size_t cap, sm_error *e)
{
    (void)ud;
    apply_budget();
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_CHECKOUT, name, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    snprintf(msg, cap, "%s", r.msg);
    sync_hp();
    hist_reload();
    return SM_OK;
}

static sm_status be_branch_rename(void *ud, const char *name, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_BRANCH, name, &r);
    return reply_status(&r, e);
}

static sm_status be_explore(void *ud, const sm_explore_spec *spec, char *msg, size_t cap, sm_error *e)
{
    (void)ud;
    apply_budget();
    sm_session_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = SM_CMD_EXPLORE;
    cmd.arg = (void *)(uintptr_t)spec;
    sm_session_reply r;
    sm_session_command(S.s, &cmd, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    snprintf(msg, cap, "%s", r.msg);
    return SM_OK;
}

static void be_explore_status(void *ud, sm_explore_status *out)
{
    (void)ud;
    sm_session_explore_status(S.s, out);
}

static sm_status be_export_compare(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    return sm_session_export_compare(S.s, path, e);
}

static size_t be_snapshots(void *ud, sm_snapshot_info **out)
{
    (void)ud;
    return sm_session_snapshots(S.s, out);
}

/* A journalled `new model`: build its folder again from the shape, seed and vocabulary, and journal
 * the event in the new session as be_new_model did. */
static sm_status replay_new_model(sm_session *ns, const sm_journal_event *ev, char *dir, size_t cap, sm_error *e)
{
    con_new_model *a = malloc(sizeof *a);
    if (!a)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    sm_status st = con_new_model_parse(a, ev->argc, ev->argv, e);
    if (st == SM_OK)
        st = con_new_model_write(a, dir, cap, e);
    if (st == SM_OK)
        st = sm_session_journal_add(ns, "new_model", a->argc, a->argv, e);
    free(a);
    return st;
}

/* Replay: a fresh session without a thread applies the journal's events (loads included), then
 * replaces the console's session. */
static void replay_progress(void *ud, int64_t step, int64_t target)
{
    (void)ud;
    static double shown;
    double now = sm_now();
    if (now - shown >= 2.0) { /* a line every 2 s */
        con_info(S.c, "replay: step %lld of %lld", (long long)step, (long long)target);
        shown = now;
    }
    if (S.c->host && S.c->host->tick) /* a server reads its clients meanwhile: a Ctrl-C stops the replay */
        S.c->host->tick(S.c->host_ud);
}

static sm_status be_replay(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    sm_journal j;
    sm_journal_init(&j);
    sm_status st = sm_journal_load(&j, path, e);
    if (st == SM_OK && j.n == 0) /* it would only empty the session */
        st = sm_err(e, SM_ERR_INVALID, "%s: the journal holds no events: give a journal.jsonl that `save DIR` "
                    "wrote", path);
    sm_session *ns = NULL;
    if (st == SM_OK)
        st = session_make(&ns, e);
    if (st == SM_OK) /* progress, and Ctrl-C, SIGTERM or SIGHUP stop it as they stop training */
        sm_session_set_replay_watch(ns, S.c->intr, S.c->hup, replay_progress, NULL);
    int has_model = 0;
    char model[4096] = "", data[4096] = "";
    char new_dir[1200] = ""; /* the folder a new_model event built: the load_model after it loads it */
    for (size_t i = 0; st == SM_OK && i < j.n; i++) {
        const sm_journal_event *ev = &j.ev[i];
        if (!strcmp(ev->op, "new_model")) {
            st = replay_new_model(ns, ev, new_dir, sizeof new_dir, e);
            if (st != SM_OK)
                sm_err_prefix(e, "%s: event %zu (new_model)", path, i + 1);
            continue;
        }
        sm_journal_event moved;
        char *moved_argv[1];
        if (new_dir[0] && !strcmp(ev->op, "load_model") && ev->argc == 1) {
            moved = *ev; /* the new model's own load, from wherever its folder is made now */
            moved_argv[0] = new_dir;
            moved.argv = moved_argv;
            ev = &moved;
        }
        st = sm_session_replay_event(ns, ev, e);
        if (st == SM_OK && !strcmp(ev->op, "load_model"))
            new_dir[0] = '\0';
        if (st != SM_OK)
            sm_err_prefix(e, "%s: event %zu (%s at step %lld)", path, i + 1, ev->op, (long long)ev->step);
        else if (!strcmp(ev->op, "load_model")) {
            has_model = 1;
            snprintf(model, sizeof model, "%s", ev->argv[0]);
        } else if (!strcmp(ev->op, "load_train")) {
            snprintf(data, sizeof data, "%s", ev->argv[0]);
        }
    }
    sm_journal_free(&j);
    if (st == SM_OK)
        st = session_start(ns, e);
    if (st != SM_OK) {
        if (ns)
            sm_session_free(ns);
        return st;
    }
    sm_session_free(S.s);
    S.s = ns;
    sm_session_set_break_fn(S.s, on_break, S.c);
    S.has_model = has_model;
    S.saved_step = sm_session_step_count(S.s);
    snprintf(S.model, sizeof S.model, "%s", model);
    snprintf(S.data, sizeof S.data, "%s", data);
    sync_hp();
    hist_reload();
    return SM_OK;
}

/* predict: tokenize, one forward pass in evaluation mode, the class probabilities. */
typedef struct predict_arg {
    const char *a, *b;
    char *out;
    size_t cap;
} predict_arg;

/* Class k's name: the training set's label (the session maps labels through it), else the model's. */
static const char *label_name(sm_session *s, const sm_bert_config *cfg, int k, char *buf, size_t cap)
{
    const sm_dataset *ds = sm_session_dataset(s, 0);
    if (ds && k < sm_dataset_num_labels(ds) && sm_dataset_label_name(ds, k))
        return sm_dataset_label_name(ds, k);
    const sm_bert_config *named = sm_session_model_config(s); /* with id2label (the model's copy has none) */
    return sm_config_label(named ? named : cfg, k, buf, cap);
}

static sm_status call_predict(sm_session *s, void *arg, sm_error *e)
{
    predict_arg *p = arg;
    const sm_tokenizer *tok = sm_session_tokenizer(s);
    struct sm_bert *m = sm_session_model(s);
    if (!tok || !m)
        return sm_err(e, SM_ERR_STATE, "no model loaded (`load model PATH`)");
    const sm_bert_config *cfg = sm_bert_config_get(m);
    sm_classified out;
    memset(&out, 0, sizeof out);
    sm_status st = sm_classify_text(m, tok, p->a, p->b, (int)sm_session_hparams(s)->v[SM_HP_MAX_LEN], &out, e);
    if (st == SM_OK) {
        if (cfg->problem == SM_PROBLEM_REGRESSION) {
            snprintf(p->out, p->cap, "%.6g", out.probs[0]);
        } else {
            char name[32];
            size_t w = (size_t)snprintf(p->out, p->cap, "%s", label_name(s, cfg, out.label[0], name, sizeof name));
            for (int k = 0; k < out.C && w < p->cap; k++)
                w += (size_t)snprintf(p->out + w, p->cap - w, "%s%s %.4f", k ? ", " : "  (",
                                      label_name(s, cfg, k, name, sizeof name), out.probs[k]);
            if (w < p->cap)
                snprintf(p->out + w, p->cap - w, ")");
        }
    }
    sm_classified_free(&out);
    return st;
}

static sm_status be_predict(void *ud, const char *a, const char *b, char *out, size_t cap, sm_error *e)
{
    (void)ud;
    predict_arg p = {a, b, out, cap};
    sm_session_reply r;
    sm_session_call(S.s, call_predict, &p, &r);
    return reply_status(&r, e);
}

typedef struct show_arg {
    const char *what;
    char *buf;
    size_t cap;
} show_arg;

static sm_status call_show(sm_session *s, void *arg, sm_error *e)
{
    show_arg *a = arg;
    a->buf[0] = '\0';
    if (!strcmp(a->what, "model")) {
        struct sm_bert *m = sm_session_model(s);
        if (!m)
            return sm_err(e, SM_ERR_STATE, "no model loaded (`load model PATH`)");
        const sm_bert_config *c = sm_bert_config_get(m);
        size_t w = (size_t)snprintf(a->buf, a->cap,
                                    "%s\n  %d layers, hidden %d, %d heads, intermediate %d, vocabulary %d, "
                                    "max positions %d, %zu parameters\n  %s with %d label%s:",
                                    S.model, c->num_layers, c->hidden_size, c->num_heads, c->intermediate_size,
                                    c->vocab_size, c->max_position, sm_bert_numel(m),
                                    c->problem == SM_PROBLEM_REGRESSION ? "regression" : "classification",
                                    c->num_labels, c->num_labels == 1 ? "" : "s");
        char name[32];
        for (int k = 0; k < c->num_labels && w < a->cap; k++)
            w += (size_t)snprintf(a->buf + w, a->cap - w, " %d=%s", k, label_name(s, c, k, name, sizeof name));
        return SM_OK;
    }
    size_t w = 0;
    for (int which = 0; which < 2 && w < a->cap; which++) {
        const sm_dataset *ds = sm_session_dataset(s, which);
        w += (size_t)snprintf(a->buf + w, a->cap - w, "%s%s: ", w ? "\n" : "", which ? "dev" : "train");
        if (!ds)
            w += (size_t)snprintf(a->buf + w, a->cap - w, "not loaded (`load %s FILE`)", which ? "dev" : "train");
        else
            w += sm_data_report_format(ds, a->buf + w, a->cap - w);
    }
    return SM_OK;
}

static sm_status be_show(void *ud, const char *what, con_ctx *c, sm_error *e)
{
    (void)ud;
    if (!strcmp(what, "journal")) {
        sm_journal j;
        sm_journal_init(&j);
        sm_status st = sm_session_journal(S.s, &j, e);
        if (st != SM_OK)
            return st;
        if (!j.n)
            con_print(c, "the journal is empty");
        for (size_t i = 0; i < j.n; i++) {
            sm_str line = SM_STR_INIT; /* whole: a load's options can be long */
            sm_journal_event_append(&j.ev[i], &line, NULL);
            con_print(c, "%s", line.failed ? "(out of memory)" : sm_str_cstr(&line));
            sm_str_free(&line);
        }
        sm_journal_free(&j);
        return SM_OK;
    }
    char *buf = malloc(16384);
    if (!buf)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    show_arg a = {what, buf, 16384};
    sm_session_reply r;
    sm_session_call(S.s, call_show, &a, &r);
    if (r.status == SM_OK)
        con_print(c, "%s", buf);
    free(buf);
    return reply_status(&r, e);
}

static void be_status(void *ud, con_status *st)
{
    (void)ud;
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    switch (v.state) {
    case SM_SESSION_RUNNING: st->state = CON_RUN_RUNNING; break;
    case SM_SESSION_PAUSED: st->state = CON_RUN_PAUSED; break;
    case SM_SESSION_AT_BREAK: st->state = CON_RUN_BREAK; break;
    case SM_SESSION_STEPPING: st->state = CON_RUN_STEPPING; break;
    default: st->state = S.has_model ? CON_RUN_IDLE : CON_RUN_EMPTY; break;
    }
    st->step = v.step;
    st->planned = v.run_end ? v.run_end : v.planned;
    st->epoch = v.epoch;
    st->unsaved = v.dirty ? (v.step > S.saved_step ? v.step - S.saved_step : 1) : 0;
    st->has_step = v.has_step;
    st->last = v.last;
    st->has_eval = v.has_eval;
    if (v.has_eval)
        st->eval = v.eval;
    snprintf(st->model, sizeof st->model, "%s", S.model);
    snprintf(st->data, sizeof st->data, "%s", S.data);
    snprintf(st->branch, sizeof st->branch, "%s", v.branch);
    st->explore_variant = v.explore_variant;
    st->explore_total = v.explore_total;
    st->eval_done = v.eval_done;
    st->eval_total = v.eval_total;
    st->eval_owed = v.eval_owed > 0 ? v.eval_owed : 0;
    st->evals_left = v.evals_left;
    if (v.explore_variant && st->state == CON_RUN_IDLE) /* between two variants */
        st->state = CON_RUN_RUNNING;
}

static sm_status be_journal(void *ud, const char *op, int argc, const char *const *argv, sm_error *e)
{
    (void)ud;
    return sm_session_journal_add(S.s, op, argc, argv, e);
}

static size_t copy_from(const void *arr, size_t n, size_t size, size_t from, void *buf, size_t cap,
                        size_t *total)
{
    *total = n;
    if (from >= n)
        return 0;
    size_t k = n - from < cap ? n - from : cap;
    memcpy(buf, (const char *)arr + size * from, size * k);
    return k;
}

static size_t be_steps(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    size_t k = copy_from(S.hist, S.n_hist, sizeof *S.hist, from, buf, cap, total);
    pthread_mutex_unlock(&S.mu);
    return k;
}

static size_t be_evals(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    size_t k = copy_from(S.evals, S.n_evals, sizeof *S.evals, from, buf, cap, total);
    pthread_mutex_unlock(&S.mu);
    return k;
}

static void be_wait(void *ud, double timeout)
{
    (void)ud;
    sm_session_wait_idle(S.s, timeout);
}

static void be_poll(void *ud, con_ctx *c)
{
    (void)ud;
    for (;;) {
        sm_session_event ev;
        pthread_mutex_lock(&S.mu);
        int got = con_evq_pop(&S.evq, &ev);
        pthread_mutex_unlock(&S.mu);
        if (!got)
            break;
        if (S.s && (ev.kind == SM_EVENT_REWIND || ev.kind == SM_EVENT_BRANCH || ev.kind == SM_EVENT_CHANGE))
            sync_hp(); /* the knobs of the active branch */
        con_session_event(c, &ev);
        sm_session_event_free(&ev);
    }
}

static const con_backend session_backend = {
    .load_model = be_load_model,
    .new_model = be_new_model,
    .resume_checkpoint = be_resume_ckpt,
    .load_data = be_load_data,
    .set_hparam = be_set_hparam,
    .train = be_train,
    .pause = be_pause,
    .resume = be_resume,
    .step = be_step,
    .eval = be_eval,
    .cancel_eval = be_cancel_eval,
    .stop = be_stop,
    .snapshot = be_snapshot,
    .rewind = be_rewind,
    .save = be_save,
    .export_metrics = be_export,
    .replay = be_replay,
    .predict = be_predict,
    .show = be_show,
    .status = be_status,
    .journal = be_journal,
    .steps = be_steps,
    .evals = be_evals,
    .wait = be_wait,
    .poll = be_poll,
    .branches = be_branches,
    .branch_records = be_branch_records,
    .checkout = be_checkout,
    .branch_rename = be_branch_rename,
    .explore = be_explore,
    .explore_status = be_explore_status,
    .export_compare = be_export_compare,
    .snapshots = be_snapshots,
};

void con_backend_attach(con_ctx *c)
{
    sm_error e;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.mu, NULL);
    con_evq_init(&S.evq);
    S.c = c;
    sm_log_set(on_log, NULL); /* a dashboard installs its own when it starts */
    if (session_make(&S.s, &e) != SM_OK || session_start(S.s, &e) != SM_OK) {
        if (S.s)
            sm_session_free(S.s);
        S.s = NULL;
        con_error(c, "the training session could not start: %s", e.msg);
        con_set_backend(c, NULL, NULL);
        return;
    }
    sm_session_set_break_fn(S.s, on_break, c);
    con_set_backend(c, &session_backend, &S);
}

void con_backend_detach(con_ctx *c)
{
    sm_log_set(NULL, NULL);
    if (S.s)
        sm_session_free(S.s);
    S.s = NULL;
    be_poll(NULL, c);
    con_evq_clear(&S.evq);
    free(S.hist);
    free(S.evals);
    pthread_mutex_destroy(&S.mu);
    con_set_backend(c, NULL, NULL);
}
