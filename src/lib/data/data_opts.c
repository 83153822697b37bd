/* data_opts.c: the data options (--text, --label, --quote, ...) declared once in a table and parsed
 * from an argv by every command that loads data. It parses values only; columns named here are
 * resolved against the file when it is loaded (data.c). */
#include "smartty/data.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
    OPT_TEXT, OPT_PAIR, OPT_LABEL, OPT_NO_HEADER, OPT_DELIM, OPT_QUOTE, OPT_LABELS, OPT_REGRESSION,
    OPT_LIMIT, OPT_SAMPLE, OPT_SEED, OPT_SKIP_BAD, OPT_MAX_LEN
};

typedef struct opt_def {
    const char *name;  /* without the leading -- */
    const char *value; /* metavariable, NULL for a flag */
    enum opt_id id;
    const char *help;
} opt_def;

static const opt_def opt_table[] = {
    {"text", "COL", OPT_TEXT,
     "text column: 1-based number or header name (default: header sentence, text or sentence1, else 1)"},
    {"text-pair", "COL", OPT_PAIR,
     "second text column, or none (default: sentence2 when the text is sentence1)"},
    {"label", "COL", OPT_LABEL, "label column, or none (default: header label, else the last column)"},
    {"no-header", NULL, OPT_NO_HEADER, "the first row is data, not column names"},
    {"delimiter", "tab|comma", OPT_DELIM, "field separator (default: comma for .csv, else tab)"},
    {"quote", "none|csv", OPT_QUOTE,
     "none: \" is ordinary (GLUE TSV); csv: standard quoting (default: csv for .csv, else none)"},
    {"labels", "A,B,...", OPT_LABELS, "class names in id order; other labels are errors (default: sorted)"},
    {"regression", NULL, OPT_REGRESSION, "the label is a float target"},
    {"limit", "N", OPT_LIMIT, "keep only the first N rows"},
    {"sample", "N", OPT_SAMPLE, "keep a random N rows, reproducible with --seed"},
    {"seed", "S", OPT_SEED, "seed for --sample (default 42)"},
    {"skip-bad", NULL, OPT_SKIP_BAD, "skip bad rows (count and report them) instead of stopping"},
    {"max-len", "N", OPT_MAX_LEN, "tokens per example, [CLS]/[SEP] included (default 128)"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

void sm_data_opts_init(sm_data_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->max_len = 128;
}

void sm_data_opts_free(sm_data_opts *o)
{
    if (!o)
        return;
    for (int k = 0; k < o->n_labels; k++)
        free(o->labels[k]);
    free(o->labels);
    o->labels = NULL;
    o->n_labels = 0;
}

sm_status sm_data_opts_set_labels(sm_data_opts *o, const char *const *names, int n, sm_error *e)
{
    for (int k = 0; k < n; k++) {
        if (!names[k] || !names[k][0])
            return sm_err(e, SM_ERR_INVALID, "label %d of the label list is empty: give non-empty names",
                          k + 1);
        for (int j = 0; j < k; j++)
            if (strcmp(names[j], names[k]) == 0)
                return sm_err(e, SM_ERR_INVALID,
                              "label '%s' appears twice in the label list: give each class once", names[k]);
    }
    char **v = NULL;
    if (n > 0) {
        v = sm_calloc((size_t)n, sizeof *v, e, "label list");
        if (!v)
            return SM_ERR_NOMEM;
        for (int k = 0; k < n; k++)
            if (!(v[k] = sm_strdup(names[k]))) {
                for (int j = 0; j < k; j++)
                    free(v[j]);
                free(v);
                return sm_err(e, SM_ERR_NOMEM, "out of memory copying the label list");
            }
    }
    sm_data_opts_free(o);
    o->labels = v;
    o->n_labels = n;
    return SM_OK;
}

sm_status sm_data_opts_copy(sm_data_opts *dst, const sm_data_opts *src, sm_error *e)
{
    *dst = *src;
    dst->labels = NULL;
    dst->n_labels = 0;
    return sm_data_opts_set_labels(dst, (const char *const *)src->labels, src->n_labels, e);
}

const char *sm_quote_name(sm_quote q)
{
    switch (q) {
    case SM_QUOTE_NONE: return "none";
    case SM_QUOTE_CSV: return "csv";
    case SM_QUOTE_AUTO: break;
    }
    return "auto";
}

/* A non-negative decimal integer that fits below `max`. */
static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s[0] || s[0] == '-' || s[0] == '+')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return 0;
    *out = v;
    return 1;
}

