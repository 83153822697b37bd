/* model_pass.c: BERT's forward and backward passes over a batch, the activation workspaces they use,
 * and the task losses. Composes the kernels of ops.c; knows nothing of files, optimizers or SMART
 * beyond the two hooks SMART needs (an additive perturbation of the encoder input, and a backward
 * pass that yields d loss / d encoder input without touching parameter gradients).
 *
 * Activation layout and why:
 * - Every activation is row-major [N, features] with N = B*T rows (token n = b*T + t) of the CURRENT
 *   batch, packed at the start of buffers sized for max_B*max_T: a smaller batch or a shorter padded
 *   length (dynamic padding) just uses fewer rows. Every nn.Linear is then one sgemm with M = B*T,
 *   cut into one block of rows (or of columns, for the weight gradients) per engine thread, each a
 *   single-threaded sgemm (p_gemm): the engine's threads do all the work, so OpenBLAS's own threads
 *   never spin against them between products. Results are bit-identical for a given thread count.
 * - The query, key and value projections are one sgemm into qkv [N, 3H] (their weights are adjacent
 *   in the arena, [3H, H]). Attention works per (example, head) on T x D blocks of qkv read in place
 *   with leading dimension 3H, and writes its context straight into ctx [N, H] (leading dimension H),
 *   which is already the "heads concatenated" layout the output projection reads. No head-split
 *   copies, no transposes.
 * - Attention probabilities are stored [B, NH, T, T] before dropout, with a byte keep-mask; the
 *   dropped probabilities are rebuilt per (b, h) in a T x T scratch when needed.
 * - A store workspace keeps, per layer, what the backward pass reads (qkv, probs, ctx, the two
 *   LayerNorm inputs and statistics, the LayerNorm-1 output, the FFN pre-activation and GELU output,
 *   the layer output, dropout masks); x-hat is recomputed from the LayerNorm input rather than
 *   stored. A no-store workspace (teacher, evaluation) shares one layer's buffers between layers,
 *   ping-ponging only the layer output.
 * - Two store workspaces may share the buffers of their top layers and their backward scratch
 *   (sm_bert_acts_create_sharing: SMART's clean and adversarial branches): the one whose shared
 *   layers were overwritten by the other's encode runs those layers' forward again, from its own
 *   input and the random streams and mask it saved, before its backward.
 * - The backward pass runs on three [N, H] gradient buffers and one [N, max(3H, F)] buffer; the
 *   weight-gradient sgemm (dW += dY^T X) and the bias column sums are skipped when no gradient arena
 *   is given (SMART's ascent).
 * - The encoder reads x0 = emb + delta; when there is no delta and emb is the workspace's own, x0 is
 *   emb itself (no copy). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/model_internal.h"
#include "lib/core/ops.h"

/* ---- parallel kernels: one job description, split over the model's pool ----------------------- */

typedef enum job_kind {
    J_LN_FWD, J_LN_BWD, J_LN_PARAMS, J_GELU_FWD, J_GELU_BWD, J_MASK, J_RESID, J_DCOPY, J_COLSUM,
    J_ATT_FWD, J_ATT_BWD, J_BIAS, J_GEMM
} job_kind;

/* One row-major sgemm C = alpha op(A) op(B) + beta C, split over the rows (split_rows) or the columns
 * of C: every part is a single-threaded sgemm on its own block of C. */
typedef struct gemm_job {
    int ta, tb; /* op(A) = A^T, op(B) = B^T */
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_rows;
} gemm_job;

static void gemm_part(const gemm_job *g, size_t b, size_t e)
{
    const int n = (int)(e - b);
    if (g->split_rows) {
        const float *A = g->ta ? g->A + b : g->A + b * (size_t)g->lda;
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, n, g->N,
                    g->K, g->alpha, A, g->lda, g->B, g->ldb, g->beta, g->C + b * (size_t)g->ldc, g->ldc);
    } else {
        const float *B = g->tb ? g->B + b * (size_t)g->ldb : g->B + b;
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->M, n,
                    g->K, g->alpha, g->A, g->lda, B, g->ldb, g->beta, g->C + b, g->ldc);
    }
}

typedef struct job {
    job_kind kind;
    float *y;                 /* output */
    const float *x, *x2;      /* inputs (x2: the incoming gradient of backward kernels) */
    const float *g, *b;       /* LayerNorm gamma, beta */
    float *mean, *rstd;       /* LayerNorm statistics */
    const float *cmean, *crstd;
    float *dg, *db;           /* parameter gradients */
    uint8_t *keep_w;          /* dropout mask being drawn */
    const uint8_t *keep;      /* dropout mask being applied (NULL: none) */
    int N, H;
    size_t n;
    float eps, p;
    uint64_t seed;
    /* attention */
    sm_layer_acts *la;
    const float *mask;
    int B, T, NH, D;
    float *scratch;           /* [parts][2 T T] */
    size_t scratch_stride;
    const gemm_job *gemm;
} job;

