/* check_ckpt_safety.c: a save touches only what smartty made. Leftover folders planted as symbolic
 * links, a user's DIR.old, a symlinked destination and files added to a checkpoint all survive; the
 * destination lock refuses a second saver by pid and dies with its holder; the two-rename fallback
 * keeps a checkpoint loadable at every stage; and every failing system call of a save in turn (by
 * interposing libc's calls in this program) leaves the previous checkpoint whole. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_common.h"
#include "smartty/safetensors.h"

#define W "check_ckpt_safety.tmp"

static void fresh_dir(void)
{
    cc_sh("rm -rf " W " && mkdir " W);
}

static void save_ok(sm_session *s, const char *dir)
{
    sm_session_reply r;
    ck_assert_msg(sm_session_named(s, SM_CMD_SAVE, dir, &r) == SM_OK, "save %s: %s", dir, r.err.msg);
}

static void train(sm_session *s, int n)
{
    sm_session_reply r;
    ck_assert_msg(sm_session_train(s, n, &r) == SM_OK, "%s", r.err.msg);
}

static void assert_step(const char *dir, int64_t want)
{
    sm_error e;
    int64_t got = cc_load_step(dir, &e);
    ck_assert_msg(got == want, "%s: step %lld, expected %lld (%s)", dir, (long long)got, (long long)want,
                  got < 0 ? e.msg : "");
}

/* Nothing matches pattern (what does is listed on stderr). */
static void assert_none(const char *pattern)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "echo '%s:' >&2; ls -la '%s' >&2; cat '%s'/.smartty-checkpoint >&2", g.gl_pathv[i], g.gl_pathv[i], g.gl_pathv[i]);
        (void)!system(cmd);
    }
    globfree(&g);
    ck_assert_msg(rc == GLOB_NOMATCH, "%s is left", pattern);
}

static int is_link(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode);
}

START_TEST(test_stale_links_not_followed)
{
    fresh_dir();
    cc_sh("mkdir " W "/victim && echo secret > " W "/victim/secret.txt");
    sm_session *s = cc_fresh();
    train(s, 2);
    save_ok(s, W "/ck");
    /* what another user who can write the parent folder could plant, under every name a save has used */
    const char *names[] = {W "/ck.smartty-tmp-999999-deadbeef", W "/ck.tmp-999999", W "/ck.old",
                           W "/ck.smartty-old", W "/other.smartty-tmp-999999-0"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_int_eq(symlink("victim", names[i]), 0);
    for (int round = 0; round < 2; round++) {
        sm_checkpoint_set_exchange(round == 0);
        train(s, 1);
        sm_session_reply r;
        sm_status st = sm_session_named(s, SM_CMD_SAVE, W "/ck", &r);
        /* the fallback needs ck.smartty-old and refuses to touch a link there */
        ck_assert_msg(round == 0 ? st == SM_OK : st != SM_OK, "round %d: %s", round, r.err.msg);
        if (round == 1)
            ck_assert_msg(strstr(r.err.msg, "symbolic link"), "%s", r.err.msg);
        char buf[64];
        ck_assert_str_eq(cc_read(W "/victim/secret.txt", buf, sizeof buf), "secret\n");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            ck_assert_msg(is_link(names[i]), "%s was removed", names[i]);
        assert_step(W "/ck", 3);
    }
    sm_checkpoint_set_exchange(1);
    sm_session_free(s);
}
END_TEST

START_TEST(test_users_old_folder_kept)
{
    fresh_dir();
    cc_sh("mkdir " W "/ck.old && echo mine > " W "/ck.old/notes.txt");
    sm_session *s = cc_fresh();
    for (int i = 0; i < 3; i++) {
        sm_checkpoint_set_exchange(i != 2);
        train(s, 1);
        save_ok(s, W "/ck");
    }
    sm_checkpoint_set_exchange(1);
    char buf[64];
    ck_assert_str_eq(cc_read(W "/ck.old/notes.txt", buf, sizeof buf), "mine\n");
    assert_step(W "/ck", 3);
    sm_session_free(s);
}
END_TEST

START_TEST(test_symlinked_destination_refused)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 2);
    save_ok(s, W "/ck-2");
    ck_assert_int_eq(symlink("ck-2", W "/latest"), 0);
    train(s, 1);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_named(s, SM_CMD_SAVE, W "/latest", &r), SM_ERR_STATE);
    ck_assert_msg(strstr(r.err.msg, "symbolic link (to ck-2)"), "%s", r.err.msg);
    ck_assert(is_link(W "/latest"));
    assert_step(W "/ck-2", 2);
    sm_session_free(s);
}
END_TEST

