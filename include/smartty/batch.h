/* batch.h: a padded batch of tokenized examples, the one structure the data layer hands the engine,
 * and the batcher (batch.c) that draws them from a tokenized dataset (data.h). Layout is row-major
 * [B, T]: example b's token t is at index b*T + t. */
#ifndef SMARTTY_BATCH_H
#define SMARTTY_BATCH_H

#include <stdint.h>

#include "smartty/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_batch {
    int B;             /* examples in the batch */
    int T;             /* padded length: the longest example in the batch */
    int32_t *ids;      /* [B*T] token ids, pad id on padding */
    int32_t *types;    /* [B*T] token type ids, 0 on padding */
    float *mask;       /* [B*T] 1 on real tokens, 0 on padding */
    int32_t *lengths;  /* [B] real tokens per example */
    int32_t *labels;   /* [B] class ids, or NULL for regression */
    float *targets;    /* [B] regression targets, or NULL for classification */
    uint32_t *rows;    /* [B] the dataset row of each example */
    int cap_B, cap_T;  /* allocated capacity */
} sm_batch;

typedef struct sm_dataset sm_dataset; /* data.h */

/* Make room for B examples of T tokens (keeps what fits); labels or targets per `regression`. */
sm_status sm_batch_reserve(sm_batch *b, int B, int T, int regression, sm_error *e);
void sm_batch_free(sm_batch *b);
/* Fill b with the given rows of a tokenized dataset, padded to the longest of them. */
sm_status sm_batch_fill(sm_batch *b, const sm_dataset *ds, const uint32_t *rows, int n,
                        int32_t pad_id, sm_error *e);

typedef struct sm_batcher_opts {
    int batch_size;  /* examples per batch */
    int shuffle;     /* new order each epoch from the seed; 0: file order (evaluation) */
    int bucket;      /* length bucketing: sort chunks of bucket*batch_size rows by length, then
                        shuffle the batches; 0 off. Only with shuffle. */
    int drop_last;   /* drop the last, smaller batch of each epoch */
    uint64_t seed;
} sm_batcher_opts;
sm_batcher_opts sm_batcher_default_opts(void); /* 32, shuffle, no bucketing, keep last, seed 42 */

/* Where a batcher is: plain data, saved and restored exactly (resume is bit-identical). */
typedef struct sm_batch_pos {
    uint64_t epoch;      /* epochs completed */
    uint64_t index;      /* next batch within this epoch's order */
    sm_rng rng;          /* the RNG state this epoch's order was drawn from */
    uint64_t n_rows;     /* dataset size and batch size, checked on restore */
    uint32_t batch_size;
    uint32_t reserved;
} sm_batch_pos;

/* The position as 10 words (for a checkpoint that stores integers, not structs), and back. */
#define SM_BATCH_POS_WORDS 10
void sm_batch_pos_pack(const sm_batch_pos *pos, uint64_t out[SM_BATCH_POS_WORDS]);
void sm_batch_pos_unpack(sm_batch_pos *pos, const uint64_t in[SM_BATCH_POS_WORDS]);

typedef struct sm_batcher sm_batcher;

/* The dataset must be tokenized and outlive the batcher. */
sm_status sm_batcher_new(const sm_dataset *ds, const sm_batcher_opts *o, int32_t pad_id,
                         sm_batcher **out, sm_error *e);
void sm_batcher_free(sm_batcher *b);
/* The next batch; at the end of an epoch the next epoch's order is drawn. *epoch_end (may be
 * NULL) is set to 1 when this batch was the epoch's last. */
sm_status sm_batcher_next(sm_batcher *b, sm_batch *out, int *epoch_end, sm_error *e);
size_t sm_batcher_batches_per_epoch(const sm_batcher *b);
void sm_batcher_position(const sm_batcher *b, sm_batch_pos *pos);
/* Continue from a saved position; a position from another dataset size or batch size is an error. */
sm_status sm_batcher_restore(sm_batcher *b, const sm_batch_pos *pos, sm_error *e);

#ifdef __cplusplus
}
#endif
#endif
