/* check_data_glue.c: every file under the shared datasets loads with the row count and label set
 * documented in its PROVENANCE.md (and, where documented, the number of rows with a literal ",
 * which proves no CSV quote processing happened). Skips, with a message, when the data is absent. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/data.h"
#include "testutil.h"

typedef struct glue_case {
    const char *rel;        /* path under SMARTTY_SHARED */
    const char *argv[8];    /* data options */
    size_t rows;
    int n_labels;           /* 0: regression */
    const char *labels[7];  /* expected names in id order (sorted, integers numerically) */
    size_t counts[7];
    long quoted_rows;       /* rows with a " in a text, -1 when not documented */
} glue_case;

static const glue_case cases[] = {
    {"datasets/sst2/train.tsv", {0}, 67349, 2, {"0", "1"}, {29780, 37569}, 0},
    {"datasets/sst2/dev.tsv", {0}, 872, 2, {"0", "1"}, {428, 444}, 0},
    {"datasets/trec/train.tsv", {"--label", "coarse_label"}, 5452, 6, {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"},
     {86, 1162, 1250, 1223, 835, 896}, -1},
    {"datasets/trec/test.tsv", {"--label", "coarse_label"}, 500, 6, {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"},
     {9, 138, 94, 65, 81, 113}, -1},
    {"datasets/rte/train.tsv", {0}, 2490, 2, {"entailment", "not_entailment"}, {1249, 1241}, 454},
    {"datasets/rte/dev.tsv", {0}, 277, 2, {"entailment", "not_entailment"}, {146, 131}, 48},
    {"datasets/mrpc/train.tsv", {"--label", "1", "--text", "#1 String", "--text-pair", "#2 String"}, 3668, 2,
     {"0", "1"}, {1194, 2474}, 769},
    {"datasets/mrpc/dev.tsv", {"--label", "1", "--text", "4", "--text-pair", "5"}, 408, 2, {"0", "1"}, {129, 279},
     85},
    {"datasets/stsb/train.tsv", {"--regression", "--label", "10", "--text", "8", "--text-pair", "9"}, 5749, 0, {0},
     {0}, 252},
    {"datasets/stsb/dev.tsv", {"--regression"}, 1500, 0, {0}, {0}, 110},
    {"datasets/cola/train.tsv", {"--no-header", "--text", "4", "--label", "2"}, 8551, 2, {"0", "1"}, {2528, 6023},
     2},
    {"datasets/cola/dev.tsv", {"--no-header", "--text", "4", "--label", "2"}, 1043, 2, {"0", "1"}, {322, 721}, -1},
    {"datasets/wic/train.tsv", {0}, 5428, 2, {"F", "T"}, {2714, 2714}, 52},
    {"datasets/wic/dev.tsv", {0}, 638, 2, {"F", "T"}, {319, 319}, -1},
    {"datasets/wic/test.tsv", {0}, 1400, 2, {"F", "T"}, {700, 700}, -1},
    {"datasets/ag_news/train_subset.tsv", {0}, 10001, 4, {"Business", "Sci/Tech", "Sports", "World"},
     {2496, 2538, 2458, 2509}, -1},
    {"datasets/ag_news/test.tsv", {0}, 7600, 4, {"Business", "Sci/Tech", "Sports", "World"},
     {1900, 1900, 1900, 1900}, -1},
    {"datasets/ag_news/original/test.csv", {"--no-header", "--label", "1", "--text", "3", "--text-pair", "2"},
     7600, 4, {"1", "2", "3", "4"}, {1900, 1900, 1900, 1900}, -1},
    {"datasets/imdb/train_subset.tsv", {0}, 10000, 2, {"0", "1"}, {5000, 5000}, -1},
    {"datasets/imdb/test_subset.tsv", {0}, 10000, 2, {"0", "1"}, {5000, 5000}, -1},
};

START_TEST(test_glue_file)
{
    const glue_case *c = &cases[_i];
    char buf[1024];
    const char *path = tu_shared(buf, sizeof buf, c->rel);
    if (!path)
        return;
    sm_data_opts o;
    sm_data_opts_init(&o);
    char *argv[8];
    int argc = 0;
    while (argc < 8 && c->argv[argc]) {
        argv[argc] = strdup(c->argv[argc]);
        argc++;
    }
    int n0 = argc;
    char *keep[8];
    memcpy(keep, argv, sizeof keep);
    sm_error e;
    ck_assert_int_eq(sm_data_opts_parse(&o, &argc, argv, 0, &e), SM_OK);
    ck_assert_int_eq(argc, 0);
    for (int i = 0; i < n0; i++)
        free(keep[i]);
    sm_dataset *ds;
    ck_assert_msg(sm_dataset_load(path, &o, &ds, &e) == SM_OK, "%s", e.msg);
    ck_assert_uint_eq(sm_dataset_size(ds), c->rows);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_uint_eq(r->skipped, 0);
    if (c->n_labels) {
        ck_assert_int_eq(sm_dataset_num_labels(ds), c->n_labels);
        for (int k = 0; k < c->n_labels; k++) {
            ck_assert_str_eq(sm_dataset_label_name(ds, k), c->labels[k]);
            ck_assert_uint_eq(sm_dataset_label_count(ds, k), c->counts[k]);
        }
    } else {
        ck_assert_int_eq(sm_dataset_is_regression(ds), 1);
        ck_assert(r->target_min == 0.0 && r->target_max == 5.0);
    }
    if (c->quoted_rows >= 0) {
        long q = 0;
        for (size_t i = 0; i < sm_dataset_size(ds); i++) {
            const char *b = sm_dataset_text_pair(ds, i);
            q += strchr(sm_dataset_text(ds, i), '"') || (b && strchr(b, '"'));
        }
        ck_assert_int_eq(q, c->quoted_rows);
    }
    int csv = strstr(c->rel, ".csv") != NULL;
    ck_assert_int_eq(r->quote, csv ? SM_QUOTE_CSV : SM_QUOTE_NONE);
    ck_assert_int_eq(r->bom, strstr(c->rel, "mrpc") != NULL);
    if (strstr(c->rel, "rte/train")) {
        int starts_with_quote = 0;
        for (size_t i = 0; i < sm_dataset_size(ds); i++)
            starts_with_quote += sm_dataset_text(ds, i)[0] == '"';
        ck_assert_int_gt(starts_with_quote, 0);
        ck_assert_int_eq(r->pair_col, 3);
    }
    if (csv) {
        /* the first row of the official file, unquoted; \n escapes stay as written */
        ck_assert_str_eq(sm_dataset_text_pair(ds, 0), "Fears for T N pension after talks");
        ck_assert_str_eq(sm_dataset_label_name(ds, sm_dataset_label(ds, 0)), "3");
    }
    sm_dataset_free(ds);
    sm_data_opts_free(&o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_glue");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("shared");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_glue_file, 0, (int)(sizeof cases / sizeof cases[0]));
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
