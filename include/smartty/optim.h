/* optim.h: the optimizers (AdamW, Adamax), the learning-rate schedule, global-norm gradient clipping
 * and non-finite detection, on flat float arenas laid out like the model's weights. Knows nothing of
 * the model beyond a list of segments saying which elements take weight decay. */
#ifndef SMARTTY_OPTIM_H
#define SMARTTY_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

/* Order matches the choices of SM_HP_OPTIMIZER ("adamw", "adamax"). */
typedef enum sm_optim_kind { SM_OPTIM_ADAMW = 0, SM_OPTIM_ADAMAX = 1 } sm_optim_kind;
/* Order matches the choices of SM_HP_SCHEDULE ("linear", "constant"). */
typedef enum sm_lr_schedule { SM_LR_LINEAR = 0, SM_LR_CONSTANT = 1 } sm_lr_schedule;

/* A run of elements of the arena that share a decay flag (one model tensor, typically). */
typedef struct sm_param_segment {
    size_t offset; /* first element in the arena */
    size_t count;  /* elements */
    int decay;     /* 1: weight decay applies; 0: biases and LayerNorm */
} sm_param_segment;

typedef struct sm_optim_params {
    sm_optim_kind kind;
    double lr;           /* the learning rate of this step (schedule already applied) */
    double beta1, beta2;
    double eps;
    double weight_decay; /* decoupled: w -= lr * weight_decay * w, on decay segments only */
} sm_optim_params;

/* The optimizer's whole state is plain data a checkpoint can save: m and v have the layout of the
 * weight arena, t counts the steps taken. */
typedef struct sm_optim {
    size_t n;                /* elements in the arena */
    float *m;                /* [n] first moment (exp_avg) */
    float *v;                /* [n] AdamW: second moment (exp_avg_sq); Adamax: infinity norm (exp_inf) */
    int64_t t;               /* optimizer steps taken (bias correction uses t after increment) */
    sm_param_segment *segs;  /* [nsegs] owned copy; elements outside every segment are not updated */
    size_t nsegs;
} sm_optim;

/* Allocate zeroed moments for an arena of n elements; segs is copied. */
sm_status sm_optim_init(sm_optim *o, size_t n, const sm_param_segment *segs, size_t nsegs, sm_error *e);
void sm_optim_free(sm_optim *o);
/* Zero the moments and the step count. */
void sm_optim_reset(sm_optim *o);

/* One update of w [n] with gradient g [n], exactly as torch.optim.AdamW (bias-corrected moments,
 * decoupled decay) or torch.optim.Adamax (u = max(beta2 * u, |g| + eps), lr / (1 - beta1^t)) except
 * that Adamax's weight decay is also decoupled (as mt-dnn's Adamax and BertAdam do), not added to g. */
void sm_optim_step(sm_optim *o, const sm_optim_params *p, float *w, const float *g);
/* The same update with the clipping folded in: g is first scaled in place by gscale (when not 1:
 * sm_clip_coef), and the arena is split over par's threads in fixed chunks, so that the result is
 * bit-identical to sm_clip_grad_scaled + sm_optim_step for any number of threads. */
void sm_optim_step_par(sm_optim *o, const sm_optim_params *p, float *w, float *g, double gscale,
                       const sm_par *par);

/* transformers' get_linear_schedule_with_warmup / get_constant_schedule_with_warmup: the factor for
 * the optimizer step numbered `step` (0-based: the first update uses step 0, so a warm-up starts at
 * 0). linear: step/warmup during warm-up, then (total - step)/(total - warmup), never below 0;
 * constant: 1 after warm-up. */
double sm_lr_factor(sm_lr_schedule s, int64_t step, int64_t warmup_steps, int64_t total_steps);
/* Warm-up steps from a fraction of the planned steps: ceil(fraction * total) as transformers' Trainer. */
int64_t sm_warmup_steps(double fraction, int64_t total_steps);

/* Euclidean norm of g [n], accumulated in double; NaN or infinity when some element is not finite. */
double sm_grad_norm(const float *g, size_t n);
/* The same norm with the chunks' sums spread over par's threads (bit-identical to sm_grad_norm). */
double sm_grad_norm_par(const float *g, size_t n, const sm_par *par);
/* The factor torch's clip_grad_norm_ multiplies the gradient by, as a float: min(1, max / (norm +
 * 1e-6)); 1 when max_norm <= 0 (clipping off) or the norm is not finite. */
double sm_clip_coef(double norm, double max_norm);
/* torch.nn.utils.clip_grad_norm_: with norm = sm_grad_norm(g) and max_norm > 0, scale g by
 * min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping. max_norm <= 0: no clipping. */
double sm_clip_grad_norm(float *g, size_t n, double max_norm);
/* The same scaling given the norm already computed by sm_grad_norm (one pass over g instead of two). */
void sm_clip_grad_scaled(float *g, size_t n, double norm, double max_norm);
/* 1 when every element of x [n] is finite. */
int sm_all_finite(const float *x, size_t n);

#endif
