/* console_source.c: the dashboard's source over the console core: the header and knobs come from
 * con_status and the console's hyperparameters, commands go through con_exec_line, and the
 * console's output lines land in the event log. The step history is sampled from the session's
 * latest record at every tick (20 times a second or more), so the curves show every step when
 * training runs slower than that and a sample of the steps when it runs faster. It does not train
 * and owns no thread. */
#include "ui/console_source.h"

#include <stdlib.h>
#include <string.h>

#include "smartty/hparams.h"
#include "ui/chart.h"
#include "ui/dash.h"

struct ui_console {
    con_ctx *c;
    con_out_fn prev_out;
    void *prev_out_ud;
    const con_host *prev_host;
    void *prev_host_ud;
    con_host host;
    sm_step_record *steps;
    size_t n_steps, cap_steps;
    sm_eval_record *evals;
    size_t n_evals, cap_evals;
    int64_t cur_step;
};

static int hp_line(const char *text)
{
    char name[64];
    size_t n = strcspn(text, " =");
    if (n == 0 || n >= sizeof name || strncmp(text + n, " = ", 3))
        return 0;
    memcpy(name, text, n);
    name[n] = 0;
    return sm_hparam_lookup(name) >= 0;
}

static void out_fn(void *ud, con_out_kind kind, const char *text)
{
    ui_console *u = ud;
    int k;
    switch (kind) {
    case CON_OUT_RESULT: k = UI_LOG_OUTPUT; break;
    case CON_OUT_ERROR: k = UI_LOG_ERROR; break;
    case CON_OUT_PROGRESS: return; /* the header shows progress */
    case CON_OUT_EVENT:
        k = strstr(text, "breakpoint") || strstr(text, "paused before") ? UI_LOG_BREAK
            : strncmp(text, "warning", 7) == 0                          ? UI_LOG_WARN
                                                                        : UI_LOG_EVENT;
        break;
    default: k = hp_line(text) ? UI_LOG_CHANGE : UI_LOG_INFO; break;
    }
    ui_dash_print(k, u->cur_step, text);
}

static sm_status host_theme(void *ud, const char *name, sm_error *e)
{
    (void)ud;
    return ui_dash_theme(name, e);
}

static int push_step(ui_console *u, const sm_step_record *r)
{
    if (u->n_steps == u->cap_steps) {
        size_t nc = u->cap_steps ? u->cap_steps * 2 : 1024;
        sm_step_record *p = realloc(u->steps, nc * sizeof *p);
        if (!p)
            return -1;
        u->steps = p;
        u->cap_steps = nc;
    }
    u->steps[u->n_steps++] = *r;
    return 0;
}

static int push_eval(ui_console *u, const sm_eval_record *ev)
{
    if (u->n_evals == u->cap_evals) {
        size_t nc = u->cap_evals ? u->cap_evals * 2 : 64;
        sm_eval_record *p = realloc(u->evals, nc * sizeof *p);
        if (!p)
            return -1;
        u->evals = p;
        u->cap_evals = nc;
    }
    u->evals[u->n_evals++] = *ev;
    return 0;
}

/* Take the latest records into the history; a step counter that went back (rewind, a new run)
 * drops the records after it. */
static void sample(ui_console *u, const con_status *st)
{
    u->cur_step = st->step;
    while (u->n_steps && u->steps[u->n_steps - 1].step > st->step)
        u->n_steps--;
    while (u->n_evals && u->evals[u->n_evals - 1].step > st->step)
        u->n_evals--;
    if (st->has_step && st->last.step <= st->step &&
        (!u->n_steps || st->last.step > u->steps[u->n_steps - 1].step))
        push_step(u, &st->last);
    if (st->has_eval && st->eval.step <= st->step &&
        (!u->n_evals || st->eval.step != u->evals[u->n_evals - 1].step))
        push_eval(u, &st->eval);
}

