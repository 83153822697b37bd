/* check_optim.c: AdamW and Adamax steps against a hand computation of torch's formulas (decay and
 * no-decay tensors, two steps so bias correction shows), the warm-up schedules at key steps, global-
 * norm clipping and non-finite detection. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/model.h"
#include "smartty/optim.h"
#include "testutil.h"

/* arena: a "weight" tensor of 3 (decays), a "bias" of 2 (no decay), one element outside every segment */
static const sm_param_segment segs[] = {{0, 3, 1}, {3, 2, 0}};
static const float w0[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 3.0f};
static const float g1[6] = {0.1f, -0.2f, 0.3f, 0.05f, 0.0f, 9.0f};
static const float g2[6] = {-0.3f, 0.1f, 0.2f, 0.4f, -0.1f, 9.0f};

START_TEST(test_adamw_two_steps)
{
    sm_optim o;
    ck_assert_int_eq(sm_optim_init(&o, 6, segs, 2, NULL), SM_OK);
    sm_optim_params p = {SM_OPTIM_ADAMW, 1e-3, 0.9, 0.999, 1e-8, 0.01};
    float w[6];
    memcpy(w, w0, sizeof w);
    sm_optim_step(&o, &p, w, g1);
    sm_optim_step(&o, &p, w, g2);
    ck_assert_int_eq(o.t, 2);
    for (int i = 0; i < 5; i++) {
        /* hand computation: w <- w(1 - lr wd) - lr mhat/(sqrt(vhat)+eps), twice */
        double wd = i < 3 ? 0.01 : 0.0, lr = 1e-3, b1 = 0.9, b2 = 0.999, x = w0[i];
        double m1 = (1 - b1) * g1[i], v1 = (1 - b2) * g1[i] * g1[i];
        x = x * (1 - lr * wd) - lr * (m1 / (1 - b1)) / (sqrt(v1 / (1 - b2)) + 1e-8);
        double m2 = b1 * m1 + (1 - b1) * g2[i], v2 = b2 * v1 + (1 - b2) * g2[i] * g2[i];
        x = x * (1 - lr * wd) - lr * (m2 / (1 - b1 * b1)) / (sqrt(v2 / (1 - b2 * b2)) + 1e-8);
        ck_assert_msg(fabs(w[i] - x) <= 1e-6 * fabs(x) + 1e-9, "w[%d] = %.9g, expected %.9g", i, w[i], x);
    }
    ck_assert(w[5] == w0[5]); /* outside every segment: never touched */
    /* the first step of Adam moves every element by about lr (a sign check on the hand formula) */
    sm_optim_reset(&o);
    memcpy(w, w0, sizeof w);
    p.weight_decay = 0;
    sm_optim_step(&o, &p, w, g1);
    ck_assert(fabsf(w[0] - (w0[0] - 1e-3f)) < 1e-7f);
    ck_assert(w[4] == w0[4]); /* zero gradient, no decay: unchanged */
    sm_optim_free(&o);
}
END_TEST

START_TEST(test_adamax_two_steps)
{
    sm_optim o;
    ck_assert_int_eq(sm_optim_init(&o, 6, segs, 2, NULL), SM_OK);
    sm_optim_params p = {SM_OPTIM_ADAMAX, 2e-3, 0.9, 0.999, 1e-8, 0.1};
    float w[6];
    memcpy(w, w0, sizeof w);
    sm_optim_step(&o, &p, w, g1);
    sm_optim_step(&o, &p, w, g2);
    for (int i = 0; i < 5; i++) {
        double wd = i < 3 ? 0.1 : 0.0, lr = 2e-3, b1 = 0.9, b2 = 0.999, x = w0[i];
        double m1 = (1 - b1) * g1[i], u1 = fabs(g1[i]) + 1e-8;
        x = x * (1 - lr * wd) - lr / (1 - b1) * m1 / u1;
        double m2 = b1 * m1 + (1 - b1) * g2[i], u2 = fmax(b2 * u1, fabs(g2[i]) + 1e-8);
        x = x * (1 - lr * wd) - lr / (1 - b1 * b1) * m2 / u2;
        ck_assert_msg(fabs(w[i] - x) <= 1e-6 * fabs(x) + 1e-9, "w[%d] = %.9g, expected %.9g", i, w[i], x);
    }
    sm_optim_free(&o);
}
END_TEST

