/* session_explore.c: `explore`: every combination of a few hyperparameter values (a grid) trained
 * from one snapshot for N steps, one after the other, each on its own branch, exactly as a rewind,
 * the sets and `train N` by hand would (it issues those very commands), then a table of their dev
 * metric and a checkout of the best or of the starting branch. It runs inside the run loop (pause,
 * stop and breakpoints apply); it prints nothing: the console shows sm_session_explore_status. */
#include "lib/session/session_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variant k's value index of parameter p (the last parameter varies fastest). */
static int value_of(const sm_explore_spec *sp, int k, int p)
{
    for (int q = sp->n_params - 1; q > p; q--)
        k /= sp->n_values[q];
    return k % sp->n_values[p];
}

static void knobs_text(const sm_explore_spec *sp, int k, char *buf, size_t cap)
{
    char t[sizeof ((sm_explore_result *)0)->knobs];
    size_t w = 0;
    t[0] = '\0';
    for (int p = 0; p < sp->n_params && w < sizeof t; p++)
        w += (size_t)snprintf(t + w, sizeof t - w, "%s%s=%s", p ? " " : "", sp->names[p],
                              sp->values[p][value_of(sp, k, p)]);
    snprintf(buf, cap, "%s", t);
}

/* Rewind to the snapshot, set the variant's values, train N: the commands a person would type. */
static sm_status start_variant(sm_session *s, sm_error *e)
{
    explore_run *x = &s->explore;
    snapshot *sn = ses_snap_find(s, x->spec.from, e);
    if (!sn)
        return SM_ERR_NOTFOUND;
    sm_session_reply r;
    memset(&r, 0, sizeof r);
    if (ses_rewind_to(s, sn, &r) != SM_OK) {
        *e = r.err;
        return r.status ? r.status : SM_ERR_STATE;
    }
    if (s->state != SM_SESSION_STOPPED) { /* a run left paused: it ends here */
        s->run_end = 0;
        ses_set_state(s, SM_SESSION_STOPPED);
    }
    for (int p = 0; p < x->spec.n_params; p++) {
        sm_session_cmd c = ses_mkcmd(SM_CMD_SET);
        snprintf(c.name, sizeof c.name, "%s", x->spec.names[p]);
        snprintf(c.value, sizeof c.value, "%s", x->spec.values[p][value_of(&x->spec, x->idx, p)]);
        if (ses_exec_cmd(s, &c, &r) != SM_OK) {
            *e = r.err;
            return r.status;
        }
    }
    sm_session_cmd c = ses_mkcmd(SM_CMD_TRAIN);
    c.n = x->spec.steps;
    if (ses_exec_cmd(s, &c, &r) != SM_OK) {
        *e = r.err;
        return r.status;
    }
    pthread_mutex_lock(&s->mu);
    sm_explore_result *res = &x->res[x->idx];
    memset(res, 0, sizeof *res);
    snprintf(res->branch, sizeof res->branch, "%s", ses_branch_cur(s)->name);
    knobs_text(&x->spec, x->idx, res->knobs, sizeof res->knobs);
    res->metric = NAN;
    x->n_res = x->idx + 1;
    pthread_mutex_unlock(&s->mu);
    ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "explore: variant %d/%d on branch %s: %s", x->idx + 1, x->total,
             res->branch, res->knobs);
    return SM_OK;
}

