/* events.c: the console's queue of typed session events, the de-duplication of a command's own event
 * by kind, and the rendering of an event as text (the only place the console words an event). It
 * prints nothing and matches no text. */
#include "console/events.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "smartty/record.h"

void con_evq_init(con_evq *q) { memset(q, 0, sizeof *q); }

int con_evq_push(con_evq *q, const sm_session_event *ev)
{
    sm_session_event copy;
    sm_error e;
    if (sm_session_event_copy(&copy, ev, &e) != SM_OK) {
        q->dropped++;
        return -1;
    }
    if (q->n == CON_EVQ_CAP) { /* full: drop the oldest */
        sm_session_event_free(&q->ev[q->head]);
        q->head = (q->head + 1) % CON_EVQ_CAP;
        q->n--;
        q->dropped++;
    }
    q->ev[(q->head + q->n) % CON_EVQ_CAP] = copy;
    q->n++;
    return 0;
}

int con_evq_pop(con_evq *q, sm_session_event *out)
{
    if (!q->n)
        return 0;
    *out = q->ev[q->head];
    memset(&q->ev[q->head], 0, sizeof q->ev[0]);
    q->head = (q->head + 1) % CON_EVQ_CAP;
    q->n--;
    return 1;
}

int con_evq_drop_last(con_evq *q, sm_event_kind kind, int64_t step)
{
    for (int i = q->n - 1; i >= 0; i--) {
        sm_session_event *ev = &q->ev[(q->head + i) % CON_EVQ_CAP];
        if (ev->kind != kind || (step >= 0 && ev->step != step))
            continue;
        sm_session_event_free(ev);
        for (int j = i; j < q->n - 1; j++) /* close the gap, keeping the order */
            q->ev[(q->head + j) % CON_EVQ_CAP] = q->ev[(q->head + j + 1) % CON_EVQ_CAP];
        memset(&q->ev[(q->head + q->n - 1) % CON_EVQ_CAP], 0, sizeof q->ev[0]);
        q->n--;
        return 1;
    }
    return 0;
}

void con_evq_clear(con_evq *q)
{
    sm_session_event ev;
    while (con_evq_pop(q, &ev))
        sm_session_event_free(&ev);
    q->head = 0;
}

static size_t format_eval(char *buf, size_t cap, const sm_eval_record *ev)
{
    int n = snprintf(buf, cap, "dev at step %lld (%d examples):", (long long)ev->step, ev->n);
    size_t w = n < 0 ? 0 : (size_t)n;
    for (size_t i = 0; i < sm_field_count() && w < cap; i++) {
        const sm_field_def *f = sm_field_at(i);
        double v = f->source == SM_FIELD_EVAL ? sm_field_value((int)i, NULL, ev) : NAN;
        if (!isnan(v))
            w += (size_t)snprintf(buf + w, cap - w, " %s %.4f", f->name + 4, v);
    }
    return w;
}

size_t con_event_text(const sm_session_event *ev, char *buf, size_t cap)
{
    const char *msg = ev->msg ? ev->msg : "";
    int n = 0;
    if (!cap)
        return 0;
    buf[0] = '\0';
    switch (ev->kind) {
    case SM_EVENT_EVAL:
        if (!ev->has_eval)
            return 0;
        return format_eval(buf, cap, &ev->eval) < cap ? strlen(buf) : cap - 1;
    case SM_EVENT_BREAK:
        if (ev->has_rec)
            n = snprintf(buf, cap, "%s; paused before the update of step %lld (`resume` applies it, `resume discard` "
                         "drops it)", *msg ? msg : "breakpoint", (long long)ev->rec.step);
        else
            n = snprintf(buf, cap, "%s; paused after the evaluation at step %lld", *msg ? msg : "breakpoint",
                         (long long)ev->step);
        break;
    case SM_EVENT_CHECKPOINT: n = snprintf(buf, cap, "checkpoint written to %s", *msg ? msg : "?"); break;
    case SM_EVENT_WARN: n = snprintf(buf, cap, "warning at step %lld: %s", (long long)ev->step, msg); break;
    case SM_EVENT_DONE: /* msg: what the console measured over the run, when it did */
        n = snprintf(buf, cap, "run finished at step %lld%s%s", (long long)ev->step, *msg ? ": " : "", msg);
        break;
    case SM_EVENT_ERROR: n = snprintf(buf, cap, "training stopped at step %lld: %s", (long long)ev->step, msg); break;
    case SM_EVENT_NOTICE: n = snprintf(buf, cap, "%s%s", ev->level == SM_LOG_WARN ? "warning: " : "", msg); break;
    case SM_EVENT_REPLY: n = snprintf(buf, cap, "%s", msg); break;
    case SM_EVENT_BRANCH: n = snprintf(buf, cap, "%s", msg); break;
    default: return 0; /* STATE, STEP, CHANGE, SNAPSHOT, REWIND: shown by the status or the reply */
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
