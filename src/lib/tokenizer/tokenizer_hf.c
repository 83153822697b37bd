/* tokenizer_hf.c: Hugging Face's tokenizer files: tokenizer_config.json's settings, tokenizer.json (a
 * WordPiece, byte-level BPE or SentencePiece Unigram model, its added tokens and its framing) and
 * vocab.json + merges.txt, each into a tokenizer; what smartty does not implement is refused by name.
 * It encodes nothing (tokenizer_wordpiece.c, tokenizer_bpe.c, tokenizer_unigram.c). */
#include "lib/tokenizer/tokenizer_internal.h"

#include <math.h>
#include <stdlib.h>

const char *const tk_special_keys[TK_MAX_SPECIAL] = {"pad_token", "unk_token", "cls_token",
                                                            "sep_token", "mask_token"};
const char *const tk_special_defaults[TK_MAX_SPECIAL] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                "[MASK]"};

void tk_config_default(tk_config *c)
{
    c->lower_case = -1;
    c->strip_accents = -1;
    c->chinese_chars = -1;
    c->add_prefix_space = -1;
    for (int k = 0; k < TK_MAX_SPECIAL; k++)
        snprintf(c->names[k], sizeof c->names[k], "%s", tk_special_defaults[k]);
}

static sm_status tk_json_bool(json_t *root, const char *key, const char *path, int *out, bool null_ok,
                              sm_error *e)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return SM_OK;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return SM_OK;
    }
    if (json_is_null(v) && null_ok)
        return SM_OK;
    return sm_err(e, SM_ERR_FORMAT, "%s: \"%s\" must be true or false%s", path, key,
                  null_ok ? " (or null)" : "");
}

sm_status tk_read_config(const char *path, tk_config *c, sm_error *e)
{
    json_error_t je;
    /* numbers as reals: model_max_length is often 1e30, beyond a JSON integer */
    json_t *root = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
    if (!root)
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    sm_status st = SM_OK;
    if (!json_is_object(root))
        st = sm_err(e, SM_ERR_FORMAT, "%s: expected a JSON object", path);
    if (st == SM_OK)
        st = tk_json_bool(root, "do_lower_case", path, &c->lower_case, false, e);
    if (st == SM_OK)
        st = tk_json_bool(root, "strip_accents", path, &c->strip_accents, true, e);
    if (st == SM_OK)
        st = tk_json_bool(root, "tokenize_chinese_chars", path, &c->chinese_chars, false, e);
    if (st == SM_OK)
        st = tk_json_bool(root, "add_prefix_space", path, &c->add_prefix_space, false, e);
    for (int k = 0; k < TK_MAX_SPECIAL && st == SM_OK; k++) {
        json_t *v = json_object_get(root, tk_special_keys[k]);
        if (json_is_object(v))
            v = json_object_get(v, "content");
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof c->names[k]) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: \"%s\" must be a token of 1 to %zu bytes", path,
                        tk_special_keys[k], sizeof c->names[k] - 1);
            break;
        }
        snprintf(c->names[k], sizeof c->names[k], "%s", json_string_value(v));
    }
    json_decref(root);
    return st;
}

/* model.vocab of a tokenizer.json: a WordPiece model, with its prefix and word limit; or a BPE, whose
 * document goes to *bpe_root (a new reference) for tk_bpe_setup once the vocabulary is in. */
