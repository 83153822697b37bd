/* bench_gemm.c: the ceiling OpenBLAS sets on a step (issue 16): each matrix product of one encoder
 * layer, at a shape's own sizes (N = B x T rows), timed alone as one cblas_sgemm with OpenBLAS's
 * threads, as GFLOP/s and as a fraction of the 2048^3 peak measured beside it. The six linear layers
 * forward (x W^T), and for training also their input gradient (dy W) and weight gradient (dy^T x):
 * the FLOP-weighted fraction of the forward products bounds inference, that of all three bounds a
 * training step, whatever the engine around them does (attention's per-head products and the
 * elementwise work, not counted, only lower it). It runs no model.
 *   OPENBLAS_NUM_THREADS=2 build/bench/bench_gemm [--rows N] [--reps R] [tiny|mini|small|minilm|base ...] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "smartty/common.h"

typedef struct prod {
    const char *what;
    int ta, tb, M, N, K; /* C[M, N] = op(A) op(B), row-major */
    int fwd;             /* 1: a forward product (inference does it) */
    int times;           /* how many of it a layer does */
} prod;

static double time_prod(const prod *p, float *A, float *B, float *C, int reps)
{
    int lda = p->ta ? p->M : p->K, ldb = p->tb ? p->K : p->N;
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, p->M, p->N,
                p->K, 1.0f, A, lda, B, ldb, 0.0f, C, p->N);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = sm_now();
        cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, p->M,
                    p->N, p->K, 1.0f, A, lda, B, ldb, 0.0f, C, p->N);
        double t = sm_now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    int rows = 32 * 128, reps = 5;
    const char *names[8];
    int nn = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (bench_shape_find(argv[i]) && nn < 8)
            names[nn++] = argv[i];
        else {
            fprintf(stderr, "usage: bench_gemm [--rows N] [--reps R] [tiny|mini|small|minilm|base ...]\n");
            return 2;
        }
    }
    if (rows < 1 || reps < 1) {
        fprintf(stderr, "bench_gemm: --rows and --reps must be at least 1\n");
        return 2;
    }
    if (!nn) {
        names[nn++] = "mini";
        names[nn++] = "minilm";
        names[nn++] = "base";
    }
    printf("bench_gemm: %d rows (B x T), best of %d; fractions of the 2048^3 sgemm peak measured before each "
           "shape (best of 5)\n", rows, reps);
    for (int si = 0; si < nn; si++) {
        const bench_shape *s = bench_shape_find(names[si]);
        if (!s)
            return 2;
        const int H = s->H, F = s->F, N = rows;
        /* the linear layers of one encoder layer: Q, K, V, attention output (H -> H), FFN up (H -> F),
           FFN down (F -> H); for each: forward y = x W^T, input gradient dx = dy W, weight gradient
           dW = dy^T x */
        const prod ps[] = {
            {"H->H  forward   x W^T", 0, 1, N, H, H, 1, 4},
            {"H->F  forward   x W^T", 0, 1, N, F, H, 1, 1},
            {"F->H  forward   x W^T", 0, 1, N, H, F, 1, 1},
            {"H->H  input grad dy W", 0, 0, N, H, H, 0, 4},
            {"H->F  input grad dy W", 0, 0, N, H, F, 0, 1},
            {"F->H  input grad dy W", 0, 0, N, F, H, 0, 1},
            {"H->H  weight grad dy^T x", 1, 0, H, H, N, 0, 4},
            {"H->F  weight grad dy^T x", 1, 0, F, H, N, 0, 1},
            {"F->H  weight grad dy^T x", 1, 0, H, F, N, 0, 1},
        };
        const int np = (int)(sizeof ps / sizeof ps[0]);
        size_t big = (size_t)N * (size_t)F;
        if ((size_t)F * (size_t)F > big)
            big = (size_t)F * (size_t)F;
        float *A = sm_alloc_floats(big, NULL, "A"), *B = sm_alloc_floats(big, NULL, "B"),
              *C = sm_alloc_floats(big, NULL, "C");
        if (!A || !B || !C) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < big; i++) {
            A[i] = (float)((int)(i % 17) - 8) * 0.01f;
            B[i] = (float)((int)(i % 13) - 6) * 0.01f;
        }
        double peak = 0;
        for (int r = 0; r < 5; r++) {
            double g = bench_peak_once();
            if (g > peak)
                peak = g;
        }
        printf("%s (H %d, F %d, N %d): peak %.1f GFLOP/s\n", s->name, H, F, N, peak);
        double fl_f = 0, t_f = 0, fl_all = 0, t_all = 0;
        for (int i = 0; i < np; i++) {
            double t = time_prod(&ps[i], A, B, C, reps);
            double fl = 2.0 * ps[i].M * (double)ps[i].N * ps[i].K;
            double g = fl / t / 1e9;
            printf("  %-26s %5d x %5d x %5d  %8.2f ms  %7.1f GFLOP/s  %5.1f %% of peak\n", ps[i].what, ps[i].M,
                   ps[i].N, ps[i].K, 1e3 * t, g, 100 * g / peak);
            fl_all += ps[i].times * fl;
            t_all += ps[i].times * t;
            if (ps[i].fwd) {
                fl_f += ps[i].times * fl;
                t_f += ps[i].times * t;
            }
        }
        double ff = fl_f / t_f / 1e9 / peak, fa = fl_all / t_all / 1e9 / peak;
        printf("  ceiling (FLOP-weighted, a layer's products): forward %.1f %% of peak (inference target >= 80 %%: "
               "%s), forward + backward %.1f %% (training target >= %d %%: %s)\n",
               100 * ff, ff >= 0.80 ? "reachable" : "NOT reachable with these products", 100 * fa,
               !strcmp(s->name, "base") ? 80 : 75,
               fa >= (!strcmp(s->name, "base") ? 0.80 : 0.75) ? "reachable" : "NOT reachable with these products");
        sm_free_aligned(A);
        sm_free_aligned(B);
        sm_free_aligned(C);
    }
    bench_peak_free();
    return 0;
}
