/* checkpoint.c: writing a captured training state (capture.h) into a folder atomically (beside,
 * flushed, renamed into place) and reading it back. The model files come from the capture's model
 * writer (a Hugging Face folder); this file adds the training state and the journal and does the
 * swapping. It knows nothing of the session, which takes the capture and applies what is read. */
#include "smartty/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    if (k == SM_CKPT_NONE && !sm_dir_exists(d)) {
        char old[4200];
        snprintf(old, sizeof old, "%s.old", d);
        if (kind_of(old) == SM_CKPT_SMARTTY) {
            snprintf(out, cap, "%s", old);
            return SM_CKPT_SMARTTY;
        }
    }
    snprintf(out, cap, "%s", d);
    return k;
}

/* Remove a flat folder (files only) and the folder itself. Missing is fine. */
static sm_status remove_flat(const char *dir, sm_error *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? SM_OK
                               : sm_err(e, SM_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *de;
    char p[4400];
    sm_status st = SM_OK;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (unlink(p) != 0 && st == SM_OK)
            st = sm_err(e, SM_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
    }
    closedir(d);
    if (st == SM_OK && rmdir(dir) != 0)
        st = sm_err(e, SM_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    return st;
}

static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static sm_status fsync_path(const char *path, sm_error *e)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open to flush: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL)
        return sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", path, strerror(err));
    return SM_OK;
}

/* Flush every file of a flat folder and the folder itself. */
static sm_status fsync_tree(const char *dir, sm_error *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return sm_err(e, SM_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *de;
    char p[4400];
    sm_status st = SM_OK;
    while (st == SM_OK && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        st = fsync_path(p, e);
    }
    closedir(d);
    return st == SM_OK ? fsync_path(dir, e) : st;
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

/* Remove dir.tmp-PID folders left by saves whose process is gone (killed mid-save). */
static void remove_stale_tmp(const char *dir, const char *parent)
{
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s.tmp-", base);
    size_t np = strlen(prefix);
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, np))
            continue;
        char *end;
        long pid = strtol(de->d_name + np, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[4400];
        sm_error ignored;
        snprintf(p, sizeof p, "%s/%s", parent, de->d_name);
        (void)remove_flat(p, &ignored);
    }
    closedir(d);
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

sm_status sm_checkpoint_save(const sm_capture *s, const char *dir_in, sm_error *e)
{
    char dir[4096], tmp[4200], old[4200], parent[4096];
    sm_status st = clean_dir(dir_in, dir, sizeof dir, e);
    if (st != SM_OK)
        return st;
    if (sm_dir_exists(dir) && kind_of(dir) != SM_CKPT_SMARTTY && !dir_empty(dir))
        return sm_err(e, SM_ERR_STATE,
                      "%s exists and is not a smartty checkpoint: refusing to replace it; choose "
                      "another folder or remove it", dir);
    if (!sm_dir_exists(dir) && sm_file_exists(dir))
        return sm_err(e, SM_ERR_STATE, "%s is a file, not a folder", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
    snprintf(old, sizeof old, "%s.old", dir);
    parent_of(dir, parent, sizeof parent);
    stage("begin");
    remove_stale_tmp(dir, parent);
    if ((st = remove_flat(tmp, e)) != SM_OK)
        return st;
    if (mkdir(tmp, 0755) != 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
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
    if ((st = fsync_tree(tmp, e)) != SM_OK)
        goto fail;
    stage("synced");
    if (sm_dir_exists(dir)) {
        /* dir is whole: a stale dir.old from an earlier crash can go, then dir goes aside */
        if ((st = remove_flat(old, e)) != SM_OK)
            goto fail;
        if (rename(dir, old) != 0) {
            st = sm_err(e, SM_ERR_IO, "%s: cannot move aside to %s: %s", dir, old, strerror(errno));
            goto fail;
        }
        if ((st = fsync_path(parent, e)) != SM_OK)
            goto fail;
    }
    stage("aside");
    if (rename(tmp, dir) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place as %s: %s", tmp, dir, strerror(errno));
        if (sm_dir_exists(old) && !sm_dir_exists(dir))
            (void)rename(old, dir);
        goto fail;
    }
    if ((st = fsync_path(parent, e)) != SM_OK)
        return st;
    stage("renamed");
    if ((st = remove_flat(old, e)) != SM_OK)
        return sm_err_prefix(e, "checkpoint saved to %s, but the previous one remains", dir);
    stage("done");
    return SM_OK;
fail:
    {
        sm_error ignored;
        (void)remove_flat(tmp, &ignored);
    }
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
    return remove_flat(real, e);
}
