/* ops.c: the engine's kernels, forward and backward side by side: linear (cblas sgemm), LayerNorm,
 * exact GELU, tanh, masked softmax, dropout, multi-head attention, embeddings. No allocation, no
 * state: callers own every buffer (model_pass.c decides the layout; see the comment at its top).
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

#include "lib/ops.h"

/* ---- linear ---------------------------------------------------------------------------------- */

void sm_linear_forward(float *out, const float *in, const float *w, const float *b, int N, int K, int O)
{
    float beta = 0.0f;
    if (b) { /* out starts as the bias, sgemm adds in w^T: no separate bias pass */
        for (int n = 0; n < N; n++)
            memcpy(out + (size_t)n * O, b, (size_t)O * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, K, 1.0f, in, K, w, K, beta, out, O);
}

static void column_sums_add(float *db, const float *d, int N, int O)
{
    for (int n = 0; n < N; n++) {
        const float *row = d + (size_t)n * O;
        for (int o = 0; o < O; o++)
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
        column_sums_add(db, dout, N, O);
}

/* ---- LayerNorm --------------------------------------------------------------------------------- */

void sm_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *g,
                          const float *b, int N, int H, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * H;
        float *y = out + (size_t)n * H;
        double s = 0.0;
        for (int i = 0; i < H; i++)
            s += x[i];
        const float mu = (float)(s / H);
        double v = 0.0;
        for (int i = 0; i < H; i++) {
            const float c = x[i] - mu;
            v += (double)c * c;
        }
        const float r = (float)(1.0 / sqrt(v / H + (double)eps));
        for (int i = 0; i < H; i++)
            y[i] = (x[i] - mu) * r * g[i] + b[i];
        mean[n] = mu;
        rstd[n] = r;
    }
}

void sm_layernorm_backward(float *din, float *dg, float *db, const float *dout, const float *in,
                           const float *mean, const float *rstd, const float *g, int N, int H)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * H;
        const float *dy = dout + (size_t)n * H;
        float *dx = din + (size_t)n * H;
        const float mu = mean[n], r = rstd[n];
        double s1 = 0.0, s2 = 0.0; /* sum dy*g, sum dy*g*xhat */
        for (int i = 0; i < H; i++) {
            const float xh = (x[i] - mu) * r;
            const float dyg = dy[i] * g[i];
            s1 += dyg;
            s2 += (double)dyg * xh;
            if (dg) {
                dg[i] += dy[i] * xh;
                db[i] += dy[i];
            }
        }
        const float m1 = (float)(s1 / H), m2 = (float)(s2 / H);
        for (int i = 0; i < H; i++) {
            const float xh = (x[i] - mu) * r;
            dx[i] = r * (dy[i] * g[i] - m1 - xh * m2);
        }
    }
}

/* ---- GELU, tanh -------------------------------------------------------------------------------- */

#define SM_SQRT1_2 0.70710678118654752440f
#define SM_INV_SQRT_2PI 0.39894228040143267794f

void sm_gelu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float x = in[i];
        out[i] = 0.5f * x * (1.0f + erff(x * SM_SQRT1_2));
    }
}

void sm_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float x = in[i];
        const float cdf = 0.5f * (1.0f + erff(x * SM_SQRT1_2));
        const float pdf = expf(-0.5f * x * x) * SM_INV_SQRT_2PI;
        din[i] = dout[i] * (cdf + x * pdf);
    }
}

void sm_tanh_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void sm_tanh_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * (1.0f - out[i] * out[i]);
}

/* ---- softmax ----------------------------------------------------------------------------------- */

