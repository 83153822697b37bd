/* smart.c: SMART's arithmetic (SMART.md): ell_s (symmetric KL from log-softmax, or the squared
 * difference) with its gradients, the random start and ascent steps of the perturbation, and the mean
 * teacher's update and momentum schedule. The training step that runs the model is in trainer.c. */
#include "smartty/smart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log-softmax of z [C] into out [C], in double. */
static void log_softmax(const float *z, int C, double *out)
{
    double mx = z[0];
    for (int c = 1; c < C; c++)
        if (z[c] > mx)
            mx = z[c];
    double s = 0.0;
    for (int c = 0; c < C; c++)
        s += exp((double)z[c] - mx);
    double lse = mx + log(s);
    for (int c = 0; c < C; c++)
        out[c] = (double)z[c] - lse;
}

/* With P = softmax(p), Q = softmax(q) and r = log P - log Q:
 *   S = KL(P||Q) + KL(Q||P) = sum_c (P_c - Q_c) r_c,
 *   dS/dp_j = P_j (r_j - sum_c P_c r_c) + P_j - Q_j,
 *   dS/dq_j = Q_j (sum_c Q_c r_c - r_j) + Q_j - P_j. */
double sm_symkl(const float *p, const float *q, int B, int C, float *dp, float *dq, double scale)
{
    if (B <= 0 || C <= 0)
        return 0.0;
    double lpbuf[64], lqbuf[64];
    double *lp = lpbuf, *lq = lqbuf;
    double *heap = NULL;
    if (C > 64) {
        heap = sm_malloc(2 * (size_t)C * sizeof *heap, NULL, "symmetric KL");
        if (!heap)
            return NAN;
        lp = heap;
        lq = heap + C;
    }
    double total = 0.0, g = scale / B;
    for (int b = 0; b < B; b++) {
        const float *pb = p + (size_t)b * (size_t)C, *qb = q + (size_t)b * (size_t)C;
        log_softmax(pb, C, lp);
        log_softmax(qb, C, lq);
        double s = 0.0, ep = 0.0, eq = 0.0;
        for (int c = 0; c < C; c++) {
            double P = exp(lp[c]), Q = exp(lq[c]), r = lp[c] - lq[c];
            s += (P - Q) * r;
            ep += P * r;
            eq += Q * r;
        }
        total += s;
        for (int c = 0; c < C && (dp || dq); c++) {
            double P = exp(lp[c]), Q = exp(lq[c]), r = lp[c] - lq[c];
            if (dp)
                dp[(size_t)b * (size_t)C + (size_t)c] += (float)(g * (P * (r - ep) + P - Q));
            if (dq)
                dq[(size_t)b * (size_t)C + (size_t)c] += (float)(g * (Q * (eq - r) + Q - P));
        }
    }
    free(heap);
    return total / B;
}

double sm_sqdiff(const float *a, const float *b, int B, float *da, float *db, double scale)
{
    if (B <= 0)
        return 0.0;
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        double d = (double)a[i] - (double)b[i];
        total += d * d;
        if (da)
            da[i] += (float)(scale * 2.0 * d / B);
        if (db)
            db[i] -= (float)(scale * 2.0 * d / B);
    }
    return total / B;
}

double sm_ell_s(const float *p, const float *q, int B, int C, float *dp, float *dq, double scale)
{
    return C == 1 ? sm_sqdiff(p, q, B, dp, dq, scale) : sm_symkl(p, q, B, C, dp, dq, scale);
}

void sm_delta_init(float *delta, const float *mask, int B, int T, int H, double sigma, sm_rng *rng)
{
    for (size_t bt = 0; bt < (size_t)B * (size_t)T; bt++) {
        float *d = delta + bt * (size_t)H;
        if (mask[bt] == 0.0f) {
            memset(d, 0, (size_t)H * sizeof *d);
            continue;
        }
        for (int h = 0; h < H; h++)
            d[h] = (float)(sigma * sm_rng_normal(rng));
    }
}

static void mask_rows(float *x, const float *mask, size_t rows, int H)
{
    for (size_t r = 0; r < rows; r++)
        if (mask[r] == 0.0f)
            memset(x + r * (size_t)H, 0, (size_t)H * sizeof *x);
}

