/* tokenizer_unigram.c: SentencePiece Unigram as Hugging Face `tokenizers` runs XLM-R's tokenizer.json:
 * the Precompiled normalizer (spm's precompiled_charsmap: a darts double-array trie of byte strings and
 * their replacements, looked up per extended grapheme cluster shorter than 6 bytes, else per
 * character, the first (shortest) prefix match replacing the whole chunk, as spm_precompiled does),
 * optionally " {2,}" -> " ", WhitespaceSplit, Metaspace ("▁", prepend, split keeping it with the next
 * piece) and Viterbi over the pieces' scores (an unknown character costs the lowest score minus 10;
 * adjacent unknowns fuse into one). It reads no files and knows no special tokens (tokenizer_hf.c, tokenizer.c). */
#include "lib/tokenizer/tokenizer_unigram.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The pieces and all their prefixes by 64-bit FNV-1a hash, so that Viterbi's prefix search extends
 * one hash byte by byte and stops at the first prefix no piece has. */
typedef struct piece_slot {
    uint64_t h;      /* 0: empty (a hash of 0 is stored as 1) */
    int32_t id;      /* the piece with this hash, -1: only a prefix */
    uint32_t off, len; /* the piece's bytes in pstr */
} piece_slot;

#define UNI_SEED 0xcbf29ce484222325ULL
#define UNI_MUL 0x100000001b3ULL

struct tk_unigram {
    piece_slot *slots;
    size_t mask, used;
    char *pstr;
    size_t pstr_n, pstr_cap;
    double *scores;
    size_t n_ids;
    int32_t unk_id;
    double unk_score;
    size_t max_piece;       /* bytes of the longest piece */
    uint32_t *trie;         /* the charsmap's double array, or NULL (no normalizer) */
    size_t trie_n;
    char *blob;             /* its replacement strings, NUL-separated */
    size_t blob_n;
    int collapse, ws_split, prepend;
    long ascii[128];        /* the replacement of each ASCII character alone (trie_first), -1: none */
    tk_lookup_fn lookup;
    const void *ctx;
};

static long trie_first(const tk_unigram *u, const uint8_t *key, size_t n);

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding; returns the length, or (size_t)-1 when the text is not base64. */
static size_t b64_decode(const char *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < n && s[i] != '='; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return (size_t)-1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    for (; i < n; i++)
        if (s[i] != '=')
            return (size_t)-1;
    return o;
}

static inline size_t slot_at(uint64_t h, size_t mask) { return (size_t)(h ^ (h >> 31)) & mask; }

static inline const piece_slot *slot_find(const tk_unigram *u, uint64_t h)
{
    h = h ? h : 1;
    for (size_t i = slot_at(h, u->mask);; i = (i + 1) & u->mask) {
        if (u->slots[i].h == h)
            return &u->slots[i];
        if (u->slots[i].h == 0)
            return NULL;
    }
}

static bool slots_grow(tk_unigram *u)
{
    size_t cap = u->slots ? 2 * (u->mask + 1) : 4096;
    piece_slot *n = calloc(cap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; u->slots && i <= u->mask; i++) {
        if (!u->slots[i].h)
            continue;
        size_t j = slot_at(u->slots[i].h, cap - 1);
        while (n[j].h)
            j = (j + 1) & (cap - 1);
        n[j] = u->slots[i];
    }
    free(u->slots);
    u->slots = n;
    u->mask = cap - 1;
    return true;
}

static piece_slot *slot_add(tk_unigram *u, uint64_t h)
{
    h = h ? h : 1;
    if (!u->slots || 2 * (u->used + 1) > u->mask + 1)
        if (!slots_grow(u))
            return NULL;
    size_t i = slot_at(h, u->mask);
    while (u->slots[i].h && u->slots[i].h != h)
        i = (i + 1) & u->mask;
    if (!u->slots[i].h) {
        u->slots[i] = (piece_slot){h, -1, 0, 0};
        u->used++;
    }
    return &u->slots[i];
}

