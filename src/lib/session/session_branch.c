/* session_branch.c: the session's branches: the first ("main"), a new one at each rewind (named
 * after its snapshot: a.1, a.2...), the left one's latest state, records and journal kept as a
 * snapshot, `checkout` back to one exactly, `branch NAME`, and their listing and CSV comparison.
 * It runs no step; rewinding itself is session_cmd.c's, spilling snapshot_spill.c's. */
#include "lib/session/session_internal.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/str.h"

static void summary_from_session(sm_session *s, branch *b)
{
    b->hp = s->hp;
    b->step = s->step;
    b->has_eval = s->has_eval;
    b->eval = s->eval;
    b->has_best = s->has_best;
    b->best = s->best;
}

sm_status ses_branch_init(sm_session *s, sm_error *e)
{
    s->branches = calloc(BRANCH_MAX, sizeof *s->branches);
    if (!s->branches)
        return sm_err(e, SM_ERR_NOMEM, "session: out of memory for branches");
    branch *b = &s->branches[0];
    b->id = s->next_branch_id++;
    snprintf(b->name, sizeof b->name, "main");
    b->parent = -1;
    b->fork_hp = s->hp;
    sm_eval_record_init(&b->eval);
    sm_eval_record_init(&b->best);
    s->n_branches = 1;
    s->cur_branch = 0;
    return SM_OK;
}

void ses_branch_free_all(sm_session *s)
{
    for (size_t i = 0; i < s->n_branches; i++)
        if (s->branches[i].has_tip)
            ses_snap_free(&s->branches[i].tip);
    free(s->branches);
    s->branches = NULL;
    s->n_branches = 0;
}

branch *ses_branch_cur(sm_session *s) { return &s->branches[s->cur_branch]; }

branch *ses_branch_by_id(sm_session *s, int id)
{
    for (size_t i = 0; i < s->n_branches; i++)
        if (s->branches[i].id == id)
            return &s->branches[i];
    return NULL;
}

static branch *by_name(sm_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_branches; i++)
        if (!strcmp(s->branches[i].name, name))
            return &s->branches[i];
    return NULL;
}

void ses_branch_count_step(sm_session *s, const sm_step_record *rec)
{
    if (!s->n_branches)
        return;
    branch *b = &s->branches[s->cur_branch];
    b->steps++;
    b->wall += rec->seconds;
    b->eps_sum += rec->examples_per_s;
}

int ses_pause_first(sm_session *s, sm_session_reply *r, const char *what)
{
    if (!ses_active(s->state))
        return 0;
    ses_journal(s, s->step, "pause", 0, NULL);
    ses_set_state(s, SM_SESSION_PAUSED);
    snprintf(r->msg, sizeof r->msg, "%s: training was running; paused at step %lld first; ", what,
             (long long)s->step);
    return 1;
}

/* Whether nothing was done on b since its fork (no step, no change): it is not worth keeping. */
static int empty_branch(sm_session *s, const branch *b)
{
    if (b->parent < 0 || b->steps > 0 || memcmp(&s->hp, &b->fork_hp, sizeof s->hp) ||
        (s->explore.active && b->id == s->explore.start_branch))
        return 0;
    for (size_t i = 0; i < s->n_branches; i++)
        if (s->branches[i].parent == b->id)
            return 0;
    for (size_t i = 0; i < s->n_snaps; i++)
        if (s->snaps[i].branch == b->id)
            return 0;
    return 1;
}

/* Keep the active branch's latest state as its tip, or drop the branch when it is empty. */
static sm_status leave_current(sm_session *s, sm_error *e)
{
    branch *b = &s->branches[s->cur_branch];
    if (empty_branch(s, b)) {
        pthread_mutex_lock(&s->mu);
        size_t i = (size_t)s->cur_branch;
        memmove(&s->branches[i], &s->branches[i + 1], (s->n_branches - i - 1) * sizeof *s->branches);
        s->n_branches--;
        s->cur_branch = -1;
        pthread_mutex_unlock(&s->mu);
        return SM_OK;
    }
    snapshot tip;
    memset(&tip, 0, sizeof tip);
    sm_status st = ses_snap_capture(s, &tip, e);
    if (st != SM_OK)
        return sm_err_prefix(e, "keeping branch %s", b->name);
    snprintf(tip.name, sizeof tip.name, "%s", b->name);
    pthread_mutex_lock(&s->mu);
    summary_from_session(s, b);
    b->tip = tip;
    b->has_tip = 1;
    s->cur_branch = -1;
    pthread_mutex_unlock(&s->mu);
    return SM_OK;
}

