/* model_pass.c: BERT's forward and backward passes over a batch, the activation workspaces they use,
 * and the task losses. Composes the kernels of ops.c; knows nothing of files, optimizers or SMART
 * beyond the two hooks SMART needs (an additive perturbation of the encoder input, and a backward
 * pass that yields d loss / d encoder input without touching parameter gradients).
 *
 * Activation layout and why:
 * - Every activation is row-major [N, features] with N = B*T rows (token n = b*T + t) of the CURRENT
 *   batch, packed at the start of buffers sized for max_B*max_T: a smaller batch or a shorter padded
 *   length (dynamic padding) just uses fewer rows. Every nn.Linear is then one sgemm with M = B*T.
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
 * - The backward pass runs on three [N, H] gradient buffers and one [N, max(3H, F)] buffer; the
 *   weight-gradient sgemm (dW += dY^T X) and the bias column sums are skipped when no gradient arena
 *   is given (SMART's ascent).
 * - The encoder reads x0 = emb + delta; when there is no delta and emb is the workspace's own, x0 is
 *   emb itself (no copy). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model_internal.h"
#include "lib/ops.h"

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

sm_status sm_bert_acts_create(sm_bert_acts **out, const sm_bert *m, int max_B, int max_T, int store,
                              sm_error *e)
{
    *out = NULL;
    if (max_B <= 0 || max_T <= 0)
        return sm_err(e, SM_ERR_INVALID, "activation workspace: batch %d x length %d must be positive",
                      max_B, max_T);
    if (max_T > m->P)
        return sm_err(e, SM_ERR_RANGE,
                      "activation workspace: length %d exceeds the model's max_position_embeddings %d",
                      max_T, m->P);
    sm_bert_acts *a = sm_calloc(1, sizeof *a, e, "the activation workspace");
    if (!a)
        return SM_ERR_NOMEM;
    a->max_B = max_B;
    a->max_T = max_T;
    a->store = store ? 1 : 0;
    acts_alloc al = {a, e, 0};
    const size_t N = (size_t)max_B * max_T, H = (size_t)m->H, F = (size_t)m->F;
    const size_t TT = (size_t)max_T * max_T, BHTT = (size_t)max_B * m->NH * TT;
    const size_t B = (size_t)max_B;

    a->layer = sm_calloc((size_t)m->L, sizeof *a->layer, e, "the activation workspace");
    if (!a->layer) {
        sm_bert_acts_free(a);
        return SM_ERR_NOMEM;
    }
    a->emb_sum = take(&al, N * H, sizeof(float), "activations (embedding sum)");
    a->emb_mean = take(&al, N, sizeof(float), "activations (embedding statistics)");
    a->emb_rstd = take(&al, N, sizeof(float), "activations (embedding statistics)");
    a->emb_mask = take(&al, N * H, 1, "activations (embedding dropout mask)");
    a->emb = take(&al, N * H, sizeof(float), "activations (embedding output)");
    a->xin = take(&al, N * H, sizeof(float), "activations (encoder input)");
    a->ids = take(&al, N, sizeof(int32_t), "activations (token ids)");
    a->types = take(&al, N, sizeof(int32_t), "activations (token types)");
    const int nsets = store ? m->L : 1;
    for (int l = 0; l < nsets; l++) {
        sm_layer_acts *la = &a->layer[l];
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
    a->pooled = take(&al, B * H, sizeof(float), "activations (pooler)");
    a->pool_mask = take(&al, B * H, 1, "activations (classifier dropout mask)");
    a->pooled_drop = take(&al, B * H, sizeof(float), "activations (classifier input)");
    a->logits = take(&al, B * (size_t)m->C, sizeof(float), "activations (logits)");
    a->scratch = take(&al, 2 * TT, sizeof(float), "activations (attention scratch)");
    if (store) {
        a->d_a = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_b = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_c = take(&al, N * H, sizeof(float), "gradient scratch");
        a->d_big = take(&al, N * (3 * H > F ? 3 * H : F), sizeof(float), "gradient scratch");
    }
    if (al.failed) {
        sm_bert_acts_free(a);
        return SM_ERR_NOMEM;
    }
    *out = a;
    return SM_OK;
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
    const int B = b->B, T = b->T, H = m->H;
    const size_t N = (size_t)B * T;
    for (size_t n = 0; n < N; n++) {
        if (b->ids[n] < 0 || b->ids[n] >= m->V)
            return sm_err(e, SM_ERR_RANGE,
                          "embedding: token id %d (example %zu, position %zu) is outside the vocabulary [0, %d)",
                          (int)b->ids[n], n / (size_t)T, n % (size_t)T, m->V);
        if (b->types[n] < 0 || b->types[n] >= m->TV)
            return sm_err(e, SM_ERR_RANGE,
                          "embedding: token type %d (example %zu, position %zu) is outside [0, %d) (type_vocab_size)",
                          (int)b->types[n], n / (size_t)T, n % (size_t)T, m->TV);
    }
    const float p = m->cfg.hidden_dropout;
    const int drop = mode == SM_BERT_TRAIN && p > 0.0f;
    if (drop && !rng)
        return sm_err(e, SM_ERR_INVALID, "embedding: training mode needs a random generator for dropout");
    memcpy(a->ids, b->ids, N * sizeof(int32_t));
    memcpy(a->types, b->types, N * sizeof(int32_t));
    sm_embed_forward(a->emb_sum, b->ids, b->types, w + m->word, w + m->pos, w + m->type, B, T, H);
    sm_layernorm_forward(a->emb, a->emb_mean, a->emb_rstd, a->emb_sum, w + m->eln_w, w + m->eln_b,
                         (int)N, H, m->cfg.layer_norm_eps);
    if (drop) {
        sm_dropout_mask(a->emb_mask, N * H, p, rng);
        sm_dropout_apply(a->emb, a->emb_mask, N * H, p);
    }
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
    const int B = a->emb_B, T = a->emb_T, H = m->H;
    const size_t NH = (size_t)B * T * H;
    float *d = a->d_c; /* free outside sm_bert_backward */
    memcpy(d, demb, NH * sizeof(float));
    if (a->emb_drop)
        sm_dropout_apply(d, a->emb_mask, NH, m->cfg.hidden_dropout);
    sm_layernorm_backward(d, g + m->eln_w, g + m->eln_b, d, a->emb_sum, a->emb_mean, a->emb_rstd,
                          w + m->eln_w, B * T, H);
    sm_embed_backward(g + m->word, g + m->pos, g + m->type, d, a->ids, a->types, B, T, H,
                      m->cfg.pad_token_id);
    return SM_OK;
}

