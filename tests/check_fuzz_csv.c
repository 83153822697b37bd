/* check_fuzz_csv.c: replays the loader's fuzz inputs through the harness itself (built here without
 * libFuzzer): the seed corpus tests/fuzz/corpus/csv and every input a fuzzing run ever crashed on,
 * kept in tests/fuzz/regressions/csv. Under --enable-sanitizers this is the regression test. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_csv.c"
#include "testutil.h"

/* Replay every file in srcdir/rel; returns how many ran. */
static int replay_dir(const char *rel)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", tu_srcdir(), rel);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s is missing", dir);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || strcmp(ent->d_name, "README") == 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        char *data;
        size_t len;
        sm_error e;
        ck_assert_msg(sm_read_file(path, &data, &len, 0, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(LLVMFuzzerTestOneInput((const uint8_t *)data, len), 0);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_seed_corpus)
{
    ck_assert_int_ge(replay_dir("tests/fuzz/corpus/csv"), 10);
}
END_TEST

START_TEST(test_fuzz_regressions)
{
    replay_dir("tests/fuzz/regressions/csv");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_csv");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_seed_corpus);
    tcase_add_test(tc, test_fuzz_regressions);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
