/* model_config.c: encoder configurations (BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA) from and to Hugging
 * Face's config.json (jansson), with the defaults of transformers' config classes and each family's
 * field names. It checks types and ranges and refuses what the engine does not run (another
 * model_type, an activation other than exact GELU, multi-label problems); it loads no weights. */
#include "smartty/model_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What differs between the families' config.json: the model_type, the names of the shape, dropout and
 * activation fields, the architecture written back, and the defaults that differ from BertConfig's. */
typedef struct family_fields {
    const char *model_type, *architecture;
    const char *hidden, *layers, *heads, *ffn, *hdrop, *adrop, *cdrop, *act;
    int vocab, hidden_default, layers_default, heads_default, ffn_default, pad, has_types;
} family_fields;

static const family_fields families[SM_FAMILY_COUNT] = {
    [SM_FAMILY_BERT] = {"bert", "BertForSequenceClassification", "hidden_size", "num_hidden_layers",
                        "num_attention_heads", "intermediate_size", "hidden_dropout_prob",
                        "attention_probs_dropout_prob", "classifier_dropout", "hidden_act", 30522, 768, 12, 12, 3072, 0, 1},
    [SM_FAMILY_ROBERTA] = {"roberta", "RobertaForSequenceClassification", "hidden_size", "num_hidden_layers",
                           "num_attention_heads", "intermediate_size", "hidden_dropout_prob",
                           "attention_probs_dropout_prob", "classifier_dropout", "hidden_act", 50265, 768, 12, 12, 3072, 1, 1},
    [SM_FAMILY_XLM_ROBERTA] = {"xlm-roberta", "XLMRobertaForSequenceClassification", "hidden_size",
                               "num_hidden_layers", "num_attention_heads", "intermediate_size",
                               "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                               "hidden_act", 30522, 768, 12, 12, 3072, 1, 1},
    [SM_FAMILY_DISTILBERT] = {"distilbert", "DistilBertForSequenceClassification", "dim", "n_layers", "n_heads",
                              "hidden_dim", "dropout", "attention_dropout", "seq_classif_dropout", "activation",
                              30522, 768, 6, 12, 3072, 0, 0},
    [SM_FAMILY_ELECTRA] = {"electra", "ElectraForSequenceClassification", "hidden_size", "num_hidden_layers",
                           "num_attention_heads", "intermediate_size", "hidden_dropout_prob",
                           "attention_probs_dropout_prob", "classifier_dropout", "hidden_act", 30522, 256, 12, 4, 1024, 0, 1},
};

const char *sm_family_model_type(sm_family f)
{
    return f >= 0 && f < SM_FAMILY_COUNT ? families[f].model_type : "unknown";
}

void sm_config_default(sm_bert_config *c)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 30522;
    c->hidden_size = 768;
    c->num_layers = 12;
    c->num_heads = 12;
    c->intermediate_size = 3072;
    c->max_position = 512;
    c->type_vocab_size = 2;
    c->pad_token_id = 0;
    c->layer_norm_eps = 1e-12f;
    c->hidden_dropout = 0.1f;
    c->attn_dropout = 0.1f;
    c->classifier_dropout = 0.1f;
    c->initializer_range = 0.02f;
    snprintf(c->hidden_act, sizeof c->hidden_act, "gelu");
    c->num_labels = 2;
    c->problem = SM_PROBLEM_SINGLE_LABEL;
    c->id2label = NULL; /* NULL means LABEL_0 .. LABEL_{n-1} */
}

void sm_config_free(sm_bert_config *c)
{
    if (!c)
        return;
    if (c->id2label) {
        for (int i = 0; i < c->num_labels; i++)
            free(c->id2label[i]);
        free(c->id2label);
    }
    c->id2label = NULL;
}

const char *sm_config_label(const sm_bert_config *c, int i, char *buf, size_t cap)
{
    if (c->id2label && i >= 0 && i < c->num_labels && c->id2label[i])
        return c->id2label[i];
    snprintf(buf, cap, "LABEL_%d", i);
    return buf;
}

