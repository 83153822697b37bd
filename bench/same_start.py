#!/usr/bin/env python3
"""same_start.py: the helper of bench/same_start.sh (smartty and the PyTorch reference from one start).

  same_start.py prepare SRC DST SEED LABELS
      DST: SRC as a sequence classifier (AutoModelForSequenceClassification, its fresh classifier drawn
      by torch with SEED), dropout 0 in its config, LABELS (comma-separated) as id2label; saved as
      model.safetensors with SRC's tokenizer files, so that both programs load the same weights.
  same_start.py tokens PATH/finetune_torch.py MODEL FILE TEXT PAIR IDS
      the reference's token ids of FILE (its read_rows and encode, max length 128) against IDS (one line
      of ids per row, as `smartty tokenize` prints them); prints how many rows differ and were truncated.
  same_start.py run PATH/finetune_torch.py [its arguments]
      runs the reference (loaded from its path, not copied) and prints one line per training step:
      "step N loss L grad_norm G" (the task loss of the step's batch, and the global gradient norm
      before clipping, as torch.nn.utils.clip_grad_norm_ returns it). It changes nothing in the training.
"""
import importlib.util
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F


def prepare(src, dst, seed, labels):
    from transformers import AutoConfig, AutoModelForSequenceClassification
    names = labels.split(",")
    cfg = AutoConfig.from_pretrained(src, num_labels=len(names),
                                     id2label={i: n for i, n in enumerate(names)},
                                     label2id={n: i for i, n in enumerate(names)})
    cfg.hidden_dropout_prob = 0.0
    cfg.attention_probs_dropout_prob = 0.0
    torch.manual_seed(seed)
    m = AutoModelForSequenceClassification.from_pretrained(src, config=cfg)
    os.makedirs(dst, exist_ok=True)
    m.save_pretrained(dst, safe_serialization=True)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), dst)
    with open(os.path.join(dst, "config.json")) as f:
        c = json.load(f)
    print(f"same_start: {dst}: {c['model_type']} classifier, labels {names}, dropout "
          f"{c['hidden_dropout_prob']}/{c['attention_probs_dropout_prob']}, classifier drawn with seed {seed}")


def load_reference(path):
    spec = importlib.util.spec_from_file_location("finetune_torch", path)
    ft = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ft)
    return ft


def tokens(ref, model, path, text, pair, ids_path):
    from transformers import AutoTokenizer
    ft = load_reference(ref)
    rows = ft.read_rows(path, text, pair, text, False)  # the label column is not used here
    ref_ids, _ = ft.encode(AutoTokenizer.from_pretrained(model), rows, 128)
    with open(ids_path) as f:
        ours = [[int(t) for t in line.split()] for line in f]
    bad = [i + 2 for i, (a, b) in enumerate(zip(ref_ids, ours)) if a != b]
    trunc = sum(1 for x in ref_ids if len(x) == 128)
    print(f"same_start: {path}: {len(ref_ids)} rows, {trunc} truncated to 128; token ids differ in "
          f"{len(bad) + abs(len(ref_ids) - len(ours))} rows" + (f" (lines {bad[:10]})" if bad else ""))
    return 0 if not bad and len(ref_ids) == len(ours) else 1


def run(argv):
    ft = load_reference(argv[0])
    state = {"step": 0, "loss": None}
    ce = F.cross_entropy
    clip = torch.nn.utils.clip_grad_norm_

    def cross_entropy(*a, **k):
        out = ce(*a, **k)
        if torch.is_grad_enabled():  # the training step's task loss (dev evaluation runs without grad)
            state["loss"] = float(out.detach())
        return out

    def clip_grad_norm_(*a, **k):
        n = clip(*a, **k)
        state["step"] += 1
        print(f"step {state['step']} loss {state['loss']:.9g} grad_norm {float(n):.9g}", flush=True)
        return n

    ft.F.cross_entropy = cross_entropy
    ft.torch.nn.utils.clip_grad_norm_ = clip_grad_norm_
    sys.argv = argv
    ft.main()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 8 and sys.argv[1] == "tokens":
        sys.exit(tokens(*sys.argv[2:]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "run" and sys.argv[2].endswith(".py"):
        run(sys.argv[2:])
    else:
        sys.exit("usage: same_start.py prepare SRC DST SEED LABELS | tokens REF MODEL FILE TEXT PAIR IDS | "
                 "run REF [args]")
