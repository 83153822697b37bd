/* check_console.c: tests of the console core without a terminal or a trainer: the tokenizer and
 * value parsers, the command table (lookup, prefixes, ambiguity, argument errors), breakpoint
 * expressions, console settings, the dispatcher with a pretend session, and completion. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/breakpoint.h"
#include "console/cmdtab.h"
#include "console/console.h"
#include "console/events.h"
#include "console/new_model.h"
#include "console/parse.h"
#include "console/settings.h"
#include "console_fake.h"
#include "testutil.h"

/* ---- captured output ---- */

static char out_buf[65536];
static char err_buf[65536];

static void capture(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    char *b = kind == CON_OUT_ERROR ? err_buf : out_buf;
    size_t n = strlen(b);
    snprintf(b + n, sizeof out_buf - n, "%s\n", text);
}

static void clear_out(void)
{
    out_buf[0] = '\0';
    err_buf[0] = '\0';
}

/* ---- tokenizer ---- */

START_TEST(test_tokenize_words)
{
    con_tokens t;
    size_t rest;
    char err[128];
    int col;
    const char *line = "  set  lambda_s\t3 ";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 3);
    ck_assert_str_eq(t.argv[0], "set");
    ck_assert_str_eq(t.argv[1], "lambda_s");
    ck_assert_str_eq(t.argv[2], "3");
    ck_assert_int_eq(t.col[0], 2);
    ck_assert_int_eq(t.col[1], 7);
    ck_assert_int_eq(t.col[2], 16);
    ck_assert_ptr_null(t.argv[3]);
    ck_assert_uint_eq(rest, strlen(line));
    con_tokens_free(&t);

    line = "predict \"it's \\\"good\\\"\" 'a \"b\"' x\\ y";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 4);
    ck_assert_str_eq(t.argv[1], "it's \"good\"");
    ck_assert_str_eq(t.argv[2], "a \"b\"");
    ck_assert_str_eq(t.argv[3], "x y");
    con_tokens_free(&t);

    line = "pause; step 3 # a comment; not a command";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 1);
    ck_assert_str_eq(t.argv[0], "pause");
    ck_assert_uint_eq(rest, 6);
    con_tokens_free(&t);
    ck_assert_int_eq(con_tokenize(line + rest, strlen(line + rest), &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 2);
    ck_assert_str_eq(t.argv[1], "3");
    ck_assert_uint_eq(rest, strlen(line) - 6);
    con_tokens_free(&t);

    line = "   ";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 0);
    con_tokens_free(&t);
    ck_assert_int_eq(con_tokenize("''", 2, &t, &rest, err, sizeof err, &col), 0);
    ck_assert_int_eq(t.argc, 1);
    ck_assert_str_eq(t.argv[0], "");
    con_tokens_free(&t);
}
END_TEST

START_TEST(test_tokenize_errors)
{
    con_tokens t;
    char err[128];
    int col = -1;
    const char *line = "echo ok \"unterminated";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, NULL, err, sizeof err, &col), -1);
    ck_assert_int_eq(col, 8);
    ck_assert(strstr(err, "unterminated \" quote at column 9") != NULL);
    con_tokens_free(&t);
    line = "echo 'x";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, NULL, err, sizeof err, &col), -1);
    ck_assert_int_eq(col, 5);
    con_tokens_free(&t);
    line = "echo x\\";
    ck_assert_int_eq(con_tokenize(line, strlen(line), &t, NULL, err, sizeof err, &col), -1);
    ck_assert_int_eq(col, 6);
    con_tokens_free(&t);
    char many[1024] = "";
    for (int i = 0; i < CON_MAX_ARGS + 1; i++)
        strcat(many, "w ");
    ck_assert_int_eq(con_tokenize(many, strlen(many), &t, NULL, err, sizeof err, &col), -1);
    ck_assert(strstr(err, "too many words") != NULL);
    ck_assert_int_eq(col, 2 * CON_MAX_ARGS);
    con_tokens_free(&t);
    /* a length shorter than the string: only that part is read */
    ck_assert_int_eq(con_tokenize("echo abc", 6, &t, NULL, err, sizeof err, &col), 0);
    ck_assert_str_eq(t.argv[1], "a");
    con_tokens_free(&t);
}
END_TEST

