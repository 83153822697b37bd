/* bench_engine.c: how fast the engine trains and infers against what this machine's sgemm can do.
 * For BERT shapes tiny, mini, small, minilm (6/384/12/1536) and base (12/768/12/3072) (vocab 30522,
 * batch 32, length 128 or real MRPC / SST-2 batches with dynamic padding, random weights):
 * a vanilla training step (forward with dropout, cross-entropy, backward, global-norm clipping and
 * AdamW as the trainer runs them) and an inference forward; prints seconds, GFLOP/s and the fraction
 * of the machine's sgemm peak (2048^3, same thread count), measured right before every timed step
 * (the fraction is reported against that paired measurement, median and best, and against the best
 * peak of the run), and peak resident memory against the minimum the model needs. Each shape runs in
 * its own process (this program re-executed) so that its peak memory is its own.
 *
 *   make bench && OPENBLAS_NUM_THREADS=2 ./bench/bench_engine [--data fixed|mrpc|sst2] [--scaling]
 *       [--steps N] [tiny|mini|small|minilm|base ...]      (default: tiny mini small minilm)
 * --scaling runs each shape at 1 and at 2 threads and reports the speed-up and efficiency (speed-up / 2).
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

#include "bench_common.h"
#include "smartty/model.h"
#include "smartty/optim.h"

typedef bench_shape shape;
#define shapes bench_shapes
enum { BATCH = 32, LEN = 128, VOCAB = 30522, POSITIONS = 512, LABELS = 2 };
static const char *data_source = "fixed";
static int steps_wanted;

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
    bench_config(&c, s, LABELS);
    if (bench_family(&c, s, "bench_engine") != 0)
        return 1;

    bench_batches bb;
    if (strcmp(data_source, "fixed") == 0)
        bench_batches_fixed(&bb, BATCH, LEN, VOCAB, LABELS);
    else if (!bench_batches_real(&bb, data_source, BATCH, 8))
        return 77;
    int maxB, maxT;
    bench_batches_fit(&bb, &c);
    bench_batches_max(&bb, &maxB, &maxT);
    const int big = bench_batches_biggest(&bb);

    sm_error e;
    sm_bert *m;
    sm_bert_acts *a, *inf;
    if (sm_bert_create(&m, &c, 1, &e) != SM_OK || sm_bert_acts_create(&a, m, maxB, maxT, 1, &e) != SM_OK)
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
    float *dlogits = malloc((size_t)maxB * LABELS * sizeof(float));
    float *demb = malloc((size_t)maxB * maxT * s->H * sizeof(float));
    if (!dlogits || !demb) {
        fprintf(stderr, "bench_engine: out of memory\n");
        return 1;
    }

    /* FLOPs per batch: bench_common.h's bench_forward_flops over the batch's own padded length
     * (training step = 3 x forward, inference = 1 x) */
    float *w = sm_bert_weights(m);
    const sm_par par = sm_bert_par(m);
    enum { MAX_STEPS = 64 };
    int steps = s->H <= 128 ? 12 : s->H <= 256 ? 8 : s->H <= 512 ? 4 : 2;
    if (steps_wanted > 0)
        steps = steps_wanted < MAX_STEPS ? steps_wanted : MAX_STEPS;
    double peak = peak0, tt[MAX_STEPS], ti[MAX_STEPS], ft[MAX_STEPS], fi[MAX_STEPS], loss = 0;
    double flops_t = 0, flops_i = 0; /* over the timed steps */
    train_ctx tc = {.m = m, .a = a, .batch = &bb.b[big], .opt = &opt, .adamw = &adamw, .rng = &rng,
                    .dlogits = dlogits, .demb = demb, .par = par};
    for (int it = 0; it <= steps; it++) { /* step 0 warms up, on the largest batch */
        const sm_batch *b = &bb.b[it ? (it - 1) % bb.n : big];
        const double fwd = bench_forward_flops(s, b->B, b->T, LABELS);
        tc.batch = b;
        double pk = peak_once();
        double t0 = sm_now();
        loss = train_step(&tc);
        double t = sm_now() - t0;
        if (it > 0) {
            tt[it - 1] = t;
            ft[it - 1] = 3 * fwd / t / 1e9 / pk; /* against the peak of that moment */
            flops_t += 3 * fwd;
            peak = pk > peak ? pk : peak;
        }
    }

    /* inference on a workspace without storage, as evaluation uses */
    if (sm_bert_acts_create(&inf, m, maxB, maxT, 0, &e) != SM_OK)
        die(&e);
    for (int it = 0; it <= steps; it++) {
        const sm_batch *b = &bb.b[it ? (it - 1) % bb.n : big];
        const double fwd = bench_forward_flops(s, b->B, b->T, LABELS);
        double pk = peak_once();
        double t0 = sm_now();
        if (sm_bert_forward(m, w, inf, b, SM_BERT_EVAL, NULL, &e) != SM_OK)
            die(&e);
        double t = sm_now() - t0;
        if (it > 0) {
            ti[it - 1] = t;
            fi[it - 1] = fwd / t / 1e9 / pk;
            flops_i += fwd;
            peak = pk > peak ? pk : peak;
        }
    }
    /* the peak's buffers go, then the memory high-water mark is taken over one more step and forward
     * on the batch that sets the peak */
    peak_free();
    reset_hwm();
    tc.batch = &bb.b[big];
    train_step(&tc);
    if (sm_bert_forward(m, w, inf, &bb.b[big], SM_BERT_EVAL, NULL, &e) != SM_OK)
        die(&e);
    double sum_t = 0, sum_i = 0;
    for (int i = 0; i < steps; i++) {
        sum_t += tt[i];
        sum_i += ti[i];
    }
    const double tmed = bench_median(tt, steps), imed = bench_median(ti, steps);
    qsort(ft, (size_t)steps, sizeof *ft, cmp_double);
    qsort(fi, (size_t)steps, sizeof *fi, cmp_double);
    const double ftm = bench_median(ft, steps), fim = bench_median(fi, steps);

    /* memory: the minimum = 4 arenas (weights, gradients, 2 Adam moments) of P floats + the
     * activations the backward pass reads, per layer N (8H + 2F) floats (qkv 3H, context H, two
     * LayerNorm inputs 2H, LayerNorm-1 output H, FFN pre-activation and GELU output 2F, layer output H)
     * + B NH T^2 floats of attention probabilities + their byte mask + 2 N H bytes of dropout masks,
     * and the embedding block's 2 N H floats + N H bytes of mask; B, T of the largest batch. */
    const double H = s->H, F = s->F, L = s->L;
    const double N = (double)bb.b[big].B * bb.b[big].T, NH_ = N * H;
    const double bhtt = (double)bb.b[big].B * s->NH * bb.b[big].T * bb.b[big].T;
    const double act_min = L * (N * (8 * H + 2 * F) * 4 + bhtt * 5 + 2 * NH_) + NH_ * 9;
    const double min_bytes = 4.0 * P * 4 + act_min;
    const double rss = peak_rss();

    printf("%s ", sm_family_model_type(sm_bert_config_get(m)->family));
    printf("%-6s L=%d H=%d heads=%d ffn=%d  params %.2fM, engine threads %d; batches: %s (%d cycled, %ld real of "
           "%ld padded tokens)\n", s->name, s->L, s->H, s->NH, s->F, P / 1e6, sm_bert_threads(m), bb.source, bb.n,
           bb.real_tokens, bb.padded_tokens);
    for (int i = 0; i < bb.n && bb.n > 1; i++)
        printf("       batch %d: %d x %d, forward %.2f GFLOP\n", i, bb.b[i].B, bb.b[i].T,
               bench_forward_flops(s, bb.b[i].B, bb.b[i].T, LABELS) / 1e9);
    if (bb.n == 1)
        printf("       forward %.2f GFLOP, training step %.2f GFLOP (3 x forward)\n",
               bench_forward_flops(s, BATCH, LEN, LABELS) / 1e9, 3 * bench_forward_flops(s, BATCH, LEN, LABELS) / 1e9);
    printf("       sgemm peak, best of the %d measurements taken before each step: %.1f GFLOP/s\n", 2 * (steps + 1),
           peak);
    printf("       training step (fwd+bwd+clip+AdamW, dropout 0.1), %d steps: median %.3f s, %.1f GFLOP/s over all; "
           "paired with the peak just before it: median %.1f%%, best %.1f%%; loss %.4f\n", steps, tmed,
           flops_t / sum_t / 1e9, 100 * ftm, 100 * ft[steps - 1], loss);
    printf("       inference (eval forward, no storage), %d runs: median %.3f s, %.1f GFLOP/s over all; "
           "paired: median %.1f%%, best %.1f%%\n", steps, imed, flops_i / sum_i / 1e9, 100 * fim, 100 * fi[steps - 1]);
    printf("       peak RSS %.0f MiB%s; minimum %.0f MiB = 16 bytes x %.2fM params + %.0f MiB activations: ratio %.2f\n",
           rss / 1048576, hwm_reset_ok ? "" : " (whole run, sgemm buffers included)", min_bytes / 1048576, P / 1e6,
           act_min / 1048576, rss / min_bytes);
    const int is_base = strcmp(s->name, "base") == 0;
    if (is_base || strcmp(s->name, "mini") == 0 || strcmp(s->name, "minilm") == 0) {
        const double tt_target = is_base ? 0.80 : 0.75;
        printf("       targets on %s (paired medians): training >= %.0f%% (%s), inference >= 80%% (%s), "
               "memory <= 1.3x minimum (%s)\n", s->name, 100 * tt_target, ftm >= tt_target ? "met" : "not met",
               fim >= 0.80 ? "met" : "not met", rss / min_bytes <= 1.3 ? "met" : "not met");
    }
    printf("scaling %s %s %.6f %.6f\n", s->name, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "?",
           tmed, imed);
    fflush(stdout);
    sm_bert_acts_free(inf);
    sm_bert_acts_free(a);
    sm_optim_free(&opt);
    free(segs);
    sm_bert_free(m);
    free(dlogits);
    free(demb);
    bench_batches_free(&bb);
    return 0;
}