/* ---- encoder ---------------------------------------------------------------------------------- */

/* res[n] = x[n] + dropout(res[n]) */
static void dropout_residual(float *res, const float *x, const uint8_t *keep, size_t n, float p)
{
    if (keep) {
        const float s = 1.0f / (1.0f - p);
        for (size_t i = 0; i < n; i++)
            res[i] = x[i] + (keep[i] ? res[i] * s : 0.0f);
    } else {
        for (size_t i = 0; i < n; i++)
            res[i] += x[i];
    }
}

static void layer_forward(const sm_bert *m, const float *w, const sm_layer_off *o, sm_layer_acts *la,
                          const float *x, const float *mask, int B, int T, int train, sm_rng *rng,
                          float *scratch)
{
    const int H = m->H, F = m->F, N = B * T;
    const size_t NH = (size_t)N * H;
    const float ph = m->cfg.hidden_dropout, pa = m->cfg.attn_dropout, eps = m->cfg.layer_norm_eps;
    const int drop_h = train && ph > 0.0f, drop_a = train && pa > 0.0f;

    sm_linear_forward(la->qkv, x, w + o->qkv_w, w + o->qkv_b, N, H, 3 * H);
    sm_attention_forward(la->ctx, la->probs, drop_a ? la->pmask : NULL, la->qkv, mask, B, T, m->NH,
                         m->D, pa, rng, scratch);
    sm_linear_forward(la->res1, la->ctx, w + o->ao_w, w + o->ao_b, N, H, H);
    if (drop_h)
        sm_dropout_mask(la->m1, NH, ph, rng);
    dropout_residual(la->res1, x, drop_h ? la->m1 : NULL, NH, ph);
    sm_layernorm_forward(la->h1, la->mean1, la->rstd1, la->res1, w + o->ln1_w, w + o->ln1_b, N, H, eps);

    sm_linear_forward(la->ff_pre, la->h1, w + o->ff1_w, w + o->ff1_b, N, H, F);
    sm_gelu_forward(la->ff_act, la->ff_pre, (size_t)N * F);
    sm_linear_forward(la->res2, la->ff_act, w + o->ff2_w, w + o->ff2_b, N, F, H);
    if (drop_h)
        sm_dropout_mask(la->m2, NH, ph, rng);
    dropout_residual(la->res2, la->h1, drop_h ? la->m2 : NULL, NH, ph);
    sm_layernorm_forward(la->out, la->mean2, la->rstd2, la->res2, w + o->ln2_w, w + o->ln2_b, N, H, eps);
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

    const float *x = a->x0;
    for (int l = 0; l < m->L; l++) {
        layer_forward(m, w, &m->layer[l], &a->layer[l], x, b->mask, B, T, train, rng, a->scratch);
        x = a->layer[l].out;
    }
    a->hidden = x;

    /* pooler: tanh(dense(h[:, 0])); classifier on dropout(pooled) */
    for (int i = 0; i < B; i++)
        memcpy(a->cls_in + (size_t)i * H, x + (size_t)i * T * H, (size_t)H * sizeof(float));
    sm_linear_forward(a->pooled, a->cls_in, w + m->pool_w, w + m->pool_b, B, H, H);
    sm_tanh_forward(a->pooled, a->pooled, (size_t)B * H);
    memcpy(a->pooled_drop, a->pooled, (size_t)B * H * sizeof(float));
    const float pc = c->classifier_dropout;
    a->pool_drop = train && pc > 0.0f;
    if (a->pool_drop) {
        sm_dropout_mask(a->pool_mask, (size_t)B * H, pc, rng);
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
    sm_layernorm_backward(db, G(o->ln2_w), G(o->ln2_b), da, la->res2, la->mean2, la->rstd2,
                          w + o->ln2_w, N, H);
    const float *dff2 = db; /* db also stays d h1 (residual part) */
    if (drop_h) {
        memcpy(da, db, NH * sizeof(float));
        sm_dropout_apply(da, la->m2, NH, ph);
        dff2 = da;
    }
    sm_linear_backward(dbig, 0, G(o->ff2_w), G(o->ff2_b), dff2, la->ff_act, w + o->ff2_w, N, F, H);
    sm_gelu_backward(dbig, dbig, la->ff_pre, (size_t)N * F);
    sm_linear_backward(db, 1, G(o->ff1_w), G(o->ff1_b), dbig, la->h1, w + o->ff1_w, N, H, F);

    /* h1 = LN1(res1), res1 = x + dropout(ao(ctx)) */
    sm_layernorm_backward(da, G(o->ln1_w), G(o->ln1_b), db, la->res1, la->mean1, la->rstd1,
                          w + o->ln1_w, N, H);
    const float *dao = da; /* da also stays d x (residual part) */
    if (drop_h) {
        memcpy(db, da, NH * sizeof(float));
        sm_dropout_apply(db, la->m1, NH, ph);
        dao = db;
    }
    sm_linear_backward(dc, 0, G(o->ao_w), G(o->ao_b), dao, la->ctx, w + o->ao_w, N, H, H);
    sm_attention_backward(dbig, dc, la->qkv, la->probs, drop_a ? la->pmask : NULL, B, T, m->NH, m->D,
                          pa, a->scratch);
    sm_linear_backward(da, 1, G(o->qkv_w), G(o->qkv_b), dbig, x, w + o->qkv_w, N, H, 3 * H);
#undef G
}

sm_status sm_bert_backward(const sm_bert *m, const float *w, float *g, sm_bert_acts *a,
                           const float *dlogits, float *dx, sm_error *e)
{
    if (!a->store)
        return sm_err(e, SM_ERR_STATE, "backward: the workspace was created without storage (inference only)");
    if (!a->have_encode)
        return sm_err(e, SM_ERR_STATE, "backward: no forward pass to differentiate on this workspace");
    const int B = a->B, T = a->T, H = m->H, C = m->C;
    const size_t NH = (size_t)B * T * H;
    float *dpd = a->d_b, *dpre = a->d_c;

    /* classifier and pooler, on B rows */
    sm_linear_backward(dpd, 0, g ? g + m->cls_w : NULL, g ? g + m->cls_b : NULL, dlogits,
                       a->pooled_drop, w + m->cls_w, B, H, C);
    if (a->pool_drop)
        sm_dropout_apply(dpd, a->pool_mask, (size_t)B * H, m->cfg.classifier_dropout);
    sm_tanh_backward(dpre, dpd, a->pooled, (size_t)B * H);
    sm_linear_backward(dpd, 0, g ? g + m->pool_w : NULL, g ? g + m->pool_b : NULL, dpre, a->cls_in,
                       w + m->pool_w, B, H, H);
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
