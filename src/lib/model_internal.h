/* model_internal.h: the engine's private structures, shared by model.c (arena, tensor table,
 * initialisation, workspaces) and model_pass.c (forward, backward). Not part of the public API. */
#ifndef SMARTTY_MODEL_INTERNAL_H
#define SMARTTY_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/pool.h"
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

struct sm_bert {
    sm_bert_config cfg;
    /* hidden, layers, heads, head dim, ffn size (F, as "I" is a macro of complex.h, which cblas.h
     * includes), vocabulary, positions, token types, labels */
    int H, L, NH, D, F, V, P, TV, C;
    size_t numel;
    int ntensors;
    sm_tensor_info *tensors;   /* [ntensors] */
    char *names;               /* storage of the tensors' names */
    size_t word, pos, type, eln_w, eln_b; /* embeddings [V,H], [P,H], [TV,H]; LayerNorm [H] */
    sm_layer_off *layer;       /* [L] */
    size_t pool_w, pool_b;     /* [H, H], [H] */
    size_t cls_w, cls_b;       /* [C, H], [C] */
    float *w;                  /* [numel] weights */
    float *g;                  /* [numel] gradients, or NULL */
    sm_pool *pool;             /* threads for the elementwise kernels and attention */
};

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
    float *emb_sum;        /* [N, H] word + position + type (LayerNorm input) */
    float *emb_mean, *emb_rstd; /* [N] LayerNorm statistics */
    uint8_t *emb_mask;     /* [N, H] dropout keep mask */
    float *emb;            /* [N, H] output of the embedding block */
    int32_t *ids, *types;  /* [N] copies of the batch's ids and type ids (embedding backward) */
    /* encoder and head: the last sm_bert_encode */
    int have_encode, B, T, train, pool_drop;
    float *xin;            /* [N, H] emb + delta, when the encoder input is not emb itself */
    const float *x0;       /* encoder input of the last encode: emb or xin */
    sm_layer_acts *layer;  /* [L]; without storage all entries share one set of buffers */
    const float *hidden;   /* [N, H] last layer output (points into layer[L-1]) */
    float *cls_in;         /* [B, H] hidden state of the first token */
    float *pooled;         /* [B, H] tanh(dense(cls_in)) */
    uint8_t *pool_mask;    /* [B, H] classifier dropout keep mask */
    float *pooled_drop;    /* [B, H] dropout(pooled): the classifier's input */
    float *logits;         /* [B, C] */
    float *scratch;        /* [parts][2 T T] attention scratch, one per thread */
    int parts;             /* threads the scratch is for */
    /* backward scratch (store workspaces only) */
    float *d_a, *d_b, *d_c; /* [N, H] */
    float *d_big;          /* [N, max(3H, F)] */
    /* every allocation, for sm_bert_acts_free */
    void **allocs;
    int nallocs, cap_allocs;
    size_t bytes;
};

#endif
