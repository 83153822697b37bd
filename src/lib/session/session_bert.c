/* session_bert.c: the session backend that trains a BERT sequence classifier with SMART: a model
 * folder (hf.h), its tokenizer, train and dev sets with the data options (data.h), the batcher and
 * the trainer's step (smart.h), and their state as checkpoint data. It computes nothing itself; the
 * session-level loads, resumes and replay that drive it are session_bert_load.c's. */
#include "smartty/session_bert.h"
#include "lib/session/session_bert_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/checkpoint.h"
#include "smartty/data.h"
#include "smartty/hf.h"
#include "smartty/metrics.h"
#include "smartty/model.h"
#include "smartty/smart.h"
#include "smartty/str.h"
#include "smartty/tokenizer.h"

/* ---- loading ---- */

static const char *const *label_names(const bert_ctx *c)
{
    return (const char *const *)c->cfg.id2label;
}

static sm_status load_model_files(bert_ctx *c, const char *dir, int num_labels,
                                  const char *const *labels, uint64_t seed, sm_error *e)
{
    sm_hf_load_opts o;
    sm_hf_load_opts_default(&o);
    o.quiet = dir == c->model_dir; /* a reload (a classifier of the data's size): notices were given */
    o.num_labels = num_labels;
    o.labels = labels;
    o.init_seed = seed;
    o.with_grads = 1;
    sm_bert *m = NULL;
    sm_bert_config cfg;
    sm_hf_info info;
    sm_config_default(&cfg);
    sm_status st = sm_hf_load(dir, &o, &m, &cfg, &info, e);
    if (st != SM_OK) {
        sm_config_free(&cfg);
        return st;
    }
    if (c->tr_ready) {
        sm_trainer_free(&c->tr);
        c->tr_ready = 0;
    }
    sm_bert_free(c->model);
    sm_config_free(&c->cfg);
    c->model = m;
    c->cfg = cfg;
    c->fresh_classifier = info.fresh_classifier;
    c->init_seed = seed;
    if (dir != c->model_dir)
        snprintf(c->model_dir, sizeof c->model_dir, "%s", dir);
    return SM_OK;
}

sm_status bert_load_model(bert_ctx *c, const char *dir, sm_error *e)
{
    char real[4200];
    sm_ckpt_kind kind = sm_checkpoint_resolve(dir, real, sizeof real);
    if (kind == SM_CKPT_NONE)
        return sm_err(e, SM_ERR_NOTFOUND, "%s: not a model folder (no config.json)", dir);
    sm_tokenizer *tok;
    sm_status st = sm_tokenizer_load(real, -1, &tok, e);
    if (st != SM_OK)
        return st;
    if ((st = load_model_files(c, real, 0, NULL, (uint64_t)c->hp.v[SM_HP_SEED], e)) != SM_OK) {
        sm_tokenizer_free(tok);
        return st;
    }
    sm_tokenizer_free(c->tok);
    c->tok = tok;
    return SM_OK;
}

/* Tokenize a dataset with the hyperparameters' max_len. */
static sm_status tokenize(bert_ctx *c, sm_dataset *ds, sm_error *e)
{
    return sm_dataset_tokenize(ds, c->tok, (int)c->hp.v[SM_HP_MAX_LEN], e);
}

