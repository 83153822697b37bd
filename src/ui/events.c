/* events.c: the dashboard's colour and marker of each kind of session event (see events.h). It holds
 * no state and draws nothing. */
#include "ui/events.h"

#include "ui/chart.h"
#include "ui/source.h"

void ui_event_style_of(const sm_session_event *ev, ui_event_style *out)
{
    out->mark = -1;
    out->mark_at = ev->step;
    switch (ev->kind) {
    case SM_EVENT_CHANGE:
        out->log_kind = UI_LOG_CHANGE;
        out->mark = UI_MARK_CHANGE;
        break;
    case SM_EVENT_SNAPSHOT:
        out->log_kind = UI_LOG_EVENT;
        out->mark = UI_MARK_SNAPSHOT;
        break;
    case SM_EVENT_REWIND:
        out->log_kind = UI_LOG_EVENT;
        out->mark = UI_MARK_REWIND;
        break;
    case SM_EVENT_BREAK: out->log_kind = UI_LOG_BREAK; break;
    case SM_EVENT_WARN: out->log_kind = UI_LOG_WARN; break;
    case SM_EVENT_ERROR: out->log_kind = UI_LOG_ERROR; break;
    case SM_EVENT_NOTICE: out->log_kind = ev->level >= SM_LOG_WARN ? UI_LOG_WARN : UI_LOG_INFO; break;
    case SM_EVENT_REPLY:
        out->log_kind = ev->level >= UI_LOG_OUTPUT && ev->level <= UI_LOG_COMMAND ? ev->level : UI_LOG_OUTPUT;
        break;
    default: out->log_kind = UI_LOG_EVENT; break; /* evaluations, checkpoints, the end of a run */
    }
}
