/* hf.c: Hugging Face checkpoint folders to and from sm_bert models: name matching for checkpoints in
 * the wild, shape checks against config.json, fresh heads for masked-LM checkpoints, notices for what
 * is unused; and a writer of folders transformers loads. It parses no tokenizer files (tokenizer_hf.c does). */
#include "smartty/hf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smartty/model_config.h"
#include "smartty/model.h"
#include "smartty/safetensors.h"
#include "smartty/tokenizer.h"

void sm_hf_load_opts_default(sm_hf_load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->init_seed = 42;
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Replace a trailing "LayerNorm.weight"/"LayerNorm.bias" by the legacy "LayerNorm.gamma"/"beta". */
static int legacy_name(const char *name, char *buf, size_t cap)
{
    static const char *const from[2] = {"LayerNorm.weight", "LayerNorm.bias"};
    static const char *const to[2] = {"LayerNorm.gamma", "LayerNorm.beta"};
    size_t n = strlen(name);
    for (int k = 0; k < 2; k++) {
        size_t f = strlen(from[k]);
        if (n >= f && !strcmp(name + n - f, from[k]) &&
            (size_t)snprintf(buf, cap, "%.*s%s", (int)(n - f), name, to[k]) < cap)
            return 1;
    }
    return 0;
}

/* The length of a base model's prefix ("bert.", "roberta.", "distilbert.", "electra.") that name
 * starts with, else 0. */
static size_t base_len(const char *name)
{
    static const char *const prefixes[] = {"bert.", "roberta.", "distilbert.", "electra."};
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
        if (starts_with(name, prefixes[k]))
            return strlen(prefixes[k]);
    return 0;
}

/* The checkpoint tensor that holds model tensor `name`: exact, without the base prefix ("bert.",
 * "roberta.", ...: a base model's own checkpoint), legacy LayerNorm names with and without it. -1
 * when absent. */
static long find_tensor(const sm_st_file *f, const char *name)
{
    char legacy[512];
    long j = sm_st_find(f, name);
    if (j < 0 && base_len(name))
        j = sm_st_find(f, name + base_len(name));
    if (j < 0 && legacy_name(name, legacy, sizeof legacy)) {
        j = sm_st_find(f, legacy);
        if (j < 0 && base_len(legacy))
            j = sm_st_find(f, legacy + base_len(legacy));
    }
    return j;
}

/* A pretraining head's tensor (masked-LM, ELECTRA's discriminator or generator): the checkpoint is not
 * a sequence classifier, and its classification head starts fresh. */
static int is_pretraining_head(const char *name)
{
    static const char *const heads[] = {"cls.predictions.", "lm_head.", "vocab_transform.", "vocab_layer_norm.",
                                        "vocab_projector.", "generator_predictions.", "generator_lm_head.",
                                        "discriminator_predictions."};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
        if (starts_with(name, heads[k]))
            return 1;
    return 0;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* A list of names for a notice, cut with "and N more" when long. */
static void name_list(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (len + strlen(names[i]) + 40 >= cap) {
            snprintf(buf + len, cap - len, " and %zu more", n - i);
            return;
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
    }
}

static sm_status check_dir(const char *dir, char *cfg_path, char *st_path, size_t cap, sm_error *e)
{
    if (!sm_dir_exists(dir))
        return sm_err(e, SM_ERR_IO, "%s: not a folder: give the checkpoint folder (config.json, "
                      "model.safetensors, vocab.txt)", dir);
    if (!sm_path_join(cfg_path, cap, dir, "config.json") || !sm_path_join(st_path, cap, dir, "model.safetensors"))
        return sm_err(e, SM_ERR_INVALID, "%s: path too long", dir);
    if (!sm_file_exists(cfg_path))
        return sm_err(e, SM_ERR_NOTFOUND, "%s: no config.json: a Hugging Face checkpoint folder needs the "
                      "config.json saved with its weights", dir);
    return SM_OK;
}

static sm_status check_weights_file(const char *dir, const char *st_path, sm_error *e)
{
    if (sm_file_exists(st_path))
        return SM_OK;
    char other[4096];
    if (sm_path_join(other, sizeof other, dir, "model.safetensors.index.json") && sm_file_exists(other))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the weights are sharded (model.safetensors.index.json): "
                      "save the model as one model.safetensors file", dir);
    if (sm_path_join(other, sizeof other, dir, "pytorch_model.bin") && sm_file_exists(other))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: only pytorch_model.bin is present: smartty reads "
                      "safetensors; convert it (model.save_pretrained(dir, safe_serialization=True))", dir);
    return sm_err(e, SM_ERR_NOTFOUND, "%s: no model.safetensors in the folder", dir);
}

