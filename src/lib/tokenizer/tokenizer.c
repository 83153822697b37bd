/* tokenizer.c: BERT's basic tokenizer and WordPiece as Hugging Face's BertTokenizer runs them (the
 * `tokenizers` BertNormalizer, BertPreTokenizer, WordPiece model and [CLS]/[SEP] template), streamed
 * one character at a time with no allocation per word; and the files of a byte-level BPE (RoBERTa's
 * tokenizer.json, or vocab.json + merges.txt) and of a SentencePiece Unigram (XLM-R's tokenizer.json),
 * their added tokens and their <s> A </s></s> B </s> framing (the models themselves are
 * tokenizer_bpe.c and tokenizer_unigram.c). Unicode data come from utf8proc; the only tables written here
 * are BERT's CJK ranges and its ASCII punctuation rule. No padding or decoding. */
#include "smartty/tokenizer.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "lib/tokenizer/tokenizer_bpe.h"
#include "lib/tokenizer/tokenizer_unigram.h"

#define TK_MAX_WORD_CAP 1024    /* the largest max_input_chars_per_word accepted */
#define TK_MAX_SPECIAL 5        /* [PAD] [UNK] [CLS] [SEP] [MASK] */
#define TK_MAX_IDS (1u << 24)   /* vocabularies beyond 16M ids are refused */
#define TK_HASH_SEED 0xcbf29ce484222325ULL
#define TK_HASH_MUL 0x100000001b3ULL

typedef struct tk_slot {
    uint32_t tag;   /* high half of the token's hash */
    int32_t id;     /* -1: empty */
} tk_slot;

typedef struct tk_special {
    const char *s;  /* into the pool */
    size_t len;
    int32_t id;
    int lstrip, rstrip; /* BPE's added tokens: whitespace before / after them is part of the match */
} tk_special;

struct sm_tokenizer {
    int lower_case;          /* lower-case character by character (full Unicode mapping) */
    int strip_accents;       /* NFD, then drop nonspacing marks (Mn) */
    int chinese_chars;       /* CJK ideographs become words of their own */
    int max_word_chars;      /* words longer than this (in characters) become [UNK] */
    char prefix[16];         /* WordPiece continuation prefix, "##" */
    size_t prefix_len;
    uint64_t prefix_hash;    /* hash state after the prefix */
    size_t max_token_bytes;  /* the longest token, so lookups never try longer pieces */
    size_t n_ids;            /* ids are 0 .. n_ids-1 */
    char *pool;              /* every token, NUL-terminated */
    uint32_t *tok_off;       /* [n_ids] offset of each id's token in pool; UINT32_MAX: none */
    uint32_t *tok_len;       /* [n_ids] its length in bytes */
    tk_slot *slots;          /* [mask+1] open addressing, token -> id */
    size_t mask;
    int32_t pad_id, unk_id, cls_id, sep_id, mask_id;
    tk_special special[TK_MAX_SPECIAL]; /* matched in the raw text before anything else */
    int n_special;
    tk_bpe *bpe;             /* byte-level BPE (RoBERTa) instead of WordPiece, or NULL */
    tk_unigram *uni;         /* or SentencePiece Unigram (XLM-R), or NULL */
    tk_special *added;       /* the BPE's added tokens, matched in the raw text first */
    int n_added;
    char *files[4];          /* the BPE's source files (NULL-terminated), copied when a model is saved */
};

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

/* ---- the vocabulary: FNV-1a hashes in an open-addressing table ---- */

static inline uint64_t tk_hash(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= TK_HASH_MUL;
    }
    return h;
}

static inline size_t tk_slot_of(uint64_t h, size_t mask) { return (size_t)(h ^ (h >> 29)) & mask; }

/* The id of prefix+s (cont) or s, or -1. */
static inline int32_t tk_lookup(const sm_tokenizer *t, bool cont, const char *s, size_t n)
{
    uint64_t h = tk_hash(cont ? t->prefix_hash : TK_HASH_SEED, s, n);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t full = n + (cont ? t->prefix_len : 0);
    for (size_t i = tk_slot_of(h, t->mask);; i = (i + 1) & t->mask) {
        tk_slot sl = t->slots[i];
        if (sl.id < 0)
            return -1;
        if (sl.tag != tag || t->tok_len[sl.id] != full)
            continue;
        const char *tok = t->pool + t->tok_off[sl.id];
        if (cont) {
            if (memcmp(tok, t->prefix, t->prefix_len) != 0)
                continue;
            tok += t->prefix_len;
        }
        if (memcmp(tok, s, n) == 0)
            return sl.id;
    }
}

