/* check_smart.c: the properties at the end of SMART.md, numbered as there (P1..P10): ell_s (symmetric
 * KL and squared difference) and its gradients, the perturbation's normalisation and projection, the
 * mean teacher, and the whole training step on a tiny random BERT from the engine. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/smart.h"
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
    suite_add_tcase(s, tc);
}

int main(void)
{
    Suite *s = suite_create("smart");
    add_math_tests(s);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
