/* cmd_eval.c: `smartty eval`, as run_glue.py --do_eval: load a model folder (or checkpoint) and a
 * labelled data file (labels mapped through the model's id2label), classify every row with the
 * library's classify call, and print the task's metrics (accuracy, F1, MCC, macro-F1, Pearson,
 * Spearman as they apply), a per-class report and the confusion matrix; --json writes them too
 * (atomically). It never trains and never changes the model. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "smartty/data.h"
#include "smartty/metrics.h"
#include "smartty/predict.h"
#include "smartty/str.h"

typedef struct eval_args {
    cli_run_args run; /* first: --model, --data, --batch */
    const char *json;
} eval_args;

static eval_args args;

static const cli_opt options[] = {
    {"--model", "DIR", "the model folder or checkpoint (required)", &args.run.model, NULL, NULL},
    {"--data", "FILE", "the labelled rows to evaluate on (required)", &args.run.data, NULL, NULL},
    {"--json", "FILE", "also write the metrics, the per-class report and the confusion matrix as JSON",
     &args.json, NULL, NULL},
    {"--batch", "N", "rows per forward pass (default 32)", NULL, NULL, cli_opt_batch},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static void eval_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty eval --model DIR --data FILE [--json FILE] [--batch N] [data options]\n"
            "\n"
            "Evaluates the model in DIR (a Hugging Face folder or a smartty checkpoint) on the labelled\n"
            "rows of FILE (labels read through the model's id2label) and prints the task's metrics:\n"
            "accuracy, and F1 and MCC of class 1 (two classes) or macro-F1 (more), with a per-class\n"
            "report and the confusion matrix; Pearson and Spearman for a regression model.\n"
            "\n");
    cli_opts_usage(out, options);
    cli_run_usage_tail(out);
}

static void put_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, isnan(v) ? json_null() : json_real(v));
}

