/* session_state.c: the session's state as data: its JSON (counters, hyperparameters, the backend's
 * state) and arrays, captured once for two destinations, a snapshot in memory (`snapshot`,
 * `rewind`) and a checkpoint on disk (checkpoint.c writes the capture; restoring one applies what it
 * reads), and the history a rewind or a restore replaces. It runs no step and takes no command. */
#include "lib/session/session_internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/checkpoint.h"
#include "smartty/str.h"

/* ---- one capture of the state, two destinations: a snapshot in memory, a checkpoint on disk ---- */

/* For a snapshot (to_disk 0): the state JSON and copies of the arrays. For a checkpoint (1): the
 * arrays in place, the state JSON (NULL when out of memory: the checkpoint says so), the history,
 * the best evaluation, the journal and the model writer. Only while no step runs. */
static sm_status capture(sm_session *s, int to_disk, sm_capture *c, sm_error *e)
{
    sm_capture_init(c);
    size_t n = sm_session_tensor_count(s);
    if (!(c->tensors = calloc(n ? n : 1, sizeof *c->tensors)))
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        sm_session_tensor_at(s, i, &c->tensors[i]);
    c->n_tensors = n;
    if (!to_disk) {
        c->own_data = 1;
        for (size_t i = 0; i < n; i++) {
            sm_state_tensor *t = &c->tensors[i];
            const float *from = t->data;
            if (!(t->data = sm_alloc_floats_uninit(t->n ? t->n : 1, e, t->name))) {
                c->n_tensors = i; /* the rest still point into the backend */
                sm_capture_free(c);
                return e ? e->status : SM_ERR_NOMEM;
            }
            memcpy(t->data, from, t->n * sizeof(float));
        }
    }
    c->state = sm_session_state_to_json(s);
    if (!to_disk) {
        if (!c->state) {
            sm_capture_free(c);
            return sm_err(e, SM_ERR_NOMEM, "out of memory");
        }
        return SM_OK;
    }
    c->n_steps = sm_session_history(s, &c->steps);
    c->n_evals = sm_session_evals(s, &c->evals);
    sm_session_view v;
    sm_session_view_get(s, &v);
    if ((c->has_best = v.has_best)) {
        const char *m = sm_hparam_choice(SM_HP_BEST_METRIC, v.hp.v[SM_HP_BEST_METRIC]);
        c->best = v.best;
        c->best_metric = m ? m : "auto";
    }
    c->save_model = s->be.save_model;
    c->model_ctx = s->be.ctx;
    sm_status st = sm_session_journal(s, &c->journal, e);
    if (st != SM_OK)
        sm_capture_free(c);
    return st;
}

sm_status ses_save_checkpoint(sm_session *s, const char *dir, sm_error *e)
{
    sm_capture c;
    sm_status st = capture(s, 1, &c, e);
    if (st != SM_OK)
        return sm_err_prefix(e, "saving checkpoint %s", dir);
    st = sm_checkpoint_save(&c, dir, e);
    sm_capture_free(&c);
    return st;
}

sm_status sm_session_restore_checkpoint(sm_session *s, const char *dir, sm_error *e)
{
    sm_capture c;
    sm_status st = sm_checkpoint_read(dir, &c, e);
    if (st != SM_OK)
        return st;
    if ((st = sm_session_state_from_json(s, c.state, e)) != SM_OK) {
        sm_capture_free(&c);
        return sm_err_prefix(e, "%s/%s", dir, SM_CKPT_STATE_JSON);
    }
    if (c.has_history)
        st = sm_session_history_set(s, c.steps, c.n_steps, c.evals, c.n_evals, e);
    /* the arrays, read in place now that the applied state has made the backend ready */
    size_t n = sm_session_tensor_count(s);
    if (st == SM_OK && !(c.tensors = calloc(n ? n : 1, sizeof *c.tensors)))
        st = sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    if (st == SM_OK) {
        for (size_t i = 0; i < n; i++)
            sm_session_tensor_at(s, i, &c.tensors[i]);
        c.n_tensors = n;
        st = sm_checkpoint_read_tensors(dir, &c, e);
    }
    /* The checkpoint's journal, then what this session did before restoring it (its loads),
     * stamped with the checkpoint's step: a replay reaches that step, then loads. */
    sm_journal mine;
    if (st == SM_OK && (st = sm_session_journal(s, &mine, e)) == SM_OK) {
        int64_t step = sm_session_step_count(s);
        for (size_t i = 0; i < mine.n && st == SM_OK; i++) {
            mine.ev[i].step = step;
            st = sm_journal_add_event(&c.journal, &mine.ev[i], e);
        }
        if (st == SM_OK)
            st = sm_session_journal_set(s, &c.journal, e);
        sm_journal_free(&mine);
    }
    sm_capture_free(&c);
    return st;
}

/* ---- snapshots ---- */

static snapshot *snap_find(sm_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_snaps; i++)
        if (!strcmp(s->snaps[i].name, name))
            return &s->snaps[i];
    return NULL;
}

void ses_snap_free(snapshot *sn)
{
    ses_spill_drop(sn);
    sm_capture_free(&sn->cap);
    memset(sn, 0, sizeof *sn);
}

