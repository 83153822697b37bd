/* hparams.h: the one table of training hyperparameters (name, type, bounds, default, unit, help,
 * aliases). It is the single source for parsing, validation, `set`/`get`, completion, help, the
 * dashboard's knob panel, presets and the journal. Implemented in src/lib/train/hparams.c. */
#ifndef SMARTTY_HPARAMS_H
#define SMARTTY_HPARAMS_H

#include <stddef.h>

#include "smartty/common.h"

/* Every hyperparameter has an id; values live in sm_hparams.v[id] as doubles (ints and enum choices
 * are stored exactly). */
typedef enum sm_hp_id {
    /* SMART (SMART.md) */
    SM_HP_LAMBDA_S = 0, /* weight of R_s */
    SM_HP_MU,           /* weight of D_Breg */
    SM_HP_BETA,         /* teacher momentum (early value under the paper schedule) */
    SM_HP_BETA_LATE,    /* teacher momentum after beta_switch of the planned steps */
    SM_HP_BETA_SWITCH,  /* fraction of planned steps after which beta_late applies */
    SM_HP_BETA_SCHEDULE,/* enum: paper (beta, then beta_late), constant (beta) */
    SM_HP_EPS,          /* radius of the perturbation ball */
    SM_HP_SIGMA,        /* std of the random start */
    SM_HP_ETA,          /* ascent step size */
    SM_HP_ADV_STEPS,    /* ascent steps */
    SM_HP_ADV_NORM,     /* enum: example, token, l2 */
    /* optimizer */
    SM_HP_OPTIMIZER,    /* enum: adamw, adamax */
    SM_HP_LR,
    SM_HP_ADAM_BETA1,
    SM_HP_ADAM_BETA2,
    SM_HP_ADAM_EPS,
    SM_HP_WEIGHT_DECAY,
    SM_HP_SCHEDULE,     /* enum: linear (warm-up then linear decay), constant (warm-up then constant) */
    SM_HP_WARMUP,       /* fraction of planned steps */
    SM_HP_CLIP,         /* global-norm clipping threshold, 0 = off */
    SM_HP_DROPOUT,      /* hidden, attention and classifier dropout */
    /* run */
    SM_HP_BATCH_SIZE,
    SM_HP_EPOCHS,
    SM_HP_MAX_STEPS,    /* 0 = epochs decide */
    SM_HP_MAX_LEN,
    SM_HP_SEED,
    SM_HP_EVAL_EVERY,   /* steps between evaluations, 0 = at the end of each epoch */
    SM_HP_LOG_EVERY,    /* steps between progress lines */
    SM_HP_SAVE_EVERY,   /* steps between checkpoints OUT/checkpoint-STEP, 0 = none */
    SM_HP_SAVE_LIMIT,   /* checkpoint-STEP folders kept (the last ones), 0 = all */
    SM_HP_SAVE_BEST,    /* 1: keep the best evaluation's checkpoint in OUT/best */
    SM_HP_BEST_METRIC,  /* enum: auto (the task's), acc, f1, mcc, macro_f1, pearson, spearman, loss */
    SM_HP_COUNT
} sm_hp_id;

typedef enum sm_hp_type { SM_HP_FLOAT, SM_HP_INT, SM_HP_ENUM } sm_hp_type;
typedef enum sm_hp_group { SM_HP_GROUP_SMART, SM_HP_GROUP_OPTIM, SM_HP_GROUP_RUN } sm_hp_group;

typedef struct sm_hparam_def {
    const char *name;
    sm_hp_type type;
    sm_hp_group group;
    double min, max;            /* inclusive bounds (FLOAT, INT) */
    double def;                 /* default (ENUM: index into choices) */
    const char *const *choices; /* ENUM: NULL-terminated names */
    const char *unit;           /* "" when none */
    const char *help;
    const char *aliases;        /* space-separated, e.g. mt-dnn names "adv_alpha"; "" when none */
    int live;                   /* 1: may change while training runs (takes effect at the next step) */
} sm_hparam_def;

typedef struct sm_hparams {
    double v[SM_HP_COUNT];
} sm_hparams;

size_t sm_hparam_count(void);
const sm_hparam_def *sm_hparam_def_at(int id);
/* Id of a name or alias, or -1. */
int sm_hparam_lookup(const char *name);
void sm_hparams_default(sm_hparams *h);
/* Parse text for hyperparameter id: type, enum choice and range checked; the error names the
 * parameter, the value and the allowed range or choices. */
sm_status sm_hparam_parse(int id, const char *text, double *out, sm_error *e);
/* A value for hyperparameter id as the table allows it (in range; an integer where the type is one;
 * a choice index for an enum), e.g. read back from a file; the error says "hyperparameter 'name' is VALUE (allowed
 * ...)". */
sm_status sm_hparam_check(int id, double v, sm_error *e);
/* "name=value" or (name, value): lookup, parse, store. */
sm_status sm_hparams_set(sm_hparams *h, const char *name, const char *value, sm_error *e);
/* Canonical text of a value (what `get` prints and the journal stores). */
void sm_hparam_format(int id, double v, char *buf, size_t cap);
/* Presets: vanilla, paper, mtdnn, r3f. Applies the preset's SMART knobs over h. */
sm_status sm_hparams_preset(sm_hparams *h, const char *name, sm_error *e);
const char *const *sm_hparam_presets(void); /* NULL-terminated */
/* Enum value by name, e.g. sm_hparam_choice(SM_HP_ADV_NORM, v) -> "token". */
const char *sm_hparam_choice(int id, double v);

#endif