START_TEST(test_values)
{
    char err[128];
    long long v;
    double d;
    int b;
    ck_assert_int_eq(con_parse_long("42", 1, 100, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(con_parse_long("0", 1, 100, &v, err, sizeof err), -1);
    ck_assert(strstr(err, "0 is out of range [1, 100]") != NULL);
    ck_assert_int_eq(con_parse_long("4x", 1, 100, &v, err, sizeof err), -1);
    ck_assert(strstr(err, "'4x' is not an integer") != NULL);
    ck_assert_int_eq(con_parse_long("", 1, 100, &v, err, sizeof err), -1);
    ck_assert_int_eq(con_parse_long("99999999999999999999999", 1, 100, &v, err, sizeof err), -1);
    ck_assert_int_eq(con_parse_double("2.5e-1", 0, 1, &d, err, sizeof err), 0);
    ck_assert(d == 0.25);
    ck_assert_int_eq(con_parse_double("nan", 0, 1, &d, err, sizeof err), -1);
    ck_assert(strstr(err, "finite") != NULL);
    ck_assert_int_eq(con_parse_double("1.5", 0, 1, &d, err, sizeof err), -1);
    ck_assert(strstr(err, "out of range") != NULL);
    ck_assert_int_eq(con_parse_double("1..5", 0, 1, &d, err, sizeof err), -1);
    ck_assert_int_eq(con_parse_bool("On", &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(con_parse_bool("no", &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(con_parse_bool("maybe", &b, err, sizeof err), -1);
    static const char *const ch[] = {"stop", "continue", NULL};
    ck_assert_int_eq(con_parse_choice("continue", ch, err, sizeof err), 1);
    ck_assert_int_eq(con_parse_choice("go", ch, err, sizeof err), -1);
    ck_assert_str_eq(err, "'go' is not one of stop, continue");
}
END_TEST

/* ---- the command table ---- */

START_TEST(test_table_wellformed)
{
    size_t n;
    const con_cmd *tab = con_commands(&n);
    ck_assert_uint_ge(n, 25);
    for (size_t i = 0; i < n; i++) {
        con_arg_item items[16];
        ck_assert_msg(con_spec_parse(tab[i].args, items, 16) >= 0, "spec of %s", tab[i].name);
        ck_assert_msg(tab[i].help[0] && tab[i].exec, "%s has help and a handler", tab[i].name);
        const con_cmd *found;
        char err[256];
        /* every name and alias finds its own command */
        ck_assert_int_eq(con_cmd_lookup(tab, n, tab[i].name, &found, err, sizeof err), CON_LOOKUP_FOUND);
        ck_assert_ptr_eq(found, &tab[i]);
        char al[64];
        snprintf(al, sizeof al, "%s", tab[i].aliases);
        for (char *s = NULL, *w = strtok_r(al, " ", &s); w; w = strtok_r(NULL, " ", &s)) {
            ck_assert_int_eq(con_cmd_lookup(tab, n, w, &found, err, sizeof err), CON_LOOKUP_FOUND);
            ck_assert_ptr_eq(found, &tab[i]);
        }
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(tab[i].name, tab[j].name);
    }
    /* the command set */
    static const char *const need[] = {"load", "new", "set", "get", "show", "preset", "train", "pause",
                                       "resume", "step", "eval", "stop", "break", "delete", "snapshot",
                                       "rewind", "save", "export", "replay", "source", "predict", "quit",
                                       "help", NULL};
    for (int i = 0; need[i]; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= !strcmp(tab[j].name, need[i]);
        ck_assert_msg(found, "command %s exists", need[i]);
    }
}
END_TEST

START_TEST(test_lookup)
{
    size_t n;
    const con_cmd *tab = con_commands(&n), *f;
    char err[256];
    ck_assert_int_eq(con_cmd_lookup(tab, n, "snap", &f, err, sizeof err), CON_LOOKUP_FOUND);
    ck_assert_str_eq(f->name, "snapshot");
    ck_assert_int_eq(con_cmd_lookup(tab, n, "c", &f, err, sizeof err), CON_LOOKUP_FOUND);
    ck_assert_str_eq(f->name, "resume"); /* an exact alias beats the prefixes */
    ck_assert_int_eq(con_cmd_lookup(tab, n, "exit", &f, err, sizeof err), CON_LOOKUP_FOUND);
    ck_assert_str_eq(f->name, "quit");
    ck_assert_int_eq(con_cmd_lookup(tab, n, "st", &f, err, sizeof err), CON_LOOKUP_AMBIGUOUS);
    ck_assert_ptr_null(f);
    ck_assert(strstr(err, "ambiguous command 'st'") != NULL);
    ck_assert(strstr(err, " step") && strstr(err, " stop"));
    ck_assert(!strstr(err, " set"));
    ck_assert_int_eq(con_cmd_lookup(tab, n, "frobnicate", &f, err, sizeof err), CON_LOOKUP_NONE);
    ck_assert(strstr(err, "unknown command 'frobnicate'") != NULL);
    ck_assert_int_eq(con_cmd_lookup(tab, n, "", &f, err, sizeof err), CON_LOOKUP_NONE);

    /* a table of our own: exact names win over being a prefix of another */
    static const con_cmd mini[] = {{"set", "", "", "h", NULL}, {"settings", "", "", "h", NULL},
                                   {"show", "sh", "", "h", NULL}};
    ck_assert_int_eq(con_cmd_lookup(mini, 3, "set", &f, err, sizeof err), CON_LOOKUP_FOUND);
    ck_assert_ptr_eq(f, &mini[0]);
    ck_assert_int_eq(con_cmd_lookup(mini, 3, "sett", &f, err, sizeof err), CON_LOOKUP_FOUND);
    ck_assert_ptr_eq(f, &mini[1]);
    ck_assert_int_eq(con_cmd_lookup(mini, 3, "s", &f, err, sizeof err), CON_LOOKUP_AMBIGUOUS);
    ck_assert_str_eq(err, "ambiguous command 's', could be: set settings show");
}
END_TEST

START_TEST(test_spec_parse)
{
    con_arg_item it[16];
    ck_assert_int_eq(con_spec_parse("", it, 16), 0);
    ck_assert_int_eq(con_spec_parse("[N [steps|epochs]]", it, 16), 2);
    ck_assert_int_eq(it[0].kind, CON_ARG_INT);
    ck_assert(it[0].optional && it[1].optional);
    ck_assert_int_eq(it[1].kind, CON_ARG_KEYWORD);
    ck_assert_str_eq(it[1].text, "steps|epochs");
    ck_assert_int_eq(con_spec_parse("model|train|dev PATH [OPTIONS...]", it, 16), 3);
    ck_assert_int_eq(it[2].kind, CON_ARG_REST);
    ck_assert_str_eq(it[2].text, "OPTIONS");
    ck_assert(!it[1].optional && it[2].optional);
    ck_assert_int_eq(con_spec_parse("[N", it, 16), -1);
    ck_assert_int_eq(con_spec_parse("N]", it, 16), -1);
    ck_assert_int_eq(con_spec_parse("TEXT... N", it, 16), -1);
    ck_assert_int_eq(con_spec_parse("[N] NAME", it, 16), -1);
    ck_assert_int_eq(con_spec_parse("A B C", it, 2), -1);
    ck_assert_ptr_eq(con_spec_item_at(it, 0, 0), NULL);
}
END_TEST

static const con_cmd *cmd_named(const char *name)
{
    size_t n;
    const con_cmd *tab = con_commands(&n), *f;
    char err[256];
    ck_assert_int_eq(con_cmd_lookup(tab, n, name, &f, err, sizeof err), CON_LOOKUP_FOUND);
    return f;
}

static int check_args(const char *cmd, int argc, const char **argv, char *err, size_t cap, int *bad)
{
    return con_args_check(cmd_named(cmd), argc, (char *const *)(void *)argv, err, cap, bad);
}

START_TEST(test_args_check)
{
    char err[512];
    int bad;
    const char *a1[] = {"x"};
    ck_assert_int_eq(check_args("train", 1, a1, err, sizeof err, &bad), -1);
    ck_assert_int_eq(bad, 0);
    ck_assert(strstr(err, "train: argument 1 (N): 'x' is not an integer") != NULL);
    const char *a2[] = {"3", "hours"};
    ck_assert_int_eq(check_args("train", 2, a2, err, sizeof err, &bad), -1);
    ck_assert_int_eq(bad, 1);
    ck_assert(strstr(err, "argument 2 'hours': expected steps or epochs") != NULL);
    const char *a3[] = {"3", "epochs"};
    ck_assert_int_eq(check_args("train", 2, a3, err, sizeof err, &bad), 0);
    ck_assert_int_eq(check_args("train", 0, a3, err, sizeof err, &bad), 0);
    const char *a4[] = {"3", "epochs", "now"};
    ck_assert_int_eq(check_args("train", 3, a4, err, sizeof err, &bad), -1);
    ck_assert_int_eq(bad, 2);
    ck_assert(strstr(err, "unexpected argument 3 'now'") != NULL);
    const char *a5[] = {"lambda_s"};
    ck_assert_int_eq(check_args("set", 1, a5, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "set: missing argument 2 (VALUE); usage: set PARAM VALUE") != NULL);
    ck_assert_int_eq(bad, 1);
    ck_assert_int_eq(check_args("pause", 1, a5, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "pause: takes no arguments, got 'lambda_s'") != NULL);
    const char *a6[] = {"weights"};
    ck_assert_int_eq(check_args("show", 1, a6, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "argument 1 'weights': expected params, model, data, journal") != NULL);
    const char *a7[] = {"train", "f.tsv", "text=sentence", "label=label"};
    ck_assert_int_eq(check_args("load", 4, a7, err, sizeof err, &bad), 0);
    ck_assert_int_eq(check_args("load", 1, a7, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "missing argument 2 (PATH)") != NULL);
    ck_assert_int_eq(check_args("load", 0, a7, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "missing argument 1 (model, train or dev)") != NULL);
    const char *a8[] = {"0"};
    ck_assert_int_eq(check_args("step", 1, a8, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "step: argument 1 (N): 0 is out of range") != NULL);
    ck_assert_int_eq(check_args("break", 0, a8, err, sizeof err, &bad), -1);
    ck_assert(strstr(err, "missing argument 1 (COND)") != NULL);
}
END_TEST

/* ---- breakpoints ---- */

static sm_step_record rec(double loss, double grad_norm, double rs)
{
    sm_step_record s;
    memset(&s, 0, sizeof s);
    s.step = 10;
    s.loss = loss;
    s.total = loss + rs;
    s.grad_norm = grad_norm;
    s.rs = rs;
    return s;
}

static int holds(const char *cond, const sm_step_record *s, const sm_eval_record *ev)
{
    con_bp_expr x;
    char err[256];
    int col;
    ck_assert_msg(con_bp_parse(cond, &x, err, sizeof err, &col) == 0, "%s: %s", cond, err);
    return con_bp_eval(&x, s, ev);
}

START_TEST(test_bp_eval)
{
    sm_step_record s = rec(2.7, 12.0, 0.4);
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    ck_assert(holds("loss > 2.5", &s, NULL));
    ck_assert(!holds("loss < 2.5", &s, NULL));
    ck_assert(holds("loss>=2.7", &s, NULL));
    ck_assert(holds("loss <= 2.7", &s, NULL));
    ck_assert(!holds("loss != 2.7", &s, NULL));
    ck_assert(holds("loss == 2.7", &s, NULL));
    ck_assert(holds("grad_norm > 10", &s, NULL));
    ck_assert(!holds("rs > 0.5", &s, NULL));
    ck_assert(holds("rs > -1e-3", &s, NULL));
    ck_assert(holds("step == 10", &s, NULL));
    ck_assert(!holds("nan", &s, NULL));
    ck_assert(holds("rs > 0.5 or loss > 2", &s, NULL));
    ck_assert(!holds("rs > 0.5 and loss > 2", &s, NULL));
    ck_assert(holds("rs > 0.5 and loss > 2 or grad_norm > 10", &s, NULL)); /* and binds tighter */
    ck_assert(!holds("rs > 0.5 and (loss > 2 or grad_norm > 10)", &s, NULL));
    ck_assert(holds("not rs > 0.5", &s, NULL));
    ck_assert(holds("!(rs > 0.5) && loss > 1 || nan", &s, NULL));
    /* dev fields: false before any evaluation, then compared */
    ck_assert(!holds("dev_acc < 0.6", &s, NULL));
    ck_assert(!holds("dev_acc < 0.6", &s, &ev));
    ev.acc = 0.55;
    ck_assert(holds("dev_acc < 0.6", &s, &ev));
    /* non-finite steps */
    sm_step_record bad = rec(NAN, 1.0, 0.0);
    ck_assert(holds("nan", &bad, NULL));
    ck_assert(!holds("loss > 0", &bad, NULL));
    ck_assert(!holds("loss < 0", &bad, NULL));
    bad = rec(1.0, INFINITY, 0.0);
    ck_assert(holds("nan", &bad, NULL));
    bad = rec(1.0, 1.0, 0.0);
    bad.skipped = 1;
    ck_assert(holds("nan", &bad, NULL));
    char why[256];
    con_bp_expr x;
    int col;
    ck_assert_int_eq(con_bp_parse("loss > 2.5 or rs > 1", &x, why, sizeof why, &col), 0);
    con_bp_explain(&x, &s, NULL, why, sizeof why);
    ck_assert_str_eq(why, "loss = 2.7 > 2.5");
}
END_TEST

static void bp_error(const char *cond, int want_col, const char *want)
{
    con_bp_expr x;
    char err[256];
    int col = -1;
    ck_assert_msg(con_bp_parse(cond, &x, err, sizeof err, &col) == -1, "'%s' must fail", cond);
    ck_assert_msg(col == want_col, "'%s': column %d, want %d (%s)", cond, col, want_col, err);
    ck_assert_msg(strstr(err, want) != NULL, "'%s': '%s' lacks '%s'", cond, err, want);
}

START_TEST(test_bp_errors)
{
    bp_error("loss > x", 7, "expected a number but found 'x'");
    bp_error("los > 2", 0, "unknown field 'los'");
    bp_error("loss 2", 5, "expected a comparison");
    bp_error("loss = 2", 5, "expected a comparison");
    bp_error("loss > 2 loss > 3", 9, "unexpected 'loss'");
    bp_error("loss > 2 and", 12, "found the end");
    bp_error("(loss > 2", 9, "expected ')'");
    bp_error("", 0, "expected a condition");
    bp_error("loss > 2 & rs > 1", 9, "unexpected '&'");
    bp_error("loss > 2 or > 1", 12, "expected nan or a field name but found '>'");
    bp_error("grad_norm >= -", 13, "expected a number");
    bp_error("loss > 1e999", 7, "beyond the range of a double");
    bp_error("loss < -1e400", 7, "beyond the range of a double");
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "(");
    bp_error(deep, 33, "nested too deeply");
    char lng[2048] = "loss > 1";
    for (int i = 0; i < 70; i++)
        strcat(lng, " or loss > 1");
    /* 1 + 2k nodes after k "or"s: the 32nd "or" is the 65th node; the error points at the token
     * reached then, the 33rd "or" */
    bp_error(lng, (int)strlen("loss > 1") + 12 * 32 + 1, "too long");
}
END_TEST

START_TEST(test_bp_list)
{
    con_breaks b;
    con_breaks_init(&b);
    char err[256], why[512];
    int col;
    ck_assert_int_eq(con_breaks_add(&b, "loss > 2.5", err, sizeof err, &col), 1);
    ck_assert_int_eq(con_breaks_add(&b, "dev_acc < 0.6", err, sizeof err, &col), 2);
    ck_assert_int_eq(con_breaks_add(&b, "loss >", err, sizeof err, &col), -1);
    ck_assert_int_eq(con_breaks_add(&b, "nan", err, sizeof err, &col), 3);
    sm_step_record s = rec(3.0, 1.0, 0.0);
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    ev.acc = 0.5;
    ck_assert_int_eq(con_breaks_check(&b, 's', &s, &ev, why, sizeof why), 1);
    ck_assert_str_eq(why, "breakpoint 1 (loss > 2.5): loss = 3 > 2.5");
    ck_assert_int_eq(con_breaks_check(&b, 'e', &s, &ev, why, sizeof why), 2); /* eval fields after evals only */
    ck_assert_int_eq(b.bp[0].hits, 1);
    ck_assert_int_eq(con_breaks_delete(&b, 1), 0);
    ck_assert_int_eq(con_breaks_delete(&b, 1), -1);
    ck_assert_int_eq(con_breaks_check(&b, 's', &s, &ev, why, sizeof why), 0);
    s.loss = NAN;
    ck_assert_int_eq(con_breaks_check(&b, 's', &s, &ev, why, sizeof why), 3);
    ck_assert(strstr(why, "non-finite") != NULL);
    ck_assert_int_eq(con_breaks_add(&b, "rs > 1", err, sizeof err, &col), 4); /* ids are not reused */
    con_breaks_clear(&b);
    ck_assert_int_eq(con_breaks_check(&b, 's', &s, &ev, why, sizeof why), 0);
    for (int i = 0; i < CON_BP_MAX; i++)
        ck_assert_int_gt(con_breaks_add(&b, "loss > 1", err, sizeof err, &col), 0);
    ck_assert_int_eq(con_breaks_add(&b, "loss > 1", err, sizeof err, &col), -1);
    ck_assert(strstr(err, "too many breakpoints") != NULL);
    con_breaks_destroy(&b);
}
END_TEST

/* ---- settings ---- */

START_TEST(test_settings)
{
    con_settings s;
    con_settings_default(&s);
    char err[256], v[64];
    ck_assert_int_eq(s.on_error, CON_ON_ERROR_STOP);
    ck_assert_int_eq(s.ui_fps, 4);
    ck_assert_int_eq(con_setting_set(&s, "on_error", "continue", err, sizeof err), 0);
    ck_assert_int_eq(s.on_error, CON_ON_ERROR_CONTINUE);
    ck_assert_int_eq(con_setting_set(&s, "on_error", "retry", err, sizeof err), -1);
    ck_assert_str_eq(err, "on_error: 'retry' is not one of stop, continue");
    ck_assert_int_eq(con_setting_set(&s, "ui_fps", "10", err, sizeof err), 0);
    ck_assert_int_eq(s.ui_fps, 10);
    ck_assert_int_eq(con_setting_set(&s, "ui_fps", "0", err, sizeof err), -1);
    ck_assert_str_eq(err, "ui_fps: 0 is out of range [1, 60]");
    ck_assert_int_eq(con_setting_set(&s, "ui_fps", "2.5", err, sizeof err), -1);
    ck_assert_int_eq(con_setting_set(&s, "progress_every", "0.5", err, sizeof err), 0);
    ck_assert(s.progress_every == 0.5);
    ck_assert_int_eq(con_setting_set(&s, "echo", "on", err, sizeof err), 0);
    ck_assert_int_eq(s.echo, 1);
    ck_assert_int_eq(con_setting_set(&s, "colour", "on", err, sizeof err), -1);
    for (size_t i = 0; i < con_setting_count(); i++) {
        const con_setting_def *d = con_setting_at(i);
        ck_assert_ptr_eq(con_setting_lookup(d->name), d);
        con_setting_format(&s, d, v, sizeof v);
        con_settings t = s;
        ck_assert_int_eq(con_setting_set(&t, d->name, v, err, sizeof err), 0); /* format round-trips */
        ck_assert_int_eq(memcmp(&t, &s, sizeof s), 0);
    }
}
END_TEST

/* ---- the dispatcher ---- */

static con_ctx ctx;
static fake_session fake;

static void setup_ctx(void)
{
    clear_out();
    con_init(&ctx, capture, NULL);
    memset(&fake, 0, sizeof fake);
}

static void teardown_ctx(void) { con_free(&ctx); }

START_TEST(test_exec_local)
{
    ck_assert_int_eq(con_exec_line(&ctx, "set lambda_s 3"), 0);
    int id = sm_hparam_lookup("lambda_s");
    ck_assert(ctx.hp.v[id] == 3.0);
    ck_assert(strstr(out_buf, "lambda_s = 3") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "get lambda_s"), 0);
    ck_assert(strstr(out_buf, "lambda_s = 3") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "set lambda_s -1"), 1);
    ck_assert(strstr(err_buf, "set: ") == err_buf);
    ck_assert(strstr(err_buf, "lambda_s") != NULL);
    ck_assert(ctx.hp.v[id] == 3.0); /* unchanged */
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "set nosuch 1"), 1);
    ck_assert(strstr(err_buf, "argument 1 'nosuch': no such hyperparameter or setting") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "set on_error continue"), 0);
    ck_assert_int_eq(ctx.set.on_error, CON_ON_ERROR_CONTINUE);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "get on_error"), 0);
    ck_assert(strstr(out_buf, "on_error = continue") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "set on_error stop"), 0);

    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "break loss > x"), 1);
    ck_assert(strstr(err_buf, "break: expected a number but found 'x' at column 8") != NULL);
    ck_assert(strstr(err_buf, "  loss > x\n         ^") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "b grad_norm > 10"), 0);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "show breaks"), 0);
    ck_assert(strstr(out_buf, "1: grad_norm > 10") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "delete 2"), 1);
    ck_assert_int_eq(con_exec_line(&ctx, "delete 1"), 0);
    ck_assert_int_eq(ctx.breaks.n, 0);

    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "help"), 0);
    size_t n;
    const con_cmd *tab = con_commands(&n);
    for (size_t i = 0; i < n; i++) {
        /* each usage whole, beside a summary that is a whole line of its help, not a cut sentence */
        char want[512];
        snprintf(want, sizeof want, "  %s %s", tab[i].name, tab[i].args);
        ck_assert_msg(strstr(out_buf, want) != NULL, "help lists '%s' whole", want);
        const char *nl = strchr(tab[i].help, '\n');
        size_t hl = nl ? (size_t)(nl - tab[i].help) : strlen(tab[i].help);
        ck_assert_msg(hl > 0 && strchr(",;:", tab[i].help[hl - 1]) == NULL,
                      "the summary of %s ends a sentence: '%.*s'", tab[i].name, (int)hl, tab[i].help);
    }
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "help tr"), 0);
    ck_assert(strstr(out_buf, "usage: train [N [steps|epochs]]") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "help zzz"), 1);

    /* without a dashboard, show compare says how to reach the view (F11; there is no key v) */
    clear_out();
    con_exec_line(&ctx, "show compare");
    ck_assert_msg(strstr(out_buf, "then `show compare` or F11; here, the table") != NULL, "%s", out_buf);
    /* a long typed word is shown by its start and its length: the rest of the message is kept */
    {
        char line[1100] = "show ";
        memset(line + 5, 'x', 1000);
        line[1005] = '\0';
        clear_out();
        ck_assert_int_eq(con_exec_line(&ctx, line), 1);
        ck_assert_msg(strstr(err_buf, "x[... 1000 bytes in all]': expected params, model,") != NULL, "%s", err_buf);
        ck_assert_ptr_nonnull(strstr(err_buf, "explore or compare"));
        clear_out();
        ck_assert_int_eq(con_exec_line(&ctx, line + 5), 1);
        ck_assert_msg(strstr(err_buf, "x[... 1000 bytes in all]' (`help` lists the commands)") != NULL, "%s",
                      err_buf);
        memcpy(line, "train", 5);
        memset(line + 5, '9', 1000);
        line[5] = ' ';
        clear_out();
        ck_assert_int_eq(con_exec_line(&ctx, line), 1);
        ck_assert_msg(strstr(err_buf, "bytes in all]' is too long to be an integer; expected a positive integer") != NULL,
                      "%s", err_buf);
    }
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "train 3 hours"), 1);
    ck_assert(strstr(err_buf, "train: argument 2 'hours': expected steps or epochs") != NULL);
    ck_assert(strstr(err_buf, "  train 3 hours\n          ^") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "train 3 steps"), 1); /* no session */
    ck_assert(strstr(err_buf, "train: needs the training session") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "echo \"unterminated"), 1);
    ck_assert(strstr(err_buf, "unterminated") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "export metrics out.txt"), 1);
    ck_assert(strstr(err_buf, "must end in .csv") != NULL);
}
END_TEST

