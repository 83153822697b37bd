/* cmd_train.c: `smartty train`, non-interactive fine-tuning: checks every hyperparameter before
 * anything loads, drives a session synchronously, prints one plain line per log interval and per
 * evaluation, streams every step's record to a CSV, saves a checkpoint and prints a summary.
 * SIGINT/SIGTERM stop at the next step boundary (and save when --save was given). */
#include "config.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "console/console.h"
#include "smartty/checkpoint.h"
#include "smartty/data.h"
#include "smartty/escape.h"
#include "smartty/hparams.h"
#include "smartty/model_config.h"
#include "smartty/record.h"
#include "smartty/session.h"
#include "smartty/session_bert.h"
#include "smartty/str.h"

#define MAX_SETS 128

typedef struct train_args {
    const char *model, *train, *dev, *preset, *save, *metrics, *resume, *output_dir;
    const char *sets[MAX_SETS];
    char *owned[MAX_SETS];  /* "name=value" joined from `--set name value` */
    int n_sets, n_owned;
    long long steps;  /* --steps: this many steps now, even past the plan; 0 = to the plan's end */
    int save_best, help_params;
    int max_len_given; /* --max-len was on the command line */
    long long dev_limit, dev_sample; /* -1: not given */
    sm_data_opts data;
} train_args;

typedef struct printer {
    sm_session *s;
    FILE *csv;
    int csv_bad;
    sm_step_record held;   /* the last step, written once we know whether an evaluation follows */
    sm_eval_record held_ev;
    int has_held, held_has_ev;
    int64_t log_every;
    int64_t denom;         /* the run's last step, fixed when it starts (the progress lines' N/denom) */
    double t0;
    int failed;            /* a step failed: the run stopped */
} printer;

static volatile sig_atomic_t got_signal;
static sm_session *signal_session;

static void on_signal(int sig)
{
    got_signal = sig;
    if (signal_session)
        sm_session_interrupt(signal_session);
}

static void on_log(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level >= SM_LOG_NOTICE)
        fprintf(stderr, "smartty train: %s%s\n", level == SM_LOG_WARN ? "warning: " : "", msg);
}

static int opt_set(void *ud, const char *opt, const char *v)
{
    train_args *a = ud;
    (void)opt;
    if (a->n_sets == MAX_SETS) {
        fprintf(stderr, "smartty train: more than %d --set options\n", MAX_SETS);
        return 2;
    }
    a->sets[a->n_sets++] = v;
    return 0;
}

static int whole(const char *opt, const char *v, long long lo, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo) {
        fprintf(stderr, "smartty train: %s '%s': expected a whole number >= %lld\n", opt, v, lo);
        return 2;
    }
    *out = n;
    return 0;
}

static int opt_steps(void *ud, const char *opt, const char *v) { return whole(opt, v, 1, &((train_args *)ud)->steps); }
static int opt_dev_limit(void *ud, const char *opt, const char *v) { return whole(opt, v, 0, &((train_args *)ud)->dev_limit); }
static int opt_dev_sample(void *ud, const char *opt, const char *v) { return whole(opt, v, 0, &((train_args *)ud)->dev_sample); }