sm_status sm_config_set_labels(sm_bert_config *c, int num_labels, const char *const *labels, sm_error *e)
{
    if (num_labels < 1 || num_labels > 100000)
        return sm_err(e, SM_ERR_RANGE, "num_labels %d is out of range (1 to 100000)", num_labels);
    char **names = sm_calloc((size_t)num_labels, sizeof *names, e, "label names");
    if (!names)
        return SM_ERR_NOMEM;
    for (int i = 0; i < num_labels; i++) {
        char tmp[32];
        names[i] = sm_strdup(labels && labels[i] ? labels[i] : (snprintf(tmp, sizeof tmp, "LABEL_%d", i), tmp));
        if (!names[i]) {
            for (int k = 0; k < i; k++)
                free(names[k]);
            free(names);
            return sm_err(e, SM_ERR_NOMEM, "out of memory for label names");
        }
    }
    sm_config_free(c);
    c->num_labels = num_labels;
    c->problem = num_labels == 1 ? SM_PROBLEM_REGRESSION : SM_PROBLEM_SINGLE_LABEL;
    c->id2label = names;
    return SM_OK;
}

sm_status sm_config_copy(sm_bert_config *dst, const sm_bert_config *src, sm_error *e)
{
    *dst = *src;
    dst->id2label = NULL;
    if (!src->id2label)
        return SM_OK;
    sm_status st = sm_config_set_labels(dst, src->num_labels, (const char *const *)src->id2label, e);
    dst->problem = src->problem;
    return st;
}

/* ---- reading ---- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* An integer field in [lo, hi]. Absent: *out unchanged unless required. */
static sm_status get_int(json_t *root, const char *path, const char *key, int required, long lo, long hi,
                         int *out, sm_error *e)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (required)
            return sm_err(e, SM_ERR_FORMAT, "%s: required field \"%s\" is missing; add it (an integer) or use "
                          "the config.json that came with the checkpoint", path, key);
        return SM_OK;
    }
    /* transformers writes whole numbers as integers; accept 12.0 as 12 but nothing fractional */
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)))
        d = json_real_value(v);
    else
        return sm_err(e, SM_ERR_FORMAT, "%s: field \"%s\" must be an integer, but it is %s", path, key,
                      json_kind(v));
    if (d < (double)lo || d > (double)hi)
        return sm_err(e, SM_ERR_RANGE, "%s: field \"%s\" is %.0f, outside the range %ld to %ld", path, key, d,
                      lo, hi);
    *out = (int)d;
    return SM_OK;
}

/* A number field in [lo, hi] (or [lo, hi) when open_hi). */
static sm_status get_num(json_t *root, const char *path, const char *key, double lo, double hi, int open_hi,
                         float *out, sm_error *e)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return SM_OK;
    if (!json_is_number(v))
        return sm_err(e, SM_ERR_FORMAT, "%s: field \"%s\" must be a number, but it is %s", path, key,
                      json_kind(v));
    double d = json_number_value(v);
    if (!(d >= lo && (open_hi ? d < hi : d <= hi)))
        return sm_err(e, SM_ERR_RANGE, "%s: field \"%s\" is %g, outside the range [%g, %g%c", path, key, d, lo,
                      hi, open_hi ? ')' : ']');
    *out = (float)d;
    return SM_OK;
}