static void state_fn(void *ud, ui_state *out)
{
    ui_console *u = ud;
    con_status st;
    con_status_get(u->c, &st);
    sample(u, &st);
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "%s", st.model);
    snprintf(out->data, sizeof out->data, "%s", st.data);
    static const int map[] = {UI_RUN_EMPTY, UI_RUN_IDLE, UI_RUN_RUNNING, UI_RUN_PAUSED,
                              UI_RUN_BREAK, UI_RUN_STEPPING, UI_RUN_DONE};
    out->run = (unsigned)st.state < sizeof map / sizeof map[0] ? map[st.state] : UI_RUN_IDLE;
    out->step = st.step;
    out->planned = st.planned;
    out->epoch = st.epoch;
    out->has_step = st.has_step;
    out->last = st.last;
    out->examples_per_s = st.has_step && (out->run == UI_RUN_RUNNING || out->run == UI_RUN_STEPPING)
                              ? st.last.examples_per_s : 0;
    out->has_eval = st.has_eval;
    out->eval = st.eval;
    out->fps = u->c->set.ui_fps;
}

static size_t steps_fn(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    ui_console *u = ud;
    *total = u->n_steps;
    size_t k = 0;
    for (size_t i = from; i < u->n_steps && k < cap; i++)
        buf[k++] = u->steps[i];
    return k;
}

static size_t evals_fn(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    ui_console *u = ud;
    *total = u->n_evals;
    size_t k = 0;
    for (size_t i = from; i < u->n_evals && k < cap; i++)
        buf[k++] = u->evals[i];
    return k;
}

static int knobs_fn(void *ud, ui_knob *out, int cap)
{
    ui_console *u = ud;
    int n = 0;
    for (int id = 0; id < (int)sm_hparam_count() && n < cap; id++, n++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "%s", d->name);
        sm_hparam_format(id, u->c->hp.v[id], out[n].value, sizeof out[n].value);
        out[n].group = d->group == SM_HP_GROUP_SMART ? UI_KNOB_SMART
                       : d->group == SM_HP_GROUP_OPTIM ? UI_KNOB_OPTIM
                                                       : UI_KNOB_RUN;
        out[n].changed_at = u->c->hp_changed_at[id];
    }
    return n;
}

static int command_fn(void *ud, const char *line)
{
    ui_console *u = ud;
    int rc = con_exec_line(u->c, line);
    con_status st;
    con_status_get(u->c, &st);
    sample(u, &st);
    return rc;
}

static int tick_fn(void *ud)
{
    ui_console *u = ud;
    con_tick(u->c, 0);
    con_status st;
    con_status_get(u->c, &st);
    sample(u, &st);
    return u->c->quit;
}

static int complete_fn(void *ud, const char *line, void (*add)(void *a, const char *w), void *a)
{
    ui_console *u = ud;
    return con_complete(u->c, line, add, a);
}

static const char *prompt_fn(void *ud)
{
    ui_console *u = ud;
    return con_prompt(u->c);
}

static int exit_fn(void *ud)
{
    ui_console *u = ud;
    return u->c->exit_status;
}

ui_console *ui_console_new(con_ctx *c)
{
    ui_console *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->c = c;
    u->prev_out = c->out;
    u->prev_out_ud = c->out_ud;
    u->prev_host = c->host;
    u->prev_host_ud = c->host_ud;
    c->out = out_fn;
    c->out_ud = u;
    u->host.theme = host_theme;
    con_set_host(c, &u->host, u);
    return u;
}

void ui_console_free(ui_console *u)
{
    if (!u)
        return;
    u->c->out = u->prev_out;
    u->c->out_ud = u->prev_out_ud;
    con_set_host(u->c, u->prev_host, u->prev_host_ud);
    free(u->steps);
    free(u->evals);
    free(u);
}

void ui_console_source(ui_console *u, ui_source *out)
{
    memset(out, 0, sizeof *out);
    out->ud = u;
    out->state = state_fn;
    out->steps = steps_fn;
    out->evals = evals_fn;
    out->knobs = knobs_fn;
    out->command = command_fn;
    out->tick = tick_fn;
    out->complete = complete_fn;
    out->prompt = prompt_fn;
    out->exit_status = exit_fn;
}
