/* console_source.h: the adapter that lets the dashboard host the console (src/console): a ui_source
 * over a con_ctx. Its output function sends the console's lines to the event log; its host hook
 * makes `theme NAME` switch the dashboard's theme. */
#ifndef SMARTTY_UI_CONSOLE_SOURCE_H
#define SMARTTY_UI_CONSOLE_SOURCE_H

#include "console/console.h"
#include "ui/source.h"

typedef struct ui_console ui_console;

/* An adapter over c (which must outlive it). It replaces c's output function and host while the
 * dashboard runs; ui_console_free puts the previous ones back. */
ui_console *ui_console_new(con_ctx *c);
void ui_console_free(ui_console *u);
void ui_console_source(ui_console *u, ui_source *out);

#endif
