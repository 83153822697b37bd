/* check_branch.c: branches and the snapshots' memory on the toy backend (issue 15): a rewind starts
 * a branch named after its snapshot, the left one is kept and `checkout` returns to it exactly, a
 * rename, the branch column of `export metrics` and the `export compare` rows; with a small
 * snapshot_budget snapshots spill and a rewind to a spilled one is exact; a full disk during a
 * spill (write interposed to fail with ENOSPC) keeps the snapshot in memory with a warning; a
 * kill -9 during a spill leaves no file that is read as good, and a damaged spill file is refused. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smartty/session.h"
#include "session_util.h"
#include "testutil.h"
#include "toy_backend.h"

#define W "check_branch.tmp"

/* ---- write(2) interposed: while armed, fail with ENOSPC, or die by SIGKILL half way ---- */
static int arm_mode; /* 0 off, 1 ENOSPC, 2 SIGKILL after kill_after bytes */
static size_t written, kill_after;

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "write");
    if (arm_mode == 1 && fd > 2) {
        errno = ENOSPC;
        return -1;
    }
    if (arm_mode == 2 && fd > 2) {
        if (written + n > kill_after) {
            real(fd, buf, kill_after - written);
            raise(SIGKILL);
        }
        written += n;
    }
    return real(fd, buf, n);
}

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

#define OK(call, r) ck_assert_msg((call) == SM_OK, "%s: %s", #call, (r).err.msg)

static char warned[1024];
static void on_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    if (ev->kind == SM_EVENT_WARN && ev->msg)
        snprintf(warned, sizeof warned, "%s", ev->msg);
}

START_TEST(test_branches)
{
    sm_session *s = new_session();
    sm_session_reply r;
    sm_error e;
    OK(sm_session_train(s, 3, &r), r);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), r);
    OK(sm_session_set(s, "lr", "0.05", &r), r);
    OK(sm_session_train(s, 4, &r), r);
    size_t n, n2;
    float *main7 = state_copy(s, &n);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    ck_assert_ptr_nonnull(strstr(r.msg, "on new branch a.1"));
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_str_eq(v.branch, "a.1");
    ck_assert_int_eq(v.step, 3);
    OK(sm_session_train(s, 2, &r), r);
    OK(sm_session_named(s, SM_CMD_BRANCH, "fast", &r), r);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_BRANCH, "main", &r), SM_OK); /* taken */
    ck_assert_int_ne(sm_session_named(s, SM_CMD_BRANCH, "a b", &r), SM_OK);
    /* a snapshot name of 62 bytes leaves no room for ".1": the branch is not named after it cut short */
    {
        char longname[63];
        memset(longname, 'x', 62);
        longname[62] = '\0';
        sm_session *s2 = new_session();
        OK(sm_session_train(s2, 1, &r), r);
        OK(sm_session_named(s2, SM_CMD_SNAPSHOT, longname, &r), r);
        OK(sm_session_named(s2, SM_CMD_REWIND, longname, &r), r);
        sm_session_view_get(s2, &v);
        ck_assert_str_eq(v.branch, "branch-1");
        sm_branch_info *lb;
        size_t nlb = sm_session_branches(s2, &lb);
        ck_assert_uint_eq(nlb, 2);
        ck_assert_str_eq(lb[1].from, longname);
        free(lb);
        sm_session_free(s2);
    }

    sm_branch_info *b;
    size_t nb = sm_session_branches(s, &b);
    ck_assert_uint_eq(nb, 2);
    ck_assert_str_eq(b[0].name, "main");
    ck_assert_int_eq(b[0].steps, 7);
    ck_assert_int_eq(b[0].active, 0);
    ck_assert_str_eq(b[1].name, "fast");
    ck_assert_str_eq(b[1].parent, "main");
    ck_assert_str_eq(b[1].from, "a");
    ck_assert_int_eq(b[1].fork_step, 3);
    ck_assert_int_eq(b[1].steps, 2);
    ck_assert_int_eq(b[1].depth, 1);
    char knobs[256];
    sm_branch_knobs(&b[0].hp, &b[1].hp, knobs, sizeof knobs);
    ck_assert_ptr_nonnull(strstr(knobs, "lr=0.05")); /* main changed lr after the snapshot */
    free(b);

    /* export metrics: the branch that trained each step */
    ck_assert_int_eq(sm_session_export_metrics(s, W "/m.csv", &e), SM_OK);
    FILE *f = fopen(W "/m.csv", "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    int rows = 0, mains = 0, fasts = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(strstr(line, ",branch\n"));
    while (fgets(line, sizeof line, f)) {
        rows++;
        mains += strstr(line, ",main\n") != NULL;
        fasts += strstr(line, ",fast\n") != NULL;
    }
    fclose(f);
    ck_assert_int_eq(rows, 5);
    ck_assert_int_eq(mains, 3);
    ck_assert_int_eq(fasts, 2);

    /* checkout: exactly the left branch, its history and values */
    OK(sm_session_named(s, SM_CMD_CHECKOUT, "main", &r), r);
    float *back = state_copy(s, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(back, main7, n * sizeof *back);
    free(back);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 7);
    ck_assert_str_eq(v.branch, "main");
    ck_assert_double_eq(v.hp.v[sm_hparam_lookup("lr")], 0.05);
    sm_step_record *h;
    ck_assert_uint_eq(sm_session_history(s, &h), 7);
    free(h);

    ck_assert_int_eq(sm_session_export_compare(s, W "/c.csv", &e), SM_OK);
    f = fopen(W "/c.csv", "r");
    ck_assert_ptr_nonnull(f);
    rows = 0;
    while (fgets(line, sizeof line, f))
        rows++;
    fclose(f);
    ck_assert_int_eq(rows, 3);

    /* a rewind straight after a rewind does not keep the empty branch */
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    nb = sm_session_branches(s, &b);
    ck_assert_uint_eq(nb, 3);
    free(b);
    free(main7);
    sm_session_free(s);
}
END_TEST

