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
#include "smartty/checkpoint.h"
#include "smartty/data.h"
#include "smartty/escape.h"
#include "smartty/hparams.h"
#include "smartty/record.h"
#include "smartty/session.h"

#define MAX_SETS 128

typedef struct train_args {
    const char *model, *train, *dev, *preset, *save, *metrics, *resume;
    const char *sets[MAX_SETS];
    int n_sets;
    long long steps;  /* --steps: this many steps now, even past the plan; 0 = to the plan's end */
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

static void usage(FILE *out)
{
    fprintf(out,
            "usage: smartty train --model DIR --train FILE [--dev FILE] [data options]\n"
            "                     [--preset NAME] [--set name=value ...] [--steps N]\n"
            "                     [--save DIR] [--metrics FILE.csv] [--resume DIR]\n"
            "\n"
            "Fine-tune a BERT classifier with SMART. Hyperparameters are checked before anything\n"
            "loads; `smartty train --help-params` lists them with their ranges.\n"
            "\n"
            "  --model DIR       Hugging Face model folder (or smartty checkpoint) to start from\n"
            "  --train FILE      training set (TSV or CSV)\n"
            "  --dev FILE        evaluation set (same columns and labels)\n"
            "  --preset NAME     vanilla, paper, mtdnn or r3f (before the --set values)\n"
            "  --set NAME=VALUE  a hyperparameter (repeatable), e.g. --set lambda_s=3\n"
            "  --steps N         train N steps in this run, even past the plan's end (the plan,\n"
            "                    epochs or max_steps, still sets the learning-rate schedule);\n"
            "                    default: until the plan ends\n"
            "  --save DIR        write a checkpoint there at the end (atomically)\n"
            "  --metrics FILE    write every step's record as CSV\n"
            "  --resume DIR      continue a checkpoint (its model, state and hyperparameters;\n"
            "                    give the same --train file and data options)\n"
            "\n"
            "data options (for --train and --dev):\n%s",
            sm_data_opts_usage());
}

static void help_params(void)
{
    for (int id = 0; id < (int)sm_hparam_count(); id++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        char def[64];
        sm_hparam_format(id, d->def, def, sizeof def);
        if (d->type == SM_HP_ENUM) {
            char ch[160] = "";
            size_t off = 0;
            for (int i = 0; d->choices[i] && off < sizeof ch; i++)
                off += (size_t)snprintf(ch + off, sizeof ch - off, "%s%s", i ? "|" : "", d->choices[i]);
            printf("%-14s %-22s default %-10s %s\n", d->name, ch, def, d->help);
        } else {
            char range[64];
            snprintf(range, sizeof range, "[%g, %g]", d->min, d->max);
            printf("%-14s %-22s default %-10s %s\n", d->name, range, def, d->help);
        }
    }
}

/* 0 ok, 2 usage error (message printed). */
static int parse_args(int argc, char **argv, train_args *a)
{
    sm_error e;
    if (sm_data_opts_parse(&a->data, &argc, argv, 1, &e) != SM_OK) {
        fprintf(stderr, "smartty train: %s\n", e.msg);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(arg, "--help-params")) {
            help_params();
            return 1;
        }
        const char *names[] = {"--model", "--train", "--dev", "--preset", "--save", "--metrics",
                               "--resume", "--set", "--steps"};
        const char **slots[] = {&a->model, &a->train, &a->dev, &a->preset, &a->save, &a->metrics,
                                &a->resume, NULL, NULL};
        const char *value = NULL;
        int which = -1;
        for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++) {
            size_t n = strlen(names[k]);
            if (!strcmp(arg, names[k])) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "smartty train: %s needs a value\n", names[k]);
                    return 2;
                }
                value = argv[++i];
                which = k;
                break;
            }
            if (!strncmp(arg, names[k], n) && arg[n] == '=') {
                value = arg + n + 1;
                which = k;
                break;
            }
        }
        if (which < 0) {
            fprintf(stderr, "smartty train: unknown option '%s' (see smartty train --help)\n", arg);
            return 2;
        }
        slot = slots[which];
        if (slot) {
            *slot = value;
        } else if (!strcmp(names[which], "--set")) {
            if (a->n_sets == MAX_SETS) {
                fprintf(stderr, "smartty train: more than %d --set options\n", MAX_SETS);
                return 2;
            }
            a->sets[a->n_sets++] = value;
        } else {
            char *end;
            errno = 0;
            a->steps = strtoll(value, &end, 10);
            if (errno || end == value || *end || a->steps < 1) {
                fprintf(stderr, "smartty train: --steps '%s': expected a whole number >= 1\n", value);
                return 2;
            }
        }
    }
    if (!a->model && !a->resume) {
        fprintf(stderr, "smartty train: --model DIR (or --resume DIR) is required\n");
        return 2;
    }
    if (!a->train) {
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
        p->held = *ev->rec;
        p->has_held = 1;
        const sm_step_record *r = ev->rec;
        if (r->step % p->log_every == 0) {
            sm_session_view v;
            sm_session_view_get(p->s, &v);
            printf("step %lld/%lld epoch %d: loss %.4f rs %.4g breg %.4g total %.4f grad_norm %.3f "
                   "lr %.3g ex/s %.1f%s\n",
                   (long long)r->step, (long long)v.planned, r->epoch + 1, r->loss, r->rs, r->breg,
                   r->total, r->grad_norm, r->lr, r->examples_per_s, r->skipped ? " (skipped)" : "");
            fflush(stdout);
        }
        break;
    }
    case SM_EVENT_EVAL:
        if (p->has_held && p->held.step == ev->ev->step) {
            p->held_ev = *ev->ev;
            p->held_has_ev = 1;
        }
        print_eval(ev->ev, "eval");
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
    default:
        break;
    }
}