static void job_run(void *ctx, int part, size_t b, size_t e)
{
    const job *j = ctx;
    const size_t H = (size_t)j->H;
    switch (j->kind) {
    case J_LN_FWD:
        sm_layernorm_forward(j->y + b * H, j->mean + b, j->rstd + b, j->x + b * H, j->g, j->b, (int)(e - b),
                             j->H, j->eps);
        break;
    case J_LN_BWD:
        sm_layernorm_backward(j->y + b * H, j->x2 + b * H, j->x + b * H, j->cmean + b, j->crstd + b, j->g,
                              (int)(e - b), j->H);
        break;
    case J_LN_PARAMS:
        sm_layernorm_backward_params(j->dg, j->db, j->x2, j->x, j->cmean, j->crstd, j->N, j->H, (int)b, (int)e);
        break;
    case J_GELU_FWD:
        sm_gelu_forward(j->y + b, j->x + b, e - b);
        break;
    case J_GELU_BWD:
        sm_gelu_backward(j->y + b, j->x2 + b, j->x + b, e - b);
        break;
    case J_MASK:
        sm_dropout_mask_chunks(j->keep_w, j->n, j->p, j->seed, b, e);
        break;
    case J_RESID:
        sm_dropout_residual(j->y + b, j->x + b, j->keep ? j->keep + b : NULL, e - b, j->p);
        break;
    case J_DCOPY:
        sm_dropout_copy(j->y + b, j->x + b, j->keep + b, e - b, j->p);
        break;
    case J_GEMM:
        gemm_part(j->gemm, b, e);
        break;
    case J_BIAS:
        sm_bias_rows(j->y, j->b, j->H, (int)b, (int)e);
        break;
    case J_COLSUM:
        sm_column_sums_add(j->db, j->x2, j->N, j->H, (int)b, (int)e);
        break;
    case J_ATT_FWD:
        sm_attention_forward(j->la->ctx, j->la->probs, j->keep_w, j->la->qkv, j->mask, j->B, j->T, j->NH, j->D,
                             j->p, j->seed, j->scratch + (size_t)part * j->scratch_stride, (int)b, (int)e);
        break;
    case J_ATT_BWD:
        sm_attention_backward(j->y, j->x2, j->la->qkv, j->la->probs, j->keep, j->B, j->T, j->NH, j->D, j->p,
                              j->scratch + (size_t)part * j->scratch_stride, (int)b, (int)e);
        break;
    }
}

/* A split gives each thread at least WORK_GRAIN elements of work: below that, waking a thread costs
 * more than it saves. */
#define WORK_GRAIN 8192
#define ELEMS_GRAIN WORK_GRAIN

/* items of `cost` elements each, in units of at least `align` items */
static size_t grain_for(size_t cost, size_t align)
{
    size_t g = (WORK_GRAIN + cost - 1) / (cost ? cost : 1);
    return (g + align - 1) / align * align;
}

static void run(const sm_bert *m, job *j, size_t total, size_t grain)
{
    sm_pool_for(m->pool, total, grain, SM_BERT_MAX_THREADS, job_run, j);
}

/* An sgemm on the engine's threads, each running a single-threaded sgemm on a block of C (rows, or
 * columns when C is wider than tall), with OpenBLAS's own threads held to one meanwhile: one set of
 * threads for the whole pass instead of two that take turns spinning. A small product runs as it is. */
static void p_gemm(const sm_bert *m, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_job g = {ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, M >= N};
    const int parts = sm_pool_size(m->pool);
    if (parts <= 1 || (double)M * N * K < 4e6) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                    A, lda, B, ldb, beta, C, ldc);
        return;
    }
    job j = {.kind = J_GEMM, .gemm = &g};
    const int blas_threads = openblas_get_num_threads();
    if (blas_threads > 1)
        openblas_set_num_threads(1);
    sm_pool_for(m->pool, (size_t)(g.split_rows ? M : N), 16, SM_BERT_MAX_THREADS, job_run, &j);
    if (blas_threads > 1)
        openblas_set_num_threads(blas_threads);
}

static void p_layernorm_forward(const sm_bert *m, float *out, float *mean, float *rstd, const float *in,
                                const float *g, const float *b, int N, int H)
{
    job j = {.kind = J_LN_FWD, .y = out, .mean = mean, .rstd = rstd, .x = in, .g = g, .b = b, .N = N, .H = H,
             .eps = m->cfg.layer_norm_eps};
    run(m, &j, (size_t)N, grain_for((size_t)H, 1));
}

/* din may alias dout: the parameter pass runs first. dg, db NULL: no parameter gradients. */
static void p_layernorm_backward(const sm_bert *m, float *din, float *dg, float *db, const float *dout,
                                 const float *in, const float *mean, const float *rstd, const float *g, int N,
                                 int H)
{
    job j = {.kind = J_LN_PARAMS, .y = din, .dg = dg, .db = db, .x2 = dout, .x = in, .cmean = mean,
             .crstd = rstd, .g = g, .N = N, .H = H};
    if (dg)
        run(m, &j, (size_t)H, grain_for((size_t)N, 8));
    j.kind = J_LN_BWD;
    run(m, &j, (size_t)N, grain_for((size_t)H, 1));
}

static void p_gelu_forward(const sm_bert *m, float *out, const float *in, size_t n)
{
    job j = {.kind = J_GELU_FWD, .y = out, .x = in};
    run(m, &j, n, ELEMS_GRAIN);
}

static void p_gelu_backward(const sm_bert *m, float *din, const float *dout, const float *in, size_t n)
{
    job j = {.kind = J_GELU_BWD, .y = din, .x2 = dout, .x = in};
    run(m, &j, n, ELEMS_GRAIN);
}

static void p_dropout_mask(const sm_bert *m, uint8_t *keep, size_t n, float p, sm_rng *rng)
{
    job j = {.kind = J_MASK, .keep_w = keep, .n = n, .p = p, .seed = sm_dropout_seed(rng)};
    run(m, &j, (n + SM_DROPOUT_CHUNK - 1) / SM_DROPOUT_CHUNK, 1);
}

static void p_dropout_residual(const sm_bert *m, float *res, const float *x, const uint8_t *keep, size_t n,
                               float p)
{
    job j = {.kind = J_RESID, .y = res, .x = x, .keep = keep, .p = p};
    run(m, &j, n, ELEMS_GRAIN);
}

static void p_dropout_copy(const sm_bert *m, float *y, const float *x, const uint8_t *keep, size_t n, float p)
{
    job j = {.kind = J_DCOPY, .y = y, .x = x, .keep = keep, .p = p};
    run(m, &j, n, ELEMS_GRAIN);
}

