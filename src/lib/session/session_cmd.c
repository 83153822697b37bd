/* session_cmd.c: the session's commands, applied at step boundaries on the thread that owns the
 * state (set, preset, train, step, pause, resume, stop, eval, snapshot, rewind, save, discard,
 * call), each journalled with its reply, and their convenience forms. The steps they start are
 * session_run.c's; posting them to the thread is session.c's. */
#include "lib/session/session_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void journal1(sm_session *s, int64_t step, const char *op, const char *arg)
{
    ses_journal(s, step, op, arg ? 1 : 0, arg ? &arg : NULL);
}

static void journal_int(sm_session *s, int64_t step, const char *op, int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)n);
    journal1(s, step, op, buf);
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
    ses_emit_event(s, &e);
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
    ses_journal(s, at, op, argc, argv);
    ses_publish_hp(s);
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
    sm_status st = ses_prepare(s, &r->err);
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
        end = ses_planned(s);
        if (end <= s->step && s->eval_owed == s->step && s->step > 0)
            end = s->step; /* the run's last evaluation is owed (a resumed checkpoint): it runs, then done */
        else if (end <= s->step)
            return sm_err(&r->err, SM_ERR_STATE,
                          "train: the %lld planned steps are done; give a number: `train N`",
                          (long long)end);
        snprintf(arg, sizeof arg, "%lld", (long long)(end - s->step));
    }
    const char *a = arg;
    ses_journal(s, s->step, "train", 1, &a);
    s->run_end = end;
    pthread_mutex_lock(&s->mu);
    s->view_planned = ses_planned(s);
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->interrupt, 0);
    if (end == s->step)
        reply_ok(r, s->step, "the evaluation after step %lld is owed: it runs, and the run is done",
                 (long long)s->step);
    else
        reply_ok(r, s->step, "training from step %lld to %lld", (long long)s->step, (long long)end);
    ses_set_state(s, SM_SESSION_RUNNING);
    return SM_OK;
}

static sm_status cmd_step(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (c->n < 1)
        return sm_err(&r->err, SM_ERR_INVALID, "step: N must be at least 1");
    if (ses_active(s->state))
        return sm_err(&r->err, SM_ERR_STATE, "step: training is running; pause it first");
    sm_status st = ses_prepare(s, &r->err);
    if (st != SM_OK)
        return st;
    journal_int(s, s->step, "step", c->n);
    int64_t start = s->step;
    s->step_end = s->step + c->n;
    if (s->pending) {
        if ((st = ses_resolve_pending(s, SM_PENDING_APPLY, &r->err)) != SM_OK)
            return st;
    }
    atomic_store(&s->interrupt, 0);
    reply_ok(r, start, "stepping from %lld to %lld", (long long)start, (long long)s->step_end);
    if (s->step >= s->step_end) {
        ses_journal(s, s->step, "stepped", 0, NULL);
        ses_set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
    }
    else
        ses_set_state(s, SM_SESSION_STEPPING);
    return SM_OK;
}

static sm_status cmd_resume(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (s->state != SM_SESSION_PAUSED && s->state != SM_SESSION_AT_BREAK)
        return sm_err(&r->err, SM_ERR_STATE, "resume: nothing is paused (the session is %s)",
                      sm_session_state_name(s->state));
    int had = s->pending;
    sm_status st = ses_resolve_pending(s, c->pending, &r->err);
    if (st != SM_OK)
        return st;
    const char *a = c->pending == SM_PENDING_DISCARD ? "discard" : "apply";
    ses_journal(s, s->step, "resume", had ? 1 : 0, had ? &a : NULL);
    atomic_store(&s->interrupt, 0);
    reply_ok(r, s->step, had ? "pending update %s, resumed at step %lld" : "%sresumed at step %lld",
             had ? (c->pending == SM_PENDING_DISCARD ? "discarded" : "applied") : "",
             (long long)s->step);
    if (s->run_end > s->step || (s->run_end > 0 && s->eval_owed == s->step)) { /* the last evaluation owed */
        ses_set_state(s, SM_SESSION_RUNNING);
    } else {
        s->run_end = 0;
        ses_set_state(s, SM_SESSION_STOPPED);
    }
    return SM_OK;
}

static sm_status cmd_stop(sm_session *s, sm_session_reply *r)
{
    if (s->state == SM_SESSION_STOPPED)
        return sm_err(&r->err, SM_ERR_STATE, "stop: no run in progress");
    ses_explore_cancel(s, "stop");
    sm_status st = ses_resolve_pending(s, SM_PENDING_DISCARD, &r->err);
    if (st != SM_OK)
        return st;
    s->run_end = 0;
    ses_journal(s, s->step, "stop", 0, NULL);
    reply_ok(r, s->step, "stopped at step %lld", (long long)s->step);
    ses_set_state(s, SM_SESSION_STOPPED);
    return SM_OK;
}

/* The journal of a branch forked at sn: the snapshot's (it ends with the snapshot's own event), the
 * actions from outside the session (loads, breakpoints) that the left branch journalled after it,
 * which still hold, then the rewind, all at the snapshot's step. */