sm_status bert_load_data(bert_ctx *c, int which, const char *path, const sm_data_opts *o,
                         sm_error *e)
{
    if (!c->model)
        return sm_err(e, SM_ERR_STATE, "load a model before data (its tokenizer reads the text)");
    sm_data_opts opts;
    sm_data_opts_init(&opts);
    sm_status st = sm_data_opts_copy(&opts, o, e);
    if (st != SM_OK)
        return st;
    /* The dev set reads the training set's columns unless given (the same task, the same file layout) */
    if (which == 1 && c->ds[0]) {
        const sm_data_opts *tr = &c->dopts[0];
        if (!opts.text_col[0])
            snprintf(opts.text_col, sizeof opts.text_col, "%s", tr->text_col);
        if (!opts.pair_col[0])
            snprintf(opts.pair_col, sizeof opts.pair_col, "%s", tr->pair_col);
        if (!opts.label_col[0])
            snprintf(opts.label_col, sizeof opts.label_col, "%s", tr->label_col);
        if (!opts.regression)
            opts.regression = tr->regression;
    }
    /* A trained classifier fixes the label mapping; so does the training set for the dev set. */
    if (opts.n_labels == 0 && !opts.regression) {
        if (!c->fresh_classifier && c->cfg.problem != SM_PROBLEM_REGRESSION)
            st = sm_data_opts_set_labels(&opts, label_names(c), c->cfg.num_labels, e);
        else if (which == 1 && c->ds[0] && sm_dataset_num_labels(c->ds[0]) > 0) {
            int k = sm_dataset_num_labels(c->ds[0]);
            const char **names = calloc((size_t)k, sizeof *names);
            if (!names)
                st = sm_err(e, SM_ERR_NOMEM, "out of memory");
            for (int i = 0; names && i < k; i++)
                names[i] = sm_dataset_label_name(c->ds[0], i);
            if (names)
                st = sm_data_opts_set_labels(&opts, names, k, e);
            free(names);
        }
    }
    sm_dataset *ds = NULL;
    if (st == SM_OK)
        st = sm_dataset_load(path, &opts, &ds, e);
    if (st == SM_OK)
        st = tokenize(c, ds, e);
    opts.max_len = (int)c->hp.v[SM_HP_MAX_LEN]; /* what the texts were tokenized with */
    if (st != SM_OK) {
        sm_dataset_free(ds);
        sm_data_opts_free(&opts);
        return st;
    }
    if (which == 0) {
        sm_batcher_free(c->batcher);
        c->batcher = NULL;
        if (c->tr_ready) {
            sm_trainer_free(&c->tr);
            c->tr_ready = 0;
        }
    }
    sm_dataset_free(c->ds[which]);
    c->ds[which] = ds;
    sm_data_opts_free(&c->dopts[which]);
    c->dopts[which] = opts;
    snprintf(c->path[which], sizeof c->path[which], "%s", path);
    return SM_OK;
}

/* ---- the backend's functions ---- */

static int64_t bert_planned(void *ctx, const sm_hparams *hp)
{
    bert_ctx *c = ctx;
    if (hp->v[SM_HP_MAX_STEPS] > 0)
        return (int64_t)hp->v[SM_HP_MAX_STEPS];
    if (!c->ds[0])
        return 0;
    int64_t n = (int64_t)sm_dataset_size(c->ds[0]), b = (int64_t)hp->v[SM_HP_BATCH_SIZE];
    return (int64_t)hp->v[SM_HP_EPOCHS] * ((n + b - 1) / b);
}

static int64_t bert_epoch_steps(void *ctx, const sm_hparams *hp)
{
    bert_ctx *c = ctx;
    if (!c->ds[0])
        return 0;
    int64_t n = (int64_t)sm_dataset_size(c->ds[0]), b = (int64_t)hp->v[SM_HP_BATCH_SIZE];
    return (n + b - 1) / b;
}

/* A counter of the training state (the trainer's steps, the data position): absent is 0; otherwise
 * an integer from 0 to 2^53 (a damaged value would overflow a step counter, turn Adam's bias
 * correction negative, or be cut to another value by a narrower type). */
static sm_status state_count(json_t *t, const char *what, const char *key, int64_t *out, sm_error *e)
{
    json_t *v = json_object_get(t, key);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
              json_integer_value(v) > (json_int_t)1 << 53))
        return sm_err(e, SM_ERR_FORMAT, "training state: %s \"%s\" must be an integer from 0 to 2^53", what,
                      key);
    *out = v ? (int64_t)json_integer_value(v) : 0;
    return SM_OK;
}

static sm_status restore_position(bert_ctx *c, sm_error *e);

/* The model's dropout follows the hyperparameter: a model of the same shape with the new rates
 * takes over the weights (the arenas have one layout). */
