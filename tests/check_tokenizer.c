/* check_tokenizer.c: the WordPiece tokenizer against Hugging Face's own output (every row of the
 * GLUE dev-set fixtures, the hf-bert reference texts) and one test per rule on a small hand-made
 * vocabulary whose expected pieces follow from BERT's rules, not from this code's output. */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "smartty/tokenizer.h"
#define TU_SPLIT /* tests/check_tokenizer_shared runs the tests that need the shared data */
#include "testutil.h"

/* ---- a small vocabulary for the rules ---- */

static const char *const small_vocab[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",                          /* 0-4 */
    "!", ",", ".", "-", "'", "(", ")", "$", "[", "]", "\xc2\xbf",           /* 5-15: ¿ */
    "\xe2\x80\x94",                                                         /* 16: em dash */
    "a", "b", "c", "e", "i", "##a", "##b", "##c", "##e",                    /* 17-25 */
    "cafe", "deja", "caf", "##e\xcc\x81", "Caf", "##\xc3\xa9", "D",         /* 26-32 */
    "##\xc3\xa9j", "##\xc3\xa0", "istanbul", "##stanbul", "##\xcc\x87",     /* 33-37 */
    "\xe4\xb8\xad", "abcde", "hello", "world", "##s", "\xc3\xa9", "sep",    /* 38-44: 中, é */
    "un", "##aff", "##able", "##ffable",                                    /* 45-48 */
    "\xe1\x84\x92", "##\xe1\x85\xa1", "##\xe1\x86\xab",                      /* 49-51: Hangul jamo */
    "##\xf0\x9d\x85\xa5\xf0\x9d\x85\xad",                                    /* 52: U+1D165 U+1D16D */
    "x",                                                                    /* 53 */
};
#define N_SMALL (sizeof small_vocab / sizeof small_vocab[0])

static char *small_vocab_text(const char *eol, int final_eol)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < N_SMALL; i++) {
        n += (size_t)snprintf(s + n, cap - n, "%s%s", small_vocab[i], (i + 1 < N_SMALL || final_eol) ? eol : "");
        ck_assert_uint_lt(n, cap);
    }
    return s;
}

static sm_tokenizer *small_tokenizer(int lower)
{
    char *text = small_vocab_text("\n", 1);
    sm_tokenizer *t;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load_vocab_text(text, strlen(text), "small", lower, &t, &e) == SM_OK, "%s", e.msg);
    free(text);
    return t;
}

/* The tokens of encode(text) joined by spaces. */
static char *pieces(const sm_tokenizer *t, const char *text, size_t len)
{
    sm_ids ids = {0};
    sm_error e;
    ck_assert_msg(sm_tokenizer_encode(t, text, len, &ids, &e) == SM_OK, "%s", e.msg);
    size_t cap = 64 + ids.n * 16, n = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    s[0] = '\0';
    for (size_t i = 0; i < ids.n; i++) {
        const char *tok = sm_tokenizer_token(t, ids.v[i]);
        ck_assert_ptr_nonnull(tok);
        n += (size_t)snprintf(s + n, cap - n, "%s%s", i ? " " : "", tok);
        ck_assert_uint_lt(n, cap);
    }
    sm_ids_free(&ids);
    return s;
}

#define ck_pieces(t, text, want)                                                                   \
    do {                                                                                           \
        char *got_ = pieces((t), (text), strlen(text));                                            \
        ck_assert_msg(!strcmp(got_, (want)), "encode(\"%s\"): got \"%s\", want \"%s\"", (text), got_, \
                      (want));                                                                     \
        free(got_);                                                                                \
    } while (0)