sm_status tk_parse_tokenizer_json(sm_tokenizer *t, const char *path, tk_config *c, json_t **bpe_root,
                                  sm_error *e)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    sm_status st = SM_OK;
    json_t *model = json_object_get(root, "model");
    json_t *type = json_object_get(model, "type");
    json_t *vocab = json_object_get(model, "vocab");
    if (json_is_object(model) && json_is_string(type) && strcmp(json_string_value(type), "Unigram") == 0 &&
        json_is_array(vocab)) {
        *bpe_root = json_incref(root); /* a Unigram's vocab is a list of [piece, score] */
        goto done;
    }
    if (!json_is_object(model) || !json_is_object(vocab)) {
        st = sm_err(e, SM_ERR_FORMAT, "%s: no \"model\" object with a \"vocab\" object of token: id", path);
        goto done;
    }
    if (json_is_string(type) && strcmp(json_string_value(type), "BPE") == 0) {
        st = tk_parse_vocab_object(t, vocab, path, "model.vocab", e);
        if (st == SM_OK)
            *bpe_root = json_incref(root);
        goto done;
    }
    if (json_is_string(type) && strcmp(json_string_value(type), "Unigram") == 0) {
        *bpe_root = json_incref(root); /* tk_unigram_setup reads it all */
        goto done;
    }
    if (type && (!json_is_string(type) || strcmp(json_string_value(type), "WordPiece") != 0)) {
        st = sm_err(e, SM_ERR_UNSUPPORTED, "%s: the model type \"%s\" is not supported: smartty reads "
                    "WordPiece (BERT), byte-level BPE (RoBERTa) and Unigram (XLM-R) tokenizers", path,
                    json_is_string(type) ? json_string_value(type) : "(not a string)");
        goto done;
    }
    json_t *prefix = json_object_get(model, "continuing_subword_prefix");
    if (prefix && !json_is_null(prefix)) {
        if (!json_is_string(prefix) || json_string_length(prefix) >= sizeof t->prefix) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: model.continuing_subword_prefix must be a short string", path);
            goto done;
        }
        snprintf(t->prefix, sizeof t->prefix, "%s", json_string_value(prefix));
    }
    json_t *maxw = json_object_get(model, "max_input_chars_per_word");
    if (maxw && !json_is_null(maxw)) {
        if (!json_is_integer(maxw) || json_integer_value(maxw) < 1 ||
            json_integer_value(maxw) > TK_MAX_WORD_CAP) {
            st = sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.max_input_chars_per_word must be 1 to %d", path,
                        TK_MAX_WORD_CAP);
            goto done;
        }
        t->max_word_chars = (int)json_integer_value(maxw);
    }
    json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk) && json_string_length(unk) > 0 && json_string_length(unk) < sizeof c->names[1])
        snprintf(c->names[1], sizeof c->names[1], "%s", json_string_value(unk));
    json_t *norm = json_object_get(root, "normalizer");
    /* its BertNormalizer's settings count where tokenizer_config.json says nothing */
    json_t *lc = json_object_get(norm, "lowercase"), *sa = json_object_get(norm, "strip_accents"),
           *cj = json_object_get(norm, "handle_chinese_chars");
    if (c->lower_case < 0 && json_is_boolean(lc))
        c->lower_case = json_is_true(lc);
    if (c->strip_accents < 0 && json_is_boolean(sa))
        c->strip_accents = json_is_true(sa);
    if (c->chinese_chars < 0 && json_is_boolean(cj))
        c->chinese_chars = json_is_true(cj);

    st = tk_parse_vocab_object(t, vocab, path, "model.vocab", e);
done:
    json_decref(root);
    return st;
}

/* ---- byte-level BPE: the files ---- */

static int32_t tk_lookup_cb(const void *ctx, const char *s, size_t n)
{
    return tk_lookup(ctx, false, s, n);
}

static const char *const tk_bpe_defaults[TK_MAX_SPECIAL] = {"<pad>", "<unk>", "<s>", "</s>", "<mask>"};