START_TEST(test_exec_sequence)
{
    /* stop at the first failure, unless on_error is continue */
    ck_assert_int_eq(con_exec_line(&ctx, "set mu 2; set mu x; set mu 4"), 1);
    int mu = sm_hparam_lookup("mu");
    ck_assert(ctx.hp.v[mu] == 2.0);
    ck_assert_int_eq(con_exec_line(&ctx, "set on_error continue; set mu x; set mu 4"), 1);
    ck_assert(ctx.hp.v[mu] == 4.0);
    ck_assert_int_eq(con_exec_line(&ctx, "  ;; # nothing"), 0);

    /* a script file: errors carry file:line */
    char path[] = "check_console_script.tmp";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("set mu 1\n# comment\nset mu 1e9\nset mu 3\n", f);
    fclose(f);
    ctx.set.on_error = CON_ON_ERROR_STOP;
    clear_out();
    ck_assert_int_eq(con_exec_file(&ctx, path), 1);
    ck_assert(strstr(err_buf, "check_console_script.tmp:3: set: ") == err_buf);
    ck_assert(ctx.hp.v[mu] == 1.0);
    ctx.set.on_error = CON_ON_ERROR_CONTINUE;
    ck_assert_int_eq(con_exec_file(&ctx, path), 1);
    ck_assert(ctx.hp.v[mu] == 3.0);
    ctx.set.on_error = CON_ON_ERROR_STOP;
    ck_assert_int_eq(con_exec_line(&ctx, "source check_console_script.tmp"), 1);
    /* a file that sources itself stops at the nesting limit */
    f = fopen(path, "w");
    fputs("source check_console_script.tmp\n", f);
    fclose(f);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "source check_console_script.tmp"), 1);
    ck_assert(strstr(err_buf, "nested too deeply") != NULL);
    unlink(path);
    ck_assert_int_eq(con_exec_line(&ctx, "source /nonexistent/file"), 1);
    ck_assert(strstr(err_buf, "cannot open '/nonexistent/file'") != NULL);
    /* a folder, a device that never ends a line, and a read error are failures, not empty scripts */
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "source ."), 1);
    ck_assert(strstr(err_buf, "'.' is a folder, not a file of commands") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "source /dev/zero"), 1);
    ck_assert(strstr(err_buf, "'/dev/zero' is a device") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "source /proc/self/mem"), 1);
    ck_assert(strstr(err_buf, "/proc/self/mem: cannot read line 1") != NULL);
}
END_TEST