static sm_status apply_dropout(bert_ctx *c, sm_error *e)
{
    float p = (float)c->hp.v[SM_HP_DROPOUT];
    const sm_bert_config *mc = sm_bert_config_get(c->model);
    if (mc->hidden_dropout == p && mc->attn_dropout == p && mc->classifier_dropout == p)
        return SM_OK;
    sm_bert_config cfg = *mc;
    cfg.id2label = NULL;
    cfg.hidden_dropout = cfg.attn_dropout = cfg.classifier_dropout = p;
    sm_bert *m;
    sm_status st = sm_bert_create(&m, &cfg, 1, e);
    if (st != SM_OK)
        return st;
    memcpy(sm_bert_weights(m), sm_bert_weights_const(c->model), sm_bert_numel(m) * sizeof(float));
    if (c->tr_ready) { /* bound to the model that goes */
        sm_trainer_free(&c->tr);
        c->tr_ready = 0;
    }
    sm_bert_free(c->model);
    c->model = m;
    c->cfg.hidden_dropout = c->cfg.attn_dropout = c->cfg.classifier_dropout = p;
    return SM_OK;
}

static sm_status bert_prepare(void *ctx, const sm_hparams *hp, sm_error *e)
{
    bert_ctx *c = ctx;
    c->hp = *hp;
    if (!c->model)
        return sm_err(e, SM_ERR_STATE, "no model loaded: `load model DIR` (or --model DIR) first");
    if (!c->ds[0])
        return sm_err(e, SM_ERR_STATE, "no training data: `load train FILE` (or --train FILE) first");
    if (!sm_dataset_is_regression(c->ds[0]) && sm_dataset_num_labels(c->ds[0]) == 1)
        return sm_err(e, SM_ERR_INVALID, "%s: every row has the class '%s': the data has a single class, and "
                      "a classifier needs two or more (give data with more classes, name them all with "
                      "--labels, or pass --regression for a float target)", c->path[0],
                      sm_dataset_label_name(c->ds[0], 0));
    if (sm_dataset_is_regression(c->ds[0]) != (c->cfg.problem == SM_PROBLEM_REGRESSION) ||
        (!sm_dataset_is_regression(c->ds[0]) && sm_dataset_num_labels(c->ds[0]) != c->cfg.num_labels) ||
        (c->fresh_classifier && c->init_seed != (uint64_t)hp->v[SM_HP_SEED])) {
        /* A fresh classifier takes its size, names and seed from the training set and the run. */
        int k = sm_dataset_is_regression(c->ds[0]) ? 1 : sm_dataset_num_labels(c->ds[0]);
        if (!c->fresh_classifier)
            return sm_err(e, SM_ERR_INVALID,
                          "%s: the model's trained classifier has %d label(s) but the training set "
                          "has %d: pass --labels with the model's labels, or start from a model "
                          "without a classifier", c->path[0], c->cfg.num_labels, k);
        const char **names = calloc((size_t)k, sizeof *names);
        if (!names)
            return sm_err(e, SM_ERR_NOMEM, "out of memory");
        for (int i = 0; i < k && k > 1; i++)
            names[i] = sm_dataset_label_name(c->ds[0], i);
        sm_status st = load_model_files(c, c->model_dir, k, k > 1 ? names : NULL,
                                        (uint64_t)hp->v[SM_HP_SEED], e);
        free(names);
        if (st != SM_OK)
            return st;
    }
    if (c->fresh_classifier && !sm_dataset_is_regression(c->ds[0])) {
        /* the fresh classifier's classes are the training set's, by name */
        int k = sm_dataset_num_labels(c->ds[0]);
        const char **names = calloc((size_t)k, sizeof *names);
        if (!names)
            return sm_err(e, SM_ERR_NOMEM, "out of memory");
        for (int i = 0; i < k; i++)
            names[i] = sm_dataset_label_name(c->ds[0], i);
        sm_status st = sm_config_set_labels(&c->cfg, k, names, e);
        free(names);
        if (st != SM_OK)
            return st;
    }
    c->fresh_classifier = 0; /* from now on the classifier is trained: its labels are fixed */
    /* A trainer still bound to this model is made again in place (sm_trainer_reinit: the same
     * numbers as a fresh one, without fresh arenas); a new model (load, labels, dropout) frees it. */
    sm_status st = apply_dropout(c, e);
    if (st == SM_OK && sm_dataset_tokenized(c->ds[0]) && c->dopts[0].max_len != (int)hp->v[SM_HP_MAX_LEN]) {
        if ((st = tokenize(c, c->ds[0], e)) == SM_OK) {
            c->dopts[0].max_len = (int)hp->v[SM_HP_MAX_LEN];
            if (c->ds[1] && (st = tokenize(c, c->ds[1], e)) == SM_OK)
                c->dopts[1].max_len = (int)hp->v[SM_HP_MAX_LEN];
        }
    }
    sm_batcher_free(c->batcher);
    c->batcher = NULL;
    if (st != SM_OK) {
        if (c->tr_ready) {
            sm_trainer_free(&c->tr);
            c->tr_ready = 0;
        }
        return st;
    }
    sm_batcher_opts bo = sm_batcher_default_opts();
    bo.batch_size = (int)hp->v[SM_HP_BATCH_SIZE];
    bo.seed = (uint64_t)hp->v[SM_HP_SEED];
    if ((st = sm_batcher_new(c->ds[0], &bo, sm_tokenizer_pad_id(c->tok), &c->batcher, e)) == SM_OK)
        st = c->tr_ready ? sm_trainer_reinit(&c->tr, hp, bert_planned(c, hp), e)
                         : sm_trainer_init(&c->tr, c->model, hp, bert_planned(c, hp), e);
    if (st != SM_OK) {
        if (c->tr_ready)
            sm_trainer_free(&c->tr); /* reinit frees it on failure; free twice is harmless */
        c->tr_ready = 0;
        return st;
    }
    c->tr_ready = 1;
    c->computed = 0;
    return restore_position(c, e);
}