START_TEST(test_foreign_file_in_checkpoint_kept)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 2);
    save_ok(s, W "/ck");
    cc_write(W "/ck/notes.txt", "mine\n");
    train(s, 1);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_named(s, SM_CMD_SAVE, W "/ck", &r), SM_ERR_STATE);
    ck_assert_msg(strstr(r.err.msg, "'notes.txt', which smartty did not write"), "%s", r.err.msg);
    char buf[64];
    ck_assert_str_eq(cc_read(W "/ck/notes.txt", buf, sizeof buf), "mine\n");
    assert_step(W "/ck", 2);
    /* a file planted in the fallback's aside folder stays too */
    cc_sh("rm " W "/ck/notes.txt && mkdir " W "/ck.smartty-old && echo mine > " W "/ck.smartty-old/x");
    sm_checkpoint_set_exchange(0);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_SAVE, W "/ck", &r), SM_OK);
    sm_checkpoint_set_exchange(1);
    ck_assert_str_eq(cc_read(W "/ck.smartty-old/x", buf, sizeof buf), "mine\n");
    assert_step(W "/ck", 2);
    sm_session_free(s);
}
END_TEST

START_TEST(test_lock_names_holder)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 2);
    save_ok(s, W "/ck");
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* hold the lock as a saving smartty would */
        int fd = open(W "/.ck.smartty-lock", O_RDWR);
        char text[32];
        int n = snprintf(text, sizeof text, "pid %ld\n", (long)getpid());
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || ftruncate(fd, 0) != 0 || write(fd, text, (size_t)n) != n)
            _exit(1);
        if (write(go[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(go[1]);
    char c;
    ck_assert_int_eq(read(go[0], &c, 1), 1);
    train(s, 1);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_named(s, SM_CMD_SAVE, W "/ck", &r), SM_ERR_STATE);
    char want[64];
    snprintf(want, sizeof want, "being saved by process %ld", (long)pid);
    ck_assert_msg(strstr(r.err.msg, want), "%s", r.err.msg);
    assert_step(W "/ck", 2);
    kill(pid, SIGKILL); /* a holder killed with -9 releases it */
    waitpid(pid, NULL, 0);
    save_ok(s, W "/ck");
    assert_step(W "/ck", 3);
    close(go[0]);
    sm_session_free(s);
}
END_TEST

START_TEST(test_concurrent_savers)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 1);
    save_ok(s, W "/ck");
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            sm_session_reply r;
            for (int i = 0; i < 15; i++) {
                if (sm_session_train(s, 1, &r) != SM_OK)
                    _exit(2);
                if (sm_session_named(s, SM_CMD_SAVE, W "/ck", &r) != SM_OK &&
                    !strstr(r.err.msg, "is being saved by process")) {
                    fprintf(stderr, "concurrent save: %s\n", r.err.msg);
                    _exit(3);
                }
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status;
        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "saver %d: status %d", k, status);
    }
    sm_error e;
    int64_t step = cc_load_step(W "/ck", &e);
    ck_assert_msg(step >= 2 && step <= 16, "step %lld %s", (long long)step, e.msg);
    assert_none(W "/ck.smartty-tmp-*");
    sm_session_free(s);
}
END_TEST

static const char *crash_at;
static void crash_hook(const char *stage)
{
    if (crash_at && !strcmp(stage, crash_at))
        raise(SIGKILL);
}

START_TEST(test_fallback_killed_at_each_stage)
{
    static const char *stages[] = {"begin", "model", "synced", "aside", "exchanged", "renamed", "done"};
    for (size_t k = 0; k < sizeof stages / sizeof stages[0]; k++) {
        fresh_dir();
        sm_session *s = cc_fresh();
        train(s, 5);
        save_ok(s, W "/ck");
        train(s, 3);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            crash_at = stages[k];
            sm_checkpoint_set_exchange(0);
            sm_checkpoint_set_stage_hook(crash_hook);
            sm_session_reply r;
            sm_session_named(s, SM_CMD_SAVE, W "/ck", &r);
            _exit(0);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "stage %s: the child was not killed", stages[k]);
        assert_step(W "/ck", k >= 4 ? 8 : 5);
        /* the next save, either way, cleans up */
        sm_checkpoint_set_exchange(k % 2);
        save_ok(s, W "/ck");
        sm_checkpoint_set_exchange(1);
        assert_step(W "/ck", 8);
        assert_none(W "/ck.smartty-*");
        sm_session_free(s);
    }
}
END_TEST

/* ---- failing each system call of a save in turn ----
 * While armed, each call below counts; the one numbered fail_at fails (ENOSPC for the writes, as on
 * a full disk, EIO for the rest), after doing its work for close and fclose (as a late write error
 * reported there would). The real functions are found with dlsym(RTLD_NEXT). */

