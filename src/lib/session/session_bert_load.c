/* session_bert_load.c: the BERT backend's session-level operations, run where the state lives:
 * loading a model, a checkpoint or data (each journalled with canonical paths and the data options
 * that differ from the defaults), the read-only views, replaying load events, and resuming a
 * checkpoint with the data options it saved. The backend's numerics are session_bert.c's. */
#include "smartty/session_bert.h"
#include "lib/session/session_bert_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/checkpoint.h"
#include "smartty/data.h"
#include "smartty/str.h"

/* ---- session-level loads (on the thread that owns the state) ---- */

static bert_ctx *ctx_of(sm_session *s, sm_error *e)
{
    bert_ctx *c = bert_ctx_of(s);
    if (!c)
        sm_err(e, SM_ERR_STATE, "this session does not train a BERT model");
    return c;
}

/* Restore the checkpoint a model load named, once the training set is there. */
static sm_status resume_pending(sm_session *s, bert_ctx *c, sm_error *e)
{
    if (!c->resume_dir[0] || !c->ds[0])
        return SM_OK;
    sm_status st = sm_session_restore_checkpoint(s, c->resume_dir, e);
    if (st == SM_OK)
        c->resume_dir[0] = '\0';
    else
        sm_err_prefix(e, "resuming %s", c->resume_dir);
    return st;
}

/* The journal names files by their canonical absolute path, so a journal replays from any working
 * folder (a path that no longer resolves is journalled as given). */
static const char *journal_path(const char *path, char *buf, size_t cap)
{
    char *r = realpath(path, NULL);
    if (!r || strlen(r) >= cap) {
        free(r);
        return path;
    }
    snprintf(buf, cap, "%s", r);
    free(r);
    return buf;
}

/* resume: 1 restores the checkpoint's training state once the training set is loaded; 0 takes only
 * its weights, labels and tokenizer (a fresh run). */
static sm_status load_model(sm_session *s, const char *dir, int resume, sm_error *e)
{
    bert_ctx *c = ctx_of(s, e);
    if (!c)
        return SM_ERR_STATE;
    if (sm_session_busy(s))
        return sm_err(e, SM_ERR_STATE, "a run is in progress: stop it before loading a model");
    sm_status st = sm_session_reset(s, e);
    if (st != SM_OK)
        return st;
    c->hp = *sm_session_hparams(s);
    char real[4200];
    sm_ckpt_kind kind = sm_checkpoint_resolve(dir, real, sizeof real);
    if ((st = bert_load_model(c, dir, e)) != SM_OK)
        return st;
    char abs[4200];
    const char *arg = journal_path(dir, abs, sizeof abs);
    if ((st = sm_session_journal_add(s, "load_model", 1, &arg, e)) != SM_OK)
        return st;
    c->resume_dir[0] = '\0';
    if (kind == SM_CKPT_SMARTTY && resume)
        snprintf(c->resume_dir, sizeof c->resume_dir, "%s", real);
    return resume_pending(s, c, e);
}

sm_status sm_session_load_model(sm_session *s, const char *dir, sm_error *e)
{
    return load_model(s, dir, 0, e);
}

sm_status sm_session_load_checkpoint(sm_session *s, const char *dir, sm_error *e)
{
    char real[4200];
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY)
        return sm_err(e, SM_ERR_INVALID, "%s: not a smartty checkpoint (no trainer_state.json); to start "
                                         "from a plain model folder load it as a model", dir);
    return load_model(s, dir, 1, e);
}

/* The data options as journal arguments: the options that differ from the defaults, as
 * sm_data_opts_parse reads them back, each whole in args[k] (a failed append marks args[k]). */
