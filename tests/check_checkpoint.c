/* check_checkpoint.c: tests of checkpoints on a toy backend: save and restore continue bit for bit
 * (also across processes), the journal travels with the checkpoint, a save killed at any stage or
 * at random moments leaves the previous checkpoint loadable, and a folder that is not a checkpoint
 * is never replaced. */
#include <check.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smartty/checkpoint.h"
#include "smartty/safetensors.h"
#include "smartty/session.h"
#include "lib/session/session_internal.h"
#include "testutil.h"
#include "toy_backend.h"

#define NW 7
#define DIR "check_checkpoint.tmp.ckpt"

/* Remove a checkpoint folder and what a save leaves beside it (PATH.old, PATH.tmp-*). */
static void rm_rf(const char *path)
{
    char other[512];
    tu_rmtree(path);
    snprintf(other, sizeof other, "%s.old", path);
    tu_rmtree(other);
    static const char *const leftovers[] = {".tmp-*", ".smartty-*"};
    for (size_t k = 0; k < sizeof leftovers / sizeof leftovers[0]; k++) {
        snprintf(other, sizeof other, "%s%s", path, leftovers[k]);
        glob_t g;
        if (glob(other, 0, NULL, &g) == 0)
            for (size_t i = 0; i < g.gl_pathc; i++)
                tu_rmtree(g.gl_pathv[i]);
        globfree(&g);
    }
    const char *base = strrchr(path, '/');
    if (base) /* the lock file beside it: DIR/../.NAME.smartty-lock */
        snprintf(other, sizeof other, "%.*s/.%s.smartty-lock", (int)(base - path), path, base + 1);
    else
        snprintf(other, sizeof other, ".%s.smartty-lock", path);
    unlink(other);
    ck_assert_msg(access(path, F_OK) != 0, "%s is still there", path);
}

static sm_session *fresh(const char *model_dir)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    toy_hparams(&hp);
    ck_assert_msg(toy_backend(&be, model_dir, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    return s;
}

/* A session from a checkpoint folder (resolving an aside copy), or NULL with e filled. */
static sm_session *load(const char *dir, sm_error *e)
{
    char real[4200];
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY) {
        sm_err(e, SM_ERR_NOTFOUND, "%s: no checkpoint", dir);
        return NULL;
    }
    sm_session_backend be;
    sm_hparams hp;
    sm_session *s;
    sm_hparams_default(&hp);
    if (toy_backend(&be, real, e) != SM_OK)
        return NULL;
    if (sm_session_new(&be, &hp, &s, e) != SM_OK)
        return NULL;
    if (sm_session_restore_checkpoint(s, real, e) != SM_OK) {
        sm_session_free(s);
        return NULL;
    }
    return s;
}

static void all_state(sm_session *s, float *out)
{
    for (size_t i = 0; i < 3; i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        memcpy(out + i * NW, t.data, sizeof(float) * NW);
    }
}

static void ok(sm_status st, const sm_session_reply *r)
{
    ck_assert_msg(st == SM_OK, "command failed: %s", r->err.msg);
}

