/* check_smart.c: the properties at the end of SMART.md, numbered as there (P1..P10): ell_s (symmetric
 * KL and squared difference) and its gradients, the perturbation's normalisation and projection, the
 * mean teacher, and the whole training step on a tiny random BERT from the engine. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/model_config.h"
#include "smartty/data.h"
#include "smartty/model.h"
#include "smartty/safetensors.h"
#include "smartty/smart.h"
#define TU_SPLIT /* tests/check_smart_shared runs the tests that need the shared data */
#include "testutil.h"

/* ---- ell_s --------------------------------------------------------------------------------------- */

/* P2: sKL(P,P) = 0, symmetric, non-negative, finite for logits around +-1e4 and for 1000 classes. */
START_TEST(test_p2_symkl_properties)
{
    sm_rng r;
    sm_rng_seed(&r, 1);
    enum { B = 4, C = 5 };
    float p[B * C], q[B * C];
    for (int i = 0; i < B * C; i++) {
        p[i] = (float)(2 * sm_rng_normal(&r));
        q[i] = (float)(2 * sm_rng_normal(&r));
    }
    ck_assert(sm_symkl(p, p, B, C, NULL, NULL, 1) == 0.0);
    double a = sm_symkl(p, q, B, C, NULL, NULL, 1), b = sm_symkl(q, p, B, C, NULL, NULL, 1);
    ck_assert(a > 0 && fabs(a - b) <= 1e-15 * a);
    /* a constant shift of the logits changes nothing (softmax invariance) */
    float ps[B * C];
    for (int i = 0; i < B * C; i++)
        ps[i] = p[i] + 3.0f;
    ck_assert(fabs(sm_symkl(ps, q, B, C, NULL, NULL, 1) - a) < 1e-6);
    /* extreme logits: +-1e4, a near one-hot against its opposite */
    float x[2 * 3] = {1e4f, -1e4f, 0, -1e4f, 1e4f, 0}, y[2 * 3] = {-1e4f, 1e4f, 0, 1e4f, -1e4f, 0};
    float dx[6] = {0}, dy[6] = {0};
    double v = sm_symkl(x, y, 2, 3, dx, dy, 1);
    ck_assert(isfinite(v) && v > 1e4);
    for (int i = 0; i < 6; i++)
        ck_assert(isfinite(dx[i]) && isfinite(dy[i]));
    ck_assert(sm_symkl(x, x, 2, 3, NULL, NULL, 1) == 0.0);
    /* 1000 classes */
    enum { K = 1000 };
    float *u = malloc(2 * K * sizeof *u), *du = calloc(2 * K, sizeof *du);
    for (int i = 0; i < 2 * K; i++)
        u[i] = (float)(5 * sm_rng_normal(&r));
    double w = sm_symkl(u, u + K, 1, K, du, du + K, 1);
    ck_assert(isfinite(w) && w > 0);
    for (int i = 0; i < 2 * K; i++)
        ck_assert(isfinite(du[i]));
    ck_assert(fabs(w - sm_symkl(u + K, u, 1, K, NULL, NULL, 1)) < 1e-12 * w);
    free(u);
    free(du);
}
END_TEST

/* P3 (sKL): analytic gradients w.r.t. both arguments against central finite differences. The
 * logits are multiples of 1/64 and h = 2^-12, so p +- h is exact in float and the loss is computed
 * in double: the finite difference is a double-precision one. */
START_TEST(test_p3_symkl_gradient)
{
    sm_rng r;
    sm_rng_seed(&r, 2);
    enum { B = 3, C = 4 };
    float p[B * C], q[B * C], dp[B * C] = {0}, dq[B * C] = {0};
    for (int i = 0; i < B * C; i++) {
        p[i] = (float)(floor(sm_rng_normal(&r) * 64) / 64);
        q[i] = (float)(floor(sm_rng_normal(&r) * 64) / 64);
    }
    const double scale = 0.75;
    sm_symkl(p, q, B, C, dp, dq, scale);
    const float h = 1.0f / 4096;
    for (int i = 0; i < B * C; i++) {
        for (int side = 0; side < 2; side++) {
            float *x = side ? q : p;
            float keep = x[i];
            x[i] = keep + h;
            double up = sm_symkl(p, q, B, C, NULL, NULL, 1);
            x[i] = keep - h;
            double dn = sm_symkl(p, q, B, C, NULL, NULL, 1);
            x[i] = keep;
            double fd = scale * (up - dn) / (2.0 * h), an = side ? dq[i] : dp[i];
            ck_assert_msg(fabs(fd - an) <= 1e-6 + 1e-5 * fabs(fd), "%s[%d]: fd %.9g analytic %.9g",
                          side ? "q" : "p", i, fd, an);
        }
    }
    /* gradients accumulate */
    float acc[B * C];
    for (int i = 0; i < B * C; i++)
        acc[i] = 1.0f;
    sm_symkl(p, q, B, C, acc, NULL, scale);
    for (int i = 0; i < B * C; i++)
        ck_assert(fabsf(acc[i] - (1.0f + dp[i])) < 1e-6f);
}
END_TEST

/* P9: regression's ell_s is the per-example squared difference, mean over the batch (by hand). */
START_TEST(test_p9_regression)
{
    float a[3] = {1.0f, 2.0f, 3.0f}, b[3] = {0.5f, 2.0f, 5.0f}, da[3] = {0}, db[3] = {0};
    /* (0.5^2 + 0^2 + (-2)^2) / 3 = 4.25 / 3 (not a 3 x 3 mean) */
    double v = sm_ell_s(a, b, 3, 1, da, db, 2.0);
    ck_assert(fabs(v - 4.25 / 3) < 1e-12);
    /* d/da = scale * 2 (a - b) / 3 */
    ck_assert(fabsf(da[0] - (float)(2.0 * 2 * 0.5 / 3)) < 1e-7f);
    ck_assert(da[1] == 0.0f);
    ck_assert(fabsf(da[2] - (float)(2.0 * 2 * -2.0 / 3)) < 1e-7f);
    for (int i = 0; i < 3; i++)
        ck_assert(db[i] == -da[i]);
    ck_assert(sm_ell_s(a, a, 3, 1, NULL, NULL, 1) == 0.0);
}
END_TEST

/* ---- the perturbation ----------------------------------------------------------------------------- */

enum { PB = 3, PT = 5, PH = 4 };
/* example 0 has 5 real tokens, 1 has 3, 2 has 1 */
static const float pmask[PB * PT] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0};

static void random_fill(float *x, size_t n, double s, uint64_t seed)
{
    sm_rng r;
    sm_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(s * sm_rng_normal(&r));
}

static int padding_is_zero(const float *d)
{
    for (int bt = 0; bt < PB * PT; bt++)
        for (int h = 0; h < PH; h++)
            if (pmask[bt] == 0 && d[bt * PH + h] != 0.0f)
                return 0;
    return 1;
}

/* P4 (arrays): after every ascent step max |delta| <= eps (example, l2) and delta = 0 on padding. */
START_TEST(test_p4_projection)
{
    const double eps = 1e-2;
    for (int norm = SM_ADV_EXAMPLE; norm <= SM_ADV_L2; norm++) {
        float d[PB * PT * PH], g[PB * PT * PH];
        sm_rng r;
        sm_rng_seed(&r, 3);
        sm_delta_init(d, pmask, PB, PT, PH, 5e-3, &r);
        ck_assert(padding_is_zero(d));
        for (int step = 0; step < 4; step++) {
            random_fill(g, PB * PT * PH, 1.0, 10 + (uint64_t)step); /* padding too: must be masked */
            ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 0.05, eps), SM_OK);
            ck_assert(padding_is_zero(d));
            ck_assert(padding_is_zero(g));
            for (int b = 0; b < PB; b++) {
                double mx = 0, s2 = 0;
                for (int i = 0; i < PT * PH; i++) {
                    mx = fmax(mx, fabs(d[b * PT * PH + i]));
                    s2 += (double)d[b * PT * PH + i] * d[b * PT * PH + i];
                }
                if (norm == SM_ADV_EXAMPLE) {
                    ck_assert(mx <= (float)eps);
                    ck_assert(mx >= (float)eps * 0.999f); /* eta 5 * eps: the step reaches the ball */
                } else if (norm == SM_ADV_L2) {
                    ck_assert(sqrt(s2) <= eps * (1 + 1e-6));
                    ck_assert(mx <= eps * (1 + 1e-6));
                } else {
                    ck_assert(mx <= 1.0); /* token: unit infinity-norm per token, no ball */
                }
            }
        }
    }
}
END_TEST

/* P5: normalize(g) has norm 1 at its granularity; g = 0 gives a finite delta; a non-finite g is
 * reported and leaves delta alone. */
