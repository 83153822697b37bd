/* tokenizer.c: the tokenizer's API: loading (which files a folder or path names, and the reader for
 * each), encoding (WordPiece, or a BPE or Unigram after the added tokens are split off), the [CLS] a
 * [SEP] b [SEP] and <s> a </s></s> b </s> framing with Hugging Face's truncation, accessors and freeing.
 * The models are tokenizer_wordpiece.c, tokenizer_bpe.c and tokenizer_unigram.c; the files are read by
 * tokenizer_vocab.c and tokenizer_hf.c. No padding or decoding. */
#include "lib/tokenizer/tokenizer_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- ids ---- */

/* (sm_ids_push and sm_ids_free are ids.c's) */

static sm_status ids_reserve(sm_ids *ids, size_t n, sm_error *e)
{
    if (ids->cap >= n)
        return SM_OK;
    size_t cap = ids->cap ? ids->cap : 64;
    while (cap < n)
        cap *= 2;
    int32_t *v = realloc(ids->v, cap * sizeof *v);
    if (!v)
        return sm_err(e, SM_ERR_NOMEM, "out of memory growing a list of %zu token ids", cap);
    ids->v = v;
    ids->cap = cap;
    return SM_OK;
}

static bool tk_ascii_space(uint8_t c) { return c == ' ' || (c >= 9 && c <= 13); }

static sm_status tk_span(const sm_tokenizer *t, const char *s, size_t n, sm_ids *out, sm_error *e)
{
    return t->uni ? tk_unigram_encode(t->uni, s, n, out, e) : tk_bpe_encode(t->bpe, s, n, t->unk_id, out, e);
}

/* A BPE or Unigram text: split at the added tokens (leftmost, then longest, as tokenizers' matcher),
 * the pieces between them through the model. */
static sm_status tk_bpe_text(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out, sm_error *e)
{
    size_t n0 = out->n, seg = 0;
    sm_status st = SM_OK;
    for (size_t at = 0; at < len && st == SM_OK; at++) {
        const tk_special *best = NULL;
        for (int k = 0; k < t->n_added; k++) {
            const tk_special *sp = &t->added[k];
            if (sp->len <= len - at && (!best || sp->len > best->len) && memcmp(text + at, sp->s, sp->len) == 0)
                best = sp;
        }
        if (!best)
            continue;
        size_t end = at;
        if (best->lstrip)
            while (end > seg && tk_ascii_space((uint8_t)text[end - 1]))
                end--;
        st = tk_span(t, text + seg, end - seg, out, e);
        if (st == SM_OK)
            st = sm_ids_push(out, best->id, e);
        seg = at + best->len;
        if (best->rstrip)
            while (seg < len && tk_ascii_space((uint8_t)text[seg]))
                seg++;
        at = seg - 1;
    }
    if (st == SM_OK && seg < len)
        st = tk_span(t, text + seg, len - seg, out, e);
    if (st != SM_OK)
        out->n = n0;
    return st;
}

sm_status sm_tokenizer_encode(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out,
                              sm_error *e)
{
    if (!t || !out || (!text && len))
        return sm_err(e, SM_ERR_INVALID, "sm_tokenizer_encode: NULL tokenizer, text or output");
    if (!text)
        text = "";
    size_t bad = tk_utf8_check(text, len);
    if (bad < len)
        return sm_err(e, SM_ERR_FORMAT,
                      "invalid UTF-8 at byte offset %zu (byte 0x%02X): the text must be UTF-8 "
                      "(convert it, e.g. with iconv -f latin1 -t utf-8)",
                      bad, (unsigned)(uint8_t)text[bad]);
    if (t->bpe || t->uni)
        return tk_bpe_text(t, text, len, out, e);
    return tk_wordpiece_text(t, text, len, out, e);
}

/* ---- framing and truncation ---- */

/* Lengths after 'longest_first' truncation of a pair to m tokens (m excludes the special tokens),
 * as Hugging Face's tokenizers computes them. */
static void tk_truncate_pair(size_t na, size_t nb, size_t m, size_t *ka, size_t *kb)
{
    if (na + nb <= m) {
        *ka = na;
        *kb = nb;
        return;
    }
    bool swap = na > nb;
    size_t n1 = swap ? nb : na, n2; /* n1: the shorter */
    if (n1 > m)
        n2 = n1;
    else
        n2 = n1 > m - n1 ? n1 : m - n1;
    if (n1 + n2 > m) {
        n1 = m / 2;
        n2 = n1 + m % 2;
    }
    *ka = swap ? n2 : n1;
    *kb = swap ? n1 : n2;
}

