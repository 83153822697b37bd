/* tokenizer_bpe.h: byte-level BPE (GPT-2 / RoBERTa) as Hugging Face `tokenizers` runs it: the ByteLevel
 * pre-tokenizer's split pattern, the byte-to-character map and merges by rank. Private to the
 * library; tokenizer_hf.c reads the files, tokenizer.c matches added tokens and frames the result. */
#ifndef SMARTTY_TOKENIZER_BPE_H
#define SMARTTY_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/ids.h"

typedef struct tk_bpe tk_bpe;

/* The vocabulary's id of the token s[0..n), or -1. */
typedef int32_t (*tk_lookup_fn)(const void *ctx, const char *s, size_t n);

/* A BPE over a vocabulary reached through lookup (which must outlive it), for about n_merges
 * merges. add_prefix_space: a space goes in front of a text that does not start with one. */
sm_status tk_bpe_new(tk_bpe **out, size_t n_merges, int add_prefix_space, tk_lookup_fn lookup, const void *ctx,
                     sm_error *e);
void tk_bpe_free(tk_bpe *b);
/* The next merge (rank = merges added before it): the pair (left, right) of vocabulary tokens, as
 * written in the file (byte-mapped characters). where names it in messages ("merges.txt:12"). A
 * token, or their concatenation, missing from the vocabulary is an error (SM_ERR_FORMAT). */
sm_status tk_bpe_add_merge(tk_bpe *b, const char *left, size_t nl, const char *right, size_t nr, const char *where,
                           sm_error *e);
size_t tk_bpe_merges(const tk_bpe *b);
/* The ids of s[0..n) (valid UTF-8, no added tokens in it), appended to out. A byte whose character
 * is not in the vocabulary becomes unk (or is dropped when unk < 0, as `tokenizers` does). */
sm_status tk_bpe_encode(const tk_bpe *b, const char *s, size_t n, int32_t unk, sm_ids *out, sm_error *e);

#endif
