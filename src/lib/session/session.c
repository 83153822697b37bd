/* session.c: the training session's API: making and freeing one, its observers, the trainer
 * thread's start and join, posting commands, the view, history and journal copies that observers
 * read, and the typed events' copy. The run loop is session_run.c, the commands session_cmd.c,
 * snapshots, state capture and checkpoints session_state.c, replay session_replay.c and the CSV
 * export session_export.c (around session_internal.h); the numerics live behind the backend. */
#include "smartty/session.h"
#include "lib/session/session_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartty/str.h"

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
void ses_emit_event(sm_session *s, sm_session_event *e)
{
    if (s->on_event)
        s->on_event(s->event_ud, e);
}

static void emit_v(sm_session *s, sm_event_kind kind, int level, const sm_step_record *rec,
                   const sm_eval_record *ev, const char *fmt, va_list ap)
{
    sm_str msg = SM_STR_INIT; /* whole: an event may name a long path */
    if (fmt)
        sm_str_vappendf(&msg, fmt, ap);
    sm_session_event e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.level = level;
    e.step = s->step;
    e.epoch = s->epoch;
    e.state = (int)s->state;
    if ((e.has_rec = rec != NULL))
        e.rec = *rec;
    if ((e.has_eval = ev != NULL))
        e.eval = *ev;
    e.msg = fmt ? sm_str_cstr(&msg) : NULL;
    ses_emit_event(s, &e);
    sm_str_free(&msg);
}

void ses_emit(sm_session *s, sm_event_kind kind, const sm_step_record *rec,
              const sm_eval_record *ev, const char *fmt, ...)
{
    if (!s->on_event)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit_v(s, kind, 0, rec, ev, fmt, ap);
    va_end(ap);
}

void ses_notice(sm_session *s, const char *fmt, ...)
{
    if (!s->on_event)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit_v(s, SM_EVENT_NOTICE, SM_LOG_NOTICE, NULL, NULL, fmt, ap);
    va_end(ap);
}

/* Drop an owed evaluation (a stop, a rewind, a restored state: the evaluation is of another model). */
void ses_drop_owed_eval(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->eval_owed = -1;
    pthread_mutex_unlock(&s->mu);
}

void ses_set_state(sm_session *s, sm_session_state st)
{
    pthread_mutex_lock(&s->mu);
    int changed = s->state != st;
    s->state = st;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (changed)
        ses_emit(s, SM_EVENT_STATE, NULL, NULL, "%s", sm_session_state_name(st));
}

/* Journal an event at step (or defer it while an update is pending). Caller does not hold mu. */
void ses_journal(sm_session *s, int64_t step, const char *op, int argc, const char *const *argv)
{
    sm_error e;
    pthread_mutex_lock(&s->mu);
    sm_journal *j = s->pending && step > s->step ? &s->deferred : &s->journal;
    if (sm_journal_add(j, step, 0, op, argc, argv, &e) != SM_OK)
        sm_log(SM_LOG_WARN, "session: %s", e.msg);
    pthread_mutex_unlock(&s->mu);
}

int64_t ses_planned(sm_session *s)
{
    return s->be.planned_steps ? s->be.planned_steps(s->be.ctx, &s->hp) : 0;
}

void ses_publish_hp(sm_session *s)
{
    int64_t p = ses_planned(s);
    int64_t per = s->be.epoch_steps ? s->be.epoch_steps(s->be.ctx, &s->hp) : 0;
    pthread_mutex_lock(&s->mu);
    s->view_hp = s->hp;
    s->view_planned = p;
    s->view_epoch_steps = per;
    pthread_mutex_unlock(&s->mu);
}

/* The evaluations a run from step to end still does after step: every `every` steps (else at each
 * epoch's end, per steps an epoch, when known), and one at the end when none falls there. */
static int64_t evals_left(int64_t step, int64_t end, int64_t every, int64_t per)
{
    if (end <= step)
        return 0;
    int64_t k = every > 0 ? every : per;
    if (k <= 0)
        return 1;
    return end / k - step / k + (end % k != 0);
}

sm_status ses_prepare(sm_session *s, sm_error *e)
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
    s->eval_owed = -1;
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
    if (ses_branch_init(s, e) != SM_OK) {
        s->be.free = NULL;
        sm_session_free(s);
        return SM_ERR_NOMEM;
    }
    ses_publish_hp(s);
    *out = s;
    return SM_OK;
}