static sm_status fork_journal(sm_session *s, const snapshot *sn, sm_journal *out, sm_error *e)
{
    static const char *const own[] = {"set", "preset", "train", "step", "stepped", "pause", "resume", "stop",
                                      "done", "eval", "snapshot", "rewind", "save", "discard", "quit", NULL};
    int64_t at = sn->step;
    sm_status st = sm_journal_copy(out, &sn->cap.journal, e);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->journal.n && st == SM_OK; i++) {
        const sm_journal_event *ev = &s->journal.ev[i];
        int mine = 0, seen = 0;
        for (const char *const *o = own; *o && !mine; o++)
            mine = !strcmp(ev->op, *o);
        for (size_t k = 0; k < sn->cap.journal.n && !mine && !seen; k++) {
            const sm_journal_event *x = &sn->cap.journal.ev[k];
            seen = !strcmp(x->op, ev->op) && x->argc == ev->argc;
            for (int a = 0; seen && a < ev->argc; a++)
                seen = !strcmp(x->argv[a], ev->argv[a]);
        }
        if (!mine && !seen)
            st = sm_journal_add(out, at, ev->time, ev->op, ev->argc, (const char *const *)ev->argv, e);
    }
    pthread_mutex_unlock(&s->mu);
    const char *name = sn->name;
    if (st == SM_OK)
        st = sm_journal_add(out, at, 0, "rewind", 1, &name, e);
    if (st != SM_OK)
        sm_journal_free(out);
    return st;
}

sm_status ses_rewind_to(sm_session *s, snapshot *sn, sm_session_reply *r)
{
    int64_t from = s->step;
    sm_journal j;
    sm_status st;
    if (sn->spill) { /* read back (and checked) before anything changes */
        if ((st = ses_spill_in(sn, &r->err)) != SM_OK)
            return sm_err_prefix(&r->err, "rewind");
        sn->seq = ++s->snap_seq;
    }
    st = fork_journal(s, sn, &j, &r->err);
    if (st != SM_OK)
        return st;
    if ((st = ses_branch_fork(s, sn, &r->err)) != SM_OK) {
        sm_journal_free(&j);
        return st;
    }
    if ((st = ses_snap_put(s, sn, &r->err)) != SM_OK) {
        sm_journal_free(&j);
        return st;
    }
    ses_adopt_journal(s, &j);
    const branch *b = ses_branch_cur(s);
    size_t w = strlen(r->msg);
    snprintf(r->msg + w, sizeof r->msg - w, "rewound from step %lld to snapshot %s at step %lld, on new branch %s",
             (long long)from, sn->name, (long long)s->step, b->name);
    r->step = s->step;
    r->status = SM_OK;
    ses_set_state(s, s->run_end > s->step ? SM_SESSION_PAUSED : SM_SESSION_STOPPED);
    if (s->state == SM_SESSION_STOPPED)
        s->run_end = 0;
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SM_EVENT_REWIND;
    ev.step = s->step;
    ev.from_step = from;
    ev.epoch = s->epoch; /* restored from the snapshot's state */
    ev.state = (int)s->state;
    ev.name = sn->name;
    ev.msg = r->msg;
    if ((ev.has_rec = s->has_step && s->last.step == s->step)) /* else the record left with the branch */
        ev.rec = s->last;
    if ((ev.has_eval = s->has_eval && s->eval.step <= s->step))
        ev.eval = s->eval;
    ses_emit_event(s, &ev);
    ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "on branch %s (from snapshot %s at step %lld)", b->name, sn->name,
             (long long)s->step);
    return SM_OK;
}

static sm_status cmd_rewind(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    snapshot *sn = ses_snap_find(s, c->name, &r->err);
    if (!sn)
        return SM_ERR_NOTFOUND;
    ses_explore_cancel(s, "rewind");
    ses_pause_first(s, r, "rewind");
    return ses_rewind_to(s, sn, r);
}

static sm_status cmd_save(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    const char *a = c->path;
    if (!*c->path)
        return sm_err(&r->err, SM_ERR_INVALID, "save: no folder given");
    ses_journal(s, s->step, "save", 1, &a);
    sm_status st = ses_save_checkpoint(s, c->path, &r->err);
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
    ses_emit(s, SM_EVENT_CHECKPOINT, NULL, NULL, "%s", c->path);
    return SM_OK;
}