START_TEST(test_bad_segment)
{
    sm_optim o;
    sm_error e;
    sm_param_segment bad = {4, 3, 1};
    ck_assert_int_eq(sm_optim_init(&o, 6, &bad, 1, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "segment 0"));
}
END_TEST

START_TEST(test_schedule)
{
    /* 100 planned steps, 10 % warm-up */
    int64_t wu = sm_warmup_steps(0.1, 100);
    ck_assert_int_eq(wu, 10);
    ck_assert_int_eq(sm_warmup_steps(0.1, 95), 10); /* ceil(9.5) */
    ck_assert_int_eq(sm_warmup_steps(0.0, 95), 0);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 0, wu, 100) == 0.0);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 5, wu, 100) == 0.5);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 10, wu, 100) == 1.0);
    ck_assert(fabs(sm_lr_factor(SM_LR_LINEAR, 55, wu, 100) - 0.5) < 1e-15);
    ck_assert(fabs(sm_lr_factor(SM_LR_LINEAR, 99, wu, 100) - 1.0 / 90) < 1e-15);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 100, wu, 100) == 0.0);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 150, wu, 100) == 0.0);
    ck_assert(sm_lr_factor(SM_LR_CONSTANT, 5, wu, 100) == 0.5);
    ck_assert(sm_lr_factor(SM_LR_CONSTANT, 10, wu, 100) == 1.0);
    ck_assert(sm_lr_factor(SM_LR_CONSTANT, 150, wu, 100) == 1.0);
    /* no warm-up: the first step uses the full rate */
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 0, 0, 100) == 1.0);
    ck_assert(sm_lr_factor(SM_LR_LINEAR, 50, 0, 100) == 0.5);
}
END_TEST

START_TEST(test_clip)
{
    float g[3] = {3.0f, 0.0f, 4.0f};
    double n = sm_clip_grad_norm(g, 3, 10.0);
    ck_assert(n == 5.0);
    ck_assert(g[0] == 3.0f && g[2] == 4.0f);
    n = sm_clip_grad_norm(g, 3, 1.0);
    ck_assert(n == 5.0);
    ck_assert(fabsf(g[0] - (float)(3.0 / (5.0 + 1e-6))) < 1e-7f);
    ck_assert(fabsf(g[2] - (float)(4.0 / (5.0 + 1e-6))) < 1e-7f);
    ck_assert(fabs(sm_grad_norm(g, 3) - 1.0) < 1e-6);
    float h[2] = {1.0f, 1.0f};
    ck_assert(sm_clip_grad_norm(h, 2, 0.0) == sqrt(2.0)); /* 0: off */
    ck_assert(h[0] == 1.0f);
    ck_assert(sm_all_finite(h, 2));
    h[1] = NAN;
    ck_assert(!sm_all_finite(h, 2));
    ck_assert(isnan(sm_clip_grad_norm(h, 2, 1.0)));
    ck_assert(h[0] == 1.0f); /* a non-finite gradient is never scaled */
    h[1] = INFINITY;
    ck_assert(!sm_all_finite(h, 2));
    ck_assert(!isfinite(sm_grad_norm(h, 2)));
}
END_TEST

/* A parallel-for that runs its parts in the caller, last part first, in uneven pieces: the flat
 * passes must give the same bits however the arena is cut and in whatever order the parts run. */
static void reversed_run(void *self, size_t total, size_t grain, sm_par_body fn, void *ctx)
{
    int parts = *(const int *)self;
    size_t units = (total + grain - 1) / grain;
    for (int i = parts - 1; i >= 0; i--) {
        size_t b = units * (size_t)i * (size_t)i / ((size_t)parts * (size_t)parts) * grain;
        size_t e = units * (size_t)(i + 1) * (size_t)(i + 1) / ((size_t)parts * (size_t)parts) * grain;
        if (e > total)
            e = total;
        if (b < e)
            fn(ctx, i, b, e);
    }
}

