/* dash_source.c: the console as a source for the dashboard (ui/source.h): state, history and
 * knobs come from the console and its session; command lines run through con_exec_line; output
 * and markers go to the dashboard's log and curves. No drawing here: ui/dash.c draws. */
#include "console/dash_source.h"

#include <string.h>

#include "console/repl.h"
#include "ui/chart.h"
#include "ui/dash.h"

static char last_break[160];

static void out_dash(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    int k = UI_LOG_OUTPUT;
    switch (kind) {
    case CON_OUT_RESULT: k = UI_LOG_OUTPUT; break;
    case CON_OUT_INFO: k = strstr(text, " = ") ? UI_LOG_CHANGE : UI_LOG_INFO; break;
    case CON_OUT_ERROR: k = UI_LOG_ERROR; break;
    case CON_OUT_PROGRESS: k = UI_LOG_INFO; break;
    case CON_OUT_EVENT:
        if (!strncmp(text, "breakpoint", 10)) {
            k = UI_LOG_BREAK;
            snprintf(last_break, sizeof last_break, "%s", text);
        } else {
            k = !strncmp(text, "warning", 7) ? UI_LOG_WARN : UI_LOG_EVENT;
        }
        break;
    }
    /* the log pane shows one line per entry */
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
        ui_dash_print(k, -1, line);
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* A path as the header shows it: its last two components ("sentiment/train.tsv"), so that a long
 * folder does not push the run's state off the line. */
static const char *short_path(const char *p)
{
    const char *last = strrchr(p, '/');
    if (!last || last == p)
        return p;
    const char *prev = last - 1;
    while (prev > p && *prev != '/')
        prev--;
    return *prev == '/' ? prev + 1 : prev;
}

static void st_fn(void *ud, ui_state *out)
{
    con_ctx *c = ud;
    con_status st;
    con_status_get(c, &st);
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "%s", st.model[0] ? short_path(st.model) : "no model (`load model PATH`)");
    snprintf(out->data, sizeof out->data, "%s", short_path(st.data));
    static const int map[] = {UI_RUN_EMPTY, UI_RUN_IDLE, UI_RUN_RUNNING, UI_RUN_PAUSED, UI_RUN_BREAK,
                              UI_RUN_STEPPING, UI_RUN_DONE};
    out->run = map[st.state];
    out->step = st.step;
    out->planned = st.planned;
    out->epoch = st.epoch;
    out->has_step = st.has_step;
    out->last = st.last;
    out->examples_per_s = st.has_step ? st.last.examples_per_s : 0;
    out->has_eval = st.has_eval;
    out->eval = st.eval;
    out->fps = c->set.ui_fps;
    if (st.state == CON_RUN_BREAK)
        snprintf(out->note, sizeof out->note, "%s", last_break);
}

static size_t steps_fn(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    con_ctx *c = ud;
    *total = 0;
    return c->be && c->be->steps ? c->be->steps(c->be_ud, from, buf, cap, total) : 0;
}

static size_t evals_fn(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    con_ctx *c = ud;
    *total = 0;
    return c->be && c->be->evals ? c->be->evals(c->be_ud, from, buf, cap, total) : 0;
}

static int knobs_fn(void *ud, ui_knob *out, int cap)
{
    con_ctx *c = ud;
    int n = 0;
    for (int id = 0; id < (int)sm_hparam_count() && n < cap; id++, n++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        snprintf(out[n].name, sizeof out[n].name, "%s", d->name);
        sm_hparam_format(id, c->hp.v[id], out[n].value, sizeof out[n].value);
        out[n].group = d->group == SM_HP_GROUP_SMART ? UI_KNOB_SMART
                     : d->group == SM_HP_GROUP_OPTIM ? UI_KNOB_OPTIM : UI_KNOB_RUN;
        out[n].changed_at = c->hp_changed_at[id];
    }
    return n;
}

static int cmd_fn(void *ud, const char *line) { return con_exec_line(ud, line); }

static int tick_fn(void *ud)
{
    con_ctx *c = ud;
    if (con_handle_signals(c))
        return 1;
    con_tick(c, 0);
    return c->quit;
}

static int complete_fn(void *ud, const char *line, void (*add)(void *a, const char *w), void *a)
{
    return con_complete(ud, line, add, a);
}

static int exit_fn(void *ud) { return ((con_ctx *)ud)->exit_status; }

static const char *prompt_fn(void *ud) { return con_prompt(ud); }

static sm_status theme_fn(void *ud, const char *name, sm_error *e)
{
    (void)ud;
    return ui_dash_theme(name, e);
}

static void mark_fn(void *ud, con_mark_kind kind, int64_t step)
{
    (void)ud;
    ui_dash_mark(kind == CON_MARK_SNAPSHOT ? UI_MARK_SNAPSHOT : kind == CON_MARK_REWIND ? UI_MARK_REWIND
                                                                                       : UI_MARK_CHANGE,
                 step);
}

static const con_host dash_host = {theme_fn, mark_fn};

void con_dash_source(con_ctx *c, ui_source *out)
{
    memset(out, 0, sizeof *out);
    out->ud = c;
    out->state = st_fn;
    out->steps = steps_fn;
    out->evals = evals_fn;
    out->knobs = knobs_fn;
    out->command = cmd_fn;
    out->tick = tick_fn;
    out->complete = complete_fn;
    out->exit_status = exit_fn;
    out->prompt = prompt_fn;
    c->out = out_dash;
    c->out_ud = NULL;
    con_set_host(c, &dash_host, NULL);
}
