/* bench_engine.c: how fast the engine trains and infers against what this machine's sgemm can do.
 * For BERT shapes tiny, mini and small (vocab 30522, batch 32, length 128, random weights, no files):
 * a vanilla training step (forward with dropout, cross-entropy, backward, global-norm clipping and
 * AdamW as the trainer runs them) and an inference forward; prints seconds, GFLOP/s and the fraction
 * of the machine's sgemm peak (2048^3, same thread count), measured right before every timed step
 * (the fraction is reported against that paired measurement, median and best, and against the best
 * peak of the run), and peak resident memory against the minimum the model needs. Each shape runs in
 * its own process (this program re-executed) so that its peak memory is its own.
 *
 *   make bench && OPENBLAS_NUM_THREADS=2 ./bench/bench_engine [tiny|mini|small ...]
 *
 * SMARTTY_BENCH_FAMILY=roberta|xlm-roberta|distilbert|electra runs that family's network on the same
 * shapes instead of BERT's (ELECTRA with embedding_size H/2; its projection's FLOPs are not counted).
 *
 * Not a test: timings depend on the machine and its load. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smartty/model.h"
#include "smartty/optim.h"

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

/* One 2048^3 sgemm on buffers kept for the whole run, as GFLOP/s: measured before every timed step,
 * so that the steps are compared with what the machine could do at that moment (these machines are
 * shared, and their speed drifts by 10-20 % from minute to minute). */
static float *pk_a, *pk_b, *pk_c;

static double peak_once(void)
{
    const int n = 2048;
    if (!pk_a) {
        pk_a = malloc((size_t)n * n * sizeof(float));
        pk_b = malloc((size_t)n * n * sizeof(float));
        pk_c = malloc((size_t)n * n * sizeof(float));
        if (!pk_a || !pk_b || !pk_c) {
            fprintf(stderr, "bench_engine: out of memory for the sgemm peak\n");
            exit(1);
        }
        for (size_t i = 0; i < (size_t)n * n; i++) {
            pk_a[i] = (float)((i % 17) - 8) * 0.01f;
            pk_b[i] = (float)((i % 13) - 6) * 0.01f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, pk_a, n, pk_b, n, 0.0f, pk_c, n);
    }
    double t0 = sm_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, pk_a, n, pk_b, n, 0.0f, pk_c, n);
    const double gflops = 2.0 * n * (double)n * n / (sm_now() - t0) / 1e9;
    /* OpenBLAS's worker threads keep spinning for a while after a product (about 0.1 s); let them
     * fall asleep, or they would compete with the engine's threads in the step timed next */
    nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
    return gflops;
}

static void peak_free(void)
{
    free(pk_a);
    free(pk_b);
    free(pk_c);
    pk_a = pk_b = pk_c = NULL;
}

/* Peak resident memory in bytes since the last reset_hwm (VmHWM), or since the start (ru_maxrss)
 * when the kernel does not allow the reset. */
static int hwm_reset_ok;

static void reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    hwm_reset_ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        hwm_reset_ok = 0;
}

