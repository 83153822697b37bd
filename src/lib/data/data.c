/* data.c: the dataset: what the reader (data_read.c) leaves becomes a dataset with its label
 * mapping, --sample and statistics; its accessors, free, and tokenization into one compact id pool.
 * It does not read files (data_read.c), batch (batch.c) nor know the tokenizer (data_tok.c passes
 * it in as a function), and never prints; the report's text is data_report.c's. */
#include "smartty/data.h"
#include "lib/data/data_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the report's texts ---- */

/* The report's text fields are the dataset's own whole copies; rep_empty when unset. */
static char rep_empty[1];

int data_rep_set(char **dst, const char *src)
{
    char *p = sm_strdup(src);
    if (!p)
        return 0;
    if (*dst && *dst != rep_empty)
        free(*dst);
    *dst = p;
    return 1;
}

static void rep_free(char **p)
{
    if (*p && *p != rep_empty)
        free(*p);
    *p = rep_empty;
}

void data_report_init(sm_data_report *r)
{
    r->path = r->text_name = r->pair_name = r->label_name = rep_empty;
}

/* ---- after parsing: label mapping, sampling, statistics ---- */

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Label orders: byte order, or numeric (ties, like "1" and "01", by bytes) when all are integers. */
static int cmp_name_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_name_int(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    long long u = strtoll(x, NULL, 10), v = strtoll(y, NULL, 10);
    if (u != v)
        return u < v ? -1 : 1;
    return strcmp(x, y);
}