START_TEST(test_p5_normalize)
{
    float d[PB * PT * PH], g[PB * PT * PH];
    for (int norm = SM_ADV_EXAMPLE; norm <= SM_ADV_L2; norm++) {
        /* delta 0, eta 1, eps large: delta = normalize(g) */
        memset(d, 0, sizeof d);
        random_fill(g, PB * PT * PH, 1.0, 20);
        ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 1.0, 1e9), SM_OK);
        for (int b = 0; b < PB; b++) {
            double mx = 0, s2 = 0;
            for (int t = 0; t < PT; t++) {
                double tm = 0;
                for (int h = 0; h < PH; h++) {
                    double v = fabs(d[(b * PT + t) * PH + h]);
                    tm = fmax(tm, v);
                    s2 += v * v;
                }
                mx = fmax(mx, tm);
                if (norm == SM_ADV_TOKEN && pmask[b * PT + t] != 0)
                    ck_assert_msg(fabs(tm - 1.0) < 1e-5, "token (%d,%d): max %g", b, t, tm);
            }
            if (norm == SM_ADV_EXAMPLE)
                ck_assert(fabs(mx - 1.0) < 1e-6);
            if (norm == SM_ADV_L2)
                ck_assert(fabs(sqrt(s2) - 1.0) < 1e-6);
        }
        /* g = 0: finite, and delta unchanged (example, l2) or just renormalised (token) */
        float before[PB * PT * PH];
        random_fill(d, sizeof d / sizeof d[0], 1e-3, 21);
        for (int i = 0; i < PB * PT; i++)
            if (pmask[i] == 0)
                memset(d + i * PH, 0, PH * sizeof *d);
        memcpy(before, d, sizeof d);
        memset(g, 0, sizeof g);
        ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 1.0, 1.0), SM_OK);
        for (int i = 0; i < PB * PT * PH; i++) {
            ck_assert(isfinite(d[i]));
            if (norm != SM_ADV_TOKEN)
                ck_assert(d[i] == before[i]);
        }
        /* a zero delta and a zero gradient stay zero, even per token (the 1e-6 guard) */
        memset(d, 0, sizeof d);
        ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 1.0, 1.0), SM_OK);
        for (int i = 0; i < PB * PT * PH; i++)
            ck_assert(d[i] == 0.0f);
        /* non-finite g on a real token: reported, delta untouched */
        memcpy(d, before, sizeof d);
        random_fill(g, PB * PT * PH, 1.0, 22);
        g[7] = NAN;
        ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 1.0, 1.0), SM_ERR_NONFINITE);
        ck_assert(!memcmp(d, before, sizeof d));
        /* ... but on padding it is masked away */
        random_fill(g, PB * PT * PH, 1.0, 22);
        g[(2 * PT + 3) * PH] = INFINITY;
        ck_assert_int_eq(sm_delta_ascent(d, g, pmask, PB, PT, PH, norm, 1.0, 1.0), SM_OK);
    }
}
END_TEST

START_TEST(test_delta_norm)
{
    float d[PB * PT * PH] = {0};
    d[0] = 3;
    d[1] = -4;          /* example 0, token 0: l2 5, max 4 */
    d[PT * PH + 2] = 2; /* example 1, token 0 */
    ck_assert(fabs(sm_delta_norm(d, pmask, PB, PT, PH, SM_ADV_EXAMPLE) - (4.0 + 2.0) / 3) < 1e-12);
    ck_assert(fabs(sm_delta_norm(d, pmask, PB, PT, PH, SM_ADV_L2) - (5.0 + 2.0) / 3) < 1e-12);
    /* token: mean over real tokens of the per-token max, then over examples */
    ck_assert(fabs(sm_delta_norm(d, pmask, PB, PT, PH, SM_ADV_TOKEN) - (4.0 / 5 + 2.0 / 3) / 3) < 1e-12);
}
END_TEST

/* P8 (arithmetic): the EMA formula and the beta switch at 10 % of the planned steps. */
START_TEST(test_p8_teacher_formula)
{
    float tw[3] = {1.0f, -2.0f, 0.5f}, w[3] = {0.0f, 1.0f, 0.25f};
    sm_teacher_update(tw, w, 3, 0.99);
    ck_assert(tw[0] == (float)(0.99 * 1.0));
    ck_assert(tw[1] == (float)(0.99 * -2.0 + 0.01 * 1.0));
    ck_assert(tw[2] == (float)(0.99 * 0.5 + (1 - 0.99) * 0.25));
    sm_hparams hp;
    sm_hparams_default(&hp);
    ck_assert(sm_teacher_beta(&hp, 1, 100) == 0.99);
    ck_assert(sm_teacher_beta(&hp, 10, 100) == 0.99);
    ck_assert(sm_teacher_beta(&hp, 11, 100) == 0.999);
    ck_assert(sm_teacher_beta(&hp, 100, 100) == 0.999);
    ck_assert(sm_teacher_beta(&hp, 1, 5) == 0.999); /* 10 % of 5 steps is no whole step */
    hp.v[SM_HP_BETA_SCHEDULE] = 1;                   /* constant */
    ck_assert(sm_teacher_beta(&hp, 50, 100) == 0.99);
}
END_TEST

/* ---- the step on a tiny random BERT ----------------------------------------------------------------- */

enum { TB = 3, TT = 6, TV = 50 };
static const int32_t tlen[TB] = {6, 4, 2};

static sm_bert *tiny_model(int C, float dropout, uint64_t seed)
{
    sm_bert_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = TV;
    cfg.hidden_size = 16;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.intermediate_size = 32;
    cfg.max_position = 16;
    cfg.type_vocab_size = 2;
    cfg.pad_token_id = 0;
    cfg.layer_norm_eps = 1e-12f;
    cfg.hidden_dropout = cfg.attn_dropout = cfg.classifier_dropout = dropout;
    cfg.initializer_range = 0.2f;
    strcpy(cfg.hidden_act, "gelu");
    cfg.num_labels = C;
    cfg.problem = C == 1 ? SM_PROBLEM_REGRESSION : SM_PROBLEM_SINGLE_LABEL;
    sm_bert *m = NULL;
    sm_error e;
    ck_assert_msg(sm_bert_create(&m, &cfg, 1, &e) == SM_OK, "%s", e.msg);
    sm_rng r;
    sm_rng_seed(&r, seed);
    sm_bert_init(m, &r);
    return m;
}

typedef struct tbatch {
    sm_batch b;
    int32_t ids[TB * TT], types[TB * TT], lengths[TB], labels[TB], rows[TB];
    float mask[TB * TT], targets[TB];
} tbatch;

static void tiny_batch(tbatch *tb, int C, uint64_t seed)
{
    sm_rng r;
    sm_rng_seed(&r, seed);
    memset(tb, 0, sizeof *tb);
    for (int b = 0; b < TB; b++) {
        tb->lengths[b] = tlen[b];
        tb->labels[b] = (int32_t)sm_rng_below(&r, (uint64_t)(C > 1 ? C : 2));
        tb->targets[b] = (float)sm_rng_normal(&r);
        tb->rows[b] = (uint32_t)b;
        for (int t = 0; t < TT; t++) {
            int real = t < tlen[b];
            tb->ids[b * TT + t] = real ? 5 + (int32_t)sm_rng_below(&r, TV - 5) : 0;
            tb->types[b * TT + t] = real && t >= tlen[b] / 2 ? 1 : 0;
            tb->mask[b * TT + t] = (float)real;
        }
    }
    tb->b = (sm_batch){TB, TT, tb->ids, tb->types, tb->mask, tb->lengths,
                       C > 1 ? tb->labels : NULL, C > 1 ? NULL : tb->targets, (uint32_t *)tb->rows, TB, TT};
}

static void hp_for_tests(sm_hparams *hp, const char *preset)
{
    sm_hparams_default(hp);
    ck_assert_int_eq(sm_hparams_preset(hp, preset, NULL), SM_OK);
    hp->v[SM_HP_LR] = 1e-3;
    hp->v[SM_HP_WARMUP] = 0.25;
    hp->v[SM_HP_BATCH_SIZE] = TB;
    hp->v[SM_HP_MAX_LEN] = TT;
    hp->v[SM_HP_EPS] = 1e-2; /* large enough to matter on a tiny model */
    hp->v[SM_HP_SIGMA] = 1e-2;
    hp->v[SM_HP_ETA] = 1e-2;
}

static void do_step(sm_trainer *t, const sm_batch *b, sm_step_record *r)
{
    sm_error e;
    ck_assert_msg(sm_trainer_step(t, b, 0, r, &e) == SM_OK, "%s", e.msg);
}

/* P1: with lambda_s = mu = 0 the update is bit-identical to plain fine-tuning (written out here with
 * the engine and the optimizer directly) from the same seed; no extra pass or buffer exists. */
