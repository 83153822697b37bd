/* toy_backend.c: a tiny but real training backend for the session's tests: logistic regression on
 * a fixed synthetic data set, with a shuffled data order per epoch, random feature dropout, SGD
 * with momentum and a mean teacher, so that every piece of state a session must keep (weights,
 * moments, teacher, RNG, data position) exists and matters. Not a model of BERT. */
#include "toy_backend.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOY_N 50 /* examples */
#define TOY_D 6  /* features */

typedef struct toy {
    float x[TOY_N][TOY_D];
    int y[TOY_N];
    float w[TOY_D + 1];       /* weights and bias */
    float g[TOY_D + 1];       /* gradient of the computed step */
    float m[TOY_D + 1];       /* momentum */
    float teacher[TOY_D + 1];
    sm_hparams hp;
    uint64_t epoch, index;    /* data position */
    uint32_t order[TOY_N];
    sm_rng noise;             /* feature dropout */
    int64_t t;                /* updates applied */
    int computed;
    int batch_n;
    int64_t nan_at;           /* poison the gradient of this compute call (1-based), 0 none */
    int64_t nan_from;         /* ... and of every call from this one on, 0 none */
    int64_t computes;
    atomic_int hold_eval;     /* evaluations wait (reporting progress 0) while this is set */
} toy;

static void draw_order(toy *t)
{
    sm_rng r;
    sm_rng_seed(&r, (uint64_t)t->hp.v[SM_HP_SEED] * 1000003u + t->epoch);
    for (uint32_t i = 0; i < TOY_N; i++)
        t->order[i] = i;
    sm_rng_shuffle(&r, t->order, TOY_N);
}

static sm_status toy_prepare(void *ctx, const sm_hparams *hp, sm_error *e)
{
    (void)e;
    toy *t = ctx;
    t->hp = *hp;
    memcpy(t->teacher, t->w, sizeof t->w);
    memset(t->m, 0, sizeof t->m);
    t->t = 0;
    t->epoch = t->index = 0;
    sm_rng_seed(&t->noise, (uint64_t)hp->v[SM_HP_SEED]);
    draw_order(t);
    t->computed = 0;
    return SM_OK;
}

static sm_status toy_set_hparams(void *ctx, const sm_hparams *hp, sm_error *e)
{
    (void)e;
    ((toy *)ctx)->hp = *hp;
    return SM_OK;
}

static int batch_size(const toy *t)
{
    int b = (int)t->hp.v[SM_HP_BATCH_SIZE];
    return b < 1 ? 1 : b > TOY_N ? TOY_N : b;
}

static int64_t toy_planned(void *ctx, const sm_hparams *hp)
{
    toy *t = ctx;
    if (hp->v[SM_HP_MAX_STEPS] > 0)
        return (int64_t)hp->v[SM_HP_MAX_STEPS];
    int b = (int)hp->v[SM_HP_BATCH_SIZE];
    (void)t;
    b = b < 1 ? 1 : b > TOY_N ? TOY_N : b;
    return (int64_t)hp->v[SM_HP_EPOCHS] * ((TOY_N + b - 1) / b);
}

static int64_t toy_epoch_steps(void *ctx, const sm_hparams *hp)
{
    (void)ctx;
    int b = (int)hp->v[SM_HP_BATCH_SIZE];
    b = b < 1 ? 1 : b > TOY_N ? TOY_N : b;
    return (TOY_N + b - 1) / b;
}

static double forward(const toy *t, const float *x, const float *keep)
{
    double z = t->w[TOY_D];
    for (int d = 0; d < TOY_D; d++)
        z += t->w[d] * x[d] * (keep ? keep[d] : 1.0f);
    return z;
}