/* The vocabulary is in: the special tokens, the table, and the BPE for n_merges merges. */
static sm_status tk_bpe_begin(sm_tokenizer *t, tk_config *c, size_t n_merges, int add_prefix_space, const char *name,
                              sm_error *e)
{
    /* RoBERTa's names where tokenizer_config.json gave none */
    for (int k = 0; k < TK_MAX_SPECIAL; k++)
        if (strcmp(c->names[k], tk_special_defaults[k]) == 0)
            snprintf(c->names[k], sizeof c->names[k], "%s", tk_bpe_defaults[k]);
    t->lower_case = t->strip_accents = t->chinese_chars = 0;
    sm_status st = tk_build_table(t, e);
    if (st != SM_OK)
        return st;
    int32_t *ids[TK_MAX_SPECIAL] = {&t->pad_id, &t->unk_id, &t->cls_id, &t->sep_id, &t->mask_id};
    for (int k = 0; k < TK_MAX_SPECIAL; k++) {
        *ids[k] = tk_lookup(t, false, c->names[k], strlen(c->names[k]));
        if (*ids[k] < 0 && k != 1 && k != 4)
            return sm_err(e, SM_ERR_FORMAT, "%s: the vocabulary has no %s token \"%s\"", name, tk_special_keys[k],
                          c->names[k]);
    }
    return tk_bpe_new(&t->bpe, n_merges, add_prefix_space, tk_lookup_cb, t, e);
}

/* One merge written "left right" (merges.txt, or tokenizer.json's older form). */
static sm_status tk_bpe_merge_line(sm_tokenizer *t, const char *line, size_t n, const char *where, sm_error *e)
{
    const char *sp = memchr(line, ' ', n);
    if (!sp || sp == line || sp + 1 == line + n || memchr(sp + 1, ' ', (size_t)(line + n - sp - 1)))
        return sm_err(e, SM_ERR_FORMAT, "%s: a merge is two tokens separated by one space, not \"%.*s\"", where,
                      (int)(n > 80 ? 80 : n), line);
    return tk_bpe_add_merge(t->bpe, line, (size_t)(sp - line), sp + 1, (size_t)(line + n - sp - 1), where, e);
}

static sm_status tk_add_token(sm_tokenizer *t, const char *s, size_t len, int32_t id, int lstrip, int rstrip,
                              sm_error *e)
{
    tk_special *a = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *a);
    if (!a)
        return sm_err(e, SM_ERR_NOMEM, "out of memory for the added tokens");
    t->added = a;
    char *copy = malloc(len + 1);
    if (!copy)
        return sm_err(e, SM_ERR_NOMEM, "out of memory for the added tokens");
    memcpy(copy, s, len);
    copy[len] = '\0';
    a[t->n_added++] = (tk_special){copy, len, id, lstrip, rstrip};
    return SM_OK;
}

/* A component of tokenizer.json that must be absent or null. */
static sm_status tk_refuse_component(json_t *root, const char *key, const char *path, sm_error *e)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return SM_OK;
    json_t *type = json_object_get(v, "type");
    return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the %s \"%s\" is not supported: smartty's byte-level BPE runs "
                  "without a %s (as RoBERTa's)", path, key, json_is_string(type) ? json_string_value(type) : "?",
                  key);
}

/* tokenizer.json's added_tokens: matched in the raw text before the model sees it. */
static sm_status tk_parse_added(sm_tokenizer *t, json_t *root, const char *path, sm_error *e)
{
    size_t i;
    json_t *mv;
    sm_status st;
    json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_null(added) && !json_is_array(added))
        return sm_err(e, SM_ERR_FORMAT, "%s: added_tokens must be an array", path);
    json_array_foreach(added, i, mv) {
        json_t *content = json_object_get(mv, "content"), *id = json_object_get(mv, "id");
        if (!json_is_string(content) || json_string_length(content) == 0 || !json_is_integer(id))
            return sm_err(e, SM_ERR_FORMAT, "%s: added_tokens[%zu] needs a non-empty \"content\" and an \"id\"", path,
                          i);
        const char *cs = json_string_value(content);
        size_t cn = json_string_length(content);
        if (json_integer_value(id) < 0 || (size_t)json_integer_value(id) >= t->n_ids ||
            tk_lookup(t, false, cs, cn) != (int32_t)json_integer_value(id))
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: added_tokens[%zu] \"%.40s\" (id %lld) is not model.vocab's "
                          "token of that id: tokens added beyond the vocabulary are not supported", path, i, cs,
                          (long long)json_integer_value(id));
        if (json_is_true(json_object_get(mv, "single_word")))
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: added_tokens[%zu] \"%.40s\": single_word true is not "
                          "supported", path, i, cs);
        if ((st = tk_add_token(t, cs, cn, (int32_t)json_integer_value(id),
                               json_is_true(json_object_get(mv, "lstrip")),
                               json_is_true(json_object_get(mv, "rstrip")), e)) != SM_OK)
            return st;
    }
    return SM_OK;
}


