/* dash_source.h: the console as the dashboard's source (ui/source.h): what `smartty` runs when both
 * standard input and output are terminals. The console's output then goes to the dashboard's log. */
#ifndef SMARTTY_CONSOLE_DASH_SOURCE_H
#define SMARTTY_CONSOLE_DASH_SOURCE_H

#include "console/console.h"
#include "ui/dash.h"
#include "ui/source.h"

/* Fill out with c as the source, route c's output to the dashboard's log and install the
 * dashboard's hooks (theme, curve markers). */
void con_dash_source(con_ctx *c, ui_source *out);

/* Host c in the dashboard until it ends (the console program and `smartty demo` both): c becomes
 * interactive, `train` returns at once, the history is kept in con_state_path("history"), and c's
 * output is con_out_plain again afterwards, without the dashboard's hooks. Returns the exit status. */
int con_dash_run(con_ctx *c, ui_options *o);

#endif
