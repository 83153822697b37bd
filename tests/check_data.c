/* check_data.c: tests of the data layer without the tokenizer: the data options, the libcsv loader
 * (quoting, BOM, CRLF, columns, labels), every bad-input case with its file:line:column message,
 * --skip-bad, --limit/--sample, every chunk size through the parser, and the batcher (padding,
 * masks, determinism, bucketing, restore from a saved position) over a stand-in encoder. */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/data/data_internal.h"
#include "smartty/batch.h"
#include "smartty/data.h"
#include "testutil.h"

static char tmpdir[256];

static void setup_tmp(void)
{
    tu_mkdtemp(tmpdir, sizeof tmpdir, "check_data");
}

static void teardown_tmp(void)
{
    ck_assert_int_eq(tu_rmtree(tmpdir), 0);
}

/* Write data to tmpdir/name; returns the path (static buffer per call site is not needed: copied). */
static char *write_tmp(const char *name, const void *data, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

/* Options from a '|'-separated argument string, e.g. "--text|#1 String|--no-header". */
static void opts_from(sm_data_opts *o, const char *spec)
{
    sm_data_opts_init(o);
    if (!spec || !spec[0])
        return;
    char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *p = buf; p; ) {
        argv[argc++] = p;
        char *bar = strchr(p, '|');
        if (bar)
            *bar++ = '\0';
        p = bar;
    }
    sm_error e;
    ck_assert_msg(sm_data_opts_parse(o, &argc, argv, 0, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(argc, 0);
}

/* Load text written to tmpdir/name with options; asserts success. */
static sm_dataset *load_text(const char *name, const char *text, const char *spec)
{
    sm_data_opts o;
    opts_from(&o, spec);
    sm_dataset *ds = NULL;
    sm_error e;
    const char *path = write_tmp(name, text, strlen(text));
    sm_status st = sm_dataset_load(path, &o, &ds, &e);
    ck_assert_msg(st == SM_OK, "%s", e.msg);
    sm_data_opts_free(&o);
    return ds;
}

/* Load expecting failure; returns the status and copies the message. */
static sm_status load_fail(const char *name, const void *data, size_t len, const char *spec, char *msg,
                           size_t cap)
{
    sm_data_opts o;
    opts_from(&o, spec);
    sm_dataset *ds = NULL;
    sm_error e;
    const char *path = write_tmp(name, data, len);
    sm_status st = sm_dataset_load(path, &o, &ds, &e);
    ck_assert_msg(st != SM_OK, "loading %s should have failed", name);
    ck_assert_ptr_null(ds);
    snprintf(msg, cap, "%s", e.msg);
    sm_data_opts_free(&o);
    return st;
}

/* A mutable argv copy of string literals (freed with free_argv). */
static char **mkargv(const char *const *src, int n)
{
    char **v = calloc((size_t)n + 1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < n; i++)
        v[i] = src[i] ? strdup(src[i]) : NULL;
    return v;
}

static void free_argv(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

/* ---- options ---- */

START_TEST(test_opts_parse)
{
    sm_data_opts o;
    sm_data_opts_init(&o);
    static const char *const args[] = {"train", "--text", "#1 String", "--epochs", "3", "--label=1", "--no-header",
                    "--quote", "csv", "--delimiter", "comma", "--labels", "b,a,c", "--regression",
                    "--limit", "10", "--sample", "5", "--seed", "7", "--skip-bad", "--max-len", "64",
                    "--text-pair", "4", "model"};
    int argc = (int)(sizeof args / sizeof args[0]), n0 = argc;
    char **keep = mkargv(args, argc);
    char **argv = calloc((size_t)argc, sizeof *argv);
    ck_assert_ptr_nonnull(argv);
    memcpy(argv, keep, (size_t)argc * sizeof *argv);
    sm_error e;
    ck_assert_int_eq(sm_data_opts_parse(&o, &argc, argv, 1, &e), SM_OK);
    ck_assert_int_eq(argc, 4);
    ck_assert_str_eq(argv[0], "train");
    ck_assert_str_eq(argv[1], "--epochs");
    ck_assert_str_eq(argv[2], "3");
    ck_assert_str_eq(argv[3], "model");
    free(argv);
    free_argv(keep, n0);
    ck_assert_str_eq(o.text_col, "#1 String");
    ck_assert_str_eq(o.pair_col, "4");
    ck_assert_str_eq(o.label_col, "1");
    ck_assert_int_eq(o.no_header, 1);
    ck_assert_int_eq(o.quote, SM_QUOTE_CSV);
    ck_assert_int_eq(o.delimiter, SM_DELIM_COMMA);
    ck_assert_int_eq(o.n_labels, 3);
    ck_assert_str_eq(o.labels[0], "b");
    ck_assert_str_eq(o.labels[2], "c");
    ck_assert_int_eq(o.regression, 1);
    ck_assert_uint_eq(o.limit, 10);
    ck_assert_uint_eq(o.sample, 5);
    ck_assert_uint_eq(o.seed, 7);
    ck_assert_int_eq(o.skip_bad, 1);
    ck_assert_int_eq(o.max_len, 64);
    sm_data_opts c;
    ck_assert_int_eq(sm_data_opts_copy(&c, &o, &e), SM_OK);
    ck_assert_ptr_ne(c.labels, o.labels);
    ck_assert_str_eq(c.labels[1], "a");
    sm_data_opts_free(&c);
    sm_data_opts_free(&o);
    ck_assert_ptr_null(o.labels);
}
END_TEST

START_TEST(test_opts_errors)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"--quote", "double", "--quote double: expected none"},
        {"--delimiter", "semicolon", "--delimiter semicolon: expected tab or comma"},
        {"--limit", "-3", "--limit -3: expected a whole number"},
        {"--limit", "0", "--limit 0: expected a whole number"},
        {"--sample", "many", "--sample many: expected a whole number"},
        {"--seed", "x", "--seed x: expected a whole number"},
        {"--max-len", "2", "--max-len 2: expected a whole number from 3"},
        {"--text", "0", "--text 0: column numbers start at 1"},
        {"--labels", "a,,b", "--labels a,,b"},
        {"--labels", "a,b,a", "appears twice"},
        {"--text", NULL, "--text needs a value"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sm_data_opts o;
        sm_data_opts_init(&o);
        const char *args[2] = {cases[k].a, cases[k].b};
        int argc = cases[k].b ? 2 : 1;
        char **argv = mkargv(args, 2);
        sm_error e;
        ck_assert_int_eq(sm_data_opts_parse_one(&o, argc, argv, 0, &e), -1);
        ck_assert_int_eq(e.status, SM_ERR_INVALID);
        ck_assert_contains(e.msg, cases[k].want);
        sm_data_opts_free(&o);
        free_argv(argv, 2);
    }
    sm_data_opts o;
    sm_data_opts_init(&o);
    static const char *const args[] = {"--skip-bad=yes", "--epochs", "--"};
    char **argv = mkargv(args, 3);
    sm_error e;
    ck_assert_int_eq(sm_data_opts_parse_one(&o, 3, argv, 0, &e), -1);
    ck_assert_contains(e.msg, "--skip-bad takes no value");
    ck_assert_int_eq(sm_data_opts_parse_one(&o, 3, argv, 1, &e), 0);
    ck_assert_int_eq(sm_data_opts_parse_one(&o, 3, argv, 2, &e), 0);
    free_argv(argv, 3);
    /* "--" ends the data options: what follows is passed through */
    static const char *const rest[] = {"cmd", "--delimiter", "tab", "--", "--limit", "3"};
    char **rv = mkargv(rest, 6);
    char *keep[6];
    memcpy(keep, rv, sizeof keep);
    int rc = 6;
    ck_assert_int_eq(sm_data_opts_parse(&o, &rc, rv, 1, &e), SM_OK);
    ck_assert_int_eq(rc, 4);
    ck_assert_str_eq(rv[1], "--");
    ck_assert_str_eq(rv[2], "--limit");
    ck_assert_int_eq(o.delimiter, SM_DELIM_TAB);
    ck_assert_uint_eq(o.limit, 0);
    for (int k = 0; k < 6; k++)
        free(keep[k]);
    free(rv);
    const char *u = sm_data_opts_usage();
    const char *names[] = {"--text COL", "--text-pair COL", "--label COL", "--no-header", "--delimiter tab|comma",
                           "--quote none|csv", "--labels", "--regression", "--limit N", "--sample N", "--seed S",
                           "--skip-bad", "--max-len N"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        ck_assert_contains(u, names[k]);
}
END_TEST

/* ---- reading ---- */

START_TEST(test_tsv_basic)
{
    sm_dataset *ds = load_text("a.tsv", "sentence\tlabel\nit is good \t1\nbad \"film\"\t0\nok\t1\n", "");
    ck_assert_uint_eq(sm_dataset_size(ds), 3);
    ck_assert_str_eq(sm_dataset_text(ds, 0), "it is good ");
    ck_assert_str_eq(sm_dataset_text(ds, 1), "bad \"film\"");
    ck_assert_ptr_null(sm_dataset_text_pair(ds, 0));
    ck_assert_int_eq(sm_dataset_num_labels(ds), 2);
    ck_assert_str_eq(sm_dataset_label_name(ds, 0), "0");
    ck_assert_str_eq(sm_dataset_label_name(ds, 1), "1");
    ck_assert_int_eq(sm_dataset_label(ds, 0), 1);
    ck_assert_int_eq(sm_dataset_label(ds, 1), 0);
    ck_assert_uint_eq(sm_dataset_label_count(ds, 1), 2);
    ck_assert_uint_eq(sm_dataset_line(ds, 2), 4);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_int_eq(r->quote, SM_QUOTE_NONE);
    ck_assert_int_eq(r->quote_by_ext, 1);
    ck_assert_int_eq(r->delimiter, '\t');
    ck_assert_int_eq(r->text_col, 1);
    ck_assert_int_eq(r->label_col, 2);
    char buf[2048];
    size_t n = sm_data_report_format(ds, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_contains(buf, "3 rows");
    ck_assert_contains(buf, "quoting none (by extension)");
    ck_assert_contains(buf, "text 1 (sentence)");
    ck_assert_contains(buf, "label 2 (label)");
    ck_assert_contains(buf, "0 1 (33.3%)");
    char small[8];
    ck_assert_uint_eq(sm_data_report_format(ds, small, sizeof small), n);
    ck_assert_uint_eq(strlen(small), 7);
    sm_dataset_free(ds);
}
END_TEST

START_TEST(test_bom_crlf_no_final_newline_pair_by_name)
{
    const char *text = "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
                       "1\t11\t12\tHe said \"yes\".\tShe said \"no\r\n"
                       "0\t13\t14\tA\tB";
    sm_dataset *ds = load_text("m.tsv", text, "--label|Quality|--text|#1 String|--text-pair|#2 String");
    ck_assert_uint_eq(sm_dataset_size(ds), 2);
    ck_assert_str_eq(sm_dataset_text(ds, 0), "He said \"yes\".");
    ck_assert_str_eq(sm_dataset_text_pair(ds, 0), "She said \"no");
    ck_assert_str_eq(sm_dataset_text_pair(ds, 1), "B");
    ck_assert_int_eq(sm_dataset_label(ds, 0), 1);
    ck_assert_uint_eq(sm_dataset_line(ds, 1), 3);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_int_eq(r->bom, 1);
    ck_assert_int_eq(r->crlf, 1);
    ck_assert_str_eq(r->label_name, "Quality");
    ck_assert_int_eq(r->pair_col, 5);
    sm_dataset_free(ds);
}
END_TEST

START_TEST(test_csv_quoting)
{
    const char *text = "\"3\",\"Title, with comma\",\"He said \"\"hi\"\"\\nthen left\"\n"
                       "1,plain,\"two\nlines\"\n"
                       "\"2\",\"\",\"x\"\n";
    sm_dataset *ds = load_text("t.csv", text, "--no-header|--label|1|--text|3|--text-pair|2|--skip-bad");
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_int_eq(r->quote, SM_QUOTE_CSV);
    ck_assert_int_eq(r->delimiter, ',');
    ck_assert_uint_eq(sm_dataset_size(ds), 2);
    ck_assert_str_eq(sm_dataset_text(ds, 0), "He said \"hi\"\\nthen left");
    ck_assert_str_eq(sm_dataset_text_pair(ds, 0), "Title, with comma");
    ck_assert_str_eq(sm_dataset_text(ds, 1), "two\nlines");
    ck_assert_uint_eq(sm_dataset_line(ds, 1), 2);
    ck_assert_str_eq(sm_dataset_label_name(ds, 0), "1");
    ck_assert_str_eq(sm_dataset_label_name(ds, 1), "3");
    /* the empty title on line 4 (after the two-line field) is reported there */
    ck_assert_uint_eq(r->skipped, 1);
    ck_assert_contains(r->bad[0], "t.csv:4:5: empty text in column 2");
    sm_dataset_free(ds);
    /* the same file read without quoting splits inside the quotes */
    char msg[1024];
    ck_assert_int_eq(load_fail("t.csv", text, strlen(text), "--no-header|--label|1|--text|3|--quote|none", msg,
                               sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "t.csv:2:");
    ck_assert_contains(msg, "3 fields where the first row has 4");
}
END_TEST

START_TEST(test_labels_order_and_mapping)
{
    const char *text = "text\tlabel\na\t10\nb\t2\nc\t1\nd\t2\n";
    sm_dataset *ds = load_text("n.tsv", text, "");
    ck_assert_int_eq(sm_dataset_num_labels(ds), 3);
    ck_assert_str_eq(sm_dataset_label_name(ds, 0), "1");
    ck_assert_str_eq(sm_dataset_label_name(ds, 1), "2");
    ck_assert_str_eq(sm_dataset_label_name(ds, 2), "10");
    ck_assert_int_eq(sm_dataset_label(ds, 0), 2);
    sm_dataset_free(ds);
    ds = load_text("s.tsv", "text\tlabel\na\tpos\nb\tneg\nc\t neu \n", "");
    ck_assert_str_eq(sm_dataset_label_name(ds, 0), "neg");
    ck_assert_str_eq(sm_dataset_label_name(ds, 1), "neu");
    ck_assert_int_eq(sm_dataset_label(ds, 2), 1);
    sm_dataset_free(ds);
    ds = load_text("s.tsv", "text\tlabel\na\tpos\nb\tneg\n", "--labels|pos,neu,neg");
    ck_assert_int_eq(sm_dataset_num_labels(ds), 3);
    ck_assert_int_eq(sm_dataset_label(ds, 0), 0);
    ck_assert_int_eq(sm_dataset_label(ds, 1), 2);
    ck_assert_uint_eq(sm_dataset_label_count(ds, 1), 0);
    /* a dev set read with the train set's mapping */
    sm_data_opts dev_o;
    sm_data_opts_init(&dev_o);
    sm_error e0;
    ck_assert_int_eq(sm_data_opts_set_labels(&dev_o, sm_dataset_label_names(ds), sm_dataset_num_labels(ds), &e0),
                     SM_OK);
    sm_dataset *devset;
    const char *dtext = "text\tlabel\nz\tneu\n";
    ck_assert_int_eq(sm_dataset_load_mem("d.tsv", dtext, strlen(dtext), &dev_o, &devset, &e0), SM_OK);
    ck_assert_int_eq(sm_dataset_label(devset, 0), 1);
    ck_assert_int_eq(sm_dataset_num_labels(devset), 3);
    sm_dataset_free(devset);
    sm_data_opts_free(&dev_o);
    sm_dataset_free(ds);
    /* a mapping given programmatically (from a model) */
    sm_data_opts o;
    sm_data_opts_init(&o);
    const char *names[] = {"neg", "pos"};
    sm_error e;
    ck_assert_int_eq(sm_data_opts_set_labels(&o, names, 2, &e), SM_OK);
    const char *dev = "text\tlabel\nx\tpos\ny\tmaybe\n";
    const char *path = write_tmp("dev.tsv", dev, strlen(dev));
    ck_assert_int_eq(sm_dataset_load(path, &o, &ds, &e), SM_ERR_NOTFOUND);
    ck_assert_contains(e.msg, "dev.tsv:3:3: label 'maybe' in column 2 (label) is not one of the known labels "
                              "(neg,pos)");
    sm_data_opts_free(&o);
}
END_TEST

START_TEST(test_regression_and_columns)
{
    sm_dataset *ds = load_text("r.tsv", "index\tsentence1\tsentence2\tscore\n0\ta\tb\t3.5\n1\tc\td\t-0.25\n",
                               "--regression");
    ck_assert_int_eq(sm_dataset_is_regression(ds), 1);
    ck_assert_int_eq(sm_dataset_has_pair(ds), 1);
    ck_assert_str_eq(sm_dataset_text_pair(ds, 1), "d");
    ck_assert(sm_dataset_target(ds, 0) == 3.5f);
    ck_assert(sm_dataset_target(ds, 1) == -0.25f);
    ck_assert_int_eq(sm_dataset_label(ds, 0), -1);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert(r->target_min == -0.25 && r->target_max == 3.5);
    sm_dataset_free(ds);
    /* --label none: texts only */
    ds = load_text("u.tsv", "sentence\tlabel\nhello\t1\n", "--label|none");
    ck_assert_int_eq(sm_dataset_has_labels(ds), 0);
    ck_assert_int_eq(sm_dataset_label(ds, 0), -1);
    sm_dataset_free(ds);
    /* a single-column file has no label */
    ds = load_text("one.txt", "first line\nsecond line\n", "--no-header");
    ck_assert_uint_eq(sm_dataset_size(ds), 2);
    ck_assert_int_eq(sm_dataset_has_labels(ds), 0);
    sm_dataset_free(ds);
    char msg[1024];
    const char *t = "a\tb\n";
    ck_assert_int_eq(load_fail("c.tsv", t, strlen(t), "--text|3", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "c.tsv:1: --text 3: the file has 2 columns");
    ck_assert_int_eq(load_fail("c.tsv", t, strlen(t), "--text|sentence", msg, sizeof msg), SM_ERR_NOTFOUND);
    ck_assert_contains(msg, "--text 'sentence': no such column; the header has: a, b");
    ck_assert_int_eq(load_fail("c.tsv", t, strlen(t), "--no-header|--label|b", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "needs a header row");
    ck_assert_int_eq(load_fail("c.tsv", t, strlen(t), "--label|1", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "also a text column");
    /* a default label column that holds floats or free text is refused with what to pass instead */
    const char *sts = "sentence1\tsentence2\tscore\na\tb\t3.5\nc\td\t1.25\ne\tf\t0.5\n";
    ck_assert_int_eq(load_fail("sts.tsv", sts, strlen(sts), "", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "column 3 (score) (taken by default), holds 3 different numbers: for a float target "
                            "pass --regression");
    ds = load_text("sts.tsv", sts, "--label|score");
    ck_assert_int_eq(sm_dataset_num_labels(ds), 3);
    ck_assert_str_eq(sm_dataset_label_name(ds, 0), "0.5");
    sm_dataset_free(ds);
    char many[16384];
    size_t off = 0;
    for (int i = 0; i < 300; i++)
        off += (size_t)snprintf(many + off, sizeof many - off, "src%d\t1\tsentence number %d\n", i % 7, i);
    ck_assert_int_eq(load_fail("cola.tsv", many, off, "--no-header", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "the label, column 3 (taken by default), has 300 different values in 300 rows");
    ds = load_text("cola.tsv", many, "--no-header|--label|3|--text|1");
    ck_assert_int_eq(sm_dataset_num_labels(ds), 300);
    char rep[8192];
    sm_data_report_format(ds, rep, sizeof rep);
    ck_assert_contains(rep, ", ... and 240 more");
    sm_dataset_free(ds);
    /* 4-byte UTF-8 is text; a sequence past U+10FFFF is not; a bad header stops loading */
    ds = load_text("emoji.tsv", "sentence1\tsentence2\tlabel\nok \xF0\x9F\x98\x80\tb\t1\nx\ty\t0\n",
                   "--text-pair|none");
    ck_assert_int_eq(sm_dataset_has_pair(ds), 0);
    ck_assert_str_eq(sm_dataset_text(ds, 0), "ok \xF0\x9F\x98\x80");
    sm_dataset_free(ds);
    const char *hi = "sentence\tlabel\nok \xF4\x90\x80\x80\t1\n";
    ck_assert_int_eq(load_fail("hi.tsv", hi, strlen(hi), "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "hi.tsv:2:4: invalid UTF-8 (byte 0xF4)");
    const char *bad_head = "sent\xC3\x28nce\tlabel\nok\t1\n";
    ck_assert_int_eq(load_fail("bh.tsv", bad_head, strlen(bad_head), "--skip-bad", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "bh.tsv:1:5: invalid UTF-8 (byte 0xC3) in the header");
    ck_assert_int_eq(load_fail("r.tsv", t, strlen(t), "--regression|--label|none", msg, sizeof msg), SM_ERR_INVALID);
    ck_assert_contains(msg, "--regression needs a label column");
    /* no options and no name: the defaults */
    sm_dataset *dd;
    sm_error e1;
    const char *mini = "sentence\tlabel\nx\t1\n";
    ck_assert_int_eq(sm_dataset_load_mem(NULL, mini, strlen(mini), NULL, &dd, &e1), SM_OK);
    ck_assert_str_eq(sm_dataset_report(dd)->path, "(data)");
    ck_assert_int_eq(sm_dataset_label(dd, 0), 0);
    sm_dataset_free(dd);
    ck_assert_int_eq(load_fail("e.tsv", "", 0, "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "e.tsv: the file has no rows");
    ck_assert_int_eq(load_fail("h.tsv", t, strlen(t), "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "no data rows after the header");
}
END_TEST

START_TEST(test_limit_and_sample)
{
    char text[8192];
    size_t off = (size_t)snprintf(text, sizeof text, "sentence\tlabel\n");
    for (int i = 0; i < 200; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "row %d\t%d\n", i, i % 3);
    sm_dataset *ds = load_text("l.tsv", text, "--limit|10");
    ck_assert_uint_eq(sm_dataset_size(ds), 10);
    ck_assert_str_eq(sm_dataset_text(ds, 9), "row 9");
    ck_assert_int_eq(sm_dataset_report(ds)->limited, 1);
    sm_dataset_free(ds);
    sm_dataset *a = load_text("l.tsv", text, "--sample|50|--seed|3");
    sm_dataset *b = load_text("l.tsv", text, "--sample|50|--seed|3");
    sm_dataset *c = load_text("l.tsv", text, "--sample|50|--seed|4");
    ck_assert_uint_eq(sm_dataset_size(a), 50);
    ck_assert_int_eq(sm_dataset_report(a)->sampled, 1);
    ck_assert_uint_eq(sm_dataset_report(a)->rows_read, 200);
    int differ = 0;
    for (size_t i = 0; i < 50; i++) {
        ck_assert_str_eq(sm_dataset_text(a, i), sm_dataset_text(b, i));
        differ |= strcmp(sm_dataset_text(a, i), sm_dataset_text(c, i)) != 0;
        int row;
        ck_assert_int_eq(sscanf(sm_dataset_text(a, i), "row %d", &row), 1);
        ck_assert_int_eq(sm_dataset_label(a, i), row % 3);
        ck_assert_uint_eq(sm_dataset_line(a, i), (uint32_t)row + 2);
        if (i)
            ck_assert_uint_gt(sm_dataset_line(a, i), sm_dataset_line(a, i - 1));
    }
    ck_assert(differ);
    size_t sum = 0;
    for (int k = 0; k < 3; k++)
        sum += sm_dataset_label_count(a, k);
    ck_assert_uint_eq(sum, 50);
    sm_dataset_free(a);
    sm_dataset_free(b);
    sm_dataset_free(c);
    ds = load_text("l.tsv", text, "--sample|500");
    ck_assert_uint_eq(sm_dataset_size(ds), 200);
    sm_dataset_free(ds);
}
END_TEST

/* ---- bad input: message with file:line:column, status, and --skip-bad ---- */

typedef struct bad_case {
    const char *name;
    const char *opts;
    const char *row;      /* the bad row, written as line 3 between two good rows */
    sm_status status;
    const char *where;    /* expected "file:line:col" */
    const char *what;
} bad_case;

static const bad_case bad_cases[] = {
    {"fields.tsv", "", "one\t1\textra\n", SM_ERR_FORMAT, "fields.tsv:3:7:", "3 fields where the header has 2"},
    {"few.tsv", "--label|3", "one\t1\n", SM_ERR_FORMAT, "few.tsv:3:6:", "2 fields where the header has 3"},
    {"empty.tsv", "", "  \t1\n", SM_ERR_FORMAT, "empty.tsv:3:1:", "empty text in column 1 (sentence)"},
    {"label.tsv", "--labels|0,1", "text\tmaybe\n", SM_ERR_NOTFOUND, "label.tsv:3:6:", "label 'maybe'"},
    {"float.tsv", "--regression", "text\t2.5x\n", SM_ERR_FORMAT, "float.tsv:3:6:", "cannot read '2.5x'"},
    {"nan.tsv", "--regression", "text\tnan\n", SM_ERR_NONFINITE, "nan.tsv:3:6:", "not a finite float"},
    {"utf8.tsv", "", "caf\xE9 au lait\t1\n", SM_ERR_FORMAT, "utf8.tsv:3:4:", "invalid UTF-8 (byte 0xE9)"},
    {"surr.tsv", "", "ok \xED\xA0\x80\t1\n", SM_ERR_FORMAT, "surr.tsv:3:4:", "invalid UTF-8 (byte 0xED)"},
    {"nolabel.tsv", "", "text\t\n", SM_ERR_FORMAT, "nolabel.tsv:3:6:", "empty label"},
};

static void bad_file(const bad_case *c, char *buf, size_t cap, size_t *len)
{
    const char *head = strstr(c->opts, "--label|3") ? "sentence\tlabel\tother\n" : "sentence\tlabel\n";
    const char *good = strstr(c->opts, "--label|3") ? "good\t1\tx\n" : strstr(c->opts, "regression") ?
                       "good\t1.5\n" : "good\t1\n";
    *len = (size_t)snprintf(buf, cap, "%s%s%s%s", head, good, c->row, good);
}

START_TEST(test_bad_rows)
{
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        const bad_case *c = &bad_cases[k];
        char file[512], msg[1024];
        size_t len;
        bad_file(c, file, sizeof file, &len);
        sm_status st = load_fail(c->name, file, len, c->opts, msg, sizeof msg);
        ck_assert_msg(st == c->status, "%s: status %d, want %d (%s)", c->name, st, c->status, msg);
        ck_assert_contains(msg, c->where);
        ck_assert_contains(msg, c->what);
        ck_assert_contains(msg, "--skip-bad");
        /* skipped with --skip-bad: the two good rows load, the bad one is counted and reported */
        char opts[256];
        snprintf(opts, sizeof opts, "%s%s--skip-bad", c->opts, c->opts[0] ? "|" : "");
        sm_dataset *ds = load_text(c->name, file, opts);
        ck_assert_uint_eq(sm_dataset_size(ds), 2);
        const sm_data_report *r = sm_dataset_report(ds);
        ck_assert_uint_eq(r->skipped, 1);
        ck_assert_int_eq(r->n_bad, 1);
        ck_assert_contains(r->bad[0], c->where);
        ck_assert_contains(r->bad[0], c->what);
        char rep[2048];
        sm_data_report_format(ds, rep, sizeof rep);
        ck_assert_contains(rep, "skipped 1 bad row:");
        ck_assert_contains(rep, c->where);
        ck_assert_uint_eq(sm_dataset_line(ds, 1), 4);
        sm_dataset_free(ds);
    }
}
END_TEST

START_TEST(test_bad_field_too_long)
{
    size_t big = SM_DATA_MAX_FIELD + 10, cap = big + 64;
    char *file = malloc(cap);
    ck_assert_ptr_nonnull(file);
    size_t off = (size_t)snprintf(file, cap, "sentence\tlabel\nfine\t1\nok\t");
    memset(file + off, 'x', big);
    off += big;
    off += (size_t)snprintf(file + off, cap - off, "\nfine\t0\n");
    char msg[1024];
    ck_assert_int_eq(load_fail("big.tsv", file, off, "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "big.tsv:3:4: field over 1048576 bytes");
    sm_data_opts o;
    opts_from(&o, "--skip-bad");
    sm_dataset *ds;
    sm_error e;
    ck_assert_int_eq(sm_dataset_load_mem("big.tsv", file, off, &o, &ds, &e), SM_OK);
    ck_assert_uint_eq(sm_dataset_size(ds), 2);
    ck_assert_uint_eq(sm_dataset_report(ds)->skipped, 1);
    sm_dataset_free(ds);
    free(file);
}
END_TEST

START_TEST(test_not_text)
{
    static const unsigned char bin[] = {'s', '\t', 'l', '\n', 'P', 'K', 3, 4, 0, 0, 0x14, 0xFF, '\t', '1', '\n'};
    char msg[1024];
    /* NUL bytes stop loading even with --skip-bad: the file is not text */
    ck_assert_int_eq(load_fail("x.tsv", bin, sizeof bin, "--skip-bad", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "x.tsv:2:5: NUL byte: this is not a text file");
    static const unsigned char u16[] = {0xFF, 0xFE, 'a', 0, '\t', 0, 'b', 0};
    ck_assert_int_eq(load_fail("w.tsv", u16, sizeof u16, "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "w.tsv:1:1: UTF-16 byte-order mark");
    const char *unclosed = "a,b\n\"never closed,1\n2,3\n";
    ck_assert_int_eq(load_fail("q.csv", unclosed, strlen(unclosed), "", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "q.csv:2:1: a quoted field is never closed");
    const char *stray = "a,b\nsay 5\" screen,1\n";
    ck_assert_int_eq(load_fail("s.csv", stray, strlen(stray), "--skip-bad", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "s.csv:2:6: a \" inside a field that is not quoted");
    /* a few skipped rows: the count is exact and the first SM_DATA_MAX_BAD messages are kept */
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof text, "sentence\tlabel\n");
    for (int i = 0; i < 20; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, i % 2 ? "good\t1\n" : "bad\n");
    sm_dataset *ds = load_text("many.tsv", text, "--skip-bad");
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_uint_eq(r->skipped, 10);
    ck_assert_int_eq(r->n_bad, SM_DATA_MAX_BAD);
    ck_assert_contains(r->bad[0], "many.tsv:2:4:");
    ck_assert_contains(r->bad[1], "many.tsv:4:4:");
    sm_dataset_free(ds);
    snprintf(text, sizeof text, "sentence\tlabel\nbad\nworse\n");
    ck_assert_int_eq(load_fail("all.tsv", text, strlen(text), "--skip-bad", msg, sizeof msg), SM_ERR_FORMAT);
    ck_assert_contains(msg, "all.tsv: all 2 data rows are bad; the first: ");
    ck_assert_contains(msg, "all.tsv:2:4: 1 field where the header has 2");
}
END_TEST

/* ---- every chunk size through the parser ---- */

static void same_dataset(const sm_dataset *a, const sm_dataset *b, size_t chunk)
{
    ck_assert_msg(sm_dataset_size(a) == sm_dataset_size(b), "chunk %zu: rows", chunk);
    for (size_t i = 0; i < sm_dataset_size(a); i++) {
        ck_assert_msg(strcmp(sm_dataset_text(a, i), sm_dataset_text(b, i)) == 0, "chunk %zu row %zu", chunk, i);
        const char *pa = sm_dataset_text_pair(a, i), *pb = sm_dataset_text_pair(b, i);
        ck_assert(!pa == !pb);
        if (pa)
            ck_assert_str_eq(pa, pb);
        ck_assert_int_eq(sm_dataset_label(a, i), sm_dataset_label(b, i));
        ck_assert_uint_eq(sm_dataset_line(a, i), sm_dataset_line(b, i));
    }
    const sm_data_report *ra = sm_dataset_report(a), *rb = sm_dataset_report(b);
    ck_assert_uint_eq(ra->skipped, rb->skipped);
    ck_assert_int_eq(ra->bom, rb->bom);
    ck_assert_int_eq(ra->crlf, rb->crlf);
    ck_assert_uint_eq(ra->blank_lines, rb->blank_lines);
    for (int k = 0; k < ra->n_bad; k++)
        ck_assert_str_eq(ra->bad[k], rb->bad[k]);
}

START_TEST(test_every_chunk_size)
{
    static const struct {
        const char *name, *opts, *text;
    } files[] = {
        {"c.tsv", "--text|2|--text-pair|3|--label|1|--skip-bad",
         "\xEF\xBB\xBFlabel\ta\tb\r\n1\t\"quoted\" not\tx\r\n\r\n0\tcaf\xC3\xA9\t\xE2\x82\xAC\r\nbad\r\n"
         "1\tz\t\xFF\r\n1\tlast\tno newline"},
        {"c.csv", "--no-header|--skip-bad",
         "\"a, b\",\"1\"\n\"multi\nline \"\"q\"\"\",0\n\n,1\nplain,\"1\"\n\"x\",\"y\",\"z\"\nend,0"},
        {"d.csv", "--no-header", "\xEF\xBB"},
        {"e.tsv", "--no-header|--label|none", "\xEF"},
        {"f.csv", "", "a,b\nx,1\n\"ok\",\"y\"z\"\n"},
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        sm_data_opts o;
        opts_from(&o, files[f].opts);
        size_t len = strlen(files[f].text);
        sm_dataset *whole = NULL;
        sm_error ew;
        sm_status stw = sm_dataset_load_chunked(files[f].name, files[f].text, len, 0, &o, &whole, &ew);
        for (size_t chunk = 1; chunk <= len + 1; chunk++) {
            sm_dataset *ds = NULL;
            sm_error e;
            sm_status st = sm_dataset_load_chunked(files[f].name, files[f].text, len, chunk, &o, &ds, &e);
            ck_assert_msg(st == stw, "%s chunk %zu: %s", files[f].name, chunk, st ? e.msg : "ok");
            if (st == SM_OK)
                same_dataset(whole, ds, chunk);
            else
                ck_assert_str_eq(e.msg, ew.msg);
            sm_dataset_free(ds);
        }
        if (f == 0) {
            ck_assert_int_eq(stw, SM_OK);
            ck_assert_uint_eq(sm_dataset_size(whole), 3);
            ck_assert_str_eq(sm_dataset_text(whole, 0), "\"quoted\" not");
            ck_assert_str_eq(sm_dataset_text_pair(whole, 1), "\xE2\x82\xAC");
            ck_assert_str_eq(sm_dataset_text(whole, 2), "last");
            ck_assert_uint_eq(sm_dataset_line(whole, 2), 7);
            const sm_data_report *r = sm_dataset_report(whole);
            ck_assert_uint_eq(r->skipped, 2);
            ck_assert_uint_eq(r->blank_lines, 1);
            ck_assert_contains(r->bad[0], "c.tsv:5:4: 1 field where the header has 3");
            ck_assert_contains(r->bad[1], "c.tsv:6:5: invalid UTF-8 (byte 0xFF) in column 3 (b)");
        } else if (f == 1) {
            ck_assert_int_eq(stw, SM_OK);
            ck_assert_uint_eq(sm_dataset_size(whole), 4);
            ck_assert_str_eq(sm_dataset_text(whole, 1), "multi\nline \"q\"");
            ck_assert_uint_eq(sm_dataset_line(whole, 3), 8);
            const sm_data_report *r = sm_dataset_report(whole);
            ck_assert_uint_eq(r->skipped, 2);
            ck_assert_contains(r->bad[0], "c.csv:5:1: empty text in column 1");
            ck_assert_contains(r->bad[1], "c.csv:7:9: 3 fields where the first row has 2");
        } else {
            ck_assert_int_ne(stw, SM_OK);
        }
        sm_dataset_free(whole);
        sm_data_opts_free(&o);
    }
}
END_TEST

/* ---- tokenization and batches over a stand-in encoder: one id per space-separated word ---- */

static void ids_push(sm_ids *v, int32_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
        ck_assert_ptr_nonnull(v->v);
    }
    v->v[v->n++] = x;
}

static int32_t word_id(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return (int32_t)(h % 1000) + 10;
}

static void words(const char *s, sm_ids *out)
{
    while (*s) {
        while (*s == ' ')
            s++;
        const char *b = s;
        while (*s && *s != ' ')
            s++;
        if (s > b)
            ids_push(out, word_id(b, (size_t)(s - b)));
    }
}

/* [CLS]=1 a [SEP]=2 (b [SEP]), truncated from the end of the longer text, types 0/1. */
static sm_status word_encoder(void *ud, const char *a, const char *b, int max_len, sm_ids *ids, sm_ids *types,
                              sm_error *e)
{
    (void)ud;
    (void)e;
    sm_ids wa = {0}, wb = {0};
    words(a, &wa);
    if (b)
        words(b, &wb);
    size_t na = wa.n, nb = wb.n, extra = b ? 3 : 2;
    while (max_len > 0 && na + nb + extra > (size_t)max_len) {
        if (na > nb)
            na--;
        else
            nb--;
    }
    ids->n = types->n = 0;
    ids_push(ids, 1);
    for (size_t i = 0; i < na; i++)
        ids_push(ids, wa.v[i]);
    ids_push(ids, 2);
    for (size_t i = 0; i < ids->n; i++)
        ids_push(types, 0);
    if (b) {
        for (size_t i = 0; i < nb; i++)
            ids_push(ids, wb.v[i]);
        ids_push(ids, 2);
        while (types->n < ids->n)
            ids_push(types, 1);
    }
    free(wa.v);
    free(wb.v);
    return SM_OK;
}

/* A dataset whose row i has (i % 13) + 1 words and label i % 2. */
static sm_dataset *word_dataset(size_t n, int max_len)
{
    size_t cap = n * 64 + 64, off = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    off += (size_t)snprintf(text, cap, "sentence\tlabel\n");
    for (size_t i = 0; i < n; i++) {
        for (size_t w = 0; w <= i % 13; w++)
            off += (size_t)snprintf(text + off, cap - off, "%sw%zu", w ? " " : "", (i + w) % 50);
        off += (size_t)snprintf(text + off, cap - off, "\t%zu\n", i % 2);
    }
    sm_data_opts o;
    sm_data_opts_init(&o);
    sm_dataset *ds;
    sm_error e;
    ck_assert_int_eq(sm_dataset_load_mem("w.tsv", text, off, &o, &ds, &e), SM_OK);
    free(text);
    ck_assert_msg(sm_dataset_tokenize_fn(ds, word_encoder, NULL, max_len, &e) == SM_OK, "%s", e.msg);
    return ds;
}

static int row_len(size_t i, int max_len)
{
    int n = (int)(i % 13) + 1 + 2;
    return n > max_len ? max_len : n;
}

START_TEST(test_tokenize_pool_and_report)
{
    sm_dataset *ds = word_dataset(130, 8);
    const sm_data_report *r = sm_dataset_report(ds);
    ck_assert_int_eq(r->tokenized, 1);
    ck_assert_int_eq(r->max_len, 8);
    /* untruncated lengths 3..15, ten rows each: nearest-rank percentiles */
    ck_assert_int_eq(r->len_p50, 9);
    ck_assert_int_eq(r->len_p90, 14);
    ck_assert_int_eq(r->len_max, 15);
    ck_assert_uint_eq(r->truncated, 70);
    for (size_t i = 0; i < 130; i++) {
        const int32_t *ids, *types;
        int32_t n = sm_dataset_tokens(ds, i, &ids, &types);
        ck_assert_int_eq(n, row_len(i, 8));
        ck_assert_int_eq(ids[0], 1);
        ck_assert_int_eq(ids[n - 1], 2);
        ck_assert_int_eq(ids[1], word_id(sm_dataset_text(ds, i), strcspn(sm_dataset_text(ds, i), " ")));
        for (int t = 0; t < n; t++)
            ck_assert_int_eq(types[t], 0);
    }
    char buf[2048];
    sm_data_report_format(ds, buf, sizeof buf);
    ck_assert_contains(buf, "tokens: p50 9, p90 14, p95 15, p99 15, max 15; 70 rows over --max-len 8 truncated");
    sm_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_padding_and_eval_order)
{
    sm_dataset *ds = word_dataset(37, 128);
    sm_batcher_opts bo = sm_batcher_default_opts();
    bo.batch_size = 8;
    bo.shuffle = 0;
    sm_batcher *b;
    sm_error e;
    ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_OK);
    ck_assert_uint_eq(sm_batcher_batches_per_epoch(b), 5);
    sm_batch batch = {0};
    size_t next_row = 0;
    for (int k = 0; k < 5; k++) {
        int end;
        ck_assert_int_eq(sm_batcher_next(b, &batch, &end, &e), SM_OK);
        ck_assert_int_eq(end, k == 4);
        ck_assert_int_eq(batch.B, k == 4 ? 5 : 8);
        int T = 0;
        for (int i = 0; i < batch.B; i++) {
            ck_assert_uint_eq(batch.rows[i], next_row + (size_t)i);
            T = row_len(batch.rows[i], 128) > T ? row_len(batch.rows[i], 128) : T;
        }
        ck_assert_int_eq(batch.T, T);
        for (int i = 0; i < batch.B; i++) {
            size_t row = batch.rows[i];
            const int32_t *ids;
            int32_t n = sm_dataset_tokens(ds, row, &ids, NULL);
            ck_assert_int_eq(batch.lengths[i], n);
            ck_assert_int_eq(batch.labels[i], (int32_t)(row % 2));
            for (int t = 0; t < T; t++) {
                size_t at = (size_t)i * (size_t)T + (size_t)t;
                ck_assert(batch.mask[at] == (t < n ? 1.0f : 0.0f));
                ck_assert_int_eq(batch.ids[at], t < n ? ids[t] : 0);
                if (t >= n)
                    ck_assert_int_eq(batch.types[at], 0);
            }
        }
        next_row += (size_t)batch.B;
    }
    /* evaluation order is the same every epoch */
    ck_assert_int_eq(sm_batcher_next(b, &batch, NULL, &e), SM_OK);
    ck_assert_uint_eq(batch.rows[0], 0);
    ck_assert_ptr_null(batch.targets);
    sm_batch_free(&batch);
    sm_batcher_free(b);
    bo.drop_last = 1;
    ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_OK);
    ck_assert_uint_eq(sm_batcher_batches_per_epoch(b), 4);
    sm_batcher_free(b);
    bo.batch_size = 64;
    ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_ERR_INVALID);
    bo.batch_size = 0;
    ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_ERR_INVALID);
    ck_assert_contains(e.msg, "batch size 0");
    bo.batch_size = 4;
    bo.bucket = -1;
    ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_batch_fill(&batch, ds, NULL, 0, 0, &e), SM_ERR_INVALID);
    sm_dataset_free(ds);
}
END_TEST

/* Draw `n` batches, recording their rows into rec (B rows each, -1 padded to 16). */
static void draw(sm_batcher *b, int n, uint32_t *rec, int *epochs_ended)
{
    sm_batch batch = {0};
    sm_error e;
    for (int k = 0; k < n; k++) {
        int end;
        ck_assert_int_eq(sm_batcher_next(b, &batch, &end, &e), SM_OK);
        for (int i = 0; i < 16; i++)
            rec[k * 16 + i] = i < batch.B ? batch.rows[i] : UINT32_MAX;
        if (epochs_ended)
            *epochs_ended += end;
    }
    sm_batch_free(&batch);
}

START_TEST(test_batcher_shuffle_determinism_and_restore)
{
    sm_dataset *ds = word_dataset(100, 128);
    for (int bucket = 0; bucket <= 4; bucket += 4) {
        sm_batcher_opts bo = sm_batcher_default_opts();
        bo.batch_size = 16;
        bo.bucket = bucket;
        bo.seed = 11;
        sm_batcher *a, *b, *c;
        sm_error e;
        ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &a, &e), SM_OK);
        ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &b, &e), SM_OK);
        bo.seed = 12;
        ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &c, &e), SM_OK);
        enum { NB = 7 * 3 };
        static uint32_t ra[NB * 16], rb[NB * 16], rc[NB * 16];
        int ended = 0;
        draw(a, NB, ra, &ended);
        ck_assert_int_eq(ended, 3);
        draw(b, NB, rb, NULL);
        draw(c, NB, rc, NULL);
        ck_assert_mem_eq(ra, rb, sizeof ra);
        ck_assert(memcmp(ra, rc, sizeof ra) != 0);
        /* each epoch visits every row once, and epochs differ */
        for (int ep = 0; ep < 3; ep++) {
            int seen[100] = {0};
            for (int k = ep * 16 * 7; k < (ep + 1) * 16 * 7; k++)
                if (ra[k] != UINT32_MAX)
                    seen[ra[k]]++;
            for (int i = 0; i < 100; i++)
                ck_assert_int_eq(seen[i], 1);
        }
        ck_assert(memcmp(ra, ra + 16 * 7, 16 * 7 * sizeof *ra) != 0);
        if (bucket) {
            /* within a bucketed batch the lengths are close: at most the spread of one bucket chunk */
            int spread_sum = 0;
            for (int k = 0; k < NB; k++) {
                int lo = 99, hi = 0;
                for (int i = 0; i < 16 && ra[k * 16 + i] != UINT32_MAX; i++) {
                    int l = row_len(ra[k * 16 + i], 128);
                    lo = l < lo ? l : lo;
                    hi = l > hi ? l : hi;
                }
                spread_sum += hi - lo;
            }
            ck_assert_int_lt(spread_sum, NB * 6);
        }
        /* restore: from every position of the first two epochs, the continuation is identical */
        for (int at = 0; at <= 14; at++) {
            sm_batcher *x, *y;
            bo.seed = 11;
            ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &x, &e), SM_OK);
            static uint32_t skip[NB * 16], rest[NB * 16];
            draw(x, at, skip, NULL);
            sm_batch_pos pos;
            sm_batcher_position(x, &pos);
            sm_batch_pos copy;
            if (at % 2) {
                memcpy(&copy, &pos, sizeof pos); /* plain data: a byte copy is a valid position */
            } else {
                uint64_t words[SM_BATCH_POS_WORDS];
                sm_batch_pos_pack(&pos, words);
                sm_batch_pos_unpack(&copy, words);
            }
            bo.seed = 999; /* the seed in the position wins over the options' */
            ck_assert_int_eq(sm_batcher_new(ds, &bo, 0, &y, &e), SM_OK);
            ck_assert_int_eq(sm_batcher_restore(y, &copy, &e), SM_OK);
            draw(y, NB - at, rest, NULL);
            ck_assert_mem_eq(rest, ra + at * 16, (size_t)(NB - at) * 16 * sizeof *ra);
            sm_batcher_free(x);
            sm_batcher_free(y);
        }
        sm_batch_pos pos;
        sm_batcher_position(a, &pos);
        pos.batch_size = 8;
        ck_assert_int_eq(sm_batcher_restore(b, &pos, &e), SM_ERR_STATE);
        ck_assert_contains(e.msg, "batches of 8");
        pos.batch_size = 16;
        pos.index = 8;
        ck_assert_int_eq(sm_batcher_restore(b, &pos, &e), SM_ERR_STATE);
        ck_assert_contains(e.msg, "batch 8 of an epoch of 7 batches");
        sm_batcher_free(a);
        sm_batcher_free(b);
        sm_batcher_free(c);
    }
    sm_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_regression_and_untokenized)
{
    const char *text = "sentence1\tsentence2\tscore\na b\tc\t1.5\nd\te f g\t4\n";
    sm_data_opts o;
    opts_from(&o, "--regression");
    sm_dataset *ds;
    sm_error e;
    ck_assert_int_eq(sm_dataset_load_mem("s.tsv", text, strlen(text), &o, &ds, &e), SM_OK);
    uint32_t rows[2] = {1, 0};
    sm_batch batch = {0};
    ck_assert_int_eq(sm_batch_fill(&batch, ds, rows, 2, 0, &e), SM_ERR_STATE);
    ck_assert_int_eq(sm_dataset_tokenize_fn(ds, word_encoder, NULL, 0, &e), SM_OK);
    ck_assert_int_eq(sm_batch_fill(&batch, ds, rows, 2, 7, &e), SM_OK);
    ck_assert_int_eq(batch.T, 7);
    ck_assert_ptr_null(batch.labels);
    ck_assert(batch.targets[0] == 4.0f && batch.targets[1] == 1.5f);
    /* row 0: [CLS] a b [SEP] c [SEP] = 6 tokens, types 0 0 0 0 1 1, then one pad */
    static const int32_t want_types[7] = {0, 0, 0, 0, 1, 1, 0};
    for (int t = 0; t < 7; t++)
        ck_assert_int_eq(batch.types[7 + t], want_types[t]);
    ck_assert_int_eq(batch.ids[7 + 6], 7);
    ck_assert_int_eq(batch.lengths[1], 6);
    rows[0] = 5;
    ck_assert_int_eq(sm_batch_fill(&batch, ds, rows, 2, 0, &e), SM_ERR_RANGE);
    sm_batch_free(&batch);
    sm_dataset_free(ds);
    sm_data_opts_free(&o);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_opts_parse);
    tcase_add_test(tc, test_opts_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_tsv_basic);
    tcase_add_test(tc, test_bom_crlf_no_final_newline_pair_by_name);
    tcase_add_test(tc, test_csv_quoting);
    tcase_add_test(tc, test_labels_order_and_mapping);
    tcase_add_test(tc, test_regression_and_columns);
    tcase_add_test(tc, test_limit_and_sample);
    tcase_add_test(tc, test_every_chunk_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_bad_rows);
    tcase_add_test(tc, test_bad_field_too_long);
    tcase_add_test(tc, test_not_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("batches");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tokenize_pool_and_report);
    tcase_add_test(tc, test_batch_padding_and_eval_order);
    tcase_add_test(tc, test_batcher_shuffle_determinism_and_restore);
    tcase_add_test(tc, test_batch_regression_and_untokenized);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(data_suite());
}
