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
    const char *model, *data, *output;
    long batch;
} predict_args;

static int parse_batch(void *ud, const char *opt, const char *v)
{
    predict_args *a = ud;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > 65536) {
        fprintf(stderr, "smartty predict: %s %s: expected a whole number from 1 to 65536\n", opt, v);
        return 2;
    }
    a->batch = n;
    return 0;
}

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
    {"--model", "DIR", "the model folder or checkpoint (required)", &args.model, NULL, NULL},
    {"--data", "FILE", "the rows to predict (required); a label column is ignored", &args.data, NULL, NULL},
    {"--output", "WHAT", "label (default): the label name and its probability;\n"
                         "probs: every class's probability; logits: the raw outputs", &args.output, NULL,
     parse_output},
    {"--batch", "N", "rows per forward pass (default 32)", NULL, NULL, parse_batch},
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
    fprintf(out, "  --help                 this text\ndata options (columns are 1-based numbers or header names):\n%s",
            sm_data_opts_usage());
}

static void log_to_stderr(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level >= SM_LOG_NOTICE)
        fprintf(stderr, "smartty predict: %s: %s\n", level == SM_LOG_WARN ? "warning" : "notice", msg);
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
    args.batch = 32;
    args.output = "label";
    sm_error e;
    sm_error_clear(&e);
    sm_data_opts o;
    sm_data_opts_init(&o);
    snprintf(o.label_col, sizeof o.label_col, "none"); /* predictions need no labels */

    if (sm_data_opts_parse(&o, &argc, argv, 1, &e) != SM_OK) {
        fprintf(stderr, "smartty predict: %s\n", e.msg);
        sm_data_opts_free(&o);
        return 2;
    }
    int prc = cli_opts_parse("predict", options, &args, argc, argv, 1, predict_usage);
    if (prc) {
        sm_data_opts_free(&o);
        return prc == 1 ? 0 : prc;
    }
    if (!args.model || !args.data) {
        fprintf(stderr, "smartty predict: %s is required\nusage: smartty predict --model DIR --data FILE [options] "
                "(see --help)\n", !args.model ? "--model DIR" : "--data FILE");
        sm_data_opts_free(&o);
        return 2;
    }

    sm_log_set(log_to_stderr, NULL);
    int rc = 1;
    sm_predictor p;
    sm_dataset *ds = NULL;
    sm_classified c;
    memset(&c, 0, sizeof c);
    sm_status st = sm_predictor_load(&p, args.model, &e);
    if (st != SM_OK)
        goto out;
    if (p.info.fresh_classifier)
        fprintf(stderr, "smartty predict: warning: %s has no trained classifier: these outputs come from a "
                "randomly initialised head\n", args.model);
    if ((st = sm_predictor_dataset(&p, args.data, &o, &ds, &e)) != SM_OK)
        goto out;
    const sm_data_report *rep = sm_dataset_report(ds);
    fprintf(stderr, "smartty predict: %zu rows of %s: text column %d%s%s%s", rep->rows, args.data, rep->text_col,
            rep->text_name[0] ? " (" : "", rep->text_name, rep->text_name[0] ? ")" : "");
    if (rep->pair_col)
        fprintf(stderr, ", pair column %d%s%s%s", rep->pair_col, rep->pair_name[0] ? " (" : "", rep->pair_name,
                rep->pair_name[0] ? ")" : "");
    fputc('\n', stderr);
    if (rep->skipped)
        fprintf(stderr, "smartty predict: notice: %zu bad rows skipped (--skip-bad): they get no line\n",
                rep->skipped);
    if ((st = sm_classify_dataset(p.model, ds, sm_tokenizer_pad_id(p.tok), (int)args.batch, &c, &e)) != SM_OK)
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
