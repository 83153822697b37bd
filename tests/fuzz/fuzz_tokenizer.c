/* fuzz_tokenizer.c: libFuzzer harness for the tokenizer. The first byte picks a tokenizer (lower-
 * casing or cased, over a small vocabulary), an entry point (encode, encode_pair of the texts either
 * side of the first tab with a max_len from that byte, or loading the rest as a vocab.txt) and the
 * rest is the input. Beyond crashes and sanitizer reports it aborts when an output breaks the
 * framing rules. Not built by make; built by tests/fuzz/build.sh (against libsmartty.a), then from
 * the source tree:
 *   mkdir -p corpus && ./fuzz_tokenizer -runs=1000000 corpus tests/fuzz/corpus/tokenizer
 * (new inputs go to the first folder, so the seed corpus in the tree stays as it is). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char small_vocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n,\n.\n-\n'\n(\n)\n$\n[\n]\n\xc2\xbf\n"
    "a\nb\nc\ne\ni\n##a\n##b\n##c\n##e\ncafe\ndeja\n\xe4\xb8\xad\nhello\nworld\n##s\n\xc3\xa9\n##\xc3\xa9\n"
    "un\n##aff\n##able\n##\xcc\x87\nx\n";

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tokenizer: broken invariant: %s\n", what);
        abort();
    }
}

static void check_ids(const sm_tokenizer *t, const sm_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        check(ids->v[i] >= 0 && (size_t)ids->v[i] < sm_tokenizer_vocab_size(t) &&
                  sm_tokenizer_token(t, ids->v[i]) != NULL,
              "an id outside the vocabulary");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_tokenizer *tok[2];
    sm_error e;
    if (!tok[0]) {
        for (int k = 0; k < 2; k++)
            if (sm_tokenizer_load_vocab_text(small_vocab, sizeof small_vocab - 1, "fuzz", k ? 0 : 1, &tok[k],
                                             &e) != SM_OK) {
                fprintf(stderr, "fuzz_tokenizer: %s\n", e.msg);
                abort();
            }
    }
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const sm_tokenizer *t = tok[mode & 1];
    sm_ids ids = {0}, types = {0};
    switch ((mode >> 1) % 3) {
    case 0: {
        sm_ids_push(&ids, 7, &e);
        sm_status st = sm_tokenizer_encode(t, text, len, &ids, &e);
        check(st == SM_OK || st == SM_ERR_FORMAT, "encode: an unexpected status");
        check(ids.n > 0 && ids.v[0] == 7, "encode: earlier ids changed");
        if (st != SM_OK)
            check(ids.n == 1 && strstr(e.msg, "byte offset") != NULL, "encode: error left ids or no offset");
        check(ids.n <= 2 * len + 1, "encode: more pieces than twice the bytes");
        check_ids(t, &ids);
        break;
    }
    case 1: {
        int max_len = (mode >> 3) == 0 ? 0 : (int)(mode >> 3) + 2; /* 0, or 3 .. 33 */
        const char *tab = memchr(text, '\t', len);
        const char *b = tab ? tab + 1 : NULL;
        size_t a_len = tab ? (size_t)(tab - text) : len, b_len = tab ? len - a_len - 1 : 0;
        sm_status st = sm_tokenizer_encode_pair_n(t, text, a_len, b, b_len, max_len, &ids, &types, &e);
        check(st == SM_OK || st == SM_ERR_FORMAT, "encode_pair: an unexpected status");
        if (st != SM_OK)
            break;
        size_t n = ids.n;
        check(types.n == n && n >= (b ? 3u : 2u), "encode_pair: lengths");
        check(max_len == 0 || n <= (size_t)max_len, "encode_pair: longer than max_len");
        check(ids.v[0] == sm_tokenizer_cls_id(t) && ids.v[n - 1] == sm_tokenizer_sep_id(t), "framing");
        for (size_t i = 1; i < n; i++)
            check(types.v[i] >= types.v[i - 1] && types.v[i] <= (b ? 1 : 0), "token types");
        check_ids(t, &ids);
        break;
    }
    default: {
        sm_tokenizer *v;
        sm_status st = sm_tokenizer_load_vocab_text(text, len, "fuzz-vocab", mode & 1, &v, &e);
        check(st == SM_OK || st == SM_ERR_FORMAT || st == SM_ERR_UNSUPPORTED, "vocab: an unexpected status");
        if (st != SM_OK) {
            check(v == NULL, "vocab: a tokenizer on failure");
            break;
        }
        static const char sample[] = "Hello, [SEP] w\xc3\xb6rld! \xe4\xb8\xad\xe6\x96\x87 unaffable\tx";
        st = sm_tokenizer_encode_pair_n(v, sample, sizeof sample - 1, text, len, 16, &ids, &types, &e);
        check(st == SM_OK || st == SM_ERR_FORMAT, "vocab: encode status");
        if (st == SM_OK)
            check_ids(v, &ids);
        sm_tokenizer_free(v);
        break;
    }
    }
    sm_ids_free(&ids);
    sm_ids_free(&types);
    return 0;
}
