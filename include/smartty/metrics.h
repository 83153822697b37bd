/* metrics.h: evaluation metrics: accuracy, F1 of class 1 and Matthews correlation (binary), macro-F1
 * (multi-class), Pearson and Spearman with average ranks (regression), and an accumulator that
 * collects predictions batch by batch. Pure arithmetic on arrays: no model, no I/O. */
#ifndef SMARTTY_METRICS_H
#define SMARTTY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/record.h"

double sm_metric_accuracy(const int *pred, const int *gold, size_t n);
/* F1 of the positive class 1; 0 when there is no true positive. */
double sm_metric_f1_binary(const int *pred, const int *gold, size_t n);
/* Matthews correlation of binary predictions; 0 when a marginal is empty (as scikit-learn). */
double sm_metric_mcc(const int *pred, const int *gold, size_t n);
/* Mean over the k classes of each class's F1 (a class absent from both pred and gold counts 0, as
 * scikit-learn's zero_division=0). */
double sm_metric_macro_f1(const int *pred, const int *gold, size_t n, int k);
/* Pearson correlation; NaN when either side has zero variance or n < 2. */
double sm_metric_pearson(const double *x, const double *y, size_t n);
/* Spearman correlation: Pearson of the ranks, ties given their average rank. */
double sm_metric_spearman(const double *x, const double *y, size_t n);
/* Ranks 1..n of x [n] into r [n], ties averaged. Returns SM_ERR_NOMEM on allocation failure. */
sm_status sm_metric_ranks(const double *x, size_t n, double *r, sm_error *e);

/* Predictions gathered over an evaluation. */
typedef struct sm_eval_acc {
    int num_labels;    /* 1: regression */
    size_t n, cap;
    int *pred, *gold;  /* [n] classification */
    double *score;     /* [n] regression prediction */
    double *target;    /* [n] regression target */
    double loss_sum;   /* sum over examples of the task loss */
} sm_eval_acc;

void sm_eval_acc_init(sm_eval_acc *a, int num_labels);
void sm_eval_acc_free(sm_eval_acc *a);
void sm_eval_acc_clear(sm_eval_acc *a);
/* Add B examples from logits [B, C] (C = num_labels) with labels [B] (classification) or
 * targets [B] (regression); loss_sum is the batch's summed task loss. */
sm_status sm_eval_acc_add(sm_eval_acc *a, const float *logits, int B, const int32_t *labels,
                          const float *targets, double loss_sum, sm_error *e);
/* Fill every metric that applies to the task (the rest stay NaN) and ev->n, ev->loss (mean). */
sm_status sm_eval_acc_finish(const sm_eval_acc *a, sm_eval_record *ev, sm_error *e);

#endif