sm_status ses_cmd_explore(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    const sm_explore_spec *sp = c->arg;
    if (!sp)
        return sm_err(&r->err, SM_ERR_INVALID, "explore: no grid given");
    if (s->explore.active)
        return sm_err(&r->err, SM_ERR_STATE, "explore: an exploration is already running (variant %d/%d); `stop` "
                      "ends it", s->explore.idx + 1, s->explore.total);
    if (s->state != SM_SESSION_STOPPED && s->state != SM_SESSION_PAUSED)
        return sm_err(&r->err, SM_ERR_STATE, "explore: a run is %s: %s", sm_session_state_name(s->state),
                      s->state == SM_SESSION_AT_BREAK ? "resume, step or stop it first" : "pause or stop it first");
    if (sp->steps < 1)
        return sm_err(&r->err, SM_ERR_INVALID, "explore: steps N must be at least 1");
    if (sp->n_params < 1 || sp->n_params > SM_EXPLORE_MAX_PARAMS)
        return sm_err(&r->err, SM_ERR_INVALID, "explore: give 1 to %d PARAM=V1,V2,... lists", SM_EXPLORE_MAX_PARAMS);
    long total = 1;
    for (int p = 0; p < sp->n_params; p++) {
        int id = sm_hparam_lookup(sp->names[p]);
        if (id < 0)
            return sm_err(&r->err, SM_ERR_NOTFOUND, "explore: '%s' is not a hyperparameter (`show params` lists "
                          "them)", sp->names[p]);
        if (!sm_hparam_def_at(id)->live && s->step > 0)
            return sm_err(&r->err, SM_ERR_STATE, "explore: %s is fixed once training has started; explore "
                          "values that can change during a run", sp->names[p]);
        for (int q = 0; q < p; q++)
            if (!strcmp(sp->names[q], sp->names[p]))
                return sm_err(&r->err, SM_ERR_INVALID, "explore: %s is given twice", sp->names[p]);
        if (sp->n_values[p] < 1 || sp->n_values[p] > SM_EXPLORE_MAX_VALUES)
            return sm_err(&r->err, SM_ERR_INVALID, "explore: %s: give 1 to %d values", sp->names[p],
                          SM_EXPLORE_MAX_VALUES);
        for (int k = 0; k < sp->n_values[p]; k++) {
            sm_hparams h = s->hp;
            if (sm_hparams_set(&h, sp->names[p], sp->values[p][k], &r->err) != SM_OK)
                return sm_err_prefix(&r->err, "explore: %s value %d", sp->names[p], k + 1);
        }
        total *= sp->n_values[p];
        if (total > SM_EXPLORE_MAX_VARIANTS)
            return sm_err(&r->err, SM_ERR_RANGE, "explore: the grid has more than %d variants; explore fewer "
                          "values at once", SM_EXPLORE_MAX_VARIANTS);
    }
    if (sp->from[0] && !ses_snap_find(s, sp->from, &r->err))
        return sm_err_prefix(&r->err, "explore: from");
    sm_status st = ses_prepare(s, &r->err);
    if (st != SM_OK)
        return st;
    double t0 = sm_now();
    explore_run x;
    memset(&x, 0, sizeof x);
    x.spec = *sp;
    x.total = (int)total;
    x.start_branch = ses_branch_cur(s)->id;
    if (!x.spec.from[0]) { /* the current state, taken first */
        for (int k = 1;; k++) {
            snprintf(x.spec.from, sizeof x.spec.from, "explore-%d", k);
            sm_error e;
            if (!ses_snap_find(s, x.spec.from, &e))
                break;
        }
        sm_session_cmd sc = ses_mkcmd(SM_CMD_SNAPSHOT);
        snprintf(sc.name, sizeof sc.name, "%s", x.spec.from);
        sm_session_reply sr;
        if (ses_exec_cmd(s, &sc, &sr) != SM_OK) {
            r->err = sr.err;
            return sr.status;
        }
    }
    if (s->state == SM_SESSION_PAUSED) { /* the paused run ends on the branch it leaves */
        ses_journal(s, s->step, "stop", 0, NULL);
        s->run_end = 0;
        ses_set_state(s, SM_SESSION_STOPPED);
    }
    pthread_mutex_lock(&s->mu);
    s->explore = x;
    s->explore.active = 1;
    pthread_mutex_unlock(&s->mu);
    if ((st = start_variant(s, &r->err)) != SM_OK) {
        ses_explore_cancel(s, "an error");
        return sm_err_prefix(&r->err, "explore: variant 1");
    }
    pthread_mutex_lock(&s->mu);
    s->explore.switch_s += sm_now() - t0;
    pthread_mutex_unlock(&s->mu);
    snprintf(r->msg, sizeof r->msg, "exploring %d variant%s of %lld steps from snapshot %s", x.total,
             x.total == 1 ? "" : "s", (long long)sp->steps, x.spec.from);
    r->step = s->step;
    return SM_OK;
}