sm_status sm_hf_load(const char *dir, const sm_hf_load_opts *opts, sm_bert **out, sm_bert_config *cfg_out,
                     sm_hf_info *info, sm_error *e)
{
    sm_hf_load_opts defaults;
    if (!opts) {
        sm_hf_load_opts_default(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    sm_hf_info inf;
    memset(&inf, 0, sizeof inf);
    char cfg_path[4096], st_path[4096];
    sm_status st = check_dir(dir, cfg_path, st_path, sizeof cfg_path, e);
    if (st != SM_OK)
        return st;

    sm_bert_config cfg;
    if ((st = sm_config_load(cfg_path, &cfg, e)) != SM_OK)
        return st;
    int ckpt_labels = cfg.num_labels, relabelled = 0;
    if (opts->num_labels > 0 && (opts->num_labels != cfg.num_labels || opts->labels)) {
        sm_problem_type keep = cfg.problem;
        if ((st = sm_config_set_labels(&cfg, opts->num_labels, opts->labels, e)) != SM_OK) {
            sm_config_free(&cfg);
            return st;
        }
        if (opts->num_labels == ckpt_labels)
            cfg.problem = keep;
        relabelled = opts->num_labels != ckpt_labels;
    }

    sm_st_file *f = NULL;
    sm_bert *m = NULL;
    char *used = NULL;
    const char **list = NULL;
    int *fresh = NULL, n_fresh = 0;
    if ((st = check_weights_file(dir, st_path, e)) != SM_OK || (st = sm_st_open(st_path, &f, e)) != SM_OK)
        goto fail;
    if ((st = sm_bert_create(&m, &cfg, opts->with_grads, e)) != SM_OK) {
        sm_err_prefix(e, "%s", dir);
        goto fail;
    }
    size_t nf = sm_st_count(f);
    int nt = sm_bert_tensor_count(m);
    used = calloc(nf ? nf : 1, 1);
    list = calloc((nf > (size_t)nt ? nf : (size_t)nt) + 1, sizeof *list);
    fresh = calloc((size_t)nt + 1, sizeof *fresh);
    if (!used || !list || !fresh) {
        st = sm_err(e, SM_ERR_NOMEM, "%s: out of memory", dir);
        goto fail;
    }
    for (size_t j = 0; j < nf; j++)
        if (is_pretraining_head(sm_st_tensor_at(f, j)->name))
            inf.masked_lm = 1;

    float *w = sm_bert_weights(m);
    int n_missing = 0;
    const char *first_missing = NULL;
    for (int i = 0; i < nt; i++) {
        const sm_tensor_info *ti = sm_bert_tensor(m, i);
        long j = find_tensor(f, ti->name);
        if (j < 0) {
            if (sm_bert_tensor_is_head(m, i)) {
                fresh[n_fresh++] = i;
            } else if (n_missing++ == 0) {
                first_missing = ti->name;
            }
            continue;
        }
        const sm_st_tensor *t = sm_st_tensor_at(f, (size_t)j);
        int64_t want[2] = {ti->shape[0], ti->shape[1]};
        int same = t->ndim == ti->ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == want[d];
        if (!same) {
            if (relabelled && sm_bert_tensor_is_head(m, i) == 2) {
                fresh[n_fresh++] = i;
                used[j] = 1;
                continue;
            }
            char have_s[96], want_s[96];
            shape_str(have_s, sizeof have_s, t->ndim, t->shape);
            shape_str(want_s, sizeof want_s, ti->ndim, want);
            st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s' has shape %s but config.json (hidden_size %d, "
                        "intermediate_size %d, vocab_size %d, max_position_embeddings %d, type_vocab_size %d, "
                        "%d labels) needs %s: the weights and config.json do not belong together; use the "
                        "config.json saved with these weights", st_path, t->name, have_s, cfg.hidden_size,
                        cfg.intermediate_size, cfg.vocab_size, cfg.max_position, cfg.type_vocab_size,
                        cfg.num_labels, want_s);
            goto fail;
        }
        float *dst = w + ti->offset;
        if ((st = sm_st_read_float(f, (size_t)j, dst, ti->numel, e)) != SM_OK)
            goto fail;
        for (size_t k = 0; k < ti->numel; k++)
            if (!isfinite(dst[k])) {
                st = sm_err(e, SM_ERR_NONFINITE, "%s: tensor '%s' holds a non-finite value (%g at element %zu): "
                            "the checkpoint is damaged", st_path, t->name, (double)dst[k], k);
                goto fail;
            }
        if (inf.n_loaded++ == 0)
            snprintf(inf.dtype, sizeof inf.dtype, "%s", sm_st_dtype_name(t->dtype));
        used[j] = 1;
    }
    if (n_missing) {
        char more[64] = "";
        if (n_missing > 1)
            snprintf(more, sizeof more, " (and %d more)", n_missing - 1);
        st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s' is missing%s: the checkpoint is incomplete or not a %s "
                    "model; use a complete %s checkpoint saved by transformers", st_path, first_missing, more,
                    sm_bert_family_display(m), sm_bert_family_display(m));
        goto fail;
    }

    if (n_fresh) {
        sm_rng rng;
        sm_rng_seed(&rng, opts->init_seed);
        for (int k = 0; k < n_fresh; k++) {
            sm_bert_init_tensor(m, fresh[k], &rng);
            list[k] = sm_bert_tensor(m, fresh[k])->name;
            if (sm_bert_tensor_is_head(m, fresh[k]) == 2)
                inf.fresh_classifier = 1;
        }
        char names[2048];
        name_list(names, sizeof names, list, (size_t)n_fresh);
        if (opts->quiet)
            (void)0; /* a reload: the notice was given */
        else if (inf.masked_lm)
            sm_log(SM_LOG_NOTICE, "%s: a %s checkpoint: the %s initialised fresh (normal(0, %g), biases 0): "
                   "%s; fine-tune before trusting its outputs", dir,
                   cfg.family == SM_FAMILY_BERT ? "masked-language-model" : "pretraining (masked-LM or discriminator)",
                   cfg.family == SM_FAMILY_BERT ? "pooler and the classifier are" : "classification head is",
                   (double)cfg.initializer_range, names);
        else if (relabelled)
            sm_log(SM_LOG_NOTICE, "%s: %d labels instead of the checkpoint's %d: initialised fresh (normal(0, %g), "
                   "biases 0): %s", dir, cfg.num_labels, ckpt_labels, (double)cfg.initializer_range, names);
        else
            sm_log(SM_LOG_NOTICE, "%s: not in the checkpoint, initialised fresh (normal(0, %g), biases 0): %s",
                   dir, (double)cfg.initializer_range, names);
    }
    inf.n_fresh = n_fresh;
    size_t n_unused = 0;
    for (size_t j = 0; j < nf; j++)
        if (!used[j])
            list[n_unused++] = sm_st_tensor_at(f, j)->name;
    if (n_unused && !opts->quiet) {
        char names[2048];
        name_list(names, sizeof names, list, n_unused);
        sm_log(SM_LOG_NOTICE, "%s: %zu checkpoint tensor%s not used by a sequence classifier: %s", dir, n_unused,
               n_unused == 1 ? "" : "s", names);
    }
    inf.n_unused = (int)n_unused;

    free(used);
    free(list);
    free(fresh);
    sm_st_close(f);
    if (cfg_out)
        *cfg_out = cfg;
    else
        sm_config_free(&cfg);
    if (info)
        *info = inf;
    *out = m;
    return SM_OK;
fail:
    free(used);
    free(list);
    free(fresh);
    sm_bert_free(m);
    sm_st_close(f);
    sm_config_free(&cfg);
    return st;
}