/* linear forward with the bias rows (a memory pass as large as the output) split over the pool */
static void p_linear_forward(const sm_bert *m, float *out, const float *in, const float *w, const float *b,
                             int N, int K, int O)
{
    job j = {.kind = J_BIAS, .y = out, .b = b, .H = O};
    run(m, &j, (size_t)N, grain_for((size_t)O, 1));
    p_gemm(m, 0, 1, N, O, K, 1.0f, in, K, w, K, 1.0f, out, O);
}

/* linear backward with the bias column sums split over the pool */
static void p_linear_backward(const sm_bert *m, float *din, int din_accumulate, float *dw, float *db,
                              const float *dout, const float *in, const float *w, int N, int K, int O)
{
    if (din)
        p_gemm(m, 0, 0, N, K, O, 1.0f, dout, O, w, K, din_accumulate ? 1.0f : 0.0f, din, K);
    if (dw)
        p_gemm(m, 1, 0, O, K, N, 1.0f, dout, O, in, K, 1.0f, dw, K);
    if (db) {
        job j = {.kind = J_COLSUM, .db = db, .x2 = dout, .N = N, .H = O};
        run(m, &j, (size_t)O, grain_for((size_t)N, 8));
    }
}

/* Attention over the (example, head) pairs, split over the pool; the small per-pair products then
 * run single-threaded in each thread, so OpenBLAS is held to one thread meanwhile. */
static void p_attention(const sm_bert *m, sm_bert_acts *a, job *j)
{
    int parts = sm_pool_size(m->pool) < a->parts ? sm_pool_size(m->pool) : a->parts;
    if ((size_t)j->B * m->NH * j->T * j->T * m->D < 8 * WORK_GRAIN)
        parts = 1;
    j->scratch = a->scratch;
    j->scratch_stride = 2 * (size_t)a->max_T * a->max_T;
    j->NH = m->NH;
    j->D = m->D;
    if (parts > 1) {
        const int blas_threads = openblas_get_num_threads();
        if (blas_threads > 1)
            openblas_set_num_threads(1);
        sm_pool_for(m->pool, (size_t)j->B * m->NH, 1, parts, job_run, j);
        if (blas_threads > 1)
            openblas_set_num_threads(blas_threads);
    } else {
        job_run(j, 0, 0, (size_t)j->B * m->NH);
    }
}

/* ---- workspaces ------------------------------------------------------------------------------- */

typedef struct acts_alloc {
    sm_bert_acts *a;
    sm_error *e;
    int failed;
} acts_alloc;

static void *take(acts_alloc *al, size_t count, size_t elem, const char *what)
{
    if (al->failed)
        return NULL;
    sm_bert_acts *a = al->a;
    if (a->nallocs == a->cap_allocs) {
        int cap = a->cap_allocs ? 2 * a->cap_allocs : 64;
        void **p = realloc(a->allocs, (size_t)cap * sizeof *p);
        if (!p) {
            sm_err(al->e, SM_ERR_NOMEM, "out of memory for the activation workspace's table");
            al->failed = 1;
            return NULL;
        }
        a->allocs = p;
        a->cap_allocs = cap;
    }
    size_t n = (count * elem + sizeof(float) - 1) / sizeof(float);
    float *p = sm_alloc_floats(n ? n : 1, al->e, what);
    if (!p) {
        al->failed = 1;
        return NULL;
    }
    a->allocs[a->nallocs++] = p;
    a->bytes += n * sizeof(float);
    return p;
}

/* the bookkeeping of a sharing workspace: saved random streams and the attention mask */
static void take_sharing(acts_alloc *al, const sm_bert *m)
{
    sm_bert_acts *a = al->a;
    a->layer_rng = take(al, (size_t)m->L, sizeof *a->layer_rng, "activations (saved random streams)");
    a->layer_has_rng = take(al, (size_t)m->L, 1, "activations (saved random streams)");
    a->mask_copy = take(al, (size_t)a->max_B * a->max_T, sizeof(float), "activations (attention mask)");
}