void sm_softmax_forward(float *p, const float *s, const float *mask, int R, int C)
{
    for (int r = 0; r < R; r++) {
        const float *x = s + (size_t)r * C;
        float *y = p + (size_t)r * C;
        float mx = -FLT_MAX;
        for (int j = 0; j < C; j++) {
            /* transformers adds torch.finfo(float32).min to masked scores; clamp so that a very
             * negative score cannot overflow to -inf (and -inf - -inf to NaN) */
            float v = x[j];
            if (mask && mask[j] == 0.0f) {
                v += -FLT_MAX;
                if (!(v >= -FLT_MAX))
                    v = -FLT_MAX;
            }
            y[j] = v;
            mx = v > mx ? v : mx;
        }
        double sum = 0.0;
        for (int j = 0; j < C; j++) {
            const float e = expf(y[j] - mx);
            y[j] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
        for (int j = 0; j < C; j++)
            y[j] *= inv;
    }
}

void sm_softmax_backward(float *ds, const float *dp, const float *p, int R, int C)
{
    for (int r = 0; r < R; r++) {
        const float *pr = p + (size_t)r * C;
        const float *dr = dp + (size_t)r * C;
        float *o = ds + (size_t)r * C;
        double dot = 0.0;
        for (int j = 0; j < C; j++)
            dot += (double)dr[j] * pr[j];
        const float d = (float)dot;
        for (int j = 0; j < C; j++)
            o[j] = pr[j] * (dr[j] - d);
    }
}

/* ---- dropout ----------------------------------------------------------------------------------- */

void sm_dropout_mask(uint8_t *keep, size_t n, float p, sm_rng *rng)
{
    /* keep when a uniform 32-bit draw is >= p * 2^32: probability 1 - p up to 2^-32 */
    const uint32_t thr = (uint32_t)((double)p * 4294967296.0);
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        const uint64_t u = sm_rng_u64(rng);
        keep[i] = (uint32_t)u >= thr;
        keep[i + 1] = (uint32_t)(u >> 32) >= thr;
    }
    if (i < n)
        keep[i] = (uint32_t)sm_rng_u64(rng) >= thr;
}

void sm_dropout_apply(float *x, const uint8_t *keep, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        x[i] = keep[i] ? x[i] * scale : 0.0f;
}

/* ---- attention --------------------------------------------------------------------------------- */

void sm_attention_forward(float *ctx, float *probs, uint8_t *keep, const float *qkv, const float *mask,
                          int B, int T, int NH, int D, float p, sm_rng *rng, float *scratch)
{
    const int H = NH * D, H3 = 3 * H;
    const float scale = 1.0f / sqrtf((float)D);
    const size_t TT = (size_t)T * T;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * H3 + (size_t)h * D;
            const float *k = q + H, *v = q + 2 * H;
            float *s = probs + ((size_t)b * NH + h) * TT;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, q, H3, k, H3, 0.0f, s, T);
            sm_softmax_forward(s, s, mask + (size_t)b * T, T, T);
            const float *pd = s;
            if (keep) {
                uint8_t *kb = keep + ((size_t)b * NH + h) * TT;
                sm_dropout_mask(kb, TT, p, rng);
                memcpy(scratch, s, TT * sizeof(float));
                sm_dropout_apply(scratch, kb, TT, p);
                pd = scratch;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, pd, T, v, H3, 0.0f,
                        ctx + (size_t)b * T * H + (size_t)h * D, H);
        }
    }
}

void sm_attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *probs,
                           const uint8_t *keep, int B, int T, int NH, int D, float p, float *scratch)
{
    const int H = NH * D, H3 = 3 * H;
    const float scale = 1.0f / sqrtf((float)D);
    const size_t TT = (size_t)T * T;
    float *pd_buf = scratch, *dp = scratch + TT;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const size_t qo = (size_t)b * T * H3 + (size_t)h * D;
            const float *q = qkv + qo, *k = q + H, *v = q + 2 * H;
            float *dq = dqkv + qo, *dk = dq + H, *dv = dq + 2 * H;
            const float *dc = dctx + (size_t)b * T * H + (size_t)h * D;
            const float *pr = probs + ((size_t)b * NH + h) * TT;
            const uint8_t *kb = keep ? keep + ((size_t)b * NH + h) * TT : NULL;
            const float *pd = pr;
            if (kb) {
                memcpy(pd_buf, pr, TT * sizeof(float));
                sm_dropout_apply(pd_buf, kb, TT, p);
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
