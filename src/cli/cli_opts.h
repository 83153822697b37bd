/* cli_opts.h: one option table per subcommand: `--name VALUE` and `--name=VALUE` are parsed from it,
 * and its usage lines and its errors ("needs a value", "unknown option") come from the same table.
 * The data options are parsed first by the library's own table (sm_data_opts_parse). What the
 * subcommands that run a model over a data file (eval, predict) share is here too. */
#ifndef SMARTTY_CLI_OPTS_H
#define SMARTTY_CLI_OPTS_H

#include <stdio.h>

#include "smartty/common.h"
#include "smartty/data.h"

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

/* The options of a subcommand that runs a model over a data file (eval, predict): the first member of
 * its argument struct, so that cli_opt_batch reaches it through the table's ud. */
typedef struct cli_run_args {
    const char *cmd;          /* "eval", in messages */
    const char *model, *data; /* --model DIR, --data FILE: both required */
    long batch;               /* --batch N: rows per forward pass (default 32) */
} cli_run_args;

/* --batch N, a whole number from 1 to 65536, into the cli_run_args at ud. */
int cli_opt_batch(void *ud, const char *opt, const char *v);
/* A run's command line: the data options into *o (initialised by the caller, who may preset them),
 * then tab with ud (whose first member is run; run->cmd set); --model and --data are required.
 * Returns 0; 1 after --help (usage printed: exit 0); or 2 after printing why. On 1 and 2 *o is freed. */
int cli_run_parse(cli_run_args *run, const cli_opt *tab, void *ud, int argc, char **argv,
                  void (*usage)(FILE *out), sm_data_opts *o);
/* The end of a run's usage: --help, then the data options. */
void cli_run_usage_tail(FILE *out);
/* The library's notices and warnings to standard error as "smartty CMD: notice: ..."; ud is the
 * cli_run_args. */
void cli_run_log(void *ud, sm_log_level level, const char *msg);

#endif
