#!/usr/bin/env python3
# make_unigram_fixture.py: writes tests/fixtures/unigram/, a SentencePiece Unigram trained by
# `sentencepiece` on text from ../shared/datasets (default nmt_nfkc normalization, so the file carries a
# real Precompiled charsmap) and converted by transformers as XLM-R's tokenizer (tokenizer.json,
# tokenizer_config.json), and reference.jsonl.gz: per row the texts a (and b), AutoTokenizer's ids
# without truncation ("ids") and at max_length 128, longest first ("ids128", "types128"). Run on
# purpose with the venv's python (after nothing else); never run by make check.
import gzip
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_bpe_fixture import SPECIAL, rows  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "unigram")
EXTRA = [
    ("ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ① ﬁ ligature ㍿ ℡ ™ Ⅻ", None),
    ("e\u0301 combining, n\u0303, a\u030a\u0301 stacked, 한\u1100 jamo", None),
    ("no\u00a0break\u2003em\u200bzero\u00adsoft\ufeffbom", None),
    ("\u2581literal metaspace\u2581 inside", None),
    ("CRLF\r\nline\ttab\x0bvt", None),
    ("Flags 🇯🇵🇩🇪 skin 👍🏿 keycap 1️⃣ zwj 🧑‍💻", None),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    texts = [t for (t,) in rows("imdb/train_subset.tsv", ["text"], 2000)]
    texts += [t for (t,) in rows("ag_news/train_subset.tsv", ["text"], 3000)]
    texts += [a for a, _ in SPECIAL + EXTRA if a] * 5
    with open(os.path.join(tmp, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(t.replace("\n", " ") for t in texts))
    spm.SentencePieceTrainer.train(input=os.path.join(tmp, "train.txt"), model_prefix=os.path.join(tmp, "uni"),
                                   vocab_size=1500, model_type="unigram", character_coverage=0.9995,
                                   minloglevel=2)
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    shutil.copy(os.path.join(tmp, "uni.model"), os.path.join(src, "sentencepiece.bpe.model"))
    with open(os.path.join(src, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512}, f)
    AutoTokenizer.from_pretrained(src).save_pretrained(OUT)  # converted by transformers: tokenizer.json
    shutil.rmtree(tmp)
    ref = AutoTokenizer.from_pretrained(OUT)
    norm = json.load(open(os.path.join(OUT, "tokenizer.json")))["normalizer"]
    if "Precompiled" not in json.dumps(norm):
        sys.exit("the converted tokenizer.json has no Precompiled charsmap")

    data = list(SPECIAL) + EXTRA
    data += [(a, None) for (a,) in rows("sst2/dev.tsv", ["sentence"])]
    data += [(a, b) for a, b in rows("mrpc/dev.tsv", ["#1 String", "#2 String"])]
    data += [(a, b) for a, b in rows("rte/dev.tsv", ["sentence1", "sentence2"])]
    data += [(a, b) for a, b in rows("stsb/dev.tsv", ["sentence1", "sentence2"], 600)]
    data += [(a, None) for (a,) in rows("ag_news/test.tsv", ["text"], 600)]
    data += [(a[:2000], None) for (a,) in rows("imdb/test_subset.tsv", ["text"], 30)]
    with gzip.open(os.path.join(OUT, "reference.jsonl.gz"), "wt", encoding="utf-8") as f:
        for a, b in data:
            full = ref(a, b) if b is not None else ref(a)
            cut = ref(a, b, truncation="longest_first", max_length=128) if b is not None else \
                ref(a, truncation="longest_first", max_length=128)
            row = {"a": a, "b": b, "ids": full["input_ids"], "ids128": cut["input_ids"],
                   "types128": cut.get("token_type_ids", [0] * len(cut["input_ids"]))}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(data), "rows")


if __name__ == "__main__":
    main()
