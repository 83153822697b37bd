/* session_bert_internal.h: the BERT backend's context, shared by the backend (session_bert.c) and
 * its session-level loads (session_bert_load.c). Not part of the public API. */
#ifndef SMARTTY_SESSION_BERT_INTERNAL_H
#define SMARTTY_SESSION_BERT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "smartty/batch.h"
#include "smartty/model_config.h"
#include "smartty/data.h"
#include "smartty/hparams.h"
#include "smartty/model.h"
#include "smartty/session.h"
#include "smartty/smart.h"
#include "smartty/tokenizer.h"

typedef struct bert_ctx {
    char model_dir[4096];
    sm_bert *model;            /* NULL until a model is loaded */
    sm_bert_config cfg;        /* with the label names */
    int fresh_classifier;      /* the classifier was initialised, not loaded */
    uint64_t init_seed;        /* seed the fresh classifier was drawn with */
    sm_tokenizer *tok;
    sm_data_opts dopts[2];     /* train, dev */
    char path[2][4096];
    sm_dataset *ds[2];
    sm_batcher *batcher;
    sm_batch batch;
    sm_trainer tr;
    int tr_ready;
    sm_hparams hp;
    int computed;
    json_t *pending_pos;       /* a batcher position to restore once the batcher exists */
    char resume_dir[4200];     /* a checkpoint to restore once the training set is loaded */
} bert_ctx;

/* The session's backend context when it is a BERT backend, else NULL. */
bert_ctx *bert_ctx_of(sm_session *s);
/* Load a model folder or a checkpoint's model (resolved), with its tokenizer, into c. */
sm_status bert_load_model(bert_ctx *c, const char *dir, sm_error *e);
/* Load and tokenize the training (which 0) or dev (1) set with options o (see sm_session_load_data). */
sm_status bert_load_data(bert_ctx *c, int which, const char *path, const sm_data_opts *o,
                         sm_error *e);

#endif