static train_args args_storage;
static const cli_opt options[] = {
    {"--model", "DIR", "Hugging Face model folder, or a smartty checkpoint whose weights, labels and\n"
                       "tokenizer start a fresh run (two-stage fine-tuning)", &args_storage.model, NULL, NULL},
    {"--train", "FILE", "training set (TSV or CSV); with --resume, the saved one by default", &args_storage.train, NULL, NULL},
    {"--dev", "FILE", "evaluation set (the training set's columns and labels unless given)", &args_storage.dev, NULL, NULL},
    {"--dev-limit", "N", "keep the first N dev rows (--limit applies to the training set only)", NULL, NULL, opt_dev_limit},
    {"--dev-sample", "N", "a reproducible random N of the dev rows (with --seed)", NULL, NULL, opt_dev_sample},
    {"--preset", "NAME", "vanilla, paper, mtdnn or r3f (before the --set values)", &args_storage.preset, NULL, NULL},
    {"--set", "NAME=VALUE", "a hyperparameter (repeatable), also `--set NAME VALUE`; transformers'\n"
                            "names are aliases (learning_rate, num_train_epochs, ...)", NULL, NULL, opt_set},
    {"--steps", "N", "train N steps in this run, even past the plan's end (the plan, epochs or\n"
                     "max_steps, still sets the learning-rate schedule); default: until it ends", NULL, NULL, opt_steps},
    {"--save", "DIR", "write a checkpoint there at the end (atomically)", &args_storage.save, NULL, NULL},
    {"--output-dir", "DIR", "where save_every writes checkpoint-STEP folders and save_best writes best\n"
                            "(default: the --save folder with -checkpoints appended)", &args_storage.output_dir, NULL, NULL},
    {"--save-best", NULL, "keep the best evaluation's checkpoint in OUT/best (--set save_best=1)", NULL,
     &args_storage.save_best, NULL},
    {"--metrics", "FILE", "write every step's record as CSV", &args_storage.metrics, NULL, NULL},
    {"--resume", "DIR", "continue a checkpoint: its model, full state, hyperparameters and data\n"
                        "(the saved files and options; an option given again must agree)", &args_storage.resume, NULL, NULL},
    {"--help-params", NULL, "list the hyperparameters with their ranges", NULL, &args_storage.help_params, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: smartty train --model DIR --train FILE [--dev FILE] [data options]\n"
            "                     [--preset NAME] [--set name=value ...] [--steps N] [--save DIR]\n"
            "                     [--save-best] [--output-dir DIR] [--metrics FILE.csv]\n"
            "       smartty train --resume DIR [--steps N] [--save DIR] [options]\n"
            "\n"
            "Fine-tune a BERT classifier with SMART. Hyperparameters are checked before anything\n"
            "loads; `smartty train --help-params` lists them with their ranges.\n"
            "\n");
    cli_opts_usage(out, options);
    fprintf(out, "  --help                 this text\n\ndata options (for --train; --dev takes the same but "
                 "--limit and --sample):\n%s", sm_data_opts_usage());
}

static void help_params(void)
{
    for (int id = 0; id < (int)sm_hparam_count(); id++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        char def[64];
        sm_hparam_format(id, d->def, def, sizeof def);
        char alias[96] = "";
        if (d->aliases[0])
            snprintf(alias, sizeof alias, " (also %s)", d->aliases);
        if (d->type == SM_HP_ENUM) {
            char ch[160] = "";
            size_t off = 0;
            for (int i = 0; d->choices[i] && off < sizeof ch; i++)
                off += (size_t)snprintf(ch + off, sizeof ch - off, "%s%s", i ? "|" : "", d->choices[i]);
            printf("%-14s %-22s default %-10s %s%s\n", d->name, ch, def, d->help, alias);
        } else {
            char range[64];
            snprintf(range, sizeof range, "[%g, %g]", d->min, d->max);
            printf("%-14s %-22s default %-10s %s%s\n", d->name, range, def, d->help, alias);
        }
    }
}

/* `--set NAME VALUE` becomes `--set NAME=VALUE` (argv entries are joined in place). */
static int join_sets(train_args *a, int *argc, char **argv)
{
    for (int i = 1; i + 1 < *argc; i++) {
        if (strcmp(argv[i], "--set") || strchr(argv[i + 1], '=') || i + 2 >= *argc)
            continue;
        if (a->n_owned == MAX_SETS) {
            fprintf(stderr, "smartty train: more than %d --set options\n", MAX_SETS);
            return 2;
        }
        size_t n = strlen(argv[i + 1]) + strlen(argv[i + 2]) + 2;
        char *j = malloc(n);
        if (!j) {
            fprintf(stderr, "smartty train: out of memory\n");
            return 2;
        }
        snprintf(j, n, "%s=%s", argv[i + 1], argv[i + 2]);
        a->owned[a->n_owned++] = j;
        argv[i + 1] = j;
        memmove(argv + i + 2, argv + i + 3, (size_t)(*argc - i - 3) * sizeof *argv);
        (*argc)--;
    }
    return 0;
}

/* 0 ok, 1 help printed, 2 usage error (message printed). */
static int parse_args(int argc, char **argv, train_args *a)
{
    sm_error e;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], "--max-len", 9) && (argv[i][9] == '\0' || argv[i][9] == '='))
            a->max_len_given = 1;
    if (sm_data_opts_parse(&a->data, &argc, argv, 1, &e) != SM_OK) {
        fprintf(stderr, "smartty train: %s\n", e.msg);
        return 2;
    }
    int rc = join_sets(a, &argc, argv);
    if (!rc)
        rc = cli_opts_parse("train", options, a, argc, argv, 1, usage);
    if (rc)
        return rc;
    if (a->help_params) {
        help_params();
        return 1;
    }
    if (a->save_best)
        opt_set(a, "--save-best", "save_best=1");
    if (!a->model && !a->resume) {
        fprintf(stderr, "smartty train: --model DIR (or --resume DIR) is required\n");
        return 2;
    }
    if (a->model && a->resume) {
        fprintf(stderr, "smartty train: --model %s and --resume %s: give one (--resume continues a "
                        "checkpoint; --model starts a fresh run from one)\n", a->model, a->resume);
        return 2;
    }
    if (!a->train && !a->resume) {
        fprintf(stderr, "smartty train: --train FILE is required\n");
        return 2;
    }
    return 0;
}

