/* session_bert.c: the session backend that trains a BERT sequence classifier with SMART: a model
 * folder (hf.h), its tokenizer, train and dev sets with the data options (data.h), the batcher and
 * the trainer's step (smart.h), and their state as checkpoint data. It computes nothing itself. */
#include "smartty/session_bert.h"

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

typedef struct bert_ctx {
    char model_dir[4096];
    sm_bert *model;            /* NULL until a model is loaded */
    sm_bert_config cfg;        /* with the label names */
    int fresh_classifier;      /* the classifier was initialised, not loaded */
    uint64_t init_seed;        /* seed the fresh classifier was drawn with */
    sm_tokenizer *tok;
    sm_data_opts dopts[2];     /* train, dev */
    char path[2][4096];
    sm_dataset *ds[2];
    sm_batcher *batcher;
    sm_batch batch;
    sm_trainer tr;
    int tr_ready;
    sm_hparams hp;
    int computed;
    json_t *pending_pos;       /* a batcher position to restore once the batcher exists */
    char resume_dir[4200];     /* a checkpoint to restore once the training set is loaded */
} bert_ctx;

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

static sm_status bert_load_model(bert_ctx *c, const char *dir, sm_error *e)
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

static sm_status bert_load_data(bert_ctx *c, int which, const char *path, const sm_data_opts *o,
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
    if (c->tr_ready) {
        sm_trainer_free(&c->tr);
        c->tr_ready = 0;
    }
    sm_status st = apply_dropout(c, e);
    if (st != SM_OK)
        return st;
    if (sm_dataset_tokenized(c->ds[0]) && c->dopts[0].max_len != (int)hp->v[SM_HP_MAX_LEN]) {
        if ((st = tokenize(c, c->ds[0], e)) != SM_OK)
            return st;
        c->dopts[0].max_len = (int)hp->v[SM_HP_MAX_LEN];
        if (c->ds[1] && (st = tokenize(c, c->ds[1], e)) == SM_OK)
            c->dopts[1].max_len = (int)hp->v[SM_HP_MAX_LEN];
        if (st != SM_OK)
            return st;
    }
    sm_batcher_free(c->batcher);
    c->batcher = NULL;
    sm_batcher_opts bo = sm_batcher_default_opts();
    bo.batch_size = (int)hp->v[SM_HP_BATCH_SIZE];
    bo.seed = (uint64_t)hp->v[SM_HP_SEED];
    if ((st = sm_batcher_new(c->ds[0], &bo, sm_tokenizer_pad_id(c->tok), &c->batcher, e)) != SM_OK)
        return st;
    if ((st = sm_trainer_init(&c->tr, c->model, hp, bert_planned(c, hp), e)) != SM_OK)
        return st;
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

static sm_status bert_eval(void *ctx, sm_eval_record *ev, sm_error *e)
{
    bert_ctx *c = ctx;
    if (!c->ds[1])
        return sm_err(e, SM_ERR_STATE, "no dev set: `load dev FILE` (or --dev FILE) first");
    if (!c->tr_ready)
        return sm_err(e, SM_ERR_STATE, "the trainer is not ready");
    return sm_trainer_evaluate(&c->tr, c->ds[1], (int)c->hp.v[SM_HP_BATCH_SIZE],
                               sm_tokenizer_pad_id(c->tok), ev, e);
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

/* ---- session-level loads (on the thread that owns the state) ---- */

static bert_ctx *ctx_of(sm_session *s, sm_error *e)
{
    bert_ctx *c = sm_session_backend_ctx(s, bert_free);
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
    bert_ctx *c = sm_session_backend_ctx(s, bert_free);
    return c && (which == 0 || which == 1) ? c->ds[which] : NULL;
}

const sm_bert_config *sm_session_model_config(sm_session *s)
{
    bert_ctx *c = sm_session_backend_ctx(s, bert_free);
    return c && c->model ? &c->cfg : NULL;
}

const sm_tokenizer *sm_session_tokenizer(sm_session *s)
{
    bert_ctx *c = sm_session_backend_ctx(s, bert_free);
    return c ? c->tok : NULL;
}

struct sm_bert *sm_session_model(sm_session *s)
{
    bert_ctx *c = sm_session_backend_ctx(s, bert_free);
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
