/* checkpoint.c: writing a captured training state (capture.h) into a folder atomically (written
 * beside, flushed, exchanged into place: checkpoint.h) and reading it back. The model files come
 * from the capture's model writer (a Hugging Face folder); this file adds the training state, its
 * log_history and the journal, and runs the save's steps; the folders themselves (marker, lock,
 * exchange, removal) are checkpoint_dir.c's. It knows nothing of the session, which takes the
 * capture and applies what is read (session_state.c). */
#include "smartty/checkpoint.h"
#include "lib/session/checkpoint_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartty/hparams.h"
#include "smartty/journal.h"
#include "smartty/safetensors.h"

static void (*stage_hook)(const char *stage);

void sm_checkpoint_set_stage_hook(void (*fn)(const char *stage)) { stage_hook = fn; }

static void stage(const char *name)
{
    if (stage_hook)
        stage_hook(name);
}

/* dir without trailing slashes, into buf. */
static sm_status clean_dir(const char *dir, char *buf, size_t cap, sm_error *e)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n + 32 >= cap)
        return sm_err(e, SM_ERR_INVALID, "checkpoint folder '%s': empty or too long", dir);
    memcpy(buf, dir, n);
    buf[n] = '\0';
    return SM_OK;
}

static void parent_of(const char *dir, char *out, size_t cap)
{
    const char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == dir)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - dir), dir);
}

static sm_ckpt_kind kind_of(const char *dir)
{
    char p[4200];
    if (!sm_dir_exists(dir))
        return SM_CKPT_NONE;
    if (sm_file_exists(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON)))
        return SM_CKPT_SMARTTY;
    if (sm_file_exists(sm_path_join(p, sizeof p, dir, "config.json")))
        return SM_CKPT_HF;
    return SM_CKPT_NONE;
}

sm_ckpt_kind sm_checkpoint_resolve(const char *dir, char *out, size_t cap)
{
    char d[4096];
    if (clean_dir(dir, d, sizeof d, NULL) != SM_OK) {
        snprintf(out, cap, "%s", dir);
        return SM_CKPT_NONE;
    }
    sm_ckpt_kind k = kind_of(d);
    struct stat sb;
    if (k == SM_CKPT_NONE && lstat(d, &sb) != 0) {
        /* DIR went aside where the file system cannot exchange folders (see sm_checkpoint_save),
         * or, by an older smartty, to DIR.old */
        const char *suffixes[] = {".smartty-old", ".old"};
        for (int i = 0; i < 2; i++) {
            char old[4200];
            snprintf(old, sizeof old, "%s%s", d, suffixes[i]);
            if (lstat(old, &sb) == 0 && S_ISDIR(sb.st_mode) && kind_of(old) == SM_CKPT_SMARTTY) {
                snprintf(out, cap, "%s", old);
                return SM_CKPT_SMARTTY;
            }
        }
    }
    snprintf(out, cap, "%s", d);
    return k;
}

/* ---- log_history: the step and evaluation records, so curves come back after a resume ---- */

static json_t *record_json(const sm_step_record *r, const sm_eval_record *ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(r ? "step" : "eval"));
    if (ev) {
        json_object_set_new(o, "step", json_integer((json_int_t)ev->step));
        json_object_set_new(o, "epoch", json_integer(ev->epoch + 1));
        json_object_set_new(o, "n", json_integer(ev->n));
        json_object_set_new(o, "seconds", json_real(ev->seconds));
    }
    for (size_t i = 0; i < sm_field_count(); i++) {
        const sm_field_def *d = sm_field_at(i);
        if ((d->source == SM_FIELD_STEP) != (r != NULL))
            continue;
        double v = sm_field_value((int)i, r, ev);
        int whole = !strcmp(d->name, "step") || !strcmp(d->name, "epoch") || !strcmp(d->name, "skipped");
        if (!isnan(v) && isfinite(v))
            json_object_set_new(o, d->name, whole ? json_integer((json_int_t)v) : json_real(v));
    }
    return o;
}

