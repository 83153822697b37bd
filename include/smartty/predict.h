/* predict.h: inference with a trained classifier: one classify call over a batch (logits, class
 * probabilities, the argmax) that `smartty predict`, `smartty eval` and the console's `predict` all
 * use, over a data set or over one text, and a model loaded for inference. No training, no printing. */
#ifndef SMARTTY_PREDICT_H
#define SMARTTY_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/batch.h"
#include "smartty/common.h"
#include "smartty/model_config.h"
#include "smartty/data.h"
#include "smartty/hf.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"

/* What a classify call gives for B examples of C = num_labels outputs. */
typedef struct sm_classified {
    int B, C;
    float *logits;   /* [B*C] */
    double *probs;   /* [B*C] softmax (classification); for regression the value itself */
    int *label;      /* [B] argmax (classification); -1 for regression */
    size_t cap;      /* examples allocated */
} sm_classified;

void sm_classified_free(sm_classified *c);

/* Softmax of logits[C] into probs[C]; returns the argmax (the first on ties). */
int sm_softmax(const float *logits, int C, double *probs);

/* One forward pass in evaluation mode over b (a workspace a for at least b's B and T), then the
 * probabilities and the argmax into out (grown as needed). */
sm_status sm_classify(const sm_bert *m, sm_bert_acts *a, const sm_batch *b, sm_classified *out,
                      sm_error *e);

/* Every row of a tokenized ds, in file order, batch rows a pass: out holds all n rows. */
sm_status sm_classify_dataset(const sm_bert *m, const sm_dataset *ds, int32_t pad_id, int batch,
                              sm_classified *out, sm_error *e);

/* One text (or the pair a, b when b is not NULL), tokenized with tok up to max_len. */
sm_status sm_classify_text(const sm_bert *m, const sm_tokenizer *tok, const char *a, const char *b,
                           int max_len, sm_classified *out, sm_error *e);

/* A model folder (or a smartty checkpoint) loaded for inference. */
typedef struct sm_predictor {
    sm_bert *model;
    sm_bert_config cfg;
    sm_tokenizer *tok;
    sm_hf_info info;
    char dir[4200];  /* the folder read (a checkpoint's DIR.old after a crashed save) */
} sm_predictor;

sm_status sm_predictor_load(sm_predictor *p, const char *dir, sm_error *e);
void sm_predictor_free(sm_predictor *p);
/* Give o the model's task: its label mapping (a trained classifier's id2label, so rows are labelled
 * as the model numbers its classes) or regression. Options the user gave win (their --labels). */
sm_status sm_predictor_data_opts(const sm_predictor *p, sm_data_opts *o, sm_error *e);
/* Load and tokenize a data file for the model (max_len capped by the model's positions). */
sm_status sm_predictor_dataset(const sm_predictor *p, const char *path, const sm_data_opts *o,
                               sm_dataset **out, sm_error *e);
/* Class k's name from the model's id2label (LABEL_k without one). */
const char *sm_predictor_label(const sm_predictor *p, int k, char *buf, size_t cap);

#endif
