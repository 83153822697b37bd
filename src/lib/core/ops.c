/* ops.c: the engine's kernels, forward and backward side by side: linear (cblas sgemm), LayerNorm,
 * exact GELU, tanh, masked softmax, dropout, multi-head attention, embeddings. No allocation, no
 * state: callers own every buffer (model_pass.c decides the layout; see the comment at its top).
 *
 * In-place use (out == in) is allowed where the header says so; those loops carry "GCC ivdep" so that
 * the vectoriser does not fall back to scalar code when the pointers are equal.
 *
 * Layout: activations are row-major [rows, features] with rows = B*T tokens, so that every linear
 * layer is ONE sgemm with M = B*T over the whole batch (weights stay [out, in] as transformers stores
 * them, used transposed by sgemm: no copies). Attention reads the fused projection [B*T, 3H] in place:
 * head h of example b is a T x D block with leading dimension 3H, which sgemm takes directly, so the
 * heads are never split into copies. Reductions (LayerNorm statistics, softmax sums) are accumulated
 * in double; the losses too (model_pass.c). */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "lib/core/ops.h"


#define SM_SQRT1_2_F 0.70710678118654752440f
#define SM_INV_SQRT_2PI 0.39894228040143267794f

/* ---- linear ---------------------------------------------------------------------------------- */

void sm_bias_rows(float *out, const float *b, int O, int n0, int n1)
{
    for (int n = n0; n < n1; n++)
        memcpy(out + (size_t)n * O, b, (size_t)O * sizeof(float));
}

void sm_linear_forward_acc(float *out, const float *in, const float *w, int N, int K, int O)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, K, 1.0f, in, K, w, K, 1.0f, out, O);
}

void sm_linear_forward(float *out, const float *in, const float *w, const float *b, int N, int K, int O)
{
    float beta = 0.0f;
    if (b) { /* out starts as the bias, sgemm adds in w^T: no separate bias pass */
        sm_bias_rows(out, b, O, 0, N);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, K, 1.0f, in, K, w, K, beta, out, O);
}

SM_KERNEL void sm_column_sums_add(float *db, const float *d, int N, int O, int c0, int c1)
{
    for (int n = 0; n < N; n++) {
        const float *row = d + (size_t)n * O;
        for (int o = c0; o < c1; o++)
            db[o] += row[o];
    }
}

void sm_linear_backward(float *din, int din_accumulate, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int N, int K, int O)
{
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, O, 1.0f, dout, O, w, K,
                    din_accumulate ? 1.0f : 0.0f, din, K);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, K, N, 1.0f, dout, O, in, K, 1.0f, dw, K);
    if (db)
        sm_column_sums_add(db, dout, N, O, 0, O);
}

/* ---- LayerNorm --------------------------------------------------------------------------------- */

/* Sums of a row in 8 float lanes (vectorisable, and more accurate than one running float sum),
 * combined in double. */
#define LANES 8
static inline double row_sum(const float *x, int H)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= H; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[i + k];
    double s = 0.0;
    for (; i < H; i++)
        s += x[i];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

static inline double row_sq_dev(const float *x, float mu, int H)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= H; i += LANES)
        for (int k = 0; k < LANES; k++) {
            const float c = x[i + k] - mu;
            acc[k] += c * c;
        }
    double s = 0.0;
    for (; i < H; i++)
        s += (double)(x[i] - mu) * (x[i] - mu);
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

SM_KERNEL void sm_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *g,
                          const float *b, int N, int H, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * H;
        float *y = out + (size_t)n * H;
        const float mu = (float)(row_sum(x, H) / H);
        const float r = (float)(1.0 / sqrt(row_sq_dev(x, mu, H) / H + (double)eps));
        for (int i = 0; i < H; i++)
            y[i] = (x[i] - mu) * r * g[i] + b[i];
        mean[n] = mu;
        rstd[n] = r;
    }
}

SM_KERNEL void sm_layernorm_backward(float *din, const float *dout, const float *in, const float *mean,
                           const float *rstd, const float *g, int N, int H)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * H;
        const float *dy = dout + (size_t)n * H;
        float *dx = din + (size_t)n * H;
        const float mu = mean[n], r = rstd[n];
        float a1[LANES] = {0}, a2[LANES] = {0}; /* sum dy*g, sum dy*g*xhat */
        int i = 0;
        for (; i + LANES <= H; i += LANES)
            for (int k = 0; k < LANES; k++) {
                const float dyg = dy[i + k] * g[i + k];
                a1[k] += dyg;
                a2[k] += dyg * ((x[i + k] - mu) * r);
            }
        double s1 = 0.0, s2 = 0.0;
        for (; i < H; i++) {
            const float dyg = dy[i] * g[i];
            s1 += dyg;
            s2 += (double)dyg * ((x[i] - mu) * r);
        }
        for (int k = 0; k < LANES; k++) {
            s1 += a1[k];
            s2 += a2[k];
        }
        const float m1 = (float)(s1 / H), m2 = (float)(s2 / H);
        #pragma GCC ivdep
        for (i = 0; i < H; i++) {
            const float xh = (x[i] - mu) * r;
            dx[i] = r * (dy[i] * g[i] - m1 - xh * m2);
        }
    }
}