START_TEST(test_accents)
{
    sm_tokenizer *u = small_tokenizer(-1), *c = small_tokenizer(0);
    ck_assert_int_eq(sm_tokenizer_lower_case(u), 1);
    ck_assert_int_eq(sm_tokenizer_strip_accents(u), 1);
    ck_assert_int_eq(sm_tokenizer_strip_accents(c), 0);
    ck_pieces(u, "Caf\xc3\xa9 D\xc3\xa9j\xc3\xa0", "cafe deja");       /* precomposed */
    ck_pieces(u, "Cafe\xcc\x81 DE\xcc\x81JA\xcc\x80", "cafe deja");    /* already decomposed */
    ck_pieces(c, "Caf\xc3\xa9 D\xc3\xa9j\xc3\xa0", "Caf ##\xc3\xa9 D ##\xc3\xa9j ##\xc3\xa0");
    ck_pieces(c, "Cafe\xcc\x81", "Caf ##e\xcc\x81");                   /* cased keeps the mark */
    ck_pieces(c, "cafe\xcc\x81", "[UNK]"); /* greedy: "cafe" matches, then "##\xcc\x81" fails */
    ck_pieces(u, "\xc4\xb0stanbul", "istanbul");                       /* U+0130: NFD, strip, lower */
    /* NFD splits Hangul syllables into jamo (letters, kept) when stripping accents only */
    ck_pieces(u, "\xed\x95\x9c", "\xe1\x84\x92 ##\xe1\x85\xa1 ##\xe1\x86\xab");
    ck_pieces(c, "\xed\x95\x9c", "[UNK]");
    /* NFD puts combining marks in canonical order: U+1D16D (class 226) after U+1D165 (216); both
     * are spacing marks (Mc), so stripping keeps them */
    ck_pieces(u, "x\xf0\x9d\x85\xad\xf0\x9d\x85\xa5", "x ##\xf0\x9d\x85\xa5\xf0\x9d\x85\xad");
    ck_pieces(c, "x\xf0\x9d\x85\xad\xf0\x9d\x85\xa5", "[UNK]");
    sm_tokenizer_free(u);
    sm_tokenizer_free(c);
}
END_TEST

START_TEST(test_cjk)
{
    sm_tokenizer *t = small_tokenizer(-1);
    ck_assert_int_eq(sm_tokenizer_id(t, "\xe4\xb8\xad"), 38);
    /* 中 and 文 become words of their own; 文 is not in the vocabulary */
    ck_pieces(t, "ab\xe4\xb8\xad\xe6\x96\x87" "cafe", "a ##b \xe4\xb8\xad [UNK] cafe");
    /* Hiragana is not split: one unknown word */
    ck_pieces(t, "\xe3\x81\xb2\xe3\x82\x89\xe3\x81\x8c", "[UNK]");
    /* U+2B820-U+2B91F lie outside the ranges of Hugging Face's tokenizers: not split */
    ck_pieces(t, "\xf0\xab\xa0\xa0\xf0\xab\xa0\xa0", "[UNK]");
    /* a compatibility ideograph (U+F9D4) is split, then NFD maps it to 倫 (not in the vocabulary) */
    ck_pieces(t, "a\xef\xa7\x94" "b", "a [UNK] b");
    sm_tokenizer_free(t);
}
END_TEST

START_TEST(test_control_and_whitespace)
{
    sm_tokenizer *t = small_tokenizer(-1);
    /* NUL, BEL, U+FFFD, zero-width space (Cf), soft hyphen (Cf), private use (Co) vanish */
    static const char s1[] = "a\0b\x07" "c\xef\xbf\xbd" "d\xe2\x80\x8b" "e";
    char *got = pieces(t, s1, sizeof s1 - 1);
    ck_assert_str_eq(got, "abcde");
    free(got);
    ck_pieces(t, "ab\xc2\xad" "cd\xee\x80\x80" "e", "abcde");
    /* \t \n \r, NBSP, ideographic space, line separator split words; \v \f are removed */
    ck_pieces(t, "a\tb\nc\re", "a b c e");
    ck_pieces(t, "a\xc2\xa0" "b\xe3\x80\x80" "c\xe2\x80\xa8" "e", "a b c e");
    ck_pieces(t, "ab\x0b" "c\x0c" "de", "abcde");
    sm_tokenizer_free(t);
}
END_TEST

