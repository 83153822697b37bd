/* capture.h: one capture of a training session's complete state at a step boundary, with two
 * destinations: a snapshot in memory (session_state.c keeps it for `rewind`) and a checkpoint on
 * disk (checkpoint.c writes one and reads one back). Plain data and one model writer: it knows
 * neither the session nor the files. */
#ifndef SMARTTY_CAPTURE_H
#define SMARTTY_CAPTURE_H

#include <stddef.h>

#include "smartty/common.h"
#include "smartty/journal.h"
#include "smartty/record.h"

/* One float array of the training state (weights, teacher, moments). */
typedef struct sm_state_tensor {
    const char *name;  /* e.g. "weights", "teacher", "adam_m", "adam_v" */
    float *data;       /* [n] */
    size_t n;
    int in_model;      /* 1: the model folder (model.safetensors) holds it; 0: the trainer state file */
} sm_state_tensor;

typedef struct sm_capture {
    char *state;              /* the session's state as JSON object text: its counters, the
                                 hyperparameters and the backend's state (the capture's own) */
    sm_state_tensor *tensors; /* [n_tensors] the backend's arrays, in its order */
    size_t n_tensors;
    int own_data;             /* 1: tensors[i].data are the capture's copies (a snapshot); 0: they
                                 point into the backend (a checkpoint written or read in place) */
    /* a checkpoint's part (a snapshot leaves it empty) */
    int has_history;          /* read: the checkpoint had a log_history (else keep the session's) */
    sm_step_record *steps;    /* [n_steps] the history's step records, oldest first */
    size_t n_steps;
    sm_eval_record *evals;    /* [n_evals] its evaluations, oldest first */
    size_t n_evals;
    int has_best;
    sm_eval_record best;      /* the best evaluation so far, by best_metric */
    const char *best_metric;  /* its name ("auto", "acc", ...): a static string */
    sm_journal journal;
    /* writes the model as a Hugging Face folder into dir, which exists (NULL: not supported) */
    sm_status (*save_model)(void *ctx, const char *dir, sm_error *e);
    void *model_ctx;
} sm_capture;

void sm_capture_init(sm_capture *c);
/* Frees what the capture owns (its texts, records, journal, and the arrays' copies when own_data)
 * and leaves it as sm_capture_init does. */
void sm_capture_free(sm_capture *c);

#endif
