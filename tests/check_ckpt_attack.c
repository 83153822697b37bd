/* check_ckpt_attack.c: root saves into a sticky world-writable folder (as /tmp) where another user
 * (nobody) planted links under every name a save uses, a folder of their own with a smartty marker,
 * their own destination folder and a linked lock file: the victim's files all survive. Needs root
 * and a user "nobody"; skips (77) with a message otherwise. */
#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_common.h"

static char root[64];
static uid_t nobody_uid;
static gid_t nobody_gid;

static void as_nobody(const char *cmd)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(nobody_gid) != 0 || setuid(nobody_uid) != 0)
            _exit(1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as nobody: %s: status %d", cmd, status);
}

START_TEST(test_planted_by_another_user)
{
    char cmd[2048], p[256], buf[64];
    snprintf(cmd, sizeof cmd, "cd %s && mkdir victim && echo secret > victim/secret.txt", root);
    cc_sh(cmd);
    sm_session *s = cc_fresh();
    sm_session_reply r;
    ck_assert_int_eq(sm_session_train(s, 2, &r), SM_OK);
    snprintf(p, sizeof p, "%s/ck", root);
    ck_assert_msg(sm_session_named(s, SM_CMD_SAVE, p, &r) == SM_OK, "%s", r.err.msg);
    snprintf(cmd, sizeof cmd,
             "cd %s && ln -s victim ck.smartty-tmp-999999-0 && ln -s victim ck.tmp-999999 && "
             "ln -s victim ck.old && ln -s victim ck.smartty-old && "
             "mkdir ck.smartty-tmp-999998-1 && printf 'smartty checkpoint folder' > "
             "ck.smartty-tmp-999998-1/.smartty-checkpoint && echo theirs > ck.smartty-tmp-999998-1/f && "
             "chmod 700 ck.smartty-tmp-999998-1 && mkdir ck2 && echo theirs > ck2/f && "
             "ln -s victim/secret.txt .ck3.smartty-lock", root);
    as_nobody(cmd);
    ck_assert_int_eq(sm_session_train(s, 1, &r), SM_OK);
    ck_assert_msg(sm_session_named(s, SM_CMD_SAVE, p, &r) == SM_OK, "%s", r.err.msg);
    snprintf(p, sizeof p, "%s/ck2", root);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_SAVE, p, &r), SM_OK);
    ck_assert_msg(strstr(r.err.msg, "another user") || strstr(r.err.msg, "not a smartty checkpoint"), "%s",
                  r.err.msg);
    snprintf(p, sizeof p, "%s/ck3", root);
    ck_assert_int_ne(sm_session_named(s, SM_CMD_SAVE, p, &r), SM_OK);
    ck_assert_msg(strstr(r.err.msg, "lock"), "%s", r.err.msg);
    snprintf(p, sizeof p, "%s/victim/secret.txt", root);
    ck_assert_str_eq(cc_read(p, buf, sizeof buf), "secret\n");
    snprintf(p, sizeof p, "%s/ck.smartty-tmp-999998-1/f", root);
    ck_assert_str_eq(cc_read(p, buf, sizeof buf), "theirs\n");
    snprintf(p, sizeof p, "%s/ck2/f", root);
    ck_assert_str_eq(cc_read(p, buf, sizeof buf), "theirs\n");
    snprintf(p, sizeof p, "%s/ck", root);
    sm_error e;
    ck_assert_int_eq(cc_load_step(p, &e), 3);
    sm_session_free(s);
}
END_TEST

int main(void)
{
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || !pw) {
        fprintf(stderr, "SKIP: the attacker test needs root and a user 'nobody' (uid %ld here)\n",
                (long)geteuid());
        return 77;
    }
    nobody_uid = pw->pw_uid;
    nobody_gid = pw->pw_gid;
    snprintf(root, sizeof root, "/tmp/smartty-attack-XXXXXX");
    if (!mkdtemp(root) || chmod(root, 01777) != 0) {
        fprintf(stderr, "SKIP: cannot make a sticky folder under /tmp: %s\n", strerror(errno));
        return 77;
    }
    Suite *su = suite_create("checkpoint attack");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_planted_by_another_user);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    (void)!system(cmd);
    return failed ? 1 : 0;
}