static json_t *history_json(const sm_capture *c)
{
    const sm_step_record *h = c->steps;
    const sm_eval_record *ev = c->evals;
    size_t n = c->n_steps, ne = c->n_evals, k = 0;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        for (; k < ne && ev[k].step < h[i].step; k++)
            json_array_append_new(a, record_json(NULL, &ev[k]));
        json_array_append_new(a, record_json(&h[i], NULL));
        for (; k < ne && ev[k].step == h[i].step; k++)
            json_array_append_new(a, record_json(NULL, &ev[k]));
    }
    for (; k < ne; k++)
        json_array_append_new(a, record_json(NULL, &ev[k]));
    return a;
}

/* The saved log_history into the capture (absent: nothing to restore, has_history stays 0). */
static sm_status read_history(sm_capture *c, json_t *top, const char *path, sm_error *e)
{
    json_t *a = json_object_get(top, "log_history");
    if (!a)
        return SM_OK;
    if (!json_is_array(a))
        return sm_err(e, SM_ERR_FORMAT, "%s: \"log_history\" must be an array", path);
    size_t n = json_array_size(a), ns = 0, ne = 0;
    sm_step_record *st = calloc(n ? n : 1, sizeof *st);
    sm_eval_record *ev = calloc(n ? n : 1, sizeof *ev);
    sm_status rc = st && ev ? SM_OK : sm_err(e, SM_ERR_NOMEM, "%s: out of memory for the history", path);
    for (size_t i = 0; rc == SM_OK && i < n; i++) {
        json_t *o = json_array_get(a, i), *ty = json_object_get(o, "type");
        int is_eval = json_is_string(ty) && !strcmp(json_string_value(ty), "eval");
        sm_step_record *r = is_eval ? NULL : &st[ns];
        sm_eval_record *v = is_eval ? &ev[ne] : NULL;
        if (v) {
            sm_eval_record_init(v);
            json_t *x = json_object_get(o, "step"), *ep = json_object_get(o, "epoch"), *k = json_object_get(o, "n");
            v->step = json_is_integer(x) ? (int64_t)json_integer_value(x) : 0;
            v->epoch = json_is_integer(ep) && json_integer_value(ep) >= 1 ? (int)json_integer_value(ep) - 1 : 0;
            v->n = json_is_integer(k) && json_integer_value(k) >= 0 && json_integer_value(k) <= INT32_MAX
                       ? (int)json_integer_value(k) : 0;
            v->seconds = json_number_value(json_object_get(o, "seconds"));
        }
        const char *key;
        json_t *val;
        json_object_foreach(o, key, val) {
            int f = sm_field_lookup(key);
            if (f < 0 || (sm_field_at((size_t)f)->source == SM_FIELD_EVAL) != is_eval)
                continue;
            if (!json_is_number(val) || sm_field_set(f, r, v, json_number_value(val)) != 0) {
                rc = sm_err(e, SM_ERR_FORMAT, "%s: log_history entry %zu: \"%s\" is not a valid value", path,
                            i + 1, key);
                break;
            }
        }
        if (is_eval)
            ne++;
        else
            ns++;
    }
    if (rc == SM_OK) {
        c->has_history = 1;
        c->steps = st;
        c->n_steps = ns;
        c->evals = ev;
        c->n_evals = ne;
        return SM_OK;
    }
    free(st);
    free(ev);
    return rc;
}

static sm_status write_state(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    if (!c->state)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory serialising the state");
    json_t *o = json_loads(c->state, 0, NULL);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "checkpoint: the session state is not valid JSON");
    json_t *top = json_object();
    json_object_set_new(top, "format", json_string(SM_CKPT_FORMAT));
    json_object_set_new(top, "version", json_integer(SM_CKPT_VERSION));
    json_object_update(top, o);
    json_decref(o);
    json_object_set_new(top, "log_history", history_json(c));
    if (c->has_best) {
        json_object_set_new(top, "best_metric", json_string(c->best_metric ? c->best_metric : "auto"));
        json_object_set_new(top, "best", record_json(NULL, &c->best));
    }
    char *text = json_dumps(top, JSON_PRESERVE_ORDER | JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(top);
    if (!text)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory serialising the state");
    size_t n = strlen(text);
    text[n] = '\0';
    sm_status st = sm_write_file_atomic(sm_path_join(p, sizeof p, tmp, SM_CKPT_STATE_JSON), text, n, e);
    free(text);
    return st;
}

