/* tokenizer.h: BERT's basic tokenizer and WordPiece, identical to Hugging Face's BertTokenizer:
 * cleaning, optional lower-casing with accent stripping, CJK and punctuation splitting, greedy
 * longest-match WordPiece, and the [CLS] a [SEP] (b [SEP]) framing with longest-first truncation;
 * or RoBERTa's byte-level BPE, identical to `tokenizers` (ByteLevel pre-tokenizer, merges by rank,
 * added tokens), or XLM-R's SentencePiece Unigram (Precompiled charsmap, Metaspace, Viterbi), both
 * framed <s> a </s></s> b </s> with every type id 0; chosen by the files it is given.
 * A loaded tokenizer is read-only: one may encode from several threads at once. */
#ifndef SMARTTY_TOKENIZER_H
#define SMARTTY_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/ids.h" /* sm_ids */

typedef struct sm_tokenizer sm_tokenizer;

/* From a model folder (vocab.txt, else tokenizer.json: a WordPiece model.vocab, a byte-level BPE or a Unigram,
 * else vocab.json + merges.txt: a byte-level BPE; do_lower_case,
 * strip_accents, tokenize_chinese_chars and the special tokens' names from tokenizer_config.json,
 * lower-casing on by default), from a vocab.txt path, or from a tokenizer.json path (a file whose
 * name ends in .json). lower_case 0 or 1 overrides the configuration; -1 keeps it (default on).
 * Accent stripping follows lower_case unless tokenizer_config.json sets strip_accents. */
sm_status sm_tokenizer_load(const char *dir_or_vocab, int lower_case, sm_tokenizer **out, sm_error *e);
/* From the text of a vocab.txt in memory (one token per line, id = line number from 0); `name`
 * labels error messages. lower_case as above (-1: on). */
sm_status sm_tokenizer_load_vocab_text(const char *data, size_t len, const char *name, int lower_case,
                                       sm_tokenizer **out, sm_error *e);
void sm_tokenizer_free(sm_tokenizer *t);
/* A byte-level BPE's or a Unigram's source files (its tokenizer.json, or vocab.json and merges.txt,
 * and the folder's tokenizer_config.json), NULL-terminated, for saving a model with them; NULL for
 * WordPiece, whose vocab.txt is written from the vocabulary itself. */
const char *const *sm_tokenizer_source_files(const sm_tokenizer *t);

int sm_tokenizer_lower_case(const sm_tokenizer *t);
int sm_tokenizer_strip_accents(const sm_tokenizer *t);
size_t sm_tokenizer_vocab_size(const sm_tokenizer *t);
int32_t sm_tokenizer_id(const sm_tokenizer *t, const char *token); /* -1 when absent */
const char *sm_tokenizer_token(const sm_tokenizer *t, int32_t id); /* NULL when out of range */
int32_t sm_tokenizer_pad_id(const sm_tokenizer *t);
int32_t sm_tokenizer_unk_id(const sm_tokenizer *t);
int32_t sm_tokenizer_cls_id(const sm_tokenizer *t);
int32_t sm_tokenizer_sep_id(const sm_tokenizer *t);
int32_t sm_tokenizer_mask_id(const sm_tokenizer *t); /* -1 when the vocabulary has none */

/* Word pieces of one text (len bytes of UTF-8), no special tokens added, appended to out. The
 * special tokens' own strings ([CLS], [SEP], [PAD], [UNK], [MASK]) written in the text are matched
 * as those tokens, as Hugging Face does. Invalid UTF-8 is an error (SM_ERR_FORMAT) naming the byte
 * offset; out is then left as it was. */
sm_status sm_tokenizer_encode(const sm_tokenizer *t, const char *text, size_t len, sm_ids *out,
                              sm_error *e);
/* [CLS] a [SEP] or [CLS] a [SEP] b [SEP] (b may be NULL), truncated to max_len ids (0: no limit;
 * for pairs 'longest_first' exactly as Hugging Face's tokenizers: the shorter text keeps its length
 * if it can, otherwise each gets half and the longer one, or the second on a tie, the odd token).
 * ids and types are cleared first. max_len below 2 (below 3 for a pair) is an error
 * (SM_ERR_RANGE). */
sm_status sm_tokenizer_encode_pair(const sm_tokenizer *t, const char *a, const char *b, int max_len,
                                   sm_ids *ids, sm_ids *types, sm_error *e);
/* The same with explicit lengths (the texts may hold NUL bytes); b NULL: a single text. */
sm_status sm_tokenizer_encode_pair_n(const sm_tokenizer *t, const char *a, size_t a_len,
                                     const char *b, size_t b_len, int max_len, sm_ids *ids,
                                     sm_ids *types, sm_error *e);
/* Frame already-encoded word pieces (from sm_tokenizer_encode): the same framing and truncation as
 * sm_tokenizer_encode_pair, so a data set can be encoded once and framed at any max_len. b NULL:
 * a single text. */
sm_status sm_tokenizer_frame(const sm_tokenizer *t, const sm_ids *a, const sm_ids *b, int max_len,
                             sm_ids *ids, sm_ids *types, sm_error *e);

#endif
