/* check_ops.c: every kernel's backward against central finite differences (embedding, LayerNorm,
 * GELU, tanh, masked softmax, dropout, masked attention with dropout, linear, pooler, cross-entropy,
 * MSE), then the whole model on a tiny random configuration (every parameter, the encoder input, in
 * eval and in train mode with fixed dropout masks), plus the model's table, init and error cases.
 * The objective is L = sum(out * R) for a fixed random R, accumulated in double; each input is moved
 * by +-h and +-2h (fourth-order central difference, so that h can be large against float noise). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/ops.h"
#include "smartty/model.h"
#include "testutil.h"

/* ---- the finite-difference checker ------------------------------------------------------------ */

typedef double (*objective_fn)(void *ctx);

/* Compare analytic[i] with the central difference of f in x[i], for every i (stride 1) or a spread
 * subset. atol + rtol * max(|num|, |ana|). Fails with the op, the element and both values. */
static void fd_check(const char *what, float *x, size_t n, size_t stride, const float *analytic,
                     objective_fn f, void *ctx, float h, double atol, double rtol)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i += stride) {
        const float save = x[i];
        double l[4];
        const float steps[4] = {-2.0f * h, -h, h, 2.0f * h};
        for (int k = 0; k < 4; k++) {
            x[i] = save + steps[k];
            l[k] = f(ctx);
        }
        x[i] = save;
        /* fourth-order central difference: truncation error O(h^4) */
        const double num = (8.0 * (l[2] - l[1]) - (l[3] - l[0])) / (12.0 * (double)h);
        const double ana = analytic[i];
        const double err = fabs(num - ana), lim = atol + rtol * fmax(fabs(num), fabs(ana));
        if (err / lim > worst)
            worst = err / lim;
        ck_assert_msg(err <= lim, "%s: element %zu: finite difference %.8g, backward %.8g", what, i, num, ana);
    }
    if (getenv("FD_VERBOSE"))
        fprintf(stderr, "%-70s worst error / tolerance %.3f\n", what, worst);
    ck_assert_msg(worst <= 1.0, "%s", what);
}

