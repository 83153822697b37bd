/* model.c: the encoder's parameter arena and tensor table (transformers' names, shapes, offsets,
 * weight-decay flags) for each family (BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA: one table of names
 * and flags, one engine), and transformers-style random initialisation. The forward and backward
 * passes are in model_pass.c; loading checkpoints is hf.c's job.
 *
 * Arena layout: every tensor packed in table order in one float array, so that the gradients, the
 * Adam moments and a mean teacher are arenas of the same size and an optimizer can run over all
 * parameters as one flat vector. Within a layer the query, key and value weights are adjacent
 * ([3H, H] as one block) and so are their biases, so that one sgemm computes all three projections. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/model_internal.h"

#define NAME_CAP 80 /* longest name: "bert.encoder.layer.NNNNN.attention.output.LayerNorm.weight" */

#define BERT_LAYER "attention.self.query", "attention.self.key", "attention.self.value", \
    "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"
static const sm_family_desc family_descs[SM_FAMILY_COUNT] = {
    [SM_FAMILY_BERT] = {"BERT", "bert", "encoder.layer", BERT_LAYER, "bert.pooler.dense", "classifier",
                        SM_HEAD_TANH, 0, 1, 0, 1},
    [SM_FAMILY_ROBERTA] = {"RoBERTa", "roberta", "encoder.layer", BERT_LAYER, "classifier.dense",
                           "classifier.out_proj", SM_HEAD_TANH, 1, 1, 1, 1},
    [SM_FAMILY_XLM_ROBERTA] = {"XLM-RoBERTa", "roberta", "encoder.layer", BERT_LAYER, "classifier.dense",
                               "classifier.out_proj", SM_HEAD_TANH, 1, 1, 1, 1},
    [SM_FAMILY_DISTILBERT] = {"DistilBERT", "distilbert", "transformer.layer", "attention.q_lin",
                              "attention.k_lin", "attention.v_lin", "attention.out_lin", "sa_layer_norm",
                              "ffn.lin1", "ffn.lin2", "output_layer_norm", "pre_classifier", "classifier",
                              SM_HEAD_RELU, 0, 0, 0, 0},
    [SM_FAMILY_ELECTRA] = {"ELECTRA", "electra", "encoder.layer", BERT_LAYER, "classifier.dense",
                           "classifier.out_proj", SM_HEAD_GELU, 1, 1, 0, 1},
};

typedef struct table_builder {
    sm_bert *m;
    size_t off;
} table_builder;

static size_t add_tensor(table_builder *tb, const char *name, int rows, int cols, sm_tensor_kind kind)
{
    sm_bert *m = tb->m;
    sm_tensor_info *t = &m->tensors[m->ntensors];
    char *slot = m->names + (size_t)m->ntensors * NAME_CAP;
    snprintf(slot, NAME_CAP, "%s", name);
    t->name = slot;
    t->ndim = cols > 0 ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols > 0 ? cols : 1;
    t->numel = (size_t)rows * (size_t)t->shape[1];
    t->offset = tb->off;
    t->kind = kind;
    t->decay = kind == SM_TENSOR_LINEAR_WEIGHT || kind == SM_TENSOR_EMBEDDING;
    tb->off += t->numel;
    m->ntensors++;
    return t->offset;
}

const sm_family_desc *sm_bert_family_desc(sm_family f)
{
    return &family_descs[f >= 0 && f < SM_FAMILY_COUNT ? f : SM_FAMILY_BERT];
}

const char *sm_bert_family_display(const sm_bert *m) { return m->fam->display; }
const char *sm_bert_base_prefix(const sm_bert *m) { return m->fam->prefix; }

int sm_bert_tensor_is_head(const sm_bert *m, int i)
{
    const sm_tensor_info *t = sm_bert_tensor(m, i);
    if (!t)
        return 0;
    if (t->offset == m->cls_w || t->offset == m->cls_b)
        return 2;
    return t->offset == m->pool_w || t->offset == m->pool_b;
}

