/* cmdtab.c: command lookup (name, alias, unique prefix; ambiguity lists the candidates) and the
 * check of a command's words against its argument spec. Words match spec items by position; an
 * optional item only means that fewer words are allowed. No command lives here. */
#include "console/cmdtab.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "console/parse.h"

/* A typed word as an error message shows it: whole up to 200 bytes; a longer one by its first 96
 * bytes (on a UTF-8 boundary) and its length, so that the rest of the message is never cut off. */
#define SHOWN_MAX 200
typedef struct shown_word {
    char b[SHOWN_MAX + 64];
} shown_word;

static const char *shown(const char *w, shown_word *out)
{
    size_t n = strlen(w);
    if (n <= SHOWN_MAX)
        return w;
    size_t k = 96;
    while (k > 0 && ((unsigned char)w[k] & 0xC0) == 0x80)
        k--;
    snprintf(out->b, sizeof out->b, "%.*s[... %zu bytes in all]", (int)k, w, n);
    return out->b;
}

static int alias_has(const char *aliases, const char *name)
{
    size_t n = strlen(name);
    const char *p = aliases;
    while (p && *p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && n && !strncmp(p, name, n))
            return 1;
        p = e;
    }
    return 0;
}

con_lookup con_cmd_lookup(const con_cmd *tab, size_t n, const char *name, const con_cmd **found,
                          char *err, size_t cap)
{
    *found = NULL;
    if (!*name) {
        snprintf(err, cap, "empty command name");
        return CON_LOOKUP_NONE;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tab[i].name, name)) {
            *found = &tab[i];
            return CON_LOOKUP_FOUND;
        }
    for (size_t i = 0; i < n; i++)
        if (alias_has(tab[i].aliases, name)) {
            *found = &tab[i];
            return CON_LOOKUP_FOUND;
        }
    shown_word sw;
    size_t len = strlen(name), hits = 0;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(tab[i].name, name, len)) {
            *found = &tab[i];
            hits++;
        }
    if (hits == 1)
        return CON_LOOKUP_FOUND;
    *found = NULL;
    if (hits == 0) {
        snprintf(err, cap, "unknown command '%s' (`help` lists the commands)", shown(name, &sw));
        return CON_LOOKUP_NONE;
    }
    size_t w = (size_t)snprintf(err, cap, "ambiguous command '%s', could be:", shown(name, &sw));
    for (size_t i = 0; i < n && w < cap; i++)
        if (!strncmp(tab[i].name, name, len))
            w += (size_t)snprintf(err + w, cap - w, " %s", tab[i].name);
    return CON_LOOKUP_AMBIGUOUS;
}

int con_spec_parse(const char *spec, con_arg_item *items, int cap)
{
    int n = 0, depth = 0;
    const char *p = spec;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        while (*p == '[') {
            depth++;
            p++;
        }
        const char *s = p;
        while (*p && *p != ' ' && *p != '[' && *p != ']')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || len >= sizeof items[0].text || n == cap)
            return -1;
        con_arg_item *it = &items[n++];
        memcpy(it->text, s, len);
        it->text[len] = '\0';
        it->optional = depth > 0;
        if (len > 3 && !strcmp(it->text + len - 3, "...")) {
            it->kind = CON_ARG_REST;
            it->text[len - 3] = '\0';
        } else if (!strcmp(it->text, "N")) {
            it->kind = CON_ARG_INT;
        } else if (isupper((unsigned char)it->text[0])) {
            it->kind = CON_ARG_WORD;
        } else {
            it->kind = CON_ARG_KEYWORD;
        }
        while (*p == ']') {
            if (--depth < 0)
                return -1;
            p++;
        }
        if (it->kind == CON_ARG_REST && *p && strspn(p, " ") != strlen(p))
            return -1; /* X... must come last */
        if (n > 1 && !it->optional && items[n - 2].optional)
            return -1; /* a required item after an optional one */
    }
    return depth == 0 ? n : -1;
}

