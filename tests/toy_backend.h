/* toy_backend.h: a tiny logistic-regression backend with every kind of training state, for testing
 * sessions, snapshots, journals and checkpoints without BERT. */
#ifndef SMARTTY_TOY_BACKEND_H
#define SMARTTY_TOY_BACKEND_H

#include "smartty/session.h"

/* A fresh backend; model_dir non-NULL loads its weights from model_dir/model.bin (save_model). */
sm_status toy_backend(sm_session_backend *be, const char *model_dir, sm_error *e);
/* Make the compute call number n (1-based, counted from creation) produce a NaN gradient. */
void toy_poison(sm_session_backend *be, int64_t n);
/* ... and every compute call from number n on (a diverged run). */
void toy_poison_from(sm_session_backend *be, int64_t n);
/* Hold every evaluation (it reports no progress and waits, ending early when asked) while on. */
void toy_hold_eval(sm_session_backend *be, int on);
/* Hyperparameters that suit the toy: batch 8, lr 0.1, dropout 0.2, 3 epochs. */
void toy_hparams(sm_hparams *hp);

#endif