static void fill_normal(float *x, size_t n, double std, sm_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(std * sm_rng_normal(r));
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static float *fl(size_t n)
{
    float *p = calloc(n, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---- linear ---------------------------------------------------------------------------------- */

enum { LN_N = 5, LN_K = 7, LN_O = 4 };
typedef struct lin_ctx {
    float in[LN_N * LN_K], w[LN_O * LN_K], b[LN_O], out[LN_N * LN_O], r[LN_N * LN_O];
} lin_ctx;

static double lin_f(void *p)
{
    lin_ctx *c = p;
    sm_linear_forward(c->out, c->in, c->w, c->b, LN_N, LN_K, LN_O);
    return dot(c->out, c->r, LN_N * LN_O);
}

START_TEST(test_linear)
{
    sm_rng rng;
    sm_rng_seed(&rng, 1);
    lin_ctx c;
    fill_normal(c.in, LN_N * LN_K, 1, &rng);
    fill_normal(c.w, LN_O * LN_K, 1, &rng);
    fill_normal(c.b, LN_O, 1, &rng);
    fill_normal(c.r, LN_N * LN_O, 1, &rng);
    float din[LN_N * LN_K], dw[LN_O * LN_K] = {0}, db[LN_O] = {0};
    lin_f(&c);
    sm_linear_backward(din, 0, dw, db, c.r, c.in, c.w, LN_N, LN_K, LN_O);
    fd_check("linear d in", c.in, LN_N * LN_K, 1, din, lin_f, &c, 1e-2f, 1e-4, 1e-3);
    fd_check("linear d weight", c.w, LN_O * LN_K, 1, dw, lin_f, &c, 1e-2f, 1e-4, 1e-3);
    fd_check("linear d bias", c.b, LN_O, 1, db, lin_f, &c, 1e-2f, 1e-4, 1e-3);
    /* accumulation: a second backward adds the same amounts, din_accumulate adds to din */
    float din2[LN_N * LN_K];
    memcpy(din2, din, sizeof din);
    sm_linear_backward(din2, 1, dw, db, c.r, c.in, c.w, LN_N, LN_K, LN_O);
    float dw1[LN_O * LN_K] = {0}, db1[LN_O] = {0};
    sm_linear_backward(NULL, 0, dw1, db1, c.r, c.in, c.w, LN_N, LN_K, LN_O);
    for (int i = 0; i < LN_N * LN_K; i++)
        ck_assert(fabsf(din2[i] - 2 * din[i]) <= 1e-5f * (1 + fabsf(din[i])));
    for (int i = 0; i < LN_O * LN_K; i++)
        ck_assert(fabsf(dw[i] - 2 * dw1[i]) <= 1e-5f * (1 + fabsf(dw1[i])));
    for (int i = 0; i < LN_O; i++)
        ck_assert(fabsf(db[i] - 2 * db1[i]) <= 1e-5f * (1 + fabsf(db1[i])));
}
END_TEST

/* ---- LayerNorm -------------------------------------------------------------------------------- */

enum { LNN = 4, LNH = 9 };
typedef struct ln_ctx {
    float in[LNN * LNH], g[LNH], b[LNH], out[LNN * LNH], r[LNN * LNH], mean[LNN], rstd[LNN];
    float eps;
} ln_ctx;

static double ln_f(void *p)
{
    ln_ctx *c = p;
    sm_layernorm_forward(c->out, c->mean, c->rstd, c->in, c->g, c->b, LNN, LNH, c->eps);
    return dot(c->out, c->r, LNN * LNH);
}

START_TEST(test_layernorm)
{
    sm_rng rng;
    sm_rng_seed(&rng, 2);
    ln_ctx c;
    c.eps = 1e-12f;
    fill_normal(c.in, LNN * LNH, 2, &rng);
    for (int i = 0; i < LNH; i++)
        c.in[i] += 5.0f; /* an offset row: the mean must be removed */
    fill_normal(c.g, LNH, 1, &rng);
    fill_normal(c.b, LNH, 1, &rng);
    fill_normal(c.r, LNN * LNH, 1, &rng);
    ln_f(&c);
    /* the forward itself: mean 0 and variance 1 before the affine part */
    for (int n = 0; n < LNN; n++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < LNH; i++) {
            double xh = (c.out[n * LNH + i] - c.b[i]) / c.g[i];
            s += xh;
            s2 += xh * xh;
        }
        ck_assert(fabs(s / LNH) < 1e-4 && fabs(s2 / LNH - 1) < 1e-3);
    }
    float din[LNN * LNH], dg[LNH] = {0}, db[LNH] = {0};
    sm_layernorm_backward_params(dg, db, c.r, c.in, c.mean, c.rstd, LNN, LNH, 0, 4);
    sm_layernorm_backward_params(dg, db, c.r, c.in, c.mean, c.rstd, LNN, LNH, 4, LNH); /* in two parts */
    sm_layernorm_backward(din, c.r, c.in, c.mean, c.rstd, c.g, LNN, LNH);
    fd_check("LayerNorm d in", c.in, LNN * LNH, 1, din, ln_f, &c, 1e-2f, 5e-4, 5e-3);
    fd_check("LayerNorm d weight", c.g, LNH, 1, dg, ln_f, &c, 1e-2f, 5e-4, 5e-3);
    fd_check("LayerNorm d bias", c.b, LNH, 1, db, ln_f, &c, 1e-2f, 5e-4, 5e-3);
}
END_TEST

/* ---- GELU, tanh (pointwise) --------------------------------------------------------------------- */

enum { PW = 64 };
typedef struct pw_ctx {
    float in[PW], out[PW], r[PW];
    int which; /* 0 GELU, 1 tanh */
} pw_ctx;

static double pw_f(void *p)
{
    pw_ctx *c = p;
    if (c->which == 0)
        sm_gelu_forward(c->out, c->in, PW);
    else
        sm_tanh_forward(c->out, c->in, PW);
    return dot(c->out, c->r, PW);
}

START_TEST(test_gelu)
{
    sm_rng rng;
    sm_rng_seed(&rng, 3);
    pw_ctx c;
    c.which = 0;
    for (int i = 0; i < PW; i++) /* -6 .. 6, both tails and the bend */
        c.in[i] = -6.0f + 12.0f * (float)i / (PW - 1) + 0.01f;
    fill_normal(c.r, PW, 1, &rng);
    pw_f(&c);
    /* the exact erf GELU, not the tanh form: compare with the double-precision definition */
    for (int i = 0; i < PW; i++) {
        double x = c.in[i], ref = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        ck_assert_msg(fabs(c.out[i] - ref) <= 2e-6 * (1 + fabs(ref)), "gelu(%g) = %.9g, expected %.9g", x,
                      c.out[i], ref);
    }
    float din[PW];
    sm_gelu_backward(din, c.r, c.in, PW);
    fd_check("GELU", c.in, PW, 1, din, pw_f, &c, 1e-2f, 1e-4, 2e-3);
}
END_TEST

START_TEST(test_tanh)
{
    sm_rng rng;
    sm_rng_seed(&rng, 4);
    pw_ctx c;
    c.which = 1;
    fill_normal(c.in, PW, 1.5, &rng);
    fill_normal(c.r, PW, 1, &rng);
    pw_f(&c);
    float din[PW];
    sm_tanh_backward(din, c.r, c.out, PW);
    fd_check("tanh", c.in, PW, 1, din, pw_f, &c, 1e-2f, 1e-4, 2e-3);
}
END_TEST

/* ---- softmax with a key mask -------------------------------------------------------------------- */

enum { SR = 3, SC = 6 };
typedef struct sm_ctx {
    float s[SR * SC], p[SR * SC], r[SR * SC], mask[SC];
} sm_ctx;

static double softmax_f(void *p)
{
    sm_ctx *c = p;
    sm_softmax_forward(c->p, c->s, c->mask, SR, SC);
    return dot(c->p, c->r, SR * SC);
}

START_TEST(test_softmax)
{
    sm_rng rng;
    sm_rng_seed(&rng, 5);
    sm_ctx c;
    fill_normal(c.s, SR * SC, 2, &rng);
    fill_normal(c.r, SR * SC, 1, &rng);
    const float mask[SC] = {1, 1, 0, 1, 0, 0};
    memcpy(c.mask, mask, sizeof mask);
    c.s[4] = -1e38f; /* a huge negative score on a masked key must not overflow into NaN */
    softmax_f(&c);
    for (int r = 0; r < SR; r++) {
        double s = 0;
        for (int j = 0; j < SC; j++) {
            ck_assert(isfinite(c.p[r * SC + j]));
            if (mask[j] == 0)
                ck_assert(c.p[r * SC + j] == 0.0f);
            s += c.p[r * SC + j];
        }
        ck_assert(fabs(s - 1) < 1e-6);
    }
    float ds[SR * SC];
    sm_softmax_backward(ds, c.r, c.p, SR, SC);
    c.s[4] = 0.3f;
    softmax_f(&c);
    sm_softmax_backward(ds, c.r, c.p, SR, SC);
    fd_check("softmax (masked keys included)", c.s, SR * SC, 1, ds, softmax_f, &c, 1e-2f, 1e-4, 2e-3);
    /* a fully masked row is uniform and finite (transformers' behaviour), never NaN */
    float z[SC] = {-1e38f, 3, -FLT_MAX, 0, 1, 2}, pz[SC], none[SC] = {0};
    sm_softmax_forward(pz, z, none, 1, SC);
    for (int j = 0; j < SC; j++)
        ck_assert(fabsf(pz[j] - 1.0f / SC) < 1e-6f);
    /* large logits stay finite */
    float big[SC] = {1e4f, -1e4f, 5e3f, 1e4f, 0, 1}, pb[SC];
    sm_softmax_forward(pb, big, NULL, 1, SC);
    ck_assert(fabsf(pb[0] - 0.5f) < 1e-6f && fabsf(pb[3] - 0.5f) < 1e-6f && pb[1] == 0.0f);
}
END_TEST

/* ---- dropout ------------------------------------------------------------------------------------ */

START_TEST(test_dropout)
{
    sm_rng rng;
    sm_rng_seed(&rng, 6);
    enum { DN = 100001 };
    uint8_t *keep = malloc(DN);
    float *x = fl(DN);
    for (int i = 0; i < DN; i++)
        x[i] = 1.0f;
    sm_dropout_mask(keep, DN, 0.1f, &rng);
    sm_dropout_apply(x, keep, DN, 0.1f);
    long kept = 0;
    double s = 0;
    for (int i = 0; i < DN; i++) {
        kept += keep[i];
        ck_assert(x[i] == (keep[i] ? 1.0f / 0.9f : 0.0f));
        s += x[i];
    }
    /* keep probability 0.9 within 5 sigma; the expectation is preserved */
    ck_assert(fabs(kept / (double)DN - 0.9) < 5 * sqrt(0.09 / DN));
    ck_assert(fabs(s / DN - 1.0) < 0.01);
    /* the same seed gives the same mask; p = 0 keeps everything */
    uint8_t *keep2 = malloc(DN);
    sm_rng_seed(&rng, 6);
    sm_dropout_mask(keep2, DN, 0.1f, &rng);
    ck_assert(memcmp(keep, keep2, DN) == 0);
    sm_dropout_mask(keep2, DN, 0.0f, &rng);
    for (int i = 0; i < DN; i++)
        ck_assert(keep2[i] == 1);
    free(keep);
    free(keep2);
    free(x);
}
END_TEST

/* The streams of one seed (an attention site draws one per example and head, a long site one per
 * chunk) are independent: the seeds of adjacent streams are close, so their generators' states are
 * too, and a correlation would show as adjacent masks agreeing more (or less) often than
 * (1-p)^2 + p^2, at the same element or one draw (two elements) apart. */
START_TEST(test_dropout_streams)
{
    enum { SN = 16384, NS = 64 };
    const double p = 0.1, want = (1 - p) * (1 - p) + p * p;
    uint8_t *k = malloc((size_t)SN * NS);
    ck_assert_ptr_nonnull(k);
    double same = 0, lagged = 0, kept = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        for (int s = 0; s < NS; s++)
            sm_dropout_mask_stream(k + (size_t)s * SN, SN, (float)p, seed * 0x12345677ULL, (uint64_t)s);
        for (int s = 0; s < NS; s++)
            for (int i = 0; i < SN; i++) {
                const uint8_t *a = k + (size_t)s * SN, *b = a + SN;
                kept += a[i];
                if (s + 1 < NS) {
                    same += a[i] == b[i];
                    lagged += i + 2 < SN && a[i + 2] == b[i];
                }
            }
    }
    const double n = 4.0 * (NS - 1) * SN, nl = 4.0 * (NS - 1) * (SN - 2), sd = sqrt(want * (1 - want) / n);
    ck_assert_msg(fabs(kept / (4.0 * NS * SN) - (1 - p)) < 5 * sqrt(p * (1 - p) / (4.0 * NS * SN)),
                  "keep rate %g", kept / (4.0 * NS * SN));
    ck_assert_msg(fabs(same / n - want) < 5 * sd, "adjacent streams agree on %g of the elements, want %g", same / n, want);
    ck_assert_msg(fabs(lagged / nl - want) < 5 * sd, "adjacent streams one draw apart agree on %g, want %g",
                  lagged / nl, want);
    free(k);
}
END_TEST

/* ---- attention ---------------------------------------------------------------------------------- */

enum { AB = 2, AT = 5, ANH = 2, AD = 3, AH = ANH * AD };
typedef struct att_ctx {
    float qkv[AB * AT * 3 * AH], ctx[AB * AT * AH], r[AB * AT * AH], probs[AB * ANH * AT * AT];
    float mask[AB * AT], scratch[2 * AT * AT];
    uint8_t keep[AB * ANH * AT * AT];
    int drop;
    uint64_t seed;
} att_ctx;

static double att_f(void *p)
{
    att_ctx *c = p;
    /* the same dropout mask on every evaluation; pairs in two calls (as two threads would) */
    sm_attention_forward(c->ctx, c->probs, c->drop ? c->keep : NULL, c->qkv, c->mask, AB, AT, ANH, AD,
                         0.3f, c->seed, c->scratch, 0, 3);
    sm_attention_forward(c->ctx, c->probs, c->drop ? c->keep : NULL, c->qkv, c->mask, AB, AT, ANH, AD,
                         0.3f, c->seed, c->scratch, 3, AB * ANH);
    return dot(c->ctx, c->r, AB * AT * AH);
}

static void attention_case(int drop)
{
    sm_rng rng;
    sm_rng_seed(&rng, 7);
    att_ctx c;
    c.drop = drop;
    c.seed = 99;
    fill_normal(c.qkv, AB * AT * 3 * AH, 1, &rng);
    fill_normal(c.r, AB * AT * AH, 1, &rng);
    const float mask[AB * AT] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}; /* example 1 has 2 padding tokens */
    memcpy(c.mask, mask, sizeof mask);
    att_f(&c);
    float dqkv[AB * AT * 3 * AH];
    sm_attention_backward(dqkv, c.r, c.qkv, c.probs, drop ? c.keep : NULL, AB, AT, ANH, AD, 0.3f, c.scratch, 0, AB * ANH);
    fd_check(drop ? "attention with dropout d qkv" : "attention d qkv", c.qkv, AB * AT * 3 * AH, 1, dqkv,
             att_f, &c, 1e-2f, 2e-4, 3e-3);
    /* keys and values of padding positions get no gradient and change nothing */
    for (int t = 3; t < 5; t++)
        for (int j = AH; j < 3 * AH; j++)
            ck_assert(dqkv[(AT + t) * 3 * AH + j] == 0.0f);
}

