/* bench_common.h: what bench_engine and bench_smart share: the BERT shapes (tiny .. BERT-base), the
 * paired sgemm peak, peak resident memory, the FLOP count of a batch, and real batches (MRPC pairs,
 * SST-2 sentences) through the data layer with dynamic padding. Header-only, benchmarks only; it
 * prints to stderr and exits on a setup error (a benchmark, not the library). */
#ifndef SMARTTY_BENCH_COMMON_H
#define SMARTTY_BENCH_COMMON_H

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "smartty/data.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"

typedef struct bench_shape {
    const char *name;
    int L, H, NH, F;
} bench_shape;

static const bench_shape bench_shapes[] = {
    {"tiny", 2, 128, 2, 512},   {"mini", 4, 256, 4, 1024},    {"small", 4, 512, 8, 2048},
    {"minilm", 6, 384, 12, 1536}, {"base", 12, 768, 12, 3072},
};
#define BENCH_NSHAPES ((int)(sizeof bench_shapes / sizeof bench_shapes[0]))

static inline const bench_shape *bench_shape_find(const char *name)
{
    for (int i = 0; i < BENCH_NSHAPES; i++)
        if (strcmp(name, bench_shapes[i].name) == 0)
            return &bench_shapes[i];
    return NULL;
}

/* transformers' BertConfig defaults for a shape: vocabulary 30522, 512 positions, dropout 0.1. */
static inline void bench_config(sm_bert_config *c, const bench_shape *s, int labels)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 30522;
    c->hidden_size = s->H;
    c->num_layers = s->L;
    c->num_heads = s->NH;
    c->intermediate_size = s->F;
    c->max_position = 512;
    c->type_vocab_size = 2;
    c->pad_token_id = 0;
    c->layer_norm_eps = 1e-12f;
    c->hidden_dropout = c->attn_dropout = c->classifier_dropout = 0.1f;
    c->initializer_range = 0.02f;
    strcpy(c->hidden_act, "gelu");
    c->num_labels = labels;
    c->problem = SM_PROBLEM_SINGLE_LABEL;
}

/* SMARTTY_BENCH_FAMILY=roberta|xlm-roberta|distilbert|electra: that family's network on the same shape
 * (one token type and padding id 1 for RoBERTa and XLM-R, none for DistilBERT, ELECTRA with
 * embedding_size H/2, whose projection's FLOPs are not counted). 0, or -1 for a name that is no family. */
static inline int bench_family(sm_bert_config *c, const bench_shape *s, const char *prog)
{
    const char *fam = getenv("SMARTTY_BENCH_FAMILY");
    if (!fam || !*fam)
        return 0;
    int k = 0;
    while (k < SM_FAMILY_COUNT && strcmp(fam, sm_family_model_type((sm_family)k)) != 0)
        k++;
    if (k == SM_FAMILY_COUNT) {
        fprintf(stderr, "%s: SMARTTY_BENCH_FAMILY=%s is not a family\n", prog, fam);
        return -1;
    }
    c->family = (sm_family)k;
    if (c->family == SM_FAMILY_ROBERTA || c->family == SM_FAMILY_XLM_ROBERTA) {
        c->type_vocab_size = 1;
        c->pad_token_id = 1;
    }
    if (c->family == SM_FAMILY_DISTILBERT)
        c->type_vocab_size = 0;
    if (c->family == SM_FAMILY_ELECTRA)
        c->embedding_size = s->H / 2;
    return 0;
}

/* FLOPs (multiply-add = 2) of one forward's matrix products over a B x T batch (the padded length:
 * the work the engine does under dynamic padding):
 *   2 N (4 H^2 + 2 H F) L  the six linear layers of each encoder layer, N = B T
 *   + 4 B T^2 H L          attention: Q K^T and P V
 *   + 2 B (H^2 + H C)      pooler and classifier.
 * A training step is 3 x this (backward = input and weight gradients), inference 1 x, the SMART
 * step (one ascent step, teacher) 9 x. Elementwise work and AdamW are not counted. */
static inline double bench_forward_flops(const bench_shape *s, int B, int T, int C)
{
    const double H = s->H, F = s->F, L = s->L, N = (double)B * T;
    return 2.0 * N * (4 * H * H + 2 * H * F) * L + 4.0 * B * (double)T * T * H * L + 2.0 * B * (H * H + H * C);
}

