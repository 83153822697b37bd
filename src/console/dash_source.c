/* dash_source.c: the console as a source for the dashboard (ui/source.h): state, history and
 * knobs come from the console and its session; command lines run through con_exec_line; output
 * and the session's typed events go to the dashboard's log and curves (colours and markers from their
 * kinds). No drawing here: ui/dash.c draws. */
#include "console/dash_source.h"

#include <stdlib.h>
#include <string.h>

#include "console/events.h"
#include "console/host.h"
#include "ui/dash.h"

static char last_break[1024];

/* What the last rewind restored: the session's latest step record may still be the abandoned
 * branch's (a step beyond the restored one); the header then shows the restored epoch and record. */
static struct {
    int valid, has_rec, has_eval;
    int64_t step;
    int epoch;
    sm_step_record rec;
    sm_eval_record eval;
} rewound;

/* Every event the dashboard shows comes through here: the session's events (the host's event hook)
 * and the console's replies (as REPLY events). Kinds choose colours and markers (ui/events.h); this is
 * the one place their text is rendered for the dashboard. */
static void dash_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    char text[8192];
    size_t n = con_event_text(ev, text, sizeof text);
    if (ev->kind == SM_EVENT_BREAK)
        snprintf(last_break, sizeof last_break, "%s", n ? text : "breakpoint");
    if (ev->kind == SM_EVENT_REWIND) {
        rewound.valid = 1;
        rewound.step = ev->step;
        rewound.epoch = ev->epoch;
        rewound.has_rec = ev->has_rec;
        rewound.rec = ev->rec;
        rewound.has_eval = ev->has_eval;
        rewound.eval = ev->eval;
    }
    ui_dash_event(ev, n ? text : "");
}

/* The console's replies, as REPLY events whose level is the dashboard's kind of line. */
static void out_dash(void *ud, con_out_kind kind, const char *text)
{
    static const int ui_kind[] = {
        [CON_OUT_RESULT] = UI_LOG_OUTPUT, [CON_OUT_INFO] = UI_LOG_INFO,   [CON_OUT_ERROR] = UI_LOG_ERROR,
        [CON_OUT_PROGRESS] = UI_LOG_INFO, [CON_OUT_EVENT] = UI_LOG_EVENT, [CON_OUT_CHANGE] = UI_LOG_CHANGE,
    };
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SM_EVENT_REPLY;
    ev.step = -1;
    ev.level = (unsigned)kind < sizeof ui_kind / sizeof ui_kind[0] ? ui_kind[kind] : UI_LOG_OUTPUT;
    ev.msg = text;
    dash_event(ud, &ev);
}

static void st_fn(void *ud, ui_state *out)
{
    con_ctx *c = ud;
    con_status st;
    con_status_get(c, &st);
    memset(out, 0, sizeof *out);
    /* whole: the header elides what does not fit in the middle */
    snprintf(out->model, sizeof out->model, "%s", st.model[0] ? st.model : "no model (`load model PATH`)");
    snprintf(out->data, sizeof out->data, "%s", st.data);
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
    if (rewound.valid && rewound.step != st.step)
        rewound.valid = 0; /* training went on from the restored step */
    if (rewound.valid && st.has_step && st.last.step > st.step) { /* the record of the branch left */
        out->epoch = rewound.epoch;
        out->has_step = rewound.has_rec;
        out->last = rewound.rec;
        out->examples_per_s = rewound.has_rec ? rewound.rec.examples_per_s : 0;
    }
    if (out->has_eval && out->eval.step > st.step) { /* an evaluation of the branch left */
        out->has_eval = rewound.valid && rewound.has_eval;
        out->eval = rewound.eval;
    }
    out->fps = c->set.ui_fps;
    snprintf(out->branch, sizeof out->branch, "%s", st.branch);
    out->explore_variant = st.explore_variant;
    out->explore_total = st.explore_total;
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

/* The branches for the compare view, with copies of their records (issue 15). */
static int branches_fn(void *ud, ui_branch_curve *out, int cap)
{
    con_ctx *c = ud;
    if (!c->be || !c->be->branches || !c->be->branch_records)
        return 0;
    sm_branch_info *b;
    int n = (int)c->be->branches(c->be_ud, &b), k = 0;
    for (int i = 0; b && i < n && k < cap; i++) {
        ui_branch_curve *o = &out[k];
        memset(o, 0, sizeof *o);
        sm_error e;
        if (c->be->branch_records(c->be_ud, b[i].name, &o->steps, &o->n_steps, &o->evals, &o->n_evals, &e) != SM_OK)
            continue;
        snprintf(o->name, sizeof o->name, "%s", b[i].name);
        sm_branch_knobs(&b[i].hp, &b[i].fork_hp, o->knobs, sizeof o->knobs);
        o->fork_step = b[i].fork_step;
        o->active = b[i].active;
        k++;
    }
    free(b);
    return k;
}

static sm_status compare_fn(void *ud, int argc, char *const *argv, sm_error *e)
{
    (void)ud;
    (void)e;
    int off = argc == 1 && !strcmp(argv[0], "off");
    ui_dash_compare(!off, off ? 0 : argc, argv);
    return SM_OK;
}

static const con_host dash_host = {.theme = theme_fn, .event = dash_event, .compare = compare_fn};

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
    out->branches = branches_fn;
    c->out = out_dash;
    c->out_ud = NULL;
    con_set_host(c, &dash_host, NULL);
}

int con_dash_run(con_ctx *c, ui_options *o)
{
    static char history[1100];
    ui_source src;
    con_dash_source(c, &src);
    c->interactive = 1;
    c->set.train_wait = 0;
    if (con_state_path(history, sizeof history, "history", 1))
        o->history_path = history; /* kept across sessions, as at the plain prompt */
    int status = ui_dash_run(&src, o);
    c->out = con_out_plain; /* what is said after the screen is given back goes to stdout */
    con_set_host(c, NULL, NULL);
    return status;
}