/* ---- saving ---- */

static sm_status write_text(const char *dir, const char *name, const char *text, size_t len, sm_error *e)
{
    char path[4096];
    if (!sm_path_join(path, sizeof path, dir, name))
        return sm_err(e, SM_ERR_INVALID, "%s: path too long", dir);
    return sm_write_file_atomic(path, text, len, e);
}

/* A byte-level BPE's own files, copied as they are (transformers reads them back unchanged). */
static sm_status copy_tokenizer_files(const char *dir, const char *const *files, sm_error *e)
{
    for (; *files; files++) {
        const char *base = strrchr(*files, '/');
        char *data;
        size_t len;
        sm_status st = sm_read_file(*files, &data, &len, (size_t)1 << 30, e);
        if (st != SM_OK)
            return st;
        st = write_text(dir, base ? base + 1 : *files, data, len, e);
        free(data);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

static sm_status save_tokenizer(const char *dir, const sm_tokenizer *tok, int max_position, sm_error *e)
{
    if (sm_tokenizer_source_files(tok))
        return copy_tokenizer_files(dir, sm_tokenizer_source_files(tok), e);
    size_t nv = sm_tokenizer_vocab_size(tok), cap = 1, len = 0;
    for (size_t i = 0; i < nv; i++) {
        const char *t = sm_tokenizer_token(tok, (int32_t)i);
        cap += (t ? strlen(t) : 0) + 1;
    }
    char *buf = sm_malloc(cap, e, "vocab.txt");
    if (!buf)
        return SM_ERR_NOMEM;
    for (size_t i = 0; i < nv; i++) {
        const char *t = sm_tokenizer_token(tok, (int32_t)i);
        size_t n = t ? strlen(t) : 0;
        if (t && (strchr(t, '\n') || strchr(t, '\r'))) {
            free(buf);
            return sm_err(e, SM_ERR_INVALID, "%s: vocabulary entry %zu contains a line break and cannot go into "
                          "vocab.txt", dir, i);
        }
        memcpy(buf + len, t ? t : "", n);
        len += n;
        buf[len++] = '\n';
    }
    sm_status st = write_text(dir, "vocab.txt", buf, len, e);
    free(buf);
    if (st != SM_OK)
        return st;

    json_t *o = json_object();
    if (!o)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    int bad = json_object_set_new(o, "do_lower_case", json_boolean(sm_tokenizer_lower_case(tok)));
    bad |= json_object_set_new(o, "tokenizer_class", json_string("BertTokenizer"));
    bad |= json_object_set_new(o, "model_max_length", json_integer(max_position));
    bad |= json_object_set_new(o, "tokenize_chinese_chars", json_true());
    bad |= json_object_set_new(o, "strip_accents", json_null());
    static const struct {
        const char *key;
        int32_t (*id)(const sm_tokenizer *);
    } specials[] = {{"unk_token", sm_tokenizer_unk_id}, {"sep_token", sm_tokenizer_sep_id},
                    {"pad_token", sm_tokenizer_pad_id}, {"cls_token", sm_tokenizer_cls_id}};
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
        const char *t = sm_tokenizer_token(tok, specials[k].id(tok));
        if (t)
            bad |= json_object_set_new(o, specials[k].key, json_string(t));
    }
    if (sm_tokenizer_id(tok, "[MASK]") >= 0)
        bad |= json_object_set_new(o, "mask_token", json_string("[MASK]"));
    char *s = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        return sm_err(e, SM_ERR_NOMEM, "%s: cannot build tokenizer_config.json", dir);
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    }
    t[n] = '\n';
    st = write_text(dir, "tokenizer_config.json", t, n + 1, e);
    free(t);
    return st;
}