static int armed;
static long calls, fail_at;

static int hit(void)
{
    return armed && ++calls == fail_at;
}

#define REAL(ret, name, ...) \
    static ret (*real_##name)(__VA_ARGS__); \
    if (!real_##name) \
        *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

int open(const char *path, int flags, ...)
{
    REAL(int, open, const char *, int, ...);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
    va_end(ap);
    if (hit())
        return errno = EIO, -1;
    return real_open(path, flags, mode);
}

int openat(int dfd, const char *path, int flags, ...)
{
    REAL(int, openat, int, const char *, int, ...);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
    va_end(ap);
    if (hit())
        return errno = EIO, -1;
    return real_openat(dfd, path, flags, mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, write, int, const void *, size_t);
    if (hit())
        return errno = ENOSPC, -1;
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
    if (hit())
        return errno = ENOSPC, -1;
    return real_pwrite(fd, buf, n, off);
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f)
{
    REAL(size_t, fwrite, const void *, size_t, size_t, FILE *);
    if (hit())
        return errno = ENOSPC, 0;
    return real_fwrite(buf, size, n, f);
}

int fflush(FILE *f)
{
    REAL(int, fflush, FILE *);
    if (hit())
        return errno = ENOSPC, EOF;
    return real_fflush(f);
}

int fclose(FILE *f)
{
    REAL(int, fclose, FILE *);
    int bad = hit(), rc = real_fclose(f);
    return bad ? (errno = ENOSPC, EOF) : rc;
}

int close(int fd)
{
    REAL(int, close, int);
    int bad = hit(), rc = real_close(fd);
    return bad ? (errno = EIO, -1) : rc;
}

#define SIMPLE(name, params, args) \
    int name params \
    { \
        static int (*real) params; \
        if (!real) \
            *(void **)&real = dlsym(RTLD_NEXT, #name); \
        if (hit()) \
            return errno = EIO, -1; \
        return real args; \
    }

SIMPLE(fsync, (int fd), (fd))
SIMPLE(fchmod, (int fd, mode_t m), (fd, m))
SIMPLE(ftruncate, (int fd, off_t n), (fd, n))
SIMPLE(flock, (int fd, int op), (fd, op))
SIMPLE(mkdir, (const char *p, mode_t m), (p, m))
SIMPLE(mkdirat, (int d, const char *p, mode_t m), (d, p, m))
SIMPLE(rename, (const char *a, const char *b), (a, b))
SIMPLE(renameat, (int da, const char *a, int db, const char *b), (da, a, db, b))
SIMPLE(renameat2, (int da, const char *a, int db, const char *b, unsigned fl), (da, a, db, b, fl))
SIMPLE(unlink, (const char *p), (p))
SIMPLE(unlinkat, (int d, const char *p, int fl), (d, p, fl))
SIMPLE(rmdir, (const char *p), (p))

START_TEST(test_each_call_fails_in_turn)
{
    for (int exch = 1; exch >= 0; exch--) {
        sm_checkpoint_set_exchange(exch);
        fresh_dir();
        sm_session *s = cc_fresh();
        train(s, 2);
        save_ok(s, W "/ck");
        /* count the calls of one save */
        train(s, 1);
        calls = 0;
        fail_at = -1;
        armed = 1;
        sm_session_reply r;
        sm_status st = sm_session_named(s, SM_CMD_SAVE, W "/ck", &r);
        armed = 0;
        ck_assert_msg(st == SM_OK, "%s", r.err.msg);
        long total = calls;
        ck_assert_int_gt(total, 20);
        int64_t prev = 3;
        int failures = 0;
        for (long k = 1; k <= total; k++) {
            train(s, 1);
            calls = 0;
            fail_at = k;
            armed = 1;
            st = sm_session_named(s, SM_CMD_SAVE, W "/ck", &r);
            armed = 0;
            sm_error e;
            int64_t got = cc_load_step(W "/ck", &e);
            int64_t now = sm_session_step_count(s);
            if (st == SM_OK || strstr(r.err.msg, "checkpoint saved to")) {
                /* a failure that cannot harm (a clean-up) or after the exchange, said so */
                ck_assert_msg(got == now, "call %ld: saved, but the checkpoint holds step %lld (%s)", k,
                              (long long)got, got < 0 ? e.msg : "");
                prev = now;
            } else {
                failures++;
                ck_assert_msg(got == prev, "call %ld failed (%s): the checkpoint holds step %lld, not the "
                              "previous %lld (%s)", k, r.err.msg, (long long)got, (long long)prev,
                              got < 0 ? e.msg : "");
            }
        }
        ck_assert_int_gt(failures, total / 2);
        /* and a save that is let be cleans up after all of them */
        save_ok(s, W "/ck");
        assert_step(W "/ck", sm_session_step_count(s));
        assert_none(W "/ck.smartty-tmp-*");
        sm_session_free(s);
    }
    sm_checkpoint_set_exchange(1);
}
END_TEST

START_TEST(test_nonfinite_state_not_saved)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 2);
    save_ok(s, W "/ck");
    train(s, 1);
    int poisoned = 0;
    for (size_t i = 0; i < sm_session_tensor_count(s); i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        if (!t.in_model && t.n > 0) {
            t.data[t.n - 1] = INFINITY; /* as adam_v fills when g^2 overflows */
            poisoned = 1;
            break;
        }
    }
    ck_assert(poisoned);
    sm_session_reply r;
    ck_assert_int_eq(sm_session_named(s, SM_CMD_SAVE, W "/ck", &r), SM_ERR_NONFINITE);
    ck_assert_msg(strstr(r.err.msg, "resume would refuse"), "%s", r.err.msg);
    assert_step(W "/ck", 2);
    assert_none(W "/ck.smartty-*");
    sm_session_free(s);
}
END_TEST

/* an autosave is named by its process, so a killed one's temporary folder is never met by the same
 * name again: any save in the folder removes those of dead processes (and only those) */
START_TEST(test_dead_autosave_tmp_cleaned)
{
    fresh_dir();
    sm_session *s = cc_fresh();
    train(s, 1);
    cc_sh("mkdir -m 700 " W "/autosave-999999.smartty-tmp-999999-00000001 && printf 'smartty checkpoint folder' > "
          W "/autosave-999999.smartty-tmp-999999-00000001/.smartty-checkpoint && echo x > "
          W "/autosave-999999.smartty-tmp-999999-00000001/model.bin.tmp.999999");
    char live[256];
    snprintf(live, sizeof live, "mkdir -m 700 " W "/autosave-1.smartty-tmp-%ld-00000002", (long)getppid());
    cc_sh(live); /* a live process's: left */
    save_ok(s, W "/autosave-12345");
    assert_none(W "/autosave-999999.*");
    glob_t g;
    ck_assert_int_eq(glob(W "/autosave-1.smartty-tmp-*", 0, NULL, &g), 0);
    globfree(&g);
    sm_session_free(s);
}
END_TEST

/* a link planted under a file's temporary name (NAME.tmp.PID) is not written through */
START_TEST(test_tmp_file_link_not_followed)
{
    fresh_dir();
    cc_sh("echo secret > " W "/victim.txt");
    char link[256], buf[64];
    snprintf(link, sizeof link, W "/out.json.tmp.%ld", (long)getpid());
    ck_assert_int_eq(symlink("victim.txt", link), 0);
    sm_error e;
    ck_assert_msg(sm_write_file_atomic(W "/out.json", "{}\n", 3, &e) == SM_OK, "%s", e.msg);
    ck_assert_str_eq(cc_read(W "/victim.txt", buf, sizeof buf), "secret\n");
    ck_assert_str_eq(cc_read(W "/out.json", buf, sizeof buf), "{}\n");
    snprintf(link, sizeof link, W "/w.safetensors.tmp.%ld", (long)getpid());
    ck_assert_int_eq(symlink("victim.txt", link), 0);
    float x[2] = {1, 2};
    sm_st_entry ent = {.name = "x", .data = x, .ndim = 1, .shape = {2}};
    ck_assert_msg(sm_st_write(W "/w.safetensors", &ent, 1, SM_ST_F32, NULL, 0, &e) == SM_OK, "%s", e.msg);
    ck_assert_str_eq(cc_read(W "/victim.txt", buf, sizeof buf), "secret\n");
}
END_TEST

static Suite *safety_suite(void)
{
    Suite *su = suite_create("checkpoint safety");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stale_links_not_followed);
    tcase_add_test(tc, test_users_old_folder_kept);
    tcase_add_test(tc, test_symlinked_destination_refused);
    tcase_add_test(tc, test_foreign_file_in_checkpoint_kept);
    tcase_add_test(tc, test_lock_names_holder);
    tcase_add_test(tc, test_concurrent_savers);
    tcase_add_test(tc, test_fallback_killed_at_each_stage);
    tcase_add_test(tc, test_each_call_fails_in_turn);
    tcase_add_test(tc, test_nonfinite_state_not_saved);
    tcase_add_test(tc, test_dead_autosave_tmp_cleaned);
    tcase_add_test(tc, test_tmp_file_link_not_followed);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(safety_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    system("rm -rf " W);
    return failed ? 1 : 0;
}