START_TEST(test_p1_zero_weights_is_vanilla)
{
    tbatch tb;
    tiny_batch(&tb, 3, 5);
    sm_bert *ma = tiny_model(3, 0.1f, 9), *mv = tiny_model(3, 0.1f, 9);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_LAMBDA_S] = 0;
    hp.v[SM_HP_MU] = 0;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, ma, &hp, 8, &e), SM_OK);

    /* plain fine-tuning */
    sm_bert_acts *a;
    ck_assert_int_eq(sm_bert_acts_create(&a, mv, TB, TT, 1, &e), SM_OK);
    int nt = sm_bert_tensor_count(mv);
    sm_param_segment segs[64];
    ck_assert_int_le(nt, 64);
    for (int i = 0; i < nt; i++)
        segs[i] = (sm_param_segment){sm_bert_tensor(mv, i)->offset, sm_bert_tensor(mv, i)->numel,
                                     sm_bert_tensor(mv, i)->decay};
    sm_optim o;
    ck_assert_int_eq(sm_optim_init(&o, sm_bert_numel(mv), segs, (size_t)nt, &e), SM_OK);
    float dlogits[TB * 3], *demb = sm_alloc_floats(TB * TT * 16, NULL, "test");
    size_t n = sm_bert_numel(mv);
    for (int s = 0; s < 4; s++) {
        sm_step_record r;
        do_step(&t, &tb.b, &r);
        ck_assert(r.rs == 0 && r.breg == 0 && r.rs_raw == 0 && r.breg_raw == 0 && !r.skipped);

        float *w = sm_bert_weights(mv), *g = sm_bert_grads(mv);
        sm_rng rc;
        sm_train_stream(&t.st.rng, s, SM_STREAM_CLEAN, &rc);
        double loss;
        sm_bert_zero_grads(mv);
        ck_assert_int_eq(sm_bert_embed(mv, w, a, &tb.b, SM_BERT_TRAIN, &rc, &e), SM_OK);
        ck_assert_int_eq(sm_bert_encode(mv, w, a, &tb.b, NULL, NULL, SM_BERT_TRAIN, &rc, &e), SM_OK);
        ck_assert_int_eq(sm_bert_task_loss(mv, sm_bert_acts_logits(a), &tb.b, &loss, dlogits, &e), SM_OK);
        ck_assert_int_eq(sm_bert_backward(mv, w, g, a, dlogits, demb, &e), SM_OK);
        ck_assert_int_eq(sm_bert_embed_backward(mv, w, g, a, demb, &e), SM_OK);
        sm_clip_grad_norm(g, n, hp.v[SM_HP_CLIP]);
        double lr = 1e-3 * sm_lr_factor(SM_LR_LINEAR, s, sm_warmup_steps(0.25, 8), 8);
        sm_optim_params p = {SM_OPTIM_ADAMW, lr, 0.9, 0.999, 1e-8, 0.01};
        sm_optim_step(&o, &p, w, g);
        ck_assert(r.loss == loss && r.lr == lr);
        ck_assert_msg(!memcmp(sm_bert_weights(ma), w, n * sizeof *w), "weights differ after step %d", s + 1);
    }
    /* skipped passes: no adversarial or inference workspace, no teacher, no perturbation buffer */
    ck_assert_ptr_null(t.adv_ws);
    ck_assert_ptr_null(t.infer_ws);
    ck_assert_ptr_null(t.teacher);
    ck_assert_ptr_null(t.delta);
    sm_free_aligned(demb);
    sm_optim_free(&o);
    sm_bert_acts_free(a);
    sm_trainer_free(&t);
    sm_bert_free(ma);
    sm_bert_free(mv);
}
END_TEST

/* P3 (whole step): the gradient of the total loss (task + lambda_s R_s + mu D_Breg, delta constant:
 * adv_steps 0 so delta is the theta-independent random start) against central finite differences of
 * the loss the step reports, for classification and regression. The engine is float32; the
 * differences are taken with h = 1e-2 on parameters of size 0.2 and compared to 2 %. */
START_TEST(test_p3_step_gradient)
{
    for (int C = 3; C >= 1; C -= 2) {
        tbatch tb;
        tiny_batch(&tb, C, 6);
        sm_bert *m = tiny_model(C, 0.1f, 10);
        sm_hparams hp;
        hp_for_tests(&hp, "paper");
        hp.v[SM_HP_ADV_STEPS] = 0;
        hp.v[SM_HP_SIGMA] = 0.5;
        hp.v[SM_HP_LAMBDA_S] = 2;
        hp.v[SM_HP_MU] = 3;
        sm_trainer t;
        sm_error e;
        ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
        sm_rng r;
        sm_rng_seed(&r, 77);
        for (size_t i = 0; i < t.n_params; i++)
            t.teacher[i] += (float)(0.05 * sm_rng_normal(&r));
        sm_step_record rec;
        ck_assert_msg(sm_trainer_compute(&t, &tb.b, 0, &rec, &e) == SM_OK, "%s", e.msg);
        ck_assert(rec.rs_raw > 0 && rec.breg_raw > 0);
        size_t n = t.n_params;
        float *g0 = malloc(n * sizeof *g0), *w = sm_bert_weights(m);
        memcpy(g0, sm_bert_grads(m), n * sizeof *g0);
        sm_trainer_cancel(&t);
        /* one element of each of several tensors: the largest-gradient element of the tensor */
        const char *names[] = {"classifier.weight", "bert.pooler.dense.weight",
                               "bert.encoder.layer.1.attention.self.query.weight",
                               "bert.encoder.layer.0.output.LayerNorm.weight",
                               "bert.encoder.layer.0.intermediate.dense.bias",
                               "bert.embeddings.word_embeddings.weight",
                               "bert.embeddings.position_embeddings.weight"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            int ti = sm_bert_tensor_find(m, names[k]);
            ck_assert_msg(ti >= 0, "no tensor %s", names[k]);
            const sm_tensor_info *info = sm_bert_tensor(m, ti);
            size_t best = info->offset;
            for (size_t i = info->offset; i < info->offset + info->numel; i++)
                if (fabsf(g0[i]) > fabsf(g0[best]))
                    best = i;
            const float h = 1e-2f, keep = w[best];
            double up, dn;
            w[best] = keep + h;
            ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, &rec, &e), SM_OK);
            up = rec.total;
            sm_trainer_cancel(&t);
            w[best] = keep - h;
            ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, &rec, &e), SM_OK);
            dn = rec.total;
            sm_trainer_cancel(&t);
            w[best] = keep;
            double fd = (up - dn) / (2.0 * ((double)(keep + h) - (double)keep));
            ck_assert_msg(fabs(fd - g0[best]) <= 2e-4 + 2e-2 * fabs(fd), "C=%d %s: fd %.6g analytic %.6g",
                          C, names[k], fd, g0[best]);
        }
        free(g0);
        sm_trainer_free(&t);
        sm_bert_free(m);
    }
}
END_TEST

