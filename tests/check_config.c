/* check_config.c: config.json parsing (required fields, BertConfig defaults, labels and problem type,
 * every refusal with its status and message; the other families' field names and refusals) and
 * writing (what we write reads back the same, for every family). */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/model_config.h"
#define TU_SPLIT /* tests/check_config_shared runs the tests that need the shared data */
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
    tu_mkdtemp(tmpdir, sizeof tmpdir, "check_cfg");
}

static void teardown(void)
{
    ck_assert_int_eq(tu_rmtree(tmpdir), 0);
}

static const char *write_cfg(const char *name, const char *text)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    FILE *f = fopen(buf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return buf;
}

#define REQ "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, " \
            "\"intermediate_size\": 64, \"vocab_size\": 100"

static void expect_fail(const char *text, sm_status st, const char *const *frags)
{
    const char *p = write_cfg("config.json", text);
    sm_bert_config c;
    sm_error e;
    sm_error_clear(&e);
    sm_status got = sm_config_load(p, &c, &e);
    ck_assert_msg(got == st, "%s: status %s, expected %s (%s)", text, sm_status_to_string(got),
                  sm_status_to_string(st), e.msg);
    ck_assert_msg(strstr(e.msg, p) != NULL, "message does not name the file: %s", e.msg);
    for (; *frags; frags++)
        ck_assert_msg(strstr(e.msg, *frags) != NULL, "message lacks \"%s\": %s", *frags, e.msg);
}

#define EXPECT_FAIL(text, st, ...)                     \
    do {                                               \
        const char *const fr_[] = {__VA_ARGS__, NULL}; \
        expect_fail((text), (st), fr_);                \
    } while (0)

START_TEST(test_defaults)
{
    const char *p = write_cfg("config.json", "{" REQ "}");
    sm_bert_config c;
    sm_error e;
    ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.hidden_size, 32);
    ck_assert_int_eq(c.num_layers, 2);
    ck_assert_int_eq(c.num_heads, 4);
    ck_assert_int_eq(c.intermediate_size, 64);
    ck_assert_int_eq(c.vocab_size, 100);
    /* transformers' BertConfig defaults */
    ck_assert_int_eq(c.max_position, 512);
    ck_assert_int_eq(c.type_vocab_size, 2);
    ck_assert(c.layer_norm_eps == 1e-12f);
    ck_assert(c.hidden_dropout == 0.1f && c.attn_dropout == 0.1f && c.classifier_dropout == 0.1f);
    ck_assert(c.initializer_range == 0.02f);
    ck_assert_int_eq(c.pad_token_id, 0);
    ck_assert_str_eq(c.hidden_act, "gelu");
    ck_assert_int_eq(c.num_labels, 2);
    ck_assert_int_eq(c.problem, SM_PROBLEM_SINGLE_LABEL);
    char b[32];
    ck_assert_str_eq(sm_config_label(&c, 1, b, sizeof b), "LABEL_1");
    sm_config_free(&c);
}
END_TEST

START_TEST(test_labels_and_problem)
{
    sm_bert_config c;
    sm_error e;
    const char *p = write_cfg("a.json", "{" REQ ", \"id2label\": {\"1\": \"pos\", \"0\": \"neg\", \"2\": \"mid\"},"
                                        " \"classifier_dropout\": 0.3, \"hidden_dropout_prob\": 0.2}");
    ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.num_labels, 3);
    ck_assert_str_eq(c.id2label[0], "neg");
    ck_assert_str_eq(c.id2label[2], "mid");
    ck_assert(c.classifier_dropout == 0.3f && c.hidden_dropout == 0.2f);
    ck_assert_int_eq(c.problem, SM_PROBLEM_SINGLE_LABEL);
    sm_config_free(&c);

    p = write_cfg("b.json", "{" REQ ", \"num_labels\": 1, \"classifier_dropout\": null, \"hidden_dropout_prob\": 0.2}");
    ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.num_labels, 1);
    ck_assert_int_eq(c.problem, SM_PROBLEM_REGRESSION);
    ck_assert(c.classifier_dropout == 0.2f);
    sm_config_free(&c);

    p = write_cfg("c.json", "{" REQ ", \"id2label\": {\"0\": \"score\"}, \"problem_type\": \"regression\"}");
    ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.problem, SM_PROBLEM_REGRESSION);
    sm_config_free(&c);
}
END_TEST

