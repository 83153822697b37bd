/* check_explore.c: branches and `explore` on the real BERT backend (bert-tiny-mlm, a slice of SST-2),
 * issue 15's criterion 1: `explore lambda_s=0,1,3 steps 20 from a` makes three branches and a table
 * row each; each variant's weights, moments and teacher equal a manual rewind + set + train 20 bit
 * for bit; `checkout` returns to a branch exactly; each branch saved and its journal replayed in a
 * fresh session reproduces it bit for bit. Skips without the shared data. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smartty/data.h"
#include "smartty/session.h"
#include "smartty/session_bert.h"
#include "session_util.h"
#include "testutil.h"

static char model_dir[1024], train_path[1024], dev_path[1024];

#define OK(call, r) ck_assert_msg((call) == SM_OK, "%s: %s", #call, (r).err.msg)

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

static sm_session *loaded_session(void)
{
    sm_session *s = open_session();
    sm_session_reply r;
    sm_error e;
    const char *sets[][2] = {{"batch_size", "8"}, {"max_len", "32"}, {"seed", "3"}, {"eval_every", "10"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        OK(sm_session_set(s, sets[i][0], sets[i][1], &r), r);
    ck_assert_msg(sm_session_load_model(s, model_dir, &e) == SM_OK, "%s", e.msg);
    sm_data_opts o;
    sm_data_opts_init(&o);
    o.limit = 48;
    ck_assert_msg(sm_session_load_data(s, 0, train_path, &o, &e) == SM_OK, "%s", e.msg);
    o.limit = 16;
    ck_assert_msg(sm_session_load_data(s, 1, dev_path, &o, &e) == SM_OK, "%s", e.msg);
    sm_data_opts_free(&o);
    return s;
}

static int has_branch(sm_session *s, const char *name)
{
    sm_branch_info *b;
    size_t n = sm_session_branches(s, &b);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= !strcmp(b[i].name, name);
    free(b);
    return found;
}

static void explore_spec(sm_explore_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->n_params = 1;
    snprintf(sp->names[0], sizeof sp->names[0], "lambda_s");
    sp->n_values[0] = 3;
    snprintf(sp->values[0][0], 64, "0");
    snprintf(sp->values[0][1], 64, "1");
    snprintf(sp->values[0][2], 64, "3");
    sp->steps = 20;
    snprintf(sp->from, sizeof sp->from, "a");
}

START_TEST(test_explore_equals_manual_and_replays)
{
    sm_session *s = loaded_session();
    sm_session_reply r;
    sm_error e;
    OK(sm_session_train(s, 3, &r), r);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), r);
    OK(sm_session_train(s, 2, &r), r); /* main goes on past the snapshot: explore starts from here */
    size_t n, n2;
    float *main_state = state_copy(s, &n);

    sm_explore_spec sp;
    explore_spec(&sp);
    sm_session_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = SM_CMD_EXPLORE;
    c.arg = &sp;
    OK(sm_session_command(s, &c, &r), r);

    /* three branches and a table row each; back where it started */
    sm_explore_status *xs = malloc(sizeof *xs);
    sm_session_explore_status(s, xs);
    ck_assert_int_eq(xs->active, 0);
    ck_assert_int_eq(xs->total, 3);
    ck_assert_int_eq(xs->n, 3);
    const char *names[] = {"a.1", "a.2", "a.3"}, *vals[] = {"0", "1", "3"};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(xs->res[i].branch, names[i]);
        ck_assert_int_eq(xs->res[i].done, 1);
        ck_assert_msg(xs->res[i].has_eval && !isnan(xs->res[i].metric), "variant %d has no dev metric", i + 1);
        ck_assert(has_branch(s, names[i]));
    }
    ck_assert_str_eq(xs->kept, "main");
    free(xs);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_str_eq(v.branch, "main");
    ck_assert_int_eq(v.step, 5);
    float *back = state_copy(s, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(back, main_state, n * sizeof *back); /* returned exactly */
    free(back);

    char dir[3][64];
    float *variant[3];
    for (int i = 0; i < 3; i++) {
        /* checkout: the variant's state; saved for the replay below */
        OK(sm_session_named(s, SM_CMD_CHECKOUT, names[i], &r), r);
        ck_assert_int_eq(sm_session_step_count(s), 23);
        variant[i] = state_copy(s, &n2);
        snprintf(dir[i], sizeof dir[i], "check_explore.tmp/%s", names[i]);
        OK(sm_session_named(s, SM_CMD_SAVE, dir[i], &r), r);
        /* by hand: rewind, set, train 20 */
        OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
        OK(sm_session_set(s, "lambda_s", vals[i], &r), r);
        OK(sm_session_train(s, 20, &r), r);
        float *manual = state_copy(s, &n2);
        ck_assert_msg(!memcmp(manual, variant[i], n * sizeof *manual),
                      "variant %s differs from rewind + set lambda_s %s + train 20", names[i], vals[i]);
        free(manual);
    }
    /* checkout returns exactly, also after others ran */
    for (int i = 2; i >= 0; i--) {
        OK(sm_session_named(s, SM_CMD_CHECKOUT, names[i], &r), r);
        float *again = state_copy(s, &n2);
        ck_assert_msg(!memcmp(again, variant[i], n * sizeof *again), "checkout %s is not exact", names[i]);
        free(again);
    }
    OK(sm_session_named(s, SM_CMD_CHECKOUT, "main", &r), r);
    back = state_copy(s, &n2);
    ck_assert_mem_eq(back, main_state, n * sizeof *back);
    free(back);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_CHECKOUT, "nosuch", &r), SM_OK);
    ck_assert_ptr_nonnull(strstr(r.err.msg, "no branch named 'nosuch'"));

    /* each saved branch's journal replays to it bit for bit in a fresh session */
    for (int i = 0; i < 3; i++) {
        char jp[128];
        snprintf(jp, sizeof jp, "%s/journal.jsonl", dir[i]);
        sm_journal j;
        sm_journal_init(&j);
        ck_assert_msg(sm_journal_load(&j, jp, &e) == SM_OK, "%s", e.msg);
        for (size_t k = 0; k < j.n; k++) /* the other branches' training is not in it */
            ck_assert_msg(!(strcmp(j.ev[k].op, "set") == 0 && j.ev[k].argc == 2 && !strcmp(j.ev[k].argv[0], "lambda_s") &&
                            strcmp(j.ev[k].argv[1], vals[i])),
                          "%s's journal sets lambda_s %s", names[i], j.ev[k].argv[1]);
        sm_session *p = open_session();
        for (size_t k = 0; k < j.n; k++)
            ck_assert_msg(sm_session_replay_event(p, &j.ev[k], &e) == SM_OK, "%s event %zu (%s): %s", names[i], k,
                          j.ev[k].op, e.msg);
        ck_assert_int_eq(sm_session_step_count(p), 23);
        float *rep = state_copy(p, &n2);
        ck_assert_uint_eq(n, n2);
        ck_assert_msg(!memcmp(rep, variant[i], n * sizeof *rep), "replaying %s's journal differs", names[i]);
        free(rep);
        sm_session_free(p);
        sm_journal_free(&j);
        free(variant[i]);
    }
    free(main_state);
    sm_session_free(s);
}
END_TEST

