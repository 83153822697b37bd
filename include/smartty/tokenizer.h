/* tokenizer.h: BERT's basic tokenizer and WordPiece, identical to Hugging Face's BertTokenizer:
 * cleaning, optional lower-casing with accent stripping, CJK and punctuation splitting, greedy
 * longest-match WordPiece, and the [CLS] a [SEP] (b [SEP]) framing with longest-first truncation. */
#ifndef SMARTTY_TOKENIZER_H
#define SMARTTY_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

/* A growable vector of ids. Zero-initialise; free with sm_ids_free. */
typedef struct sm_ids {
    int32_t *v;
    size_t n, cap;
} sm_ids;
sm_status sm_ids_push(sm_ids *ids, int32_t x, sm_error *e);
void sm_ids_free(sm_ids *ids);

typedef struct sm_tokenizer sm_tokenizer;

/* From a model folder (vocab.txt, else tokenizer.json's WordPiece model.vocab; do_lower_case from
 * tokenizer_config.json, default on) or from a vocab.txt path with lower_case given (-1: default on). */
sm_status sm_tokenizer_load(const char *dir_or_vocab, int lower_case, sm_tokenizer **out, sm_error *e);
void sm_tokenizer_free(sm_tokenizer *t);

int sm_tokenizer_lower_case(const sm_tokenizer *t);
size_t sm_tokenizer_vocab_size(const sm_tokenizer *t);
int32_t sm_tokenizer_id(const sm_tokenizer *t, const char *token); /* -1 when absent */
const char *sm_tokenizer_token(const sm_tokenizer *t, int32_t id); /* NULL when out of range */
int32_t sm_tokenizer_pad_id(const sm_tokenizer *t);
int32_t sm_tokenizer_unk_id(const sm_tokenizer *t);
int32_t sm_tokenizer_cls_id(const sm_tokenizer *t);
int32_t sm_tokenizer_sep_id(const sm_tokenizer *t);

/* Word pieces of one text (len bytes of UTF-8), no special tokens, appended to out. Invalid UTF-8
 * is an error naming the byte offset. */
sm_status sm_tokenizer_encode(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out,
                              sm_error *e);
/* [CLS] a [SEP] or [CLS] a [SEP] b [SEP] (b may be NULL), truncated to max_len ids (0: no limit;
 * for pairs one token at a time from the longer side, as transformers' longest_first). ids and
 * types are cleared first. */
sm_status sm_tokenizer_encode_pair(const sm_tokenizer *t, const char *a, const char *b, int max_len,
                                   sm_ids *ids, sm_ids *types, sm_error *e);

#endif
