#!/usr/bin/env python3
# make_family_fixtures.py: writes tests/fixtures/hf-families/, tiny random RoBERTa, XLM-R, DistilBERT and
# ELECTRA sequence classifiers (and masked-LM checkpoints of each family) saved by transformers, with
# the outputs transformers computes for them, in the layout of ../shared/fixtures/hf-bert. Run on
# purpose (e.g. /work/venv/bin/python tests/ref/make_family_fixtures.py); never run by make check.
#
# Per classifier folder: config.json, model.safetensors, reference.json (batch, logits, loss,
# pooled_first_token_last_layer, smart: clean/perturbed logits and symkl) and
# reference_grads.safetensors (d loss / d every parameter under the checkpoint's names, the word
# embeddings included; grad.inputs_embeds; grad.embedding_output = d loss / d encoder input, i.e. the
# embedding block's output after embeddings_project where there is one; smart.delta, smart.grad_delta).
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import (DistilBertConfig, DistilBertForMaskedLM, DistilBertForSequenceClassification,
                          DistilBertModel, ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining,
                          ElectraForSequenceClassification, ElectraModel, RobertaConfig, RobertaForMaskedLM,
                          RobertaForSequenceClassification, RobertaModel, XLMRobertaConfig, XLMRobertaForMaskedLM,
                          XLMRobertaForSequenceClassification)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hf-families")
V = 300


def randomize_norms(model, g):
    # LayerNorm gains random around 1 and biases random, so that a swapped gamma/beta shows
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def make_batch(g, B, T, pad, bos, eos, pairs, types_used, num_labels):
    ids = torch.full((B, T), pad, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    lengths = [T, T - 1, 5, 9, T - 7, 3, 12, T - 2][:B]
    for b, n in enumerate(lengths):
        body = torch.randint(5, V, (n,), generator=g)
        body[0] = bos
        body[n - 1] = eos
        if pairs and b % 2 == 1 and n > 6:
            mid = n // 2
            body[mid] = eos
            if types_used:
                types[b, mid + 1:n] = 1
        ids[b, :n] = body
        mask[b, :n] = 1
    if num_labels == 1:
        labels = torch.randn((B,), generator=g)
    else:
        labels = torch.randint(0, num_labels, (B,), generator=g)
    return ids, types, mask, labels


def base_of(model):
    return getattr(model, model.base_model_prefix)


def encoder_input_module(model):
    base = base_of(model)
    return getattr(base, "embeddings_project", None) or base.embeddings


def write_classifier(name, model, types_used, pad, bos, eos, seed):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    randomize_norms(model, g)
    model.save_pretrained(d, safe_serialization=True)
    model.eval()
    cfg = model.config
    C = cfg.num_labels
    B, T = 8, 20
    ids, types, mask, labels = make_batch(g, B, T, pad, bos, eos, True, types_used, C)
    kw = dict(input_ids=ids, attention_mask=mask)
    if types_used:
        kw["token_type_ids"] = types
    base = base_of(model)
    store = {}

    def word_hook(mod, inp, out):
        if out.requires_grad:
            out.retain_grad()
        store["inputs_embeds"] = out
        return out

    def emb_hook(mod, inp, out):
        if "delta" in store:
            out = out + store["delta"]
        if out.requires_grad:
            out.retain_grad()
        store["emb"] = out
        return out

    h1 = base.embeddings.word_embeddings.register_forward_hook(word_hook)
    h2 = encoder_input_module(model).register_forward_hook(emb_hook)
    model.zero_grad()
    out = model(**kw, labels=labels, output_hidden_states=True)
    out.loss.backward()
    grads = {n: p.grad.detach().clone().contiguous() for n, p in model.named_parameters()
             if p.grad is not None}
    # under the checkpoint's names (tied weights are saved once)
    from safetensors import safe_open
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        saved = set(f.keys())
    grads = {n: t for n, t in grads.items() if n in saved}
    missing = saved - set(grads)
    if missing:
        sys.exit(f"{name}: no gradient for {sorted(missing)}")
    grads["grad.inputs_embeds"] = store["inputs_embeds"].grad.detach().clone().contiguous()
    grads["grad.embedding_output"] = store["emb"].grad.detach().clone().contiguous()
    H = store["emb"].shape[-1]
    logits = out.logits.detach()
    last = out.hidden_states[-1][:, 0, :].detach()

    ref = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model_type": cfg.model_type,
        "problem_type": cfg.problem_type,
        "batch": {"input_ids": ids.tolist(), "token_type_ids": types.tolist(),
                  "attention_mask": mask.tolist(), "labels": labels.tolist()},
        "logits": logits.tolist(),
        "loss": out.loss.item(),
        "pooled_first_token_last_layer": last.tolist(),
        "notes": "model in eval mode (dropout off); weights random, LayerNorm gains random around 1; "
                 "reference_grads.safetensors holds d loss / d parameter under the checkpoint's own names "
                 "(the word embeddings included), grad.inputs_embeds (d loss / d looked-up word embeddings), "
                 "grad.embedding_output (d loss / d encoder input: the embedding block's output, after "
                 "embeddings_project where the model has one), smart.delta and smart.grad_delta. "
                 "token_type_ids are passed to the model only when it has token types to use.",
    }
    if C > 1:
        delta = 0.05 * torch.randn((B, T, H), generator=g) * mask[:, :, None]
        model.zero_grad()
        with torch.no_grad():
            clean = model(**kw).logits
        store["delta"] = delta.clone().requires_grad_(True)
        pert = model(**kw).logits
        p = torch.log_softmax(clean, -1)
        q = torch.log_softmax(pert, -1)
        symkl = ((p.exp() * (p - q)).sum(-1) + (q.exp() * (q - p)).sum(-1)).mean()
        symkl.backward()
        grads["smart.delta"] = delta.contiguous()
        grads["smart.grad_delta"] = store["delta"].grad.detach().clone().contiguous()
        ref["smart"] = {
            "symkl": symkl.item(), "clean_logits": clean.tolist(), "perturbed_logits": pert.detach().tolist(),
            "definition": "mean over examples of KL(p||q)+KL(q||p); p from clean logits (constant), q from "
                          "logits with delta added to the encoder input (the output of the embedding block, "
                          "after embeddings_project where there is one); grad_delta is d symkl / d delta"}
        del store["delta"]
    h1.remove()
    h2.remove()
    save_file(grads, os.path.join(d, "reference_grads.safetensors"))
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