START_TEST(test_round_trip)
{
    rm_rf(DIR);
    sm_session_reply r;
    sm_error e;
    sm_session *a = fresh(NULL);
    ok(sm_session_set(a, "lr", "0.07", &r), &r);
    ok(sm_session_train(a, 11, &r), &r); /* mid-epoch: 50 examples in batches of 8 */
    ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
    ck_assert_int_eq(sm_checkpoint_resolve(DIR, (char[4200]){0}, 4200), SM_CKPT_SMARTTY);
    sm_session *b = load(DIR, &e);
    ck_assert_msg(b != NULL, "%s", e.msg);
    ck_assert_int_eq(sm_session_step_count(b), 11);
    ck_assert(sm_session_hparams(b)->v[SM_HP_LR] == 0.07);
    float wa[3 * NW], wb[3 * NW];
    all_state(a, wa);
    all_state(b, wb);
    ck_assert_mem_eq(wa, wb, sizeof wa);
    ok(sm_session_train(a, 13, &r), &r);
    ok(sm_session_train(b, 13, &r), &r);
    all_state(a, wa);
    all_state(b, wb);
    ck_assert_mem_eq(wa, wb, sizeof wa);
    /* the journal came along, ending with the save */
    sm_journal j;
    ck_assert_int_eq(sm_session_journal(b, &j, &e), SM_OK);
    ck_assert_uint_ge(j.n, 3);
    int saw_set = 0, saw_save = 0;
    for (size_t i = 0; i < j.n; i++) {
        saw_set += !strcmp(j.ev[i].op, "set") && j.ev[i].step == 0;
        saw_save += !strcmp(j.ev[i].op, "save") && j.ev[i].step == 11;
    }
    ck_assert_int_eq(saw_set, 1);
    ck_assert_int_eq(saw_save, 1);
    sm_journal_free(&j);
    /* saving again over the checkpoint replaces it */
    ok(sm_session_named(a, SM_CMD_SAVE, DIR "/", &r), &r);
    sm_session_free(b);
    b = load(DIR, &e);
    ck_assert_msg(b != NULL, "%s", e.msg);
    ck_assert_int_eq(sm_session_step_count(b), 24);
    ck_assert(!sm_dir_exists(DIR ".smartty-old"));
    sm_session_free(a);
    sm_session_free(b);
    rm_rf(DIR);
}
END_TEST

START_TEST(test_resume_new_process)
{
    rm_rf(DIR);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sm_session *a = fresh(NULL);
        sm_session_reply r;
        int bad = sm_session_train(a, 9, &r) != SM_OK ||
                  sm_session_named(a, SM_CMD_SAVE, DIR, &r) != SM_OK;
        sm_session_free(a);
        _exit(bad);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sm_error e;
    sm_session_reply r;
    sm_session *b = load(DIR, &e), *u = fresh(NULL);
    ck_assert_msg(b != NULL, "%s", e.msg);
    ok(sm_session_train(b, 9, &r), &r);
    ok(sm_session_train(u, 18, &r), &r);
    float wb[3 * NW], wu[3 * NW];
    all_state(b, wb);
    all_state(u, wu);
    ck_assert_mem_eq(wb, wu, sizeof wb);
    sm_session_free(b);
    sm_session_free(u);
    rm_rf(DIR);
}
END_TEST

static const char *crash_at;
static void crash_hook(const char *stage)
{
    if (crash_at && !strcmp(stage, crash_at))
        raise(SIGKILL);
}

START_TEST(test_killed_at_each_stage)
{
    static const char *stages[] = {"begin", "model", "state", "tensors", "journal", "synced",
                                   "exchanged", "renamed", "done"};
    for (size_t k = 0; k < sizeof stages / sizeof stages[0]; k++) {
        rm_rf(DIR);
        sm_session_reply r;
        sm_error e;
        sm_session *a = fresh(NULL);
        ok(sm_session_train(a, 5, &r), &r);
        ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
        ok(sm_session_train(a, 3, &r), &r);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            crash_at = stages[k];
            sm_checkpoint_set_stage_hook(crash_hook);
            sm_session_named(a, SM_CMD_SAVE, DIR, &r);
            _exit(0);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "stage %s: the child was not killed", stages[k]);
        sm_session *b = load(DIR, &e);
        ck_assert_msg(b != NULL, "stage %s: %s", stages[k], e.msg);
        int64_t want = k >= 6 ? 8 : 5; /* from "exchanged" on the new checkpoint is in place */
        ck_assert_msg(sm_session_step_count(b) == want, "stage %s: step %lld", stages[k],
                      (long long)sm_session_step_count(b));
        sm_session_free(b);
        glob_t g;
        int left = glob(DIR ".smartty-tmp-*", 0, NULL, &g) == 0;
        globfree(&g);
        /* from "model" to "synced" the new folder, after "exchanged" the previous one */
        ck_assert_msg(left == (k >= 1 && k <= 7), "stage %s: a temporary folder %s", stages[k],
                      left ? "was left" : "was expected");
        /* and the next save works and cleans up, the killed save's temporary folder included */
        ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
        ck_assert(!sm_dir_exists(DIR ".smartty-old"));
        ck_assert_int_eq(glob(DIR ".smartty-tmp-*", 0, NULL, &g), GLOB_NOMATCH);
        globfree(&g);
        b = load(DIR, &e);
        ck_assert_msg(b != NULL, "%s", e.msg);
        ck_assert_int_eq(sm_session_step_count(b), 8);
        sm_session_free(b);
        sm_session_free(a);
    }
    rm_rf(DIR);
}
END_TEST

