/* check_diverged.c: a run whose updates are all being skipped as non-finite stops after
 * SM_SESSION_MAX_SKIPPED of them in a row, with an error naming the steps (an isolated skip does
 * not stop it), on the toy backend. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "smartty/session.h"
#include "toy_backend.h"

typedef struct seen {
    int errors, warns;
    char msg[1024];
} seen;

static void on_event(void *ud, const sm_session_event *ev)
{
    seen *c = ud;
    if (ev->kind == SM_EVENT_ERROR) {
        c->errors++;
        snprintf(c->msg, sizeof c->msg, "%s", ev->msg);
    } else if (ev->kind == SM_EVENT_WARN) {
        c->warns++;
    }
}

static sm_session *poisoned(int64_t at, int64_t from, seen *c)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    toy_hparams(&hp);
    ck_assert_int_eq(toy_backend(&be, NULL, &e), SM_OK);
    if (at)
        toy_poison(&be, at);
    if (from)
        toy_poison_from(&be, from);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    memset(c, 0, sizeof *c);
    sm_session_set_event_fn(s, on_event, c);
    return s;
}

START_TEST(test_diverged_run_stops)
{
    seen c;
    sm_session *s = poisoned(0, 4, &c);
    sm_session_reply r;
    sm_status st = sm_session_train(s, 200, &r);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_msg(st != SM_OK || c.errors == 1, "the run went on: step %lld", (long long)v.step);
    const char *msg = st != SM_OK ? r.err.msg : c.msg;
    ck_assert_msg(strstr(msg, "steps 4 to 23 were all skipped") && strstr(msg, "diverged"), "%s", msg);
    ck_assert_int_eq(v.step, 3 + SM_SESSION_MAX_SKIPPED);
    sm_session_free(s);
}
END_TEST

START_TEST(test_isolated_skip_goes_on)
{
    seen c;
    sm_session *s = poisoned(3, 0, &c);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_train(s, 30, &r), SM_OK);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 30);
    ck_assert_int_eq(c.errors, 0);
    ck_assert_int_eq(c.warns, 1);
    sm_session_free(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("diverged");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_diverged_run_stops);
    tcase_add_test(tc, test_isolated_skip_goes_on);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
