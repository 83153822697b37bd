/* new_model.h: the options of the console's `new model` (shape, seed, labels, vocabulary), read into
 * the library's sm_random_model_opts and written back in a canonical form (every value, the vocabulary
 * by its absolute path) for the journal, and the model's folder in the state directory, named after
 * those options. Loading the model and journalling are the backend's. */
#ifndef SMARTTY_CONSOLE_NEW_MODEL_H
#define SMARTTY_CONSOLE_NEW_MODEL_H

#include <stddef.h>

#include "smartty/hf.h"

/* Parsed options: o (its labels point into namebuf) and argv[argc], the canonical options. */
typedef struct con_new_model {
    sm_random_model_opts o;
    char vocab[4096];
    char namebuf[4096];
    const char *names[1000];
    char canon[9][4200];
    const char *argv[9];
    int argc;
} con_new_model;

/* Parse `new model` options (key=value words); fills a, or e with the word at fault. */
sm_status con_new_model_parse(con_new_model *a, int argc, char *const *argv, sm_error *e);
/* Write a's model into con_state_path("new-model-HASH") (HASH of the canonical options: the same
 * options give the same folder and bytes); dir receives its path. */
sm_status con_new_model_write(const con_new_model *a, char *dir, size_t cap, sm_error *e);

#endif