/* lender: NULL, or the store workspace whose top nshared layers and backward scratch this one uses */
static sm_status acts_create(sm_bert_acts **out, const sm_bert *m, int max_B, int max_T, int store,
                             sm_bert_acts *lender, int nshared, sm_error *e)
{
    *out = NULL;
    if (max_B <= 0 || max_T <= 0)
        return sm_err(e, SM_ERR_INVALID, "activation workspace: batch %d x length %d must be positive",
                      max_B, max_T);
    if (max_T > m->P)
        return sm_err(e, SM_ERR_RANGE,
                      "activation workspace: length %d exceeds the model's max_position_embeddings %d",
                      max_T, m->P);
    if (m->fam->roberta_positions && max_T > m->P - m->cfg.pad_token_id - 1)
        return sm_err(e, SM_ERR_RANGE,
                      "activation workspace: length %d exceeds the %d positions of this %s model "
                      "(max_position_embeddings %d, positions start after pad_token_id %d)",
                      max_T, m->P - m->cfg.pad_token_id - 1, m->fam->display, m->P, m->cfg.pad_token_id);
    sm_bert_acts *a = sm_calloc(1, sizeof *a, e, "the activation workspace");
    if (!a)
        return SM_ERR_NOMEM;
    a->max_B = max_B;
    a->max_T = max_T;
    a->store = store ? 1 : 0;
    acts_alloc al = {a, e, 0};
    const size_t N = (size_t)max_B * max_T, H = (size_t)m->H, F = (size_t)m->F, E = (size_t)m->E;
    const size_t TT = (size_t)max_T * max_T, BHTT = (size_t)max_B * m->NH * TT;
    const size_t B = (size_t)max_B;

    a->layer = sm_calloc((size_t)m->L, sizeof *a->layer, e, "the activation workspace");
    if (!a->layer) {
        sm_bert_acts_free(a);
        return SM_ERR_NOMEM;
    }
    a->emb_sum = take(&al, N * E, sizeof(float), "activations (embedding sum)");
    a->emb_mean = take(&al, N, sizeof(float), "activations (embedding statistics)");
    a->emb_rstd = take(&al, N, sizeof(float), "activations (embedding statistics)");
    a->emb_mask = take(&al, N * E, 1, "activations (embedding dropout mask)");
    if (m->has_proj)
        a->emb_e = take(&al, N * E, sizeof(float), "activations (embedding before its projection)");
    if (m->fam->roberta_positions)
        a->pos_ids = take(&al, N, sizeof(int32_t), "activations (position ids)");
    a->emb = take(&al, N * H, sizeof(float), "activations (embedding output)");
    a->xin = take(&al, N * H, sizeof(float), "activations (encoder input)");
    a->ids = take(&al, N, sizeof(int32_t), "activations (token ids)");
    a->types = take(&al, N, sizeof(int32_t), "activations (token types)");
    const int nsets = store ? m->L : 1;
    for (int l = 0; l < nsets; l++) {
        sm_layer_acts *la = &a->layer[l];
        if (lender && l >= m->L - nshared) { /* the lender's buffers */
            *la = lender->layer[l];
            continue;
        }
        const size_t before = a->bytes;
        la->qkv = take(&al, N * 3 * H, sizeof(float), "activations (query/key/value)");
        la->probs = take(&al, BHTT, sizeof(float), "activations (attention probabilities)");
        la->pmask = take(&al, BHTT, 1, "activations (attention dropout mask)");
        la->ctx = take(&al, N * H, sizeof(float), "activations (attention context)");
        la->res1 = take(&al, N * H, sizeof(float), "activations (attention residual)");
        la->m1 = take(&al, N * H, 1, "activations (dropout mask)");
        la->mean1 = take(&al, N, sizeof(float), "activations (LayerNorm statistics)");
        la->rstd1 = take(&al, N, sizeof(float), "activations (LayerNorm statistics)");
        la->h1 = take(&al, N * H, sizeof(float), "activations (attention output)");
        la->ff_pre = take(&al, N * F, sizeof(float), "activations (feed-forward)");
        la->ff_act = store ? take(&al, N * F, sizeof(float), "activations (GELU output)") : la->ff_pre;
        la->res2 = take(&al, N * H, sizeof(float), "activations (feed-forward residual)");
        la->m2 = take(&al, N * H, 1, "activations (dropout mask)");
        la->mean2 = take(&al, N, sizeof(float), "activations (LayerNorm statistics)");
        la->rstd2 = take(&al, N, sizeof(float), "activations (LayerNorm statistics)");
        la->out = take(&al, N * H, sizeof(float), "activations (layer output)");
        a->layer_bytes = a->bytes - before;
    }
    if (!store && !al.failed) { /* one set of buffers for every layer; the output ping-pongs */
        float *other = take(&al, N * H, sizeof(float), "activations (layer output)");
        for (int l = 1; l < m->L; l++) {
            a->layer[l] = a->layer[0];
            if (l % 2)
                a->layer[l].out = other;
        }
    }
    a->cls_in = take(&al, B * H, sizeof(float), "activations (first token)");
    a->cls_drop = a->cls_in;
    if (m->fam->head_pre_dropout) {
        a->cls_mask = take(&al, B * H, 1, "activations (head dropout mask)");
        a->cls_drop = take(&al, B * H, sizeof(float), "activations (head input)");
    }
    if (m->fam->head_act == SM_HEAD_GELU)
        a->head_pre = take(&al, B * H, sizeof(float), "activations (head pre-activation)");
    a->pooled = take(&al, B * H, sizeof(float), "activations (pooler)");
    a->pool_mask = take(&al, B * H, 1, "activations (classifier dropout mask)");
    a->pooled_drop = take(&al, B * H, sizeof(float), "activations (classifier input)");
    a->logits = take(&al, B * (size_t)m->C, sizeof(float), "activations (logits)");
    const size_t before = a->bytes;
    if (lender) {
        a->parts = lender->parts;
        a->scratch = lender->scratch;
        a->d_a = lender->d_a;
        a->d_b = lender->d_b;
        a->d_c = lender->d_c;
        a->d_big = lender->d_big;
        a->d_e = lender->d_e;
        a->share = lender;
        a->nshared = nshared;
        a->layer_bytes = lender->layer_bytes;
        take_sharing(&al, m);
        if (!lender->share && !al.failed) { /* the lender's own bookkeeping */
            acts_alloc ll = {lender, e, 0};
            take_sharing(&ll, m);
            al.failed = ll.failed;
            if (!ll.failed) {
                lender->share = lender;
                lender->nshared = nshared;
                lender->lent = 1;
                lender->holder = lender; /* they hold its own activations until another encode */
            }
        }
    } else {
        a->parts = sm_bert_threads(m);
        a->scratch = take(&al, (size_t)a->parts * 2 * TT, sizeof(float), "activations (attention scratch)");
    }
    if (store && !lender) {
        a->d_a = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_b = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_c = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_big = take(&al, N * (3 * H > F ? 3 * H : F), sizeof(float), "gradient scratch");
        if (m->has_proj)
            a->d_e = take(&al, N * E, sizeof(float), "gradient scratch");
    }
    a->scratch_bytes = lender ? lender->scratch_bytes : a->bytes - before;
    if (al.failed) {
        sm_bert_acts_free(a);
        return SM_ERR_NOMEM;
    }
    *out = a;
    return SM_OK;
}

sm_status sm_bert_acts_create(sm_bert_acts **out, const sm_bert *m, int max_B, int max_T, int store,
                              sm_error *e)
{
    return acts_create(out, m, max_B, max_T, store, NULL, 0, e);
}

