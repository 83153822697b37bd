#!/bin/sh
# same_start.sh: smartty and the PyTorch reference (../shared/reference/finetune_torch.py) trained from
# the very same start, step by step. Both load one model folder (MiniLM made a sequence classifier by
# transformers, its classifier drawn once, dropout 0), train on one fixed batch (the first ROWS
# training rows, batch ROWS, so that the order of the rows within it does not matter) for STEPS steps
# with the recipe of bench/minilm_experiment.sh, and print each step's training loss and gradient norm
# (before clipping) side by side. With no dropout and no shuffling left, the two runs differ only by
# their arithmetic: this separates a difference in the training itself from one in the random draws
# (classifier initialisation, data order, dropout masks). Before that it checks that smartty's token
# ids of every training and dev pair (max length 128) are the reference's. Not part of `make check`.
#
# Usage:  bench/same_start.sh [OUTDIR]          (run from the build folder, or set SMARTTY_BIN)
#   TASK       rte (default) or mrpc;  ROWS  rows in the batch (default 32);  STEPS (default 30)
#   METHOD     vanilla (default), or mu: the paper preset with lambda_s 0 (the mean-teacher term alone,
#              which draws nothing at random)
#   MODEL      the model (default the cache folder of bench/get-models.sh);  INIT_SEED (default 1)
#   SMARTTY_BIN, SMARTTY_SHARED, SMARTTY_VENV: as bench/minilm_experiment.sh and minilm_reference.sh
#   COMPARE_ONLY=1  run nothing: compare the runs already in OUTDIR (smartty.csv, reference.log)
# The side-by-side table is also written to OUTDIR/compare.txt.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-$here/../shared}
out=${1:-same-start}
task=${TASK:-rte}
rows=${ROWS:-32}
steps=${STEPS:-30}
method=${METHOD:-vanilla}
seed=${INIT_SEED:-1}
model=${MODEL:-${XDG_CACHE_HOME:-$HOME/.cache}/smartty/models/all-MiniLM-L6-v2}
if [ -z "${SMARTTY_VENV:-}" ]; then
    if [ -x /work/venv/bin/python ]; then SMARTTY_VENV=/work/venv; else SMARTTY_VENV=${XDG_CACHE_HOME:-$HOME/.cache}/smartty/venv; fi
fi
py=$SMARTTY_VENV/bin/python
ref=$shared/reference/finetune_torch.py
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false

case $task in
rte) text=sentence1 pair=sentence2 label=label metric=acc labels=entailment,not_entailment ;;
mrpc) text="#1 String" pair="#2 String" label=Quality metric=f1 labels=0,1 ;;
*) echo "same_start: TASK is rte or mrpc, not $task" >&2; exit 2 ;;
esac
case $method in
vanilla) sm_method="--preset vanilla" ref_method="--method vanilla" ;;
mu) sm_method="--preset paper --set lambda_s=0" ref_method="--method smart --lambda-s 0" ;;
*) echo "same_start: METHOD is vanilla or mu, not $method" >&2; exit 2 ;;
esac
mkdir -p "$out"

if [ "${COMPARE_ONLY:-0}" != 1 ]; then
[ -e "$model/config.json" ] || { echo "same_start: $model is absent: run sh bench/get-models.sh" >&2; exit 2; }
[ -e "$ref" ] || { echo "same_start: $ref is absent (set SMARTTY_SHARED)" >&2; exit 2; }
[ -x "$bin" ] || { echo "same_start: $bin is not an executable (set SMARTTY_BIN)" >&2; exit 2; }
"$py" -c 'import torch, transformers' 2>/dev/null ||
    { echo "same_start: $py cannot import torch and transformers (set SMARTTY_VENV)" >&2; exit 2; }
d=$shared/datasets/$task
# the data first: smartty's token ids of every training and dev pair against the reference's
for f in train dev; do
    awk -F'\t' -v a="$text" -v b="$pair" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == a) x = i; if ($i == b) y = i } next }
                                          { print $x "\t" $y }' "$d/$f.tsv" |
        "$bin" tokenize --tokenizer "$model" --max-len 128 >"$out/$f.ids"
    "$py" "$here/bench/same_start.py" tokens "$ref" "$model" "$d/$f.tsv" "$text" "$pair" "$out/$f.ids"
done
head -n $((rows + 1)) "$d/train.tsv" >"$out/train.tsv"
head -n 65 "$d/dev.tsv" >"$out/dev.tsv"
"$py" "$here/bench/same_start.py" prepare "$model" "$out/model" "$seed" "$labels"

# one evaluation at the end: STEPS epochs of one batch each
echo "== smartty"
"$bin" train --model "$out/model" --train "$out/train.tsv" --dev "$out/dev.tsv" \
    --text "$text" --text-pair "$pair" --label "$label" --delimiter tab --quote none $sm_method \
    --set lr=3e-5 --set batch_size="$rows" --set epochs="$steps" --set max_len=128 \
    --set optimizer=adamw --set weight_decay=0.01 --set warmup=0.1 --set schedule=linear \
    --set clip=1.0 --set dropout=0 --set eval_every="$steps" --set seed="$seed" \
    --metrics "$out/smartty.csv" >"$out/smartty.log" 2>&1 || { cat "$out/smartty.log" >&2; exit 1; }
tail -n 2 "$out/smartty.log"
echo "== reference"
# shellcheck disable=SC2086
"$py" "$here/bench/same_start.py" run "$ref" --model "$out/model" --train "$out/train.tsv" \
    --dev "$out/dev.tsv" --text "$text" --text-pair "$pair" --label "$label" --labels "$labels" \
    --metric "$metric" $ref_method --seeds "$seed" --epochs "$steps" --lr 3e-5 --batch "$rows" \
    --max-len 128 --warmup 0.1 --threads 1 >"$out/reference.log" 2>"$out/reference.err" ||
    { cat "$out/reference.err" >&2; exit 1; }
grep "epoch $steps:" "$out/reference.err" || true
fi

echo
awk -F, 'FNR == NR { if (FNR == 1) { for (i = 1; i <= NF; i++) { if ($i == "loss") lc = i; if ($i == "grad_norm") gc = i } }
                    else { sl[$1] = $lc; sg[$1] = $gc } next }
         $1 == "step" { rl[$2] = $4; rg[$2] = $6; n = $2 }
         function abs(x) { return x < 0 ? -x : x }
         END { printf "%5s  %-13s %-13s %-10s  %-13s %-13s %s\n", "step", "loss smartty", "reference", "|diff|",
                      "grad smartty", "reference", "rel diff"
               for (s = 1; s <= n; s++) {
                   dl = abs(sl[s] - rl[s]); dg = abs(sg[s] - rg[s]) / (rg[s] > 0 ? rg[s] : 1)
                   if (dl > ml) ml = dl; if (dg > mg) mg = dg
                   if (s <= 5 || s % 5 == 0 || s == n)
                       printf "%5d  %-13.7f %-13.7f %-10.2e  %-13.7f %-13.7f %.2e\n", s, sl[s], rl[s], dl, sg[s], rg[s], dg
               }
               printf "over %d steps: largest |loss difference| %.2e, largest relative gradient-norm difference %.2e\n", n, ml, mg }' \
    "$out/smartty.csv" FS=' ' "$out/reference.log" >"$out/compare.txt"
cat "$out/compare.txt"