START_TEST(test_attention)
{
    attention_case(0);
    attention_case(1);
    /* against a direct computation: one head, one example, no mask */
    enum { T = 3, D = 2 };
    float qkv[T * 3 * D], ctx[T * D], probs[T * T], mask[T] = {1, 1, 1}, scratch[2 * T * T];
    sm_rng rng;
    sm_rng_seed(&rng, 8);
    fill_normal(qkv, T * 3 * D, 1, &rng);
    sm_attention_forward(ctx, probs, NULL, qkv, mask, 1, T, 1, D, 0.0f, 0, scratch, 0, 1);
    for (int i = 0; i < T; i++) {
        double s[T], mx = -1e300, z = 0;
        for (int j = 0; j < T; j++) {
            s[j] = (qkv[i * 3 * D] * qkv[j * 3 * D + D] + qkv[i * 3 * D + 1] * qkv[j * 3 * D + D + 1]) / sqrt(D);
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < T; j++)
            z += exp(s[j] - mx);
        for (int d = 0; d < D; d++) {
            double o = 0;
            for (int j = 0; j < T; j++)
                o += exp(s[j] - mx) / z * qkv[j * 3 * D + 2 * D + d];
            ck_assert(fabs(ctx[i * D + d] - o) < 1e-5);
        }
    }
}
END_TEST

