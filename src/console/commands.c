/* commands.c: the console's command table (one const entry per command: name, aliases, argument
 * spec = usage, help, handler) and the handlers. Handlers check what the spec cannot (values,
 * states), keep the console's own state (settings, breakpoints, hyperparameters) and drive the
 * training session through the backend; `help` is generated from the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/console.h"
#include "console/events.h"
#include "console/parse.h"
#include "console/replay_trust.h"
#include "smartty/data.h"

#define NO_SESSION "needs the training session, which this build does not have yet"

/* The backend operation or, when absent, a failed command saying so. */
#define NEED(op, name)                                        \
    do {                                                      \
        if (!c->be || !c->be->op)                             \
            return con_error(c, "%s: " NO_SESSION, name);     \
    } while (0)

/* "CMD: what went wrong", unless the library's message already begins with "CMD: " */
static int cmd_failed(con_ctx *c, const char *cmd, const char *msg)
{
    size_t n = strlen(cmd);
    if (!strncmp(msg, cmd, n) && msg[n] == ':' && msg[n + 1] == ' ')
        return con_error(c, "%s", msg);
    return con_error(c, "%s: %s", cmd, msg);
}

/* Journal a console action when the session keeps a journal (a failure is only reported). */
static void journal(con_ctx *c, const char *op, int argc, const char *const *argv)
{
    sm_error e;
    if (c->be && c->be->journal && c->be->journal(c->be_ud, op, argc, argv, &e) != SM_OK)
        cmd_failed(c, "journal", e.msg);
}

static int is_running(const con_status *st)
{
    return st->state == CON_RUN_RUNNING || st->state == CON_RUN_STEPPING;
}

static int in_run(const con_status *st)
{
    return is_running(st) || st->state == CON_RUN_PAUSED || st->state == CON_RUN_BREAK;
}

/* ---- help ---- */

static int cmd_help(con_ctx *c, int argc, char **argv);

static void help_fields(con_ctx *c)
{
    char buf[2048];
    size_t w = (size_t)snprintf(buf, sizeof buf, "fields:");
    for (size_t i = 0; i < sm_field_count() && w < sizeof buf; i++)
        w += (size_t)snprintf(buf + w, sizeof buf - w, " %s", sm_field_at(i)->name);
    con_print(c, "%s", buf);
}

static void help_settings(con_ctx *c)
{
    con_print(c, "console settings (after the hyperparameters; `show params` lists those):");
    for (size_t i = 0; i < con_setting_count(); i++) {
        const con_setting_def *d = con_setting_at(i);
        con_print(c, "  %-16s %s", d->name, d->help);
    }
}

/* ---- set, get, show params, preset ---- */

/* Apply hyperparameter id = v through the backend (when there is one) and record it. */
static int apply_hparam(con_ctx *c, const char *cmd, int id, double v, char *note, size_t cap)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    con_status st;
    con_status_get(c, &st);
    note[0] = '\0';
    if (in_run(&st) && !d->live)
        return con_error(c, "%s: %s cannot change during a run (it is fixed when training starts); "
                            "`stop` first", cmd, d->name);
    int64_t at = st.step;
    if (c->be && c->be->set_hparam) {
        sm_error e;
        if (c->be->set_hparam(c->be_ud, id, v, &at, &e) != SM_OK)
            return cmd_failed(c, cmd, e.msg);
    }
    c->hp.v[id] = v;
    c->hp_changed_at[id] = at;
    if (in_run(&st))
        snprintf(note, cap, " (takes effect at step %lld)", (long long)at + 1);
    return 0;
}

static int cmd_set(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    int id = sm_hparam_lookup(argv[0]);
    if (id >= 0) {
        double v;
        sm_error e;
        if (sm_hparam_parse(id, argv[1], &v, &e) != SM_OK)
            return cmd_failed(c, "set", e.msg);
        char note[64], txt[64];
        if (apply_hparam(c, "set", id, v, note, sizeof note))
            return 1;
        sm_hparam_format(id, v, txt, sizeof txt);
        con_change(c, "%s = %s%s", sm_hparam_def_at(id)->name, txt, note);
        return 0;
    }
    char err[512];
    if (con_setting_lookup(argv[0])) {
        if (con_setting_set(&c->set, argv[0], argv[1], err, sizeof err))
            return con_error(c, "set: %s", err);
        char v[64];
        con_setting_format(&c->set, con_setting_lookup(argv[0]), v, sizeof v);
        con_change(c, "%s = %s", argv[0], v);
        return 0;
    }
    return con_error(c, "set: argument 1 '%s': no such hyperparameter or setting "
                        "(`show params` and `show settings` list them)", argv[0]);
}