START_TEST(test_refusals)
{
    static const char *const req[] = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                      "intermediate_size", "vocab_size"};
    /* each required field missing in turn */
    for (size_t i = 0; i < 5; i++) {
        char text[512] = "{";
        for (size_t k = 0; k < 5; k++)
            if (k != i)
                snprintf(text + strlen(text), sizeof text - strlen(text), "%s\"%s\": 4", strlen(text) > 1 ? ", " : "",
                         req[k]);
        strcat(text, "}");
        EXPECT_FAIL(text, SM_ERR_FORMAT, "required field", req[i], "missing");
    }
    EXPECT_FAIL("{\"hidden_size\": \"32\", \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                "\"intermediate_size\": 64, \"vocab_size\": 100}", SM_ERR_FORMAT,
                "\"hidden_size\" must be an integer, but it is a string");
    EXPECT_FAIL("{" REQ ", \"num_hidden_layers\": 2.5}", SM_ERR_FORMAT, "\"num_hidden_layers\"", "a real number");
    EXPECT_FAIL("{" REQ ", \"layer_norm_eps\": \"tiny\"}", SM_ERR_FORMAT, "\"layer_norm_eps\" must be a number");
    EXPECT_FAIL("{" REQ ", \"hidden_dropout_prob\": true}", SM_ERR_FORMAT, "\"hidden_dropout_prob\"", "a boolean");
    EXPECT_FAIL("{" REQ ", \"hidden_dropout_prob\": 1.5}", SM_ERR_RANGE, "\"hidden_dropout_prob\" is 1.5");
    EXPECT_FAIL("{" REQ ", \"max_position_embeddings\": 0}", SM_ERR_RANGE, "\"max_position_embeddings\" is 0");
    EXPECT_FAIL("{" REQ ", \"hidden_act\": \"gelu_new\"}", SM_ERR_UNSUPPORTED, "hidden_act \"gelu_new\"",
                "exact erf GELU");
    EXPECT_FAIL("{" REQ ", \"hidden_act\": \"relu\"}", SM_ERR_UNSUPPORTED, "\"relu\" is not supported");
    EXPECT_FAIL("{" REQ ", \"hidden_act\": 5}", SM_ERR_FORMAT, "\"hidden_act\" must be a string");
    EXPECT_FAIL("{" REQ ", \"id2label\": [\"a\", \"b\"]}", SM_ERR_FORMAT, "\"id2label\" must be an object",
                "an array");
    EXPECT_FAIL("{" REQ ", \"id2label\": {\"0\": \"a\", \"5\": \"b\"}}", SM_ERR_FORMAT, "key \"5\"");
    EXPECT_FAIL("{" REQ ", \"id2label\": {\"0\": 1}}", SM_ERR_FORMAT, "id2label[\"0\"] must be a string");
    EXPECT_FAIL("{" REQ ", \"problem_type\": \"multi_label_classification\"}", SM_ERR_UNSUPPORTED,
                "\"multi_label_classification\" is not supported");
    EXPECT_FAIL("{" REQ ", \"problem_type\": \"regression\", \"num_labels\": 3}", SM_ERR_UNSUPPORTED,
                "regression\" with 3 labels");
    EXPECT_FAIL("{" REQ ", \"problem_type\": 1}", SM_ERR_FORMAT, "\"problem_type\" must be a string");
    EXPECT_FAIL("{" REQ ", \"model_type\": \"gpt2\"}", SM_ERR_UNSUPPORTED, "model_type is \"gpt2\"");
    EXPECT_FAIL("{\"hidden_size\": 30, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                "\"intermediate_size\": 64, \"vocab_size\": 100}", SM_ERR_FORMAT,
                "hidden_size 30 is not a multiple of num_attention_heads 4");
    EXPECT_FAIL("{" REQ ",\n  \"vocab_size\": }", SM_ERR_FORMAT, ":2:", "invalid JSON");
    EXPECT_FAIL("", SM_ERR_FORMAT, "invalid JSON");
    EXPECT_FAIL("[1, 2]", SM_ERR_FORMAT, "is an array, not a JSON object");

    sm_bert_config c;
    sm_error e;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope/config.json", tmpdir);
    ck_assert_int_eq(sm_config_load(missing, &c, &e), SM_ERR_IO);
    ck_assert(strstr(e.msg, missing) && strstr(e.msg, "cannot read"));
}
END_TEST

