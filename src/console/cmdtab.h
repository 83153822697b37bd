/* cmdtab.h: the machinery of a command table (after tmux's cmd.c): lookup by exact name, alias,
 * then unique prefix; checking words against an argument spec that is also the usage line; help
 * generated from the table. It holds no commands itself: commands.c has the console's table. */
#ifndef SMARTTY_CONSOLE_CMDTAB_H
#define SMARTTY_CONSOLE_CMDTAB_H

#include <stddef.h>

struct con_ctx;

/* A handler gets the words after the command name (argv[0] is the first argument) once they have
 * matched the spec, and returns 0 (done) or 1 (failed: it has reported why through con_error). */
typedef int (*con_exec_fn)(struct con_ctx *c, int argc, char **argv);

/* The argument spec is the usage line, so the two cannot drift apart. Words, left to right:
 *   word            a literal keyword (lower case)
 *   a|b|c           one of the keywords
 *   N               a positive integer
 *   NAME, VALUE ... any word (upper case placeholder; PATH, FILE, DIR, FILE.csv complete paths;
 *                   PARAM completes hyperparameters and settings; PRESET, THEME, CMD, FIELD too)
 *   X...            one or more words to the end (COND..., TEXT..., OPTIONS...)
 *   [ ... ]         optional (brackets may nest: "[N [steps|epochs]]")
 */
typedef struct con_cmd {
    const char *name;
    const char *aliases; /* space-separated, "" when none */
    const char *args;    /* argument spec = usage after the name, "" when none */
    const char *help;    /* one line; more lines after a '\n' are shown by `help CMD` */
    con_exec_fn exec;
} con_cmd;

typedef enum con_lookup {
    CON_LOOKUP_FOUND = 0,
    CON_LOOKUP_NONE,
    CON_LOOKUP_AMBIGUOUS
} con_lookup;

/* Find name: exact name, then exact alias, then unique prefix of a name. On NONE or AMBIGUOUS, err
 * says so (listing the candidates of an ambiguous prefix) and *found is NULL. */
con_lookup con_cmd_lookup(const con_cmd *tab, size_t n, const char *name, const con_cmd **found,
                          char *err, size_t cap);

/* One item of a parsed argument spec. */
typedef enum con_arg_kind { CON_ARG_KEYWORD, CON_ARG_INT, CON_ARG_WORD, CON_ARG_REST } con_arg_kind;
typedef struct con_arg_item {
    con_arg_kind kind;
    int optional;
    char text[128]; /* keyword alternatives "a|b|c" or the placeholder name ("FILE", "COND") */
} con_arg_item;

/* Parse a spec into items; returns the number of items (at most cap), or -1 if the spec is
 * malformed (a programmer error the table test catches). */
int con_spec_parse(const char *spec, con_arg_item *items, int cap);

/* Check argv[0..argc) against cmd's spec. Returns 0, or -1 with err naming the argument (by
 * position and text) and what was expected. *bad_arg receives the index of the offending word, or
 * argc when words are missing. */
int con_args_check(const con_cmd *cmd, int argc, char *const *argv, char *err, size_t cap,
                   int *bad_arg);

/* The spec item the argument at index i would match (for completion), or NULL. */
const con_arg_item *con_spec_item_at(const con_arg_item *items, int n, int i);

/* Whether a placeholder names a path (PATH, FILE, DIR, FILE.csv): completed as files, and a leading ~
 * in the word is expanded before the handler sees it. */
int con_placeholder_is_path(const char *ph);

/* Whether keyword w is among the alternatives "a|b|c". */
int con_keyword_has(const char *alts, const char *w);

#endif