static sm_status tk_frame(const sm_tokenizer *t, const int32_t *a, size_t na, const int32_t *b, size_t nb,
                          bool pair, int max_len, sm_ids *ids, sm_ids *types, sm_error *e)
{
    /* BPE (RoBERTa): <s> a </s> and <s> a </s> </s> b </s>, every type id 0 */
    const bool bpe = t->bpe != NULL || t->uni != NULL;
    size_t special = pair ? (bpe ? 4 : 3) : 2;
    if (max_len < 0 || (max_len > 0 && (size_t)max_len < special))
        return sm_err(e, SM_ERR_RANGE,
                      "max_len %d leaves no room for the %zu special tokens of %s; use 0 (no limit) "
                      "or at least %zu",
                      max_len, special, pair ? (bpe ? "<s> a </s></s> b </s>" : "[CLS] a [SEP] b [SEP]")
                                             : (bpe ? "<s> a </s>" : "[CLS] a [SEP]"), special);
    size_t ka = na, kb = pair ? nb : 0;
    if (max_len > 0) {
        size_t m = (size_t)max_len - special;
        if (pair)
            tk_truncate_pair(na, nb, m, &ka, &kb);
        else if (na > m)
            ka = m;
    }
    size_t total = ka + kb + special;
    ids->n = 0;
    if (types)
        types->n = 0;
    sm_status st = ids_reserve(ids, total, e);
    if (st == SM_OK && types)
        st = ids_reserve(types, total, e);
    if (st != SM_OK)
        return st;
    /* a and b may lie inside ids (sm_tokenizer_encode_pair_n: a at v+1, b right after a), so b
     * moves first, then a, then the special tokens go into the gaps. */
    int32_t *v = ids->v;
    const size_t gap = bpe && pair ? 3 : 2; /* where b starts after a */
    if (kb)
        memmove(v + ka + gap, b, kb * sizeof *v);
    if (ka)
        memmove(v + 1, a, ka * sizeof *v);
    v[0] = t->cls_id;
    v[ka + 1] = t->sep_id;
    if (pair && bpe)
        v[ka + 2] = t->sep_id;
    if (pair)
        v[ka + kb + gap] = t->sep_id;
    size_t k = total;
    ids->n = k;
    if (types) {
        size_t first = bpe ? k : ka + 2;
        for (size_t i = 0; i < k; i++)
            types->v[i] = i < first ? 0 : 1;
        types->n = k;
    }
    return SM_OK;
}

sm_status sm_tokenizer_frame(const sm_tokenizer *t, const sm_ids *a, const sm_ids *b, int max_len,
                             sm_ids *ids, sm_ids *types, sm_error *e)
{
    if (!t || !a || !ids || ids == a || ids == b || (types && (types == a || types == b)))
        return sm_err(e, SM_ERR_INVALID, "sm_tokenizer_frame: NULL or overlapping arguments");
    return tk_frame(t, a->v, a->n, b ? b->v : NULL, b ? b->n : 0, b != NULL, max_len, ids, types, e);
}

sm_status sm_tokenizer_encode_pair_n(const sm_tokenizer *t, const char *a, size_t a_len,
                                     const char *b, size_t b_len, int max_len, sm_ids *ids,
                                     sm_ids *types, sm_error *e)
{
    if (!t || !a || !ids)
        return sm_err(e, SM_ERR_INVALID, "sm_tokenizer_encode_pair: NULL tokenizer, text or output");
    /* Both texts go into ids (a from offset 0, b after it), then are framed in place. */
    ids->n = 0;
    if (types)
        types->n = 0;
    sm_status st = sm_tokenizer_encode(t, a, a_len, ids, e);
    if (st != SM_OK)
        return b ? sm_err_prefix(e, "first text") : st;
    size_t na = ids->n;
    if (b) {
        st = sm_tokenizer_encode(t, b, b_len, ids, e);
        if (st != SM_OK) {
            ids->n = 0;
            return sm_err_prefix(e, "second text");
        }
    }
    size_t nb = ids->n - na;
    st = ids_reserve(ids, ids->n + 4, e);
    if (st != SM_OK)
        return st;
    /* Move both texts up by one so [CLS] fits in front; tk_frame then moves them into place. */
    memmove(ids->v + 1, ids->v, ids->n * sizeof *ids->v);
    st = tk_frame(t, ids->v + 1, na, ids->v + 1 + na, nb, b != NULL, max_len, ids, types, e);
    if (st != SM_OK)
        ids->n = 0;
    return st;
}

sm_status sm_tokenizer_encode_pair(const sm_tokenizer *t, const char *a, const char *b, int max_len,
                                   sm_ids *ids, sm_ids *types, sm_error *e)
{
    if (!a)
        return sm_err(e, SM_ERR_INVALID, "sm_tokenizer_encode_pair: NULL text");
    return sm_tokenizer_encode_pair_n(t, a, strlen(a), b, b ? strlen(b) : 0, max_len, ids, types, e);
}

/* ---- accessors ---- */

