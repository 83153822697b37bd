/* check_journal.c: tests of the session journal: events keep their order, steps and arguments
 * through a text round trip; malformed lines are rejected with their line number. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/journal.h"
#include "testutil.h"

START_TEST(test_round_trip)
{
    sm_journal j, k;
    sm_error e;
    sm_journal_init(&j);
    const char *set[] = {"lambda_s", "3"};
    const char *load[] = {"/tmp/a dir/model", "--limit", "200"};
    const char *odd[] = {"quote\"and\\slash", "", "tab\there", "\xc3\xa9t\xc3\xa9"};
    ck_assert_int_eq(sm_journal_add(&j, 0, 1.5, "load_model", 3, load, &e), SM_OK);
    ck_assert_int_eq(sm_journal_add(&j, 120, 0, "set", 2, set, &e), SM_OK);
    ck_assert_int_eq(sm_journal_add(&j, 9000000000LL, 2.25, "snapshot", 4, odd, &e), SM_OK);
    ck_assert_int_eq(sm_journal_add(&j, 7, 3, "pause", 0, NULL, &e), SM_OK);
    ck_assert(j.ev[1].time > 1e9); /* 0 stamps the current time */
    char *text = sm_journal_to_text(&j);
    ck_assert_ptr_nonnull(text);
    /* one line per event */
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 4);
    sm_journal_init(&k);
    ck_assert_int_eq(sm_journal_parse(&k, text, strlen(text), "t", &e), SM_OK);
    ck_assert_uint_eq(k.n, j.n);
    for (size_t i = 0; i < j.n; i++) {
        ck_assert_int_eq(k.ev[i].step, j.ev[i].step);
        ck_assert_str_eq(k.ev[i].op, j.ev[i].op);
        ck_assert(k.ev[i].time == j.ev[i].time);
        ck_assert_int_eq(k.ev[i].argc, j.ev[i].argc);
        for (int a = 0; a < j.ev[i].argc; a++)
            ck_assert_str_eq(k.ev[i].argv[a], j.ev[i].argv[a]);
    }
    char line[256];
    sm_journal_event_format(&k.ev[1], line, sizeof line);
    ck_assert_str_eq(line, "step 120: set lambda_s 3");
    sm_journal_event_format(&k.ev[0], line, sizeof line);
    ck_assert_str_eq(line, "step 0: load_model \"/tmp/a dir/model\" --limit 200");
    free(text);
    sm_journal_free(&j);
    sm_journal_free(&k);
}
END_TEST

START_TEST(test_file_and_comments)
{
    const char *path = "check_journal.tmp.jsonl";
    sm_journal j;
    sm_error e;
    sm_journal_init(&j);
    const char *args[] = {"100"};
    ck_assert_int_eq(sm_journal_add(&j, 0, 1, "train", 1, args, &e), SM_OK);
    ck_assert_int_eq(sm_journal_save(&j, path, &e), SM_OK);
    sm_journal_free(&j);
    sm_journal_init(&j);
    ck_assert_int_eq(sm_journal_load(&j, path, &e), SM_OK);
    ck_assert_uint_eq(j.n, 1);
    ck_assert_str_eq(j.ev[0].argv[0], "100");
    unlink(path);
    sm_journal_clear(&j);
    const char *text = "# a comment\n\n  {\"step\": 3, \"op\": \"stop\"}  \r\n{\"op\":\"eval\",\"step\":4}";
    ck_assert_int_eq(sm_journal_parse(&j, text, strlen(text), "x", &e), SM_OK);
    ck_assert_uint_eq(j.n, 2);
    ck_assert_int_eq(j.ev[0].argc, 0);
    ck_assert_int_eq(j.ev[1].step, 4);
    sm_journal_free(&j);
}
END_TEST

static void expect_bad(const char *text, const char *where, const char *what)
{
    sm_journal j;
    sm_error e;
    sm_journal_init(&j);
    ck_assert_int_eq(sm_journal_parse(&j, text, strlen(text), "f.jsonl", &e), SM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, where) && strstr(e.msg, what), "message '%s' lacks '%s'/'%s'",
                  e.msg, where, what);
    ck_assert_uint_eq(j.n, 1); /* the good first line is kept */
    sm_journal_free(&j);
}

START_TEST(test_rejects)
{
    const char *ok = "{\"step\":0,\"op\":\"train\"}\n";
    char buf[256];
    struct { const char *line, *what; } bad[] = {
        {"{\"step\":-1,\"op\":\"x\"}", "step"},
        {"{\"step\":1.5,\"op\":\"x\"}", "step"},
        {"{\"op\":\"x\"}", "step"},
        {"{\"step\":1,\"op\":\"Set\"}", "op"},
        {"{\"step\":1}", "op"},
        {"{\"step\":1,\"op\":\"set\",\"args\":[1]}", "argument 1"},
        {"{\"step\":1,\"op\":\"set\",\"args\":\"a\"}", "args"},
        {"{\"step\":1,\"op\":\"set\",\"time\":\"now\"}", "time"},
        {"[1,2]", "object"},
        {"{\"step\":1,", "JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s\n", ok, bad[i].line);
        expect_bad(buf, "f.jsonl:2:", bad[i].what);
    }
    /* the column of a JSON error counts the line's leading blanks too */
    int col[2];
    for (int k = 0; k < 2; k++) {
        sm_journal jk;
        sm_error ek;
        sm_journal_init(&jk);
        snprintf(buf, sizeof buf, "%s%s{\"step\":0, \"op\":\"set\", bad}\n", ok, k ? " \t " : "");
        ck_assert_int_eq(sm_journal_parse(&jk, buf, strlen(buf), "f.jsonl", &ek), SM_ERR_FORMAT);
        ck_assert_msg(sscanf(ek.msg, "f.jsonl:2:%d:", &col[k]) == 1, "%s", ek.msg);
        sm_journal_free(&jk);
    }
    ck_assert_int_gt(col[0], 20);
    ck_assert_int_eq(col[1], col[0] + 3);
    sm_journal j;
    sm_error e;
    sm_journal_init(&j);
    ck_assert_int_eq(sm_journal_add(&j, 0, 0, "", 0, NULL, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_journal_add(&j, 0, 0, "has space", 0, NULL, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_journal_add(&j, 0, 0, "x", 1, NULL, &e), SM_ERR_INVALID);
    ck_assert_uint_eq(j.n, 0);
    sm_journal_free(&j);
}
END_TEST

START_TEST(test_copy)
{
    sm_journal j, k;
    sm_error e;
    sm_journal_init(&j);
    const char *a[] = {"x"};
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(sm_journal_add(&j, i, 1, "snapshot", 1, a, &e), SM_OK);
    ck_assert_int_eq(sm_journal_copy(&k, &j, &e), SM_OK);
    sm_journal_free(&j);
    ck_assert_uint_eq(k.n, 100);
    ck_assert_int_eq(k.ev[99].step, 99);
    ck_assert_str_eq(k.ev[42].argv[0], "x");
    sm_journal_free(&k);
}
END_TEST

static Suite *journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_file_and_comments);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_copy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(journal_suite());
}