sm_status sm_bert_acts_create_sharing(sm_bert_acts **out, const sm_bert *m, sm_bert_acts *lender, int nlayers,
                                      sm_error *e)
{
    *out = NULL;
    if (!lender || !lender->store)
        return sm_err(e, SM_ERR_INVALID, "activation workspace: sharing needs a workspace with storage to share");
    if (lender->share)
        return sm_err(e, SM_ERR_STATE, "activation workspace: the workspace already shares its buffers");
    if (nlayers < 0 || nlayers > m->L)
        return sm_err(e, SM_ERR_RANGE, "activation workspace: %d shared layers, the model has %d", nlayers, m->L);
    return acts_create(out, m, lender->max_B, lender->max_T, 1, lender, nlayers, e);
}

size_t sm_bert_acts_sharing_saves(const sm_bert_acts *lender, int nlayers)
{
    return (size_t)nlayers * lender->layer_bytes + lender->scratch_bytes;
}

void sm_bert_acts_free(sm_bert_acts *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nallocs; i++)
        sm_free_aligned(a->allocs[i]);
    free(a->allocs);
    free(a->layer);
    free(a);
}

size_t sm_bert_acts_bytes(const sm_bert_acts *a) { return a->bytes; }
float *sm_bert_acts_emb(sm_bert_acts *a) { return a->emb; }
const float *sm_bert_acts_hidden(const sm_bert_acts *a) { return a->hidden; }
const float *sm_bert_acts_pooled(const sm_bert_acts *a) { return a->pooled; }
const float *sm_bert_acts_logits(const sm_bert_acts *a) { return a->logits; }

sm_status sm_bert_check_outputs(const sm_bert *m, const sm_bert_acts *a, int B, sm_error *e)
{
    int C = m->cfg.num_labels;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < C; j++) {
            float v = a->logits[(size_t)i * (size_t)C + (size_t)j];
            if (!isfinite(v))
                return sm_err(e, SM_ERR_NONFINITE, "the model's output for row %d of the batch is not finite "
                              "(%g): its weights have diverged; use an earlier checkpoint", i + 1, (double)v);
        }
    return SM_OK;
}

/* ---- checks ----------------------------------------------------------------------------------- */

static sm_status check_shape(const sm_bert_acts *a, const sm_batch *b, const char *who, sm_error *e)
{
    if (!b || b->B <= 0 || b->T <= 0)
        return sm_err(e, SM_ERR_INVALID, "%s: empty batch", who);
    if (b->B > a->max_B || b->T > a->max_T)
        return sm_err(e, SM_ERR_RANGE,
                      "%s: batch %d x %d does not fit the activation workspace (%d x %d): create a larger one",
                      who, b->B, b->T, a->max_B, a->max_T);
    if (!b->mask)
        return sm_err(e, SM_ERR_INVALID, "%s: the batch has no attention mask", who);
    return SM_OK;
}

/* ---- embeddings ------------------------------------------------------------------------------- */

sm_status sm_bert_embed(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                        sm_bert_mode mode, sm_rng *rng, sm_error *e)
{
    sm_status st = check_shape(a, b, "embedding", e);
    if (st != SM_OK)
        return st;
    if (!b->ids || !b->types)
        return sm_err(e, SM_ERR_INVALID, "embedding: the batch has no token ids or type ids");
    const int B = b->B, T = b->T, H = m->H, E = m->E;
    const size_t N = (size_t)B * T;
    for (size_t n = 0; n < N; n++) {
        if (b->ids[n] < 0 || b->ids[n] >= m->V)
            return sm_err(e, SM_ERR_RANGE,
                          "embedding: token id %d (example %zu, position %zu) is outside the vocabulary [0, %d): "
                          "the tokenizer has more tokens than the model's vocab_size; use the vocab.txt (or "
                          "tokenizer.json) saved with these weights",
                          (int)b->ids[n], n / (size_t)T, n % (size_t)T, m->V);
        if (m->TV && (b->types[n] < 0 || b->types[n] >= m->TV))
            return sm_err(e, SM_ERR_RANGE,
                          "embedding: token type %d (example %zu, position %zu) is outside [0, %d) (type_vocab_size)",
                          (int)b->types[n], n / (size_t)T, n % (size_t)T, m->TV);
    }
    if (a->pos_ids) {
        const int32_t top = sm_roberta_positions(a->pos_ids, b->ids, B, T, m->cfg.pad_token_id);
        if (top >= m->P)
            return sm_err(e, SM_ERR_RANGE, "embedding: position id %d is outside max_position_embeddings %d",
                          (int)top, m->P);
    }
    const float p = m->cfg.hidden_dropout;
    const int drop = mode == SM_BERT_TRAIN && p > 0.0f;
    if (drop && !rng)
        return sm_err(e, SM_ERR_INVALID, "embedding: training mode needs a random generator for dropout");
    memcpy(a->ids, b->ids, N * sizeof(int32_t));
    memcpy(a->types, b->types, N * sizeof(int32_t));
    /* the embedding block's own output: emb, or emb_e before embeddings_project */
    float *out = m->has_proj ? a->emb_e : a->emb;
    if (m->fam == sm_bert_family_desc(SM_FAMILY_BERT))
        sm_embed_forward(a->emb_sum, b->ids, b->types, w + m->word, w + m->pos, w + m->type, B, T, H);
    else
        sm_embed_forward_pos(a->emb_sum, b->ids, m->TV ? b->types : NULL, a->pos_ids, w + m->word, w + m->pos,
                             m->TV ? w + m->type : NULL, B, T, E);
    p_layernorm_forward(m, out, a->emb_mean, a->emb_rstd, a->emb_sum, w + m->eln_w, w + m->eln_b, (int)N, E);
    if (drop) {
        p_dropout_mask(m, a->emb_mask, N * E, p, rng);
        p_dropout_copy(m, out, out, a->emb_mask, N * E, p);
    }
    if (m->has_proj)
        p_linear_forward(m, a->emb, a->emb_e, w + m->proj_w, w + m->proj_b, (int)N, E, H);
    a->emb_B = B;
    a->emb_T = T;
    a->emb_drop = drop;
    a->have_embed = 1;
    return SM_OK;
}

