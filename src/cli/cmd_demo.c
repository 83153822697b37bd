/* cmd_demo.c: `smartty gen-demo` (writes the demo's data sets) and `smartty demo` (the dashboard
 * over a small model trained on them). gen-demo only generates; it does not train. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ui/dash.h"
#include "ui/demo_data.h"
#include "ui/synth.h"

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

static void demo_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty demo [--ascii] [--no-color] [--theme NAME] [--fps N] [--steps N]\n"
            "                    [--exit-when-done] [--synthetic [--rate STEPS_PER_S]]\n"
            "Opens the dashboard over a small model trained with the paper preset on the generated\n"
            "data in datasets/. --synthetic draws the dashboard over a synthetic signal instead (no\n"
            "model, no training: for trying the display and for its tests).\n");
}

int cli_demo(int argc, char **argv)
{
    ui_options o;
    ui_options_default(&o);
    int synthetic = 0;
    double rate = 20;
    long steps = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            demo_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--ascii")) {
            o.ascii = 1;
        } else if (!strcmp(argv[i], "--no-color")) {
            o.no_color = 1;
        } else if (!strcmp(argv[i], "--synthetic")) {
            synthetic = 1;
        } else if (!strcmp(argv[i], "--theme") && i + 1 < argc) {
            o.theme = argv[++i];
        } else if (!strcmp(argv[i], "--fps") && i + 1 < argc) {
            o.fps = atoi(argv[++i]);
            if (o.fps < 1 || o.fps > 60) {
                fprintf(stderr, "smartty demo: --fps wants 1-60, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--exit-when-done")) {
            o.exit_when_done = 1;
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = atol(argv[++i]);
            if (steps < 1) {
                fprintf(stderr, "smartty demo: --steps wants a positive number of steps\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
            rate = atof(argv[++i]);
            if (!(rate > 0)) {
                fprintf(stderr, "smartty demo: --rate wants a positive number of steps a second\n");
                return 2;
            }
        } else {
            fprintf(stderr, "smartty demo: unknown argument '%s'\n", argv[i]);
            demo_usage(stderr);
            return 2;
        }
    }
    if (!synthetic) {
        fprintf(stderr, "smartty demo: training is not available in this build yet "
                        "(`smartty demo --synthetic` shows the dashboard over a synthetic signal)\n");
        return 2;
    }
    if (!isatty(STDOUT_FILENO)) {
        fprintf(stderr, "smartty demo --synthetic: standard output is not a terminal; nothing to show\n");
        return 0;
    }
    ui_synth *s = ui_synth_new(rate, steps ? steps : 2000, UI_DEMO_SEED);
    if (!s) {
        fprintf(stderr, "smartty demo: out of memory\n");
        return 1;
    }
    ui_source src;
    ui_synth_source(s, &src);
    int st = ui_dash_run(&src, &o);
    ui_synth_free(s);
    return st;
}