sm_status ses_branch_fork(sm_session *s, const snapshot *sn, sm_error *e)
{
    if (s->n_branches == BRANCH_MAX)
        return sm_err(e, SM_ERR_RANGE, "at most %d branches; checkout one and rewind from there, or start a "
                      "new session", BRANCH_MAX);
    char name[64];
    for (int k = 1;; k++) {
        /* "SNAPSHOT.k"; where a long snapshot name leaves no room for ".k" in a branch name (63
         * bytes), "branch-k" rather than the snapshot's name cut short (its `from` keeps it whole) */
        if (snprintf(name, sizeof name, "%s.%d", sn->name, k) >= (int)sizeof name)
            snprintf(name, sizeof name, "branch-%d", k);
        if (!by_name(s, name))
            break;
    }
    sm_status st = leave_current(s, e);
    if (st != SM_OK)
        return st;
    pthread_mutex_lock(&s->mu);
    branch *b = &s->branches[s->n_branches];
    memset(b, 0, sizeof *b);
    b->id = s->next_branch_id++;
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->from, sizeof b->from, "%s", sn->name);
    b->parent = ses_branch_by_id(s, sn->branch) ? sn->branch : s->branches[0].id;
    b->fork_step = sn->step;
    b->fork_hp = sn->hp;
    sm_eval_record_init(&b->eval);
    sm_eval_record_init(&b->best);
    s->cur_branch = (int)s->n_branches++;
    pthread_mutex_unlock(&s->mu);
    sm_error se;
    if (ses_spill_enforce(s, &se) != SM_OK)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "%s", se.msg);
    return SM_OK;
}

/* After a restore (rewind, checkout): the restored state's journal j becomes the session's (taken),
 * with nothing pending, deferred or kept from before the restore. */
void ses_adopt_journal(sm_session *s, sm_journal *j)
{
    pthread_mutex_lock(&s->mu);
    s->pending = 0;
    s->view_step = s->step;
    sm_journal_clear(&s->deferred);
    sm_journal_free(&s->journal);
    s->journal = *j;
    pthread_mutex_unlock(&s->mu);
    free(s->pre_state);
    s->pre_state = NULL;
}

/* Make branch t (inactive, with its tip) the active one, exactly as it was left. */
static sm_status enter(sm_session *s, branch *t, sm_error *e)
{
    sm_status st = ses_snap_put(s, &t->tip, e);
    if (st != SM_OK)
        return st;
    sm_journal j;
    if ((st = sm_journal_copy(&j, &t->tip.cap.journal, e)) != SM_OK)
        return st;
    ses_adopt_journal(s, &j);
    snapshot tip = t->tip;
    pthread_mutex_lock(&s->mu);
    t->has_tip = 0;
    memset(&t->tip, 0, sizeof t->tip);
    s->cur_branch = (int)(t - s->branches);
    pthread_mutex_unlock(&s->mu);
    ses_snap_free(&tip);
    return SM_OK;
}

