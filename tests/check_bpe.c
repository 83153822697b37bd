/* check_bpe.c: the byte-level BPE (RoBERTa's) and SentencePiece Unigram (XLM-R's) tokenizers against
 * Hugging Face: every row of tests/fixtures/{bpe,unigram}/reference.jsonl.gz (texts and pairs from the
 * shared datasets and hand-picked ones: accents, combining marks, full-width forms, CJK, emoji, long
 * words, odd spaces, special tokens in the text) gives exactly AutoTokenizer's ids, untruncated and at
 * max_length 128 (longest first); the BPE also from vocab.json + merges.txt and with add_prefix_space;
 * and hostile files (unsupported components, unknown merges, a truncated charsmap) get precise refusals. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures_util.h"
#include "smartty/tokenizer.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_bpe.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *fixture_in(const char *dir, const char *file)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/tests/fixtures/%s%s%s", tu_srcdir(), dir, *file ? "/" : "", file);
    ck_assert_msg(access(buf[k], R_OK) == 0, "%s is absent", buf[k]);
    return buf[k];
}

static const char *fixture(const char *file) { return fixture_in("bpe", file); }

static void expect_ids(const char *what, long row, const sm_ids *got, json_t *want)
{
    ck_assert_msg(got->n == json_array_size(want), "%s, row %ld: %zu ids, transformers %zu", what, row, got->n,
                  json_array_size(want));
    for (size_t i = 0; i < got->n; i++)
        ck_assert_msg(got->v[i] == json_integer_value(json_array_get(want, i)),
                      "%s, row %ld: id %zu is %d, transformers %lld", what, row, i, (int)got->v[i],
                      (long long)json_integer_value(json_array_get(want, i)));
}

/* every row: ids (no limit), ids128 and types128; ids_ps with the add_prefix_space tokenizer */
static void check_rows_in(const char *dir, const sm_tokenizer *t, const sm_tokenizer *ps, const char *what)
{
    json_t **rows;
    long n = fixtures_read(fixture_in(dir, "reference.jsonl.gz"), &rows);
    ck_assert_msg(n > 2500, "%ld rows", n);
    sm_ids ids = {0}, types = {0};
    sm_error e;
    long pairs = 0, with_ps = 0;
    for (long r = 0; r < n; r++) {
        json_t *ja = json_object_get(rows[r], "a"), *jb = json_object_get(rows[r], "b");
        const char *a = json_string_value(ja), *b = json_is_string(jb) ? json_string_value(jb) : NULL;
        size_t al = json_string_length(ja), bl = b ? json_string_length(jb) : 0;
        pairs += b != NULL;
        ck_assert_msg(sm_tokenizer_encode_pair_n(t, a, al, b, bl, 0, &ids, &types, &e) == SM_OK, "row %ld: %s", r,
                      e.msg);
        expect_ids(what, r, &ids, json_object_get(rows[r], "ids"));
        ck_assert_msg(sm_tokenizer_encode_pair_n(t, a, al, b, bl, 128, &ids, &types, &e) == SM_OK, "%s", e.msg);
        expect_ids(what, r, &ids, json_object_get(rows[r], "ids128"));
        expect_ids(what, r, &types, json_object_get(rows[r], "types128"));
        json_t *jps = json_object_get(rows[r], "ids_ps");
        if (ps && json_is_array(jps)) {
            ck_assert_int_eq(sm_tokenizer_encode_pair_n(ps, a, al, b, bl, 0, &ids, &types, &e), SM_OK);
            expect_ids("add_prefix_space", r, &ids, jps);
            with_ps++;
        }
    }
    ck_assert(pairs > 1000);
    ck_assert(!ps || with_ps >= 500);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    fixtures_free(rows, n);
}

static void check_rows(const sm_tokenizer *t, const sm_tokenizer *ps, const char *what)
{
    check_rows_in("bpe", t, ps, what);
}

/* a copy of dir's tokenizer.json with edit() applied */
static const char *edited_in(const char *dir, const char *name, void (*edit)(json_t *root))
{
    json_error_t je;
    json_t *root = json_load_file(fixture_in(dir, "tokenizer.json"), 0, &je);
    ck_assert_ptr_nonnull(root);
    edit(root);
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    ck_assert_int_eq(json_dump_file(root, path[k], 0), 0);
    json_decref(root);
    return path[k];
}

static const char *edited(const char *name, void (*edit)(json_t *root)) { return edited_in("bpe", name, edit); }

static void set_prefix_space(json_t *root)
{
    json_object_set_new(json_object_get(root, "pre_tokenizer"), "add_prefix_space", json_true());
}