static void print_hparam(con_ctx *c, int id, int verbose)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    char v[64], def[64], range[96] = "";
    sm_hparam_format(id, c->hp.v[id], v, sizeof v);
    sm_hparam_format(id, d->def, def, sizeof def);
    char changed[48] = "";
    if (c->hp_changed_at[id] >= 0)
        snprintf(changed, sizeof changed, "  (set at step %lld)", (long long)c->hp_changed_at[id]);
    if (!verbose) {
        con_print(c, "  %-14s %-12s%s%s", d->name, v, d->unit[0] ? " " : "", changed);
        return;
    }
    if (d->type == SM_HP_ENUM) {
        size_t w = (size_t)snprintf(range, sizeof range, "one of");
        for (int i = 0; d->choices[i] && w < sizeof range; i++)
            w += (size_t)snprintf(range + w, sizeof range - w, " %s", d->choices[i]);
    } else {
        snprintf(range, sizeof range, "%s in [%g, %g]", d->type == SM_HP_INT ? "integer" : "number", d->min, d->max);
    }
    con_print(c, "%s = %s%s%s\n  %s; default %s; %s%s%s%s\n  %s", d->name, v, d->unit[0] ? " " : "", d->unit,
              range, def, d->live ? "may change during a run" : "fixed during a run",
              d->aliases[0] ? "; also called " : "", d->aliases, changed, d->help);
}

static int cmd_get(con_ctx *c, int argc, char **argv)
{
    if (argc == 0) {
        for (int id = 0; id < (int)sm_hparam_count(); id++)
            print_hparam(c, id, 0);
        char v[64];
        for (size_t i = 0; i < con_setting_count(); i++) {
            con_setting_format(&c->set, con_setting_at(i), v, sizeof v);
            con_print(c, "  %-14s %s", con_setting_at(i)->name, v);
        }
        return 0;
    }
    int id = sm_hparam_lookup(argv[0]);
    if (id >= 0) {
        print_hparam(c, id, 1);
        return 0;
    }
    const con_setting_def *d = con_setting_lookup(argv[0]);
    if (d) {
        char v[64];
        con_setting_format(&c->set, d, v, sizeof v);
        con_print(c, "%s = %s\n  %s", d->name, v, d->help);
        return 0;
    }
    return con_error(c, "get: argument 1 '%s': no such hyperparameter or setting "
                        "(`show params` and `show settings` list them)", argv[0]);
}

static int cmd_preset(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    sm_hparams h = c->hp;
    sm_error e;
    if (sm_hparams_preset(&h, argv[0], &e) != SM_OK) /* the library's message lists the presets */
        return con_error(c, "preset: argument 1 '%s': %s", argv[0], e.msg);
    char list[1024] = "";
    size_t w = 0;
    for (int id = 0; id < SM_HP_COUNT; id++) {
        if (h.v[id] == c->hp.v[id])
            continue;
        char note[64], txt[64];
        if (apply_hparam(c, "preset", id, h.v[id], note, sizeof note))
            return 1;
        sm_hparam_format(id, h.v[id], txt, sizeof txt);
        if (w < sizeof list)
            w += (size_t)snprintf(list + w, sizeof list - w, "%s%s = %s", w ? ", " : "", sm_hparam_def_at(id)->name, txt);
    }
    con_change(c, "preset %s: %s", argv[0], w ? list : "no change");
    return 0;
}

/* ---- show ---- */

static void show_params(con_ctx *c)
{
    static const char *const group[] = {"SMART", "optimizer", "run"};
    for (int g = SM_HP_GROUP_SMART; g <= SM_HP_GROUP_RUN; g++) {
        con_print(c, "%s:", group[g]);
        for (int id = 0; id < (int)sm_hparam_count(); id++)
            if ((int)sm_hparam_def_at(id)->group == g)
                print_hparam(c, id, 0);
    }
}

static void show_breaks(con_ctx *c)
{
    con_breaks *b = &c->breaks;
    pthread_mutex_lock(&b->lock);
    int n = b->n;
    con_breakpoint copy[CON_BP_MAX];
    memcpy(copy, b->bp, (size_t)n * sizeof copy[0]);
    pthread_mutex_unlock(&b->lock);
    if (!n)
        con_print(c, "no breakpoints (`break COND` adds one)");
    for (int i = 0; i < n; i++)
        con_print(c, "  %d: %s  (%s, hit %ld time%s)", copy[i].id, copy[i].text,
                  copy[i].expr.uses_eval ? "after evaluations" : "before each update", copy[i].hits,
                  copy[i].hits == 1 ? "" : "s");
}

