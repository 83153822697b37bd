/* ids.c: sm_ids, the growable vector of token ids (ids.h): push and free. Which ids go in is the
 * tokenizers' (src/lib/tokenizer: tokenizer_wordpiece.c, tokenizer_bpe.c, tokenizer_unigram.c). */
#include "smartty/ids.h"

#include <stdlib.h>

sm_status sm_ids_push(sm_ids *ids, int32_t x, sm_error *e)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return sm_err(e, SM_ERR_NOMEM, "out of memory growing a list of %zu token ids", cap);
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = x;
    return SM_OK;
}

void sm_ids_free(sm_ids *ids)
{
    if (!ids)
        return;
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}