sm_status tk_unigram_add_piece(tk_unigram *u, const char *s, size_t n, int32_t id, sm_error *e)
{
    if (n == 0)
        return SM_OK; /* an empty piece never matches */
    uint64_t h = UNI_SEED;
    piece_slot *sl = NULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * UNI_MUL;
        if (!(sl = slot_add(u, h)))
            return sm_err(e, SM_ERR_NOMEM, "out of memory for the Unigram pieces");
    }
    if (sl->id >= 0 && (sl->len != n || memcmp(u->pstr + sl->off, s, n) != 0))
        return sm_err(e, SM_ERR_UNSUPPORTED, "the Unigram pieces %d and %d have the same 64-bit hash: this "
                      "vocabulary cannot be loaded", (int)sl->id, (int)id);
    if (u->pstr_n + n > u->pstr_cap) {
        size_t cap = u->pstr_cap ? u->pstr_cap : 65536;
        while (cap < u->pstr_n + n)
            cap *= 2;
        char *p = realloc(u->pstr, cap);
        if (!p || cap > UINT32_MAX)
            return sm_err(e, SM_ERR_NOMEM, "out of memory for the Unigram pieces");
        u->pstr = p;
        u->pstr_cap = cap;
    }
    memcpy(u->pstr + u->pstr_n, s, n);
    sl->id = id; /* a later id of the same piece replaces an earlier one, as the vocabulary's map does */
    sl->off = (uint32_t)u->pstr_n;
    sl->len = (uint32_t)n;
    u->pstr_n += n;
    return SM_OK;
}

sm_status tk_unigram_new(tk_unigram **out, const double *scores, size_t n_ids, int32_t unk_id, size_t max_piece,
                         const char *charsmap, size_t charsmap_len, int collapse, int ws_split, int prepend,
                         tk_lookup_fn lookup, const void *ctx, const char *path, sm_error *e)
{
    *out = NULL;
    tk_unigram *u = sm_calloc(1, sizeof *u, e, "the Unigram model");
    if (!u)
        return SM_ERR_NOMEM;
    u->scores = sm_malloc(n_ids * sizeof *u->scores, e, "the Unigram scores");
    if (!u->scores) {
        free(u);
        return SM_ERR_NOMEM;
    }
    memcpy(u->scores, scores, n_ids * sizeof *scores);
    double mn = INFINITY;
    for (size_t i = 0; i < n_ids; i++)
        mn = scores[i] < mn ? scores[i] : mn;
    u->n_ids = n_ids;
    u->unk_id = unk_id;
    u->unk_score = mn - 10.0;
    u->max_piece = max_piece;
    u->collapse = collapse;
    u->ws_split = ws_split;
    u->prepend = prepend;
    u->lookup = lookup;
    u->ctx = ctx;
    if (charsmap) {
        uint8_t *raw = malloc(charsmap_len / 4 * 3 + 3);
        if (!raw) {
            tk_unigram_free(u);
            return sm_err(e, SM_ERR_NOMEM, "out of memory for the charsmap");
        }
        size_t n = b64_decode(charsmap, charsmap_len, raw);
        sm_status st = SM_OK;
        uint32_t trie_bytes = 0;
        if (n == (size_t)-1)
            st = sm_err(e, SM_ERR_FORMAT, "%s: normalizer.precompiled_charsmap is not base64", path);
        else if (n < 4 || (trie_bytes = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                                        (uint32_t)raw[3] << 24, trie_bytes % 4 != 0) ||
                 trie_bytes > n - 4 || trie_bytes == 0)
            st = sm_err(e, SM_ERR_FORMAT, "%s: normalizer.precompiled_charsmap is truncated or damaged (%zu bytes, "
                        "a trie of %u bytes announced): use the tokenizer.json the model came with", path,
                        n, (unsigned)trie_bytes);
        if (st == SM_OK) {
            u->trie_n = trie_bytes / 4;
            u->blob_n = n - 4 - trie_bytes;
            u->trie = malloc(u->trie_n * sizeof *u->trie);
            u->blob = malloc(u->blob_n + 1);
            if (!u->trie || !u->blob)
                st = sm_err(e, SM_ERR_NOMEM, "out of memory for the charsmap");
        }
        if (st == SM_OK) {
            for (size_t k = 0; k < u->trie_n; k++) {
                const uint8_t *p = raw + 4 + 4 * k;
                u->trie[k] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            }
            memcpy(u->blob, raw + 4 + trie_bytes, u->blob_n);
            u->blob[u->blob_n] = '\0';
            /* the replacements are UTF-8 (spm_precompiled reads them as a Rust String) */
            const uint8_t *b = (const uint8_t *)u->blob;
            for (size_t k = 0; k < u->blob_n && st == SM_OK;) {
                utf8proc_int32_t cp;
                utf8proc_ssize_t l = utf8proc_iterate(b + k, (utf8proc_ssize_t)(u->blob_n - k), &cp);
                if (l <= 0)
                    st = sm_err(e, SM_ERR_FORMAT, "%s: normalizer.precompiled_charsmap's replacements are not UTF-8 "
                                "(byte %zu): the charsmap is damaged", path, k);
                k += l > 0 ? (size_t)l : 1;
            }
        }
        free(raw);
        if (st != SM_OK) {
            tk_unigram_free(u);
            return st;
        }
    }
    for (int c = 0; c < 128; c++) {
        const uint8_t k = (uint8_t)c;
        u->ascii[c] = u->trie ? trie_first(u, &k, 1) : -1;
    }
    *out = u;
    return SM_OK;
}