sm_status sm_bert_embed_backward(const sm_bert *m, const float *w, float *g, sm_bert_acts *a,
                                 const float *demb, sm_error *e)
{
    if (!a->have_embed)
        return sm_err(e, SM_ERR_STATE, "embedding backward: no embedding forward on this workspace");
    if (!a->store)
        return sm_err(e, SM_ERR_STATE, "embedding backward: the workspace was created without storage");
    if (!g)
        return SM_OK;
    const int B = a->emb_B, T = a->emb_T, E = m->E;
    const size_t NE = (size_t)B * T * E;
    float *d = a->d_c; /* free outside sm_bert_backward */
    if (m->has_proj) { /* through embeddings_project into d_e [N, E] */
        p_linear_backward(m, a->d_e, 0, g + m->proj_w, g + m->proj_b, demb, a->emb_e, w + m->proj_w, B * T, E,
                          m->H);
        demb = a->d_e;
        d = a->d_e;
    }
    if (a->emb_drop)
        p_dropout_copy(m, d, demb, a->emb_mask, NE, m->cfg.hidden_dropout);
    else if (d != demb)
        memcpy(d, demb, NE * sizeof(float));
    p_layernorm_backward(m, d, g + m->eln_w, g + m->eln_b, d, a->emb_sum, a->emb_mean, a->emb_rstd,
                         w + m->eln_w, B * T, E);
    if (m->fam == sm_bert_family_desc(SM_FAMILY_BERT))
        sm_embed_backward(g + m->word, g + m->pos, g + m->type, d, a->ids, a->types, B, T, E,
                          m->cfg.pad_token_id);
    else
        sm_embed_backward_pos(g + m->word, g + m->pos, m->TV ? g + m->type : NULL, d, a->ids, a->types,
                              a->pos_ids, B, T, E, m->cfg.pad_token_id,
                              m->fam->roberta_positions ? m->cfg.pad_token_id : -1);
    return SM_OK;
}

/* ---- encoder ---------------------------------------------------------------------------------- */

static void layer_forward(const sm_bert *m, const float *w, const sm_layer_off *o, sm_layer_acts *la,
                          const float *x, const float *mask, int B, int T, int train, sm_rng *rng,
                          sm_bert_acts *a)
{
    const int H = m->H, F = m->F, N = B * T;
    const size_t NH = (size_t)N * H;
    const float ph = m->cfg.hidden_dropout, pa = m->cfg.attn_dropout;
    const int drop_h = train && ph > 0.0f, drop_a = train && pa > 0.0f;
    const int drop_h1 = drop_h && m->fam->ao_dropout; /* DistilBERT: none after out_lin */

    p_linear_forward(m, la->qkv, x, w + o->qkv_w, w + o->qkv_b, N, H, 3 * H);
    job j = {.kind = J_ATT_FWD, .la = la, .keep_w = drop_a ? la->pmask : NULL, .mask = mask, .B = B, .T = T,
             .p = pa, .seed = drop_a ? sm_dropout_seed(rng) : 0};
    p_attention(m, a, &j);
    p_linear_forward(m, la->res1, la->ctx, w + o->ao_w, w + o->ao_b, N, H, H);
    if (drop_h1)
        p_dropout_mask(m, la->m1, NH, ph, rng);
    p_dropout_residual(m, la->res1, x, drop_h1 ? la->m1 : NULL, NH, ph);
    p_layernorm_forward(m, la->h1, la->mean1, la->rstd1, la->res1, w + o->ln1_w, w + o->ln1_b, N, H);

    p_linear_forward(m, la->ff_pre, la->h1, w + o->ff1_w, w + o->ff1_b, N, H, F);
    p_gelu_forward(m, la->ff_act, la->ff_pre, (size_t)N * F);
    p_linear_forward(m, la->res2, la->ff_act, w + o->ff2_w, w + o->ff2_b, N, F, H);
    if (drop_h)
        p_dropout_mask(m, la->m2, NH, ph, rng);
    p_dropout_residual(m, la->res2, la->h1, drop_h ? la->m2 : NULL, NH, ph);
    p_layernorm_forward(m, la->out, la->mean2, la->rstd2, la->res2, w + o->ln2_w, w + o->ln2_b, N, H);
}

