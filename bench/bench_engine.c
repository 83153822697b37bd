/* bench_engine.c: how fast the engine trains and infers against what this machine's sgemm can do.
 * Measures the sgemm peak (2048^3, best of 5) and then, for BERT shapes tiny, mini and small (vocab
 * 30522, batch 32, length 128, random weights, no files), a vanilla training step (forward with
 * dropout, cross-entropy, backward, AdamW) and an inference forward; prints seconds, GFLOP/s, the
 * fraction of the peak, and peak resident memory against the minimum the model needs. Each shape runs
 * in its own process (this program re-executed) so that its peak memory is its own.
 *
 *   make bench && OPENBLAS_NUM_THREADS=2 ./bench/bench_engine [tiny|mini|small ...]
 *
 * Not a test: timings depend on the machine and its load. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smartty/model.h"

typedef struct shape {
    const char *name;
    int L, H, NH, F;
} shape;

static const shape shapes[] = {
    {"tiny", 2, 128, 2, 512},
    {"mini", 4, 256, 4, 1024},
    {"small", 4, 512, 8, 2048},
};
enum { BATCH = 32, LEN = 128, VOCAB = 30522, POSITIONS = 512, LABELS = 2 };

static double sgemm_peak(int n, int reps)
{
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench_engine: out of memory for the sgemm peak\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i % 17) - 8) * 0.01f;
        b[i] = (float)((i % 13) - 6) * 0.01f;
    }
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) { /* the first run warms the thread pool and the caches */
        double t0 = sm_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = sm_now() - t0;
        if (r > 0 && t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}

/* The minimal AdamW of the benchmark (the trainer's optimizer is not part of the engine): bias-
 * corrected moments, decoupled weight decay on the tensors whose decay flag is set. */
static void adamw_step(const sm_bert *m, float *w, const float *g, float *mo, float *ve, int step)
{
    const float lr = 2e-5f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
    const float c1 = 1.0f / (1.0f - powf(b1, (float)step)), c2 = 1.0f / (1.0f - powf(b2, (float)step));
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        const float decay = t->decay ? lr * wd : 0.0f;
        float *wp = w + t->offset, *mp = mo + t->offset, *vp = ve + t->offset;
        const float *gp = g + t->offset;
        for (size_t k = 0; k < t->numel; k++) {
            const float gk = gp[k];
            mp[k] = b1 * mp[k] + (1.0f - b1) * gk;
            vp[k] = b2 * vp[k] + (1.0f - b2) * gk * gk;
            wp[k] -= lr * (mp[k] * c1) / (sqrtf(vp[k] * c2) + eps) + decay * wp[k];
        }
    }
}

static void die(const sm_error *e)
{
    fprintf(stderr, "bench_engine: %s\n", e->msg);
    exit(1);
}

