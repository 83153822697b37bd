/* journal.h: the record of every state-changing action of a training session (loads, set, preset,
 * train, step, pause, resume, snapshot, rewind, discard, save...), each with the step at which it
 * took effect, and its text form: JSON lines, one event per line. Parsing and serialising only;
 * applying events to a session is sm_session_apply_event (session.h).
 *
 * Line format (one JSON object per line, keys in this order when written):
 *   {"step": 120, "op": "set", "args": ["lambda_s", "3"], "time": 1764091234.5}
 * step: completed optimizer steps when the event took effect (the event acts on step+1 onward);
 * op: a lowercase word; args: strings (may be empty or absent); time: Unix seconds, informational.
 * Blank lines and lines starting with '#' are ignored by the parser.
 *
 * Replay rule: for each event in order, train (without breakpoints) until the step counter equals
 * the event's step, then apply the event. A rewind moves the counter back to its snapshot's step;
 * "discard" at step S means "compute step S+1 and drop its update". The end of a run or of a
 * `step N` is marked ("done", "stepped", "pause", "stop") so that a replay runs to it.
 * Branches (session.h): after a rewind the session's journal is the snapshot's (ending with its
 * "snapshot" event), the loads and other outside events since, then "rewind" at the snapshot's
 * step, so a saved branch replays without the other branches' training. */
#ifndef SMARTTY_JOURNAL_H
#define SMARTTY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/str.h"

typedef struct sm_journal_event {
    int64_t step;   /* completed steps when the event took effect */
    double time;    /* Unix time in seconds (informational, not used by replay) */
    char op[32];    /* e.g. "set", "train", "rewind" */
    int argc;
    char **argv;    /* argc owned strings */
} sm_journal_event;

typedef struct sm_journal {
    sm_journal_event *ev; /* [n] in chronological order */
    size_t n, cap;
} sm_journal;

void sm_journal_init(sm_journal *j);
void sm_journal_free(sm_journal *j);
void sm_journal_clear(sm_journal *j);
/* Append an event (args are copied; argv may be NULL when argc is 0). time 0 stamps the current
 * time. op must be a non-empty lowercase word (letters, digits, '_'), at most 31 bytes. */
sm_status sm_journal_add(sm_journal *j, int64_t step, double time, const char *op, int argc,
                         const char *const *argv, sm_error *e);
/* Append one event copied from another. */
sm_status sm_journal_add_event(sm_journal *j, const sm_journal_event *ev, sm_error *e);
sm_status sm_journal_copy(sm_journal *dst, const sm_journal *src, sm_error *e);

/* The JSON-lines text (caller frees), or NULL when out of memory. */
char *sm_journal_to_text(const sm_journal *j);
/* Parse JSON-lines text; appends to j. Errors name the source and line:column. On error j keeps
 * only the events before the bad line. */
sm_status sm_journal_parse(sm_journal *j, const char *text, size_t len, const char *source,
                           sm_error *e);
sm_status sm_journal_load(sm_journal *j, const char *path, sm_error *e);
/* Written atomically (a temporary file beside it, fsync, rename). */
sm_status sm_journal_save(const sm_journal *j, const char *path, sm_error *e);

/* One line for people: "step 120: set lambda_s 3" (args with spaces are double-quoted), appended
 * whole to out. */
sm_status sm_journal_event_append(const sm_journal_event *ev, sm_str *out, sm_error *e);
/* The same into buf (cut to cap); returns the length it needed, like snprintf (0 when out of memory). */
size_t sm_journal_event_format(const sm_journal_event *ev, char *buf, size_t cap);

#endif
