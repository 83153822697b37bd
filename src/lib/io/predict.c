/* predict.c: inference with a trained classifier (see predict.h): the one classify call over a batch,
 * its forms over a data set and over one text, and loading a model folder for inference. It trains
 * nothing and prints nothing. */
#include "smartty/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/checkpoint.h"

void sm_classified_free(sm_classified *c)
{
    free(c->logits);
    free(c->probs);
    free(c->label);
    memset(c, 0, sizeof *c);
}

int sm_softmax(const float *logits, int C, double *probs)
{
    int best = 0;
    for (int k = 1; k < C; k++)
        if (logits[k] > logits[best])
            best = k;
    double mx = logits[best], z = 0;
    for (int k = 0; k < C; k++)
        z += exp((double)logits[k] - mx);
    for (int k = 0; k < C; k++)
        probs[k] = exp((double)logits[k] - mx) / z;
    return best;
}

static sm_status grow(sm_classified *out, size_t n, int C, sm_error *e)
{
    if (n <= out->cap && out->C == C)
        return SM_OK;
    float *lg = realloc(out->logits, n * (size_t)C * sizeof *lg);
    if (lg)
        out->logits = lg;
    double *pr = realloc(out->probs, n * (size_t)C * sizeof *pr);
    if (pr)
        out->probs = pr;
    int *lb = realloc(out->label, n * sizeof *lb);
    if (lb)
        out->label = lb;
    if (!lg || !pr || !lb)
        return sm_err(e, SM_ERR_NOMEM, "out of memory for %zu predictions", n);
    out->cap = n;
    out->C = C;
    return SM_OK;
}

/* The outputs of the last forward pass of a (k examples) into out's rows [at, at + k). */
static void take(const sm_bert *m, const sm_bert_acts *a, int k, size_t at, sm_classified *out)
{
    const sm_bert_config *c = sm_bert_config_get(m);
    int C = c->num_labels;
    const float *lg = sm_bert_acts_logits(a);
    memcpy(out->logits + at * (size_t)C, lg, (size_t)k * (size_t)C * sizeof *lg);
    for (int i = 0; i < k; i++) {
        size_t r = at + (size_t)i;
        if (c->problem == SM_PROBLEM_REGRESSION) {
            out->probs[r * (size_t)C] = lg[(size_t)i * (size_t)C];
            out->label[r] = -1;
        } else {
            out->label[r] = sm_softmax(lg + (size_t)i * (size_t)C, C, out->probs + r * (size_t)C);
        }
    }
}

sm_status sm_classify(const sm_bert *m, sm_bert_acts *a, const sm_batch *b, sm_classified *out,
                      sm_error *e)
{
    int C = sm_bert_config_get(m)->num_labels;
    sm_status st = grow(out, (size_t)b->B, C, e);
    if (st == SM_OK)
        st = sm_bert_forward(m, sm_bert_weights_const(m), a, b, SM_BERT_EVAL, NULL, e);
    if (st == SM_OK)
        st = sm_bert_check_outputs(m, a, b->B, e); /* a diverged model's NaN is refused, never printed */
    if (st != SM_OK)
        return st;
    take(m, a, b->B, 0, out);
    out->B = b->B;
    return SM_OK;
}

sm_status sm_classify_dataset(const sm_bert *m, const sm_dataset *ds, int32_t pad_id, int batch,
                              sm_classified *out, sm_error *e)
{
    size_t n = sm_dataset_size(ds);
    int C = sm_bert_config_get(m)->num_labels;
    out->B = 0;
    if (n == 0)
        return SM_OK;
    int B = (size_t)batch < n ? batch : (int)n;
    int T = 1;
    for (size_t i = 0; i < n; i++) {
        int32_t len = sm_dataset_tokens(ds, i, NULL, NULL);
        if (len > T)
            T = len;
    }
    sm_status st = grow(out, n, C, e);
    if (st != SM_OK)
        return st;
    sm_bert_acts *a = NULL;
    sm_batch b;
    memset(&b, 0, sizeof b);
    sm_classified one;
    memset(&one, 0, sizeof one);
    uint32_t *rows = sm_calloc((size_t)B, sizeof *rows, e, "row list");
    if (!rows)
        return SM_ERR_NOMEM;
    st = sm_bert_acts_create(&a, m, B, T, 0, e);
    for (size_t start = 0; st == SM_OK && start < n; start += (size_t)B) {
        int k = n - start < (size_t)B ? (int)(n - start) : B;
        for (int i = 0; i < k; i++)
            rows[i] = (uint32_t)(start + (size_t)i);
        if ((st = sm_batch_fill(&b, ds, rows, k, pad_id, e)) != SM_OK)
            break;
        if ((st = sm_bert_forward(m, sm_bert_weights_const(m), a, &b, SM_BERT_EVAL, NULL, e)) != SM_OK ||
            (st = sm_bert_check_outputs(m, a, k, e)) != SM_OK) {
            sm_err_prefix(e, "%s: rows %zu to %zu", sm_dataset_report(ds)->path, start + 1, start + (size_t)k);
            break;
        }
        take(m, a, k, start, out);
    }
    if (st == SM_OK)
        out->B = (int)n;
    sm_batch_free(&b);
    sm_bert_acts_free(a);
    free(rows);
    return st;
}

