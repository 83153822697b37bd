/* console_fake.h: a pretend training session for the console's tests: a small state machine
 * (empty, idle, running, paused, at a breakpoint) that records the calls the commands make, so the
 * dispatcher and handlers are tested without the trainer. It trains nothing. */
#ifndef SMARTTY_TESTS_CONSOLE_FAKE_H
#define SMARTTY_TESTS_CONSOLE_FAKE_H

#include <string.h>

#include "console/console.h"
#include "smartty/data.h"
#include "smartty/session.h"

typedef struct fake_session {
    con_run_state state;
    int64_t step, unsaved;
    int has_model, has_train;
    int calls;               /* operations called */
    char last_op[32];
    int64_t last_count;      /* train/step count */
    int last_epochs;
    int last_apply;          /* resume */
    int last_id;             /* set_hparam */
    double last_value;
    int last_labels;         /* load_data: how many --labels */
    int snapshots;
    char snapshot[8][32];
    int64_t snapshot_step[8];
} fake_session;

#define FAKE_OP(name)                         \
    fake_session *f = ud;                     \
    f->calls++;                               \
    snprintf(f->last_op, sizeof f->last_op, "%s", name)

static sm_status fake_load_model(void *ud, const char *path, sm_error *e)
{
    FAKE_OP("load_model");
    if (strstr(path, "missing"))
        return sm_err(e, SM_ERR_IO, "%s: no such folder", path);
    f->has_model = 1;
    if (f->state == CON_RUN_EMPTY)
        f->state = CON_RUN_IDLE;
    return SM_OK;
}

static sm_status fake_new_model(void *ud, int argc, char *const *argv, sm_error *e)
{
    FAKE_OP("new_model");
    (void)argc, (void)argv, (void)e;
    f->has_model = 1;
    f->state = CON_RUN_IDLE;
    return SM_OK;
}

static sm_status fake_load_data(void *ud, const char *split, const char *path, const struct sm_data_opts *o,
                                sm_error *e)
{
    FAKE_OP("load_data");
    f->last_count = (int64_t)o->limit;
    f->last_labels = o->n_labels;
    if (strstr(path, "missing"))
        return sm_err(e, SM_ERR_IO, "%s: no such file", path);
    if (!strcmp(split, "train"))
        f->has_train = 1;
    return SM_OK;
}

static sm_status fake_set_hparam(void *ud, int id, double v, int64_t *at, sm_error *e)
{
    FAKE_OP("set_hparam");
    (void)e;
    f->last_id = id;
    f->last_value = v;
    *at = f->step;
    return SM_OK;
}

static sm_status fake_train(void *ud, int64_t n, int epochs, sm_error *e)
{
    FAKE_OP("train");
    if (!f->has_model)
        return sm_err(e, SM_ERR_STATE, "no model loaded (`load model PATH`)");
    f->last_count = n;
    f->last_epochs = epochs;
    f->state = CON_RUN_RUNNING;
    return SM_OK;
}

static sm_status fake_pause(void *ud, sm_error *e)
{
    FAKE_OP("pause");
    (void)e;
    f->step++;
    f->unsaved++;
    f->state = CON_RUN_PAUSED;
    return SM_OK;
}

static sm_status fake_resume(void *ud, int apply, sm_error *e)
{
    FAKE_OP("resume");
    (void)e;
    f->last_apply = apply;
    f->state = CON_RUN_RUNNING;
    return SM_OK;
}

static sm_status fake_step(void *ud, int64_t n, sm_error *e)
{
    FAKE_OP("step");
    if (!f->has_model)
        return sm_err(e, SM_ERR_STATE, "no model loaded");
    f->last_count = n;
    f->step += n;
    f->unsaved += n;
    f->state = CON_RUN_PAUSED;
    return SM_OK;
}

static sm_status fake_eval(void *ud, sm_eval_record *out, sm_error *e)
{
    FAKE_OP("eval");
    if (!f->has_model)
        return sm_err(e, SM_ERR_STATE, "no model loaded");
    out->step = f->step;
    out->n = 10;
    out->acc = 0.5;
    return SM_OK;
}

static sm_status fake_stop(void *ud, sm_error *e)
{
    FAKE_OP("stop");
    (void)e;
    f->state = CON_RUN_IDLE;
    return SM_OK;
}

static sm_status fake_snapshot(void *ud, const char *name, sm_error *e)
{
    FAKE_OP("snapshot");
    if (f->snapshots == 8)
        return sm_err(e, SM_ERR_RANGE, "too many snapshots");
    snprintf(f->snapshot[f->snapshots], 32, "%s", name);
    f->snapshot_step[f->snapshots++] = f->step;
    return SM_OK;
}

