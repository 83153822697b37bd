/* bench_smart.c: the cost of each step kind against the machine's sgemm peak, on one BERT shape and on
 * fixed or real batches: a vanilla step (the engine and the optimizer written out), a step through the
 * trainer with lambda_s = mu = 0, a paper-preset SMART step, and an inference forward; paired ratios
 * against vanilla, each target printed met / not met, and the peak resident memory of each kind in its
 * own process. A --serve mode times one step per request on stdin, for bench/vs_pytorch.py.
 *
 *   make bench && OPENBLAS_NUM_THREADS=2 ./bench/bench_smart [--shape mini] [--data fixed|mrpc|sst2]
 *       [--reps 6] [--batches 8] [--kinds vanilla,zero,paper,infer,unshared] [--no-memory]
 *
 * SMARTTY_BENCH_FAMILY=roberta|xlm-roberta|distilbert|electra runs that family's network instead of
 * BERT's, as bench_engine does.
 *
 * Not a test: timings depend on the machine and its load; it prints numbers and the targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "smartty/hparams.h"
#include "smartty/optim.h"
#include "smartty/smart.h"

/* unshared: the paper step with the clean workspace sharing no layer with the adversarial one (the
 * trainer's smart_memory set beyond reach), to weigh what the sharing costs in time and saves */
enum { C = 2, K_VANILLA = 0, K_ZERO, K_PAPER, K_INFER, K_UNSHARED, K_COUNT };
static const char *const kind_names[K_COUNT] = {"vanilla", "zero", "paper", "infer", "unshared"};
static const char *const kind_long[K_COUNT] = {"vanilla step", "lambda_s = mu = 0 step", "SMART step (paper)",
                                               "inference forward", "SMART, no shared layer"};
static const double kind_flops[K_COUNT] = {3, 3, 9, 1, 9}; /* x one forward */

static void check(sm_status st, const sm_error *e)
{
    if (st != SM_OK) {
        fprintf(stderr, "bench_smart: %s\n", e->msg);
        exit(1);
    }
}

/* Everything the selected kinds need, on one model: the steps change its weights, which does not
 * change what a step costs. */
typedef struct bench {
    const bench_shape *s;
    sm_bert_config cfg;
    sm_bert *m;
    int want[K_COUNT];
    /* vanilla, written out; its workspace is the paper trainer's clean one when both run (one
     * workspace less: BERT-base needs 3 GB a workspace at 32 x 128) */
    sm_bert_acts *va;
    int va_shared;
    sm_optim o;
    float *dlogits, *demb;
    sm_rng rng;
    /* trainers */
    sm_trainer tz, tp, tu;
    /* inference */
    sm_bert_acts *inf;
} bench;

static void run_kind(bench *x, int k, const sm_batch *b);

static void bench_init(bench *x, const bench_shape *s, const int want[K_COUNT], int maxB, int maxT,
                       const sm_batch *biggest)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    memcpy(x->want, want, sizeof x->want);
    bench_config(&x->cfg, s, C);
    (void)bench_family(&x->cfg, s, "bench_smart"); /* checked in main */
    sm_error e;
    check(sm_bert_create(&x->m, &x->cfg, 1, &e), &e);
    sm_rng r;
    sm_rng_seed(&r, 1);
    sm_bert_init(x->m, &r);
    if (want[K_VANILLA]) {
        x->va_shared = want[K_PAPER];
        if (!x->va_shared)
            check(sm_bert_acts_create(&x->va, x->m, maxB, maxT, 1, &e), &e);
        int nt = sm_bert_tensor_count(x->m);
        sm_param_segment *sg = calloc((size_t)nt, sizeof *sg);
        for (int i = 0; i < nt; i++) {
            const sm_tensor_info *ti = sm_bert_tensor(x->m, i);
            sg[i] = (sm_param_segment){ti->offset, ti->numel, ti->decay};
        }
        check(sm_optim_init(&x->o, sm_bert_numel(x->m), sg, (size_t)nt, &e), &e);
        free(sg);
        x->dlogits = sm_alloc_floats((size_t)maxB * C, NULL, "dlogits");
        x->demb = sm_alloc_floats((size_t)maxB * maxT * s->H, NULL, "demb");
        sm_rng_seed(&x->rng, 2);
    }
    sm_hparams hp;
    sm_hparams_default(&hp);
    check(sm_hparams_preset(&hp, "paper", &e), &e);
    hp.v[SM_HP_BATCH_SIZE] = maxB;
    hp.v[SM_HP_MAX_LEN] = maxT;
    if (want[K_PAPER])
        check(sm_trainer_init(&x->tp, x->m, &hp, 100000, &e), &e);
    if (want[K_UNSHARED]) {
        check(sm_trainer_init(&x->tu, x->m, &hp, 100000, &e), &e);
        x->tu.smart_memory = 1e30;
    }
    if (want[K_ZERO]) {
        hp.v[SM_HP_LAMBDA_S] = 0;
        hp.v[SM_HP_MU] = 0;
        check(sm_trainer_init(&x->tz, x->m, &hp, 100000, &e), &e);
    }
    if (want[K_INFER])
        check(sm_bert_acts_create(&x->inf, x->m, maxB, maxT, 0, &e), &e);
    if (x->va_shared) { /* a paper step makes the trainer's workspaces at the largest batch */
        run_kind(x, K_PAPER, biggest);
        x->va = x->tp.clean_ws;
    }
}

