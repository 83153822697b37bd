/* tokenizer_wordpiece.c: BERT's basic tokenizer and WordPiece as Hugging Face's BertTokenizer runs them
 * (the `tokenizers` BertNormalizer, BertPreTokenizer and WordPiece model), streamed one character at a
 * time with no allocation per word, and WordPiece's settings and special tokens once a vocabulary is in.
 * Unicode data come from utf8proc; the only tables written here are BERT's CJK ranges and its ASCII
 * punctuation rule. It reads no files (tokenizer_vocab.c, tokenizer_hf.c) and does not frame. */
#include "lib/tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <utf8proc.h>

static inline size_t tk_encode_utf8(uint32_t cp, char *d)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- character classes ---- */

enum { TK_WORD, TK_SPACE, TK_PUNCT, TK_DROP };

/* ASCII: \t \n \r and space are whitespace; other controls and DEL are removed; BERT counts every
 * non-alphanumeric printable ASCII character as punctuation (33-47, 58-64, 91-96, 123-126). */
static inline int tk_ascii_class(uint8_t c)
{
    if ((uint8_t)((c | 0x20) - 'a') < 26 || (uint8_t)(c - '0') < 10)
        return TK_WORD;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return TK_SPACE;
    if (c < 0x20 || c == 0x7F)
        return TK_DROP;
    return TK_PUNCT;
}

/* BERT's "Chinese character" ranges as Hugging Face's tokenizers writes them (CJK Unified
 * Ideographs and extensions, compatibility ideographs). */