START_TEST(test_write_roundtrip)
{
    sm_bert_config c, d;
    sm_error e;
    sm_config_default(&c);
    c.hidden_size = 64;
    c.num_heads = 2;
    c.layer_norm_eps = 1e-7f;
    c.classifier_dropout = 0.25f;
    const char *labels[] = {"neg", "pos", "neutral \"n\""};
    ck_assert_int_eq(sm_config_set_labels(&c, 3, labels, &e), SM_OK);
    char *s = sm_config_to_json(&c);
    ck_assert_ptr_nonnull(s);
    /* what transformers reads: the architecture, the model type, both label maps, shortest decimals */
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "architectures"), 0)),
                     "BertForSequenceClassification");
    ck_assert_str_eq(json_string_value(json_object_get(o, "model_type")), "bert");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "id2label"), "1")), "pos");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "label2id"), "neg")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "problem_type")), "single_label_classification");
    ck_assert(json_real_value(json_object_get(o, "hidden_dropout_prob")) == 0.1);
    json_decref(o);
    ck_assert(strstr(s, "\"layer_norm_eps\": 1e-7,") != NULL);
    const char *p = write_cfg("out.json", s);
    free(s);
    ck_assert_msg(sm_config_load(p, &d, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(d.hidden_size, 64);
    ck_assert_int_eq(d.num_heads, 2);
    ck_assert(d.layer_norm_eps == 1e-7f);
    ck_assert(d.classifier_dropout == 0.25f);
    ck_assert(d.hidden_dropout == c.hidden_dropout && d.initializer_range == c.initializer_range);
    ck_assert_int_eq(d.vocab_size, c.vocab_size);
    ck_assert_int_eq(d.num_labels, 3);
    ck_assert_str_eq(d.id2label[2], "neutral \"n\"");
    sm_config_free(&d);

    /* regression round trip and copy */
    ck_assert_int_eq(sm_config_set_labels(&c, 1, NULL, &e), SM_OK);
    ck_assert_int_eq(c.problem, SM_PROBLEM_REGRESSION);
    ck_assert_int_eq(sm_config_copy(&d, &c, &e), SM_OK);
    sm_config_free(&c);
    s = sm_config_to_json(&d);
    sm_config_free(&d);
    p = write_cfg("out2.json", s);
    free(s);
    ck_assert_int_eq(sm_config_load(p, &c, &e), SM_OK);
    ck_assert_int_eq(c.problem, SM_PROBLEM_REGRESSION);
    ck_assert_str_eq(c.id2label[0], "LABEL_0");
    sm_config_free(&c);
}
END_TEST

/* The families: model_type chooses the field names and defaults; each family's hostile configs name
 * the field; what is written reads back the same. */
#define DREQ "\"model_type\": \"distilbert\", \"dim\": 32, \"n_layers\": 2, \"n_heads\": 4, \"hidden_dim\": 64, " \
             "\"vocab_size\": 100"
START_TEST(test_families)
{
    sm_bert_config c, r;
    sm_error e;
    ck_assert_msg(sm_config_load(write_cfg("d.json", "{" DREQ ", \"dropout\": 0.2, \"attention_dropout\": 0.3, "
                                           "\"seq_classif_dropout\": 0.4, \"activation\": \"gelu\", "
                                           "\"sinusoidal_pos_embds\": false, \"layer_norm_eps\": \"ignored\"}"),
                                 &c, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.family, SM_FAMILY_DISTILBERT);
    ck_assert_int_eq(c.hidden_size, 32);
    ck_assert_int_eq(c.num_layers, 2);
    ck_assert_int_eq(c.num_heads, 4);
    ck_assert_int_eq(c.intermediate_size, 64);
    ck_assert_int_eq(c.type_vocab_size, 0);
    ck_assert_float_eq(c.hidden_dropout, 0.2f);
    ck_assert_float_eq(c.attn_dropout, 0.3f);
    ck_assert_float_eq(c.classifier_dropout, 0.4f);
    ck_assert_float_eq(c.layer_norm_eps, 1e-12f);
    sm_config_free(&c);
    ck_assert_int_eq(sm_config_load(write_cfg("d.json", "{" DREQ "}"), &c, &e), SM_OK);
    ck_assert_float_eq(c.classifier_dropout, 0.2f); /* DistilBertConfig's seq_classif_dropout */
    sm_config_free(&c);
    ck_assert_int_eq(sm_config_load(write_cfg("r.json", "{\"model_type\": \"roberta\", " REQ "}"), &c, &e), SM_OK);
    ck_assert_int_eq(c.family, SM_FAMILY_ROBERTA);
    ck_assert_int_eq(c.pad_token_id, 1); /* RobertaConfig's default */
    sm_config_free(&c);
    ck_assert_int_eq(sm_config_load(write_cfg("x.json", "{\"model_type\": \"xlm-roberta\", " REQ "}"), &c, &e), SM_OK);
    ck_assert_int_eq(c.family, SM_FAMILY_XLM_ROBERTA);
    sm_config_free(&c);
    ck_assert_int_eq(sm_config_load(write_cfg("e.json", "{\"model_type\": \"electra\", " REQ "}"), &c, &e), SM_OK);
    ck_assert_int_eq(c.family, SM_FAMILY_ELECTRA);
    ck_assert_int_eq(c.embedding_size, 128); /* ElectraConfig's default */
    sm_config_free(&c);

    static const char *const dreq[] = {"dim", "n_layers", "n_heads", "hidden_dim", "vocab_size"};
    for (size_t i = 0; i < 5; i++) {
        char text[512] = "{\"model_type\": \"distilbert\"";
        for (size_t k = 0; k < 5; k++)
            if (k != i)
                snprintf(text + strlen(text), sizeof text - strlen(text), ", \"%s\": 4", dreq[k]);
        strcat(text, "}");
        EXPECT_FAIL(text, SM_ERR_FORMAT, "required field", dreq[i], "missing");
    }
    EXPECT_FAIL("{" DREQ ", \"n_layers\": \"2\"}", SM_ERR_FORMAT, "\"n_layers\" must be an integer", "a string");
    EXPECT_FAIL("{" DREQ ", \"dim\": 30}", SM_ERR_FORMAT, "dim 30 is not a multiple of n_heads 4");
    EXPECT_FAIL("{" DREQ ", \"dropout\": \"0.1\"}", SM_ERR_FORMAT, "\"dropout\" must be a number");
    EXPECT_FAIL("{" DREQ ", \"seq_classif_dropout\": 1.5}", SM_ERR_RANGE, "\"seq_classif_dropout\" is 1.5");
    EXPECT_FAIL("{" DREQ ", \"activation\": \"relu\"}", SM_ERR_UNSUPPORTED, "activation \"relu\" is not supported");
    EXPECT_FAIL("{" DREQ ", \"activation\": 1}", SM_ERR_FORMAT, "\"activation\" must be a string");
    EXPECT_FAIL("{" DREQ ", \"sinusoidal_pos_embds\": true}", SM_ERR_UNSUPPORTED, "sinusoidal_pos_embds is true");
    EXPECT_FAIL("{" DREQ ", \"sinusoidal_pos_embds\": 1}", SM_ERR_FORMAT, "\"sinusoidal_pos_embds\" must be a boolean");
    EXPECT_FAIL("{\"model_type\": \"electra\", " REQ ", \"embedding_size\": \"16\"}", SM_ERR_FORMAT,
                "\"embedding_size\" must be an integer");
    EXPECT_FAIL("{\"model_type\": \"electra\", " REQ ", \"embedding_size\": 0}", SM_ERR_RANGE,
                "\"embedding_size\" is 0");
    EXPECT_FAIL("{\"model_type\": \"roberta\", \"vocab_size\": 100, \"num_hidden_layers\": 2, "
                "\"num_attention_heads\": 4, \"intermediate_size\": 64}", SM_ERR_FORMAT, "required field",
                "\"hidden_size\"");
    EXPECT_FAIL("{\"model_type\": \"roberta\", " REQ ", \"type_vocab_size\": 1.5}", SM_ERR_FORMAT,
                "\"type_vocab_size\" must be an integer");
    EXPECT_FAIL("{\"model_type\": \"xlm-roberta\", " REQ ", \"hidden_act\": \"gelu_new\"}", SM_ERR_UNSUPPORTED,
                "hidden_act \"gelu_new\"");
    EXPECT_FAIL("{\"model_type\": 5, " REQ "}", SM_ERR_FORMAT, "\"model_type\" must be a string");

    /* written and read back, per family */
    static const char *const texts[] = {
        "{" DREQ ", \"seq_classif_dropout\": 0.3, \"num_labels\": 3}",
        "{\"model_type\": \"roberta\", " REQ ", \"layer_norm_eps\": 1e-5, \"type_vocab_size\": 1, \"pad_token_id\": 1}",
        "{\"model_type\": \"xlm-roberta\", " REQ ", \"num_labels\": 1}",
        "{\"model_type\": \"electra\", " REQ ", \"embedding_size\": 16, \"classifier_dropout\": 0.25}",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        ck_assert_msg(sm_config_load(write_cfg("f.json", texts[k]), &c, &e) == SM_OK, "%s", e.msg);
        char *json = sm_config_to_json(&c);
        ck_assert_ptr_nonnull(json);
        const char *p = write_cfg("g.json", json);
        ck_assert_msg(sm_config_load(p, &r, &e) == SM_OK, "%s\n%s", e.msg, json);
        ck_assert_int_eq(r.family, c.family);
        ck_assert_int_eq(r.hidden_size, c.hidden_size);
        ck_assert_int_eq(r.num_layers, c.num_layers);
        ck_assert_int_eq(r.num_heads, c.num_heads);
        ck_assert_int_eq(r.intermediate_size, c.intermediate_size);
        ck_assert_int_eq(r.type_vocab_size, c.type_vocab_size);
        ck_assert_int_eq(r.pad_token_id, c.pad_token_id);
        ck_assert_int_eq(r.embedding_size, c.embedding_size);
        ck_assert_int_eq(r.num_labels, c.num_labels);
        ck_assert_int_eq(r.problem, c.problem);
        ck_assert_float_eq(r.layer_norm_eps, c.layer_norm_eps);
        ck_assert_float_eq(r.classifier_dropout, c.classifier_dropout);
        ck_assert_float_eq(r.hidden_dropout, c.hidden_dropout);
        ck_assert(strstr(json, sm_family_model_type(c.family)));
        free(json);
        sm_config_free(&c);
        sm_config_free(&r);
    }
}
END_TEST

START_TEST(test_shared_configs)
{
    char buf[512];
    sm_bert_config c;
    sm_error e;
    const char *p = tu_shared(buf, sizeof buf, "fixtures/hf-bert/bert-tiny-random-cls3/config.json");
    if (p) {
        ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c.hidden_size, 32);
        ck_assert_int_eq(c.num_labels, 3);
        ck_assert_int_eq(c.max_position, 64);
        ck_assert_int_eq(c.problem, SM_PROBLEM_SINGLE_LABEL);
        sm_config_free(&c);
    }
    p = tu_shared(buf, sizeof buf, "fixtures/hf-bert/bert-tiny-random-reg/config.json");
    if (p) {
        ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c.num_labels, 1);
        ck_assert_int_eq(c.problem, SM_PROBLEM_REGRESSION);
        sm_config_free(&c);
    }
    p = tu_shared(buf, sizeof buf, "models/bert-mini-mlm/config.json");
    if (p) {
        ck_assert_msg(sm_config_load(p, &c, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c.hidden_size, 256);
        ck_assert_int_eq(c.num_layers, 4);
        ck_assert_int_eq(c.vocab_size, 30522);
        ck_assert_int_eq(c.num_labels, 2);
        sm_config_free(&c);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    if (tu_want(TU_LOCAL)) {
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_labels_and_problem);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_write_roundtrip);
        tcase_add_test(tc, test_families);
        suite_add_tcase(s, tc);
    }
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("shared");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_shared_configs);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
