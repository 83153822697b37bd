/* session.c: the training session: command execution at step boundaries, the run loop with its
 * breakpoints and evaluations, snapshots, the journal and the history, with or without the trainer
 * thread. The numerics live behind the backend (session_bert.c, or a test's); checkpoints' files
 * are written by checkpoint.c. */
#include "smartty/session.h"

#include <csv.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartty/checkpoint.h"
#include "smartty/str.h"

#define SNAP_MAX 64
#define EVAL_CAP 100000

typedef struct snapshot {
    char name[64];
    float **data;     /* [n_tensors] copies */
    size_t n_tensors;
    char *state;      /* sm_session_state_to_json at the time */
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

const char *sm_session_state_name(sm_session_state st)
{
    switch (st) {
    case SM_SESSION_STOPPED: return "stopped";
    case SM_SESSION_RUNNING: return "running";
    case SM_SESSION_PAUSED: return "paused";
    case SM_SESSION_AT_BREAK: return "at-breakpoint";
    case SM_SESSION_STEPPING: return "stepping";
    }
    return "?";
}

/* ---- small helpers ---- */

/* Deliver a typed event (its strings stay the caller's; the handler copies what it keeps). */
static void emit_event(sm_session *s, sm_session_event *e)
{
    if (s->on_event)
        s->on_event(s->event_ud, e);
}

static void emit(sm_session *s, sm_event_kind kind, const sm_step_record *rec,
                 const sm_eval_record *ev, const char *fmt, ...) SM_PRINTF(5, 6);
static void emit(sm_session *s, sm_event_kind kind, const sm_step_record *rec,
                 const sm_eval_record *ev, const char *fmt, ...)
{
    if (!s->on_event)
        return;
    sm_str msg = SM_STR_INIT; /* whole: an event may name a long path */
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        sm_str_vappendf(&msg, fmt, ap);
        va_end(ap);
    }
    sm_session_event e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.step = s->step;
    e.epoch = s->epoch;
    e.state = (int)s->state;
    if ((e.has_rec = rec != NULL))
        e.rec = *rec;
    if ((e.has_eval = ev != NULL))
        e.eval = *ev;
    e.msg = fmt ? sm_str_cstr(&msg) : NULL;
    emit_event(s, &e);
    sm_str_free(&msg);
}

static void set_state(sm_session *s, sm_session_state st)
{
    pthread_mutex_lock(&s->mu);
    int changed = s->state != st;
    s->state = st;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (changed)
        emit(s, SM_EVENT_STATE, NULL, NULL, "%s", sm_session_state_name(st));
}

/* Journal an event at step (or defer it while an update is pending). Caller does not hold mu. */
static void journal(sm_session *s, int64_t step, const char *op, int argc, const char *const *argv)
{
    sm_error e;
    pthread_mutex_lock(&s->mu);
    sm_journal *j = s->pending && step > s->step ? &s->deferred : &s->journal;
    if (sm_journal_add(j, step, 0, op, argc, argv, &e) != SM_OK)
        sm_log(SM_LOG_WARN, "session: %s", e.msg);
    pthread_mutex_unlock(&s->mu);
}

static void journal1(sm_session *s, int64_t step, const char *op, const char *arg)
{
    journal(s, step, op, arg ? 1 : 0, arg ? &arg : NULL);
}

static void journal_int(sm_session *s, int64_t step, const char *op, int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)n);
    journal1(s, step, op, buf);
}

static int64_t planned(sm_session *s)
{
    return s->be.planned_steps ? s->be.planned_steps(s->be.ctx, &s->hp) : 0;
}

static void publish_hp(sm_session *s)
{
    int64_t p = planned(s);
    pthread_mutex_lock(&s->mu);
    s->view_hp = s->hp;
    s->view_planned = p;
    pthread_mutex_unlock(&s->mu);
}

static sm_status prepare(sm_session *s, sm_error *e)
{
    if (s->prepared)
        return SM_OK;
    sm_status st = s->be.prepare ? s->be.prepare(s->be.ctx, &s->hp, e) : SM_OK;
    if (st == SM_OK) {
        s->prepared = 1;
        s->hp_changed = 0;
    }
    return st;
}

/* ---- records ---- */

static void hist_push(sm_session *s, const sm_step_record *r)
{
    if (!s->hist_cap)
        return;
    size_t idx = (s->hist_head + s->hist_n) % s->hist_cap;
    s->hist[idx] = *r;
    if (s->hist_n < s->hist_cap)
        s->hist_n++;
    else
        s->hist_head = (s->hist_head + 1) % s->hist_cap;
}

/* The value of best_metric in ev (auto: accuracy for classification, Pearson for regression); the
 * loss is negated so that higher is always better. */
static double best_value(const sm_hparams *hp, const sm_eval_record *ev)
{
    const char *m = sm_hparam_choice(SM_HP_BEST_METRIC, hp->v[SM_HP_BEST_METRIC]);
    if (!m || !strcmp(m, "auto"))
        return !isnan(ev->acc) ? ev->acc : ev->pearson;
    if (!strcmp(m, "loss"))
        return -ev->loss;
    const char *names[] = {"acc", "f1", "mcc", "macro_f1", "pearson", "spearman"};
    double vals[] = {ev->acc, ev->f1, ev->mcc, ev->macro_f1, ev->pearson, ev->spearman};
    for (int i = 0; i < 6; i++)
        if (!strcmp(m, names[i]))
            return vals[i];
    return NAN;
}

static int better_hp(const sm_hparams *hp, const sm_eval_record *a, const sm_eval_record *b)
{
    double x = best_value(hp, a), y = best_value(hp, b);
    if (isnan(x))
        return 0;
    return isnan(y) || x > y;
}

#define better(a, b) better_hp(&s->hp, (a), (b))

/* ---- checkpoints during a run (save_every, save_limit, save_best) ---- */

/* A checkpoint folder written by this policy, removed with its files. */
static void remove_checkpoint(sm_session *s, const char *dir)
{
    sm_error e;
    if (sm_checkpoint_remove(dir, &e) != SM_OK)
        emit(s, SM_EVENT_WARN, NULL, NULL, "save_limit: %s", e.msg);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Keep the last save_limit checkpoint-STEP folders of the output folder. */
static void prune_checkpoints(sm_session *s)
{
    int64_t keep = (int64_t)s->hp.v[SM_HP_SAVE_LIMIT];
    if (keep <= 0)
        return;
    DIR *d = opendir(s->out_dir);
    if (!d)
        return;
    int64_t steps[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < sizeof steps / sizeof steps[0]) {
        char *end;
        if (strncmp(de->d_name, "checkpoint-", 11))
            continue;
        long long v = strtoll(de->d_name + 11, &end, 10);
        if (*end == '\0' && end != de->d_name + 11 && v >= 0)
            steps[n++] = v;
    }
    closedir(d);
    qsort(steps, n, sizeof steps[0], cmp_i64);
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/checkpoint-%lld", s->out_dir, (long long)steps[i]);
        remove_checkpoint(s, p);
        emit(s, SM_EVENT_CHANGE, NULL, NULL, "save_limit %lld: removed %s", (long long)keep, p);
    }
}

/* Write a policy checkpoint OUT/name (the output folder made first). Failures are warnings: the
 * run goes on. */
static void policy_save(sm_session *s, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s", s->out_dir);
    for (char *q = p + 1; *q; q++) /* the folders above it too, as Trainer makes output_dir */
        if (*q == '/') {
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                break;
            *q = '/';
        }
    if (mkdir(s->out_dir, 0755) != 0 && errno != EEXIST) {
        emit(s, SM_EVENT_WARN, NULL, NULL, "cannot create the checkpoint folder %s: %s", s->out_dir,
             strerror(errno));
        return;
    }
    snprintf(p, sizeof p, "%s/%s", s->out_dir, name);
    sm_error e;
    if (sm_checkpoint_save(s, p, &e) != SM_OK) {
        emit(s, SM_EVENT_WARN, NULL, NULL, "%s", e.msg);
        return;
    }
    emit(s, SM_EVENT_CHECKPOINT, NULL, NULL, "%s", p);
}