START_TEST(test_reference_rows)
{
    sm_tokenizer *t, *ps;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(fixture(""), -1, &t, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_lower_case(t), 0);
    ck_assert_int_eq(sm_tokenizer_cls_id(t), 0);
    ck_assert_int_eq(sm_tokenizer_pad_id(t), 1);
    ck_assert_int_eq(sm_tokenizer_sep_id(t), 2);
    ck_assert_int_eq(sm_tokenizer_mask_id(t), 4);
    ck_assert_uint_eq(sm_tokenizer_vocab_size(t), 2000);
    ck_assert_msg(sm_tokenizer_load(edited("ps.json", set_prefix_space), -1, &ps, &e) == SM_OK, "%s", e.msg);
    check_rows(t, ps, "tokenizer.json");
    sm_tokenizer_free(t);
    sm_tokenizer_free(ps);
}
END_TEST

/* GPT-2's pair of files gives the same ids (given as either file, or as their folder). */
START_TEST(test_vocab_and_merges)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' '%s' '%s'/", fixture("vocab.json"), fixture("merges.txt"),
             fixture("tokenizer_config.json"), tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    sm_tokenizer *t;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(tmpdir, -1, &t, &e) == SM_OK, "%s", e.msg);
    check_rows(t, NULL, "vocab.json + merges.txt");
    sm_tokenizer_free(t);
    char p[600];
    snprintf(p, sizeof p, "%s/merges.txt", tmpdir);
    ck_assert_msg(sm_tokenizer_load(p, -1, &t, &e) == SM_OK, "%s", e.msg);
    sm_tokenizer_free(t);
    snprintf(cmd, sizeof cmd, "rm '%s/merges.txt'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/vocab.json", tmpdir);
    ck_assert_int_eq(sm_tokenizer_load(p, -1, &t, &e), SM_ERR_NOTFOUND);
    ck_assert_msg(strstr(e.msg, "merges.txt is missing"), "%s", e.msg);
}
END_TEST

/* ---- hostile files ---- */

static void expect_refusal(const char *path, sm_status want, const char *frag1, const char *frag2)
{
    sm_tokenizer *t = NULL;
    sm_error e;
    sm_error_clear(&e);
    sm_status st = sm_tokenizer_load(path, -1, &t, &e);
    ck_assert_msg(st == want, "%s: status %s, expected %s (%s)", path, sm_status_to_string(st),
                  sm_status_to_string(want), e.msg);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(e.msg, frag1) && (!frag2 || strstr(e.msg, frag2)), "%s: message lacks \"%s\"/\"%s\": %s",
                  path, frag1, frag2 ? frag2 : "", e.msg);
}

static void model_wordlevel(json_t *r) { json_object_set_new(json_object_get(r, "model"), "type", json_string("WordLevel")); }
static void normalizer_nfc(json_t *r) { json_object_set_new(r, "normalizer", json_pack("{s:s}", "type", "NFC")); }
static void pre_whitespace(json_t *r) { json_object_set_new(r, "pre_tokenizer", json_pack("{s:s}", "type", "Whitespace")); }
static void post_template(json_t *r)
{
    json_object_set_new(r, "post_processor", json_pack("{s:s}", "type", "TemplateProcessing"));
}
static void post_null(json_t *r) { json_object_set_new(r, "post_processor", json_null()); }
static void merge_unknown(json_t *r)
{
    json_array_insert_new(json_object_get(json_object_get(r, "model"), "merges"), 3,
                          json_pack("[s,s]", "\xc4\xa0", "zzzq"));
}
static void merge_result_unknown(json_t *r)
{
    json_array_insert_new(json_object_get(json_object_get(r, "model"), "merges"), 0, json_pack("[s,s]", "q", "Q"));
}
static void merge_bad_form(json_t *r)
{
    json_array_insert_new(json_object_get(json_object_get(r, "model"), "merges"), 0, json_string("abc"));
}
static void dropout(json_t *r) { json_object_set_new(json_object_get(r, "model"), "dropout", json_real(0.1)); }
static void single_word(json_t *r)
{
    json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 4), "single_word", json_true());
}
static void added_beyond(json_t *r)
{
    json_array_append_new(json_object_get(r, "added_tokens"), json_pack("{s:i,s:s}", "id", 2000, "content", "<new>"));
}
static void vocab_bad_id(json_t *r)
{
    json_object_set_new(json_object_get(json_object_get(r, "model"), "vocab"), "x", json_string("5"));
}
static void cls_bad(json_t *r)
{
    json_object_set_new(json_object_get(r, "post_processor"), "cls", json_pack("[s,i]", "<s>", 99999));
}