void tk_unigram_free(tk_unigram *u)
{
    if (!u)
        return;
    free(u->slots);
    free(u->pstr);
    free(u->scores);
    free(u->trie);
    free(u->blob);
    free(u);
}

/* ---- the Precompiled normalizer ---- */

/* darts' common prefix search, keeping the first (shortest) match: the replacement's offset in the
 * blob, or -1. A damaged trie ends the search (no match) rather than reading outside it. */
static long trie_first(const tk_unigram *u, const uint8_t *key, size_t n)
{
    size_t pos = 0;
    if (u->trie_n == 0)
        return -1;
    uint32_t unit = u->trie[0];
    pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
    for (size_t i = 0; i < n; i++) {
        const uint8_t c = key[i];
        if (c == 0)
            break;
        pos ^= c;
        if (pos >= u->trie_n)
            return -1;
        unit = u->trie[pos];
        if ((unit & ((1u << 31) | 0xFFu)) != c)
            return -1;
        pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
        if ((unit >> 8) & 1) {
            if (pos >= u->trie_n)
                return -1;
            size_t v = u->trie[pos] & ((1u << 31) - 1);
            return v < u->blob_n ? (long)v : -1;
        }
    }
    return -1;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static bool put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

/* chunk s[0..n) replaced, when the trie knows a prefix of it */
static bool transform(const tk_unigram *u, const char *s, size_t n, buf *out, bool *done)
{
    long v = trie_first(u, (const uint8_t *)s, n);
    *done = v >= 0;
    if (v < 0)
        return true;
    return put(out, u->blob + v, strlen(u->blob + v));
}

static bool normalize(const tk_unigram *u, const char *s, size_t n, buf *out)
{
    const uint8_t *b = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        /* an ASCII character before another ASCII character (not CR LF) is a cluster of its own */
        if (b[i] < 0x80 && (i + 1 == n || (b[i + 1] < 0x80 && !(b[i] == '\r' && b[i + 1] == '\n')))) {
            const long v = u->ascii[b[i]];
            if (!(v >= 0 ? put(out, u->blob + v, strlen(u->blob + v)) : put(out, s + i, 1)))
                return false;
            i++;
            continue;
        }
        /* one extended grapheme cluster: s[i..j) */
        utf8proc_int32_t cp, next;
        utf8proc_int32_t state = 0;
        utf8proc_ssize_t l = utf8proc_iterate(b + i, (utf8proc_ssize_t)(n - i), &cp);
        size_t j = i + (size_t)(l > 0 ? l : 1);
        while (j < n) {
            utf8proc_ssize_t l2 = utf8proc_iterate(b + j, (utf8proc_ssize_t)(n - j), &next);
            if (l2 <= 0 || utf8proc_grapheme_break_stateful(cp, next, &state))
                break;
            cp = next;
            j += (size_t)l2;
        }
        bool done = false;
        if (j - i < 6 && !transform(u, s + i, j - i, out, &done))
            return false;
        if (!done) {
            for (size_t k = i; k < j;) {
                utf8proc_int32_t c;
                utf8proc_ssize_t lc = utf8proc_iterate(b + k, (utf8proc_ssize_t)(j - k), &c);
                size_t len = (size_t)(lc > 0 ? lc : 1);
                bool d;
                if (!transform(u, s + k, len, out, &d) || (!d && !put(out, s + k, len)))
                    return false;
                k += len;
            }
        }
        i = j;
    }
    return true;
}

