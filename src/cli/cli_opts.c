/* cli_opts.c: the subcommands' option tables (see cli_opts.h): parsing, usage lines and errors from
 * one place. It knows no subcommand's options itself. */
#include "cli/cli_opts.h"

#include <string.h>

void cli_opts_usage(FILE *out, const cli_opt *tab)
{
    for (const cli_opt *o = tab; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-22s ", left);
        for (const char *h = o->help; *h; h++) {
            fputc(*h, out);
            if (*h == '\n')
                fprintf(out, "  %-22s ", "");
        }
        fputc('\n', out);
    }
}

int cli_opts_parse(const char *cmd, const cli_opt *tab, void *ud, int argc, char **argv, int first,
                   void (*usage)(FILE *out))
{
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        const char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = tab;
        while (o->name && (strlen(o->name) != nl || strncmp(o->name, a, nl)))
            o++;
        if (!o->name) {
            fprintf(stderr, "smartty %s: unknown option '%s' (see smartty %s --help)\n", cmd, a, cmd);
            return 2;
        }
        const char *v = NULL;
        if (o->arg) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else {
                fprintf(stderr, "smartty %s: %s needs a value (%s)\n", cmd, o->name, o->arg);
                return 2;
            }
        } else if (eq) {
            fprintf(stderr, "smartty %s: %s takes no value\n", cmd, o->name);
            return 2;
        }
        if (o->flag)
            *o->flag = 1;
        if (o->value)
            *o->value = v;
        if (o->fn) {
            int rc = o->fn(ud, o->name, v);
            if (rc)
                return rc;
        }
    }
    return 0;
}