static sm_status parse_labels(json_t *root, const char *path, sm_bert_config *c, sm_error *e)
{
    json_t *id2 = json_object_get(root, "id2label");
    json_t *nl = json_object_get(root, "num_labels");
    int n = c->num_labels;
    sm_status st;
    if (nl && !json_is_null(nl) && (st = get_int(root, path, "num_labels", 0, 1, 100000, &n, e)) != SM_OK)
        return st;
    if (!id2 || json_is_null(id2))
        return sm_config_set_labels(c, n, NULL, e);
    if (!json_is_object(id2))
        return sm_err(e, SM_ERR_FORMAT, "%s: field \"id2label\" must be an object such as {\"0\": \"neg\", "
                      "\"1\": \"pos\"}, but it is %s", path, json_kind(id2));
    size_t m = json_object_size(id2);
    if (m < 1 || m > 100000)
        return sm_err(e, SM_ERR_RANGE, "%s: field \"id2label\" has %zu entries; it needs 1 to 100000", path, m);
    if (nl && !json_is_null(nl) && (size_t)n != m)
        sm_log(SM_LOG_NOTICE, "%s: num_labels is %d but id2label has %zu entries: using id2label", path, n, m);
    const char **names = calloc(m, sizeof *names);
    if (!names)
        return sm_err(e, SM_ERR_NOMEM, "%s: out of memory for id2label", path);
    const char *k;
    json_t *v;
    st = SM_OK;
    json_object_foreach(id2, k, v) {
        char *end;
        long id = strtol(k, &end, 10);
        if (!*k || *end || id < 0 || (size_t)id >= m) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: id2label key \"%s\" is not a label id from 0 to %zu", path, k,
                        m - 1);
            break;
        }
        if (!json_is_string(v)) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: id2label[\"%s\"] must be a string, but it is %s", path, k,
                        json_kind(v));
            break;
        }
        if (names[id]) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: id2label gives label id %ld twice", path, id);
            break;
        }
        names[id] = json_string_value(v);
    }
    if (st == SM_OK)
        st = sm_config_set_labels(c, (int)m, names, e);
    free(names);
    return st;
}

