#!/bin/sh
# minilm_reference.sh: the runs of bench/minilm_experiment.sh with the PyTorch reference
# (../shared/reference/finetune_torch.py, run through bench/minilm_reference.py for the dev loss) in a
# venv with torch and transformers: same model, data files, recipe and seeds. Not part of `make check`.
#
# Recipe (as minilm_experiment.sh): lr 3e-5, batch 32, 3 epochs, max length 128, warm-up 10 %, AdamW
# (wd 0.01), clip 1.0, the model's dropout 0.1; SMART: lambda_s 1, mu 1, eps 1e-5, sigma 1e-5, eta 1e-3.
#
# Usage:  bench/minilm_reference.sh [OUTDIR]
#   SMARTTY_VENV    the venv (default /work/venv if present, else ~/.cache/smartty/venv); needs torch,
#                   transformers, numpy
#   TASKS, SEEDS, ABLATION_SEEDS, METHODS, SMARTTY_SHARED, MODEL, NICE, SUMMARY_ONLY: as minilm_experiment.sh
#   REF_MODEL, REF_RECIPE  another model folder and recipe flags (used for the bert-mini-mlm comparison)
# One torch thread per run. Each run writes TASK-METHOD-seedS.json (the reference's JSON line plus
# dev_loss), .log and .time; a run whose .json exists is not run again.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SMARTTY_SHARED:-$here/../shared}
out=${1:-minilm-reference}
tasks=${TASKS:-"rte mrpc sst2"}
seeds=${SEEDS:-"1 2 3"}
ablation_seeds=${ABLATION_SEEDS-1}
methods=${METHODS:-"vanilla paper paper-mu0 paper-lambda0"}
nice_cmd=${NICE-"nice -n 19"}
model=${REF_MODEL:-${MODEL:-${XDG_CACHE_HOME:-$HOME/.cache}/smartty/models/all-MiniLM-L6-v2}}
recipe=${REF_RECIPE:-"--epochs 3 --lr 3e-5 --batch 32 --max-len 128 --warmup 0.1"}
if [ -z "${SMARTTY_VENV:-}" ]; then
    if [ -x /work/venv/bin/python ]; then SMARTTY_VENV=/work/venv; else SMARTTY_VENV=${XDG_CACHE_HOME:-$HOME/.cache}/smartty/venv; fi
fi
py=$SMARTTY_VENV/bin/python
ref=$shared/reference/finetune_torch.py
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false

[ -e "$model/config.json" ] || { echo "minilm_reference: $model is absent: run sh bench/get-models.sh" >&2; exit 2; }
[ -e "$ref" ] || { echo "minilm_reference: $ref is absent (set SMARTTY_SHARED)" >&2; exit 2; }
[ "${SUMMARY_ONLY:-0}" = 1 ] || "$py" -c 'import torch, transformers, numpy' 2>/dev/null || {
    echo "minilm_reference: $py cannot import torch, transformers and numpy: make a venv with them" \
         "(python3 -m venv DIR && DIR/bin/pip install torch transformers numpy) and set SMARTTY_VENV=DIR" >&2; exit 2; }
mkdir -p "$out"

task() {
    d=$shared/datasets/$1
    train=$d/train.tsv dev=$d/dev.tsv
    case $1 in
    rte) text=sentence1 pair=sentence2 label=label metric=acc ;;
    mrpc) text="#1 String" pair="#2 String" label=Quality metric=f1 ;;
    sst2) text=sentence pair= label=label metric=acc
          train=$out/sst2-train2000.tsv
          [ -s "$train" ] || sh "$here/bench/minilm_sst2_sample.sh" "$d/train.tsv" >"$train" ;;
    *) echo "minilm_reference: unknown task $1 (rte, mrpc, sst2)" >&2; exit 2 ;;
    esac
}

# run TASK NAME SEED METHOD [more flags]
run() {
    t=$1 name=$2 seed=$3 method=$4
    shift 4
    base=$out/$t-$name-seed$seed
    if [ -s "$base.json" ]; then echo "== $t $name seed $seed: done before ($base.json)"; return 0; fi
    echo "== reference $t $name seed $seed ($(date -u +%H:%M:%S))"
    start=$(date +%s)
    [ -z "$pair" ] || set -- --text-pair "$pair" "$@"
    rm -f "$base.part"
    # shellcheck disable=SC2086
    $nice_cmd "$py" "$here/bench/minilm_reference.py" "$ref" --model "$model" --train "$train" --dev "$dev" \
        --text "$text" --label "$label" --metric "$metric" --method "$method" --seeds "$seed" \
        $recipe --threads 1 "$@" --out "$base.part" >"$base.log" 2>&1 ||
        { rm -f "$base.part"; echo "   failed: see $base.log" >&2; return 1; }
    mv "$base.part" "$base.json"
    echo $(( $(date +%s) - start )) >"$base.time"
    echo "   $(cat "$base.time") s"
}

wants() { case " $methods " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
    for t in $tasks; do
        task "$t"
        for seed in $seeds; do
            ! wants vanilla || run "$t" vanilla "$seed" vanilla || true
            ! wants paper || run "$t" paper "$seed" smart || true
        done
        for seed in $ablation_seeds; do
            ! wants paper-mu0 || run "$t" paper-mu0 "$seed" smart --mu 0 || true
            ! wants paper-lambda0 || run "$t" paper-lambda0 "$seed" smart --lambda-s 0 || true
        done
    done
fi

echo
python3 - "$out" $tasks <<'PY'
import glob, json, math, os, sys
out = sys.argv[1]
def ms(xs, f):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return f"{m:{f}} +- {sd:{f}} (n={len(xs)})"
print(f"{'task':6} {'run':14} {'metric':7} {'last epoch':22} {'best epoch':22} {'dev loss, last':24} {'dev loss, at best':24} wall s (each)")
for t in sys.argv[2:]:
    for name in ("vanilla", "paper", "paper-mu0", "paper-lambda0"):
        runs = []
        for p in sorted(glob.glob(f"{out}/{t}-{name}-seed*.json")):
            with open(p) as f:
                r = json.loads(f.read().strip().splitlines()[-1])
            tf = p[:-5] + ".time"
            r["wall"] = open(tf).read().strip() if os.path.exists(tf) else "?"
            runs.append(r)
        if not runs:
            continue
        last = [100 * r["history"][-1] for r in runs]
        bi = [max(range(len(r["history"])), key=lambda i: (r["history"][i], -i)) for r in runs]
        best = [100 * r["history"][i] for r, i in zip(runs, bi)]
        ll = [r["dev_loss"][-1] for r in runs]
        bl = [r["dev_loss"][i] for r, i in zip(runs, bi)]
        print(f"{t:6} {name:14} {runs[0]['metric']:7} {ms(last, '.2f'):22} {ms(best, '.2f'):22} "
              f"{ms(ll, '.4f'):24} {ms(bl, '.4f'):24} " + " ".join(r["wall"] for r in runs))
PY
