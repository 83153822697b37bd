/* cmd_run.c: the console's commands that drive a run: train, wait, pause, resume, step, eval, stop,
 * and the breakpoints (break, delete). The trainer itself is the session's (src/lib/session). */
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


static void print_step(con_ctx *c, const sm_step_record *r)
{
    con_print(c, "step %lld (epoch %d): loss %.6g rs %.6g breg %.6g total %.6g grad_norm %.6g delta_norm %.4g lr %.4g%s",
              (long long)r->step, r->epoch + 1, r->loss, r->rs, r->breg, r->total, r->grad_norm,
              r->delta_norm, r->lr, r->skipped ? " (update skipped: non-finite)" : "");
}

int con_cmd_train(con_ctx *c, int argc, char **argv)
{
    long long n = 0;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, (long long)1 << 53, &n, err, sizeof err))
        return con_error(c, "train: argument 1: %s", err);
    int epochs = argc >= 2 && !strcmp(argv[1], "epochs");
    NEED(train, "train");
    con_status st;
    con_status_get(c, &st);
    if (con_is_running(&st))
        return con_error(c, "train: already running (at step %lld); `pause` or `stop` first", (long long)st.step);
    sm_error e;
    if (c->be->train(c->be_ud, n, epochs, &e) != SM_OK)
        return con_cmd_failed(c, "train", e.msg);
    con_status_get(c, &st);
    con_info(c, "training from step %lld%s", (long long)st.step,
             c->set.train_wait ? "" : " (in the background: `pause`, `set`, `show status`)");
    if (c->set.train_wait && con_wait_run(c, 0) == 1 && !c->interactive)
        return con_error(c, "train: interrupted (the run is paused)");
    return 0;
}

int con_cmd_wait(con_ctx *c, int argc, char **argv)
{
    long long n = 0;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, (long long)1 << 53, &n, err, sizeof err))
        return con_error(c, "wait: argument 1: %s", err);
    if (con_wait_run(c, n) == 1 && !c->interactive)
        return con_error(c, "wait: interrupted (the run is paused)");
    return 0;
}

int con_cmd_pause(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(pause, "pause");
    con_status st;
    con_status_get(c, &st);
    if (!con_is_running(&st))
        return con_error(c, "pause: nothing is running (state: %s)", con_run_state_name(st.state));
    sm_error e;
    if (c->be->pause(c->be_ud, &e) != SM_OK)
        return con_cmd_failed(c, "pause", e.msg);
    con_status_get(c, &st);
    if (con_is_running(&st)) /* an attached console's pause during another client's eval or save */
        con_info(c, "pausing: the run pauses when the command running now ends (step %lld)", (long long)st.step);
    else
        con_info(c, "paused after step %lld", (long long)st.step);
    return 0;
}

/* resume DIR [TRAIN_FILE] with a leading ~ in either expanded (con_expand_home; the table's spec
 * cannot call them paths, as the first word may also be apply or discard). */
static int resume_expanded;

static int resume_home(con_ctx *c, int argc, char **argv)
{
    char *words[CON_MAX_ARGS + 1], *own[2] = {NULL, NULL}, err[512];
    int rc = 0;
    for (int i = 0; i <= argc && i <= CON_MAX_ARGS; i++)
        words[i] = i < argc ? argv[i] : NULL;
    for (int i = 0; i < argc && i < 2 && !rc; i++) {
        if (con_expand_home(argv[i], &own[i], err, sizeof err))
            rc = con_error(c, "resume: argument %d '%s': %s", i + 1, argv[i], err);
        else if (own[i])
            words[i] = own[i];
    }
    resume_expanded = 1; /* a $HOME that itself starts with ~ is taken as it is */
    if (!rc)
        rc = con_cmd_resume(c, argc, words);
    resume_expanded = 0;
    free(own[0]);
    free(own[1]);
    return rc;
}