START_TEST(test_punctuation)
{
    sm_tokenizer *t = small_tokenizer(-1);
    ck_pieces(t, "hello,world!", "hello , world !");
    ck_pieces(t, "(a)-$b'", "( a ) - $ b '");            /* ASCII symbols count as punctuation */
    ck_pieces(t, "\xc2\xbf" "a\xe2\x80\x94" "b", "\xc2\xbf a \xe2\x80\x94 b"); /* ¿ (Po), — (Pd) */
    ck_pieces(t, "a\xe2\x82\xac", "[UNK]");               /* € is Sc, not punctuation: one word */
    ck_pieces(t, "..", ". .");
    sm_tokenizer_free(t);
}
END_TEST

START_TEST(test_wordpiece)
{
    sm_tokenizer *t = small_tokenizer(-1);
    ck_pieces(t, "unaffable", "un ##aff ##able");         /* longest match first */
    ck_pieces(t, "hellos", "hello ##s");
    ck_pieces(t, "helloz", "[UNK]");                      /* one unmatched piece: the whole word */
    ck_pieces(t, "HELLO world", "hello world");
    sm_tokenizer_free(t);
}
END_TEST

START_TEST(test_long_words)
{
    sm_tokenizer *u = small_tokenizer(-1), *c = small_tokenizer(0);
    char buf[512], want[1024];
    memset(buf, 'a', 100);
    buf[100] = '\0';
    size_t n = (size_t)snprintf(want, sizeof want, "a");
    for (int i = 1; i < 100; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, " ##a");
    ck_pieces(u, buf, want);                              /* 100 characters: still pieces */
    strcat(buf, "a x");
    ck_pieces(u, buf, "[UNK] x");                         /* 101: [UNK] */
    /* characters, not bytes: 100 × é (200 bytes) is pieces when cased, 101 is [UNK] */
    n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\xc3\xa9");
    n = (size_t)snprintf(want, sizeof want, "\xc3\xa9");
    for (int i = 1; i < 100; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, " ##\xc3\xa9");
    ck_pieces(c, buf, want);
    strcat(buf, "\xc3\xa9");
    ck_pieces(c, buf, "[UNK]");
    /* the limit counts characters after normalisation: 60 × "e" + U+0301 is 60 when stripped */
    n = 0;
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "e\xcc\x81");
    char *got = pieces(u, buf, n);
    ck_assert_uint_eq(strlen(got), strlen("e") + 59 * strlen(" ##e"));
    free(got);
    got = pieces(c, buf, n); /* cased: 120 characters */
    ck_assert_str_eq(got, "[UNK]");
    free(got);
    sm_tokenizer_free(u);
    sm_tokenizer_free(c);
}
END_TEST

START_TEST(test_empty_and_specials)
{
    sm_tokenizer *t = small_tokenizer(-1);
    sm_ids ids = {0}, types = {0};
    sm_error e;
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, "", NULL, 0, &ids, &types, &e), SM_OK);
    ck_assert_uint_eq(ids.n, 2);
    ck_assert_int_eq(ids.v[0], sm_tokenizer_cls_id(t));
    ck_assert_int_eq(ids.v[1], sm_tokenizer_sep_id(t));
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, " \t\r\n", "", 0, &ids, &types, &e), SM_OK);
    ck_assert_uint_eq(ids.n, 3);
    ck_assert_int_eq(types.v[0] + types.v[1] + types.v[2], 1);
    ck_assert_int_eq(types.v[2], 1);
    /* special tokens written in the text are those tokens (case-sensitive, before cleaning) */
    ck_pieces(t, "a[SEP]b [MASK]x", "a [SEP] b [MASK] x");
    ck_pieces(t, "[sep]", "[ sep ]");
    ck_pieces(t, "[SE\x07P]", "[ sep ]");
    ck_assert_int_eq(sm_tokenizer_pad_id(t), 0);
    ck_assert_int_eq(sm_tokenizer_unk_id(t), 1);
    ck_assert_int_eq(sm_tokenizer_mask_id(t), 4);
    ck_assert_ptr_null(sm_tokenizer_token(t, (int32_t)N_SMALL));
    ck_assert_ptr_null(sm_tokenizer_token(t, -1));
    ck_assert_int_eq(sm_tokenizer_id(t, "nope"), -1);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_tokenizer_free(t);
}
END_TEST