/* P4 (model): perturbing padding positions does not change the logits. */
START_TEST(test_p4_padding_invariance)
{
    tbatch tb;
    tiny_batch(&tb, 3, 7);
    sm_bert *m = tiny_model(3, 0.0f, 11);
    sm_bert_acts *a;
    sm_error e;
    ck_assert_int_eq(sm_bert_acts_create(&a, m, TB, TT, 1, &e), SM_OK);
    const float *w = sm_bert_weights(m);
    ck_assert_int_eq(sm_bert_forward(m, w, a, &tb.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    float ref[TB * 3], d[TB * TT * 16];
    memcpy(ref, sm_bert_acts_logits(a), sizeof ref);
    random_fill(d, TB * TT * 16, 100.0, 3);
    for (int bt = 0; bt < TB * TT; bt++)
        if (tb.mask[bt] != 0)
            memset(d + bt * 16, 0, 16 * sizeof *d);
    ck_assert_int_eq(sm_bert_encode(m, w, a, &tb.b, NULL, d, SM_BERT_EVAL, NULL, &e), SM_OK);
    for (int i = 0; i < TB * 3; i++)
        ck_assert_msg(fabsf(sm_bert_acts_logits(a)[i] - ref[i]) <= 1e-6f, "logit %d moved", i);
    sm_bert_acts_free(a);
    sm_bert_free(m);
}
END_TEST

/* P6: for a small eta the ascent step increases ell_s, by its first-order prediction <g, delta' - delta>. */
START_TEST(test_p6_ascent_increases)
{
    tbatch tb;
    tiny_batch(&tb, 3, 8);
    sm_bert *m = tiny_model(3, 0.0f, 12);
    sm_bert_acts *ca, *pa;
    sm_error e;
    ck_assert_int_eq(sm_bert_acts_create(&ca, m, TB, TT, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&pa, m, TB, TT, 1, &e), SM_OK);
    const float *w = sm_bert_weights(m);
    ck_assert_int_eq(sm_bert_forward(m, w, ca, &tb.b, SM_BERT_EVAL, NULL, &e), SM_OK);
    const float *emb = sm_bert_acts_emb(ca), *clean = sm_bert_acts_logits(ca);
    enum { N = TB * TT * 16 };
    for (int norm = SM_ADV_EXAMPLE; norm <= SM_ADV_L2; norm++) {
        float d[N], gd[N], dl[TB * 3];
        sm_rng r;
        sm_rng_seed(&r, 4);
        sm_delta_init(d, tb.mask, TB, TT, 16, 0.05, &r);
        if (norm == SM_ADV_TOKEN) { /* start from a delta the token step keeps: unit per token */
            memset(gd, 0, sizeof gd);
            ck_assert_int_eq(sm_delta_ascent(d, gd, tb.mask, TB, TT, 16, norm, 0, 0), SM_OK);
        }
        ck_assert_int_eq(sm_bert_encode(m, w, pa, &tb.b, emb, d, SM_BERT_EVAL, NULL, &e), SM_OK);
        memset(dl, 0, sizeof dl);
        double l0 = sm_symkl(sm_bert_acts_logits(pa), clean, TB, 3, dl, NULL, 1);
        ck_assert_int_eq(sm_bert_backward(m, w, NULL, pa, dl, gd, &e), SM_OK);
        float d1[N];
        memcpy(d1, d, sizeof d);
        const double eta = 1e-3;
        ck_assert_int_eq(sm_delta_ascent(d1, gd, tb.mask, TB, TT, 16, norm, eta, 1e9), SM_OK);
        double pred = 0; /* first order: <g, d1 - d> */
        for (int i = 0; i < N; i++)
            pred += (double)gd[i] * ((double)d1[i] - d[i]);
        ck_assert_int_eq(sm_bert_encode(m, w, pa, &tb.b, emb, d1, SM_BERT_EVAL, NULL, &e), SM_OK);
        double l1 = sm_symkl(sm_bert_acts_logits(pa), clean, TB, 3, NULL, NULL, 1);
        /* example and l2 move along normalize(g): an ascent direction; token renormalises d + eta g
         * per token, which need not ascend, so only the first-order agreement is required of it */
        if (norm != SM_ADV_TOKEN || pred > 0)
            ck_assert_msg(l1 > l0, "adv_norm %d: %.9g -> %.9g", norm, l0, l1);
        ck_assert_msg(fabs((l1 - l0) - pred) <= 0.3 * fabs(pred), "adv_norm %d: gain %.6g, first order %.6g",
                      norm, l1 - l0, pred);
    }
    sm_bert_acts_free(ca);
    sm_bert_acts_free(pa);
    sm_bert_free(m);
}
END_TEST

/* P7: the ascent changes no parameter gradient (every adv_norm, three ascent steps). */
START_TEST(test_p7_ascent_no_param_grad)
{
    tbatch tb;
    tiny_batch(&tb, 3, 9);
    sm_bert *m = tiny_model(3, 0.1f, 13);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_ADV_STEPS] = 3;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    size_t n = t.n_params;
    float *g = sm_bert_grads(m), *sentinel = malloc(n * sizeof *sentinel);
    random_fill(g, n, 1.0, 5);
    memcpy(sentinel, g, n * sizeof *g);
    for (int norm = SM_ADV_EXAMPLE; norm <= SM_ADV_L2; norm++) {
        hp.v[SM_HP_ADV_NORM] = norm;
        ck_assert_int_eq(sm_trainer_set_hparams(&t, &hp, &e), SM_OK);
        ck_assert_msg(sm_trainer_perturb(&t, &tb.b, &e) == SM_OK, "%s", e.msg);
        ck_assert(!memcmp(g, sentinel, n * sizeof *g));
        /* P4 on the trainer's own delta: inside the ball (example, l2), zero on padding */
        double dn = sm_delta_norm(t.delta, tb.mask, TB, TT, 16, norm);
        ck_assert(dn > 0 && (norm == SM_ADV_TOKEN || dn <= 1e-2 * (1 + 1e-6)));
        for (int bt = 0; bt < TB * TT; bt++)
            for (int h = 0; h < 16; h++) {
                float x = t.delta[bt * 16 + h];
                ck_assert(tb.mask[bt] != 0 || x == 0.0f);
                ck_assert(norm == SM_ADV_TOKEN || fabsf(x) <= 1e-2f * (1 + 1e-6f));
            }
    }
    free(sentinel);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

/* P8 (trainer): the teacher is a copy of theta at step 0 (not an alias), follows the EMA exactly
 * after every update, switches beta at 10 % of the planned steps; D_Breg = 0 at step 0 without dropout. */
START_TEST(test_p8_teacher)
{
    tbatch tb;
    tiny_batch(&tb, 3, 10);
    sm_bert *m = tiny_model(3, 0.0f, 14);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_WARMUP] = 0; /* so that the first update moves theta away from the teacher */
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 20, &e), SM_OK);
    size_t n = t.n_params;
    float *w = sm_bert_weights(m);
    ck_assert_ptr_nonnull(t.teacher);
    ck_assert_ptr_ne(t.teacher, w);
    ck_assert(!memcmp(t.teacher, w, n * sizeof *w));
    float *old = malloc(n * sizeof *old);
    for (int s = 1; s <= 4; s++) {
        memcpy(old, t.teacher, n * sizeof *old);
        sm_step_record r;
        do_step(&t, &tb.b, &r);
        if (s == 1)
            ck_assert_msg(fabs(r.breg_raw) < 1e-12, "D_Breg at step 0: %g", r.breg_raw);
        else
            ck_assert(r.breg_raw > 0);
        double beta = s <= 2 ? 0.99 : 0.999; /* floor(0.1 * 20) = 2 */
        ck_assert(r.beta == beta);
        for (size_t i = 0; i < n; i++)
            ck_assert(t.teacher[i] == (float)(beta * old[i] + (1 - beta) * w[i]));
    }
    free(old);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

static void copy_state(sm_trainer *dst, const sm_trainer *src)
{
    size_t n = src->n_params;
    memcpy(sm_bert_weights(dst->model), sm_bert_weights(src->model), n * sizeof(float));
    memcpy(dst->opt.m, src->opt.m, n * sizeof(float));
    memcpy(dst->opt.v, src->opt.v, n * sizeof(float));
    dst->opt.t = src->opt.t;
    if (src->teacher) {
        ck_assert_int_eq(sm_trainer_teacher_alloc(dst, NULL), SM_OK);
        memcpy(dst->teacher, src->teacher, n * sizeof(float));
    }
    dst->st = src->st;
}

/* P10: a fixed seed gives identical delta, losses and weights across runs and across a save/load
 * (every piece of state copied as plain data into a fresh model and trainer) in between. */
START_TEST(test_p10_determinism)
{
    tbatch tb[2];
    tiny_batch(&tb[0], 3, 11);
    tiny_batch(&tb[1], 3, 12);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_ADV_STEPS] = 2;
    sm_error e;
    sm_trainer a, b, c;
    sm_bert *ma = tiny_model(3, 0.1f, 15), *mb = tiny_model(3, 0.1f, 15), *mc = tiny_model(3, 0.1f, 99);
    ck_assert_int_eq(sm_trainer_init(&a, ma, &hp, 8, &e), SM_OK);
    ck_assert_int_eq(sm_trainer_init(&b, mb, &hp, 8, &e), SM_OK);
    sm_step_record ra[4], rb[4];
    for (int s = 0; s < 4; s++)
        do_step(&a, &tb[s % 2].b, &ra[s]);
    for (int s = 0; s < 2; s++)
        do_step(&b, &tb[s % 2].b, &rb[s]);
    /* "load" the saved state into a fresh model (initialised from another seed) and trainer */
    sm_hparams hc = hp;
    hc.v[SM_HP_MU] = 0; /* the teacher comes from the saved state */
    ck_assert_int_eq(sm_trainer_init(&c, mc, &hc, 8, &e), SM_OK);
    copy_state(&c, &b);
    ck_assert_int_eq(sm_trainer_set_hparams(&c, &hp, &e), SM_OK);
    for (int s = 2; s < 4; s++) {
        do_step(&b, &tb[s % 2].b, &rb[s]);
        sm_step_record r;
        do_step(&c, &tb[s % 2].b, &r);
        ck_assert(r.loss == ra[s].loss && r.rs == ra[s].rs && r.breg == ra[s].breg);
        ck_assert(r.delta_norm == ra[s].delta_norm && r.grad_norm == ra[s].grad_norm);
    }
    size_t n = a.n_params, nx = TB * TT * 16;
    for (int s = 0; s < 4; s++)
        ck_assert(ra[s].loss == rb[s].loss && ra[s].rs_raw == rb[s].rs_raw && ra[s].total == rb[s].total);
    ck_assert(!memcmp(sm_bert_weights(ma), sm_bert_weights(mb), n * sizeof(float)));
    ck_assert(!memcmp(sm_bert_weights(ma), sm_bert_weights(mc), n * sizeof(float)));
    ck_assert(!memcmp(a.teacher, c.teacher, n * sizeof(float)));
    ck_assert(!memcmp(a.opt.v, c.opt.v, n * sizeof(float)));
    ck_assert(!memcmp(a.delta, b.delta, nx * sizeof(float)));
    ck_assert(!memcmp(a.delta, c.delta, nx * sizeof(float)));
    sm_trainer_free(&a);
    sm_trainer_free(&b);
    sm_trainer_free(&c);
    sm_bert_free(ma);
    sm_bert_free(mb);
    sm_bert_free(mc);
}
END_TEST

/* sm_trainer_reinit on a trainer that has trained gives what a fresh sm_trainer_init gives: the same
 * steps after it, bit for bit (the moments, teacher, streams and step count start again; the
 * workspaces it keeps hold nothing that shows), with the teacher turned on, kept or dropped, and a
 * batch size that changes the workspaces. */