static sm_status run_eval(sm_session *s, int check_break, sm_error *e)
{
    if (!s->be.eval)
        return sm_err(e, SM_ERR_STATE, "no dev set to evaluate on (load one first)");
    sm_status st = prepare(s, e);
    if (st != SM_OK)
        return st;
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    st = s->be.eval(s->be.ctx, &ev, e);
    if (st != SM_OK)
        return st;
    ev.step = s->step;
    ev.epoch = s->epoch;
    s->last_eval_step = s->step;
    pthread_mutex_lock(&s->mu);
    s->eval = ev;
    s->has_eval = 1;
    int is_best = !s->has_best || better(&ev, &s->best);
    if (is_best) {
        s->best = ev;
        s->has_best = 1;
    }
    if (s->n_evals == s->cap_evals && s->cap_evals < EVAL_CAP) {
        size_t cap = s->cap_evals ? s->cap_evals * 2 : 64;
        sm_eval_record *p = realloc(s->evals, cap * sizeof *p);
        if (p) {
            s->evals = p;
            s->cap_evals = cap;
        }
    }
    if (s->n_evals < s->cap_evals)
        s->evals[s->n_evals++] = ev;
    pthread_mutex_unlock(&s->mu);
    emit(s, SM_EVENT_EVAL, NULL, &ev, NULL);
    if (is_best && s->hp.v[SM_HP_SAVE_BEST] > 0 && s->out_dir[0] && !s->replaying && !isnan(best_value(&s->hp, &ev)))
        policy_save(s, "best");
    if (check_break && s->on_break && !s->replaying) {
        char why[256] = "";
        if (s->on_break(s->break_ud, 'e', s->has_step ? &s->last : NULL, &ev, why, sizeof why)) {
            pthread_mutex_lock(&s->mu);
            snprintf(s->why, sizeof s->why, "%s", why);
            pthread_mutex_unlock(&s->mu);
            set_state(s, SM_SESSION_AT_BREAK);
            emit(s, SM_EVENT_BREAK, NULL, &ev, "%s", why);
        }
    }
    return SM_OK;
}

/* ---- steps ---- */

/* Resolve the computed step: apply or discard its update, count it, record it, and end the run,
 * the stepping or the epoch as due. */
static sm_status resolve(sm_session *s, sm_step_record *rec, int epoch_end, sm_pending_action act,
                         sm_error *e)
{
    if (act == SM_PENDING_APPLY) {
        sm_status st = s->be.apply(s->be.ctx, rec, e);
        if (st != SM_OK)
            return st;
    } else {
        if (s->be.discard)
            s->be.discard(s->be.ctx);
        rec->skipped = 1;
    }
    s->step++;
    rec->step = s->step;
    s->epoch = rec->epoch;
    free(s->pre_state);
    s->pre_state = NULL;
    pthread_mutex_lock(&s->mu);
    s->pending = 0;
    s->last = *rec;
    s->has_step = 1;
    s->dirty = 1;
    s->view_step = s->step;
    hist_push(s, rec);
    for (size_t i = 0; i < s->deferred.n; i++)
        if (sm_journal_add_event(&s->journal, &s->deferred.ev[i], NULL) != SM_OK)
            break;
    sm_journal_clear(&s->deferred);
    pthread_mutex_unlock(&s->mu);

    emit(s, SM_EVENT_STEP, rec, NULL, NULL);
    if (rec->skipped && act == SM_PENDING_APPLY)
        emit(s, SM_EVENT_WARN, rec, NULL,
             "step %lld: non-finite loss or gradient (loss %g, grad_norm %g): update skipped",
             (long long)rec->step, rec->loss, rec->grad_norm);
    s->skipped_in_row = rec->skipped && act == SM_PENDING_APPLY ? s->skipped_in_row + 1 : 0;
    if (s->skipped_in_row >= SM_SESSION_MAX_SKIPPED) { /* a diverged run stops, and says so */
        s->skipped_in_row = 0;
        return sm_err(e, SM_ERR_NONFINITE,
                      "the updates of steps %lld to %lld were all skipped as non-finite: the run has "
                      "diverged and is stopped (lower lr, set clip, or rewind to an earlier snapshot)",
                      (long long)(s->step - SM_SESSION_MAX_SKIPPED + 1), (long long)s->step);
    }

    int64_t save_every = (int64_t)s->hp.v[SM_HP_SAVE_EVERY];
    if (save_every > 0 && s->step % save_every == 0 && s->out_dir[0] && !s->replaying) {
        char name[48];
        snprintf(name, sizeof name, "checkpoint-%lld", (long long)s->step);
        policy_save(s, name);
        prune_checkpoints(s);
    }
    int64_t every = (int64_t)s->hp.v[SM_HP_EVAL_EVERY];
    int run_over = s->run_end > 0 && s->step >= s->run_end;
    if (s->be.eval && ((every > 0 && s->step % every == 0) || (every == 0 && epoch_end) ||
                       (run_over && s->last_eval_step != s->step && !s->replaying))) {
        sm_error ee;
        if (run_eval(s, 1, &ee) != SM_OK && ee.status != SM_ERR_STATE)
            emit(s, SM_EVENT_WARN, NULL, NULL, "evaluation failed: %s", ee.msg);
    }
    return SM_OK;
}

/* One step of a run: compute, check the breakpoint, apply. */
static sm_status one_step(sm_session *s, sm_error *e)
{
    sm_status st = prepare(s, e);
    if (st != SM_OK)
        return st;
    if (s->hp_changed && s->be.set_hparams) {
        if ((st = s->be.set_hparams(s->be.ctx, &s->hp, e)) != SM_OK)
            return st;
        s->hp_changed = 0;
    }
    free(s->pre_state);
    s->pre_state = s->be.state_to_json ? s->be.state_to_json(s->be.ctx) : NULL;
    sm_step_record rec;
    memset(&rec, 0, sizeof rec);
    int epoch_end = 0;
    if ((st = s->be.compute(s->be.ctx, &rec, &epoch_end, e)) != SM_OK)
        return st;
    rec.step = s->step + 1;
    if (s->on_break && !s->replaying) {
        char why[256] = "";
        if (s->on_break(s->break_ud, 's', &rec, s->has_eval ? &s->eval : NULL, why, sizeof why)) {
            pthread_mutex_lock(&s->mu);
            s->pending = 1;
            s->pending_rec = rec;
            snprintf(s->why, sizeof s->why, "%s", why);
            pthread_mutex_unlock(&s->mu);
            s->pending_epoch_end = epoch_end;
            set_state(s, SM_SESSION_AT_BREAK);
            emit(s, SM_EVENT_BREAK, &rec, NULL, "%s", why);
            return SM_OK;
        }
    }
    return resolve(s, &rec, epoch_end, SM_PENDING_APPLY, e);
}

static sm_status resolve_pending(sm_session *s, sm_pending_action act, sm_error *e)
{
    if (!s->pending)
        return SM_OK;
    if (act == SM_PENDING_DISCARD)
        journal(s, s->step, "discard", 0, NULL);
    sm_step_record rec = s->pending_rec;
    return resolve(s, &rec, s->pending_epoch_end, act, e);
}

/* After a step: pause, stop or carry on. */
static void after_step(sm_session *s)
{
    sm_session_state st = s->state;
    if (st == SM_SESSION_AT_BREAK)
        return;
    if (st == SM_SESSION_STEPPING && s->step >= s->step_end) {
        journal(s, s->step, "stepped", 0, NULL);
        set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
        return;
    }
    if (st == SM_SESSION_RUNNING && s->run_end > 0 && s->step >= s->run_end) {
        journal(s, s->step, "done", 0, NULL);
        s->run_end = 0;
        set_state(s, SM_SESSION_STOPPED);
        emit(s, SM_EVENT_DONE, s->has_step ? &s->last : NULL, s->has_eval ? &s->eval : NULL,
             "run done at step %lld", (long long)s->step);
        return;
    }
    if (atomic_exchange(&s->interrupt, 0) && (st == SM_SESSION_RUNNING || st == SM_SESSION_STEPPING)) {
        journal(s, s->step, "pause", 0, NULL);
        set_state(s, SM_SESSION_PAUSED);
    }
}