static sm_status check_config(const sm_bert_config *c, sm_error *e)
{
    if (c->family < 0 || c->family >= SM_FAMILY_COUNT)
        return sm_err(e, SM_ERR_INVALID, "model configuration: unknown model family %d", (int)c->family);
    const int types = family_descs[c->family].has_types;
    if (c->embedding_size < 0 || (c->embedding_size > 0 && c->embedding_size != c->hidden_size &&
                                  c->family != SM_FAMILY_ELECTRA))
        return sm_err(e, SM_ERR_INVALID, "model configuration: embedding_size %d differs from hidden_size %d, "
                      "which only ELECTRA supports", c->embedding_size, c->hidden_size);
    struct {
        const char *name;
        int v;
    } pos[] = {
        {"vocab_size", c->vocab_size},           {"hidden_size", c->hidden_size},
        {"num_hidden_layers", c->num_layers},    {"num_attention_heads", c->num_heads},
        {"intermediate_size", c->intermediate_size}, {"max_position_embeddings", c->max_position},
        {"type_vocab_size", types ? c->type_vocab_size : 1}, {"num_labels", c->num_labels},
    };
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0)
            return sm_err(e, SM_ERR_INVALID, "model configuration: %s is %d, it must be positive",
                          pos[i].name, pos[i].v);
    if (c->num_layers > 99999)
        return sm_err(e, SM_ERR_RANGE, "model configuration: num_hidden_layers %d is absurd", c->num_layers);
    if (c->hidden_size % c->num_heads != 0)
        return sm_err(e, SM_ERR_INVALID,
                      "model configuration: hidden_size %d is not a multiple of num_attention_heads %d",
                      c->hidden_size, c->num_heads);
    if (strcmp(c->hidden_act, "gelu") != 0)
        return sm_err(e, SM_ERR_UNSUPPORTED,
                      "model configuration: hidden_act \"%s\" is not supported (only \"gelu\", the exact erf GELU)",
                      c->hidden_act);
    if (c->pad_token_id >= c->vocab_size)
        return sm_err(e, SM_ERR_RANGE, "model configuration: pad_token_id %d is not below vocab_size %d",
                      c->pad_token_id, c->vocab_size);
    if (!(c->layer_norm_eps > 0.0f))
        return sm_err(e, SM_ERR_INVALID, "model configuration: layer_norm_eps must be positive");
    const float drops[3] = {c->hidden_dropout, c->attn_dropout, c->classifier_dropout};
    for (int i = 0; i < 3; i++)
        if (!(drops[i] >= 0.0f && drops[i] < 1.0f))
            return sm_err(e, SM_ERR_RANGE, "model configuration: dropout probability %g is not in [0, 1)",
                          (double)drops[i]);
    if (family_descs[c->family].roberta_positions && c->max_position <= c->pad_token_id + 1)
        return sm_err(e, SM_ERR_RANGE, "model configuration: max_position_embeddings %d leaves no position after "
                      "padding_idx %d (RoBERTa's positions start at pad_token_id + 1)", c->max_position,
                      c->pad_token_id);
    if (c->problem == SM_PROBLEM_REGRESSION && c->num_labels != 1)
        return sm_err(e, SM_ERR_INVALID, "model configuration: regression needs num_labels 1, not %d",
                      c->num_labels);
    return SM_OK;
}

