/* session_replay.c: replaying a journal into a session, one event at a time: train to the event's
 * step without breakpoints, then apply it as its command. Loads are the backend's to replay
 * (session_bert_load.c); what the journal holds is journal.h's. */
#include "lib/session/session_internal.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int op_is(const sm_journal_event *ev, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(ev->op, *names))
            return 1;
    return 0;
}

void sm_session_set_replay_watch(sm_session *s, volatile sig_atomic_t *a, volatile sig_atomic_t *b,
                                 void (*progress)(void *ud, int64_t step, int64_t target), void *ud)
{
    s->replay_flags[0] = a;
    s->replay_flags[1] = b;
    s->replay_progress = progress;
    s->replay_ud = ud;
}

/* A train or step event's reach: the step its N (or N epochs) takes the run to; 0 when unknown. */
static int64_t event_reach(sm_session *s, const sm_journal_event *ev)
{
    char *end;
    long long n = ev->argc >= 1 ? strtoll(ev->argv[0], &end, 10) : 0;
    if (ev->argc < 1 || n <= 0 || end == ev->argv[0])
        return 0;
    if (!strcmp(end, " epochs")) {
        sm_hparams one = s->hp;
        one.v[SM_HP_EPOCHS] = 1;
        one.v[SM_HP_MAX_STEPS] = 0;
        int64_t per = s->be.planned_steps ? s->be.planned_steps(s->be.ctx, &one) : 0;
        if (per <= 0 || __builtin_mul_overflow((int64_t)n, per, &n))
            return 0;
    } else if (*end) {
        return 0;
    }
    int64_t reach;
    return __builtin_add_overflow(ev->step, (int64_t)n, &reach) ? INT64_MAX : reach;
}

static int replay_stopped(sm_session *s)
{
    return atomic_load(&s->interrupt) || (s->replay_flags[0] && *s->replay_flags[0]) ||
           (s->replay_flags[1] && *s->replay_flags[1]);
}

sm_status sm_session_apply_event(sm_session *s, const sm_journal_event *ev, sm_error *e)
{
    static const char *const markers[] = {"train", "step", "stepped", "pause", "resume", "stop",
                                          "done", "break", "delete", "save", "quit", "by", NULL};
    if (s->threaded)
        return sm_err(e, SM_ERR_STATE, "replay: stop the trainer thread first");
    if (ev->step < s->step)
        return sm_err(e, SM_ERR_STATE,
                      "replay: event '%s' took effect at step %lld but the session is already at "
                      "step %lld", ev->op, (long long)ev->step, (long long)s->step);
    if (s->pending)
        return sm_err(e, SM_ERR_STATE, "replay: an update is pending at a breakpoint");
    if (ev->step > s->step) {
        /* a journal is untrusted: an event no run of it reaches would train for ever */
        int64_t plan = ses_planned(s), limit = plan > s->replay_end ? plan : s->replay_end;
        if (ev->step > limit)
            return sm_err(e, SM_ERR_RANGE,
                          "replay: event '%s' at step %lld lies beyond its run: the plan is %lld steps%s, "
                          "and no train or step event reaches further; the journal is damaged or not "
                          "for this model and data", ev->op, (long long)ev->step, (long long)plan,
                          s->replay_end > plan ? " (its train and step events reach further)" : "");
        sm_status st = ses_prepare(s, e);
        if (st != SM_OK)
            return st;
        s->replaying = 1;
        double shown = sm_now();
        while (s->step < ev->step) {
            if (replay_stopped(s)) {
                s->replaying = 0;
                return sm_err(e, SM_ERR_CANCELLED, "replay: interrupted at step %lld of %lld",
                              (long long)s->step, (long long)ev->step);
            }
            if ((st = ses_one_step(s, e)) != SM_OK) {
                s->replaying = 0;
                return sm_err_prefix(e, "replay: step %lld", (long long)s->step + 1);
            }
            if (s->replay_progress && sm_now() - shown >= 0.25) {
                s->replay_progress(s->replay_ud, s->step, ev->step);
                shown = sm_now();
            }
        }
        s->replaying = 0;
    }
    sm_session_cmd c = ses_mkcmd(SM_CMD_SET);
    sm_session_reply r;
    int need = 0;
    if (!strcmp(ev->op, "set")) {
        need = 2;
        if (ev->argc == 2 && (!ses_cmd_field(c.name, sizeof c.name, ev->argv[0], "the name", &r) ||
                              !ses_cmd_field(c.value, sizeof c.value, ev->argv[1], "the value", &r)))
            return sm_err(e, SM_ERR_FORMAT, "replay: set at step %lld: %s", (long long)ev->step, r.err.msg);
    } else if (!strcmp(ev->op, "preset") || !strcmp(ev->op, "snapshot") || !strcmp(ev->op, "rewind")) {
        need = 1;
        c.kind = !strcmp(ev->op, "preset") ? SM_CMD_PRESET
                 : !strcmp(ev->op, "snapshot") ? SM_CMD_SNAPSHOT : SM_CMD_REWIND;
        if (ev->argc == 1 && !ses_cmd_field(c.name, sizeof c.name, ev->argv[0], "the name", &r))
            return sm_err(e, SM_ERR_FORMAT, "replay: %s at step %lld: %s", ev->op, (long long)ev->step,
                          r.err.msg);
    } else if (!strcmp(ev->op, "discard")) {
        c.kind = SM_CMD_DISCARD;
    } else if (!strcmp(ev->op, "eval")) {
        c.kind = SM_CMD_EVAL;
    } else if (op_is(ev, markers)) {
        if (!strcmp(ev->op, "train") || !strcmp(ev->op, "step")) {
            int64_t reach = event_reach(s, ev);
            if (reach > s->replay_end)
                s->replay_end = reach;
        }
        return sm_journal_add_event(&s->journal, ev, e);
    } else {
        return sm_err(e, SM_ERR_UNSUPPORTED, "replay: '%s' at step %lld is for the caller to apply",
                      ev->op, (long long)ev->step);
    }
    if (ev->argc != need)
        return sm_err(e, SM_ERR_FORMAT, "replay: '%s' at step %lld takes %d argument(s), not %d",
                      ev->op, (long long)ev->step, need, ev->argc);
    if (ses_exec_cmd(s, &c, &r) != SM_OK) {
        if (e)
            *e = r.err;
        return sm_err_prefix(e, "replay: %s at step %lld", ev->op, (long long)ev->step);
    }
    return SM_OK;
}
