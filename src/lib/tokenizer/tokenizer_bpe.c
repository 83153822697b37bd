/* tokenizer_bpe.c: byte-level BPE as Hugging Face `tokenizers` runs it (ByteLevel pre-tokenizer with
 * use_regex, BPE model without dropout or word suffixes): the GPT-2 split pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * matched by hand with utf8proc's categories, the byte-to-character map, and merges applied lowest
 * rank first (leftmost on ties). It reads no files and knows no special tokens (tokenizer_hf.c, tokenizer.c). */
#include "lib/tokenizer/tokenizer_bpe.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct bpe_slot {
    uint64_t key;   /* left id << 32 | right id; UINT64_MAX: empty */
    int32_t rank, id;
} bpe_slot;

struct tk_bpe {
    int add_prefix_space;
    int32_t byte_id[256];  /* id of each byte's character, -1 when not in the vocabulary */
    tk_lookup_fn lookup;
    const void *ctx;
    bpe_slot *slots;
    size_t mask, count;
};

enum { C_OTHER = 0, C_LETTER, C_NUMBER, C_SPACE };

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + n in order. */
static uint32_t byte_char(int b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    int n = 0;
    for (int k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF)))
            n++;
    return 256u + (uint32_t)n;
}

static size_t put_utf8(uint32_t cp, char *d)
{
    return (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)d);
}

sm_status tk_bpe_new(tk_bpe **out, size_t n_merges, int add_prefix_space, tk_lookup_fn lookup, const void *ctx,
                     sm_error *e)
{
    *out = NULL;
    tk_bpe *b = sm_calloc(1, sizeof *b, e, "the BPE merges");
    if (!b)
        return SM_ERR_NOMEM;
    b->add_prefix_space = add_prefix_space;
    b->lookup = lookup;
    b->ctx = ctx;
    size_t cap = 16;
    while (cap < 2 * n_merges + 2)
        cap *= 2;
    b->slots = sm_malloc(cap * sizeof *b->slots, e, "the BPE merges");
    if (!b->slots) {
        free(b);
        return SM_ERR_NOMEM;
    }
    b->mask = cap - 1;
    for (size_t i = 0; i < cap; i++)
        b->slots[i].key = UINT64_MAX;
    for (int k = 0; k < 256; k++) {
        char buf[8];
        size_t n = put_utf8(byte_char(k), buf);
        b->byte_id[k] = lookup(ctx, buf, n);
    }
    *out = b;
    return SM_OK;
}

void tk_bpe_free(tk_bpe *b)
{
    if (!b)
        return;
    free(b->slots);
    free(b);
}

size_t tk_bpe_merges(const tk_bpe *b) { return b->count; }

static inline size_t slot_of(uint64_t key, size_t mask)
{
    key ^= key >> 31;
    key *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(key >> 17) & mask;
}

static sm_status grow(tk_bpe *b, sm_error *e)
{
    size_t cap = 2 * (b->mask + 1);
    bpe_slot *s = sm_malloc(cap * sizeof *s, e, "the BPE merges");
    if (!s)
        return SM_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++)
        s[i].key = UINT64_MAX;
    for (size_t i = 0; i <= b->mask; i++) {
        if (b->slots[i].key == UINT64_MAX)
            continue;
        size_t j = slot_of(b->slots[i].key, cap - 1);
        while (s[j].key != UINT64_MAX)
            j = (j + 1) & (cap - 1);
        s[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = s;
    b->mask = cap - 1;
    return SM_OK;
}

sm_status tk_bpe_add_merge(tk_bpe *b, const char *left, size_t nl, const char *right, size_t nr, const char *where,
                           sm_error *e)
{
    int32_t a = b->lookup(b->ctx, left, nl), c = b->lookup(b->ctx, right, nr);
    if (a < 0 || c < 0) {
        const char *which = a < 0 ? left : right;
        size_t len = a < 0 ? nl : nr;
        return sm_err(e, SM_ERR_FORMAT, "%s: the merge \"%.*s %.*s\" names \"%.*s\", which is not in the "
                      "vocabulary: merges and vocabulary do not belong together", where, (int)(nl > 60 ? 60 : nl),
                      left, (int)(nr > 60 ? 60 : nr), right, (int)(len > 60 ? 60 : len), which);
    }
    char *cat = malloc(nl + nr + 1);
    if (!cat)
        return sm_err(e, SM_ERR_NOMEM, "out of memory for the BPE merges");
    memcpy(cat, left, nl);
    memcpy(cat + nl, right, nr);
    int32_t id = b->lookup(b->ctx, cat, nl + nr);
    free(cat);
    if (id < 0)
        return sm_err(e, SM_ERR_FORMAT, "%s: the merge \"%.*s %.*s\" makes \"%.*s%.*s\", which is not in the "
                      "vocabulary: merges and vocabulary do not belong together", where, (int)(nl > 60 ? 60 : nl),
                      left, (int)(nr > 60 ? 60 : nr), right, (int)(nl > 60 ? 60 : nl), left,
                      (int)(nr > 60 ? 60 : nr), right);
    if (b->count > INT32_MAX - 2)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: too many merges", where);
    if (2 * (b->count + 1) > b->mask + 1) {
        sm_status st = grow(b, e);
        if (st != SM_OK)
            return st;
    }
    const uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)c;
    size_t i = slot_of(key, b->mask);
    while (b->slots[i].key != UINT64_MAX && b->slots[i].key != key)
        i = (i + 1) & b->mask;
    /* a pair given twice keeps its later rank, as tokenizers' map of merges does */
    b->slots[i].key = key;
    b->slots[i].rank = (int32_t)b->count;
    b->slots[i].id = id;
    b->count++;
    return SM_OK;
}