/* ---- embeddings --------------------------------------------------------------------------------- */

enum { EV = 6, EP = 4, ETV = 2, EH = 3, EB = 2, ET = 3 };
typedef struct emb_ctx {
    float wte[EV * EH], wpe[EP * EH], wtt[ETV * EH], out[EB * ET * EH], r[EB * ET * EH];
    int32_t ids[EB * ET], types[EB * ET];
} emb_ctx;

static double emb_f(void *p)
{
    emb_ctx *c = p;
    sm_embed_forward(c->out, c->ids, c->types, c->wte, c->wpe, c->wtt, EB, ET, EH);
    return dot(c->out, c->r, EB * ET * EH);
}

START_TEST(test_embedding)
{
    sm_rng rng;
    sm_rng_seed(&rng, 9);
    emb_ctx c;
    fill_normal(c.wte, EV * EH, 1, &rng);
    fill_normal(c.wpe, EP * EH, 1, &rng);
    fill_normal(c.wtt, ETV * EH, 1, &rng);
    fill_normal(c.r, EB * ET * EH, 1, &rng);
    const int32_t ids[EB * ET] = {2, 5, 5, 2, 3, 1}, types[EB * ET] = {0, 0, 1, 0, 1, 1};
    memcpy(c.ids, ids, sizeof ids);
    memcpy(c.types, types, sizeof types);
    emb_f(&c);
    float dwte[EV * EH] = {0}, dwpe[EP * EH] = {0}, dwtt[ETV * EH] = {0};
    sm_embed_backward(dwte, dwpe, dwtt, c.r, c.ids, c.types, EB, ET, EH, -1);
    fd_check("embedding d word", c.wte, EV * EH, 1, dwte, emb_f, &c, 1e-2f, 1e-4, 1e-3);
    fd_check("embedding d position", c.wpe, EP * EH, 1, dwpe, emb_f, &c, 1e-2f, 1e-4, 1e-3);
    fd_check("embedding d type", c.wtt, ETV * EH, 1, dwtt, emb_f, &c, 1e-2f, 1e-4, 1e-3);
    /* nn.Embedding's padding_idx: the pad row receives no gradient */
    float dpad[EV * EH] = {0};
    sm_embed_backward(dpad, NULL, NULL, c.r, c.ids, c.types, EB, ET, EH, 5);
    for (int i = 0; i < EH; i++)
        ck_assert(dpad[5 * EH + i] == 0.0f && dpad[2 * EH + i] == dwte[2 * EH + i]);
}
END_TEST

/* ---- pooler: first token, dense, tanh ----------------------------------------------------------- */

enum { PB = 3, PT = 4, PH = 5 };
typedef struct pool_ctx {
    float h[PB * PT * PH], w[PH * PH], b[PH], first[PB * PH], out[PB * PH], r[PB * PH];
} pool_ctx;

static double pool_f(void *p)
{
    pool_ctx *c = p;
    for (int i = 0; i < PB; i++)
        memcpy(c->first + i * PH, c->h + i * PT * PH, PH * sizeof(float));
    sm_linear_forward(c->out, c->first, c->w, c->b, PB, PH, PH);
    sm_tanh_forward(c->out, c->out, PB * PH);
    return dot(c->out, c->r, PB * PH);
}

START_TEST(test_pooler)
{
    sm_rng rng;
    sm_rng_seed(&rng, 10);
    pool_ctx c;
    fill_normal(c.h, PB * PT * PH, 1, &rng);
    fill_normal(c.w, PH * PH, 0.5, &rng);
    fill_normal(c.b, PH, 0.5, &rng);
    fill_normal(c.r, PB * PH, 1, &rng);
    pool_f(&c);
    float dpre[PB * PH], dfirst[PB * PH], dw[PH * PH] = {0}, db[PH] = {0}, dh[PB * PT * PH] = {0};
    sm_tanh_backward(dpre, c.r, c.out, PB * PH);
    sm_linear_backward(dfirst, 0, dw, db, dpre, c.first, c.w, PB, PH, PH);
    for (int i = 0; i < PB; i++)
        memcpy(dh + i * PT * PH, dfirst + i * PH, PH * sizeof(float));
    fd_check("pooler d hidden (other tokens: 0)", c.h, PB * PT * PH, 1, dh, pool_f, &c, 1e-2f, 1e-4, 2e-3);
    fd_check("pooler d weight", c.w, PH * PH, 1, dw, pool_f, &c, 1e-2f, 1e-4, 2e-3);
    fd_check("pooler d bias", c.b, PH, 1, db, pool_f, &c, 1e-2f, 1e-4, 2e-3);
}
END_TEST

/* ---- losses ------------------------------------------------------------------------------------- */

enum { CB = 4, CC = 5 };
typedef struct loss_ctx {
    float z[CB * CC], t[CB];
    int32_t y[CB];
} loss_ctx;

static double ce_f(void *p)
{
    loss_ctx *c = p;
    return sm_loss_cross_entropy(c->z, c->y, CB, CC, NULL);
}

static double mse_f(void *p)
{
    loss_ctx *c = p;
    return sm_loss_mse(c->z, c->t, CB, NULL);
}

