/* check_minilm.c: a real pre-trained model, all-MiniLM-L6-v2 as bench/get-models.sh unpacks it (tensors
 * without "bert.", no classifier), against transformers (tests/ref/minilm_logits.json, written by
 * tests/ref/minilm_logits.py): the loader's report, the tokenizer's ids, the last layer's first token,
 * the pooler output and the logits with the saved classifier head, within 1e-4. Skips (77) when the
 * model is not in the cache (SMARTTY_MINILM names another folder); it downloads nothing. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/hf.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"
#include "testutil.h"

#define TOL 1e-4

static char model_dir[4096], ref_path[4096];

static void compare(const char *what, int row, const float *got, json_t *want, size_t n)
{
    ck_assert_uint_eq(json_array_size(want), n);
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)json_number_value(json_array_get(want, i));
    long i = tu_first_mismatch(got, w, n, TOL);
    ck_assert_msg(i < 0, "%s, example %d: element %ld: smartty %.8g, transformers %.8g", what, row, i,
                  i < 0 ? 0.0 : got[i], i < 0 ? 0.0 : w[i]);
    free(w);
}

START_TEST(test_minilm_against_transformers)
{
    sm_error e;
    json_error_t je;
    snprintf(ref_path, sizeof ref_path, "%s/tests/ref/minilm_logits.json", tu_srcdir());
    json_t *ref = json_load_file(ref_path, 0, &je);
    ck_assert_msg(ref != NULL, "%s:%d: %s", ref_path, je.line, je.text);

    /* the folder as the package ships it: a BertModel without "bert.", its pooler, no classifier */
    sm_hf_load_opts o;
    sm_hf_load_opts_default(&o);
    o.num_labels = 2;
    sm_bert *m = NULL;
    sm_bert_config cfg;
    sm_hf_info info;
    ck_assert_msg(sm_hf_load(model_dir, &o, &m, &cfg, &info, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(cfg.hidden_size, 384);
    ck_assert_int_eq(cfg.num_layers, 6);
    ck_assert_int_eq(info.fresh_classifier, 1);
    ck_assert_int_eq(info.n_fresh, 2);     /* classifier.weight, classifier.bias; the pooler is loaded */
    ck_assert_int_eq(info.n_unused, 1);    /* embeddings.position_ids */
    ck_assert_int_eq(info.masked_lm, 0);

    sm_tokenizer *tok = NULL;
    ck_assert_msg(sm_tokenizer_load(model_dir, -1, &tok, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_lower_case(tok), 1);

    /* the saved head */
    float *w = sm_bert_weights(m);
    int ci = sm_bert_tensor_find(m, "classifier.weight"), bi = sm_bert_tensor_find(m, "classifier.bias");
    ck_assert(ci >= 0 && bi >= 0);
    const sm_tensor_info *cw = sm_bert_tensor(m, ci), *cb = sm_bert_tensor(m, bi);
    json_t *jw = json_object_get(ref, "classifier.weight"), *jb = json_object_get(ref, "classifier.bias");
    ck_assert_uint_eq(json_array_size(jw), 2);
    for (size_t r = 0; r < 2; r++)
        for (size_t c = 0; c < 384; c++)
            w[cw->offset + r * 384 + c] = (float)json_number_value(json_array_get(json_array_get(jw, r), c));
    for (size_t r = 0; r < 2; r++)
        w[cb->offset + r] = (float)json_number_value(json_array_get(jb, r));

    /* the tokenizer gives transformers' ids; the batch is padded as the reference's */
    json_t *ex = json_object_get(ref, "examples"), *jids = json_object_get(ref, "input_ids");
    json_t *jtypes = json_object_get(ref, "token_type_ids");
    const int B = (int)json_array_size(ex);
    ck_assert_int_ge(B, 3);
    int T = 0;
    for (int k = 0; k < B; k++)
        if ((int)json_array_size(json_array_get(jids, (size_t)k)) > T)
            T = (int)json_array_size(json_array_get(jids, (size_t)k));
    sm_batch b;
    memset(&b, 0, sizeof b);
    b.B = B;
    b.T = T;
    b.ids = calloc((size_t)B * T, sizeof *b.ids);
    b.types = calloc((size_t)B * T, sizeof *b.types);
    b.mask = calloc((size_t)B * T, sizeof *b.mask);
    b.lengths = calloc((size_t)B, sizeof *b.lengths);
    for (int k = 0; k < B; k++) {
        json_t *pair = json_array_get(ex, (size_t)k);
        const char *a = json_string_value(json_array_get(pair, 0));
        const char *p = json_string_value(json_array_get(pair, 1)); /* NULL for a single sentence */
        sm_ids ids = {0}, types = {0};
        ck_assert_msg(sm_tokenizer_encode_pair(tok, a, p, 128, &ids, &types, &e) == SM_OK, "%s", e.msg);
        json_t *want = json_array_get(jids, (size_t)k), *want_t = json_array_get(jtypes, (size_t)k);
        ck_assert_msg(ids.n == json_array_size(want), "example %d: %zu ids, transformers %zu", k, ids.n,
                      json_array_size(want));
        for (size_t i = 0; i < ids.n; i++) {
            ck_assert_msg(ids.v[i] == json_integer_value(json_array_get(want, i)),
                          "example %d: id %zu is %d (%s), transformers %lld", k, i, ids.v[i],
                          sm_tokenizer_token(tok, ids.v[i]), json_integer_value(json_array_get(want, i)));
            ck_assert_int_eq(types.v[i], json_integer_value(json_array_get(want_t, i)));
            b.ids[(size_t)k * T + i] = ids.v[i];
            b.types[(size_t)k * T + i] = types.v[i];
            b.mask[(size_t)k * T + i] = 1.0f;
        }
        for (size_t i = ids.n; i < (size_t)T; i++)
            b.ids[(size_t)k * T + i] = sm_tokenizer_pad_id(tok);
        b.lengths[k] = (int32_t)ids.n;
        sm_ids_free(&ids);
        sm_ids_free(&types);
    }

    sm_bert_acts *acts = NULL;
    ck_assert_msg(sm_bert_acts_create(&acts, m, B, T, 0, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(sm_bert_forward(m, w, acts, &b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
    const float *hidden = sm_bert_acts_hidden(acts), *pooled = sm_bert_acts_pooled(acts);
    const float *logits = sm_bert_acts_logits(acts);
    for (int k = 0; k < B; k++) {
        compare("last layer, first token", k, hidden + (size_t)k * T * 384,
                json_array_get(json_object_get(ref, "first_token_last_layer"), (size_t)k), 384);
        compare("pooler output", k, pooled + (size_t)k * 384, json_array_get(json_object_get(ref, "pooled"), (size_t)k),
                384);
        compare("logits", k, logits + (size_t)k * 2, json_array_get(json_object_get(ref, "logits"), (size_t)k), 2);
    }

    sm_bert_acts_free(acts);
    free(b.ids);
    free(b.types);
    free(b.mask);
    free(b.lengths);
    sm_tokenizer_free(tok);
    sm_bert_free(m);
    sm_config_free(&cfg);
    json_decref(ref);
}
END_TEST

int main(void)
{
    const char *dir = getenv("SMARTTY_MINILM"), *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (dir && *dir)
        snprintf(model_dir, sizeof model_dir, "%s", dir);
    else if (cache && *cache)
        snprintf(model_dir, sizeof model_dir, "%s/smartty/models/all-MiniLM-L6-v2", cache);
    else
        snprintf(model_dir, sizeof model_dir, "%s/.cache/smartty/models/all-MiniLM-L6-v2", home ? home : "");
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", model_dir);
    struct stat st;
    if (stat(cfg, &st) != 0) {
        fprintf(stderr, "SKIP: all-MiniLM-L6-v2 is not downloaded (%s is absent): run sh bench/get-models.sh, "
                "or set SMARTTY_MINILM to its folder\n", cfg);
        return 77;
    }

    Suite *s = suite_create("minilm");
    TCase *tc = tcase_create("against transformers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_minilm_against_transformers);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