static void show_status(con_ctx *c)
{
    con_status st;
    con_status_get(c, &st);
    con_print(c, "state: %s; step %lld%s; epoch %d", con_run_state_name(st.state), (long long)st.step,
              st.unsaved ? " (unsaved)" : "", st.epoch + 1);
    if (st.model[0])
        con_print(c, "model: %s", st.model);
    if (st.data[0])
        con_print(c, "data: %s", st.data);
    if (st.has_step)
        con_print(c, "last step %lld: loss %.4f rs %.4f breg %.4f total %.4f grad_norm %.4g lr %.4g",
                  (long long)st.last.step, st.last.loss, st.last.rs, st.last.breg, st.last.total,
                  st.last.grad_norm, st.last.lr);
}

static int cmd_show(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    const char *w = argv[0];
    if (!strcmp(w, "params")) {
        show_params(c);
    } else if (!strcmp(w, "breaks")) {
        show_breaks(c);
    } else if (!strcmp(w, "settings")) {
        char v[64];
        for (size_t i = 0; i < con_setting_count(); i++) {
            con_setting_format(&c->set, con_setting_at(i), v, sizeof v);
            con_print(c, "  %-16s %-10s %s", con_setting_at(i)->name, v, con_setting_at(i)->help);
        }
    } else if (!strcmp(w, "fields")) {
        for (size_t i = 0; i < sm_field_count(); i++)
            con_print(c, "  %-16s %s", sm_field_at(i)->name, sm_field_at(i)->help);
    } else if (!strcmp(w, "status")) {
        show_status(c);
    } else {
        NEED(show, "show");
        sm_error e;
        if (c->be->show(c->be_ud, w, c, &e) != SM_OK)
            return con_error(c, "show %s: %s", w, e.msg);
    }
    return 0;
}

/* ---- loading ---- */

/* Data options as on the command line (--limit 200, --limit=200) or in the console's short form
 * (limit=200, no-header), parsed by the library's shared parser into *o. Returns 0 or 1 (reported). */
static int data_options(con_ctx *c, int argc, char **argv, sm_data_opts *o)
{
    char *owned[CON_MAX_ARGS]; /* as long as typed: a fixed 300 bytes cut a long label list short */
    char *words[CON_MAX_ARGS + 1];
    int n = 0, rc = 0;
    for (int i = 0; i < argc && n < CON_MAX_ARGS; i++) {
        const char *w = argv[i];
        int value_of_prev = i > 0 && !strncmp(argv[i - 1], "--", 2) && !strchr(argv[i - 1], '=');
        size_t cap = strlen(w) + 3;
        if (!(owned[n] = malloc(cap))) {
            rc = con_error(c, "load: out of memory");
            break;
        }
        if (!strncmp(w, "--", 2) || value_of_prev)
            snprintf(owned[n], cap, "%s", w);
        else
            snprintf(owned[n], cap, "--%s", w);
        words[n] = owned[n];
        n++;
    }
    int count = n;
    words[n] = NULL;
    sm_error e;
    sm_data_opts_init(o);
    if (rc) {
        sm_data_opts_free(o);
    } else if (sm_data_opts_parse(o, &n, words, 0, &e) != SM_OK) {
        sm_data_opts_free(o);
        rc = cmd_failed(c, "load", e.msg);
    } else if (n > 0) {
        sm_data_opts_free(o);
        rc = con_error(c, "load: '%s' is not a data option (`help load` lists them)", words[0]);
    }
    for (int i = 0; i < count; i++)
        free(owned[i]);
    return rc;
}

/* 1 when the data options name --max-len (in any of the forms data_options reads). */
static int gives_max_len(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!strncmp(w, "--", 2))
            w += 2;
        else if (i > 0 && !strncmp(argv[i - 1], "--", 2) && !strchr(argv[i - 1], '='))
            continue; /* the value of the option before */
        if ((!strncmp(w, "max-len", 7) || !strncmp(w, "max_len", 7)) && (w[7] == '\0' || w[7] == '='))
            return 1;
    }
    return 0;
}

static int cmd_load(con_ctx *c, int argc, char **argv)
{
    sm_error e;
    if (!strcmp(argv[0], "model")) {
        if (argc > 2)
            return con_error(c, "load: argument 3 '%s': `load model PATH` takes no options", argv[2]);
        NEED(load_model, "load");
        if (c->be->load_model(c->be_ud, argv[1], &e) != SM_OK)
            return cmd_failed(c, "load model", e.msg);
        con_info(c, "loaded model %s", argv[1]);
        return 0;
    }
    sm_data_opts o;
    if (data_options(c, argc - 2, argv + 2, &o))
        return 1;
    if (!c->be || !c->be->load_data) {
        sm_data_opts_free(&o);
        return con_error(c, "load: " NO_SESSION);
    }
    /* --max-len (a data option) and max_len (a hyperparameter) are one setting, as for smartty train */
    if (gives_max_len(argc - 2, argv + 2) && o.max_len != (int)c->hp.v[SM_HP_MAX_LEN]) {
        char note[64];
        if (apply_hparam(c, "load", SM_HP_MAX_LEN, o.max_len, note, sizeof note)) {
            sm_data_opts_free(&o);
            return 1;
        }
        con_info(c, "max_len = %d", o.max_len);
    }
    sm_status st = c->be->load_data(c->be_ud, argv[0], argv[1], &o, &e);
    sm_data_opts_free(&o);
    if (st != SM_OK)
        return con_error(c, "load %s: %s", argv[0], e.msg);
    con_info(c, "loaded %s data %s", argv[0], argv[1]);
    return 0;
}