sm_status sm_delta_ascent(float *delta, float *g, const float *mask, int B, int T, int H,
                          sm_adv_norm norm, double eta, double eps)
{
    size_t TH = (size_t)T * (size_t)H, n = (size_t)B * TH;
    mask_rows(g, mask, (size_t)B * (size_t)T, H);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(g[i]))
            return SM_ERR_NONFINITE;
    float fe = (float)eps;
    for (int b = 0; b < B; b++) {
        float *d = delta + (size_t)b * TH, *gb = g + (size_t)b * TH;
        if (norm == SM_ADV_TOKEN) {
            for (int t = 0; t < T; t++) {
                float *dt = d + (size_t)t * (size_t)H;
                const float *gt = gb + (size_t)t * (size_t)H;
                double mx = 0.0;
                for (int h = 0; h < H; h++) {
                    dt[h] = (float)((double)dt[h] + eta * gt[h]);
                    double a = fabs(dt[h]);
                    if (a > mx)
                        mx = a;
                }
                double inv = 1.0 / (mx + 1e-6);
                for (int h = 0; h < H; h++)
                    dt[h] = (float)(dt[h] * inv);
            }
        } else if (norm == SM_ADV_L2) {
            double s = 0.0;
            for (size_t i = 0; i < TH; i++)
                s += (double)gb[i] * gb[i];
            double gn = sqrt(s);
            if (gn > 0.0 && isfinite(gn))
                for (size_t i = 0; i < TH; i++)
                    d[i] = (float)((double)d[i] + eta * (gb[i] / gn));
            s = 0.0;
            for (size_t i = 0; i < TH; i++)
                s += (double)d[i] * d[i];
            double dn = sqrt(s);
            if (dn > eps) {
                double k = dn > 0.0 ? eps / dn : 0.0;
                for (size_t i = 0; i < TH; i++)
                    d[i] = (float)(d[i] * k);
            }
        } else {
            double gm = 0.0;
            for (size_t i = 0; i < TH; i++) {
                double a = fabs(gb[i]);
                if (a > gm)
                    gm = a;
            }
            if (gm > 0.0)
                for (size_t i = 0; i < TH; i++)
                    d[i] = (float)((double)d[i] + eta * (gb[i] / gm));
            for (size_t i = 0; i < TH; i++)
                d[i] = d[i] > fe ? fe : (d[i] < -fe ? -fe : d[i]);
        }
    }
    mask_rows(delta, mask, (size_t)B * (size_t)T, H);
    return SM_OK;
}

double sm_delta_norm(const float *delta, const float *mask, int B, int T, int H, sm_adv_norm norm)
{
    if (B <= 0)
        return 0.0;
    size_t TH = (size_t)T * (size_t)H;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *d = delta + (size_t)b * TH;
        if (norm == SM_ADV_TOKEN) {
            double s = 0.0;
            int real = 0;
            for (int t = 0; t < T; t++) {
                if (mask[(size_t)b * (size_t)T + (size_t)t] == 0.0f)
                    continue;
                double mx = 0.0;
                for (int h = 0; h < H; h++)
                    mx = fmax(mx, fabs(d[(size_t)t * (size_t)H + (size_t)h]));
                s += mx;
                real++;
            }
            total += real ? s / real : 0.0;
        } else if (norm == SM_ADV_L2) {
            double s = 0.0;
            for (size_t i = 0; i < TH; i++)
                s += (double)d[i] * d[i];
            total += sqrt(s);
        } else {
            double mx = 0.0;
            for (size_t i = 0; i < TH; i++)
                mx = fmax(mx, fabs(d[i]));
            total += mx;
        }
    }
    return total / B;
}

typedef struct teacher_job {
    float *teacher;
    const float *w;
    double beta;
} teacher_job;

static void teacher_part(void *ctx, int part, size_t b, size_t e)
{
    (void)part;
    const teacher_job *j = ctx;
    const double beta = j->beta, a = 1.0 - beta;
    for (size_t i = b; i < e; i++)
        j->teacher[i] = (float)(beta * j->teacher[i] + a * j->w[i]);
}

void sm_teacher_update_par(float *teacher, const float *w, size_t n, double beta, const sm_par *par)
{
    teacher_job j = {teacher, w, beta};
    sm_par_for(par, n, (size_t)1 << 14, teacher_part, &j);
}

void sm_teacher_update(float *teacher, const float *w, size_t n, double beta)
{
    sm_teacher_update_par(teacher, w, n, beta, NULL);
}

double sm_teacher_beta(const sm_hparams *hp, int64_t step, int64_t planned)
{
    double beta = hp->v[SM_HP_BETA];
    if ((int)hp->v[SM_HP_BETA_SCHEDULE] != 0) /* constant */
        return beta;
    int64_t sw = (int64_t)floor(hp->v[SM_HP_BETA_SWITCH] * (double)(planned > 0 ? planned : 0));
    return step <= sw ? beta : hp->v[SM_HP_BETA_LATE];
}
