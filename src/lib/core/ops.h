/* ops.h: the engine's kernels as forward/backward pairs (llm.c style: outputs first, then inputs,
 * then sizes), each with the shapes of its tensors. Row-major float32 throughout; "+=" marks an
 * output that is accumulated. Internal to libsmartty: model_pass.c composes them into BERT and
 * tests/check_ops.c checks every backward against central finite differences. */
#ifndef SMARTTY_OPS_H
#define SMARTTY_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

/* The elementwise kernels are also compiled for x86-64-v3 (AVX2, FMA) and picked at load time (GCC's
 * target_clones), the baseline being x86-64's SSE2. The files that use it are built into
 * libsmartty_kernels.a with the loop vectoriser on (mk/core.am). Not under ThreadSanitizer, whose
 * instrumented resolvers would run before it is set up. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define SM_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SM_KERNEL
#endif

/* Linear (nn.Linear): out[N,O] = in[N,K] w[O,K]^T + b[O] (b may be NULL). One sgemm over all N rows. */
void sm_linear_forward(float *out, const float *in, const float *w, const float *b, int N, int K, int O);
/* The two halves of sm_linear_forward with a bias, for callers that split the first over threads:
 * rows n0..n1-1 of out[N,O] = b[O]; then out[N,O] += in[N,K] w[O,K]^T. */
void sm_bias_rows(float *out, const float *b, int O, int n0, int n1);
void sm_linear_forward_acc(float *out, const float *in, const float *w, int N, int K, int O);
/* din[N,K] = dout[N,O] w[O,K] (din_accumulate: +=; din NULL: skipped); dw[O,K] += dout^T in;
 * db[O] += column sums of dout (dw and db NULL: skipped, the weight-gradient sgemm too). */
void sm_linear_backward(float *din, int din_accumulate, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int N, int K, int O);
/* db[c] += sum over the N rows of d[N,O] at column c, for c0 <= c < c1 (a bias gradient). */
void sm_column_sums_add(float *db, const float *d, int N, int O, int c0, int c1);

/* LayerNorm over the last dimension: out[N,H] = (in - mean) * rstd * g[H] + b[H];
 * mean[N], rstd[N] = 1 / sqrt(var + eps) (biased variance) are kept for the backward pass. */
void sm_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *g,
                          const float *b, int N, int H, float eps);
/* din[N,H] = d loss / d in (overwritten; may alias dout). in, mean, rstd: as given to / produced by
 * the forward. */
void sm_layernorm_backward(float *din, const float *dout, const float *in, const float *mean,
                           const float *rstd, const float *g, int N, int H);
/* The parameter gradients, for columns c0 <= i < c1: dg[i] += sum_n dout * xhat, db[i] += sum_n dout
 * (a separate pass so that threads can split it by columns, in the same order as one thread). */
void sm_layernorm_backward_params(float *dg, float *db, const float *dout, const float *in,
                                  const float *mean, const float *rstd, int N, int H, int c0, int c1);

/* Exact (erf) GELU: out[n] = 0.5 x (1 + erf(x / sqrt 2)), with erf to 1.5e-7 absolute (not the tanh
 * approximation). out may alias in. */
void sm_gelu_forward(float *out, const float *in, size_t n);
/* din[n] = dout[n] * gelu'(in[n]) with gelu'(x) = Phi(x) + x phi(x). din may alias dout. */
void sm_gelu_backward(float *din, const float *dout, const float *in, size_t n);

/* tanh: out[n] = tanh(in[n]); its backward from the output: din = dout * (1 - out^2) (may alias). */
void sm_tanh_forward(float *out, const float *in, size_t n);
void sm_tanh_backward(float *din, const float *dout, const float *out, size_t n);

/* Row-wise softmax with an additive key mask: p[r, j] = softmax_j(s[r, j] + (mask[j] ? 0 : FLT_MIN
 * of float32, i.e. -FLT_MAX)), for R rows of C columns; mask[C] may be NULL (no masking). A fully
 * masked row comes out uniform, as in transformers; masked entries are exactly 0 otherwise.
 * p may alias s. */
void sm_softmax_forward(float *p, const float *s, const float *mask, int R, int C);
/* ds[R,C] = p * (dp - sum_j dp p) (may alias dp). */
void sm_softmax_backward(float *ds, const float *dp, const float *p, int R, int C);

