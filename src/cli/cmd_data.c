/* cmd_data.c: `smartty data FILE [data options] [--vocab PATH]`: load a data file exactly as train,
 * predict and the console's load would, and print the loading report (rows, format, columns, label
 * distribution, with --vocab token-length percentiles, bad rows). A check before training; it does
 * no parsing of its own beyond its two options. Exit 0 loaded, 1 bad data, 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smartty/data.h"
#include "smartty/escape.h"

static void data_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty data FILE [data options] [--vocab PATH]\n"
            "\n"
            "Loads a TSV or CSV data file as train, predict and the console's load do, and prints\n"
            "what it found; a bad row is reported as file:line:column with what to do.\n"
            "\n"
            "  --vocab PATH           also tokenize (vocab.txt, tokenizer.json or a model folder) and\n"
            "                         report token-length percentiles\n"
            "  --help                 this text\n"
            "\ndata options:\n%s",
            sm_data_opts_usage());
}

int cli_data(int argc, char **argv)
{
    sm_data_opts o;
    sm_data_opts_init(&o);
    sm_error e;
    if (sm_data_opts_parse(&o, &argc, argv, 1, &e) != SM_OK) {
        fprintf(stderr, "smartty data: %s\n", e.msg);
        sm_data_opts_free(&o);
        return 2;
    }
    const char *path = NULL, *vocab = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            data_usage(stdout);
            sm_data_opts_free(&o);
            return 0;
        } else if (!strcmp(a, "--vocab") && i + 1 < argc) {
            vocab = argv[++i];
        } else if (!strncmp(a, "--vocab=", 8)) {
            vocab = a + 8;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "smartty data: unknown option '%s' (see smartty data --help)\n", a);
            sm_data_opts_free(&o);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "smartty data: one file at a time ('%s' and '%s')\n", path, a);
            sm_data_opts_free(&o);
            return 2;
        }
    }
    if (!path) {
        data_usage(stderr);
        sm_data_opts_free(&o);
        return 2;
    }
    int rc = 1;
    sm_tokenizer *tok = NULL;
    sm_dataset *ds = NULL;
    if (vocab && sm_tokenizer_load(vocab, -1, &tok, &e) != SM_OK)
        fprintf(stderr, "smartty data: %s\n", e.msg);
    else if (sm_dataset_load(path, &o, &ds, &e) != SM_OK)
        fprintf(stderr, "smartty data: %s\n", e.msg);
    else if (tok && sm_dataset_tokenize(ds, tok, 0, &e) != SM_OK)
        fprintf(stderr, "smartty data: %s\n", e.msg);
    else {
        size_t n = sm_data_report_format(ds, NULL, 0);
        char *buf = malloc(n + 1);
        if (buf) {
            sm_data_report_format(ds, buf, n + 1);
            char *safe = sm_text_escape_dup(buf, SM_ESC_KEEP_NL); /* headers, label names */
            fputs(safe ? safe : "smartty data: out of memory\n", stdout);
            free(safe);
            free(buf);
            rc = fflush(stdout) == 0 ? 0 : 1;
        }
    }
    sm_dataset_free(ds);
    sm_tokenizer_free(tok);
    sm_data_opts_free(&o);
    return rc;
}
