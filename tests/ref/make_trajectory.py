#!/usr/bin/env python3
"""make_trajectory.py: the PyTorch reference's training trajectory for tests/trajectory.sh.

Writes tests/fixtures/trajectory/train.tsv (24 generated rows, three labels, words of the fixture's
vocabulary) and, for each method, tests/fixtures/trajectory/METHOD.txt: one line per training step,
"step N loss L grad_norm G", as the reference (../shared/reference/finetune_torch.py, run through
bench/same_start.py, which only records) computes them. The model is ../shared/fixtures/hf-bert/
bert-tiny-random-cls3 with dropout 0 (a copy with only config.json changed); the batch is the whole
file, so the order of the rows does not matter; 20 steps, lr 1e-3, AdamW, wd 0.01, warm-up 2 steps
(0.1 x 20 by either rounding), linear decay, clip 1.0. Methods: vanilla, and mu (the paper preset with
lambda_s 0: the mean-teacher term, which draws nothing at random). Run it on purpose, from the
repository root, in a venv with torch and transformers:  python3 tests/ref/make_trajectory.py [SHARED]
"""
import json, os, random, shutil, subprocess, sys, tempfile

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
src = os.path.join(shared, "fixtures/hf-bert/bert-tiny-random-cls3")
out = "tests/fixtures/trajectory"
os.makedirs(out, exist_ok=True)

words = ("the software may be covered under terms of this library program source use other "
         "such your notice public license free code work version copy modify distribute").split()
g = random.Random(7)
with open(os.path.join(out, "train.tsv"), "w") as f:
    f.write("sentence\tlabel\n")
    for i in range(24):
        n = g.randint(3, 14)
        f.write(" ".join(g.choice(words) for _ in range(n)) + f"\tLABEL_{i % 3}\n")

tmp = tempfile.mkdtemp()
model = os.path.join(tmp, "model")
shutil.copytree(src, model)
with open(os.path.join(model, "config.json")) as f:
    cfg = json.load(f)
cfg["hidden_dropout_prob"] = 0.0
cfg["attention_probs_dropout_prob"] = 0.0
with open(os.path.join(model, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)

ref = os.path.join(shared, "reference/finetune_torch.py")
common = ["--model", model, "--train", f"{out}/train.tsv", "--dev", f"{out}/train.tsv", "--text", "sentence",
          "--label", "label", "--labels", "LABEL_0,LABEL_1,LABEL_2", "--metric", "acc", "--seeds", "1",
          "--epochs", "20", "--lr", "1e-3", "--batch", "24", "--max-len", "64", "--warmup", "0.1",
          "--threads", "1"]
for name, method in (("vanilla", ["--method", "vanilla"]), ("mu", ["--method", "smart", "--lambda-s", "0"])):
    r = subprocess.run([sys.executable, "bench/same_start.py", "run", ref] + common + method,
                       capture_output=True, text=True, check=True)
    lines = [l for l in r.stdout.splitlines() if l.startswith("step ")]
    assert len(lines) == 20, r.stdout + r.stderr
    with open(os.path.join(out, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{out}/{name}.txt: {lines[0]} ... {lines[-1]}")
shutil.rmtree(tmp)
