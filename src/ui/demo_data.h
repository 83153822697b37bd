/* demo_data.h: the generator of the built-in demo's data sets (datasets/ in the source tree): a
 * sentiment task whose labels hinge on negation and contrast, a sentence-pair paraphrase task, and
 * a WordPiece vocabulary covering both. Deterministic from a seed; writes files, prints nothing. */
#ifndef SMARTTY_UI_DEMO_DATA_H
#define SMARTTY_UI_DEMO_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

#define UI_DEMO_SEED 20200705u /* the seed of the committed files */

typedef struct ui_demo_sizes {
    int sentiment_train, sentiment_dev;
    int pairs_train, pairs_dev;
} ui_demo_sizes;

void ui_demo_default_sizes(ui_demo_sizes *s);

/* Write DIR/sentiment/{train,dev}.tsv, DIR/pairs/{train,dev}.tsv and DIR/vocab.txt (creating the
 * folders). Same seed and sizes: the same bytes. */
sm_status ui_demo_generate(const char *dir, uint64_t seed, const ui_demo_sizes *sizes, sm_error *e);

/* The label the sentiment rules give a generated sentence (1 positive, 0 negative, -1 when the
 * sentence is not of a generated form). Exposed for the tests: the rules, stated once. */
int ui_demo_sentiment_rule(const char *sentence);

#endif
