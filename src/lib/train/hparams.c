/* hparams.c: the table of training hyperparameters and everything derived from it: defaults, lookup
 * by name or mt-dnn alias, parsing with type/range/choice checks, canonical formatting and presets.
 * It holds values only; what they do is the trainer's business (smart.c, optim.c). */
#include "smartty/hparams.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const beta_schedules[] = {"paper", "constant", NULL};
static const char *const adv_norms[] = {"example", "token", "l2", NULL};
static const char *const optimizers[] = {"adamw", "adamax", NULL};
static const char *const lr_schedules[] = {"linear", "constant", NULL};
static const char *const best_metrics[] = {"auto", "acc", "f1", "mcc", "macro_f1", "pearson", "spearman", "loss", NULL};

/* Every entry is designated by its id, so the enum order and the table cannot drift apart. */
static const sm_hparam_def table[SM_HP_COUNT] = {
    [SM_HP_LAMBDA_S] = {
        .name = "lambda_s",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 1000,
        .def = 1.0,
        .unit = "",
        .aliases = "adv_alpha",
        .live = 1,
        .help = "weight of the smoothness regularizer R_s (paper: 1, tuned in {1,3,5}; 0 skips the probe and "
                "adversarial passes). mt-dnn's adv_alpha",
    },
    [SM_HP_MU] = {
        .name = "mu",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 1000,
        .def = 1.0,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "weight of the Bregman proximal term D_Breg against the mean teacher (0 skips the teacher pass)",
    },
    [SM_HP_BETA] = {
        .name = "beta",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 1,
        .def = 0.99,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "teacher momentum: teacher = beta*teacher + (1-beta)*theta after every update (the early value "
                "under beta_schedule paper)",
    },
    [SM_HP_BETA_LATE] = {
        .name = "beta_late",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 1,
        .def = 0.999,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "teacher momentum after beta_switch of the planned steps (beta_schedule paper)",
    },
    [SM_HP_BETA_SWITCH] = {
        .name = "beta_switch",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 1,
        .def = 0.1,
        .unit = "fraction",
        .aliases = "",
        .live = 1,
        .help = "fraction of the planned steps after which beta_late replaces beta (paper: 10%)",
    },
    [SM_HP_BETA_SCHEDULE] = {
        .name = "beta_schedule",
        .type = SM_HP_ENUM,
        .group = SM_HP_GROUP_SMART,
        .def = 0,
        .choices = beta_schedules,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "paper: beta, then beta_late after beta_switch of the planned steps; constant: beta throughout",
    },
    [SM_HP_EPS] = {
        .name = "eps",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 100,
        .def = 1e-5,
        .unit = "",
        .aliases = "adv_epsilon",
        .live = 1,
        .help = "radius of the perturbation ball (infinity-norm for adv_norm example, l2 for l2; unused by "
                "token). Alias adv_epsilon is mt-dnn's flag name, although in mt-dnn it is only the 1e-6 guard "
                "of the normalisation (its code has no ball)",
    },
    [SM_HP_SIGMA] = {
        .name = "sigma",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 100,
        .def = 1e-5,
        .unit = "",
        .aliases = "adv_noise_var",
        .live = 1,
        .help = "standard deviation of the random start N(0, sigma^2) (mt-dnn's adv_noise_var, which despite "
                "its name multiplies a unit normal, i.e. is a standard deviation)",
    },
    [SM_HP_ETA] = {
        .name = "eta",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 100,
        .def = 1e-3,
        .unit = "",
        .aliases = "adv_step_size",
        .live = 1,
        .help = "ascent step size of the perturbation (paper 1e-3; mt-dnn's adv_step_size, 1e-5)",
    },
    [SM_HP_ADV_STEPS] = {
        .name = "adv_steps",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_SMART,
        .min = 0,
        .max = 100,
        .def = 1,
        .unit = "steps",
        .aliases = "adv_k",
        .live = 1,
        .help = "ascent steps T_x~ (mt-dnn's adv_k; 0: random start only, the R3F regularizer)",
    },
    [SM_HP_ADV_NORM] = {
        .name = "adv_norm",
        .type = SM_HP_ENUM,
        .group = SM_HP_GROUP_SMART,
        .def = 0,
        .choices = adv_norms,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "example: g/max|g| per example, clamp to [-eps, eps] (paper); token: mt-dnn's per-token "
                "normalisation of delta + eta*g (eps unused); l2: g/||g|| per example, l2 ball of radius eps",
    },
    [SM_HP_OPTIMIZER] = {
        .name = "optimizer",
        .type = SM_HP_ENUM,
        .group = SM_HP_GROUP_OPTIM,
        .def = 0,
        .choices = optimizers,
        .unit = "",
        .aliases = "",
        .live = 0,
        .help = "adamw (torch.optim.AdamW) or adamax (torch.optim.Adamax, which mt-dnn's code uses; presets do not "
                "change it); weight decay is decoupled in both",
    },
    [SM_HP_LR] = {
        .name = "lr",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 10,
        .def = 2e-5,
        .unit = "",
        .aliases = "learning_rate",
        .live = 1,
        .help = "peak learning rate (after warm-up)",
    },
    [SM_HP_ADAM_BETA1] = {
        .name = "adam_beta1",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 0.999999,
        .def = 0.9,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "first-moment decay",
    },
    [SM_HP_ADAM_BETA2] = {
        .name = "adam_beta2",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 0.999999,
        .def = 0.999,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "second-moment decay (adamax: decay of the infinity norm)",
    },
    [SM_HP_ADAM_EPS] = {
        .name = "adam_eps",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 1e-12,
        .max = 1,
        .def = 1e-8,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "denominator guard (1e-8: transformers' and torch's default; BERT's original code used 1e-6)",
    },
    [SM_HP_WEIGHT_DECAY] = {
        .name = "weight_decay",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 1,
        .def = 0.01,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "decoupled weight decay (w -= lr*wd*w), never on biases or LayerNorm",
    },
    [SM_HP_SCHEDULE] = {
        .name = "schedule",
        .type = SM_HP_ENUM,
        .group = SM_HP_GROUP_OPTIM,
        .def = 0,
        .choices = lr_schedules,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "linear: warm-up then linear decay to 0 at the last planned step; constant: warm-up then constant",
    },
    [SM_HP_WARMUP] = {
        .name = "warmup",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 1,
        .def = 0.1,
        .unit = "fraction",
        .aliases = "warmup_ratio",
        .live = 1,
        .help = "fraction of the planned steps spent warming the learning rate up from 0",
    },
    [SM_HP_CLIP] = {
        .name = "clip",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 1e6,
        .def = 1.0,
        .unit = "",
        .aliases = "max_grad_norm",
        .live = 1,
        .help = "clip the gradient's global l2 norm to this value (0: off)",
    },
    [SM_HP_DROPOUT] = {
        .name = "dropout",
        .type = SM_HP_FLOAT,
        .group = SM_HP_GROUP_OPTIM,
        .min = 0,
        .max = 0.99,
        .def = 0.1,
        .unit = "probability",
        .aliases = "",
        .live = 0,
        .help = "dropout of hidden states, attention probabilities and the classifier input",
    },
    [SM_HP_BATCH_SIZE] = {
        .name = "batch_size",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 1,
        .max = 4096,
        .def = 32,
        .unit = "examples",
        .aliases = "per_device_train_batch_size",
        .live = 0,
        .help = "examples per step",
    },
    [SM_HP_EPOCHS] = {
        .name = "epochs",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 1,
        .max = 10000,
        .def = 3,
        .unit = "epochs",
        .aliases = "num_train_epochs",
        .live = 0,
        .help = "passes over the training set (unless max_steps is set)",
    },
    [SM_HP_MAX_STEPS] = {
        .name = "max_steps",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 1e12,
        .def = 0,
        .unit = "steps",
        .aliases = "",
        .live = 0,
        .help = "total optimizer steps; 0: epochs decide",
    },
    [SM_HP_MAX_LEN] = {
        .name = "max_len",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 4,
        .max = 8192,
        .def = 128,
        .unit = "tokens",
        .aliases = "max_seq_length",
        .live = 0,
        .help = "longest tokenized example, [CLS] and [SEP] included; longer ones are truncated",
    },
    [SM_HP_SEED] = {
        .name = "seed",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 4294967295.0,
        .def = 42,
        .unit = "",
        .aliases = "",
        .live = 0,
        .help = "seed of every random choice: initialisation, data order, dropout, perturbation",
    },
    [SM_HP_EVAL_EVERY] = {
        .name = "eval_every",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 1e12,
        .def = 0,
        .unit = "steps",
        .aliases = "eval_steps",
        .live = 1,
        .help = "steps between evaluations on the dev set; 0: at the end of each epoch",
    },
    [SM_HP_LOG_EVERY] = {
        .name = "log_every",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 1,
        .max = 1e12,
        .def = 10,
        .unit = "steps",
        .aliases = "logging_steps",
        .live = 1,
        .help = "steps between progress lines",
    },
    [SM_HP_SAVE_EVERY] = {
        .name = "save_every",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 1e12,
        .def = 0,
        .unit = "steps",
        .aliases = "save_steps",
        .live = 1,
        .help = "steps between checkpoints written to OUT/checkpoint-STEP (OUT: --output-dir, else the save "
                "folder with -checkpoints appended); 0: none",
    },
    [SM_HP_SAVE_LIMIT] = {
        .name = "save_limit",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 1e6,
        .def = 0,
        .unit = "folders",
        .aliases = "save_total_limit",
        .live = 1,
        .help = "checkpoint-STEP folders kept, the last ones (older ones are removed); 0: all",
    },
    [SM_HP_SAVE_BEST] = {
        .name = "save_best",
        .type = SM_HP_INT,
        .group = SM_HP_GROUP_RUN,
        .min = 0,
        .max = 1,
        .def = 0,
        .unit = "",
        .aliases = "",
        .live = 1,
        .help = "1: after each evaluation that is the best so far (by best_metric), checkpoint to OUT/best",
    },
    [SM_HP_BEST_METRIC] = {
        .name = "best_metric",
        .type = SM_HP_ENUM,
        .group = SM_HP_GROUP_RUN,
        .def = 0,
        .choices = best_metrics,
        .unit = "",
        .aliases = "metric_for_best_model",
        .live = 1,
        .help = "the dev metric that picks the best evaluation: auto (acc, or pearson for regression), acc, f1, "
                "mcc, macro_f1, pearson, spearman, or loss (lower is better)",
    },
};

