/* session_bert.h: the BERT backend of the session (session_bert.c): SMART fine-tuning of a sequence
 * classifier, and the session-level loads, resumes and replay that go with it (session_bert_load.c).
 * The session itself (session.h) knows no model; this is the backend that gives it one. */
#ifndef SMARTTY_SESSION_BERT_H
#define SMARTTY_SESSION_BERT_H

#include <stddef.h>

#include "smartty/common.h"
#include "smartty/journal.h"
#include "smartty/session.h"

/* ---- the backend (session_bert.c) ---- */

struct sm_data_opts;
struct sm_dataset;
struct sm_bert;
struct sm_bert_config;
struct sm_tokenizer;

/* A backend with nothing loaded; load a model and a training set into its session before training. */
sm_status sm_bert_backend_new(sm_session_backend *be, sm_error *e);
/* These run where the state lives: directly without the thread, through sm_session_call with it.
 * Load a Hugging Face model folder or a smartty checkpoint's weights, labels and tokenizer (its label
 * mapping then fixes the data's) for a fresh run. Only before training (step 0) or to resume. */
sm_status sm_session_load_model(sm_session *s, const char *dir, sm_error *e);
/* Resume a smartty checkpoint: its model now, its complete training state once the training set is
 * loaded (the same file with the same options). Journalled as load_model. */
sm_status sm_session_load_checkpoint(sm_session *s, const char *dir, sm_error *e);
/* Resume a checkpoint with the training (and dev) set and data options saved in its
 * trainer_state.json; train/dev (NULL: the saved path) give a moved file's new place. A missing file
 * is named with what to do. */
sm_status sm_session_resume_checkpoint(sm_session *s, const char *dir, const char *train, const char *dev,
                                       sm_error *e);
/* The path and data options a checkpoint saved for its training (which 0) or dev (1) set
 * (SM_ERR_NOTFOUND when it saved none). o is initialised; free it on success. */
sm_status sm_session_checkpoint_data(const char *dir, int which, char *path, size_t cap,
                                     struct sm_data_opts *o, sm_error *e);
/* which: 0 train, 1 dev. The texts are tokenized with the model's tokenizer and max_len; labels follow
 * a trained classifier's mapping, else the training set's (the dev set follows the training set).
 * Journalled as load_train/load_dev with the path and the options that differ from the defaults. */
sm_status sm_session_load_data(sm_session *s, int which, const char *path,
                               const struct sm_data_opts *o, sm_error *e);
/* Replay one journal event: loads (load_model, load_train, load_dev with their options) at step 0
 * are performed, a resumed run's loads (at a later step) are only recorded since replaying the events
 * before them reproduced that state; every other event goes to sm_session_apply_event. Replaying a
 * whole journal in order into a session with a fresh BERT backend and default hyperparameters
 * reproduces the final weights bit for bit (same thread count). */
sm_status sm_session_replay_event(sm_session *s, const sm_journal_event *ev, sm_error *e);
/* Read-only views for `show model`, `show data` and `predict` (NULL when not loaded). Only while no
 * step runs. */
const struct sm_dataset *sm_session_dataset(sm_session *s, int which);
const struct sm_bert_config *sm_session_model_config(sm_session *s);
const struct sm_tokenizer *sm_session_tokenizer(sm_session *s);
struct sm_bert *sm_session_model(sm_session *s);

#endif
