/* check_console_fuzz.c: thousands of random command lines (command names, aliases, keywords,
 * hyperparameter and field names, numbers, operators, quotes, separators and garbage bytes) through
 * the dispatcher with a pretend session in random states. Each must return 0 or 1, leave the
 * console's state within bounds and never crash (run it under ASan/UBSan). Deterministic seed. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "console_fake.h"
#include "smartty/common.h"
#include "testutil.h"

static size_t out_bytes, lines_out;

static void sink(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    ck_assert((unsigned)kind <= CON_OUT_CHANGE);
    out_bytes += strlen(text);
    lines_out++;
}

static const char *const vocab[] = {
    "load", "model", "train", "dev", "new", "set", "get", "show", "params", "data", "journal",
    "breaks", "settings", "status", "fields", "preset", "paper", "vanilla", "r3f", "mtdnn", "steps",
    "epochs", "pause", "resume", "apply", "discard", "step", "s", "c", "b", "eval", "stop", "break",
    "delete", "all", "snapshot", "rewind", "save", "export", "metrics", "x.csv", "replay", "source",
    "predict", "||", "quit", "force", "help", "?", "wait", "echo", "theme", "lambda_s", "mu", "eps",
    "lr", "batch_size", "optimizer", "adamw", "adv_norm", "token", "on_error", "continue", "ui_fps",
    "progress_every", "echo", "train_wait", "on", "off", "loss", "grad_norm", "rs", "dev_acc", "nan",
    "and", "or", "not", "<", "<=", ">", ">=", "==", "!=", "(", ")", "&&", "!", "0", "1", "3", "-1",
    "2.5", "1e308", "-1e-308", "1e999", "99999999999999999999", "0x10", "inf", "NaN", ";", "#",
    "\"", "'", "\\", "a=b", "=", "text=sentence", "", "st", "sn", "re", "x", NULL,
};

static size_t vocab_n(void)
{
    size_t n = 0;
    while (vocab[n])
        n++;
    return n;
}

static void random_line(sm_rng *r, char *buf, size_t cap)
{
    size_t n = 0, words = 1 + sm_rng_below(r, 8), nv = vocab_n();
    buf[0] = '\0';
    for (size_t w = 0; w < words && n + 40 < cap; w++) {
        if (w)
            buf[n++] = sm_rng_below(r, 10) ? ' ' : sm_rng_below(r, 2) ? ';' : '\t';
        uint64_t k = sm_rng_below(r, 10);
        if (k < 7) {
            const char *v = vocab[sm_rng_below(r, nv)];
            size_t len = strlen(v);
            memcpy(buf + n, v, len);
            n += len;
        } else if (k < 9) {
            size_t len = 1 + sm_rng_below(r, 8);
            for (size_t i = 0; i < len; i++)
                buf[n++] = (char)(1 + sm_rng_below(r, 255)); /* any byte but NUL */
        } else {
            n += (size_t)snprintf(buf + n, cap - n, "%.17g", (sm_rng_uniform(r) - 0.5) * 1e6);
        }
        buf[n] = '\0';
    }
}

START_TEST(test_fuzz_lines)
{
    sm_rng r;
    sm_rng_seed(&r, 20201125);
    con_ctx c;
    fake_session f;
    fake_console(&c, &f, sink);
    char line[512];
    int failed = 0;
    for (int i = 0; i < 20000; i++) {
        random_line(&r, line, sizeof line);
        /* the pretend session wanders through its states */
        f.state = (con_run_state)sm_rng_below(&r, CON_RUN_DONE + 1);
        f.has_model = (int)sm_rng_below(&r, 2);
        c.interactive = (int)sm_rng_below(&r, 2);
        int rc = con_exec_line(&c, line);
        ck_assert_msg(rc == 0 || rc == 1, "line %d returned %d", i, rc);
        failed += rc;
        c.quit = 0;
        c.confirm_quit = 0;
        c.depth = 0;
        ck_assert_int_le(c.breaks.n, CON_BP_MAX);
        ck_assert_int_ge(c.set.ui_fps, 1);
        ck_assert_int_le(c.set.ui_fps, 60);
        for (int id = 0; id < SM_HP_COUNT; id++) {
            const sm_hparam_def *d = sm_hparam_def_at(id);
            if (d->type != SM_HP_ENUM)
                ck_assert_msg(c.hp.v[id] >= d->min && c.hp.v[id] <= d->max, "%s in range after '%s'",
                              d->name, line);
        }
        if (sm_rng_below(&r, 64) == 0)
            con_breaks_clear(&c.breaks);
    }
    /* the mix is meaningful: many lines fail, and some succeed */
    ck_assert_int_gt(failed, 2000);
    ck_assert_int_lt(failed, 20000);
    ck_assert_uint_gt(lines_out, 20000);
    con_free(&c);
}
END_TEST

/* Random mutations of valid commands: one byte changed, cut short, or duplicated. */
START_TEST(test_fuzz_mutations)
{
    static const char *const good[] = {
        "break loss > 2.5 or (grad_norm >= 10 and not nan)", "set lambda_s 3", "train 10 steps",
        "load train \"data set.tsv\" text=sentence label=label", "predict 'not bad' || \"good\"",
        "export metrics m.csv", "show params; get mu; help break", "delete all", "step 3",
        "set on_error continue", "preset paper",
    };
    sm_rng r;
    sm_rng_seed(&r, 7);
    con_ctx c;
    fake_session f;
    fake_console(&c, &f, sink);
    char line[256];
    for (int i = 0; i < 10000; i++) {
        const char *g = good[sm_rng_below(&r, sizeof good / sizeof good[0])];
        size_t len = strlen(g);
        memcpy(line, g, len + 1);
        size_t at = sm_rng_below(&r, len);
        switch (sm_rng_below(&r, 3)) {
        case 0: line[at] = (char)(1 + sm_rng_below(&r, 255)); break;
        case 1: line[at] = '\0'; break;
        default:
            memmove(line + at + 1, line + at, len - at + 1);
            break;
        }
        f.state = (con_run_state)sm_rng_below(&r, CON_RUN_DONE + 1);
        f.has_model = 1;
        int rc = con_exec_line(&c, line);
        ck_assert(rc == 0 || rc == 1);
        c.quit = 0;
        c.confirm_quit = 0;
        if (c.breaks.n == CON_BP_MAX)
            con_breaks_clear(&c.breaks);
    }
    con_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("console_fuzz");
    TCase *tc = tcase_create("fuzz");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fuzz_lines);
    tcase_add_test(tc, test_fuzz_mutations);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
