/* record.c: the table of named fields of step and evaluation records, so breakpoints, the CSV and
 * the dashboard address metrics by one set of names. */
#include "smartty/record.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct field_entry {
    sm_field_def def;
    size_t offset;  /* offset of a double (or of an int/int64 for the integer fields) */
    char kind;      /* 'd' double, 'i' int, 'l' int64 */
} field_entry;

#define SF(n, k, h) {{#n, SM_FIELD_STEP, h}, offsetof(sm_step_record, n), k}
#define EF(n, h) {{"dev_" #n, SM_FIELD_EVAL, h}, offsetof(sm_eval_record, n), 'd'}

static const field_entry fields[] = {
    SF(step, 'l', "step number (1-based)"),
    SF(epoch, 'e', "epoch of the batch (1-based)"),
    SF(loss, 'd', "task loss (cross-entropy or squared error)"),
    SF(rs, 'd', "lambda_s * R_s, the weighted smoothness term"),
    SF(breg, 'd', "mu * D_Breg, the weighted Bregman proximal term"),
    SF(total, 'd', "total loss: loss + rs + breg"),
    SF(rs_raw, 'd', "R_s, unweighted"),
    SF(breg_raw, 'd', "D_Breg, unweighted"),
    SF(grad_norm, 'd', "global gradient norm before clipping"),
    SF(delta_norm, 'd', "norm of the adversarial perturbation"),
    SF(lr, 'd', "learning rate"),
    SF(beta, 'd', "teacher momentum"),
    SF(examples_per_s, 'd', "examples per second"),
    SF(tokens_per_s, 'd', "real tokens per second"),
    SF(seconds, 'd', "wall time of the step"),
    SF(skipped, 'i', "1 when the update was skipped (non-finite)"),
    EF(loss, "dev loss"),
    EF(acc, "dev accuracy"),
    EF(f1, "dev F1 (binary)"),
    EF(mcc, "dev Matthews correlation (binary)"),
    EF(macro_f1, "dev macro-F1 (multi-class)"),
    EF(pearson, "dev Pearson correlation (regression)"),
    EF(spearman, "dev Spearman correlation (regression)"),
};

size_t sm_field_count(void) { return sizeof fields / sizeof fields[0]; }

const sm_field_def *sm_field_at(size_t i) { return i < sm_field_count() ? &fields[i].def : NULL; }

int sm_field_lookup(const char *name)
{
    for (size_t i = 0; i < sm_field_count(); i++)
        if (!strcmp(fields[i].def.name, name))
            return (int)i;
    return -1;
}

double sm_field_value(int i, const sm_step_record *s, const sm_eval_record *ev)
{
    if (i < 0 || (size_t)i >= sm_field_count())
        return NAN;
    const field_entry *f = &fields[i];
    const void *base = f->def.source == SM_FIELD_STEP ? (const void *)s : (const void *)ev;
    if (!base)
        return NAN;
    const char *p = (const char *)base + f->offset;
    switch (f->kind) {
    case 'l': { int64_t v; memcpy(&v, p, sizeof v); return (double)v; }
    case 'i': { int v; memcpy(&v, p, sizeof v); return (double)v; }
    case 'e': { int v; memcpy(&v, p, sizeof v); return (double)v + 1; } /* stored 0-based */
    default: { double v; memcpy(&v, p, sizeof v); return v; }
    }
}

int sm_field_set(int i, sm_step_record *s, sm_eval_record *ev, double v)
{
    if (i < 0 || (size_t)i >= sm_field_count())
        return -1;
    const field_entry *f = &fields[i];
    void *base = f->def.source == SM_FIELD_STEP ? (void *)s : (void *)ev;
    if (!base)
        return -1;
    char *p = (char *)base + f->offset;
    if (f->kind != 'd' && !(v >= -2147483648.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v))
        return -1;
    switch (f->kind) {
    case 'l': { int64_t x = (int64_t)v; memcpy(p, &x, sizeof x); break; }
    case 'i': { int x = (int)v; memcpy(p, &x, sizeof x); break; }
    case 'e': { int x = (int)v - 1; memcpy(p, &x, sizeof x); break; }
    default: memcpy(p, &v, sizeof v); break;
    }
    return 0;
}

void sm_eval_record_init(sm_eval_record *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->loss = ev->acc = ev->f1 = ev->mcc = ev->macro_f1 = ev->pearson = ev->spearman = NAN;
}