int con_placeholder_is_path(const char *ph)
{
    return !strncmp(ph, "PATH", 4) || !strncmp(ph, "FILE", 4) || !strncmp(ph, "DIR", 3);
}

int con_keyword_has(const char *alts, const char *w)
{
    size_t n = strlen(w);
    const char *p = alts;
    for (;;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && n && !strncmp(p, w, n))
            return 1;
        if (!e)
            return 0;
        p = e + 1;
    }
}

const con_arg_item *con_spec_item_at(const con_arg_item *items, int n, int i)
{
    if (i < 0 || n <= 0)
        return NULL;
    if (i < n)
        return &items[i];
    return items[n - 1].kind == CON_ARG_REST ? &items[n - 1] : NULL;
}

static void keyword_list(char *buf, size_t cap, const char *alts)
{
    size_t w = 0;
    buf[0] = '\0';
    for (const char *p = alts; *p && w + 5 < cap; p++) {
        if (*p == '|') {
            const char *more = strchr(p + 1, '|');
            w += (size_t)snprintf(buf + w, cap - w, "%s", more ? ", " : " or ");
        } else {
            buf[w++] = *p;
            buf[w] = '\0';
        }
    }
}

int con_args_check(const con_cmd *cmd, int argc, char *const *argv, char *err, size_t cap,
                   int *bad_arg)
{
    con_arg_item items[16];
    int n = con_spec_parse(cmd->args, items, 16);
    int dummy;
    if (!bad_arg)
        bad_arg = &dummy;
    *bad_arg = -1;
    if (n < 0) {
        snprintf(err, cap, "%s: malformed argument spec '%s'", cmd->name, cmd->args);
        *bad_arg = 0;
        return -1;
    }
    shown_word sw;
    int required = 0, has_rest = n > 0 && items[n - 1].kind == CON_ARG_REST;
    for (int i = 0; i < n; i++)
        required += !items[i].optional;
    if (argc < required) {
        const con_arg_item *it = &items[argc];
        char what[320];
        if (it->kind == CON_ARG_KEYWORD)
            keyword_list(what, sizeof what, it->text);
        else
            snprintf(what, sizeof what, "%s", it->text);
        snprintf(err, cap, "%s: missing argument %d (%s); usage: %s %s", cmd->name, argc + 1, what,
                 cmd->name, cmd->args);
        *bad_arg = argc;
        return -1;
    }
    if (argc > n && !has_rest) {
        if (n == 0)
            snprintf(err, cap, "%s: takes no arguments, got '%s'", cmd->name, shown(argv[0], &sw));
        else
            snprintf(err, cap, "%s: unexpected argument %d '%s'; usage: %s %s", cmd->name, n + 1,
                     shown(argv[n], &sw), cmd->name, cmd->args);
        *bad_arg = n;
        return -1;
    }
    for (int i = 0; i < argc && i < n; i++) {
        const con_arg_item *it = &items[i];
        char why[160];
        if (it->kind == CON_ARG_KEYWORD && !con_keyword_has(it->text, argv[i])) {
            char kw[320];
            keyword_list(kw, sizeof kw, it->text);
            snprintf(err, cap, "%s: argument %d '%s': expected %s", cmd->name, i + 1, shown(argv[i], &sw), kw);
            *bad_arg = i;
            return -1;
        }
        long long v;
        if (it->kind == CON_ARG_INT && con_parse_long(argv[i], 1, (long long)1 << 53, &v, why, sizeof why)) {
            if (strlen(argv[i]) > SHOWN_MAX) /* why would hold the word whole: cut */
                snprintf(why, sizeof why, "'%s' is too long to be an integer", shown(argv[i], &sw));
            snprintf(err, cap, "%s: argument %d (%s): %s; expected a positive integer", cmd->name, i + 1,
                     it->text, why);
            *bad_arg = i;
            return -1;
        }
    }
    return 0;
}
