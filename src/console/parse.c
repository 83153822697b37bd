/* parse.c: the console's tokenizer (words, quotes, escapes, comments, `;`), typed value parsers and
 * the expansion of a leading ~ in paths.
 * Errors name the offending text and the column; nothing here prints or knows any command. */
#include "console/parse.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v'; }

void con_tokens_free(con_tokens *t)
{
    if (!t)
        return;
    free(t->buf);
    t->buf = NULL;
    t->argc = 0;
    t->argv[0] = NULL;
}

static int fail(char *err, size_t cap, int *err_col, int col, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "%s at column %d", msg, col + 1);
    if (err_col)
        *err_col = col;
    return -1;
}

int con_tokenize(const char *line, size_t len, con_tokens *t, size_t *rest, char *err, size_t cap,
                 int *err_col)
{
    t->argc = 0;
    t->argv[0] = NULL;
    t->buf = malloc(len + 1);
    if (!t->buf)
        return fail(err, cap, err_col, 0, "out of memory");
    char *o = t->buf;
    size_t i = 0;
    if (rest)
        *rest = len;
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len || line[i] == '\0')
            break;
        if (line[i] == ';') {
            if (rest)
                *rest = i + 1;
            break;
        }
        if (line[i] == '#') {
            if (rest)
                *rest = len;
            break;
        }
        if (t->argc == CON_MAX_ARGS) {
            char m[64];
            snprintf(m, sizeof m, "too many words (at most %d)", CON_MAX_ARGS);
            return fail(err, cap, err_col, (int)i, m);
        }
        t->col[t->argc] = (int)i;
        t->argv[t->argc++] = o;
        while (i < len && line[i] != '\0' && !is_blank(line[i]) && line[i] != ';') {
            char ch = line[i];
            if (ch == '\'') {
                size_t start = i++;
                while (i < len && line[i] != '\'' && line[i] != '\0')
                    *o++ = line[i++];
                if (i >= len || line[i] != '\'')
                    return fail(err, cap, err_col, (int)start, "unterminated ' quote");
                i++;
            } else if (ch == '"') {
                size_t start = i++;
                while (i < len && line[i] != '"' && line[i] != '\0') {
                    if (line[i] == '\\' && i + 1 < len && line[i + 1] != '\0') {
                        char e = line[i + 1];
                        *o++ = e == 'n' ? '\n' : e == 't' ? '\t' : e;
                        i += 2;
                    } else {
                        *o++ = line[i++];
                    }
                }
                if (i >= len || line[i] != '"')
                    return fail(err, cap, err_col, (int)start, "unterminated \" quote");
                i++;
            } else if (ch == '\\') {
                if (i + 1 >= len || line[i + 1] == '\0')
                    return fail(err, cap, err_col, (int)i, "backslash at the end of the line");
                *o++ = line[i + 1];
                i += 2;
            } else {
                *o++ = ch;
                i++;
            }
        }
        *o++ = '\0';
    }
    t->argv[t->argc] = NULL;
    return 0;
}

int con_parse_long(const char *s, long long min, long long max, long long *out, char *err, size_t cap)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || end == s) {
        snprintf(err, cap, "'%s' is not an integer", s);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        snprintf(err, cap, "%s is out of range [%lld, %lld]", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int con_parse_double(const char *s, double min, double max, double *out, char *err, size_t cap)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || end == s) {
        snprintf(err, cap, "'%s' is not a number", s);
        return -1;
    }
    if (!isfinite(v)) {
        snprintf(err, cap, "'%s' is not a finite number", s);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(err, cap, "%s is out of range [%g, %g]", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int con_parse_bool(const char *s, int *out, char *err, size_t cap)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    snprintf(err, cap, "'%s' is not on or off", s);
    return -1;
}

int con_parse_choice(const char *s, const char *const *choices, char *err, size_t cap)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(s, choices[i]))
            return i;
    size_t n = (size_t)snprintf(err, cap, "'%s' is not one of", s);
    for (int i = 0; choices[i] && n < cap; i++)
        n += (size_t)snprintf(err + n, cap - n, "%s %s", i ? "," : "", choices[i]);
    return -1;
}

char *con_join(char *buf, size_t cap, int argc, char *const *argv)
{
    size_t n = 0;
    if (!cap)
        return buf;
    buf[0] = '\0';
    for (int i = 0; i < argc && n + 1 < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}

int con_expand_home(const char *s, char **out, char *err, size_t cap)
{
    *out = NULL;
    if (s[0] != '~')
        return 0;
    const char *rest = s + 1 + strcspn(s + 1, "/");
    size_t nl = (size_t)(rest - s - 1);
    const char *home = NULL;
    if (nl == 0) {
        home = getenv("HOME");
        if (!home || !*home) {
            const struct passwd *pw = getpwuid(getuid());
            home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
        }
        if (!home) {
            snprintf(err, cap, "~ is the home folder, but $HOME is not set and the password file gives none: "
                               "write the path in full");
            return -1;
        }
    } else {
        char *user = malloc(nl + 1);
        if (!user) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        memcpy(user, s + 1, nl);
        user[nl] = '\0';
        const struct passwd *pw = getpwnam(user);
        home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
        if (!home) {
            snprintf(err, cap, "~%s is the home folder of user '%s', and there is no such user (for a file of "
                               "that name, write ./%.*s)", user, user, (int)strlen(s), s);
            free(user);
            return -1;
        }
        free(user);
    }
    size_t hl = strlen(home);
    while (*rest && hl > 1 && home[hl - 1] == '/') /* "/home/me/" + "/x": one slash */
        hl--;
    if (*rest && hl == 1 && home[0] == '/')
        hl = 0; /* "/" + "/x" */
    size_t rl = strlen(rest);
    char *p = malloc(hl + rl + 1);
    if (!p) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    memcpy(p, home, hl);
    memcpy(p + hl, rest, rl + 1);
    *out = p;
    return 0;
}