/* Through the trainer thread: rewind and checkout while training runs pause first and say so. */
START_TEST(test_rewind_while_running_pauses)
{
    sm_session *s = loaded_session();
    sm_session_reply r;
    sm_error e;
    OK(sm_session_train(s, 2, &r), r);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), r);
    size_t n, n2;
    float *at_a = state_copy(s, &n);
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    OK(sm_session_train(s, 100000, &r), r);
    for (int i = 0; i < 6000 && sm_session_step_count(s) < 4; i++)
        sm_session_wait_idle(s, 0.01);
    ck_assert_int_ge(sm_session_step_count(s), 4);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    ck_assert_msg(strstr(r.msg, "paused at step") != NULL, "the reply does not say it paused: %s", r.msg);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_ne(v.state, SM_SESSION_RUNNING);
    ck_assert_int_eq(v.step, 2);
    ck_assert_str_eq(v.branch, "a.1");
    /* and checkout while running */
    OK(sm_session_simple(s, SM_CMD_RESUME, &r), r);
    for (int i = 0; i < 6000 && sm_session_step_count(s) < 4; i++)
        sm_session_wait_idle(s, 0.01);
    OK(sm_session_named(s, SM_CMD_CHECKOUT, "main", &r), r);
    ck_assert_msg(strstr(r.msg, "paused at step") != NULL, "the reply does not say it paused: %s", r.msg);
    sm_session_join(s);
    sm_session_view_get(s, &v);
    ck_assert_str_eq(v.branch, "main");
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    float *again = state_copy(s, &n2);
    ck_assert_mem_eq(again, at_a, n * sizeof *again);
    free(again);
    free(at_a);
    sm_session_free(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("explore");
    if (tu_want(TU_SHARED)) {
        const char *root = tu_shared_root();
        snprintf(model_dir, sizeof model_dir, "%s/models/bert-tiny-mlm", root);
        snprintf(train_path, sizeof train_path, "%s/datasets/sst2/train.tsv", root);
        snprintf(dev_path, sizeof dev_path, "%s/datasets/sst2/dev.tsv", root);
        tu_rmtree("check_explore.tmp");
        if (mkdir("check_explore.tmp", 0700) != 0) {
            perror("check_explore: mkdir check_explore.tmp");
            return 1;
        }
        TCase *tc = tcase_create("bert");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_explore_equals_manual_and_replays);
        tcase_add_test(tc, test_rewind_while_running_pauses);
        suite_add_tcase(su, tc);
    }
    int rc = tu_run(su);
    tu_rmtree("check_explore.tmp"); /* nothing is left in the build folder (distcheck) */
    return rc;
}
