/* model.h: the encoder sequence classifier (transformers' ...ForSequenceClassification of BERT, RoBERTa,
 * XLM-R, DistilBERT and ELECTRA: one engine, the families' differences are data) on OpenBLAS: parameters in one
 * arena addressed by transformers' names, activation workspaces, forward (split at the encoder input,
 * where SMART perturbs), backward, the task losses. Loading checkpoints is hf.h's job, training is
 * the trainer's: this header only computes. Nothing here prints or exits; the model owns a few threads
 * (sm_bert_set_threads), and the one process-wide effect is OpenBLAS's thread count, held at one
 * while those threads run attention.
 *
 * A typical training step (vanilla):
 *     sm_bert_zero_grads(m);
 *     sm_bert_embed(m, w, a, batch, SM_BERT_TRAIN, rng, e);
 *     sm_bert_encode(m, w, a, batch, NULL, NULL, SM_BERT_TRAIN, rng, e);
 *     sm_bert_task_loss(m, sm_bert_acts_logits(a), batch, &loss, dlogits, e);
 *     sm_bert_backward(m, w, g, a, dlogits, demb, e);          (demb: caller's [B*T*H])
 *     sm_bert_embed_backward(m, w, g, a, demb, e);
 * with w = sm_bert_weights(m), g = sm_bert_grads(m). SMART adds a perturbed encode on another
 * workspace (emb = the clean workspace's sm_bert_acts_emb, delta = the perturbation), a probe backward
 * with g = NULL (input gradient only, parameter gradients untouched), and a teacher forward on a
 * no-store workspace with the teacher's arena as w. Gradients accumulate (+=) across calls. */
#ifndef SMARTTY_MODEL_H
#define SMARTTY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/batch.h"
#include "smartty/common.h"
#include "smartty/model_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the model: configuration + parameter arena + tensor table ------------------------------- */

typedef struct sm_bert sm_bert;           /* opaque; create with sm_bert_create */

/* What a tensor is, i.e. how transformers initialises it. */
typedef enum sm_tensor_kind {
    SM_TENSOR_LINEAR_WEIGHT = 0, /* [out, in]: normal(0, initializer_range) */
    SM_TENSOR_EMBEDDING,         /* [rows, hidden]: normal(0, initializer_range), pad row zero (word) */
    SM_TENSOR_BIAS,              /* [n]: zeros */
    SM_TENSOR_NORM_WEIGHT,       /* LayerNorm gamma [hidden]: ones */
    SM_TENSOR_NORM_BIAS          /* LayerNorm beta [hidden]: zeros */
} sm_tensor_kind;

/* One parameter tensor. Its floats are arena[offset .. offset + numel) in ANY arena of the model's
 * layout (weights, gradients, Adam moments, a teacher), row-major in the shape transformers uses
 * (nn.Linear weight [out_features, in_features], embeddings [rows, hidden]). */
typedef struct sm_tensor_info {
    const char *name;    /* transformers' full name, e.g. "bert.encoder.layer.0.attention.self.query.weight" */
    int ndim;            /* 1 or 2 */
    int shape[2];        /* shape[0], and shape[1] when ndim == 2 (else 1) */
    size_t offset;       /* in floats from the arena's start (tensors are packed in table order) */
    size_t numel;        /* shape[0] * shape[1] */
    int decay;           /* 1: AdamW weight decay applies; 0: biases and LayerNorm parameters */
    sm_tensor_kind kind;
} sm_tensor_info;

/* Create a model for cfg (copied, except id2label): a weight arena (zeroed; call sm_bert_init or load a checkpoint)
 * and, when with_grads, a gradient arena of the same layout (zeroed). Fails with SM_ERR_NOMEM when
 * an arena cannot be allocated, SM_ERR_INVALID/SM_ERR_UNSUPPORTED for a configuration the engine
 * cannot run (sizes <= 0, hidden not divisible by heads, hidden_act other than "gelu"). */
sm_status sm_bert_create(sm_bert **out, const sm_bert_config *cfg, int with_grads, sm_error *e);
void sm_bert_free(sm_bert *m);

/* The model's copy of the configuration, without id2label (NULL): label names are the caller's. */
const sm_bert_config *sm_bert_config_get(const sm_bert *m);

/* Threads the engine uses for its own kernels (elementwise work, attention); the big matrix products
 * are threaded by OpenBLAS (OPENBLAS_NUM_THREADS). n <= 0: as many as OpenBLAS uses (the default at
 * creation). The model must be driven from one thread at a time, and not across a fork(). While the
 * engine's threads run attention (small per-head products), OpenBLAS is held to one thread with
 * openblas_set_num_threads, a process-wide setting: do not run other BLAS work concurrently. A
 * workspace serves up to the thread count its model had when it was created. */
