#!/bin/sh
# everyday.sh: the three everyday jobs of issue 12 end to end, on bert-tiny-mlm and SST-2 slices:
# (a) a spreadsheet CSV (review,stars with quoted fields) -> train --save-best -> eval prints the
# metrics (and --json) -> predict prints label names and probabilities; (b) the checkpoint used as
# --model for a second fine-tuning on another file, and resumed with --resume DIR alone;
# (c) a console session saved, then replayed from another working folder, bit-identical. Also the
# options around them: --set NAME VALUE, transformers' names, save_every/save_limit, --dev-limit,
# the autosave of `smartty train` under SIGHUP and its notice. Not the numerics (other tests).
set -u
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-../shared}
model=$shared/models/bert-tiny-mlm
sst=$shared/datasets/sst2
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
[ -d "$model" ] && [ -f "$sst/train.tsv" ] && [ -f "$sst/dev.tsv" ] || { echo "SKIP: $model or $sst is absent (set SMARTTY_SHARED)"; exit 77; }
model=$(cd "$model" && pwd)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") # the jobs run in their own folders
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# a spreadsheet's CSV: a header, quoted reviews with commas and doubled quotes, star labels
to_csv() { # to_csv TSV ROWS: review,stars from SST-2 (label 1 -> 5 stars, 0 -> 1 star)
    awk -F '\t' -v n="$2" 'NR == 1 { print "review,stars"; next } NR > n + 1 { exit }
        { gsub(/"/, "\"\"", $1); printf "\"%s, \"\"really\"\"\",%s\n", $1, $2 == 1 ? "5 stars" : "1 star" }' "$1"
}
mkdir -p "$tmp/job/out" "$tmp/other"
to_csv "$sst/train.tsv" 160 >"$tmp/job/reviews.csv"
to_csv "$sst/dev.tsv" 60 >"$tmp/job/reviews-dev.csv"
cd "$tmp/job" || exit 1

# (a) train with the best checkpoint kept, evaluate, predict
"$bin" train --model "$model" --train reviews.csv --dev reviews-dev.csv --dev-limit 48 \
    --set learning_rate 1e-3 --set per_device_train_batch_size=16 --set max_seq_length 32 \
    --set num_train_epochs=2 --set eval_steps=5 --set save_steps=4 --set save_limit=2 --save-best \
    --save out/stars >train.out 2>train.err || fail "train: $(cat train.err)"
grep -q "48 dev rows" train.out || fail "the loading report does not say how many dev rows: $(head -3 train.out)"
[ -f out/stars-checkpoints/best/model.safetensors ] && ok "save_best wrote out/stars-checkpoints/best" \
    || fail "no best checkpoint: $(ls -R out)"
n=$(ls -d out/stars-checkpoints/checkpoint-* 2>/dev/null | wc -l)
[ "$n" -eq 2 ] && [ -d out/stars-checkpoints/checkpoint-20 ] && ok "save_every 4 with save_limit 2 kept the last two" \
    || fail "save_every/save_limit: $(ls out/stars-checkpoints)"
grep -q "^save_limit 2: removed out/stars-checkpoints/checkpoint-12$" train.out \
    && ! grep -q "removed out/stars-checkpoints/checkpoint-16" train.out \
    && ok "save_limit names each checkpoint it removes" || fail "save_limit's removals not reported: $(grep -i "removed" train.out)"
grep -q '"optimizer": "adamw"' out/stars/trainer_state.json && grep -q '"log_history"' out/stars/trainer_state.json \
    && ok "trainer_state.json: choices by name, log_history" || fail "trainer_state.json lacks names or log_history"
"$bin" eval --model out/stars-checkpoints/best --data reviews-dev.csv --json eval.json >eval.out 2>eval.err \
    || fail "eval: $(cat eval.err)"
grep -q "accuracy" eval.out && grep -q "mcc" eval.out && grep -q "confusion matrix" eval.out && grep -q "5 stars" eval.out \
    && ok "eval prints the metrics, the per-class report and the confusion matrix" || fail "eval: $(cat eval.out)"
grep -q '"accuracy"' eval.json && grep -q '"matrix"' eval.json && ok "eval --json" || fail "eval.json: $(cat eval.json)"
"$bin" predict --model out/stars --data reviews-dev.csv --limit 5 >pred.out 2>pred.err || fail "predict: $(cat pred.err)"
if [ "$(head -1 pred.out)" = "$(printf 'label\tprobability')" ] && [ "$(wc -l <pred.out)" -eq 6 ] &&
    [ "$(tail -n +2 pred.out | grep -cE '^(1 star|5 stars)	(0\.[0-9]+|1)$')" -eq 5 ]; then
    ok "predict prints label names and probabilities under a header"
else fail "predict: $(cat pred.out)"; fi
"$bin" predict --model out/stars --data reviews-dev.csv --limit 2 --output probs 2>/dev/null | head -1 | grep -q "^1 star	5 stars$" \
    && ok "predict --output probs names the classes" || fail "predict --output probs header"

# the console's predict names the checkpoint's labels too (it printed LABEL_0 before training data loaded)
"$bin" -c "load model out/stars; predict a fine film" >cpred.out 2>&1
grep -qE "^(1 star|5 stars)  \(1 star 0\.[0-9]+, 5 stars 0\.[0-9]+\)$" cpred.out && ok "the console's predict names the labels" \
    || fail "console predict: $(tail -1 cpred.out)"