START_TEST(test_hostile_files)
{
    expect_refusal(edited("a.json", model_wordlevel), SM_ERR_UNSUPPORTED, "model type \"WordLevel\" is not supported",
                   "byte-level BPE");
    expect_refusal(edited("b.json", normalizer_nfc), SM_ERR_UNSUPPORTED, "normalizer \"NFC\" is not supported", NULL);
    expect_refusal(edited("c.json", pre_whitespace), SM_ERR_UNSUPPORTED, "pre_tokenizer \"Whitespace\" is not supported",
                   NULL);
    expect_refusal(edited("d.json", post_template), SM_ERR_UNSUPPORTED,
                   "post_processor \"TemplateProcessing\" is not supported", NULL);
    expect_refusal(edited("e.json", post_null), SM_ERR_UNSUPPORTED, "post_processor \"null\"", NULL);
    expect_refusal(edited("f.json", merge_unknown), SM_ERR_FORMAT, "model.merges[3]", "names \"zzzq\", which is not in");
    expect_refusal(edited("g.json", merge_result_unknown), SM_ERR_FORMAT, "model.merges[0]", "makes \"qQ\"");
    expect_refusal(edited("h.json", merge_bad_form), SM_ERR_FORMAT, "model.merges[0]", "two tokens separated");
    expect_refusal(edited("i.json", dropout), SM_ERR_UNSUPPORTED, "model.dropout", NULL);
    expect_refusal(edited("j.json", single_word), SM_ERR_UNSUPPORTED, "single_word", "<mask>");
    expect_refusal(edited("k.json", added_beyond), SM_ERR_UNSUPPORTED, "\"<new>\" (id 2000)", NULL);
    expect_refusal(edited("l.json", vocab_bad_id), SM_ERR_FORMAT, "model.vocab[\"x\"] must be an id", NULL);
    expect_refusal(edited("m.json", cls_bad), SM_ERR_FORMAT, "post_processor.cls", NULL);

    /* merges.txt naming a token the vocabulary lacks, with its line */
    char cmd[2048], p[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'/ && (head -5 '%s'; echo 'Ġ zzzq'; tail -n +6 '%s') > '%s/merges.txt'",
             fixture("vocab.json"), tmpdir, fixture("merges.txt"), fixture("merges.txt"), tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/merges.txt:6", tmpdir);
    expect_refusal(tmpdir, SM_ERR_FORMAT, p, "\"zzzq\", which is not in the vocabulary");
    /* a truncated tokenizer.json */
    snprintf(cmd, sizeof cmd, "head -c 5000 '%s' > '%s/cut.json'", fixture("tokenizer.json"), tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/cut.json", tmpdir);
    expect_refusal(p, SM_ERR_FORMAT, p, NULL);
}
END_TEST

/* Added tokens with lstrip/rstrip absorb the spaces beside them, as RoBERTa's <mask> (lstrip). */
static void mask_lstrip(json_t *r)
{
    json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 4), "lstrip", json_true());
    json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 4), "rstrip", json_true());
}

START_TEST(test_strip_flags)
{
    sm_tokenizer *t, *s;
    sm_error e;
    ck_assert_int_eq(sm_tokenizer_load(fixture(""), -1, &t, &e), SM_OK);
    ck_assert_msg(sm_tokenizer_load(edited("s.json", mask_lstrip), -1, &s, &e) == SM_OK, "%s", e.msg);
    sm_ids a = {0}, b = {0};
    ck_assert_int_eq(sm_tokenizer_encode(t, "The  <mask>  cat", 16, &a, &e), SM_OK);
    ck_assert_int_eq(sm_tokenizer_encode(s, "The  <mask>  cat", 16, &b, &e), SM_OK);
    sm_ids c = {0};
    ck_assert_int_eq(sm_tokenizer_encode(t, "The<mask>cat", 12, &c, &e), SM_OK);
    ck_assert_uint_eq(b.n, c.n);
    ck_assert(memcmp(b.v, c.v, b.n * sizeof *b.v) == 0);
    ck_assert_uint_gt(a.n, b.n);
    sm_ids_free(&a);
    sm_ids_free(&b);
    sm_ids_free(&c);
    /* invalid UTF-8 is refused with its offset */
    ck_assert_int_eq(sm_tokenizer_encode(t, "ab\xff", 3, &a, &e), SM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "byte offset 2"), "%s", e.msg);
    sm_tokenizer_free(t);
    sm_tokenizer_free(s);
}
END_TEST

/* ---- SentencePiece Unigram (XLM-R) ---- */