static sm_status write_tensors(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    size_t n = c->n_tensors, k = 0;
    sm_st_entry *ents = calloc(n ? n : 1, sizeof *ents);
    if (!ents)
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    for (size_t i = 0; i < n; i++) {
        sm_state_tensor t = c->tensors[i];
        if (t.in_model)
            continue;
        ents[k].name = t.name;
        ents[k].data = t.data;
        ents[k].ndim = 1;
        ents[k].shape[0] = (int64_t)t.n;
        k++;
    }
    sm_st_meta meta[] = {{"format", SM_CKPT_FORMAT}};
    sm_status st = sm_st_write(sm_path_join(p, sizeof p, tmp, SM_CKPT_STATE_TENSORS), ents, k,
                               SM_ST_F32, meta, 1, e);
    free(ents);
    return st;
}

static sm_status write_journal(const sm_capture *c, const char *tmp, sm_error *e)
{
    char p[4400];
    return sm_journal_save(&c->journal, sm_path_join(p, sizeof p, tmp, SM_CKPT_JOURNAL), e);
}

/* Every array of the state finite: what sm_checkpoint_read_tensors (and the model loader) would
 * refuse is never written as a checkpoint. */
static sm_status check_finite(const sm_capture *s, sm_error *e)
{
    size_t n = s->n_tensors;
    for (size_t i = 0; i < n; i++) {
        sm_state_tensor t = s->tensors[i];
        for (size_t q = 0; q < t.n; q++)
            if (!isfinite(t.data[q]))
                return sm_err(e, SM_ERR_NONFINITE,
                              "the training state holds a non-finite value (%g in '%s', element %zu), which "
                              "resume would refuse: not saved (the run has diverged; rewind or resume an "
                              "earlier checkpoint with a lower lr or clip set)", (double)t.data[q], t.name, q);
    }
    return SM_OK;
}

