/* model_internal.h: the engine's private structures, shared by model.c (arena, tensor table,
 * initialisation, workspaces) and model_pass.c (forward, backward). Not part of the public API. */
#ifndef SMARTTY_MODEL_INTERNAL_H
#define SMARTTY_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/pool.h"
#include "smartty/model.h"

/* Offsets (in floats) of one encoder layer's tensors in any arena. The query, key and value weights
 * are adjacent ([3H, H] as one block) and so are their biases ([3H]): one sgemm computes all three. */
typedef struct sm_layer_off {
    size_t qkv_w, qkv_b;   /* [3H, H], [3H] */
    size_t ao_w, ao_b;     /* attention.output.dense [H, H], [H] */
    size_t ln1_w, ln1_b;   /* attention.output.LayerNorm [H] */
    size_t ff1_w, ff1_b;   /* intermediate.dense [F, H], [F] */
    size_t ff2_w, ff2_b;   /* output.dense [H, F], [H] */
    size_t ln2_w, ln2_b;   /* output.LayerNorm [H] */
} sm_layer_off;

/* The head's activation between its dense layer and the output layer. */
typedef enum sm_head_act { SM_HEAD_TANH = 0, SM_HEAD_RELU, SM_HEAD_GELU } sm_head_act;

/* What one family's network is, as data: transformers' tensor names and the few places the families'
 * computations differ (all outside the encoder's inner loops). */
typedef struct sm_family_desc {
    const char *display;          /* "BERT", "RoBERTa", ... for messages */
    const char *prefix;           /* base model's prefix: "bert", "roberta", "distilbert", "electra" */
    const char *layer;            /* "encoder.layer" or "transformer.layer" */
    const char *q, *k, *v, *ao, *ln1, *ff1, *ff2, *ln2; /* layer tensor names, without .weight/.bias */
    const char *head_dense, *head_out; /* the head's dense layer and output layer (full names) */
    sm_head_act head_act;
    int head_pre_dropout;         /* dropout on the first token before the head's dense layer */
    int ao_dropout;               /* dropout after the attention output projection (not DistilBERT) */
    int roberta_positions;        /* position ids from the ids: after padding_idx, padding skipped */
    int has_types;                /* a token-type embedding (not DistilBERT) */
} sm_family_desc;

struct sm_bert {
    sm_bert_config cfg;
    const sm_family_desc *fam;
    int E;                     /* embedding width: H, or ELECTRA's embedding_size */
    int has_proj;              /* embeddings_project [H, E] (ELECTRA with E != H) */
    size_t proj_w, proj_b;
    /* hidden, layers, heads, head dim, ffn size (F, as "I" is a macro of complex.h, which cblas.h
     * includes), vocabulary, positions, token types, labels */
    int H, L, NH, D, F, V, P, TV, C;
    size_t numel;
    int ntensors;
    sm_tensor_info *tensors;   /* [ntensors] */
    char *names;               /* storage of the tensors' names */
    size_t word, pos, type, eln_w, eln_b; /* embeddings [V,E], [P,E], [TV,E] (no type: TV 0); LayerNorm [E] */
    sm_layer_off *layer;       /* [L] */
    size_t pool_w, pool_b;     /* the head's dense layer (BERT's pooler) [H, H], [H] */
    size_t cls_w, cls_b;       /* the head's output layer [C, H], [C] */
    float *w;                  /* [numel] weights */
    float *g;                  /* [numel] gradients, or NULL */
    sm_pool *pool;             /* threads for the elementwise kernels and attention */
};

/* The family's description (model.c's table). */
const sm_family_desc *sm_bert_family_desc(sm_family f);

/* Per-layer stored activations (store workspaces: one per layer; no-store: one shared). Row-major
 * with N = B*T rows of the current batch. */