static const sm_hparam_def *defs(void) { return table; }

size_t sm_hparam_count(void) { return SM_HP_COUNT; }

const sm_hparam_def *sm_hparam_def_at(int id)
{
    if (id < 0 || id >= SM_HP_COUNT)
        return NULL;
    return &defs()[id];
}

static int alias_matches(const char *aliases, const char *name)
{
    size_t n = strlen(name);
    const char *p = aliases;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *q = p;
        while (*q && *q != ' ')
            q++;
        if ((size_t)(q - p) == n && n && !strncmp(p, name, n))
            return 1;
        p = q;
    }
    return 0;
}

int sm_hparam_lookup(const char *name)
{
    if (!name)
        return -1;
    const sm_hparam_def *d = defs();
    for (int i = 0; i < SM_HP_COUNT; i++)
        if (!strcmp(d[i].name, name))
            return i;
    for (int i = 0; i < SM_HP_COUNT; i++)
        if (alias_matches(d[i].aliases, name))
            return i;
    return -1;
}

void sm_hparams_default(sm_hparams *h)
{
    const sm_hparam_def *d = defs();
    for (int i = 0; i < SM_HP_COUNT; i++)
        h->v[i] = d[i].def;
}

static void choices_text(const sm_hparam_def *d, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; d->choices[i] && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", d->choices[i]);
}

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static int rest_is_space(const char *s) { return *skip_space(s) == 0; }

