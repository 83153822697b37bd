#!/bin/sh
# everyday_bugs.sh: regression tests of the bugs a new user hit (issue 12): the console's `load train
# --max-len` is applied; `delete` with no ID deletes every breakpoint; multi-class data loads the
# model once (its notices print once); `smartty train` names no console command for an unknown
# hyperparameter; a saved console session replays from another working folder. Not the new commands.
set -u
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-../shared}
model=$shared/models/bert-tiny-mlm
sst=$shared/datasets/sst2/train.tsv
trec=$shared/datasets/trec/train.tsv
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
[ -d "$model" ] && [ -f "$sst" ] && [ -f "$trec" ] || { echo "SKIP: $model, $sst or $trec is absent (set SMARTTY_SHARED)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# --max-len on `load train` sets the truncation (it stayed at 128)
"$bin" -c "load model $model; load train $sst --limit 64 --max-len 16; show data; get max_len" >"$tmp/ml.out" 2>&1
if grep -q "over --max-len 16 truncated" "$tmp/ml.out" && grep -q "max_len = 16" "$tmp/ml.out"; then
    ok "load train --max-len 16"
else fail "load train --max-len 16 not applied: $(cat "$tmp/ml.out")"; fi

# delete with no ID deletes all breakpoints, as help says
if "$bin" -c "break loss > 3; break nan; delete; show breaks" >"$tmp/del.out" 2>&1 &&
    grep -q "no breakpoints" "$tmp/del.out"; then ok "delete with no ID"
else fail "delete with no ID: $(cat "$tmp/del.out")"; fi

# multi-class data: the model's notices print once
"$bin" -c "load model $model; load train $trec --text text --label coarse_label --limit 64; set batch_size 16; train 2 steps" >"$tmp/mc.out" 2>&1 || fail "multi-class training: $(cat "$tmp/mc.out")"
n=$(grep -c "not used by a sequence classifier" "$tmp/mc.out")
if [ "$n" -eq 1 ]; then ok "multi-class loads the model once"
else fail "multi-class: the model's notices printed $n times: $(cat "$tmp/mc.out")"; fi

# smartty train: an unknown hyperparameter's message names no console command
"$bin" train --model /nonexistent --train /nonexistent --set nosuch=1 >/dev/null 2>"$tmp/hp.err"
if grep -q "help set" "$tmp/hp.err" || ! grep -q -- "--help-params" "$tmp/hp.err"; then
    fail "unknown hyperparameter: $(cat "$tmp/hp.err")"
else ok "unknown hyperparameter names --help-params"; fi

# a console session saved, then replayed from another working folder, bit-identical
mkdir -p "$tmp/a/d" "$tmp/b"
cp "$sst" "$tmp/a/d/train.tsv"
abs_model=$(cd "$model" && pwd)
ln -s "$abs_model" "$tmp/a/m"
(cd "$tmp/a" && "$bin" -c "load model m; load train d/train.tsv limit=32 max-len=32; set batch_size 8; train 3 steps; save ../ck") >"$tmp/save.out" 2>&1 \
    || fail "save: $(cat "$tmp/save.out")"
if (cd "$tmp/b" && "$bin" -c "replay ../ck/journal.jsonl force; save ../ck2") >"$tmp/replay.out" 2>&1 &&
    cmp -s "$tmp/ck/model.safetensors" "$tmp/ck2/model.safetensors"; then
    ok "replay from another folder, bit-identical"
else fail "replay from another folder: $(cat "$tmp/replay.out")"; fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
