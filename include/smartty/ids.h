/* ids.h: sm_ids, a growable vector of token ids, the one container the tokenizers (WordPiece and
 * the BPE and Unigram models) fill and the data layer stores. It knows no vocabulary. */
#ifndef SMARTTY_IDS_H
#define SMARTTY_IDS_H

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

#endif
