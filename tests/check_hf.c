/* check_hf.c: Hugging Face checkpoint folders: the shared masked-LM checkpoints (F32 and F16) and the
 * fixtures load; saving a loaded fixture reproduces transformers' model.safetensors byte for byte;
 * names without "bert.", legacy gamma/beta, fresh heads and unused tensors; and every refusal
 * (shape against config.json, missing tensor, missing files, damaged values) with its message. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/hf.h"
#include "smartty/safetensors.h"
#define TU_SPLIT /* tests/check_hf_shared runs the tests that need the shared data */
#include "testutil.h"

static char tmpdir[256];
static char logbuf[16384];

static void capture(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    size_t n = strlen(logbuf);
    snprintf(logbuf + n, sizeof logbuf - n, "%s\n", msg);
}

static void setup(void)
{
    tu_mkdtemp(tmpdir, sizeof tmpdir, "check_hf");
    logbuf[0] = '\0';
    sm_log_set(capture, NULL);
}

static void teardown(void)
{
    sm_log_set(NULL, NULL);
    ck_assert_int_eq(tu_rmtree(tmpdir), 0);
}

static const char *sub(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* A small random model saved as a checkpoint folder `name` (vocab 12, hidden 8, 2 heads, ffn 16,
 * 2 layers, 10 positions, 3 labels). */
static const char *make_ckpt(const char *name)
{
    sm_bert_config c;
    sm_error e;
    sm_config_default(&c);
    c.vocab_size = 12;
    c.hidden_size = 8;
    c.num_heads = 2;
    c.intermediate_size = 16;
    c.num_layers = 2;
    c.max_position = 10;
    ck_assert_int_eq(sm_config_set_labels(&c, 3, NULL, &e), SM_OK);
    sm_bert *m;
    ck_assert_msg(sm_bert_create(&m, &c, 0, &e) == SM_OK, "%s", e.msg);
    sm_rng r;
    sm_rng_seed(&r, 5);
    sm_bert_init(m, &r);
    /* make the LayerNorm and bias tensors non-trivial so a mix-up shows */
    float *w = sm_bert_weights(m);
    for (size_t i = 0; i < sm_bert_numel(m); i++)
        w[i] += (float)(0.001 * (double)(i % 97));
    const char *dir = sub(name);
    ck_assert_msg(sm_hf_save(dir, m, &c, NULL, &e) == SM_OK, "%s", e.msg);
    sm_bert_free(m);
    sm_config_free(&c);
    return dir;
}

typedef struct edit {
    const char *from; /* a tensor name in the folder's model.safetensors */
    const char *to;   /* its new name, or NULL to drop it */
} edit;

/* Rewrite dir/model.safetensors with tensors renamed or dropped, plus an optional extra tensor;
 * poison (when not NULL) names a tensor whose first value becomes NaN. */
static void rewrite_as(const char *dir, const edit *edits, size_t n_edits, const char *extra, const char *poison,
                       sm_st_dtype dtype)
{
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    sm_st_file *f;
    sm_error e;
    ck_assert_msg(sm_st_open(path, &f, &e) == SM_OK, "%s", e.msg);
    size_t n = sm_st_count(f), k = 0;
    sm_st_entry *ent = calloc(n + 1, sizeof *ent);
    float **bufs = calloc(n + 1, sizeof *bufs);
    char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        const sm_st_tensor *t = sm_st_tensor_at(f, i);
        const char *name = t->name;
        int drop = 0;
        for (size_t j = 0; j < n_edits; j++)
            if (!strcmp(edits[j].from, name)) {
                if (!edits[j].to)
                    drop = 1;
                else
                    name = edits[j].to;
            }
        if (drop)
            continue;
        bufs[k] = malloc(t->numel * sizeof(float) + 4);
        ck_assert_int_eq(sm_st_read_float(f, i, bufs[k], t->numel, &e), SM_OK);
        if (poison && !strcmp(poison, t->name))
            bufs[k][0] = NAN;
        names[k] = strdup(name);
        ent[k].name = names[k];
        ent[k].data = bufs[k];
        ent[k].ndim = t->ndim;
        memcpy(ent[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    static const float extra_v[3] = {1, 2, 3};
    if (extra) {
        ent[k].name = extra;
        ent[k].data = extra_v;
        ent[k].ndim = 1;
        ent[k].shape[0] = 3;
        k++;
    }
    sm_st_close(f);
    ck_assert_msg(sm_st_write(path, ent, k, dtype, NULL, 0, &e) == SM_OK, "%s", e.msg);
    for (size_t i = 0; i <= n; i++) {
        free(bufs[i]);
        free(names[i]);
    }
    free(bufs);
    free(names);
    free(ent);
}

static void rewrite(const char *dir, const edit *edits, size_t n_edits, const char *extra, const char *poison)
{
    rewrite_as(dir, edits, n_edits, extra, poison, SM_ST_F32);
}

/* The float values of tensor `name` of a folder's file. */
static float *file_tensor(const char *dir, const char *name, size_t *numel)
{
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    sm_st_file *f;
    sm_error e;
    ck_assert_msg(sm_st_open(path, &f, &e) == SM_OK, "%s", e.msg);
    long i = sm_st_find(f, name);
    ck_assert_msg(i >= 0, "%s not in %s", name, path);
    const sm_st_tensor *t = sm_st_tensor_at(f, (size_t)i);
    float *v = malloc(t->numel * sizeof *v + 4);
    ck_assert_int_eq(sm_st_read_float(f, (size_t)i, v, t->numel, &e), SM_OK);
    *numel = t->numel;
    sm_st_close(f);
    return v;
}

/* Model tensor `name` equals checkpoint tensor `file_name` of dir exactly. */
static void expect_same(const sm_bert *m, const char *name, const char *dir, const char *file_name)
{
    int i = sm_bert_tensor_find(m, name);
    ck_assert_int_ge(i, 0);
    const sm_tensor_info *ti = sm_bert_tensor(m, i);
    size_t n;
    float *v = file_tensor(dir, file_name, &n);
    ck_assert_uint_eq(n, ti->numel);
    ck_assert_msg(memcmp(v, sm_bert_weights_const(m) + ti->offset, n * sizeof *v) == 0, "%s differs", name);
    free(v);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void expect_load_fail(const char *dir, const sm_hf_load_opts *o, sm_status st, const char *const *frags)
{
    sm_bert *m = (sm_bert *)1;
    sm_error e;
    sm_error_clear(&e);
    sm_status got = sm_hf_load(dir, o, &m, NULL, NULL, &e);
    ck_assert_ptr_null(m);
    ck_assert_msg(got == st, "%s: status %s, expected %s (%s)", dir, sm_status_to_string(got),
                  sm_status_to_string(st), e.msg);
    ck_assert_msg(strstr(e.msg, dir) != NULL, "message does not name the folder: %s", e.msg);
    for (; *frags; frags++)
        ck_assert_msg(strstr(e.msg, *frags) != NULL, "message lacks \"%s\": %s", *frags, e.msg);
}

#define EXPECT_LOAD_FAIL(dir, o, st, ...)              \
    do {                                               \
        const char *const fr_[] = {__VA_ARGS__, NULL}; \
        expect_load_fail((dir), (o), (st), fr_);       \
    } while (0)

START_TEST(test_shared_mlm_models)
{
    static const struct {
        const char *rel;
        const char *dtype;
        int layers, hidden;
    } models[] = {{"models/bert-tiny-mlm", "F32", 2, 128}, {"models/bert-mini-mlm", "F16", 4, 256}};
    for (size_t k = 0; k < 2; k++) {
        char buf[512];
        const char *dir = tu_shared(buf, sizeof buf, models[k].rel);
        if (!dir)
            continue;
        logbuf[0] = '\0';
        sm_hf_load_opts o;
        sm_hf_load_opts_default(&o);
        o.num_labels = 4;
        o.init_seed = 11;
        sm_bert *m;
        sm_bert_config c;
        sm_hf_info inf;
        sm_error e;
        ck_assert_msg(sm_hf_load(dir, &o, &m, &c, &inf, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c.num_layers, models[k].layers);
        ck_assert_int_eq(c.hidden_size, models[k].hidden);
        ck_assert_int_eq(c.num_labels, 4);
        ck_assert_int_eq(inf.masked_lm, 1);
        ck_assert_int_eq(inf.fresh_classifier, 1);
        ck_assert_int_eq(inf.n_fresh, 4);
        ck_assert_int_eq(inf.n_unused, 5);
        ck_assert_int_eq(inf.n_loaded, 5 + 16 * models[k].layers);
        ck_assert_str_eq(inf.dtype, models[k].dtype);
        ck_assert_msg(strstr(logbuf, "masked-language-model checkpoint") && strstr(logbuf, "classifier.weight") &&
                      strstr(logbuf, "5 checkpoint tensors not used") && strstr(logbuf, "cls.predictions.bias"),
                      "notices: %s", logbuf);
        /* F16 values arrive converted: compare with the reader's conversion of the same tensor */
        char st_path[600];
        snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
        sm_st_file *f;
        ck_assert_int_eq(sm_st_open(st_path, &f, &e), SM_OK);
        static const char *const names[] = {"bert.embeddings.word_embeddings.weight",
                                            "bert.encoder.layer.1.attention.self.value.bias",
                                            "bert.encoder.layer.1.output.LayerNorm.weight"};
        for (size_t n = 0; n < 3; n++) {
            long j = sm_st_find(f, names[n]);
            ck_assert_int_ge(j, 0);
            const sm_st_tensor *t = sm_st_tensor_at(f, (size_t)j);
            const sm_tensor_info *ti = sm_bert_tensor(m, sm_bert_tensor_find(m, names[n]));
            ck_assert_uint_eq(t->numel, ti->numel);
            const uint8_t *raw = sm_st_raw(f, (size_t)j);
            const float *w = sm_bert_weights_const(m) + ti->offset;
            for (size_t q = 0; q < t->numel; q += 97) {
                float want;
                if (t->dtype == SM_ST_F16)
                    want = sm_half_to_float((uint16_t)(raw[2 * q] | raw[2 * q + 1] << 8));
                else
                    memcpy(&want, raw + 4 * q, 4);
                ck_assert(w[q] == want);
            }
        }
        sm_st_close(f);
        /* the fresh head: biases 0, weights normal(0, 0.02), deterministic for a seed */
        const sm_tensor_info *cw = sm_bert_tensor(m, sm_bert_tensor_find(m, "classifier.weight"));
        const sm_tensor_info *pb = sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.pooler.dense.bias"));
        const sm_tensor_info *pw = sm_bert_tensor(m, sm_bert_tensor_find(m, "bert.pooler.dense.weight"));
        ck_assert_int_eq(cw->shape[0], 4);
        const float *w = sm_bert_weights_const(m);
        for (size_t q = 0; q < pb->numel; q++)
            ck_assert(w[pb->offset + q] == 0.0f);
        double s2 = 0;
        for (size_t q = 0; q < pw->numel; q++)
            s2 += (double)w[pw->offset + q] * w[pw->offset + q];
        double sd = sqrt(s2 / (double)pw->numel);
        ck_assert_msg(sd > 0.018 && sd < 0.022, "pooler weight std %g", sd);
        sm_bert *m2;
        ck_assert_int_eq(sm_hf_load(dir, &o, &m2, NULL, NULL, &e), SM_OK);
        ck_assert(memcmp(sm_bert_weights_const(m2) + cw->offset, w + cw->offset, cw->numel * sizeof(float)) == 0);
        sm_bert_free(m2);
        sm_bert_free(m);
        sm_config_free(&c);
    }
}
END_TEST

START_TEST(test_fixtures_roundtrip)
{
    static const char *const rels[] = {"fixtures/hf-bert/bert-tiny-random-cls3", "fixtures/hf-bert/bert-tiny-random-reg"};
    for (size_t k = 0; k < 2; k++) {
        char buf[512];
        const char *dir = tu_shared(buf, sizeof buf, rels[k]);
        if (!dir)
            continue;
        sm_bert *m;
        sm_bert_config c;
        sm_hf_info inf;
        sm_error e;
        logbuf[0] = '\0';
        ck_assert_msg(sm_hf_load(dir, NULL, &m, &c, &inf, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(inf.n_fresh, 0);
        ck_assert_int_eq(inf.n_unused, 0);
        ck_assert_int_eq(inf.fresh_classifier, 0);
        ck_assert_int_eq(inf.n_loaded, sm_bert_tensor_count(m));
        ck_assert_str_eq(logbuf, "");
        ck_assert_int_eq(c.num_labels, k == 0 ? 3 : 1);
        /* saving writes transformers' file again, byte for byte */
        const char *out = sub(k == 0 ? "cls3" : "reg");
        sm_tokenizer *tok;
        ck_assert_msg(sm_tokenizer_load(dir, -1, &tok, &e) == SM_OK, "%s", e.msg);
        ck_assert_msg(sm_hf_save(out, m, &c, tok, &e) == SM_OK, "%s", e.msg);
        char a_path[600], b_path[600];
        snprintf(a_path, sizeof a_path, "%s/model.safetensors", dir);
        snprintf(b_path, sizeof b_path, "%s/model.safetensors", out);
        char *a, *b;
        size_t la, lb;
        ck_assert_int_eq(sm_read_file(a_path, &a, &la, 0, &e), SM_OK);
        ck_assert_int_eq(sm_read_file(b_path, &b, &lb, 0, &e), SM_OK);
        ck_assert_uint_eq(la, lb);
        ck_assert(memcmp(a, b, la) == 0);
        free(a);
        free(b);
        /* the vocabulary is written back as it was, and the tokenizer reloads with the same settings */
        snprintf(a_path, sizeof a_path, "%s/vocab.txt", dir);
        snprintf(b_path, sizeof b_path, "%s/vocab.txt", out);
        ck_assert_int_eq(sm_read_file(a_path, &a, &la, 0, &e), SM_OK);
        ck_assert_int_eq(sm_read_file(b_path, &b, &lb, 0, &e), SM_OK);
        ck_assert_uint_eq(la, lb);
        ck_assert(memcmp(a, b, la) == 0);
        free(a);
        free(b);
        sm_tokenizer *tok2;
        ck_assert_msg(sm_tokenizer_load(out, -1, &tok2, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(sm_tokenizer_lower_case(tok2), sm_tokenizer_lower_case(tok));
        ck_assert_uint_eq(sm_tokenizer_vocab_size(tok2), sm_tokenizer_vocab_size(tok));
        sm_tokenizer_free(tok2);
        sm_tokenizer_free(tok);
        sm_bert *m2;
        sm_bert_config c2;
        ck_assert_msg(sm_hf_load(out, NULL, &m2, &c2, NULL, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c2.num_labels, c.num_labels);
        ck_assert_int_eq(c2.problem, c.problem);
        ck_assert_int_eq(c2.max_position, c.max_position);
        ck_assert_str_eq(c2.id2label[0], c.id2label[0]);
        sm_bert_free(m2);
        sm_config_free(&c2);
        sm_bert_free(m);
        sm_config_free(&c);
    }
}
END_TEST

START_TEST(test_wild_names)
{
    const char *ref = make_ckpt("ref");
    const char *dir = make_ckpt("wild");
    /* no "bert." prefix anywhere, legacy gamma/beta for the embedding LayerNorm, one of each form */
    const edit edits[] = {
        {"bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"},
        {"bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.gamma"},
        {"bert.embeddings.LayerNorm.bias", "embeddings.LayerNorm.beta"},
        {"bert.encoder.layer.1.output.LayerNorm.weight", "encoder.layer.1.output.LayerNorm.gamma"},
        {"bert.encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.query.weight"},
    };
    rewrite(dir, edits, sizeof edits / sizeof edits[0], NULL, NULL);
    sm_bert *m;
    sm_hf_info inf;
    sm_error e;
    ck_assert_msg(sm_hf_load(dir, NULL, &m, NULL, &inf, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(inf.n_fresh, 0);
    ck_assert_int_eq(inf.n_unused, 0);
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++)
        expect_same(m, edits[k].from, ref, edits[k].from);
    sm_bert_free(m);
}
END_TEST

/* Checkpoints stored as F16 or BF16 load as the exact conversions of their stored values. */
START_TEST(test_half_checkpoints)
{
    const char *ref = make_ckpt("f32");
    static const sm_st_dtype dtypes[2] = {SM_ST_F16, SM_ST_BF16};
    for (int k = 0; k < 2; k++) {
        const char *dir = make_ckpt(k ? "bf16" : "f16");
        rewrite_as(dir, NULL, 0, NULL, NULL, dtypes[k]);
        sm_bert *m;
        sm_hf_info inf;
        sm_error e;
        ck_assert_msg(sm_hf_load(dir, NULL, &m, NULL, &inf, &e) == SM_OK, "%s", e.msg);
        ck_assert_str_eq(inf.dtype, sm_st_dtype_name(dtypes[k]));
        ck_assert_int_eq(inf.n_loaded, sm_bert_tensor_count(m));
        for (int i = 0; i < sm_bert_tensor_count(m); i++) {
            const sm_tensor_info *ti = sm_bert_tensor(m, i);
            size_t n;
            float *v = file_tensor(ref, ti->name, &n);
            const float *w = sm_bert_weights_const(m) + ti->offset;
            for (size_t q = 0; q < n; q++) {
                float want = k ? sm_bf16_to_float(sm_float_to_bf16(v[q])) : sm_half_to_float(sm_float_to_half(v[q]));
                ck_assert_msg(w[q] == want, "%s[%zu]: %g, expected %g", ti->name, q, (double)w[q], (double)want);
            }
            free(v);
        }
        sm_bert_free(m);
    }
}
END_TEST

START_TEST(test_fresh_heads_and_unused)
{
    const char *dir = make_ckpt("mlm");
    const edit edits[] = {{"bert.pooler.dense.weight", NULL}, {"bert.pooler.dense.bias", NULL},
                          {"classifier.weight", NULL}, {"classifier.bias", NULL}};
    rewrite(dir, edits, 4, "cls.predictions.bias", NULL);
    sm_bert *m;
    sm_hf_info inf;
    sm_error e;
    ck_assert_msg(sm_hf_load(dir, NULL, &m, NULL, &inf, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(inf.masked_lm, 1);
    ck_assert_int_eq(inf.n_fresh, 4);
    ck_assert_int_eq(inf.n_unused, 1);
    ck_assert(strstr(logbuf, "masked-language-model checkpoint: the pooler and the classifier are initialised fresh"));
    ck_assert(strstr(logbuf, "1 checkpoint tensor not used by a sequence classifier: cls.predictions.bias"));
    sm_bert_free(m);

    /* a classifier checkpoint relabelled by the caller: a fresh classifier of the new size */
    dir = make_ckpt("relabel");
    logbuf[0] = '\0';
    sm_hf_load_opts o;
    sm_hf_load_opts_default(&o);
    o.num_labels = 5;
    sm_bert_config c;
    ck_assert_msg(sm_hf_load(dir, &o, &m, &c, &inf, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(c.num_labels, 5);
    ck_assert_int_eq(inf.n_fresh, 2);
    ck_assert_int_eq(inf.fresh_classifier, 1);
    ck_assert(strstr(logbuf, "5 labels instead of the checkpoint's 3"));
    expect_same(m, "bert.pooler.dense.weight", dir, "bert.pooler.dense.weight");
    sm_bert_free(m);
    sm_config_free(&c);

    /* the same number of labels with names: the trained classifier is kept */
    const char *names[] = {"a", "b", "c"};
    o.num_labels = 3;
    o.labels = names;
    ck_assert_msg(sm_hf_load(dir, &o, &m, &c, &inf, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(inf.n_fresh, 0);
    ck_assert_str_eq(c.id2label[2], "c");
    expect_same(m, "classifier.weight", dir, "classifier.weight");
    sm_bert_free(m);
    sm_config_free(&c);
}
END_TEST

START_TEST(test_refusals)
{
    char path[700];
    /* a shape that disagrees with config.json */
    const char *dir = make_ckpt("shape");
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
                     "\"intermediate_size\": 32, \"vocab_size\": 12, \"max_position_embeddings\": 10, "
                     "\"num_labels\": 3}");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_FORMAT, "tensor 'bert.encoder.layer.0.intermediate.dense.weight'",
                     "has shape [16, 8]", "needs [32, 8]", "use the config.json saved with these weights");
    /* fewer labels in config.json than the classifier has, without a caller's relabelling */
    dir = make_ckpt("labels");
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
                     "\"intermediate_size\": 16, \"vocab_size\": 12, \"max_position_embeddings\": 10}");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_FORMAT, "tensor 'classifier.weight' has shape [3, 8]", "needs [2, 8]");

    /* a missing required tensor */
    dir = make_ckpt("missing");
    const edit drop[] = {{"bert.encoder.layer.1.attention.self.key.bias", NULL},
                         {"bert.embeddings.token_type_embeddings.weight", NULL}};
    rewrite(dir, drop, 2, NULL, NULL);
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_FORMAT, "tensor 'bert.embeddings.token_type_embeddings.weight' is missing",
                     "(and 1 more)");

    /* a damaged value */
    dir = make_ckpt("nan");
    rewrite(dir, NULL, 0, NULL, "bert.encoder.layer.0.output.dense.weight");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_NONFINITE, "tensor 'bert.encoder.layer.0.output.dense.weight'",
                     "non-finite value");

    /* sizes within config.json's ranges whose model is far larger than any memory (26 TB): refused
     * before the allocator is asked (AddressSanitizer used to abort on the request) */
    dir = make_ckpt("huge");
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"hidden_size\": 65536, \"num_hidden_layers\": 2, \"num_attention_heads\": 1, "
                     "\"intermediate_size\": 16, \"vocab_size\": 100000000, \"max_position_embeddings\": 10, "
                     "\"num_labels\": 3}");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_NOMEM, "the model's weights would need", "of memory",
                     "check the sizes in its config.json");

    /* a config.json with a wrongly-typed field, a broken safetensors file */
    dir = make_ckpt("badcfg");
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"hidden_size\": 8, \"num_hidden_layers\": \"two\", \"num_attention_heads\": 2, "
                     "\"intermediate_size\": 16, \"vocab_size\": 12}");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_FORMAT, "config.json", "\"num_hidden_layers\" must be an integer");
    dir = make_ckpt("badst");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *bytes;
    size_t len;
    sm_error e;
    ck_assert_int_eq(sm_read_file(path, &bytes, &len, 0, &e), SM_OK);
    free(bytes);
    ck_assert_int_eq(truncate(path, (off_t)len - 64), 0);
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_FORMAT, "model.safetensors", "run past the data");

    /* missing files */
    EXPECT_LOAD_FAIL(sub("nowhere"), NULL, SM_ERR_IO, "not a folder");
    dir = make_ckpt("nocfg");
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_int_eq(unlink(path), 0);
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_NOTFOUND, "no config.json");
    dir = make_ckpt("pt");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(unlink(path), 0);
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_NOTFOUND, "no model.safetensors");
    snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
    write_text(path, "not really");
    EXPECT_LOAD_FAIL(dir, NULL, SM_ERR_UNSUPPORTED, "pytorch_model.bin", "convert");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hf");
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("shared");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_shared_mlm_models);
        tcase_add_test(tc, test_fixtures_roundtrip);
        suite_add_tcase(s, tc);
    }
    if (tu_want(TU_LOCAL)) {
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_wild_names);
        tcase_add_test(tc, test_half_checkpoints);
        tcase_add_test(tc, test_fresh_heads_and_unused);
        tcase_add_test(tc, test_refusals);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
