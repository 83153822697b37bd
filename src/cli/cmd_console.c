/* cmd_console.c: `smartty console [-x FILE] [-c CMDS]`, also what `smartty` runs with no arguments
 * or with -x/-c first: hands over to the console (src/console/repl.c), whose interactive
 * console runs as a client of an in-process run server (src/server/local.c). */
#include "cli/cli.h"
#include "console/repl.h"
#include "server/server.h"

/* the interactive console is a client of an in-process run server (server/local.c) */
int cli_console(int argc, char **argv) { return con_main_with(argc, argv, sv_local_console); }
