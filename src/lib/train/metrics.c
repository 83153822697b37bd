/* metrics.c: evaluation metrics computed from predictions (accuracy, binary F1 and MCC, macro-F1,
 * Pearson and Spearman) and the accumulator that gathers predictions over a dev set. It does not run
 * the model: sm_trainer_eval_batch feeds it logits. */
#include "smartty/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double sm_metric_accuracy(const int *pred, const int *gold, size_t n)
{
    if (!n)
        return NAN;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += pred[i] == gold[i];
    return (double)ok / (double)n;
}

static double f1_of_class(const int *pred, const int *gold, size_t n, int c)
{
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pred[i] == c, g = gold[i] == c;
        tp += p && g;
        fp += p && !g;
        fn += !p && g;
    }
    double d = 2 * tp + fp + fn;
    return d > 0 ? 2 * tp / d : 0.0;
}

double sm_metric_f1_binary(const int *pred, const int *gold, size_t n)
{
    return n ? f1_of_class(pred, gold, n, 1) : NAN;
}

double sm_metric_mcc(const int *pred, const int *gold, size_t n)
{
    if (!n)
        return NAN;
    double tp = 0, tn = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pred[i] == 1, g = gold[i] == 1;
        tp += p && g;
        tn += !p && !g;
        fp += p && !g;
        fn += !p && g;
    }
    double d = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
    return d > 0 ? (tp * tn - fp * fn) / sqrt(d) : 0.0;
}

double sm_metric_macro_f1(const int *pred, const int *gold, size_t n, int k)
{
    if (!n || k < 1)
        return NAN;
    double s = 0;
    for (int c = 0; c < k; c++)
        s += f1_of_class(pred, gold, n, c);
    return s / k;
}

double sm_metric_pearson(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (!(sxx > 0) || !(syy > 0))
        return NAN;
    return sxy / sqrt(sxx * syy);
}

typedef struct rank_item {
    double v;
    size_t i;
} rank_item;

static int rank_cmp(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

sm_status sm_metric_ranks(const double *x, size_t n, double *r, sm_error *e)
{
    if (!n)
        return SM_OK;
    rank_item *it = sm_malloc(n * sizeof *it, e, "ranks");
    if (!it)
        return SM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        it[i].v = x[i];
        it[i].i = i;
    }
    qsort(it, n, sizeof *it, rank_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && it[b].v == it[a].v)
            b++;
        double avg = 0.5 * (double)(a + 1 + b); /* mean of ranks a+1 .. b */
        for (size_t j = a; j < b; j++)
            r[it[j].i] = avg;
        a = b;
    }
    free(it);
    return SM_OK;
}

double sm_metric_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double *rx = sm_malloc(2 * n * sizeof *rx, NULL, "ranks");
    if (!rx)
        return NAN;
    double *ry = rx + n, out = NAN;
    if (sm_metric_ranks(x, n, rx, NULL) == SM_OK && sm_metric_ranks(y, n, ry, NULL) == SM_OK)
        out = sm_metric_pearson(rx, ry, n);
    free(rx);
    return out;
}

void sm_eval_acc_init(sm_eval_acc *a, int num_labels)
{
    memset(a, 0, sizeof *a);
    a->num_labels = num_labels;
}

void sm_eval_acc_free(sm_eval_acc *a)
{
    free(a->pred);
    free(a->gold);
    free(a->score);
    free(a->target);
    memset(a, 0, sizeof *a);
}

void sm_eval_acc_clear(sm_eval_acc *a)
{
    a->n = 0;
    a->loss_sum = 0;
}

static sm_status grow(sm_eval_acc *a, size_t need, sm_error *e)
{
    if (need <= a->cap)
        return SM_OK;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < need)
        cap *= 2;
    int *p = realloc(a->pred, cap * sizeof *p);
    if (p)
        a->pred = p;
    int *g = p ? realloc(a->gold, cap * sizeof *g) : NULL;
    if (g)
        a->gold = g;
    double *s = g ? realloc(a->score, cap * sizeof *s) : NULL;
    if (s)
        a->score = s;
    double *t = s ? realloc(a->target, cap * sizeof *t) : NULL;
    if (!t)
        return sm_err(e, SM_ERR_NOMEM, "out of memory collecting %zu predictions", need);
    a->target = t;
    a->cap = cap;
    return SM_OK;
}

sm_status sm_eval_acc_add(sm_eval_acc *a, const float *logits, int B, const int32_t *labels,
                          const float *targets, double loss_sum, sm_error *e)
{
    int C = a->num_labels;
    if (C < 1)
        return sm_err(e, SM_ERR_INVALID, "evaluation: num_labels is %d", C);
    if (C == 1 ? !targets : !labels)
        return sm_err(e, SM_ERR_INVALID, "evaluation: the batch has no %s",
                      C == 1 ? "regression targets" : "labels");
    sm_status st = grow(a, a->n + (size_t)B, e);
    if (st != SM_OK)
        return st;
    for (int b = 0; b < B; b++) {
        size_t k = a->n + (size_t)b;
        const float *z = logits + (size_t)b * (size_t)C;
        if (C == 1) {
            a->score[k] = z[0];
            a->target[k] = targets[b];
            a->pred[k] = a->gold[k] = 0;
        } else {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (z[c] > z[best])
                    best = c;
            a->pred[k] = best;
            a->gold[k] = labels[b];
            a->score[k] = a->target[k] = 0;
        }
    }
    a->n += (size_t)B;
    a->loss_sum += loss_sum;
    return SM_OK;
}

sm_status sm_eval_acc_finish(const sm_eval_acc *a, sm_eval_record *ev, sm_error *e)
{
    (void)e;
    ev->acc = ev->f1 = ev->mcc = ev->macro_f1 = ev->pearson = ev->spearman = NAN;
    ev->n = (int)a->n;
    ev->loss = a->n ? a->loss_sum / (double)a->n : NAN;
    if (!a->n)
        return SM_OK;
    if (a->num_labels == 1) {
        ev->pearson = sm_metric_pearson(a->score, a->target, a->n);
        ev->spearman = sm_metric_spearman(a->score, a->target, a->n);
    } else {
        ev->acc = sm_metric_accuracy(a->pred, a->gold, a->n);
        if (a->num_labels == 2) {
            ev->f1 = sm_metric_f1_binary(a->pred, a->gold, a->n);
            ev->mcc = sm_metric_mcc(a->pred, a->gold, a->n);
        } else {
            ev->macro_f1 = sm_metric_macro_f1(a->pred, a->gold, a->n, a->num_labels);
        }
    }
    return SM_OK;
}