START_TEST(test_exec_session)
{
    con_set_backend(&ctx, &fake_backend, &fake);
    ctx.set.train_wait = 0;
    ck_assert_int_eq(con_exec_line(&ctx, "train"), 1);
    ck_assert(strstr(err_buf, "train: no model loaded") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "load model /models/missing"), 1);
    ck_assert(strstr(err_buf, "load model: /models/missing: no such folder") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "load model m; load train t.tsv text=sentence label=label limit=20"), 0);
    ck_assert_int_eq(fake.has_train, 1);
    ck_assert_int_eq(fake.last_count, 20);
    /* a long option reaches the parser whole (a 300-byte copy cut a label list short) */
    {
        char line[1024];
        size_t w = (size_t)snprintf(line, sizeof line, "load dev d.tsv labels=");
        for (int i = 0; i < 40; i++)
            w += (size_t)snprintf(line + w, sizeof line - w, "%sclass%03d", i ? "," : "", i);
        ck_assert_int_eq(con_exec_line(&ctx, line), 0);
        ck_assert_int_eq(fake.last_labels, 40);
    }
    ck_assert_int_eq(con_exec_line(&ctx, "load dev d.tsv --limit 30 no-header"), 0);
    ck_assert_int_eq(fake.last_count, 30);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "load dev d.tsv colour=blue"), 1);
    ck_assert(strstr(err_buf, "load: '--colour=blue' is not a data option") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "load dev d.tsv limit=x"), 1);
    ck_assert(strstr(err_buf, "limit") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "train 2 epochs"), 0);
    ck_assert_int_eq(fake.last_count, 2);
    ck_assert_int_eq(fake.last_epochs, 1);
    ck_assert_int_eq(con_exec_line(&ctx, "train 2"), 1); /* already running */
    /* a live change while running says from which step */
    fake.step = 120;
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "set lambda_s 3"), 0);
    ck_assert(strstr(out_buf, "lambda_s = 3 (takes effect at step 121)") != NULL);
    ck_assert_int_eq(fake.last_id, sm_hparam_lookup("lambda_s"));
    ck_assert(fake.last_value == 3.0);
    /* a parameter fixed for the run is refused */
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "set batch_size 8"), 1);
    ck_assert(strstr(err_buf, "batch_size cannot change during a run") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "step"), 1); /* running: pause first */
    ck_assert_int_eq(con_exec_line(&ctx, "pause"), 0);
    ck_assert_int_eq(fake.state, CON_RUN_PAUSED);
    int64_t before = fake.step;
    ck_assert_int_eq(con_exec_line(&ctx, "step 3"), 0);
    ck_assert_int_eq(fake.step, before + 3);
    ck_assert_int_eq(con_exec_line(&ctx, "snapshot a; step; rewind a"), 0);
    ck_assert_int_eq(fake.step, before + 3);
    ck_assert_int_eq(con_exec_line(&ctx, "rewind b"), 1);
    ck_assert(strstr(err_buf, "no snapshot 'b'") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "resume discard"), 1); /* only at a breakpoint */
    fake.state = CON_RUN_BREAK;
    ck_assert_int_eq(con_exec_line(&ctx, "resume discard"), 0);
    ck_assert_int_eq(fake.last_apply, 0);
    fake.state = CON_RUN_BREAK;
    ck_assert_int_eq(con_exec_line(&ctx, "c"), 0);
    ck_assert_int_eq(fake.last_apply, 1);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "predict not bad at all || fine"), 0);
    ck_assert(strstr(out_buf, "a=[not bad at all] b=[fine]") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "predict a || b || c"), 1);
    ck_assert_int_eq(con_exec_line(&ctx, "predict || b"), 1);
    /* a long text reaches the model whole (it was cut at 2047 bytes, inside the UTF-8 character here) */
    static char longline[4200];
    memcpy(longline, "predict ", 8);
    memset(longline + 8, 'a', 2046);
    snprintf(longline + 8 + 2046, sizeof longline - 8 - 2046, "\xc3\xa9 and more words || b");
    ck_assert_int_eq(con_exec_line(&ctx, longline), 0);
    ck_assert_int_eq(fake.last_count, 2046 + 2 + 15);
    /* a condition too long for the breakpoint's text is refused, not cut short into another one */
    memcpy(longline, "break '", 7);
    size_t w = 7;
    for (int i = 0; i < 30; i++)
        w += (size_t)snprintf(longline + w, sizeof longline - w, "%sloss > 0.00000000000000000000000000001",
                              i ? " or " : "");
    snprintf(longline + w, sizeof longline - w, "'");
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, longline), 1);
    ck_assert(strstr(err_buf, "break: the condition is 1256 characters long, at most 1023") != NULL);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "eval"), 0);
    ck_assert(strstr(out_buf, "acc 0.5000") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "show journal"), 0);
    ck_assert(strstr(out_buf, "fake journal") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "theme light"), 1); /* no dashboard here */
    ck_assert_int_eq(con_exec_line(&ctx, "break rs > 1"), 0);
    ck_assert_str_eq(fake.last_op, "break"); /* journalled */
    ck_assert_int_eq(con_exec_line(&ctx, "delete all"), 0);
    ck_assert_str_eq(fake.last_op, "delete");

    /* quit: a person is asked about unsaved training, a script is not */
    ctx.interactive = 1;
    ck_assert_int_eq(con_exec_line(&ctx, "quit"), 0);
    ck_assert_int_eq(ctx.quit, 0);
    ck_assert_int_eq(ctx.confirm_quit, 1);
    ck_assert(strstr(con_prompt(&ctx), "[y/N]") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "n"), 0);
    ck_assert_int_eq(ctx.quit, 0);
    ck_assert_int_eq(con_exec_line(&ctx, "quit"), 0);
    ck_assert_int_eq(con_exec_line(&ctx, "yes"), 0);
    ck_assert_int_eq(ctx.quit, 1);
    ctx.quit = 0;
    ck_assert_int_eq(con_exec_line(&ctx, "save out; quit"), 0); /* saved: no question */
    ck_assert_int_eq(ctx.quit, 1);
    ctx.quit = 0;
    ctx.interactive = 0;
    /* replay starts a new session: never over unsaved training, unless forced */
    fake.unsaved = 5;
    fake.state = CON_RUN_IDLE;
    FILE *jf = fopen("j.jsonl", "w");
    ck_assert_ptr_nonnull(jf);
    fclose(jf);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "replay j.jsonl"), 1);
    ck_assert(strstr(err_buf, "replay: j.jsonl: replaying starts a new session, and 5 steps of training would be "
                              "lost: `save DIR` first, or `replay j.jsonl force`") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "replay j.jsonl now"), 1);
    ck_assert(strstr(err_buf, "argument 2 'now': expected force") != NULL);
    ck_assert_int_eq(con_exec_line(&ctx, "replay j.jsonl force"), 0);
    ck_assert_str_eq(fake.last_op, "path_op");
    unlink("j.jsonl");
    clear_out(); /* a missing file is named first */
    ck_assert_int_eq(con_exec_line(&ctx, "replay /nonexistent/j.jsonl"), 1);
    ck_assert(strstr(err_buf, "replay: /nonexistent/j.jsonl: cannot open: No such file or directory") != NULL);
    fake.unsaved = 5;
    ck_assert_int_eq(con_exec_line(&ctx, "quit"), 0);
    ck_assert_int_eq(ctx.quit, 1);
    ck_assert_int_eq(fake.unsaved, 5); /* a script's quit does not save */
}
END_TEST

