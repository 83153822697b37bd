/* check_model.c: the engine against what Hugging Face transformers itself computed
 * (../shared/fixtures/hf-bert): for the classifier and the regressor, the logits, the loss, the last
 * layer's first token, every parameter gradient, d loss / d embedding output and, for the classifier,
 * the logits with SMART's perturbation added to the encoder input; all within 1e-4 (absolute, or
 * relative beyond 1). The batch comes from reference.json, so no tokenizer is involved; the weights are
 * read with the safetensors reader under the checkpoint's own names (name mapping is hf.c's, tested
 * there). Skips when the shared data is absent. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/model_config.h"
#include "smartty/model.h"
#include "smartty/safetensors.h"
#include "testutil.h"

#define TOL 1e-4

typedef struct fixture {
    sm_bert_config cfg;
    sm_bert *m;
    sm_bert_acts *a;
    json_t *ref;
    sm_st_file *grads;
    sm_batch b;
    int32_t *ids, *types, *labels;
    float *mask, *targets;
} fixture;

static void compare(const char *what, const float *got, const float *want, size_t n)
{
    long i = tu_first_mismatch(got, want, n, TOL);
    ck_assert_msg(i < 0, "%s: element %ld: engine %.8g, transformers %.8g", what, i, i < 0 ? 0.0 : got[i],
                  i < 0 ? 0.0 : want[i]);
}

/* A JSON array of arrays of numbers, flattened into floats; returns the count. */
static size_t json_floats(json_t *arr, float *out, size_t cap)
{
    size_t n = 0, i, j;
    json_t *row, *v;
    json_array_foreach(arr, i, row)
    {
        if (json_is_array(row)) {
            json_array_foreach(row, j, v)
            {
                ck_assert(n < cap);
                out[n++] = (float)json_number_value(v);
            }
        } else {
            ck_assert(n < cap);
            out[n++] = (float)json_number_value(row);
        }
    }
    return n;
}

static float *tensor(fixture *f, const char *name, size_t numel)
{
    long i = sm_st_find(f->grads, name);
    ck_assert_msg(i >= 0, "reference_grads.safetensors has no %s", name);
    float *p = malloc(numel * sizeof(float));
    sm_error e;
    ck_assert_msg(sm_st_read_float(f->grads, (size_t)i, p, numel, &e) == SM_OK, "%s", e.msg);
    return p;
}

