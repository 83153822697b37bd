/* hf.h: Hugging Face checkpoint folders <-> models. Loading reads config.json and model.safetensors
 * (F32, F16 or BF16), matches tensors under the names checkpoints in the wild use (with or without
 * the "bert." prefix, legacy LayerNorm gamma/beta), initialises a missing pooler and classifier fresh
 * (masked-LM checkpoints) and reports unused tensors in one notice. Saving writes a folder that
 * transformers' BertForSequenceClassification.from_pretrained and BertTokenizer load. The tokenizer
 * itself is loaded by tokenizer.h from the same folder. */
#ifndef SMARTTY_HF_H
#define SMARTTY_HF_H

#include <stdint.h>

#include "smartty/common.h"
#include "smartty/model_config.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"

typedef struct sm_hf_load_opts {
    int num_labels;            /* 0: as config.json says; otherwise this many labels (e.g. from the training
                                * data); a classifier of another size in the checkpoint is then replaced
                                * by a fresh one, with a notice */
    const char *const *labels; /* names of those num_labels labels, or NULL for config.json's/LABEL_i */
    uint64_t init_seed;        /* seeds the fresh pooler/classifier (normal(0, initializer_range)) */
    int with_grads;            /* create the gradient arena too */
    int quiet;                 /* 1: no notices (a reload whose notices were already given) */
} sm_hf_load_opts;

void sm_hf_load_opts_default(sm_hf_load_opts *o); /* config.json's labels, seed 42, no gradients */

/* What the loader did, for callers that want to say more than the notices do. */
typedef struct sm_hf_info {
    int n_loaded;        /* model tensors filled from the checkpoint */
    int n_fresh;         /* model tensors initialised fresh */
    int n_unused;        /* checkpoint tensors not used */
    int fresh_classifier; /* 1 when the classifier (and so the logits) is untrained */
    int masked_lm;       /* 1 when the checkpoint carries a masked-LM head (cls.predictions.*) */
    char dtype[8];       /* stored dtype of the first loaded tensor ("F32", "F16", "BF16") */
} sm_hf_info;

/* Load the checkpoint folder dir. cfg_out (may be NULL) receives the configuration with the label
 * names (free with sm_config_free); info may be NULL. Every error names the file, the tensor where
 * there is one, and what to do. */
sm_status sm_hf_load(const char *dir, const sm_hf_load_opts *opts, sm_bert **out, sm_bert_config *cfg_out,
                     sm_hf_info *info, sm_error *e);

/* Write dir (created if absent; files replaced atomically one by one): config.json (cfg's label names,
 * or the model's configuration with LABEL_i when cfg is NULL; shapes always the model's),
 * model.safetensors (F32, transformers' BertForSequenceClassification names) and, when tok is not
 * NULL, vocab.txt and tokenizer_config.json (do_lower_case). Other files in dir are left alone. */
sm_status sm_hf_save(const char *dir, const sm_bert *m, const sm_bert_config *cfg, const sm_tokenizer *tok,
                     sm_error *e);

/* The shape and seed of a randomly initialised classifier (`smartty demo`'s model, the console's
 * `new model`): enough to build the same weights again, bit for bit, from a journal. */
typedef struct sm_random_model_opts {
    int layers, hidden, heads;
    int intermediate;           /* 0: 4 x hidden */
    int max_position;
    int num_labels;             /* when labels is NULL: classes named "0", "1", ... */
    const char *const *labels;  /* [num_labels] class names, or NULL */
    uint64_t seed;
} sm_random_model_opts;

/* 2 layers, hidden 128, 2 heads, intermediate 0 (4 x hidden), 512 positions, 2 labels, seed 42. */
void sm_random_model_opts_default(sm_random_model_opts *o);

/* Write dir (created if absent) as a Hugging Face folder (see sm_hf_save) holding a BERT classifier of
 * o's shape over the vocabulary vocab_path, its weights drawn from o->seed as transformers initialises
 * them. The same options and vocabulary give the same bytes. */
sm_status sm_hf_write_random(const char *dir, const char *vocab_path, const sm_random_model_opts *o,
                             sm_error *e);

#endif
