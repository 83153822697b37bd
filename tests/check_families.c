/* check_families.c: RoBERTa, XLM-R, DistilBERT and ELECTRA against what transformers computed
 * (tests/fixtures/hf-families, made by tests/ref/make_family_fixtures.py): loaded by sm_hf_load, the
 * logits, the loss, the last layer's first token, every parameter gradient, d loss / d encoder input,
 * SMART's perturbed logits, symkl and grad_delta, all within 1e-4; saving under transformers' names
 * and loading back (a RoBERTa with its byte-level BPE files); masked-LM checkpoints (fresh heads, unused tensors named); training mode; and
 * central finite differences for what the families add (RoBERTa's position ids, the heads,
 * embeddings_project). Tokenizers are not involved: the batches come from reference.json. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/model_config.h"
#include "smartty/hf.h"
#include "smartty/model.h"
#include "smartty/safetensors.h"
#include "smartty/smart.h"
#include "smartty/tokenizer.h"
#include "testutil.h"

#define TOL 1e-4

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
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_families.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    logbuf[0] = '\0';
    sm_log_set(capture, NULL);
}

static void teardown(void)
{
    sm_log_set(NULL, NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* tests/fixtures/hf-families/<name> in the source tree */
static const char *fixture_dir(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/tests/fixtures/hf-families/%s", tu_srcdir(), name);
    ck_assert_msg(access(buf[k], R_OK) == 0, "%s is absent", buf[k]);
    return buf[k];
}

static void compare(const char *what, const float *got, const float *want, size_t n)
{
    long i = tu_first_mismatch(got, want, n, TOL);
    ck_assert_msg(i < 0, "%s: element %ld of %zu: engine %.8g, transformers %.8g", what, i, n,
                  i < 0 ? 0.0 : got[i], i < 0 ? 0.0 : want[i]);
}

/* a JSON number array of any depth, flattened */
static size_t json_floats(json_t *v, float *out, size_t cap, size_t n)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) n = json_floats(x, out, cap, n);
        return n;
    }
    ck_assert(n < cap);
    out[n] = (float)json_number_value(v);
    return n + 1;
}

static float *st_tensor(const sm_st_file *f, const char *name, size_t numel)
{
    long i = sm_st_find(f, name);
    ck_assert_msg(i >= 0, "%s: no tensor %s", sm_st_path(f), name);
    ck_assert_uint_eq(sm_st_tensor_at(f, (size_t)i)->numel, numel);
    float *x = malloc(numel * sizeof *x);
    sm_error e;
    ck_assert_msg(sm_st_read_float(f, (size_t)i, x, numel, &e) == SM_OK, "%s", e.msg);
    return x;
}

typedef struct fix {
    sm_bert *m;
    sm_bert_config cfg;
    json_t *ref;
    sm_batch b;
    int32_t *ids, *types, *labels, *len;
    float *mask, *targets;
} fix;

