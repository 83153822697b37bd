/* check_data_tok.c: dev sets loaded from their files and tokenized by the real WordPiece tokenizer at
 * --max-len 128 give, row for row, the reference ids128/types128 of the tokenization fixtures; the
 * length percentiles in the report equal those of the fixtures' untruncated ids; batches carry them
 * with the vocabulary's [PAD]. Skips when the shared data is absent. */
#include <check.h>
#include <stdio.h>

#include "fixtures_util.h"
#include "smartty/batch.h"
#include "smartty/data.h"
#include "testutil.h"

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

START_TEST(test_tokenized_dev_sets_match_fixtures)
{
    const fixture_set *fs = &fixture_sets[_i];
    char b1[1024], b2[1024], b3[1024], rel[256];
    snprintf(rel, sizeof rel, "fixtures/tokenization/%s", fs->fixture);
    const char *fx = tu_shared(b1, sizeof b1, rel);
    snprintf(rel, sizeof rel, "datasets/%s", fs->data);
    const char *data = tu_shared(b2, sizeof b2, rel);
    const char *vocab = tu_shared(b3, sizeof b3, "vocab/bert-base-uncased/vocab.txt");
    if (!fx || !data || !vocab)
        return;
    sm_error e;
    sm_tokenizer *tok;
    int cased = strstr(fs->fixture, "cased") != NULL;
    ck_assert_msg(sm_tokenizer_load(vocab, cased ? 0 : 1, &tok, &e) == SM_OK, "%s", e.msg);
    sm_data_opts o;
    sm_data_opts_init(&o);
    char *argv[8], *keep[8];
    int argc = 0;
    while (argc < 7 && fs->argv[argc]) {
        argv[argc] = strdup(fs->argv[argc]);
        argc++;
    }
    int n0 = argc;
    memcpy(keep, argv, sizeof keep);
    ck_assert_int_eq(sm_data_opts_parse(&o, &argc, argv, 0, &e), SM_OK);
    for (int i = 0; i < n0; i++)
        free(keep[i]);
    sm_dataset *ds;
    ck_assert_msg(sm_dataset_load(data, &o, &ds, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(sm_dataset_tokenize(ds, tok, 128, &e) == SM_OK, "%s", e.msg);
    json_t **rows = NULL;
    long n = fixtures_read(fx, &rows);
    ck_assert_uint_eq(sm_dataset_size(ds), (size_t)n);
    int *full = malloc((size_t)n * sizeof *full);
    ck_assert_ptr_nonnull(full);
    size_t over = 0;
    for (long i = 0; i < n; i++) {
        json_t *ids = json_object_get(rows[i], "ids128"), *types = json_object_get(rows[i], "types128");
        const int32_t *gi, *gt;
        int32_t len = sm_dataset_tokens(ds, (size_t)i, &gi, &gt);
        ck_assert_msg((size_t)len == json_array_size(ids), "%s row %ld: %d ids, want %zu", fs->fixture, i, len,
                      json_array_size(ids));
        for (int32_t t = 0; t < len; t++) {
            ck_assert_msg(gi[t] == json_integer_value(json_array_get(ids, (size_t)t)), "%s row %ld id %d",
                          fs->fixture, i, t);
            ck_assert_int_eq(gt[t], json_integer_value(json_array_get(types, (size_t)t)));
        }
        full[i] = (int)json_array_size(json_object_get(rows[i], "ids"));
        over += full[i] > 128;
    }
    qsort(full, (size_t)n, sizeof *full, cmp_int);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_int_eq(r->len_max, full[n - 1]);
    ck_assert_int_eq(r->len_p50, full[(n + 1) / 2 - 1]);
    ck_assert_uint_eq(r->truncated, over);
    /* an evaluation batch of the first rows, padded with the vocabulary's [PAD] */
    sm_batcher_opts bo = sm_batcher_default_opts();
    bo.shuffle = 0;
    bo.batch_size = 16;
    sm_batcher *b;
    int32_t pad = sm_tokenizer_pad_id(tok);
    ck_assert_int_eq(sm_batcher_new(ds, &bo, pad, &b, &e), SM_OK);
    sm_batch batch = {0};
    ck_assert_int_eq(sm_batcher_next(b, &batch, NULL, &e), SM_OK);
    for (int i = 0; i < batch.B; i++) {
        json_t *ids = json_object_get(rows[i], "ids128");
        for (int t = 0; t < batch.T; t++) {
            int32_t want = (size_t)t < json_array_size(ids) ? (int32_t)json_integer_value(json_array_get(ids, (size_t)t))
                                                             : pad;
            ck_assert_int_eq(batch.ids[i * batch.T + t], want);
        }
    }
    sm_batch_free(&batch);
    sm_batcher_free(b);
    free(full);
    fixtures_free(rows, n);
    sm_dataset_free(ds);
    sm_data_opts_free(&o);
    sm_tokenizer_free(tok);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_tok");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("fixtures");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_tokenized_dev_sets_match_fixtures, 0, N_FIXTURE_SETS);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
