/* cmd_demo.c: `smartty gen-demo` (writes the demo's data sets) and `smartty demo`: builds the demo's
 * small model, loads the generated data and trains with the paper preset through the console, shown
 * by the dashboard (or, without a terminal, a short run with plain progress lines), the model being the
 * console's `new model` with the demo's shape and seed. `--synthetic`
 * shows the dashboard over a synthetic signal instead, for testing the display; it trains nothing. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/demo_data.h"
#include "console/console.h"
#include "console/host.h"
#include "server/server.h"
#include "ui/dash.h"
#include "ui/synth.h"

static void gen_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty gen-demo [--seed N] [--out DIR]\n"
            "Writes the demo's data sets (sentiment/, pairs/, vocab.txt) into DIR (default: datasets).\n"
            "The same seed gives the same files; the committed ones use seed %u.\n",
            DEMO_SEED);
}

int cli_gen_demo(int argc, char **argv)
{
    const char *out = "datasets";
    unsigned long long seed = DEMO_SEED;
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
    if (demo_generate(out, seed, NULL, &e)) {
        fprintf(stderr, "smartty gen-demo: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s/sentiment/{train,dev}.tsv, %s/pairs/{train,dev}.tsv and %s/vocab.txt (seed %llu)\n",
           out, out, out, seed);
    return 0;
}

#ifndef SMARTTY_SRC_DATASETS
#define SMARTTY_SRC_DATASETS ""
#endif
#ifndef SMARTTY_DEMODATADIR
#define SMARTTY_DEMODATADIR ""
#endif
/* ---- the real demo: the console and its training session, hosted by the dashboard ---- */

/* The demo's data folder: $SMARTTY_DEMO_DATA, the source tree's datasets/ (a build directory), the
 * installed copy, or ./datasets. */
static const char *find_data(void)
{
    const char *env = getenv("SMARTTY_DEMO_DATA");
    static const char *const dirs[] = {SMARTTY_SRC_DATASETS, SMARTTY_DEMODATADIR, "datasets"};
    static char found[PATH_MAX];
    char p[4096];
    if (env && *env)
        return env;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (*dirs[i] && sm_path_join(p, sizeof p, dirs[i], "vocab.txt") && sm_file_exists(p))
            return realpath(dirs[i], found) ? found : dirs[i];
    return NULL;
}

/* Train the demo: returns the exit status. The model is the console's `new model` with the demo's
 * shape and seed, so the journal of a session saved in the demo builds it again on replay. */
static int run_demo(ui_options *o, const char *task, long steps, int tty)
{
    const char *data = find_data();
    if (!data) {
        fprintf(stderr, "smartty demo: the demo data was not found (set SMARTTY_DEMO_DATA to a folder "
                        "written by `smartty gen-demo --out DIR`)\n");
        return 1;
    }
    /* the folder fits whole in the load lines below, or is refused: a cut one is another folder */
    if (strlen(data) >= 4000) {
        fprintf(stderr, "smartty demo: the demo data folder (SMARTTY_DEMO_DATA) is longer than 3999 bytes: "
                "give a shorter folder\n");
        return 1;
    }
    char l_model[4400], l_train[4200], l_dev[4200], l_steps[64];
    snprintf(l_model, sizeof l_model, "new model layers=2 hidden=64 heads=2 intermediate=256 max_position=64 "
             "num_labels=2 seed=%u vocab=%s/vocab.txt", DEMO_SEED, data);
    snprintf(l_train, sizeof l_train, "load train %s/%s/train.tsv", data, task);
    snprintf(l_dev, sizeof l_dev, "load dev %s/%s/dev.tsv", data, task);
    snprintf(l_steps, sizeof l_steps, "set max_steps %ld", steps ? steps : tty ? 0 : 40);
    const char *lines[] = {l_model, l_train, l_dev, "preset paper", "set lr 0.0005", "set max_len 48",
                           "set epochs 30", "set eval_every 25", l_steps, "train", NULL};
    if (tty) { /* the console's dashboard, its session on an in-process run server (server/local.c) */
        o->startup = lines;
        return sv_local_console(1, o, NULL);
    }
    con_ctx c;
    con_host_open(&c, con_out_plain, tty);
    int status = 0;
    c.plain_progress = 1;
    c.set.train_wait = 1;
    for (int i = 0; lines[i] && !status; i++) {
        printf("> %s\n", lines[i]);
        status = con_exec_line(&c, lines[i]);
    }
    if (!status)
        status = con_exec_line(&c, "show status");
    con_host_close(&c);
    return status;
}

/* s is a whole decimal number in [lo, hi] (nothing after it): 1, and *out; else 0 */
static int whole_number(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static void demo_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty demo [--task sentiment|pairs] [--steps N] [--ascii] [--no-color]\n"
            "                    [--theme NAME] [--fps N] [--exit-when-done]\n"
            "       smartty demo --synthetic [--rate STEPS_PER_S] [--steps N] [display options]\n"
            "Builds a small BERT (2 layers, 64 hidden, random init), loads the generated demo data\n"
            "(datasets/, or $SMARTTY_DEMO_DATA) and trains it with SMART's paper preset in the\n"
            "dashboard, where you can change knobs and watch (F1 or ? for help). Without a terminal it\n"
            "trains 40 steps (or --steps N) with plain progress lines and exits 0.\n"
            "--synthetic draws the dashboard over a synthetic signal instead: no model, no training;\n"
            "for trying the display and for its tests.\n");
}

int cli_demo(int argc, char **argv)
{
    ui_options o;
    ui_options_default(&o);
    int synthetic = 0;
    double rate = 20;
    long steps = 0;
    const char *task = "sentiment";
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
            long v;
            if (!whole_number(argv[++i], 1, 60, &v)) {
                fprintf(stderr, "smartty demo: --fps wants 1-60, not '%s'\n", argv[i]);
                return 2;
            }
            o.fps = (int)v;
        } else if (!strcmp(argv[i], "--task") && i + 1 < argc) {
            task = argv[++i];
            if (strcmp(task, "sentiment") && strcmp(task, "pairs")) {
                fprintf(stderr, "smartty demo: --task is sentiment or pairs, not '%s'\n", task);
                return 2;
            }
        } else if (!strcmp(argv[i], "--exit-when-done")) {
            o.exit_when_done = 1;
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            long v;
            if (!whole_number(argv[++i], 1, 1000000000L, &v)) {
                fprintf(stderr, "smartty demo: --steps wants a number of steps from 1 to 1000000000, not '%s'\n",
                        argv[i]);
                return 2;
            }
            steps = v;
        } else if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
            char *end;
            rate = strtod(argv[++i], &end);
            /* bounded: steps due = elapsed seconds x rate is converted to an integer */
            if (end == argv[i] || *end || !(rate > 0 && rate <= 1e6)) {
                fprintf(stderr, "smartty demo: --rate wants a number of steps a second above 0 and at most "
                                "1000000, not '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "smartty demo: unknown argument '%s'\n", argv[i]);
            demo_usage(stderr);
            return 2;
        }
    }
    if (!synthetic)
        return run_demo(&o, task, steps, isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
    if (!isatty(STDOUT_FILENO)) {
        fprintf(stderr, "smartty demo --synthetic: standard output is not a terminal; nothing to show\n");
        return 0;
    }
    ui_synth *s = ui_synth_new(rate, steps ? steps : 2000, DEMO_SEED);
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
