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

struct sm_bert;
struct sm_bert_acts;
struct sm_dataset;

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
/* The same over par's threads (elementwise: bit-identical for any number of threads). */
void sm_teacher_update_par(float *teacher, const float *w, size_t n, double beta, const sm_par *par);
/* beta for the optimizer step numbered `step` (1-based) of `planned` steps: under beta_schedule
 * "paper", hp beta while step <= floor(beta_switch * planned), then beta_late; "constant": beta. */
double sm_teacher_beta(const sm_hparams *hp, int64_t step, int64_t planned);

/* ---- the trainer --------------------------------------------------------------------------- */

/* Random streams: every pass of every step draws from its own stream, derived from st.rng (which
 * never advances) and (step, pass), so a pass's dropout masks do not depend on which other passes
 * ran, and a save/load between steps reproduces every later draw. */
enum {
    SM_STREAM_CLEAN = 0, /* clean forward (embedding and encoder dropout) */
    SM_STREAM_START = 1, /* random start of delta */
    SM_STREAM_ADV = 2,   /* adversarial forward */
    SM_STREAM_PROBE = 3  /* + k: forward of ascent step k */
};
/* The stream of pass `pass` at optimizer step `step` (0-based: the step about to be computed). */
void sm_train_stream(const sm_rng *base, int64_t step, unsigned pass, sm_rng *out);

/* Everything besides the arenas that must survive a save/load to reproduce the run bit for bit, as
 * plain data (the weights, optimizer moments and teacher weights are arenas reached from sm_trainer). */
typedef struct sm_train_state {
    int64_t step;          /* optimizer steps applied so far */
    int64_t planned;       /* planned steps (schedule, warm-up and beta switch) */
    int64_t skipped;       /* updates skipped because of a non-finite loss or gradient */
    int64_t rs_skipped;    /* batches whose R_s was skipped (non-finite ascent gradient) */
    sm_rng rng;            /* base of every per-step stream; seeded from hp seed, never advanced */
} sm_train_state;

typedef enum sm_step_phase { SM_PHASE_IDLE = 0, SM_PHASE_COMPUTED } sm_step_phase;

/* A SMART step's memory at most 1.6 x a vanilla step's (issue 16), by default. */
#define SM_SMART_MEMORY 1.6

typedef struct sm_trainer {
    struct sm_bert *model;  /* not owned: weights, gradients */
    sm_hparams hp;          /* values in force; change them with sm_trainer_set_hparams */
    sm_optim opt;           /* moments laid out like the model's weights (opt.t: optimizer steps) */
    float *teacher;         /* [n_params] teacher weights (a copy, never an alias), NULL until mu > 0 */
    size_t n_params;
    int num_labels;         /* C; 1 = regression */
    int hidden;             /* H */
    sm_train_state st;
    sm_step_phase phase;    /* COMPUTED between sm_trainer_compute and sm_trainer_apply */
    sm_step_record pending; /* the record of the computed, not yet applied step */
    int64_t pending_tokens; /* real tokens of the pending step's batch */
    /* workspaces, made for cap_B x cap_T and remade larger on demand */
    struct sm_bert_acts *clean_ws, *adv_ws, *infer_ws;
    int shared_layers;      /* clean_ws's top layers that are adv_ws's buffers (recomputed before the
                               clean backward; sm_bert_acts_create_sharing) */
    double smart_memory;    /* the fewest shared layers that keep a SMART step within this many times a
                               vanilla step's memory (SM_SMART_MEMORY; read when the workspaces are made) */
    int cap_B, cap_T;
    float *delta;           /* [B, T, H] perturbation */
    float *gdelta;          /* [B, T, H] d ell_s / d delta (probe) */
    float *dx;              /* [B, T, H] d loss / d encoder input, clean branch (then the sum) */
    float *dx_adv;          /* [B, T, H] d loss / d encoder input, adversarial branch: the same
                               buffer as gdelta (the probe is done before the adversarial backward) */
    float *clean_logits;    /* [B, C] */
    float *teacher_logits;  /* [B, C] the teacher's logits on this batch (D_Breg) */
    float *dclean;          /* [B, C] d loss / d clean logits */
    float *dadv;            /* [B, C] d loss / d adversarial logits */
} sm_trainer;

/* Saving and restoring (what a checkpoint holds besides the model's weights and hp):
 *   save:    t->opt.m, t->opt.v ([n_params] each), t->opt.t, t->teacher ([n_params], when not NULL),
 *            t->st (plain data, sm_rng included);
 *   restore: sm_trainer_init(t, m, hp, planned) on the loaded weights, copy m, v and t into t->opt,
 *            sm_trainer_teacher_alloc then copy the teacher (if saved), then t->st = saved st.
 * The next step then reproduces the uninterrupted run bit for bit (tests/check_smart.c, P10). */