sm_status sm_hf_save(const char *dir, const sm_bert *m, const sm_bert_config *cfg, const sm_tokenizer *tok,
                     sm_error *e)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return sm_err(e, SM_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    if (!sm_dir_exists(dir))
        return sm_err(e, SM_ERR_IO, "%s: exists and is not a folder", dir);
    const sm_bert_config *mc = sm_bert_config_get(m);
    sm_bert_config c = *mc;
    c.id2label = NULL;
    if (cfg) {
        if (cfg->num_labels != mc->num_labels)
            return sm_err(e, SM_ERR_INVALID, "%s: %d label names for a model with %d outputs", dir, cfg->num_labels,
                          mc->num_labels);
        c.id2label = cfg->id2label;
        c.problem = cfg->problem;
    }
    char *json = sm_config_to_json(&c);
    if (!json)
        return sm_err(e, SM_ERR_NOMEM, "%s: cannot build config.json", dir);
    sm_status st = write_text(dir, "config.json", json, strlen(json), e);
    free(json);
    if (st != SM_OK)
        return st;

    int nt = sm_bert_tensor_count(m);
    sm_st_entry *ent = sm_calloc((size_t)nt, sizeof *ent, e, "tensor list");
    if (!ent)
        return SM_ERR_NOMEM;
    const float *w = sm_bert_weights_const(m);
    for (int i = 0; i < nt; i++) {
        const sm_tensor_info *ti = sm_bert_tensor(m, i);
        ent[i].name = ti->name;
        ent[i].data = w + ti->offset;
        ent[i].ndim = ti->ndim;
        ent[i].shape[0] = ti->shape[0];
        ent[i].shape[1] = ti->shape[1];
    }
    char path[4096];
    static const sm_st_meta meta = {"format", "pt"};
    if (!sm_path_join(path, sizeof path, dir, "model.safetensors"))
        st = sm_err(e, SM_ERR_INVALID, "%s: path too long", dir);
    else
        st = sm_st_write(path, ent, (size_t)nt, SM_ST_F32, &meta, 1, e);
    free(ent);
    if (st != SM_OK || !tok)
        return st;
    return save_tokenizer(dir, tok, c.max_position, e);
}