/* Split "name=value" into name[cap] and *value. */
static int split_set(const char *text, char *name, size_t cap, const char **value)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) >= cap)
        return -1;
    memcpy(name, text, (size_t)(eq - text));
    name[eq - text] = '\0';
    *value = eq + 1;
    return 0;
}

/* Every hyperparameter value checked against the table before anything loads. */
static int check_hparams(const train_args *a, sm_hparams *hp)
{
    sm_error e;
    sm_hparams_default(hp);
    if (a->preset && sm_hparams_preset(hp, a->preset, &e) != SM_OK) {
        fprintf(stderr, "smartty train: --preset: %s\n", e.msg);
        return 2;
    }
    for (int i = 0; i < a->n_sets; i++) {
        char name[128];
        const char *value;
        if (split_set(a->sets[i], name, sizeof name, &value) != 0) {
            const char *eq = strchr(a->sets[i], '=');
            if (eq && eq != a->sets[i]) /* a name longer than name[]: no hyperparameter is called that */
                fprintf(stderr, "smartty train: --set %s: no hyperparameter has a name of %zu bytes "
                                "(--help-params lists them)\n", a->sets[i], (size_t)(eq - a->sets[i]));
            else
                fprintf(stderr, "smartty train: --set '%s': expected NAME=VALUE\n", a->sets[i]);
            return 2;
        }
        if (sm_hparams_set(hp, name, value, &e) != SM_OK) {
            fprintf(stderr, "smartty train: --set %s: %s\n", a->sets[i], e.msg);
            return 2;
        }
    }
    return 0;
}

static int user_set(const train_args *a, int id)
{
    for (int i = 0; i < a->n_sets; i++) {
        char name[128];
        const char *value;
        if (split_set(a->sets[i], name, sizeof name, &value) == 0 && sm_hparam_lookup(name) == id)
            return 1;
    }
    return 0;
}

/* ---- output ---- */

static void fmt_num(char *buf, size_t cap, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, cap, "%.9g", v);
}

static void csv_field(printer *p, const char *text, int first)
{
    if (!first && fputc(',', p->csv) == EOF)
        p->csv_bad = 1;
    int rc = strpbrk(text, ",\"\r\n ") ? csv_fwrite(p->csv, text, strlen(text)) : fputs(text, p->csv);
    if (rc < 0)
        p->csv_bad = 1;
}

static void csv_header(printer *p)
{
    for (size_t i = 0; i < sm_field_count(); i++)
        csv_field(p, sm_field_at(i)->name, i == 0);
    fputc('\n', p->csv);
}

static void csv_flush_held(printer *p)
{
    if (!p->csv || !p->has_held)
        return;
    for (size_t i = 0; i < sm_field_count(); i++) {
        char buf[40];
        fmt_num(buf, sizeof buf, sm_field_value((int)i, &p->held, p->held_has_ev ? &p->held_ev : NULL));
        csv_field(p, buf, i == 0);
    }
    if (fputc('\n', p->csv) == EOF)
        p->csv_bad = 1;
    p->has_held = p->held_has_ev = 0;
}

static void print_eval(const sm_eval_record *ev, const char *prefix)
{
    printf("%s step %lld epoch %d: dev_loss %.4f", prefix, (long long)ev->step, ev->epoch + 1, ev->loss);
    const char *names[] = {"acc", "f1", "mcc", "macro_f1", "pearson", "spearman"};
    double vals[] = {ev->acc, ev->f1, ev->mcc, ev->macro_f1, ev->pearson, ev->spearman};
    for (int i = 0; i < 6; i++)
        if (!isnan(vals[i]))
            printf(" %s %.4f", names[i], vals[i]);
    printf(" (%d examples, %.1f s)\n", ev->n, ev->seconds);
}