START_TEST(test_wait)
{
    con_set_backend(&ctx, &fake_backend, &fake);
    ctx.set.train_wait = 1;
    ck_assert_int_eq(con_exec_line(&ctx, "new model layers=1; train"), 0);
    ck_assert_int_eq(fake.state, CON_RUN_DONE); /* train waited for the run to stop */
    ck_assert_int_eq(fake.step, 5);
    ctx.set.train_wait = 0;
    ck_assert_int_eq(con_exec_line(&ctx, "train; wait 7"), 0);
    ck_assert_int_eq(fake.step, 7);
    ck_assert_int_eq(fake.state, CON_RUN_RUNNING);
    volatile sig_atomic_t intr = 1;
    ctx.intr = &intr;
    ck_assert_int_eq(con_exec_line(&ctx, "wait"), 1); /* Ctrl-C pauses the run and fails the script */
    ck_assert(strstr(err_buf, "wait: interrupted (the run is paused)") != NULL);
    ck_assert_int_eq(fake.state, CON_RUN_PAUSED);
    ck_assert_int_eq(intr, 0);
    ck_assert_int_eq(con_exec_line(&ctx, "new model x"), 1);
    ck_assert(strstr(err_buf, "new: argument 2 'x'") != NULL);
}
END_TEST

/* Every command rejects a bad argument with a message that names the command and the argument. */
START_TEST(test_bad_arguments)
{
    static const struct { const char *line, *want; } cases[] = {
        {"help nosuch", "help: unknown command 'nosuch'"},
        {"load weights x", "load: argument 1 'weights': expected model, train or dev"},
        {"load model m extra", "load: argument 3 'extra': `load model PATH` takes no options"},
        {"load train t.tsv limit=-3", "load: "},
        {"new tokenizer", "new: argument 1 'tokenizer': expected model"},
        {"new model layers", "new: argument 2 'layers': model options are NAME=VALUE"},
        {"set lambda_s", "set: missing argument 2 (VALUE)"},
        {"set lambda_s abc", "set: "},
        {"set ui_fps 100", "set: ui_fps: 100 is out of range [1, 60]"},
        {"get nosuch", "get: argument 1 'nosuch': no such hyperparameter or setting"},
        {"show everything", "show: argument 1 'everything': expected params, model"},
        {"preset fancy", "preset: argument 1 'fancy'"},
        {"train many", "train: argument 1 (N): 'many' is not an integer"},
        {"train 5 minutes", "train: argument 2 'minutes': expected steps or epochs"},
        {"wait soon", "wait: argument 1 (N): 'soon' is not an integer"},
        {"pause now", "pause: takes no arguments, got 'now'"},
        {"resume maybe", "resume: argument 1 'maybe': expected apply, discard or a checkpoint folder"},
        {"step -2", "step: argument 1 (N): -2 is out of range"},
        {"eval dev", "eval: takes no arguments, got 'dev'"},
        {"stop now", "stop: takes no arguments, got 'now'"},
        {"break loss >", "break: expected a number but found the end at column 7"},
        {"delete first", "delete: argument 1: 'first' is not an integer"},
        {"delete 7", "delete: argument 1: there is no breakpoint 7"},
        {"snapshot", "snapshot: missing argument 1 (NAME)"},
        {"snapshot a b", "snapshot: unexpected argument 2 'b'"},
        {"rewind nosuch", "rewind: no snapshot 'nosuch'"},
        {"save", "save: missing argument 1 (DIR)"},
        {"branches now", "branches: takes no arguments, got 'now'"},
        {"checkout", "checkout: missing argument 1 (NAME)"},
        {"branch a b", "branch: unexpected argument 2 'b'"},
        {"explore lambda_s=1", "explore: `steps N` is required"},
        {"export metrics m.txt", "export: argument 2 'm.txt': the file name must end in .csv"},
        {"export weights m.csv", "export: argument 1 'weights': expected metrics"},
        {"replay", "replay: missing argument 1 (FILE)"},
        {"source /nonexistent/cmds", "cannot open '/nonexistent/cmds'"},
        {"predict || b", "predict: argument 1: '||' needs text on both sides"},
        {"theme", "theme: missing argument 1 (THEME)"},
        {"quit now", "quit: argument 1 'now': expected force"},
        {"echo \"open", "unterminated \" quote at column 6"},
    };
    con_set_backend(&ctx, &fake_backend, &fake);
    fake.state = CON_RUN_PAUSED;
    fake.has_model = 1;
    size_t n;
    const con_cmd *tab = con_commands(&n);
    int covered[64] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_out();
        ck_assert_msg(con_exec_line(&ctx, cases[i].line) == 1, "'%s' must fail", cases[i].line);
        ck_assert_msg(strstr(err_buf, cases[i].want) != NULL, "'%s': '%s' lacks '%s'", cases[i].line, err_buf,
                      cases[i].want);
        for (size_t k = 0; k < n; k++)
            if (!strncmp(cases[i].line, tab[k].name, strlen(tab[k].name)))
                covered[k] = 1;
    }
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(covered[k], "no bad-argument case for %s", tab[k].name);
}
END_TEST