/* ---- a randomly initialised model ---- */

void sm_random_model_opts_default(sm_random_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->layers = 2;
    o->hidden = 128;
    o->heads = 2;
    o->max_position = 512;
    o->num_labels = 2;
    o->seed = 42;
}

sm_status sm_hf_write_random(const char *dir, const char *vocab_path, const sm_random_model_opts *o,
                             sm_error *e)
{
    if (o->layers < 1 || o->hidden < 1 || o->heads < 1 || o->max_position < 1 || o->num_labels < 1 ||
        o->intermediate < 0 || o->hidden % o->heads)
        return sm_err(e, SM_ERR_INVALID, "a random model needs layers, hidden, heads, max_position and labels "
                      "of at least 1, and hidden (%d) a multiple of heads (%d)", o->hidden, o->heads);
    sm_tokenizer *tok = NULL;
    sm_status st = sm_tokenizer_load(vocab_path, -1, &tok, e);
    if (st != SM_OK)
        return st;
    sm_bert_config cfg;
    sm_config_default(&cfg);
    cfg.num_layers = o->layers;
    cfg.hidden_size = o->hidden;
    cfg.num_heads = o->heads;
    cfg.intermediate_size = o->intermediate ? o->intermediate : 4 * o->hidden;
    cfg.max_position = o->max_position;
    cfg.vocab_size = (int)sm_tokenizer_vocab_size(tok);
    cfg.pad_token_id = sm_tokenizer_pad_id(tok);
    /* class names: the given ones, else 0..num_labels-1 (as data files usually write them) */
    char **names = NULL;
    const char *const *use = o->labels;
    if (!use) {
        names = calloc((size_t)o->num_labels, sizeof *names);
        for (int k = 0; names && k < o->num_labels; k++) {
            char num[24];
            snprintf(num, sizeof num, "%d", k);
            if (!(names[k] = sm_strdup(num)))
                break;
        }
        if (!names || !names[o->num_labels - 1])
            st = sm_err(e, SM_ERR_NOMEM, "out of memory naming %d classes", o->num_labels);
        use = (const char *const *)names;
    }
    sm_bert *m = NULL;
    if (st == SM_OK && (st = sm_config_set_labels(&cfg, o->num_labels, use, e)) == SM_OK &&
        (st = sm_bert_create(&m, &cfg, 0, e)) == SM_OK) {
        sm_rng r;
        sm_rng_seed(&r, o->seed);
        sm_bert_init(m, &r);
        st = sm_hf_save(dir, m, &cfg, tok, e);
    }
    for (int k = 0; names && k < o->num_labels; k++)
        free(names[k]);
    free(names);
    sm_bert_free(m);
    sm_config_free(&cfg);
    sm_tokenizer_free(tok);
    return st;
}