int sm_tokenizer_lower_case(const sm_tokenizer *t) { return t->lower_case; }
int sm_tokenizer_strip_accents(const sm_tokenizer *t) { return t->strip_accents; }
size_t sm_tokenizer_vocab_size(const sm_tokenizer *t) { return t->n_ids; }
int32_t sm_tokenizer_pad_id(const sm_tokenizer *t) { return t->pad_id; }
int32_t sm_tokenizer_unk_id(const sm_tokenizer *t) { return t->unk_id; }
int32_t sm_tokenizer_cls_id(const sm_tokenizer *t) { return t->cls_id; }
int32_t sm_tokenizer_sep_id(const sm_tokenizer *t) { return t->sep_id; }
int32_t sm_tokenizer_mask_id(const sm_tokenizer *t) { return t->mask_id; }

int32_t sm_tokenizer_id(const sm_tokenizer *t, const char *token)
{
    return token ? tk_lookup(t, false, token, strlen(token)) : -1;
}

const char *sm_tokenizer_token(const sm_tokenizer *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->n_ids || t->tok_off[id] == UINT32_MAX)
        return NULL;
    return t->pool + t->tok_off[id];
}

void sm_tokenizer_free(sm_tokenizer *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->tok_off);
    free(t->tok_len);
    free(t->slots);
    tk_bpe_free(t->bpe);
    tk_unigram_free(t->uni);
    if (t->added)
        for (int k = 0; k < t->n_added; k++) {
            void *own; /* the added tokens' strings are the tokenizer's own copies */
            memcpy(&own, &t->added[k].s, sizeof own);
            free(own);
        }
    free(t->added);
    for (int k = 0; k < 4; k++)
        free(t->files[k]);
    free(t);
}

const char *const *sm_tokenizer_source_files(const sm_tokenizer *t)
{
    return t->bpe || t->uni ? (const char *const *)t->files : NULL;
}

/* Remember where a BPE came from: up to three files, NULL or absent ones skipped. */
static sm_status tk_keep_files(sm_tokenizer *t, const char *a, const char *b, const char *c, sm_error *e)
{
    const char *in[3] = {a, b, c};
    int n = 0;
    for (int k = 0; k < 3; k++) {
        if (!in[k] || !sm_file_exists(in[k]))
            continue;
        if (!(t->files[n++] = sm_strdup(in[k])))
            return sm_err(e, SM_ERR_NOMEM, "out of memory");
    }
    return SM_OK;
}

/* ---- loading ---- */

static bool tk_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static sm_tokenizer *tk_new(sm_error *e)
{
    sm_tokenizer *t = sm_calloc(1, sizeof *t, e, "tokenizer");
    if (!t)
        return NULL;
    t->max_word_chars = 100;
    snprintf(t->prefix, sizeof t->prefix, "##");
    return t;
}

sm_status sm_tokenizer_load_vocab_text(const char *data, size_t len, const char *name, int lower_case,
                                       sm_tokenizer **out, sm_error *e)
{
    *out = NULL;
    if (!data && len)
        return sm_err(e, SM_ERR_INVALID, "sm_tokenizer_load_vocab_text: NULL data");
    if (!name)
        name = "vocabulary";
    sm_tokenizer *t = tk_new(e);
    if (!t)
        return e ? e->status : SM_ERR_NOMEM;
    tk_config c;
    tk_config_default(&c);
    sm_status st = tk_parse_vocab_txt(t, data ? data : "", len, name, e);
    if (st == SM_OK)
        st = tk_finish(t, &c, lower_case, name, e);
    if (st != SM_OK) {
        sm_tokenizer_free(t);
        return st;
    }
    *out = t;
    return SM_OK;
}