/* ---- pre-tokenizers and Viterbi ---- */

static bool is_white(utf8proc_int32_t c)
{
    if ((c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
        c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
        return true;
    return false;
}

static inline bool same(const char *a, const char *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k] != b[k])
            return false;
    return true;
}

static sm_status viterbi(const tk_unigram *u, const char *s, size_t n, sm_ids *out, sm_error *e)
{
    if (n == 0)
        return SM_OK;
    enum { SMALL = 256 };
    double best_s[SMALL + 1];
    long from_s[SMALL + 1];
    int32_t id_s[SMALL + 1], seq_s[SMALL];
    const bool small = n <= SMALL;
    double *best = small ? best_s : malloc((n + 1) * sizeof *best);
    long *from = small ? from_s : malloc((n + 1) * sizeof *from);
    int32_t *id = small ? id_s : malloc((n + 1) * sizeof *id);
    sm_status st = SM_OK;
    if (!best || !from || !id) {
        st = sm_err(e, SM_ERR_NOMEM, "out of memory tokenizing a word of %zu bytes", n);
        goto done;
    }
    for (size_t i = 0; i <= n; i++)
        from[i] = -1;
    best[0] = 0.0;
    from[0] = 0;
    const uint8_t *b = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(b + i, (utf8proc_ssize_t)(n - i), &c);
        const size_t mblen = (size_t)(l > 0 ? l : 1);
        bool single = false;
        if (from[i] >= 0) {
            /* every piece that starts here, shortest first: one hash extended byte by byte, until
             * no piece has that prefix */
            uint64_t h = UNI_SEED;
            for (size_t end = i; end < n && end - i < u->max_piece;) {
                h = (h ^ b[end]) * UNI_MUL;
                end++;
                const piece_slot *sl = slot_find(u, h);
                if (!sl)
                    break;
                if (sl->id >= 0 && (size_t)sl->id < u->n_ids && sl->len == end - i &&
                    (end == n || (b[end] & 0xC0) != 0x80) && same(u->pstr + sl->off, s + i, end - i)) {
                    const int32_t k = sl->id;
                    const double cand = best[i] + u->scores[k];
                    if (from[end] < 0 || cand > best[end]) {
                        best[end] = cand;
                        from[end] = (long)i;
                        id[end] = k;
                    }
                    single |= end - i == mblen;
                }
            }
            if (!single) {
                const double cand = best[i] + u->unk_score;
                if (from[i + mblen] < 0 || cand > best[i + mblen]) {
                    best[i + mblen] = cand;
                    from[i + mblen] = (long)i;
                    id[i + mblen] = u->unk_id;
                }
            }
        }
        i += mblen;
    }
    /* back from the end; adjacent unknowns become one */
    size_t count = 0;
    for (size_t end = n; end > 0; end = (size_t)from[end]) {
        if (from[end] < 0) { /* not reached: every character has an unknown node */
            st = sm_err(e, SM_ERR_INVALID, "Unigram: no segmentation");
            goto done;
        }
        count++;
    }
    {
        int32_t *seq = small ? seq_s : malloc(count * sizeof *seq);
        if (!seq) {
            st = sm_err(e, SM_ERR_NOMEM, "out of memory tokenizing a word of %zu bytes", n);
            goto done;
        }
        size_t k = count;
        for (size_t end = n; end > 0; end = (size_t)from[end])
            seq[--k] = id[end];
        for (size_t q = 0; q < count && st == SM_OK; q++) {
            if (seq[q] == u->unk_id && q > 0 && seq[q - 1] == u->unk_id)
                continue; /* fused with the unknown before it */
            st = sm_ids_push(out, seq[q], e);
        }
        if (!small)
            free(seq);
    }