static sm_status bert_set_hparams(void *ctx, const sm_hparams *hp, sm_error *e)
{
    bert_ctx *c = ctx;
    c->hp = *hp;
    if (!c->tr_ready)
        return SM_OK;
    sm_trainer_set_planned(&c->tr, bert_planned(c, hp));
    return sm_trainer_set_hparams(&c->tr, hp, e);
}

static sm_status bert_compute(void *ctx, sm_step_record *rec, int *epoch_end, sm_error *e)
{
    bert_ctx *c = ctx;
    sm_batch_pos pos;
    sm_batcher_position(c->batcher, &pos);
    sm_status st = sm_batcher_next(c->batcher, &c->batch, epoch_end, e);
    if (st == SM_OK)
        st = sm_trainer_compute(&c->tr, &c->batch, (int)pos.epoch, rec, e);
    c->computed = st == SM_OK;
    return st;
}

static sm_status bert_apply(void *ctx, sm_step_record *rec, sm_error *e)
{
    bert_ctx *c = ctx;
    c->computed = 0;
    return sm_trainer_apply(&c->tr, rec, e);
}

/* A discarded update counts as a skipped one: the trainer's step (and so its schedule and random
 * streams) moves on exactly as after a non-finite update. */
static void bert_discard(void *ctx)
{
    bert_ctx *c = ctx;
    if (!c->computed)
        return;
    sm_trainer_cancel(&c->tr);
    c->tr.st.step++;
    c->tr.st.skipped++;
    c->computed = 0;
}

static sm_status bert_eval(void *ctx, sm_eval_record *ev, const sm_progress *progress, sm_error *e)
{
    bert_ctx *c = ctx;
    if (!c->ds[1])
        return sm_err(e, SM_ERR_STATE, "no dev set: `load dev FILE` (or --dev FILE) first");
    if (!c->tr_ready)
        return sm_err(e, SM_ERR_STATE, "the trainer is not ready");
    return sm_trainer_evaluate(&c->tr, c->ds[1], (int)c->hp.v[SM_HP_BATCH_SIZE],
                               sm_tokenizer_pad_id(c->tok), progress, ev, e);
}