static int opts_args(const sm_data_opts *o, sm_str *args, int cap)
{
    sm_data_opts d;
    sm_data_opts_init(&d);
    int n = 0;
#define PUT(...) \
    do { \
        if (n < cap) \
            sm_str_appendf(&args[n++], __VA_ARGS__); \
    } while (0)
    if (strcmp(o->text_col, d.text_col))
        PUT("--text=%s", o->text_col);
    if (strcmp(o->pair_col, d.pair_col))
        PUT("--text-pair=%s", o->pair_col);
    if (strcmp(o->label_col, d.label_col))
        PUT("--label=%s", o->label_col);
    if (o->no_header)
        PUT("--no-header");
    if (o->delimiter != SM_DELIM_AUTO)
        PUT("--delimiter=%s", o->delimiter == SM_DELIM_TAB ? "tab" : "comma");
    if (o->quote != SM_QUOTE_AUTO)
        PUT("--quote=%s", sm_quote_name(o->quote));
    if (o->n_labels > 0 && n < cap) {
        PUT("--labels=");
        for (int i = 0; i < o->n_labels; i++)
            sm_str_appendf(&args[n - 1], "%s%s", i ? "," : "", o->labels[i]);
    }
    if (o->regression)
        PUT("--regression");
    if (o->limit)
        PUT("--limit=%zu", o->limit);
    if (o->sample)
        PUT("--sample=%zu", o->sample);
    if (o->seed != d.seed)
        PUT("--seed=%" PRIu64, o->seed);
    if (o->skip_bad)
        PUT("--skip-bad");
    if (o->max_len != d.max_len)
        PUT("--max-len=%d", o->max_len);
#undef PUT
    sm_data_opts_free(&d);
    return n;
}

sm_status sm_session_load_data(sm_session *s, int which, const char *path, const sm_data_opts *o,
                               sm_error *e)
{
    bert_ctx *c = ctx_of(s, e);
    if (!c)
        return SM_ERR_STATE;
    if (which == 0 && sm_session_busy(s))
        return sm_err(e, SM_ERR_STATE, "a run is in progress: stop it before loading training data");
    sm_status st = which == 0 ? sm_session_reset(s, e) : SM_OK;
    if (st != SM_OK)
        return st;
    c->hp = *sm_session_hparams(s);
    if ((st = bert_load_data(c, which, path, o, e)) != SM_OK)
        return st;
    if (which == 0 && (st = sm_session_reset(s, e)) != SM_OK) /* the plan counts the new rows */
        return st;
    sm_str args[24];
    const char *argv[25];
    for (int i = 0; i < 24; i++)
        sm_str_init(&args[i]);
    char abs[4200];
    argv[0] = journal_path(path, abs, sizeof abs);
    int n = opts_args(o, args, 24);
    for (int i = 0; i < n && st == SM_OK; i++) {
        st = sm_str_status(&args[i], e, "the journal's load entry");
        argv[i + 1] = sm_str_cstr(&args[i]);
    }
    if (st == SM_OK)
        st = sm_session_journal_add(s, which ? "load_dev" : "load_train", n + 1, argv, e);
    for (int i = 0; i < 24; i++)
        sm_str_free(&args[i]);
    if (st != SM_OK)
        return st;
    return which == 0 ? resume_pending(s, c, e) : SM_OK;
}

const sm_dataset *sm_session_dataset(sm_session *s, int which)
{
    bert_ctx *c = bert_ctx_of(s);
    return c && (which == 0 || which == 1) ? c->ds[which] : NULL;
}

const sm_bert_config *sm_session_model_config(sm_session *s)
{
    bert_ctx *c = bert_ctx_of(s);
    return c && c->model ? &c->cfg : NULL;
}

const sm_tokenizer *sm_session_tokenizer(sm_session *s)
{
    bert_ctx *c = bert_ctx_of(s);
    return c ? c->tok : NULL;
}

struct sm_bert *sm_session_model(sm_session *s)
{
    bert_ctx *c = bert_ctx_of(s);
    return c ? c->model : NULL;
}

