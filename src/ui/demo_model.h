/* demo_model.h: the demo's small model: a randomly initialised BERT classifier sized for the demo's
 * vocabulary, written as a Hugging Face folder that `load model` reads. Prints nothing. */
#ifndef SMARTTY_UI_DEMO_MODEL_H
#define SMARTTY_UI_DEMO_MODEL_H

#include <stdint.h>

#include "smartty/common.h"

typedef struct ui_demo_shape {
    int layers, hidden, heads, intermediate, max_position;
} ui_demo_shape;

void ui_demo_default_shape(ui_demo_shape *s); /* 2 layers, 64 hidden, 2 heads, 256, 64 positions */

/* Write dir (created if absent): config.json (2 labels named "0" and "1", as in the demo data),
 * model.safetensors (weights drawn from seed as transformers initialises them), vocab.txt. */
sm_status ui_demo_make_model(const char *dir, const char *vocab_path, const ui_demo_shape *shape,
                             uint64_t seed, sm_error *e);

#endif
