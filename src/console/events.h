/* events.h: the console's side of the session's typed event stream (sm_session_event in
 * smartty/session.h): a bounded queue of owned copies (the trainer thread pushes, the main thread
 * pops; the caller holds its own lock), the removal of an event that a command reports itself
 * (chosen by kind and step, never by text), and the one rendering of an event as the console's text.
 * No output, no threads and no terminal here. */
#ifndef SMARTTY_CONSOLE_EVENTS_H
#define SMARTTY_CONSOLE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/session.h"

#define CON_EVQ_CAP 256

typedef struct con_evq {
    sm_session_event ev[CON_EVQ_CAP]; /* owned copies, oldest at head */
    int head, n;
    size_t dropped;                   /* events dropped because the queue was full */
} con_evq;

void con_evq_init(con_evq *q);
/* Append a copy of ev (a full queue drops its oldest event). Returns 0, or -1 when out of memory
 * (the event is then lost and counted in dropped). */
int con_evq_push(con_evq *q, const sm_session_event *ev);
/* Take the oldest event into out (the caller frees it with sm_session_event_free). Returns 1, or 0
 * when the queue is empty. */
int con_evq_pop(con_evq *q, sm_session_event *out);
/* Remove the newest queued event of this kind at this step (step < 0: at any step): a command that
 * prints its own result (`eval`, `save`) drops the event that would say it again. Returns 1 when one
 * was removed. */
int con_evq_drop_last(con_evq *q, sm_event_kind kind, int64_t step);
void con_evq_clear(con_evq *q);

/* The event as one message of the console (may contain newlines) into buf; returns its length, 0
 * when the event is not shown as text: steps and state changes (the progress line and the status
 * show them), hyperparameter changes, snapshots and rewinds (the command's own reply says them). */
size_t con_event_text(const sm_session_event *ev, char *buf, size_t cap);

#endif
