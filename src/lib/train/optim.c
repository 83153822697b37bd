/* optim.c: AdamW and Adamax updates as torch.optim computes them, transformers' warm-up schedules,
 * global-norm clipping as torch.nn.utils.clip_grad_norm_, and non-finite detection. Operates on flat
 * float arenas; which elements decay is given by segments, never by knowledge of the model. */
#include "smartty/optim.h"

#include "lib/core/ops.h" /* SM_KERNEL */

#include <math.h>
#include <stdlib.h>
#include <string.h>

sm_status sm_optim_init(sm_optim *o, size_t n, const sm_param_segment *segs, size_t nsegs, sm_error *e)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].offset > n || segs[i].count > n - segs[i].offset)
            return sm_err(e, SM_ERR_INVALID,
                          "optimizer segment %zu [%zu, +%zu) lies outside the arena of %zu elements", i,
                          segs[i].offset, segs[i].count, n);
    o->n = n;
    o->m = sm_alloc_floats(n ? n : 1, e, "optimizer first moments");
    o->v = o->m ? sm_alloc_floats(n ? n : 1, e, "optimizer second moments") : NULL;
    o->segs = o->v ? sm_calloc(nsegs ? nsegs : 1, sizeof *segs, e, "optimizer segments") : NULL;
    if (!o->segs) {
        sm_optim_free(o);
        return e ? e->status : SM_ERR_NOMEM;
    }
    if (nsegs)
        memcpy(o->segs, segs, nsegs * sizeof *segs);
    o->nsegs = nsegs;
    return SM_OK;
}

void sm_optim_free(sm_optim *o)
{
    sm_free_aligned(o->m);
    sm_free_aligned(o->v);
    free(o->segs);
    memset(o, 0, sizeof *o);
}

void sm_optim_reset(sm_optim *o)
{
    if (o->n) {
        memset(o->m, 0, o->n * sizeof *o->m);
        memset(o->v, 0, o->n * sizeof *o->v);
    }
    o->t = 0;
}

/* AdamW on one segment, following torch's single-tensor implementation:
 *   w *= 1 - lr*wd; m = m + (1-b1)(g - m) (lerp); v = b2 v + (1-b2) g^2;
 *   w -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps). */