static sm_status parse_config(json_t *root, const char *path, sm_bert_config *c, sm_error *e)
{
    sm_status st;
    json_t *v;
    if (!json_is_object(root))
        return sm_err(e, SM_ERR_FORMAT, "%s: the configuration is %s, not a JSON object", path, json_kind(root));
    c->family = SM_FAMILY_BERT;
    if ((v = json_object_get(root, "model_type")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return sm_err(e, SM_ERR_FORMAT, "%s: field \"model_type\" must be a string, but it is %s", path,
                          json_kind(v));
        int k = 0;
        while (k < SM_FAMILY_COUNT && strcmp(json_string_value(v), families[k].model_type) != 0)
            k++;
        if (k == SM_FAMILY_COUNT)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model_type is \"%s\"; smartty runs \"bert\", \"roberta\", "
                          "\"xlm-roberta\", \"distilbert\" and \"electra\" models only", path, json_string_value(v));
        c->family = (sm_family)k;
    }
    const family_fields *ff = &families[c->family];
    c->vocab_size = ff->vocab;
    c->hidden_size = ff->hidden_default;
    c->num_layers = ff->layers_default;
    c->num_heads = ff->heads_default;
    c->intermediate_size = ff->ffn_default;
    c->pad_token_id = ff->pad;
    c->type_vocab_size = ff->has_types ? 2 : 0;
    if ((st = get_int(root, path, "vocab_size", 1, 1, 100000000, &c->vocab_size, e)) ||
        (st = get_int(root, path, ff->hidden, 1, 1, 65536, &c->hidden_size, e)) ||
        (st = get_int(root, path, ff->layers, 1, 1, 1024, &c->num_layers, e)) ||
        (st = get_int(root, path, ff->heads, 1, 1, 65536, &c->num_heads, e)) ||
        (st = get_int(root, path, ff->ffn, 1, 1, 1048576, &c->intermediate_size, e)) ||
        (st = get_int(root, path, "max_position_embeddings", 0, 1, 1048576, &c->max_position, e)) ||
        (ff->has_types && (st = get_int(root, path, "type_vocab_size", 0, 1, 65536, &c->type_vocab_size, e))))
        return st;
    if (c->family == SM_FAMILY_ELECTRA) {
        c->embedding_size = 128;
        if ((st = get_int(root, path, "embedding_size", 0, 1, 65536, &c->embedding_size, e)))
            return st;
    }
    if ((v = json_object_get(root, "pad_token_id")) && !json_is_null(v) &&
        (st = get_int(root, path, "pad_token_id", 0, 0, c->vocab_size - 1, &c->pad_token_id, e)))
        return st;
    if (c->hidden_size % c->num_heads != 0)
        return sm_err(e, SM_ERR_FORMAT, "%s: %s %d is not a multiple of %s %d", path, ff->hidden, c->hidden_size,
                      ff->heads, c->num_heads);
    if ((c->family != SM_FAMILY_DISTILBERT && /* DistilBERT's LayerNorms have eps 1e-12, not configurable */
         (st = get_num(root, path, "layer_norm_eps", 0.0, 1.0, 0, &c->layer_norm_eps, e))) ||
        (st = get_num(root, path, ff->hdrop, 0.0, 1.0, 1, &c->hidden_dropout, e)) ||
        (st = get_num(root, path, ff->adrop, 0.0, 1.0, 1, &c->attn_dropout, e)) ||
        (st = get_num(root, path, "initializer_range", 0.0, 10.0, 0, &c->initializer_range, e)))
        return st;
    c->classifier_dropout = c->family == SM_FAMILY_DISTILBERT ? 0.2f : c->hidden_dropout;
    if ((v = json_object_get(root, ff->cdrop)) && !json_is_null(v) &&
        (st = get_num(root, path, ff->cdrop, 0.0, 1.0, 1, &c->classifier_dropout, e)))
        return st;
    if ((v = json_object_get(root, ff->act))) {
        if (!json_is_string(v))
            return sm_err(e, SM_ERR_FORMAT, "%s: field \"%s\" must be a string, but it is %s", path, ff->act,
                          json_kind(v));
        if (strcmp(json_string_value(v), "gelu") != 0)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported: smartty implements "
                          "\"gelu\" (the exact erf GELU) only", path, ff->act, json_string_value(v));
    }
    if ((v = json_object_get(root, "position_embedding_type")) && !json_is_null(v) &&
        (!json_is_string(v) || strcmp(json_string_value(v), "absolute") != 0))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: position_embedding_type must be \"absolute\" (the only kind "
                      "smartty implements)", path);
    if ((v = json_object_get(root, "sinusoidal_pos_embds")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return sm_err(e, SM_ERR_FORMAT, "%s: field \"sinusoidal_pos_embds\" must be a boolean, but it is %s",
                          path, json_kind(v));
        if (json_is_true(v))
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: sinusoidal_pos_embds is true: smartty implements learned "
                          "position embeddings only (sinusoidal_pos_embds false)", path);
    }
    if ((st = parse_labels(root, path, c, e)) != SM_OK)
        return st;
    v = json_object_get(root, "problem_type");
    if (!v || json_is_null(v)) {
        c->problem = c->num_labels == 1 ? SM_PROBLEM_REGRESSION : SM_PROBLEM_SINGLE_LABEL;
    } else if (!json_is_string(v)) {
        return sm_err(e, SM_ERR_FORMAT, "%s: field \"problem_type\" must be a string, but it is %s", path,
                      json_kind(v));
    } else if (!strcmp(json_string_value(v), "regression")) {
        if (c->num_labels != 1)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: problem_type \"regression\" with %d labels: smartty's "
                          "regression head has one output (num_labels 1)", path, c->num_labels);
        c->problem = SM_PROBLEM_REGRESSION;
    } else if (!strcmp(json_string_value(v), "single_label_classification")) {
        if (c->num_labels < 2)
            return sm_err(e, SM_ERR_FORMAT, "%s: problem_type \"single_label_classification\" needs at least "
                          "2 labels, but num_labels is %d", path, c->num_labels);
        c->problem = SM_PROBLEM_SINGLE_LABEL;
    } else {
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: problem_type \"%s\" is not supported: use "
                      "\"single_label_classification\" or \"regression\"", path, json_string_value(v));
    }
    return SM_OK;
}