START_TEST(test_losses)
{
    sm_rng rng;
    sm_rng_seed(&rng, 11);
    loss_ctx c;
    fill_normal(c.z, CB * CC, 2, &rng);
    fill_normal(c.t, CB, 1, &rng);
    const int32_t y[CB] = {0, 4, 2, 2};
    memcpy(c.y, y, sizeof y);
    float dz[CB * CC];
    double l = sm_loss_cross_entropy(c.z, c.y, CB, CC, dz);
    /* by hand: mean of log(sum exp) - z[y] */
    double ref = 0;
    for (int b = 0; b < CB; b++) {
        double s = 0;
        for (int k = 0; k < CC; k++)
            s += exp(c.z[b * CC + k]);
        ref += log(s) - c.z[b * CC + y[b]];
    }
    ck_assert(fabs(l - ref / CB) < 1e-6);
    fd_check("cross-entropy", c.z, CB * CC, 1, dz, ce_f, &c, 1e-2f, 1e-5, 1e-3);
    /* stable for huge logits */
    float big[2 * 3] = {1e4f, -1e4f, 0, 3e4f, 3e4f, -3e4f};
    int32_t yb[2] = {1, 0};
    double lb = sm_loss_cross_entropy(big, yb, 2, 3, dz);
    ck_assert(isfinite(lb) && fabs(lb - (2e4 + log(2.0)) / 2) < 1e-2);
    /* MSE: mean squared error and its gradient */
    double m = sm_loss_mse(c.z, c.t, CB, dz);
    double mref = 0;
    for (int b = 0; b < CB; b++)
        mref += (c.z[b] - c.t[b]) * (c.z[b] - c.t[b]);
    ck_assert(fabs(m - mref / CB) < 1e-6);
    fd_check("MSE", c.z, CB, 1, dz, mse_f, &c, 1e-2f, 1e-5, 1e-3);
}
END_TEST

/* ---- the whole model ---------------------------------------------------------------------------- */

static void tiny_config(sm_bert_config *c, int num_labels)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 23;
    c->hidden_size = 8;
    c->num_layers = 2;
    c->num_heads = 2;
    c->intermediate_size = 12;
    c->max_position = 9;
    c->type_vocab_size = 2;
    c->pad_token_id = 0;
    c->layer_norm_eps = 1e-12f;
    c->hidden_dropout = 0.2f;
    c->attn_dropout = 0.25f;
    c->classifier_dropout = 0.3f;
    c->initializer_range = 0.5f;
    strcpy(c->hidden_act, "gelu");
    c->num_labels = num_labels;
    c->problem = num_labels == 1 ? SM_PROBLEM_REGRESSION : SM_PROBLEM_SINGLE_LABEL;
}

enum { MB = 3, MT = 6 };
typedef struct model_ctx {
    sm_bert *m;
    sm_bert_acts *a;
    sm_batch b;
    int32_t ids[MB * MT], types[MB * MT], labels[MB];
    float mask[MB * MT], targets[MB];
    float delta[MB * MT * 8];
    sm_bert_mode mode;
} model_ctx;

static double model_f(void *p)
{
    model_ctx *c = p;
    sm_rng rng;
    sm_rng_seed(&rng, 1234); /* the same dropout masks every time */
    sm_error e;
    ck_assert_int_eq(sm_bert_embed(c->m, sm_bert_weights(c->m), c->a, &c->b, c->mode, &rng, &e), SM_OK);
    ck_assert_int_eq(sm_bert_encode(c->m, sm_bert_weights(c->m), c->a, &c->b, NULL, c->delta, c->mode, &rng, &e),
                     SM_OK);
    double loss;
    ck_assert_int_eq(sm_bert_task_loss(c->m, sm_bert_acts_logits(c->a), &c->b, &loss, NULL, &e), SM_OK);
    return loss;
}