static int cmd_new(con_ctx *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strchr(argv[i], '=') || argv[i][0] == '=')
            return con_error(c, "new: argument %d '%s': model options are NAME=VALUE "
                                "(vocab=FILE layers=2 hidden=128 heads=2 labels=2)", i + 1, argv[i]);
    NEED(new_model, "new");
    sm_error e;
    if (c->be->new_model(c->be_ud, argc - 1, argv + 1, &e) != SM_OK)
        return cmd_failed(c, "new model", e.msg);
    con_info(c, "new model ready (random weights)");
    return 0;
}

/* ---- running ---- */

static void print_step(con_ctx *c, const sm_step_record *r)
{
    con_print(c, "step %lld (epoch %d): loss %.6g rs %.6g breg %.6g total %.6g grad_norm %.6g delta_norm %.4g lr %.4g%s",
              (long long)r->step, r->epoch + 1, r->loss, r->rs, r->breg, r->total, r->grad_norm,
              r->delta_norm, r->lr, r->skipped ? " (update skipped: non-finite)" : "");
}

static int cmd_train(con_ctx *c, int argc, char **argv)
{
    long long n = 0;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, (long long)1 << 53, &n, err, sizeof err))
        return con_error(c, "train: argument 1: %s", err);
    int epochs = argc >= 2 && !strcmp(argv[1], "epochs");
    NEED(train, "train");
    con_status st;
    con_status_get(c, &st);
    if (is_running(&st))
        return con_error(c, "train: already running (at step %lld); `pause` or `stop` first", (long long)st.step);
    sm_error e;
    if (c->be->train(c->be_ud, n, epochs, &e) != SM_OK)
        return cmd_failed(c, "train", e.msg);
    con_status_get(c, &st);
    con_info(c, "training from step %lld%s", (long long)st.step,
             c->set.train_wait ? "" : " (in the background: `pause`, `set`, `show status`)");
    if (c->set.train_wait && con_wait_run(c, 0) == 1 && !c->interactive)
        return con_error(c, "train: interrupted (the run is paused)");
    return 0;
}

static int cmd_wait(con_ctx *c, int argc, char **argv)
{
    long long n = 0;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, (long long)1 << 53, &n, err, sizeof err))
        return con_error(c, "wait: argument 1: %s", err);
    if (con_wait_run(c, n) == 1 && !c->interactive)
        return con_error(c, "wait: interrupted (the run is paused)");
    return 0;
}

static int cmd_pause(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(pause, "pause");
    con_status st;
    con_status_get(c, &st);
    if (!is_running(&st))
        return con_error(c, "pause: nothing is running (state: %s)", con_run_state_name(st.state));
    sm_error e;
    if (c->be->pause(c->be_ud, &e) != SM_OK)
        return cmd_failed(c, "pause", e.msg);
    con_status_get(c, &st);
    con_info(c, "paused after step %lld", (long long)st.step);
    return 0;
}

static int cmd_resume(con_ctx *c, int argc, char **argv)
{
    if (argc && strcmp(argv[0], "apply") && strcmp(argv[0], "discard")) {
        /* resume DIR [TRAIN_FILE]: continue a checkpoint with the data it saved */
        if (!sm_dir_exists(argv[0]))
            return con_error(c, "resume: argument 1 '%s': expected apply, discard or a checkpoint folder "
                                "(no such folder)", argv[0]);
        if (argc > 2)
            return con_error(c, "resume: argument 3 '%s': `resume DIR [TRAIN_FILE]` takes at most two", argv[2]);
        NEED(resume_checkpoint, "resume");
        sm_error e;
        if (c->be->resume_checkpoint(c->be_ud, argv[0], argc > 1 ? argv[1] : NULL, &e) != SM_OK)
            return cmd_failed(c, "resume", e.msg);
        con_status st;
        con_status_get(c, &st);
        con_info(c, "resumed %s at step %lld (`train` continues it)", argv[0], (long long)st.step);
        return 0;
    }
    if (argc > 1)
        return con_error(c, "resume: argument 2 '%s': `resume apply|discard` takes one word", argv[1]);
    NEED(resume, "resume");
    con_status st;
    con_status_get(c, &st);
    if (st.state != CON_RUN_PAUSED && st.state != CON_RUN_BREAK)
        return con_error(c, "resume: the run is not paused (state: %s)", con_run_state_name(st.state));
    if (argc && st.state != CON_RUN_BREAK)
        return con_error(c, "resume: argument 1 '%s': only at a breakpoint is there an update to apply or discard",
                         argv[0]);
    int apply = !(argc && !strcmp(argv[0], "discard"));
    sm_error e;
    if (c->be->resume(c->be_ud, apply, &e) != SM_OK)
        return cmd_failed(c, "resume", e.msg);
    if (st.state == CON_RUN_BREAK)
        con_info(c, "resuming; the pending update of step %lld was %s", (long long)st.step + 1,
                 apply ? "applied" : "discarded");
    if (c->set.train_wait && con_wait_run(c, 0) == 1 && !c->interactive)
        return con_error(c, "resume: interrupted (the run is paused)");
    return 0;
}