static double peak_rss(void)
{
    if (hwm_reset_ok) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        double kb = -1;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %lf kB", &kb) == 1)
                break;
        if (f)
            fclose(f);
        if (kb > 0)
            return kb * 1024.0;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024.0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void die(const sm_error *e)
{
    fprintf(stderr, "bench_engine: %s\n", e->msg);
    exit(1);
}

/* What one training step needs: the trainer's vanilla step (clipping folded into AdamW, the flat
 * passes on the engine's threads). */
typedef struct train_ctx {
    sm_bert *m;
    sm_bert_acts *a;
    const sm_batch *batch;
    sm_optim *opt;
    const sm_optim_params *adamw;
    sm_rng *rng;
    float *dlogits, *demb;
    sm_par par;
} train_ctx;

/* One training step; returns its task loss. */
static double train_step(train_ctx *t)
{
    sm_error e;
    double loss = 0;
    float *w = sm_bert_weights(t->m), *g = sm_bert_grads(t->m);
    sm_bert_zero_grads(t->m);
    if (sm_bert_forward(t->m, w, t->a, t->batch, SM_BERT_TRAIN, t->rng, &e) != SM_OK ||
        sm_bert_task_loss(t->m, sm_bert_acts_logits(t->a), t->batch, &loss, t->dlogits, &e) != SM_OK ||
        sm_bert_backward(t->m, w, g, t->a, t->dlogits, t->demb, &e) != SM_OK ||
        sm_bert_embed_backward(t->m, w, g, t->a, t->demb, &e) != SM_OK)
        die(&e);
    double gn = sm_grad_norm_par(g, sm_bert_numel(t->m), &t->par);
    sm_optim_step_par(t->opt, t->adamw, w, g, sm_clip_coef(gn, 1.0), &t->par);
    return loss;
}

static int run_shape(const shape *s, double peak0)
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
    const char *fam = getenv("SMARTTY_BENCH_FAMILY");
    for (int k = 0; fam && *fam && k <= SM_FAMILY_COUNT; k++) {
        if (k == SM_FAMILY_COUNT) {
            fprintf(stderr, "bench_engine: SMARTTY_BENCH_FAMILY=%s is not a family\n", fam);
            return 1;
        }
        if (strcmp(fam, sm_family_model_type((sm_family)k)) == 0) {
            c.family = (sm_family)k;
            break;
        }
    }
    if (c.family == SM_FAMILY_ROBERTA || c.family == SM_FAMILY_XLM_ROBERTA) {
        c.type_vocab_size = 1;
        c.pad_token_id = 1;
    }
    if (c.family == SM_FAMILY_DISTILBERT)
        c.type_vocab_size = 0;
    if (c.family == SM_FAMILY_ELECTRA)
        c.embedding_size = s->H / 2;

    sm_error e;
    sm_bert *m;
    sm_bert_acts *a, *inf;
    if (sm_bert_create(&m, &c, 1, &e) != SM_OK || sm_bert_acts_create(&a, m, BATCH, LEN, 1, &e) != SM_OK)
        die(&e);
    const size_t P = sm_bert_numel(m);
    sm_param_segment *segs = calloc((size_t)sm_bert_tensor_count(m), sizeof *segs);
    for (int i = 0; i < sm_bert_tensor_count(m); i++) {
        const sm_tensor_info *t = sm_bert_tensor(m, i);
        segs[i] = (sm_param_segment){t->offset, t->numel, t->decay};
    }
    sm_optim opt;
    if (sm_optim_init(&opt, P, segs, (size_t)sm_bert_tensor_count(m), &e) != SM_OK)
        die(&e);
    const sm_optim_params adamw = {.kind = SM_OPTIM_ADAMW, .lr = 2e-5, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                   .weight_decay = 0.01};
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
        types[n] = c.type_vocab_size > 1 && (n % LEN) >= LEN / 2;
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

    float *w = sm_bert_weights(m);
    const sm_par par = sm_bert_par(m);
    enum { MAX_STEPS = 16 };
    const int steps = s->H <= 128 ? 12 : s->H <= 256 ? 8 : 4;
    double peak = peak0, tt[MAX_STEPS], ti[MAX_STEPS], ft[MAX_STEPS], fi[MAX_STEPS], loss = 0;
    train_ctx tc = {.m = m, .a = a, .batch = &batch, .opt = &opt, .adamw = &adamw, .rng = &rng,
                    .dlogits = dlogits, .demb = demb, .par = par};
    for (int it = 0; it <= steps; it++) { /* step 0 warms up */
        double pk = peak_once();
        double t0 = sm_now();
        loss = train_step(&tc);
        double t = sm_now() - t0;
        if (it > 0) {
            tt[it - 1] = t;
            ft[it - 1] = train_flops / t / 1e9 / pk; /* against the peak of that moment */
            peak = pk > peak ? pk : peak;
        }
    }

    /* inference on a workspace without storage, as evaluation and the SMART teacher use */
    if (sm_bert_acts_create(&inf, m, BATCH, LEN, 0, &e) != SM_OK)
        die(&e);
    for (int it = 0; it <= steps; it++) {
        double pk = peak_once();
        double t0 = sm_now();
        if (sm_bert_forward(m, w, inf, &batch, SM_BERT_EVAL, NULL, &e) != SM_OK)
            die(&e);
        double t = sm_now() - t0;
        if (it > 0) {
            ti[it - 1] = t;
            fi[it - 1] = fwd / t / 1e9 / pk;
            peak = pk > peak ? pk : peak;
        }
    }
    /* the peak's buffers go, then the memory high-water mark is taken over one more step and forward */
    peak_free();
    reset_hwm();
    train_step(&tc);
    if (sm_bert_forward(m, w, inf, &batch, SM_BERT_EVAL, NULL, &e) != SM_OK)
        die(&e);
    qsort(tt, (size_t)steps, sizeof *tt, cmp_double);
    qsort(ti, (size_t)steps, sizeof *ti, cmp_double);
    qsort(ft, (size_t)steps, sizeof *ft, cmp_double);
    qsort(fi, (size_t)steps, sizeof *fi, cmp_double);

    /* memory: the minimum = 4 arenas (weights, gradients, 2 Adam moments) of P floats + the
     * activations the backward pass reads, per layer N (8H + 2F) floats (qkv 3H, context H, two
     * LayerNorm inputs 2H, LayerNorm-1 output H, FFN pre-activation and GELU output 2F, layer output H)
     * + B NH T^2 floats of attention probabilities + their byte mask + 2 N H bytes of dropout masks,
     * and the embedding block's 2 N H floats + N H bytes of mask. */
    const double NH_ = (double)N * H, bhtt = (double)BATCH * s->NH * LEN * LEN;
    const double act_min = L * ((double)N * (8 * H + 2 * F) * 4 + bhtt * 5 + 2 * NH_) + NH_ * 9;
    const double min_bytes = 4.0 * P * 4 + act_min;
    const double rss = peak_rss();

    printf("%s ", sm_family_model_type(sm_bert_config_get(m)->family));
    printf("%-5s L=%d H=%d heads=%d ffn=%d  params %.2fM  forward %.2f GFLOP, training step %.2f GFLOP, engine threads %d\n",
           s->name, s->L, s->H, s->NH, s->F, P / 1e6, fwd / 1e9, train_flops / 1e9, sm_bert_threads(m));
    printf("      sgemm peak, best of the %d measurements taken before each step: %.1f GFLOP/s\n", 2 * (steps + 1), peak);
    printf("      training step (fwd+bwd+clip+AdamW, dropout 0.1), %d steps: best %.3f s, median %.3f s; "
           "best %.1f GFLOP/s = %.1f%% of the best peak; paired with the peak just before it: median %.1f%%, best %.1f%%; loss %.4f\n",
           steps, tt[0], tt[steps / 2], train_flops / tt[0] / 1e9, 100 * train_flops / tt[0] / 1e9 / peak,
           100 * ft[steps / 2], 100 * ft[steps - 1], loss);
    printf("      inference (eval forward, no storage), %d runs: best %.3f s, median %.3f s; "
           "best %.1f GFLOP/s = %.1f%% of the best peak; paired: median %.1f%%, best %.1f%%\n",
           steps, ti[0], ti[steps / 2], fwd / ti[0] / 1e9, 100 * fwd / ti[0] / 1e9 / peak, 100 * fi[steps / 2],
           100 * fi[steps - 1]);
    printf("      peak RSS %.0f MiB%s; minimum %.0f MiB = 16 bytes x %.2fM params + %.0f MiB activations: ratio %.2f\n",
           rss / 1048576, hwm_reset_ok ? "" : " (whole run, sgemm buffers included)", min_bytes / 1048576, P / 1e6,
           act_min / 1048576, rss / min_bytes);
    if (strcmp(s->name, "mini") == 0)
        printf("      issue 2 targets on mini (paired medians): training >= 70%% (%s), inference >= 75%% (%s), "
               "memory <= 1.3x (%s)\n", ft[steps / 2] >= 0.70 ? "met" : "NOT met",
               fi[steps / 2] >= 0.75 ? "met" : "NOT met", rss / min_bytes <= 1.3 ? "met" : "NOT met");
    fflush(stdout);
    sm_bert_acts_free(inf);
    sm_bert_acts_free(a);
    sm_optim_free(&opt);
    free(segs);
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
    double peak = 0, worst = 1e30;
    for (int r = 0; r < 5; r++) { /* peak_once warms up on its first call */
        double pk = peak_once();
        peak = pk > peak ? pk : peak;
        worst = pk < worst ? pk : worst;
    }
    peak_free();
    printf("sgemm peak: %.1f GFLOP/s (2048^3, best of 5, 2 n^3 FLOPs; slowest of the 5: %.1f)\n", peak, worst);
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