static void on_event(void *ud, const sm_session_event *ev)
{
    printer *p = ud;
    switch (ev->kind) {
    case SM_EVENT_STEP: {
        csv_flush_held(p);
        p->held = ev->rec;
        p->has_held = 1;
        const sm_step_record *r = &ev->rec;
        if (r->step % p->log_every == 0) {
            printf("step %lld/%lld epoch %d: loss %.4f rs %.4g breg %.4g total %.4f grad_norm %.3f "
                   "lr %.3g ex/s %.1f%s\n",
                   (long long)r->step, (long long)p->denom, r->epoch + 1, r->loss, r->rs, r->breg,
                   r->total, r->grad_norm, r->lr, r->examples_per_s, r->skipped ? " (skipped)" : "");
            fflush(stdout);
        }
        break;
    }
    case SM_EVENT_EVAL:
        if (p->has_held && p->held.step == ev->eval.step) {
            p->held_ev = ev->eval;
            p->held_has_ev = 1;
        }
        print_eval(&ev->eval, "eval");
        fflush(stdout);
        break;
    case SM_EVENT_ERROR:
        p->failed = 1;
        /* fall through */
    case SM_EVENT_WARN:
        fprintf(stderr, "smartty train: %s%s\n", ev->kind == SM_EVENT_WARN ? "warning: " : "", ev->msg);
        break;
    case SM_EVENT_CHECKPOINT:
        printf("saved checkpoint %s at step %lld\n", ev->msg, (long long)ev->step);
        fflush(stdout);
        break;
    case SM_EVENT_NOTICE: /* the session's own notices (save_limit's removals) */
        if (ev->msg) {
            printf("%s\n", ev->msg);
            fflush(stdout);
        }
        break;
    default:
        break;
    }
}

static int fail(const char *what, const sm_error *e)
{
    fprintf(stderr, "smartty train: %s%s%s\n", what, *what ? ": " : "", e->msg);
    return 1;
}