SM_KERNEL static void adamw_segment(float *restrict w, const float *restrict g, float *restrict m,
                          float *restrict v, size_t n, float lr, float decay, float b1, float b2,
                          float step_size, float bc2_sqrt, float eps)
{
    float keep = 1.0f - lr * decay;
    for (size_t i = 0; i < n; i++) {
        float wi = decay != 0.0f ? w[i] * keep : w[i];
        float gi = g[i];
        float mi = m[i] + (1.0f - b1) * (gi - m[i]);
        float vi = v[i] * b2 + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

/* Adamax on one segment (torch.optim.Adamax, with decoupled decay):
 *   w *= 1 - lr*wd; m = m + (1-b1)(g - m); u = max(b2 u, |g| + eps); w -= (lr / (1-b1^t)) m / u. */
SM_KERNEL static void adamax_segment(float *restrict w, const float *restrict g, float *restrict m,
                           float *restrict u, size_t n, float lr, float decay, float b1, float b2,
                           float clr, float eps)
{
    float keep = 1.0f - lr * decay;
    for (size_t i = 0; i < n; i++) {
        float wi = decay != 0.0f ? w[i] * keep : w[i];
        float gi = g[i];
        float mi = m[i] + (1.0f - b1) * (gi - m[i]);
        float a = u[i] * b2, b = fabsf(gi) + eps;
        float ui = a > b ? a : b;
        m[i] = mi;
        u[i] = ui;
        w[i] = wi - clr * (mi / ui);
    }
}

/* The flat passes run in parts of whole chunks, so that a chunk's work never depends on how the
 * arena was split among threads: every result is the same for 1 thread or many. */
#define OPTIM_CHUNK ((size_t)1 << 14)

typedef struct optim_job {
    const sm_optim *o;
    const sm_optim_params *p;
    float *w;
    const float *g;
    float *gscaled; /* g itself, scaled in place by gscale first; NULL: g is only read (gscale 1) */
    float gscale;
    float lr, b1, b2, eps, clr, bc2_sqrt;
} optim_job;

/* one chunk range [b, e) of the arena: the parts of every segment that fall inside it */
static void optim_part(void *ctx, int part, size_t b, size_t e)
{
    (void)part;
    const optim_job *j = ctx;
    const sm_optim *o = j->o;
    for (size_t s = 0; s < o->nsegs; s++) {
        const sm_param_segment *sg = &o->segs[s];
        size_t lo = sg->offset > b ? sg->offset : b;
        size_t hi = sg->offset + sg->count < e ? sg->offset + sg->count : e;
        if (lo >= hi)
            continue;
        if (j->gscaled)
            for (size_t i = lo; i < hi; i++)
                j->gscaled[i] *= j->gscale;
        float decay = sg->decay ? (float)j->p->weight_decay : 0.0f;
        if (j->p->kind == SM_OPTIM_ADAMAX)
            adamax_segment(j->w + lo, j->g + lo, o->m + lo, o->v + lo, hi - lo, j->lr, decay, j->b1, j->b2,
                           j->clr, j->eps);
        else
            adamw_segment(j->w + lo, j->g + lo, o->m + lo, o->v + lo, hi - lo, j->lr, decay, j->b1, j->b2,
                          j->clr, j->bc2_sqrt, j->eps);
    }
}

static void optim_run(sm_optim *o, const sm_optim_params *p, float *w, const float *g, float *gscaled,
                      double gscale, const sm_par *par)
{
    o->t++;
    double t = (double)o->t;
    double bc1 = 1.0 - pow(p->beta1, t), bc2 = 1.0 - pow(p->beta2, t);
    optim_job j = {o, p, w, g, gscaled, (float)gscale, (float)p->lr, (float)p->beta1, (float)p->beta2,
                   (float)p->eps, (float)(p->lr / bc1), (float)sqrt(bc2)};
    sm_par_for(par, o->n, OPTIM_CHUNK, optim_part, &j);
}

void sm_optim_step_par(sm_optim *o, const sm_optim_params *p, float *w, float *g, double gscale,
                       const sm_par *par)
{
    optim_run(o, p, w, g, (float)gscale != 1.0f ? g : NULL, gscale, par);
}

void sm_optim_step(sm_optim *o, const sm_optim_params *p, float *w, const float *g)
{
    optim_run(o, p, w, g, NULL, 1.0, NULL);
}

double sm_lr_factor(sm_lr_schedule s, int64_t step, int64_t warmup_steps, int64_t total_steps)
{
    if (step < 0)
        step = 0;
    if (step < warmup_steps)
        return (double)step / (double)(warmup_steps > 1 ? warmup_steps : 1);
    if (s == SM_LR_CONSTANT)
        return 1.0;
    int64_t span = total_steps - warmup_steps;
    double f = (double)(total_steps - step) / (double)(span > 1 ? span : 1);
    return f > 0.0 ? f : 0.0;
}

int64_t sm_warmup_steps(double fraction, int64_t total_steps)
{
    if (!(fraction > 0.0) || total_steps <= 0)
        return 0;
    return (int64_t)ceil(fraction * (double)total_steps);
}

/* Sum of squares of one chunk in eight partial sums (vectorisable; no chain of dependent additions). */
SM_KERNEL static double chunk_sumsq(const float *g, size_t n)
{
    double s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += (double)g[i + (size_t)k] * (double)g[i + (size_t)k];
    for (; i < n; i++)
        s[0] += (double)g[i] * (double)g[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

typedef struct norm_job {
    const float *g;
    size_t n;
    double *partial; /* [chunks] */
} norm_job;

static void norm_part(void *ctx, int part, size_t b, size_t e)
{
    (void)part;
    const norm_job *j = ctx;
    for (size_t c = b; c < e; c++) {
        size_t lo = c * OPTIM_CHUNK, hi = lo + OPTIM_CHUNK < j->n ? lo + OPTIM_CHUNK : j->n;
        j->partial[c] = chunk_sumsq(j->g + lo, hi - lo);
    }
}

double sm_grad_norm_par(const float *g, size_t n, const sm_par *par)
{
    /* per-chunk sums, then added in chunk order: the same result for any number of threads */
    size_t chunks = (n + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    double local[64];
    double *partial = chunks <= 64 ? local : malloc(chunks * sizeof *partial);
    norm_job j = {g, n, partial};
    double s = 0.0;
    if (!partial) { /* out of memory: the same sums, one chunk at a time */
        for (size_t c = 0; c < chunks; c++) {
            size_t lo = c * OPTIM_CHUNK, hi = lo + OPTIM_CHUNK < n ? lo + OPTIM_CHUNK : n;
            s += chunk_sumsq(g + lo, hi - lo);
        }
        return sqrt(s);
    }
    sm_par_for(par, chunks, 1, norm_part, &j);
    for (size_t c = 0; c < chunks; c++)
        s += partial[c];
    if (partial != local)
        free(partial);
    return sqrt(s);
}

double sm_grad_norm(const float *g, size_t n) { return sm_grad_norm_par(g, n, NULL); }

double sm_clip_coef(double norm, double max_norm)
{
    if (!(max_norm > 0.0) || !isfinite(norm))
        return 1.0;
    double coef = max_norm / (norm + 1e-6);
    return coef < 1.0 ? (double)(float)coef : 1.0;
}

void sm_clip_grad_scaled(float *g, size_t n, double norm, double max_norm)
{
    double coef = sm_clip_coef(norm, max_norm);
    if (coef < 1.0) {
        float c = (float)coef;
        for (size_t i = 0; i < n; i++)
            g[i] *= c;
    }
}

double sm_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double norm = sm_grad_norm(g, n);
    sm_clip_grad_scaled(g, n, norm, max_norm);
    return norm;
}

int sm_all_finite(const float *x, size_t n)
{
    /* x * 0 is 0 for finite x and NaN for NaN or infinity; the sum keeps a NaN once there. */
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * 0.0f;
    return acc == 0.0f;
}
