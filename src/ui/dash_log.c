/* dash_log.c: the dashboard's event log (lines kept whole, also stamped into the log file), the
 * library's notices queued from any thread, and the typed events: a line coloured by the event's
 * kind and the curve marker its kind calls for. No drawing here: dash_draw.c draws the log. */
#include "config.h"

#include "ui/dash_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartty/escape.h"
#include "ui/events.h"

/* ---- library notices from any thread: queued, drained into the log each frame ---- */
static pthread_mutex_t notice_mu = PTHREAD_MUTEX_INITIALIZER;
static log_line notices[64]; /* texts owned (strdup), freed once drained */
static int n_notices, dropped_notices;

void dash_notice_hook(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level < SM_LOG_INFO)
        return;
    pthread_mutex_lock(&notice_mu);
    char *text = n_notices < (int)(sizeof notices / sizeof notices[0]) ? strdup(msg) : NULL;
    if (text) {
        notices[n_notices].kind = level >= SM_LOG_WARN ? UI_LOG_WARN : UI_LOG_INFO;
        notices[n_notices].step = -1;
        notices[n_notices].text = text;
        n_notices++;
    } else {
        dropped_notices++;
    }
    pthread_mutex_unlock(&notice_mu);
}

/* Move the queued notices into the log (main thread, once a frame). */
void dash_drain_notices(void)
{
    pthread_mutex_lock(&notice_mu);
    log_line q[64];
    int nq = n_notices, dropped = dropped_notices;
    memcpy(q, notices, (size_t)nq * sizeof q[0]);
    n_notices = dropped_notices = 0;
    pthread_mutex_unlock(&notice_mu);
    for (int i = 0; i < nq; i++) {
        ui_dash_print(q[i].kind, -1, q[i].text);
        free(q[i].text);
    }
    if (dropped)
        dash_logf(UI_LOG_WARN, "(%d more library notices dropped)", dropped);
}

/* ---- the event log ---- */

static void log_add_one(int kind, int64_t step, const char *text, size_t len)
{
    char *t = malloc(len + 1);
    if (!t)
        return; /* out of memory: this line is lost, the log stays whole */
    memcpy(t, text, len);
    t[len] = 0;
    for (char *p = t; *p; p++)
        if (*p == '\t' || *p == '\r')
            *p = ' ';
    int idx = (D.log_head + D.log_count) % LOG_CAP;
    if (D.log_count == LOG_CAP)
        D.log_head = (D.log_head + 1) % LOG_CAP;
    else
        D.log_count++;
    log_line *l = &D.lines[idx];
    free(l->text);
    l->kind = kind;
    l->step = step;
    l->text = t;
    if (D.log_scroll > 0) /* keep the view where the user scrolled it */
        D.log_scroll++;
    D.dirty_log = 1;
}

/* Every line of the event log also goes to the log file (standard error while the dashboard is up),
 * stamped, so that a session's history survives the screen (a dropped SSH link, a scrolled pane). */
static void log_to_file(int kind, int64_t step, const char *text)
{
    static const char *const tag[] = {"output", "info", "error", "event", "change", "break", "warn", "command"};
    char ts[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *k = kind >= 0 && kind < (int)(sizeof tag / sizeof tag[0]) ? tag[kind] : "log";
    if (step >= 0)
        fprintf(stderr, "%s %s [step %lld] %s\n", ts, k, (long long)step, text);
    else
        fprintf(stderr, "%s %s %s\n", ts, k, text);
    fflush(stderr);
}

static void dash_print(int kind, int64_t step, const char *text);

/* Text from outside (file names, data, journal arguments) is escaped before it is shown or logged. */
void ui_dash_print(int kind, int64_t step, const char *text)
{
    char *safe = sm_text_escape_dup(text, SM_ESC_KEEP_NL);
    dash_print(kind, step, safe ? safe : "(out of memory)");
    free(safe);
}

static void dash_print(int kind, int64_t step, const char *text)
{
    if (!D.active) {
        fprintf(stderr, "%s\n", text);
        return;
    }
    log_to_file(kind, step, text);
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len || !nl)
            log_add_one(kind, step, p, len);
        if (!nl || !nl[1])
            break;
        p = nl + 1;
        step = -1;
    }
}

void dash_logf(int kind, const char *fmt, ...) SM_PRINTF(2, 3);
void dash_logf(int kind, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_dash_print(kind, -1, buf);
}

/* Mark the time axis of every curve at step (a ui_marker_kind); only events call for markers. */
static void ui_dash_mark(int kind, int64_t step)
{
    for (size_t i = 0; i < D.n_marks; i++)
        if (D.marks[i].kind == kind && D.marks[i].x == (double)step)
            return;
    if (D.n_marks == D.cap_marks) {
        size_t nc = D.cap_marks ? D.cap_marks * 2 : 32;
        ui_marker *m = realloc(D.marks, nc * sizeof *m);
        if (!m)
            return;
        D.marks = m;
        D.cap_marks = nc;
    }
    D.marks[D.n_marks].x = (double)step;
    D.marks[D.n_marks].kind = kind;
    D.n_marks++;
    D.dirty_panels = 1;
}

void ui_dash_event(const sm_session_event *ev, const char *text)
{
    ui_event_style style;
    ui_event_style_of(ev, &style);
    if (text && *text)
        ui_dash_print(style.log_kind, -1, text);
    if (style.mark >= 0)
        ui_dash_mark(style.mark, style.mark_at);
}

