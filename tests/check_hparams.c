/* check_hparams.c: the hyperparameter table: defaults (the paper preset with transformers' optimizer
 * defaults), lookup by name and mt-dnn alias, parsing with type/range/choice errors, formatting, presets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/hparams.h"
#include "testutil.h"

START_TEST(test_table_complete)
{
    ck_assert_uint_eq(sm_hparam_count(), SM_HP_COUNT);
    for (int i = 0; i < SM_HP_COUNT; i++) {
        const sm_hparam_def *d = sm_hparam_def_at(i);
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(d->name);
        ck_assert_ptr_nonnull(d->help);
        ck_assert(strlen(d->help) > 5);
        ck_assert_ptr_nonnull(d->unit);
        ck_assert_ptr_nonnull(d->aliases);
        ck_assert_int_eq(sm_hparam_lookup(d->name), i);
        if (d->type == SM_HP_ENUM) {
            ck_assert_ptr_nonnull(d->choices);
            ck_assert_ptr_nonnull(sm_hparam_choice(i, d->def));
        } else {
            ck_assert(d->min <= d->def && d->def <= d->max);
        }
        /* the default's canonical text parses back to the default */
        char buf[64];
        double v;
        sm_hparam_format(i, d->def, buf, sizeof buf);
        ck_assert_int_eq(sm_hparam_parse(i, buf, &v, NULL), SM_OK);
        ck_assert(v == d->def);
    }
    ck_assert_ptr_null(sm_hparam_def_at(SM_HP_COUNT));
    ck_assert_ptr_null(sm_hparam_def_at(-1));
}
END_TEST

START_TEST(test_defaults)
{
    sm_hparams h;
    sm_hparams_default(&h);
    ck_assert(h.v[SM_HP_LAMBDA_S] == 1.0 && h.v[SM_HP_MU] == 1.0);
    ck_assert(h.v[SM_HP_BETA] == 0.99 && h.v[SM_HP_BETA_LATE] == 0.999 && h.v[SM_HP_BETA_SWITCH] == 0.1);
    ck_assert(h.v[SM_HP_EPS] == 1e-5 && h.v[SM_HP_SIGMA] == 1e-5 && h.v[SM_HP_ETA] == 1e-3);
    ck_assert(h.v[SM_HP_ADV_STEPS] == 1.0);
    ck_assert_str_eq(sm_hparam_choice(SM_HP_ADV_NORM, h.v[SM_HP_ADV_NORM]), "example");
    ck_assert_str_eq(sm_hparam_choice(SM_HP_OPTIMIZER, h.v[SM_HP_OPTIMIZER]), "adamw");
    ck_assert_str_eq(sm_hparam_choice(SM_HP_SCHEDULE, h.v[SM_HP_SCHEDULE]), "linear");
    ck_assert(h.v[SM_HP_LR] == 2e-5 && h.v[SM_HP_BATCH_SIZE] == 32 && h.v[SM_HP_EPOCHS] == 3);
    ck_assert(h.v[SM_HP_MAX_LEN] == 128 && h.v[SM_HP_WARMUP] == 0.1 && h.v[SM_HP_WEIGHT_DECAY] == 0.01);
    ck_assert(h.v[SM_HP_CLIP] == 1.0 && h.v[SM_HP_SEED] == 42 && h.v[SM_HP_ADAM_EPS] == 1e-8);
    ck_assert(h.v[SM_HP_ADAM_BETA1] == 0.9 && h.v[SM_HP_ADAM_BETA2] == 0.999 && h.v[SM_HP_DROPOUT] == 0.1);
}
END_TEST

START_TEST(test_aliases)
{
    ck_assert_int_eq(sm_hparam_lookup("adv_alpha"), SM_HP_LAMBDA_S);
    ck_assert_int_eq(sm_hparam_lookup("adv_epsilon"), SM_HP_EPS);
    ck_assert_int_eq(sm_hparam_lookup("adv_step_size"), SM_HP_ETA);
    ck_assert_int_eq(sm_hparam_lookup("adv_noise_var"), SM_HP_SIGMA);
    ck_assert_int_eq(sm_hparam_lookup("adv_k"), SM_HP_ADV_STEPS);
    ck_assert_int_eq(sm_hparam_lookup("adv"), -1);
    ck_assert_int_eq(sm_hparam_lookup("adv_alph"), -1);
    ck_assert_int_eq(sm_hparam_lookup(""), -1);
    sm_hparams h;
    sm_hparams_default(&h);
    ck_assert_int_eq(sm_hparams_set(&h, "adv_alpha=3", NULL, NULL), SM_OK);
    ck_assert(h.v[SM_HP_LAMBDA_S] == 3.0);
    ck_assert_int_eq(sm_hparams_set(&h, " adv_k = 2 ", NULL, NULL), SM_OK);
    ck_assert(h.v[SM_HP_ADV_STEPS] == 2.0);
    ck_assert_int_eq(sm_hparams_set(&h, "eta", "5e-4", NULL), SM_OK);
    ck_assert(h.v[SM_HP_ETA] == 5e-4);
}
END_TEST

