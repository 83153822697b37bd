/* cmd_demo.c: `smartty gen-demo` (writes the demo's data sets) and `smartty demo` (the dashboard
 * over a small model trained on them). gen-demo only generates; it does not train. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ui/demo_data.h"

static void gen_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty gen-demo [--seed N] [--out DIR]\n"
            "Writes the demo's data sets (sentiment/, pairs/, vocab.txt) into DIR (default: datasets).\n"
            "The same seed gives the same files; the committed ones use seed %u.\n",
            UI_DEMO_SEED);
}

int cli_gen_demo(int argc, char **argv)
{
    const char *out = "datasets";
    unsigned long long seed = UI_DEMO_SEED;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            gen_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || !*argv[i]) {
                fprintf(stderr, "smartty gen-demo: --seed wants a non-negative integer, not '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "smartty gen-demo: unknown argument '%s'\n", argv[i]);
            gen_usage(stderr);
            return 2;
        }
    }
    sm_error e;
    if (ui_demo_generate(out, seed, NULL, &e)) {
        fprintf(stderr, "smartty gen-demo: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s/sentiment/{train,dev}.tsv, %s/pairs/{train,dev}.tsv and %s/vocab.txt (seed %llu)\n",
           out, out, out, seed);
    return 0;
}