/* A text of n words "a" (n tokens). */
static char *words(int n)
{
    char *s = malloc((size_t)n * 2 + 1);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < n; i++) {
        s[2 * i] = 'a';
        s[2 * i + 1] = ' ';
    }
    s[n ? 2 * n - 1 : 0] = '\0';
    return s;
}

START_TEST(test_truncation)
{
    /* Lengths (without special tokens) from Hugging Face tokenizers' own test of longest_first at
     * max_length 7: (n1, n2) -> (k1, k2). */
    static const int cases[][4] = {
        {0, 0, 0, 0}, {0, 2, 0, 2}, {0, 8, 0, 7}, {2, 2, 2, 2}, {2, 4, 2, 4}, {2, 8, 2, 5},
        {4, 0, 4, 0}, {4, 4, 3, 4}, {4, 8, 3, 4}, {8, 0, 7, 0}, {8, 2, 5, 2}, {8, 4, 4, 3},
        {8, 8, 3, 4},
    };
    sm_tokenizer *t = small_tokenizer(-1);
    sm_ids ids = {0}, types = {0}, pa = {0}, pb = {0}, f = {0};
    sm_error e;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *a = words(cases[c][0]), *b = words(cases[c][1]);
        ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, b, 7 + 3, &ids, &types, &e), SM_OK);
        int ka = 0, kb = 0;
        for (size_t i = 0; i < ids.n; i++)
            if (ids.v[i] == 17)
                types.v[i] ? kb++ : ka++;
        ck_assert_msg(ka == cases[c][2] && kb == cases[c][3], "(%d, %d) -> (%d, %d), want (%d, %d)",
                      cases[c][0], cases[c][1], ka, kb, cases[c][2], cases[c][3]);
        ck_assert_uint_eq(ids.n, (size_t)(ka + kb + 3));
        ck_assert_int_eq(ids.v[ka + 1], 3);
        ck_assert_int_eq(types.v[ka + 1], 0);
        ck_assert_int_eq(ids.v[ids.n - 1], 3);
        ck_assert_int_eq(types.v[ids.n - 1], 1);
        /* framing pre-encoded pieces gives the same */
        pa.n = pb.n = 0;
        ck_assert_int_eq(sm_tokenizer_encode(t, a, strlen(a), &pa, &e), SM_OK);
        ck_assert_int_eq(sm_tokenizer_encode(t, b, strlen(b), &pb, &e), SM_OK);
        ck_assert_int_eq(sm_tokenizer_frame(t, &pa, &pb, 10, &f, NULL, &e), SM_OK);
        ck_assert_uint_eq(f.n, ids.n);
        ck_assert_mem_eq(f.v, ids.v, ids.n * sizeof *ids.v);
        free(a);
        free(b);
    }
    char *a = words(5);
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, NULL, 4, &ids, &types, &e), SM_OK);
    ck_assert_uint_eq(ids.n, 4); /* [CLS] a a [SEP] */
    ck_assert_int_eq(ids.v[3], 3);
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, NULL, 2, &ids, &types, &e), SM_OK);
    ck_assert_uint_eq(ids.n, 2);
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, "b", 2, &ids, &types, &e), SM_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "at least 3"));
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, NULL, 1, &ids, &types, &e), SM_ERR_RANGE);
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, a, NULL, -1, &ids, &types, &e), SM_ERR_RANGE);
    free(a);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_ids_free(&pa);
    sm_ids_free(&pb);
    sm_ids_free(&f);
    sm_tokenizer_free(t);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    static const struct {
        const char *s;
        size_t offset;
    } bad[] = {
        {"ab\xff" "cd", 2},        /* never valid */
        {"\xc0\xaf", 0},           /* overlong '/' */
        {"xy\xed\xa0\x80", 2},     /* a UTF-16 surrogate */
        {"abc\xe4\xb8", 3},        /* truncated at the end */
        {"\xf4\x90\x80\x80", 0},   /* above U+10FFFF */
        {"ok \xe4" "a", 3},        /* a lead byte without its continuation */
        {"[SEP]\x80", 5},          /* after a special token */
    };
    sm_tokenizer *t = small_tokenizer(-1);
    sm_ids ids = {0}, types = {0};
    sm_error e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(sm_ids_push(&ids, 42, &e), SM_OK);
        size_t before = ids.n;
        ck_assert_int_eq(sm_tokenizer_encode(t, bad[i].s, strlen(bad[i].s), &ids, &e), SM_ERR_FORMAT);
        char want[64];
        snprintf(want, sizeof want, "byte offset %zu ", bad[i].offset);
        ck_assert_msg(strstr(e.msg, want), "case %zu: %s", i, e.msg);
        ck_assert_uint_eq(ids.n, before); /* left as it was */
    }
    ck_assert_int_eq(sm_tokenizer_encode_pair(t, "a", "b\xff", 0, &ids, &types, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "second text"));
    ck_assert_ptr_nonnull(strstr(e.msg, "byte offset 1 "));
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_tokenizer_free(t);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    sm_error e;
    ck_assert_msg(sm_write_file_atomic(path, text, strlen(text), &e) == SM_OK, "%s", e.msg);
}

