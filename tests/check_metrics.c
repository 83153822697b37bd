/* check_metrics.c: each evaluation metric against hand-computed cases (binary, three classes, ties in
 * Spearman, degenerate inputs) and the accumulator that turns logits into an evaluation record. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "smartty/metrics.h"
#include "testutil.h"

/* tp = 3 (0, 4, 6), fp = 1 (1), fn = 2 (3, 7), tn = 2 (2, 5) */
static const int bpred[8] = {1, 1, 0, 0, 1, 0, 1, 0};
static const int bgold[8] = {1, 0, 0, 1, 1, 0, 1, 1};

START_TEST(test_binary)
{
    ck_assert(fabs(sm_metric_accuracy(bpred, bgold, 8) - 5.0 / 8) < 1e-12);
    ck_assert(fabs(sm_metric_f1_binary(bpred, bgold, 8) - 6.0 / 9) < 1e-12);
    ck_assert(fabs(sm_metric_mcc(bpred, bgold, 8) - 4.0 / sqrt(4.0 * 5 * 3 * 4)) < 1e-12);
    int all1[4] = {1, 1, 1, 1}, mixed[4] = {0, 1, 0, 1}, all0[4] = {0};
    ck_assert(sm_metric_mcc(all1, mixed, 4) == 0.0);     /* empty marginal */
    ck_assert(sm_metric_f1_binary(all0, all0, 4) == 0.0); /* no positive anywhere */
    ck_assert(fabs(sm_metric_mcc(mixed, mixed, 4) - 1.0) < 1e-12);
    ck_assert(fabs(sm_metric_mcc(mixed, (int[]){1, 0, 1, 0}, 4) + 1.0) < 1e-12);
}
END_TEST

START_TEST(test_macro_f1)
{
    /* class 0: F1 1; class 1: tp 1 fp 1 fn 1 -> 0.5; class 2: tp 1 fp 1 fn 1 -> 0.5 */
    int pred[6] = {0, 1, 2, 2, 1, 0}, gold[6] = {0, 1, 1, 2, 2, 0};
    ck_assert(fabs(sm_metric_macro_f1(pred, gold, 6, 3) - 2.0 / 3) < 1e-12);
    ck_assert(fabs(sm_metric_macro_f1(pred, gold, 6, 4) - 0.5) < 1e-12); /* absent class 3 counts 0 */
    ck_assert(fabs(sm_metric_accuracy(pred, gold, 6) - 4.0 / 6) < 1e-12);
}
END_TEST

START_TEST(test_correlations)
{
    double x[4] = {1, 2, 3, 4}, y[4] = {2, 4, 5, 9};
    ck_assert(fabs(sm_metric_pearson(x, y, 4) - 11.0 / sqrt(130.0)) < 1e-12);
    ck_assert(fabs(sm_metric_spearman(x, y, 4) - 1.0) < 1e-12); /* monotone */
    double tx[4] = {1, 2, 2, 3}, ty[4] = {1, 3, 2, 4}, r[4];
    ck_assert_int_eq(sm_metric_ranks(tx, 4, r, NULL), SM_OK);
    ck_assert(r[0] == 1 && r[1] == 2.5 && r[2] == 2.5 && r[3] == 4);
    ck_assert(fabs(sm_metric_spearman(tx, ty, 4) - 4.5 / sqrt(22.5)) < 1e-12);
    double c[3] = {5, 5, 5};
    ck_assert(isnan(sm_metric_pearson(c, x, 3)));
    ck_assert(isnan(sm_metric_pearson(x, y, 1)));
    double rev[4] = {4, 3, 2, 1};
    ck_assert(fabs(sm_metric_spearman(x, rev, 4) + 1.0) < 1e-12);
}
END_TEST

START_TEST(test_accumulator)
{
    sm_eval_acc a;
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    sm_eval_acc_init(&a, 2);
    /* predictions 1, 0, 1 then 0: gold 1, 0, 0, 1 -> tp 1 fp 1 fn 1 tn 1 */
    float l1[6] = {0.1f, 0.9f, 2.0f, -1.0f, -3.0f, 4.0f};
    int32_t y1[3] = {1, 0, 0};
    float l2[2] = {0.5f, 0.4f};
    int32_t y2[1] = {1};
    ck_assert_int_eq(sm_eval_acc_add(&a, l1, 3, y1, NULL, 3.0, NULL), SM_OK);
    ck_assert_int_eq(sm_eval_acc_add(&a, l2, 1, y2, NULL, 1.0, NULL), SM_OK);
    ck_assert_int_eq(sm_eval_acc_finish(&a, &ev, NULL), SM_OK);
    ck_assert_int_eq(ev.n, 4);
    ck_assert(ev.loss == 1.0 && ev.acc == 0.5 && ev.f1 == 0.5 && ev.mcc == 0.0);
    ck_assert(isnan(ev.macro_f1) && isnan(ev.pearson));
    sm_error e;
    ck_assert_int_eq(sm_eval_acc_add(&a, l2, 1, NULL, NULL, 0, &e), SM_ERR_INVALID);
    sm_eval_acc_free(&a);

    sm_eval_acc_init(&a, 1);
    float s[4] = {1, 2, 3, 4}, t[4] = {2, 4, 5, 9};
    ck_assert_int_eq(sm_eval_acc_add(&a, s, 4, NULL, t, 2.0, NULL), SM_OK);
    ck_assert_int_eq(sm_eval_acc_finish(&a, &ev, NULL), SM_OK);
    ck_assert(fabs(ev.pearson - 11.0 / sqrt(130.0)) < 1e-12 && fabs(ev.spearman - 1.0) < 1e-12);
    ck_assert(isnan(ev.acc) && isnan(ev.f1) && ev.loss == 0.5);
    sm_eval_acc_free(&a);

    /* three classes: macro-F1, no binary metrics; many examples grow the buffers */
    sm_eval_acc_init(&a, 3);
    for (int i = 0; i < 1000; i++) {
        float z[3] = {0, 0, 0};
        z[i % 3] = 1;
        int32_t y = i % 3;
        ck_assert_int_eq(sm_eval_acc_add(&a, z, 1, &y, NULL, 0, NULL), SM_OK);
    }
    ck_assert_int_eq(sm_eval_acc_finish(&a, &ev, NULL), SM_OK);
    ck_assert(ev.acc == 1.0 && ev.macro_f1 == 1.0 && isnan(ev.f1) && isnan(ev.mcc));
    sm_eval_acc_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_binary);
    tcase_add_test(tc, test_macro_f1);
    tcase_add_test(tc, test_correlations);
    tcase_add_test(tc, test_accumulator);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