/* The rest of a BPE tokenizer.json: its components (refused by name where smartty does not implement
 * them), merges, added tokens and post-processor. */
sm_status tk_bpe_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e)
{
    json_t *model = json_object_get(root, "model");
    sm_status st = tk_refuse_component(root, "normalizer", path, e);
    if (st != SM_OK)
        return st;
    static const char *const must_be_empty[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(model, must_be_empty[k]);
        if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.%s is not supported (byte-level BPE has none)", path,
                          must_be_empty[k]);
    }
    static const char *const must_be_off[] = {"byte_fallback", "ignore_merges"};
    for (size_t k = 0; k < 2; k++)
        if (json_is_true(json_object_get(model, must_be_off[k])))
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.%s true is not supported", path, must_be_off[k]);
    json_t *drop = json_object_get(model, "dropout");
    if (drop && !json_is_null(drop) && !(json_is_number(drop) && json_number_value(drop) == 0.0))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.dropout (BPE dropout) is not supported: it is for training "
                      "only; set it to null", path);
    json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk) && json_string_length(unk) > 0 && json_string_length(unk) < sizeof c->names[1])
        snprintf(c->names[1], sizeof c->names[1], "%s", json_string_value(unk));

    json_t *pre = json_object_get(root, "pre_tokenizer");
    json_t *pt = json_object_get(pre, "type");
    if (!json_is_string(pt) || strcmp(json_string_value(pt), "ByteLevel") != 0)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the pre_tokenizer \"%s\" is not supported: smartty's BPE is "
                      "byte-level (pre_tokenizer ByteLevel, as RoBERTa's and GPT-2's)", path,
                      json_is_string(pt) ? json_string_value(pt) : (pre && !json_is_null(pre) ? "?" : "null"));
    json_t *ur = json_object_get(pre, "use_regex");
    if (ur && !json_is_true(ur))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: pre_tokenizer.use_regex false is not supported", path);
    json_t *aps = json_object_get(pre, "add_prefix_space");
    if (aps && !json_is_boolean(aps))
        return sm_err(e, SM_ERR_FORMAT, "%s: pre_tokenizer.add_prefix_space must be true or false", path);

    json_t *post = json_object_get(root, "post_processor");
    json_t *ppt = json_object_get(post, "type");
    if (!json_is_string(ppt) || strcmp(json_string_value(ppt), "RobertaProcessing") != 0)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the post_processor \"%s\" is not supported: smartty frames BPE "
                      "texts as RobertaProcessing does (<s> a </s></s> b </s>)", path,
                      json_is_string(ppt) ? json_string_value(ppt) : (post && !json_is_null(post) ? "?" : "null"));
    static const char *const frame_keys[2] = {"cls", "sep"};
    int32_t frame_ids[2];
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(post, frame_keys[k]);
        json_t *tok = json_array_get(v, 0), *id = json_array_get(v, 1);
        if (!json_is_string(tok) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            (size_t)json_integer_value(id) >= t->n_ids)
            return sm_err(e, SM_ERR_FORMAT, "%s: post_processor.%s must be [token, id] with an id of the "
                          "vocabulary", path, frame_keys[k]);
        frame_ids[k] = (int32_t)json_integer_value(id);
    }

    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges))
        return sm_err(e, SM_ERR_FORMAT, "%s: model.merges must be an array of merges", path);
    if ((st = tk_bpe_begin(t, c, json_array_size(merges), json_is_true(aps), path, e)) != SM_OK)
        return st;
    t->cls_id = frame_ids[0];
    t->sep_id = frame_ids[1];
    size_t i;
    json_t *mv;
    json_array_foreach(merges, i, mv) {
        char where[64 + 4096];
        snprintf(where, sizeof where, "%s: model.merges[%zu]", path, i);
        if (json_is_string(mv)) {
            st = tk_bpe_merge_line(t, json_string_value(mv), json_string_length(mv), where, e);
        } else if (json_is_array(mv) && json_array_size(mv) == 2 && json_is_string(json_array_get(mv, 0)) &&
                   json_is_string(json_array_get(mv, 1))) {
            json_t *l = json_array_get(mv, 0), *r = json_array_get(mv, 1);
            st = tk_bpe_add_merge(t->bpe, json_string_value(l), json_string_length(l), json_string_value(r),
                                  json_string_length(r), where, e);
        } else {
            st = sm_err(e, SM_ERR_FORMAT, "%s: a merge is \"left right\" or [\"left\", \"right\"]", where);
        }
        if (st != SM_OK)
            return st;
    }

    return tk_parse_added(t, root, path, e);
}

