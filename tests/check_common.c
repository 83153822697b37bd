/* check_common.c: tests of the shared basics: error reports, the RNG (determinism, range, moments,
 * serialisable state) and atomic file writes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartty/common.h"
#include "smartty/record.h"
#include "smartty/str.h"
#include "testutil.h"

START_TEST(test_err_prefix)
{
    sm_error e;
    ck_assert_int_eq(sm_err(&e, SM_ERR_IO, "x.csv:%d:%d: bad", 3, 4), SM_ERR_IO);
    sm_err_prefix(&e, "loading %s", "train");
    ck_assert_str_eq(e.msg, "loading train: x.csv:3:4: bad");
    ck_assert_int_eq(e.status, SM_ERR_IO);
    ck_assert_str_eq(sm_status_to_string(SM_ERR_FORMAT), "malformed input");
}
END_TEST

START_TEST(test_rng_determinism)
{
    sm_rng a, b;
    sm_rng_seed(&a, 42);
    sm_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sm_rng_u64(&a), sm_rng_u64(&b));
    (void)sm_rng_normal(&a);
    sm_rng c = a; /* the state is plain data: a copy continues identically */
    ck_assert(sm_rng_normal(&a) == sm_rng_normal(&c));
    sm_rng_seed(&b, 43);
    ck_assert_uint_ne(sm_rng_u64(&a), sm_rng_u64(&b));
}
END_TEST

START_TEST(test_rng_moments)
{
    sm_rng r;
    sm_rng_seed(&r, 7);
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = sm_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    ck_assert(fabs(s / n) < 0.01);
    ck_assert(fabs(s2 / n - 1.0) < 0.02);
    for (int i = 0; i < 10000; i++) {
        double u = sm_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        ck_assert_uint_lt(sm_rng_below(&r, 7), 7);
    }
    uint32_t idx[50];
    for (uint32_t i = 0; i < 50; i++)
        idx[i] = i;
    sm_rng_shuffle(&r, idx, 50);
    int seen[50] = {0};
    for (int i = 0; i < 50; i++)
        seen[idx[i]]++;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(test_atomic_write)
{
    char path[] = "check_common_atomic.tmp";
    sm_error e;
    ck_assert_int_eq(sm_write_file_atomic(path, "hello", 5, &e), SM_OK);
    char *d;
    size_t n;
    ck_assert_int_eq(sm_read_file(path, &d, &n, 0, &e), SM_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(d, "hello");
    free(d);
    ck_assert_int_eq(sm_read_file(path, &d, &n, 3, &e), SM_ERR_FORMAT);
    unlink(path);
    ck_assert_int_eq(sm_read_file("/nonexistent/x", &d, &n, 0, &e), SM_ERR_IO);
    ck_assert(strstr(e.msg, "/nonexistent/x") != NULL);
    /* a FIFO is refused before it is opened (opening it waited for a writer for ever: `replay FIFO`) */
    char fifo[] = "check_common_fifo.tmp";
    unlink(fifo);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(sm_read_file(fifo, &d, &n, 0, &e), SM_ERR_IO);
    ck_assert(strstr(e.msg, "check_common_fifo.tmp: not a regular file") != NULL);
    unlink(fifo);
}
END_TEST

START_TEST(test_record_fields)
{
    sm_step_record s = {0};
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    s.step = 17;
    s.rs = 0.25;
    s.grad_norm = 3.5;
    ev.acc = 0.8;
    ck_assert(sm_field_value(sm_field_lookup("step"), &s, &ev) == 17.0);
    ck_assert(sm_field_value(sm_field_lookup("rs"), &s, &ev) == 0.25);
    ck_assert(sm_field_value(sm_field_lookup("grad_norm"), &s, &ev) == 3.5);
    ck_assert(sm_field_value(sm_field_lookup("dev_acc"), &s, &ev) == 0.8);
    ck_assert(isnan(sm_field_value(sm_field_lookup("dev_f1"), &s, &ev)));
    ck_assert(isnan(sm_field_value(sm_field_lookup("dev_acc"), &s, NULL)));
    ck_assert_int_eq(sm_field_lookup("no_such_field"), -1);
    for (size_t i = 0; i < sm_field_count(); i++)
        ck_assert_int_eq(sm_field_lookup(sm_field_at(i)->name), (int)i);
}
END_TEST

/* sm_str grows to any length, formats with vsnprintf twice, resets and hands its text over. */
START_TEST(test_str)
{
    sm_str s = SM_STR_INIT;
    ck_assert_str_eq(sm_str_cstr(&s), "");
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(sm_str_appendf(&s, "%s%d", i ? "," : "", i), SM_OK);
    ck_assert_uint_eq(s.len, strlen(s.p));
    ck_assert_uint_eq(s.len, 10 + 90 * 2 + 900 * 3 + 999);
    ck_assert(!strncmp(s.p, "0,1,2,", 6));
    ck_assert_str_eq(s.p + s.len - 8, ",998,999");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sm_str_reset(&s);
    ck_assert_str_eq(sm_str_cstr(&s), "");
    ck_assert_int_eq(sm_str_append(&s, big), SM_OK);
    ck_assert_int_eq(sm_str_appendn(&s, "yz", 1), SM_OK);
    ck_assert_uint_eq(s.len, 5000);
    ck_assert_int_eq(s.p[4999], 'y');
    ck_assert_int_eq(sm_str_status(&s, NULL, "text"), SM_OK);
    char *t = sm_str_take(&s);
    ck_assert_uint_eq(strlen(t), 5000);
    ck_assert_ptr_null(s.p);
    free(t);
    sm_str_free(&s);
    sm_str_free(&s); /* twice is harmless */
}
END_TEST

static size_t logged_len;
static void log_len(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    logged_len = strlen(msg);
}

/* A notice reaches the log hook whole, however long (it was cut at 2 KiB). */
START_TEST(test_log_whole)
{
    static char big[10001];
    memset(big, 'n', sizeof big - 1);
    sm_log_set(log_len, NULL);
    sm_log(SM_LOG_NOTICE, "%s!", big);
    sm_log_set(NULL, NULL);
    ck_assert_uint_eq(logged_len, 10001);
}
END_TEST

/* An error message too long for sm_error ends in a visible mark instead of being cut silently. */
START_TEST(test_err_cut_marked)
{
    char path[3000];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    sm_error e;
    sm_err(&e, SM_ERR_IO, "%s: cannot open", path);
    ck_assert_uint_eq(strlen(e.msg), sizeof e.msg - 1);
    ck_assert_str_eq(e.msg + strlen(e.msg) - 6, " [...]");
    sm_err(&e, SM_ERR_IO, "short");
    sm_err_prefix(&e, "%s", path);
    ck_assert_str_eq(e.msg + strlen(e.msg) - 6, " [...]");
    sm_err(&e, SM_ERR_IO, "%.*s", (int)sizeof e.msg - 1, path); /* exactly full: no mark */
    ck_assert_int_eq(e.msg[sizeof e.msg - 2], 'p');
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_err_prefix);
    tcase_add_test(tc, test_rng_determinism);
    tcase_add_test(tc, test_rng_moments);
    tcase_add_test(tc, test_atomic_write);
    tcase_add_test(tc, test_record_fields);
    tcase_add_test(tc, test_str);
    tcase_add_test(tc, test_err_cut_marked);
    tcase_add_test(tc, test_log_whole);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