START_TEST(test_killed_at_random)
{
    rm_rf(DIR);
    sm_session_reply r;
    sm_error e;
    srand((unsigned)time(NULL));
    sm_session *a = fresh(NULL);
    ok(sm_session_train(a, 1, &r), &r);
    ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
    int64_t last = 1;
    for (int round = 0; round < 25; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (;;) { /* train and save, over and over, until killed */
                if (sm_session_train(a, 1, &r) != SM_OK || sm_session_named(a, SM_CMD_SAVE, DIR, &r) != SM_OK)
                    _exit(3);
            }
        }
        usleep((useconds_t)(rand() % 20000));
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "the saving child failed on its own (status %d)", status);
        sm_session *b = load(DIR, &e);
        ck_assert_msg(b != NULL, "round %d: %s", round, e.msg);
        /* every child restarts from the parent's step 1, so a later round may leave an earlier
         * step than the round before: what matters is that a whole checkpoint is always there */
        ck_assert_int_ge(sm_session_step_count(b), last);
        sm_session_free(b);
    }
    /* the next save removes what killed saves left beside */
    ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
    glob_t g;
    ck_assert_int_eq(glob(DIR ".smartty-tmp-*", 0, NULL, &g), GLOB_NOMATCH);
    globfree(&g);
    sm_session_free(a);
    rm_rf(DIR);
}
END_TEST

START_TEST(test_refuses_foreign_folder)
{
    rm_rf(DIR);
    ck_assert_int_eq(mkdir(DIR, 0755), 0);
    FILE *f = fopen(DIR "/precious.txt", "w");
    ck_assert_ptr_nonnull(f);
    fputs("keep me\n", f);
    fclose(f);
    sm_session *a = fresh(NULL);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_named(a, SM_CMD_SAVE, DIR, &r), SM_ERR_STATE);
    ck_assert_msg(strstr(r.err.msg, "not a smartty checkpoint"), "%s", r.err.msg);
    ck_assert(sm_file_exists(DIR "/precious.txt"));
    char real[4200];
    ck_assert_int_eq(sm_checkpoint_resolve(DIR, real, sizeof real), SM_CKPT_NONE);
    /* the failed save left no journal entry */
    sm_journal j;
    sm_error e;
    ck_assert_int_eq(sm_session_journal(a, &j, &e), SM_OK);
    for (size_t i = 0; i < j.n; i++)
        ck_assert_str_ne(j.ev[i].op, "save");
    sm_journal_free(&j);
    sm_session_free(a);
    rm_rf(DIR);
}
END_TEST

/* A damaged or hand-edited trainer_state.json: hyperparameters outside their ranges (or not a choice
 * of an enum, or fractional integers) are refused with the name and the allowed values, as `set`
 * would refuse them, and the session keeps its values. */
