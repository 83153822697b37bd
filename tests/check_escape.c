/* check_escape.c: sm_text_escape, the one escaping of outside text: every byte 0..255 alone, C1 and
 * bidirectional controls, invalid and cut-short UTF-8, valid UTF-8 passing, idempotence, the
 * snprintf-like length and whole escapes on truncation, and error messages escaped as made. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/common.h"
#include "smartty/escape.h"

static int has_raw_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

START_TEST(test_every_byte)
{
    for (int b = 1; b < 256; b++) {
        char in[2] = {(char)b, 0}, out[32];
        size_t n = sm_text_escape(out, sizeof out, in, 0);
        ck_assert_uint_eq(n, strlen(out));
        if (b >= 0x20 && b < 0x7f) {
            ck_assert_str_eq(out, in);
            continue;
        }
        ck_assert_msg(!has_raw_control(out) && out[0] == '\\', "byte %d -> '%s'", b, out);
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            ck_assert_msg(*p < 0x80, "byte %d passed a high byte", b);
    }
    char out[64];
    sm_text_escape(out, sizeof out, "\x1b]0;title\x07", 0);
    ck_assert_str_eq(out, "\\x1b]0;title\\x07");
    sm_text_escape(out, sizeof out, "a\tb\nc\rd", 0);
    ck_assert_str_eq(out, "a\\tb\\nc\\rd");
    sm_text_escape(out, sizeof out, "a\tb\nc\rd", SM_ESC_KEEP_NL);
    ck_assert_str_eq(out, "a\tb\nc\\rd");
    /* a NUL inside a counted text */
    sm_text_escape_n(out, sizeof out, "a\0b", 3, 0);
    ck_assert_str_eq(out, "a\\x00b");
}
END_TEST

START_TEST(test_unicode)
{
    char out[128];
    sm_text_escape(out, sizeof out, "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80", 0); /* café — 😀 */
    ck_assert_str_eq(out, "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80");
    sm_text_escape(out, sizeof out, "\xc2\x9b" "2J \xc2\x85 \xe2\x80\xae \xe2\x81\xa6", 0); /* CSI, NEL, RLO, LRI */
    ck_assert_str_eq(out, "\\u{009b}2J \\u{0085} \\u{202e} \\u{2066}");
    sm_text_escape(out, sizeof out, "\xff \xc0\xaf \xed\xa0\x80 \xe2\x82", 0); /* invalid, overlong, surrogate, cut */
    ck_assert_str_eq(out, "\\xff \\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82");
}
END_TEST

START_TEST(test_idempotent_and_truncation)
{
    const char *in = "x\x1b[2J\xc2\x9b\\y\xff";
    char once[64], twice[64];
    sm_text_escape(once, sizeof once, in, 0);
    sm_text_escape(twice, sizeof twice, once, 0);
    ck_assert_str_eq(once, twice);
    char small[6];
    size_t need = sm_text_escape(small, sizeof small, "ab\x1b" "cd", 0);
    ck_assert_uint_eq(need, 8);
    ck_assert_str_eq(small, "ab"); /* never half an escape */
    ck_assert_uint_eq(sm_text_escape(NULL, 0, "\x01", 0), 4);
    char *d = sm_text_escape_dup("\x1b", 0);
    ck_assert_str_eq(d, "\\x1b");
    free(d);
}
END_TEST

START_TEST(test_error_messages_escaped)
{
    sm_error e;
    sm_err(&e, SM_ERR_IO, "%s: cannot open", "evil\x1b]0;pwned\x07\xc2\x9b" "2J");
    ck_assert_str_eq(e.msg, "evil\\x1b]0;pwned\\x07\\u{009b}2J: cannot open");
    sm_err_prefix(&e, "loading %s", "\x1b[31m");
    ck_assert(!has_raw_control(e.msg));
    ck_assert_msg(strstr(e.msg, "loading \\x1b[31m: evil"), "%s", e.msg);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("escape");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_byte);
    tcase_add_test(tc, test_unicode);
    tcase_add_test(tc, test_idempotent_and_truncation);
    tcase_add_test(tc, test_error_messages_escaped);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