sm_status sm_hparam_parse(int id, const char *text, double *out, sm_error *e)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    if (!d)
        return sm_err(e, SM_ERR_INVALID, "no hyperparameter with id %d", id);
    if (!text)
        text = "";
    const char *s = skip_space(text);
    char lo[32], hi[32];
    sm_hparam_format(id, d->min, lo, sizeof lo);
    sm_hparam_format(id, d->max, hi, sizeof hi);
    if (d->type == SM_HP_ENUM) {
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        for (int i = 0; d->choices[i]; i++)
            if (strlen(d->choices[i]) == n && n && !strncasecmp(d->choices[i], s, n)) {
                *out = i;
                return SM_OK;
            }
        char ch[256];
        choices_text(d, ch, sizeof ch);
        return sm_err(e, SM_ERR_INVALID, "%s: '%s' is not one of the choices: %s", d->name, text, ch);
    }
    errno = 0;
    char *end = NULL;
    double v;
    if (d->type == SM_HP_INT) {
        long long iv = strtoll(s, &end, 10);
        if (end == s || !rest_is_space(end)) {
            /* Accept integral values written as floats (1e3, 32.0) but nothing fractional. */
            char *end2;
            double dv = strtod(s, &end2);
            if (end2 == s || !rest_is_space(end2) || !isfinite(dv) || dv != floor(dv))
                return sm_err(e, SM_ERR_INVALID, "%s: '%s' is not an integer (allowed: %s to %s)",
                              d->name, text, lo, hi);
            v = dv;
        } else {
            v = errno == ERANGE ? (iv < 0 ? -INFINITY : INFINITY) : (double)iv;
        }
    } else {
        v = strtod(s, &end);
        if (end == s || !rest_is_space(end))
            return sm_err(e, SM_ERR_INVALID, "%s: '%s' is not a number (allowed: %s to %s)", d->name,
                          text, lo, hi);
        if (!isfinite(v))
            return sm_err(e, SM_ERR_RANGE, "%s: '%s' is not finite (allowed: %s to %s)", d->name, text,
                          lo, hi);
    }
    if (!(v >= d->min && v <= d->max))
        return sm_err(e, SM_ERR_RANGE, "%s: %s is out of range (allowed: %s to %s%s%s)", d->name, text,
                      lo, hi, *d->unit ? " " : "", d->unit);
    *out = v;
    return SM_OK;
}