static int cmd_step(con_ctx *c, int argc, char **argv)
{
    long long n = 1;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, 1000000000LL, &n, err, sizeof err))
        return con_error(c, "step: argument 1: %s", err);
    NEED(step, "step");
    con_status st;
    con_status_get(c, &st);
    if (is_running(&st))
        return con_error(c, "step: training is running; `pause` first");
    sm_error e;
    if (c->be->step(c->be_ud, n, &e) != SM_OK)
        return cmd_failed(c, "step", e.msg);
    con_tick(c, 0);
    con_status_get(c, &st);
    if (st.has_step)
        print_step(c, &st.last);
    return 0;
}

static void print_eval(con_ctx *c, const sm_eval_record *ev)
{
    sm_session_event e; /* worded as the evaluation's event is (events.c) */
    memset(&e, 0, sizeof e);
    e.kind = SM_EVENT_EVAL;
    e.step = ev->step;
    e.has_eval = 1;
    e.eval = *ev;
    char buf[1024];
    con_event_text(&e, buf, sizeof buf);
    con_print(c, "%s", buf);
}

static int cmd_eval(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(eval, "eval");
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    sm_error e;
    if (c->be->eval(c->be_ud, &ev, &e) != SM_OK)
        return cmd_failed(c, "eval", e.msg);
    print_eval(c, &ev);
    return 0;
}

static int cmd_stop(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(stop, "stop");
    con_status st;
    con_status_get(c, &st);
    if (!in_run(&st))
        return con_error(c, "stop: no run to stop (state: %s)", con_run_state_name(st.state));
    sm_error e;
    if (c->be->stop(c->be_ud, &e) != SM_OK)
        return cmd_failed(c, "stop", e.msg);
    con_status_get(c, &st);
    con_info(c, "stopped at step %lld", (long long)st.step);
    return 0;
}

/* ---- breakpoints ---- */

static int cmd_break(con_ctx *c, int argc, char **argv)
{
    char text[1024], err[256];
    int col = 0;
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + (i > 0);
    if (len >= sizeof text) /* cut short, it could still parse, as another condition */
        return con_error(c, "break: the condition is %zu characters long, at most %zu: split it over several "
                            "breakpoints", len, sizeof text - 1);
    con_join(text, sizeof text, argc, argv);
    int id = con_breaks_add(&c->breaks, text, err, sizeof err, &col);
    if (id < 0)
        return con_error_at(c, text, col, "break: %s", err);
    const char *a = text;
    journal(c, "break", 1, &a);
    con_info(c, "breakpoint %d: %s", id, text);
    return 0;
}

static int cmd_delete(con_ctx *c, int argc, char **argv)
{
    if (argc == 0 || !strcmp(argv[0], "all")) {
        const char *all = "all";
        con_breaks_clear(&c->breaks);
        journal(c, "delete", 1, &all);
        con_info(c, "deleted all breakpoints");
        return 0;
    }
    long long id;
    char err[128];
    if (con_parse_long(argv[0], 1, 1000000, &id, err, sizeof err))
        return con_error(c, "delete: argument 1: %s; expected a breakpoint number (`show breaks`) or all", err);
    if (con_breaks_delete(&c->breaks, (int)id))
        return con_error(c, "delete: argument 1: there is no breakpoint %lld (`show breaks`)", id);
    journal(c, "delete", 1, (const char *const *)argv);
    con_info(c, "deleted breakpoint %lld", id);
    return 0;
}

/* ---- state ---- */

static int cmd_snapshot(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(snapshot, "snapshot");
    sm_error e;
    if (c->be->snapshot(c->be_ud, argv[0], &e) != SM_OK)
        return cmd_failed(c, "snapshot", e.msg);
    con_status st;
    con_status_get(c, &st);
    con_info(c, "snapshot %s at step %lld", argv[0], (long long)st.step);
    return 0;
}

