/* check_predict.c: the real `smartty predict` program on the fixture checkpoints reproduces the logits
 * transformers computed (reference.json) within 1e-4. The input files are built here from the
 * reference's own texts, in the order of its batch. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
    tu_mkdtemp(tmpdir, sizeof tmpdir, "check_predict");
}

static void teardown(void)
{
    ck_assert_int_eq(tu_rmtree(tmpdir), 0);
}

/* A CSV field: quoted, "" for a quote. U+0000 is left out: a C string cannot hold it, and BERT's
 * tokenizer deletes it anyway (_clean_text), so the tokens are the same. */
static void put_field(FILE *f, const json_t *str)
{
    const char *s = json_string_value(str);
    size_t n = json_string_length(str);
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0')
            continue;
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* Run predict on a CSV of the given tokenization entries; append the printed numbers to out. */
static size_t run_predict(const char *model, json_t *tok, const int *idx, int n, int pair, float *out, size_t cap)
{
    char csv[600], cmd[2048];
    snprintf(csv, sizeof csv, "%s/%s.csv", tmpdir, pair ? "pair" : "single");
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs(pair ? "premise,hypothesis\n" : "sentence\n", f);
    for (int i = 0; i < n; i++) {
        json_t *t = json_array_get(tok, (size_t)idx[i]);
        put_field(f, json_object_get(t, "text_a"));
        if (pair) {
            fputc(',', f);
            put_field(f, json_object_get(t, "text_b"));
        }
        fputc('\n', f);
    }
    fclose(f);
    const char *bin = getenv("SMARTTY_BIN");
    ck_assert_msg(bin && *bin, "SMARTTY_BIN is not set");
    snprintf(cmd, sizeof cmd, "'%s' predict --model '%s' --data '%s' --batch 3 --output logits %s", bin, model, csv,
             pair ? "--text premise --text-pair hypothesis" : "--text sentence");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t k = 0;
    char line[1024];
    int lines = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p)); /* the header naming the columns */
    while (fgets(line, sizeof line, p)) {
        lines++;
        char *s = line, *end;
        for (;;) {
            float v = strtof(s, &end);
            if (end == s)
                break;
            ck_assert_uint_lt(k, cap);
            out[k++] = v;
            s = end;
            if (*s == '\t')
                s++;
        }
        ck_assert_msg(*s == '\n', "unexpected output: %s", line);
    }
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_int_eq(lines, n);
    return k;
}

static void check_fixture(const char *rel)
{
    char buf[512], ref[600];
    const char *dir = tu_shared(buf, sizeof buf, rel);
    if (!dir)
        return;
    snprintf(ref, sizeof ref, "%s/reference.json", dir);
    json_error_t jerr;
    json_t *r = json_load_file(ref, JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(r != NULL, "%s: %s", ref, jerr.text);
    json_t *tok = json_object_get(r, "tokenization"), *batch_ids = json_object_get(json_object_get(r, "batch"), "input_ids");
    json_t *logits = json_object_get(r, "logits");
    size_t B = json_array_size(batch_ids);
    ck_assert_uint_eq(B, json_array_size(logits));
    /* the batch rows are tokenization entries, in order: find each by its ids (the empty text is
     * the one left out); single texts come first, then the pairs */
    int idx[64] = {0}, single[64] = {0}, pairs[64] = {0}, ns = 0, np = 0;
    ck_assert_uint_le(B, 64);
    for (size_t b = 0; b < B; b++) {
        json_t *row = json_array_get(batch_ids, b);
        idx[b] = -1;
        for (size_t t = 0; t < json_array_size(tok) && idx[b] < 0; t++) {
            json_t *ids = json_object_get(json_array_get(tok, t), "input_ids");
            size_t n = json_array_size(ids), q;
            for (q = 0; q < n; q++)
                if (json_integer_value(json_array_get(ids, q)) != json_integer_value(json_array_get(row, q)))
                    break;
            if (q == n && (n == json_array_size(row) || json_integer_value(json_array_get(row, n)) == 0))
                idx[b] = (int)t;
        }
        ck_assert_msg(idx[b] >= 0, "batch row %zu matches no tokenization entry", b);
        if (json_is_string(json_object_get(json_array_get(tok, (size_t)idx[b]), "text_b"))) {
            pairs[np++] = idx[b];
        } else {
            ck_assert_msg(np == 0, "a single text after a pair in the batch");
            single[ns++] = idx[b];
        }
    }
    size_t C = json_array_size(json_array_get(logits, 0));
    float got[1024];
    size_t k = run_predict(dir, tok, single, ns, 0, got, 1024);
    k += run_predict(dir, tok, pairs, np, 1, got + k, 1024 - k);
    ck_assert_uint_eq(k, B * C);
    for (size_t b = 0; b < B; b++)
        for (size_t c = 0; c < C; c++) {
            double want = json_number_value(json_array_get(json_array_get(logits, b), c));
            ck_assert_msg(tu_close(got[b * C + c], want, 1e-4), "%s: row %zu logit %zu: %.7g, transformers %.7g", rel,
                          b, c, (double)got[b * C + c], want);
        }
    json_decref(r);
}

START_TEST(test_predict_cls3)
{
    check_fixture("fixtures/hf-bert/bert-tiny-random-cls3");
}
END_TEST

START_TEST(test_predict_reg)
{
    check_fixture("fixtures/hf-bert/bert-tiny-random-reg");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("predict");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("fixtures");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_predict_cls3);
        tcase_add_test(tc, test_predict_reg);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