static sm_status fake_rewind(void *ud, const char *name, int64_t *step, sm_error *e)
{
    FAKE_OP("rewind");
    for (int i = 0; i < f->snapshots; i++)
        if (!strcmp(f->snapshot[i], name)) {
            f->step = *step = f->snapshot_step[i];
            f->state = CON_RUN_PAUSED;
            return SM_OK;
        }
    return sm_err(e, SM_ERR_NOTFOUND, "no snapshot '%s'", name);
}

static sm_status fake_save(void *ud, const char *dir, sm_error *e)
{
    FAKE_OP("save");
    (void)dir, (void)e;
    f->unsaved = 0;
    return SM_OK;
}

static sm_status fake_path_op(void *ud, const char *path, sm_error *e)
{
    FAKE_OP("path_op");
    (void)path, (void)e;
    return SM_OK;
}

static sm_status fake_predict(void *ud, const char *a, const char *b, char *out, size_t cap, sm_error *e)
{
    FAKE_OP("predict");
    (void)e;
    f->last_count = (int64_t)strlen(a); /* the text arrives whole */
    snprintf(out, cap, "a=[%s] b=[%s]", a, b ? b : "(none)");
    return SM_OK;
}

static sm_status fake_show(void *ud, const char *what, con_ctx *c, sm_error *e)
{
    FAKE_OP("show");
    (void)e;
    con_print(c, "fake %s", what);
    return SM_OK;
}

static sm_status fake_journal(void *ud, const char *op, int argc, const char *const *argv, sm_error *e)
{
    FAKE_OP(op);
    (void)argc, (void)argv, (void)e;
    return SM_OK;
}

static void fake_status(void *ud, con_status *st)
{
    fake_session *f = ud;
    st->state = f->state;
    st->step = f->step;
    st->unsaved = f->unsaved;
    st->has_step = f->step > 0;
    st->last.step = f->step;
    st->last.loss = 0.5;
}

/* Each wait lets the pretend run finish one step, and stop after reaching 5 steps in this run. */
static void fake_wait(void *ud, double timeout)
{
    fake_session *f = ud;
    (void)timeout;
    if (f->state == CON_RUN_RUNNING || f->state == CON_RUN_STEPPING) {
        f->step++;
        f->unsaved++;
        if (f->step % 5 == 0)
            f->state = CON_RUN_DONE;
    }
}

/* The snapshots taken, and a branch "main" plus "NAME.1" for each: what completion offers. */
static size_t fake_snapshot_list(void *ud, sm_snapshot_info **out)
{
    fake_session *f = ud;
    *out = calloc((size_t)f->snapshots + 1, sizeof **out);
    for (int i = 0; *out && i < f->snapshots; i++)
        snprintf((*out)[i].name, sizeof (*out)[i].name, "%s", f->snapshot[i]);
    return *out ? (size_t)f->snapshots : 0;
}

static size_t fake_branches(void *ud, sm_branch_info **out)
{
    fake_session *f = ud;
    *out = calloc((size_t)f->snapshots + 1, sizeof **out);
    if (!*out)
        return 0;
    snprintf((*out)[0].name, sizeof (*out)[0].name, "main");
    for (int i = 0; i < f->snapshots; i++)
        snprintf((*out)[i + 1].name, sizeof (*out)[i + 1].name, "%s.1", f->snapshot[i]);
    return (size_t)f->snapshots + 1;
}

static const con_backend fake_backend = {
    .load_model = fake_load_model,
    .new_model = fake_new_model,
    .load_data = fake_load_data,
    .set_hparam = fake_set_hparam,
    .train = fake_train,
    .pause = fake_pause,
    .resume = fake_resume,
    .step = fake_step,
    .eval = fake_eval,
    .stop = fake_stop,
    .snapshot = fake_snapshot,
    .rewind = fake_rewind,
    .save = fake_save,
    .export_metrics = fake_path_op,
    .replay = fake_path_op,
    .predict = fake_predict,
    .show = fake_show,
    .status = fake_status,
    .journal = fake_journal,
    .wait = fake_wait,
    .snapshots = fake_snapshot_list,
    .branches = fake_branches,
};

/* A console over a fresh pretend session f, writing to out; `train` does not wait for its steps. */
static inline void fake_console(con_ctx *c, fake_session *f, con_out_fn out)
{
    memset(f, 0, sizeof *f);
    con_init(c, out, NULL);
    con_set_backend(c, &fake_backend, f);
    c->set.train_wait = 0;
}

#endif
