/* trainer.c: one SMART training step on the BERT engine, split into compute (every pass the weights
 * call for, gradients accumulated, a step record) and apply (clip, optimizer, mean teacher), plus
 * evaluation batches. No threads, queues or files: the session drives it and saves its state. */
#include "smartty/smart.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/data.h"
#include "smartty/model.h"

/* "SMART" in ASCII: the label that separates the trainer's streams from other users of the seed. */
#define TRAINER_STREAM_LABEL 0x534d415254ULL

void sm_train_stream(const sm_rng *base, int64_t step, unsigned pass, sm_rng *out)
{
    sm_rng_derive(out, base, (uint64_t)step * 1024u + pass);
}

static void seed_state(sm_trainer *t)
{
    sm_rng root;
    sm_rng_seed(&root, (uint64_t)t->hp.v[SM_HP_SEED]);
    sm_rng_derive(&t->st.rng, &root, TRAINER_STREAM_LABEL);
}

static void free_workspaces(sm_trainer *t)
{
    sm_bert_acts_free(t->clean_ws);
    sm_bert_acts_free(t->adv_ws);
    sm_bert_acts_free(t->infer_ws);
    t->clean_ws = t->adv_ws = t->infer_ws = NULL;
    t->shared_layers = 0;
    sm_free_aligned(t->delta);
    sm_free_aligned(t->gdelta); /* dx_adv is the same buffer */
    sm_free_aligned(t->dx);
    sm_free_aligned(t->clean_logits);
    sm_free_aligned(t->teacher_logits);
    sm_free_aligned(t->dclean);
    sm_free_aligned(t->dadv);
    t->delta = t->gdelta = t->dx = t->dx_adv = NULL;
    t->clean_logits = t->teacher_logits = t->dclean = t->dadv = NULL;
}

sm_status sm_trainer_teacher_alloc(sm_trainer *t, sm_error *e)
{
    if (t->teacher)
        return SM_OK;
    t->teacher = sm_alloc_floats(t->n_params, e, "teacher weights");
    return t->teacher ? SM_OK : SM_ERR_NOMEM;
}

/* The teacher starts as a copy of theta (at the start of fine-tuning, or when mu is first turned on). */
static sm_status teacher_ensure(sm_trainer *t, sm_error *e)
{
    if (t->teacher)
        return SM_OK;
    sm_status st = sm_trainer_teacher_alloc(t, e);
    if (st == SM_OK)
        memcpy(t->teacher, sm_bert_weights(t->model), t->n_params * sizeof *t->teacher);
    return st;
}

sm_status sm_trainer_init(sm_trainer *t, sm_bert *m, const sm_hparams *hp, int64_t planned,
                          sm_error *e)
{
    memset(t, 0, sizeof *t);
    sm_status st = sm_bert_grads_alloc(m, e);
    if (st != SM_OK)
        return st;
    const sm_bert_config *cfg = sm_bert_config_get(m);
    t->model = m;
    t->hp = *hp;
    t->n_params = sm_bert_numel(m);
    t->num_labels = cfg->num_labels;
    t->hidden = cfg->hidden_size;
    t->st.planned = planned;
    t->smart_memory = SM_SMART_MEMORY;
    int cap_t = (int)hp->v[SM_HP_MAX_LEN];
    t->cap_B = (int)hp->v[SM_HP_BATCH_SIZE];
    t->cap_T = cap_t < cfg->max_position ? cap_t : cfg->max_position;
    seed_state(t);

    int nt = sm_bert_tensor_count(m);
    sm_param_segment *segs = sm_calloc((size_t)(nt > 0 ? nt : 1), sizeof *segs, e, "optimizer segments");
    if (!segs)
        return SM_ERR_NOMEM;
    for (int i = 0; i < nt; i++) {
        const sm_tensor_info *ti = sm_bert_tensor(m, i);
        segs[i] = (sm_param_segment){ti->offset, ti->numel, ti->decay};
    }
    st = sm_optim_init(&t->opt, t->n_params, segs, (size_t)nt, e);
    free(segs);
    if (st == SM_OK && hp->v[SM_HP_MU] > 0)
        st = teacher_ensure(t, e);
    if (st != SM_OK)
        sm_trainer_free(t);
    return st;
}