static inline const bpe_slot *find_pair(const tk_bpe *b, int32_t a, int32_t c)
{
    const uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)c;
    for (size_t i = slot_of(key, b->mask);; i = (i + 1) & b->mask) {
        if (b->slots[i].key == key)
            return &b->slots[i];
        if (b->slots[i].key == UINT64_MAX)
            return NULL;
    }
}

/* ---- the split pattern ---- */

static int char_class(uint32_t cp)
{
    if (cp < 128) {
        if ((cp >= 9 && cp <= 13) || cp == ' ')
            return C_SPACE;
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z')
            return C_LETTER;
        if (cp >= '0' && cp <= '9')
            return C_NUMBER;
        return C_OTHER;
    }
    if (cp == 0x85)
        return C_SPACE;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_NUMBER;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return C_SPACE;
    default:
        return C_OTHER;
    }
}

/* The character at s[i] (valid UTF-8), its length in *len. */
static uint32_t char_at(const uint8_t *s, size_t n, size_t i, size_t *len)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
    if (k <= 0) { /* not reached for validated text; treat the byte as a character of its own */
        *len = 1;
        return s[i];
    }
    *len = (size_t)k;
    return (uint32_t)cp;
}

/* The end of the run of characters of class k from i. */
static size_t run_end(const uint8_t *s, size_t n, size_t i, int k)
{
    while (i < n) {
        size_t l;
        uint32_t cp = char_at(s, n, i, &l);
        if (char_class(cp) != k)
            break;
        i += l;
    }
    return i;
}

/* The length of the pre-token that starts at s[i]. */
static size_t pretoken(const uint8_t *s, size_t n, size_t i)
{
    size_t l0;
    uint32_t c0 = char_at(s, n, i, &l0);
    if (c0 == '\'' && i + 1 < n) {
        uint8_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    int k0 = char_class(c0);
    if (c0 == ' ' && i + 1 < n) {
        size_t l1;
        int k1 = char_class(char_at(s, n, i + 1, &l1));
        if (k1 != C_SPACE)
            return run_end(s, n, i + 1, k1) - i;
    }
    if (k0 != C_SPACE)
        return run_end(s, n, i, k0) - i;
    /* \s+(?!\S): the whitespace run, but the last character stays for the word after it; \s+ when
     * the run is one character before a non-space */
    size_t last = i, j = i;
    while (j < n) {
        size_t l;
        uint32_t cp = char_at(s, n, j, &l);
        if (char_class(cp) != C_SPACE)
            break;
        last = j;
        j += l;
    }
    if (j == n || last == i)
        return j == n ? j - i : l0;
    return last - i;
}

/* ---- merging ---- */

static sm_status merge_word(const tk_bpe *b, const uint8_t *w, size_t n, int32_t unk, int32_t *sym, sm_ids *out,
                            sm_error *e)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = b->byte_id[w[i]];
        if (id < 0)
            id = unk;
        if (id >= 0)
            sym[m++] = id;
    }
    while (m > 1) {
        int32_t best = INT32_MAX, best_id = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            const bpe_slot *p = find_pair(b, sym[i], sym[i + 1]);
            if (p && p->rank < best) {
                best = p->rank;
                best_id = p->id;
                at = i;
            }
        }
        if (best_id < 0)
            break;
        sym[at] = best_id;
        memmove(sym + at + 1, sym + at + 2, (m - at - 2) * sizeof *sym);
        m--;
    }
    for (size_t i = 0; i < m; i++) {
        sm_status st = sm_ids_push(out, sym[i], e);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

sm_status tk_bpe_encode(const tk_bpe *b, const char *text, size_t len, int32_t unk, sm_ids *out, sm_error *e)
{
    if (len == 0)
        return SM_OK;
    const int prefix = b->add_prefix_space && text[0] != ' ';
    const size_t n = len + (size_t)prefix;
    uint8_t *s = malloc(n);
    int32_t *sym = malloc(n * sizeof *sym);
    if (!s || !sym) {
        free(s);
        free(sym);
        return sm_err(e, SM_ERR_NOMEM, "out of memory tokenizing a text of %zu bytes", len);
    }
    if (prefix)
        s[0] = ' ';
    memcpy(s + prefix, text, len);
    sm_status st = SM_OK;
    for (size_t i = 0; i < n && st == SM_OK;) {
        size_t k = pretoken(s, n, i);
        st = merge_word(b, s + i, k, unk, sym, out, e);
        i += k;
    }
    free(s);
    free(sym);
    return st;
}
