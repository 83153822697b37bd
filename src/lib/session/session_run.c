/* session_run.c: the session's run loop: one step (compute, breakpoint, apply or discard), its
 * records and evaluations, the run's own checkpoints (save_every, save_limit, save_best), pausing
 * and stopping at the run's end, and the trainer thread. It takes no command (session_cmd.c) and
 * writes no file itself (checkpoint.c, through session_state.c). */
#include "lib/session/session_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smartty/checkpoint.h"

/* ---- records ---- */

void ses_hist_push(sm_session *s, const sm_step_record *r)
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

int ses_better(const sm_hparams *hp, const sm_eval_record *a, const sm_eval_record *b)
{
    double x = best_value(hp, a), y = best_value(hp, b);
    if (isnan(x))
        return 0;
    return isnan(y) || x > y;
}

/* ---- checkpoints during a run (save_every, save_limit, save_best) ---- */

/* A checkpoint folder written by this policy, removed with its files. */
static void remove_checkpoint(sm_session *s, const char *dir)
{
    sm_error e;
    if (sm_checkpoint_remove(dir, &e) != SM_OK)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "save_limit: %s", e.msg);
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
        /* a notice, not a CHANGE (which names a knob): every console and `smartty train` show it */
        ses_notice(s, "save_limit %lld: removed %s", (long long)keep, p);
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
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "cannot create the checkpoint folder %s: %s", s->out_dir,
                 strerror(errno));
        return;
    }
    snprintf(p, sizeof p, "%s/%s", s->out_dir, name);
    sm_error e;
    if (ses_save_checkpoint(s, p, &e) != SM_OK) {
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "%s", e.msg);
        return;
    }
    ses_emit(s, SM_EVENT_CHECKPOINT, NULL, NULL, "%s", p);
}

/* Whether a pause or a stop waits in the queue (caller holds mu). */
static int stop_queued(const sm_session *s)
{
    for (const qitem *q = s->qhead; q; q = q->next)
        if (q->cmd->kind == SM_CMD_PAUSE || q->cmd->kind == SM_CMD_STOP)
            return 1;
    return 0;
}

/* An evaluation's progress, for the view; nonzero when it is to end early: a posted `eval` whose
 * poster's waiting hook asked so, or the run's own evaluation when a pause, a stop or an interrupt
 * (Ctrl-C) came, or the thread is to quit. */
static int eval_progress(void *ud, size_t done, size_t total)
{
    sm_session *s = ud;
    pthread_mutex_lock(&s->mu);
    s->eval_done = (int64_t)done;
    s->eval_total = (int64_t)total;
    int c = s->running && s->running->cancel;
    if (s->own_eval)
        c = c || s->quit || atomic_load(&s->interrupt) || stop_queued(s);
    pthread_mutex_unlock(&s->mu);
    return c;
}

sm_status ses_run_eval(sm_session *s, int check_break, sm_error *e)
{
    if (!s->be.eval)
        return sm_err(e, SM_ERR_STATE, "no dev set to evaluate on (load one first)");
    sm_status st = ses_prepare(s, e);
    if (st != SM_OK)
        return st;
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    sm_progress progress = {eval_progress, s};
    st = s->be.eval(s->be.ctx, &ev, &progress, e);
    pthread_mutex_lock(&s->mu);
    s->eval_done = s->eval_total = 0;
    pthread_mutex_unlock(&s->mu);
    if (st != SM_OK)
        return st;
    ev.step = s->step;
    ev.epoch = s->epoch;
    s->last_eval_step = s->step;
    pthread_mutex_lock(&s->mu);
    s->eval = ev;
    s->has_eval = 1;
    int is_best = !s->has_best || ses_better(&s->hp, &ev, &s->best);
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
    ses_emit(s, SM_EVENT_EVAL, NULL, &ev, NULL);
    if (is_best && s->hp.v[SM_HP_SAVE_BEST] > 0 && s->out_dir[0] && !s->replaying && !isnan(best_value(&s->hp, &ev)))
        policy_save(s, "best");
    if (check_break && s->on_break && !s->replaying) {
        char why[256] = "";
        if (s->on_break(s->break_ud, 'e', s->has_step ? &s->last : NULL, &ev, why, sizeof why)) {
            pthread_mutex_lock(&s->mu);
            snprintf(s->why, sizeof s->why, "%s", why);
            pthread_mutex_unlock(&s->mu);
            ses_set_state(s, SM_SESSION_AT_BREAK);
            ses_emit(s, SM_EVENT_BREAK, NULL, &ev, "%s", why);
        }
    }
    return SM_OK;
}

/* The run's own evaluation (every eval_every steps, at an epoch's end, at the run's end). A pause, a
 * stop or an interrupt that comes while it runs ends it early, and so does the thread's end: it is
 * then owed, and runs again, whole, before the next step (a stop drops it; a checkpoint or a
 * snapshot taken meanwhile keeps it owed). So Ctrl-C never waits for a long evaluation, and
 * breakpoints, save_best and the records see the same evaluation as in a run never paused. Not so
 * during a replay or inside a command (a breakpoint's resume, `discard`): those run whole. */