static void free_args(train_args *a)
{
    for (int i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
    a->n_owned = 0;
    sm_data_opts_free(&a->data);
}

/* max_len within the model's positions (max_position_embeddings), since no longer input fits it: a
 * --max-len or --set max_len over them is refused before any data is read; the default is capped, with
 * a notice. Returns 0, or 2 (reported). */
static int fit_max_len(sm_session *s, const train_args *a, const char *model)
{
    const sm_bert_config *cfg = sm_session_model_config(s);
    sm_session_view v;
    sm_session_view_get(s, &v);
    int max_len = (int)v.hp.v[SM_HP_MAX_LEN];
    if (!cfg || max_len <= cfg->max_position)
        return 0;
    if (a->max_len_given || user_set(a, SM_HP_MAX_LEN)) {
        const char *opt = a->max_len_given ? "--max-len" : "--set max_len=";
        fprintf(stderr, "smartty train: %s%s%d: the model %s has %d positions (max_position_embeddings in its "
                        "config.json), so no example can be longer: give %s%s%d or less\n",
                opt, a->max_len_given ? " " : "", max_len, model, cfg->max_position, opt,
                a->max_len_given ? " " : "", cfg->max_position);
        return 2;
    }
    char val[32];
    snprintf(val, sizeof val, "%d", cfg->max_position);
    sm_session_reply r;
    if (sm_session_set(s, "max_len", val, &r) != SM_OK) {
        fail("max_len", &r.err);
        return 2;
    }
    fprintf(stderr, "smartty train: max_len %d (the default) is over the %d positions of the model %s: "
                    "using max_len %d\n", max_len, cfg->max_position, model, cfg->max_position);
    return 0;
}

/* ---- --resume: the data options come from the checkpoint ---- */

static const char *delim_name(int d) { return d == SM_DELIM_TAB ? "tab" : d == SM_DELIM_COMMA ? "comma" : "auto"; }

/* An option the user gave (it differs from the default) that differs from the saved one: refused
 * with both values named. Returns 0 or 2. */
static int check_saved_opts(const char *dir, const sm_data_opts *g, const sm_data_opts *sv)
{
    sm_data_opts d;
    sm_data_opts_init(&d);
    sm_str given = SM_STR_INIT, saved = SM_STR_INIT; /* whole: a column name or a label list may be long */
    const char *what = NULL;
#define STR(opt, f) \
    if (!what && strcmp(g->f, d.f) && strcmp(g->f, sv->f)) { \
        what = opt; sm_str_append(&given, g->f); sm_str_append(&saved, sv->f[0] ? sv->f : "(auto)"); }
#define NUM(opt, f) \
    if (!what && g->f != d.f && g->f != sv->f) { \
        what = opt; sm_str_appendf(&given, "%llu", (unsigned long long)g->f); \
        sm_str_appendf(&saved, "%llu", (unsigned long long)sv->f); }
    STR("--text", text_col)
    STR("--text-pair", pair_col)
    STR("--label", label_col)
    NUM("--no-header", no_header)
    NUM("--regression", regression)
    NUM("--limit", limit)
    NUM("--sample", sample)
    NUM("--seed", seed)
    NUM("--skip-bad", skip_bad)
    NUM("--max-len", max_len)
#undef STR
#undef NUM
    if (!what && g->delimiter != d.delimiter && g->delimiter != sv->delimiter) {
        what = "--delimiter";
        sm_str_append(&given, delim_name(g->delimiter));
        sm_str_append(&saved, delim_name(sv->delimiter));
    }
    if (!what && g->quote != d.quote && g->quote != sv->quote) {
        what = "--quote";
        sm_str_append(&given, sm_quote_name(g->quote));
        sm_str_append(&saved, sm_quote_name(sv->quote));
    }
    if (!what && g->n_labels > 0) {
        int same = g->n_labels == sv->n_labels;
        for (int k = 0; same && k < g->n_labels; k++)
            same = !strcmp(g->labels[k], sv->labels[k]);
        if (!same) {
            what = "--labels";
            for (int k = 0; k < g->n_labels; k++)
                sm_str_appendf(&given, "%s%s", k ? "," : "", g->labels[k]);
            for (int k = 0; k < sv->n_labels; k++)
                sm_str_appendf(&saved, "%s%s", k ? "," : "", sv->labels[k]);
        }
    }
    if (!what)
        return 0;
    fprintf(stderr, "smartty train: --resume %s: %s %s contradicts the checkpoint's %s %s (its training "
                    "state depends on the data it was trained on): drop %s, or start a fresh run with "
                    "--model %s\n", dir, what, sm_str_cstr(&given), what, sm_str_cstr(&saved), what, dir);
    sm_str_free(&given);
    sm_str_free(&saved);
    return 2;
}

/* The training file to pass for a resume: NULL (the saved one), or --train when the saved one has
 * moved; a --train naming another existing file is refused. Returns 0 or 2. */
static int resume_train_file(const train_args *a, const char **train)
{
    char saved[4200];
    sm_data_opts sv;
    sm_error e;
    *train = NULL;
    if (sm_session_checkpoint_data(a->resume, 0, saved, sizeof saved, &sv, &e) != SM_OK) {
        fprintf(stderr, "smartty train: --resume %s: %s\n", a->resume, e.msg);
        return e.status == SM_ERR_INVALID ? 2 : 1;
    }
    int rc = check_saved_opts(a->resume, &a->data, &sv);
    sm_data_opts_free(&sv);
    if (rc || !a->train)
        return rc;
    char *g = realpath(a->train, NULL);
    int differ = !g || strcmp(g, saved);
    free(g);
    if (differ && sm_file_exists(saved)) {
        fprintf(stderr, "smartty train: --resume %s: --train %s contradicts the checkpoint's training set "
                        "%s: drop --train (the saved one is used), or start a fresh run with --model %s\n",
                a->resume, a->train, saved, a->resume);
        return 2;
    }
    *train = a->train; /* the same file, or the saved one moved there */
    return 0;
}

/* ---- destinations, checked before anything loads ---- */

/* A path from the command line, escaped for the terminal (four at a time, in rotation). */
static const char *esc_arg(const char *path)
{
    /* whole (an escaped path can be four times as long as the path), four at a time for one message */
    static char *bufs[4];
    static int next;
    char **b = &bufs[next++ % 4];
    free(*b);
    *b = sm_text_escape_dup(path, 0);
    return *b ? *b : "(out of memory)";
}

/* The folder that holds path (its parent), into out[cap]. */
static void dest_parent(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0)
        snprintf(out, cap, ".");
    else
        snprintf(out, cap, "%.*s", (int)n, path);
}

/* 0, or 2 with a message: --save names a folder that a save may create or replace (not a link,
 * not a file, not a folder of other things, in a folder that exists and can be written), and
 * --metrics a file that can be written (it is opened here, into *csv). */