/* Run one shape in a child process (this program re-executed) with `threads` OpenBLAS threads (0:
 * as inherited); its "scaling" line gives the median step and inference times. */
static int run_child(const char *argv0, const shape *s, const char *pk, int threads, double *tmed, double *imed)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char th[16], st[16];
        if (threads > 0) {
            snprintf(th, sizeof th, "%d", threads);
            setenv("OPENBLAS_NUM_THREADS", th, 1);
        }
        snprintf(st, sizeof st, "%d", steps_wanted);
        dup2(fd[1], 1);
        close(fd[0]);
        execl("/proc/self/exe", argv0, "--child", s->name, pk, data_source, st, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[4096], nm[32], th[16];
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "scaling %31s %15s %lf %lf", nm, th, tmed, imed) == 4)
            continue;
        fputs(line, stdout);
    }
    if (f)
        fclose(f);
    int ws;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return WIFEXITED(ws) && WEXITSTATUS(ws) == 77 ? 77 : 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--child") == 0) {
        data_source = argv[4];
        steps_wanted = atoi(argv[5]);
        const shape *s = bench_shape_find(argv[2]);
        return s ? run_shape(s, atof(argv[3])) : 2;
    }
    int scaling = 0, nnames = 0;
    const char *names[BENCH_NSHAPES];
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--scaling") == 0)
            scaling = 1;
        else if (strcmp(argv[k], "--data") == 0 && k + 1 < argc)
            data_source = argv[++k];
        else if (strcmp(argv[k], "--steps") == 0 && k + 1 < argc)
            steps_wanted = atoi(argv[++k]);
        else if (bench_shape_find(argv[k]) && nnames < BENCH_NSHAPES)
            names[nnames++] = argv[k];
        else {
            fprintf(stderr, "usage: bench_engine [--data fixed|mrpc|sst2] [--scaling] [--steps N] "
                            "[tiny|mini|small|minilm|base ...]\n");
            return 2;
        }
    }
    if (strcmp(data_source, "fixed") && strcmp(data_source, "mrpc") && strcmp(data_source, "sst2")) {
        fprintf(stderr, "bench_engine: --data is fixed, mrpc or sst2\n");
        return 2;
    }
    if (nnames == 0) { /* base takes minutes a step on two cores: name it to run it */
        static const char *const def[] = {"tiny", "mini", "small", "minilm"};
        for (int k = 0; k < 4; k++)
            names[nnames++] = def[k];
    }
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("bench_engine: OpenBLAS %s, %d thread(s) (OPENBLAS_NUM_THREADS=%s), batch %d, %s, vocab %d\n",
           openblas_get_config(), openblas_get_num_threads(), threads ? threads : "unset", BATCH,
           strcmp(data_source, "fixed") ? data_source : "length 128", VOCAB);
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
    for (int i = 0; i < nnames; i++) {
        const shape *s = bench_shape_find(names[i]);
        double t2 = 0, i2 = 0, t1 = 0, i1 = 0;
        int rc = run_child(argv[0], s, pk, scaling ? 2 : 0, &t2, &i2);
        if (rc == 77) {
            printf("%s: skipped (no %s data)\n", s->name, data_source);
            continue;
        }
        if (rc == 0 && scaling) {
            printf("       ... and at 1 thread:\n");
            rc = run_child(argv[0], s, pk, 1, &t1, &i1);
            if (rc == 0)
                printf("       thread scaling 1 -> 2 threads: training step speed-up %.2f (efficiency %.0f%%), "
                       "inference %.2f (efficiency %.0f%%)\n", t1 / t2, 50 * t1 / t2, i1 / i2, 50 * i1 / i2);
        }
        if (rc != 0) {
            fprintf(stderr, "bench_engine: the %s run failed\n", s->name);
            status = 1;
        }
    }
    return status;
}
