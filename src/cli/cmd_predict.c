/* cmd_predict.c: `smartty predict`: load a Hugging Face checkpoint folder and a data file, run the model
 * in evaluation mode and print one line per row: the logits (tab-separated) or the regression value,
 * each %.7g. Errors and the library's notices go to standard error; it never trains or writes files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smartty/data.h"
#include "smartty/hf.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"

static void predict_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty predict --model DIR --data FILE [--text COL] [--text-pair COL] [--no-header]\n"
            "                       [--delimiter tab|comma] [--max-len N] [--batch N] [data options]\n"
            "\n"
            "Runs the checkpoint in DIR (a Hugging Face folder: config.json, model.safetensors, vocab.txt or\n"
            "tokenizer.json, tokenizer_config.json) over every row of FILE and prints one line per row: the\n"
            "logits separated by tabs (classification) or the predicted value (regression), each %%.7g.\n"
            "\n"
            "  --model DIR            the checkpoint folder (required)\n"
            "  --data FILE            the rows to predict (required); a label column is ignored\n"
            "  --batch N              rows per forward pass (default 32)\n"
            "  --help                 this text\n"
            "data options (columns are 1-based numbers or header names):\n%s",
            sm_data_opts_usage());
}

static void log_to_stderr(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level >= SM_LOG_NOTICE)
        fprintf(stderr, "smartty predict: %s: %s\n", level == SM_LOG_WARN ? "warning" : "notice", msg);
}

static int parse_count(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "smartty predict: %s %s: expected a whole number from %ld to %ld\n", opt, v ? v : "(missing)",
                lo, hi);
        return 0;
    }
    *out = n;
    return 1;
}

/* Forward every row in file order, batch rows at a time, printing as it goes. */
static sm_status run(const sm_bert *m, const sm_dataset *ds, int32_t pad_id, int batch, int max_len, sm_error *e)
{
    size_t n = sm_dataset_size(ds);
    const sm_bert_config *c = sm_bert_config_get(m);
    int B = (size_t)batch < n ? batch : (int)n;
    sm_bert_acts *a = NULL;
    sm_batch b;
    memset(&b, 0, sizeof b);
    uint32_t *rows = sm_calloc((size_t)B, sizeof *rows, e, "row list");
    if (!rows)
        return SM_ERR_NOMEM;
    sm_status st = sm_bert_acts_create(&a, m, B, max_len, 0, e);
    for (size_t start = 0; st == SM_OK && start < n; start += (size_t)B) {
        int k = n - start < (size_t)B ? (int)(n - start) : B;
        for (int i = 0; i < k; i++)
            rows[i] = (uint32_t)(start + (size_t)i);
        if ((st = sm_batch_fill(&b, ds, rows, k, pad_id, e)) != SM_OK)
            break;
        if ((st = sm_bert_forward(m, sm_bert_weights_const(m), a, &b, SM_BERT_EVAL, NULL, e)) != SM_OK ||
            (st = sm_bert_check_outputs(m, a, k, e)) != SM_OK) {
            sm_err_prefix(e, "%s: rows %zu to %zu", sm_dataset_report(ds)->path, start + 1, start + (size_t)k);
            break;
        }
        const float *logits = sm_bert_acts_logits(a);
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < c->num_labels; j++)
                printf("%s%.7g", j ? "\t" : "", (double)logits[(size_t)i * (size_t)c->num_labels + (size_t)j]);
            putchar('\n');
        }
    }
    sm_batch_free(&b);
    sm_bert_acts_free(a);
    free(rows);
    return st;
}

int cli_predict(int argc, char **argv)
{
    const char *model_dir = NULL, *data_path = NULL;
    long batch = 32;
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        int used = eq ? 1 : 2;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            predict_usage(stdout);
            sm_data_opts_free(&o);
            return 0;
        } else if (nl == 7 && !strncmp(a, "--model", 7) && val) {
            model_dir = val;
        } else if (nl == 6 && !strncmp(a, "--data", 6) && val) {
            data_path = val;
        } else if (nl == 7 && !strncmp(a, "--batch", 7)) {
            if (!parse_count("--batch", val, 1, 65536, &batch)) {
                sm_data_opts_free(&o);
                return 2;
            }
        } else {
            if (!strncmp(a, "--model", 7) || !strncmp(a, "--data", 6))
                fprintf(stderr, "smartty predict: %.*s needs a value\n", (int)nl, a);
            else
                fprintf(stderr, "smartty predict: unknown argument '%s'\n", a);
            fprintf(stderr, "run `smartty predict --help` for the options\n");
            sm_data_opts_free(&o);
            return 2;
        }
        i += used - 1;
    }
    if (!model_dir || !data_path) {
        fprintf(stderr, "smartty predict: %s is required\nusage: smartty predict --model DIR --data FILE [options] "
                "(see --help)\n", !model_dir ? "--model DIR" : "--data FILE");
        sm_data_opts_free(&o);
        return 2;
    }

    sm_log_set(log_to_stderr, NULL);
    int rc = 1;
    sm_bert *m = NULL;
    sm_tokenizer *tok = NULL;
    sm_dataset *ds = NULL;
    sm_bert_config cfg;
    sm_hf_info info;
    sm_status st = sm_hf_load(model_dir, NULL, &m, &cfg, &info, &e);
    if (st != SM_OK)
        goto out;
    if (info.fresh_classifier)
        fprintf(stderr, "smartty predict: warning: %s has no trained classifier: these outputs come from a "
                "randomly initialised head\n", model_dir);
    if ((st = sm_tokenizer_load(model_dir, -1, &tok, &e)) != SM_OK)
        goto out;
    if ((st = sm_dataset_load(data_path, &o, &ds, &e)) != SM_OK)
        goto out;
    const sm_data_report *rep = sm_dataset_report(ds);
    fprintf(stderr, "smartty predict: %zu rows of %s: text column %d%s%s%s", rep->rows, data_path, rep->text_col,
            rep->text_name[0] ? " (" : "", rep->text_name, rep->text_name[0] ? ")" : "");
    if (rep->pair_col)
        fprintf(stderr, ", pair column %d%s%s%s", rep->pair_col, rep->pair_name[0] ? " (" : "", rep->pair_name,
                rep->pair_name[0] ? ")" : "");
    fputc('\n', stderr);
    if (sm_dataset_report(ds)->skipped)
        fprintf(stderr, "smartty predict: notice: %zu bad rows skipped (--skip-bad): they get no line\n",
                sm_dataset_report(ds)->skipped);
    int max_len = o.max_len < cfg.max_position ? o.max_len : cfg.max_position;
    if (sm_dataset_size(ds) == 0) {
        rc = 0;
        goto out;
    }
    if ((st = sm_dataset_tokenize(ds, tok, max_len, &e)) != SM_OK)
        goto out;
    if ((st = run(m, ds, sm_tokenizer_pad_id(tok), (int)batch, max_len, &e)) != SM_OK)
        goto out;
    rc = 0;
out:
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smartty predict: cannot write the predictions: %s\n", strerror(errno));
        rc = 1;
    } else if (rc != 0) {
        fprintf(stderr, "smartty predict: %s\n", e.msg);
    }
    sm_log_set(NULL, NULL);
    sm_dataset_free(ds);
    sm_tokenizer_free(tok);
    sm_bert_free(m);
    if (m)
        sm_config_free(&cfg);
    sm_data_opts_free(&o);
    return rc;
}