static int check_destinations(const train_args *a, FILE **csv)
{
    char parent[4200];
    struct stat sb;
    /* the session holds these paths in sm_session_cmd.path's bytes: longer is refused, never cut */
    const size_t keep = sizeof ((sm_session_cmd *)0)->path;
    const char *long_opt = a->save && strlen(a->save) >= keep ? "--save"
                           : a->output_dir && strlen(a->output_dir) >= keep ? "--output-dir"
                           : !a->output_dir && a->save && strlen(a->save) + 12 >= keep ? "--save" : NULL;
    if (long_opt) {
        const char *v = !strcmp(long_opt, "--save") ? a->save : a->output_dir;
        fprintf(stderr, "smartty train: %s: a path of %zu bytes; smartty keeps paths of up to %zu bytes%s: give "
                        "a shorter one\n", long_opt, strlen(v), keep - 1,
                !a->output_dir && !strcmp(long_opt, "--save") ? " (with \"-checkpoints\" added for --save's run "
                                                                  "checkpoints)" : "");
        return 2;
    }
    if (a->save) {
        char real[4200];
        dest_parent(a->save, parent, sizeof parent);
        if (lstat(a->save, &sb) == 0 && S_ISLNK(sb.st_mode)) {
            fprintf(stderr, "smartty train: --save %s: a symbolic link; smartty does not save through a "
                            "link (it would replace what it points to): give the folder itself\n",
                    esc_arg(a->save));
            return 2;
        }
        if (lstat(a->save, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "smartty train: --save %s: a file, not a folder; choose another\n", esc_arg(a->save));
            return 2;
        }
        if (sm_dir_exists(a->save) && sm_checkpoint_resolve(a->save, real, sizeof real) != SM_CKPT_SMARTTY) {
            DIR *d = opendir(a->save);
            struct dirent *de;
            int empty = d != NULL;
            while (d && empty && (de = readdir(d)))
                empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
            if (d)
                closedir(d);
            if (!empty) {
                fprintf(stderr, "smartty train: --save %s: the folder exists and is not a smartty "
                                "checkpoint; choose another\n", esc_arg(a->save));
                return 2;
            }
        }
        if (!sm_dir_exists(parent)) {
            fprintf(stderr, "smartty train: --save %s: the folder %s does not exist; create it first\n",
                    esc_arg(a->save), esc_arg(parent));
            return 2;
        }
        if (access(parent, W_OK | X_OK) != 0) {
            fprintf(stderr, "smartty train: --save %s: cannot write in %s: %s\n", esc_arg(a->save), esc_arg(parent),
                    strerror(errno));
            return 2;
        }
    }
    if (a->metrics) {
        if (stat(a->metrics, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "smartty train: --metrics %s: a folder, not a file\n", esc_arg(a->metrics));
            return 2;
        }
        *csv = fopen(a->metrics, "w");
        if (!*csv) {
            fprintf(stderr, "smartty train: --metrics %s: cannot create: %s\n", esc_arg(a->metrics),
                    strerror(errno));
            return 2;
        }
    }
    return 0;
}

/* A run that ended in error keeps what it trained: the session (stopped at its last whole step)
 * goes to the autosave place, $XDG_STATE_HOME/smartty/autosave-PID (else
 * ~/.local/state/smartty/autosave-PID), which is named. */
static void keep_failed_run(sm_session *s)
{
    sm_session_cmd c;
    char name[64], path[sizeof c.path];
    snprintf(name, sizeof name, "autosave-%ld", (long)getpid());
    if (!con_state_path(path, sizeof path, name, 1)) { /* as the console's: never cut into another folder */
        fprintf(stderr, "smartty train: the run failed, and its last good state could not be kept: the state "
                        "folder ($XDG_STATE_HOME or ~/.local/state) is a path over %zu bytes\n", sizeof path - 1);
        return;
    }
    sm_session_reply r;
    memset(&c, 0, sizeof c);
    c.kind = SM_CMD_STOP;
    sm_session_command(s, &c, NULL);
    c.kind = SM_CMD_SAVE;
    snprintf(c.path, sizeof c.path, "%s", path);
    if (sm_session_command(s, &c, &r) != SM_OK)
        fprintf(stderr, "smartty train: the run's last good state could not be kept: %s\n", r.err.msg);
    else
        fprintf(stderr, "smartty train: the run failed; its last good state (step %lld) is saved in %s "
                        "(--resume %s continues it)\n", (long long)sm_session_step_count(s), path, path);
}