static int cmd_rewind(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(rewind, "rewind");
    con_status st;
    con_status_get(c, &st);
    if (is_running(&st))
        return con_error(c, "rewind: training is running; `pause` first");
    int64_t step = 0;
    sm_error e;
    if (c->be->rewind(c->be_ud, argv[0], &step, &e) != SM_OK)
        return cmd_failed(c, "rewind", e.msg);
    con_info(c, "rewound to snapshot %s (step %lld)", argv[0], (long long)step);
    return 0;
}

static int cmd_save(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(save, "save");
    sm_error e;
    if (c->be->save(c->be_ud, argv[0], &e) != SM_OK)
        return cmd_failed(c, "save", e.msg);
    con_status st;
    con_status_get(c, &st);
    con_info(c, "saved step %lld to %s", (long long)st.step, argv[0]);
    return 0;
}

static int cmd_export(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    size_t n = strlen(argv[1]);
    if (n < 5 || strcmp(argv[1] + n - 4, ".csv"))
        return con_error(c, "export: argument 2 '%s': the file name must end in .csv", argv[1]);
    NEED(export_metrics, "export");
    sm_error e;
    if (c->be->export_metrics(c->be_ud, argv[1], &e) != SM_OK)
        return cmd_failed(c, "export", e.msg);
    con_info(c, "wrote metrics to %s", argv[1]);
    return 0;
}

static int cmd_replay(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(replay, "replay");
    con_status st;
    con_status_get(c, &st);
    if (in_run(&st))
        return con_error(c, "replay: a run is in progress; `stop` first");
    if (st.unsaved > 0 && access(argv[0], R_OK) != 0) /* a typo is reported as such, before the warning */
        return con_error(c, "replay: %s: cannot open: %s", argv[0], strerror(errno));
    if (st.unsaved > 0 && !(argc > 1 && !strcmp(argv[1], "force")))
        return con_error(c, "replay: %s: replaying starts a new session, and %lld step%s of training would be lost: "
                            "`save DIR` first, or `replay %s force`", argv[0], (long long)st.unsaved,
                         st.unsaved == 1 ? "" : "s", argv[0]);
    if (con_replay_trusted(c, argv[0], argc > 1 && !strcmp(argv[1], "force")))
        return 1; /* a journal is untrusted: the files it reads are named, and replay waits for force */
    sm_error e;
    if (c->be->replay(c->be_ud, argv[0], &e) != SM_OK)
        return cmd_failed(c, "replay", e.msg);
    con_status_get(c, &st);
    con_info(c, "replayed %s: step %lld", argv[0], (long long)st.step);
    return 0;
}

static int cmd_source(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    if (c->depth >= 8)
        return con_error(c, "source: %s: nested too deeply (at most 8 files)", argv[0]);
    c->depth++;
    int interactive = c->interactive;
    c->interactive = 0;
    int rc = con_exec_file(c, argv[0]);
    c->interactive = interactive;
    c->depth--;
    return rc;
}

static int cmd_predict(con_ctx *c, int argc, char **argv)
{
    int sep = -1;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "||")) {
            if (sep >= 0)
                return con_error(c, "predict: argument %d: a second '||' (one separates TEXT and TEXT_B)", i + 1);
            sep = i;
        }
    if (sep == 0 || sep == argc - 1)
        return con_error(c, "predict: argument %d: '||' needs text on both sides", sep + 1);
    NEED(predict, "predict");
    /* the texts whole: a fixed buffer cut a long one short, even inside a UTF-8 character */
    size_t cap = 1;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *a = malloc(cap), *b = malloc(cap);
    if (!a || !b) {
        free(a);
        free(b);
        return con_error(c, "predict: out of memory");
    }
    con_join(a, cap, sep < 0 ? argc : sep, argv);
    if (sep >= 0)
        con_join(b, cap, argc - sep - 1, argv + sep + 1);
    char out[1024];
    sm_error e;
    sm_status st = c->be->predict(c->be_ud, a, sep >= 0 ? b : NULL, out, sizeof out, &e);
    free(a);
    free(b);
    if (st != SM_OK)
        return cmd_failed(c, "predict", e.msg);
    con_print(c, "%s", out);
    return 0;
}

static int cmd_theme(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    if (!c->host || !c->host->theme)
        return con_error(c, "theme: there is no dashboard (the output is not a terminal, or it is off)");
    sm_error e;
    if (c->host->theme(c->host_ud, argv[0], &e) != SM_OK)
        return cmd_failed(c, "theme", e.msg);
    return 0;
}