static int count_lines(const char *buf, const char *needle)
{
    int n = 0;
    for (const char *p = buf; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Plain progress lines: timestamped, at most one per progress_every while running, and the last. */
START_TEST(test_progress_lines)
{
    con_set_backend(&ctx, &fake_backend, &fake);
    ctx.plain_progress = 1;
    ctx.set.train_wait = 1;
    ck_assert_int_eq(con_exec_line(&ctx, "set progress_every 3600; load model m; train"), 0);
    ck_assert_int_eq(fake.step, 5);
    ck_assert_msg(count_lines(out_buf, "Z step ") == 2, "%s", out_buf); /* the first step seen and the last */
    ck_assert(strstr(out_buf, "Z step 5 epoch 1 loss 0.5000") != NULL);
    const char *p = strstr(out_buf, "Z step ");
    ck_assert(p && p - out_buf >= 19);
    p -= 19; /* YYYY-MM-DDTHH:MM:SS */
    ck_assert(p[4] == '-' && p[7] == '-' && p[10] == 'T' && p[13] == ':' && p[16] == ':');
    ck_assert(!strchr(out_buf, '\r'));
    clear_out();
    ctx.set.progress_every = 0.05;
    ck_assert_int_eq(con_exec_line(&ctx, "train"), 0);
    ck_assert_int_eq(fake.step, 10);
    ck_assert_int_le(count_lines(out_buf, "Z step "), 5); /* never more than one per step */
    ck_assert_int_ge(count_lines(out_buf, "Z step "), 1);
}
END_TEST

/* ---- completion ---- */

static char comp[4096];

static void comp_add(void *ud, const char *w)
{
    (void)ud;
    strcat(comp, w);
    strcat(comp, " ");
}

static int complete(const char *line)
{
    comp[0] = '\0';
    return con_complete(&ctx, line, comp_add, NULL);
}

START_TEST(test_complete)
{
    ck_assert_int_eq(complete("sn"), 0);
    ck_assert_str_eq(comp, "snapshot ");
    complete("st");
    ck_assert_str_eq(comp, "step stop ");
    complete("show j");
    ck_assert_str_eq(comp, "journal ");
    complete("set lambda");
    ck_assert_str_eq(comp, "lambda_s ");
    complete("set on_");
    ck_assert_str_eq(comp, "on_error ");
    complete("set on_error ");
    ck_assert_str_eq(comp, "stop continue ");
    complete("set optimizer ");
    ck_assert(strstr(comp, "adamw ") && strstr(comp, "adamax "));
    complete("pause; preset pa");
    ck_assert_str_eq(comp, "paper ");
    complete("break loss > 1 and grad_");
    ck_assert_str_eq(comp, "grad_norm ");
    complete("help res");
    ck_assert_str_eq(comp, "resume ");
    complete("train 3 ");
    ck_assert_str_eq(comp, "steps epochs ");
    ck_assert_int_eq(complete("load model ./mo"), 1);
    ck_assert_int_eq(complete("load "), 0);
    ck_assert_str_eq(comp, "model train dev ");
    ck_assert_int_eq(complete("source "), 1);
    complete("pause ");
    ck_assert_str_eq(comp, "");
    complete("\"unterminated");
    ck_assert_str_eq(comp, "");
}
END_TEST

/* rewind completes the snapshots the backend has, checkout its branches */
START_TEST(test_complete_state_names)
{
    con_set_backend(&ctx, &fake_backend, &fake);
    ctx.set.train_wait = 0;
    complete("rewind ");
    ck_assert_str_eq(comp, "");
    ck_assert_int_eq(con_exec_line(&ctx, "snapshot a; snapshot ab; snapshot b"), 0);
    complete("rewind a");
    ck_assert_str_eq(comp, "a ab ");
    complete("rewind ");
    ck_assert_str_eq(comp, "a ab b ");
    complete("checkout a");
    ck_assert_str_eq(comp, "a.1 ab.1 ");
    complete("checkout m");
    ck_assert_str_eq(comp, "main ");
    complete("snapshot a"); /* a new name: nothing to offer */
    ck_assert_str_eq(comp, "");
}
END_TEST

START_TEST(test_state_path)
{
    char buf[256];
    setenv("XDG_STATE_HOME", "/xdg/state", 1);
    ck_assert_str_eq(con_state_path(buf, sizeof buf, "history", 0), "/xdg/state/smartty/history");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/u", 1);
    ck_assert_str_eq(con_state_path(buf, sizeof buf, "history", 0), "/home/u/.local/state/smartty/history");
    ck_assert_ptr_null(con_state_path(buf, 10, "history", 0));
}
END_TEST

/* ---- typed events: the queue, de-duplication by kind, the one rendering, the host hook ---- */

static sm_session_event make_event(sm_event_kind kind, int64_t step, const char *msg)
{
    sm_session_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.step = step;
    ev.msg = msg;
    return ev;
}

START_TEST(test_event_copy_owns)
{
    char name[16] = "lr", old[16] = "0.001", now[16] = "0.0005";
    sm_session_event ev = make_event(SM_EVENT_CHANGE, 7, NULL), copy;
    ev.name = name;
    ev.old_value = old;
    ev.new_value = now;
    sm_error e;
    ck_assert_int_eq(sm_session_event_copy(&copy, &ev, &e), SM_OK);
    memset(name, 'x', sizeof name - 1); /* the copy keeps its own strings */
    ck_assert_str_eq(copy.name, "lr");
    ck_assert_str_eq(copy.old_value, "0.001");
    ck_assert_str_eq(copy.new_value, "0.0005");
    ck_assert_ptr_null(copy.msg);
    ck_assert_int_eq(copy.step, 7);
    sm_session_event_free(&copy);
    ck_assert_ptr_null(copy.name);
    ck_assert_str_eq(sm_event_kind_name(SM_EVENT_REWIND), "rewind");
}
END_TEST

START_TEST(test_event_queue_dedup)
{
    static con_evq q;
    con_evq_init(&q);
    sm_session_event a = make_event(SM_EVENT_EVAL, 10, NULL), b = make_event(SM_EVENT_CHECKPOINT, 10, "/tmp/ck");
    sm_session_event w = make_event(SM_EVENT_WARN, 10, "skipped");
    /* de-duplication goes by kind and step: the text of the events plays no part */
    ck_assert_int_eq(con_evq_push(&q, &a), 0);
    ck_assert_int_eq(con_evq_push(&q, &b), 0);
    ck_assert_int_eq(con_evq_push(&q, &w), 0);
    ck_assert_int_eq(con_evq_drop_last(&q, SM_EVENT_EVAL, 11), 0); /* another step */
    ck_assert_int_eq(con_evq_drop_last(&q, SM_EVENT_EVAL, 10), 1); /* not the newest, still found */
    ck_assert_int_eq(con_evq_drop_last(&q, SM_EVENT_EVAL, 10), 0);
    sm_session_event out;
    ck_assert_int_eq(con_evq_pop(&q, &out), 1);
    ck_assert_int_eq(out.kind, SM_EVENT_CHECKPOINT); /* the order of the rest is kept */
    ck_assert_str_eq(out.msg, "/tmp/ck");
    sm_session_event_free(&out);
    ck_assert_int_eq(con_evq_pop(&q, &out), 1);
    ck_assert_int_eq(out.kind, SM_EVENT_WARN);
    sm_session_event_free(&out);
    ck_assert_int_eq(con_evq_pop(&q, &out), 0);
    /* a full queue drops its oldest */
    for (int i = 0; i < CON_EVQ_CAP + 3; i++) {
        sm_session_event ev = make_event(SM_EVENT_WARN, i, "w");
        con_evq_push(&q, &ev);
    }
    ck_assert_int_eq(q.n, CON_EVQ_CAP);
    ck_assert_uint_eq(q.dropped, 3);
    ck_assert_int_eq(con_evq_pop(&q, &out), 1);
    ck_assert_int_eq(out.step, 3);
    sm_session_event_free(&out);
    con_evq_clear(&q);
    ck_assert_int_eq(q.n, 0);
}
END_TEST

START_TEST(test_event_text)
{
    char buf[512];
    sm_session_event ev = make_event(SM_EVENT_CHECKPOINT, 5, "/tmp/run");
    ck_assert_uint_gt(con_event_text(&ev, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "checkpoint written to /tmp/run");
    ev = make_event(SM_EVENT_BREAK, 5, "breakpoint 1: loss > 2 (loss = 2.5)");
    ev.has_rec = 1;
    ev.rec.step = 6;
    con_event_text(&ev, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "paused before the update of step 6"));
    ev = make_event(SM_EVENT_EVAL, 40, NULL);
    ev.has_eval = 1;
    sm_eval_record_init(&ev.eval);
    ev.eval.step = 40;
    ev.eval.n = 8;
    ev.eval.acc = 0.75;
    con_event_text(&ev, buf, sizeof buf);
    ck_assert_str_eq(buf, "dev at step 40 (8 examples): acc 0.7500");
    /* what a command's own reply says is not said again by its event */
    sm_session_event quiet[] = {make_event(SM_EVENT_CHANGE, 3, NULL), make_event(SM_EVENT_SNAPSHOT, 3, NULL),
                                make_event(SM_EVENT_REWIND, 3, NULL), make_event(SM_EVENT_STEP, 3, NULL),
                                make_event(SM_EVENT_STATE, 3, "running")};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        ck_assert_uint_eq(con_event_text(&quiet[i], buf, sizeof buf), 0);
    ev = make_event(SM_EVENT_NOTICE, -1, "unused weights");
    ev.level = SM_LOG_WARN;
    con_event_text(&ev, buf, sizeof buf);
    ck_assert_str_eq(buf, "warning: unused weights");
}
END_TEST

static int hook_events, hook_kind;
static void hook_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    hook_events++;
    hook_kind = ev->kind;
}

static int last_out_kind = -1;
static void capture_kind(void *ud, con_out_kind kind, const char *text)
{
    last_out_kind = (int)kind;
    capture(ud, kind, text);
}

START_TEST(test_event_routing)
{
    {   /* a change's reply is typed as one (the dashboard colours it so, without reading it) */
        con_ctx k;
        con_init(&k, capture_kind, NULL);
        ck_assert_int_eq(con_exec_line(&k, "set lambda_s 3"), 0);
        ck_assert_int_eq(last_out_kind, CON_OUT_CHANGE);
        ck_assert_int_eq(con_exec_line(&k, "preset paper"), 0);
        ck_assert_int_eq(last_out_kind, CON_OUT_CHANGE);
        ck_assert_int_eq(con_exec_line(&k, "help set"), 0);
        ck_assert_int_eq(last_out_kind, CON_OUT_RESULT);
        con_free(&k);
    }
    con_ctx c;
    clear_out();
    con_init(&c, capture, NULL);
    sm_session_event ev = make_event(SM_EVENT_CHECKPOINT, 5, "/tmp/run");
    con_session_event(&c, &ev); /* no display: the console prints the event's text */
    ck_assert_str_eq(out_buf, "checkpoint written to /tmp/run\n");
    static const con_host host = {.event = hook_event};
    con_set_host(&c, &host, NULL);
    clear_out();
    ev = make_event(SM_EVENT_SNAPSHOT, 5, NULL);
    con_session_event(&c, &ev); /* a display receives the typed event itself */
    ck_assert_int_eq(hook_events, 1);
    ck_assert_int_eq(hook_kind, SM_EVENT_SNAPSHOT);
    ck_assert_str_eq(out_buf, "");
    con_free(&c);
}
END_TEST

START_TEST(test_new_model_options)
{
    char vocab[] = "/tmp/smartty-vocab-XXXXXX";
    int fd = mkstemp(vocab);
    ck_assert_int_ge(fd, 0);
    close(fd);
    static con_new_model a; /* large: not on the stack */
    sm_error e;
    char w0[] = "seed=7", w1[] = "hidden=64", w3[] = "labels=neg,pos,mixed", v[600];
    char *argv[] = {w0, w1, v, w3};
    snprintf(v, sizeof v, "vocab=%s", vocab);
    ck_assert_msg(con_new_model_parse(&a, 4, argv, &e) == SM_OK, "%s", e.msg);
    /* every value is journalled, so the journal does not depend on today's defaults */
    ck_assert_int_eq(a.argc, 9);
    ck_assert_str_eq(a.argv[0], "layers=2");
    ck_assert_str_eq(a.argv[1], "hidden=64");
    ck_assert_str_eq(a.argv[4], "num_labels=3");
    ck_assert_str_eq(a.argv[6], "seed=7");
    ck_assert_str_eq(a.argv[8], "labels=neg,pos,mixed");
    ck_assert_int_eq(a.o.num_labels, 3);
    ck_assert_str_eq(a.o.labels[2], "mixed");
    ck_assert_uint_eq(a.o.seed, 7);
    /* read back, the canonical options give the same options */
    static con_new_model b;
    char *canon[9];
    for (int k = 0; k < a.argc; k++)
        canon[k] = a.canon[k];
    ck_assert_msg(con_new_model_parse(&b, a.argc, canon, &e) == SM_OK, "%s", e.msg);
    for (int k = 0; k < a.argc; k++)
        ck_assert_str_eq(a.argv[k], b.argv[k]);
    char b0[] = "hidden=30", b1[] = "heads=4", b2[] = "layers=x", b3[] = "depth=3";
    char *bad1[] = {b0, b1, v}, *bad2[] = {b2, v}, *bad3[] = {b3, v};
    ck_assert_int_ne(con_new_model_parse(&a, 3, bad1, &e), SM_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "multiple of heads"));
    ck_assert_int_ne(con_new_model_parse(&a, 2, bad2, &e), SM_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "'layers=x'"));
    ck_assert_int_ne(con_new_model_parse(&a, 2, bad3, &e), SM_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "'depth=3'"));
    ck_assert_int_ne(con_new_model_parse(&a, 1, argv, &e), SM_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "vocab=FILE is needed"));
    unlink(vocab);
}
END_TEST