sm_status sm_bert_encode(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                         const float *emb, const float *delta, sm_bert_mode mode, sm_rng *rng,
                         sm_error *e)
{
    sm_status st = check_shape(a, b, "encoder", e);
    if (st != SM_OK)
        return st;
    const int train = mode == SM_BERT_TRAIN;
    const sm_bert_config *c = &m->cfg;
    if (train && !rng && (c->hidden_dropout > 0.0f || c->attn_dropout > 0.0f || c->classifier_dropout > 0.0f))
        return sm_err(e, SM_ERR_INVALID, "encoder: training mode needs a random generator for dropout");
    const int B = b->B, T = b->T, H = m->H, C = m->C;
    const size_t NH = (size_t)B * T * H;
    if (!emb) {
        if (!a->have_embed || a->emb_B != B || a->emb_T != T)
            return sm_err(e, SM_ERR_STATE,
                          "encoder: no embedding of this %d x %d batch on the workspace (call sm_bert_embed first)",
                          B, T);
        emb = a->emb;
    }
    if (!delta && emb == a->emb) {
        a->x0 = a->emb;
    } else {
        if (delta)
            for (size_t i = 0; i < NH; i++)
                a->xin[i] = emb[i] + delta[i];
        else
            memcpy(a->xin, emb, NH * sizeof(float));
        a->x0 = a->xin;
    }

    if (a->share) { /* what a recomputation of the shared layers needs */
        memcpy(a->mask_copy, b->mask, (size_t)B * T * sizeof(float));
        a->share->holder = a;
    }
    const float *x = a->x0;
    for (int l = 0; l < m->L; l++) {
        if (a->share && l >= m->L - a->nshared) {
            a->layer_has_rng[l] = rng != NULL;
            if (rng)
                a->layer_rng[l] = *rng;
        }
        layer_forward(m, w, &m->layer[l], &a->layer[l], x, b->mask, B, T, train, rng, a);
        x = a->layer[l].out;
    }
    a->hidden = x;

    /* the head: act(dense(h[:, 0])) (BERT's pooler; RoBERTa and ELECTRA with dropout before the dense
     * layer), its output layer on dropout(pooled) */
    for (int i = 0; i < B; i++)
        memcpy(a->cls_in + (size_t)i * H, x + (size_t)i * T * H, (size_t)H * sizeof(float));
    const float pc = c->classifier_dropout;
    const int head_drop = train && pc > 0.0f;
    const float *hin = a->cls_in;
    if (m->fam->head_pre_dropout) {
        memcpy(a->cls_drop, a->cls_in, (size_t)B * H * sizeof(float));
        if (head_drop) {
            p_dropout_mask(m, a->cls_mask, (size_t)B * H, pc, rng);
            sm_dropout_apply(a->cls_drop, a->cls_mask, (size_t)B * H, pc);
        }
        hin = a->cls_drop;
    }
    switch (m->fam->head_act) {
    case SM_HEAD_TANH:
        sm_linear_forward(a->pooled, hin, w + m->pool_w, w + m->pool_b, B, H, H);
        sm_tanh_forward(a->pooled, a->pooled, (size_t)B * H);
        break;
    case SM_HEAD_RELU:
        sm_linear_forward(a->pooled, hin, w + m->pool_w, w + m->pool_b, B, H, H);
        for (size_t i = 0; i < (size_t)B * H; i++)
            a->pooled[i] = a->pooled[i] > 0.0f ? a->pooled[i] : 0.0f;
        break;
    case SM_HEAD_GELU:
        sm_linear_forward(a->head_pre, hin, w + m->pool_w, w + m->pool_b, B, H, H);
        sm_gelu_forward(a->pooled, a->head_pre, (size_t)B * H);
        break;
    }
    memcpy(a->pooled_drop, a->pooled, (size_t)B * H * sizeof(float));
    a->pool_drop = head_drop;
    if (a->pool_drop) {
        p_dropout_mask(m, a->pool_mask, (size_t)B * H, pc, rng);
        sm_dropout_apply(a->pooled_drop, a->pool_mask, (size_t)B * H, pc);
    }
    sm_linear_forward(a->logits, a->pooled_drop, w + m->cls_w, w + m->cls_b, B, H, C);

    a->B = B;
    a->T = T;
    a->train = train;
    a->have_encode = 1;
    return SM_OK;
}

sm_status sm_bert_forward(const sm_bert *m, const float *w, sm_bert_acts *a, const sm_batch *b,
                          sm_bert_mode mode, sm_rng *rng, sm_error *e)
{
    sm_status st = sm_bert_embed(m, w, a, b, mode, rng, e);
    return st != SM_OK ? st : sm_bert_encode(m, w, a, b, NULL, NULL, mode, rng, e);
}

/* ---- backward --------------------------------------------------------------------------------- */

/* d_a holds d loss / d layer output on entry and d loss / d layer input x on return. */
static void layer_backward(const sm_bert *m, const float *w, float *g, const sm_layer_off *o,
                           sm_layer_acts *la, const float *x, int B, int T, int train, sm_bert_acts *a)
{
    const int H = m->H, F = m->F, N = B * T;
    const size_t NH = (size_t)N * H;
    const float ph = m->cfg.hidden_dropout, pa = m->cfg.attn_dropout;
    const int drop_h = train && ph > 0.0f, drop_a = train && pa > 0.0f;
    float *da = a->d_a, *db = a->d_b, *dc = a->d_c, *dbig = a->d_big;
#define G(off) (g ? g + (off) : NULL)

    /* out = LN2(res2), res2 = h1 + dropout(ff2(ff_act)) */
    p_layernorm_backward(m, db, G(o->ln2_w), G(o->ln2_b), da, la->res2, la->mean2, la->rstd2, w + o->ln2_w, N, H);
    const float *dff2 = db; /* db also stays d h1 (residual part) */
    if (drop_h) {
        p_dropout_copy(m, da, db, la->m2, NH, ph);
        dff2 = da;
    }
    p_linear_backward(m, dbig, 0, G(o->ff2_w), G(o->ff2_b), dff2, la->ff_act, w + o->ff2_w, N, F, H);
    p_gelu_backward(m, dbig, dbig, la->ff_pre, (size_t)N * F);
    p_linear_backward(m, db, 1, G(o->ff1_w), G(o->ff1_b), dbig, la->h1, w + o->ff1_w, N, H, F);

    /* h1 = LN1(res1), res1 = x + dropout(ao(ctx)) */
    p_layernorm_backward(m, da, G(o->ln1_w), G(o->ln1_b), db, la->res1, la->mean1, la->rstd1, w + o->ln1_w, N, H);
    const float *dao = da; /* da also stays d x (residual part) */
    if (drop_h && m->fam->ao_dropout) {
        p_dropout_copy(m, db, da, la->m1, NH, ph);
        dao = db;
    }
    p_linear_backward(m, dc, 0, G(o->ao_w), G(o->ao_b), dao, la->ctx, w + o->ao_w, N, H, H);
    job j = {.kind = J_ATT_BWD, .la = la, .y = dbig, .x2 = dc, .keep = drop_a ? la->pmask : NULL, .B = B, .T = T,
             .p = pa};
    p_attention(m, a, &j);
    p_linear_backward(m, da, 1, G(o->qkv_w), G(o->qkv_b), dbig, x, w + o->qkv_w, N, H, 3 * H);
#undef G
}