static size_t bert_tensor_count(void *ctx)
{
    bert_ctx *c = ctx;
    if (!c->model)
        return 0;
    return c->tr_ready ? (c->tr.teacher ? 4 : 3) : 1;
}

static void bert_tensor_at(void *ctx, size_t i, sm_state_tensor *out)
{
    bert_ctx *c = ctx;
    size_t n = sm_bert_numel(c->model);
    out->n = n;
    out->in_model = i == 0;
    switch (i) {
    case 0: out->name = "weights"; out->data = sm_bert_weights(c->model); break;
    case 1: out->name = "adam_m"; out->data = c->tr.opt.m; break;
    case 2: out->name = "adam_v"; out->data = c->tr.opt.v; break;
    default: out->name = "teacher"; out->data = c->tr.teacher; break;
    }
}

static json_t *u64_json(uint64_t x)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, x);
    return json_string(buf);
}

static json_t *rng_json(const sm_rng *r)
{
    json_t *o = json_object(), *s = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(s, u64_json(r->s[i]));
    json_object_set_new(o, "s", s);
    json_object_set_new(o, "spare", json_real(r->spare));
    json_object_set_new(o, "has_spare", json_integer(r->has_spare));
    return o;
}

#define RNG_FORMAT                                                                                       \
    "a generator's state is \"s\": 4 strings of 16 hex digits (not all zero), a finite \"spare\" and "     \
    "\"has_spare\" 0 or 1; the checkpoint is damaged: use another or start afresh"

static int rng_from_json(const json_t *o, sm_rng *r)
{
    json_t *s = json_object_get(o, "s");
    if (json_array_size(s) != 4 || !json_is_number(json_object_get(o, "spare")))
        return -1;
    uint64_t any = 0;
    for (int i = 0; i < 4; i++) {
        /* 16 hex digits, as written */
        const char *t = json_string_value(json_array_get(s, (size_t)i));
        if (!t || strlen(t) != 16 || strspn(t, "0123456789abcdefABCDEF") != 16)
            return -1;
        r->s[i] = strtoull(t, NULL, 16);
        any |= r->s[i];
    }
    if (!any) /* xoshiro's one state that never leaves zero */
        return -1;
    const json_t *hs = json_object_get(o, "has_spare");
    r->spare = json_number_value(json_object_get(o, "spare"));
    if (!isfinite(r->spare) || !json_is_integer(hs) || json_integer_value(hs) < 0 || json_integer_value(hs) > 1)
        return -1;
    r->has_spare = (int)json_integer_value(hs);
    return 0;
}

static json_t *data_json(const bert_ctx *c, int which)
{
    const sm_data_opts *o = &c->dopts[which];
    json_t *d = json_object(), *labels = json_array();
    for (int i = 0; i < o->n_labels; i++)
        json_array_append_new(labels, json_string(o->labels[i]));
    char *abs = realpath(c->path[which], NULL); /* resumable from any working folder */
    json_object_set_new(d, "path", json_string(abs ? abs : c->path[which]));
    free(abs);
    json_object_set_new(d, "text", json_string(o->text_col));
    json_object_set_new(d, "pair", json_string(o->pair_col));
    json_object_set_new(d, "label", json_string(o->label_col));
    json_object_set_new(d, "no_header", json_integer(o->no_header));
    json_object_set_new(d, "delimiter", json_integer(o->delimiter));
    json_object_set_new(d, "quote", json_integer(o->quote));
    json_object_set_new(d, "labels", labels);
    json_object_set_new(d, "regression", json_integer(o->regression));
    json_object_set_new(d, "limit", json_integer((json_int_t)o->limit));
    json_object_set_new(d, "sample", json_integer((json_int_t)o->sample));
    json_object_set_new(d, "seed", u64_json(o->seed));
    json_object_set_new(d, "skip_bad", json_integer(o->skip_bad));
    json_object_set_new(d, "max_len", json_integer(o->max_len));
    if (c->ds[which])
        json_object_set_new(d, "rows", json_integer((json_int_t)sm_dataset_size(c->ds[which])));
    return d;
}

