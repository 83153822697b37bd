#!/bin/sh
# families_predict.sh: `smartty predict` on a RoBERTa checkpoint with its byte-level BPE and on an XLM-R
# checkpoint with its SentencePiece Unigram (tests/fixtures/hf-families/{roberta-bpe,xlm-roberta-unigram},
# made by tests/ref/make_family_fixtures.py): the tokenizer is chosen from the model folder, and every
# logit matches what transformers computed (AutoTokenizer + AutoModelForSequenceClassification) within 1e-4.
set -u
bin=${SMARTTY_BIN:?}
out=${TMPDIR:-/tmp}/families_predict.$$
trap 'rm -f "$out" "$out.raw"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for name in roberta-bpe xlm-roberta-unigram; do
    d=${SMARTTY_SRCDIR:-..}/tests/fixtures/hf-families/$name
    [ -f "$d/predict.expected" ] || fail "$d/predict.expected is absent"
    "$bin" predict --model "$d" --data "$d/predict.tsv" --output logits > "$out.raw" 2> /dev/null || fail "$name: predict exit $?"
    tail -n +2 "$out.raw" > "$out" # the header line names the columns
    [ "$(wc -l < "$out")" -eq "$(wc -l < "$d/predict.expected")" ] || fail "$name: row count: $(cat "$out")"
    paste "$out" "$d/predict.expected" | awk -F'\t' '
        { for (i = 1; i <= 2; i++) { d = $i - $(i + 2); if (d < 0) d = -d; if (d > 1e-4) { print "row " NR ": " $0; bad = 1 } } }
        END { exit bad }' || fail "$name: logits differ from transformers'"
done
exit 0