# (b) the checkpoint as --model for a second fine-tuning on another file; then resumed alone
to_csv "$sst/dev.tsv" 200 | tail -n 80 | sed '1i review,stars' >more.csv
"$bin" train --model out/stars --train more.csv --set max_steps=3 --set batch_size=16 --set max_len=32 \
    --save out/second >second.out 2>second.err || fail "second fine-tuning: $(cat second.err)"
grep -q "from step 0" second.out && ok "--model CHECKPOINT starts a fresh run" || fail "second run: $(cat second.out)"
steps=$(sed -n 's/.*"step": \([0-9]*\),$/\1/p' out/stars/trainer_state.json | head -1)
"$bin" train --resume out/stars --steps 2 --save out/resumed >resume.out 2>resume.err || fail "--resume alone: $(cat resume.err)"
grep -q "from step $steps" resume.out && ok "--resume DIR alone continues at step $steps" || fail "--resume: $(cat resume.out)"
grep -q "best dev:  step" resume.out && ok "the best evaluation comes back after --resume" || fail "no best after resume"
"$bin" -c "resume out/stars; export metrics resumed.csv" >console.out 2>&1 || fail "console resume: $(cat console.out)"
"$bin" -c "load model out/stars; load train more.csv; show status" >console.out 2>&1 \
    || fail "console load model CHECKPOINT: $(cat console.out)"
[ "$(($(wc -l <resumed.csv) - 1))" -eq "$steps" ] && ok "the curves come back after resume (export metrics: $steps rows)" \
    || fail "export metrics after resume: $(wc -l <resumed.csv) lines, want $steps rows"
grep -q "^state: [a-z]*; step 0" console.out && ok "the console's load model CHECKPOINT starts at step 0" \
    || fail "load model CHECKPOINT: $(cat console.out)"
"$bin" train --resume out/stars --limit 10 >/dev/null 2>contra.err
[ $? -eq 2 ] && grep -q -- "--limit 10 contradicts the checkpoint's --limit 0" contra.err \
    && ok "a contradicting option is refused with both values" || fail "contradiction: $(cat contra.err)"

# the autosave of `smartty train` under SIGHUP, then the console's notice
: >hup.out
"$bin" train --model "$model" --train reviews.csv --set max_len=32 --set batch_size=8 --set epochs=50 >hup.out 2>&1 &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q '^step [0-9]' hup.out; do sleep 0.1; i=$((i + 1)); done
kill -HUP $pid
wait $pid
auto=$(sed -n 's/^autosaved to \([^ ]*\) .*/\1/p' hup.out)
[ -n "$auto" ] && [ -f "$auto/trainer_state.json" ] && ok "train without --save autosaves under SIGHUP" \
    || fail "no autosave: $(cat hup.out)"
"$bin" -c "echo" 2>notice.err >/dev/null
grep -q "autosave.*resume $auto" notice.err && ok "the next smartty names the autosave and how to resume it" \
    || fail "no autosave notice: $(cat notice.err)"

# autosaves are pruned: the newest three stay, the others go, and the console says so
for d in 1 2 3; do cp -r "$auto" "$auto-old$d" && touch -d "2026-01-0$d" "$auto-old$d/trainer_state.json"; done
"$bin" -c "echo" 2>prune.err >/dev/null
if [ ! -d "$auto-old1" ] && [ -d "$auto-old2" ] && [ -d "$auto-old3" ] && grep -q "removed the old autosave $auto-old1" prune.err; then
    ok "autosaves pruned to the newest three, saying so"
else fail "autosave pruning: $(cat prune.err)"; fi

# the dev set reads the training set's columns (here named, in another order) unless given
swap() { awk -F '\t' 'BEGIN { OFS = "\t"; print "stars", "junk", "review" } NR > 1 && NR <= 31 { print $2, "x", $1 }' "$1"; }
swap "$sst/train.tsv" >swapped-train.tsv
swap "$sst/dev.tsv" >swapped-dev.tsv
"$bin" -c "load model $model; load train swapped-train.tsv --text review --label stars; load dev swapped-dev.tsv; show data" >cols.out 2>&1
grep -q "columns: text 3 (review), label 1 (stars)" cols.out && ok "dev inherits the training set's columns" \
    || fail "dev columns: $(cat cols.out)"

# (c) a console session saved, then replayed from another working folder, bit-identical
"$bin" -c "load model $model; load train reviews.csv limit=48 max-len=32; set batch_size 8; train 4 steps; save out/session" \
    >session.out 2>&1 || fail "console session: $(cat session.out)"
if (cd "$tmp/other" && "$bin" -c "replay $tmp/job/out/session/journal.jsonl force; save $tmp/other/again") >replay.out 2>&1 &&
    cmp -s out/session/model.safetensors "$tmp/other/again/model.safetensors"; then
    ok "the session replays bit-identically from another folder"
else fail "replay: $(cat replay.out)"; fi

# (d) the console says which checkpoints save_limit removes, as `smartty train` does
"$bin" -c "load model $model; load train reviews.csv limit=48 max-len=32; set batch_size 8; save out/cons; set save_every 2; set save_limit 1; train 6 steps; wait" \
    >climit.out 2>&1 || fail "console save_limit: $(cat climit.out)"
if grep -q "^save_limit 1: removed out/cons-checkpoints/checkpoint-2$" climit.out &&
    grep -q "^save_limit 1: removed out/cons-checkpoints/checkpoint-4$" climit.out &&
    [ "$(ls out/cons-checkpoints)" = checkpoint-6 ]; then
    ok "the console names each checkpoint save_limit removes"
else fail "console save_limit: $(ls out/cons-checkpoints): $(grep -i checkpoint climit.out)"; fi

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