static void own_eval(sm_session *s)
{
    int interruptible = !s->replaying && !s->in_cmd;
    pthread_mutex_lock(&s->mu);
    s->own_eval = interruptible;
    pthread_mutex_unlock(&s->mu);
    sm_error ee;
    sm_status st = ses_run_eval(s, 1, &ee);
    pthread_mutex_lock(&s->mu);
    s->own_eval = 0;
    if (st == SM_ERR_CANCELLED && interruptible)
        s->eval_owed = s->step;
    pthread_mutex_unlock(&s->mu);
    if (st == SM_ERR_CANCELLED && interruptible) {
        ses_notice(s, "step %lld: %s; `resume` or `step` runs it again, whole, before the next step (`stop` drops it)",
                   (long long)s->step, ee.msg);
    } else if (st != SM_OK && ee.status != SM_ERR_STATE)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "evaluation failed: %s", ee.msg);
}

/* ---- steps ---- */

/* Resolve the computed step: apply or discard its update, count it, record it, and end the run,
 * the stepping or the epoch as due. */
sm_status ses_resolve(sm_session *s, sm_step_record *rec, int epoch_end, sm_pending_action act,
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
    ses_hist_push(s, rec);
    ses_branch_count_step(s, rec);
    for (size_t i = 0; i < s->deferred.n; i++)
        if (sm_journal_add_event(&s->journal, &s->deferred.ev[i], NULL) != SM_OK)
            break;
    sm_journal_clear(&s->deferred);
    pthread_mutex_unlock(&s->mu);

    ses_emit(s, SM_EVENT_STEP, rec, NULL, NULL);
    if (rec->skipped && act == SM_PENDING_APPLY)
        ses_emit(s, SM_EVENT_WARN, rec, NULL,
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
                       (run_over && s->last_eval_step != s->step && !s->replaying)))
        own_eval(s);
    return SM_OK;
}

/* One step of a run: compute, check the breakpoint, apply. */
sm_status ses_one_step(sm_session *s, sm_error *e)
{
    if (s->eval_owed >= 0) { /* the evaluation a pause ended early comes first */
        int due = s->eval_owed == s->step && s->be.eval;
        ses_drop_owed_eval(s);
        if (due) {
            own_eval(s);
            return SM_OK;
        }
    }
    sm_status st = ses_prepare(s, e);
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
            ses_set_state(s, SM_SESSION_AT_BREAK);
            ses_emit(s, SM_EVENT_BREAK, &rec, NULL, "%s", why);
            return SM_OK;
        }
    }
    return ses_resolve(s, &rec, epoch_end, SM_PENDING_APPLY, e);
}

sm_status ses_resolve_pending(sm_session *s, sm_pending_action act, sm_error *e)
{
    if (!s->pending)
        return SM_OK;
    if (act == SM_PENDING_DISCARD)
        ses_journal(s, s->step, "discard", 0, NULL);
    sm_step_record rec = s->pending_rec;
    return ses_resolve(s, &rec, s->pending_epoch_end, act, e);
}

/* After a step: pause, stop or carry on. */
static void after_step(sm_session *s)
{
    sm_session_state st = s->state;
    if (st == SM_SESSION_AT_BREAK)
        return;
    if (st == SM_SESSION_STEPPING && s->step >= s->step_end) {
        ses_journal(s, s->step, "stepped", 0, NULL);
        ses_set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
        return;
    }
    if (st == SM_SESSION_RUNNING && s->run_end > 0 && s->step >= s->run_end && s->eval_owed < 0) {
        ses_journal(s, s->step, "done", 0, NULL);
        s->run_end = 0;
        int exploring = s->explore.active;
        if (exploring && ses_explore_next(s))
            return; /* the next variant runs */
        ses_set_state(s, SM_SESSION_STOPPED);
        if (!exploring) /* an exploration's end is its own event (on the branch it ends on) */
            ses_emit(s, SM_EVENT_DONE, s->has_step ? &s->last : NULL, s->has_eval ? &s->eval : NULL,
                 "run done at step %lld", (long long)s->step);
        return;
    }
    if (atomic_exchange(&s->interrupt, 0) && (st == SM_SESSION_RUNNING || st == SM_SESSION_STEPPING)) {
        ses_journal(s, s->step, "pause", 0, NULL);
        ses_set_state(s, SM_SESSION_PAUSED);
    }
}

/* Run one step if the state calls for one; on failure the run stops with an ERROR event. */
void ses_loop_once(sm_session *s)
{
    sm_error e;
    if (ses_one_step(s, &e) != SM_OK) {
        s->run_end = 0;
        ses_journal(s, s->step, "stop", 0, NULL);
        ses_set_state(s, SM_SESSION_STOPPED);
        ses_emit(s, SM_EVENT_ERROR, NULL, NULL, "step %lld failed: %s", (long long)s->step + 1, e.msg);
        return;
    }
    after_step(s);
}

/* ---- the thread ---- */

void *ses_thread_main(void *arg)
{
    sm_session *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->qhead) {
            qitem *q = s->qhead;
            s->qhead = q->next;
            if (!s->qhead)
                s->qtail = NULL;
            s->running = q;
            pthread_mutex_unlock(&s->mu);
            ses_exec_cmd(s, q->cmd, q->reply);
            pthread_mutex_lock(&s->mu);
            s->running = NULL;
            q->done = 1;
            pthread_cond_broadcast(&s->cv);
            if (s->pause_asked) { /* asked for while it ran: before the next command or step */
                s->pause_asked = 0;
                if (ses_active(s->state)) {
                    pthread_mutex_unlock(&s->mu);
                    ses_journal(s, s->step, "pause", 0, NULL);
                    ses_set_state(s, SM_SESSION_PAUSED);
                    pthread_mutex_lock(&s->mu);
                }
            }
        }
        if (s->quit)
            break;
        if (ses_active(s->state)) {
            pthread_mutex_unlock(&s->mu);
            ses_loop_once(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}
