/* events.h: how the dashboard reads the session's typed events (smartty/session.h): the kind of log
 * line an event makes (its colour) and the curve marker it puts on the time axis, both from the
 * event's kind alone, never from its text. Pure (no curses): unit-tested in check_ui. */
#ifndef SMARTTY_UI_EVENTS_H
#define SMARTTY_UI_EVENTS_H

#include <stdint.h>

#include "smartty/session.h"

typedef struct ui_event_style {
    int log_kind;    /* ui_log_kind (source.h) of the event's line */
    int mark;        /* ui_marker_kind (chart.h), or -1: no marker */
    int64_t mark_at; /* the step the marker stands at */
} ui_event_style;

/* A REPLY event carries its ui_log_kind in level (the source translates its own reply kinds). */
void ui_event_style_of(const sm_session_event *ev, ui_event_style *out);

#endif