/* Run one step if the state calls for one; on failure the run stops with an ERROR event. */
static void loop_once(sm_session *s)
{
    sm_error e;
    if (one_step(s, &e) != SM_OK) {
        s->run_end = 0;
        journal(s, s->step, "stop", 0, NULL);
        set_state(s, SM_SESSION_STOPPED);
        emit(s, SM_EVENT_ERROR, NULL, NULL, "step %lld failed: %s", (long long)s->step + 1, e.msg);
        return;
    }
    after_step(s);
}

static int active(sm_session_state st) { return st == SM_SESSION_RUNNING || st == SM_SESSION_STEPPING; }

/* ---- snapshots ---- */

static snapshot *snap_find(sm_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_snaps; i++)
        if (!strcmp(s->snaps[i].name, name))
            return &s->snaps[i];
    return NULL;
}

static void snap_free(snapshot *sn)
{
    for (size_t i = 0; i < sn->n_tensors; i++)
        sm_free_aligned(sn->data[i]);
    free(sn->data);
    free(sn->state);
    memset(sn, 0, sizeof *sn);
}

static sm_status snap_take(sm_session *s, const char *name, sm_error *e)
{
    if (!*name || strlen(name) >= sizeof s->snaps[0].name)
        return sm_err(e, SM_ERR_INVALID, "snapshot name must be 1 to 63 characters");
    sm_status st = prepare(s, e);
    if (st != SM_OK)
        return st;
    snapshot sn;
    memset(&sn, 0, sizeof sn);
    snprintf(sn.name, sizeof sn.name, "%s", name);
    sn.n_tensors = sm_session_tensor_count(s);
    sn.data = calloc(sn.n_tensors ? sn.n_tensors : 1, sizeof *sn.data);
    if (!sn.data)
        return sm_err(e, SM_ERR_NOMEM, "snapshot %s: out of memory", name);
    for (size_t i = 0; i < sn.n_tensors; i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        if (!(sn.data[i] = sm_alloc_floats(t.n ? t.n : 1, e, t.name))) {
            snap_free(&sn);
            return sm_err_prefix(e, "snapshot %s", name);
        }
        memcpy(sn.data[i], t.data, t.n * sizeof(float));
    }
    if (!(sn.state = sm_session_state_to_json(s))) {
        snap_free(&sn);
        return sm_err(e, SM_ERR_NOMEM, "snapshot %s: out of memory", name);
    }
    snapshot *old = snap_find(s, name);
    if (old) {
        snap_free(old);
        *old = sn;
    } else if (s->n_snaps == SNAP_MAX) {
        snap_free(&sn);
        return sm_err(e, SM_ERR_RANGE, "snapshot %s: at most %d snapshots; overwrite one by name", name,
                      SNAP_MAX);
    } else {
        pthread_mutex_lock(&s->mu);
        s->snaps[s->n_snaps++] = sn;
        pthread_mutex_unlock(&s->mu);
    }
    return SM_OK;
}

static sm_status snap_restore(sm_session *s, const char *name, sm_error *e)
{
    snapshot *sn = snap_find(s, name);
    if (!sn) {
        sm_str list = SM_STR_INIT;
        for (size_t i = 0; i < s->n_snaps; i++)
            sm_str_appendf(&list, "%s%s", i ? ", " : "", s->snaps[i].name);
        sm_err(e, SM_ERR_NOTFOUND, "no snapshot named '%s' (%s%s)", name,
               s->n_snaps ? "have: " : "none taken yet; take one with `snapshot NAME`", sm_str_cstr(&list));
        sm_str_free(&list);
        return SM_ERR_NOTFOUND;
    }
    if (s->pending && s->be.discard)
        s->be.discard(s->be.ctx);
    sm_status st = sm_session_state_from_json(s, sn->state, e);
    if (st != SM_OK)
        return st;
    for (size_t i = 0; i < sn->n_tensors && i < sm_session_tensor_count(s); i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        memcpy(t.data, sn->data[i], t.n * sizeof(float));
    }
    return SM_OK;
}

/* After a rewind: the records of the branch that was left (steps and evaluations after the restored
 * step) leave the history, and the view's last step, last and best evaluation are recomputed from
 * what remains, so every display and export shows the restored state. */
static void history_truncate(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->hist_n && s->hist[(s->hist_head + s->hist_n - 1) % s->hist_cap].step > s->step)
        s->hist_n--;
    s->has_step = s->hist_n > 0;
    if (s->has_step)
        s->last = s->hist[(s->hist_head + s->hist_n - 1) % s->hist_cap];
    else
        memset(&s->last, 0, sizeof s->last);
    while (s->n_evals && s->evals[s->n_evals - 1].step > s->step)
        s->n_evals--;
    s->has_eval = s->n_evals > 0;
    if (s->has_eval)
        s->eval = s->evals[s->n_evals - 1];
    s->has_best = 0;
    for (size_t i = 0; i < s->n_evals; i++)
        if (!s->has_best || better(&s->evals[i], &s->best)) {
            s->best = s->evals[i];
            s->has_best = 1;
        }
    pthread_mutex_unlock(&s->mu);
}

/* ---- commands ---- */

static void reply_ok(sm_session_reply *r, int64_t step, const char *fmt, ...) SM_PRINTF(3, 4);
static void reply_ok(sm_session_reply *r, int64_t step, const char *fmt, ...)
{
    r->status = SM_OK;
    r->step = step;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof r->msg, fmt, ap);
        va_end(ap);
    }
}

/* Validate a new set of values against the current state (fixed values cannot change once training
 * started). */
static sm_status check_change(sm_session *s, const sm_hparams *nh, sm_error *e)
{
    for (int id = 0; id < SM_HP_COUNT; id++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        if (d->live || nh->v[id] == s->hp.v[id])
            continue;
        if (s->step == 0 && !s->pending && s->state == SM_SESSION_STOPPED) {
            s->prepared = 0; /* before the first step: the backend is made again */
            continue;
        }
        return sm_err(e, SM_ERR_STATE,
                      "%s cannot change once training has started (it is fixed at step 0); "
                      "start a new session to change it", d->name);
    }
    return SM_OK;
}

/* A CHANGE event for hyperparameter id, from old to new, effective at step at + 1. */
static void emit_change(sm_session *s, int id, double old_v, double new_v, int64_t at)
{
    char o[64], n[64];
    sm_hparam_format(id, old_v, o, sizeof o);
    sm_hparam_format(id, new_v, n, sizeof n);
    sm_session_event e;
    memset(&e, 0, sizeof e);
    e.kind = SM_EVENT_CHANGE;
    e.step = at;
    e.epoch = s->epoch;
    e.state = (int)s->state;
    e.name = sm_hparam_def_at(id)->name;
    e.old_value = o;
    e.new_value = n;
    emit_event(s, &e);
}

static sm_status change_hp(sm_session *s, const sm_hparams *nh, sm_session_reply *r, const char *op,
                           int argc, const char *const *argv)
{
    sm_status st = check_change(s, nh, &r->err);
    if (st != SM_OK)
        return st;
    s->hp = *nh;
    s->hp_changed = 1;
    int64_t at = s->pending ? s->step + 1 : s->step;
    journal(s, at, op, argc, argv);
    publish_hp(s);
    r->effect_step = at + 1;
    return SM_OK;
}