sm_status sm_checkpoint_save(const sm_capture *s, const char *dir_in, sm_error *e)
{
    char dir[4096], parent[4096], tmpname[512], tmp[4700], where[4700];
    sm_status st = clean_dir(dir_in, dir, sizeof dir, e);
    if (st != SM_OK)
        return st;
    parent_of(dir, parent, sizeof parent);
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    if (!strcmp(base, ".") || !strcmp(base, "..") || strlen(base) > 200)
        return sm_err(e, SM_ERR_INVALID, "checkpoint folder '%s': give a folder name (at most 200 bytes)", dir);
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open the folder to save in: %s", parent, strerror(errno));
    int lockfd = ckpt_take_lock(pfd, base, dir, parent, e);
    if (lockfd < 0) {
        close(pfd);
        return sm_err_prefix(e, "saving checkpoint %s", dir);
    }
    int exists, tfd = -1, made = 0;
    if ((st = ckpt_check_dest(pfd, base, dir, &exists, e)) != SM_OK ||
        (st = check_finite(s, e)) != SM_OK) {
        close(lockfd);
        close(pfd);
        return st;
    }
    stage("begin");
    ckpt_remove_stale_tmp(pfd, base, parent);

    if (ckpt_make_tmp(pfd, base, tmpname, sizeof tmpname) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s/%s: cannot create: %s", parent, tmpname, strerror(errno));
        goto fail;
    }
    made = 1;
    snprintf(tmp, sizeof tmp, "%s/%s", parent, tmpname);
    if ((tfd = ckpt_open_own_dir(pfd, tmpname)) < 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot open: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((st = ckpt_write_marker(tfd, 0, tmp, e)) != SM_OK)
        goto fail;
    if ((st = s->save_model ? s->save_model(s->model_ctx, tmp, e)
                            : sm_err(e, SM_ERR_UNSUPPORTED, "this session cannot write a model folder")) != SM_OK)
        goto fail;
    stage("model");
    if ((st = write_state(s, tmp, e)) != SM_OK)
        goto fail;
    stage("state");
    if ((st = write_tensors(s, tmp, e)) != SM_OK)
        goto fail;
    stage("tensors");
    if ((st = write_journal(s, tmp, e)) != SM_OK)
        goto fail;
    stage("journal");
    if ((st = ckpt_write_marker(tfd, 1, tmp, e)) != SM_OK)
        goto fail;
    if (fchmod(tfd, 0755) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot set permissions: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((st = ckpt_fsync_dir(tfd, tmp, e)) != SM_OK)
        goto fail;
    close(tfd);
    tfd = -1;
    stage("synced");
    int swapped = 0;
    if (exists) {
        /* one atomic step: the new folder becomes DIR, the old one takes the temporary name */
        if (ckpt_exchange(pfd, tmpname, base) == 0) {
            swapped = 1;
        } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* the file system cannot exchange: DIR goes aside to DIR.smartty-old (where the loader
             * looks when DIR is missing), the new folder takes its place */
            char old[512];
            snprintf(old, sizeof old, "%s" OLD_SUFFIX, base);
            snprintf(where, sizeof where, "%s/%s", parent, old);
            if ((st = ckpt_remove_ours(pfd, old, 1, where, e)) != SM_OK)
                goto fail;
            if (renameat(pfd, base, pfd, old) != 0) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot move aside to %s: %s", dir, where, strerror(errno));
                goto fail;
            }
            if (fsync(pfd) != 0 && errno != EINVAL) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", parent, strerror(errno));
                (void)renameat(pfd, old, pfd, base);
                goto fail;
            }
            stage("aside");
            if (renameat(pfd, tmpname, pfd, base) != 0) {
                st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place as %s: %s", tmp, dir, strerror(errno));
                (void)renameat(pfd, old, pfd, base);
                goto fail;
            }
            snprintf(tmpname, sizeof tmpname, "%s", old); /* what is left to remove */
            swapped = 1;
        } else {
            st = sm_err(e, SM_ERR_IO, "%s: cannot exchange with %s: %s", tmp, dir, strerror(errno));
            goto fail;
        }
    } else {
        int rc;
#ifdef RENAME_NOREPLACE
        rc = renameat2(pfd, tmpname, pfd, base, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
#endif
            rc = renameat(pfd, tmpname, pfd, base);
        if (rc != 0) {
            st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place as %s: %s", tmp, dir, strerror(errno));
            goto fail;
        }
    }
    stage("exchanged");
    made = swapped; /* what is at tmpname now is the previous checkpoint */
    snprintf(where, sizeof where, "%s/%s", parent, tmpname);
    if (fsync(pfd) != 0 && errno != EINVAL) {
        st = sm_err(e, SM_ERR_IO, "checkpoint saved to %s, but its folder %s could not be flushed to disk "
                    "(%s): a system crash soon could bring back the previous one", dir, parent, strerror(errno));
        if (made)
            (void)ckpt_remove_ours(pfd, tmpname, 1, where, &(sm_error){0});
        close(lockfd);
        close(pfd);
        return st;
    }
    stage("renamed");
    if (made && (st = ckpt_remove_ours(pfd, tmpname, 1, where, e)) != SM_OK) {
        close(lockfd);
        close(pfd);
        return sm_err_prefix(e, "checkpoint saved to %s, but the previous one remains", dir);
    }
    {   /* the new DIR is in place: what a killed fallback save left aside can go */
        char old[512];
        snprintf(old, sizeof old, "%s" OLD_SUFFIX, base);
        snprintf(where, sizeof where, "%s/%s", parent, old);
        (void)ckpt_remove_ours(pfd, old, 1, where, &(sm_error){0});
    }
    stage("done");
    close(lockfd);
    close(pfd);
    return SM_OK;
fail:
    if (tfd >= 0)
        close(tfd);
    if (made) {
        snprintf(where, sizeof where, "%s/%s", parent, tmpname);
        (void)ckpt_remove_ours(pfd, tmpname, 0, where, &(sm_error){0});
    }
    close(lockfd);
    close(pfd);
    return sm_err_prefix(e, "saving checkpoint %s", dir);
}

