/* tokenizer_internal.h: what the tokenizer's files share: the sm_tokenizer struct, its vocabulary
 * table (lookups inline, for WordPiece's inner loop), strict UTF-8 decoding, tokenizer_config.json's
 * settings and the steps each file offers the others. Private to src/lib/tokenizer; the interface is
 * smartty/tokenizer.h. */
#ifndef SMARTTY_TOKENIZER_INTERNAL_H
#define SMARTTY_TOKENIZER_INTERNAL_H

#include "smartty/tokenizer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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


/* Settings read from tokenizer_config.json (or defaults), before the vocabulary is known. */
typedef struct tk_config {
    int lower_case;     /* -1: not given */
    int strip_accents;  /* -1: follow lower_case */
    int chinese_chars;  /* -1: not given (on) */
    int add_prefix_space; /* BPE from vocab.json + merges.txt; -1: not given (off) */
    char names[TK_MAX_SPECIAL][64]; /* pad, unk, cls, sep, mask */
} tk_config;


/* tokenizer_config.json's keys of the special tokens, and BERT's names for them (tokenizer_hf.c) */
extern const char *const tk_special_keys[TK_MAX_SPECIAL];
extern const char *const tk_special_defaults[TK_MAX_SPECIAL];

/* ---- the vocabulary (tokenizer_vocab.c) ---- */

/* Allocate the per-id arrays (all holes) for n_ids ids. */
sm_status tk_alloc_ids(sm_tokenizer *t, size_t n_ids, sm_error *e);
/* The hash table over every id's token, and max_token_bytes. */
sm_status tk_build_table(sm_tokenizer *t, sm_error *e);
/* Offset of the first byte of s[0..n) that does not start a valid character, or n. */
size_t tk_utf8_check(const char *s, size_t n);
/* Parse vocab.txt text: one token per line (LF, CRLF or CR), id = line number from 0. */
sm_status tk_parse_vocab_txt(sm_tokenizer *t, const char *data, size_t len, const char *name, sm_error *e);
/* A JSON object of token: id (tokenizer.json's model.vocab, or vocab.json) into the pool. */
sm_status tk_parse_vocab_object(sm_tokenizer *t, json_t *vocab, const char *path, const char *what, sm_error *e);

/* ---- WordPiece (tokenizer_wordpiece.c) ---- */

/* The ids of text[0..len) (valid UTF-8), special tokens matched first, appended to out; on an error
 * out is as it was. */
sm_status tk_wordpiece_text(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out, sm_error *e);
/* After the vocabulary is in: settings, the table and the special tokens. */
sm_status tk_finish(sm_tokenizer *t, const tk_config *c, int lower_case, const char *name, sm_error *e);

/* ---- Hugging Face's files (tokenizer_hf.c) ---- */

void tk_config_default(tk_config *c);
sm_status tk_read_config(const char *path, tk_config *c, sm_error *e);
/* model.vocab of a tokenizer.json: a WordPiece model, with its prefix and word limit; or a BPE, whose
 * document goes to *bpe_root (a new reference) for tk_bpe_setup once the vocabulary is in. */
sm_status tk_parse_tokenizer_json(sm_tokenizer *t, const char *path, tk_config *c, json_t **bpe_root, sm_error *e);
/* The rest of a BPE tokenizer.json: its components (refused by name where smartty does not implement
 * them), merges, added tokens and post-processor. */
sm_status tk_bpe_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e);
/* A Unigram tokenizer.json: its vocabulary, normalizer, pre-tokenizer, framing and added tokens. */
sm_status tk_unigram_setup(sm_tokenizer *t, json_t *root, const char *path, tk_config *c, sm_error *e);
/* vocab.json + merges.txt (GPT-2's files), with tokenizer_config.json's add_prefix_space. */
sm_status tk_bpe_load_files(sm_tokenizer *t, const char *vocab_path, const char *merges_path, tk_config *c,
                            int add_prefix_space, sm_error *e);

#endif