static sm_status toy_compute(void *ctx, sm_step_record *rec, int *epoch_end, sm_error *e)
{
    (void)e;
    toy *t = ctx;
    int B = batch_size(t);
    memset(t->g, 0, sizeof t->g);
    double loss = 0;
    int n = 0;
    double p_drop = t->hp.v[SM_HP_DROPOUT];
    for (; n < B && t->index < TOY_N; n++, t->index++) {
        uint32_t i = t->order[t->index];
        float keep[TOY_D];
        for (int d = 0; d < TOY_D; d++)
            keep[d] = sm_rng_uniform(&t->noise) < p_drop ? 0.0f : (float)(1.0 / (1.0 - p_drop));
        double z = forward(t, t->x[i], keep), p = 1.0 / (1.0 + exp(-z));
        loss += t->y[i] ? -log(p + 1e-12) : -log(1 - p + 1e-12);
        double dz = p - t->y[i];
        for (int d = 0; d < TOY_D; d++)
            t->g[d] += (float)(dz * t->x[i][d] * keep[d] / B);
        t->g[TOY_D] += (float)(dz / B);
    }
    t->computes++;
    if ((t->nan_at && t->computes == t->nan_at) || (t->nan_from && t->computes >= t->nan_from))
        t->g[0] = NAN;
    double gn = 0;
    for (int d = 0; d <= TOY_D; d++)
        gn += (double)t->g[d] * t->g[d];
    rec->epoch = (int)t->epoch;
    rec->loss = loss / n;
    rec->total = rec->loss + t->hp.v[SM_HP_LAMBDA_S] * 0.0;
    rec->grad_norm = sqrt(gn);
    rec->lr = t->hp.v[SM_HP_LR];
    rec->batch_size = n;
    rec->examples_per_s = 1000;
    t->batch_n = n;
    *epoch_end = t->index >= TOY_N;
    if (*epoch_end) {
        t->epoch++;
        t->index = 0;
        draw_order(t);
    }
    t->computed = 1;
    return SM_OK;
}

static sm_status toy_apply(void *ctx, sm_step_record *rec, sm_error *e)
{
    toy *t = ctx;
    if (!t->computed)
        return sm_err(e, SM_ERR_STATE, "toy: apply without compute");
    t->computed = 0;
    if (!isfinite(rec->grad_norm)) {
        rec->skipped = 1;
        return SM_OK;
    }
    double lr = t->hp.v[SM_HP_LR], beta = t->hp.v[SM_HP_BETA];
    for (int d = 0; d <= TOY_D; d++) {
        t->m[d] = 0.9f * t->m[d] + t->g[d];
        t->w[d] -= (float)(lr * t->m[d]);
        t->teacher[d] = (float)(beta * t->teacher[d] + (1 - beta) * t->w[d]);
    }
    t->t++;
    return SM_OK;
}

static void toy_discard(void *ctx) { ((toy *)ctx)->computed = 0; }

static sm_status toy_eval(void *ctx, sm_eval_record *ev, const sm_progress *progress, sm_error *e)
{
    toy *t = ctx;
    for (int ms = 0;; ms++) { /* held: at most 20 s, then it runs (a test waiting on it fails, not hangs) */
        if (progress && progress->fn && progress->fn(progress->ud, 0, TOY_N))
            return sm_err(e, SM_ERR_CANCELLED, "evaluation interrupted after 0 of %d rows", TOY_N);
        if (!atomic_load(&t->hold_eval) || ms >= 20000)
            break;
        usleep(1000);
    }
    int right = 0;
    double loss = 0;
    for (int i = 0; i < TOY_N; i++) {
        double p = 1.0 / (1.0 + exp(-forward(t, t->x[i], NULL)));
        right += (p > 0.5) == (t->y[i] == 1);
        loss += t->y[i] ? -log(p + 1e-12) : -log(1 - p + 1e-12);
    }
    ev->n = TOY_N;
    ev->acc = (double)right / TOY_N;
    ev->loss = loss / TOY_N;
    return SM_OK;
}

static size_t toy_tensor_count(void *ctx)
{
    (void)ctx;
    return 3;
}

static void toy_tensor_at(void *ctx, size_t i, sm_state_tensor *out)
{
    toy *t = ctx;
    static const char *names[] = {"weights", "momentum", "teacher"};
    float *arrs[] = {t->w, t->m, t->teacher};
    out->name = names[i];
    out->data = arrs[i];
    out->n = TOY_D + 1;
    out->in_model = i == 0;
}

static json_t *rng_json(const sm_rng *r)
{
    json_t *a = json_array();
    for (int i = 0; i < 4; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%016" PRIx64, r->s[i]);
        json_array_append_new(a, json_string(buf));
    }
    json_array_append_new(a, json_real(r->spare));
    json_array_append_new(a, json_integer(r->has_spare));
    return a;
}

static char *toy_state_to_json(void *ctx)
{
    toy *t = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "epoch", json_integer((json_int_t)t->epoch));
    json_object_set_new(o, "index", json_integer((json_int_t)t->index));
    json_object_set_new(o, "t", json_integer((json_int_t)t->t));
    json_object_set_new(o, "noise", rng_json(&t->noise));
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