START_TEST(test_unigram_rows)
{
    sm_tokenizer *t;
    sm_error e;
    ck_assert_msg(sm_tokenizer_load(fixture_in("unigram", ""), -1, &t, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_tokenizer_cls_id(t), 0);
    ck_assert_int_eq(sm_tokenizer_pad_id(t), 1);
    ck_assert_int_eq(sm_tokenizer_sep_id(t), 2);
    ck_assert_int_eq(sm_tokenizer_unk_id(t), 3);
    ck_assert_ptr_nonnull(sm_tokenizer_source_files(t));
    check_rows_in("unigram", t, NULL, "unigram tokenizer.json");
    sm_tokenizer_free(t);
}
END_TEST

static void uni_charsmap_cut(json_t *r)
{
    json_t *n = json_object_get(r, "normalizer");
    const char *cm = json_string_value(json_object_get(n, "precompiled_charsmap"));
    char *cut = strndup(cm, 4000); /* a whole number of base64 quads, far short of the trie */
    json_object_set_new(n, "precompiled_charsmap", json_string(cut));
    free(cut);
}
static void uni_charsmap_junk(json_t *r)
{
    json_object_set_new(json_object_get(r, "normalizer"), "precompiled_charsmap", json_string("not*base64"));
}
static void uni_normalizer_nfkc(json_t *r) { json_object_set_new(r, "normalizer", json_pack("{s:s}", "type", "NFKC")); }
static void uni_pre_bert(json_t *r) { json_object_set_new(r, "pre_tokenizer", json_pack("{s:s}", "type", "BertPreTokenizer")); }
static void uni_prepend_first(json_t *r)
{
    json_object_set_new(json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 1),
                        "prepend_scheme", json_string("first"));
}
static void uni_byte_fallback(json_t *r) { json_object_set_new(json_object_get(r, "model"), "byte_fallback", json_true()); }
static void uni_bad_piece(json_t *r)
{
    json_array_set_new(json_object_get(json_object_get(r, "model"), "vocab"), 7, json_pack("[s,s]", "x", "high"));
}
static void uni_template_types(json_t *r)
{
    json_t *pair = json_object_get(json_object_get(r, "post_processor"), "pair");
    json_object_set_new(json_object_get(json_array_get(pair, 4), "Sequence"), "type_id", json_integer(1));
}
static void uni_no_unk(json_t *r) { json_object_set_new(json_object_get(r, "model"), "unk_id", json_null()); }

START_TEST(test_unigram_hostile)
{
    expect_refusal(edited_in("unigram", "u1.json", uni_charsmap_cut), SM_ERR_FORMAT, "precompiled_charsmap is truncated",
                   NULL);
    expect_refusal(edited_in("unigram", "u2.json", uni_charsmap_junk), SM_ERR_FORMAT, "is not base64", NULL);
    expect_refusal(edited_in("unigram", "u3.json", uni_normalizer_nfkc), SM_ERR_UNSUPPORTED,
                   "normalizer \"NFKC\" is not supported", NULL);
    expect_refusal(edited_in("unigram", "u4.json", uni_pre_bert), SM_ERR_UNSUPPORTED,
                   "pre_tokenizer \"BertPreTokenizer\" is not supported", NULL);
    expect_refusal(edited_in("unigram", "u5.json", uni_prepend_first), SM_ERR_UNSUPPORTED,
                   "prepend_scheme \"first\" is not supported", NULL);
    expect_refusal(edited_in("unigram", "u6.json", uni_byte_fallback), SM_ERR_UNSUPPORTED, "byte_fallback", NULL);
    expect_refusal(edited_in("unigram", "u7.json", uni_bad_piece), SM_ERR_FORMAT, "model.vocab[7] must be [piece, score]",
                   NULL);
    expect_refusal(edited_in("unigram", "u8.json", uni_template_types), SM_ERR_UNSUPPORTED,
                   "TemplateProcessing post_processor is not supported", NULL);
    expect_refusal(edited_in("unigram", "u9.json", uni_no_unk), SM_ERR_UNSUPPORTED, "model.unk_id", NULL);
}
END_TEST

static Suite *bpe_suite(void)
{
    Suite *s = suite_create("bpe");
    TCase *tc = tcase_create("byte-level BPE");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reference_rows);
    tcase_add_test(tc, test_vocab_and_merges);
    tcase_add_test(tc, test_hostile_files);
    tcase_add_test(tc, test_strip_flags);
    tcase_add_test(tc, test_unigram_rows);
    tcase_add_test(tc, test_unigram_hostile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bpe_suite());
}