sm_status ses_snap_capture(sm_session *s, snapshot *sn, sm_error *e)
{
    sm_capture *c = &sn->cap;
    sm_status st = capture(s, 0, c, e);
    if (st != SM_OK)
        return st;
    c->n_steps = sm_session_history(s, &c->steps);
    c->n_evals = sm_session_evals(s, &c->evals);
    if ((st = sm_session_journal(s, &c->journal, e)) != SM_OK) {
        sm_capture_free(c);
        return st;
    }
    sn->hp = s->hp;
    sn->step = s->step;
    sn->branch = s->n_branches ? s->branches[s->cur_branch].id : 0;
    sn->bytes = 0;
    for (size_t i = 0; i < c->n_tensors; i++)
        sn->bytes += c->tensors[i].n * sizeof(float);
    sn->seq = ++s->snap_seq;
    return SM_OK;
}

sm_status ses_snap_put(sm_session *s, snapshot *sn, sm_error *e)
{
    sm_status st;
    if (sn->spill) {
        if ((st = ses_spill_in(sn, e)) != SM_OK)
            return st;
        sn->seq = ++s->snap_seq; /* just used: the last to spill again */
    }
    if (s->pending && s->be.discard)
        s->be.discard(s->be.ctx);
    if ((st = sm_session_state_from_json(s, sn->cap.state, e)) != SM_OK)
        return st;
    for (size_t i = 0; i < sn->cap.n_tensors && i < sm_session_tensor_count(s); i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        memcpy(t.data, sn->cap.tensors[i].data, t.n * sizeof(float));
    }
    if ((st = sm_session_history_set(s, sn->cap.steps, sn->cap.n_steps, sn->cap.evals, sn->cap.n_evals, e)) != SM_OK)
        return st;
    return SM_OK;
}

sm_status ses_snap_take(sm_session *s, const char *name, sm_error *e)
{
    if (!*name || strlen(name) >= sizeof s->snaps[0].name)
        return sm_err(e, SM_ERR_INVALID, "snapshot name must be 1 to 63 characters");
    sm_status st = ses_prepare(s, e);
    if (st != SM_OK)
        return st;
    snapshot sn;
    memset(&sn, 0, sizeof sn);
    snprintf(sn.name, sizeof sn.name, "%s", name);
    if (ses_snap_capture(s, &sn, e) != SM_OK)
        return sm_err_prefix(e, "snapshot %s", name);
    /* its journal ends with its own event, so that a branch's journal can rewind to it */
    if ((st = sm_journal_add(&sn.cap.journal, s->step, 0, "snapshot", 1, &name, e)) != SM_OK) {
        ses_snap_free(&sn);
        return st;
    }
    snapshot *old = snap_find(s, name);
    if (old) {
        pthread_mutex_lock(&s->mu);
        ses_snap_free(old);
        *old = sn;
        pthread_mutex_unlock(&s->mu);
    } else if (s->n_snaps == SNAP_MAX) {
        ses_snap_free(&sn);
        return sm_err(e, SM_ERR_RANGE, "snapshot %s: at most %d snapshots; overwrite one by name", name,
                      SNAP_MAX);
    } else {
        pthread_mutex_lock(&s->mu);
        s->snaps[s->n_snaps++] = sn;
        pthread_mutex_unlock(&s->mu);
    }
    sm_error se;
    if (ses_spill_enforce(s, &se) != SM_OK)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "%s", se.msg);
    return SM_OK;
}

snapshot *ses_snap_find(sm_session *s, const char *name, sm_error *e)
{
    snapshot *sn = snap_find(s, name);
    if (!sn) {
        sm_str list = SM_STR_INIT;
        for (size_t i = 0; i < s->n_snaps; i++)
            sm_str_appendf(&list, "%s%s", i ? ", " : "", s->snaps[i].name);
        sm_err(e, SM_ERR_NOTFOUND, "no snapshot named '%s' (%s%s)", name,
               s->n_snaps ? "have: " : "none taken yet; take one with `snapshot NAME`", sm_str_cstr(&list));
        sm_str_free(&list);
    }
    return sn;
}

sm_status ses_snap_restore(sm_session *s, const char *name, sm_error *e)
{
    snapshot *sn = ses_snap_find(s, name, e);
    if (!sn)
        return SM_ERR_NOTFOUND;
    return ses_snap_put(s, sn, e);
}

/* After a rewind: the records of the branch that was left (steps and evaluations after the restored
 * step) leave the history, and the view's last step, last and best evaluation are recomputed from
 * what remains, so every display and export shows the restored state. */
void ses_history_truncate(sm_session *s)
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
        if (!s->has_best || ses_better(&s->hp, &s->evals[i], &s->best)) {
            s->best = s->evals[i];
            s->has_best = 1;
        }
    pthread_mutex_unlock(&s->mu);
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
    if (s->eval_owed == s->step) /* a pause ended this step's evaluation early (-1: none) */
        json_object_set_new(o, "eval_owed", json_true());
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
    ses_drop_owed_eval(s); /* the owed evaluation was of another state; the restored one may owe its own */
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
    } else if (json_object_get(o, "eval_owed") && !json_is_boolean(json_object_get(o, "eval_owed"))) {
        st = sm_err(e, SM_ERR_FORMAT, "session state: \"eval_owed\" is not true or false");
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
        st = ses_prepare(s, e);
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
        if (json_is_true(json_object_get(o, "eval_owed")))
            s->eval_owed = s->step; /* runs, whole, before the next step, as in the run saved */
        s->view_step = s->step;
        pthread_mutex_unlock(&s->mu);
        ses_publish_hp(s);
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
        ses_hist_push(s, &steps[i]);
    free(s->evals);
    s->evals = ev;
    s->n_evals = s->cap_evals = ne;
    pthread_mutex_unlock(&s->mu);
    ses_history_truncate(s); /* the last step and the last and best evaluations from what it holds */
    return SM_OK;
}