/* Inverted dropout (torch): keep[n] = 1 with probability 1 - p; then x[n] *= keep[n] / (1 - p). The
 * same scaling is the backward (applied to the gradient). A dropout site draws one seed from the
 * caller's generator; its mask is made of independent streams derived from that seed (one per chunk
 * of SM_DROPOUT_CHUNK elements, or one per attention head), so that threads can draw parts of it and
 * the mask does not depend on how many threads there are. */
#define SM_DROPOUT_CHUNK 16384
uint64_t sm_dropout_seed(sm_rng *rng);
/* keep[0..n) from stream `stream` of seed. */
void sm_dropout_mask_stream(uint8_t *keep, size_t n, float p, uint64_t seed, uint64_t stream);
/* Chunks c0 <= c < c1 of a site of n elements. */
void sm_dropout_mask_chunks(uint8_t *keep, size_t n, float p, uint64_t seed, size_t c0, size_t c1);
/* A whole site: seed from rng, every chunk. */
void sm_dropout_mask(uint8_t *keep, size_t n, float p, sm_rng *rng);
void sm_dropout_apply(float *x, const uint8_t *keep, size_t n, float p);
/* y[n] = x[n] * keep[n] / (1 - p) (y may be x) */
void sm_dropout_copy(float *y, const float *x, const uint8_t *keep, size_t n, float p);
/* The residual connection after a dropout: res[n] = x[n] + dropout(res[n]); keep NULL: no dropout. */
void sm_dropout_residual(float *res, const float *x, const uint8_t *keep, size_t n, float p);

/* Multi-head self-attention core on a fused projection qkv[B*T, 3H] (query | key | value, head h in
 * columns h*D .. h*D+D-1 of each third): for each pair bh = b*NH + h with bh0 <= bh < bh1,
 * probs = softmax(Q K^T / sqrt(D) + mask) with mask[B*T] the padding mask of the keys, and
 * ctx[b*T + i, h*D + d] = (dropout(probs) V)[i, d]. probs[B, NH, T, T] is stored before dropout,
 * keep[B, NH, T, T] (train, p > 0) holds the dropout mask (stream bh of seed); keep NULL: no dropout.
 * scratch[T*T] holds the dropped probabilities of one pair. */
void sm_attention_forward(float *ctx, float *probs, uint8_t *keep, const float *qkv, const float *mask,
                          int B, int T, int NH, int D, float p, uint64_t seed, float *scratch, int bh0,
                          int bh1);
/* dqkv[B*T, 3H] = d loss / d qkv (overwritten, for the pairs bh0 <= bh < bh1) from dctx[B*T, H];
 * probs, keep as stored by the forward (not modified). scratch[2*T*T]. */
void sm_attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *probs,
                           const uint8_t *keep, int B, int T, int NH, int D, float p, float *scratch,
                           int bh0, int bh1);

/* Embedding sum: out[b*T + t] = wte[ids] + wpe[t] + wtt[types] (rows of H). ids, types [B*T] must be
 * in range (the caller checks). */
void sm_embed_forward(float *out, const int32_t *ids, const int32_t *types, const float *wte,
                      const float *wpe, const float *wtt, int B, int T, int H);
/* Scatter-add of dout[B*T, H] into dwte[V,H] (rows of ids, except pad_id as nn.Embedding's
 * padding_idx; pad_id < 0: none), dwpe[P,H] (rows 0..T-1) and dwtt[TV,H]. Any may be NULL. */
void sm_embed_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                       const int32_t *types, int B, int T, int H, int pad_id);

/* The families' form: position ids pos[B*T] (NULL: position t), and types/wtt NULL for a model
 * without token types. */
void sm_embed_forward_pos(float *out, const int32_t *ids, const int32_t *types, const int32_t *pos,
                          const float *wte, const float *wpe, const float *wtt, int B, int T, int H);
/* Its backward: as sm_embed_backward, dwpe's rows given by pos (NULL: t) and pos_pad skipped (the
 * position embeddings' padding_idx, RoBERTa's; < 0: none); types may be NULL when dwtt is. */
void sm_embed_backward_pos(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                           const int32_t *types, const int32_t *pos, int B, int T, int H, int pad_id,
                           int pos_pad);
/* RoBERTa's create_position_ids_from_input_ids: pos = pad + (running count of non-pad ids in the row)
 * for non-pad ids, pad for pad ids. Returns the largest id written. */
int32_t sm_roberta_positions(int32_t *pos, const int32_t *ids, int B, int T, int32_t pad);

#endif