static int fail(const char *what, const sm_error *e)
{
    fprintf(stderr, "smartty train: %s%s%s\n", what, *what ? ": " : "", e->msg);
    return 1;
}

/* ---- destinations, checked before anything loads ---- */

/* A path from the command line, escaped for the terminal (four at a time, in rotation). */
static const char *esc_arg(const char *path)
{
    static char bufs[4][4200];
    static int next;
    char *b = bufs[next++ % 4];
    sm_text_escape(b, sizeof bufs[0], path, 0);
    return b;
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
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[3000], path[3100];
    if (xdg && xdg[0] == '/')
        snprintf(dir, sizeof dir, "%s/smartty", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.local/state/smartty", home);
    else
        snprintf(dir, sizeof dir, "/tmp/smartty-%ld", (long)getuid());
    for (char *q = dir + 1; *q; q++) { /* mkdir -p */
        if (*q == '/') {
            *q = '\0';
            (void)mkdir(dir, 0700);
            *q = '/';
        }
    }
    (void)mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/autosave-%ld", dir, (long)getpid());
    sm_session_cmd c;
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
    train_args a;
    memset(&a, 0, sizeof a);
    sm_data_opts_init(&a.data);
    int rc = parse_args(argc, argv, &a);
    sm_hparams hp;
    if (rc == 0)
        rc = check_hparams(&a, &hp);
    if (rc != 0) {
        sm_data_opts_free(&a.data);
        return rc == 1 ? 0 : rc;
    }
    /* --max-len (a data option) and max_len (a hyperparameter) are one setting */
    if (!user_set(&a, SM_HP_MAX_LEN) && a.data.max_len != (int)hp.v[SM_HP_MAX_LEN]) {
        char v[32];
        snprintf(v, sizeof v, "%d", a.data.max_len);
        sm_error e;
        if (sm_hparams_set(&hp, "max_len", v, &e) != SM_OK) {
            fprintf(stderr, "smartty train: --max-len: %s\n", e.msg);
            sm_data_opts_free(&a.data);
            return 2;
        }
    }
    FILE *csv = NULL;
    if ((rc = check_destinations(&a, &csv)) != 0) {
        sm_data_opts_free(&a.data);
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
        sm_data_opts_free(&a.data);
        return fail("", &e);
    }
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
    if (!status && sm_session_load_model(s, model, &e) != SM_OK)
        status = fail(a.resume ? "--resume" : "--model", &e);
    if (!status && sm_session_load_data(s, 0, a.train, &a.data, &e) != SM_OK)
        status = fail("--train", &e);
    if (!status && a.dev && sm_session_load_data(s, 1, a.dev, &a.data, &e) != SM_OK)
        status = fail("--dev", &e);
    if (!status && a.resume) {
        if (sm_session_step_count(s) == 0 && sm_checkpoint_resolve(a.resume, (char[4200]){0}, 4200) !=
                                                 SM_CKPT_SMARTTY) {
            fprintf(stderr, "smartty train: --resume %s: not a smartty checkpoint (to start from a "
                            "plain model folder use --model)\n", a.resume);
            status = 2;
        }
        if (!status && a.preset && sm_session_named(s, SM_CMD_PRESET, a.preset, &r) != SM_OK)
            status = fail("--preset", &r.err);
        for (int i = 0; i < a.n_sets && !status; i++) {
            char name[128];
            const char *value;
            split_set(a.sets[i], name, sizeof name, &value);
            if (sm_session_set(s, name, value, &r) != SM_OK)
                status = fail(a.sets[i], &r.err);
        }
    }
    pr.csv = csv;
    if (!status && pr.csv)
        csv_header(&pr);

    sm_session_view v;
    int64_t first = sm_session_step_count(s);
    if (!status) {
        sm_session_view_get(s, &v);
        pr.log_every = (int64_t)v.hp.v[SM_HP_LOG_EVERY];
        if (pr.log_every < 1)
            pr.log_every = 1;
        const struct sm_dataset *tr = sm_session_dataset(s, 0);
        printf("training %s on %s (%zu examples%s) from step %lld, %lld steps planned\n", model, a.train,
               tr ? sm_dataset_size(tr) : (size_t)0, a.dev ? ", dev set loaded" : "", (long long)first,
               (long long)v.planned);
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
        if (sm_session_train(s, a.steps, &r) != SM_OK)
            status = fail("train", &r.err);
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
    int trained = v.step > first;
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
        if (a.save && status == 0)
            printf("saved to %s\n", a.save);
        if (a.metrics)
            printf("metrics in %s\n", a.metrics);
    }
    signal_session = NULL;
    sm_session_free(s);
    sm_data_opts_free(&a.data);
    sm_log_set(NULL, NULL);
    if (got_signal && status == 0)
        status = 128 + (int)got_signal;
    return status ? status : metrics_bad;
}