/* ---- SentencePiece Unigram: tokenizer.json ---- */

/* The special token of a template element {"SpecialToken": {"id": NAME, ...}}: its id, or -1. */
static int32_t tk_template_special(json_t *post, json_t *el)
{
    json_t *sp = json_object_get(el, "SpecialToken");
    json_t *name = json_object_get(sp, "id"), *ty = json_object_get(sp, "type_id");
    if (!json_is_string(name) || (ty && json_integer_value(ty) != 0))
        return -1;
    json_t *ids = json_object_get(json_object_get(json_object_get(post, "special_tokens"), json_string_value(name)),
                                  "ids");
    if (!json_is_array(ids) || json_array_size(ids) != 1 || !json_is_integer(json_array_get(ids, 0)))
        return -1;
    return (int32_t)json_integer_value(json_array_get(ids, 0));
}

static bool tk_template_seq(json_t *el, const char *which)
{
    json_t *sq = json_object_get(el, "Sequence");
    json_t *ty = json_object_get(sq, "type_id");
    return json_is_string(json_object_get(sq, "id")) && !strcmp(json_string_value(json_object_get(sq, "id")), which) &&
           (!ty || json_integer_value(ty) == 0);
}

/* The framing: RobertaProcessing, or TemplateProcessing of exactly <s> $A </s> and <s> $A </s> </s> $B </s>
 * (any names, every type id 0). cls and sep get their ids. */
static sm_status tk_frame_of(const sm_tokenizer *t, json_t *root, const char *path, int32_t *cls, int32_t *sep,
                             sm_error *e)
{
    json_t *post = json_object_get(root, "post_processor");
    const char *type = json_string_value(json_object_get(post, "type"));
    if (type && !strcmp(type, "RobertaProcessing")) {
        json_t *c = json_object_get(post, "cls"), *s = json_object_get(post, "sep");
        if (json_is_integer(json_array_get(c, 1)) && json_is_integer(json_array_get(s, 1))) {
            *cls = (int32_t)json_integer_value(json_array_get(c, 1));
            *sep = (int32_t)json_integer_value(json_array_get(s, 1));
        } else {
            *cls = *sep = -1;
        }
    } else if (type && !strcmp(type, "TemplateProcessing")) {
        json_t *single = json_object_get(post, "single"), *pair = json_object_get(post, "pair");
        *cls = *sep = -1;
        if (json_array_size(single) == 3 && json_array_size(pair) == 6 &&
            tk_template_seq(json_array_get(single, 1), "A") && tk_template_seq(json_array_get(pair, 1), "A") &&
            tk_template_seq(json_array_get(pair, 4), "B")) {
            int32_t c0 = tk_template_special(post, json_array_get(single, 0));
            int32_t s0 = tk_template_special(post, json_array_get(single, 2));
            int32_t ok = c0 >= 0 && s0 >= 0 && tk_template_special(post, json_array_get(pair, 0)) == c0;
            for (size_t k = 2; ok && k < 6; k += k == 3 ? 2 : 1)
                ok = tk_template_special(post, json_array_get(pair, k)) == s0;
            if (ok) {
                *cls = c0;
                *sep = s0;
            }
        }
        if (*cls < 0)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: this TemplateProcessing post_processor is not supported: smartty "
                          "frames texts as <s> $A </s> and <s> $A </s> </s> $B </s> with every type id 0", path);
    } else {
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the post_processor \"%s\" is not supported: smartty frames "
                      "Unigram texts as XLM-R does (TemplateProcessing <s> $A </s> </s> $B </s>)", path,
                      type ? type : (post && !json_is_null(post) ? "?" : "null"));
    }
    if (*cls < 0 || *sep < 0 || (size_t)*cls >= t->n_ids || (size_t)*sep >= t->n_ids)
        return sm_err(e, SM_ERR_FORMAT, "%s: the post_processor's special tokens are not ids of the vocabulary", path);
    return SM_OK;
}