int cli_train(int argc, char **argv)
{
    memset(&args_storage, 0, sizeof args_storage);
    args_storage.dev_limit = args_storage.dev_sample = -1;
    sm_data_opts_init(&args_storage.data);
    int rc = parse_args(argc, argv, &args_storage);
    train_args a = args_storage; /* a owns what args_storage held */
    sm_hparams hp;
    if (rc == 0)
        rc = check_hparams(&a, &hp);
    if (rc == 0 && (hp.v[SM_HP_SAVE_EVERY] > 0 || hp.v[SM_HP_SAVE_BEST] > 0) && !a.save && !a.output_dir) {
        fprintf(stderr, "smartty train: save_every and save_best write checkpoints into a folder: give "
                        "--output-dir DIR or --save DIR\n");
        rc = 2;
    }
    const char *train_file = a.train;
    if (rc == 0 && a.resume)
        rc = resume_train_file(&a, &train_file);
    if (rc != 0) {
        free_args(&a);
        return rc == 1 ? 0 : rc;
    }
    /* --max-len (a data option) and max_len (a hyperparameter) are one setting */
    if (!user_set(&a, SM_HP_MAX_LEN) && a.data.max_len != (int)hp.v[SM_HP_MAX_LEN]) {
        char v[32];
        snprintf(v, sizeof v, "%d", a.data.max_len);
        sm_error e;
        if (sm_hparams_set(&hp, "max_len", v, &e) != SM_OK) {
            fprintf(stderr, "smartty train: --max-len: %s\n", e.msg);
            free_args(&a);
            return 2;
        }
    }
    FILE *csv = NULL;
    if ((rc = check_destinations(&a, &csv)) != 0) {
        free_args(&a);
        return rc;
    }
    sm_log_set(on_log, NULL);

    sm_error e;
    sm_session_backend be;
    sm_session *s = NULL;
    sm_hparams start;
    sm_hparams_default(&start);
    if (sm_bert_backend_new(&be, &e) != SM_OK || sm_session_new(&be, &start, &s, &e) != SM_OK) {
        if (csv)
            fclose(csv);
        free_args(&a);
        return fail("", &e);
    }
    char out_dir[4200] = "";
    if (a.output_dir)
        snprintf(out_dir, sizeof out_dir, "%s", a.output_dir);
    else if (a.save)
        snprintf(out_dir, sizeof out_dir, "%s-checkpoints", a.save);
    sm_session_set_output_dir(s, out_dir);
    printer pr;
    memset(&pr, 0, sizeof pr);
    pr.s = s;
    pr.t0 = sm_now();
    int status = 0;
    sm_session_reply r;
    const char *model = a.resume ? a.resume : a.model;

    /* the run's values, journalled at step 0 (a resumed checkpoint brings its own; the ones given
     * again on the command line are then changes from the resumed step) */
    if (!a.resume) {
        if (a.preset && sm_session_named(s, SM_CMD_PRESET, a.preset, &r) != SM_OK)
            status = fail("--preset", &r.err);
        for (int i = 0; i < a.n_sets && !status; i++) {
            char name[128];
            const char *value;
            split_set(a.sets[i], name, sizeof name, &value);
            if (sm_session_set(s, name, value, &r) != SM_OK)
                status = fail(a.sets[i], &r.err);
        }
        if (!status && !user_set(&a, SM_HP_MAX_LEN) && hp.v[SM_HP_MAX_LEN] != start.v[SM_HP_MAX_LEN]) {
            char v[32];
            snprintf(v, sizeof v, "%d", (int)hp.v[SM_HP_MAX_LEN]);
            if (sm_session_set(s, "max_len", v, &r) != SM_OK)
                status = fail("--max-len", &r.err);
        }
    }
    /* the dev set: the training set's columns and options, but not its --limit and --sample */
    sm_data_opts dev_o;
    sm_data_opts_init(&dev_o);
    if (!status && a.dev && sm_data_opts_copy(&dev_o, &a.data, &e) != SM_OK)
        status = fail("--dev", &e);
    dev_o.limit = a.dev_limit > 0 ? (size_t)a.dev_limit : 0;
    dev_o.sample = a.dev_sample > 0 ? (size_t)a.dev_sample : 0;
    if (a.resume) {
        if (!status && sm_session_resume_checkpoint(s, a.resume, train_file, NULL, &e) != SM_OK)
            status = fail("--resume", &e);
    } else {
        if (!status && sm_session_load_model(s, a.model, &e) != SM_OK)
            status = fail("--model", &e);
        if (!status)
            status = fit_max_len(s, &a, a.model);
        if (!status && sm_session_load_data(s, 0, a.train, &a.data, &e) != SM_OK)
            status = fail("--train", &e);
    }
    if (!status && a.dev && sm_session_load_data(s, 1, a.dev, &dev_o, &e) != SM_OK)
        status = fail("--dev", &e);
    sm_data_opts_free(&dev_o);
    if (!status && a.resume) {
        if (!status && a.preset && sm_session_named(s, SM_CMD_PRESET, a.preset, &r) != SM_OK)
            status = fail("--preset", &r.err);
        for (int i = 0; i < a.n_sets && !status; i++) {
            char name[128];
            const char *value;
            split_set(a.sets[i], name, sizeof name, &value);
            if (sm_session_set(s, name, value, &r) != SM_OK)
                status = fail(a.sets[i], &r.err);
        }
        if (!status)
            status = fit_max_len(s, &a, a.resume);
    }
    pr.csv = csv;
    if (!status && pr.csv)
        csv_header(&pr);

    sm_session_view v;
    int64_t first = sm_session_step_count(s), owed = -1;
    if (!status) {
        sm_session_view_get(s, &v);
        owed = v.eval_owed; /* a resumed checkpoint's evaluation, ended early by a pause: it runs first */
        pr.log_every = (int64_t)v.hp.v[SM_HP_LOG_EVERY];
        pr.denom = a.steps > 0 && a.steps < INT64_MAX - first ? first + a.steps : v.planned;
        if (pr.log_every < 1)
            pr.log_every = 1;
        const struct sm_dataset *tr = sm_session_dataset(s, 0), *dv = sm_session_dataset(s, 1);
        char devtxt[64] = "";
        if (dv)
            snprintf(devtxt, sizeof devtxt, ", %zu dev rows", sm_dataset_size(dv));
        printf("training %s on %s (%zu examples%s) from step %lld, %lld steps planned\n", model,
               tr ? sm_dataset_report(tr)->path : "?", tr ? sm_dataset_size(tr) : (size_t)0, devtxt,
               (long long)first, (long long)v.planned);
        if (out_dir[0] && (v.hp.v[SM_HP_SAVE_EVERY] > 0 || v.hp.v[SM_HP_SAVE_BEST] > 0))
            printf("checkpoints during the run go to %s/%s%s\n", out_dir,
                   v.hp.v[SM_HP_SAVE_EVERY] > 0 ? "checkpoint-STEP" : "",
                   v.hp.v[SM_HP_SAVE_BEST] > 0 ? (v.hp.v[SM_HP_SAVE_EVERY] > 0 ? " and best" : "best") : "");
        fflush(stdout);
        sm_session_set_event_fn(s, on_event, &pr);
        signal_session = s;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (a.steps <= 0 && v.planned <= first && owed < 0) {
            fprintf(stderr, "smartty train: the %lld planned steps are done (the run is at step %lld); "
                            "--steps N trains N more\n", (long long)v.planned, (long long)first);
            status = 1;
        } else if (sm_session_train(s, a.steps, &r) != SM_OK) {
            status = fail("train", &r.err);
        }
        if (pr.failed)
            status = 1;
    }
    csv_flush_held(&pr);
    int metrics_bad = 0; /* reported, and the checkpoint is written all the same */
    if (pr.csv && (fclose(pr.csv) != 0 || pr.csv_bad)) {
        fprintf(stderr, "smartty train: --metrics %s: write failed (%s); the run's metrics are incomplete\n",
                a.metrics, strerror(errno));
        metrics_bad = 1;
    }
    sm_session_view_get(s, &v);
    if (got_signal)
        printf("interrupted by signal %d at step %lld\n", (int)got_signal, (long long)v.step);
    if (v.state == SM_SESSION_PAUSED && !got_signal)
        status = status ? status : 1;
    int trained = v.step > first || (owed >= 0 && v.eval_owed < 0);
    char autosave[1200] = "";
    if (!a.save && trained && got_signal) { /* a dropped connection loses nothing: as the console does */
        char name[64];
        snprintf(name, sizeof name, "autosave-%ld", (long)getpid());
        if (con_state_path(autosave, sizeof autosave, name, 1))
            a.save = autosave;
        else
            fprintf(stderr, "smartty train: the path of the state directory is too long: nothing saved\n");
    }
    if (a.save && trained && (status == 0 || got_signal)) {
        sm_session_cmd c;
        memset(&c, 0, sizeof c);
        if (got_signal) { /* a paused run must be stopped before the checkpoint is final */
            c.kind = SM_CMD_STOP;
            sm_session_command(s, &c, NULL);
        }
        c.kind = SM_CMD_SAVE;
        snprintf(c.path, sizeof c.path, "%s", a.save);
        if (sm_session_command(s, &c, &r) != SM_OK)
            status = fail("--save", &r.err);
    }
    if (trained && status && !got_signal) /* the run or its save failed */
        keep_failed_run(s);
    if (trained) {
        double secs = sm_now() - pr.t0;
        printf("done: %lld steps (%lld to %lld) in %.1f s", (long long)(v.step - first), (long long)first,
               (long long)v.step, secs);
        if (v.has_step)
            printf(", last loss %.4f", v.last.loss);
        printf("\n");
        if (v.has_eval)
            print_eval(&v.eval, "final dev:");
        if (v.has_best)
            print_eval(&v.best, "best dev: ");
        if (a.save && (status == 0 || got_signal))
            printf("%s to %s%s\n", autosave[0] ? "autosaved" : "saved", a.save,
                   autosave[0] ? " (continue it with `smartty train --resume` and that folder)" : "");
        if (a.metrics)
            printf("metrics in %s\n", a.metrics);
    }
    signal_session = NULL;
    sm_session_free(s);
    free_args(&a);
    sm_log_set(NULL, NULL);
    if (got_signal && status == 0)
        status = 128 + (int)got_signal;
    return status ? status : metrics_bad;
}