START_TEST(test_parse_errors)
{
    sm_error e;
    double v = -7;
    ck_assert_int_eq(sm_hparam_parse(SM_HP_LR, "abc", &v, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "lr") && strstr(e.msg, "abc") && strstr(e.msg, "allowed"));
    ck_assert_int_eq(sm_hparam_parse(SM_HP_BETA, "1.5", &v, &e), SM_ERR_RANGE);
    ck_assert(strstr(e.msg, "beta") && strstr(e.msg, "0 to 1"));
    ck_assert_int_eq(sm_hparam_parse(SM_HP_LR, "nan", &v, &e), SM_ERR_RANGE);
    ck_assert_int_eq(sm_hparam_parse(SM_HP_LR, "1e-4x", &v, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_hparam_parse(SM_HP_LR, "", &v, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_hparam_parse(SM_HP_BATCH_SIZE, "3.5", &v, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "batch_size") && strstr(e.msg, "integer"));
    ck_assert_int_eq(sm_hparam_parse(SM_HP_BATCH_SIZE, "0", &v, &e), SM_ERR_RANGE);
    ck_assert(strstr(e.msg, "1 to 4096"));
    ck_assert(v == -7); /* untouched on error */
    ck_assert_int_eq(sm_hparam_parse(SM_HP_BATCH_SIZE, "1e2", &v, &e), SM_OK);
    ck_assert(v == 100);
    ck_assert_int_eq(sm_hparam_parse(SM_HP_ADV_NORM, "ball", &v, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "adv_norm") && strstr(e.msg, "example, token, l2"));
    ck_assert_int_eq(sm_hparam_parse(SM_HP_ADV_NORM, "L2", &v, &e), SM_OK);
    ck_assert(v == 2);
    sm_hparams h;
    sm_hparams_default(&h);
    ck_assert_int_eq(sm_hparams_set(&h, "lambda", "1", &e), SM_ERR_NOTFOUND);
    ck_assert(strstr(e.msg, "lambda"));
    ck_assert_int_eq(sm_hparams_set(&h, "mu=-1", NULL, &e), SM_ERR_RANGE);
    ck_assert(h.v[SM_HP_MU] == 1.0);
    ck_assert_int_eq(sm_hparams_set(&h, "mu", NULL, &e), SM_ERR_INVALID);
}
END_TEST

START_TEST(test_format)
{
    char buf[64];
    sm_hparam_format(SM_HP_LR, 2e-5, buf, sizeof buf);
    ck_assert_str_eq(buf, "2e-05");
    sm_hparam_format(SM_HP_LR, 0.1, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.1");
    sm_hparam_format(SM_HP_BATCH_SIZE, 32, buf, sizeof buf);
    ck_assert_str_eq(buf, "32");
    sm_hparam_format(SM_HP_ADV_NORM, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "token");
    double odd = 1.0 / 3.0, back;
    sm_hparam_format(SM_HP_LR, odd, buf, sizeof buf);
    ck_assert_int_eq(sm_hparam_parse(SM_HP_LR, buf, &back, NULL), SM_OK);
    ck_assert(back == odd);
    ck_assert_ptr_null(sm_hparam_choice(SM_HP_ADV_NORM, 3));
    ck_assert_ptr_null(sm_hparam_choice(SM_HP_LR, 0));
}
END_TEST

START_TEST(test_presets)
{
    sm_hparams h;
    sm_error e;
    sm_hparams_default(&h);
    h.v[SM_HP_LR] = 1e-4;
    ck_assert_int_eq(sm_hparams_preset(&h, "vanilla", &e), SM_OK);
    ck_assert(h.v[SM_HP_LAMBDA_S] == 0 && h.v[SM_HP_MU] == 0 && h.v[SM_HP_LR] == 1e-4);
    ck_assert_int_eq(sm_hparams_preset(&h, "paper", &e), SM_OK);
    ck_assert(h.v[SM_HP_LAMBDA_S] == 1 && h.v[SM_HP_MU] == 1 && h.v[SM_HP_ETA] == 1e-3);
    ck_assert(h.v[SM_HP_LR] == 1e-4);
    ck_assert_int_eq(sm_hparams_preset(&h, "mtdnn", &e), SM_OK);
    ck_assert_str_eq(sm_hparam_choice(SM_HP_ADV_NORM, h.v[SM_HP_ADV_NORM]), "token");
    ck_assert(h.v[SM_HP_MU] == 0 && h.v[SM_HP_ETA] == 1e-5 && h.v[SM_HP_LAMBDA_S] == 1);
    ck_assert_str_eq(sm_hparam_choice(SM_HP_OPTIMIZER, h.v[SM_HP_OPTIMIZER]), "adamw"); /* SMART knobs only */
    ck_assert_int_eq(sm_hparams_preset(&h, "r3f", &e), SM_OK);
    ck_assert(h.v[SM_HP_ADV_STEPS] == 0 && h.v[SM_HP_LAMBDA_S] == 1);
    ck_assert_str_eq(sm_hparam_choice(SM_HP_ADV_NORM, h.v[SM_HP_ADV_NORM]), "example");
    ck_assert_int_eq(sm_hparams_preset(&h, "smart", &e), SM_ERR_NOTFOUND);
    ck_assert(strstr(e.msg, "smart") && strstr(e.msg, "vanilla"));
    const char *const *p = sm_hparam_presets();
    int n = 0;
    while (p[n])
        ck_assert_int_eq(sm_hparams_preset(&h, p[n++], NULL), SM_OK);
    ck_assert_int_eq(n, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hparams");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_table_complete);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_presets);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