/* What sm_trainer_init would make, on the arenas t already has when it is bound to the same model (the
 * caller says so: a model freed and made again may come back at the same address): the moments
 * zeroed, the teacher a copy of theta (or none), the streams seeded again, the workspaces kept when
 * they have the shape init would give them. A rewind prepares the trainer again for every variant of
 * an `explore`; this spares it the page faults of fresh arenas. The numbers are those of a fresh
 * init (the workspaces hold nothing from one call to the next). */
sm_status sm_trainer_reinit(sm_trainer *t, const sm_hparams *hp, int64_t planned, sm_error *e)
{
    sm_bert *m = t->model;
    const sm_bert_config *cfg = sm_bert_config_get(m);
    int cap_t = (int)hp->v[SM_HP_MAX_LEN];
    if (cap_t > cfg->max_position)
        cap_t = cfg->max_position;
    if (t->n_params != sm_bert_numel(m) || t->num_labels != cfg->num_labels || t->hidden != cfg->hidden_size ||
        t->opt.n != t->n_params || !t->opt.m) {
        sm_trainer_free(t);
        return sm_trainer_init(t, m, hp, planned, e);
    }
    if (t->cap_B != (int)hp->v[SM_HP_BATCH_SIZE] || t->cap_T != cap_t || t->smart_memory != SM_SMART_MEMORY) {
        free_workspaces(t);
        t->cap_B = (int)hp->v[SM_HP_BATCH_SIZE];
        t->cap_T = cap_t;
        t->smart_memory = SM_SMART_MEMORY;
    }
    t->hp = *hp;
    memset(&t->st, 0, sizeof t->st);
    t->st.planned = planned;
    t->phase = SM_PHASE_IDLE;
    memset(&t->pending, 0, sizeof t->pending);
    t->pending_tokens = 0;
    seed_state(t);
    sm_optim_reset(&t->opt);
    if (hp->v[SM_HP_MU] > 0) {
        if (!t->teacher && sm_trainer_teacher_alloc(t, e) != SM_OK) {
            sm_trainer_free(t);
            return SM_ERR_NOMEM;
        }
        memcpy(t->teacher, sm_bert_weights(m), t->n_params * sizeof *t->teacher);
    } else {
        sm_free_aligned(t->teacher);
        t->teacher = NULL;
    }
    return SM_OK;
}

void sm_trainer_free(sm_trainer *t)
{
    free_workspaces(t);
    sm_optim_free(&t->opt);
    sm_free_aligned(t->teacher);
    memset(t, 0, sizeof *t);
}

sm_status sm_trainer_set_hparams(sm_trainer *t, const sm_hparams *hp, sm_error *e)
{
    if (t->phase == SM_PHASE_COMPUTED)
        return sm_err(e, SM_ERR_STATE,
                      "hyperparameters cannot change between a step's compute and apply: apply it first");
    int started = t->st.step > 0;
    if (started && hp->v[SM_HP_SEED] != t->hp.v[SM_HP_SEED])
        return sm_err(e, SM_ERR_STATE, "seed cannot change once training has started (step %lld)",
                      (long long)t->st.step);
    if (started && hp->v[SM_HP_OPTIMIZER] != t->hp.v[SM_HP_OPTIMIZER])
        return sm_err(e, SM_ERR_STATE,
                      "optimizer cannot change once training has started (its moments mean different "
                      "things): start a new run");
    if (hp->v[SM_HP_MU] > 0) {
        sm_status st = teacher_ensure(t, e);
        if (st != SM_OK)
            return st;
    }
    int reseed = hp->v[SM_HP_SEED] != t->hp.v[SM_HP_SEED];
    t->hp = *hp;
    if (reseed)
        seed_state(t);
    return SM_OK;
}

void sm_trainer_set_planned(sm_trainer *t, int64_t planned) { t->st.planned = planned; }

double sm_trainer_lr(const sm_trainer *t)
{
    int64_t wu = sm_warmup_steps(t->hp.v[SM_HP_WARMUP], t->st.planned);
    return t->hp.v[SM_HP_LR] *
           sm_lr_factor((sm_lr_schedule)(int)t->hp.v[SM_HP_SCHEDULE], t->st.step, wu, t->st.planned);
}