static size_t count(const char *pattern)
{
    glob_t g;
    size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
    globfree(&g);
    return n;
}

/* A session whose snapshot budget holds one snapshot: a second one spills the first. */
static sm_session *budget_session(size_t *bytes)
{
    sm_session *s = new_session();
    sm_session_set_event_fn(s, on_event, NULL);
    sm_session_reply r;
    OK(sm_session_train(s, 2, &r), r);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), r);
    sm_snapshot_info *si;
    ck_assert_uint_eq(sm_session_snapshots(s, &si), 1);
    *bytes = si[0].bytes;
    ck_assert_uint_gt(*bytes, 0);
    free(si);
    sm_session_set_snapshot_budget(s, *bytes + *bytes / 2, W "/spill");
    OK(sm_session_train(s, 3, &r), r);
    return s;
}

START_TEST(test_spill_exact)
{
    tu_rmtree(W "/spill");
    ck_assert_int_eq(mkdir(W "/spill", 0700), 0);
    size_t bytes, n, n2;
    sm_session *s = new_session();
    sm_session_reply r;
    OK(sm_session_train(s, 2, &r), r);
    float *at2 = state_copy(s, &n);
    sm_session_free(s);
    s = budget_session(&bytes);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "b", &r), r);
    sm_snapshot_info *si;
    ck_assert_uint_eq(sm_session_snapshots(s, &si), 2);
    ck_assert_str_eq(si[0].name, "a");
    ck_assert_int_eq(si[0].spilled, 1);
    ck_assert_int_eq(si[1].spilled, 0);
    ck_assert_int_eq(access(si[0].path, R_OK), 0);
    free(si);
    ck_assert_uint_eq(count(W "/spill/*.bin"), 1);
    ck_assert_uint_eq(count(W "/spill/*.tmp"), 0);
    OK(sm_session_train(s, 2, &r), r);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    float *back = state_copy(s, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_mem_eq(back, at2, n * sizeof *back); /* read back exactly */
    free(back);
    ck_assert_int_eq(sm_session_step_count(s), 2);
    sm_session_free(s);
    ck_assert_uint_eq(count(W "/spill/*"), 0); /* a session's spill files go with it */
    free(at2);
}
END_TEST

START_TEST(test_spill_disk_full)
{
    tu_rmtree(W "/spill");
    ck_assert_int_eq(mkdir(W "/spill", 0700), 0);
    size_t bytes;
    sm_session *s = budget_session(&bytes);
    sm_session_reply r;
    warned[0] = '\0';
    arm_mode = 1;
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "b", &r), r);
    arm_mode = 0;
    ck_assert_msg(strstr(warned, "stays in memory") != NULL, "no warning: '%s'", warned);
    ck_assert_msg(strstr(warned, "No space left") != NULL, "the warning does not say why: '%s'", warned);
    sm_snapshot_info *si;
    ck_assert_uint_eq(sm_session_snapshots(s, &si), 2);
    ck_assert_int_eq(si[0].spilled, 0);
    ck_assert_int_eq(si[1].spilled, 0);
    free(si);
    ck_assert_uint_eq(count(W "/spill/*"), 0);
    size_t n;
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    ck_assert_int_eq(sm_session_step_count(s), 2);
    float *x = state_copy(s, &n);
    free(x);
    sm_session_free(s);
}
END_TEST