/* The trainer's path (norm over chunks, clipping folded into the update, parts on threads) gives
 * bit-for-bit what sm_clip_grad_norm + sm_optim_step give: split in the caller, and on a model's
 * three real threads. */
START_TEST(test_parallel_update_bits)
{
    enum { N = 200003 }; /* several chunks and a ragged end */
    sm_param_segment sg[3] = {{0, 70001, 1}, {70001, 9, 0}, {70010, N - 70010 - 5, 1}}; /* 5 untouched */
    float *w[3], *g[3];
    for (int k = 0; k < 3; k++) {
        w[k] = malloc(N * sizeof(float));
        g[k] = malloc(N * sizeof(float));
    }
    sm_rng r;
    sm_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        w[0][i] = (float)(sm_rng_uniform(&r) - 0.5);
        g[0][i] = (float)(sm_rng_uniform(&r) - 0.5) * 0.01f;
    }
    for (int k = 1; k < 3; k++) {
        memcpy(w[k], w[0], N * sizeof(float));
        memcpy(g[k], g[0], N * sizeof(float));
    }
    sm_bert_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = 10;
    cfg.hidden_size = 4;
    cfg.num_layers = 1;
    cfg.num_heads = 1;
    cfg.intermediate_size = 4;
    cfg.max_position = 4;
    cfg.type_vocab_size = 1;
    cfg.layer_norm_eps = 1e-12f;
    cfg.initializer_range = 0.02f;
    strcpy(cfg.hidden_act, "gelu");
    cfg.num_labels = 2;
    sm_bert *m;
    sm_error e;
    ck_assert_int_eq(sm_bert_create(&m, &cfg, 0, &e), SM_OK);
    ck_assert_int_eq(sm_bert_set_threads(m, 3, &e), SM_OK);
    int five = 5;
    const sm_par pars[3] = {{NULL, NULL}, {reversed_run, &five}, sm_bert_par(m)};
    sm_optim o[3];
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(sm_optim_init(&o[k], N, sg, 3, &e), SM_OK);
    for (int step = 0; step < 3; step++) {
        sm_optim_params p = {step == 2 ? SM_OPTIM_ADAMAX : SM_OPTIM_ADAMW, 1e-3, 0.9, 0.999, 1e-8, 0.01};
        for (int i = 0; i < N; i++) /* a large gradient at step 1: clipping acts */
            g[0][i] = g[1][i] = g[2][i] = g[0][i] * (step == 1 ? 300.0f : 1.0f);
        double n0 = sm_clip_grad_norm(g[0], N, 1.0);
        sm_optim_step(&o[0], &p, w[0], g[0]);
        for (int k = 1; k < 3; k++) {
            double nk = sm_grad_norm_par(g[k], N, &pars[k]);
            ck_assert_msg(nk == n0, "step %d, par %d: norm %.17g, serial %.17g", step, k, nk, n0);
            sm_optim_step_par(&o[k], &p, w[k], g[k], sm_clip_coef(nk, 1.0), &pars[k]);
            ck_assert_msg(!memcmp(w[k], w[0], N * sizeof(float)), "step %d, par %d: weights differ", step, k);
            ck_assert(!memcmp(o[k].m, o[0].m, N * sizeof(float)) && !memcmp(o[k].v, o[0].v, N * sizeof(float)));
        }
        if (step == 1)
            ck_assert(n0 > 1.0); /* the clipping did act */
    }
    ck_assert(sm_clip_coef(NAN, 1.0) == 1.0 && sm_clip_coef(5.0, 0.0) == 1.0 && sm_clip_coef(0.5, 1.0) == 1.0);
    for (int k = 0; k < 3; k++) {
        sm_optim_free(&o[k]);
        free(w[k]);
        free(g[k]);
    }
    sm_bert_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_adamw_two_steps);
    tcase_add_test(tc, test_adamax_two_steps);
    tcase_add_test(tc, test_bad_segment);
    tcase_add_test(tc, test_schedule);
    tcase_add_test(tc, test_clip);
    tcase_add_test(tc, test_parallel_update_bits);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