/* Nothing typed is cut short (issue 13): a 10 000-byte echo comes back whole (the output path cut at
 * 8 KiB), an error caret past column 600 stands under the bad word (the padding stopped at 510), and
 * a condition longer than show breaks keeps is refused with a message, not stored cut. */
START_TEST(test_long_lines_whole)
{
    static char line[12000];
    strcpy(line, "echo ");
    memset(line + 5, 'w', 10000);
    line[10005] = '\0';
    ck_assert_int_eq(con_exec_line(&ctx, line), 0);
    ck_assert_uint_eq(strlen(out_buf), 10001); /* the words and the newline */
    clear_out();
    char cmd[800];
    int n = snprintf(cmd, sizeof cmd, "pause%*s", 600, "");
    snprintf(cmd + n, sizeof cmd - (size_t)n, "extra");
    ck_assert_int_eq(con_exec_line(&ctx, cmd), 1);
    const char *caret = strrchr(err_buf, '^');
    ck_assert_ptr_nonnull(caret);
    const char *bol = caret;
    while (bol > err_buf && bol[-1] != '\n')
        bol--;
    ck_assert_int_eq((int)(caret - bol) - 2, n); /* under the e of extra */
    clear_out();
    char longcond[400];
    n = snprintf(longcond, sizeof longcond, "break loss > 1");
    while (n < 300)
        n += snprintf(longcond + n, sizeof longcond - (size_t)n, " or loss > 1.000000000000000000000000000000000000");
    ck_assert_int_eq(con_exec_line(&ctx, longcond), 1);
    ck_assert_msg(strstr(err_buf, "bytes long: at most 255 are kept") != NULL, "%s", err_buf);
    clear_out();
    ck_assert_int_eq(con_exec_line(&ctx, "show breaks"), 0);
    ck_assert_ptr_null(strstr(out_buf, "loss > 1 or"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("console");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_tokenize_words);
    tcase_add_test(tc, test_tokenize_errors);
    tcase_add_test(tc, test_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("table");
    tcase_add_test(tc, test_table_wellformed);
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_spec_parse);
    tcase_add_test(tc, test_args_check);
    suite_add_tcase(s, tc);
    tc = tcase_create("breakpoints");
    tcase_add_test(tc, test_bp_eval);
    tcase_add_test(tc, test_bp_errors);
    tcase_add_test(tc, test_bp_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("settings");
    tcase_add_test(tc, test_settings);
    suite_add_tcase(s, tc);
    tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup_ctx, teardown_ctx);
    tcase_add_test(tc, test_exec_local);
    tcase_add_test(tc, test_exec_sequence);
    tcase_add_test(tc, test_exec_session);
    tcase_add_test(tc, test_wait);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_progress_lines);
    tcase_add_test(tc, test_complete);
    tcase_add_test(tc, test_complete_state_names);
    tcase_add_test(tc, test_state_path);
    tcase_add_test(tc, test_long_lines_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("events");
    tcase_add_test(tc, test_event_copy_owns);
    tcase_add_test(tc, test_event_queue_dedup);
    tcase_add_test(tc, test_event_text);
    tcase_add_test(tc, test_event_routing);
    tcase_add_test(tc, test_new_model_options);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
