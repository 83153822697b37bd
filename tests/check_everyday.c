/* check_everyday.c: regression tests of the session for issue 12 on the toy backend: after a rewind
 * the view (step record, epoch, last and best evaluation) and the exported metrics are those of the
 * restored history, not of the branch that was left; and the small pieces of the everyday path
 * (softmax, the 1-based epoch field). It does not test BERT or the console. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/predict.h"
#include "smartty/record.h"
#include "smartty/session.h"
#include "testutil.h"
#include "toy_backend.h"

static sm_session *new_session(void)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    toy_hparams(&hp);
    ck_assert_int_eq(toy_backend(&be, NULL, &e), SM_OK);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    return s;
}

static void ok(sm_status st, const sm_session_reply *r)
{
    ck_assert_msg(st == SM_OK, "command failed: %s", r->err.msg);
}

START_TEST(test_rewind_view_is_restored)
{
    sm_session *s = new_session();
    sm_session_reply r;
    ok(sm_session_set(s, "eval_every", "3", &r), &r);
    ok(sm_session_train(s, 6, &r), &r);
    sm_session_view at6;
    sm_session_view_get(s, &at6);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), &r);
    ok(sm_session_train(s, 20, &r), &r);
    ok(sm_session_named(s, SM_CMD_REWIND, "a", &r), &r);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 6);
    ck_assert_int_eq(v.has_step, 1);
    ck_assert_int_eq(v.last.step, 6); /* not step 26 of the branch that was left */
    ck_assert_int_eq(v.epoch, at6.epoch);
    ck_assert_int_eq(v.has_eval, 1);
    ck_assert_int_eq(v.eval.step, 6);
    ck_assert(v.best.step <= 6);
    sm_session_free(s);
}
END_TEST

static int count_rows(const char *path, int *max_step)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int rows = 0;
    *max_step = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        rows++;
        int st = atoi(line);
        ck_assert_msg(st > *max_step, "row %d: step %d after step %d", rows, st, *max_step);
        *max_step = st;
    }
    fclose(f);
    return rows;
}

START_TEST(test_export_after_rewind)
{
    sm_session *s = new_session();
    sm_session_reply r;
    sm_error e;
    ok(sm_session_set(s, "eval_every", "4", &r), &r);
    ok(sm_session_train(s, 8, &r), &r);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), &r);
    ok(sm_session_train(s, 8, &r), &r);
    ok(sm_session_named(s, SM_CMD_REWIND, "a", &r), &r);
    ok(sm_session_set(s, "lr", "0.3", &r), &r);
    ok(sm_session_train(s, 4, &r), &r);
    const char *path = "check_everyday_metrics.tmp.csv";
    ck_assert_int_eq(sm_session_export_metrics(s, path, &e), SM_OK);
    int last;
    int rows = count_rows(path, &last);
    unlink(path);
    ck_assert_int_eq(rows, 12); /* steps 1..8, then the new branch's 9..12 */
    ck_assert_int_eq(last, 12);
    sm_eval_record *ev;
    size_t ne = sm_session_evals(s, &ev);
    ck_assert_uint_eq(ne, 3); /* steps 4, 8 and 12 of the current history */
    ck_assert_int_eq(ev[2].step, 12);
    free(ev);
    sm_session_free(s);
}
END_TEST

START_TEST(test_softmax)
{
    const float lg[3] = {1000.0f, 1001.0f, 999.0f}; /* large logits: no overflow */
    double p[3];
    ck_assert_int_eq(sm_softmax(lg, 3, p), 1);
    ck_assert(fabs(p[0] + p[1] + p[2] - 1) < 1e-12);
    ck_assert(p[1] > p[0] && p[0] > p[2]);
    ck_assert(fabs(p[1] / p[0] - exp(1.0)) < 1e-9);
}
END_TEST

/* The epoch is 1-based wherever a field is read (CSV, breakpoints, log_history) and set back. */
START_TEST(test_epoch_field_one_based)
{
    sm_step_record r;
    memset(&r, 0, sizeof r);
    r.epoch = 0;
    int f = sm_field_lookup("epoch");
    ck_assert_int_ge(f, 0);
    ck_assert(sm_field_value(f, &r, NULL) == 1.0);
    ck_assert_int_eq(sm_field_set(f, &r, NULL, 3.0), 0);
    ck_assert_int_eq(r.epoch, 2);
    ck_assert_int_eq(sm_field_set(f, &r, NULL, 2.5), -1);
    ck_assert_int_eq(sm_field_set(sm_field_lookup("dev_acc"), &r, NULL, 0.5), -1); /* no eval record */
}
END_TEST

static Suite *everyday_suite(void)
{
    Suite *s = suite_create("everyday");
    TCase *tc = tcase_create("rewind");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rewind_view_is_restored);
    tcase_add_test(tc, test_export_after_rewind);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_epoch_field_one_based);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(everyday_suite());
}