static sm_status set_labels_csv(sm_data_opts *o, const char *s, sm_error *e)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    if (n > 100000)
        return sm_err(e, SM_ERR_INVALID, "--labels: too many labels (%zu)", n);
    char *copy = sm_strdup(s);
    const char **names = sm_calloc(n, sizeof *names, e, "label list");
    if (!copy || !names) {
        free(copy);
        free(names);
        return sm_err(e, SM_ERR_NOMEM, "out of memory reading --labels");
    }
    size_t k = 0;
    char *p = copy;
    for (;;) {
        names[k++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    sm_status st = sm_data_opts_set_labels(o, names, (int)k, e);
    if (st != SM_OK)
        sm_err_prefix(e, "--labels %s (expected comma-separated class names, e.g. --labels neg,pos)", s);
    free(copy);
    free(names);
    return st;
}

static sm_status set_col(char *dst, const char *opt, const char *v, sm_error *e)
{
    if (!v[0])
        return sm_err(e, SM_ERR_INVALID, "--%s: empty column: give a 1-based column number or a header name",
                      opt);
    if (strlen(v) >= SM_DATA_COL_MAX)
        return sm_err(e, SM_ERR_INVALID, "--%s: column name longer than %d bytes", opt, SM_DATA_COL_MAX - 1);
    if (v[0] == '0' || v[0] == '-') {
        unsigned long long n;
        if (parse_count(v, 0, &n) || v[0] == '-')
            return sm_err(e, SM_ERR_INVALID,
                          "--%s %s: column numbers start at 1: give a number from 1 or a header name", opt, v);
    }
    strcpy(dst, v);
    return SM_OK;
}

static sm_status apply(sm_data_opts *o, const opt_def *d, const char *v, sm_error *e)
{
    unsigned long long n;
    switch (d->id) {
    case OPT_TEXT: return set_col(o->text_col, d->name, v, e);
    case OPT_PAIR: return set_col(o->pair_col, d->name, v, e);
    case OPT_LABEL: return set_col(o->label_col, d->name, v, e);
    case OPT_NO_HEADER: o->no_header = 1; return SM_OK;
    case OPT_REGRESSION: o->regression = 1; return SM_OK;
    case OPT_SKIP_BAD: o->skip_bad = 1; return SM_OK;
    case OPT_DELIM:
        if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
            o->delimiter = SM_DELIM_TAB;
        else if (strcmp(v, "comma") == 0 || strcmp(v, ",") == 0)
            o->delimiter = SM_DELIM_COMMA;
        else
            return sm_err(e, SM_ERR_INVALID, "--delimiter %s: expected tab or comma", v);
        return SM_OK;
    case OPT_QUOTE:
        if (strcmp(v, "none") == 0)
            o->quote = SM_QUOTE_NONE;
        else if (strcmp(v, "csv") == 0)
            o->quote = SM_QUOTE_CSV;
        else
            return sm_err(e, SM_ERR_INVALID, "--quote %s: expected none (a \" is ordinary, as in GLUE TSV) "
                          "or csv (standard quoting)", v);
        return SM_OK;
    case OPT_LABELS: return set_labels_csv(o, v, e);
    case OPT_LIMIT:
    case OPT_SAMPLE:
        if (!parse_count(v, SIZE_MAX, &n) || n == 0)
            return sm_err(e, SM_ERR_INVALID, "--%s %s: expected a whole number of rows, at least 1", d->name, v);
        if (d->id == OPT_LIMIT)
            o->limit = (size_t)n;
        else
            o->sample = (size_t)n;
        return SM_OK;
    case OPT_SEED:
        if (!parse_count(v, UINT64_MAX, &n))
            return sm_err(e, SM_ERR_INVALID, "--seed %s: expected a whole number from 0 to %llu", v,
                          (unsigned long long)UINT64_MAX);
        o->seed = n;
        return SM_OK;
    case OPT_MAX_LEN:
        if (!parse_count(v, 1u << 20, &n) || n < 3)
            return sm_err(e, SM_ERR_INVALID, "--max-len %s: expected a whole number from 3 to %u", v, 1u << 20);
        o->max_len = (int)n;
        return SM_OK;
    }
    return sm_err(e, SM_ERR_INVALID, "--%s: unhandled option", d->name);
}

int sm_data_opts_parse_one(sm_data_opts *o, int argc, char **argv, int i, sm_error *e)
{
    if (i < 0 || i >= argc || !argv[i] || strncmp(argv[i], "--", 2) != 0)
        return 0;
    const char *arg = argv[i] + 2;
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_def *d = NULL;
    for (size_t k = 0; k < N_OPTS; k++)
        if (strlen(opt_table[k].name) == nlen && strncmp(opt_table[k].name, arg, nlen) == 0)
            d = &opt_table[k];
    if (!d)
        return 0;
    if (!d->value) {
        if (eq) {
            sm_err(e, SM_ERR_INVALID, "--%s takes no value", d->name);
            return -1;
        }
        return apply(o, d, NULL, e) == SM_OK ? 1 : -1;
    }
    if (eq)
        return apply(o, d, eq + 1, e) == SM_OK ? 1 : -1;
    if (i + 1 >= argc || !argv[i + 1]) {
        sm_err(e, SM_ERR_INVALID, "--%s needs a value: --%s %s", d->name, d->name, d->value);
        return -1;
    }
    return apply(o, d, argv[i + 1], e) == SM_OK ? 2 : -1;
}

sm_status sm_data_opts_parse(sm_data_opts *o, int *argc, char **argv, int first, sm_error *e)
{
    int out = first, i = first;
    while (i < *argc) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        int used = sm_data_opts_parse_one(o, *argc, argv, i, e);
        if (used < 0)
            return e ? e->status : SM_ERR_INVALID;
        if (used == 0)
            argv[out++] = argv[i++];
        else
            i += used;
    }
    *argc = out;
    return SM_OK;
}

static char usage_buf[2048];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void usage_build(void)
{
    char *buf = usage_buf;
    size_t off = 0;
    for (size_t k = 0; k < N_OPTS && off < sizeof usage_buf; k++) {
        char head[64];
        snprintf(head, sizeof head, "--%s%s%s", opt_table[k].name, opt_table[k].value ? " " : "",
                 opt_table[k].value ? opt_table[k].value : "");
        int w = snprintf(buf + off, sizeof usage_buf - off, "  %-22s %s\n", head, opt_table[k].help);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

const char *sm_data_opts_usage(void)
{
    pthread_once(&usage_once, usage_build);
    return usage_buf;
}