static sm_status read_state_json(const char *dir, json_t **out, sm_error *e)
{
    char p[4400], *text;
    size_t len;
    sm_status st = sm_read_file(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON), &text, &len, 0, e);
    if (st != SM_OK)
        return st;
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    free(text);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", p, je.line, je.column, je.text);
    json_t *fmt = json_object_get(o, "format"), *ver = json_object_get(o, "version");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), SM_CKPT_FORMAT) ||
        !json_is_integer(ver)) {
        json_decref(o);
        return sm_err(e, SM_ERR_FORMAT, "%s: not a smartty checkpoint state (no \"format\": \"%s\")", p,
                      SM_CKPT_FORMAT);
    }
    if (json_integer_value(ver) != SM_CKPT_VERSION) {
        long long v = (long long)json_integer_value(ver);
        json_decref(o);
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: checkpoint version %lld; this smartty reads version %d",
                      p, v, SM_CKPT_VERSION);
    }
    *out = o;
    return SM_OK;
}

sm_status sm_checkpoint_backend_json(const char *dir, char **json, sm_error *e)
{
    json_t *o;
    sm_status st = read_state_json(dir, &o, e);
    if (st != SM_OK)
        return st;
    json_t *b = json_object_get(o, "backend");
    *json = json_is_object(b) ? json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    if (!*json)
        return sm_err(e, SM_ERR_FORMAT, "%s/%s: no \"backend\" object", dir, SM_CKPT_STATE_JSON);
    return SM_OK;
}

sm_status sm_checkpoint_read(const char *dir, sm_capture *c, sm_error *e)
{
    char p[4400];
    json_t *o;
    sm_capture_init(c);
    sm_status st = read_state_json(dir, &o, e);
    if (st != SM_OK)
        return st;
    json_t *lh = json_object_get(o, "log_history"); /* not part of the session's state */
    if (lh)
        json_incref(lh);
    json_object_del(o, "log_history");
    json_object_del(o, "best");
    json_object_del(o, "best_metric");
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (lh) {
        json_object_set_new(o, "log_history", lh);
    }
    if (!text) {
        json_decref(o);
        return sm_err(e, SM_ERR_NOMEM, "checkpoint: out of memory");
    }
    c->state = text;
    st = read_history(c, o, sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_JSON), e);
    json_decref(o);
    if (st == SM_OK)
        st = sm_journal_load(&c->journal, sm_path_join(p, sizeof p, dir, SM_CKPT_JOURNAL), e);
    if (st != SM_OK)
        sm_capture_free(c);
    return st;
}

sm_status sm_checkpoint_read_tensors(const char *dir, const sm_capture *c, sm_error *e)
{
    char p[4400];
    sm_st_file *f;
    sm_status st;
    if ((st = sm_st_open(sm_path_join(p, sizeof p, dir, SM_CKPT_STATE_TENSORS), &f, e)) != SM_OK)
        return st;
    for (size_t i = 0; i < c->n_tensors && st == SM_OK; i++) {
        sm_state_tensor t = c->tensors[i];
        if (t.in_model)
            continue;
        long k = sm_st_find(f, t.name);
        if (k < 0)
            st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s' is missing", p, t.name);
        else
            st = sm_st_read_float(f, (size_t)k, t.data, t.n, e);
        /* as for the model's weights (hf.c): a NaN moment or teacher weight would spread into the
         * model at the first update */
        for (size_t q = 0; st == SM_OK && q < t.n; q++)
            if (!isfinite(t.data[q]))
                st = sm_err(e, SM_ERR_NONFINITE, "%s: tensor '%s' holds a non-finite value (%g at element %zu): "
                            "the checkpoint is damaged", p, t.name, (double)t.data[q], q);
    }
    sm_st_close(f);
    return st;
}

sm_status sm_checkpoint_remove(const char *dir, sm_error *e)
{
    char real[4200];
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY)
        return sm_err(e, SM_ERR_STATE, "%s is not a smartty checkpoint: not removed", dir);
    /* as a save removes the checkpoint it replaced: relative to the parent, never through a link,
     * only the files its marker lists (or the standard names of an older checkpoint) */
    size_t n = strlen(real);
    while (n > 1 && real[n - 1] == '/')
        real[--n] = '\0';
    char parent[4200];
    parent_of(real, parent, sizeof parent);
    const char *base = strrchr(real, '/');
    base = base ? base + 1 : real;
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open: %s", parent, strerror(errno));
    sm_status st = ckpt_remove_ours(pfd, base, 1, real, e);
    close(pfd);
    return st;
}
