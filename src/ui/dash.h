/* dash.h: the full-screen dashboard (ncursesw): header, curves, knob panel, event log and a
 * readline command line, drawn from a ui_source at a bounded frame rate. Main thread only. */
#ifndef SMARTTY_UI_DASH_H
#define SMARTTY_UI_DASH_H

#include <stdint.h>

#include "smartty/common.h"
#include "smartty/session.h"
#include "ui/source.h"

typedef struct ui_options {
    int ascii;          /* --ascii: ASCII box and plot glyphs */
    int no_color;       /* --no-color: attributes only */
    int fps;            /* frames a second at most (default 4) */
    const char *theme;  /* theme name or path (NULL: default) */
    const char *log_path; /* where stderr goes while the screen is ours (NULL: the state folder) */
    const char *history_path; /* readline history read at start and written at the end (NULL: none) */
    int exit_when_done;  /* leave once a run that was seen running has ended (benchmarks) */
    const char *const *startup; /* command lines run once the screen is up, shown in the log as if
                                   typed (NULL-terminated; NULL: none) */
    const char *quit_key;  /* what F10 runs and the key bar says (NULL: "quit"; attached: "detach") */
} ui_options;

void ui_options_default(ui_options *o);

/* Take the terminal and run until the source says to stop or the user quits. Returns the exit
 * status (the source's, or 1 when the terminal could not be set up, with a message on stderr). */
int ui_dash_run(const ui_source *src, const ui_options *o);

/* Add a line to the event log (step < 0: no step). Outside ui_dash_run it goes to stderr.
 * Main thread only. */
void ui_dash_print(int kind, int64_t step, const char *text);

/* A typed event (session.h): a line of text in the event log (when text is not empty; the source
 * renders it) coloured by the event's kind, and the curve marker its kind calls for (ui/events.h).
 * A REPLY event carries its ui_log_kind in level. Main thread only. */
void ui_dash_event(const sm_session_event *ev, const char *text);

/* Switch the theme (what `theme NAME` runs): on failure the current theme stays and e says why. */
sm_status ui_dash_theme(const char *name, sm_error *e);

/* The compare view (dash_compare.c): on with the branches named (none: every branch), or off;
 * F11 toggles it. What `show compare [BRANCH...]` runs. Main thread only. */
void ui_dash_compare(int on, int argc, char *const *argv);
/* The source has new branch records: the compare view (when on) fetches them again and redraws. */
void ui_dash_compare_refresh(void);

/* Where stderr went while the dashboard ran ("" before the first run). */
const char *ui_dash_log_path(void);

#endif
