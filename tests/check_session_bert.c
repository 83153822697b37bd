/* check_session_bert.c: the session on the real BERT backend (bert-tiny, a slice of SST-2): a
 * breakpoint stops before the update (weights unchanged), rewind restores the weights exactly, and
 * the journal of a session with sets, a snapshot, a rewind, a discarded update and steps replays
 * into a fresh session to the same weights, moments and teacher bit for bit, also when the run was
 * driven through the trainer thread. Skips without the shared data. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/data.h"
#include "smartty/session.h"
#include "smartty/session_bert.h"
#include "session_util.h"
#include "testutil.h"

static char model_dir[1024], train_path[1024];

static void ok(sm_status st, const sm_session_reply *r)
{
    ck_assert_msg(st == SM_OK, "command failed: %s", r->err.msg);
}

static sm_session *open_session(void)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    sm_hparams_default(&hp);
    ck_assert_int_eq(sm_bert_backend_new(&be, &e), SM_OK);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    return s;
}

static int break_step;
static int hook(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev, char *why,
                size_t cap)
{
    (void)ud;
    (void)ev;
    if (when == 's' && s->step == break_step && s->loss > 0) {
        snprintf(why, cap, "loss = %g > 0", s->loss);
        return 1;
    }
    return 0;
}

START_TEST(test_break_rewind_replay)
{
    sm_session *s = open_session();
    sm_session_reply r;
    sm_error e;
    ok(sm_session_named(s, SM_CMD_PRESET, "paper", &r), &r);
    const char *sets[][2] = {{"batch_size", "8"}, {"max_len", "32"}, {"max_steps", "12"}, {"seed", "3"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ok(sm_session_set(s, sets[i][0], sets[i][1], &r), &r);
    ck_assert_msg(sm_session_load_model(s, model_dir, &e) == SM_OK, "%s", e.msg);
    sm_data_opts o;
    sm_data_opts_init(&o);
    o.limit = 32;
    ck_assert_msg(sm_session_load_data(s, 0, train_path, &o, &e) == SM_OK, "%s", e.msg);
    sm_data_opts_free(&o);

    ok(sm_session_train(s, 3, &r), &r);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "three", &r), &r);
    size_t n, n2;
    float *at3 = state_copy(s, &n);
    ok(sm_session_set(s, "lambda_s", "3", &r), &r);
    ok(sm_session_train(s, 2, &r), &r);
    float *at5 = state_copy(s, &n2);
    ck_assert(memcmp(at3, at5, n * sizeof *at3) != 0);
    ok(sm_session_named(s, SM_CMD_REWIND, "three", &r), &r);
    float *back = state_copy(s, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(back, at3, n * sizeof *at3); /* rewind restores exactly */
    free(back);

    /* a breakpoint on loss > 0 at step 5 fires before the update */
    ok(sm_session_step(s, 1, &r), &r);
    float *at4 = state_copy(s, &n2);
    break_step = 5;
    sm_session_set_break_fn(s, hook, NULL);
    ok(sm_session_train(s, 4, &r), &r);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
    ck_assert_int_eq(v.step, 4);
    float *at_break = state_copy(s, &n2);
    ck_assert_mem_eq(at_break, at4, n * sizeof *at4); /* weights, moments, teacher untouched */
    ok(sm_session_set(s, "mu", "0.5", &r), &r);
    sm_session_set_break_fn(s, NULL, NULL);
    ok(sm_session_resume(s, SM_PENDING_DISCARD, &r), &r);
    ck_assert_int_eq(sm_session_step_count(s), 8);
    ok(sm_session_step(s, 2, &r), &r);
    ck_assert_int_eq(sm_session_step_count(s), 10);
    float *final = state_copy(s, &n2);

    sm_journal j;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    char *text = sm_journal_to_text(&j);
    sm_journal_free(&j);
    sm_journal_init(&j);
    ck_assert_int_eq(sm_journal_parse(&j, text, strlen(text), "journal", &e), SM_OK);
    free(text);
    sm_session *p = open_session();
    for (size_t i = 0; i < j.n; i++)
        ck_assert_msg(sm_session_replay_event(p, &j.ev[i], &e) == SM_OK, "event %zu (%s): %s", i,
                      j.ev[i].op, e.msg);
    ck_assert_int_eq(sm_session_step_count(p), 10);
    float *replayed = state_copy(p, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(replayed, final, n * sizeof *final);
    sm_journal_free(&j);
    free(at3);
    free(at4);
    free(at5);
    free(at_break);
    free(final);
    free(replayed);
    sm_session_free(p);
    sm_session_free(s);
}
END_TEST

typedef struct load_arg {
    int which; /* -1 model, 0 train */
    const char *path;
} load_arg;

static sm_status do_load(sm_session *s, void *arg, sm_error *e)
{
    load_arg *a = arg;
    if (a->which < 0)
        return sm_session_load_model(s, a->path, e);
    sm_data_opts o;
    sm_data_opts_init(&o);
    o.limit = 16;
    sm_status st = sm_session_load_data(s, a->which, a->path, &o, e);
    sm_data_opts_free(&o);
    return st;
}

/* The same through the trainer thread: loads by call, a run paused, changed, stepped, resumed and
 * stopped while it goes; the journal still replays to the same state. */
START_TEST(test_threaded_replay)
{
    sm_session *s = open_session();
    sm_session_reply r;
    sm_error e;
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    const char *sets[][2] = {{"batch_size", "4"}, {"max_len", "16"}, {"max_steps", "40"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ok(sm_session_set(s, sets[i][0], sets[i][1], &r), &r);
    load_arg lm = {-1, model_dir}, lt = {0, train_path};
    ok(sm_session_call(s, do_load, &lm, &r), &r);
    ok(sm_session_call(s, do_load, &lt, &r), &r);
    ok(sm_session_train(s, 1000, &r), &r);
    ok(sm_session_set(s, "lambda_s", "0", &r), &r); /* while it runs */
    ok(sm_session_simple(s, SM_CMD_PAUSE, &r), &r);
    int64_t at = sm_session_step_count(s);
    ok(sm_session_set(s, "lambda_s", "3", &r), &r);
    ck_assert_int_eq(r.effect_step, at + 1);
    ok(sm_session_step(s, 3, &r), &r);
    ck_assert(sm_session_wait_idle(s, 120));
    ck_assert_int_eq(sm_session_step_count(s), at + 3);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_join(s);
    size_t n, n2;
    float *final = state_copy(s, &n);
    sm_journal j;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    sm_session *p = open_session();
    for (size_t i = 0; i < j.n; i++)
        ck_assert_msg(sm_session_replay_event(p, &j.ev[i], &e) == SM_OK, "event %zu (%s): %s", i,
                      j.ev[i].op, e.msg);
    ck_assert_int_eq(sm_session_step_count(p), sm_session_step_count(s));
    float *replayed = state_copy(p, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(replayed, final, n * sizeof *final);
    free(final);
    free(replayed);
    sm_journal_free(&j);
    sm_session_free(p);
    sm_session_free(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("session_bert");
    if (tu_want(TU_SHARED)) {
        const char *root = tu_shared_root();
        snprintf(model_dir, sizeof model_dir, "%s/models/bert-tiny-mlm", root);
        snprintf(train_path, sizeof train_path, "%s/datasets/sst2/train.tsv", root);
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_break_rewind_replay);
        tcase_add_test(tc, test_threaded_replay);
        suite_add_tcase(su, tc);
    }
    return tu_run(su);
}
