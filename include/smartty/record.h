/* record.h: what one training step and one evaluation report, shared by the trainer (which fills
 * them), the console (breakpoints read fields by name), the dashboard (curves) and the metrics CSV. */
#ifndef SMARTTY_RECORD_H
#define SMARTTY_RECORD_H

#include <stdint.h>

#include "smartty/common.h"

/* One optimizer step. Loss terms are batch means; the weighted terms are what entered the loss. */
typedef struct sm_step_record {
    int64_t step;          /* 1-based index of this step */
    int epoch;             /* 0-based epoch the batch came from */
    double loss;           /* task loss L_task */
    double rs;             /* lambda_s * R_s (0 when skipped) */
    double breg;           /* mu * D_Breg (0 when skipped) */
    double total;          /* loss + rs + breg */
    double rs_raw;         /* R_s, unweighted */
    double breg_raw;       /* D_Breg, unweighted */
    double grad_norm;      /* global gradient norm before clipping */
    double delta_norm;     /* mean over examples of the perturbation's norm at its adv_norm granularity */
    double lr;             /* learning rate used by this step */
    double beta;           /* teacher momentum used after this step */
    double examples_per_s;
    double tokens_per_s;   /* real (unpadded) tokens per second */
    double seconds;        /* wall time of the step */
    int batch_size;        /* examples in the batch */
    int skipped;           /* 1: non-finite loss or gradient, the update was not applied */
    int rs_skipped;        /* 1: non-finite ascent gradient, R_s skipped for this batch */
} sm_step_record;

/* One evaluation on the dev set. Fields that do not apply to the task are NaN. */
typedef struct sm_eval_record {
    int64_t step;
    int epoch;
    int n;                 /* examples evaluated */
    double loss;
    double acc;            /* classification */
    double f1;             /* binary: F1 of class 1 */
    double mcc;            /* binary: Matthews correlation */
    double macro_f1;       /* multi-class */
    double pearson;        /* regression */
    double spearman;       /* regression */
    double seconds;
} sm_eval_record;

/* Fields addressable by name (breakpoints, CSV columns, the dashboard). Step fields: loss, rs, breg,
 * total, rs_raw, breg_raw, grad_norm, delta_norm, lr, beta, examples_per_s, tokens_per_s, seconds,
 * step, epoch (1-based, as every display shows it), skipped. Eval fields are prefixed "dev_": dev_loss, dev_acc, dev_f1, dev_mcc,
 * dev_macro_f1, dev_pearson, dev_spearman. */
typedef enum sm_field_source { SM_FIELD_STEP, SM_FIELD_EVAL } sm_field_source;
typedef struct sm_field_def {
    const char *name;
    sm_field_source source;
    const char *help;
} sm_field_def;

size_t sm_field_count(void);
const sm_field_def *sm_field_at(size_t i);
int sm_field_lookup(const char *name); /* index, or -1 */
/* Value of field i from the records (eval may be NULL: eval fields are then NaN). */
double sm_field_value(int i, const sm_step_record *s, const sm_eval_record *ev);
/* The inverse (e.g. reading a saved history): store v into field i; -1 when i is unknown, its record
 * is NULL, or v is not a whole number for an integer field. */
int sm_field_set(int i, sm_step_record *s, sm_eval_record *ev, double v);
void sm_eval_record_init(sm_eval_record *ev); /* all metrics NaN */

#endif
