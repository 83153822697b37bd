/* fuzz_tokenizer_json.c: libFuzzer harness for the byte-level BPE, the SentencePiece Unigram and the
 * tokenizer.json / vocab.json + merges.txt readers. The first byte picks the mode, the rest is the input:
 *   0, 1: a text (or two, either side of the first tab, with a max_len from the byte) through the BPE
 *         or the Unigram of tests/fixtures/{bpe,unigram};
 *   2:    the bytes as a tokenizer.json, loaded (and, when it loads, used on a few texts);
 *   3:    the bytes, base64-encoded, as the Unigram's precompiled_charsmap, loaded and used;
 *   4:    the bytes as merges.txt beside the BPE's vocab.json, loaded and used.
 * Beyond crashes and sanitizer reports it aborts when an id leaves the vocabulary or the framing
 * breaks. Built by tests/fuzz/build.sh; run from the top of the source tree (it reads the fixtures
 * there, or under $SMARTTY_SRCDIR):
 *   mkdir -p /tmp/corpus-tj && ./fuzz_tokenizer_json -runs=1000000 /tmp/corpus-tj tests/fuzz/corpus/tokenizer_json */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartty/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sm_tokenizer *bpe, *uni;
static json_t *uni_json;
static char dir[256], src[1024];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tokenizer_json: broken invariant: %s\n", what);
        abort();
    }
}

static void setup(void)
{
    if (bpe)
        return;
    const char *s = getenv("SMARTTY_SRCDIR");
    snprintf(src, sizeof src, "%s/tests/fixtures", s && *s ? s : ".");
    char p[1200];
    sm_error e;
    snprintf(p, sizeof p, "%s/bpe", src);
    if (sm_tokenizer_load(p, -1, &bpe, &e) != SM_OK) {
        fprintf(stderr, "fuzz_tokenizer_json: %s (run from the source tree)\n", e.msg);
        exit(1);
    }
    snprintf(p, sizeof p, "%s/unigram", src);
    if (sm_tokenizer_load(p, -1, &uni, &e) != SM_OK) {
        fprintf(stderr, "fuzz_tokenizer_json: %s\n", e.msg);
        exit(1);
    }
    snprintf(p, sizeof p, "%s/unigram/tokenizer.json", src);
    json_error_t je;
    uni_json = json_load_file(p, 0, &je);
    snprintf(dir, sizeof dir, "/tmp/fuzz_tokenizer_json.%d", (int)getpid());
    if (!uni_json || mkdir(dir, 0700) != 0) {
        fprintf(stderr, "fuzz_tokenizer_json: cannot set up %s\n", dir);
        exit(1);
    }
    snprintf(p, sizeof p, "cp '%s/bpe/vocab.json' '%s/'", src, dir);
    if (system(p) != 0)
        exit(1);
}

static void use(const sm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int max_len)
{
    sm_ids ids = {0}, types = {0};
    sm_error e;
    if (sm_tokenizer_encode_pair_n(t, a, na, b, nb, max_len, &ids, &types, &e) == SM_OK) {
        check(ids.n >= (b ? 4u : 2u), "fewer ids than the special tokens");
        check(max_len == 0 || ids.n <= (size_t)max_len, "longer than max_len");
        check(ids.v[0] == sm_tokenizer_cls_id(t) && ids.v[ids.n - 1] == sm_tokenizer_sep_id(t), "framing");
        for (size_t i = 0; i < ids.n; i++)
            check(ids.v[i] >= 0 && (size_t)ids.v[i] < sm_tokenizer_vocab_size(t), "an id outside the vocabulary");
        for (size_t i = 0; i < types.n; i++)
            check(types.v[i] == 0, "a type id other than 0");
    }
    sm_ids_free(&ids);
    sm_ids_free(&types);
}

static void use_fixed(const sm_tokenizer *t)
{
    static const char *const texts[] = {"Hello world", "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 \xef\xbd\x86 \xe2\x91\xa0",
                                        "\xe5\x8c\x97\xe4\xba\xac \xf0\x9f\x98\x80 <mask>  x", ""};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        use(t, texts[k], strlen(texts[k]), k ? texts[k - 1] : NULL, k ? strlen(texts[k - 1]) : 0, (int)k * 5);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        exit(1);
    if (n)
        fwrite(p, 1, n, f);
    fclose(f);
}

static char *base64(const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * (n / 3 + 1) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    const int mode = data[0] % 5, max_len = (data[0] / 5) % 8 == 0 ? 0 : (data[0] / 5) % 40 + 4;
    const char *s = (const char *)data + 1;
    const size_t n = size - 1;
    char path[512];
    sm_tokenizer *t = NULL;
    sm_error e;
    switch (mode) {
    case 0:
    case 1: {
        const char *tab = memchr(s, '\t', n);
        const sm_tokenizer *tk = mode ? uni : bpe;
        if (tab)
            use(tk, s, (size_t)(tab - s), tab + 1, n - (size_t)(tab - s) - 1, max_len);
        else
            use(tk, s, n, NULL, 0, max_len);
        break;
    }
    case 2:
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        write_file(path, s, n);
        if (sm_tokenizer_load(path, -1, &t, &e) == SM_OK)
            use_fixed(t);
        break;
    case 3: {
        char *b64 = base64(data + 1, n);
        json_t *copy = json_deep_copy(uni_json);
        json_object_set_new(json_object_get(copy, "normalizer"), "precompiled_charsmap", json_string(b64));
        snprintf(path, sizeof path, "%s/charsmap.json", dir);
        json_dump_file(copy, path, JSON_COMPACT);
        json_decref(copy);
        free(b64);
        if (sm_tokenizer_load(path, -1, &t, &e) == SM_OK)
            use_fixed(t);
        break;
    }
    case 4:
        snprintf(path, sizeof path, "%s/merges.txt", dir);
        write_file(path, s, n);
        snprintf(path, sizeof path, "%s/vocab.json", dir);
        if (sm_tokenizer_load(path, -1, &t, &e) == SM_OK)
            use_fixed(t);
        break;
    }
    sm_tokenizer_free(t);
    return 0;
}
