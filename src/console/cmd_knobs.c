/* cmd_knobs.c: the console's commands on values: set, get, preset and show (params, breaks,
 * status, model, data, journal). Validation of names and values is here; the table is commands.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/commands_internal.h"
#include "console/events.h"
#include "console/parse.h"
#include "console/replay_trust.h"
#include "smartty/data.h"

/* ---- set, get, show params, preset ---- */

/* Apply hyperparameter id = v through the backend (when there is one) and record it. */
int con_apply_hparam(con_ctx *c, const char *cmd, int id, double v, char *note, size_t cap)
{
    const sm_hparam_def *d = sm_hparam_def_at(id);
    con_status st;
    con_status_get(c, &st);
    note[0] = '\0';
    if (con_in_run(&st) && !d->live)
        return con_error(c, "%s: %s cannot change during a run (it is fixed when training starts); "
                            "`stop` first", cmd, d->name);
    int64_t at = st.step;
    if (c->be && c->be->set_hparam) {
        sm_error e;
        if (c->be->set_hparam(c->be_ud, id, v, &at, &e) != SM_OK)
            return con_cmd_failed(c, cmd, e.msg);
    }
    c->hp.v[id] = v;
    c->hp_changed_at[id] = at;
    if (con_in_run(&st))
        snprintf(note, cap, " (takes effect at step %lld)", (long long)at + 1);
    return 0;
}

int con_cmd_set(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    int id = sm_hparam_lookup(argv[0]);
    if (id >= 0) {
        double v;
        sm_error e;
        if (sm_hparam_parse(id, argv[1], &v, &e) != SM_OK)
            return con_cmd_failed(c, "set", e.msg);
        char note[64], txt[64];
        if (con_apply_hparam(c, "set", id, v, note, sizeof note))
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

int con_cmd_get(con_ctx *c, int argc, char **argv)
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

int con_cmd_preset(con_ctx *c, int argc, char **argv)
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
        if (con_apply_hparam(c, "preset", id, h.v[id], note, sizeof note))
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
    if (st.eval_total)
        con_print(c, "evaluating the dev set: %lld of %lld rows", (long long)st.eval_done, (long long)st.eval_total);
    else if (st.eval_owed > 0)
        con_print(c, "the evaluation after step %lld was interrupted: it runs again, whole, before the next step "
                  "(`resume` or `step`; `stop` drops it)", (long long)st.eval_owed);
}

int con_cmd_show(con_ctx *c, int argc, char **argv)
{
    const char *w = argv[0];
    if (argc > 1 && strcmp(w, "compare"))
        return con_error(c, "show: argument 2 '%s': only `show compare` takes names", argv[1]);
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
    } else if (!strcmp(w, "branches")) {
        return con_show_branches(c);
    } else if (!strcmp(w, "snapshots")) {
        return con_show_snapshots(c);
    } else if (!strcmp(w, "explore")) {
        return con_show_explore(c);
    } else if (!strcmp(w, "compare")) {
        return con_show_compare(c, argc - 1, argv + 1);
    } else {
        NEED(show, "show");
        sm_error e;
        if (c->be->show(c->be_ud, w, c, &e) != SM_OK)
            return con_error(c, "show %s: %s", w, e.msg);
    }
    return 0;
}

/* ---- loading ---- */