START_TEST(test_reinit_equals_init)
{
    tbatch tb;
    tiny_batch(&tb, 3, 21);
    sm_error e;
    for (int variant = 0; variant < 3; variant++) {
        sm_hparams hp, h2;
        hp_for_tests(&hp, variant == 1 ? "vanilla" : "paper");
        hp.v[SM_HP_ADV_STEPS] = 1;
        hp_for_tests(&h2, variant == 2 ? "vanilla" : "paper");
        h2.v[SM_HP_ADV_STEPS] = 2;
        h2.v[SM_HP_LR] = 3e-4;
        if (variant == 0)
            h2.v[SM_HP_BATCH_SIZE] = hp.v[SM_HP_BATCH_SIZE] + 1;
        sm_bert *ma = tiny_model(3, 0.1f, 31), *mb = tiny_model(3, 0.1f, 32);
        sm_trainer a, b;
        ck_assert_int_eq(sm_trainer_init(&a, ma, &hp, 8, &e), SM_OK);
        sm_step_record r;
        for (int s = 0; s < 3; s++)
            do_step(&a, &tb.b, &r);
        ck_assert_int_eq(sm_trainer_reinit(&a, &h2, 6, &e), SM_OK);
        ck_assert(a.st.step == 0 && a.opt.t == 0 && a.st.planned == 6 && a.phase == SM_PHASE_IDLE);
        ck_assert((a.teacher != NULL) == (h2.v[SM_HP_MU] > 0));
        /* the fresh one starts from the weights the first has now */
        const size_t n = a.n_params;
        memcpy(sm_bert_weights(mb), sm_bert_weights(ma), n * sizeof(float));
        ck_assert_int_eq(sm_trainer_init(&b, mb, &h2, 6, &e), SM_OK);
        for (int s = 0; s < 3; s++) {
            sm_step_record ra, rb;
            do_step(&a, &tb.b, &ra);
            do_step(&b, &tb.b, &rb);
            ck_assert(ra.loss == rb.loss && ra.rs == rb.rs && ra.breg == rb.breg && ra.grad_norm == rb.grad_norm);
        }
        ck_assert(!memcmp(sm_bert_weights(ma), sm_bert_weights(mb), n * sizeof(float)));
        ck_assert(!memcmp(a.opt.m, b.opt.m, n * sizeof(float)) && !memcmp(a.opt.v, b.opt.v, n * sizeof(float)));
        ck_assert((a.teacher == NULL) == (b.teacher == NULL));
        ck_assert(!a.teacher || !memcmp(a.teacher, b.teacher, n * sizeof(float)));
        sm_trainer_free(&a);
        sm_trainer_free(&b);
        sm_bert_free(ma);
        sm_bert_free(mb);
    }
}
END_TEST

/* A non-finite loss never reaches the weights: the update is skipped and reported; a non-finite
 * ascent gradient skips R_s for the batch and says so. */
START_TEST(test_nonfinite_skipped)
{
    tbatch tb;
    tiny_batch(&tb, 3, 13);
    sm_bert *m = tiny_model(3, 0.1f, 16);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    size_t n = t.n_params;
    float *before = malloc(n * sizeof *before);
    memcpy(before, sm_bert_weights(m), n * sizeof *before);
    t.teacher[0] = NAN; /* the teacher's logits become NaN, so does D_Breg */
    sm_step_record r;
    do_step(&t, &tb.b, &r);
    ck_assert(r.skipped == 1 && !isfinite(r.total));
    ck_assert(!memcmp(before, sm_bert_weights(m), n * sizeof *before));
    ck_assert_int_eq(t.st.skipped, 1);
    ck_assert_int_eq(t.st.step, 1);
    ck_assert_int_eq(t.opt.t, 0);
    /* compute/apply order is enforced */
    ck_assert_int_eq(sm_trainer_apply(&t, NULL, &e), SM_ERR_STATE);
    ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, NULL, &e), SM_OK);
    ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, NULL, &e), SM_ERR_STATE);
    ck_assert_int_eq(sm_trainer_set_hparams(&t, &hp, &e), SM_ERR_STATE);
    sm_trainer_cancel(&t);
    /* a non-finite ascent gradient (a random start of 1e38 overflows the encoder) skips R_s only */
    t.teacher[0] = t.teacher[1];
    hp.v[SM_HP_SIGMA] = 1e38;
    ck_assert_int_eq(sm_trainer_set_hparams(&t, &hp, &e), SM_OK);
    memcpy(before, sm_bert_weights(m), n * sizeof *before);
    do_step(&t, &tb.b, &r);
    ck_assert(r.rs_skipped == 1 && r.skipped == 0 && r.rs == 0 && isfinite(r.total));
    ck_assert(r.total == r.loss + r.breg);
    ck_assert_int_eq(t.st.rs_skipped, 1);
    ck_assert(memcmp(before, sm_bert_weights(m), n * sizeof *before) != 0);
    free(before);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

/* Evaluation (and predict, through the same check) refuses outputs that are not finite: a model
 * whose weights diverged gives an error, not metrics or predictions of NaN. */
START_TEST(test_eval_nonfinite_refused)
{
    tbatch tb;
    tiny_batch(&tb, 2, 14);
    sm_bert *m = tiny_model(2, 0.1f, 17);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    float *w = sm_bert_weights(m);
    w[sm_bert_numel(m) - 1] = NAN; /* the classifier's last bias */
    sm_eval_acc acc;
    sm_eval_acc_init(&acc, 2);
    ck_assert_int_eq(sm_trainer_eval_batch(&t, &tb.b, &acc, &e), SM_ERR_NONFINITE);
    ck_assert_msg(strstr(e.msg, "not finite") && strstr(e.msg, "diverged"), "%s", e.msg);
    sm_eval_acc_free(&acc);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

START_TEST(test_eval_batch)
{
    tbatch tb;
    tiny_batch(&tb, 2, 14);
    sm_bert *m = tiny_model(2, 0.1f, 17);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    sm_eval_acc acc;
    sm_eval_acc_init(&acc, 2);
    ck_assert_int_eq(sm_trainer_eval_batch(&t, &tb.b, &acc, &e), SM_OK);
    ck_assert_int_eq(sm_trainer_eval_batch(&t, &tb.b, &acc, &e), SM_OK);
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    ck_assert_int_eq(sm_eval_acc_finish(&acc, &ev, &e), SM_OK);
    ck_assert_int_eq(ev.n, 2 * TB);
    ck_assert(isfinite(ev.loss) && ev.acc >= 0 && ev.acc <= 1 && isfinite(ev.mcc) && isnan(ev.pearson));
    /* evaluation is deterministic (no dropout): both passes gave the same predictions */
    for (int i = 0; i < TB; i++)
        ck_assert_int_eq(acc.pred[i], acc.pred[TB + i]);
    sm_eval_acc_free(&acc);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST


/* Memory (issue 16): a SMART step holds two store workspaces and no inference one: the teacher runs
 * on the clean workspace before the clean forward, evaluation during training reuses it, and the
 * probe gradient shares its buffer with the adversarial input gradient. The teacher's logits and the
 * evaluation logits are bit-identical to a forward on an inference workspace. */
START_TEST(test_step_workspaces)
{
    tbatch tb;
    tiny_batch(&tb, 2, 12);
    sm_bert *m = tiny_model(2, 0.1f, 21);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_WARMUP] = 0;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    sm_bert_acts *inf;
    ck_assert_int_eq(sm_bert_acts_create(&inf, m, tb.b.B, tb.b.T, 0, &e), SM_OK);
    const int C = sm_bert_config_get(m)->num_labels;
    const size_t nl = (size_t)tb.b.B * (size_t)C;
    float ref[64];
    ck_assert(nl <= 64);
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(sm_bert_forward(m, t.teacher, inf, &tb.b, SM_BERT_EVAL, NULL, &e), SM_OK);
        memcpy(ref, sm_bert_acts_logits(inf), nl * sizeof *ref);
        sm_step_record r;
        ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, &r, &e), SM_OK);
        ck_assert_msg(!memcmp(t.teacher_logits, ref, nl * sizeof *ref), "teacher logits differ at step %d", s);
        ck_assert_int_eq(sm_trainer_apply(&t, &r, &e), SM_OK);
        ck_assert_ptr_nonnull(t.clean_ws);
        ck_assert_ptr_nonnull(t.adv_ws);
        ck_assert_ptr_null(t.infer_ws);
        ck_assert_ptr_eq(t.dx_adv, t.gdelta);
        /* evaluation between steps: the clean workspace, the same logits as an inference one */
        sm_eval_acc acc;
        sm_eval_acc_init(&acc, C);
        ck_assert_int_eq(sm_trainer_eval_batch(&t, &tb.b, &acc, &e), SM_OK);
        sm_eval_acc_free(&acc);
        ck_assert_ptr_null(t.infer_ws);
        ck_assert_int_eq(sm_bert_forward(m, sm_bert_weights(m), inf, &tb.b, SM_BERT_EVAL, NULL, &e), SM_OK);
        ck_assert(!memcmp(sm_bert_acts_logits(t.clean_ws), sm_bert_acts_logits(inf), nl * sizeof(float)));
    }
    sm_bert_acts_free(inf);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST


/* Memory (issue 16): two store workspaces that share layers and backward scratch give, whichever ran
 * the last forward, the same gradients and input gradients bit for bit as two workspaces of their
 * own; for no shared layer, one, and all. */