static sm_status cmd_set(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    sm_hparams nh = s->hp;
    sm_status st = sm_hparams_set(&nh, c->name, c->value, &r->err);
    if (st != SM_OK)
        return st;
    int id = sm_hparam_lookup(c->name);
    char text[64];
    sm_hparam_format(id, nh.v[id], text, sizeof text);
    const char *args[] = {sm_hparam_def_at(id)->name, text};
    double old_v = s->hp.v[id];
    if ((st = change_hp(s, &nh, r, "set", 2, args)) != SM_OK)
        return st;
    reply_ok(r, s->step, "%s = %s from step %lld%s", args[0], text, (long long)r->effect_step,
             (id == SM_HP_SAVE_EVERY || id == SM_HP_SAVE_BEST) && nh.v[id] > 0 && !s->out_dir[0]
                 ? " (no checkpoint folder yet: the first `save DIR` makes it DIR-checkpoints)"
                 : "");
    emit_change(s, id, old_v, nh.v[id], r->effect_step - 1);
    return SM_OK;
}

static sm_status cmd_preset(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    sm_hparams nh = s->hp;
    sm_status st = sm_hparams_preset(&nh, c->name, &r->err);
    if (st != SM_OK)
        return st;
    const char *arg = c->name;
    sm_hparams old = s->hp;
    if ((st = change_hp(s, &nh, r, "preset", 1, &arg)) != SM_OK)
        return st;
    reply_ok(r, s->step, "preset %s from step %lld", c->name, (long long)r->effect_step);
    for (int id = 0; id < SM_HP_COUNT; id++)
        if (old.v[id] != nh.v[id])
            emit_change(s, id, old.v[id], nh.v[id], r->effect_step - 1);
    return SM_OK;
}

static sm_status cmd_train(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (s->state != SM_SESSION_STOPPED)
        return sm_err(&r->err, SM_ERR_STATE, "a run is %s: %s", sm_session_state_name(s->state),
                      s->state == SM_SESSION_AT_BREAK ? "resume, step or stop it first"
                                                      : "resume or stop it first");
    if (c->n < 0 || c->epochs < 0)
        return sm_err(&r->err, SM_ERR_INVALID, "train: the number of steps or epochs must be positive");
    sm_status st = prepare(s, &r->err);
    if (st != SM_OK)
        return st;
    int64_t n = c->n, end;
    char arg[48];
    if (n > 0) {
        if (__builtin_add_overflow(s->step, n, &end)) /* `--steps 9223372036854775807`: no end */
            end = INT64_MAX;
        snprintf(arg, sizeof arg, "%lld", (long long)n);
    } else if (c->epochs > 0) {
        sm_hparams one = s->hp;
        one.v[SM_HP_EPOCHS] = 1;
        one.v[SM_HP_MAX_STEPS] = 0;
        int64_t per = s->be.planned_steps ? s->be.planned_steps(s->be.ctx, &one) : 0;
        if (per <= 0)
            return sm_err(&r->err, SM_ERR_STATE, "train: no training data to count epochs over");
        if (__builtin_mul_overflow(c->epochs, per, &end) || __builtin_add_overflow(s->step, end, &end))
            end = INT64_MAX;
        snprintf(arg, sizeof arg, "%lld epochs", (long long)c->epochs);
    } else {
        end = planned(s);
        if (end <= s->step)
            return sm_err(&r->err, SM_ERR_STATE,
                          "train: the %lld planned steps are done; give a number: `train N`",
                          (long long)end);
        snprintf(arg, sizeof arg, "%lld", (long long)(end - s->step));
    }
    const char *a = arg;
    journal(s, s->step, "train", 1, &a);
    s->run_end = end;
    pthread_mutex_lock(&s->mu);
    s->view_planned = planned(s);
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->interrupt, 0);
    reply_ok(r, s->step, "training from step %lld to %lld", (long long)s->step, (long long)end);
    set_state(s, SM_SESSION_RUNNING);
    return SM_OK;
}

static sm_status cmd_step(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (c->n < 1)
        return sm_err(&r->err, SM_ERR_INVALID, "step: N must be at least 1");
    if (active(s->state))
        return sm_err(&r->err, SM_ERR_STATE, "step: training is running; pause it first");
    sm_status st = prepare(s, &r->err);
    if (st != SM_OK)
        return st;
    journal_int(s, s->step, "step", c->n);
    int64_t start = s->step;
    s->step_end = s->step + c->n;
    if (s->pending) {
        if ((st = resolve_pending(s, SM_PENDING_APPLY, &r->err)) != SM_OK)
            return st;
    }
    atomic_store(&s->interrupt, 0);
    reply_ok(r, start, "stepping from %lld to %lld", (long long)start, (long long)s->step_end);
    if (s->step >= s->step_end) {
        journal(s, s->step, "stepped", 0, NULL);
        set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
    }
    else
        set_state(s, SM_SESSION_STEPPING);
    return SM_OK;
}

static sm_status cmd_resume(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (s->state != SM_SESSION_PAUSED && s->state != SM_SESSION_AT_BREAK)
        return sm_err(&r->err, SM_ERR_STATE, "resume: nothing is paused (the session is %s)",
                      sm_session_state_name(s->state));
    int had = s->pending;
    sm_status st = resolve_pending(s, c->pending, &r->err);
    if (st != SM_OK)
        return st;
    const char *a = c->pending == SM_PENDING_DISCARD ? "discard" : "apply";
    journal(s, s->step, "resume", had ? 1 : 0, had ? &a : NULL);
    atomic_store(&s->interrupt, 0);
    reply_ok(r, s->step, had ? "pending update %s, resumed at step %lld" : "%sresumed at step %lld",
             had ? (c->pending == SM_PENDING_DISCARD ? "discarded" : "applied") : "",
             (long long)s->step);
    if (s->run_end > s->step) {
        set_state(s, SM_SESSION_RUNNING);
    } else {
        s->run_end = 0;
        set_state(s, SM_SESSION_STOPPED);
    }
    return SM_OK;
}

static sm_status cmd_stop(sm_session *s, sm_session_reply *r)
{
    if (s->state == SM_SESSION_STOPPED)
        return sm_err(&r->err, SM_ERR_STATE, "stop: no run in progress");
    sm_status st = resolve_pending(s, SM_PENDING_DISCARD, &r->err);
    if (st != SM_OK)
        return st;
    s->run_end = 0;
    journal(s, s->step, "stop", 0, NULL);
    reply_ok(r, s->step, "stopped at step %lld", (long long)s->step);
    set_state(s, SM_SESSION_STOPPED);
    return SM_OK;
}

static sm_status cmd_rewind(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (active(s->state))
        return sm_err(&r->err, SM_ERR_STATE, "rewind: training is running; pause it first");
    int64_t from = s->step;
    const char *a = c->name;
    sm_status st = snap_restore(s, c->name, &r->err);
    if (st != SM_OK)
        return st;
    pthread_mutex_lock(&s->mu);
    s->pending = 0;
    s->view_step = s->step;
    sm_journal_clear(&s->deferred);
    pthread_mutex_unlock(&s->mu);
    history_truncate(s);
    /* after the pending update is dropped: at a breakpoint, journal() put an event at a step beyond
     * the restored one among the deferred events, which were just cleared, and the rewind was lost */
    journal(s, from, "rewind", 1, &a);
    free(s->pre_state);
    s->pre_state = NULL;
    reply_ok(r, s->step, "rewound from step %lld to snapshot %s at step %lld", (long long)from,
             c->name, (long long)s->step);
    set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
    if (s->state == SM_SESSION_STOPPED)
        s->run_end = 0;
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SM_EVENT_REWIND;
    ev.step = s->step;
    ev.from_step = from;
    ev.epoch = s->epoch; /* restored from the snapshot's state */
    ev.state = (int)s->state;
    ev.name = c->name;
    ev.msg = r->msg;
    if ((ev.has_rec = s->has_step && s->last.step == s->step)) /* else the record left with the branch */
        ev.rec = s->last;
    if ((ev.has_eval = s->has_eval && s->eval.step <= s->step))
        ev.eval = s->eval;
    emit_event(s, &ev);
    return SM_OK;
}

