#!/usr/bin/env python3
"""minilm_logits.py: what Hugging Face transformers computes for all-MiniLM-L6-v2 (the folder of
bench/get-models.sh) on a few real sentences, written to tests/ref/minilm_logits.json for
tests/check_minilm.c: the token ids, the pooler output and the logits of BertForSequenceClassification
with a fixed seeded classifier head (saved in the file, so smartty uses the same one).

Run it on purpose, from a venv with torch and transformers (never from make check):
    /work/venv/bin/python tests/ref/minilm_logits.py [MODEL_DIR] > tests/ref/minilm_logits.json
"""
import json, os, sys

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(home, "smartty", "models", "all-MiniLM-L6-v2")

# real sentences: an RTE pair, an MRPC pair, SST-2-like single sentences (accents, digits, casing)
examples = [
    ["No Weapons of Mass Destruction Found in Iraq Yet.", "Weapons of Mass Destruction Found in Iraq."],
    ["Amrozi accused his brother, whom he called \"the witness\", of deliberately distorting his evidence.",
     "Referring to him as only \"the witness\", Amrozi accused his brother of deliberately distorting his evidence."],
    ["It's a charming and often affecting journey.", None],
    ["The café in Zürich opened in 1998; its crème brûlée is UNFORGETTABLE!", None],
    ["unflinchingly bleak and desperate", None],
]

torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(model_dir)
model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2).eval()
g = torch.Generator().manual_seed(1234)
w = torch.randn(2, model.config.hidden_size, generator=g) * 0.02 * 10  # a head with visible logits
b = torch.tensor([0.05, -0.05])
with torch.no_grad():
    model.classifier.weight.copy_(w)
    model.classifier.bias.copy_(b)

ids, types = [], []
for a, p in examples:
    enc = tok(a, p, truncation=True, max_length=128) if p is not None else tok(a, truncation=True, max_length=128)
    ids.append(enc["input_ids"])
    types.append(enc["token_type_ids"])
T = max(len(x) for x in ids)
x = torch.zeros(len(ids), T, dtype=torch.long)
t = torch.zeros_like(x)
m = torch.zeros_like(x)
for k in range(len(ids)):
    n = len(ids[k])
    x[k, :n] = torch.tensor(ids[k])
    t[k, :n] = torch.tensor(types[k])
    m[k, :n] = 1
with torch.no_grad():
    out = model.bert(input_ids=x, token_type_ids=t, attention_mask=m)
    logits = model(input_ids=x, token_type_ids=t, attention_mask=m).logits

import transformers
r4 = lambda v: [float(f"{z:.8g}") for z in v]
json.dump({
    "about": "tests/ref/minilm_logits.py: transformers' outputs for all-MiniLM-L6-v2 (eval mode), "
             "with the classifier head below",
    "transformers": transformers.__version__, "torch": torch.__version__,
    "examples": examples,
    "input_ids": ids, "token_type_ids": types,
    "classifier.weight": [r4(row) for row in w.tolist()], "classifier.bias": r4(b.tolist()),
    "first_token_last_layer": [r4(row[0]) for row in out.last_hidden_state.tolist()],
    "pooled": [r4(row) for row in out.pooler_output.tolist()],
    "logits": [r4(row) for row in logits.tolist()],
}, sys.stdout, ensure_ascii=False, indent=1)
sys.stdout.write("\n")
