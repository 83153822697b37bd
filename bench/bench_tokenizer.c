/* bench_tokenizer.c: tokenizer throughput (MB of UTF-8 text per second, one core) over the IMDB
 * reviews (column 4 of the .tsv files in ../shared/datasets/imdb) with the bert-base-uncased vocabulary.
 * It measures sm_tokenizer_encode_pair only: files are read and split before the clock starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/tokenizer.h"

typedef struct text {
    const char *s;
    size_t n;
} text;

/* Column `col` (1-based) of every line after the header of a tab-separated file in data. */
static size_t split_column(char *data, size_t len, int col, text **out, size_t *n_out, size_t *cap)
{
    size_t bytes = 0;
    char *p = data, *end = data + len;
    char *nl = memchr(p, '\n', len);
    p = nl ? nl + 1 : end; /* header */
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *f = p;
        for (int c = 1; c < col && f < le; c++) {
            char *tab = memchr(f, '\t', (size_t)(le - f));
            f = tab ? tab + 1 : le;
        }
        char *fe = memchr(f, '\t', (size_t)(le - f));
        if (!fe)
            fe = le;
        if (fe > f && fe[-1] == '\r')
            fe--;
        if (*n_out == *cap) {
            *cap = *cap ? *cap * 2 : 1024;
            *out = realloc(*out, *cap * sizeof **out);
            if (!*out) {
                fprintf(stderr, "bench_tokenizer: out of memory\n");
                exit(1);
            }
        }
        (*out)[(*n_out)++] = (text){f, (size_t)(fe - f)};
        bytes += (size_t)(fe - f);
        p = nl ? nl + 1 : end;
    }
    return bytes;
}

int main(int argc, char **argv)
{
    const char *root = getenv("SMARTTY_SHARED");
    if (!root || !*root)
        root = "../shared";
    char vocab[2048];
    snprintf(vocab, sizeof vocab, "%s/vocab/bert-base-uncased/vocab.txt", root);
    int reps = 5;
    const char *files[16];
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vocab") && i + 1 < argc)
            snprintf(vocab, sizeof vocab, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (argv[i][0] != '-' && n_files < 16)
            files[n_files++] = argv[i];
        else {
            fprintf(stderr, "usage: bench_tokenizer [--vocab VOCAB] [--reps N] [FILE.tsv ...]\n");
            return 2;
        }
    }
    static char defaults[2][2048];
    if (n_files == 0) {
        snprintf(defaults[0], sizeof defaults[0], "%s/datasets/imdb/train_subset.tsv", root);
        snprintf(defaults[1], sizeof defaults[1], "%s/datasets/imdb/test_subset.tsv", root);
        files[0] = defaults[0];
        files[1] = defaults[1];
        n_files = 2;
    }
    if (reps < 1)
        reps = 1;

    sm_error e;
    sm_tokenizer *t;
    if (sm_tokenizer_load(vocab, -1, &t, &e) != SM_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", e.msg);
        return 1;
    }
    char *data[16];
    text *texts = NULL;
    size_t n_texts = 0, cap = 0, bytes = 0;
    for (int f = 0; f < n_files; f++) {
        size_t len;
        if (sm_read_file(files[f], &data[f], &len, 0, &e) != SM_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", e.msg);
            return 1;
        }
        bytes += split_column(data[f], len, 4, &texts, &n_texts, &cap);
    }

    sm_ids ids = {0}, types = {0};
    size_t tokens = 0, unk = 0;
    double best = 1e30, total = 0;
    for (int r = 0; r <= reps; r++) { /* pass 0 warms the caches and is not counted */
        double t0 = sm_now();
        size_t ntok = 0;
        for (size_t i = 0; i < n_texts; i++) {
            if (sm_tokenizer_encode_pair_n(t, texts[i].s, texts[i].n, NULL, 0, 0, &ids, &types, &e) != SM_OK) {
                fprintf(stderr, "bench_tokenizer: text %zu: %s\n", i, e.msg);
                return 1;
            }
            ntok += ids.n;
            if (r == 0)
                for (size_t k = 0; k < ids.n; k++)
                    unk += ids.v[k] == sm_tokenizer_unk_id(t);
        }
        double dt = sm_now() - t0;
        tokens = ntok;
        if (r > 0) {
            total += dt;
            if (dt < best)
                best = dt;
        }
    }
    double mb = (double)bytes / 1e6;
    printf("tokenizer throughput, one core, %s\n", vocab);
    printf("  texts   %zu from %d file(s), %.2f MB of UTF-8, %zu ids ([UNK] %zu)\n", n_texts, n_files, mb,
           tokens, unk);
    printf("  best    %.3f s  %.1f MB/s  %.2f M ids/s\n", best, mb / best, (double)tokens / best / 1e6);
    printf("  mean    %.3f s  %.1f MB/s over %d runs\n", total / reps, mb / (total / reps), reps);
    printf("  target  >= 10 MB/s: %s\n", mb / best >= 10.0 ? "met" : "MISSED");
    printf("reproduce: make bench && SMARTTY_SHARED=%s bench/bench_tokenizer\n", root);
    for (int f = 0; f < n_files; f++)
        free(data[f]);
    free(texts);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_tokenizer_free(t);
    return 0;
}