sm_status sm_classify_text(const sm_bert *m, const sm_tokenizer *tok, const char *a, const char *b,
                           int max_len, sm_classified *out, sm_error *e)
{
    const sm_bert_config *cfg = sm_bert_config_get(m);
    if (max_len <= 0 || max_len > cfg->max_position)
        max_len = cfg->max_position;
    sm_ids ids = {0}, types = {0};
    sm_status st = sm_tokenizer_encode_pair(tok, a, b, max_len, &ids, &types, e);
    sm_bert_acts *acts = NULL;
    int T = (int)ids.n;
    float *mask = NULL;
    int32_t len = T;
    if (st == SM_OK && !(mask = sm_alloc_floats((size_t)(T ? T : 1), e, "mask")))
        st = SM_ERR_NOMEM;
    if (st == SM_OK)
        st = sm_bert_acts_create(&acts, m, 1, T, 0, e);
    if (st == SM_OK) {
        for (int t = 0; t < T; t++)
            mask[t] = 1.0f;
        sm_batch bt;
        memset(&bt, 0, sizeof bt);
        bt.B = 1;
        bt.T = T;
        bt.ids = ids.v;
        bt.types = types.v;
        bt.mask = mask;
        bt.lengths = &len;
        st = sm_classify(m, acts, &bt, out, e);
    }
    free(mask);
    sm_bert_acts_free(acts);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    return st;
}

sm_status sm_predictor_load(sm_predictor *p, const char *dir, sm_error *e)
{
    memset(p, 0, sizeof *p);
    sm_config_default(&p->cfg);
    if (sm_checkpoint_resolve(dir, p->dir, sizeof p->dir) == SM_CKPT_NONE)
        snprintf(p->dir, sizeof p->dir, "%s", dir); /* the loader says what is wrong with it */
    sm_status st = sm_hf_load(p->dir, NULL, &p->model, &p->cfg, &p->info, e);
    if (st == SM_OK)
        st = sm_tokenizer_load(p->dir, -1, &p->tok, e);
    if (st != SM_OK)
        sm_predictor_free(p);
    return st;
}

void sm_predictor_free(sm_predictor *p)
{
    sm_tokenizer_free(p->tok);
    sm_bert_free(p->model);
    sm_config_free(&p->cfg);
    memset(p, 0, sizeof *p);
}

sm_status sm_predictor_data_opts(const sm_predictor *p, sm_data_opts *o, sm_error *e)
{
    if (p->cfg.problem == SM_PROBLEM_REGRESSION) {
        o->regression = 1;
        return SM_OK;
    }
    if (o->n_labels > 0 || o->regression || p->info.fresh_classifier || !p->cfg.id2label)
        return SM_OK;
    return sm_data_opts_set_labels(o, (const char *const *)p->cfg.id2label, p->cfg.num_labels, e);
}

sm_status sm_predictor_dataset(const sm_predictor *p, const char *path, const sm_data_opts *o,
                               sm_dataset **out, sm_error *e)
{
    *out = NULL;
    sm_dataset *ds = NULL;
    sm_status st = sm_dataset_load(path, o, &ds, e);
    int max_len = o->max_len < p->cfg.max_position ? o->max_len : p->cfg.max_position;
    if (st == SM_OK && sm_dataset_size(ds) > 0)
        st = sm_dataset_tokenize(ds, p->tok, max_len, e);
    if (st != SM_OK) {
        sm_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SM_OK;
}

const char *sm_predictor_label(const sm_predictor *p, int k, char *buf, size_t cap)
{
    return sm_config_label(&p->cfg, k, buf, cap);
}