static void bench_free(bench *x)
{
    if (x->want[K_PAPER])
        sm_trainer_free(&x->tp);
    if (x->want[K_ZERO])
        sm_trainer_free(&x->tz);
    if (x->want[K_UNSHARED])
        sm_trainer_free(&x->tu);
    if (x->want[K_VANILLA]) {
        sm_optim_free(&x->o);
        if (!x->va_shared)
            sm_bert_acts_free(x->va);
        sm_free_aligned(x->dlogits);
        sm_free_aligned(x->demb);
    }
    sm_bert_acts_free(x->inf);
    sm_bert_free(x->m);
}

static void run_kind(bench *x, int k, const sm_batch *b)
{
    sm_error e;
    sm_step_record rec;
    float *w = sm_bert_weights(x->m), *g = sm_bert_grads(x->m);
    if (k == K_VANILLA) {
        double loss;
        sm_bert_zero_grads(x->m);
        check(sm_bert_embed(x->m, w, x->va, b, SM_BERT_TRAIN, &x->rng, &e), &e);
        check(sm_bert_encode(x->m, w, x->va, b, NULL, NULL, SM_BERT_TRAIN, &x->rng, &e), &e);
        check(sm_bert_task_loss(x->m, sm_bert_acts_logits(x->va), b, &loss, x->dlogits, &e), &e);
        check(sm_bert_backward(x->m, w, g, x->va, x->dlogits, x->demb, &e), &e);
        check(sm_bert_embed_backward(x->m, w, g, x->va, x->demb, &e), &e);
        /* clipping folded into AdamW, both on the engine's threads, as the trainer does */
        sm_par par = sm_bert_par(x->m);
        double norm = sm_grad_norm_par(g, x->o.n, &par);
        sm_optim_params p = {SM_OPTIM_ADAMW, 1e-5, 0.9, 0.999, 1e-8, 0.01};
        sm_optim_step_par(&x->o, &p, w, g, sm_clip_coef(norm, 1.0), &par);
    } else if (k == K_ZERO) {
        check(sm_trainer_step(&x->tz, b, 0, &rec, &e), &e);
    } else if (k == K_PAPER) {
        check(sm_trainer_step(&x->tp, b, 0, &rec, &e), &e);
    } else if (k == K_UNSHARED) {
        check(sm_trainer_step(&x->tu, b, 0, &rec, &e), &e);
    } else {
        check(sm_bert_forward(x->m, w, x->inf, b, SM_BERT_EVAL, NULL, &e), &e);
    }
}

static long real_tokens(const sm_batch *b)
{
    long n = 0;
    for (int r = 0; r < b->B; r++)
        n += b->lengths[r];
    return n;
}

static int parse_kinds(const char *s, int want[K_COUNT])
{
    memset(want, 0, K_COUNT * sizeof *want);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int found = 0;
        for (int k = 0; k < K_COUNT; k++)
            if (strcmp(t, kind_names[k]) == 0)
                want[k] = found = 1;
        if (!found) {
            fprintf(stderr, "bench_smart: unknown step kind '%s' (vanilla, zero, paper, infer, unshared)\n", t);
            return 0;
        }
    }
    return 1;
}

/* The batches, one per line block, for vs_pytorch.py: "batches N", then per batch "B T" and B lines
 * "label len ids... | types..." (the first len tokens; the rest is padding). */
