/* check_data_fixtures.c: the loader yields, row for row, exactly the texts the reference tokenizer
 * fixtures were made from (../shared/fixtures/tokenization: a and b of every dev row), so that the
 * tokenizer's exactness carries over to data loaded from the files. Skips when the data is absent. */
#include <check.h>
#include <stdio.h>

#include "fixtures_util.h"
#include "smartty/data.h"
#include "testutil.h"

/* Load dataset `k` of fixture_sets; NULL (skip) when the shared data is absent. */
static sm_dataset *load_set(int k)
{
    char buf[1024], rel[256];
    snprintf(rel, sizeof rel, "datasets/%s", fixture_sets[k].data);
    const char *path = tu_shared(buf, sizeof buf, rel);
    if (!path)
        return NULL;
    sm_data_opts o;
    sm_data_opts_init(&o);
    char *argv[8];
    int argc = 0;
    while (argc < 7 && fixture_sets[k].argv[argc]) {
        argv[argc] = strdup(fixture_sets[k].argv[argc]);
        argc++;
    }
    char *keep[8];
    int n0 = argc;
    memcpy(keep, argv, sizeof keep);
    sm_error e;
    ck_assert_int_eq(sm_data_opts_parse(&o, &argc, argv, 0, &e), SM_OK);
    for (int i = 0; i < n0; i++)
        free(keep[i]);
    sm_dataset *ds;
    ck_assert_msg(sm_dataset_load(path, &o, &ds, &e) == SM_OK, "%s", e.msg);
    sm_data_opts_free(&o);
    return ds;
}

START_TEST(test_texts_match_fixtures)
{
    char buf[1024], rel[256];
    snprintf(rel, sizeof rel, "fixtures/tokenization/%s", fixture_sets[_i].fixture);
    const char *fx = tu_shared(buf, sizeof buf, rel);
    if (!fx)
        return;
    sm_dataset *ds = load_set(_i);
    if (!ds)
        return;
    json_t **rows = NULL;
    long n = fixtures_read(fx, &rows);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(sm_dataset_size(ds), (size_t)n);
    for (long i = 0; i < n; i++) {
        const char *a = json_string_value(json_object_get(rows[i], "a"));
        json_t *jb = json_object_get(rows[i], "b");
        ck_assert_ptr_nonnull(a);
        ck_assert_msg(strcmp(sm_dataset_text(ds, (size_t)i), a) == 0, "%s row %ld: '%s' vs '%s'",
                      fixture_sets[_i].fixture, i, sm_dataset_text(ds, (size_t)i), a);
        if (json_is_null(jb) || !jb)
            ck_assert_ptr_null(sm_dataset_text_pair(ds, (size_t)i));
        else
            ck_assert_str_eq(sm_dataset_text_pair(ds, (size_t)i), json_string_value(jb));
    }
    fixtures_free(rows, n);
    sm_dataset_free(ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_fixtures");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("texts");
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_texts_match_fixtures, 0, N_FIXTURE_SETS);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