sm_status sm_hparams_set(sm_hparams *h, const char *name, const char *value, sm_error *e)
{
    if (!name)
        return sm_err(e, SM_ERR_INVALID, "no hyperparameter name given");
    char nbuf[128];
    const char *eq = value ? NULL : strchr(name, '=');
    if (eq) {
        const char *b = skip_space(name);
        size_t n = (size_t)(eq - b);
        while (n && isspace((unsigned char)b[n - 1]))
            n--;
        if (n >= sizeof nbuf)
            return sm_err(e, SM_ERR_INVALID, "hyperparameter name too long: '%s'", name);
        memcpy(nbuf, b, n);
        nbuf[n] = 0;
        value = eq + 1;
        name = nbuf;
    }
    if (!value)
        return sm_err(e, SM_ERR_INVALID, "%s: no value given (write name=value)", name);
    int id = sm_hparam_lookup(name);
    if (id < 0)
        return sm_err(e, SM_ERR_NOTFOUND, "unknown hyperparameter '%s' (`smartty train --help-params` or the console's `show params` lists them)",
                      name);
    double v;
    sm_status st = sm_hparam_parse(id, value, &v, e);
    if (st != SM_OK)
        return st;
    h->v[id] = v;
    return SM_OK;
}

void sm_hparam_format(int id, double v, char *buf, size_t cap)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    if (!cap)
        return;
    if (!d) {
        snprintf(buf, cap, "%.17g", v);
        return;
    }
    if (d->type == SM_HP_ENUM) {
        const char *c = sm_hparam_choice(id, v);
        snprintf(buf, cap, "%s", c ? c : "?");
    } else if (d->type == SM_HP_INT) {
        snprintf(buf, cap, "%.0f", v);
    } else {
        /* The shortest of %.15g / %.17g that reads back as the same double. */
        snprintf(buf, cap, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, cap, "%.17g", v);
    }
}

