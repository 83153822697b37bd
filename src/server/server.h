/* server.h: the run server's subcommands (src/server): `smartty serve` (server.c) and its clients
 * `attach`, `watch`, `ctl` and `ls` (client.c). Each takes the program's arguments from its own
 * name on and returns the exit status: 0 success, 1 failure, 2 usage error. */
#ifndef SMARTTY_SERVER_SERVER_H
#define SMARTTY_SERVER_SERVER_H

int sv_serve_main(int argc, char **argv);
int sv_attach_main(int argc, char **argv);
int sv_watch_main(int argc, char **argv);
int sv_ctl_main(int argc, char **argv);
int sv_ls_main(int argc, char **argv);

#endif
