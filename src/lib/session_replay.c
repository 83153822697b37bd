/* session_replay.c: replaying a journal into a session, one event at a time: train to the event's
 * step without breakpoints, then apply it as its command. Loads are the backend's to replay
 * (session_bert_load.c); what the journal holds is journal.h's. */
#include "lib/session_internal.h"

#include <stdio.h>
#include <string.h>

static int op_is(const sm_journal_event *ev, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(ev->op, *names))
            return 1;
    return 0;
}

sm_status sm_session_apply_event(sm_session *s, const sm_journal_event *ev, sm_error *e)
{
    static const char *const markers[] = {"train", "step", "stepped", "pause", "resume", "stop",
                                          "done", "break", "delete", "save", "quit", NULL};
    if (s->threaded)
        return sm_err(e, SM_ERR_STATE, "replay: stop the trainer thread first");
    if (ev->step < s->step)
        return sm_err(e, SM_ERR_STATE,
                      "replay: event '%s' took effect at step %lld but the session is already at "
                      "step %lld", ev->op, (long long)ev->step, (long long)s->step);
    if (s->pending)
        return sm_err(e, SM_ERR_STATE, "replay: an update is pending at a breakpoint");
    if (ev->step > s->step) {
        sm_status st = ses_prepare(s, e);
        if (st != SM_OK)
            return st;
        s->replaying = 1;
        while (s->step < ev->step) {
            if ((st = ses_one_step(s, e)) != SM_OK) {
                s->replaying = 0;
                return sm_err_prefix(e, "replay: step %lld", (long long)s->step + 1);
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