START_TEST(test_shared_workspaces_bit_identical)
{
    tbatch tb;
    tiny_batch(&tb, 3, 31);
    sm_bert *m = tiny_model(3, 0.1f, 32);
    const float *w = sm_bert_weights(m);
    const size_t n = sm_bert_numel(m), nx = (size_t)TB * TT * 16;
    float *gref = malloc(n * sizeof *gref), *dxref = malloc(nx * sizeof *dxref), *dx = malloc(nx * sizeof *dx);
    float *gadv = malloc(n * sizeof *gadv), *dxadv = malloc(nx * sizeof *dxadv);
    float *delta = malloc(nx * sizeof *delta), dl[TB * 3];
    sm_rng r;
    sm_rng_seed(&r, 5);
    for (size_t i = 0; i < nx; i++)
        delta[i] = (float)(0.1 * sm_rng_normal(&r));
    for (int i = 0; i < TB * 3; i++)
        dl[i] = (float)sm_rng_normal(&r);
    sm_error e;
    const int L = sm_bert_config_get(m)->num_layers;
    for (int k = 0; k <= L; k++) {
        /* reference: each pass on its own workspace */
        sm_bert_acts *ca, *pa, *lend, *borrow;
        ck_assert_int_eq(sm_bert_acts_create(&ca, m, TB, TT, 1, &e), SM_OK);
        ck_assert_int_eq(sm_bert_acts_create(&pa, m, TB, TT, 1, &e), SM_OK);
        sm_rng r1, r2;
        sm_rng_seed(&r1, 100);
        sm_rng_seed(&r2, 200);
        ck_assert_int_eq(sm_bert_forward(m, w, ca, &tb.b, SM_BERT_TRAIN, &r1, &e), SM_OK);
        ck_assert_int_eq(sm_bert_encode(m, w, pa, &tb.b, sm_bert_acts_emb(ca), delta, SM_BERT_TRAIN, &r2, &e),
                         SM_OK);
        sm_bert_zero_grads(m);
        ck_assert_int_eq(sm_bert_backward(m, w, sm_bert_grads(m), pa, dl, dxadv, &e), SM_OK);
        memcpy(gadv, sm_bert_grads(m), n * sizeof *gadv);
        ck_assert_int_eq(sm_bert_backward(m, w, sm_bert_grads(m), ca, dl, dxref, &e), SM_OK);
        ck_assert_int_eq(sm_bert_embed_backward(m, w, sm_bert_grads(m), ca, dxref, &e), SM_OK);
        memcpy(gref, sm_bert_grads(m), n * sizeof *gref);

        /* the same passes, the clean one sharing k layers with the adversarial one */
        ck_assert_int_eq(sm_bert_acts_create(&lend, m, TB, TT, 1, &e), SM_OK);
        ck_assert_int_eq(sm_bert_acts_create_sharing(&borrow, m, lend, k, &e), SM_OK);
        ck_assert(sm_bert_acts_bytes(borrow) < sm_bert_acts_bytes(ca));
        sm_bert_acts *again;
        ck_assert_int_eq(sm_bert_acts_create_sharing(&again, m, lend, 1, &e), SM_ERR_STATE);
        sm_rng_seed(&r1, 100);
        sm_rng_seed(&r2, 200);
        ck_assert_int_eq(sm_bert_forward(m, w, borrow, &tb.b, SM_BERT_TRAIN, &r1, &e), SM_OK);
        ck_assert_int_eq(sm_bert_encode(m, w, lend, &tb.b, sm_bert_acts_emb(borrow), delta, SM_BERT_TRAIN, &r2,
                                        &e), SM_OK);
        ck_assert(!memcmp(sm_bert_acts_logits(lend), sm_bert_acts_logits(pa), TB * 3 * sizeof(float)));
        sm_bert_zero_grads(m);
        ck_assert_int_eq(sm_bert_backward(m, w, sm_bert_grads(m), lend, dl, dx, &e), SM_OK);
        ck_assert_msg(!memcmp(sm_bert_grads(m), gadv, n * sizeof *gadv), "k=%d: adversarial gradients differ", k);
        ck_assert(!memcmp(dx, dxadv, nx * sizeof *dx));
        ck_assert_int_eq(sm_bert_backward(m, w, sm_bert_grads(m), borrow, dl, dx, &e), SM_OK);
        ck_assert(!memcmp(dx, dxref, nx * sizeof *dx));
        ck_assert_int_eq(sm_bert_embed_backward(m, w, sm_bert_grads(m), borrow, dx, &e), SM_OK);
        ck_assert_msg(!memcmp(sm_bert_grads(m), gref, n * sizeof *gref), "k=%d: clean gradients differ", k);
        /* and back: the lender's layers were the borrower's; its backward recomputes them */
        ck_assert_int_eq(sm_bert_backward(m, w, NULL, lend, dl, dx, &e), SM_OK);
        ck_assert_msg(!memcmp(dx, dxadv, nx * sizeof *dx), "k=%d: second adversarial backward differs", k);
        ck_assert_int_eq(sm_bert_backward(m, w, NULL, borrow, dl, dx, &e), SM_OK);
        ck_assert(!memcmp(dx, dxref, nx * sizeof *dx));
        sm_bert_acts_free(borrow);
        sm_bert_acts_free(lend);
        sm_bert_acts_free(ca);
        sm_bert_acts_free(pa);
    }
    sm_bert_acts *inf, *bad;
    ck_assert_int_eq(sm_bert_acts_create(&inf, m, TB, TT, 0, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create_sharing(&bad, m, inf, 1, &e), SM_ERR_INVALID);
    sm_bert_acts_free(inf);
    ck_assert_int_eq(sm_bert_acts_create(&inf, m, TB, TT, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create_sharing(&bad, m, inf, L + 1, &e), SM_ERR_RANGE);
    sm_bert_acts_free(inf);
    free(gref);
    free(dxref);
    free(dx);
    free(gadv);
    free(dxadv);
    free(delta);
    sm_bert_free(m);
}
END_TEST

/* The trainer's SMART step, whose clean workspace shares layers with the adversarial one, against the
 * same step written out on workspaces of their own (SMART.md's order of passes): the same gradient
 * arena and record, bit for bit, for several steps. */
START_TEST(test_step_shared_equals_unshared)
{
    tbatch tb;
    tiny_batch(&tb, 3, 41);
    sm_bert *ma = tiny_model(3, 0.1f, 42), *mv = tiny_model(3, 0.1f, 42);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    hp.v[SM_HP_ADV_STEPS] = 2;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, ma, &hp, 8, &e), SM_OK);
    ck_assert(t.smart_memory == SM_SMART_MEMORY);
    t.smart_memory = 1.0; /* as little memory as can be: every layer shared */
    const size_t n = sm_bert_numel(mv), nx = (size_t)TB * TT * 16;
    sm_bert_acts *ca, *pa, *ta;
    ck_assert_int_eq(sm_bert_acts_create(&ca, mv, TB, TT, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&pa, mv, TB, TT, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&ta, mv, TB, TT, 0, &e), SM_OK);
    float *teacher = malloc(n * sizeof *teacher), *delta = malloc(nx * sizeof *delta);
    float *gd = malloc(nx * sizeof *gd), *dx = malloc(nx * sizeof *dx), *dxa = malloc(nx * sizeof *dxa);
    memcpy(teacher, sm_bert_weights(mv), n * sizeof *teacher);
    float clean[TB * 3], tl[TB * 3], dclean[TB * 3], dadv[TB * 3];
    for (int s = 0; s < 3; s++) {
        sm_step_record rec;
        ck_assert_msg(sm_trainer_compute(&t, &tb.b, 0, &rec, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(t.shared_layers, sm_bert_config_get(ma)->num_layers);
        float *w = sm_bert_weights(mv), *g = sm_bert_grads(mv);
        ck_assert(!memcmp(sm_bert_weights(ma), w, n * sizeof *w));
        sm_rng r;
        ck_assert_int_eq(sm_bert_forward(mv, teacher, ta, &tb.b, SM_BERT_EVAL, NULL, &e), SM_OK);
        memcpy(tl, sm_bert_acts_logits(ta), sizeof tl);
        sm_bert_zero_grads(mv);
        sm_train_stream(&t.st.rng, s, SM_STREAM_CLEAN, &r);
        ck_assert_int_eq(sm_bert_forward(mv, w, ca, &tb.b, SM_BERT_TRAIN, &r, &e), SM_OK);
        memcpy(clean, sm_bert_acts_logits(ca), sizeof clean);
        double loss;
        ck_assert_int_eq(sm_bert_task_loss(mv, clean, &tb.b, &loss, dclean, &e), SM_OK);
        sm_train_stream(&t.st.rng, s, SM_STREAM_START, &r);
        sm_delta_init(delta, tb.mask, TB, TT, 16, hp.v[SM_HP_SIGMA], &r);
        for (int k = 0; k < 2; k++) {
            sm_train_stream(&t.st.rng, s, SM_STREAM_PROBE + (unsigned)k, &r);
            ck_assert_int_eq(sm_bert_encode(mv, w, pa, &tb.b, sm_bert_acts_emb(ca), delta, SM_BERT_TRAIN, &r, &e),
                             SM_OK);
            memset(dadv, 0, sizeof dadv);
            sm_ell_s(sm_bert_acts_logits(pa), clean, TB, 3, dadv, NULL, (double)TB);
            ck_assert_int_eq(sm_bert_backward(mv, w, NULL, pa, dadv, gd, &e), SM_OK);
            ck_assert_int_eq(sm_delta_ascent(delta, gd, tb.mask, TB, TT, 16, (sm_adv_norm)(int)hp.v[SM_HP_ADV_NORM],
                                             hp.v[SM_HP_ETA], hp.v[SM_HP_EPS]), SM_OK);
        }
        sm_train_stream(&t.st.rng, s, SM_STREAM_ADV, &r);
        ck_assert_int_eq(sm_bert_encode(mv, w, pa, &tb.b, sm_bert_acts_emb(ca), delta, SM_BERT_TRAIN, &r, &e),
                         SM_OK);
        memset(dadv, 0, sizeof dadv);
        double rs = sm_ell_s(sm_bert_acts_logits(pa), clean, TB, 3, dadv, dclean, hp.v[SM_HP_LAMBDA_S]);
        ck_assert_int_eq(sm_bert_backward(mv, w, g, pa, dadv, dxa, &e), SM_OK);
        double breg = sm_ell_s(clean, tl, TB, 3, dclean, NULL, hp.v[SM_HP_MU]);
        ck_assert_int_eq(sm_bert_backward(mv, w, g, ca, dclean, dx, &e), SM_OK);
        for (size_t i = 0; i < nx; i++)
            dx[i] += dxa[i];
        ck_assert_int_eq(sm_bert_embed_backward(mv, w, g, ca, dx, &e), SM_OK);
        ck_assert(rec.loss == loss && rec.rs_raw == rs && rec.breg_raw == breg);
        ck_assert(!memcmp(t.delta, delta, nx * sizeof *delta));
        ck_assert_msg(!memcmp(sm_bert_grads(ma), g, n * sizeof *g), "gradients differ at step %d", s + 1);
        /* the next step from the same weights and teacher on both */
        ck_assert_int_eq(sm_trainer_apply(&t, &rec, &e), SM_OK);
        memcpy(w, sm_bert_weights(ma), n * sizeof *w);
        memcpy(teacher, t.teacher, n * sizeof *teacher);
    }
    free(teacher);
    free(delta);
    free(gd);
    free(dx);
    free(dxa);
    sm_bert_acts_free(ca);
    sm_bert_acts_free(pa);
    sm_bert_acts_free(ta);
    sm_trainer_free(&t);
    sm_bert_free(ma);
    sm_bert_free(mv);
}
END_TEST

/* adv_norm token follows SMART.md with g_i the gradient of example i's own ell_s (not of the batch
 * mean): the trainer's delta equals the formula applied by hand to the engine's probe gradient. */
START_TEST(test_token_step_per_example_gradient)
{
    tbatch tb;
    tiny_batch(&tb, 3, 15);
    sm_bert *m = tiny_model(3, 0.1f, 19);
    sm_hparams hp;
    hp_for_tests(&hp, "mtdnn");
    hp.v[SM_HP_SIGMA] = 1e-3;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);

    enum { N = TB * TT * 16 };
    sm_bert_acts *ca, *pa;
    ck_assert_int_eq(sm_bert_acts_create(&ca, m, TB, TT, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&pa, m, TB, TT, 1, &e), SM_OK);
    const float *w = sm_bert_weights(m);
    sm_rng r;
    sm_train_stream(&t.st.rng, 0, SM_STREAM_CLEAN, &r);
    ck_assert_int_eq(sm_bert_forward(m, w, ca, &tb.b, SM_BERT_TRAIN, &r, &e), SM_OK);
    float d[N], g[N], dl[TB * 3] = {0};
    sm_train_stream(&t.st.rng, 0, SM_STREAM_START, &r);
    sm_delta_init(d, tb.mask, TB, TT, 16, 1e-3, &r);
    sm_train_stream(&t.st.rng, 0, SM_STREAM_PROBE, &r);
    ck_assert_int_eq(sm_bert_encode(m, w, pa, &tb.b, sm_bert_acts_emb(ca), d, SM_BERT_TRAIN, &r, &e), SM_OK);
    sm_symkl(sm_bert_acts_logits(pa), sm_bert_acts_logits(ca), TB, 3, dl, NULL, 1.0); /* batch mean */
    ck_assert_int_eq(sm_bert_backward(m, w, NULL, pa, dl, g, &e), SM_OK);
    /* eta such that eta * g_i is of the size of the random start: the scale of g then shows */
    double ga = 0;
    for (int i = 0; i < N; i++)
        ga += fabs(g[i]);
    const double eta = 1e-3 / (TB * ga / N);
    hp.v[SM_HP_ETA] = eta;
    ck_assert_int_eq(sm_trainer_set_hparams(&t, &hp, &e), SM_OK);
    ck_assert_msg(sm_trainer_perturb(&t, &tb.b, &e) == SM_OK, "%s", e.msg);
    int differs = 0; /* the batch-mean gradient would give another delta */
    for (int bt = 0; bt < TB * TT; bt++) {
        double mx = 0, mw = 0, x[16], xw[16];
        for (int h = 0; h < 16; h++) {
            x[h] = (double)d[bt * 16 + h] + eta * TB * (double)g[bt * 16 + h] * tb.mask[bt];
            xw[h] = (double)d[bt * 16 + h] + eta * (double)g[bt * 16 + h] * tb.mask[bt];
            mx = fmax(mx, fabs(x[h]));
            mw = fmax(mw, fabs(xw[h]));
        }
        for (int h = 0; h < 16; h++) {
            double want = tb.mask[bt] != 0 ? x[h] / (mx + 1e-6) : 0.0;
            ck_assert_msg(fabs(t.delta[bt * 16 + h] - want) <= 1e-5 * fmax(1.0, fabs(want)),
                          "delta[%d] = %.9g, SMART.md gives %.9g", bt * 16 + h, t.delta[bt * 16 + h], want);
            differs |= tb.mask[bt] != 0 && fabs(xw[h] / (mw + 1e-6) - want) > 1e-3;
        }
    }
    ck_assert(differs);
    sm_bert_acts_free(ca);
    sm_bert_acts_free(pa);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

/* [CLS] one id per byte [SEP] (b [SEP]): a stand-in tokenizer for the evaluation test. */
static sm_status byte_encode(void *ud, const char *a, const char *b, int max_len, sm_ids *ids,
                             sm_ids *types, sm_error *e)
{
    (void)ud;
    ids->n = types->n = 0;
    const char *texts[2] = {a, b};
    for (int k = 0; k < 2 && texts[k]; k++) {
        if (k == 0 && (sm_ids_push(ids, 2, e) || sm_ids_push(types, 0, e)))
            return SM_ERR_NOMEM;
        for (const char *p = texts[k]; *p && (int)ids->n < max_len - 1; p++)
            if (sm_ids_push(ids, 5 + (unsigned char)*p % (TV - 5), e) || sm_ids_push(types, k, e))
                return SM_ERR_NOMEM;
        if (sm_ids_push(ids, 3, e) || sm_ids_push(types, k, e))
            return SM_ERR_NOMEM;
    }
    return SM_OK;
}

/* Evaluation of a whole dataset: the same predictions and metrics whatever the batch size (padding
 * changes nothing in eval mode), and refusals for unlabelled or mismatched sets. */
START_TEST(test_evaluate_dataset)
{
    static const char tsv[] = "sentence\tlabel\nthe cat\t1\na dog barks loudly\t0\nok\t1\n"
                              "nothing to see here at all\t0\nyes\t1\n";
    sm_data_opts o;
    sm_data_opts_init(&o);
    sm_dataset *ds;
    sm_error e;
    ck_assert_msg(sm_dataset_load_mem("dev.tsv", tsv, sizeof tsv - 1, &o, &ds, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(sm_dataset_tokenize_fn(ds, byte_encode, NULL, 12, &e) == SM_OK, "%s", e.msg);
    sm_bert *m = tiny_model(2, 0.1f, 18);
    sm_hparams hp;
    hp_for_tests(&hp, "paper");
    sm_trainer t;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    sm_eval_record ev[3];
    int sizes[3] = {1, 2, 5};
    for (int k = 0; k < 3; k++) {
        sm_eval_record_init(&ev[k]);
        ck_assert_msg(sm_trainer_evaluate(&t, ds, sizes[k], 0, NULL, &ev[k], &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(ev[k].n, 5);
        ck_assert(isfinite(ev[k].f1) && isfinite(ev[k].mcc) && isnan(ev[k].macro_f1));
        ck_assert(ev[k].acc == ev[0].acc && ev[k].f1 == ev[0].f1 && ev[k].mcc == ev[0].mcc);
        ck_assert(fabs(ev[k].loss - ev[0].loss) < 1e-5);
    }
    ck_assert_int_eq(sm_trainer_evaluate(&t, ds, 0, 0, NULL, &ev[0], &e), SM_ERR_INVALID);
    sm_trainer_free(&t);
    sm_bert_free(m);
    m = tiny_model(1, 0.1f, 18);
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    ck_assert_int_eq(sm_trainer_evaluate(&t, ds, 2, 0, NULL, &ev[0], &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "classification"));
    sm_trainer_free(&t);
    sm_bert_free(m);
    sm_dataset_free(ds);
    sm_data_opts_free(&o);
}
END_TEST

/* ---- against transformers (the hf-bert fixture) ------------------------------------------------------ */

static float *st_tensor(const sm_st_file *f, const char *name, size_t numel)
{
    long i = sm_st_find(f, name);
    ck_assert_msg(i >= 0, "%s: no tensor %s", sm_st_path(f), name);
    ck_assert_uint_eq(sm_st_tensor_at(f, (size_t)i)->numel, numel);
    float *x = malloc(numel * sizeof *x);
    sm_error e;
    ck_assert_msg(sm_st_read_float(f, (size_t)i, x, numel, &e) == SM_OK, "%s", e.msg);
    return x;
}

static void json_ints(json_t *arr, int32_t *out, int B, int T)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            out[b * T + t] = (int32_t)json_integer_value(json_array_get(json_array_get(arr, (size_t)b), (size_t)t));
}

/* P2/P3 against the reference: the symmetric KL of transformers' clean and perturbed logits, and
 * d symkl / d delta through the whole encoder (the probe backward, no parameter gradient), within 1e-4. */
START_TEST(test_reference_smart)
{
    char buf[4096], path[4200];
    const char *dir = tu_shared(buf, sizeof buf, "fixtures/hf-bert/bert-tiny-random-cls3");
    if (!dir)
        return;
    sm_error e;
    sm_bert_config cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_msg(sm_config_load(path, &cfg, &e) == SM_OK, "%s", e.msg);
    sm_bert *m;
    ck_assert_msg(sm_bert_create(&m, &cfg, 0, &e) == SM_OK, "%s", e.msg);
    sm_st_file *wf, *gf;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_msg(sm_st_open(path, &wf, &e) == SM_OK, "%s", e.msg);
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        const sm_tensor_info *ti = sm_bert_tensor(m, i);
        float *x = st_tensor(wf, ti->name, ti->numel);
        memcpy(sm_bert_weights(m) + ti->offset, x, ti->numel * sizeof *x);
        free(x);
    }
    sm_st_close(wf);

    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t je;
    json_t *ref = json_load_file(path, JSON_ALLOW_NUL, &je); /* a tokenization text holds a NUL */
    ck_assert_msg(ref != NULL, "%s:%d: %s", path, je.line, je.text);
    json_t *jb = json_object_get(ref, "batch"), *ids = json_object_get(jb, "input_ids");
    int B = (int)json_array_size(ids), T = (int)json_array_size(json_array_get(ids, 0)), C = cfg.num_labels;
    int H = cfg.hidden_size;
    int32_t *iv = malloc((size_t)B * T * sizeof *iv), *tv = malloc((size_t)B * T * sizeof *tv);
    int32_t *mv = malloc((size_t)B * T * sizeof *mv), *len = calloc((size_t)B, sizeof *len);
    int32_t *lab = malloc((size_t)B * sizeof *lab);
    float *mask = malloc((size_t)B * T * sizeof *mask);
    json_ints(ids, iv, B, T);
    json_ints(json_object_get(jb, "token_type_ids"), tv, B, T);
    json_ints(json_object_get(jb, "attention_mask"), mv, B, T);
    for (int i = 0; i < B * T; i++) {
        mask[i] = (float)mv[i];
        len[i / T] += mv[i];
    }
    for (int b = 0; b < B; b++)
        lab[b] = (int32_t)json_integer_value(json_array_get(json_object_get(jb, "labels"), (size_t)b));
    sm_batch batch = {B, T, iv, tv, mask, len, lab, NULL, NULL, B, T};

    snprintf(path, sizeof path, "%s/reference_grads.safetensors", dir);
    ck_assert_msg(sm_st_open(path, &gf, &e) == SM_OK, "%s", e.msg);
    size_t nx = (size_t)B * T * H;
    float *delta = st_tensor(gf, "smart.delta", nx), *gref = st_tensor(gf, "smart.grad_delta", nx);
    sm_st_close(gf);

    sm_bert_acts *ca, *pa;
    ck_assert_int_eq(sm_bert_acts_create(&ca, m, B, T, 1, &e), SM_OK);
    ck_assert_int_eq(sm_bert_acts_create(&pa, m, B, T, 1, &e), SM_OK);
    const float *w = sm_bert_weights(m);
    ck_assert_msg(sm_bert_forward(m, w, ca, &batch, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(sm_bert_encode(m, w, pa, &batch, sm_bert_acts_emb(ca), delta, SM_BERT_EVAL, NULL, &e) == SM_OK,
                  "%s", e.msg);
    const float *clean = sm_bert_acts_logits(ca), *pert = sm_bert_acts_logits(pa);
    json_t *js = json_object_get(ref, "smart");
    for (int i = 0; i < B * C; i++) {
        json_t *rc = json_array_get(json_object_get(js, "clean_logits"), (size_t)(i / C));
        json_t *rp = json_array_get(json_object_get(js, "perturbed_logits"), (size_t)(i / C));
        ck_assert(tu_close(clean[i], json_real_value(json_array_get(rc, (size_t)(i % C))), 1e-4));
        ck_assert(tu_close(pert[i], json_real_value(json_array_get(rp, (size_t)(i % C))), 1e-4));
    }
    float *dq = calloc((size_t)B * C, sizeof *dq), *gd = malloc(nx * sizeof *gd);
    double skl = sm_symkl(clean, pert, B, C, NULL, dq, 1.0);
    double rskl = json_real_value(json_object_get(js, "symkl"));
    ck_assert_msg(fabs(skl - rskl) <= 1e-4 && fabs(skl - rskl) <= 0.02 * rskl, "symkl %.9g, reference %.9g", skl, rskl);
    ck_assert_msg(sm_bert_backward(m, w, NULL, pa, dq, gd, &e) == SM_OK, "%s", e.msg);
    double gmax = 0;
    for (size_t i = 0; i < nx; i++)
        gmax = fmax(gmax, fabs(gref[i]));
    long bad = tu_first_mismatch(gd, gref, nx, 1e-4);
    ck_assert_msg(bad < 0, "grad_delta[%ld] = %g, reference %g", bad, bad < 0 ? 0.0 : gd[bad], bad < 0 ? 0.0 : gref[bad]);
    /* the reference gradient is not negligible against the tolerance: relative agreement too */
    ck_assert(gmax > 0);
    bad = -1;
    for (size_t i = 0; i < nx && bad < 0; i++)
        if (fabs(gd[i] - gref[i]) > 1e-3 * gmax)
            bad = (long)i;
    ck_assert_msg(bad < 0, "grad_delta[%ld] = %g, reference %g (max |g| %g)", bad, bad < 0 ? 0.0 : gd[bad],
                  bad < 0 ? 0.0 : gref[bad], gmax);
    free(dq);
    free(gd);
    free(delta);
    free(gref);
    free(iv);
    free(tv);
    free(mv);
    free(len);
    free(lab);
    free(mask);
    json_decref(ref);
    sm_bert_acts_free(ca);
    sm_bert_acts_free(pa);
    sm_bert_free(m);
    sm_config_free(&cfg);
}
END_TEST

static void add_step_tests(Suite *s)
{
    TCase *tc = tcase_create("step");
    tcase_add_test(tc, test_p1_zero_weights_is_vanilla);
    tcase_add_test(tc, test_p3_step_gradient);
    tcase_add_test(tc, test_p4_padding_invariance);
    tcase_add_test(tc, test_p6_ascent_increases);
    tcase_add_test(tc, test_p7_ascent_no_param_grad);
    tcase_add_test(tc, test_token_step_per_example_gradient);
    tcase_add_test(tc, test_p8_teacher);
    tcase_add_test(tc, test_p10_determinism);
    tcase_add_test(tc, test_reinit_equals_init);
    tcase_add_test(tc, test_nonfinite_skipped);
    tcase_add_test(tc, test_eval_batch);
    tcase_add_test(tc, test_eval_nonfinite_refused);
    tcase_add_test(tc, test_evaluate_dataset);
    tcase_add_test(tc, test_step_workspaces);
    tcase_add_test(tc, test_shared_workspaces_bit_identical);
    tcase_add_test(tc, test_step_shared_equals_unshared);
    suite_add_tcase(s, tc);
}

static void add_shared_tests(Suite *s)
{
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, test_reference_smart);
    suite_add_tcase(s, tc);
}

/* A gradient whose square overflows float (regression targets of 1e38, clip 0) would fill Adam's
 * second moment with infinities: the update is skipped as non-finite and the state stays finite. */
START_TEST(test_overflowing_moment_skipped)
{
    tbatch tb;
    tiny_batch(&tb, 3, 5);
    sm_bert *m = tiny_model(3, 0.0f, 9);
    sm_hparams hp;
    hp_for_tests(&hp, "vanilla");
    hp.v[SM_HP_CLIP] = 0;
    sm_trainer t;
    sm_error e;
    ck_assert_int_eq(sm_trainer_init(&t, m, &hp, 8, &e), SM_OK);
    sm_step_record r;
    do_step(&t, &tb.b, &r); /* one ordinary step first */
    ck_assert_int_eq(sm_trainer_compute(&t, &tb.b, 0, &r, &e), SM_OK);
    float *g = sm_bert_grads(m);
    g[0] = 1e30f; /* finite, but its square is not */
    t.pending.grad_norm = 1e30;
    ck_assert_int_eq(sm_trainer_apply(&t, &r, &e), SM_OK);
    ck_assert_int_eq(r.skipped, 1);
    size_t n = sm_bert_numel(m);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isfinite(t.opt.v[i]) && isfinite(t.opt.m[i]) && isfinite(sm_bert_weights(m)[i]),
                      "element %zu not finite", i);
    sm_trainer_free(&t);
    sm_bert_free(m);
}
END_TEST

static void add_math_tests(Suite *s)
{
    TCase *tc = tcase_create("math");
    tcase_add_test(tc, test_p2_symkl_properties);
    tcase_add_test(tc, test_p3_symkl_gradient);
    tcase_add_test(tc, test_p9_regression);
    tcase_add_test(tc, test_p4_projection);
    tcase_add_test(tc, test_p5_normalize);
    tcase_add_test(tc, test_delta_norm);
    tcase_add_test(tc, test_p8_teacher_formula);
    tcase_add_test(tc, test_overflowing_moment_skipped);
    suite_add_tcase(s, tc);
}

int main(void)
{
    Suite *s = suite_create("smart");
    if (tu_want(TU_LOCAL)) {
        add_math_tests(s);
        add_step_tests(s);
    }
    if (tu_want(TU_SHARED))
        add_shared_tests(s);
    return tu_run(s);
}