static int run_shape(const shape *s, double peak)
{
    sm_bert_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = VOCAB;
    c.hidden_size = s->H;
    c.num_layers = s->L;
    c.num_heads = s->NH;
    c.intermediate_size = s->F;
    c.max_position = POSITIONS;
    c.type_vocab_size = 2;
    c.pad_token_id = 0;
    c.layer_norm_eps = 1e-12f;
    c.hidden_dropout = c.attn_dropout = c.classifier_dropout = 0.1f;
    c.initializer_range = 0.02f;
    strcpy(c.hidden_act, "gelu");
    c.num_labels = LABELS;
    c.problem = SM_PROBLEM_SINGLE_LABEL;

    sm_error e;
    sm_bert *m;
    sm_bert_acts *a, *inf;
    if (sm_bert_create(&m, &c, 1, &e) != SM_OK || sm_bert_acts_create(&a, m, BATCH, LEN, 1, &e) != SM_OK)
        die(&e);
    const size_t P = sm_bert_numel(m);
    float *mo = sm_alloc_floats(P, &e, "Adam first moment"), *ve = sm_alloc_floats(P, &e, "Adam second moment");
    if (!mo || !ve)
        die(&e);
    sm_rng rng;
    sm_rng_seed(&rng, 1);
    sm_bert_init(m, &rng);

    const int N = BATCH * LEN;
    int32_t *ids = malloc(N * sizeof(int32_t)), *types = calloc(N, sizeof(int32_t)), labels[BATCH];
    float *mask = malloc(N * sizeof(float)), dlogits[BATCH * LABELS];
    float *demb = malloc((size_t)N * s->H * sizeof(float));
    if (!ids || !types || !mask || !demb) {
        fprintf(stderr, "bench_engine: out of memory\n");
        return 1;
    }
    for (int n = 0; n < N; n++) {
        ids[n] = 1000 + (int)sm_rng_below(&rng, VOCAB - 1000);
        types[n] = (n % LEN) >= LEN / 2;
        mask[n] = 1.0f;
    }
    for (int b = 0; b < BATCH; b++)
        labels[b] = b % LABELS;
    sm_batch batch = {.B = BATCH, .T = LEN, .ids = ids, .types = types, .mask = mask, .labels = labels};

    /* FLOPs (multiply-add = 2) of the matrix products:
     *   forward  = 2 N (4 H^2 + 2 H F) L        the six linear layers of each encoder layer, N = B*T
     *            + 4 B T^2 H L                  attention: Q K^T and P V
     *            + 2 B (H^2 + H C)              pooler and classifier
     *   backward = 2 x forward                  (input and weight gradients)
     *   training step = 3 x forward; inference = forward. Elementwise work and AdamW are not counted. */
    const double H = s->H, F = s->F, L = s->L;
    const double fwd = 2.0 * N * (4 * H * H + 2 * H * F) * L + 4.0 * BATCH * (double)LEN * LEN * H * L +
                       2.0 * BATCH * (H * H + H * LABELS);
    const double train_flops = 3 * fwd;

    float *w = sm_bert_weights(m), *g = sm_bert_grads(m);
    const int steps = s->H <= 128 ? 6 : s->H <= 256 ? 4 : 3;
    double best = 1e30, total = 0, loss = 0;
    for (int it = 0; it <= steps; it++) { /* step 0 warms up */
        double t0 = sm_now();
        sm_bert_zero_grads(m);
        if (sm_bert_forward(m, w, a, &batch, SM_BERT_TRAIN, &rng, &e) != SM_OK ||
            sm_bert_task_loss(m, sm_bert_acts_logits(a), &batch, &loss, dlogits, &e) != SM_OK ||
            sm_bert_backward(m, w, g, a, dlogits, demb, &e) != SM_OK ||
            sm_bert_embed_backward(m, w, g, a, demb, &e) != SM_OK)
            die(&e);
        adamw_step(m, w, g, mo, ve, it + 1);
        double t = sm_now() - t0;
        if (it > 0) {
            total += t;
            best = t < best ? t : best;
        }
    }
    const double train_mean = total / steps, train_best = best;

    /* inference on a workspace without storage, as evaluation and the SMART teacher use */
    if (sm_bert_acts_create(&inf, m, BATCH, LEN, 0, &e) != SM_OK)
        die(&e);
    best = 1e30;
    total = 0;
    for (int it = 0; it <= steps; it++) {
        double t0 = sm_now();
        if (sm_bert_forward(m, w, inf, &batch, SM_BERT_EVAL, NULL, &e) != SM_OK)
            die(&e);
        double t = sm_now() - t0;
        if (it > 0) {
            total += t;
            best = t < best ? t : best;
        }
    }
    const double inf_mean = total / steps, inf_best = best;

    /* memory: the minimum = 4 arenas (weights, gradients, 2 Adam moments) of P floats + the
     * activations the backward pass reads, per layer N (8H + 2F) floats (qkv 3H, context H, two
     * LayerNorm inputs 2H, LayerNorm-1 output H, FFN pre-activation and GELU output 2F, layer output H)
     * + B NH T^2 floats of attention probabilities + their byte mask + 2 N H bytes of dropout masks,
     * and the embedding block's 2 N H floats + N H bytes of mask. */
    const double NH_ = (double)N * H, bhtt = (double)BATCH * s->NH * LEN * LEN;
    const double act_min = L * ((double)N * (8 * H + 2 * F) * 4 + bhtt * 5 + 2 * NH_) + NH_ * 9;
    const double min_bytes = 4.0 * P * 4 + act_min;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double rss = ru.ru_maxrss * 1024.0;

    printf("%-5s L=%d H=%d heads=%d ffn=%d  params %.2fM  forward %.2f GFLOP, training step %.2f GFLOP\n",
           s->name, s->L, s->H, s->NH, s->F, P / 1e6, fwd / 1e9, train_flops / 1e9);
    printf("      training step (fwd+bwd+AdamW, dropout 0.1): mean %.3f s, best %.3f s: %.1f GFLOP/s = %.0f%% of peak (best %.0f%%), loss %.4f\n",
           train_mean, train_best, train_flops / train_mean / 1e9, 100 * train_flops / train_mean / 1e9 / peak,
           100 * train_flops / train_best / 1e9 / peak, loss);
    printf("      inference (eval forward, no storage):     mean %.3f s, best %.3f s: %.1f GFLOP/s = %.0f%% of peak (best %.0f%%)\n",
           inf_mean, inf_best, fwd / inf_mean / 1e9, 100 * fwd / inf_mean / 1e9 / peak, 100 * fwd / inf_best / 1e9 / peak);
    printf("      peak RSS %.0f MiB; minimum %.0f MiB = 16 bytes x %.2fM params + %.0f MiB activations: ratio %.2f\n",
           rss / 1048576, min_bytes / 1048576, P / 1e6, act_min / 1048576, rss / min_bytes);
    fflush(stdout);
    sm_bert_acts_free(inf);
    sm_bert_acts_free(a);
    sm_free_aligned(mo);
    sm_free_aligned(ve);
    sm_bert_free(m);
    free(ids);
    free(types);
    free(mask);
    free(demb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            if (strcmp(argv[2], shapes[i].name) == 0)
                return run_shape(&shapes[i], atof(argv[3]));
        return 2;
    }
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("bench_engine: OpenBLAS %s, %d thread(s) (OPENBLAS_NUM_THREADS=%s), batch %d, length %d, vocab %d\n",
           openblas_get_config(), openblas_get_num_threads(), threads ? threads : "unset", BATCH, LEN, VOCAB);
    const double peak = sgemm_peak(2048, 5);
    printf("sgemm peak: %.1f GFLOP/s (2048^3, best of 5, 2 n^3 FLOPs)\n", peak);
    fflush(stdout);
    char pk[64];
    snprintf(pk, sizeof pk, "%.6f", peak);
    int status = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int wanted = argc == 1;
        for (int k = 1; k < argc; k++)
            wanted |= strcmp(argv[k], shapes[i].name) == 0;
        if (!wanted)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "--child", shapes[i].name, pk, (char *)NULL);
            _exit(127);
        }
        int ws;
        if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "bench_engine: the %s run failed\n", shapes[i].name);
            status = 1;
        }
    }
    return status;
}
