/* config.h: a BERT model configuration as read from Hugging Face's config.json, and written back
 * into smartty's checkpoints. Parsing lives in src/lib/config.c (jansson). */
#ifndef SMARTTY_CONFIG_H
#define SMARTTY_CONFIG_H

#include "smartty/common.h"

typedef enum sm_problem_type {
    SM_PROBLEM_SINGLE_LABEL = 0, /* cross-entropy over num_labels classes */
    SM_PROBLEM_REGRESSION        /* num_labels == 1, mean squared error */
} sm_problem_type;

typedef struct sm_bert_config {
    int vocab_size;
    int hidden_size;
    int num_layers;           /* num_hidden_layers */
    int num_heads;            /* num_attention_heads */
    int intermediate_size;
    int max_position;         /* max_position_embeddings */
    int type_vocab_size;
    int pad_token_id;
    float layer_norm_eps;
    float hidden_dropout;     /* hidden_dropout_prob */
    float attn_dropout;       /* attention_probs_dropout_prob */
    float classifier_dropout; /* classifier_dropout, or hidden_dropout when null/absent */
    float initializer_range;
    char hidden_act[16];      /* only "gelu" (exact erf GELU) is supported */
    int num_labels;
    sm_problem_type problem;
    char **id2label;          /* num_labels strings, owned; NULL (sm_config_default) means LABEL_i */
} sm_bert_config;

/* Defaults of transformers' BertConfig (bert-base shape, 2 labels, single-label). */
void sm_config_default(sm_bert_config *c);
/* Parse config.json. Missing optional fields take BertConfig's defaults; a missing required field or
 * a wrongly-typed one is an error naming the field and the file. */
sm_status sm_config_load(const char *path, sm_bert_config *c, sm_error *e);
/* Serialise as a transformers-compatible config.json (BertForSequenceClassification). Caller frees. */
char *sm_config_to_json(const sm_bert_config *c);
/* Set num_labels/problem/id2label (copies labels; labels may be NULL for LABEL_i). */
sm_status sm_config_set_labels(sm_bert_config *c, int num_labels, const char *const *labels, sm_error *e);
/* The name of label i: id2label[i], or "LABEL_i" written into buf. */
const char *sm_config_label(const sm_bert_config *c, int i, char *buf, size_t cap);
sm_status sm_config_copy(sm_bert_config *dst, const sm_bert_config *src, sm_error *e);
void sm_config_free(sm_bert_config *c);

#endif