SM_KERNEL void sm_layernorm_backward_params(float *dg, float *db, const float *dout, const float *in,
                                  const float *mean, const float *rstd, int N, int H, int c0, int c1)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * H;
        const float *dy = dout + (size_t)n * H;
        const float mu = mean[n], r = rstd[n];
        for (int i = c0; i < c1; i++) {
            dg[i] += dy[i] * ((x[i] - mu) * r);
            db[i] += dy[i];
        }
    }
}

/* ---- exp, GELU, tanh ------------------------------------------------------------------------- */

/* exp(x) for x <= 0 in plain arithmetic that the compiler vectorises (libm's expf and erff are
 * scalar calls, and the GELU and softmax run them on millions of values per step): x = n ln2 + r with
 * |r| <= ln2 / 2, e^r by its Taylor series to degree 7 (relative error < 1e-8 before rounding), 2^n
 * put into the exponent bits. Below -87.3 (where 2^n would leave the normal range) the result is 0,
 * so masked softmax entries are exactly 0. */
static inline float exp_nonpos(float x)
{
    /* clamped into [-87.3, 0], NaN included, so that the integer conversion below is always defined */
    const float xc = x >= -87.3f ? (x <= 0.0f ? x : 0.0f) : -87.3f;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float n = (xc * 1.44269504088896341f + shifter) - shifter;
    const float r = (xc - n * 0.693145751953125f) - n * 1.42860682030941723e-6f; /* ln2 = hi + lo */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x >= -87.3f ? p * scale : x < -87.3f ? 0.0f : x; /* a NaN stays NaN */
}

/* Phi(x) = 0.5 (1 + erf(x / sqrt 2)) and, through e = exp(-x^2 / 2), the density's exponential:
 * erfc(z) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^{-z^2}, t = 1 / (1 + p z), z = |x| / sqrt 2 >= 0
 * (Abramowitz & Stegun 7.1.26, absolute error <= 1.5e-7), Phi = 1 - erfc / 2 for x >= 0 and erfc / 2
 * for x < 0 (no cancellation in the left tail). */
static inline float gelu_cdf(float x, float *e_out)
{
    const float z = fabsf(x) * SM_SQRT1_2_F;
    const float t = 1.0f / (1.0f + 0.3275911f * z);
    const float e = exp_nonpos(-z * z);
    const float poly =
        t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    const float half_erfc = 0.5f * poly * e;
    *e_out = e;
    return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

SM_KERNEL void sm_gelu_forward(float *out, const float *in, size_t n)
{
    #pragma GCC ivdep
    for (size_t i = 0; i < n; i++) {
        const float x = in[i];
        float e;
        out[i] = x * gelu_cdf(x, &e);
    }
}

SM_KERNEL void sm_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
    #pragma GCC ivdep
    for (size_t i = 0; i < n; i++) {
        const float x = in[i];
        float e;
        const float cdf = gelu_cdf(x, &e);
        din[i] = dout[i] * (cdf + x * e * SM_INV_SQRT_2PI);
    }
}

void sm_tanh_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void sm_tanh_backward(float *din, const float *dout, const float *out, size_t n)
{
    #pragma GCC ivdep
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * (1.0f - out[i] * out[i]);
}

/* ---- softmax ----------------------------------------------------------------------------------- */

SM_KERNEL void sm_softmax_forward(float *p, const float *s, const float *mask, int R, int C)
{
    for (int r = 0; r < R; r++) {
        const float *x = s + (size_t)r * C;
        float *y = p + (size_t)r * C;
        /* transformers adds torch.finfo(float32).min to masked scores; clamped so that a very
         * negative score cannot overflow to -inf (and -inf - -inf to NaN) */
        if (mask) {
            for (int j = 0; j < C; j++) {
                const float v = mask[j] == 0.0f ? x[j] + -FLT_MAX : x[j];
                y[j] = v >= -FLT_MAX ? v : -FLT_MAX;
            }
        } else if (y != x) {
            memcpy(y, x, (size_t)C * sizeof(float));
        }
        float mx = -FLT_MAX;
        for (int j = 0; j < C; j++)
            mx = y[j] > mx ? y[j] : mx;
        float acc[LANES] = {0};
        int j = 0;
        for (; j + LANES <= C; j += LANES)
            for (int k = 0; k < LANES; k++) {
                const float e = exp_nonpos(y[j + k] - mx);
                y[j + k] = e;
                acc[k] += e;
            }
        double sum = 0.0;
        for (; j < C; j++) {
            y[j] = exp_nonpos(y[j] - mx);
            sum += y[j];
        }
        for (int k = 0; k < LANES; k++)
            sum += acc[k];
        const float inv = (float)(1.0 / sum);
        for (j = 0; j < C; j++)
            y[j] *= inv;
    }
}