static void model_setup(model_ctx *c, int num_labels, sm_bert_mode mode)
{
    sm_bert_config cfg;
    tiny_config(&cfg, num_labels);
    sm_error e;
    ck_assert_int_eq(sm_bert_create(&c->m, &cfg, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&c->a, c->m, MB, MT, 1, &e), SM_OK);
    sm_rng rng;
    sm_rng_seed(&rng, 77);
    sm_bert_init(c->m, &rng);
    /* give biases and LayerNorm parameters non-trivial values so that every gradient is exercised */
    float *w = sm_bert_weights(c->m);
    for (int i = 0; i < sm_bert_tensor_count(c->m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(c->m, i);
        if (t->kind != SM_TENSOR_LINEAR_WEIGHT && t->kind != SM_TENSOR_EMBEDDING)
            for (size_t k = 0; k < t->numel; k++)
                w[t->offset + k] += (float)(0.3 * sm_rng_normal(&rng));
    }
    const int len[MB] = {6, 4, 2};
    for (int b = 0; b < MB; b++)
        for (int t = 0; t < MT; t++) {
            int n = b * MT + t, real = t < len[b];
            c->ids[n] = real ? 1 + (int)sm_rng_below(&rng, 22) : 0;
            c->types[n] = real && t >= len[b] / 2 ? 1 : 0;
            c->mask[n] = real ? 1.0f : 0.0f;
        }
    for (int b = 0; b < MB; b++) {
        c->labels[b] = b % 3;
        c->targets[b] = (float)sm_rng_normal(&rng);
    }
    memset(c->delta, 0, sizeof c->delta);
    for (int n = 0; n < MB * MT; n++)
        if (c->mask[n] != 0.0f)
            for (int i = 0; i < 8; i++)
                c->delta[n * 8 + i] = (float)(0.1 * sm_rng_normal(&rng));
    memset(&c->b, 0, sizeof c->b);
    c->b.B = MB;
    c->b.T = MT;
    c->b.ids = c->ids;
    c->b.types = c->types;
    c->b.mask = c->mask;
    c->b.labels = num_labels > 1 ? c->labels : NULL;
    c->b.targets = num_labels == 1 ? c->targets : NULL;
    c->mode = mode;
}

static void model_case(int num_labels, sm_bert_mode mode)
{
    model_ctx c;
    model_setup(&c, num_labels, mode);
    sm_error e;
    const int C = num_labels, N = MB * MT * 8;
    float dlogits[MB * 3], dx[MB * MT * 8], dx2[MB * MT * 8];
    double loss0 = model_f(&c), loss;
    ck_assert(isfinite(loss0));
    ck_assert_int_eq(sm_bert_task_loss(c.m, sm_bert_acts_logits(c.a), &c.b, &loss, dlogits, &e), SM_OK);
    float *g = sm_bert_grads(c.m);
    sm_bert_zero_grads(c.m);
    ck_assert_int_eq(sm_bert_backward(c.m, sm_bert_weights(c.m), g, c.a, dlogits, dx, &e), SM_OK);
    ck_assert_int_eq(sm_bert_embed_backward(c.m, sm_bert_weights(c.m), g, c.a, dx, &e), SM_OK);
    const char *what = mode == SM_BERT_TRAIN ? "model (train, dropout)" : "model (eval)";
    fd_check(what, c.delta, (size_t)N, 1, dx, model_f, &c, 1e-2f, 1e-4, 5e-3);
    char name[160];
    for (int i = 0; i < sm_bert_tensor_count(c.m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(c.m, i);
        snprintf(name, sizeof name, "%s: %s", what, t->name);
        fd_check(name, sm_bert_weights(c.m) + t->offset, t->numel, 1, g + t->offset, model_f, &c, 1e-2f,
                 1e-4, 5e-3);
    }
    /* the pad row of the word embeddings gets no gradient */
    for (int i = 0; i < 8; i++)
        ck_assert(g[sm_bert_tensor(c.m, 0)->offset + i] == 0.0f);
    /* the input-gradient-only backward, straight after the first (a forward's stored activations
     * serve several backward passes): same d x, gradients untouched */
    float *gcopy = malloc(sm_bert_numel(c.m) * sizeof(float));
    memcpy(gcopy, g, sm_bert_numel(c.m) * sizeof(float));
    ck_assert_int_eq(sm_bert_backward(c.m, sm_bert_weights(c.m), NULL, c.a, dlogits, dx2, &e), SM_OK);
    ck_assert(memcmp(gcopy, g, sm_bert_numel(c.m) * sizeof(float)) == 0);
    for (int i = 0; i < N; i++)
        ck_assert(dx2[i] == dx[i]);
    /* accumulation: a second backward doubles every gradient */
    model_f(&c);
    ck_assert_int_eq(sm_bert_backward(c.m, sm_bert_weights(c.m), g, c.a, dlogits, dx2, &e), SM_OK);
    ck_assert_int_eq(sm_bert_embed_backward(c.m, sm_bert_weights(c.m), g, c.a, dx2, &e), SM_OK);
    for (size_t i = 0; i < sm_bert_numel(c.m); i++)
        ck_assert(fabsf(g[i] - 2 * gcopy[i]) <= 1e-6f * (1 + fabsf(gcopy[i])));
    free(gcopy);
    (void)C;
    sm_bert_acts_free(c.a);
    sm_bert_free(c.m);
}

START_TEST(test_model_cls_eval) { model_case(3, SM_BERT_EVAL); }
END_TEST
START_TEST(test_model_cls_train) { model_case(3, SM_BERT_TRAIN); }
END_TEST
START_TEST(test_model_reg_eval) { model_case(1, SM_BERT_EVAL); }
END_TEST
START_TEST(test_model_reg_train) { model_case(1, SM_BERT_TRAIN); }
END_TEST

/* Padding is invisible: changing padded tokens, or perturbing the encoder input there, leaves the
 * logits unchanged; a shorter padded length gives the same logits; an inference workspace agrees
 * with a store workspace; another arena (a teacher) is used when given. */
START_TEST(test_model_padding_and_arenas)
{
    model_ctx c;
    model_setup(&c, 3, SM_BERT_EVAL);
    sm_error e;
    const float *w = sm_bert_weights(c.m);
    memset(c.delta, 0, sizeof c.delta);
    model_f(&c);
    float ref[MB * 3];
    memcpy(ref, sm_bert_acts_logits(c.a), sizeof ref);
    /* perturb the encoder input on padding only */
    for (int n = 0; n < MB * MT; n++)
        if (c.mask[n] == 0.0f)
            for (int i = 0; i < 8; i++)
                c.delta[n * 8 + i] = 5.0f;
    c.ids[MT + 5] = 7;
    model_f(&c);
    for (int i = 0; i < MB * 3; i++)
        ck_assert(fabsf(sm_bert_acts_logits(c.a)[i] - ref[i]) < 1e-5f);
    /* a batch of the first two examples with T = 4 (the second's length) */
    int32_t ids2[2 * 4], types2[2 * 4];
    float mask2[2 * 4];
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 4; t++) {
            ids2[b * 4 + t] = c.ids[b * MT + t];
            types2[b * 4 + t] = c.types[b * MT + t];
            mask2[b * 4 + t] = c.mask[b * MT + t];
        }
    sm_batch b2 = {.B = 2, .T = 4, .ids = ids2, .types = types2, .mask = mask2};
    ck_assert_int_eq(sm_bert_forward(c.m, w, c.a, &b2, SM_BERT_EVAL, NULL, &e), SM_OK);
    /* example 0 has 6 real tokens: it cannot be cut to 4; example 1 must agree */
    for (int k = 0; k < 3; k++)
        ck_assert(fabsf(sm_bert_acts_logits(c.a)[3 + k] - ref[3 + k]) < 1e-5f);
    /* an inference workspace gives the same logits */
    sm_bert_acts *inf;
    ck_assert_int_eq(sm_bert_acts_create(&inf, c.m, MB, MT, 0, &e), SM_OK);
    ck_assert_int_eq(sm_bert_forward(c.m, w, inf, &c.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    for (int i = 0; i < MB * 3; i++)
        ck_assert(fabsf(sm_bert_acts_logits(inf)[i] - ref[i]) < 1e-6f);
    ck_assert(sm_bert_acts_bytes(inf) < sm_bert_acts_bytes(c.a));
    float dl[MB * 3] = {0};
    ck_assert_int_eq(sm_bert_backward(c.m, w, NULL, inf, dl, NULL, &e), SM_ERR_STATE);
    /* a teacher arena: a copy gives the same logits, a changed copy different ones */
    float *teacher = malloc(sm_bert_numel(c.m) * sizeof(float));
    memcpy(teacher, w, sm_bert_numel(c.m) * sizeof(float));
    ck_assert_int_eq(sm_bert_forward(c.m, teacher, inf, &c.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    for (int i = 0; i < MB * 3; i++)
        ck_assert(sm_bert_acts_logits(inf)[i] == ref[i] || fabsf(sm_bert_acts_logits(inf)[i] - ref[i]) < 1e-6f);
    const sm_tensor_info *cw = sm_bert_tensor(c.m, sm_bert_tensor_find(c.m, "classifier.bias"));
    teacher[cw->offset] += 1.0f;
    ck_assert_int_eq(sm_bert_forward(c.m, teacher, inf, &c.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    ck_assert(fabsf(sm_bert_acts_logits(inf)[0] - (ref[0] + 1.0f)) < 1e-5f);
    /* the encoder reading another workspace's embedding output */
    ck_assert_int_eq(sm_bert_embed(c.m, w, c.a, &c.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    ck_assert_int_eq(sm_bert_encode(c.m, w, inf, &c.b, sm_bert_acts_emb(c.a), NULL, SM_BERT_EVAL, NULL, &e), SM_OK);
    for (int i = 0; i < MB * 3; i++)
        ck_assert(fabsf(sm_bert_acts_logits(inf)[i] - ref[i]) < 1e-6f);
    free(teacher);
    sm_bert_acts_free(inf);
    sm_bert_acts_free(c.a);
    sm_bert_free(c.m);
}
END_TEST

/* The engine's threads: a given thread count gives bit-identical logits, input gradients and
 * parameter gradients in train mode on every run (dropout masks included), on shapes large enough for
 * every kernel and matrix product to be split; one and three threads agree to rounding (the matrix
 * products are split into one sgemm per thread, and OpenBLAS rounds a block of C by its shape). */
START_TEST(test_model_threads)
{
    enum { B = 16, T = 32, H = 64 };
    float *res[3][3];
    sm_bert_config cfg;
    tiny_config(&cfg, 3);
    cfg.hidden_size = H;
    cfg.intermediate_size = 256;
    cfg.max_position = T;
    cfg.initializer_range = 0.1f;
    int32_t ids[B * T], types[B * T], labels[B];
    float mask[B * T];
    for (int n = 0; n < B * T; n++) {
        ids[n] = 1 + n % 22;
        types[n] = (n % T) > T / 2;
        mask[n] = (n % T) < T - (n / T) ? 1.0f : 0.0f;
    }
    for (int i = 0; i < B; i++)
        labels[i] = i % 3;
    sm_batch b = {.B = B, .T = T, .ids = ids, .types = types, .mask = mask, .labels = labels};
    size_t numel = 0;
    for (int run = 0; run < 3; run++) {
        sm_bert *m;
        sm_bert_acts *a;
        sm_error e;
        ck_assert_int_eq(sm_bert_create(&m, &cfg, 1, &e), SM_OK);
        ck_assert_int_eq(sm_bert_set_threads(m, run ? 3 : 1, &e), SM_OK); /* runs 1 and 2: three threads */
        ck_assert_int_eq(sm_bert_threads(m), run ? 3 : 1);
        ck_assert_int_eq(sm_bert_acts_create(&a, m, B, T, 1, &e), SM_OK);
        sm_rng rng;
        sm_rng_seed(&rng, 3);
        sm_bert_init(m, &rng);
        numel = sm_bert_numel(m);
        float dl[B * 3];
        double loss;
        const float *w = sm_bert_weights(m);
        float *g = sm_bert_grads(m);
        ck_assert_int_eq(sm_bert_forward(m, w, a, &b, SM_BERT_TRAIN, &rng, &e), SM_OK);
        ck_assert_int_eq(sm_bert_task_loss(m, sm_bert_acts_logits(a), &b, &loss, dl, &e), SM_OK);
        res[run][0] = malloc(sizeof dl);
        memcpy(res[run][0], sm_bert_acts_logits(a), sizeof dl);
        res[run][1] = malloc(B * T * H * sizeof(float));
        ck_assert_int_eq(sm_bert_backward(m, w, g, a, dl, res[run][1], &e), SM_OK);
        ck_assert_int_eq(sm_bert_embed_backward(m, w, g, a, res[run][1], &e), SM_OK);
        res[run][2] = malloc(numel * sizeof(float));
        memcpy(res[run][2], g, numel * sizeof(float));
        sm_bert_acts_free(a);
        sm_bert_free(m);
    }
    ck_assert(memcmp(res[2][0], res[1][0], B * 3 * sizeof(float)) == 0);
    ck_assert(memcmp(res[2][1], res[1][1], B * T * H * sizeof(float)) == 0);
    ck_assert(memcmp(res[2][2], res[1][2], numel * sizeof(float)) == 0);
    const size_t len[3] = {B * 3, (size_t)B * T * H, numel};
    for (int k = 0; k < 3; k++) {
        double worst = 0, scale = 0;
        for (size_t i = 0; i < len[k]; i++) {
            double d = fabs((double)res[0][k][i] - res[1][k][i]);
            worst = d > worst ? d : worst;
            scale = fabs((double)res[0][k][i]) > scale ? fabs((double)res[0][k][i]) : scale;
        }
        ck_assert_msg(worst <= 1e-5 * (scale > 1 ? scale : 1), "output %d: 1 and 3 threads differ by %g", k, worst);
    }
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++)
            free(res[r][k]);
}
END_TEST

START_TEST(test_model_table_and_init)
{
    sm_bert_config cfg;
    tiny_config(&cfg, 3);
    cfg.initializer_range = 0.02f;
    cfg.vocab_size = 3000;
    sm_bert *m;
    sm_error e;
    ck_assert_int_eq(sm_bert_create(&m, &cfg, 0, &e), SM_OK);
    ck_assert_ptr_null(sm_bert_grads(m));
    ck_assert_int_eq(sm_bert_tensor_count(m), 5 + 16 * 2 + 4);
    /* the table tiles the arena exactly, names are transformers', shapes [out, in] */
    size_t off = 0;
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        ck_assert_uint_eq(t->offset, off);
        ck_assert_uint_eq(t->numel, (size_t)t->shape[0] * t->shape[1]);
        ck_assert_int_eq(sm_bert_tensor_find(m, t->name), i);
        off += t->numel;
    }
    ck_assert_uint_eq(off, sm_bert_numel(m));
    ck_assert_ptr_null(sm_bert_tensor(m, -1));
    ck_assert_int_eq(sm_bert_tensor_find(m, "bert.encoder.layer.2.output.dense.weight"), -1);
    const sm_tensor_info *t = sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.encoder.layer.1.intermediate.dense.weight"));
    ck_assert(t->ndim == 2 && t->shape[0] == 12 && t->shape[1] == 8 && t->decay == 1);
    t = sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.encoder.layer.0.output.LayerNorm.bias"));
    ck_assert(t->ndim == 1 && t->shape[0] == 8 && t->decay == 0);
    t = sm_bert_tensor(m, sm_bert_tensor_find(m, "classifier.weight"));
    ck_assert(t->shape[0] == 3 && t->shape[1] == 8 && t->decay == 1);
    ck_assert_int_eq(sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.pooler.dense.bias"))->decay, 0);
    ck_assert_int_eq(sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.embeddings.LayerNorm.weight"))->decay, 0);

    sm_rng rng;
    sm_rng_seed(&rng, 5);
    sm_bert_init(m, &rng);
    const float *w = sm_bert_weights(m);
    const sm_tensor_info *we = sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.embeddings.word_embeddings.weight"));
    double s2 = 0;
    for (size_t k = 0; k < we->numel; k++)
        s2 += (double)w[we->offset + k] * w[we->offset + k];
    ck_assert(fabs(sqrt(s2 / (we->numel - 8)) - 0.02) < 0.001); /* std = initializer_range */
    for (int i = 0; i < 8; i++)
        ck_assert(w[we->offset + i] == 0.0f); /* pad row */
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        t = sm_bert_tensor(m, i);
        if (t->kind == SM_TENSOR_NORM_WEIGHT)
            ck_assert(w[t->offset] == 1.0f && w[t->offset + t->numel - 1] == 1.0f);
        if (t->kind == SM_TENSOR_BIAS || t->kind == SM_TENSOR_NORM_BIAS)
            ck_assert(w[t->offset] == 0.0f);
    }
    /* re-initialise one tensor only */
    int ci = sm_bert_tensor_find(m, "classifier.weight");
    float before = w[we->offset + 8], cb = w[sm_bert_tensor(m, ci)->offset];
    sm_bert_init_tensor(m, ci, &rng);
    ck_assert(w[we->offset + 8] == before && w[sm_bert_tensor(m, ci)->offset] != cb);
    ck_assert_int_eq(sm_bert_grads_alloc(m, &e), SM_OK);
    ck_assert_ptr_nonnull(sm_bert_grads(m));
    sm_bert_free(m);

    /* configurations the engine refuses, politely */
    tiny_config(&cfg, 3);
    cfg.num_heads = 3;
    ck_assert_int_eq(sm_bert_create(&m, &cfg, 0, &e), SM_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(e.msg, "num_attention_heads"));
    tiny_config(&cfg, 3);
    strcpy(cfg.hidden_act, "gelu_new");
    ck_assert_int_eq(sm_bert_create(&m, &cfg, 0, &e), SM_ERR_UNSUPPORTED);
    /* 256 TiB: refused before the allocator is asked (under ASan too), saying how much */
    tiny_config(&cfg, 3);
    cfg.vocab_size = 1 << 30;
    cfg.hidden_size = 1 << 16;
    cfg.num_heads = 1;
    ck_assert_int_eq(sm_bert_create(&m, &cfg, 1, &e), SM_ERR_NOMEM);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(e.msg, "more than this machine's") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_model_errors)
{
    model_ctx c;
    model_setup(&c, 3, SM_BERT_EVAL);
    sm_error e;
    const float *w = sm_bert_weights(c.m);
    float dl[MB * 3] = {0};
    ck_assert_int_eq(sm_bert_backward(c.m, w, NULL, c.a, dl, NULL, &e), SM_ERR_STATE);
    c.ids[4] = 23;
    ck_assert_int_eq(sm_bert_embed(c.m, w, c.a, &c.b, SM_BERT_EVAL, NULL, &e), SM_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "example 0, position 4"));
    c.ids[4] = 3;
    c.types[2] = 2;
    ck_assert_int_eq(sm_bert_embed(c.m, w, c.a, &c.b, SM_BERT_EVAL, NULL, &e), SM_ERR_RANGE);
    c.types[2] = 0;
    c.b.T = MT + 1;
    ck_assert_int_eq(sm_bert_embed(c.m, w, c.a, &c.b, SM_BERT_EVAL, NULL, &e), SM_ERR_RANGE);
    c.b.T = MT;
    ck_assert_int_eq(sm_bert_embed(c.m, w, c.a, &c.b, SM_BERT_TRAIN, NULL, &e), SM_ERR_INVALID);
    sm_bert_acts *big;
    ck_assert_int_eq(sm_bert_acts_create(&big, c.m, 2, 10, 1, &e), SM_ERR_RANGE); /* > max_position */
    c.labels[1] = 3;
    ck_assert_int_eq(sm_bert_forward(c.m, w, c.a, &c.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    double loss;
    ck_assert_int_eq(sm_bert_task_loss(c.m, sm_bert_acts_logits(c.a), &c.b, &loss, NULL, &e), SM_ERR_RANGE);
    sm_bert_acts_free(c.a);
    sm_bert_free(c.m);
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_layernorm);
    tcase_add_test(tc, test_gelu);
    tcase_add_test(tc, test_tanh);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_dropout);
    tcase_add_test(tc, test_dropout_streams);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_embedding);
    tcase_add_test(tc, test_pooler);
    tcase_add_test(tc, test_losses);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("model");
    tcase_set_timeout(tm, 60);
    tcase_add_test(tm, test_model_cls_eval);
    tcase_add_test(tm, test_model_cls_train);
    tcase_add_test(tm, test_model_reg_eval);
    tcase_add_test(tm, test_model_reg_train);
    tcase_add_test(tm, test_model_padding_and_arenas);
    tcase_add_test(tm, test_model_threads);
    tcase_add_test(tm, test_model_table_and_init);
    tcase_add_test(tm, test_model_errors);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    return tu_run(ops_suite());
}