/* Build the sorted label mapping from the label strings seen. */
static sm_status build_labels(sm_dataset *ds, sm_error *e)
{
    size_t n = ds->n;
    const char **names = sm_malloc(n * sizeof *names, e, "label sort");
    if (!names)
        return SM_ERR_NOMEM;
    int ints = 1;
    for (size_t i = 0; i < n; i++) {
        names[i] = ds->pool + ds->lab_off[i];
        ints = ints && is_integer(names[i]);
    }
    int (*cmp)(const void *, const void *) = ints ? cmp_name_int : cmp_name_str;
    qsort(names, n, sizeof *names, cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];
    ds->label_names = calloc(u ? u : 1, sizeof *ds->label_names);
    if (!ds->label_names) {
        free(names);
        return sm_err(e, SM_ERR_NOMEM, "out of memory building the label mapping");
    }
    for (size_t k = 0; k < u; k++)
        if (!(ds->label_names[k] = sm_strdup(names[k]))) {
            free(names);
            return sm_err(e, SM_ERR_NOMEM, "out of memory building the label mapping");
        }
    ds->n_labels = (int)u;
    free(names);
    for (size_t i = 0; i < n; i++) {
        const char *key = ds->pool + ds->lab_off[i];
        char **hit = bsearch(&key, ds->label_names, u, sizeof *ds->label_names, cmp);
        ds->labels[i] = (int32_t)(hit - ds->label_names);
    }
    free(ds->lab_off);
    ds->lab_off = NULL;
    return SM_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Keep a reproducible random `want` rows, in file order. */
static sm_status subsample(sm_dataset *ds, size_t want, uint64_t seed, sm_error *e)
{
    size_t n = ds->n;
    if (want >= n)
        return SM_OK;
    uint32_t *idx = sm_malloc(n * sizeof *idx, e, "sample indices");
    if (!idx)
        return SM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    sm_rng r;
    sm_rng_seed(&r, seed);
    for (size_t k = 0; k < want; k++) {
        size_t j = k + (size_t)sm_rng_below(&r, n - k);
        uint32_t t = idx[k];
        idx[k] = idx[j];
        idx[j] = t;
    }
    qsort(idx, want, sizeof *idx, cmp_u32);
    for (size_t k = 0; k < want; k++) {
        size_t s = idx[k];
        ds->text[k] = ds->text[s];
        ds->lines[k] = ds->lines[s];
        if (ds->pair)
            ds->pair[k] = ds->pair[s];
        if (ds->labels)
            ds->labels[k] = ds->labels[s];
        if (ds->targets)
            ds->targets[k] = ds->targets[s];
    }
    ds->n = want;
    ds->rep.sampled = 1;
    free(idx);
    return SM_OK;
}

static int is_float_text(const char *s)
{
    char *end;
    errno = 0;
    (void)strtod(s, &end);
    return end != s && !*end && !errno;
}

/* A label column chosen by default (header "label" or the last column) that does not look like
 * classes is more likely a mistake than a task: say what to pass instead. */
static sm_status check_auto_label(const sm_dataset *ds, sm_error *e)
{
    const sm_data_report *r = &ds->rep;
    sm_str cs = SM_STR_INIT;
    if (r->label_name[0])
        sm_str_appendf(&cs, "column %d (%s)", r->label_col, r->label_name);
    else
        sm_str_appendf(&cs, "column %d", r->label_col);
    if (cs.failed)
        return sm_err(e, SM_ERR_NOMEM, "%s: out of memory checking the label column", r->path);
    sm_status st = SM_OK;
    const char *col = cs.p;
    int floats = 1, ints = 1;
    for (int k = 0; k < ds->n_labels && floats; k++) {
        floats = is_float_text(ds->label_names[k]);
        ints = ints && is_integer(ds->label_names[k]);
    }
    if (floats && !ints && ds->n_labels > 2)
        st = sm_err(e, SM_ERR_INVALID, "%s: the label, %s (taken by default), holds %d different numbers: for a "
                      "float target pass --regression; to treat them as classes, name the column with --label",
                      r->path, col, ds->n_labels);
    else if (ds->n_labels > 100 && (size_t)ds->n_labels * 2 > ds->n)
        st = sm_err(e, SM_ERR_INVALID, "%s: the label, %s (taken by default), has %d different values in %zu "
                      "rows, which looks like text: give the label column with --label COL, or --label none for "
                      "unlabelled data%s", r->path, col, ds->n_labels, ds->n, r->header ? " (or --no-header if the "
                      "first line is data)" : "");
    sm_str_free(&cs);
    return st;
}

sm_status data_finalize(sm_dataset *ds, const sm_data_opts *o, const char *name, int have_layout,
                        sm_error *e)
{
    sm_data_report *r = &ds->rep;
    if (!have_layout)
        return sm_err(e, SM_ERR_FORMAT, "%s: the file has no rows: give a file with %sdata rows", name,
                      o->no_header ? "" : "a header and ");
    if (ds->n == 0) {
        if (r->skipped)
            return sm_err(e, SM_ERR_FORMAT, "%s: all %zu data rows are bad; the first: %s", name, r->skipped,
                          r->bad[0]);
        return sm_err(e, SM_ERR_FORMAT, "%s: no data rows after the %s: give a file with data rows%s", name,
                      o->no_header ? "first line" : "header",
                      o->no_header ? "" : " (or pass --no-header if the first line is data)");
    }
    r->rows_read = ds->n;
    if (o->n_labels) {
        /* the fixed mapping (checked when it was set) becomes the dataset's */
        sm_data_opts tmp;
        sm_data_opts_init(&tmp);
        sm_status st = sm_data_opts_set_labels(&tmp, (const char *const *)o->labels, o->n_labels, e);
        if (st != SM_OK)
            return st;
        ds->label_names = tmp.labels;
        ds->n_labels = tmp.n_labels;
    } else if (ds->has_labels && !ds->regression) {
        sm_status st = build_labels(ds, e);
        if (st == SM_OK && !o->label_col[0])
            st = check_auto_label(ds, e);
        if (st != SM_OK)
            return st;
    }
    if (o->sample) {
        sm_status st = subsample(ds, o->sample, o->seed, e);
        if (st != SM_OK)
            return st;
    }
    r->rows = ds->n;
    if (ds->n_labels) {
        ds->label_counts = calloc((size_t)ds->n_labels, sizeof *ds->label_counts);
        if (!ds->label_counts)
            return sm_err(e, SM_ERR_NOMEM, "out of memory counting labels");
        if (ds->labels)
            for (size_t i = 0; i < ds->n; i++)
                ds->label_counts[ds->labels[i]]++;
    }
    if (ds->targets) {
        double lo = INFINITY, hi = -INFINITY, s = 0;
        for (size_t i = 0; i < ds->n; i++) {
            double v = ds->targets[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            s += v;
        }
        r->target_min = lo;
        r->target_max = hi;
        r->target_mean = s / (double)ds->n;
    }
    return SM_OK;
}

void sm_dataset_free(sm_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pool);
    free(ds->text);
    free(ds->pair);
    free(ds->labels);
    free(ds->targets);
    free(ds->lines);
    free(ds->lab_off);
    for (int k = 0; k < ds->n_labels; k++)
        free(ds->label_names[k]);
    free(ds->label_names);
    free(ds->label_counts);
    free(ds->tok_ids);
    free(ds->tok_types);
    free(ds->tok_off);
    rep_free(&ds->rep.path);
    rep_free(&ds->rep.text_name);
    rep_free(&ds->rep.pair_name);
    rep_free(&ds->rep.label_name);
    for (int k = 0; k < ds->rep.n_bad; k++)
        free(ds->rep.bad[k]);
    free(ds);
}

/* ---- accessors ---- */

size_t sm_dataset_size(const sm_dataset *ds) { return ds->n; }
int sm_dataset_has_pair(const sm_dataset *ds) { return ds->has_pair; }
int sm_dataset_has_labels(const sm_dataset *ds) { return ds->has_labels; }
int sm_dataset_is_regression(const sm_dataset *ds) { return ds->regression; }
const char *sm_dataset_text(const sm_dataset *ds, size_t i) { return i < ds->n ? ds->pool + ds->text[i] : NULL; }

const char *sm_dataset_text_pair(const sm_dataset *ds, size_t i)
{
    return ds->pair && i < ds->n ? ds->pool + ds->pair[i] : NULL;
}

int32_t sm_dataset_label(const sm_dataset *ds, size_t i) { return ds->labels && i < ds->n ? ds->labels[i] : -1; }
float sm_dataset_target(const sm_dataset *ds, size_t i) { return ds->targets && i < ds->n ? ds->targets[i] : 0.0f; }
uint32_t sm_dataset_line(const sm_dataset *ds, size_t i) { return i < ds->n ? ds->lines[i] : 0; }
int sm_dataset_num_labels(const sm_dataset *ds) { return ds->n_labels; }

const char *sm_dataset_label_name(const sm_dataset *ds, int k)
{
    return k >= 0 && k < ds->n_labels ? ds->label_names[k] : NULL;
}

const char *const *sm_dataset_label_names(const sm_dataset *ds)
{
    return (const char *const *)ds->label_names;
}

size_t sm_dataset_label_count(const sm_dataset *ds, int k)
{
    return ds->label_counts && k >= 0 && k < ds->n_labels ? ds->label_counts[k] : 0;
}

const sm_data_report *sm_dataset_report(const sm_dataset *ds) { return &ds->rep; }
int sm_dataset_tokenized(const sm_dataset *ds) { return ds->tok_off != NULL; }

int32_t sm_dataset_tokens(const sm_dataset *ds, size_t i, const int32_t **ids, const int32_t **types)
{
    if (!ds->tok_off || i >= ds->n)
        return 0;
    if (ids)
        *ids = ds->tok_ids + ds->tok_off[i];
    if (types)
        *types = ds->tok_types + ds->tok_off[i];
    return (int32_t)(ds->tok_off[i + 1] - ds->tok_off[i]);
}

/* ---- tokenization ---- */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static int32_t percentile(const int32_t *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

sm_status sm_dataset_tokenize_fn(sm_dataset *ds, sm_encode_fn encode, void *ud, int max_len, sm_error *e)
{
    if (max_len <= 0)
        max_len = ds->max_len;
    size_t n = ds->n, cap = n * 16 + 64, used = 0;
    int32_t *ids = sm_malloc(cap * sizeof *ids, e, "token ids");
    int32_t *types = sm_malloc(cap * sizeof *types, e, "token types");
    size_t *off = sm_malloc((n + 1) * sizeof *off, e, "token offsets");
    int32_t *lens = sm_malloc((n ? n : 1) * sizeof *lens, e, "token lengths");
    sm_ids a = {0}, t = {0};
    sm_status st = SM_OK;
    size_t truncated = 0;
    if (!ids || !types || !off || !lens) {
        st = SM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *x = ds->pool + ds->text[i], *y = ds->pair ? ds->pool + ds->pair[i] : NULL;
        st = encode(ud, x, y, 0, &a, &t, e);
        if (st == SM_OK && a.n > (size_t)max_len) {
            truncated++;
            lens[i] = a.n > INT32_MAX ? INT32_MAX : (int32_t)a.n;
            st = encode(ud, x, y, max_len, &a, &t, e);
        } else
            lens[i] = (int32_t)a.n;
        if (st != SM_OK) {
            sm_err_prefix(e, "%s:%u", ds->rep.path, ds->lines[i]);
            goto done;
        }
        if (used + a.n > cap) {
            while (used + a.n > cap)
                cap *= 2;
            int32_t *ni = realloc(ids, cap * sizeof *ids);
            if (ni)
                ids = ni;
            int32_t *nt = realloc(types, cap * sizeof *types);
            if (nt)
                types = nt;
            if (!ni || !nt) {
                st = sm_err(e, SM_ERR_NOMEM, "out of memory tokenizing %s (%zu tokens)", ds->rep.path, cap);
                goto done;
            }
        }
        off[i] = used;
        memcpy(ids + used, a.v, a.n * sizeof *ids);
        memcpy(types + used, t.v, t.n * sizeof *types);
        used += a.n;
    }
    off[n] = used;
    free(ds->tok_ids);
    free(ds->tok_types);
    free(ds->tok_off);
    ds->tok_ids = ids;
    ds->tok_types = types;
    ds->tok_off = off;
    ids = types = NULL;
    off = NULL;
    sm_data_report *r = &ds->rep;
    r->tokenized = 1;
    r->max_len = max_len;
    r->truncated = truncated;
    if (n) {
        qsort(lens, n, sizeof *lens, cmp_i32);
        r->len_p50 = percentile(lens, n, 50);
        r->len_p90 = percentile(lens, n, 90);
        r->len_p95 = percentile(lens, n, 95);
        r->len_p99 = percentile(lens, n, 99);
        r->len_max = lens[n - 1];
    }
done:
    free(ids);
    free(types);
    free(off);
    free(lens);
    free(a.v);
    free(t.v);
    return st;
}
