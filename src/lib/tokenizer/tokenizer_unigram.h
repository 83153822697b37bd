/* tokenizer_unigram.h: SentencePiece Unigram (XLM-R) as Hugging Face `tokenizers` runs it: the
 * Precompiled normalizer (the charsmap's double-array trie, applied per grapheme), WhitespaceSplit and
 * Metaspace pre-tokenizers, and Viterbi segmentation over the pieces' scores with fused unknowns.
 * Private to the library; tokenizer_hf.c reads tokenizer.json, tokenizer.c matches added tokens and frames. */
#ifndef SMARTTY_TOKENIZER_UNIGRAM_H
#define SMARTTY_TOKENIZER_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tokenizer/tokenizer_bpe.h" /* tk_lookup_fn */
#include "smartty/common.h"
#include "smartty/ids.h"

typedef struct tk_unigram tk_unigram;

/* A Unigram over n_ids pieces reached through lookup (which must outlive it). scores[n_ids] is copied.
 * charsmap (may be NULL: no normalizer) is the Precompiled normalizer's base64 text; collapse: the
 * normalizer's Replace of " {2,}" by " " follows it. ws_split: WhitespaceSplit before Metaspace;
 * prepend: Metaspace's prepend_scheme "always". Errors name path and what is wrong. */
sm_status tk_unigram_new(tk_unigram **out, const double *scores, size_t n_ids, int32_t unk_id, size_t max_piece,
                         const char *charsmap, size_t charsmap_len, int collapse, int ws_split, int prepend,
                         tk_lookup_fn lookup, const void *ctx, const char *path, sm_error *e);
void tk_unigram_free(tk_unigram *u);
/* Piece id is s[0..n) (each piece in id order, after tk_unigram_new). */
sm_status tk_unigram_add_piece(tk_unigram *u, const char *s, size_t n, int32_t id, sm_error *e);
/* The ids of s[0..n) (valid UTF-8, no added tokens in it), appended to out. */
sm_status tk_unigram_encode(const tk_unigram *u, const char *s, size_t n, sm_ids *out, sm_error *e);

#endif