static char *bert_state_to_json(void *ctx)
{
    bert_ctx *c = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(c->model_dir));
    if (c->tr_ready) {
        json_t *t = json_object();
        json_object_set_new(t, "step", json_integer((json_int_t)c->tr.st.step));
        json_object_set_new(t, "planned", json_integer((json_int_t)c->tr.st.planned));
        json_object_set_new(t, "skipped", json_integer((json_int_t)c->tr.st.skipped));
        json_object_set_new(t, "rs_skipped", json_integer((json_int_t)c->tr.st.rs_skipped));
        json_object_set_new(t, "rng", rng_json(&c->tr.st.rng));
        json_object_set_new(t, "optimizer_steps", json_integer((json_int_t)c->tr.opt.t));
        json_object_set_new(t, "teacher", json_boolean(c->tr.teacher != NULL));
        json_object_set_new(o, "trainer", t);
    }
    if (c->batcher) {
        sm_batch_pos p;
        sm_batcher_position(c->batcher, &p);
        json_t *b = json_object();
        json_object_set_new(b, "epoch", json_integer((json_int_t)p.epoch));
        json_object_set_new(b, "index", json_integer((json_int_t)p.index));
        json_object_set_new(b, "rng", rng_json(&p.rng));
        json_object_set_new(b, "n_rows", json_integer((json_int_t)p.n_rows));
        json_object_set_new(b, "batch_size", json_integer((json_int_t)p.batch_size));
        json_object_set_new(o, "data_position", b);
    }
    if (c->ds[0])
        json_object_set_new(o, "train", data_json(c, 0));
    if (c->ds[1])
        json_object_set_new(o, "dev", data_json(c, 1));
    json_t *labels = json_array();
    for (int i = 0; c->model && i < c->cfg.num_labels && c->cfg.id2label; i++)
        json_array_append_new(labels, json_string(c->cfg.id2label[i]));
    json_object_set_new(o, "id2label", labels);
    json_t *tk = json_object();
    if (c->tok) {
        json_object_set_new(tk, "do_lower_case", json_boolean(sm_tokenizer_lower_case(c->tok)));
        json_object_set_new(tk, "vocab_size", json_integer((json_int_t)sm_tokenizer_vocab_size(c->tok)));
    }
    json_object_set_new(tk, "max_len", json_integer((json_int_t)c->hp.v[SM_HP_MAX_LEN]));
    json_object_set_new(o, "tokenizer", tk);
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

static sm_status restore_position(bert_ctx *c, sm_error *e)
{
    if (!c->pending_pos || !c->batcher)
        return SM_OK;
    json_t *b = c->pending_pos;
    sm_batch_pos p;
    memset(&p, 0, sizeof p);
    int64_t n[4];
    sm_status st;
    if ((st = state_count(b, "data_position", "epoch", &n[0], e)) != SM_OK ||
        (st = state_count(b, "data_position", "index", &n[1], e)) != SM_OK ||
        (st = state_count(b, "data_position", "n_rows", &n[2], e)) != SM_OK ||
        (st = state_count(b, "data_position", "batch_size", &n[3], e)) != SM_OK)
        return st;
    if (n[3] > UINT32_MAX)
        return sm_err(e, SM_ERR_FORMAT, "training state: data_position \"batch_size\" %lld is too large",
                      (long long)n[3]);
    p.epoch = (uint64_t)n[0];
    p.index = (uint64_t)n[1];
    p.n_rows = (uint64_t)n[2];
    p.batch_size = (uint32_t)n[3];
    if (rng_from_json(json_object_get(b, "rng"), &p.rng) != 0)
        return sm_err(e, SM_ERR_FORMAT, "training state: data_position.rng: %s", RNG_FORMAT);
    st = sm_batcher_restore(c->batcher, &p, e);
    if (st == SM_OK) {
        json_decref(c->pending_pos);
        c->pending_pos = NULL;
    }
    return st;
}