/* The end: the best variant's branch, or the starting branch. */
static void finish(sm_session *s, double t0)
{
    explore_run *x = &s->explore;
    int best = -1;
    for (int i = 0; i < x->n_res; i++)
        if (x->res[i].done && !isnan(x->res[i].metric) && (best < 0 || x->res[i].metric > x->res[best].metric))
            best = i;
    const branch *sb = ses_branch_by_id(s, x->start_branch);
    char target[64] = "";
    if (x->spec.keep_best && best >= 0)
        snprintf(target, sizeof target, "%s", x->res[best].branch);
    else if (sb)
        snprintf(target, sizeof target, "%s", sb->name);
    sm_session_reply r;
    memset(&r, 0, sizeof r);
    if (target[0] && ses_branch_checkout(s, target, &r) != SM_OK)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "explore: %s", r.err.msg);
    pthread_mutex_lock(&s->mu); /* ended only now: a waiter then sees the branch it ended on */
    snprintf(x->kept, sizeof x->kept, "%s", ses_branch_cur(s)->name);
    x->switch_s += sm_now() - t0;
    x->active = 0;
    pthread_mutex_unlock(&s->mu);
    if (best >= 0)
        ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "explore: done; best %s (%s) with dev %.4f; on branch %s",
                 x->res[best].branch, x->res[best].knobs, x->res[best].metric, x->kept);
    else
        ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "explore: done (no dev metric to compare); on branch %s", x->kept);
}

int ses_explore_next(sm_session *s)
{
    explore_run *x = &s->explore;
    const branch *b = ses_branch_cur(s);
    pthread_mutex_lock(&s->mu);
    sm_explore_result *res = &x->res[x->idx];
    res->done = 1;
    if ((res->has_eval = s->has_eval && s->eval.step == s->step)) {
        res->eval = s->eval;
        res->metric = sm_eval_main_metric(&s->hp, &s->eval, NULL);
    }
    res->wall_s = b->wall;
    res->examples_per_s = b->steps ? b->eps_sum / (double)b->steps : 0;
    pthread_mutex_unlock(&s->mu);
    double t0 = sm_now();
    if (x->idx + 1 < x->total) {
        pthread_mutex_lock(&s->mu);
        x->idx++;
        pthread_mutex_unlock(&s->mu);
        sm_error e;
        sm_status st = start_variant(s, &e);
        pthread_mutex_lock(&s->mu);
        x->switch_s += sm_now() - t0;
        pthread_mutex_unlock(&s->mu);
        if (st == SM_OK)
            return 1;
        ses_emit(s, SM_EVENT_ERROR, NULL, NULL, "explore: variant %d: %s", x->idx + 1, e.msg);
        ses_explore_cancel(s, "an error");
        return 0;
    }
    finish(s, t0);
    return 0;
}

void ses_explore_cancel(sm_session *s, const char *why)
{
    if (!s->explore.active)
        return;
    pthread_mutex_lock(&s->mu);
    s->explore.active = 0;
    pthread_mutex_unlock(&s->mu);
    ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "explore: ended by %s at variant %d/%d", why, s->explore.idx + 1,
             s->explore.total);
}

void sm_session_explore_status(sm_session *s, sm_explore_status *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    const explore_run *x = &s->explore;
    out->active = x->active;
    out->variant = x->total ? x->idx + 1 : 0;
    out->total = x->total;
    const char *m = "acc";
    if (x->n_res) {
        sm_eval_record probe;
        sm_eval_record_init(&probe);
        for (int i = 0; i < x->n_res; i++)
            if (x->res[i].has_eval)
                probe = x->res[i].eval;
        sm_eval_main_metric(&s->hp, &probe, &m);
    }
    snprintf(out->metric, sizeof out->metric, "%s", m);
    out->n = x->n_res;
    memcpy(out->res, x->res, sizeof out->res);
    snprintf(out->kept, sizeof out->kept, "%s", x->kept);
    out->switch_s = x->switch_s;
    pthread_mutex_unlock(&s->mu);
}
