/* commands_internal.h: what the console's command handlers share: the table (commands.c) names
 * each handler declared here, and the handlers (cmd_knobs.c, cmd_run.c, cmd_state.c) share the
 * helpers below. Private to src/console; the console's interface is console.h. */
#ifndef SMARTTY_CONSOLE_COMMANDS_INTERNAL_H
#define SMARTTY_CONSOLE_COMMANDS_INTERNAL_H

#include <stddef.h>

#include "console/console.h"

#define NO_SESSION "needs the training session, which this build does not have yet"

/* The backend operation or, when absent, a failed command saying so. */
#define NEED(op, name)                                        \
    do {                                                      \
        if (!c->be || !c->be->op)                             \
            return con_error(c, "%s: " NO_SESSION, name);     \
    } while (0)

/* "CMD: what went wrong", unless the library's message already begins with "CMD: "; returns 1 */
int con_cmd_failed(con_ctx *c, const char *cmd, const char *msg);
/* Journal a console action when the session keeps a journal (a failure is only reported). */
void con_cmd_journal(con_ctx *c, const char *op, int argc, const char *const *argv);
/* Training in progress (running or stepping), or a run begun and not finished (also paused). */
int con_is_running(const con_status *st);
int con_in_run(const con_status *st);
/* Apply hyperparameter id = v through the backend (when there is one) and record it; note receives
 * when it takes effect. Returns 0 or 1 (an error was printed). */
int con_apply_hparam(con_ctx *c, const char *cmd, int id, double v, char *note, size_t cap);

/* The handlers, one per command of the table (argv[0] is the first argument, not the name). */
int con_cmd_set(con_ctx *c, int argc, char **argv);
int con_cmd_get(con_ctx *c, int argc, char **argv);
int con_cmd_preset(con_ctx *c, int argc, char **argv);
int con_cmd_show(con_ctx *c, int argc, char **argv);
int con_cmd_load(con_ctx *c, int argc, char **argv);
int con_cmd_new(con_ctx *c, int argc, char **argv);
int con_cmd_train(con_ctx *c, int argc, char **argv);
int con_cmd_wait(con_ctx *c, int argc, char **argv);
int con_cmd_pause(con_ctx *c, int argc, char **argv);
int con_cmd_resume(con_ctx *c, int argc, char **argv);
int con_cmd_step(con_ctx *c, int argc, char **argv);
int con_cmd_eval(con_ctx *c, int argc, char **argv);
int con_cmd_stop(con_ctx *c, int argc, char **argv);
int con_cmd_break(con_ctx *c, int argc, char **argv);
int con_cmd_delete(con_ctx *c, int argc, char **argv);
int con_cmd_snapshot(con_ctx *c, int argc, char **argv);
int con_cmd_rewind(con_ctx *c, int argc, char **argv);
int con_cmd_save(con_ctx *c, int argc, char **argv);
int con_cmd_export(con_ctx *c, int argc, char **argv);
int con_cmd_replay(con_ctx *c, int argc, char **argv);
int con_cmd_source(con_ctx *c, int argc, char **argv);
int con_cmd_predict(con_ctx *c, int argc, char **argv);
int con_cmd_theme(con_ctx *c, int argc, char **argv);
int con_cmd_echo(con_ctx *c, int argc, char **argv);
int con_cmd_quit(con_ctx *c, int argc, char **argv);
/* cmd_branch.c */
int con_cmd_branches(con_ctx *c, int argc, char **argv);
int con_cmd_checkout(con_ctx *c, int argc, char **argv);
int con_cmd_branch(con_ctx *c, int argc, char **argv);
int con_cmd_explore(con_ctx *c, int argc, char **argv);
int con_show_branches(con_ctx *c);
int con_show_explore(con_ctx *c);
int con_show_snapshots(con_ctx *c);
int con_show_compare(con_ctx *c, int argc, char **argv);
int con_export_compare(con_ctx *c, const char *path);

#endif