def write_plain(name, model, seed):
    d = os.path.join(OUT, name)
    g = torch.Generator().manual_seed(seed)
    randomize_norms(model, g)
    model.save_pretrained(d, safe_serialization=True)


def main():
    torch.manual_seed(0)
    common = dict(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  hidden_act="gelu", initializer_range=0.2)
    rob = dict(common, max_position_embeddings=40, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
               eos_token_id=2, layer_norm_eps=1e-5)
    write_classifier("roberta-cls3", RobertaForSequenceClassification(RobertaConfig(**rob, num_labels=3)),
                     False, 1, 0, 2, 1)
    write_classifier("xlm-roberta-reg", XLMRobertaForSequenceClassification(
        XLMRobertaConfig(**rob, num_labels=1, problem_type="regression")), False, 1, 0, 2, 2)
    dis = dict(vocab_size=V, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=32,
               activation="gelu", initializer_range=0.2, pad_token_id=0, seq_classif_dropout=0.2)
    write_classifier("distilbert-cls2", DistilBertForSequenceClassification(DistilBertConfig(**dis, num_labels=2)),
                     False, 0, 101 % V, 102 % V, 3)
    ele = dict(common, embedding_size=16, max_position_embeddings=32, type_vocab_size=2, pad_token_id=0,
               layer_norm_eps=1e-12)
    write_classifier("electra-cls3", ElectraForSequenceClassification(ElectraConfig(**ele, num_labels=3)),
                     True, 0, 2, 3, 4)
    # masked-LM checkpoints (what people download): smaller still
    small = dict(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    write_plain("roberta-mlm", RobertaForMaskedLM(RobertaConfig(**small, max_position_embeddings=20,
                                                                type_vocab_size=1, pad_token_id=1)), 5)
    write_plain("xlm-roberta-mlm", XLMRobertaForMaskedLM(XLMRobertaConfig(**small, max_position_embeddings=20,
                                                                          type_vocab_size=1, pad_token_id=1)), 6)
    write_plain("distilbert-mlm", DistilBertForMaskedLM(DistilBertConfig(vocab_size=60, dim=16, n_layers=1,
                                                                         n_heads=2, hidden_dim=32,
                                                                         max_position_embeddings=20)), 7)
    write_plain("electra-mlm", ElectraForMaskedLM(ElectraConfig(**small, embedding_size=8,
                                                                max_position_embeddings=20)), 8)
    write_plain("electra-discriminator", ElectraForPreTraining(ElectraConfig(**small, embedding_size=8,
                                                                             max_position_embeddings=20)), 9)
    write_tok_model("roberta-bpe", "bpe", RobertaConfig, RobertaForSequenceClassification, 2000, 10)
    write_tok_model("xlm-roberta-unigram", "unigram", XLMRobertaConfig, XLMRobertaForSequenceClassification, 1502, 11)
    # base models (tensors without the base prefix; RoBERTa's with a pooler the classifier does not use)
    write_plain("roberta-base", RobertaModel(RobertaConfig(**small, max_position_embeddings=20, type_vocab_size=1,
                                                           pad_token_id=1)), 12)
    write_plain("distilbert-base", DistilBertModel(DistilBertConfig(vocab_size=60, dim=16, n_layers=1, n_heads=2,
                                                                    hidden_dim=32, max_position_embeddings=20)), 13)
    write_plain("electra-base", ElectraModel(ElectraConfig(**small, embedding_size=8, max_position_embeddings=20)), 14)


def write_tok_model(name, tok_dir, config_class, model_class, vocab, seed):
    # a RoBERTa / XLM-R classifier over tests/fixtures/<tok_dir>'s tokenizer (run make_bpe_fixture.py and
    # make_unigram_fixture.py first), with transformers' logits for the texts of predict.tsv: tokenizer
    # and network end to end
    import shutil
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    src = os.path.join(OUT, "..", tok_dir)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), d)
    cfg = config_class(vocab_size=vocab, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32, max_position_embeddings=130, type_vocab_size=1, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, initializer_range=0.3, num_labels=2)
    write_plain(name, model_class(cfg), seed)
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSequenceClassification.from_pretrained(d).eval()
    texts = ["Hello world", "The film is a charming and often affecting journey.", "Café déjà vu 😀 北京",
             "unflinchingly bleak and desperate", "It's   not what they'd've SAID!!", "<mask> marks the spot",
             "a " * 60]
    with open(os.path.join(d, "predict.tsv"), "w", encoding="utf-8") as f:
        f.write("sentence\n")
        for t in texts:
            f.write(t + "\n")
    with torch.no_grad():
        enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        logits = model(**enc).logits
    with open(os.path.join(d, "predict.expected"), "w") as f:
        for row in logits.tolist():
            f.write("\t".join("%.7g" % x for x in row) + "\n")


if __name__ == "__main__":
    main()
