#!/usr/bin/env python3
"""minilm_reference.py: runs ../shared/reference/finetune_torch.py (loaded from its path, not copied)
and adds the dev loss to each run's JSON line ("dev_loss", one per epoch, beside "history").

The reference prints only the dev metric; this wrapper records the fine-tuned model's logits in its
dev evaluations (eval mode, no gradient; the EMA teacher is a different object and is not recorded)
and computes the mean cross-entropy (MSE for regression) against the gold labels. It changes nothing
in the training. Usage: minilm_reference.py PATH/finetune_torch.py [its arguments]
"""
import sys

import torch
import torch.nn.functional as F
import transformers

from same_start import load_reference  # bench/, beside this script

if len(sys.argv) < 2 or not sys.argv[1].endswith(".py"):
    sys.exit("usage: minilm_reference.py PATH/finetune_torch.py [its arguments]")
ft = load_reference(sys.argv[1])

state = {"model": None, "logits": [], "losses": []}
auto = transformers.AutoModelForSequenceClassification
load = auto.from_pretrained


def from_pretrained(*a, **k):
    m = load(*a, **k)
    state.update(model=m, logits=[], losses=[])

    def hook(mod, inputs, out):
        if mod is state["model"] and not mod.training and not torch.is_grad_enabled():
            state["logits"].append(out.logits.detach().float().cpu())

    m.register_forward_hook(hook)
    return m


auto.from_pretrained = from_pretrained
metric = ft.metric


def metric_and_loss(kind, preds, golds):
    lg = torch.cat(state["logits"])
    state["logits"] = []
    if lg.shape[0] != len(golds):
        sys.exit(f"minilm_reference: {lg.shape[0]} dev logits recorded for {len(golds)} examples")
    if kind in ("pearson", "spearman"):
        loss = F.mse_loss(lg.squeeze(-1), torch.tensor(golds, dtype=torch.float))
    else:
        loss = F.cross_entropy(lg, torch.tensor(golds, dtype=torch.long))
    state["losses"].append(round(float(loss), 6))
    return metric(kind, preds, golds)


ft.metric = metric_and_loss
run = ft.run


def run_with_loss(args, seed, dev):
    r = run(args, seed, dev)
    r["dev_loss"] = list(state["losses"])
    return r


ft.run = run_with_loss
sys.argv = [sys.argv[1]] + sys.argv[2:]
ft.main()
