/* parse.h: the console's lexical layer: splitting a command line into words (quotes, escapes,
 * comments, `;` between commands) and parsing typed values with errors that name the value.
 * It knows nothing of commands, hyperparameters or the training session. */
#ifndef SMARTTY_CONSOLE_PARSE_H
#define SMARTTY_CONSOLE_PARSE_H

#include <stddef.h>

#define CON_MAX_ARGS 64

/* The words of one command. argv[i] points into buf (quotes and escapes removed); col[i] is the
 * 0-based byte offset in the original line where word i starts. argv[argc] is NULL. */
typedef struct con_tokens {
    int argc;
    char *argv[CON_MAX_ARGS + 1];
    int col[CON_MAX_ARGS];
    char *buf;
} con_tokens;

/* Split the first command of line[0..len) into words. Words are separated by blanks; '...' is
 * literal, "..." allows \" \\ \n \t escapes, a backslash outside quotes escapes the next byte, a
 * word starting with # begins a comment to the end of the line, and an unquoted ; ends the command.
 * *rest (if not NULL) receives the offset just past that ; or len when the line is used up.
 * Returns 0, or -1 with err ("unterminated quote at column 12") and *err_col (0-based). An empty
 * command gives argc 0. Free with con_tokens_free (also after an error). */
int con_tokenize(const char *line, size_t len, con_tokens *t, size_t *rest, char *err, size_t cap,
                 int *err_col);
void con_tokens_free(con_tokens *t);

/* Typed values. Each returns 0, or -1 with err naming the text and what was expected. */
int con_parse_long(const char *s, long long min, long long max, long long *out, char *err, size_t cap);
int con_parse_double(const char *s, double min, double max, double *out, char *err, size_t cap);
/* on/off, true/false, yes/no, 1/0 */
int con_parse_bool(const char *s, int *out, char *err, size_t cap);
/* Index of s in the NULL-terminated choices, or -1 with err listing them. */
int con_parse_choice(const char *s, const char *const *choices, char *err, size_t cap);

/* A path as a person types it, with a leading ~ expanded as a shell (and gdb) does: "~" and "~/..."
 * from $HOME (else the password file's home of the user running smartty), "~user" and "~user/..."
 * from getpwnam; a ~ anywhere else stays. *out receives the new path (malloc'd, the caller frees it),
 * or NULL when s does not start with ~ (use s as it is). Returns 0, or -1 with err (no such user, no
 * home). */
int con_expand_home(const char *s, char **out, char *err, size_t cap);

/* Join argv[0..argc) with single spaces into buf; returns buf (truncated to cap). */
char *con_join(char *buf, size_t cap, int argc, char *const *argv);

#endif