START_TEST(test_vocab_files)
{
    sm_tokenizer *t;
    sm_error e;
    /* CRLF, CR and a missing final newline give the same ids */
    const char *eols[] = {"\r\n", "\r", "\n"};
    for (int k = 0; k < 3; k++) {
        for (int fin = 0; fin < 2; fin++) {
            char *text = small_vocab_text(eols[k], fin);
            ck_assert_int_eq(sm_tokenizer_load_vocab_text(text, strlen(text), "v", -1, &t, &e), SM_OK);
            ck_assert_uint_eq(sm_tokenizer_vocab_size(t), N_SMALL);
            ck_assert_int_eq(sm_tokenizer_id(t, "x"), (int32_t)N_SMALL - 1);
            ck_assert_str_eq(sm_tokenizer_token(t, 38), "\xe4\xb8\xad");
            ck_assert_int_eq(sm_tokenizer_cls_id(t), 2);
            sm_tokenizer_free(t);
            free(text);
        }
    }
    /* a token listed twice maps to its later line, as a Python dict built line by line does */
    const char dup[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\nab\n";
    ck_assert_int_eq(sm_tokenizer_load_vocab_text(dup, strlen(dup), "v", -1, &t, &e), SM_OK);
    ck_assert_int_eq(sm_tokenizer_id(t, "ab"), 5);
    ck_assert_str_eq(sm_tokenizer_token(t, 4), "ab");
    ck_assert_int_eq(sm_tokenizer_mask_id(t), -1);
    sm_tokenizer_free(t);
    /* errors */
    ck_assert_int_eq(sm_tokenizer_load_vocab_text("", 0, "v.txt", -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
    const char nounk[] = "[PAD]\n[CLS]\n[SEP]\n";
    ck_assert_int_eq(sm_tokenizer_load_vocab_text(nounk, strlen(nounk), "v.txt", -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "[UNK]"));
    const char badutf[] = "[PAD]\n[UNK]\nx\xff\n";
    ck_assert_int_eq(sm_tokenizer_load_vocab_text(badutf, strlen(badutf), "v.txt", -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.txt:3:2"));
    ck_assert_int_eq(sm_tokenizer_load("/nonexistent/vocab.txt", -1, &t, &e), SM_ERR_NOTFOUND);
    ck_assert_ptr_null(t);

    /* a model folder: tokenizer.json when there is no vocab.txt; tokenizer_config.json settings */
    char dir[] = "check_tokenizer.XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_NOTFOUND);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                     "\"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 5, "
                     "\"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"i\": 4, "
                     "\"##\xcc\x87\": 5, \"a\": 6, \"##a\": 7, \"A\": 8}}}");
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    write_file(path, "{\"do_lower_case\": true, \"strip_accents\": false}");
    ck_assert_msg(sm_tokenizer_load(dir, -1, &t, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 1);
    ck_assert_int_eq(sm_tokenizer_strip_accents(t), 0);
    ck_assert_uint_eq(sm_tokenizer_vocab_size(t), 9);
    ck_pieces(t, "\xc4\xb0", "i ##\xcc\x87");     /* full lower-casing of U+0130, no stripping */
    ck_pieces(t, "AAAAA AAAAAA", "a ##a ##a ##a ##a [UNK]"); /* max_input_chars_per_word 5 */
    sm_tokenizer_free(t);
    ck_assert_int_eq(sm_tokenizer_load(dir, 0, &t, &e), SM_OK); /* the argument wins */
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 0);
    ck_pieces(t, "A", "A");
    sm_tokenizer_free(t);
    write_file(path, "{\"do_lower_case\": false}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_OK);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 0);
    ck_assert_int_eq(sm_tokenizer_strip_accents(t), 0);
    sm_tokenizer_free(t);
    write_file(path, "{\"tokenize_chinese_chars\": false}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_OK);
    ck_pieces(t, "a\xe4\xb8\xad" "a", "[UNK]"); /* one word: 中 is not split off */
    sm_tokenizer_free(t);
    write_file(path, "{}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_OK);
    ck_pieces(t, "a\xe4\xb8\xad" "a", "a [UNK] a");
    sm_tokenizer_free(t);
    write_file(path, "{\"do_lower_case\": \"yes\"}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "do_lower_case"));
    write_file(path, "{\"do_lower_case\": tru");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "tokenizer_config.json:1:"));
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(e.msg, "WordPiece"));
    /* a BPE that is not byte-level (no ByteLevel pre-tokenizer) is refused by its component's name */
    write_file(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(e.msg, "pre_tokenizer \"null\""));
    write_file(path, "{\"model\": {\"vocab\": {\"[PAD]\": 0, \"[UNK]\": 0}}}");
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "id 0"));
    unlink(path);
    /* without tokenizer_config.json, tokenizer.json's BertNormalizer settings count */
    write_file(path, "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": false, "
                     "\"strip_accents\": true, \"handle_chinese_chars\": false}, \"model\": {\"vocab\": "
                     "{\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"A\": 4, \"##a\": 5}}}");
    ck_assert_msg(sm_tokenizer_load(dir, -1, &t, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 0);
    ck_assert_int_eq(sm_tokenizer_strip_accents(t), 1);
    ck_pieces(t, "A\xc3\xa1 a", "A ##a [UNK]");
    ck_pieces(t, "A\xe4\xb8\xad", "[UNK]");
    sm_tokenizer_free(t);
    /* vocab.txt wins over tokenizer.json */
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    char *text = small_vocab_text("\n", 1);
    write_file(path, text);
    free(text);
    ck_assert_int_eq(sm_tokenizer_load(dir, -1, &t, &e), SM_OK);
    ck_assert_uint_eq(sm_tokenizer_vocab_size(t), N_SMALL);
    sm_tokenizer_free(t);
    ck_assert_int_eq(sm_tokenizer_load(path, 0, &t, &e), SM_OK);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 0);
    sm_tokenizer_free(t);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- Hugging Face's output ---- */

/* A whole line of a gzip file (any length) into *buf; 0 at the end. */
static int gz_line(gzFile f, char **buf, size_t *cap)
{
    size_t n = 0;
    for (;;) {
        if (*cap - n < 2) {
            *cap = *cap ? *cap * 2 : 65536;
            *buf = realloc(*buf, *cap);
            ck_assert_ptr_nonnull(*buf);
        }
        if (!gzgets(f, *buf + n, (int)(*cap - n)))
            return n > 0;
        n += strlen(*buf + n);
        if (n && (*buf)[n - 1] == '\n')
            return 1;
    }
}

static void check_ids(const char *what, json_t *want, const int32_t *got, size_t n_got)
{
    ck_assert_msg(json_is_array(want), "%s: no such array in the fixture", what);
    size_t n = json_array_size(want);
    size_t lim = n < n_got ? n : n_got;
    for (size_t i = 0; i < lim; i++)
        ck_assert_msg(json_integer_value(json_array_get(want, i)) == got[i], "%s: position %zu: got %d, want %d",
                      what, i, got[i], (int)json_integer_value(json_array_get(want, i)));
    ck_assert_msg(n == n_got, "%s: got %zu ids, want %zu", what, n_got, n);
}

/* Every row of one fixture file; returns the number of rows. */
static size_t check_fixture_file(const char *path, const sm_tokenizer *t)
{
    gzFile f = gzopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *line = NULL, what[512];
    size_t cap = 0, rows = 0;
    sm_ids ids = {0}, types = {0};
    sm_error e;
    while (gz_line(f, &line, &cap)) {
        json_error_t je;
        json_t *row = json_loads(line, JSON_ALLOW_NUL, &je);
        ck_assert_msg(row != NULL, "%s:%zu: %s", path, rows + 1, je.text);
        json_t *a = json_object_get(row, "a"), *b = json_object_get(row, "b");
        ck_assert(json_is_string(a));
        const char *bs = json_is_string(b) ? json_string_value(b) : NULL;
        size_t bl = bs ? json_string_length(b) : 0;
        long i = (long)json_integer_value(json_object_get(row, "i"));
        ck_assert_int_eq(i, (long)rows);
        ck_assert_msg(sm_tokenizer_encode_pair_n(t, json_string_value(a), json_string_length(a), bs, bl, 0, &ids,
                                                 &types, &e) == SM_OK, "%s row %ld: %s", path, i, e.msg);
        snprintf(what, sizeof what, "%s row %ld ids", path, i);
        check_ids(what, json_object_get(row, "ids"), ids.v, ids.n);
        ck_assert_int_eq(sm_tokenizer_encode_pair_n(t, json_string_value(a), json_string_length(a), bs, bl, 128,
                                                    &ids, &types, &e), SM_OK);
        snprintf(what, sizeof what, "%s row %ld ids128", path, i);
        check_ids(what, json_object_get(row, "ids128"), ids.v, ids.n);
        snprintf(what, sizeof what, "%s row %ld types128", path, i);
        check_ids(what, json_object_get(row, "types128"), types.v, types.n);
        json_decref(row);
        rows++;
    }
    gzclose(f);
    free(line);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    return rows;
}

START_TEST(test_glue_fixtures)
{
    char dirbuf[1024], vbuf[1024];
    const char *dir = tu_shared(dirbuf, sizeof dirbuf, "fixtures/tokenization");
    const char *vocab = tu_shared(vbuf, sizeof vbuf, "vocab/bert-base-uncased/vocab.txt");
    if (!dir || !vocab)
        return;
    sm_tokenizer *uncased, *cased;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(vocab, -1, &uncased, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_load(vocab, 0, &cased, &e), SM_OK);
    ck_assert_uint_eq(sm_tokenizer_vocab_size(uncased), 30522);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    size_t files = 0, rows = 0, cased_rows = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 9 || strcmp(de->d_name + n - 9, ".jsonl.gz") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int is_cased = strstr(de->d_name, "-cased") != NULL;
        size_t r = check_fixture_file(path, is_cased ? cased : uncased);
        ck_assert_msg(r > 0, "%s has no rows", path);
        rows += r;
        if (is_cased)
            cased_rows += r;
        files++;
    }
    closedir(d);
    /* the fixtures' README: seven files, 5,610 rows, 872 of them cased */
    ck_assert_uint_eq(files, 7);
    ck_assert_uint_eq(rows, 872 + 872 + 1043 + 277 + 408 + 1500 + 638);
    ck_assert_uint_eq(cased_rows, 872);
    sm_tokenizer_free(uncased);
    sm_tokenizer_free(cased);
}
END_TEST

static void check_reference(const char *folder)
{
    char dbuf[1024], rpath[1200];
    const char *dir = tu_shared(dbuf, sizeof dbuf, folder);
    if (!dir)
        return;
    snprintf(rpath, sizeof rpath, "%s/reference.json", dir);
    json_error_t je;
    json_t *ref = json_load_file(rpath, JSON_ALLOW_NUL, &je);
    ck_assert_msg(ref != NULL, "%s: %s", rpath, je.text);
    sm_tokenizer *t;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(dir, -1, &t, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 1);
    json_t *list = json_object_get(ref, "tokenization");
    ck_assert_uint_eq(json_array_size(list), 11);
    sm_ids ids = {0}, types = {0};
    char what[256];
    for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *x = json_array_get(list, k);
        json_t *a = json_object_get(x, "text_a"), *b = json_object_get(x, "text_b");
        ck_assert(json_is_string(a));
        ck_assert_int_eq(sm_tokenizer_encode_pair_n(t, json_string_value(a), json_string_length(a),
                                                    json_is_string(b) ? json_string_value(b) : NULL,
                                                    json_is_string(b) ? json_string_length(b) : 0, 0, &ids,
                                                    &types, &e), SM_OK);
        snprintf(what, sizeof what, "%s text %zu input_ids", folder, k);
        check_ids(what, json_object_get(x, "input_ids"), ids.v, ids.n);
        snprintf(what, sizeof what, "%s text %zu token_type_ids", folder, k);
        check_ids(what, json_object_get(x, "token_type_ids"), types.v, types.n);
        json_t *toks = json_object_get(x, "tokens");
        ck_assert_uint_eq(json_array_size(toks), ids.n);
        for (size_t i = 0; i < ids.n; i++)
            ck_assert_str_eq(sm_tokenizer_token(t, ids.v[i]), json_string_value(json_array_get(toks, i)));
    }
    /* the same vocabulary read from tokenizer.json */
    sm_tokenizer *tj;
    snprintf(rpath, sizeof rpath, "%s/tokenizer.json", dir);
    ck_assert_msg(sm_tokenizer_load(rpath, -1, &tj, &e) == SM_OK, "%s", e.msg);
    ck_assert_uint_eq(sm_tokenizer_vocab_size(tj), sm_tokenizer_vocab_size(t));
    for (int32_t id = 0; id < (int32_t)sm_tokenizer_vocab_size(t); id++)
        ck_assert_str_eq(sm_tokenizer_token(tj, id), sm_tokenizer_token(t, id));
    sm_tokenizer_free(tj);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_tokenizer_free(t);
    json_decref(ref);
}

START_TEST(test_hf_reference)
{
    check_reference("fixtures/hf-bert/bert-tiny-random-cls3");
    check_reference("fixtures/hf-bert/bert-tiny-random-reg");
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    if (tu_want(TU_LOCAL)) {
        TCase *rules = tcase_create("rules");
        tcase_add_test(rules, test_accents);
        tcase_add_test(rules, test_cjk);
        tcase_add_test(rules, test_control_and_whitespace);
        tcase_add_test(rules, test_punctuation);
        tcase_add_test(rules, test_wordpiece);
        tcase_add_test(rules, test_long_words);
        tcase_add_test(rules, test_empty_and_specials);
        tcase_add_test(rules, test_truncation);
        tcase_add_test(rules, test_invalid_utf8);
        tcase_add_test(rules, test_vocab_files);
        suite_add_tcase(s, rules);
    }
    if (tu_want(TU_SHARED)) {
        TCase *ref = tcase_create("reference");
        tcase_set_timeout(ref, 120);
        tcase_add_test(ref, test_glue_fixtures);
        tcase_add_test(ref, test_hf_reference);
        suite_add_tcase(s, ref);
    }
    return s;
}

int main(void)
{
    return tu_run(tokenizer_suite());
}