/* Returns 0 (with a SKIP message) when the fixture is absent. */
static int fixture_open(fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    char rel[256], buf[1024], path[1100];
    snprintf(rel, sizeof rel, "fixtures/hf-bert/%s", name);
    const char *dir = tu_shared(buf, sizeof buf, rel);
    if (!dir)
        return 0;
    sm_error e;
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_msg(sm_config_load(path, &f->cfg, &e) == SM_OK, "%s", e.msg);
    ck_assert_msg(sm_bert_create(&f->m, &f->cfg, 1, &e) == SM_OK, "%s", e.msg);

    sm_st_file *st;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_msg(sm_st_open(path, &st, &e) == SM_OK, "%s", e.msg);
    float *w = sm_bert_weights(f->m);
    for (int i = 0; i < sm_bert_tensor_count(f->m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(f->m, i);
        long k = sm_st_find(st, t->name);
        ck_assert_msg(k >= 0, "model.safetensors has no %s", t->name);
        const sm_st_tensor *s = sm_st_tensor_at(st, (size_t)k);
        ck_assert_int_eq(s->ndim, t->ndim);
        for (int d = 0; d < t->ndim; d++)
            ck_assert_int_eq(s->shape[d], t->shape[d]);
        ck_assert_msg(sm_st_read_float(st, (size_t)k, w + t->offset, t->numel, &e) == SM_OK, "%s", e.msg);
    }
    sm_st_close(st);

    snprintf(path, sizeof path, "%s/reference_grads.safetensors", dir);
    ck_assert_msg(sm_st_open(path, &f->grads, &e) == SM_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t je;
    f->ref = json_load_file(path, JSON_ALLOW_NUL, &je); /* a tokenization text holds U+0000 */
    ck_assert_msg(f->ref != NULL, "%s:%d: %s", path, je.line, je.text);

    json_t *batch = json_object_get(f->ref, "batch");
    json_t *ids = json_object_get(batch, "input_ids");
    const int B = (int)json_array_size(ids), T = (int)json_array_size(json_array_get(ids, 0));
    const size_t N = (size_t)B * T;
    f->ids = malloc(N * sizeof(int32_t));
    f->types = malloc(N * sizeof(int32_t));
    f->mask = malloc(N * sizeof(float));
    float *tmp = malloc(N * sizeof(float));
    ck_assert_uint_eq(json_floats(ids, tmp, N), N);
    for (size_t n = 0; n < N; n++)
        f->ids[n] = (int32_t)tmp[n];
    ck_assert_uint_eq(json_floats(json_object_get(batch, "token_type_ids"), tmp, N), N);
    for (size_t n = 0; n < N; n++)
        f->types[n] = (int32_t)tmp[n];
    ck_assert_uint_eq(json_floats(json_object_get(batch, "attention_mask"), f->mask, N), N);
    ck_assert_uint_eq(json_floats(json_object_get(batch, "labels"), tmp, N), (size_t)B);
    f->b.B = B;
    f->b.T = T;
    f->b.ids = f->ids;
    f->b.types = f->types;
    f->b.mask = f->mask;
    if (f->cfg.num_labels == 1) {
        f->targets = malloc((size_t)B * sizeof(float));
        memcpy(f->targets, tmp, (size_t)B * sizeof(float));
        f->b.targets = f->targets;
    } else {
        f->labels = malloc((size_t)B * sizeof(int32_t));
        for (int i = 0; i < B; i++)
            f->labels[i] = (int32_t)tmp[i];
        f->b.labels = f->labels;
    }
    free(tmp);
    ck_assert_msg(sm_bert_acts_create(&f->a, f->m, B, T, 1, &e) == SM_OK, "%s", e.msg);
    return 1;
}

static void fixture_close(fixture *f)
{
    sm_bert_acts_free(f->a);
    sm_bert_free(f->m);
    sm_config_free(&f->cfg);
    sm_st_close(f->grads);
    json_decref(f->ref);
    free(f->ids);
    free(f->types);
    free(f->mask);
    free(f->labels);
    free(f->targets);
}

static void check_fixture(const char *name)
{
    fixture f;
    if (!fixture_open(&f, name))
        return;
    sm_error e;
    const int B = f.b.B, T = f.b.T, H = f.cfg.hidden_size, C = f.cfg.num_labels;
    const size_t NH = (size_t)B * T * H;
    float *w = sm_bert_weights(f.m), *g = sm_bert_grads(f.m);
    float *want = malloc(NH * sizeof(float)), *dx = malloc(NH * sizeof(float));

    /* forward, eval mode */
    ck_assert_msg(sm_bert_forward(f.m, w, f.a, &f.b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
    ck_assert_uint_eq(json_floats(json_object_get(f.ref, "logits"), want, NH), (size_t)B * C);
    compare("logits", sm_bert_acts_logits(f.a), want, (size_t)B * C);
    ck_assert_uint_eq(json_floats(json_object_get(f.ref, "pooled_first_token_last_layer"), want, NH), (size_t)B * H);
    for (int i = 0; i < B; i++)
        compare("last layer, first token", sm_bert_acts_hidden(f.a) + (size_t)i * T * H, want + (size_t)i * H,
                (size_t)H);
    double loss;
    float dlogits[64];
    ck_assert(B * C <= 64);
    ck_assert_msg(sm_bert_task_loss(f.m, sm_bert_acts_logits(f.a), &f.b, &loss, dlogits, &e) == SM_OK, "%s", e.msg);
    const double ref_loss = json_number_value(json_object_get(f.ref, "loss"));
    ck_assert_msg(tu_close(loss, ref_loss, TOL), "loss %.8g, transformers %.8g", loss, ref_loss);

    /* backward: d loss / d embedding output, then every parameter gradient */
    sm_bert_zero_grads(f.m);
    ck_assert_msg(sm_bert_backward(f.m, w, g, f.a, dlogits, dx, &e) == SM_OK, "%s", e.msg);
    float *ge = tensor(&f, "grad.embedding_output", NH);
    compare("grad.embedding_output", dx, ge, NH);
    free(ge);
    ck_assert_msg(sm_bert_embed_backward(f.m, w, g, f.a, dx, &e) == SM_OK, "%s", e.msg);
    int compared = 0;
    for (size_t k = 0; k < sm_st_count(f.grads); k++) {
        const sm_st_tensor *s = sm_st_tensor_at(f.grads, k);
        if (strncmp(s->name, "grad.", 5) == 0 || strncmp(s->name, "smart.", 6) == 0)
            continue;
        int i = sm_bert_tensor_find(f.m, s->name);
        ck_assert_msg(i >= 0, "the engine has no parameter %s", s->name);
        const sm_tensor_info *t = sm_bert_tensor(f.m, i);
        float *ref = tensor(&f, s->name, t->numel);
        compare(t->name, g + t->offset, ref, t->numel);
        free(ref);
        compared++;
    }
    /* the word embeddings' gradient is not in the file: it is grad.inputs_embeds (d loss / d looked-up
     * word embeddings) scattered onto the rows of the batch's ids, except the pad row (padding_idx) */
    const sm_tensor_info *wt = sm_bert_tensor(f.m, sm_bert_tensor_find(f.m, "bert.embeddings.word_embeddings.weight"));
    ck_assert_int_eq(sm_st_find(f.grads, wt->name), -1);
    float *gi = tensor(&f, "grad.inputs_embeds", NH);
    double *acc = calloc(wt->numel, sizeof(double));
    for (int n = 0; n < B * T; n++)
        if (f.ids[n] != f.cfg.pad_token_id)
            for (int i = 0; i < H; i++)
                acc[(size_t)f.ids[n] * H + i] += gi[(size_t)n * H + i];
    float *gw = malloc(wt->numel * sizeof(float));
    for (size_t k = 0; k < wt->numel; k++)
        gw[k] = (float)acc[k];
    compare(wt->name, g + wt->offset, gw, wt->numel);
    free(gw);
    free(acc);
    free(gi);
    ck_assert_int_eq(compared + 1, sm_bert_tensor_count(f.m));

    /* SMART: the perturbation added to the encoder input */
    json_t *smart = json_object_get(f.ref, "smart");
    if (smart) {
        float *delta = tensor(&f, "smart.delta", NH);
        ck_assert_msg(sm_bert_embed(f.m, w, f.a, &f.b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
        ck_assert_msg(sm_bert_encode(f.m, w, f.a, &f.b, NULL, delta, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
        ck_assert_uint_eq(json_floats(json_object_get(smart, "perturbed_logits"), want, NH), (size_t)B * C);
        compare("smart.perturbed_logits", sm_bert_acts_logits(f.a), want, (size_t)B * C);
        /* the clean logits again, from another workspace reading this one's embedding output */
        sm_bert_acts *other;
        ck_assert(sm_bert_acts_create(&other, f.m, B, T, 0, &e) == SM_OK);
        ck_assert(sm_bert_encode(f.m, w, other, &f.b, sm_bert_acts_emb(f.a), NULL, SM_BERT_EVAL, NULL, &e) == SM_OK);
        ck_assert_uint_eq(json_floats(json_object_get(smart, "clean_logits"), want, NH), (size_t)B * C);
        compare("smart.clean_logits", sm_bert_acts_logits(other), want, (size_t)B * C);
        sm_bert_acts_free(other);
        free(delta);
    }
    free(want);
    free(dx);
    fixture_close(&f);
}

START_TEST(test_fixture_cls3) { check_fixture("bert-tiny-random-cls3"); }
END_TEST

START_TEST(test_fixture_reg) { check_fixture("bert-tiny-random-reg"); }
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("hf-bert fixtures");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_fixture_cls3);
        tcase_add_test(tc, test_fixture_reg);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return tu_run(model_suite());
}
