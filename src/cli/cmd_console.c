/* cmd_console.c: `smartty console [-x FILE] [-c CMDS]`, also what `smartty` runs with no arguments
 * or with -x/-c first: hands over to the console (src/console/repl.c). */
#include "cli/cli.h"
#include "console/repl.h"

int cli_console(int argc, char **argv) { return con_main(argc, argv); }