/* normalizer: null, Precompiled, or Sequence [Precompiled, Replace(" {2,}" -> " ")] */
static sm_status tk_unigram_normalizer(json_t *norm, const char *path, json_t **charsmap, int *collapse, sm_error *e)
{
    *charsmap = NULL;
    *collapse = 0;
    if (!norm || json_is_null(norm))
        return SM_OK;
    const char *type = json_string_value(json_object_get(norm, "type"));
    json_t *list = NULL;
    if (type && !strcmp(type, "Sequence"))
        list = json_object_get(norm, "normalizers");
    size_t n = list ? json_array_size(list) : 1;
    for (size_t k = 0; k < n; k++) {
        json_t *el = list ? json_array_get(list, k) : norm;
        const char *ty = json_string_value(json_object_get(el, "type"));
        if (ty && !strcmp(ty, "Precompiled") && k == 0) {
            *charsmap = json_object_get(el, "precompiled_charsmap");
            if (!json_is_string(*charsmap))
                return sm_err(e, SM_ERR_FORMAT, "%s: normalizer Precompiled needs a precompiled_charsmap string", path);
            continue;
        }
        json_t *pat = json_object_get(json_object_get(el, "pattern"), "Regex");
        json_t *content = json_object_get(el, "content");
        if (ty && !strcmp(ty, "Replace") && json_is_string(pat) && !strcmp(json_string_value(pat), " {2,}") &&
            json_is_string(content) && !strcmp(json_string_value(content), " ") && k == n - 1) {
            *collapse = 1;
            continue;
        }
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the normalizer \"%s\" is not supported: smartty's Unigram "
                      "normalizes as XLM-R does (Precompiled, then Replace \" {2,}\" with \" \")", path,
                      ty ? ty : "?");
    }
    return SM_OK;
}

