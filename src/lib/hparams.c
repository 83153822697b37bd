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

#define F(id, nm, grp, lo, hi, d, unit, alias, live, help) \
    [id] = {nm, SM_HP_FLOAT, grp, lo, hi, d, NULL, unit, help, alias, live}
#define I(id, nm, grp, lo, hi, d, unit, alias, live, help) \
    [id] = {nm, SM_HP_INT, grp, lo, hi, d, NULL, unit, help, alias, live}
#define E(id, nm, grp, ch, d, alias, live, help) \
    [id] = {nm, SM_HP_ENUM, grp, 0, 0, d, ch, "", help, alias, live}

/* Every entry is designated by its id, so the enum order and the table cannot drift apart. */
static const sm_hparam_def table[SM_HP_COUNT] = {
    F(SM_HP_LAMBDA_S, "lambda_s", SM_HP_GROUP_SMART, 0, 1000, 1.0, "", "adv_alpha", 1,
      "weight of the smoothness regularizer R_s (paper: 1, tuned in {1,3,5}; 0 skips the probe and "
      "adversarial passes). mt-dnn's adv_alpha"),
    F(SM_HP_MU, "mu", SM_HP_GROUP_SMART, 0, 1000, 1.0, "", "", 1,
      "weight of the Bregman proximal term D_Breg against the mean teacher (0 skips the teacher pass)"),
    F(SM_HP_BETA, "beta", SM_HP_GROUP_SMART, 0, 1, 0.99, "", "", 1,
      "teacher momentum: teacher = beta*teacher + (1-beta)*theta after every update (the early value "
      "under beta_schedule paper)"),
    F(SM_HP_BETA_LATE, "beta_late", SM_HP_GROUP_SMART, 0, 1, 0.999, "", "", 1,
      "teacher momentum after beta_switch of the planned steps (beta_schedule paper)"),
    F(SM_HP_BETA_SWITCH, "beta_switch", SM_HP_GROUP_SMART, 0, 1, 0.1, "fraction", "", 1,
      "fraction of the planned steps after which beta_late replaces beta (paper: 10%)"),
    E(SM_HP_BETA_SCHEDULE, "beta_schedule", SM_HP_GROUP_SMART, beta_schedules, 0, "", 1,
      "paper: beta, then beta_late after beta_switch of the planned steps; constant: beta throughout"),
    F(SM_HP_EPS, "eps", SM_HP_GROUP_SMART, 0, 100, 1e-5, "", "adv_epsilon", 1,
      "radius of the perturbation ball (infinity-norm for adv_norm example, l2 for l2; unused by "
      "token). Alias adv_epsilon is mt-dnn's flag name, although in mt-dnn it is only the 1e-6 guard "
      "of the normalisation (its code has no ball)"),
    F(SM_HP_SIGMA, "sigma", SM_HP_GROUP_SMART, 0, 100, 1e-5, "", "adv_noise_var", 1,
      "standard deviation of the random start N(0, sigma^2) (mt-dnn's adv_noise_var, which despite "
      "its name multiplies a unit normal, i.e. is a standard deviation)"),
    F(SM_HP_ETA, "eta", SM_HP_GROUP_SMART, 0, 100, 1e-3, "", "adv_step_size", 1,
      "ascent step size of the perturbation (paper 1e-3; mt-dnn's adv_step_size, 1e-5)"),
    I(SM_HP_ADV_STEPS, "adv_steps", SM_HP_GROUP_SMART, 0, 100, 1, "steps", "adv_k", 1,
      "ascent steps T_x~ (mt-dnn's adv_k; 0: random start only, the R3F regularizer)"),
    E(SM_HP_ADV_NORM, "adv_norm", SM_HP_GROUP_SMART, adv_norms, 0, "", 1,
      "example: g/max|g| per example, clamp to [-eps, eps] (paper); token: mt-dnn's per-token "
      "normalisation of delta + eta*g (eps unused); l2: g/||g|| per example, l2 ball of radius eps"),
    E(SM_HP_OPTIMIZER, "optimizer", SM_HP_GROUP_OPTIM, optimizers, 0, "", 0,
      "adamw (torch.optim.AdamW) or adamax (torch.optim.Adamax, which mt-dnn's code uses; presets do not "
      "change it); weight decay is decoupled in both"),
    F(SM_HP_LR, "lr", SM_HP_GROUP_OPTIM, 0, 10, 2e-5, "", "learning_rate", 1,
      "peak learning rate (after warm-up)"),
    F(SM_HP_ADAM_BETA1, "adam_beta1", SM_HP_GROUP_OPTIM, 0, 0.999999, 0.9, "", "", 1, "first-moment decay"),
    F(SM_HP_ADAM_BETA2, "adam_beta2", SM_HP_GROUP_OPTIM, 0, 0.999999, 0.999, "", "", 1,
      "second-moment decay (adamax: decay of the infinity norm)"),
    F(SM_HP_ADAM_EPS, "adam_eps", SM_HP_GROUP_OPTIM, 1e-12, 1, 1e-8, "", "", 1,
      "denominator guard (1e-8: transformers' and torch's default; BERT's original code used 1e-6)"),
    F(SM_HP_WEIGHT_DECAY, "weight_decay", SM_HP_GROUP_OPTIM, 0, 1, 0.01, "", "", 1,
      "decoupled weight decay (w -= lr*wd*w), never on biases or LayerNorm"),
    E(SM_HP_SCHEDULE, "schedule", SM_HP_GROUP_OPTIM, lr_schedules, 0, "", 1,
      "linear: warm-up then linear decay to 0 at the last planned step; constant: warm-up then constant"),
    F(SM_HP_WARMUP, "warmup", SM_HP_GROUP_OPTIM, 0, 1, 0.1, "fraction", "warmup_ratio", 1,
      "fraction of the planned steps spent warming the learning rate up from 0"),
    F(SM_HP_CLIP, "clip", SM_HP_GROUP_OPTIM, 0, 1e6, 1.0, "", "max_grad_norm", 1,
      "clip the gradient's global l2 norm to this value (0: off)"),
    F(SM_HP_DROPOUT, "dropout", SM_HP_GROUP_OPTIM, 0, 0.99, 0.1, "probability", "", 0,
      "dropout of hidden states, attention probabilities and the classifier input"),
    I(SM_HP_BATCH_SIZE, "batch_size", SM_HP_GROUP_RUN, 1, 4096, 32, "examples", "per_device_train_batch_size", 0, "examples per step"),
    I(SM_HP_EPOCHS, "epochs", SM_HP_GROUP_RUN, 1, 10000, 3, "epochs", "num_train_epochs", 0,
      "passes over the training set (unless max_steps is set)"),
    I(SM_HP_MAX_STEPS, "max_steps", SM_HP_GROUP_RUN, 0, 1e12, 0, "steps", "", 0,
      "total optimizer steps; 0: epochs decide"),
    I(SM_HP_MAX_LEN, "max_len", SM_HP_GROUP_RUN, 4, 8192, 128, "tokens", "max_seq_length", 0,
      "longest tokenized example, [CLS] and [SEP] included; longer ones are truncated"),
    I(SM_HP_SEED, "seed", SM_HP_GROUP_RUN, 0, 4294967295.0, 42, "", "", 0,
      "seed of every random choice: initialisation, data order, dropout, perturbation"),
    I(SM_HP_EVAL_EVERY, "eval_every", SM_HP_GROUP_RUN, 0, 1e12, 0, "steps", "eval_steps", 1,
      "steps between evaluations on the dev set; 0: at the end of each epoch"),
    I(SM_HP_LOG_EVERY, "log_every", SM_HP_GROUP_RUN, 1, 1e12, 10, "steps", "logging_steps", 1,
      "steps between progress lines"),
    I(SM_HP_SAVE_EVERY, "save_every", SM_HP_GROUP_RUN, 0, 1e12, 0, "steps", "save_steps", 1,
      "steps between checkpoints written to OUT/checkpoint-STEP (OUT: --output-dir, else the save "
      "folder with -checkpoints appended); 0: none"),
    I(SM_HP_SAVE_LIMIT, "save_limit", SM_HP_GROUP_RUN, 0, 1e6, 0, "folders", "save_total_limit", 1,
      "checkpoint-STEP folders kept, the last ones (older ones are removed); 0: all"),
    I(SM_HP_SAVE_BEST, "save_best", SM_HP_GROUP_RUN, 0, 1, 0, "", "", 1,
      "1: after each evaluation that is the best so far (by best_metric), checkpoint to OUT/best"),
    E(SM_HP_BEST_METRIC, "best_metric", SM_HP_GROUP_RUN, best_metrics, 0, "metric_for_best_model", 1,
      "the dev metric that picks the best evaluation: auto (acc, or pearson for regression), acc, f1, "
      "mcc, macro_f1, pearson, spearman, or loss (lower is better)"),
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
