/* cmd_pending.c: subcommands whose implementation has not landed yet say so plainly.
 * Each is removed from here when its real implementation lands. */
#include <stdio.h>

#include "cli/cli.h"

int cli_predict(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "smartty predict: not available in this build yet\n");
    return 2;
}