/* pre_tokenizer: Metaspace, or Sequence [WhitespaceSplit, Metaspace] */
static sm_status tk_unigram_pretok(json_t *pre, const char *path, int *ws_split, int *prepend, sm_error *e)
{
    const char *type = json_string_value(json_object_get(pre, "type"));
    json_t *meta = pre;
    *ws_split = 0;
    if (type && !strcmp(type, "Sequence")) {
        json_t *list = json_object_get(pre, "pretokenizers");
        const char *t0 = json_string_value(json_object_get(json_array_get(list, 0), "type"));
        if (json_array_size(list) != 2 || !t0 || strcmp(t0, "WhitespaceSplit") != 0)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the pre_tokenizer Sequence is not supported: smartty's Unigram "
                          "takes Metaspace, or WhitespaceSplit then Metaspace (XLM-R's)", path);
        *ws_split = 1;
        meta = json_array_get(list, 1);
        type = json_string_value(json_object_get(meta, "type"));
    }
    if (!type || strcmp(type, "Metaspace") != 0)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the pre_tokenizer \"%s\" is not supported: smartty's Unigram takes "
                      "Metaspace (SentencePiece's)", path, type ? type : (pre && !json_is_null(pre) ? "?" : "null"));
    json_t *rep = json_object_get(meta, "replacement"), *split = json_object_get(meta, "split");
    if (rep && (!json_is_string(rep) || strcmp(json_string_value(rep), "\xe2\x96\x81") != 0))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: Metaspace's replacement must be \"\xe2\x96\x81\" (U+2581)", path);
    if (split && !json_is_true(split))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: Metaspace split false is not supported", path);
    json_t *scheme = json_object_get(meta, "prepend_scheme"), *aps = json_object_get(meta, "add_prefix_space");
    if (json_is_string(scheme)) {
        const char *v = json_string_value(scheme);
        if (strcmp(v, "always") != 0 && strcmp(v, "never") != 0)
            return sm_err(e, SM_ERR_UNSUPPORTED, "%s: Metaspace prepend_scheme \"%s\" is not supported (\"always\" "
                          "or \"never\")", path, v);
        *prepend = !strcmp(v, "always");
    } else {
        *prepend = aps ? json_is_true(aps) : 1;
    }
    return SM_OK;
}

sm_status tk_unigram_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e)
{
    json_t *model = json_object_get(root, "model"), *vocab = json_object_get(model, "vocab");
    json_t *unk = json_object_get(model, "unk_id");
    if (!json_is_array(vocab) || json_array_size(vocab) == 0 || json_array_size(vocab) >= TK_MAX_IDS)
        return sm_err(e, SM_ERR_FORMAT, "%s: a Unigram model.vocab is a non-empty list of [piece, score]", path);
    if (!json_is_integer(unk) || json_integer_value(unk) < 0 || (size_t)json_integer_value(unk) >= json_array_size(vocab))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.unk_id must be the id of a piece of model.vocab", path);
    if (json_is_true(json_object_get(model, "byte_fallback")))
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: model.byte_fallback true is not supported", path);
    json_t *charsmap;
    int collapse = 0, ws_split = 0, prepend = 1;
    sm_status st = tk_unigram_normalizer(json_object_get(root, "normalizer"), path, &charsmap, &collapse, e);
    if (st == SM_OK)
        st = tk_unigram_pretok(json_object_get(root, "pre_tokenizer"), path, &ws_split, &prepend, e);
    if (st != SM_OK)
        return st;
    const size_t n_ids = json_array_size(vocab);
    size_t bytes = 0, i;
    json_t *v;
    json_array_foreach(vocab, i, v) {
        json_t *piece = json_array_get(v, 0), *score = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(piece) || !json_is_number(score) ||
            !isfinite(json_number_value(score)))
            return sm_err(e, SM_ERR_FORMAT, "%s: model.vocab[%zu] must be [piece, score]", path, i);
        bytes += json_string_length(piece) + 1;
    }
    if (bytes >= UINT32_MAX)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: the vocabulary is too large", path);
    double *scores = sm_malloc(n_ids * sizeof *scores, e, "the Unigram scores");
    t->pool = sm_malloc(bytes, e, "vocabulary");
    if (!scores || !t->pool || (st = tk_alloc_ids(t, n_ids, e)) != SM_OK) {
        free(scores);
        return e ? e->status : SM_ERR_NOMEM;
    }
    size_t off = 0;
    json_array_foreach(vocab, i, v) {
        json_t *piece = json_array_get(v, 0);
        size_t n = json_string_length(piece);
        memcpy(t->pool + off, json_string_value(piece), n + 1);
        t->tok_off[i] = (uint32_t)off;
        t->tok_len[i] = (uint32_t)n;
        off += n + 1;
        scores[i] = json_number_value(json_array_get(v, 1));
    }
    for (int k = 0; k < TK_MAX_SPECIAL; k++)
        if (strcmp(c->names[k], tk_special_defaults[k]) == 0)
            snprintf(c->names[k], sizeof c->names[k], "%s", tk_bpe_defaults[k]);
    t->lower_case = t->strip_accents = t->chinese_chars = 0;
    if ((st = tk_build_table(t, e)) == SM_OK) {
        int32_t *ids[TK_MAX_SPECIAL] = {&t->pad_id, &t->unk_id, &t->cls_id, &t->sep_id, &t->mask_id};
        for (int k = 0; k < TK_MAX_SPECIAL; k++)
            *ids[k] = tk_lookup(t, false, c->names[k], strlen(c->names[k]));
        t->unk_id = (int32_t)json_integer_value(unk);
        if (t->pad_id < 0)
            st = sm_err(e, SM_ERR_FORMAT, "%s: the vocabulary has no pad_token \"%s\"", path, c->names[0]);
    }
    if (st == SM_OK)
        st = tk_frame_of(t, root, path, &t->cls_id, &t->sep_id, e);
    if (st == SM_OK)
        st = tk_unigram_new(&t->uni, scores, n_ids, t->unk_id, t->max_token_bytes,
                            charsmap ? json_string_value(charsmap) : NULL, charsmap ? json_string_length(charsmap) : 0,
                            collapse, ws_split, prepend, tk_lookup_cb, t, path, e);
    for (size_t k = 0; st == SM_OK && k < n_ids; k++)
        st = tk_unigram_add_piece(t->uni, t->pool + t->tok_off[k], t->tok_len[k], (int32_t)k, e);
    free(scores);
    if (st == SM_OK)
        st = tk_parse_added(t, root, path, e);
    return st;
}