sm_status sm_bert_create(sm_bert **out, const sm_bert_config *cfg, int with_grads, sm_error *e)
{
    *out = NULL;
    sm_status st = check_config(cfg, e);
    if (st != SM_OK)
        return st;
    sm_bert *m = sm_calloc(1, sizeof *m, e, "the model");
    if (!m)
        return SM_ERR_NOMEM;
    m->cfg = *cfg;
    m->cfg.id2label = NULL; /* the engine needs no label names; the caller keeps its configuration */
    m->fam = &family_descs[cfg->family];
    m->H = cfg->hidden_size;
    m->E = cfg->embedding_size > 0 ? cfg->embedding_size : m->H;
    m->has_proj = m->E != m->H;
    m->cfg.embedding_size = m->E;
    m->L = cfg->num_layers;
    m->NH = cfg->num_heads;
    m->D = m->H / m->NH;
    m->F = cfg->intermediate_size;
    m->V = cfg->vocab_size;
    m->P = cfg->max_position;
    m->TV = m->fam->has_types ? cfg->type_vocab_size : 0;
    if (!m->fam->has_types)
        m->cfg.type_vocab_size = 0;
    m->C = cfg->num_labels;

    int cap = 7 + 16 * m->L + 4;
    m->tensors = sm_calloc((size_t)cap, sizeof *m->tensors, e, "the tensor table");
    m->names = sm_calloc((size_t)cap, NAME_CAP, e, "the tensor names");
    m->layer = sm_calloc((size_t)m->L, sizeof *m->layer, e, "the layer table");
    if (!m->tensors || !m->names || !m->layer) {
        sm_bert_free(m);
        return SM_ERR_NOMEM;
    }
    const int H = m->H, F = m->F, E = m->E;
    const sm_family_desc *fd = m->fam;
    table_builder tb = {m, 0};
    char n[NAME_CAP];
#define ENAME(suffix) (snprintf(n, sizeof n, "%s.embeddings.%s", fd->prefix, suffix), n)
    m->word = add_tensor(&tb, ENAME("word_embeddings.weight"), m->V, E, SM_TENSOR_EMBEDDING);
    m->pos = add_tensor(&tb, ENAME("position_embeddings.weight"), m->P, E, SM_TENSOR_EMBEDDING);
    if (m->TV)
        m->type = add_tensor(&tb, ENAME("token_type_embeddings.weight"), m->TV, E, SM_TENSOR_EMBEDDING);
    m->eln_w = add_tensor(&tb, ENAME("LayerNorm.weight"), E, 0, SM_TENSOR_NORM_WEIGHT);
    m->eln_b = add_tensor(&tb, ENAME("LayerNorm.bias"), E, 0, SM_TENSOR_NORM_BIAS);
#undef ENAME
    if (m->has_proj) {
        snprintf(n, sizeof n, "%s.embeddings_project.weight", fd->prefix);
        m->proj_w = add_tensor(&tb, n, H, E, SM_TENSOR_LINEAR_WEIGHT);
        snprintf(n, sizeof n, "%s.embeddings_project.bias", fd->prefix);
        m->proj_b = add_tensor(&tb, n, H, 0, SM_TENSOR_BIAS);
    }
    for (int l = 0; l < m->L; l++) {
        sm_layer_off *o = &m->layer[l];
#define LNAME(t, suffix) (snprintf(n, sizeof n, "%s.%s.%d.%s.%s", fd->prefix, fd->layer, l, t, suffix), n)
        o->qkv_w = add_tensor(&tb, LNAME(fd->q, "weight"), H, H, SM_TENSOR_LINEAR_WEIGHT);
        add_tensor(&tb, LNAME(fd->k, "weight"), H, H, SM_TENSOR_LINEAR_WEIGHT);
        add_tensor(&tb, LNAME(fd->v, "weight"), H, H, SM_TENSOR_LINEAR_WEIGHT);
        o->qkv_b = add_tensor(&tb, LNAME(fd->q, "bias"), H, 0, SM_TENSOR_BIAS);
        add_tensor(&tb, LNAME(fd->k, "bias"), H, 0, SM_TENSOR_BIAS);
        add_tensor(&tb, LNAME(fd->v, "bias"), H, 0, SM_TENSOR_BIAS);
        o->ao_w = add_tensor(&tb, LNAME(fd->ao, "weight"), H, H, SM_TENSOR_LINEAR_WEIGHT);
        o->ao_b = add_tensor(&tb, LNAME(fd->ao, "bias"), H, 0, SM_TENSOR_BIAS);
        o->ln1_w = add_tensor(&tb, LNAME(fd->ln1, "weight"), H, 0, SM_TENSOR_NORM_WEIGHT);
        o->ln1_b = add_tensor(&tb, LNAME(fd->ln1, "bias"), H, 0, SM_TENSOR_NORM_BIAS);
        o->ff1_w = add_tensor(&tb, LNAME(fd->ff1, "weight"), F, H, SM_TENSOR_LINEAR_WEIGHT);
        o->ff1_b = add_tensor(&tb, LNAME(fd->ff1, "bias"), F, 0, SM_TENSOR_BIAS);
        o->ff2_w = add_tensor(&tb, LNAME(fd->ff2, "weight"), H, F, SM_TENSOR_LINEAR_WEIGHT);
        o->ff2_b = add_tensor(&tb, LNAME(fd->ff2, "bias"), H, 0, SM_TENSOR_BIAS);
        o->ln2_w = add_tensor(&tb, LNAME(fd->ln2, "weight"), H, 0, SM_TENSOR_NORM_WEIGHT);
        o->ln2_b = add_tensor(&tb, LNAME(fd->ln2, "bias"), H, 0, SM_TENSOR_NORM_BIAS);
#undef LNAME
    }
    snprintf(n, sizeof n, "%s.weight", fd->head_dense);
    m->pool_w = add_tensor(&tb, n, H, H, SM_TENSOR_LINEAR_WEIGHT);
    snprintf(n, sizeof n, "%s.bias", fd->head_dense);
    m->pool_b = add_tensor(&tb, n, H, 0, SM_TENSOR_BIAS);
    snprintf(n, sizeof n, "%s.weight", fd->head_out);
    m->cls_w = add_tensor(&tb, n, m->C, H, SM_TENSOR_LINEAR_WEIGHT);
    snprintf(n, sizeof n, "%s.bias", fd->head_out);
    m->cls_b = add_tensor(&tb, n, m->C, 0, SM_TENSOR_BIAS);
    m->numel = tb.off;

    m->w = sm_alloc_floats(m->numel, e, "the model's weights");
    if (!m->w) {
        sm_bert_free(m);
        return SM_ERR_NOMEM;
    }
    if ((st = sm_bert_set_threads(m, 0, e)) != SM_OK) {
        sm_bert_free(m);
        return st;
    }
    if (with_grads && (st = sm_bert_grads_alloc(m, e)) != SM_OK) {
        sm_bert_free(m);
        return st;
    }
    *out = m;
    return SM_OK;
}

