/* demo_model.c: builds the demo's model from the library's pieces (configuration, tokenizer,
 * model, initialisation, Hugging Face writer). It does not train: the session does. */
#include "ui/demo_model.h"

#include <string.h>

#include "smartty/config.h"
#include "smartty/hf.h"
#include "smartty/model.h"
#include "smartty/tokenizer.h"

void ui_demo_default_shape(ui_demo_shape *s)
{
    s->layers = 2;
    s->hidden = 64;
    s->heads = 2;
    s->intermediate = 256;
    s->max_position = 64;
}

sm_status ui_demo_make_model(const char *dir, const char *vocab_path, const ui_demo_shape *shape,
                             uint64_t seed, sm_error *e)
{
    ui_demo_shape dflt;
    if (!shape) {
        ui_demo_default_shape(&dflt);
        shape = &dflt;
    }
    sm_tokenizer *tok = NULL;
    sm_status st = sm_tokenizer_load(vocab_path, 1, &tok, e);
    if (st)
        return st;
    sm_bert_config cfg;
    sm_config_default(&cfg);
    cfg.vocab_size = (int)sm_tokenizer_vocab_size(tok);
    cfg.hidden_size = shape->hidden;
    cfg.num_layers = shape->layers;
    cfg.num_heads = shape->heads;
    cfg.intermediate_size = shape->intermediate;
    cfg.max_position = shape->max_position;
    cfg.pad_token_id = sm_tokenizer_pad_id(tok);
    static const char *const labels[2] = {"0", "1"};
    sm_bert *m = NULL;
    st = sm_config_set_labels(&cfg, 2, labels, e);
    if (!st)
        st = sm_bert_create(&m, &cfg, 0, e);
    if (!st) {
        sm_rng rng;
        sm_rng_seed(&rng, seed);
        sm_bert_init(m, &rng);
        st = sm_hf_save(dir, m, &cfg, tok, e);
    }
    if (st)
        sm_err_prefix(e, "building the demo model in %s", dir);
    sm_bert_free(m);
    sm_config_free(&cfg);
    sm_tokenizer_free(tok);
    return st;
}