static sm_status toy_state_from_json(void *ctx, const char *text, sm_error *e)
{
    toy *t = ctx;
    json_t *o = json_loads(text, 0, NULL), *a = o ? json_object_get(o, "noise") : NULL;
    if (!o || json_array_size(a) != 6) {
        json_decref(o);
        return sm_err(e, SM_ERR_FORMAT, "toy: bad state");
    }
    t->epoch = (uint64_t)json_integer_value(json_object_get(o, "epoch"));
    t->index = (uint64_t)json_integer_value(json_object_get(o, "index"));
    t->t = (int64_t)json_integer_value(json_object_get(o, "t"));
    for (int i = 0; i < 4; i++)
        t->noise.s[i] = strtoull(json_string_value(json_array_get(a, (size_t)i)), NULL, 16);
    t->noise.spare = json_number_value(json_array_get(a, 4));
    t->noise.has_spare = (int)json_integer_value(json_array_get(a, 5));
    draw_order(t);
    t->computed = 0;
    json_decref(o);
    return SM_OK;
}

static sm_status toy_save_model(void *ctx, const char *dir, sm_error *e)
{
    toy *t = ctx;
    char p[4400];
    return sm_write_file_atomic(sm_path_join(p, sizeof p, dir, "model.bin"), t->w, sizeof t->w, e);
}

static void toy_free(void *ctx) { free(ctx); }

sm_status toy_backend(sm_session_backend *be, const char *model_dir, sm_error *e)
{
    toy *t = calloc(1, sizeof *t);
    if (!t)
        return sm_err(e, SM_ERR_NOMEM, "toy: out of memory");
    atomic_init(&t->hold_eval, 0);
    sm_rng r;
    sm_rng_seed(&r, 12345);
    for (int i = 0; i < TOY_N; i++) {
        double s = 0;
        for (int d = 0; d < TOY_D; d++) {
            t->x[i][d] = (float)sm_rng_normal(&r);
            s += (d % 2 ? -0.7 : 1.0) * t->x[i][d];
        }
        t->y[i] = s + 0.3 * sm_rng_normal(&r) > 0;
    }
    for (int d = 0; d <= TOY_D; d++)
        t->w[d] = (float)(0.01 * sm_rng_normal(&r));
    if (model_dir) {
        char p[4400], *data;
        size_t len;
        sm_status st = sm_read_file(sm_path_join(p, sizeof p, model_dir, "model.bin"), &data, &len, 0, e);
        if (st != SM_OK) {
            free(t);
            return st;
        }
        if (len != sizeof t->w) {
            free(data);
            free(t);
            return sm_err(e, SM_ERR_FORMAT, "%s: wrong size", p);
        }
        memcpy(t->w, data, len);
        free(data);
    }
    memset(be, 0, sizeof *be);
    be->ctx = t;
    be->prepare = toy_prepare;
    be->set_hparams = toy_set_hparams;
    be->planned_steps = toy_planned;
    be->epoch_steps = toy_epoch_steps;
    be->compute = toy_compute;
    be->apply = toy_apply;
    be->discard = toy_discard;
    be->eval = toy_eval;
    be->tensor_count = toy_tensor_count;
    be->tensor_at = toy_tensor_at;
    be->state_to_json = toy_state_to_json;
    be->state_from_json = toy_state_from_json;
    be->save_model = toy_save_model;
    be->free = toy_free;
    return SM_OK;
}

void toy_poison(sm_session_backend *be, int64_t compute_call) { ((toy *)be->ctx)->nan_at = compute_call; }
void toy_poison_from(sm_session_backend *be, int64_t compute_call) { ((toy *)be->ctx)->nan_from = compute_call; }
void toy_hold_eval(sm_session_backend *be, int on) { atomic_store(&((toy *)be->ctx)->hold_eval, on); }

void toy_hparams(sm_hparams *hp)
{
    sm_hparams_default(hp);
    hp->v[SM_HP_BATCH_SIZE] = 8;
    hp->v[SM_HP_LR] = 0.1;
    hp->v[SM_HP_DROPOUT] = 0.2;
    hp->v[SM_HP_EPOCHS] = 3;
    hp->v[SM_HP_EVAL_EVERY] = 0;
}