/* One 2048^3 sgemm on buffers kept for the run (sm_alloc_floats: on huge pages, as the engine's
 * arenas), as GFLOP/s, then a pause so that OpenBLAS's worker threads (which spin about 0.1 s after a product) fall asleep before the step timed next. */
static float *bench_pk_a, *bench_pk_b, *bench_pk_c;

static inline double bench_peak_once(void)
{
    const int n = 2048;
    if (!bench_pk_a) {
        bench_pk_a = sm_alloc_floats((size_t)n * n, NULL, "peak");
        bench_pk_b = sm_alloc_floats((size_t)n * n, NULL, "peak");
        bench_pk_c = sm_alloc_floats((size_t)n * n, NULL, "peak");
        if (!bench_pk_a || !bench_pk_b || !bench_pk_c) {
            fprintf(stderr, "bench: out of memory for the sgemm peak\n");
            exit(1);
        }
        for (size_t i = 0; i < (size_t)n * n; i++) {
            bench_pk_a[i] = (float)((i % 17) - 8) * 0.01f;
            bench_pk_b[i] = (float)((i % 13) - 6) * 0.01f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, bench_pk_a, n, bench_pk_b, n, 0.0f,
                    bench_pk_c, n);
    }
    double t0 = sm_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, bench_pk_a, n, bench_pk_b, n, 0.0f,
                bench_pk_c, n);
    const double gflops = 2.0 * n * (double)n * n / (sm_now() - t0) / 1e9;
    nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
    return gflops;
}

static inline void bench_peak_free(void)
{
    sm_free_aligned(bench_pk_a);
    sm_free_aligned(bench_pk_b);
    sm_free_aligned(bench_pk_c);
    bench_pk_a = bench_pk_b = bench_pk_c = NULL;
}

/* Resident memory now (VmRSS) and its high-water mark (VmHWM), in bytes; the mark can be reset
 * (clear_refs 5) on kernels that allow it, else it is the whole process's (ru_maxrss). */
static inline double bench_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            kb = atof(line + n + 1);
            break;
        }
    if (f)
        fclose(f);
    return kb;
}

static inline int bench_reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

static inline double bench_rss(void) { return bench_status_kb("VmRSS") * 1024.0; }

static inline double bench_hwm(void)
{
    double kb = bench_status_kb("VmHWM");
    if (kb > 0)
        return kb * 1024.0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024.0;
}

static inline int bench_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The median of n values (sorted in place). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the batches a benchmark cycles through ---------------------------------------------------- */

typedef struct bench_batches {
    const char *source; /* "fixed", "mrpc", "sst2" */
    int n;              /* batches */
    sm_batch *b;        /* [n] */
    long real_tokens;   /* over all n batches */
    long padded_tokens;
} bench_batches;

/* Fixed: n = 1 batch of B x T random tokens, every example full length. */
static inline void bench_batches_fixed(bench_batches *bb, int B, int T, int vocab, int labels)
{
    memset(bb, 0, sizeof *bb);
    bb->source = "fixed";
    bb->n = 1;
    bb->b = calloc(1, sizeof *bb->b);
    sm_error e;
    if (!bb->b || sm_batch_reserve(bb->b, B, T, 0, &e) != SM_OK) {
        fprintf(stderr, "bench: out of memory for the batch\n");
        exit(1);
    }
    sm_batch *b = bb->b;
    b->B = B;
    b->T = T;
    sm_rng r;
    sm_rng_seed(&r, 3);
    for (int i = 0; i < B * T; i++) {
        b->ids[i] = 1000 + (int32_t)sm_rng_below(&r, (uint64_t)vocab - 1000);
        b->types[i] = (i % T) >= T / 2;
        b->mask[i] = 1.0f;
    }
    for (int i = 0; i < B; i++) {
        b->lengths[i] = T;
        b->labels[i] = i % labels;
        b->rows[i] = (uint32_t)i;
    }
    bb->real_tokens = bb->padded_tokens = (long)B * T;
}

/* Real: the first n batches of size B of a shuffled epoch (the batcher's default order, seed 42, no
 * bucketing: what `smartty train` does), tokenized with bert-base-uncased's vocabulary at max length
 * 128, each padded to its own longest example. Returns 0 (with a message) when the shared data is
 * not there: SMARTTY_SHARED (default ../shared) must hold datasets/ and vocab/. */