sm_status ses_branch_checkout(sm_session *s, const char *name, sm_session_reply *r)
{
    branch *t = by_name(s, name);
    if (!t) {
        sm_str list = SM_STR_INIT;
        for (size_t i = 0; i < s->n_branches; i++)
            sm_str_appendf(&list, "%s%s", i ? ", " : "", s->branches[i].name);
        sm_err(&r->err, SM_ERR_NOTFOUND, "no branch named '%s' (have: %s; `branches` lists them)", name,
               sm_str_cstr(&list));
        sm_str_free(&list);
        return SM_ERR_NOTFOUND;
    }
    if (t == ses_branch_cur(s)) {
        size_t w = strlen(r->msg);
        snprintf(r->msg + w, sizeof r->msg - w, "already on branch %s (step %lld)", name, (long long)s->step);
        return SM_OK;
    }
    int tid = t->id, left = ses_branch_cur(s)->id;
    int64_t from = s->step;
    sm_status st = leave_current(s, &r->err);
    if (st != SM_OK)
        return st;
    t = ses_branch_by_id(s, tid); /* the array may have moved down by one */
    if ((st = enter(s, t, &r->err)) != SM_OK) {
        /* nothing is lost: go back to the branch left (its tip was just taken), else stay on t */
        branch *l = ses_branch_by_id(s, left);
        sm_error e2;
        if (!l || !l->has_tip || enter(s, l, &e2) != SM_OK) {
            pthread_mutex_lock(&s->mu);
            s->cur_branch = (int)(t - s->branches);
            pthread_mutex_unlock(&s->mu);
        }
        return sm_err_prefix(&r->err, "checkout %s", name);
    }
    s->run_end = 0;
    ses_set_state(s, SM_SESSION_STOPPED);
    sm_error se; /* the left branch's state now counts against the budget */
    if (ses_spill_enforce(s, &se) != SM_OK)
        ses_emit(s, SM_EVENT_WARN, NULL, NULL, "%s", se.msg);
    size_t w = strlen(r->msg);
    snprintf(r->msg + w, sizeof r->msg - w, "on branch %s at step %lld (left step %lld)", t->name,
             (long long)s->step, (long long)from);
    r->step = s->step;
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SM_EVENT_REWIND;
    ev.step = s->step;
    ev.from_step = from;
    ev.epoch = s->epoch;
    ev.state = (int)s->state;
    ev.name = t->name;
    ev.msg = r->msg;
    if ((ev.has_rec = s->has_step))
        ev.rec = s->last;
    if ((ev.has_eval = s->has_eval))
        ev.eval = s->eval;
    ses_emit_event(s, &ev);
    ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "on branch %s at step %lld", t->name, (long long)s->step);
    return SM_OK;
}

sm_status ses_cmd_checkout(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    if (!by_name(s, c->name))
        return ses_branch_checkout(s, c->name, r); /* the error, before anything is paused */
    ses_explore_cancel(s, "checkout");
    ses_pause_first(s, r, "checkout");
    return ses_branch_checkout(s, c->name, r);
}

sm_status ses_cmd_branch(sm_session *s, const sm_session_cmd *c, sm_session_reply *r)
{
    const char *n = c->name;
    size_t len = strlen(n);
    if (len == 0 || len > 63)
        return sm_err(&r->err, SM_ERR_INVALID, "branch: a name is 1 to 63 characters");
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && !strchr("._-+=", n[i]))
            return sm_err(&r->err, SM_ERR_INVALID, "branch: '%s': character %zu '%c' is not allowed (letters, "
                          "digits and . _ - + =)", n, i + 1, n[i]);
    branch *o = by_name(s, n);
    branch *b = ses_branch_cur(s);
    if (o && o != b)
        return sm_err(&r->err, SM_ERR_INVALID, "branch: there is already a branch named '%s'", n);
    char old[64];
    snprintf(old, sizeof old, "%s", b->name);
    pthread_mutex_lock(&s->mu);
    snprintf(b->name, sizeof b->name, "%s", n);
    pthread_mutex_unlock(&s->mu);
    snprintf(r->msg, sizeof r->msg, "branch %s is now %s", old, n);
    ses_emit(s, SM_EVENT_BRANCH, NULL, NULL, "branch %s renamed %s", old, n);
    return SM_OK;
}

/* ---- listing ---- */

static void info_of(sm_session *s, const branch *b, sm_branch_info *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", b->name);
    const branch *p = b->parent >= 0 ? ses_branch_by_id(s, b->parent) : NULL;
    snprintf(o->parent, sizeof o->parent, "%s", p ? p->name : "");
    snprintf(o->from, sizeof o->from, "%s", b->from);
    o->fork_step = b->fork_step;
    o->steps = b->steps;
    o->wall_s = b->wall;
    o->examples_per_s = b->steps ? b->eps_sum / (double)b->steps : 0;
    o->fork_hp = b->fork_hp;
    o->active = s->cur_branch >= 0 && b == &s->branches[s->cur_branch];
    if (o->active) {
        o->hp = s->view_hp;
        o->step = s->view_step;
        o->has_eval = s->has_eval;
        o->eval = s->eval;
        o->has_best = s->has_best;
        o->best = s->best;
    } else {
        o->hp = b->hp;
        o->step = b->step;
        o->has_eval = b->has_eval;
        o->eval = b->eval;
        o->has_best = b->has_best;
        o->best = b->best;
    }
}