/* The shared layers hold another workspace's activations: run them again from this workspace's own
 * input of the first shared layer, with the random stream each layer started from and the same
 * attention mask. The same kernels in the same order on the same inputs: the same bits. */
static void recompute_shared(const sm_bert *m, const float *w, sm_bert_acts *a)
{
    for (int l = m->L - a->nshared; l < m->L; l++) {
        sm_rng r = a->layer_rng[l];
        const float *x = l ? a->layer[l - 1].out : a->x0;
        layer_forward(m, w, &m->layer[l], &a->layer[l], x, a->mask_copy, a->B, a->T, a->train,
                      a->layer_has_rng[l] ? &r : NULL, a);
    }
    a->share->holder = a;
}

sm_status sm_bert_backward(const sm_bert *m, const float *w, float *g, sm_bert_acts *a,
                           const float *dlogits, float *dx, sm_error *e)
{
    if (!a->store)
        return sm_err(e, SM_ERR_STATE, "backward: the workspace was created without storage (inference only)");
    if (!a->have_encode)
        return sm_err(e, SM_ERR_STATE, "backward: no forward pass to differentiate on this workspace");
    if (a->share && a->nshared > 0 && a->share->holder != a)
        recompute_shared(m, w, a);
    const int B = a->B, T = a->T, H = m->H, C = m->C;
    const size_t NH = (size_t)B * T * H;
    float *dpd = a->d_b, *dpre = a->d_c;

    /* classifier and pooler, on B rows */
    sm_linear_backward(dpd, 0, g ? g + m->cls_w : NULL, g ? g + m->cls_b : NULL, dlogits,
                       a->pooled_drop, w + m->cls_w, B, H, C);
    if (a->pool_drop)
        sm_dropout_apply(dpd, a->pool_mask, (size_t)B * H, m->cfg.classifier_dropout);
    switch (m->fam->head_act) {
    case SM_HEAD_TANH:
        sm_tanh_backward(dpre, dpd, a->pooled, (size_t)B * H);
        break;
    case SM_HEAD_RELU:
        for (size_t i = 0; i < (size_t)B * H; i++)
            dpre[i] = a->pooled[i] > 0.0f ? dpd[i] : 0.0f;
        break;
    case SM_HEAD_GELU:
        sm_gelu_backward(dpre, dpd, a->head_pre, (size_t)B * H);
        break;
    }
    sm_linear_backward(dpd, 0, g ? g + m->pool_w : NULL, g ? g + m->pool_b : NULL, dpre, a->cls_drop,
                       w + m->pool_w, B, H, H);
    if (m->fam->head_pre_dropout && a->pool_drop)
        sm_dropout_apply(dpd, a->cls_mask, (size_t)B * H, m->cfg.classifier_dropout);
    /* only the first token of each example reaches the pooler */
    memset(a->d_a, 0, NH * sizeof(float));
    for (int i = 0; i < B; i++)
        memcpy(a->d_a + (size_t)i * T * H, dpd + (size_t)i * H, (size_t)H * sizeof(float));

    for (int l = m->L - 1; l >= 0; l--) {
        const float *x = l ? a->layer[l - 1].out : a->x0;
        layer_backward(m, w, g, &m->layer[l], &a->layer[l], x, B, T, a->train, a);
    }
    if (dx)
        memcpy(dx, a->d_a, NH * sizeof(float));
    return SM_OK;
}

/* ---- losses ----------------------------------------------------------------------------------- */

double sm_loss_cross_entropy(const float *logits, const int32_t *labels, int B, int C, float *dlogits)
{
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        double mx = z[0];
        for (int c = 1; c < C; c++)
            mx = z[c] > mx ? z[c] : mx;
        double s = 0.0;
        for (int c = 0; c < C; c++)
            s += exp((double)z[c] - mx);
        const double lse = mx + log(s);
        total += lse - z[labels[b]];
        if (dlogits)
            for (int c = 0; c < C; c++)
                dlogits[(size_t)b * C + c] =
                    (float)((exp((double)z[c] - lse) - (c == labels[b] ? 1.0 : 0.0)) / B);
    }
    return total / B;
}

double sm_loss_mse(const float *pred, const float *targets, int B, float *dpred)
{
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const double d = (double)pred[b] - targets[b];
        total += d * d;
        if (dpred)
            dpred[b] = (float)(2.0 * d / B);
    }
    return total / B;
}

sm_status sm_bert_task_loss(const sm_bert *m, const float *logits, const sm_batch *b, double *loss,
                            float *dlogits, sm_error *e)
{
    if (m->cfg.problem == SM_PROBLEM_REGRESSION || m->C == 1) {
        if (!b->targets)
            return sm_err(e, SM_ERR_INVALID, "loss: regression needs targets in the batch");
        *loss = sm_loss_mse(logits, b->targets, b->B, dlogits);
        return SM_OK;
    }
    if (!b->labels)
        return sm_err(e, SM_ERR_INVALID, "loss: classification needs labels in the batch");
    for (int i = 0; i < b->B; i++)
        if (b->labels[i] < 0 || b->labels[i] >= m->C)
            return sm_err(e, SM_ERR_RANGE, "loss: label %d of example %d is outside [0, %d) (num_labels)",
                          (int)b->labels[i], i, m->C);
    *loss = sm_loss_cross_entropy(logits, b->labels, b->B, m->C, dlogits);
    return SM_OK;
}
