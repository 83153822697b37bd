/* server.h: the run server's subcommands (src/server): `smartty serve` (server.c) and its clients
 * `attach`, `watch`, `ctl` and `ls` (client.c). Each takes the program's arguments from its own
 * name on and returns the exit status: 0 success, 1 failure, 2 usage error. */
#ifndef SMARTTY_SERVER_SERVER_H
#define SMARTTY_SERVER_SERVER_H

#include <stddef.h>

int sv_serve_main(int argc, char **argv);
int sv_attach_main(int argc, char **argv);
int sv_watch_main(int argc, char **argv);
int sv_ctl_main(int argc, char **argv);
int sv_ls_main(int argc, char **argv);

/* The local console's session as an in-process server (repl.c): the console core and the training
 * session run on a thread of this process with the server's code, serving one connection whose
 * other end (*fd) the console's client (client.c, client_dash.c) reads, as `attach` does. notice:
 * said to the console once it said hello (NULL none); plain_progress: timestamped progress lines
 * (the plain prompt's). Returns 0, or 1 with err. */
int sv_local_start(const char *notice, int plain_progress, int *fd, char *err, size_t cap);
/* After the client ended (its `quit`, or the bye after SIGHUP/SIGTERM): the thread's end and the
 * session's exit status (128 + the signal after an autosave, else 0). */
int sv_local_join(void);

/* The program's interactive console (con_main_with's hook, repl.h): the dashboard (dash) or the
 * plain prompt over sv_local_start; returns the exit status. */
struct ui_options;
int sv_local_console(int dash, struct ui_options *o, const char *notice);

#endif