static void tree_walk(sm_session *s, int parent, int depth, sm_branch_info *out, size_t *n)
{
    for (size_t i = 0; i < s->n_branches; i++) {
        const branch *b = &s->branches[i];
        if (b->parent != parent)
            continue;
        info_of(s, b, &out[*n]);
        out[(*n)++].depth = depth;
        tree_walk(s, b->id, depth + 1, out, n);
    }
}

size_t sm_session_branches(sm_session *s, sm_branch_info **out)
{
    pthread_mutex_lock(&s->mu);
    size_t n = 0, cap = s->n_branches;
    *out = calloc(cap ? cap : 1, sizeof **out);
    if (*out && cap && s->cur_branch >= 0) {
        tree_walk(s, -1, 0, *out, &n);
        for (size_t i = 0; i < s->n_branches && n < cap; i++) { /* any whose parent went: at the end */
            int listed = 0;
            for (size_t k = 0; k < n && !listed; k++)
                listed = !strcmp((*out)[k].name, s->branches[i].name);
            if (!listed)
                info_of(s, &s->branches[i], &(*out)[n++]);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

sm_status sm_session_branch_records(sm_session *s, const char *name, sm_step_record **steps, size_t *n,
                                    sm_eval_record **evals, size_t *ne, sm_error *e)
{
    *steps = NULL;
    *evals = NULL;
    *n = *ne = 0;
    pthread_mutex_lock(&s->mu);
    branch *b = by_name(s, name);
    if (!b) {
        pthread_mutex_unlock(&s->mu);
        return sm_err(e, SM_ERR_NOTFOUND, "no branch named '%s'", name);
    }
    int active = s->cur_branch >= 0 && b == &s->branches[s->cur_branch];
    const sm_step_record *src = active ? NULL : b->tip.cap.steps;
    size_t ns = active ? s->hist_n : b->tip.cap.n_steps;
    const sm_eval_record *esrc = active ? s->evals : b->tip.cap.evals;
    size_t nev = active ? s->n_evals : b->tip.cap.n_evals;
    *steps = malloc((ns ? ns : 1) * sizeof **steps);
    *evals = malloc((nev ? nev : 1) * sizeof **evals);
    if (!*steps || !*evals) {
        pthread_mutex_unlock(&s->mu);
        free(*steps);
        free(*evals);
        *steps = NULL;
        *evals = NULL;
        return sm_err(e, SM_ERR_NOMEM, "out of memory for branch %s's records", name);
    }
    for (size_t i = 0; i < ns; i++)
        (*steps)[i] = active ? s->hist[(s->hist_head + i) % s->hist_cap] : src[i];
    if (nev)
        memcpy(*evals, esrc, nev * sizeof **evals);
    *n = ns;
    *ne = nev;
    pthread_mutex_unlock(&s->mu);
    return SM_OK;
}

double sm_eval_main_metric(const sm_hparams *hp, const sm_eval_record *ev, const char **name)
{
    const char *m = sm_hparam_choice(SM_HP_BEST_METRIC, hp->v[SM_HP_BEST_METRIC]);
    const char *names[] = {"acc", "f1", "mcc", "macro_f1", "pearson", "spearman"};
    double vals[] = {ev->acc, ev->f1, ev->mcc, ev->macro_f1, ev->pearson, ev->spearman};
    if (!m || !strcmp(m, "auto")) {
        if (name)
            *name = !isnan(ev->acc) || isnan(ev->pearson) ? "acc" : "pearson";
        return !isnan(ev->acc) ? ev->acc : ev->pearson;
    }
    if (name)
        *name = m;
    if (!strcmp(m, "loss"))
        return -ev->loss;
    for (int i = 0; i < 6; i++)
        if (!strcmp(m, names[i]))
            return vals[i];
    return NAN;
}

/* "lambda_s=3 mu=1": the knobs of b that differ from fork (at most cap bytes, whole entries). */
void sm_branch_knobs(const sm_hparams *hp, const sm_hparams *fork, char *buf, size_t cap)
{
    if (!cap)
        return;
    size_t w = 0, kept = 0; /* kept: the end of the entries that fit with room for " ..." after */
    int cut = 0;
    buf[0] = '\0';
    for (int id = 0; id < SM_HP_COUNT && !cut; id++) {
        if (hp->v[id] == fork->v[id])
            continue;
        char v[64], item[128];
        sm_hparam_format(id, hp->v[id], v, sizeof v);
        int k = snprintf(item, sizeof item, "%s%s=%s", w ? " " : "", sm_hparam_def_at(id)->name, v);
        if (k < 0 || w + (size_t)k + 1 > cap) {
            cut = 1;
            break;
        }
        memcpy(buf + w, item, (size_t)k + 1);
        w += (size_t)k;
        if (w + 4 + 1 <= cap)
            kept = w;
    }
    if (cut) { /* said, not hidden: the entries that fit, then " ..." */
        w = kept;
        if (w + 4 + 1 <= cap)
            memcpy(buf + w, w ? " ..." : "...", w ? 5 : 4);
        else
            buf[w] = '\0';
    }
}

static int put(FILE *f, const char *text, int first)
{
    if (!first && fputc(',', f) == EOF)
        return -1;
    if (strpbrk(text, ",\"\r\n "))
        return csv_fwrite(f, text, strlen(text));
    return fputs(text, f) == EOF ? -1 : 0;
}

sm_status sm_session_export_compare(sm_session *s, const char *path, sm_error *e)
{
    sm_branch_info *bi;
    size_t n = sm_session_branches(s, &bi);
    if (!bi)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(bi);
        return sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    const char *head[] = {"branch", "parent", "snapshot", "fork_step", "step", "steps", "knobs", "metric",
                          "last_dev", "best_dev", "examples_per_s", "wall_s", "active"};
    int bad = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        bad |= put(f, head[i], i == 0) < 0;
    bad |= fputc('\n', f) == EOF;
    for (size_t i = 0; i < n && !bad; i++) {
        const sm_branch_info *b = &bi[i];
        char knobs[1024], num[8][40];
        const char *mname = "";
        sm_branch_knobs(&b->hp, &b->fork_hp, knobs, sizeof knobs);
        double last = b->has_eval ? sm_eval_main_metric(&b->hp, &b->eval, &mname) : NAN;
        double best = b->has_best ? sm_eval_main_metric(&b->hp, &b->best, &mname) : NAN;
        snprintf(num[0], sizeof num[0], "%lld", (long long)b->fork_step);
        snprintf(num[1], sizeof num[1], "%lld", (long long)b->step);
        snprintf(num[2], sizeof num[2], "%lld", (long long)b->steps);
        if (!isnan(last))
            snprintf(num[3], sizeof num[3], "%.9g", last);
        else
            num[3][0] = '\0';
        if (!isnan(best))
            snprintf(num[4], sizeof num[4], "%.9g", best);
        else
            num[4][0] = '\0';
        snprintf(num[5], sizeof num[5], "%.6g", b->examples_per_s);
        snprintf(num[6], sizeof num[6], "%.3f", b->wall_s);
        const char *row[] = {b->name, b->parent, b->from, num[0], num[1], num[2], knobs, mname,
                             num[3], num[4], num[5], num[6], b->active ? "1" : "0"};
        for (size_t k = 0; k < sizeof row / sizeof row[0]; k++)
            bad |= put(f, row[k], k == 0) < 0;
        bad |= fputc('\n', f) == EOF;
    }
    free(bi);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        bad = 1;
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

size_t ses_branch_line(sm_session *s, char (*names)[64], int64_t *forks, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    const branch *b = s->cur_branch >= 0 ? &s->branches[s->cur_branch] : NULL;
    while (b && n < cap) {
        snprintf(names[n], 64, "%s", b->name);
        forks[n++] = b->fork_step;
        b = b->parent >= 0 ? ses_branch_by_id(s, b->parent) : NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