/* The fewest top layers the clean workspace takes from the adversarial one (which also lends it its
 * backward scratch) for a SMART step -- the teacher counted whether or not mu is on yet, and the
 * perturbation, its gradient and the input gradient -- to fit t->smart_memory x a vanilla step (the
 * weights, gradients, Adam moments, one store workspace and the input gradient).
 * Each shared layer costs one layer's forward again before the clean backward (1 / num_layers of an
 * encoder forward), so no more are shared than the budget needs. */
static int shared_layers(const sm_trainer *t, const sm_bert_acts *adv, size_t nx)
{
    const int L = sm_bert_config_get(t->model)->num_layers;
    const double p4 = 4.0 * (double)t->n_params, ws = (double)sm_bert_acts_bytes(adv), x4 = 4.0 * (double)nx;
    const double vanilla = 4 * p4 + ws + x4;
    for (int k = 0; k < L; k++)
        if (5 * p4 + 2 * ws - (double)sm_bert_acts_sharing_saves(adv, k) + 3 * x4 <= t->smart_memory * vanilla)
            return k;
    return L;
}

/* Make the buffers and the workspaces this batch needs (adversarial only when lambda_s > 0, the
 * inference one only for evaluation before any training step), growing all when the batch is larger.
 * Memory: a training step holds two store workspaces at most (clean, adversarial), and with the
 * adversarial one the clean one is made sharing its top shared_layers() layers and its backward
 * scratch (the adversarial backward is over before the clean backward, which first recomputes those
 * layers' clean activations: the same numbers); the teacher's forward and evaluation run on the
 * clean one, which is free at those times, and the probe's gradient and the adversarial input
 * gradient share one buffer (their lifetimes do not overlap). */
static sm_status ensure_workspaces(sm_trainer *t, const sm_batch *b, int need_clean, int need_adv,
                                   int need_infer, sm_error *e)
{
    if (b->B > t->cap_B || b->T > t->cap_T) {
        free_workspaces(t);
        if (b->B > t->cap_B)
            t->cap_B = b->B;
        if (b->T > t->cap_T)
            t->cap_T = b->T;
    }
    size_t nx = (size_t)t->cap_B * (size_t)t->cap_T * (size_t)t->hidden;
    size_t nl = (size_t)t->cap_B * (size_t)t->num_labels;
    sm_status st = SM_OK;
    if (need_adv && !t->adv_ws) {
        /* the clean workspace is remade sharing with the new one (nothing in it outlives a call) */
        sm_bert_acts_free(t->clean_ws);
        t->clean_ws = NULL;
        need_clean = 1;
        st = sm_bert_acts_create(&t->adv_ws, t->model, t->cap_B, t->cap_T, 1, e);
        if (st == SM_OK && !(t->delta = sm_alloc_floats(nx, e, "perturbation")))
            st = SM_ERR_NOMEM;
        if (st == SM_OK && !(t->gdelta = sm_alloc_floats(nx, e, "perturbation gradient")))
            st = SM_ERR_NOMEM;
        t->dx_adv = t->gdelta;
        if (st == SM_OK && !(t->dadv = sm_alloc_floats(nl, e, "adversarial logit gradient")))
            st = SM_ERR_NOMEM;
    }
    if (st == SM_OK && need_clean && !t->clean_ws) {
        if (t->adv_ws) {
            t->shared_layers = shared_layers(t, t->adv_ws, nx);
            st = sm_bert_acts_create_sharing(&t->clean_ws, t->model, t->adv_ws, t->shared_layers, e);
        } else {
            t->shared_layers = 0;
            st = sm_bert_acts_create(&t->clean_ws, t->model, t->cap_B, t->cap_T, 1, e);
        }
        if (st == SM_OK && !t->dx && !(t->dx = sm_alloc_floats(nx, e, "input gradient")))
            st = SM_ERR_NOMEM;
        if (st == SM_OK && !t->clean_logits && !(t->clean_logits = sm_alloc_floats(nl, e, "clean logits")))
            st = SM_ERR_NOMEM;
        if (st == SM_OK && !t->dclean && !(t->dclean = sm_alloc_floats(nl, e, "logit gradient")))
            st = SM_ERR_NOMEM;
        if (st == SM_OK && !t->teacher_logits && !(t->teacher_logits = sm_alloc_floats(nl, e, "teacher logits")))
            st = SM_ERR_NOMEM;
    }
    if (st == SM_OK && need_infer && !t->infer_ws)
        st = sm_bert_acts_create(&t->infer_ws, t->model, t->cap_B, t->cap_T, 0, e);
    if (st != SM_OK)
        free_workspaces(t);
    return st;
}