static int write_json(const char *path, json_t *root)
{
    sm_str ts = SM_STR_INIT; /* path.tmp whole: a cut name could be another file */
    if (sm_str_appendf(&ts, "%s.tmp", path) != SM_OK) {
        fprintf(stderr, "smartty eval: --json %s: out of memory\n", path);
        sm_str_free(&ts);
        return 1;
    }
    const char *tmp = sm_str_cstr(&ts);
    int rc = 0;
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0) {
        fprintf(stderr, "smartty eval: --json %s: cannot write %s: %s\n", path, tmp, strerror(errno));
        remove(tmp);
        rc = 1;
    } else if (rename(tmp, path) != 0) {
        fprintf(stderr, "smartty eval: --json %s: cannot rename into place: %s\n", path, strerror(errno));
        remove(tmp);
        rc = 1;
    }
    sm_str_free(&ts);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    memset(&args, 0, sizeof args);
    args.run.cmd = "eval";
    args.run.batch = 32;
    sm_error e;
    sm_error_clear(&e);
    sm_data_opts o;
    sm_data_opts_init(&o);
    int prc = cli_run_parse(&args.run, options, &args, argc, argv, eval_usage, &o);
    if (prc)
        return prc == 1 ? 0 : prc;
    if (!strcmp(o.label_col, "none")) {
        fprintf(stderr, "smartty eval: --label none: evaluation needs the labels (use smartty predict)\n");
        sm_data_opts_free(&o);
        return 2;
    }

    sm_log_set(cli_run_log, &args.run);
    int rc = 1;
    sm_predictor p;
    sm_dataset *ds = NULL;
    sm_classified c;
    memset(&c, 0, sizeof c);
    sm_eval_acc acc;
    int acc_ready = 0;
    long *conf = NULL;
    json_t *root = NULL;
    sm_status st = sm_predictor_load(&p, args.run.model, &e);
    if (st != SM_OK)
        goto out;
    if (p.info.fresh_classifier)
        fprintf(stderr, "smartty eval: warning: %s has no trained classifier: these metrics are those of a "
                        "randomly initialised head\n", args.run.model);
    int reg = p.cfg.problem == SM_PROBLEM_REGRESSION, C = p.cfg.num_labels;
    if ((st = sm_predictor_data_opts(&p, &o, &e)) != SM_OK)
        goto out;
    if ((st = sm_predictor_dataset(&p, args.run.data, &o, &ds, &e)) != SM_OK)
        goto out;
    size_t n = sm_dataset_size(ds);
    if (n == 0) {
        sm_err(&e, SM_ERR_INVALID, "%s: no rows to evaluate on", args.run.data);
        goto out;
    }
    if (!reg && sm_dataset_num_labels(ds) != C) {
        sm_err(&e, SM_ERR_INVALID, "%s: %d label(s) in the data, the model has %d: give --labels with the "
                                   "model's labels in its order", args.run.data, sm_dataset_num_labels(ds), C);
        goto out;
    }
    if ((st = sm_classify_dataset(p.model, ds, sm_tokenizer_pad_id(p.tok), (int)args.run.batch, &c, &e)) != SM_OK)
        goto out;
    sm_eval_acc_init(&acc, reg ? 1 : C);
    acc_ready = 1;
    if (!(conf = calloc((size_t)C * (size_t)C, sizeof *conf))) {
        sm_err(&e, SM_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t gold = reg ? 0 : sm_dataset_label(ds, i);
        float target = reg ? sm_dataset_target(ds, i) : 0;
        double loss;
        if (reg) {
            double d = (double)c.logits[i] - (double)target;
            loss = d * d;
        } else {
            loss = -log(fmax(c.probs[i * (size_t)C + (size_t)gold], 1e-300));
            conf[(size_t)gold * (size_t)C + (size_t)c.label[i]]++;
        }
        if ((st = sm_eval_acc_add(&acc, c.logits + i * (size_t)C, 1, reg ? NULL : &gold, reg ? &target : NULL,
                                  loss, &e)) != SM_OK)
            goto out;
    }
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    if ((st = sm_eval_acc_finish(&acc, &ev, &e)) != SM_OK)
        goto out;

    root = json_object();
    json_object_set_new(root, "model", json_string(args.run.model));
    json_object_set_new(root, "data", json_string(args.run.data));
    json_object_set_new(root, "rows", json_integer((json_int_t)n));
    json_t *mj = json_object();
    json_object_set_new(root, "metrics", mj);
    printf("eval: %zu rows of %s with %s\n", n, args.run.data, args.run.model);
    const char *names[] = {"accuracy", "f1", "mcc", "macro_f1", "pearson", "spearman"};
    double vals[] = {ev.acc, ev.f1, ev.mcc, ev.macro_f1, ev.pearson, ev.spearman};
    printf("%s %.4f", reg ? "mse" : "loss", ev.loss);
    put_num(mj, reg ? "mse" : "loss", ev.loss);
    for (int k = 0; k < 6; k++)
        if (!isnan(vals[k])) {
            printf("  %s %.4f", names[k], vals[k]);
            put_num(mj, names[k], vals[k]);
        }
    putchar('\n');
    if (!reg) {
        char name[64];
        int w = 5;
        for (int k = 0; k < C; k++) {
            int l = (int)strlen(sm_predictor_label(&p, k, name, sizeof name));
            w = l > w ? l : w;
        }
        json_t *pc = json_array(), *labels = json_array(), *mat = json_array();
        printf("per class:\n  %-*s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "f1", "support");
        for (int k = 0; k < C; k++) {
            long tp = conf[(size_t)k * (size_t)C + (size_t)k], pred = 0, gold = 0;
            for (int j = 0; j < C; j++) {
                pred += conf[(size_t)j * (size_t)C + (size_t)k];
                gold += conf[(size_t)k * (size_t)C + (size_t)j];
            }
            double pr = pred ? (double)tp / (double)pred : 0, re = gold ? (double)tp / (double)gold : 0;
            double f1 = pr + re > 0 ? 2 * pr * re / (pr + re) : 0;
            const char *lab = sm_predictor_label(&p, k, name, sizeof name);
            printf("  %-*s %9.4f %9.4f %9.4f %9ld\n", w, lab, pr, re, f1, gold);
            json_t *row = json_object();
            json_object_set_new(row, "label", json_string(lab));
            json_object_set_new(row, "precision", json_real(pr));
            json_object_set_new(row, "recall", json_real(re));
            json_object_set_new(row, "f1", json_real(f1));
            json_object_set_new(row, "support", json_integer(gold));
            json_array_append_new(pc, row);
            json_array_append_new(labels, json_string(lab));
        }
        printf("confusion matrix (rows: true label, columns: predicted):\n  %-*s", w, "");
        for (int k = 0; k < C; k++)
            printf(" %*s", w > 8 ? w : 8, sm_predictor_label(&p, k, name, sizeof name));
        putchar('\n');
        for (int k = 0; k < C; k++) {
            printf("  %-*s", w, sm_predictor_label(&p, k, name, sizeof name));
            json_t *r = json_array();
            for (int j = 0; j < C; j++) {
                printf(" %*ld", w > 8 ? w : 8, conf[(size_t)k * (size_t)C + (size_t)j]);
                json_array_append_new(r, json_integer(conf[(size_t)k * (size_t)C + (size_t)j]));
            }
            putchar('\n');
            json_array_append_new(mat, r);
        }
        json_t *cm = json_object();
        json_object_set_new(cm, "labels", labels);
        json_object_set_new(cm, "matrix", mat);
        json_object_set_new(root, "per_class", pc);
        json_object_set_new(root, "confusion", cm);
    }
    rc = 0;
    if (args.json) {
        if (write_json(args.json, root) != 0)
            rc = 1;
        else
            printf("metrics in %s\n", args.json);
    }
out:
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smartty eval: cannot write the report: %s\n", strerror(errno));
        rc = 1;
    } else if (rc != 0 && e.msg[0]) {
        fprintf(stderr, "smartty eval: %s\n", e.msg);
    }
    sm_log_set(NULL, NULL);
    json_decref(root);
    free(conf);
    if (acc_ready)
        sm_eval_acc_free(&acc);
    sm_classified_free(&c);
    sm_dataset_free(ds);
    sm_predictor_free(&p);
    sm_data_opts_free(&o);
    return rc;
}