START_TEST(test_spill_kill9)
{
    tu_rmtree(W "/spill");
    ck_assert_int_eq(mkdir(W "/spill", 0700), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        size_t bytes;
        sm_session *s = budget_session(&bytes);
        sm_session_reply r;
        written = 0;
        kill_after = bytes / 2;
        arm_mode = 2;
        sm_session_named(s, SM_CMD_SNAPSHOT, "b", &r); /* spills a, and dies half way */
        _exit(3);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was not killed (status %d)", status);
    ck_assert_uint_eq(count(W "/spill/*.bin"), 0); /* nothing under a name that is read */
    ck_assert_uint_eq(count(W "/spill/*.tmp"), 1);
    glob_t g;
    ck_assert_int_eq(glob(W "/spill/*.tmp", 0, NULL, &g), 0);
    char torn[4096], cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' " W "/torn.tmp", g.gl_pathv[0]); /* kept aside: see below */
    ck_assert_int_eq(system(cmd), 0);
    snprintf(torn, sizeof torn, W "/torn.tmp");
    globfree(&g);

    /* Even put in the place of a good spill file, the torn one is refused, and so is a damaged one
     * of the right length: the rewind fails, says why, and changes nothing. */
    size_t bytes, n, n2;
    sm_session *s = budget_session(&bytes);
    /* the killed process's temporary file is removed when the next session sets its budget */
    ck_assert_uint_eq(count(W "/spill/*.tmp"), 0);
    sm_session_reply r;
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "b", &r), r);
    sm_snapshot_info *si;
    sm_session_snapshots(s, &si);
    ck_assert_int_eq(si[0].spilled, 1);
    char good[4096];
    snprintf(good, sizeof good, "%s", si[0].path);
    free(si);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.keep' && cp '%s' '%s'", good, good, torn, good);
    ck_assert_int_eq(system(cmd), 0);
    float *before = state_copy(s, &n);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_REWIND, "a", &r), SM_OK);
    ck_assert_msg(strstr(r.err.msg, "cannot be used") != NULL, "%s", r.err.msg);
    ck_assert_int_eq(sm_session_step_count(s), 5);
    float *after = state_copy(s, &n2);
    ck_assert_mem_eq(after, before, n * sizeof *after);
    free(after);
    /* one byte flipped in the middle: same length, wrong checksum */
    snprintf(cmd, sizeof cmd, "cp '%s.keep' '%s' && printf 'Z' | dd of='%s' bs=1 seek=%zu conv=notrunc 2>/dev/null", good,
             good, good, bytes / 2);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_REWIND, "a", &r), SM_OK);
    ck_assert_msg(strstr(r.err.msg, "checksum") != NULL, "%s", r.err.msg);
    /* and the good file reads back */
    snprintf(cmd, sizeof cmd, "cp '%s.keep' '%s'", good, good);
    ck_assert_int_eq(system(cmd), 0);
    OK(sm_session_named(s, SM_CMD_REWIND, "a", &r), r);
    ck_assert_int_eq(sm_session_step_count(s), 2);
    free(before);
    sm_session_free(s);
}
END_TEST


static int break_at = -1;
static int hook(void *ud, char when, const sm_step_record *rec, const sm_eval_record *ev, char *why, size_t cap)
{
    (void)ud;
    (void)ev;
    if (when == 's' && rec->step == break_at) {
        break_at = -1; /* once */
        snprintf(why, cap, "step %lld", (long long)rec->step);
        return 1;
    }
    return 0;
}

static void spec3(sm_explore_spec *sp, int keep)
{
    memset(sp, 0, sizeof *sp);
    sp->n_params = 1;
    snprintf(sp->names[0], sizeof sp->names[0], "lr");
    sp->n_values[0] = 3;
    snprintf(sp->values[0][0], 64, "0.01");
    snprintf(sp->values[0][1], 64, "0.1");
    snprintf(sp->values[0][2], 64, "0.5");
    sp->steps = 5;
    snprintf(sp->from, sizeof sp->from, "a");
    sp->keep_best = keep;
}

/* explore on the toy: keep best checks out the winner; a breakpoint pauses a variant and resume
 * carries on to the next; stop ends the exploration. */