/* Bind a trainer to a model (which must have a gradient arena): copies hp, allocates the optimizer
 * state, seeds st.rng from hp seed, copies theta into the teacher when mu > 0. planned: total
 * optimizer steps of the run (schedule, warm-up, beta switch). */
sm_status sm_trainer_init(sm_trainer *t, struct sm_bert *m, const sm_hparams *hp, int64_t planned,
                          sm_error *e);
void sm_trainer_free(sm_trainer *t);
/* Bring a trainer made by sm_trainer_init back to what init would give for hp and planned, on the
 * same model (t->model, whose arenas must be the ones init saw), reusing its arenas where their sizes
 * allow (otherwise it is freed and made again). On failure the trainer is freed. */
sm_status sm_trainer_reinit(sm_trainer *t, const sm_hparams *hp, int64_t planned, sm_error *e);
/* Change the hyperparameters between steps (SM_ERR_STATE between compute and apply). Turning mu on
 * for the first time copies the current theta into the teacher. seed and optimizer are not live:
 * a change of either is refused (SM_ERR_STATE) once a step has been applied. */
sm_status sm_trainer_set_hparams(sm_trainer *t, const sm_hparams *hp, sm_error *e);
/* Change the planned number of steps (schedule and beta switch follow). */
void sm_trainer_set_planned(sm_trainer *t, int64_t planned);
/* Allocate the teacher arena (when restoring a checkpoint that has one); contents are the caller's. */
sm_status sm_trainer_teacher_alloc(sm_trainer *t, sm_error *e);

/* The perturbation the next step would use, left in t->delta [B, T, H] (also for display): the clean
 * forward with the step's own streams, the random start and the ascent. Touches no parameter
 * gradient. SM_ERR_NONFINITE when an ascent gradient is not finite. */
sm_status sm_trainer_perturb(sm_trainer *t, const sm_batch *b, sm_error *e);

/* (a) Zero gradients, run every pass the weights call for (clean; probe and adversarial when
 * lambda_s > 0; teacher when mu > 0), accumulate the parameter gradients of the total loss and fill
 * *rec (may be NULL; also kept in t->pending). The weights are not changed. */
sm_status sm_trainer_compute(sm_trainer *t, const sm_batch *b, int epoch, sm_step_record *rec,
                             sm_error *e);
/* (b) If loss and gradients are finite: clip, optimizer step, teacher EMA, st.step += 1; otherwise
 * skip the update (st.step still advances, so the data order and streams move on) and mark
 * rec->skipped. rec (may be NULL) receives the final record. */
sm_status sm_trainer_apply(sm_trainer *t, sm_step_record *rec, sm_error *e);
/* Drop a computed step without applying it (the gradients stay as computed, nothing else changes). */
void sm_trainer_cancel(sm_trainer *t);
/* compute then apply. */
sm_status sm_trainer_step(sm_trainer *t, const sm_batch *b, int epoch, sm_step_record *rec,
                          sm_error *e);
/* The learning rate the next step will use. */
double sm_trainer_lr(const sm_trainer *t);

/* Bytes the trainer holds besides the model's weights and gradients: optimizer moments, teacher,
 * activation workspaces and perturbation buffers (what a SMART step adds to a bare model). */
size_t sm_trainer_bytes(const sm_trainer *t);

/* Evaluation: forward b in eval mode (no dropout, no gradients, the student's weights) and add its
 * predictions and summed task loss to acc (sm_eval_acc_init(acc, num_labels) first; finish with
 * sm_eval_acc_finish). */
sm_status sm_trainer_eval_batch(sm_trainer *t, const sm_batch *b, sm_eval_acc *acc, sm_error *e);
/* Evaluate a whole tokenized, labelled dataset in file order, batch_size rows at a time (padding
 * with pad_id): every metric of the task in *ev (sm_eval_acc_finish), ev->step = st.step,
 * ev->seconds the wall time. ev->epoch is left to the caller. progress (may be NULL) is told before
 * each batch; its nonzero stops with SM_ERR_CANCELLED, saying how many rows were done. */
sm_status sm_trainer_evaluate(sm_trainer *t, const struct sm_dataset *ds, int batch_size, int32_t pad_id,
                              const sm_progress *progress, sm_eval_record *ev, sm_error *e);

#endif