static sm_status bert_state_from_json(void *ctx, const char *text, sm_error *e)
{
    bert_ctx *c = ctx;
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "training state: %s", je.text);
    sm_status st = SM_OK;
    json_t *t = json_object_get(o, "trainer"), *b = json_object_get(o, "data_position");
    int64_t n[5];
    if (json_is_object(t)) {
        if (!c->tr_ready) {
            st = sm_err(e, SM_ERR_STATE, "training state: the trainer is not ready");
        } else if ((st = state_count(t, "trainer", "step", &n[0], e)) != SM_OK ||
                   (st = state_count(t, "trainer", "planned", &n[1], e)) != SM_OK ||
                   (st = state_count(t, "trainer", "skipped", &n[2], e)) != SM_OK ||
                   (st = state_count(t, "trainer", "rs_skipped", &n[3], e)) != SM_OK ||
                   (st = state_count(t, "trainer", "optimizer_steps", &n[4], e)) != SM_OK) {
            /* st and e are set */
        } else if (rng_from_json(json_object_get(t, "rng"), &c->tr.st.rng) != 0) {
            st = sm_err(e, SM_ERR_FORMAT, "training state: trainer.rng: %s", RNG_FORMAT);
        } else {
            c->tr.st.step = n[0];
            c->tr.st.planned = n[1];
            c->tr.st.skipped = n[2];
            c->tr.st.rs_skipped = n[3];
            c->tr.opt.t = n[4];
            if (json_is_true(json_object_get(t, "teacher")))
                st = sm_trainer_teacher_alloc(&c->tr, e);
            c->tr.phase = SM_PHASE_IDLE;
            c->computed = 0;
        }
    }
    if (st == SM_OK && json_is_object(b)) {
        json_decref(c->pending_pos);
        c->pending_pos = json_incref(b);
        st = restore_position(c, e);
    }
    json_decref(o);
    return st;
}

static sm_status bert_save_model(void *ctx, const char *dir, sm_error *e)
{
    bert_ctx *c = ctx;
    if (!c->model)
        return sm_err(e, SM_ERR_STATE, "no model to save");
    return sm_hf_save(dir, c->model, &c->cfg, c->tok, e);
}

static void bert_free(void *ctx)
{
    bert_ctx *c = ctx;
    if (c->tr_ready)
        sm_trainer_free(&c->tr);
    sm_batcher_free(c->batcher);
    sm_batch_free(&c->batch);
    for (int i = 0; i < 2; i++) {
        sm_dataset_free(c->ds[i]);
        sm_data_opts_free(&c->dopts[i]);
    }
    sm_tokenizer_free(c->tok);
    sm_bert_free(c->model);
    sm_config_free(&c->cfg);
    json_decref(c->pending_pos);
    free(c);
}

sm_status sm_bert_backend_new(sm_session_backend *be, sm_error *e)
{
    bert_ctx *c = sm_calloc(1, sizeof *c, e, "session backend");
    if (!c)
        return SM_ERR_NOMEM;
    sm_config_default(&c->cfg);
    sm_data_opts_init(&c->dopts[0]);
    sm_data_opts_init(&c->dopts[1]);
    sm_hparams_default(&c->hp);
    memset(be, 0, sizeof *be);
    be->ctx = c;
    be->prepare = bert_prepare;
    be->set_hparams = bert_set_hparams;
    be->planned_steps = bert_planned;
    be->epoch_steps = bert_epoch_steps;
    be->compute = bert_compute;
    be->apply = bert_apply;
    be->discard = bert_discard;
    be->eval = bert_eval;
    be->tensor_count = bert_tensor_count;
    be->tensor_at = bert_tensor_at;
    be->state_to_json = bert_state_to_json;
    be->state_from_json = bert_state_from_json;
    be->save_model = bert_save_model;
    be->free = bert_free;
    return SM_OK;
}

bert_ctx *bert_ctx_of(sm_session *s)
{
    return sm_session_backend_ctx(s, bert_free);
}