#define SM_BERT_MAX_THREADS 64
sm_status sm_bert_set_threads(sm_bert *m, int n, sm_error *e);
int sm_bert_threads(const sm_bert *m);
/* The engine's threads as a parallel-for for flat passes over the arena (optimizer, clipping,
 * teacher): valid while m lives; not to be used while another call on m runs. */
sm_par sm_bert_par(const sm_bert *m);
size_t sm_bert_numel(const sm_bert *m);               /* floats in one arena = sum of the tensors' numel */
int sm_bert_tensor_count(const sm_bert *m);
const sm_tensor_info *sm_bert_tensor(const sm_bert *m, int i); /* 0 <= i < count, else NULL */
int sm_bert_tensor_find(const sm_bert *m, const char *name);   /* index, or -1 when unknown */

/* The family in words ("BERT", "RoBERTa", "DistilBERT", ...) and its base model's tensor prefix
 * ("bert", "roberta", "distilbert", "electra"). */
const char *sm_bert_family_display(const sm_bert *m);
const char *sm_bert_base_prefix(const sm_bert *m);
/* 1: tensor i belongs to the head's dense layer (BERT's pooler, RoBERTa's and ELECTRA's
 * classifier.dense, DistilBERT's pre_classifier); 2: to its output layer (num_labels rows); 0: the
 * encoder's. */
int sm_bert_tensor_is_head(const sm_bert *m, int i);

float *sm_bert_weights(sm_bert *m);                   /* [numel] */
const float *sm_bert_weights_const(const sm_bert *m);
float *sm_bert_grads(sm_bert *m);                     /* [numel], NULL when created without grads */
/* Allocate the gradient arena later (no-op when present). */
sm_status sm_bert_grads_alloc(sm_bert *m, sm_error *e);
void sm_bert_zero_grads(sm_bert *m);

/* Initialise as transformers' _init_weights does: Linear and Embedding weights normal(0,
 * initializer_range), biases 0, LayerNorm weight 1 and bias 0, the pad_token_id row of the word
 * embeddings 0. All tensors in table order, or only tensor i (e.g. the pooler and the classifier of
 * a masked-LM checkpoint). Deterministic for a given rng state. */
void sm_bert_init(sm_bert *m, sm_rng *rng);
void sm_bert_init_tensor(sm_bert *m, int i, sm_rng *rng);

/* ---- activation workspaces ---------------------------------------------------------------------- */

typedef struct sm_bert_acts sm_bert_acts; /* opaque; one per concurrent pass (clean, probe, adv, teacher) */

typedef enum sm_bert_mode {
    SM_BERT_EVAL = 0,  /* no dropout */
    SM_BERT_TRAIN = 1  /* inverted dropout (keep with 1-p, scale 1/(1-p)), masks drawn from the rng */
} sm_bert_mode;

/* A workspace for batches of up to max_B examples of up to max_T tokens (any B <= max_B, T <= max_T
 * per call: dynamic padding). store = 1 keeps what the backward pass needs; store = 0 is an
 * inference workspace (teacher, evaluation): one layer's buffers reused, about 1/num_layers of the
 * memory, and sm_bert_backward refuses it. */
sm_status sm_bert_acts_create(sm_bert_acts **out, const sm_bert *m, int max_B, int max_T, int store,
                              sm_error *e);
/* A store workspace for the same batches as lender (a store workspace that shares with no other)
 * that uses lender's buffers for the top nlayers encoder layers and lender's backward scratch: the
 * memory of one workspace less nlayers layers and the scratch, for two passes whose forwards
 * interleave (SMART's clean and adversarial branches). Whichever of the two ran the last encode
 * holds the shared layers; a backward on the other first runs its shared layers' forward again
 * (from its own input of the first shared layer, the random stream each layer started from, the
 * same mask), which costs nlayers / num_layers of an encoder forward and changes no number.
 * sm_bert_acts_hidden of the other is then not valid. Free it before the lender. */
sm_status sm_bert_acts_create_sharing(sm_bert_acts **out, const sm_bert *m, sm_bert_acts *lender, int nlayers,
                                      sm_error *e);
