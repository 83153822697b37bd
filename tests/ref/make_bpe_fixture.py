#!/usr/bin/env python3
# make_bpe_fixture.py: writes tests/fixtures/bpe/, a byte-level BPE (RoBERTa / GPT-2 style) trained
# by Hugging Face `tokenizers` on text from ../shared/datasets, saved as transformers saves a RoBERTa
# tokenizer (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json), and reference.jsonl.gz:
# per row the texts a (and b), the ids AutoTokenizer gives without truncation ("ids"), with
# truncation longest_first at max_length 128 ("ids128", "types128"), and the ids of the same text
# with add_prefix_space on ("ids_ps", the first 500 rows; null after). Run on purpose with the venv's python; never run by make check.
import csv
import gzip
import json
import os
import sys

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, RobertaTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "bpe")
SHARED = os.environ.get("SMARTTY_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
csv.field_size_limit(1 << 24)


def rows(path, cols, limit=None):
    out = []
    with open(os.path.join(SHARED, "datasets", path), newline="", encoding="utf-8-sig") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(r)
        idx = [header.index(c) for c in cols]
        for row in r:
            if len(row) < len(header):
                continue
            out.append(tuple(row[i] for i in idx))
            if limit and len(out) >= limit:
                break
    return out


SPECIAL = [
    ("", None), ("   ", None), ("Hello world", None), ("Hello  world\tand\n\nnew lines  ", None),
    ("  leading spaces", None), ("trailing space ", None),
    ("Café déjà vu, naïve façade, Ångström, Þórr, İstanbul", None),
    ("北京是中国的首都。東京は日本の首都です。서울은 한국의 수도입니다.", None),
    ("Emoji: 😀👍🏽🇫🇷 and family 👨‍👩‍👧‍👦 together", None),
    ("supercalifragilisticexpialidocious" * 4, None),
    ("Numbers 1234567890 ٣٤٥ ½ ² and 3.14159, 1,000,000", None),
    ("I'm sure it's what they'll've done; we'd SAY 'S no", None),
    ("The <mask> sat on the mat.", "A <mask>"),
    ("<s>literal specials</s> in text <pad>", None),
    ("Tabs\tand\u00a0no-break\u2009thin\u3000ideographic spaces", None),
    ("Control \u0001 chars \u007f and zero\u200bwidth", None),
    ("Mixed: naïve 😀 日本 123abc!!! ???", "Second text, longer than the first one by quite a bit indeed."),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    texts = [t for (t,) in rows("imdb/train_subset.tsv", ["text"], 3000)]
    texts += [t for (t,) in rows("ag_news/train_subset.tsv", ["text"], 3000)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.BpeTrainer(vocab_size=2000, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")),
                                                      add_prefix_space=False, trim_offsets=True)
    fast = RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>",
                                mask_token=AddedToken("<mask>", lstrip=True, rstrip=False),
                                add_prefix_space=False, model_max_length=512)
    fast.save_pretrained(OUT)
    tok.model.save(OUT)  # vocab.json and merges.txt
    ref = AutoTokenizer.from_pretrained(OUT)
    ps = AutoTokenizer.from_pretrained(OUT, add_prefix_space=True)
    if type(ref).__name__.find("Fast") < 0 and not getattr(ref, "is_fast", False):
        sys.exit("AutoTokenizer did not give the fast tokenizer")

    data = list(SPECIAL)
    data += [(a, None) for (a,) in rows("sst2/dev.tsv", ["sentence"])]
    data += [(a, b) for a, b in rows("mrpc/dev.tsv", ["#1 String", "#2 String"])]
    data += [(a, b) for a, b in rows("rte/dev.tsv", ["sentence1", "sentence2"])]
    data += [(a, b) for a, b in rows("stsb/dev.tsv", ["sentence1", "sentence2"], 600)]
    data += [(a, None) for (a,) in rows("ag_news/test.tsv", ["text"], 600)]
    data += [(a[:2000], None) for (a,) in rows("imdb/test_subset.tsv", ["text"], 30)]
    with gzip.open(os.path.join(OUT, "reference.jsonl.gz"), "wt", encoding="utf-8") as f:
        for k, (a, b) in enumerate(data):
            full = ref(a, b) if b is not None else ref(a)
            cut = ref(a, b, truncation="longest_first", max_length=128) if b is not None else \
                ref(a, truncation="longest_first", max_length=128)
            p = (ps(a, b) if b is not None else ps(a)) if k < 500 else None
            row = {"a": a, "b": b, "ids": full["input_ids"], "ids128": cut["input_ids"],
                   "types128": cut.get("token_type_ids", [0] * len(cut["input_ids"])),
                   "ids_ps": p["input_ids"] if p else None}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(data), "rows")


if __name__ == "__main__":
    main()