sm_status ses_exec_cmd(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    sm_error_clear(&r->err);
    r->status = SM_OK;
    r->step = r->effect_step = s->step;
    r->msg[0] = '\0';
    sm_status st = SM_OK;
    s->in_cmd++;
    switch (c->kind) {
    case SM_CMD_SET: st = cmd_set(s, c, r); break;
    case SM_CMD_PRESET: st = cmd_preset(s, c, r); break;
    case SM_CMD_TRAIN: st = cmd_train(s, c, r); break;
    case SM_CMD_STEP: st = cmd_step(s, c, r); break;
    case SM_CMD_PAUSE:
        if (!ses_active(s->state)) {
            st = sm_err(&r->err, SM_ERR_STATE, "pause: training is not running (it is %s)",
                        sm_session_state_name(s->state));
            break;
        }
        ses_journal(s, s->step, "pause", 0, NULL);
        reply_ok(r, s->step, "paused at step %lld", (long long)s->step);
        ses_set_state(s, SM_SESSION_PAUSED);
        break;
    case SM_CMD_RESUME: st = cmd_resume(s, c, r); break;
    case SM_CMD_STOP: st = cmd_stop(s, r); break;
    case SM_CMD_EVAL:
        if ((st = ses_run_eval(s, 0, &r->err)) == SM_OK) {
            ses_journal(s, s->step, "eval", 0, NULL);
            reply_ok(r, s->step, "evaluated at step %lld", (long long)s->step);
        }
        break;
    case SM_CMD_SNAPSHOT:
        if ((st = ses_snap_take(s, c->name, &r->err)) == SM_OK) {
            const char *a = c->name;
            ses_journal(s, s->step, "snapshot", 1, &a);
            reply_ok(r, s->step, "snapshot %s at step %lld", c->name, (long long)s->step);
            sm_session_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = SM_EVENT_SNAPSHOT;
            ev.step = s->step;
            ev.epoch = s->epoch;
            ev.state = (int)s->state;
            ev.name = c->name;
            ses_emit_event(s, &ev);
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
            ses_journal(s, s->step, "discard", 0, NULL);
            sm_status cs = ses_prepare(s, &e);
            sm_step_record rec;
            memset(&rec, 0, sizeof rec);
            int eoe = 0;
            if (cs == SM_OK && s->hp_changed && s->be.set_hparams &&
                (cs = s->be.set_hparams(s->be.ctx, &s->hp, &e)) == SM_OK)
                s->hp_changed = 0;
            if (cs == SM_OK)
                cs = s->be.compute(s->be.ctx, &rec, &eoe, &e);
            if (cs == SM_OK)
                cs = ses_resolve(s, &rec, eoe, SM_PENDING_DISCARD, &e);
            s->replaying = was;
            if (cs != SM_OK) {
                r->err = e;
                st = cs;
            } else {
                reply_ok(r, s->step, "step %lld computed and discarded", (long long)s->step);
            }
        }
        break;
    case SM_CMD_CHECKOUT: st = ses_cmd_checkout(s, c, r); break;
    case SM_CMD_BRANCH: st = ses_cmd_branch(s, c, r); break;
    case SM_CMD_EXPLORE: st = ses_cmd_explore(s, c, r); break;
    case SM_CMD_CALL:
        if (!c->fn)
            st = sm_err(&r->err, SM_ERR_INVALID, "call: no function");
        else if ((st = c->fn(s, c->arg, &r->err)) == SM_OK)
            reply_ok(r, s->step, NULL);
        break;
    default:
        st = sm_err(&r->err, SM_ERR_INVALID, "unknown session command %d", (int)c->kind);
    }
    s->in_cmd--;
    /* an owed evaluation is of the model it was owed for: a stop ends its run, an exploration and a
     * discarded step move on (a rewind or a checkout restores a state, which drops it too) */
    if (st == SM_OK && (c->kind == SM_CMD_STOP || c->kind == SM_CMD_EXPLORE || c->kind == SM_CMD_DISCARD))
        ses_drop_owed_eval(s);
    r->status = st;
    if (st != SM_OK && r->err.status == SM_OK)
        r->err.status = st;
    return st;
}

sm_session_cmd ses_mkcmd(sm_cmd_kind kind)
{
    sm_session_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    return c;
}

/* Copy text whole into a command's field, or refuse it (in r) with a message naming the limit: a
 * command never carries a cut name, value or path. */
int ses_cmd_field(char *dst, size_t cap, const char *text, const char *what, sm_session_reply *r)
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
    sm_session_cmd c = ses_mkcmd(SM_CMD_SET);
    if (!ses_cmd_field(c.name, sizeof c.name, name, "set: the name", r) ||
        !ses_cmd_field(c.value, sizeof c.value, value, "set: the value", r))
        return SM_ERR_INVALID;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_train(sm_session *s, int64_t steps, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(SM_CMD_TRAIN);
    c.n = steps;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_step(sm_session *s, int64_t n, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(SM_CMD_STEP);
    c.n = n;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_simple(sm_session *s, sm_cmd_kind kind, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(kind);
    return sm_session_command(s, &c, r);
}

sm_status sm_session_named(sm_session *s, sm_cmd_kind kind, const char *name, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(kind);
    if (!ses_cmd_field(c.path, sizeof c.path, name, "the path", r) ||
        (kind != SM_CMD_SAVE && !ses_cmd_field(c.name, sizeof c.name, name, "the name", r)))
        return SM_ERR_INVALID;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_resume(sm_session *s, sm_pending_action pending, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(SM_CMD_RESUME);
    c.pending = pending;
    return sm_session_command(s, &c, r);
}

sm_status sm_session_call(sm_session *s, sm_session_call_fn fn, void *arg, sm_session_reply *r)
{
    sm_session_cmd c = ses_mkcmd(SM_CMD_CALL);
    c.fn = fn;
    c.arg = arg;
    return sm_session_command(s, &c, r);
}