static sm_status cmd_save(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    const char *a = c->path;
    if (!*c->path)
        return sm_err(&r->err, SM_ERR_INVALID, "save: no folder given");
    journal(s, s->step, "save", 1, &a);
    sm_status st = sm_checkpoint_save(s, c->path, &r->err);
    if (st != SM_OK) {
        pthread_mutex_lock(&s->mu);
        if (s->journal.n && !strcmp(s->journal.ev[s->journal.n - 1].op, "save")) {
            s->journal.n--;
            sm_journal_event *ev = &s->journal.ev[s->journal.n];
            for (int i = 0; i < ev->argc; i++)
                free(ev->argv[i]);
            free(ev->argv);
        }
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    pthread_mutex_lock(&s->mu);
    s->dirty = 0;
    pthread_mutex_unlock(&s->mu);
    if (!s->out_dir[0]) { /* save_every and save_best write beside the first saved checkpoint */
        size_t n = strlen(c->path);
        while (n > 1 && c->path[n - 1] == '/')
            n--;
        if (n + 16 < sizeof s->out_dir)
            snprintf(s->out_dir, sizeof s->out_dir, "%.*s-checkpoints", (int)n, c->path);
    }
    reply_ok(r, s->step, "saved step %lld to %s", (long long)s->step, c->path);
    emit(s, SM_EVENT_CHECKPOINT, NULL, NULL, "%s", c->path);
    return SM_OK;
}

static sm_status exec_cmd(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    sm_error_clear(&r->err);
    r->status = SM_OK;
    r->step = r->effect_step = s->step;
    r->msg[0] = '\0';
    sm_status st = SM_OK;
    switch (c->kind) {
    case SM_CMD_SET: st = cmd_set(s, c, r); break;
    case SM_CMD_PRESET: st = cmd_preset(s, c, r); break;
    case SM_CMD_TRAIN: st = cmd_train(s, c, r); break;
    case SM_CMD_STEP: st = cmd_step(s, c, r); break;
    case SM_CMD_PAUSE:
        if (!active(s->state)) {
            st = sm_err(&r->err, SM_ERR_STATE, "pause: training is not running (it is %s)",
                        sm_session_state_name(s->state));
            break;
        }
        journal(s, s->step, "pause", 0, NULL);
        reply_ok(r, s->step, "paused at step %lld", (long long)s->step);
        set_state(s, SM_SESSION_PAUSED);
        break;
    case SM_CMD_RESUME: st = cmd_resume(s, c, r); break;
    case SM_CMD_STOP: st = cmd_stop(s, r); break;
    case SM_CMD_EVAL:
        if ((st = run_eval(s, 0, &r->err)) == SM_OK) {
            journal(s, s->step, "eval", 0, NULL);
            reply_ok(r, s->step, "evaluated at step %lld", (long long)s->step);
        }
        break;
    case SM_CMD_SNAPSHOT:
        if ((st = snap_take(s, c->name, &r->err)) == SM_OK) {
            const char *a = c->name;
            journal(s, s->step, "snapshot", 1, &a);
            reply_ok(r, s->step, "snapshot %s at step %lld", c->name, (long long)s->step);
            sm_session_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = SM_EVENT_SNAPSHOT;
            ev.step = s->step;
            ev.epoch = s->epoch;
            ev.state = (int)s->state;
            ev.name = c->name;
            emit_event(s, &ev);
        }
        break;
    case SM_CMD_REWIND: st = cmd_rewind(s, c, r); break;
    case SM_CMD_SAVE: st = cmd_save(s, c, r); break;
    case SM_CMD_DISCARD:
        if (s->state != SM_SESSION_STOPPED && s->state != SM_SESSION_PAUSED) {
            st = sm_err(&r->err, SM_ERR_STATE, "discard: only between runs or while paused");
            break;
        }
        {
            sm_error e;
            int was = s->replaying;
            s->replaying = 1;
            journal(s, s->step, "discard", 0, NULL);
            sm_status cs = prepare(s, &e);
            sm_step_record rec;
            memset(&rec, 0, sizeof rec);
            int eoe = 0;
            if (cs == SM_OK && s->hp_changed && s->be.set_hparams &&
                (cs = s->be.set_hparams(s->be.ctx, &s->hp, &e)) == SM_OK)
                s->hp_changed = 0;
            if (cs == SM_OK)
                cs = s->be.compute(s->be.ctx, &rec, &eoe, &e);
            if (cs == SM_OK)
                cs = resolve(s, &rec, eoe, SM_PENDING_DISCARD, &e);
            s->replaying = was;
            if (cs != SM_OK) {
                r->err = e;
                st = cs;
            } else {
                reply_ok(r, s->step, "step %lld computed and discarded", (long long)s->step);
            }
        }
        break;
    case SM_CMD_CALL:
        if (!c->fn)
            st = sm_err(&r->err, SM_ERR_INVALID, "call: no function");
        else if ((st = c->fn(s, c->arg, &r->err)) == SM_OK)
            reply_ok(r, s->step, NULL);
        break;
    default:
        st = sm_err(&r->err, SM_ERR_INVALID, "unknown session command %d", (int)c->kind);
    }
    r->status = st;
    if (st != SM_OK && r->err.status == SM_OK)
        r->err.status = st;
    return st;
}

/* ---- the thread ---- */

static void *thread_main(void *arg)
{
    sm_session *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->qhead) {
            qitem *q = s->qhead;
            s->qhead = q->next;
            if (!s->qhead)
                s->qtail = NULL;
            pthread_mutex_unlock(&s->mu);
            exec_cmd(s, q->cmd, q->reply);
            pthread_mutex_lock(&s->mu);
            q->done = 1;
            pthread_cond_broadcast(&s->cv);
        }
        if (s->quit)
            break;
        if (active(s->state)) {
            pthread_mutex_unlock(&s->mu);
            loop_once(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- public ---- */

sm_status sm_session_new(const sm_session_backend *be, const sm_hparams *hp, sm_session **out,
                         sm_error *e)
{
    *out = NULL;
    if (!be || !be->compute || !be->apply)
        return sm_err(e, SM_ERR_INVALID, "session: the backend must at least compute and apply steps");
    sm_session *s = sm_calloc(1, sizeof *s, e, "session");
    if (!s)
        return SM_ERR_NOMEM;
    s->be = *be;
    s->hp = *hp;
    s->last_eval_step = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    sm_journal_init(&s->journal);
    sm_journal_init(&s->deferred);
    atomic_init(&s->interrupt, 0);
    sm_eval_record_init(&s->eval);
    sm_eval_record_init(&s->best);
    s->hist_cap = 100000;
    s->hist = calloc(s->hist_cap, sizeof *s->hist);
    if (!s->hist) {
        s->be.free = NULL;
        sm_session_free(s);
        return sm_err(e, SM_ERR_NOMEM, "session: out of memory for the history");
    }
    publish_hp(s);
    *out = s;
    return SM_OK;
}

void sm_session_free(sm_session *s)
{
    if (!s)
        return;
    sm_session_join(s);
    for (size_t i = 0; i < s->n_snaps; i++)
        snap_free(&s->snaps[i]);
    if (s->be.free)
        s->be.free(s->be.ctx);
    free(s->pre_state);
    free(s->hist);
    free(s->evals);
    sm_journal_free(&s->journal);
    sm_journal_free(&s->deferred);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void sm_session_set_event_fn(sm_session *s, sm_session_event_fn fn, void *ud)
{
    pthread_mutex_lock(&s->mu);
    s->on_event = fn;
    s->event_ud = ud;
    pthread_mutex_unlock(&s->mu);
}

void sm_session_set_break_fn(sm_session *s, sm_break_fn fn, void *ud)
{
    pthread_mutex_lock(&s->mu);
    s->on_break = fn;
    s->break_ud = ud;
    pthread_mutex_unlock(&s->mu);
}

void sm_session_set_history_cap(sm_session *s, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    sm_step_record *h = calloc(cap ? cap : 1, sizeof *h);
    if (h) {
        size_t keep = s->hist_n < cap ? s->hist_n : cap;
        for (size_t i = 0; i < keep; i++)
            h[i] = s->hist[(s->hist_head + s->hist_n - keep + i) % s->hist_cap];
        free(s->hist);
        s->hist = h;
        s->hist_cap = cap;
        s->hist_n = keep;
        s->hist_head = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

sm_status sm_session_start(sm_session *s, sm_error *e)
{
    pthread_mutex_lock(&s->mu);
    if (s->threaded) {
        pthread_mutex_unlock(&s->mu);
        return sm_err(e, SM_ERR_STATE, "session: the trainer thread already runs");
    }
    s->quit = 0;
    int rc = pthread_create(&s->thread, NULL, thread_main, s);
    if (rc == 0)
        s->threaded = 1;
    pthread_mutex_unlock(&s->mu);
    return rc == 0 ? SM_OK : sm_err(e, SM_ERR_STATE, "session: cannot start the trainer thread: %s",
                                    strerror(rc));
}

void sm_session_join(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    if (!s->threaded) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    s->threaded = 0;
    pthread_mutex_unlock(&s->mu);
    if (active(s->state)) {
        journal(s, s->step, "pause", 0, NULL);
        set_state(s, SM_SESSION_PAUSED);
    }
}

sm_status sm_session_command(sm_session *s, const sm_session_cmd *cmd, sm_session_reply *reply)
{
    sm_session_reply local;
    if (!reply)
        reply = &local;
    pthread_mutex_lock(&s->mu);
    if (s->threaded) {
        if (pthread_equal(pthread_self(), s->thread)) {
            pthread_mutex_unlock(&s->mu);
            reply->status = sm_err(&reply->err, SM_ERR_STATE,
                                   "session: a command cannot be posted from the trainer thread");
            return reply->status;
        }
        qitem q = {cmd, reply, 0, NULL};
        if (s->qtail)
            s->qtail->next = &q;
        else
            s->qhead = &q;
        s->qtail = &q;
        pthread_cond_broadcast(&s->cv);
        while (!q.done)
            pthread_cond_wait(&s->cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        return reply->status;
    }
    pthread_mutex_unlock(&s->mu);
    sm_status st = exec_cmd(s, cmd, reply);
    while (st == SM_OK && active(s->state))
        loop_once(s);
    return st;
}

static sm_session_cmd mkcmd(sm_cmd_kind kind)
{
    sm_session_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    return c;
}

/* Copy text whole into a command's field, or refuse it (in r) with a message naming the limit: a
 * command never carries a cut name, value or path. */
static int cmd_field(char *dst, size_t cap, const char *text, const char *what, sm_session_reply *r)
{
    size_t n = strlen(text);
    if (n < cap) {
        memcpy(dst, text, n + 1);
        return 1;
    }
    if (r) {
        memset(r, 0, sizeof *r);
        r->status = sm_err(&r->err, SM_ERR_INVALID, "%s '%.40s...' is %zu bytes long: at most %zu are allowed",
                           what, text, n, cap - 1);
    }
    return 0;
}

sm_status sm_session_set(sm_session *s, const char *name, const char *value, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(SM_CMD_SET);
    if (!cmd_field(c.name, sizeof c.name, name, "set: the name", r) ||
        !cmd_field(c.value, sizeof c.value, value, "set: the value", r))
        return SM_ERR_INVALID;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_train(sm_session *s, int64_t steps, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(SM_CMD_TRAIN);
    c.n = steps;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_step(sm_session *s, int64_t n, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(SM_CMD_STEP);
    c.n = n;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_simple(sm_session *s, sm_cmd_kind kind, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(kind);
    return sm_session_command(s, &c, r);
}

sm_status sm_session_named(sm_session *s, sm_cmd_kind kind, const char *name, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(kind);
    if (!cmd_field(c.path, sizeof c.path, name, "the path", r) ||
        (kind != SM_CMD_SAVE && !cmd_field(c.name, sizeof c.name, name, "the name", r)))
        return SM_ERR_INVALID;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_resume(sm_session *s, sm_pending_action pending, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(SM_CMD_RESUME);
    c.pending = pending;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_call(sm_session *s, sm_session_call_fn fn, void *arg, sm_session_reply *r)
{
    sm_session_cmd c = mkcmd(SM_CMD_CALL);
    c.fn = fn;
    c.arg = arg;
    return sm_session_command(s, &c, r);
}

void sm_session_interrupt(sm_session *s)
{
    atomic_store(&s->interrupt, 1);
}

int sm_session_wait_idle(sm_session *s, double timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_s >= 0) {
        double t = until.tv_sec + until.tv_nsec * 1e-9 + timeout_s;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    }
    pthread_mutex_lock(&s->mu);
    int ok = 1;
    while (active(s->state) || s->qhead) {
        if (timeout_s < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            ok = !(active(s->state) || s->qhead);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void sm_session_view_get(sm_session *s, sm_session_view *v)
{
    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&s->mu);
    v->state = s->state;
    v->step = s->view_step;
    v->epoch = s->has_step ? s->last.epoch : 0;
    v->planned = s->view_planned;
    v->run_end = s->run_end;
    v->progress = v->planned > 0 ? (double)v->step / (double)v->planned : 0;
    if (v->progress > 1)
        v->progress = 1;
    v->has_step = s->has_step;
    v->has_eval = s->has_eval;
    v->has_best = s->has_best;
    v->last = s->last;
    v->examples_per_s = s->has_step ? s->last.examples_per_s : 0;
    v->eval = s->eval;
    v->best = s->best;
    v->pending = s->pending;
    v->pending_rec = s->pending_rec;
    snprintf(v->why, sizeof v->why, "%s", s->why);
    v->hp = s->view_hp;
    v->dirty = s->dirty;
    v->n_snapshots = s->n_snaps;
    pthread_mutex_unlock(&s->mu);
}

size_t sm_session_history(sm_session *s, sm_step_record **out)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->hist_n;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        n = 0;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = s->hist[(s->hist_head + i) % s->hist_cap];
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t sm_session_evals(sm_session *s, sm_eval_record **out)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_evals;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        n = 0;
    if (n)
        memcpy(*out, s->evals, n * sizeof **out);
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int csv_put(FILE *f, const char *text, int first)
{
    if (!first && fputc(',', f) == EOF)
        return -1;
    if (strpbrk(text, ",\"\r\n ")) /* libcsv quotes (and doubles quotes) only where needed */
        return csv_fwrite(f, text, strlen(text));
    return fputs(text, f) == EOF ? -1 : 0;
}

sm_status sm_session_export_metrics(sm_session *s, const char *path, sm_error *e)
{
    sm_step_record *h;
    sm_eval_record *ev;
    size_t n = sm_session_history(s, &h), ne = sm_session_evals(s, &ev);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(h);
        free(ev);
        return sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    size_t nf = sm_field_count();
    int bad = 0;
    for (size_t i = 0; i < nf; i++)
        bad |= csv_put(f, sm_field_at(i)->name, i == 0) < 0;
    bad |= fputc('\n', f) == EOF;
    size_t k = 0;
    for (size_t r = 0; r < n && !bad; r++) {
        /* the evaluation that ran right after this step, if any */
        const sm_eval_record *match = NULL;
        while (k < ne && ev[k].step < h[r].step)
            k++;
        if (k < ne && ev[k].step == h[r].step && (r + 1 == n || h[r + 1].step != h[r].step))
            match = &ev[k];
        for (size_t i = 0; i < nf; i++) {
            double v = sm_field_value((int)i, &h[r], match);
            char buf[40] = "";
            if (!isnan(v))
                snprintf(buf, sizeof buf, "%.9g", v);
            bad |= csv_put(f, buf, i == 0) < 0;
        }
        bad |= fputc('\n', f) == EOF;
    }
    free(h);
    free(ev);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return sm_err(e, SM_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return sm_err(e, SM_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return SM_OK;
}

sm_status sm_session_journal(sm_session *s, sm_journal *out, sm_error *e)
{
    pthread_mutex_lock(&s->mu);
    sm_status st = sm_journal_copy(out, &s->journal, e);
    pthread_mutex_unlock(&s->mu);
    return st;
}

sm_status sm_session_journal_add(sm_session *s, const char *op, int argc, const char *const *argv,
                                 sm_error *e)
{
    pthread_mutex_lock(&s->mu);
    sm_status st = sm_journal_add(&s->journal, s->view_step, 0, op, argc, argv, e);
    pthread_mutex_unlock(&s->mu);
    return st;
}

sm_status sm_session_journal_set(sm_session *s, const sm_journal *j, sm_error *e)
{
    sm_journal copy;
    sm_status st = sm_journal_copy(&copy, j, e);
    if (st != SM_OK)
        return st;
    pthread_mutex_lock(&s->mu);
    sm_journal_free(&s->journal);
    s->journal = copy;
    pthread_mutex_unlock(&s->mu);
    return SM_OK;
}

static int op_is(const sm_journal_event *ev, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(ev->op, *names))
            return 1;
    return 0;
}

void sm_session_set_replay_watch(sm_session *s, volatile sig_atomic_t *a, volatile sig_atomic_t *b,
                                 void (*progress)(void *ud, int64_t step, int64_t target), void *ud)
{
    s->replay_flags[0] = a;
    s->replay_flags[1] = b;
    s->replay_progress = progress;
    s->replay_ud = ud;
}

/* A train or step event's reach: the step its N (or N epochs) takes the run to; 0 when unknown. */
static int64_t event_reach(sm_session *s, const sm_journal_event *ev)
{
    char *end;
    long long n = ev->argc >= 1 ? strtoll(ev->argv[0], &end, 10) : 0;
    if (ev->argc < 1 || n <= 0 || end == ev->argv[0])
        return 0;
    if (!strcmp(end, " epochs")) {
        sm_hparams one = s->hp;
        one.v[SM_HP_EPOCHS] = 1;
        one.v[SM_HP_MAX_STEPS] = 0;
        int64_t per = s->be.planned_steps ? s->be.planned_steps(s->be.ctx, &one) : 0;
        if (per <= 0 || __builtin_mul_overflow((int64_t)n, per, &n))
            return 0;
    } else if (*end) {
        return 0;
    }
    int64_t reach;
    return __builtin_add_overflow(ev->step, (int64_t)n, &reach) ? INT64_MAX : reach;
}

static int replay_stopped(sm_session *s)
{
    return atomic_load(&s->interrupt) || (s->replay_flags[0] && *s->replay_flags[0]) ||
           (s->replay_flags[1] && *s->replay_flags[1]);
}

sm_status sm_session_apply_event(sm_session *s, const sm_journal_event *ev, sm_error *e)
{
    static const char *const markers[] = {"train", "step", "stepped", "pause", "resume", "stop",
                                          "done", "break", "delete", "save", "quit", NULL};
    if (s->threaded)
        return sm_err(e, SM_ERR_STATE, "replay: stop the trainer thread first");
    if (ev->step < s->step)
        return sm_err(e, SM_ERR_STATE,
                      "replay: event '%s' took effect at step %lld but the session is already at "
                      "step %lld", ev->op, (long long)ev->step, (long long)s->step);
    if (s->pending)
        return sm_err(e, SM_ERR_STATE, "replay: an update is pending at a breakpoint");
    if (ev->step > s->step) {
        /* a journal is untrusted: an event no run of it reaches would train for ever */
        int64_t plan = planned(s), limit = plan > s->replay_end ? plan : s->replay_end;
        if (ev->step > limit)
            return sm_err(e, SM_ERR_RANGE,
                          "replay: event '%s' at step %lld lies beyond its run: the plan is %lld steps%s, "
                          "and no train or step event reaches further; the journal is damaged or not "
                          "for this model and data", ev->op, (long long)ev->step, (long long)plan,
                          s->replay_end > plan ? " (its train and step events reach further)" : "");
        sm_status st = prepare(s, e);
        if (st != SM_OK)
            return st;
        s->replaying = 1;
        double shown = sm_now();
        while (s->step < ev->step) {
            if (replay_stopped(s)) {
                s->replaying = 0;
                return sm_err(e, SM_ERR_CANCELLED, "replay: interrupted at step %lld of %lld",
                              (long long)s->step, (long long)ev->step);
            }
            if ((st = one_step(s, e)) != SM_OK) {
                s->replaying = 0;
                return sm_err_prefix(e, "replay: step %lld", (long long)s->step + 1);
            }
            if (s->replay_progress && sm_now() - shown >= 2.0) {
                s->replay_progress(s->replay_ud, s->step, ev->step);
                shown = sm_now();
            }
        }
        s->replaying = 0;
    }
    sm_session_cmd c = mkcmd(SM_CMD_SET);
    sm_session_reply r;
    int need = 0;
    if (!strcmp(ev->op, "set")) {
        need = 2;
        if (ev->argc == 2 && (!cmd_field(c.name, sizeof c.name, ev->argv[0], "the name", &r) ||
                              !cmd_field(c.value, sizeof c.value, ev->argv[1], "the value", &r)))
            return sm_err(e, SM_ERR_FORMAT, "replay: set at step %lld: %s", (long long)ev->step, r.err.msg);
    } else if (!strcmp(ev->op, "preset") || !strcmp(ev->op, "snapshot") || !strcmp(ev->op, "rewind")) {
        need = 1;
        c.kind = !strcmp(ev->op, "preset") ? SM_CMD_PRESET
                 : !strcmp(ev->op, "snapshot") ? SM_CMD_SNAPSHOT : SM_CMD_REWIND;
        if (ev->argc == 1 && !cmd_field(c.name, sizeof c.name, ev->argv[0], "the name", &r))
            return sm_err(e, SM_ERR_FORMAT, "replay: %s at step %lld: %s", ev->op, (long long)ev->step,
                          r.err.msg);
    } else if (!strcmp(ev->op, "discard")) {
        c.kind = SM_CMD_DISCARD;
    } else if (!strcmp(ev->op, "eval")) {
        c.kind = SM_CMD_EVAL;
    } else if (op_is(ev, markers)) {
        if (!strcmp(ev->op, "train") || !strcmp(ev->op, "step")) {
            int64_t reach = event_reach(s, ev);
            if (reach > s->replay_end)
                s->replay_end = reach;
        }
        return sm_journal_add_event(&s->journal, ev, e);
    } else {
        return sm_err(e, SM_ERR_UNSUPPORTED, "replay: '%s' at step %lld is for the caller to apply",
                      ev->op, (long long)ev->step);
    }
    if (ev->argc != need)
        return sm_err(e, SM_ERR_FORMAT, "replay: '%s' at step %lld takes %d argument(s), not %d",
                      ev->op, (long long)ev->step, need, ev->argc);
    if (exec_cmd(s, &c, &r) != SM_OK) {
        if (e)
            *e = r.err;
        return sm_err_prefix(e, "replay: %s at step %lld", ev->op, (long long)ev->step);
    }
    return SM_OK;
}

/* ---- state for checkpoints and snapshots ---- */

char *sm_session_state_to_json(sm_session *s)
{
    json_t *o = json_object(), *hp = json_object();
    for (int id = 0; id < SM_HP_COUNT; id++) /* choices by name ("optimizer": "adamw") */
        json_object_set_new(hp, sm_hparam_def_at(id)->name,
                            sm_hparam_def_at(id)->type == SM_HP_ENUM && sm_hparam_choice(id, s->hp.v[id])
                                ? json_string(sm_hparam_choice(id, s->hp.v[id]))
                                : json_real(s->hp.v[id]));
    json_object_set_new(o, "step", json_integer((json_int_t)s->step));
    json_object_set_new(o, "epoch", json_integer(s->epoch + 1)); /* 1-based, as displayed */
    json_object_set_new(o, "last_eval_step", json_integer((json_int_t)s->last_eval_step));
    json_object_set_new(o, "hparams", hp);
    char *bs = s->pending && s->pre_state ? sm_strdup(s->pre_state)
               : s->be.state_to_json ? s->be.state_to_json(s->be.ctx) : sm_strdup("{}");
    json_t *b = bs ? json_loads(bs, 0, NULL) : NULL;
    free(bs);
    if (!b) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "backend", b);
    char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

sm_status sm_session_state_from_json(sm_session *s, const char *text, sm_error *e)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "session state: line %d:%d: %s", je.line, je.column, je.text);
    sm_status st = SM_OK;
    json_t *step = json_object_get(o, "step"), *hp = json_object_get(o, "hparams");
    json_t *b = json_object_get(o, "backend");
    sm_hparams nh;
    sm_hparams_default(&nh);
    if (!json_is_integer(step) || json_integer_value(step) < 0 || !json_is_object(hp) ||
        !json_is_object(b)) {
        st = sm_err(e, SM_ERR_FORMAT, "session state: \"step\", \"hparams\" or \"backend\" is missing "
                                      "or of the wrong type");
    } else if (json_integer_value(step) > (json_int_t)1 << 53) {
        st = sm_err(e, SM_ERR_RANGE, "session state: \"step\" is %lld, more than 2^53 steps",
                    (long long)json_integer_value(step));
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(hp, k, v) {
            int id = sm_hparam_lookup(k);
            double x = 0;
            if (id >= 0 && json_is_string(v) && sm_hparam_def_at(id)->type == SM_HP_ENUM) {
                if ((st = sm_hparam_parse(id, json_string_value(v), &x, e)) != SM_OK) {
                    sm_err_prefix(e, "session state");
                    break;
                }
            } else if (id < 0 || !json_is_number(v)) {
                st = sm_err(e, SM_ERR_FORMAT, "session state: hyperparameter '%s' is unknown or not a "
                                              "number", k);
                break;
            } else {
                x = json_number_value(v);
            }
            /* the table's checks, as for `set`: a hand-edited or damaged state must not reach the trainer */
            if ((st = sm_hparam_check(id, x, e)) != SM_OK) {
                sm_err_prefix(e, "session state");
                break;
            }
            nh.v[id] = x;
        }
    }
    if (st == SM_OK) {
        s->hp = nh;
        s->prepared = 0;
        st = prepare(s, e);
    }
    if (st == SM_OK && s->be.state_from_json) {
        char *bt = json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17));
        st = bt ? s->be.state_from_json(s->be.ctx, bt, e) : sm_err(e, SM_ERR_NOMEM, "out of memory");
        free(bt);
    }
    if (st == SM_OK) {
        s->step = (int64_t)json_integer_value(step);
        json_t *ep = json_object_get(o, "epoch"), *les = json_object_get(o, "last_eval_step");
        s->epoch = json_is_integer(ep) && json_integer_value(ep) >= 1 && json_integer_value(ep) <= INT32_MAX
                       ? (int)json_integer_value(ep) - 1
                       : 0;
        s->last_eval_step = json_is_integer(les) ? (int64_t)json_integer_value(les) : -1;
        s->hp_changed = 0;
        pthread_mutex_lock(&s->mu);
        s->view_step = s->step;
        pthread_mutex_unlock(&s->mu);
        publish_hp(s);
    }
    json_decref(o);
    return st;
}

size_t sm_session_tensor_count(sm_session *s)
{
    return s->be.tensor_count ? s->be.tensor_count(s->be.ctx) : 0;
}

void sm_session_tensor_at(sm_session *s, size_t i, sm_state_tensor *out)
{
    memset(out, 0, sizeof *out);
    s->be.tensor_at(s->be.ctx, i, out);
}

sm_status sm_session_save_model(sm_session *s, const char *dir, sm_error *e)
{
    if (!s->be.save_model)
        return sm_err(e, SM_ERR_UNSUPPORTED, "this session cannot write a model folder");
    return s->be.save_model(s->be.ctx, dir, e);
}

sm_status sm_session_prepare(sm_session *s, sm_error *e) { return prepare(s, e); }

int64_t sm_session_step_count(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t step = s->view_step; /* kept equal to step by the owner, readable from any thread */
    pthread_mutex_unlock(&s->mu);
    return step;
}

const sm_hparams *sm_session_hparams(sm_session *s) { return &s->hp; }

int sm_session_busy(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    int busy = s->state != SM_SESSION_STOPPED;
    pthread_mutex_unlock(&s->mu);
    return busy;
}

void *sm_session_backend_ctx(sm_session *s, void (*free_fn)(void *ctx))
{
    return s->be.free == free_fn ? s->be.ctx : NULL;
}

sm_status sm_session_reset(sm_session *s, sm_error *e)
{
    if (s->step != 0)
        return sm_err(e, SM_ERR_STATE,
                      "training has started (step %lld): the model and training data are fixed; "
                      "start a new session to change them", (long long)s->step);
    s->prepared = 0;
    s->hp_changed = 0;
    publish_hp(s);
    return SM_OK;
}

void sm_session_set_output_dir(sm_session *s, const char *dir)
{
    snprintf(s->out_dir, sizeof s->out_dir, "%s", dir ? dir : "");
}

const char *sm_session_output_dir(sm_session *s) { return s->out_dir; }

sm_status sm_session_history_set(sm_session *s, const sm_step_record *steps, size_t n,
                                 const sm_eval_record *evals, size_t ne, sm_error *e)
{
    if (ne > EVAL_CAP)
        ne = EVAL_CAP;
    sm_eval_record *ev = NULL;
    if (ne && !(ev = malloc(ne * sizeof *ev)))
        return sm_err(e, SM_ERR_NOMEM, "out of memory for %zu evaluations", ne);
    if (ne)
        memcpy(ev, evals, ne * sizeof *ev);
    pthread_mutex_lock(&s->mu);
    s->hist_n = s->hist_head = 0;
    size_t first = n > s->hist_cap ? n - s->hist_cap : 0;
    for (size_t i = first; i < n; i++)
        hist_push(s, &steps[i]);
    free(s->evals);
    s->evals = ev;
    s->n_evals = s->cap_evals = ne;
    pthread_mutex_unlock(&s->mu);
    history_truncate(s); /* the last step and the last and best evaluations from what it holds */
    return SM_OK;
}

/* ---- the typed events' copy and free ---- */

static int dup_field(const char **dst, const char *src)
{
    *dst = NULL;
    return !src || (*dst = sm_strdup(src)) != NULL;
}

static void free_field(const char *p) { free((void *)(uintptr_t)p); } /* an event's own copy */

sm_status sm_session_event_copy(sm_session_event *dst, const sm_session_event *src, sm_error *e)
{
    *dst = *src;
    dst->name = dst->old_value = dst->new_value = dst->msg = NULL;
    if (!dup_field(&dst->name, src->name) || !dup_field(&dst->old_value, src->old_value) ||
        !dup_field(&dst->new_value, src->new_value) || !dup_field(&dst->msg, src->msg)) {
        sm_session_event_free(dst);
        return sm_err(e, SM_ERR_NOMEM, "out of memory copying a %s event", sm_event_kind_name(src->kind));
    }
    return SM_OK;
}

void sm_session_event_free(sm_session_event *ev)
{
    if (!ev)
        return;
    free_field(ev->name);
    free_field(ev->old_value);
    free_field(ev->new_value);
    free_field(ev->msg);
    memset(ev, 0, sizeof *ev);
}

const char *sm_event_kind_name(sm_event_kind k)
{
    static const char *const names[SM_EVENT_KIND_COUNT] = {
        [SM_EVENT_STATE] = "state",         [SM_EVENT_STEP] = "step",         [SM_EVENT_CHANGE] = "change",
        [SM_EVENT_EVAL] = "eval",           [SM_EVENT_CHECKPOINT] = "checkpoint", [SM_EVENT_BREAK] = "break",
        [SM_EVENT_WARN] = "warn",           [SM_EVENT_DONE] = "done",         [SM_EVENT_ERROR] = "error",
        [SM_EVENT_SNAPSHOT] = "snapshot",   [SM_EVENT_REWIND] = "rewind",     [SM_EVENT_NOTICE] = "notice",
        [SM_EVENT_REPLY] = "reply",
    };
    return (unsigned)k < SM_EVENT_KIND_COUNT ? names[k] : "?";
}