typedef struct sm_layer_acts {
    float *qkv;      /* [N, 3H] query | key | value, each head a column block of D */
    float *probs;    /* [B, NH, T, T] attention probabilities (before dropout) */
    uint8_t *pmask;  /* [B, NH, T, T] attention dropout keep mask (train) */
    float *ctx;      /* [N, H] attention context (heads concatenated) */
    float *res1;     /* [N, H] x + dropout(attention.output.dense(ctx)): input of LayerNorm 1 */
    uint8_t *m1;     /* [N, H] dropout keep mask after attention.output.dense */
    float *mean1, *rstd1; /* [N] LayerNorm 1 statistics */
    float *h1;       /* [N, H] LayerNorm 1 output */
    float *ff_pre;   /* [N, F] intermediate.dense output (GELU input) */
    float *ff_act;   /* [N, F] GELU output */
    float *res2;     /* [N, H] h1 + dropout(output.dense(ff_act)): input of LayerNorm 2 */
    uint8_t *m2;     /* [N, H] dropout keep mask after output.dense */
    float *mean2, *rstd2; /* [N] LayerNorm 2 statistics */
    float *out;      /* [N, H] layer output = LayerNorm 2 output */
} sm_layer_acts;

struct sm_bert_acts {
    int max_B, max_T, store;
    /* embedding block: the last sm_bert_embed */
    int have_embed, emb_B, emb_T, emb_drop;
    float *emb_sum;        /* [N, E] word + position + type (LayerNorm input) */
    float *emb_mean, *emb_rstd; /* [N] LayerNorm statistics */
    uint8_t *emb_mask;     /* [N, E] dropout keep mask */
    float *emb_e;          /* [N, E] LayerNorm + dropout output, embeddings_project's input (or NULL) */
    float *emb;            /* [N, H] output of the embedding block (the encoder input) */
    int32_t *ids, *types;  /* [N] copies of the batch's ids and type ids (embedding backward) */
    int32_t *pos_ids;      /* [N] RoBERTa's position ids (NULL for the others: position t) */
    /* encoder and head: the last sm_bert_encode */
    int have_encode, B, T, train, pool_drop;
    float *xin;            /* [N, H] emb + delta, when the encoder input is not emb itself */
    const float *x0;       /* encoder input of the last encode: emb or xin */
    sm_layer_acts *layer;  /* [L]; without storage all entries share one set of buffers */
    const float *hidden;   /* [N, H] last layer output (points into layer[L-1]) */
    float *cls_in;         /* [B, H] hidden state of the first token */
    uint8_t *cls_mask;     /* [B, H] dropout keep mask before the head's dense layer (head_pre_dropout) */
    float *cls_drop;       /* [B, H] the head's dense input: cls_in, or its dropout */
    float *head_pre;       /* [B, H] the head's dense output before the activation (GELU's input) */
    float *pooled;         /* [B, H] act(dense(cls_drop)) */
    uint8_t *pool_mask;    /* [B, H] classifier dropout keep mask */
    float *pooled_drop;    /* [B, H] dropout(pooled): the classifier's input */
    float *logits;         /* [B, C] */
    float *scratch;        /* [parts][2 T T] attention scratch, one per thread */
    int parts;             /* threads the scratch is for */
    /* backward scratch (store workspaces only) */
    float *d_a, *d_b, *d_c; /* [N, H] */
    float *d_big;          /* [N, max(3H, F)] */
    float *d_e;            /* [N, E] embeddings_project's input gradient (when there is one) */
    /* sharing (sm_bert_acts_create_sharing): the top `nshared` layers' buffers [L - nshared, L) and
     * the backward scratch (d_*, scratch) of one store workspace, the lender, used by another, the
     * borrower, at different times. `share` is the lender, in both; the lender's `holder` says whose
     * activations those layers hold now; a backward on a workspace that is not the holder first
     * recomputes its shared layers from its own stored input, its saved attention mask and the
     * random streams saved at the start of each layer: the same kernels, the same numbers. */
    struct sm_bert_acts *share;
    int nshared, lent;
    const struct sm_bert_acts *holder;
    sm_rng *layer_rng;     /* [L] each layer's random stream at the start of the last encode */
    uint8_t *layer_has_rng; /* [L] whether it had one */
    float *mask_copy;      /* [max_B max_T] the last encode's attention mask */
    size_t layer_bytes, scratch_bytes; /* one layer's stored buffers; the backward and attention scratch */
    /* every allocation, for sm_bert_acts_free */
    void **allocs;
    int nallocs, cap_allocs;
    size_t bytes;
};

#endif