/* vocab.json + merges.txt (GPT-2's files), with tokenizer_config.json's add_prefix_space. */
sm_status tk_bpe_load_files(sm_tokenizer *t, const char *vocab_path, const char *merges_path, tk_config *c,
                            int add_prefix_space, sm_error *e)
{
    json_error_t je;
    json_t *vocab = json_load_file(vocab_path, 0, &je);
    if (!vocab)
        return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", vocab_path, je.line, je.column, je.text);
    sm_status st = json_is_object(vocab) ? tk_parse_vocab_object(t, vocab, vocab_path, "the vocabulary", e)
                                         : sm_err(e, SM_ERR_FORMAT, "%s: expected a JSON object of token: id", vocab_path);
    json_decref(vocab);
    if (st != SM_OK)
        return st;
    char *data;
    size_t len;
    if ((st = sm_read_file(merges_path, &data, &len, (size_t)1 << 30, e)) != SM_OK)
        return st;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if ((st = tk_bpe_begin(t, c, lines, add_prefix_space, vocab_path, e)) == SM_OK) {
        size_t start = 0, line = 0;
        for (size_t i = 0; i <= len && st == SM_OK; i++) {
            if (i < len && data[i] != '\n')
                continue;
            size_t end = i;
            if (end > start && data[end - 1] == '\r')
                end--;
            line++;
            if (end > start && !(line == 1 && end - start >= 8 && memcmp(data + start, "#version", 8) == 0)) {
                char where[4200];
                snprintf(where, sizeof where, "%s:%zu", merges_path, line);
                if (tk_utf8_check(data + start, end - start) < end - start)
                    st = sm_err(e, SM_ERR_FORMAT, "%s: invalid UTF-8", where);
                else
                    st = tk_bpe_merge_line(t, data + start, end - start, where, e);
            }
            start = i + 1;
        }
    }
    free(data);
    for (int k = 0; st == SM_OK && k < TK_MAX_SPECIAL; k++) {
        int32_t id = tk_lookup(t, false, c->names[k], strlen(c->names[k]));
        if (id >= 0)
            st = tk_add_token(t, c->names[k], strlen(c->names[k]), id, 0, 0, e);
    }
    return st;
}
