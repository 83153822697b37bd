#!/bin/sh
# families_predict.sh: `smartty predict` on a RoBERTa checkpoint with its byte-level BPE
# (tests/fixtures/hf-families/roberta-bpe, made by tests/ref/make_family_fixtures.py): the tokenizer is
# chosen from the model folder, and every logit matches what transformers computed (AutoTokenizer +
# AutoModelForSequenceClassification) within 1e-4.
set -u
bin=${SMARTTY_BIN:?}
d=${SMARTTY_SRCDIR:-..}/tests/fixtures/hf-families/roberta-bpe
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -f "$d/predict.expected" ] || fail "$d/predict.expected is absent"

"$bin" predict --model "$d" --data "$d/predict.tsv" > "${TMPDIR:-/tmp}/families_predict.$$" 2> /dev/null \
    || fail "predict exit $?"
out=${TMPDIR:-/tmp}/families_predict.$$
trap 'rm -f "$out"' EXIT
[ "$(wc -l < "$out")" -eq "$(wc -l < "$d/predict.expected")" ] || fail "row count: $(cat "$out")"
paste "$out" "$d/predict.expected" | awk -F'\t' '
    { for (i = 1; i <= 2; i++) { d = $i - $(i + 2); if (d < 0) d = -d; if (d > 1e-4) { print "row " NR ": " $0; bad = 1 } } }
    END { exit bad }' || fail "logits differ from transformers'"
exit 0