static void dump_batches(const bench_batches *bb, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_smart: cannot write %s\n", path);
        exit(1);
    }
    fprintf(f, "batches %d\n", bb->n);
    for (int i = 0; i < bb->n; i++) {
        const sm_batch *b = &bb->b[i];
        fprintf(f, "%d %d\n", b->B, b->T);
        for (int r = 0; r < b->B; r++) {
            int len = 0;
            while (len < b->T && b->mask[(size_t)r * b->T + len] != 0.0f)
                len++;
            fprintf(f, "%d %d", b->labels[r], len);
            for (int t = 0; t < len; t++)
                fprintf(f, " %d", b->ids[(size_t)r * b->T + t]);
            for (int t = 0; t < len; t++)
                fprintf(f, " %d", b->types[(size_t)r * b->T + t]);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_smart: cannot write %s\n", path);
        exit(1);
    }
}

/* memory: the minimum a vanilla step needs = 16 bytes per parameter (weights, gradients, two Adam
 * moments) + the activations its backward reads: per layer N (8H + 2F) floats (qkv 3H, context H, two
 * LayerNorm inputs 2H, LayerNorm-1 output H, FFN pre-activation and GELU output 2F, layer output H),
 * B NH T^2 floats of attention probabilities and as many mask bytes, 2 N H bytes of dropout masks; the
 * embedding block's 2 N H floats and N H mask bytes. */
static double min_bytes(const bench_shape *s, double P, int B, int T)
{
    const double N = (double)B * T, H = s->H, F = s->F, NH_ = N * H, bhtt = (double)B * s->NH * T * T;
    return 16.0 * P + s->L * (N * (8 * H + 2 * F) * 4 + bhtt * 5 + 2 * NH_) + NH_ * 9;
}

/* One kind in this process, for its peak memory: one step on the batch that sets the peak (the first
 * step makes and touches every buffer the kind uses; later steps add nothing). Prints
 * "memory KIND BASE PEAK PARAMS" in bytes (BASE: resident before the model). */
static int memory_child(const bench_shape *s, const bench_batches *bb, int k)
{
    int want[K_COUNT] = {0};
    want[k] = 1;
    int maxB, maxT;
    bench_batches_max(bb, &maxB, &maxT);
    const sm_batch *b = &bb->b[bench_batches_biggest(bb)];
    bench_reset_hwm();
    double base = bench_rss();
    bench x;
    bench_init(&x, s, want, maxB, maxT, b);
    run_kind(&x, k, b);
    printf("memory %s %.0f %.0f %zu %d %d\n", kind_names[k], base, bench_hwm(), sm_bert_numel(x.m), b->B, b->T);
    if (k == K_PAPER)
        printf("shared %d\n", x.tp.shared_layers);
    bench_free(&x);
    return 0;
}