sm_status sm_config_load(const char *path, sm_bert_config *c, sm_error *e)
{
    sm_config_default(c);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (jerr.line < 0 || !sm_file_exists(path))
            return sm_err(e, SM_ERR_IO, "%s: cannot read: %s", path, jerr.text);
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column, jerr.text);
    }
    sm_status st = parse_config(root, path, c, e);
    json_decref(root);
    if (st != SM_OK)
        sm_config_free(c);
    return st;
}

/* ---- writing ---- */

/* The float as the shortest decimal that reads back as the same float, so that 0.1f is written 0.1. */
static json_t *real_of(float f)
{
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f)
            break;
    }
    return json_real(strtod(buf, NULL));
}

char *sm_config_to_json(const sm_bert_config *c)
{
    json_t *o = json_object(), *id2 = json_object(), *l2i = json_object(), *arch = json_array();
    if (!o || !id2 || !l2i || !arch) {
        json_decref(o);
        json_decref(id2);
        json_decref(l2i);
        json_decref(arch);
        return NULL;
    }
    const sm_family fam = c->family >= 0 && c->family < SM_FAMILY_COUNT ? c->family : SM_FAMILY_BERT;
    const family_fields *ff = &families[fam];
    const int distil = fam == SM_FAMILY_DISTILBERT;
    int bad = json_array_append_new(arch, json_string(ff->architecture));
    for (int i = 0; i < c->num_labels; i++) {
        char key[32], lb[32];
        snprintf(key, sizeof key, "%d", i);
        const char *name = sm_config_label(c, i, lb, sizeof lb);
        bad |= json_object_set_new(id2, key, json_string(name));
        bad |= json_object_set_new(l2i, name, json_integer(i));
    }
    bad |= json_object_set_new(o, "architectures", arch);
    bad |= json_object_set_new(o, ff->adrop, real_of(c->attn_dropout));
    bad |= json_object_set_new(o, ff->cdrop, c->classifier_dropout == c->hidden_dropout && !distil
                                                 ? json_null() : real_of(c->classifier_dropout));
    bad |= json_object_set_new(o, ff->act, json_string(c->hidden_act[0] ? c->hidden_act : "gelu"));
    bad |= json_object_set_new(o, ff->hdrop, real_of(c->hidden_dropout));
    bad |= json_object_set_new(o, ff->hidden, json_integer(c->hidden_size));
    bad |= json_object_set_new(o, "id2label", id2);
    bad |= json_object_set_new(o, "initializer_range", real_of(c->initializer_range));
    bad |= json_object_set_new(o, ff->ffn, json_integer(c->intermediate_size));
    bad |= json_object_set_new(o, "label2id", l2i);
    if (!distil)
        bad |= json_object_set_new(o, "layer_norm_eps", real_of(c->layer_norm_eps));
    bad |= json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position));
    bad |= json_object_set_new(o, "model_type", json_string(ff->model_type));
    bad |= json_object_set_new(o, ff->heads, json_integer(c->num_heads));
    bad |= json_object_set_new(o, ff->layers, json_integer(c->num_layers));
    bad |= json_object_set_new(o, "pad_token_id", json_integer(c->pad_token_id));
    if (distil)
        bad |= json_object_set_new(o, "sinusoidal_pos_embds", json_false());
    else
        bad |= json_object_set_new(o, "position_embedding_type", json_string("absolute"));
    if (fam == SM_FAMILY_ELECTRA)
        bad |= json_object_set_new(o, "embedding_size",
                                   json_integer(c->embedding_size > 0 ? c->embedding_size : c->hidden_size));
    bad |= json_object_set_new(o, "problem_type", json_string(c->problem == SM_PROBLEM_REGRESSION
                                                                 ? "regression" : "single_label_classification"));
    if (ff->has_types)
        bad |= json_object_set_new(o, "type_vocab_size", json_integer(c->type_vocab_size));
    bad |= json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    char *s = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!s)
        return NULL;
    /* end with a newline, as transformers does */
    size_t n = strlen(s);
    char *out = malloc(n + 2);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    free(s);
    return out;
}
