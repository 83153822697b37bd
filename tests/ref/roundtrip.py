#!/usr/bin/env python3
# roundtrip.py: what smartty fine-tunes and saves loads back in transformers unchanged. For each family
# (BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA) a small model with its tokenizer is fine-tuned a few steps
# by `smartty train` on SST-2 sentences and saved; transformers' AutoModelForSequenceClassification and
# AutoTokenizer then load the saved folder, and their logits on real sentences must equal what
# `smartty predict` prints for the same folder within 1e-4. Run on purpose, from the top of the source
# tree after building (sh tests/setup.sh), with a Python that has torch and transformers:
#   /work/venv/bin/python tests/ref/roundtrip.py [--smartty build/smartty]
# Never run by make check. Prints one line per family and exits 1 if any differs.
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DistilBertConfig,
                          DistilBertForSequenceClassification, ElectraConfig, ElectraForSequenceClassification)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
SHARED = os.environ.get("SMARTTY_SHARED", os.path.join(TOP, "..", "shared"))


def sst2(n, skip=0):
    with open(os.path.join(SHARED, "datasets", "sst2", "dev.tsv"), encoding="utf-8") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(r)
        rows = [row for row in r if len(row) == 2]
    return rows[skip:skip + n]


def with_wordpiece(tmp, name, model):
    # a DistilBERT or ELECTRA over the shared BERT fixture's WordPiece vocabulary
    d = os.path.join(tmp, name)
    model.save_pretrained(d)
    src = os.path.join(SHARED, "fixtures", "hf-bert", "bert-tiny-random-cls3")
    for f in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), d)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smartty", default=os.path.join(TOP, "build", "smartty"))
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="smartty-roundtrip.")
    fam = os.path.join(TOP, "tests", "fixtures", "hf-families")
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=130, vocab_size=1200, num_labels=2, initializer_range=0.2)
    models = [
        ("bert", os.path.join(SHARED, "fixtures", "hf-bert", "bert-tiny-random-cls3")),
        ("roberta", os.path.join(fam, "roberta-bpe")),
        ("xlm-roberta", os.path.join(fam, "xlm-roberta-unigram")),
        ("distilbert", with_wordpiece(tmp, "distilbert", DistilBertForSequenceClassification(DistilBertConfig(
            vocab_size=1200, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=130,
            num_labels=2, initializer_range=0.2)))),
        ("electra", with_wordpiece(tmp, "electra", ElectraForSequenceClassification(ElectraConfig(
            embedding_size=16, **small)))),
    ]
    train = os.path.join(tmp, "train.tsv")
    texts = os.path.join(tmp, "texts.tsv")
    with open(train, "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        for s, l in sst2(96):
            f.write("%s\tLABEL_%s\n" % (s, l))
    sentences = [s for s, _ in sst2(40, skip=200)]
    with open(texts, "w", encoding="utf-8") as f:
        f.write("sentence\n")
        for s in sentences:
            f.write(s + "\n")
    bad = 0
    print("family       steps  rows  max |smartty - transformers|  transformers class")
    for name, src in models:
        out = os.path.join(tmp, name + "-tuned")
        labels = "LABEL_0,LABEL_1,LABEL_2" if name == "bert" else "LABEL_0,LABEL_1"
        max_len = 64 if name == "bert" else 128  # the BERT fixture has 64 positions
        cmd = [args.smartty, "train", "--model", src, "--train", train, "--labels", labels, "--steps",
               str(args.steps), "--set", "batch_size=16", "--set", "lr=1e-3", "--max-len", str(max_len), "--save", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("%-12s smartty train failed:\n%s" % (name, r.stderr))
            bad = 1
            continue
        r = subprocess.run([args.smartty, "predict", "--model", out, "--data", texts, "--max-len", str(max_len)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("%-12s smartty predict failed:\n%s" % (name, r.stderr))
            bad = 1
            continue
        ours = torch.tensor([[float(x) for x in line.split("\t")] for line in r.stdout.strip().split("\n")])
        tok = AutoTokenizer.from_pretrained(out)
        model = AutoModelForSequenceClassification.from_pretrained(out).eval()
        with torch.no_grad():
            enc = tok(sentences, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
            theirs = model(**enc).logits
        diff = (ours - theirs).abs().max().item() if ours.shape == theirs.shape else float("inf")
        ok = diff <= 1e-4
        bad |= not ok
        print("%-12s %5d  %4d  %.2e %-20s %s" % (name, args.steps, len(sentences), diff, "ok" if ok else "DIFFERS",
                                                type(model).__name__))
    shutil.rmtree(tmp)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