SM_KERNEL void sm_softmax_backward(float *ds, const float *dp, const float *p, int R, int C)
{
    for (int r = 0; r < R; r++) {
        const float *pr = p + (size_t)r * C;
        const float *dr = dp + (size_t)r * C;
        float *o = ds + (size_t)r * C;
        float acc[LANES] = {0};
        int j = 0;
        for (; j + LANES <= C; j += LANES)
            for (int k = 0; k < LANES; k++)
                acc[k] += dr[j + k] * pr[j + k];
        double dot = 0.0;
        for (; j < C; j++)
            dot += (double)dr[j] * pr[j];
        for (int k = 0; k < LANES; k++)
            dot += acc[k];
        const float d = (float)dot;
        #pragma GCC ivdep
        for (j = 0; j < C; j++)
            o[j] = pr[j] * (dr[j] - d);
    }
}

/* ---- dropout ----------------------------------------------------------------------------------- */

uint64_t sm_dropout_seed(sm_rng *rng) { return sm_rng_u64(rng); }

void sm_dropout_mask_stream(uint8_t *keep, size_t n, float p, uint64_t seed, uint64_t stream)
{
    /* keep when a uniform 32-bit draw is >= p * 2^32: probability 1 - p up to 2^-32 */
    const uint32_t thr = (uint32_t)((double)p * 4294967296.0);
    sm_rng r;
    sm_rng_seed(&r, seed + stream * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        const uint64_t u = sm_rng_u64(&r);
        keep[i] = (uint32_t)u >= thr;
        keep[i + 1] = (uint32_t)(u >> 32) >= thr;
    }
    if (i < n)
        keep[i] = (uint32_t)sm_rng_u64(&r) >= thr;
}

void sm_dropout_mask_chunks(uint8_t *keep, size_t n, float p, uint64_t seed, size_t c0, size_t c1)
{
    for (size_t c = c0; c < c1; c++) {
        const size_t b = c * SM_DROPOUT_CHUNK, e = b + SM_DROPOUT_CHUNK < n ? b + SM_DROPOUT_CHUNK : n;
        if (b < e)
            sm_dropout_mask_stream(keep + b, e - b, p, seed, c);
    }
}

void sm_dropout_mask(uint8_t *keep, size_t n, float p, sm_rng *rng)
{
    sm_dropout_mask_chunks(keep, n, p, sm_dropout_seed(rng), 0, (n + SM_DROPOUT_CHUNK - 1) / SM_DROPOUT_CHUNK);
}

SM_KERNEL void sm_dropout_apply(float *x, const uint8_t *keep, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        x[i] = keep[i] ? x[i] * scale : 0.0f;
}

SM_KERNEL void sm_dropout_copy(float *y, const float *x, const uint8_t *keep, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    #pragma GCC ivdep
    for (size_t i = 0; i < n; i++)
        y[i] = keep[i] ? x[i] * scale : 0.0f;
}

SM_KERNEL void sm_dropout_residual(float *res, const float *x, const uint8_t *keep, size_t n, float p)
{
    if (keep) {
        const float scale = 1.0f / (1.0f - p);
        for (size_t i = 0; i < n; i++)
            res[i] = x[i] + (keep[i] ? res[i] * scale : 0.0f);
    } else {
        for (size_t i = 0; i < n; i++)
            res[i] += x[i];
    }
}

/* ---- attention --------------------------------------------------------------------------------- */

void sm_attention_forward(float *ctx, float *probs, uint8_t *keep, const float *qkv, const float *mask,
                          int B, int T, int NH, int D, float p, uint64_t seed, float *scratch, int bh0,
                          int bh1)
{
    const int H = NH * D, H3 = 3 * H;
    const float scale = 1.0f / sqrtf((float)D);
    const size_t TT = (size_t)T * T;
    (void)B;
    for (int bh = bh0; bh < bh1; bh++) {
        const int b = bh / NH, h = bh % NH;
        const float *q = qkv + (size_t)b * T * H3 + (size_t)h * D;
        const float *k = q + H, *v = q + 2 * H;
        float *s = probs + (size_t)bh * TT;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, q, H3, k, H3, 0.0f, s, T);
        sm_softmax_forward(s, s, mask + (size_t)b * T, T, T);
        const float *pd = s;
        if (keep) {
            uint8_t *kb = keep + (size_t)bh * TT;
            sm_dropout_mask_stream(kb, TT, p, seed, (uint64_t)bh);
            sm_dropout_copy(scratch, s, kb, TT, p);
            pd = scratch;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, pd, T, v, H3, 0.0f,
                    ctx + (size_t)b * T * H + (size_t)h * D, H);
    }
}