int con_cmd_resume(con_ctx *c, int argc, char **argv)
{
    if (argc && strcmp(argv[0], "apply") && strcmp(argv[0], "discard")) {
        if (!resume_expanded && (argv[0][0] == '~' || (argc > 1 && argv[1][0] == '~')))
            return resume_home(c, argc, argv);
        /* resume DIR [TRAIN_FILE]: continue a checkpoint with the data it saved */
        if (!sm_dir_exists(argv[0]))
            return con_error(c, "resume: argument 1 '%s': expected apply, discard or a checkpoint folder "
                                "(no such folder)", argv[0]);
        if (argc > 2)
            return con_error(c, "resume: argument 3 '%s': `resume DIR [TRAIN_FILE]` takes at most two", argv[2]);
        NEED(resume_checkpoint, "resume");
        sm_error e;
        if (c->be->resume_checkpoint(c->be_ud, argv[0], argc > 1 ? argv[1] : NULL, &e) != SM_OK)
            return con_cmd_failed(c, "resume", e.msg);
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
        return con_cmd_failed(c, "resume", e.msg);
    if (st.state == CON_RUN_BREAK)
        con_info(c, "resuming; the pending update of step %lld was %s", (long long)st.step + 1,
                 apply ? "applied" : "discarded");
    if (c->set.train_wait && con_wait_run(c, 0) == 1 && !c->interactive)
        return con_error(c, "resume: interrupted (the run is paused)");
    return 0;
}

int con_cmd_step(con_ctx *c, int argc, char **argv)
{
    long long n = 1;
    char err[128];
    if (argc >= 1 && con_parse_long(argv[0], 1, 1000000000LL, &n, err, sizeof err))
        return con_error(c, "step: argument 1: %s", err);
    NEED(step, "step");
    con_status st;
    con_status_get(c, &st);
    if (con_is_running(&st))
        return con_error(c, "step: training is running; `pause` first");
    sm_error e;
    if (c->be->step(c->be_ud, n, &e) != SM_OK)
        return con_cmd_failed(c, "step", e.msg);
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

int con_cmd_eval(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(eval, "eval");
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    sm_error e;
    if (c->be->eval(c->be_ud, &ev, &e) != SM_OK)
        return con_cmd_failed(c, "eval", e.msg);
    print_eval(c, &ev);
    return 0;
}

int con_cmd_stop(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    NEED(stop, "stop");
    con_status st;
    con_status_get(c, &st);
    if (!con_in_run(&st))
        return con_error(c, "stop: no run to stop (state: %s)", con_run_state_name(st.state));
    sm_error e;
    if (c->be->stop(c->be_ud, &e) != SM_OK)
        return con_cmd_failed(c, "stop", e.msg);
    con_status_get(c, &st);
    con_info(c, "stopped at step %lld", (long long)st.step);
    return 0;
}

/* ---- breakpoints ---- */

int con_cmd_break(con_ctx *c, int argc, char **argv)
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
    con_cmd_journal(c, "break", 1, &a);
    con_info(c, "breakpoint %d: %s", id, text);
    return 0;
}

int con_cmd_delete(con_ctx *c, int argc, char **argv)
{
    if (argc == 0 || !strcmp(argv[0], "all")) {
        const char *all = "all";
        con_breaks_clear(&c->breaks);
        con_cmd_journal(c, "delete", 1, &all);
        con_info(c, "deleted all breakpoints");
        return 0;
    }
    long long id;
    char err[128];
    if (con_parse_long(argv[0], 1, 1000000, &id, err, sizeof err))
        return con_error(c, "delete: argument 1: %s; expected a breakpoint number (`show breaks`) or all", err);
    if (con_breaks_delete(&c->breaks, (int)id))
        return con_error(c, "delete: argument 1: there is no breakpoint %lld (`show breaks`)", id);
    con_cmd_journal(c, "delete", 1, (const char *const *)argv);
    con_info(c, "deleted breakpoint %lld", id);
    return 0;
}

/* ---- state ---- */