static int cmd_echo(con_ctx *c, int argc, char **argv)
{
    size_t cap = 1; /* the words whole (a 4 KiB buffer cut them) */
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return con_error(c, "echo: out of memory");
    con_print(c, "%s", con_join(buf, cap, argc, argv));
    free(buf);
    return 0;
}

static int cmd_quit(con_ctx *c, int argc, char **argv)
{
    con_status st;
    con_status_get(c, &st);
    int force = argc && !strcmp(argv[0], "force");
    if (st.unsaved > 0 && c->interactive && c->set.confirm && !force) {
        c->confirm_quit = 1;
        con_info(c, "%lld step%s of training %s unsaved (`save DIR` keeps them). Quit anyway? [y/N]",
                 (long long)st.unsaved, st.unsaved == 1 ? "" : "s", st.unsaved == 1 ? "is" : "are");
        return 0;
    }
    c->quit = 1;
    return 0;
}

static const con_cmd commands[] = {
    {
        .name = "help",
        .aliases = "?",
        .args = "[CMD]",
        .help = "show the commands, or one command's usage and help",
        .exec = cmd_help,
    },
    {
        .name = "load",
        .aliases = "",
        .args = "model|train|dev PATH [OPTIONS...]",
        .help = "load a model (Hugging Face folder or smartty checkpoint) or a data file\n"
                "  load model PATH            a folder with config.json, vocab.txt and weights; a smartty checkpoint\n"
                "                             gives its weights, labels and tokenizer to a fresh run (`resume DIR` continues it)\n"
                "  load train|dev FILE [OPTIONS...]   a TSV or CSV file and its data options (below)",
        .exec = cmd_load,
    },
    {
        .name = "new",
        .aliases = "",
        .args = "model [OPTIONS...]",
        .help = "make a classifier with random weights from a shape and a vocabulary\n"
                "  options: vocab=FILE (required) layers=N hidden=N heads=N intermediate=N num_labels=N labels=A,B,...\n"
                "  max_position=N seed=N (defaults 2 layers, hidden 128, 2 heads, intermediate 4*hidden, labels 0 and 1,\n"
                "  512 positions, seed 42);\n"
                "  it is written to $XDG_STATE_HOME/smartty/new-model-PID-N so that a journal can replay it",
        .exec = cmd_new,
    },
    {
        .name = "set",
        .aliases = "",
        .args = "PARAM VALUE",
        .help = "set a hyperparameter (checked against its range) or a console setting\n"
                "  during a run the change takes effect at the next step boundary, and the reply says which step",
        .exec = cmd_set,
    },
    {
        .name = "get",
        .aliases = "",
        .args = "[PARAM]",
        .help = "show a hyperparameter or setting (all of them without PARAM)",
        .exec = cmd_get,
    },
    {
        .name = "show",
        .aliases = "",
        .args = "params|model|data|journal|breaks|settings|status|fields",
        .help = "show the hyperparameters, the model, the data, the journal, the breakpoints, the settings,\n"
                "  the run's status, or the record fields that breakpoints can test",
        .exec = cmd_show,
    },
    {
        .name = "preset",
        .aliases = "",
        .args = "PRESET",
        .help = "apply a preset of SMART hyperparameters (vanilla, paper, mtdnn, r3f)",
        .exec = cmd_preset,
    },
    {
        .name = "train",
        .aliases = "",
        .args = "[N [steps|epochs]]",
        .help = "train for N steps or epochs (without N: the configured epochs)\n"
                "  in scripts `train` returns when the run stops (set train_wait off to continue at once)",
        .exec = cmd_train,
    },
    {
        .name = "wait",
        .aliases = "",
        .args = "[N]",
        .help = "wait until the run stops, or until step N",
        .exec = cmd_wait,
    },
    {
        .name = "pause",
        .aliases = "",
        .args = "",
        .help = "pause training after the current step",
        .exec = cmd_pause,
    },
    {
        .name = "resume",
        .aliases = "continue c",
        .args = "[WHAT...]",
        .help = "resume a paused run; at a breakpoint the pending update is applied (the default) or discarded\n"
                "  resume apply|discard: what to do with the pending update at a breakpoint\n"
                "  resume DIR [TRAIN_FILE]: continue checkpoint DIR: its model, complete state and the data it saved\n"
                "  (TRAIN_FILE: where its training file is now, when it moved); `load model DIR` starts afresh from it",
        .exec = cmd_resume,
    },
    {
        .name = "step",
        .aliases = "s",
        .args = "[N]",
        .help = "from a paused run, run exactly N optimizer steps (default 1) and show the last one's metrics\n"
                "  at a breakpoint the pending update is applied and counts as the first step",
        .exec = cmd_step,
    },
    {
        .name = "eval",
        .aliases = "",
        .args = "",
        .help = "evaluate on the dev set now",
        .exec = cmd_eval,
    },
    {
        .name = "stop",
        .aliases = "",
        .args = "",
        .help = "end the run (the model keeps its weights; `train` starts a new run)",
        .exec = cmd_stop,
    },
    {
        .name = "break",
        .aliases = "b",
        .args = "COND...",
        .help = "pause before a step's update when COND holds; COND is nan, or FIELD OP NUMBER joined with and/or/not\n"
                "  OP is one of < <= > >= == !=; e.g. break loss > 2.5, break grad_norm > 10 or nan\n"
                "  dev_ fields are checked when an evaluation completes; the others before each update",
        .exec = cmd_break,
    },
    {
        .name = "delete",
        .aliases = "",
        .args = "[ID]",
        .help = "delete breakpoint ID (`show breaks` numbers them); without ID (or with all), every one",
        .exec = cmd_delete,
    },
    {
        .name = "snapshot",
        .aliases = "",
        .args = "NAME",
        .help = "keep the complete training state in memory under NAME",
        .exec = cmd_snapshot,
    },
    {
        .name = "rewind",
        .aliases = "",
        .args = "NAME",
        .help = "return exactly to snapshot NAME (a pending breakpoint update is discarded)",
        .exec = cmd_rewind,
    },
    {
        .name = "save",
        .aliases = "",
        .args = "DIR",
        .help = "write a checkpoint (weights, optimizer, teacher, RNG, data position, journal) to DIR",
        .exec = cmd_save,
    },
    {
        .name = "export",
        .aliases = "",
        .args = "metrics FILE.csv",
        .help = "write the step and evaluation records to a CSV file",
        .exec = cmd_export,
    },
    {
        .name = "replay",
        .aliases = "",
        .args = "FILE [force]",
        .help = "run a journal (a checkpoint's journal.jsonl) from the start in a new session\n"
                "  with unsaved training it refuses unless force is given (the training would be lost);\n"
                "  a journal that loads files is untrusted: it lists them and waits for force",
        .exec = cmd_replay,
    },
    {
        .name = "source",
        .aliases = "",
        .args = "FILE",
        .help = "run the console commands in FILE",
        .exec = cmd_source,
    },
    {
        .name = "predict",
        .aliases = "",
        .args = "TEXT...",
        .help = "classify TEXT, or the pair TEXT || TEXT_B, with the current model",
        .exec = cmd_predict,
    },
    {
        .name = "theme",
        .aliases = "",
        .args = "THEME",
        .help = "switch the dashboard's theme",
        .exec = cmd_theme,
    },
    {
        .name = "echo",
        .aliases = "",
        .args = "[TEXT...]",
        .help = "print TEXT",
        .exec = cmd_echo,
    },
    {
        .name = "quit",
        .aliases = "exit q",
        .args = "[force]",
        .help = "leave (asks first when training is unsaved, unless force or in a script, where it never saves)\n"
                "  Ctrl-C pauses a run (at the prompt it clears the line; it never ends the console).\n"
                "  SIGHUP or SIGTERM finish the current step, save unsaved training atomically to\n"
                "  $XDG_STATE_HOME/smartty/autosave-PID (else ~/.local/state/smartty/autosave-PID), say where, and exit",
        .exec = cmd_quit,
    },
};

