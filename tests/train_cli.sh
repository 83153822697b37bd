#!/bin/sh
# train_cli.sh: `smartty train` end to end on bert-tiny and a slice of SST-2: bad hyperparameters are
# refused before anything loads (exit 2, with the allowed range), progress lines are plain (no \r),
# one per log interval and per evaluation, the CSV has a row per step with record.h's field names,
# the summary names the checkpoint, and the checkpoint is a Hugging Face folder with the state beside.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2
fail() { echo "FAIL: $*" >&2; exit 1; }

# refused before loading: an unknown name, a value out of range, a bad enum, a bad preset, usage
for bad in "--set nosuch=1" "--set lr=-1" "--set adv_norm=linf" "--set lambda_s" "--preset fancy" "--steps 0"; do
    # shellcheck disable=SC2086
    "$bin" train --model /nonexistent --train /nonexistent $bad >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] || fail "'$bad': exit $rc, want 2 ($(cat "$tmp/err"))"
    grep -q nonexistent "$tmp/err" && fail "'$bad': something was loaded before the check: $(cat "$tmp/err")"
done
"$bin" train --model /nonexistent --train /nonexistent --set lr=-1 2>"$tmp/err"
grep -q "lr" "$tmp/err" && grep -q "10" "$tmp/err" || fail "the range of lr is not named: $(cat "$tmp/err")"
"$bin" train --train x 2>/dev/null; [ $? -eq 2 ] || fail "missing --model is not a usage error"
"$bin" train --help | grep -q -- "--resume" || fail "--help"
"$bin" train --help-params | grep -q "^lambda_s" || fail "--help-params"

# a short run with evaluations
"$bin" train --model "$model" --train "$data/train.tsv" --dev "$data/dev.tsv" --limit 48 \
    --preset paper --set batch_size=8 --set max_steps=6 --set log_every=2 --set eval_every=3 \
    --set max_len=32 --save "$tmp/ck" --metrics "$tmp/m.csv" >"$tmp/out" 2>"$tmp/err" \
    || fail "training failed: $(cat "$tmp/err")"
grep -q "$(printf '\r')" "$tmp/out" && fail "carriage return in the output"
[ "$(grep -c '^step [0-9]*/6 ' "$tmp/out")" -eq 3 ] || fail "want 3 progress lines: $(cat "$tmp/out")"
[ "$(grep -c '^eval step [36] ' "$tmp/out")" -eq 2 ] || fail "want 2 evaluation lines: $(cat "$tmp/out")"
grep -q '^done: 6 steps' "$tmp/out" || fail "no summary: $(cat "$tmp/out")"
grep -q '6 steps planned' "$tmp/out" || fail "the plan is not announced: $(head -1 "$tmp/out")"
grep -q "^saved to $tmp/ck" "$tmp/out" || fail "the summary does not say where it saved"
grep -q '^final dev: step 6 .* acc ' "$tmp/out" || fail "no final dev metrics"
head -1 "$tmp/m.csv" | grep -q '^step,epoch,loss,rs,breg,total,' || fail "CSV header: $(head -1 "$tmp/m.csv")"
[ "$(wc -l < "$tmp/m.csv")" -eq 7 ] || fail "CSV: want a header and 6 rows"
# the evaluation at step 3 is on row 3 (dev_acc, column 18), not on row 2
awk -F, 'NR == 4 && $18 == "" { exit 1 } NR == 3 && $18 != "" { exit 1 }' "$tmp/m.csv" \
    || fail "dev metrics on the wrong rows"
for f in config.json model.safetensors vocab.txt tokenizer_config.json trainer_state.json \
         trainer_state.safetensors journal.jsonl; do
    [ -f "$tmp/ck/$f" ] || fail "checkpoint lacks $f"
done
grep -q '"id2label"' "$tmp/ck/config.json" || fail "config.json has no id2label"
# the checkpoint is a model folder that predict loads as it is (a header line, then a line per row)
[ "$("$bin" predict --model "$tmp/ck" --data "$data/dev.tsv" --limit 3 2>"$tmp/err" | wc -l)" -eq 4 ] \
    || fail "predict on the checkpoint: $(cat "$tmp/err")"
grep -q '"step":0,"op":"preset","args":\["paper"\]' "$tmp/ck/journal.jsonl" || fail "journal lacks the preset"
grep -q '"step":6,"op":"save"' "$tmp/ck/journal.jsonl" || fail "journal lacks the save at step 6"

# --save into a folder that is not a checkpoint is refused before training
mkdir "$tmp/other" && echo keep > "$tmp/other/file"
"$bin" train --model "$model" --train "$data/train.tsv" --limit 8 --save "$tmp/other" 2>"$tmp/err"
[ $? -eq 2 ] || fail "--save over a foreign folder was not refused"
[ -f "$tmp/other/file" ] || fail "the foreign folder was touched"
exit 0
