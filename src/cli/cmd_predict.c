/* cmd_predict.c: `smartty predict`: load a model folder (or checkpoint) and a data file, run the model
 * in evaluation mode (the library's one classify call) and print a header line, then one line per row:
 * the label name and its probability (default), every class's probability, or the logits; regression
 * prints the value. Errors and notices go to standard error; it never trains or writes files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "smartty/data.h"
#include "smartty/predict.h"

typedef struct predict_args {
    cli_run_args run; /* first: --model, --data, --batch */
    const char *output;
} predict_args;

static int parse_output(void *ud, const char *opt, const char *v)
{
    (void)ud;
    if (strcmp(v, "label") && strcmp(v, "probs") && strcmp(v, "logits")) {
        fprintf(stderr, "smartty predict: %s '%s': expected label, probs or logits\n", opt, v);
        return 2;
    }
    return 0;
}

static predict_args args;
static const cli_opt options[] = {
    {"--model", "DIR", "the model folder or checkpoint (required)", &args.run.model, NULL, NULL},
    {"--data", "FILE", "the rows to predict (required); a label column is ignored", &args.run.data, NULL, NULL},
    {"--output", "WHAT", "label (default): the label name and its probability;\n"
                         "probs: every class's probability; logits: the raw outputs", &args.output, NULL,
     parse_output},
    {"--batch", "N", "rows per forward pass (default 32)", NULL, NULL, cli_opt_batch},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static void predict_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty predict --model DIR --data FILE [--output label|probs|logits] [--batch N]\n"
            "                       [data options]\n"
            "\n"
            "Runs the model in DIR (a Hugging Face folder or a smartty checkpoint) over every row of FILE\n"
            "and prints a header line naming the columns, then one tab-separated line per row: the\n"
            "predicted label (its name from id2label) and its probability, every class's probability\n"
            "(--output probs) or the logits (--output logits), %%.7g; a regression model prints the value.\n"
            "\n");
    cli_opts_usage(out, options);
    cli_run_usage_tail(out);
}

static void print_rows(const sm_predictor *p, const sm_classified *c, const char *output)
{
    int C = c->C, reg = p->cfg.problem == SM_PROBLEM_REGRESSION;
    char name[64];
    if (reg) {
        printf("value\n");
    } else if (!strcmp(output, "label")) {
        printf("label\tprobability\n");
    } else {
        for (int k = 0; k < C; k++)
            printf("%s%s", k ? "\t" : "", sm_predictor_label(p, k, name, sizeof name));
        putchar('\n');
    }
    for (int i = 0; i < c->B; i++) {
        size_t r = (size_t)i * (size_t)C;
        if (reg) {
            printf("%.7g\n", (double)c->logits[r]);
        } else if (!strcmp(output, "label")) {
            printf("%s\t%.7g\n", sm_predictor_label(p, c->label[i], name, sizeof name), c->probs[r + (size_t)c->label[i]]);
        } else {
            for (int k = 0; k < C; k++)
                printf("%s%.7g", k ? "\t" : "",
                       !strcmp(output, "probs") ? c->probs[r + (size_t)k] : (double)c->logits[r + (size_t)k]);
            putchar('\n');
        }
    }
}

int cli_predict(int argc, char **argv)
{
    memset(&args, 0, sizeof args);
    args.run.cmd = "predict";
    args.run.batch = 32;
    args.output = "label";
    sm_error e;
    sm_error_clear(&e);
    sm_data_opts o;
    sm_data_opts_init(&o);
    snprintf(o.label_col, sizeof o.label_col, "none"); /* predictions need no labels */
    int prc = cli_run_parse(&args.run, options, &args, argc, argv, predict_usage, &o);
    if (prc)
        return prc == 1 ? 0 : prc;

    sm_log_set(cli_run_log, &args.run);
    int rc = 1;
    sm_predictor p;
    sm_dataset *ds = NULL;
    sm_classified c;
    memset(&c, 0, sizeof c);
    sm_status st = sm_predictor_load(&p, args.run.model, &e);
    if (st != SM_OK)
        goto out;
    if (p.info.fresh_classifier)
        fprintf(stderr, "smartty predict: warning: %s has no trained classifier: these outputs come from a "
                "randomly initialised head\n", args.run.model);
    if ((st = sm_predictor_dataset(&p, args.run.data, &o, &ds, &e)) != SM_OK)
        goto out;
    const sm_data_report *rep = sm_dataset_report(ds);
    fprintf(stderr, "smartty predict: %zu rows of %s: text column %d%s%s%s", rep->rows, args.run.data, rep->text_col,
            rep->text_name[0] ? " (" : "", rep->text_name, rep->text_name[0] ? ")" : "");
    if (rep->pair_col)
        fprintf(stderr, ", pair column %d%s%s%s", rep->pair_col, rep->pair_name[0] ? " (" : "", rep->pair_name,
                rep->pair_name[0] ? ")" : "");
    fputc('\n', stderr);
    if (rep->skipped)
        fprintf(stderr, "smartty predict: notice: %zu bad rows skipped (--skip-bad): they get no line\n",
                rep->skipped);
    if ((st = sm_classify_dataset(p.model, ds, sm_tokenizer_pad_id(p.tok), (int)args.run.batch, &c, &e)) != SM_OK)
        goto out;
    print_rows(&p, &c, args.output);
    rc = 0;
out:
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smartty predict: cannot write the predictions: %s\n", strerror(errno));
        rc = 1;
    } else if (rc != 0) {
        fprintf(stderr, "smartty predict: %s\n", e.msg);
    }
    sm_log_set(NULL, NULL);
    sm_classified_free(&c);
    sm_dataset_free(ds);
    sm_predictor_free(&p); /* after a failed load it is empty */
    sm_data_opts_free(&o);
    return rc;
}