static inline int bench_batches_real(bench_batches *bb, const char *which, int B, int n)
{
    memset(bb, 0, sizeof *bb);
    const char *root = getenv("SMARTTY_SHARED");
    if (!root || !*root)
        root = "../shared";
    char data[1024], vocab[1024];
    sm_data_opts o;
    sm_data_opts_init(&o);
    if (strcmp(which, "mrpc") == 0) {
        snprintf(data, sizeof data, "%s/datasets/mrpc/train.tsv", root);
        strcpy(o.text_col, "#1 String");
        strcpy(o.pair_col, "#2 String");
        strcpy(o.label_col, "Quality");
        o.quote = SM_QUOTE_NONE;
        o.delimiter = SM_DELIM_TAB;
    } else if (strcmp(which, "sst2") == 0) {
        snprintf(data, sizeof data, "%s/datasets/sst2/train.tsv", root);
    } else {
        fprintf(stderr, "bench: unknown data '%s' (fixed, mrpc or sst2)\n", which);
        exit(2);
    }
    snprintf(vocab, sizeof vocab, "%s/vocab/bert-base-uncased/vocab.txt", root);
    FILE *f1 = fopen(data, "r"), *f2 = fopen(vocab, "r");
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    if (!f1 || !f2) {
        printf("skipped: %s batches need %s and %s (set SMARTTY_SHARED to the shared data folder)\n", which,
               data, vocab);
        sm_data_opts_free(&o);
        return 0;
    }
    sm_error e;
    sm_tokenizer *tok;
    sm_dataset *ds;
    if (sm_tokenizer_load(vocab, 1, &tok, &e) != SM_OK || sm_dataset_load(data, &o, &ds, &e) != SM_OK ||
        sm_dataset_tokenize(ds, tok, 128, &e) != SM_OK) {
        fprintf(stderr, "bench: %s\n", e.msg);
        exit(1);
    }
    sm_batcher_opts bo = sm_batcher_default_opts();
    bo.batch_size = B;
    sm_batcher *bt;
    if (sm_batcher_new(ds, &bo, sm_tokenizer_pad_id(tok), &bt, &e) != SM_OK) {
        fprintf(stderr, "bench: %s\n", e.msg);
        exit(1);
    }
    bb->source = strcmp(which, "mrpc") == 0 ? "mrpc" : "sst2";
    bb->b = calloc((size_t)n, sizeof *bb->b);
    if (!bb->b) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        int end = 0;
        if (sm_batcher_next(bt, &bb->b[i], &end, &e) != SM_OK) {
            fprintf(stderr, "bench: %s\n", e.msg);
            exit(1);
        }
        bb->n++;
        for (int k = 0; k < bb->b[i].B; k++)
            bb->real_tokens += bb->b[i].lengths[k];
        bb->padded_tokens += (long)bb->b[i].B * bb->b[i].T;
        if (end)
            break;
    }
    sm_batcher_free(bt);
    sm_dataset_free(ds);
    sm_tokenizer_free(tok);
    sm_data_opts_free(&o);
    return 1;
}

static inline void bench_batches_free(bench_batches *bb)
{
    for (int i = 0; i < bb->n; i++)
        sm_batch_free(&bb->b[i]);
    free(bb->b);
    memset(bb, 0, sizeof *bb);
}

/* The longest padded length and the largest batch (the workspaces' size). */
/* A family with one token type (RoBERTa, XLM-R, DistilBERT) reads every type id as 0. */
static inline void bench_batches_fit(bench_batches *bb, const sm_bert_config *c)
{
    for (int i = 0; c->type_vocab_size <= 1 && i < bb->n; i++)
        memset(bb->b[i].types, 0, (size_t)bb->b[i].B * (size_t)bb->b[i].T * sizeof *bb->b[i].types);
}

static inline void bench_batches_max(const bench_batches *bb, int *B, int *T)
{
    *B = *T = 1;
    for (int i = 0; i < bb->n; i++) {
        if (bb->b[i].B > *B)
            *B = bb->b[i].B;
        if (bb->b[i].T > *T)
            *T = bb->b[i].T;
    }
}

/* The index of the batch with the most padded tokens (the one that sets the memory peak). */
static inline int bench_batches_biggest(const bench_batches *bb)
{
    int best = 0;
    for (int i = 1; i < bb->n; i++)
        if ((long)bb->b[i].B * bb->b[i].T * bb->b[i].T > (long)bb->b[best].B * bb->b[best].T * bb->b[best].T)
            best = i;
    return best;
}

#endif
