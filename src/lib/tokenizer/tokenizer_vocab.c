/* tokenizer_vocab.c: the tokenizer's vocabulary: FNV-1a hashes of every token in an open-addressing
 * table (looked up by tokenizer_internal.h's inline tk_lookup), strict UTF-8 checking, and the two plain
 * forms of a vocabulary, vocab.txt lines and a JSON object of token: id. No special tokens, no encoding. */
#include "lib/tokenizer/tokenizer_internal.h"

#include <stdlib.h>

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
sm_status tk_alloc_ids(sm_tokenizer *t, size_t n_ids, sm_error *e)
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

sm_status tk_build_table(sm_tokenizer *t, sm_error *e)
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

/* Offset of the first byte of s[0..n) that does not start a valid character, or n. */
size_t tk_utf8_check(const char *s, size_t n)
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

/* Parse vocab.txt text: one token per line (LF, CRLF or CR), id = line number from 0. */
sm_status tk_parse_vocab_txt(sm_tokenizer *t, const char *data, size_t len, const char *name,
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
sm_status tk_parse_vocab_object(sm_tokenizer *t, json_t *vocab, const char *path, const char *what,
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