static const char *const preset_names[] = {"vanilla", "paper", "mtdnn", "r3f", NULL};

const char *const *sm_hparam_presets(void) { return preset_names; }

static void set_paper(sm_hparams *h)
{
    const sm_hparam_def *d = defs();
    for (int i = SM_HP_LAMBDA_S; i <= SM_HP_ADV_NORM; i++)
        h->v[i] = d[i].def;
}

sm_status sm_hparams_preset(sm_hparams *h, const char *name, sm_error *e)
{
    if (!name)
        name = "";
    if (!strcmp(name, "vanilla")) {
        h->v[SM_HP_LAMBDA_S] = 0;
        h->v[SM_HP_MU] = 0;
    } else if (!strcmp(name, "paper")) {
        set_paper(h);
    } else if (!strcmp(name, "mtdnn")) {
        /* The official mt-dnn code: per-token normalisation, no ball, no teacher, eta 1e-5. Presets
         * set SMART knobs only: its Adamax is `optimizer=adamax`, left to the user. */
        set_paper(h);
        h->v[SM_HP_MU] = 0;
        h->v[SM_HP_ADV_NORM] = 1 /* token */;
        h->v[SM_HP_ETA] = 1e-5;
    } else if (!strcmp(name, "r3f")) {
        /* Aghajanyan et al.: symmetric KL against a random perturbation only, no teacher. */
        set_paper(h);
        h->v[SM_HP_ADV_STEPS] = 0;
        h->v[SM_HP_MU] = 0;
    } else {
        return sm_err(e, SM_ERR_NOTFOUND, "unknown preset '%s' (choices: vanilla, paper, mtdnn, r3f)",
                      name);
    }
    return SM_OK;
}

sm_status sm_hparam_check(int id, double v, sm_error *e)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    if (!d)
        return sm_err(e, SM_ERR_INVALID, "no hyperparameter with id %d", id);
    if (d->type == SM_HP_ENUM) {
        if (sm_hparam_choice(id, v))
            return SM_OK;
        int nc = 0;
        while (d->choices[nc])
            nc++;
        return sm_err(e, SM_ERR_RANGE, "hyperparameter '%s' is %g, which is not a choice index (0 to %d)",
                      d->name, v, nc - 1);
    }
    if (v >= d->min && v <= d->max && (d->type != SM_HP_INT || v == floor(v)))
        return SM_OK;
    char lo[32], hi[32];
    sm_hparam_format(id, d->min, lo, sizeof lo);
    sm_hparam_format(id, d->max, hi, sizeof hi);
    return sm_err(e, SM_ERR_RANGE, "hyperparameter '%s' is %g (allowed: %s%s to %s)", d->name, v,
                  d->type == SM_HP_INT ? "an integer from " : "", lo, hi);
}

const char *sm_hparam_choice(int id, double v)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    if (!d || d->type != SM_HP_ENUM || !(v >= 0) || v != floor(v))
        return NULL;
    for (int i = 0; d->choices[i]; i++)
        if (i == (int)v)
            return d->choices[i];
    return NULL;
}
