/* demo_data.h: the generator of the built-in demo's data sets (datasets/ in the source tree): a
 * sentiment task whose labels hinge on negation and contrast, a sentence-pair paraphrase task, and
 * a WordPiece vocabulary covering both. Deterministic from a seed; writes files, prints nothing. */
#ifndef SMARTTY_CLI_DEMO_DATA_H
#define SMARTTY_CLI_DEMO_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

#define DEMO_SEED 20200705u /* the seed of the committed files */

typedef struct demo_sizes {
    int sentiment_train, sentiment_dev;
    int pairs_train, pairs_dev;
} demo_sizes;

void demo_default_sizes(demo_sizes *s);

/* Write DIR/sentiment/{train,dev}.tsv, DIR/pairs/{train,dev}.tsv and DIR/vocab.txt (creating the
 * folders). Same seed and sizes: the same bytes. */
sm_status demo_generate(const char *dir, uint64_t seed, const demo_sizes *sizes, sm_error *e);

/* The label the sentiment rules give a generated sentence (1 positive, 0 negative, -1 when the
 * sentence is not of a generated form). Exposed for the tests: the rules, stated once. */
int demo_sentiment_rule(const char *sentence);

#endif
