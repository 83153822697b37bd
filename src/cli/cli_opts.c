/* cli_opts.c: the subcommands' option tables (see cli_opts.h): parsing, usage lines and errors from
 * one place, and the options that eval and predict share. It knows no other subcommand's options. */
#include "cli/cli_opts.h"

#include <errno.h>
#include <stdlib.h>
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

/* ---- eval and predict ---- */

int cli_opt_batch(void *ud, const char *opt, const char *v)
{
    cli_run_args *a = ud;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > 65536) {
        fprintf(stderr, "smartty %s: %s %s: expected a whole number from 1 to 65536\n", a->cmd, opt, v);
        return 2;
    }
    a->batch = n;
    return 0;
}

int cli_run_parse(cli_run_args *run, const cli_opt *tab, void *ud, int argc, char **argv,
                  void (*usage)(FILE *out), sm_data_opts *o)
{
    sm_error e;
    if (sm_data_opts_parse(o, &argc, argv, 1, &e) != SM_OK) {
        fprintf(stderr, "smartty %s: %s\n", run->cmd, e.msg);
        sm_data_opts_free(o);
        return 2;
    }
    int prc = cli_opts_parse(run->cmd, tab, ud, argc, argv, 1, usage);
    if (prc) {
        sm_data_opts_free(o);
        return prc;
    }
    if (!run->model || !run->data) {
        fprintf(stderr, "smartty %s: %s is required\nusage: smartty %s --model DIR --data FILE [options] "
                        "(see --help)\n", run->cmd, !run->model ? "--model DIR" : "--data FILE", run->cmd);
        sm_data_opts_free(o);
        return 2;
    }
    return 0;
}

void cli_run_usage_tail(FILE *out)
{
    fprintf(out, "  --help                 this text\ndata options (columns are 1-based numbers or header names):\n%s",
            sm_data_opts_usage());
}

void cli_run_log(void *ud, sm_log_level level, const char *msg)
{
    if (level >= SM_LOG_NOTICE)
        fprintf(stderr, "smartty %s: %s: %s\n", ((const cli_run_args *)ud)->cmd,
                level == SM_LOG_WARN ? "warning" : "notice", msg);
}
