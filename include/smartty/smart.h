/* smart.h: SMART fine-tuning (SMART.md): the symmetric KL / squared-difference ell_s with gradients,
 * the adversarial perturbation, the mean teacher, and the training step split into compute and apply
 * so a caller can stop between them. No threads, no I/O: the session drives it and saves its state. */
#ifndef SMARTTY_SMART_H
#define SMARTTY_SMART_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/batch.h"
#include "smartty/common.h"
#include "smartty/hparams.h"
#include "smartty/metrics.h"
#include "smartty/optim.h"
#include "smartty/record.h"

struct sm_model;

/* ---- ell_s ------------------------------------------------------------------------------------ */

/* Symmetric KL between the softmaxes of logits p [B, C] and q [B, C], from log-softmax:
 * returns mean_b (KL(P_b||Q_b) + KL(Q_b||P_b)). When dp (dq) is not NULL, adds scale * d result /
 * d p (d q) into it ([B, C], accumulated, the 1/B of the mean included). */
double sm_symkl(const float *p, const float *q, int B, int C, float *dp, float *dq, double scale);
/* Regression: mean_b (a_b - b_b)^2 for a, b [B]; gradients accumulated as in sm_symkl. */
double sm_sqdiff(const float *a, const float *b, int B, float *da, float *db, double scale);
/* ell_s for a task: sm_symkl when C > 1 (classification), sm_sqdiff when C == 1 (regression). */
double sm_ell_s(const float *p, const float *q, int B, int C, float *dp, float *dq, double scale);

/* ---- the perturbation ---------------------------------------------------------------------- */

/* Order matches the choices of SM_HP_ADV_NORM ("example", "token", "l2"). */
typedef enum sm_adv_norm { SM_ADV_EXAMPLE = 0, SM_ADV_TOKEN = 1, SM_ADV_L2 = 2 } sm_adv_norm;

/* Random start: delta [B, T, H] = N(0, sigma^2) element-wise on real tokens, 0 where mask [B, T] is 0. */
void sm_delta_init(float *delta, const float *mask, int B, int T, int H, double sigma, sm_rng *rng);
/* One ascent step on delta [B, T, H] with g = d ell_s / d delta [B, T, H] (g is masked in place):
 * example: delta = clamp(delta + eta * g / max|g_b|, -eps, eps) per example b;
 * token:   d = delta + eta * g, delta = d / (max_h |d| + 1e-6) per token (eps unused);
 * l2:      delta = P_eps(delta + eta * g / ||g_b||_2), projection on the l2 ball of radius eps.
 * A zero g leaves the example's delta as it was (projected); delta is 0 on padding afterwards.
 * Returns SM_ERR_NONFINITE (delta untouched) when some element of g is not finite. */
sm_status sm_delta_ascent(float *delta, float *g, const float *mask, int B, int T, int H,
                          sm_adv_norm norm, double eta, double eps);
/* Mean over examples of delta's norm at its granularity: example -> max |delta_b|, l2 ->
 * ||delta_b||_2, token -> the mean over real tokens of max_h |delta_bt|. */
double sm_delta_norm(const float *delta, const float *mask, int B, int T, int H, sm_adv_norm norm);

/* ---- the mean teacher -------------------------------------------------------------------- */

/* teacher [n] = beta * teacher + (1 - beta) * w [n] (in double, rounded once to float). */
void sm_teacher_update(float *teacher, const float *w, size_t n, double beta);
/* beta for the optimizer step numbered `step` (1-based) of `planned` steps: under beta_schedule
 * "paper", hp beta while step <= floor(beta_switch * planned), then beta_late; "constant": beta. */
double sm_teacher_beta(const sm_hparams *hp, int64_t step, int64_t planned);

/* ---- the trainer --------------------------------------------------------------------------- */

/* Everything that must survive a save/load to reproduce the run bit for bit, as plain data (the
 * weights, optimizer moments and teacher weights are arenas reached from sm_trainer). Random streams
 * are derived from `rng` and the step number for every pass, so `rng` itself never advances. */
typedef struct sm_train_state {
    int64_t step;          /* optimizer steps applied so far */
    int64_t planned;       /* planned steps (schedule, warm-up and beta switch) */
    int64_t skipped;       /* updates skipped because of a non-finite loss or gradient */
    int64_t rs_skipped;    /* batches whose R_s was skipped (non-finite ascent gradient) */
    sm_rng rng;            /* base of every per-step stream (dropout per pass, random start) */
    int teacher_ready;     /* 1 once the teacher arena holds a copy of theta */
} sm_train_state;

typedef enum sm_step_phase { SM_PHASE_IDLE = 0, SM_PHASE_COMPUTED } sm_step_phase;

typedef struct sm_trainer {
    struct sm_model *model; /* not owned: weights, gradients, workspaces */
    sm_hparams hp;          /* values in force; the caller may change them between steps */
    sm_optim opt;           /* moments laid out like the model's weights */
    float *teacher;         /* [n_params] teacher weights (a copy, never an alias); NULL if never needed */
    size_t n_params;
    sm_train_state st;
    sm_step_phase phase;    /* COMPUTED between sm_trainer_compute and sm_trainer_apply */
    sm_step_record pending; /* the record of the computed, not yet applied step */
    /* workspaces, grown on demand */
    float *delta;           /* [B, T, H] perturbation */
    float *gdelta;          /* [B, T, H] d ell_s / d delta (probe) */
    float *dx;              /* [B, T, H] d loss / d encoder input, summed over branches */
    float *clean_logits;    /* [B, C] */
    float *adv_logits;      /* [B, C] */
    float *teacher_logits;  /* [B, C] */
    float *dlogits;         /* [B, C] */
    float *dadv;            /* [B, C] */
    size_t cap_x, cap_l;
} sm_trainer;

/* Bind a trainer to a model: copies hp, allocates the optimizer state, seeds st.rng from hp seed and
 * copies theta into the teacher (when mu may become > 0 the teacher is needed: it is always made, so
 * that a live change of mu finds it ready). planned: total optimizer steps of the run. */
sm_status sm_trainer_init(sm_trainer *t, struct sm_model *m, const sm_hparams *hp, int64_t planned,
                          sm_error *e);
void sm_trainer_free(sm_trainer *t);
/* Change the hyperparameters between steps (checked: SM_ERR_STATE between compute and apply). */
sm_status sm_trainer_set_hparams(sm_trainer *t, const sm_hparams *hp, sm_error *e);

/* (a) Zero gradients, run every pass the weights call for (clean, probe and adversarial when
 * lambda_s > 0, teacher when mu > 0), accumulate the parameter gradients of the total loss and fill
 * *rec (also kept in t->pending). Nothing is changed in the weights. */
sm_status sm_trainer_compute(sm_trainer *t, const sm_batch *b, sm_step_record *rec, sm_error *e);
/* (b) If loss and gradients are finite: clip, optimizer step, teacher EMA, step += 1; otherwise skip
 * the update and mark rec->skipped. rec (may be NULL) receives the final record. */
sm_status sm_trainer_apply(sm_trainer *t, sm_step_record *rec, sm_error *e);
/* compute then apply. */
sm_status sm_trainer_step(sm_trainer *t, const sm_batch *b, sm_step_record *rec, sm_error *e);
/* The learning rate the next step will use. */
double sm_trainer_lr(const sm_trainer *t);

/* Evaluation: forward b in eval mode (no dropout, no gradients) and add its predictions to acc. */
sm_status sm_trainer_eval_batch(sm_trainer *t, const sm_batch *b, sm_eval_acc *acc, sm_error *e);

#endif