/* Insert id's token; a token seen before now maps to the later id (as a Python dict does). */
static void tk_insert(sm_tokenizer *t, int32_t id)
{
    const char *tok = t->pool + t->tok_off[id];
    size_t n = t->tok_len[id];
    uint64_t h = tk_hash(TK_HASH_SEED, tok, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = tk_slot_of(h, t->mask);; i = (i + 1) & t->mask) {
        tk_slot *sl = &t->slots[i];
        if (sl->id < 0) {
            sl->tag = tag;
            sl->id = id;
            return;
        }
        if (sl->tag == tag && t->tok_len[sl->id] == n && memcmp(t->pool + t->tok_off[sl->id], tok, n) == 0) {
            sl->id = id;
            return;
        }
    }
}

/* Allocate the per-id arrays (all holes) for n_ids ids. */
static sm_status tk_alloc_ids(sm_tokenizer *t, size_t n_ids, sm_error *e)
{
    t->n_ids = n_ids;
    t->tok_off = sm_malloc(n_ids * sizeof *t->tok_off, e, "vocabulary offsets");
    t->tok_len = sm_calloc(n_ids, sizeof *t->tok_len, e, "vocabulary lengths");
    if (!t->tok_off || !t->tok_len)
        return e ? e->status : SM_ERR_NOMEM;
    for (size_t i = 0; i < n_ids; i++)
        t->tok_off[i] = UINT32_MAX;
    return SM_OK;
}

static sm_status tk_build_table(sm_tokenizer *t, sm_error *e)
{
    size_t cap = 16;
    while (cap < 2 * t->n_ids)
        cap *= 2;
    t->slots = sm_malloc(cap * sizeof *t->slots, e, "vocabulary hash table");
    if (!t->slots)
        return e ? e->status : SM_ERR_NOMEM;
    t->mask = cap - 1;
    for (size_t i = 0; i < cap; i++)
        t->slots[i].id = -1;
    t->max_token_bytes = 0;
    for (size_t id = 0; id < t->n_ids; id++) {
        if (t->tok_off[id] == UINT32_MAX)
            continue;
        tk_insert(t, (int32_t)id);
        if (t->tok_len[id] > t->max_token_bytes)
            t->max_token_bytes = t->tok_len[id];
    }
    return SM_OK;
}

/* ---- UTF-8 ---- */

/* Decode one character of s[0..n) (s[0] >= 0x80) strictly: no overlong forms, no surrogates, nothing
 * above U+10FFFF. Returns its length, or 0 when the bytes are not UTF-8. */
static inline int tk_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        if (v < 0x800 || (v >= 0xD800 && v < 0xE000))
            return 0;
        *cp = v;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                     ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        if (v < 0x10000 || v > 0x10FFFF)
            return 0;
        *cp = v;
        return 4;
    }
    return 0;
}

/* Offset of the first byte of s[0..n) that does not start a valid character, or n. */
static size_t tk_utf8_check(const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int k = tk_decode(u + i, n - i, &cp);
        if (!k)
            return i;
        i += (size_t)k;
    }
    return n;
}

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

/* Settings read from tokenizer_config.json (or defaults), before the vocabulary is known. */
typedef struct tk_config {
    int lower_case;     /* -1: not given */
    int strip_accents;  /* -1: follow lower_case */
    int chinese_chars;  /* -1: not given (on) */
    int add_prefix_space; /* BPE from vocab.json + merges.txt; -1: not given (off) */
    char names[TK_MAX_SPECIAL][64]; /* pad, unk, cls, sep, mask */
} tk_config;

static const char *const tk_special_keys[TK_MAX_SPECIAL] = {"pad_token", "unk_token", "cls_token",
                                                            "sep_token", "mask_token"};
static const char *const tk_special_defaults[TK_MAX_SPECIAL] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                "[MASK]"};

static void tk_config_default(tk_config *c)
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

static sm_status tk_read_config(const char *path, tk_config *c, sm_error *e)
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