static void fix_open(fix *f, const char *name, int with_grads)
{
    memset(f, 0, sizeof *f);
    const char *dir = fixture_dir(name);
    sm_hf_load_opts o;
    sm_hf_load_opts_default(&o);
    o.with_grads = with_grads;
    sm_error e;
    sm_hf_info info;
    ck_assert_msg(sm_hf_load(dir, &o, &f->m, &f->cfg, &info, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(info.n_fresh, 0);
    ck_assert_int_eq(info.n_unused, 0);
    ck_assert_int_eq(info.n_loaded, sm_bert_tensor_count(f->m));
    char path[1200];
    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t je;
    f->ref = json_load_file(path, 0, &je);
    ck_assert_msg(f->ref != NULL, "%s:%d: %s", path, je.line, je.text);
    json_t *jb = json_object_get(f->ref, "batch"), *ids = json_object_get(jb, "input_ids");
    const int B = (int)json_array_size(ids), T = (int)json_array_size(json_array_get(ids, 0));
    const size_t N = (size_t)B * T;
    float *tmp = malloc(N * sizeof *tmp);
    f->ids = malloc(N * sizeof *f->ids);
    f->types = malloc(N * sizeof *f->types);
    f->mask = malloc(N * sizeof *f->mask);
    f->len = calloc((size_t)B, sizeof *f->len);
    ck_assert_uint_eq(json_floats(ids, tmp, N, 0), N);
    for (size_t n = 0; n < N; n++)
        f->ids[n] = (int32_t)tmp[n];
    ck_assert_uint_eq(json_floats(json_object_get(jb, "token_type_ids"), tmp, N, 0), N);
    for (size_t n = 0; n < N; n++)
        f->types[n] = (int32_t)tmp[n];
    ck_assert_uint_eq(json_floats(json_object_get(jb, "attention_mask"), f->mask, N, 0), N);
    for (size_t n = 0; n < N; n++)
        f->len[n / (size_t)T] += f->mask[n] > 0.5f;
    ck_assert_uint_eq(json_floats(json_object_get(jb, "labels"), tmp, N, 0), (size_t)B);
    sm_batch b = {B, T, f->ids, f->types, f->mask, f->len, NULL, NULL, NULL, B, T};
    if (f->cfg.num_labels == 1) {
        f->targets = malloc((size_t)B * sizeof *f->targets);
        memcpy(f->targets, tmp, (size_t)B * sizeof *f->targets);
        b.targets = f->targets;
    } else {
        f->labels = malloc((size_t)B * sizeof *f->labels);
        for (int i = 0; i < B; i++)
            f->labels[i] = (int32_t)tmp[i];
        b.labels = f->labels;
    }
    f->b = b;
    free(tmp);
}

static void fix_close(fix *f)
{
    sm_bert_free(f->m);
    sm_config_free(&f->cfg);
    json_decref(f->ref);
    free(f->ids);
    free(f->types);
    free(f->mask);
    free(f->len);
    free(f->labels);
    free(f->targets);
}

static void check_reference(const char *name, sm_family family)
{
    fix f;
    fix_open(&f, name, 1);
    ck_assert_int_eq(f.cfg.family, family);
    sm_error e;
    const int B = f.b.B, T = f.b.T, H = f.cfg.hidden_size, C = f.cfg.num_labels;
    const size_t NH = (size_t)B * T * H;
    sm_bert_acts *a;
    ck_assert_msg(sm_bert_acts_create(&a, f.m, B, T, 1, &e) == SM_OK, "%s", e.msg);
    float *w = sm_bert_weights(f.m), *g = sm_bert_grads(f.m);
    float *want = malloc(NH * sizeof *want), *dx = malloc(NH * sizeof *dx);

    ck_assert_msg(sm_bert_forward(f.m, w, a, &f.b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
    ck_assert_uint_eq(json_floats(json_object_get(f.ref, "logits"), want, NH, 0), (size_t)B * C);
    compare("logits", sm_bert_acts_logits(a), want, (size_t)B * C);
    ck_assert_uint_eq(json_floats(json_object_get(f.ref, "pooled_first_token_last_layer"), want, NH, 0),
                      (size_t)B * H);
    for (int i = 0; i < B; i++)
        compare("last layer, first token", sm_bert_acts_hidden(a) + (size_t)i * T * H, want + (size_t)i * H,
                (size_t)H);
    double loss;
    float dlogits[64];
    ck_assert(B * C <= 64);
    ck_assert_msg(sm_bert_task_loss(f.m, sm_bert_acts_logits(a), &f.b, &loss, dlogits, &e) == SM_OK, "%s", e.msg);
    const double ref_loss = json_number_value(json_object_get(f.ref, "loss"));
    ck_assert_msg(tu_close(loss, ref_loss, TOL), "loss %.8g, transformers %.8g", loss, ref_loss);

    sm_st_file *gf;
    char path[1200];
    snprintf(path, sizeof path, "%s/reference_grads.safetensors", fixture_dir(name));
    ck_assert_msg(sm_st_open(path, &gf, &e) == SM_OK, "%s", e.msg);
    sm_bert_zero_grads(f.m);
    ck_assert_msg(sm_bert_backward(f.m, w, g, a, dlogits, dx, &e) == SM_OK, "%s", e.msg);
    float *ge = st_tensor(gf, "grad.embedding_output", NH);
    compare("grad.embedding_output", dx, ge, NH);
    free(ge);
    ck_assert_msg(sm_bert_embed_backward(f.m, w, g, a, dx, &e) == SM_OK, "%s", e.msg);
    int compared = 0;
    for (size_t k = 0; k < sm_st_count(gf); k++) {
        const sm_st_tensor *s = sm_st_tensor_at(gf, k);
        if (!strncmp(s->name, "grad.", 5) || !strncmp(s->name, "smart.", 6))
            continue;
        int i = sm_bert_tensor_find(f.m, s->name);
        ck_assert_msg(i >= 0, "the engine has no parameter %s", s->name);
        const sm_tensor_info *t = sm_bert_tensor(f.m, i);
        float *r = st_tensor(gf, s->name, t->numel);
        compare(t->name, g + t->offset, r, t->numel);
        free(r);
        compared++;
    }
    ck_assert_int_eq(compared, sm_bert_tensor_count(f.m)); /* every parameter, the word embeddings too */

    json_t *smart = json_object_get(f.ref, "smart");
    if (C > 1) {
        ck_assert_ptr_nonnull(smart);
        float *delta = st_tensor(gf, "smart.delta", NH), *gref = st_tensor(gf, "smart.grad_delta", NH);
        sm_bert_acts *pa;
        ck_assert_int_eq(sm_bert_acts_create(&pa, f.m, B, T, 1, &e), SM_OK);
        ck_assert_msg(sm_bert_forward(f.m, w, a, &f.b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
        ck_assert_msg(sm_bert_encode(f.m, w, pa, &f.b, sm_bert_acts_emb(a), delta, SM_BERT_EVAL, NULL, &e) == SM_OK,
                      "%s", e.msg);
        ck_assert_uint_eq(json_floats(json_object_get(smart, "clean_logits"), want, NH, 0), (size_t)B * C);
        compare("smart.clean_logits", sm_bert_acts_logits(a), want, (size_t)B * C);
        ck_assert_uint_eq(json_floats(json_object_get(smart, "perturbed_logits"), want, NH, 0), (size_t)B * C);
        compare("smart.perturbed_logits", sm_bert_acts_logits(pa), want, (size_t)B * C);
        float dq[64] = {0};
        double skl = sm_symkl(sm_bert_acts_logits(a), sm_bert_acts_logits(pa), B, C, NULL, dq, 1.0);
        double rskl = json_number_value(json_object_get(smart, "symkl"));
        ck_assert_msg(rskl > 0 && fabs(skl - rskl) <= 1e-4 && fabs(skl - rskl) <= 0.02 * rskl,
                      "symkl %.9g, transformers %.9g", skl, rskl);
        ck_assert_msg(sm_bert_backward(f.m, w, NULL, pa, dq, dx, &e) == SM_OK, "%s", e.msg);
        double gmax = 0;
        for (size_t i = 0; i < NH; i++)
            gmax = fmax(gmax, fabs(gref[i]));
        ck_assert(gmax > 0);
        compare("smart.grad_delta", dx, gref, NH);
        for (size_t i = 0; i < NH; i++)
            ck_assert_msg(fabs(dx[i] - gref[i]) <= 2e-3 * gmax, "grad_delta[%zu] = %g, transformers %g (max %g)", i,
                          dx[i], gref[i], gmax);
        sm_bert_acts_free(pa);
        free(delta);
        free(gref);
    }
    sm_st_close(gf);
    sm_bert_acts_free(a);
    free(want);
    free(dx);
    fix_close(&f);
}

START_TEST(test_roberta_reference) { check_reference("roberta-cls3", SM_FAMILY_ROBERTA); }
END_TEST
START_TEST(test_xlmr_reference) { check_reference("xlm-roberta-reg", SM_FAMILY_XLM_ROBERTA); }
END_TEST
START_TEST(test_distilbert_reference) { check_reference("distilbert-cls2", SM_FAMILY_DISTILBERT); }
END_TEST
START_TEST(test_electra_reference) { check_reference("electra-cls3", SM_FAMILY_ELECTRA); }
END_TEST

/* Saved under transformers' own names and config fields; loads back to the same logits. */
START_TEST(test_save_roundtrip)
{
    static const char *const names[] = {"roberta-cls3", "xlm-roberta-reg", "distilbert-cls2", "electra-cls3"};
    static const char *const fields[] = {"\"model_type\": \"roberta\"", "\"model_type\": \"xlm-roberta\"",
                                         "\"model_type\": \"distilbert\"", "\"embedding_size\": 16"};
    for (int k = 0; k < 4; k++) {
        fix f;
        fix_open(&f, names[k], 0);
        sm_error e;
        char out[512];
        snprintf(out, sizeof out, "%s/%s", tmpdir, names[k]);
        ck_assert_msg(sm_hf_save(out, f.m, &f.cfg, NULL, &e) == SM_OK, "%s", e.msg);
        /* the same tensor names and shapes as transformers' own file */
        char p1[1200], p2[600];
        snprintf(p1, sizeof p1, "%s/model.safetensors", fixture_dir(names[k]));
        snprintf(p2, sizeof p2, "%s/model.safetensors", out);
        sm_st_file *a, *b;
        ck_assert_int_eq(sm_st_open(p1, &a, &e), SM_OK);
        ck_assert_int_eq(sm_st_open(p2, &b, &e), SM_OK);
        ck_assert_uint_eq(sm_st_count(a), sm_st_count(b));
        for (size_t j = 0; j < sm_st_count(a); j++) {
            const sm_st_tensor *t = sm_st_tensor_at(a, j);
            long i = sm_st_find(b, t->name);
            ck_assert_msg(i >= 0, "%s: saved file lacks %s", names[k], t->name);
            ck_assert_uint_eq(sm_st_tensor_at(b, (size_t)i)->numel, t->numel);
            float *x = st_tensor(a, t->name, t->numel), *y = st_tensor(b, t->name, t->numel);
            ck_assert(memcmp(x, y, t->numel * sizeof *x) == 0);
            free(x);
            free(y);
        }
        sm_st_close(a);
        sm_st_close(b);
        char cp[600];
        snprintf(cp, sizeof cp, "%s/config.json", out);
        FILE *fp = fopen(cp, "r");
        char text[8192];
        size_t n = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        text[n] = '\0';
        ck_assert_msg(strstr(text, fields[k]), "%s: config.json lacks %s:\n%s", names[k], fields[k], text);
        if (k == 2)
            ck_assert(strstr(text, "\"n_layers\": 2") && strstr(text, "\"hidden_dim\": 64") &&
                      strstr(text, "\"seq_classif_dropout\": 0.2") && !strstr(text, "type_vocab_size"));
        /* and loads back as the same network */
        sm_bert *m2;
        sm_bert_config c2;
        ck_assert_msg(sm_hf_load(out, NULL, &m2, &c2, NULL, &e) == SM_OK, "%s", e.msg);
        ck_assert_int_eq(c2.family, f.cfg.family);
        ck_assert_uint_eq(sm_bert_numel(m2), sm_bert_numel(f.m));
        ck_assert(memcmp(sm_bert_weights(m2), sm_bert_weights(f.m), sm_bert_numel(f.m) * sizeof(float)) == 0);
        ck_assert_float_eq(c2.classifier_dropout, f.cfg.classifier_dropout);
        ck_assert_float_eq(c2.layer_norm_eps, f.cfg.layer_norm_eps);
        sm_bert_free(m2);
        sm_config_free(&c2);
        fix_close(&f);
    }
}
END_TEST

/* A RoBERTa checkpoint with its byte-level BPE saves with the BPE's own files (not a vocab.txt made
 * from them), and the saved folder gives the same tokenizer back. */
START_TEST(test_save_with_bpe)
{
    const char *dir = fixture_dir("roberta-bpe");
    sm_tokenizer *tok, *back;
    sm_bert *m;
    sm_bert_config cfg;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(dir, -1, &tok, &e) == SM_OK, "%s", e.msg);
    ck_assert_ptr_nonnull(sm_tokenizer_source_files(tok));
    ck_assert_msg(sm_hf_load(dir, NULL, &m, &cfg, NULL, &e) == SM_OK, "%s", e.msg);
    char out[512], p[600], q[1200];
    snprintf(out, sizeof out, "%s/saved", tmpdir);
    ck_assert_msg(sm_hf_save(out, m, &cfg, tok, &e) == SM_OK, "%s", e.msg);
    snprintf(p, sizeof p, "%s/vocab.txt", out);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/tokenizer.json", out);
    snprintf(q, sizeof q, "cmp -s '%s' '%s/tokenizer.json' && cmp -s '%s/tokenizer_config.json' '%s/tokenizer_config.json'",
             p, dir, out, dir);
    ck_assert_int_eq(system(q), 0);
    ck_assert_msg(sm_tokenizer_load(out, -1, &back, &e) == SM_OK, "%s", e.msg);
    sm_ids a = {0}, b = {0}, ta = {0}, tb = {0};
    const char *text = "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu, it's <mask>!";
    ck_assert_int_eq(sm_tokenizer_encode_pair(tok, text, "again", 0, &a, &ta, &e), SM_OK);
    ck_assert_int_eq(sm_tokenizer_encode_pair(back, text, "again", 0, &b, &tb, &e), SM_OK);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(memcmp(a.v, b.v, a.n * sizeof *a.v) == 0);
    for (size_t i = 0; i < ta.n; i++)
        ck_assert_int_eq(ta.v[i], 0); /* RoBERTa has one token type */
    sm_ids_free(&a);
    sm_ids_free(&b);
    sm_ids_free(&ta);
    sm_ids_free(&tb);
    sm_tokenizer_free(tok);
    sm_tokenizer_free(back);
    sm_bert_free(m);
    sm_config_free(&cfg);
}
END_TEST

/* Masked-LM and discriminator checkpoints: the encoder loads, the head starts fresh with a notice, and
 * the pretraining head's tensors are listed as unused. */
START_TEST(test_pretraining_checkpoints)
{
    static const struct {
        const char *name, *unused;
        int n_unused;
    } cases[] = {
        {"roberta-mlm", "lm_head.dense.weight", 5},
        {"xlm-roberta-mlm", "lm_head.layer_norm.weight", 5},
        {"distilbert-mlm", "vocab_transform.weight", 5},
        {"electra-mlm", "generator_predictions.dense.weight", 5},
        {"electra-discriminator", "discriminator_predictions.dense_prediction.weight", 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        logbuf[0] = '\0';
        sm_bert *m;
        sm_hf_info info;
        sm_error e;
        ck_assert_msg(sm_hf_load(fixture_dir(cases[k].name), NULL, &m, NULL, &info, &e) == SM_OK, "%s: %s",
                      cases[k].name, e.msg);
        ck_assert_int_eq(info.masked_lm, 1);
        ck_assert_int_eq(info.n_fresh, 4);
        ck_assert_int_eq(info.fresh_classifier, 1);
        ck_assert_int_eq(info.n_unused, cases[k].n_unused);
        ck_assert_msg(strstr(logbuf, "classification head is initialised fresh"), "%s", logbuf);
        ck_assert_msg(strstr(logbuf, cases[k].unused), "%s: %s", cases[k].name, logbuf);
        /* the fresh head is random, not zero */
        int i = sm_bert_tensor_count(m) - 2;
        ck_assert_int_eq(sm_bert_tensor_is_head(m, i), 2);
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        double s = 0;
        for (size_t j = 0; j < t->numel; j++)
            s += fabs(sm_bert_weights(m)[t->offset + j]);
        ck_assert(s > 0);
        sm_bert_free(m);
    }
}
END_TEST

/* Base-model checkpoints (RobertaModel, DistilBertModel, ElectraModel: names without the base prefix)
 * load; the head starts fresh with a notice, and RoBERTa's unused pooler is named. */
START_TEST(test_base_checkpoints)
{
    static const struct {
        const char *name, *unused;
        int n_unused;
        sm_family family;
    } cases[] = {
        {"roberta-base", "pooler.dense.weight", 2, SM_FAMILY_ROBERTA},
        {"distilbert-base", NULL, 0, SM_FAMILY_DISTILBERT},
        {"electra-base", NULL, 0, SM_FAMILY_ELECTRA},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        logbuf[0] = '\0';
        sm_bert *m;
        sm_bert_config cfg;
        sm_hf_info info;
        sm_error e;
        ck_assert_msg(sm_hf_load(fixture_dir(cases[k].name), NULL, &m, &cfg, &info, &e) == SM_OK, "%s: %s",
                      cases[k].name, e.msg);
        ck_assert_int_eq(cfg.family, cases[k].family);
        ck_assert_int_eq(info.masked_lm, 0);
        ck_assert_int_eq(info.n_fresh, 4);
        ck_assert_int_eq(info.n_loaded, sm_bert_tensor_count(m) - 4);
        ck_assert_int_eq(info.n_unused, cases[k].n_unused);
        ck_assert_msg(strstr(logbuf, "not in the checkpoint, initialised fresh"), "%s", logbuf);
        if (cases[k].unused)
            ck_assert_msg(strstr(logbuf, cases[k].unused), "%s: %s", cases[k].name, logbuf);
        sm_bert_free(m);
        sm_config_free(&cfg);
    }
}
END_TEST

/* A checkpoint missing a family tensor is refused by name. */
START_TEST(test_missing_tensor)
{
    char out[512];
    snprintf(out, sizeof out, "%s/electra", tmpdir);
    fix f;
    fix_open(&f, "electra-cls3", 0);
    sm_error e;
    ck_assert_int_eq(sm_hf_save(out, f.m, &f.cfg, NULL, &e), SM_OK);
    /* rewrite without embeddings_project */
    int nt = sm_bert_tensor_count(f.m), k = 0;
    sm_st_entry *ent = calloc((size_t)nt, sizeof *ent);
    for (int i = 0; i < nt; i++) {
        const sm_tensor_info *t = sm_bert_tensor(f.m, i);
        if (strstr(t->name, "embeddings_project.weight"))
            continue;
        ent[k].name = t->name;
        ent[k].data = sm_bert_weights(f.m) + t->offset;
        ent[k].ndim = t->ndim;
        ent[k].shape[0] = t->shape[0];
        ent[k].shape[1] = t->shape[1];
        k++;
    }
    ck_assert_int_eq(k, nt - 1);
    char p[600];
    snprintf(p, sizeof p, "%s/model.safetensors", out);
    ck_assert_int_eq(sm_st_write(p, ent, (size_t)k, SM_ST_F32, NULL, 0, &e), SM_OK);
    free(ent);
    sm_bert *m;
    ck_assert_int_eq(sm_hf_load(out, NULL, &m, NULL, NULL, &e), SM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "electra.embeddings_project.weight") && strstr(e.msg, "ELECTRA"), "%s", e.msg);
    fix_close(&f);
}
END_TEST

/* Training mode: dropout everywhere (the head's two dropouts included), deterministic for a seed,
 * different from evaluation, and the backward runs to finite gradients. */
START_TEST(test_train_mode)
{
    static const char *const names[] = {"roberta-cls3", "xlm-roberta-reg", "distilbert-cls2", "electra-cls3"};
    for (int k = 0; k < 4; k++) {
        fix f;
        fix_open(&f, names[k], 1);
        sm_error e;
        const int B = f.b.B, T = f.b.T, C = f.cfg.num_labels;
        const size_t NH = (size_t)B * T * f.cfg.hidden_size;
        sm_bert_acts *a;
        ck_assert_int_eq(sm_bert_acts_create(&a, f.m, B, T, 1, &e), SM_OK);
        float *w = sm_bert_weights(f.m), l1[64], l2[64], le[64], dl[64];
        sm_rng r;
        sm_rng_seed(&r, 7);
        ck_assert_msg(sm_bert_forward(f.m, w, a, &f.b, SM_BERT_TRAIN, &r, &e) == SM_OK, "%s", e.msg);
        memcpy(l1, sm_bert_acts_logits(a), (size_t)(B * C) * sizeof(float));
        double loss;
        ck_assert_int_eq(sm_bert_task_loss(f.m, l1, &f.b, &loss, dl, &e), SM_OK);
        float *dx = malloc(NH * sizeof *dx);
        sm_bert_zero_grads(f.m);
        ck_assert_int_eq(sm_bert_backward(f.m, w, sm_bert_grads(f.m), a, dl, dx, &e), SM_OK);
        ck_assert_int_eq(sm_bert_embed_backward(f.m, w, sm_bert_grads(f.m), a, dx, &e), SM_OK);
        double gs = 0;
        for (size_t i = 0; i < sm_bert_numel(f.m); i++) {
            ck_assert(isfinite(sm_bert_grads(f.m)[i]));
            gs += fabs(sm_bert_grads(f.m)[i]);
        }
        ck_assert(gs > 0);
        sm_rng_seed(&r, 7);
        ck_assert_int_eq(sm_bert_forward(f.m, w, a, &f.b, SM_BERT_TRAIN, &r, &e), SM_OK);
        memcpy(l2, sm_bert_acts_logits(a), (size_t)(B * C) * sizeof(float));
        ck_assert(memcmp(l1, l2, (size_t)(B * C) * sizeof(float)) == 0);
        ck_assert_int_eq(sm_bert_forward(f.m, w, a, &f.b, SM_BERT_EVAL, NULL, &e), SM_OK);
        memcpy(le, sm_bert_acts_logits(a), (size_t)(B * C) * sizeof(float));
        ck_assert(memcmp(l1, le, (size_t)(B * C) * sizeof(float)) != 0);
        free(dx);
        sm_bert_acts_free(a);
        fix_close(&f);
    }
}
END_TEST

/* ---- finite differences on small random models of each family ------------------------------------- */

static double fd_loss(sm_bert *m, sm_bert_acts *a, const sm_batch *b)
{
    sm_error e;
    ck_assert_msg(sm_bert_forward(m, sm_bert_weights(m), a, b, SM_BERT_EVAL, NULL, &e) == SM_OK, "%s", e.msg);
    double loss;
    ck_assert_int_eq(sm_bert_task_loss(m, sm_bert_acts_logits(a), b, &loss, NULL, &e), SM_OK);
    return loss;
}

/* d loss / d every element of the named tensors against central differences (eps 1e-2, float32). */
static void fd_family(sm_family fam, int num_labels, const char *const *tensors)
{
    sm_bert_config c;
    sm_config_default(&c);
    c.family = fam;
    c.vocab_size = 20;
    c.hidden_size = 8;
    c.num_layers = 1;
    c.num_heads = 2;
    c.intermediate_size = 12;
    c.max_position = 12;
    c.type_vocab_size = fam == SM_FAMILY_DISTILBERT ? 0 : 2;
    c.pad_token_id = fam == SM_FAMILY_ROBERTA || fam == SM_FAMILY_XLM_ROBERTA ? 1 : 0;
    c.embedding_size = fam == SM_FAMILY_ELECTRA ? 6 : 0;
    c.initializer_range = 0.5f;
    sm_error e;
    ck_assert_int_eq(sm_config_set_labels(&c, num_labels, NULL, &e), SM_OK);
    sm_bert *m;
    ck_assert_msg(sm_bert_create(&m, &c, 1, &e) == SM_OK, "%s", e.msg);
    sm_rng r;
    sm_rng_seed(&r, 3);
    sm_bert_init(m, &r);
    /* biases and LayerNorm parameters random too, so that their gradients are not special */
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        if (t->kind == SM_TENSOR_BIAS || t->kind == SM_TENSOR_NORM_BIAS || t->kind == SM_TENSOR_NORM_WEIGHT)
            for (size_t k = 0; k < t->numel; k++)
                sm_bert_weights(m)[t->offset + k] += (float)(0.3 * sm_rng_normal(&r));
    }
    enum { B = 3, T = 7 };
    int32_t ids[B * T] = {3, 5, 6, 7, 8, 2, 1, 3, 9, 2, 1, 1, 1, 1, 3, 11, 12, 2, 13, 14, 2};
    int32_t types[B * T] = {0};
    float mask[B * T];
    int32_t len[B] = {6, 3, 7}, labels[B] = {1, 0, num_labels - 1};
    float targets[B] = {0.5f, -1.0f, 2.0f};
    const int32_t pad = c.pad_token_id;
    for (int n = 0; n < B * T; n++) {
        if (n % T >= len[n / T])
            ids[n] = pad;
        mask[n] = n % T < len[n / T] ? 1.0f : 0.0f;
        types[n] = (n / T == 2 && n % T >= 3 && c.type_vocab_size) ? 1 : 0;
    }
    sm_batch b = {B, T, ids, types, mask, len, num_labels > 1 ? labels : NULL, num_labels > 1 ? NULL : targets,
                  NULL, B, T};
    sm_bert_acts *a;
    ck_assert_msg(sm_bert_acts_create(&a, m, B, T, 1, &e) == SM_OK, "%s", e.msg);
    float *w = sm_bert_weights(m), *g = sm_bert_grads(m);
    ck_assert_int_eq(sm_bert_forward(m, w, a, &b, SM_BERT_EVAL, NULL, &e), SM_OK);
    float dl[B * 4], *dx = malloc((size_t)B * T * c.hidden_size * sizeof *dx);
    double loss;
    ck_assert_int_eq(sm_bert_task_loss(m, sm_bert_acts_logits(a), &b, &loss, dl, &e), SM_OK);
    sm_bert_zero_grads(m);
    ck_assert_int_eq(sm_bert_backward(m, w, g, a, dl, dx, &e), SM_OK);
    ck_assert_int_eq(sm_bert_embed_backward(m, w, g, a, dx, &e), SM_OK);
    for (; *tensors; tensors++) {
        int i = sm_bert_tensor_find(m, *tensors);
        ck_assert_msg(i >= 0, "no tensor %s", *tensors);
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        double gmax = 0;
        for (size_t k = 0; k < t->numel; k++)
            gmax = fmax(gmax, fabs(g[t->offset + k]));
        ck_assert_msg(gmax > 1e-3, "%s: gradient all but zero", t->name);
        for (size_t k = 0; k < t->numel; k++) {
            float *p = w + t->offset + k, keep = *p;
            const float eps = 1e-2f;
            *p = keep + eps;
            double up = fd_loss(m, a, &b);
            *p = keep - eps;
            double down = fd_loss(m, a, &b);
            *p = keep;
            double num = (up - down) / (2.0 * eps), got = g[t->offset + k];
            ck_assert_msg(fabs(num - got) <= 2e-3 + 2e-2 * fabs(num), "%s[%zu]: analytic %.6g, numeric %.6g",
                          t->name, k, got, num);
        }
    }
    free(dx);
    sm_bert_acts_free(a);
    sm_bert_free(m);
    sm_config_free(&c);
}

START_TEST(test_fd_roberta)
{
    static const char *const t[] = {"roberta.embeddings.position_embeddings.weight",
                                    "roberta.embeddings.word_embeddings.weight", "classifier.dense.weight",
                                    "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias",
                                    NULL};
    fd_family(SM_FAMILY_ROBERTA, 3, t);
    fd_family(SM_FAMILY_XLM_ROBERTA, 1, t);
}
END_TEST

START_TEST(test_fd_distilbert)
{
    static const char *const t[] = {"distilbert.embeddings.position_embeddings.weight", "pre_classifier.weight",
                                    "pre_classifier.bias", "classifier.weight", "classifier.bias",
                                    "distilbert.transformer.layer.0.attention.out_lin.weight",
                                    "distilbert.transformer.layer.0.sa_layer_norm.weight", NULL};
    fd_family(SM_FAMILY_DISTILBERT, 2, t);
}
END_TEST

START_TEST(test_fd_electra)
{
    static const char *const t[] = {"electra.embeddings_project.weight", "electra.embeddings_project.bias",
                                    "electra.embeddings.LayerNorm.weight", "electra.embeddings.word_embeddings.weight",
                                    "electra.embeddings.token_type_embeddings.weight", "classifier.dense.weight",
                                    "classifier.out_proj.weight", NULL};
    fd_family(SM_FAMILY_ELECTRA, 3, t);
}
END_TEST

/* RoBERTa's positions: pad + 1, pad + 2, ... over non-pad ids, pad on padding, in any row layout; a
 * workspace longer than the positions after padding_idx is refused. */
START_TEST(test_roberta_positions)
{
    sm_bert_config c;
    sm_config_default(&c);
    c.family = SM_FAMILY_ROBERTA;
    c.vocab_size = 20;
    c.hidden_size = 8;
    c.num_layers = 1;
    c.num_heads = 2;
    c.intermediate_size = 8;
    c.max_position = 10;
    c.type_vocab_size = 1;
    c.pad_token_id = 1;
    sm_error e;
    sm_bert *m;
    ck_assert_int_eq(sm_bert_create(&m, &c, 0, &e), SM_OK);
    sm_bert_acts *a;
    ck_assert_int_eq(sm_bert_acts_create(&a, m, 1, 9, 0, &e), SM_ERR_RANGE);
    ck_assert_msg(strstr(e.msg, "8 positions") && strstr(e.msg, "pad_token_id 1"), "%s", e.msg);
    ck_assert_int_eq(sm_bert_acts_create(&a, m, 1, 8, 0, &e), SM_OK);
    sm_bert_acts_free(a);
    sm_bert_free(m);
    c.max_position = 2;
    ck_assert_int_eq(sm_bert_create(&m, &c, 0, &e), SM_ERR_RANGE);
    ck_assert_msg(strstr(e.msg, "no position after padding_idx"), "%s", e.msg);
}
END_TEST

static Suite *families_suite(void)
{
    Suite *s = suite_create("families");
    TCase *tc = tcase_create("against transformers");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roberta_reference);
    tcase_add_test(tc, test_xlmr_reference);
    tcase_add_test(tc, test_distilbert_reference);
    tcase_add_test(tc, test_electra_reference);
    tcase_add_test(tc, test_save_roundtrip);
    tcase_add_test(tc, test_pretraining_checkpoints);
    tcase_add_test(tc, test_save_with_bpe);
    tcase_add_test(tc, test_base_checkpoints);
    tcase_add_test(tc, test_missing_tensor);
    tcase_add_test(tc, test_train_mode);
    suite_add_tcase(s, tc);
    TCase *fd = tcase_create("finite differences");
    tcase_set_timeout(fd, 120);
    tcase_add_test(fd, test_fd_roberta);
    tcase_add_test(fd, test_fd_distilbert);
    tcase_add_test(fd, test_fd_electra);
    tcase_add_test(fd, test_roberta_positions);
    suite_add_tcase(s, fd);
    return s;
}

int main(void)
{
    return tu_run(families_suite());
}