done:
    if (!small) {
        free(best);
        free(from);
        free(id);
    }
    return st;
}

static const char META[] = "\xe2\x96\x81"; /* U+2581 */

/* one word: prepend, then split before every "▁" (kept with what follows), each piece by Viterbi */
static sm_status word(const tk_unigram *u, const char *w, size_t n, buf *tmp, sm_ids *out, sm_error *e)
{
    tmp->n = 0;
    if (u->prepend && !(n >= 3 && memcmp(w, META, 3) == 0) && !put(tmp, META, 3))
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(w[i] == ' ' ? put(tmp, META, 3) : put(tmp, w + i, 1)))
            return sm_err(e, SM_ERR_NOMEM, "out of memory");
    sm_status st = SM_OK;
    size_t start = 0;
    for (size_t i = 0; i <= tmp->n && st == SM_OK; i++) {
        bool cut = i == tmp->n || (i > start && (uint8_t)tmp->p[i] == 0xE2 && i + 3 <= tmp->n &&
                                   memcmp(tmp->p + i, META, 3) == 0);
        if (!cut)
            continue;
        st = viterbi(u, tmp->p + start, i - start, out, e);
        start = i;
    }
    return st;
}

sm_status tk_unigram_encode(const tk_unigram *u, const char *s, size_t n, sm_ids *out, sm_error *e)
{
    buf norm = {0}, tmp = {0};
    sm_status st = SM_OK;
    if (u->trie) {
        if (!normalize(u, s, n, &norm)) {
            st = sm_err(e, SM_ERR_NOMEM, "out of memory normalizing a text of %zu bytes", n);
            goto done;
        }
    } else if (!put(&norm, s, n)) {
        st = sm_err(e, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (u->collapse) { /* Replace " {2,}" -> " " */
        size_t o = 0;
        for (size_t i = 0; i < norm.n; i++)
            if (!(norm.p[i] == ' ' && o > 0 && norm.p[o - 1] == ' ' && i > 0 && norm.p[i - 1] == ' '))
                norm.p[o++] = norm.p[i];
        norm.n = o;
    }
    const uint8_t *b = (const uint8_t *)norm.p;
    if (!u->ws_split) {
        st = word(u, norm.p ? norm.p : "", norm.n, &tmp, out, e);
        goto done;
    }
    for (size_t i = 0; i < norm.n && st == SM_OK;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(b + i, (utf8proc_ssize_t)(norm.n - i), &c);
        if (l > 0 && is_white(c)) {
            i += (size_t)l;
            continue;
        }
        size_t j = i;
        while (j < norm.n) {
            utf8proc_ssize_t l2 = utf8proc_iterate(b + j, (utf8proc_ssize_t)(norm.n - j), &c);
            if (l2 > 0 && is_white(c))
                break;
            j += (size_t)(l2 > 0 ? l2 : 1);
        }
        st = word(u, norm.p + i, j - i, &tmp, out, e);
        i = j;
    }
done:
    free(norm.p);
    free(tmp.p);
    return st;
}