static inline bool tk_is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* White_Space (what Rust's char::is_whitespace tests): Zs, Zl, Zp, U+0009-000D and U+0085. */
static inline bool tk_is_space_cat(uint32_t cp, int cat)
{
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP ||
           (cp >= 0x09 && cp <= 0x0D) || cp == 0x85;
}

static inline bool tk_is_punct_cat(int cat)
{
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/* ---- encoding: a word is gathered character by character, then split into pieces ---- */

typedef struct tk_word {
    int n;                           /* characters so far; stops at max_word_chars + 1 */
    uint32_t cp[TK_MAX_WORD_CAP + 1]; /* [n] code points */
    uint8_t ccc[TK_MAX_WORD_CAP + 1]; /* [n] canonical combining classes (0 unless decomposed) */
    char bytes[4 * TK_MAX_WORD_CAP + 4];
} tk_word;

/* Greedy longest-match-first WordPiece over one word's bytes. */
static sm_status tk_wordpiece(const sm_tokenizer *t, const char *w, size_t len, sm_ids *out, sm_error *e)
{
    size_t n0 = out->n, start = 0;
    while (start < len) {
        size_t end = len;
        if (end - start > t->max_token_bytes) {
            end = start + t->max_token_bytes;
            while (end > start && ((uint8_t)w[end] & 0xC0) == 0x80)
                end--;
        }
        int32_t id = -1;
        while (end > start) {
            id = tk_lookup(t, start > 0, w + start, end - start);
            if (id >= 0)
                break;
            do
                end--;
            while (end > start && ((uint8_t)w[end] & 0xC0) == 0x80);
        }
        if (id < 0) {
            out->n = n0;
            return sm_ids_push(out, t->unk_id, e);
        }
        sm_status st = sm_ids_push(out, id, e);
        if (st != SM_OK)
            return st;
        start = end;
    }
    return SM_OK;
}

static sm_status tk_flush(const sm_tokenizer *t, tk_word *w, sm_ids *out, sm_error *e)
{
    if (w->n == 0)
        return SM_OK;
    int n = w->n;
    w->n = 0;
    if (n > t->max_word_chars)
        return sm_ids_push(out, t->unk_id, e);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += tk_encode_utf8(w->cp[i], w->bytes + len);
    return tk_wordpiece(t, w->bytes, len, out, e);
}

/* Append a normalised character to the word, keeping combining marks in canonical order (NFD's
 * reordering; ccc is 0 for characters that were not decomposed). */
static inline void tk_append(const sm_tokenizer *t, tk_word *w, uint32_t cp, uint8_t ccc)
{
    if (w->n > t->max_word_chars)
        return;
    int i = w->n++;
    if (w->n > t->max_word_chars)
        return;
    while (ccc && i > 0 && w->ccc[i - 1] > ccc) {
        w->cp[i] = w->cp[i - 1];
        w->ccc[i] = w->ccc[i - 1];
        i--;
    }
    w->cp[i] = cp;
    w->ccc[i] = ccc;
}

/* The pre-tokenizer on one normalised character: whitespace ends a word, punctuation is a word. */
static sm_status tk_pretok(const sm_tokenizer *t, tk_word *w, uint32_t cp, sm_ids *out, sm_error *e)
{
    int cat;
    uint8_t ccc = 0;
    if (cp < 0x80) {
        int cls = tk_ascii_class((uint8_t)cp);
        if (cls == TK_WORD) {
            tk_append(t, w, cp, 0);
            return SM_OK;
        }
        cat = cls == TK_SPACE ? UTF8PROC_CATEGORY_ZS
              : cls == TK_PUNCT ? UTF8PROC_CATEGORY_PO : UTF8PROC_CATEGORY_CC;
    } else {
        const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
        cat = p->category;
        if (t->strip_accents)
            ccc = (uint8_t)p->combining_class;
    }
    if (tk_is_space_cat(cp, cat))
        return tk_flush(t, w, out, e);
    if (cp < 0x80 ? cat == UTF8PROC_CATEGORY_PO : tk_is_punct_cat(cat)) {
        sm_status st = tk_flush(t, w, out, e);
        if (st != SM_OK)
            return st;
        tk_append(t, w, cp, 0);
        return tk_flush(t, w, out, e);
    }
    tk_append(t, w, cp, ccc);
    return SM_OK;
}

/* Lower-casing one character: the full mapping, in which U+0130 becomes "i" + U+0307. */
static sm_status tk_lower(const sm_tokenizer *t, tk_word *w, uint32_t cp, sm_ids *out, sm_error *e)
{
    if (t->lower_case) {
        if (cp == 0x130) {
            sm_status st = tk_pretok(t, w, 'i', out, e);
            return st != SM_OK ? st : tk_pretok(t, w, 0x307, out, e);
        }
        cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    }
    return tk_pretok(t, w, cp, out, e);
}

/* Accent stripping, then lower-casing, on one cleaned character (the order of Hugging Face's
 * BertNormalizer). */
static sm_status tk_normalize(const sm_tokenizer *t, tk_word *w, uint32_t cp, sm_ids *out, sm_error *e)
{
    if (!t->strip_accents)
        return tk_lower(t, w, cp, out, e);
    utf8proc_int32_t d[16];
    utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)cp, d, 16, UTF8PROC_DECOMPOSE, NULL);
    if (nd < 1 || nd > 16) {
        d[0] = (utf8proc_int32_t)cp;
        nd = 1;
    }
    for (utf8proc_ssize_t i = 0; i < nd; i++) {
        if (utf8proc_category(d[i]) == UTF8PROC_CATEGORY_MN)
            continue;
        sm_status st = tk_lower(t, w, (uint32_t)d[i], out, e);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

/* One raw non-ASCII character: cleaning (remove U+FFFD and control, format and private-use
 * characters; whitespace ends the word), CJK ideographs as words of their own, then normalisation. */
static sm_status tk_feed(const sm_tokenizer *t, tk_word *w, uint32_t cp, sm_ids *out, sm_error *e)
{
    int cat = utf8proc_category((utf8proc_int32_t)cp);
    if (cp == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
        cat == UTF8PROC_CATEGORY_CO)
        return SM_OK;
    if (tk_is_space_cat(cp, cat))
        return tk_flush(t, w, out, e);
    if (t->chinese_chars && tk_is_cjk(cp)) {
        sm_status st = tk_flush(t, w, out, e);
        if (st == SM_OK)
            st = tk_normalize(t, w, cp, out, e);
        return st != SM_OK ? st : tk_flush(t, w, out, e);
    }
    return tk_normalize(t, w, cp, out, e);
}

/* Text without special tokens: s[0..n) is valid UTF-8 (checked by the caller). */
static sm_status tk_encode_span(const sm_tokenizer *t, tk_word *w, const char *s, size_t n, sm_ids *out,
                                sm_error *e)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    sm_status st = SM_OK;
    while (i < n && st == SM_OK) {
        uint8_t c = u[i];
        if (c < 0x80) {
            i++;
            switch (tk_ascii_class(c)) {
            case TK_WORD:
                tk_append(t, w, t->lower_case && c >= 'A' && c <= 'Z' ? c | 0x20u : c, 0);
                break;
            case TK_SPACE:
                st = tk_flush(t, w, out, e);
                break;
            case TK_PUNCT:
                st = tk_flush(t, w, out, e);
                tk_append(t, w, c, 0);
                if (st == SM_OK)
                    st = tk_flush(t, w, out, e);
                break;
            default:
                break;
            }
            continue;
        }
        uint32_t cp = 0;
        int k = tk_decode(u + i, n - i, &cp);
        i += (size_t)(k > 0 ? k : 1);
        st = tk_feed(t, w, cp, out, e);
    }
    if (st == SM_OK)
        st = tk_flush(t, w, out, e);
    return st;
}

/* The special token whose string starts at s[0..n) (the longest, as a leftmost-longest matcher
 * finds), or NULL. */
static const tk_special *tk_special_at(const sm_tokenizer *t, const char *s, size_t n)
{
    const tk_special *best = NULL;
    for (int k = 0; k < t->n_special; k++) {
        const tk_special *sp = &t->special[k];
        if (sp->len <= n && (!best || sp->len > best->len) && memcmp(s, sp->s, sp->len) == 0)
            best = sp;
    }
    return best;
}

sm_status tk_wordpiece_text(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out, sm_error *e)
{
    tk_word *w = malloc(sizeof *w);
    if (!w)
        return sm_err(e, SM_ERR_NOMEM, "out of memory for the tokenizer's word buffer");
    w->n = 0;
    size_t n0 = out->n, seg = 0, pos = 0;
    sm_status st = SM_OK;
    while (st == SM_OK && t->n_special > 0 && pos < len) {
        const char *br = memchr(text + pos, '[', len - pos);
        if (!br)
            break;
        size_t at = (size_t)(br - text);
        const tk_special *sp = tk_special_at(t, br, len - at);
        if (!sp) {
            pos = at + 1;
            continue;
        }
        st = tk_encode_span(t, w, text + seg, at - seg, out, e);
        if (st == SM_OK)
            st = sm_ids_push(out, sp->id, e);
        seg = pos = at + sp->len;
    }
    if (st == SM_OK)
        st = tk_encode_span(t, w, text + seg, len - seg, out, e);
    free(w);
    if (st != SM_OK)
        out->n = n0;
    return st;
}

/* After the vocabulary is in: settings, the table and the special tokens. */
sm_status tk_finish(sm_tokenizer *t, const tk_config *c, int lower_case, const char *name, sm_error *e)
{
    t->lower_case = lower_case >= 0 ? lower_case : c->lower_case >= 0 ? c->lower_case : 1;
    t->strip_accents = c->strip_accents >= 0 ? c->strip_accents : t->lower_case;
    t->chinese_chars = c->chinese_chars != 0;
    t->prefix_len = strlen(t->prefix);
    t->prefix_hash = tk_hash(TK_HASH_SEED, t->prefix, t->prefix_len);
    sm_status st = tk_build_table(t, e);
    if (st != SM_OK)
        return st;
    int32_t *ids[TK_MAX_SPECIAL] = {&t->pad_id, &t->unk_id, &t->cls_id, &t->sep_id, &t->mask_id};
    t->n_special = 0;
    for (int k = 0; k < TK_MAX_SPECIAL; k++) {
        int32_t id = tk_lookup(t, false, c->names[k], strlen(c->names[k]));
        *ids[k] = id;
        if (id < 0 && k != 4)
            return sm_err(e, SM_ERR_FORMAT, "%s: the vocabulary has no %s token \"%s\": is this a BERT vocabulary?",
                          name, tk_special_keys[k], c->names[k]);
        if (id >= 0) {
            tk_special *sp = &t->special[t->n_special++];
            sp->s = t->pool + t->tok_off[id];
            sp->len = t->tok_len[id];
            sp->id = id;
        }
    }
    return SM_OK;
}