static int64_t batch_tokens(const sm_batch *b)
{
    int64_t n = 0;
    for (int i = 0; i < b->B; i++)
        n += b->lengths ? b->lengths[i] : b->T;
    return n;
}

/* The perturbation: random start, then adv_steps ascent steps, each a probe forward on the
 * adversarial workspace and a backward for d ell_s / d delta only (no parameter gradient).
 * Returns SM_ERR_NONFINITE when an ascent gradient is not finite (R_s is then skipped). */
static sm_status find_delta(sm_trainer *t, const sm_batch *b, const float *emb, sm_error *e)
{
    const sm_hparams *hp = &t->hp;
    sm_bert *m = t->model;
    const float *w = sm_bert_weights(m);
    int B = b->B, T = b->T, H = t->hidden, C = t->num_labels;
    sm_rng r;
    sm_train_stream(&t->st.rng, t->st.step, SM_STREAM_START, &r);
    sm_delta_init(t->delta, b->mask, B, T, H, hp->v[SM_HP_SIGMA], &r);
    int steps = (int)hp->v[SM_HP_ADV_STEPS];
    for (int k = 0; k < steps; k++) {
        sm_train_stream(&t->st.rng, t->st.step, SM_STREAM_PROBE + (unsigned)k, &r);
        sm_status st = sm_bert_encode(m, w, t->adv_ws, b, emb, t->delta, SM_BERT_TRAIN, &r, e);
        if (st != SM_OK)
            return st;
        memset(t->dadv, 0, (size_t)B * (size_t)C * sizeof *t->dadv);
        /* scale B: g_i is the gradient of example i's own ell_s (SMART.md), not of the batch mean;
         * it matters for adv_norm token, where eta * g is added to delta unnormalised */
        sm_ell_s(sm_bert_acts_logits(t->adv_ws), t->clean_logits, B, C, t->dadv, NULL, (double)B);
        st = sm_bert_backward(m, w, NULL, t->adv_ws, t->dadv, t->gdelta, e);
        if (st != SM_OK)
            return st;
        st = sm_delta_ascent(t->delta, t->gdelta, b->mask, B, T, H,
                             (sm_adv_norm)(int)hp->v[SM_HP_ADV_NORM], hp->v[SM_HP_ETA],
                             hp->v[SM_HP_EPS]);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

sm_status sm_trainer_compute(sm_trainer *t, const sm_batch *b, int epoch, sm_step_record *rec,
                             sm_error *e)
{
    if (t->phase == SM_PHASE_COMPUTED)
        return sm_err(e, SM_ERR_STATE, "a computed step is waiting: apply it before computing another");
    double t0 = sm_now();
    const sm_hparams *hp = &t->hp;
    double lambda = hp->v[SM_HP_LAMBDA_S], mu = hp->v[SM_HP_MU];
    int do_rs = lambda > 0, do_breg = mu > 0;
    sm_status st = ensure_workspaces(t, b, 1, do_rs, 0, e);
    if (st == SM_OK && do_breg)
        st = teacher_ensure(t, e);
    if (st != SM_OK)
        return st;
    sm_bert *m = t->model;
    const float *w = sm_bert_weights(m);
    float *g = sm_bert_grads(m);
    int B = b->B, C = t->num_labels;
    size_t nl = (size_t)B * (size_t)C, nx = (size_t)B * (size_t)b->T * (size_t)t->hidden;

    /* D_Breg's teacher, in eval mode, first: on the clean workspace, which the clean forward then
     * overwrites (no third workspace; the teacher's logits do not depend on anything below) */
    if (do_breg) {
        st = sm_bert_forward(m, t->teacher, t->clean_ws, b, SM_BERT_EVAL, NULL, e);
        if (st != SM_OK)
            return st;
        memcpy(t->teacher_logits, sm_bert_acts_logits(t->clean_ws), nl * sizeof *t->teacher_logits);
    }

    sm_step_record r;
    memset(&r, 0, sizeof r);
    r.step = t->st.step + 1;
    r.epoch = epoch;
    r.batch_size = B;
    r.lr = sm_trainer_lr(t);
    r.beta = sm_teacher_beta(hp, r.step, t->st.planned);

    /* clean branch (dropout) and the task loss */
    sm_bert_zero_grads(m);
    sm_rng rc;
    sm_train_stream(&t->st.rng, t->st.step, SM_STREAM_CLEAN, &rc);
    st = sm_bert_embed(m, w, t->clean_ws, b, SM_BERT_TRAIN, &rc, e);
    if (st == SM_OK)
        st = sm_bert_encode(m, w, t->clean_ws, b, NULL, NULL, SM_BERT_TRAIN, &rc, e);
    if (st != SM_OK)
        return st;
    memcpy(t->clean_logits, sm_bert_acts_logits(t->clean_ws), nl * sizeof *t->clean_logits);
    st = sm_bert_task_loss(m, t->clean_logits, b, &r.loss, t->dclean, e);
    if (st != SM_OK)
        return st;

    /* R_s: find delta, then the adversarial branch with the gradient into both branches */
    int adv_ran = 0;
    if (do_rs) {
        const float *emb = sm_bert_acts_emb(t->clean_ws);
        st = find_delta(t, b, emb, e);
        if (st == SM_ERR_NONFINITE) {
            r.rs_skipped = 1;
            st = SM_OK;
        } else if (st == SM_OK) {
            sm_rng ra;
            sm_train_stream(&t->st.rng, t->st.step, SM_STREAM_ADV, &ra);
            st = sm_bert_encode(m, w, t->adv_ws, b, emb, t->delta, SM_BERT_TRAIN, &ra, e);
            if (st == SM_OK) {
                memset(t->dadv, 0, nl * sizeof *t->dadv);
                r.rs_raw = sm_ell_s(sm_bert_acts_logits(t->adv_ws), t->clean_logits, B, C, t->dadv,
                                    t->dclean, lambda);
                r.rs = lambda * r.rs_raw;
                r.delta_norm = sm_delta_norm(t->delta, b->mask, B, b->T, t->hidden,
                                             (sm_adv_norm)(int)hp->v[SM_HP_ADV_NORM]);
                st = sm_bert_backward(m, w, g, t->adv_ws, t->dadv, t->dx_adv, e);
                adv_ran = 1;
            }
        }
        if (st != SM_OK)
            return st;
    }

    /* D_Breg against the teacher's logits (computed first), the gradient into the student only */
    if (do_breg) {
        r.breg_raw = sm_ell_s(t->clean_logits, t->teacher_logits, B, C, t->dclean, NULL, mu);
        r.breg = mu * r.breg_raw;
    }

    /* one backward through the clean branch with the summed dlogits, then the embeddings with the
     * sum of both branches' input gradients (delta is a constant: d x_adv = d x) */
    st = sm_bert_backward(m, w, g, t->clean_ws, t->dclean, t->dx, e);
    if (st != SM_OK)
        return st;
    if (adv_ran)
        for (size_t i = 0; i < nx; i++)
            t->dx[i] += t->dx_adv[i];
    st = sm_bert_embed_backward(m, w, g, t->clean_ws, t->dx, e);
    if (st != SM_OK)
        return st;

    r.total = r.loss + r.rs + r.breg;
    sm_par par = sm_bert_par(m);
    r.grad_norm = sm_grad_norm_par(g, t->n_params, &par);
    r.seconds = sm_now() - t0;
    t->pending_tokens = batch_tokens(b);
    t->pending = r;
    t->phase = SM_PHASE_COMPUTED;
    if (rec)
        *rec = r;
    return SM_OK;
}

sm_status sm_trainer_apply(sm_trainer *t, sm_step_record *rec, sm_error *e)
{
    if (t->phase != SM_PHASE_COMPUTED)
        return sm_err(e, SM_ERR_STATE, "no computed step to apply: compute one first");
    double t0 = sm_now();
    sm_step_record r = t->pending;
    const sm_hparams *hp = &t->hp;
    float *w = sm_bert_weights(t->model), *g = sm_bert_grads(t->model);
    /* the squared (clipped) gradient goes into Adam's second moment, in float: one that overflows
     * there would fill it with infinities (a state resume refuses), so it counts as non-finite */
    double eff = sm_clip_coef(r.grad_norm, hp->v[SM_HP_CLIP]) * r.grad_norm;
    int too_big = isfinite(r.grad_norm) && !(eff * eff < 0.25 * (double)FLT_MAX);
    if (isfinite(r.total) && isfinite(r.grad_norm) && !too_big) {
        /* clipping, AdamW and the teacher: flat passes over the arena on the engine's threads */
        sm_par par = sm_bert_par(t->model);
        sm_optim_params p = {(sm_optim_kind)(int)hp->v[SM_HP_OPTIMIZER], r.lr,
                             hp->v[SM_HP_ADAM_BETA1], hp->v[SM_HP_ADAM_BETA2],
                             hp->v[SM_HP_ADAM_EPS], hp->v[SM_HP_WEIGHT_DECAY]};
        sm_optim_step_par(&t->opt, &p, w, g, sm_clip_coef(r.grad_norm, hp->v[SM_HP_CLIP]), &par);
        if (t->teacher)
            sm_teacher_update_par(t->teacher, w, t->n_params, r.beta, &par);
    } else {
        r.skipped = 1;
        t->st.skipped++;
        sm_log(SM_LOG_WARN, "step %lld: non-finite %s, update skipped", (long long)r.step,
               too_big ? "optimizer state (the gradient's square overflows)"
               : isfinite(r.total) ? "gradient" : "loss");
    }
    if (r.rs_skipped)
        t->st.rs_skipped++;
    t->st.step++;
    r.seconds += sm_now() - t0;
    if (r.seconds > 0) {
        r.examples_per_s = r.batch_size / r.seconds;
        r.tokens_per_s = (double)t->pending_tokens / r.seconds;
    }
    t->pending = r;
    t->phase = SM_PHASE_IDLE;
    if (rec)
        *rec = r;
    return SM_OK;
}

sm_status sm_trainer_step(sm_trainer *t, const sm_batch *b, int epoch, sm_step_record *rec,
                          sm_error *e)
{
    sm_status st = sm_trainer_compute(t, b, epoch, NULL, e);
    return st == SM_OK ? sm_trainer_apply(t, rec, e) : st;
}

sm_status sm_trainer_eval_batch(sm_trainer *t, const sm_batch *b, sm_eval_acc *acc, sm_error *e)
{
    /* on the clean training workspace when there is one (the same kernels: the same numbers), so
     * that evaluating during training adds no workspace; else on an inference workspace */
    sm_status st = ensure_workspaces(t, b, 0, 0, 0, e);
    if (st == SM_OK && !t->clean_ws)
        st = ensure_workspaces(t, b, 0, 0, 1, e);
    if (st != SM_OK)
        return st;
    sm_bert *m = t->model;
    sm_bert_acts *ws = t->clean_ws ? t->clean_ws : t->infer_ws;
    st = sm_bert_forward(m, sm_bert_weights(m), ws, b, SM_BERT_EVAL, NULL, e);
    if (st == SM_OK) /* metrics of NaN outputs would be numbers that mean nothing */
        st = sm_bert_check_outputs(m, ws, b->B, e);
    if (st != SM_OK)
        return st;
    const float *logits = sm_bert_acts_logits(ws);
    double loss = 0;
    st = sm_bert_task_loss(m, logits, b, &loss, NULL, e);
    if (st != SM_OK)
        return st;
    return sm_eval_acc_add(acc, logits, b->B, b->labels, b->targets, loss * b->B, e);
}

sm_status sm_trainer_perturb(sm_trainer *t, const sm_batch *b, sm_error *e)
{
    if (t->phase == SM_PHASE_COMPUTED)
        return sm_err(e, SM_ERR_STATE, "a computed step is waiting: apply it first");
    sm_status st = ensure_workspaces(t, b, 1, 1, 0, e);
    if (st != SM_OK)
        return st;
    sm_bert *m = t->model;
    const float *w = sm_bert_weights(m);
    sm_rng rc;
    sm_train_stream(&t->st.rng, t->st.step, SM_STREAM_CLEAN, &rc);
    st = sm_bert_embed(m, w, t->clean_ws, b, SM_BERT_TRAIN, &rc, e);
    if (st == SM_OK)
        st = sm_bert_encode(m, w, t->clean_ws, b, NULL, NULL, SM_BERT_TRAIN, &rc, e);
    if (st != SM_OK)
        return st;
    memcpy(t->clean_logits, sm_bert_acts_logits(t->clean_ws),
           (size_t)b->B * (size_t)t->num_labels * sizeof *t->clean_logits);
    return find_delta(t, b, sm_bert_acts_emb(t->clean_ws), e);
}

void sm_trainer_cancel(sm_trainer *t) { t->phase = SM_PHASE_IDLE; }

size_t sm_trainer_bytes(const sm_trainer *t)
{
    size_t nx = (size_t)t->cap_B * (size_t)t->cap_T * (size_t)t->hidden;
    size_t nl = (size_t)t->cap_B * (size_t)t->num_labels;
    size_t n = 2 * t->opt.n * sizeof(float);
    if (t->teacher)
        n += t->n_params * sizeof(float);
    if (t->clean_ws)
        n += sm_bert_acts_bytes(t->clean_ws) + (nx + 3 * nl) * sizeof(float);
    if (t->adv_ws)
        n += sm_bert_acts_bytes(t->adv_ws) + (2 * nx + nl) * sizeof(float);
    if (t->infer_ws)
        n += sm_bert_acts_bytes(t->infer_ws);
    return n;
}

sm_status sm_trainer_evaluate(sm_trainer *t, const sm_dataset *ds, int batch_size, int32_t pad_id,
                              const sm_progress *progress, sm_eval_record *ev, sm_error *e)
{
    if (batch_size < 1)
        return sm_err(e, SM_ERR_INVALID, "evaluation batch size %d: must be at least 1", batch_size);
    if (!sm_dataset_has_labels(ds))
        return sm_err(e, SM_ERR_INVALID, "the evaluation set has no labels: nothing to score against");
    if (sm_dataset_is_regression(ds) != (t->num_labels == 1))
        return sm_err(e, SM_ERR_INVALID, "the evaluation set is %s but the model has %d labels",
                      sm_dataset_is_regression(ds) ? "a regression set" : "a classification set",
                      t->num_labels);
    double t0 = sm_now();
    size_t n = sm_dataset_size(ds);
    sm_batch b;
    memset(&b, 0, sizeof b);
    uint32_t *rows = sm_malloc((size_t)batch_size * sizeof *rows, e, "evaluation rows");
    if (!rows)
        return SM_ERR_NOMEM;
    sm_eval_acc acc;
    sm_eval_acc_init(&acc, t->num_labels);
    sm_status st = SM_OK;
    for (size_t start = 0; start < n && st == SM_OK; start += (size_t)batch_size) {
        if (progress && progress->fn && progress->fn(progress->ud, start, n)) {
            st = sm_err(e, SM_ERR_CANCELLED, "evaluation interrupted after %zu of %zu rows (nothing was recorded)",
                        start, n);
            break;
        }
        int k = n - start < (size_t)batch_size ? (int)(n - start) : batch_size;
        for (int i = 0; i < k; i++)
            rows[i] = (uint32_t)(start + (size_t)i);
        st = sm_batch_fill(&b, ds, rows, k, pad_id, e);
        if (st == SM_OK)
            st = sm_trainer_eval_batch(t, &b, &acc, e);
    }
    if (st == SM_OK) {
        st = sm_eval_acc_finish(&acc, ev, e);
        ev->step = t->st.step;
        ev->seconds = sm_now() - t0;
    }
    sm_eval_acc_free(&acc);
    sm_batch_free(&b);
    free(rows);
    return st;
}