/* Parse vocab.txt text: one token per line (LF, CRLF or CR), id = line number from 0. */
static sm_status tk_parse_vocab_txt(sm_tokenizer *t, const char *data, size_t len, const char *name,
                                    sm_error *e)
{
    if (len >= UINT32_MAX)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: a vocabulary of %zu bytes is too large", name, len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n')))
            lines++;
    }
    if (len > 0 && data[len - 1] != '\n' && data[len - 1] != '\r')
        lines++;
    if (lines == 0)
        return sm_err(e, SM_ERR_FORMAT, "%s: the vocabulary is empty: it should hold one token per line",
                      name);
    if (lines > TK_MAX_IDS)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: %zu tokens, over smartty's limit of %u", name, lines,
                      TK_MAX_IDS);
    t->pool = sm_malloc(len + 1, e, "vocabulary");
    if (!t->pool)
        return e ? e->status : SM_ERR_NOMEM;
    memcpy(t->pool, data, len);
    t->pool[len] = '\0';
    sm_status st = tk_alloc_ids(t, lines, e);
    if (st != SM_OK)
        return st;
    size_t id = 0, start = 0;
    for (size_t i = 0; i <= len && id < lines; i++) {
        bool end = i == len || t->pool[i] == '\n' || t->pool[i] == '\r';
        if (!end)
            continue;
        if (i == len && i == start)
            break;
        size_t bad = tk_utf8_check(t->pool + start, i - start);
        if (bad < i - start)
            return sm_err(e, SM_ERR_FORMAT, "%s:%zu:%zu: invalid UTF-8 (byte 0x%02X): a vocabulary is UTF-8 text",
                          name, id + 1, bad + 1, (unsigned)(uint8_t)t->pool[start + bad]);
        t->tok_off[id] = (uint32_t)start;
        t->tok_len[id] = (uint32_t)(i - start);
        id++;
        if (i < len && t->pool[i] == '\r' && i + 1 < len && t->pool[i + 1] == '\n')
            t->pool[i++] = '\0';
        if (i < len)
            t->pool[i] = '\0';
        start = i + 1;
    }
    return SM_OK;
}

/* A JSON object of token: id (tokenizer.json's model.vocab, or vocab.json) into the pool. */
static sm_status tk_parse_vocab_object(sm_tokenizer *t, json_t *vocab, const char *path, const char *what,
                                       sm_error *e)
{
    sm_status st = SM_OK;
    size_t n_ids = 0, bytes = 0;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= TK_MAX_IDS) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: %s[\"%.40s\"] must be an id from 0 to %u", path, what, key,
                        TK_MAX_IDS - 1);
            return st;
        }
        if ((size_t)json_integer_value(val) + 1 > n_ids)
            n_ids = (size_t)json_integer_value(val) + 1;
        bytes += strlen(key) + 1;
    }
    if (n_ids == 0) {
        st = sm_err(e, SM_ERR_FORMAT, "%s: %s is empty", path, what);
        return st;
    }
    if (bytes >= UINT32_MAX) {
        st = sm_err(e, SM_ERR_UNSUPPORTED, "%s: the vocabulary is too large", path);
        return st;
    }
    t->pool = sm_malloc(bytes, e, "vocabulary");
    if (!t->pool || (st = tk_alloc_ids(t, n_ids, e)) != SM_OK) {
        st = e ? e->status : SM_ERR_NOMEM;
        return st;
    }
    size_t off = 0;
    json_object_foreach(vocab, key, val) {
        size_t id = (size_t)json_integer_value(val), n = strlen(key);
        if (t->tok_off[id] != UINT32_MAX) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: %s gives id %zu to both \"%.40s\" and \"%.40s\"", path, what,
                        id, t->pool + t->tok_off[id], key);
            return st;
        }
        memcpy(t->pool + off, key, n + 1);
        t->tok_off[id] = (uint32_t)off;
        t->tok_len[id] = (uint32_t)n;
        off += n + 1;
    }
    return st;
}

/* model.vocab of a tokenizer.json: a WordPiece model, with its prefix and word limit; or a BPE, whose
 * document goes to *bpe_root (a new reference) for tk_bpe_setup once the vocabulary is in. */
static sm_status tk_parse_tokenizer_json(sm_tokenizer *t, const char *path, tk_config *c, json_t **bpe_root,
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
static sm_status tk_bpe_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e)
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

static sm_status tk_unigram_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e)
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
static sm_status tk_bpe_load_files(sm_tokenizer *t, const char *vocab_path, const char *merges_path, tk_config *c,
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

static bool tk_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* After the vocabulary is in: settings, the table and the special tokens. */
static sm_status tk_finish(sm_tokenizer *t, const tk_config *c, int lower_case, const char *name, sm_error *e)
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