START_TEST(test_explore_toy)
{
    sm_session *s = new_session();
    sm_session_reply r;
    OK(sm_session_train(s, 2, &r), r);
    OK(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), r);
    sm_explore_spec sp;
    spec3(&sp, 1);
    sm_session_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = SM_CMD_EXPLORE;
    c.arg = &sp;
    OK(sm_session_command(s, &c, &r), r);
    sm_explore_status *xs = malloc(sizeof *xs);
    sm_session_explore_status(s, xs);
    ck_assert_int_eq(xs->n, 3);
    int best = -1;
    for (int i = 0; i < 3; i++) {
        ck_assert(xs->res[i].done && xs->res[i].has_eval);
        if (best < 0 || xs->res[i].metric > xs->res[best].metric)
            best = i;
    }
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_str_eq(v.branch, xs->res[best].branch);
    ck_assert_str_eq(xs->kept, xs->res[best].branch);
    ck_assert_int_eq(v.step, 7);
    ck_assert_int_eq(v.explore_total, 0);

    /* a breakpoint in variant 2: paused there, with the exploration still on */
    OK(sm_session_named(s, SM_CMD_CHECKOUT, "main", &r), r);
    spec3(&sp, 0);
    sm_session_set_break_fn(s, hook, NULL);
    break_at = 4; /* the first variant's second step */
    OK(sm_session_command(s, &c, &r), r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
    ck_assert_int_eq(v.explore_variant, 1);
    ck_assert_int_eq(v.explore_total, 3);
    OK(sm_session_resume(s, SM_PENDING_APPLY, &r), r); /* runs on, through variants 2 and 3 */
    sm_session_explore_status(s, xs);
    ck_assert_int_eq(xs->active, 0);
    ck_assert(xs->res[2].done);
    sm_session_view_get(s, &v);
    ck_assert_str_eq(v.branch, "main");
    ck_assert_int_eq(v.step, 2);

    /* stop ends it */
    break_at = 4;
    OK(sm_session_command(s, &c, &r), r);
    OK(sm_session_simple(s, SM_CMD_STOP, &r), r);
    sm_session_explore_status(s, xs);
    ck_assert_int_eq(xs->active, 0);
    ck_assert_int_eq(xs->n, 1);
    ck_assert_int_eq(xs->res[0].done, 0);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.explore_total, 0);
    /* and bad grids are refused before anything runs */
    snprintf(sp.names[0], sizeof sp.names[0], "nosuch");
    ck_assert_int_ne(sm_session_command(s, &c, &r), SM_OK);
    ck_assert_ptr_nonnull(strstr(r.err.msg, "'nosuch' is not a hyperparameter"));
    spec3(&sp, 0);
    snprintf(sp.values[0][1], 64, "-3");
    ck_assert_int_ne(sm_session_command(s, &c, &r), SM_OK);
    ck_assert_ptr_nonnull(strstr(r.err.msg, "explore: lr value 2"));
    free(xs);
    sm_session_free(s);
}
END_TEST

/* sm_branch_knobs: whole entries; when they do not fit, those that do and " ..." (never a cut entry) */
START_TEST(test_knobs_cut)
{
    sm_hparams a, b;
    sm_hparams_default(&a);
    b = a;
    char k[256];
    sm_branch_knobs(&a, &b, k, sizeof k);
    ck_assert_str_eq(k, "");
    b.v[SM_HP_LAMBDA_S] = 3;
    b.v[SM_HP_MU] = 5;
    b.v[SM_HP_LR] = 0.05;
    sm_branch_knobs(&b, &a, k, sizeof k);
    ck_assert_str_eq(k, "lambda_s=3 mu=5 lr=0.05");
    sm_branch_knobs(&b, &a, k, 24); /* exactly fits */
    ck_assert_str_eq(k, "lambda_s=3 mu=5 lr=0.05");
    sm_branch_knobs(&b, &a, k, 23);
    ck_assert_str_eq(k, "lambda_s=3 mu=5 ...");
    sm_branch_knobs(&b, &a, k, 16);
    ck_assert_str_eq(k, "lambda_s=3 ...");
    sm_branch_knobs(&b, &a, k, 11);
    ck_assert_str_eq(k, "...");
    sm_branch_knobs(&b, &a, k, 3);
    ck_assert_str_eq(k, "");
}
END_TEST

int main(void)
{
    Suite *su = suite_create("branch");
    if (tu_want(TU_LOCAL)) {
        tu_rmtree(W);
        if (mkdir(W, 0700) != 0) {
            perror("check_branch: mkdir " W);
            return 1;
        }
        TCase *tc = tcase_create("toy");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_branches);
        tcase_add_test(tc, test_spill_exact);
        tcase_add_test(tc, test_spill_disk_full);
        tcase_add_test(tc, test_spill_kill9);
        tcase_add_test(tc, test_explore_toy);
        tcase_add_test(tc, test_knobs_cut);
        suite_add_tcase(su, tc);
    }
    int rc = tu_run(su);
    tu_rmtree(W); /* nothing is left in the build folder (distcheck) */
    return rc;
}