sm_status sm_session_replay_event(sm_session *s, const sm_journal_event *ev, sm_error *e)
{
    int is_model = !strcmp(ev->op, "load_model");
    int which = !strcmp(ev->op, "load_train") ? 0 : !strcmp(ev->op, "load_dev") ? 1 : -1;
    if (!is_model && which < 0)
        return sm_session_apply_event(s, ev, e);
    if (ev->argc < 1)
        return sm_err(e, SM_ERR_FORMAT, "replay: '%s' at step %lld has no path", ev->op,
                      (long long)ev->step);
    if (ev->step > 0 && which != 1) {
        /* a resumed run's loads: replaying what came before already reproduced that state */
        return sm_session_journal_add(s, ev->op, ev->argc, (const char *const *)ev->argv, e);
    }
    if (is_model) {
        if (ev->argc != 1)
            return sm_err(e, SM_ERR_FORMAT, "replay: load_model takes one path, not %d arguments",
                          ev->argc);
        return sm_session_load_model(s, ev->argv[0], e);
    }
    sm_data_opts o;
    sm_data_opts_init(&o);
    int argc = ev->argc;
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    memcpy(argv, ev->argv, (size_t)argc * sizeof *argv);
    sm_status st = sm_data_opts_parse(&o, &argc, argv, 1, e);
    if (st == SM_OK && argc != 1)
        st = sm_err(e, SM_ERR_FORMAT, "replay: %s at step %lld: unexpected argument '%s'", ev->op,
                    (long long)ev->step, argv[1]);
    if (st == SM_OK)
        st = sm_session_load_data(s, which, ev->argv[0], &o, e);
    free(argv);
    sm_data_opts_free(&o);
    return st;
}

/* ---- resuming a checkpoint with the data options it saved ---- */

static sm_status saved_str(json_t *d, const char *k, char *out, size_t cap, sm_error *e)
{
    json_t *v = json_object_get(d, k);
    if (!v) {
        out[0] = '\0';
        return SM_OK;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) >= cap)
        return sm_err(e, SM_ERR_FORMAT, "training state: data option \"%s\" must be a string of at most "
                                        "%zu bytes", k, cap - 1);
    snprintf(out, cap, "%s", json_string_value(v));
    return SM_OK;
}

static sm_status saved_int(json_t *d, const char *k, long long lo, long long hi, long long *out, sm_error *e)
{
    json_t *v = json_object_get(d, k);
    if (!v)
        return SM_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return sm_err(e, SM_ERR_FORMAT, "training state: data option \"%s\" must be an integer from %lld "
                                        "to %lld", k, lo, hi);
    *out = (long long)json_integer_value(v);
    return SM_OK;
}