/* the bytes a sharing workspace of nlayers layers does not allocate */
size_t sm_bert_acts_sharing_saves(const sm_bert_acts *lender, int nlayers);
void sm_bert_acts_free(sm_bert_acts *a);
size_t sm_bert_acts_bytes(const sm_bert_acts *a);    /* memory it holds */
/* Results of the last calls, valid until the next call on this workspace (B, T of that batch): */
float *sm_bert_acts_emb(sm_bert_acts *a);            /* [B, T, H] embedding block output (after dropout) */
const float *sm_bert_acts_hidden(const sm_bert_acts *a); /* [B, T, H] last encoder layer output */
const float *sm_bert_acts_pooled(const sm_bert_acts *a); /* [B, H] pooler output tanh(dense(h[:,0])) */
const float *sm_bert_acts_logits(const sm_bert_acts *a); /* [B, num_labels] */
/* SM_OK when the first B rows of logits are finite; else SM_ERR_NONFINITE naming the batch row
 * (1-based) and saying the weights have diverged: predict and evaluation refuse such outputs. */
sm_status sm_bert_check_outputs(const sm_bert *m, const sm_bert_acts *a, int B, sm_error *e);

/* ---- forward ------------------------------------------------------------------------------------ */

/* Embedding block: emb = dropout(LayerNorm(word[ids] + position[t] + type[types])) -> the workspace's
 * emb [B, T, H]. w is a weight arena of m's layout (the model's own or another, e.g. a teacher).
 * rng is used (and advanced) only in SM_BERT_TRAIN mode. Errors: batch larger than the workspace or
 * than max_position, an id or type id out of range (naming example and position). */
sm_status sm_bert_embed(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                        sm_bert_mode mode, sm_rng *rng, sm_error *e);

/* Encoder + pooler + classifier: x = emb + delta -> logits [B, num_labels] (sm_bert_acts_logits).
 * emb: [B, T, H] encoder input; NULL means this workspace's own sm_bert_acts_emb (after
 * sm_bert_embed); it may be another workspace's (the adversarial pass reuses the clean embedding).
 * delta: [B, T, H] additive perturbation, or NULL. Both are read, never written, and may be changed
 * after the call (the workspace keeps its own copy when it needs one). Padding keys are masked with
 * b->mask (additive float32 minimum, as transformers). */
sm_status sm_bert_encode(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                         const float *emb, const float *delta, sm_bert_mode mode, sm_rng *rng,
                         sm_error *e);

/* sm_bert_embed then sm_bert_encode(emb = NULL, delta = NULL). */
sm_status sm_bert_forward(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                          sm_bert_mode mode, sm_rng *rng, sm_error *e);

/* ---- losses ------------------------------------------------------------------------------------- */

/* Mean cross-entropy over the batch (stable log-softmax). logits, dlogits [B, C]; labels [B] in
 * [0, C). dlogits (may be NULL) is overwritten with d loss / d logits = (softmax - onehot) / B. */
double sm_loss_cross_entropy(const float *logits, const int32_t *labels, int B, int C, float *dlogits);
/* Mean squared error over the batch: mean_b (pred_b - target_b)^2; dpred (may be NULL) overwritten
 * with 2 (pred - target) / B. pred, targets, dpred [B]. */
double sm_loss_mse(const float *pred, const float *targets, int B, float *dpred);
/* The configured task loss on logits [B, num_labels] (cross-entropy, or MSE when num_labels == 1),
 * checking that the batch carries labels in range (or targets). dlogits may be NULL. */
sm_status sm_bert_task_loss(const sm_bert *m, const float *logits, const sm_batch *b, double *loss,
                            float *dlogits, sm_error *e);

/* ---- backward ----------------------------------------------------------------------------------- */

/* From dlogits [B, num_labels] of the last sm_bert_encode on a (a store workspace, same w) back
 * through classifier, pooler and encoder. g: gradient arena of m's layout, accumulated (+=); NULL
 * skips every weight-gradient product and touches no gradient (SMART's ascent). dx: caller's
 * [B, T, H], overwritten with d loss / d encoder input (= d loss / d delta = d loss / d emb), or NULL.
 * The stored activations are only read: several backward passes may follow one forward. */
sm_status sm_bert_backward(const sm_bert *m, const float *w, float *g, sm_bert_acts *a,
                           const float *dlogits, float *dx, sm_error *e);

/* From demb [B, T, H] (d loss / d output of the embedding block of the last sm_bert_embed on a) into
 * the word, position and token-type embedding and embedding LayerNorm gradients of g (+=). The word
 * embedding gradient is a sparse scatter-add over the batch's ids. */
sm_status sm_bert_embed_backward(const sm_bert *m, const float *w, float *g, sm_bert_acts *a,
                                 const float *demb, sm_error *e);

#ifdef __cplusplus
}
#endif
#endif
