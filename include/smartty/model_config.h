/* model_config.h: an encoder's configuration (BERT, RoBERTa, XLM-R, DistilBERT or ELECTRA) as read from
 * Hugging Face's config.json, and written back under the family's own field names. Parsing lives in
 * src/lib/io/model_config.c (jansson); the families' tensor names and layer differences are the engine's. */
#ifndef SMARTTY_MODEL_CONFIG_H
#define SMARTTY_MODEL_CONFIG_H

#include "smartty/common.h"

typedef enum sm_problem_type {
    SM_PROBLEM_SINGLE_LABEL = 0, /* cross-entropy over num_labels classes */
    SM_PROBLEM_REGRESSION        /* num_labels == 1, mean squared error */
} sm_problem_type;

/* The architecture (config.json's model_type). Each runs as transformers' ...ForSequenceClassification. */
typedef enum sm_family {
    SM_FAMILY_BERT = 0,    /* "bert" */
    SM_FAMILY_ROBERTA,     /* "roberta": positions after padding_idx, head dense+tanh+out_proj, no pooler */
    SM_FAMILY_XLM_ROBERTA, /* "xlm-roberta": RoBERTa's network under another name */
    SM_FAMILY_DISTILBERT,  /* "distilbert": no token types, pre_classifier + ReLU head */
    SM_FAMILY_ELECTRA,     /* "electra" (discriminator): embedding_size, embeddings_project, GELU head */
    SM_FAMILY_COUNT
} sm_family;

/* config.json's model_type of a family ("bert", "roberta", ...). */
const char *sm_family_model_type(sm_family f);

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
    sm_family family;         /* SM_FAMILY_BERT unless model_type says otherwise */
    int embedding_size;       /* ELECTRA's embedding width; 0 (or hidden_size) means hidden_size */
} sm_bert_config;

/* Defaults of transformers' BertConfig (bert-base shape, 2 labels, single-label). */
void sm_config_default(sm_bert_config *c);
/* Parse config.json. model_type chooses the family and so the field names (DistilBERT's dim, n_layers,
 * n_heads, hidden_dim, dropout, attention_dropout, seq_classif_dropout, activation; the others BERT's,
 * ELECTRA's embedding_size besides). Missing optional fields take the family's transformers defaults;
 * a missing required field or a wrongly-typed one is an error naming the field and the file. */
sm_status sm_config_load(const char *path, sm_bert_config *c, sm_error *e);
/* Serialise as a transformers-compatible config.json (the family's ...ForSequenceClassification, its
 * field names). Caller frees. */
char *sm_config_to_json(const sm_bert_config *c);
/* Set num_labels/problem/id2label (copies labels; labels may be NULL for LABEL_i). */
sm_status sm_config_set_labels(sm_bert_config *c, int num_labels, const char *const *labels, sm_error *e);
/* The name of label i: id2label[i], or "LABEL_i" written into buf. */
const char *sm_config_label(const sm_bert_config *c, int i, char *buf, size_t cap);
sm_status sm_config_copy(sm_bert_config *dst, const sm_bert_config *src, sm_error *e);
void sm_config_free(sm_bert_config *c);

#endif