sm_status sm_session_checkpoint_data(const char *dir, int which, char *path, size_t cap, sm_data_opts *o,
                                     sm_error *e)
{
    char real[4200];
    sm_data_opts_init(o);
    path[0] = '\0';
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY)
        return sm_err(e, SM_ERR_INVALID, "%s: not a smartty checkpoint (no trainer_state.json)", dir);
    char *bj;
    sm_status st = sm_checkpoint_backend_json(real, &bj, e);
    if (st != SM_OK)
        return st;
    json_t *b = json_loads(bj, 0, NULL);
    free(bj);
    json_t *d = b ? json_object_get(b, which ? "dev" : "train") : NULL;
    if (!json_is_object(d)) {
        json_decref(b);
        return sm_err(e, SM_ERR_NOTFOUND, "%s: the checkpoint saved no %s set", dir, which ? "dev" : "training");
    }
    long long no_header = 0, delim = 0, quote = 0, regression = 0, limit = 0, sample = 0, skip_bad = 0;
    long long max_len = o->max_len;
    const long long big = (long long)1 << 53;
    if ((st = saved_str(d, "path", path, cap, e)) == SM_OK && !path[0])
        st = sm_err(e, SM_ERR_FORMAT, "training state: the %s set has no \"path\"", which ? "dev" : "training");
    if (st == SM_OK)
        st = saved_str(d, "text", o->text_col, sizeof o->text_col, e);
    if (st == SM_OK)
        st = saved_str(d, "pair", o->pair_col, sizeof o->pair_col, e);
    if (st == SM_OK)
        st = saved_str(d, "label", o->label_col, sizeof o->label_col, e);
    if (st == SM_OK && (st = saved_int(d, "no_header", 0, 1, &no_header, e)) == SM_OK &&
        (st = saved_int(d, "delimiter", SM_DELIM_AUTO, SM_DELIM_COMMA, &delim, e)) == SM_OK &&
        (st = saved_int(d, "quote", SM_QUOTE_AUTO, SM_QUOTE_CSV, &quote, e)) == SM_OK &&
        (st = saved_int(d, "regression", 0, 1, &regression, e)) == SM_OK &&
        (st = saved_int(d, "limit", 0, big, &limit, e)) == SM_OK &&
        (st = saved_int(d, "sample", 0, big, &sample, e)) == SM_OK &&
        (st = saved_int(d, "skip_bad", 0, 1, &skip_bad, e)) == SM_OK)
        st = saved_int(d, "max_len", 1, 1 << 20, &max_len, e);
    json_t *seed = json_object_get(d, "seed");
    if (st == SM_OK && seed) {
        char *end;
        const char *sv = json_is_string(seed) ? json_string_value(seed) : "";
        unsigned long long x = strtoull(sv, &end, 16);
        if (!*sv || *end)
            st = sm_err(e, SM_ERR_FORMAT, "training state: data option \"seed\" must be a hexadecimal string");
        o->seed = (uint64_t)x;
    }
    json_t *labels = json_object_get(d, "labels");
    if (st == SM_OK && json_is_array(labels) && json_array_size(labels) > 0) {
        size_t k = json_array_size(labels);
        const char **names = calloc(k, sizeof *names);
        if (!names)
            st = sm_err(e, SM_ERR_NOMEM, "out of memory");
        for (size_t i = 0; names && i < k && st == SM_OK; i++)
            if (!(names[i] = json_string_value(json_array_get(labels, i))))
                st = sm_err(e, SM_ERR_FORMAT, "training state: label %zu is not a string", i);
        if (st == SM_OK)
            st = sm_data_opts_set_labels(o, names, (int)k, e);
        free(names);
    }
    json_decref(b);
    if (st != SM_OK) {
        sm_data_opts_free(o);
        return sm_err_prefix(e, "%s", dir);
    }
    o->no_header = (int)no_header;
    o->delimiter = (sm_delim)delim;
    o->quote = (sm_quote)quote;
    o->regression = (int)regression;
    o->limit = (size_t)limit;
    o->sample = (size_t)sample;
    o->skip_bad = (int)skip_bad;
    o->max_len = (int)max_len;
    return SM_OK;
}

sm_status sm_session_resume_checkpoint(sm_session *s, const char *dir, const char *train, const char *dev,
                                       sm_error *e)
{
    char saved[2][4200];
    sm_data_opts o[2];
    sm_status st = sm_session_checkpoint_data(dir, 0, saved[0], sizeof saved[0], &o[0], e);
    if (st != SM_OK)
        return st;
    sm_error de;
    int has_dev = sm_session_checkpoint_data(dir, 1, saved[1], sizeof saved[1], &o[1], &de) == SM_OK;
    if (!has_dev && de.status != SM_ERR_NOTFOUND) {
        sm_data_opts_free(&o[0]);
        *e = de;
        return de.status;
    }
    const char *path[2] = {train ? train : saved[0], dev ? dev : saved[1]};
    for (int w = 0; w < 2 && st == SM_OK; w++)
        if ((w == 0 || has_dev) && !sm_file_exists(path[w]))
            st = sm_err(e, SM_ERR_NOTFOUND, "%s: the checkpoint's %s set %s is missing (moved?): give its new "
                        "place (--%s FILE, or in the console `resume DIR TRAIN_FILE`)", dir,
                        w ? "dev" : "training", path[w], w ? "dev" : "train");
    if (st == SM_OK)
        st = sm_session_load_checkpoint(s, dir, e);
    if (st == SM_OK)
        st = sm_session_load_data(s, 0, path[0], &o[0], e);
    if (st == SM_OK && has_dev)
        st = sm_session_load_data(s, 1, path[1], &o[1], e);
    sm_data_opts_free(&o[0]);
    if (has_dev)
        sm_data_opts_free(&o[1]);
    return st;
}