void sm_session_free(sm_session *s)
{
    if (!s)
        return;
    sm_session_join(s);
    for (size_t i = 0; i < s->n_snaps; i++)
        ses_snap_free(&s->snaps[i]);
    ses_branch_free_all(s);
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

void sm_session_set_wait_fn(sm_session *s, sm_session_wait_fn fn, void *ud)
{
    pthread_mutex_lock(&s->mu);
    s->on_wait = fn;
    s->wait_ud = ud;
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
    int rc = pthread_create(&s->thread, NULL, ses_thread_main, s);
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
    if (ses_active(s->state)) {
        ses_journal(s, s->step, "pause", 0, NULL);
        ses_set_state(s, SM_SESSION_PAUSED);
    }
}

/* The CLOCK_REALTIME time seconds from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = until.tv_sec + until.tv_nsec * 1e-9 + seconds;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    return until;
}

/* Set while this thread runs the waiting hook (a command it posts cannot wait with the hook). */
static _Thread_local int in_hook;

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
        /* a pause from inside the hook while a command runs (a server's client, during another
           client's eval or save) would wait for that command with the hook held, and the server
           would stop answering: the run pauses as soon as the command ends, before any step */
        if (in_hook && cmd->kind == SM_CMD_PAUSE && s->running) {
            s->pause_asked = 1;
            sm_error_clear(&reply->err);
            reply->status = SM_OK;
            reply->step = reply->effect_step = s->view_step;
            snprintf(reply->msg, sizeof reply->msg, "the run pauses when the command running now ends");
            pthread_mutex_unlock(&s->mu);
            return SM_OK;
        }
        qitem q = {cmd, reply, 0, 0, NULL};
        if (s->qtail)
            s->qtail->next = &q;
        else
            s->qhead = &q;
        s->qtail = &q;
        pthread_cond_broadcast(&s->cv);
        /* the hook runs every 50 ms meanwhile, never inside itself (a command it posts just waits) */
        while (!q.done) {
            if (!s->on_wait || in_hook) {
                pthread_cond_wait(&s->cv, &s->mu);
                continue;
            }
            struct timespec until = deadline_after(0.05);
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT || q.done)
                continue;
            sm_session_wait_fn fn = s->on_wait;
            void *ud = s->wait_ud;
            pthread_mutex_unlock(&s->mu);
            in_hook = 1;
            int stop = fn(ud, cmd->kind);
            in_hook = 0;
            pthread_mutex_lock(&s->mu);
            if (stop && !q.done)
                q.cancel = 1;
        }
        pthread_mutex_unlock(&s->mu);
        return reply->status;
    }
    pthread_mutex_unlock(&s->mu);
    sm_status st = ses_exec_cmd(s, cmd, reply);
    while (st == SM_OK && ses_active(s->state))
        ses_loop_once(s);
    return st;
}

void sm_session_interrupt(sm_session *s)
{
    atomic_store(&s->interrupt, 1);
}

int sm_session_cancel_eval(sm_session *s)
{
    pthread_mutex_lock(&s->mu);
    int running = s->running && s->running->cmd->kind == SM_CMD_EVAL;
    if (running)
        s->running->cancel = 1;
    pthread_mutex_unlock(&s->mu);
    return running;
}

int sm_session_wait_idle(sm_session *s, double timeout_s)
{
    struct timespec until = deadline_after(timeout_s >= 0 ? timeout_s : 0);
    pthread_mutex_lock(&s->mu);
    int ok = 1;
    while (ses_active(s->state) || s->qhead) {
        if (timeout_s < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            ok = !(ses_active(s->state) || s->qhead);
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
    if (s->cur_branch >= 0 && s->n_branches)
        snprintf(v->branch, sizeof v->branch, "%s", s->branches[s->cur_branch].name);
    v->eval_done = s->eval_done;
    v->eval_total = s->eval_total;
    v->eval_owed = s->eval_owed;
    if (s->be.eval) {
        int64_t end = s->run_end > 0 ? s->run_end : s->view_planned;
        v->evals_left = evals_left(v->step, end, (int64_t)s->view_hp.v[SM_HP_EVAL_EVERY], s->view_epoch_steps) +
                        (s->eval_owed >= 0 && s->eval_owed == v->step);
    }
    if (s->explore.active) {
        v->explore_variant = s->explore.idx + 1;
        v->explore_total = s->explore.total;
    }
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
    ses_publish_hp(s);
    return SM_OK;
}

void sm_session_set_output_dir(sm_session *s, const char *dir)
{
    snprintf(s->out_dir, sizeof s->out_dir, "%s", dir ? dir : "");
}

const char *sm_session_output_dir(sm_session *s) { return s->out_dir; }

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
        [SM_EVENT_REPLY] = "reply",         [SM_EVENT_BRANCH] = "branch",
    };
    return (unsigned)k < SM_EVENT_KIND_COUNT ? names[k] : "?";
}
