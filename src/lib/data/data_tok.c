/* data_tok.c: tokenizing a loaded dataset with the WordPiece tokenizer: the one place the data layer
 * calls the tokenizer, so that the loader and batcher build and test without it. */
#include "smartty/data.h"

static sm_status encode_adapter(void *ud, const char *a, const char *b, int max_len, sm_ids *ids,
                                sm_ids *types, sm_error *e)
{
    return sm_tokenizer_encode_pair(ud, a, b, max_len, ids, types, e);
}

sm_status sm_dataset_tokenize(sm_dataset *ds, const sm_tokenizer *tok, int max_len, sm_error *e)
{
    /* the adapter only reads through the pointer */
    return sm_dataset_tokenize_fn(ds, encode_adapter, (void *)(uintptr_t)tok, max_len, e);
}