void sm_attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *probs,
                           const uint8_t *keep, int B, int T, int NH, int D, float p, float *scratch,
                           int bh0, int bh1)
{
    const int H = NH * D, H3 = 3 * H;
    const float scale = 1.0f / sqrtf((float)D);
    const size_t TT = (size_t)T * T;
    float *pd_buf = scratch, *dp = scratch + TT;
    (void)B;
    for (int bh = bh0; bh < bh1; bh++) {
        const int b = bh / NH, h = bh % NH;
        const size_t qo = (size_t)b * T * H3 + (size_t)h * D;
        const float *q = qkv + qo, *k = q + H, *v = q + 2 * H;
        float *dq = dqkv + qo, *dk = dq + H, *dv = dq + 2 * H;
        const float *dc = dctx + (size_t)b * T * H + (size_t)h * D;
        const float *pr = probs + (size_t)bh * TT;
        const uint8_t *kb = keep ? keep + (size_t)bh * TT : NULL;
        const float *pd = pr;
        if (kb) {
            sm_dropout_copy(pd_buf, pr, kb, TT, p);
            pd = pd_buf;
        }
        /* d(dropped probs) = dctx V^T;  dV = dropped probs^T dctx */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, dc, H, v, H3, 0.0f, dp, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, pd, T, dc, H, 0.0f, dv, H3);
        if (kb)
            sm_dropout_apply(dp, kb, TT, p);
        sm_softmax_backward(dp, dp, pr, T, T);
        /* scores = scale Q K^T:  dQ = scale dS K,  dK = scale dS^T Q */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, scale, dp, T, k, H3, 0.0f, dq, H3);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, scale, dp, T, q, H3, 0.0f, dk, H3);
    }
}

/* ---- embeddings -------------------------------------------------------------------------------- */

void sm_embed_forward(float *out, const int32_t *ids, const int32_t *types, const float *wte,
                      const float *wpe, const float *wtt, int B, int T, int H)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t n = (size_t)b * T + t;
            const float *we = wte + (size_t)ids[n] * H, *pe = wpe + (size_t)t * H;
            const float *te = wtt + (size_t)types[n] * H;
            float *o = out + n * H;
            for (int i = 0; i < H; i++)
                o[i] = we[i] + pe[i] + te[i];
        }
    }
}

void sm_embed_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                       const int32_t *types, int B, int T, int H, int pad_id)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t n = (size_t)b * T + t;
            const float *d = dout + n * H;
            if (dwte && ids[n] != pad_id) {
                float *r = dwte + (size_t)ids[n] * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
            if (dwpe) {
                float *r = dwpe + (size_t)t * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
            if (dwtt) {
                float *r = dwtt + (size_t)types[n] * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
        }
    }
}

void sm_embed_forward_pos(float *out, const int32_t *ids, const int32_t *types, const int32_t *pos,
                          const float *wte, const float *wpe, const float *wtt, int B, int T, int H)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t n = (size_t)b * T + t;
            const float *we = wte + (size_t)ids[n] * H, *pe = wpe + (size_t)(pos ? pos[n] : t) * H;
            float *o = out + n * H;
            if (wtt) {
                const float *te = wtt + (size_t)types[n] * H;
                for (int i = 0; i < H; i++)
                    o[i] = we[i] + pe[i] + te[i];
            } else {
                for (int i = 0; i < H; i++)
                    o[i] = we[i] + pe[i];
            }
        }
    }
}

void sm_embed_backward_pos(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                           const int32_t *types, const int32_t *pos, int B, int T, int H, int pad_id,
                           int pos_pad)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t n = (size_t)b * T + t;
            const float *d = dout + n * H;
            const int p = pos ? pos[n] : t;
            if (dwte && ids[n] != pad_id) {
                float *r = dwte + (size_t)ids[n] * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
            if (dwpe && p != pos_pad) {
                float *r = dwpe + (size_t)p * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
            if (dwtt && types) {
                float *r = dwtt + (size_t)types[n] * H;
                for (int i = 0; i < H; i++)
                    r[i] += d[i];
            }
        }
    }
}

int32_t sm_roberta_positions(int32_t *pos, const int32_t *ids, int B, int T, int32_t pad)
{
    int32_t top = pad;
    for (int b = 0; b < B; b++) {
        int32_t count = 0;
        for (int t = 0; t < T; t++) {
            const size_t n = (size_t)b * T + t;
            if (ids[n] != pad) {
                pos[n] = pad + ++count;
                top = pos[n] > top ? pos[n] : top;
            } else {
                pos[n] = pad;
            }
        }
    }
    return top;
}