/* The timed repetitions and their report (everything but the memory runs). */
static void timed(bench *x, const bench_shape *s, const bench_batches *bbp, const int want[K_COUNT], int reps,
                  int profile)
{
    const bench_batches bb = *bbp; /* a copy of the handle: the batches stay the caller's */
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("bench_smart: %s, shape %s (%d layers, hidden %d, %d heads, ffn %d, vocab 30522, %.2fM params); "
           "OpenBLAS %s, OPENBLAS_NUM_THREADS=%s, %d engine threads\n",
           sm_family_model_type(x->cfg.family), s->name, s->L, s->H, s->NH, s->F, sm_bert_numel(x->m) / 1e6, openblas_get_config(),
           threads ? threads : "unset", sm_bert_threads(x->m));
    printf("batches: %s, %d batch(es) cycled, %ld real of %ld padded tokens (%.0f %% padding)\n", bb.source, bb.n,
           bb.real_tokens, bb.padded_tokens, 100.0 * (1 - (double)bb.real_tokens / (double)bb.padded_tokens));
    printf("FLOPs: F = one forward's matrix products over the batch's own padded length T; vanilla and the "
           "zero step = 3F, SMART (1 ascent step + teacher) = 9F, inference = F\n");
    for (int i = 0; i < bb.n; i++)
        printf("  batch %d: %d x %d, %ld real tokens, F = %.2f GFLOP\n", i, bb.b[i].B, bb.b[i].T,
               real_tokens(&bb.b[i]),
               bench_forward_flops(s, bb.b[i].B, bb.b[i].T, C) / 1e9);

    double *t[K_COUNT], *fr[K_COUNT], *pk = calloc((size_t)reps, sizeof *pk);
    for (int k = 0; k < K_COUNT; k++) {
        t[k] = calloc((size_t)reps, sizeof **t);
        fr[k] = calloc((size_t)reps, sizeof **fr);
    }
    int order[K_COUNT], nk = 0;
    for (int k = 0; k < K_COUNT; k++)
        if (want[k])
            order[nk++] = k;
    double best_peak = 0;
    for (int i = 0; i < reps; i++) {
        const sm_batch *b = &bb.b[i % bb.n];
        const double F = bench_forward_flops(s, b->B, b->T, C);
        pk[i] = profile ? 1.0 : bench_peak_once();
        best_peak = pk[i] > best_peak ? pk[i] : best_peak;
        for (int j = 0; j < nk; j++) { /* rotating order: no kind is always the one after the peak */
            int k = order[(i + j) % nk];
            double t0 = sm_now();
            run_kind(x, k, b);
            t[k][i] = sm_now() - t0;
            fr[k][i] = kind_flops[k] * F / t[k][i] / 1e9 / pk[i];
        }
    }
    bench_peak_free();
    double *v = calloc((size_t)reps, sizeof *v), *pkc = v;
    memcpy(pkc, pk, (size_t)reps * sizeof *pk);
    printf("sgemm 2048^3 peak before each repetition: median %.1f, best %.1f GFLOP/s\n", bench_median(pkc, reps),
           best_peak);
    printf("%-26s %9s %9s %9s %13s %s\n", "kind", "min s", "median s", "max s", "median %peak",
           "(paired with the peak measured before it)");
    double tmed[K_COUNT] = {0}, fmed[K_COUNT] = {0};
    for (int j = 0; j < nk; j++) {
        int k = order[j];
        memcpy(v, t[k], (size_t)reps * sizeof *v);
        tmed[k] = bench_median(v, reps);
        memcpy(v, fr[k], (size_t)reps * sizeof *v);
        fmed[k] = bench_median(v, reps);
        double lo = 1e30, hi = 0;
        for (int i = 0; i < reps; i++) {
            lo = t[k][i] < lo ? t[k][i] : lo;
            hi = t[k][i] > hi ? t[k][i] : hi;
        }
        printf("%-26s %9.3f %9.3f %9.3f %12.1f%%\n", kind_long[k], lo, tmed[k], hi, 100 * fmed[k]);
    }
    /* paired ratios against vanilla (the same batch, back to back) */
    for (int k = K_ZERO; k <= K_PAPER && want[K_VANILLA]; k++) {
        if (!want[k])
            continue;
        double lo = 1e30, hi = 0;
        for (int i = 0; i < reps; i++) {
            v[i] = t[k][i] / t[K_VANILLA][i];
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        double med = bench_median(v, reps);
        if (k == K_PAPER)
            printf("SMART / vanilla, paired: median %.3f (min %.3f, max %.3f); target <= 3.1 on real MRPC batches: "
                   "%s%s\n", med, lo, hi, med <= 3.1 ? "met" : "not met",
                   strcmp(bb.source, "mrpc") == 0 ? "" : " (these are not MRPC batches)");
        else
            printf("zero-weights / vanilla, paired: median %.3f (min %.3f, max %.3f); target within 3 %%: %s\n", med,
                   lo, hi, med >= 0.97 && med <= 1.03 ? "met" : "not met");
    }
    if (want[K_PAPER] && want[K_UNSHARED]) {
        double lo = 1e30, hi = 0;
        for (int i = 0; i < reps; i++) {
            v[i] = t[K_PAPER][i] / t[K_UNSHARED][i];
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        printf("SMART / SMART with no shared layer, paired: median %.3f (min %.3f, max %.3f): what the "
               "recomputation of the shared layers costs\n", bench_median(v, reps), lo, hi);
    }
    if (want[K_UNSHARED] && want[K_VANILLA]) {
        for (int i = 0; i < reps; i++)
            v[i] = t[K_UNSHARED][i] / t[K_VANILLA][i];
        printf("SMART with no shared layer / vanilla, paired: median %.3f\n", bench_median(v, reps));
    }
    const int is_base = strcmp(s->name, "base") == 0;
    const int has_target = is_base || strcmp(s->name, "mini") == 0 || strcmp(s->name, "minilm") == 0;
    for (int j = 0; j < nk; j++) {
        int k = order[j];
        if (k == K_ZERO || k == K_UNSHARED)
            continue;
        double target = k == K_INFER || is_base ? 0.80 : 0.75;
        if (has_target)
            printf("%s at %.1f %% of the paired sgemm peak: target >= %.0f %% on %s: %s\n", kind_long[k],
                   100 * fmed[k], 100 * target, s->name, fmed[k] >= target ? "met" : "not met");
    }
    if (!has_target)
        printf("(no speed target for the %s shape: the targets are on mini, minilm and base)\n", s->name);

    for (int k = 0; k < K_COUNT; k++) {
        free(t[k]);
        free(fr[k]);
    }
    free(pk);
    free(v);
}

int main(int argc, char **argv)
{
    const char *shape_name = "mini", *data = "fixed", *kinds = "vanilla,zero,paper,infer", *dump = NULL;
    int reps = 6, nbatches = 8, serve = 0, memory = 1, child_kind = -1, profile = 0, memory_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--shape") == 0 && v)
            shape_name = argv[++i];
        else if (strcmp(a, "--data") == 0 && v)
            data = argv[++i];
        else if (strcmp(a, "--reps") == 0 && v)
            reps = atoi(argv[++i]);
        else if (strcmp(a, "--batches") == 0 && v)
            nbatches = atoi(argv[++i]);
        else if (strcmp(a, "--kinds") == 0 && v)
            kinds = argv[++i];
        else if (strcmp(a, "--dump") == 0 && v)
            dump = argv[++i];
        else if (strcmp(a, "--serve") == 0)
            serve = 1;
        else if (strcmp(a, "--no-memory") == 0)
            memory = 0;
        else if (strcmp(a, "--memory-only") == 0) /* no timing: the memory runs only */
            memory_only = 1;
        else if (strcmp(a, "--profile") == 0) /* for perf record: steps only, no peak, no memory runs */
            profile = 1, memory = 0;
        else if (strcmp(a, "--memory-child") == 0 && v)
            child_kind = atoi(argv[++i]);
        else if (a[0] >= '0' && a[0] <= '9')
            reps = atoi(a); /* the old form: bench_smart REPS */
        else {
            fprintf(stderr,
                    "usage: bench_smart [--shape tiny|mini|small|minilm|base] [--data fixed|mrpc|sst2] [--reps N]\n"
                    "                   [--batches N] [--kinds vanilla,zero,paper,infer,unshared] [--no-memory]\n"
                    "                   [--memory-only] [--profile] [--serve [--dump FILE]]\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    if (nbatches < 1)
        nbatches = 1;
    const bench_shape *s = bench_shape_find(shape_name);
    if (!s) {
        fprintf(stderr, "bench_smart: unknown shape '%s' (tiny, mini, small, minilm, base)\n", shape_name);
        return 2;
    }
    int want[K_COUNT];
    if (!parse_kinds(kinds, want))
        return 2;
    bench_batches bb;
    if (strcmp(data, "fixed") == 0)
        bench_batches_fixed(&bb, 32, 128, 30522, C);
    else if (!bench_batches_real(&bb, data, 32, nbatches))
        return 77;
    sm_bert_config fam;
    bench_config(&fam, s, C);
    if (bench_family(&fam, s, "bench_smart") != 0)
        return 2;
    bench_batches_fit(&bb, &fam);
    if (child_kind >= 0 && child_kind < K_COUNT)
        return memory_child(s, &bb, child_kind);

    int maxB, maxT;
    bench_batches_max(&bb, &maxB, &maxT);
    if (memory_only)
        reps = 1;
    bench x;
    memset(&x, 0, sizeof x);
    if (!memory_only)
        bench_init(&x, s, want, maxB, maxT, &bb.b[bench_batches_biggest(&bb)]);
    for (int k = 0; k < K_COUNT && !memory_only; k++) /* warm-up: every workspace at its largest */
        if (want[k])
            run_kind(&x, k, &bb.b[bench_batches_biggest(&bb)]);

    if (serve) {
        if (dump)
            dump_batches(&bb, dump);
        printf("ready %s %s %d batches, %d engine threads\n", s->name, bb.source, bb.n, sm_bert_threads(x.m));
        fflush(stdout);
        char line[128], name[32];
        int idx;
        while (fgets(line, sizeof line, stdin)) {
            if (strncmp(line, "peak", 4) == 0) { /* the sgemm peak now, GFLOP/s, for a fraction of it */
                printf("peak %.3f\n", bench_peak_once());
                fflush(stdout);
                continue;
            }
            if (sscanf(line, "%31s %d", name, &idx) != 2)
                break;
            int k = -1;
            for (int j = 0; j < K_COUNT; j++)
                if (want[j] && strcmp(name, kind_names[j]) == 0)
                    k = j;
            if (k < 0 || idx < 0) {
                printf("error unknown request: %s", line);
                fflush(stdout);
                continue;
            }
            const sm_batch *b = &bb.b[idx % bb.n];
            double t0 = sm_now();
            run_kind(&x, k, b);
            double dt = sm_now() - t0;
            /* the step's FLOPs (the count of bench_forward_flops x the kind's multiple) beside its time */
            printf("%s %d %.6f %.6e\n", name, idx, dt, kind_flops[k] * bench_forward_flops(s, b->B, b->T, C));
            fflush(stdout);
        }
        bench_free(&x);
        bench_batches_free(&bb);
        return 0;
    }

    if (!memory_only)
        timed(&x, s, &bb, want, reps, profile);
    int order[K_COUNT], nk = 0;
    for (int k = 0; k < K_COUNT; k++)
        if (want[k])
            order[nk++] = k;
    if (memory) {
        /* each kind in its own process: its peak resident memory is its own */
        double base[K_COUNT] = {0}, peak[K_COUNT] = {0}, P = 0;
        int mB = 0, mT = 0, shared = -1;
        for (int j = 0; j < nk; j++) {
            int k = order[j];
            char kb[8], nb[16];
            snprintf(kb, sizeof kb, "%d", k);
            snprintf(nb, sizeof nb, "%d", nbatches);
            int fd[2];
            if (pipe(fd) != 0)
                break;
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                execl("/proc/self/exe", argv[0], "--shape", s->name, "--data", data, "--batches", nb, "--memory-child",
                      kb, (char *)NULL);
                _exit(127);
            }
            close(fd[1]);
            FILE *f = fdopen(fd[0], "r");
            char line[256], nm[32];
            size_t np = 0;
            while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "memory %31s %lf %lf %zu %d %d", nm, &base[k], &peak[k], &np, &mB, &mT) == 6)
                    P = (double)np;
                else
                    (void)sscanf(line, "shared %d", &shared);
            if (f)
                fclose(f);
            int ws;
            if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
                fprintf(stderr, "bench_smart: the memory run of %s failed\n", kind_names[k]);
        }
        printf("peak resident memory, each kind alone in its own process, one step on the batch that sets the "
               "peak (%d x %d); 'model' = peak - resident before the model was made:\n", mB, mT);
        for (int j = 0; j < nk; j++) {
            int k = order[j];
            printf("  %-26s peak %8.1f MiB, model %8.1f MiB\n", kind_long[k], peak[k] / 1048576,
                   (peak[k] - base[k]) / 1048576);
        }
        if (want[K_VANILLA] && peak[K_VANILLA] > 0) {
            double mv = peak[K_VANILLA] - base[K_VANILLA], mn = min_bytes(s, P, mB, mT);
            printf("vanilla minimum = 16 bytes x %.2fM params + the activations its backward reads "
                   "(L (N (8H + 2F) 4 + 5 B NH T^2 + 2 N H) + 9 N H bytes, N = B T) = %.1f MiB; vanilla / minimum = "
                   "%.2f: target <= 1.3: %s\n", P / 1e6, mn / 1048576, mv / mn, mv / mn <= 1.3 ? "met" : "not met");
            if (want[K_PAPER] && peak[K_PAPER] > 0) {
                double r = (peak[K_PAPER] - base[K_PAPER]) / mv;
                printf("SMART / vanilla peak memory (model parts) = %.2f: target <= 1.6: %s\n", r,
                       r <= 1.6 ? "met" : "not met");
                if (shared >= 0)
                    printf("(the SMART step's clean workspace shares its top %d of %d layers and the backward "
                           "scratch with the adversarial one: %d/%d of an encoder forward again per step)\n",
                           shared, s->L, shared, s->L);
            }
            if (want[K_UNSHARED] && peak[K_UNSHARED] > 0)
                printf("SMART with no shared layer / vanilla peak memory (model parts) = %.2f\n",
                       (peak[K_UNSHARED] - base[K_UNSHARED]) / mv);
        }
    }
    if (!memory_only)
        bench_free(&x);
    bench_batches_free(&bb);
    return 0;
}