void sm_bert_free(sm_bert *m)
{
    if (!m)
        return;
    sm_pool_free(m->pool);
    sm_free_aligned(m->w);
    sm_free_aligned(m->g);
    free(m->tensors);
    free(m->names);
    free(m->layer);
    free(m);
}

sm_status sm_bert_set_threads(sm_bert *m, int n, sm_error *e)
{
    if (n <= 0)
        n = openblas_get_num_threads();
    if (n > SM_BERT_MAX_THREADS)
        n = SM_BERT_MAX_THREADS;
    if (m->pool && sm_pool_size(m->pool) == n)
        return SM_OK;
    sm_pool_free(m->pool);
    m->pool = NULL;
    return sm_pool_create(&m->pool, n, e);
}

int sm_bert_threads(const sm_bert *m) { return sm_pool_size(m->pool); }

static void par_run(void *self, size_t total, size_t grain, sm_par_body fn, void *ctx)
{
    sm_pool_for(self, total, grain, SM_BERT_MAX_THREADS, fn, ctx);
}

sm_par sm_bert_par(const sm_bert *m) { return (sm_par){par_run, m->pool}; }

const sm_bert_config *sm_bert_config_get(const sm_bert *m) { return &m->cfg; }
size_t sm_bert_numel(const sm_bert *m) { return m->numel; }
int sm_bert_tensor_count(const sm_bert *m) { return m->ntensors; }

const sm_tensor_info *sm_bert_tensor(const sm_bert *m, int i)
{
    return i >= 0 && i < m->ntensors ? &m->tensors[i] : NULL;
}

int sm_bert_tensor_find(const sm_bert *m, const char *name)
{
    for (int i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return i;
    return -1;
}

float *sm_bert_weights(sm_bert *m) { return m->w; }
const float *sm_bert_weights_const(const sm_bert *m) { return m->w; }
float *sm_bert_grads(sm_bert *m) { return m->g; }

sm_status sm_bert_grads_alloc(sm_bert *m, sm_error *e)
{
    if (m->g)
        return SM_OK;
    m->g = sm_alloc_floats(m->numel, e, "the model's gradients");
    return m->g ? SM_OK : SM_ERR_NOMEM;
}

static void zero_part(void *ctx, int part, size_t begin, size_t end)
{
    (void)part;
    memset((float *)ctx + begin, 0, (end - begin) * sizeof(float));
}

void sm_bert_zero_grads(sm_bert *m)
{
    if (m->g)
        sm_pool_for(m->pool, m->numel, (size_t)1 << 18, SM_BERT_MAX_THREADS, zero_part, m->g);
}

void sm_bert_init_tensor(sm_bert *m, int i, sm_rng *rng)
{
    const sm_tensor_info *t = sm_bert_tensor(m, i);
    if (!t)
        return;
    float *p = m->w + t->offset;
    const double std = m->cfg.initializer_range;
    switch (t->kind) {
    case SM_TENSOR_LINEAR_WEIGHT:
    case SM_TENSOR_EMBEDDING:
        for (size_t k = 0; k < t->numel; k++)
            p[k] = (float)(std * sm_rng_normal(rng));
        /* padding_idx rows are zero: the word embeddings', and RoBERTa's position embeddings' */
        if ((t->offset == m->word || (t->offset == m->pos && m->fam->roberta_positions)) &&
            m->cfg.pad_token_id >= 0 && m->cfg.pad_token_id < t->shape[0])
            memset(p + (size_t)m->cfg.pad_token_id * (size_t)m->E, 0, (size_t)m->E * sizeof(float));
        break;
    case SM_TENSOR_NORM_WEIGHT:
        for (size_t k = 0; k < t->numel; k++)
            p[k] = 1.0f;
        break;
    case SM_TENSOR_BIAS:
    case SM_TENSOR_NORM_BIAS:
        memset(p, 0, t->numel * sizeof(float));
        break;
    }
}

void sm_bert_init(sm_bert *m, sm_rng *rng)
{
    for (int i = 0; i < m->ntensors; i++)
        sm_bert_init_tensor(m, i, rng);
}