const con_cmd *con_commands(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

static int cmd_help(con_ctx *c, int argc, char **argv)
{
    size_t n;
    const con_cmd *tab = con_commands(&n);
    if (argc == 0) {
        con_print(c, "commands (a unique prefix is enough; `help CMD` for more):");
        for (size_t i = 0; i < n; i++) {
            char usage[96];
            const char *nl = strchr(tab[i].help, '\n');
            int hl = nl ? (int)(nl - tab[i].help) : (int)strlen(tab[i].help);
            snprintf(usage, sizeof usage, "%s %s", tab[i].name, tab[i].args);
            con_print(c, "  %-40s %.*s", usage, hl, tab[i].help);
        }
        return 0;
    }
    const con_cmd *cmd;
    char err[512];
    if (con_cmd_lookup(tab, n, argv[0], &cmd, err, sizeof err) != CON_LOOKUP_FOUND)
        return con_error(c, "help: %s", err);
    con_print(c, "usage: %s %s%s%s\n  %s", cmd->name, cmd->args, cmd->aliases[0] ? "\naliases: " : "",
              cmd->aliases, cmd->help);
    if (!strcmp(cmd->name, "break"))
        help_fields(c);
    if (!strcmp(cmd->name, "set") || !strcmp(cmd->name, "get"))
        help_settings(c);
    if (!strcmp(cmd->name, "load"))
        con_print(c, "data options (also written NAME=VALUE, e.g. limit=200 text=sentence):\n%s",
                  sm_data_opts_usage());
    return 0;
}
