/* batch.h: a padded batch of tokenized examples, the one structure the data layer hands the engine.
 * Layout is row-major [B, T]: example b's token t is at index b*T + t. */
#ifndef SMARTTY_BATCH_H
#define SMARTTY_BATCH_H

#include <stdint.h>

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

#endif