START_TEST(test_state_bad_hparams)
{
    static const struct {
        const char *hp;
        const char *needle;
    } cases[] = {
        {"\"batch_size\": 0", "'batch_size' is 0 (allowed: an integer from 1 to 4096)"},
        {"\"batch_size\": 1e30", "'batch_size' is 1e+30"},
        {"\"batch_size\": 8.5", "'batch_size' is 8.5"},
        {"\"max_len\": -5", "'max_len' is -5"},
        {"\"seed\": -1", "'seed' is -1"},
        {"\"lr\": 1e300", "'lr' is 1e+300 (allowed: 0 to 10)"},
        {"\"optimizer\": 7", "'optimizer' is 7, which is not a choice index (0 to 1)"},
        {"\"adv_norm\": 0.5", "'adv_norm' is 0.5"},
    };
    sm_session *a = fresh(NULL);
    sm_hparams before = *sm_session_hparams(a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"step\": 0, \"hparams\": {%s}, \"backend\": {}}", cases[i].hp);
        sm_error e;
        sm_error_clear(&e);
        ck_assert_int_eq(sm_session_state_from_json(a, text, &e), SM_ERR_RANGE);
        ck_assert_msg(strstr(e.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].needle);
        ck_assert(!memcmp(sm_session_hparams(a), &before, sizeof before));
    }
    /* a step count past 2^53 would overflow the step counter */
    sm_error e;
    ck_assert_int_eq(sm_session_state_from_json(a, "{\"step\": 9223372036854775807, \"hparams\": {}, "
                                                   "\"backend\": {}}", &e), SM_ERR_RANGE);
    ck_assert_msg(strstr(e.msg, "\"step\" is 9223372036854775807, more than 2^53"), "%s", e.msg);
    ck_assert_int_eq(sm_session_step_count(a), 0);
    sm_session_free(a);
}
END_TEST

/* A non-finite value in trainer_state.safetensors (a moment or the teacher) is refused on restore,
 * as model.safetensors' are, instead of spreading into the weights at the first update. */
START_TEST(test_state_nonfinite_tensor)
{
    rm_rf(DIR);
    sm_session *a = fresh(NULL);
    sm_session_reply r;
    ok(sm_session_train(a, 3, &r), &r);
    ok(sm_session_named(a, SM_CMD_SAVE, DIR, &r), &r);
    sm_session_free(a);
    const char *path = DIR "/" SM_CKPT_STATE_TENSORS;
    sm_st_file *f;
    sm_error e;
    ck_assert_msg(sm_st_open(path, &f, &e) == SM_OK, "%s", e.msg);
    size_t n = sm_st_count(f);
    ck_assert_uint_gt(n, 0);
    sm_st_entry ents[8];
    float *data[8];
    char *names[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        const sm_st_tensor *t = sm_st_tensor_at(f, i);
        data[i] = malloc(t->numel * sizeof(float) + 1);
        names[i] = strdup(t->name);
        ck_assert_int_eq(sm_st_read_float(f, i, data[i], t->numel, &e), SM_OK);
        ents[i].name = names[i];
        ents[i].data = data[i];
        ents[i].ndim = 1;
        ents[i].shape[0] = (int64_t)t->numel;
    }
    sm_st_close(f);
    data[n - 1][0] = NAN;
    sm_st_meta meta[] = {{"format", SM_CKPT_FORMAT}};
    ck_assert_int_eq(sm_st_write(path, ents, n, SM_ST_F32, meta, 1, &e), SM_OK);
    ck_assert_ptr_null(load(DIR, &e));
    ck_assert_int_eq(e.status, SM_ERR_NONFINITE);
    ck_assert_msg(strstr(e.msg, SM_CKPT_STATE_TENSORS ": tensor '") && strstr(e.msg, names[n - 1]) &&
                      strstr(e.msg, "non-finite value (nan at element 0)"), "%s", e.msg);
    for (size_t i = 0; i < n; i++) {
        free(data[i]);
        free(names[i]);
    }
    rm_rf(DIR);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_resume_new_process);
    tcase_add_test(tc, test_killed_at_each_stage);
    tcase_add_test(tc, test_killed_at_random);
    tcase_add_test(tc, test_refuses_foreign_folder);
    tcase_add_test(tc, test_state_bad_hparams);
    tcase_add_test(tc, test_state_nonfinite_tensor);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(checkpoint_suite());
}