sm_status sm_tokenizer_load(const char *dir_or_vocab, int lower_case, sm_tokenizer **out, sm_error *e)
{
    *out = NULL;
    if (!dir_or_vocab || !*dir_or_vocab)
        return sm_err(e, SM_ERR_INVALID, "no vocabulary given: name a vocab.txt, a tokenizer.json or a model folder");
    char vocab_path[4096], json_path[4096], config_path[4096], bpe_vocab[4096], bpe_merges[4096];
    const char *name = dir_or_vocab;
    tk_config c;
    tk_config_default(&c);
    bool from_json = false, from_bpe_files = false;
    if (sm_dir_exists(dir_or_vocab)) {
        if (!sm_path_join(vocab_path, sizeof vocab_path, dir_or_vocab, "vocab.txt") ||
            !sm_path_join(json_path, sizeof json_path, dir_or_vocab, "tokenizer.json") ||
            !sm_path_join(config_path, sizeof config_path, dir_or_vocab, "tokenizer_config.json") ||
            !sm_path_join(bpe_vocab, sizeof bpe_vocab, dir_or_vocab, "vocab.json") ||
            !sm_path_join(bpe_merges, sizeof bpe_merges, dir_or_vocab, "merges.txt"))
            return sm_err(e, SM_ERR_INVALID, "%s: path too long", dir_or_vocab);
        if (sm_file_exists(config_path)) {
            sm_status st = tk_read_config(config_path, &c, e);
            if (st != SM_OK)
                return st;
        }
        if (sm_file_exists(vocab_path)) {
            name = vocab_path;
        } else if (sm_file_exists(json_path)) {
            name = json_path;
            from_json = true;
        } else if (sm_file_exists(bpe_vocab) && sm_file_exists(bpe_merges)) {
            name = bpe_vocab;
            from_bpe_files = true;
        } else {
            return sm_err(e, SM_ERR_NOTFOUND, "%s: no vocab.txt, tokenizer.json or vocab.json + merges.txt in this "
                          "folder: point --vocab at a model folder or its vocab.txt", dir_or_vocab);
        }
    } else if (!sm_file_exists(dir_or_vocab)) {
        return sm_err(e, SM_ERR_NOTFOUND, "%s: no such file or folder (expected a vocab.txt, a "
                      "tokenizer.json or a model folder)", dir_or_vocab);
    } else if (tk_ends_with(dir_or_vocab, "vocab.json") || tk_ends_with(dir_or_vocab, "merges.txt")) {
        /* GPT-2's pair of files: the other one beside it */
        size_t dl = strlen(dir_or_vocab) - strlen(tk_ends_with(dir_or_vocab, "vocab.json") ? "vocab.json" : "merges.txt");
        if (dl + 16 >= sizeof bpe_vocab)
            return sm_err(e, SM_ERR_INVALID, "%s: path too long", dir_or_vocab);
        snprintf(bpe_vocab, sizeof bpe_vocab, "%.*svocab.json", (int)dl, dir_or_vocab);
        snprintf(bpe_merges, sizeof bpe_merges, "%.*smerges.txt", (int)dl, dir_or_vocab);
        if (!sm_file_exists(bpe_vocab) || !sm_file_exists(bpe_merges))
            return sm_err(e, SM_ERR_NOTFOUND, "%s: a byte-level BPE needs vocab.json and merges.txt side by side; "
                          "%s is missing", dir_or_vocab, sm_file_exists(bpe_vocab) ? bpe_merges : bpe_vocab);
        name = bpe_vocab;
        from_bpe_files = true;
    } else {
        from_json = tk_ends_with(dir_or_vocab, ".json");
    }
    if (from_bpe_files) {
        sm_tokenizer *t = tk_new(e);
        if (!t)
            return e ? e->status : SM_ERR_NOMEM;
        sm_status st = tk_bpe_load_files(t, bpe_vocab, bpe_merges, &c, c.add_prefix_space > 0, e);
        if (st == SM_OK)
            st = tk_keep_files(t, bpe_vocab, bpe_merges, sm_dir_exists(dir_or_vocab) ? config_path : NULL, e);
        if (st != SM_OK) {
            sm_tokenizer_free(t);
            return st;
        }
        *out = t;
        return SM_OK;
    }
    if (from_json) {
        sm_tokenizer *t = tk_new(e);
        if (!t)
            return e ? e->status : SM_ERR_NOMEM;
        json_t *bpe_root = NULL;
        sm_status st = tk_parse_tokenizer_json(t, name, &c, &bpe_root, e);
        const char *mt = json_string_value(json_object_get(json_object_get(bpe_root, "model"), "type"));
        if (st == SM_OK && bpe_root && (st = mt && !strcmp(mt, "Unigram") ? tk_unigram_setup(t, bpe_root, name, &c, e)
                                                                        : tk_bpe_setup(t, bpe_root, name, &c, e)) == SM_OK)
            st = tk_keep_files(t, name, sm_dir_exists(dir_or_vocab) ? config_path : NULL, NULL, e);
        else if (st == SM_OK)
            st = tk_finish(t, &c, lower_case, name, e);
        json_decref(bpe_root);
        if (st != SM_OK) {
            sm_tokenizer_free(t);
            return st;
        }
        *out = t;
        return SM_OK;
    }
    char *data;
    size_t len;
    sm_status st = sm_read_file(name, &data, &len, (size_t)1 << 30, e);
    if (st != SM_OK)
        return st;
    sm_tokenizer *t = tk_new(e);
    if (!t) {
        free(data);
        return e ? e->status : SM_ERR_NOMEM;
    }
    st = tk_parse_vocab_txt(t, data, len, name, e);
    free(data);
    if (st == SM_OK)
        st = tk_finish(t, &c, lower_case, name, e);
    if (st != SM_OK) {
        sm_tokenizer_free(t);
        return st;
    }
    *out = t;
    return SM_OK;
}

