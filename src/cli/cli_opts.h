/* cli_opts.h: one option table per subcommand: `--name VALUE` and `--name=VALUE` are parsed from it,
 * and its usage lines and its errors ("needs a value", "unknown option") come from the same table.
 * The data options are parsed first by the library's own table (sm_data_opts_parse). */
#ifndef SMARTTY_CLI_OPTS_H
#define SMARTTY_CLI_OPTS_H

#include <stdio.h>

typedef struct cli_opt {
    const char *name;  /* "--model" */
    const char *arg;   /* "DIR", or NULL for a flag */
    const char *help;  /* one line (a '\n' continues it) */
    const char **value; /* where a value goes (NULL: fn) */
    int *flag;         /* a flag: set to 1 */
    /* a value checked or collected by a function: returns 0, or 2 after printing why */
    int (*fn)(void *ud, const char *opt, const char *value);
} cli_opt;

/* Parse argv[first..argc) against tab (ended by a NULL name). Returns 0, 1 for --help (usage
 * printed to stdout), or 2 (the error printed as "smartty CMD: ..."). */
int cli_opts_parse(const char *cmd, const cli_opt *tab, void *ud, int argc, char **argv, int first,
                   void (*usage)(FILE *out));
/* The table's lines: "  --name ARG   help". */
void cli_opts_usage(FILE *out, const cli_opt *tab);

#endif
