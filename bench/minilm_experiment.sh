#!/bin/sh
# minilm_experiment.sh: SMART against vanilla on a real pre-trained model (all-MiniLM-L6-v2, fetched by
# bench/get-models.sh) with `smartty train`: RTE, MRPC and SST-2 (2,000 training sentences), vanilla
# and the paper preset over three seeds, the ablations mu = 0 and lambda_s = 0 once; then mean +- sd
# of the dev metric (and dev loss) after the last and at the best epoch. Not part of `make check`;
# bench/minilm_reference.sh runs the same recipe with the PyTorch reference.
#
# Recipe, chosen before any result (the paper's BERT-base ranges): lr 3e-5, batch 32, 3 epochs,
# max length 128, AdamW (weight decay 0.01, not on biases/LayerNorm), warm-up 10 % then linear decay
# to 0, clip 1.0, dropout 0.1, evaluation on dev after every epoch. SMART: the paper preset
# (lambda_s 1, mu 1, eps 1e-5, sigma 1e-5, eta 1e-3, one ascent step, beta 0.99 then 0.999).
#
# Usage:  bench/minilm_experiment.sh [OUTDIR]       (run from the build folder, or set SMARTTY_BIN)
#   TASKS           tasks in order (default "rte mrpc sst2")
#   SEEDS           seeds of the vanilla and paper runs (default "1 2 3")
#   ABLATION_SEEDS  seeds of the ablations (default "1"; "" for none)
#   METHODS         which of vanilla paper paper-mu0 paper-lambda0 to run (default all four)
#   SMARTTY_BIN     the program (default ./smartty);  SMARTTY_SHARED  the data (default ../shared)
#   MODEL           the model folder (default the cache folder of get-models.sh)
#   NICE            prefix for the runs (default "nice -n 19"); runs use one BLAS thread
#   EXTRA_ARGS      more arguments for every run, e.g. "--limit 64 --set epochs=1" for a smoke test
#   SUMMARY_ONLY=1  run nothing: summarise the CSVs already in OUTDIR
# A run whose CSV exists is not run again (delete it to rerun). Each run writes NAME-seedS.csv (its
# metrics, dev columns filled at each evaluation), .log and .time (wall seconds).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-$here/../shared}
out=${1:-minilm-experiment}
tasks=${TASKS:-"rte mrpc sst2"}
seeds=${SEEDS:-"1 2 3"}
ablation_seeds=${ABLATION_SEEDS-1}
methods=${METHODS:-"vanilla paper paper-mu0 paper-lambda0"}
nice_cmd=${NICE-"nice -n 19"}
extra=${EXTRA_ARGS:-}
model=${MODEL:-${XDG_CACHE_HOME:-$HOME/.cache}/smartty/models/all-MiniLM-L6-v2}
export OPENBLAS_NUM_THREADS=1

[ -e "$model/config.json" ] || { echo "minilm_experiment: $model is absent: run sh bench/get-models.sh" >&2; exit 2; }
[ "${SUMMARY_ONLY:-0}" = 1 ] || [ -x "$bin" ] ||
    { echo "minilm_experiment: $bin is not an executable (set SMARTTY_BIN)" >&2; exit 2; }
mkdir -p "$out"

# task NAME: sets train, dev, text, pair, label (columns) and metric (the dev column summarised)
task() {
    d=$shared/datasets/$1
    train=$d/train.tsv dev=$d/dev.tsv
    case $1 in
    rte) text=sentence1 pair=sentence2 label=label metric=acc ;;
    mrpc) text="#1 String" pair="#2 String" label=Quality metric=f1 ;;
    sst2) text=sentence pair= label=label metric=acc
          train=$out/sst2-train2000.tsv
          [ -s "$train" ] || sh "$here/bench/minilm_sst2_sample.sh" "$d/train.tsv" >"$train" ;;
    *) echo "minilm_experiment: unknown task $1 (rte, mrpc, sst2)" >&2; exit 2 ;;
    esac
    for f in "$d/train.tsv" "$dev"; do
        [ -e "$f" ] || { echo "minilm_experiment: $f is absent (set SMARTTY_SHARED)" >&2; exit 2; }
    done
}

# run TASK NAME SEED PRESET [--set k=v ...]
run() {
    t=$1 name=$2 seed=$3 preset=$4
    shift 4
    csv=$out/$t-$name-seed$seed.csv
    log=$out/$t-$name-seed$seed.log
    if [ -s "$csv" ]; then echo "== $t $name seed $seed: done before ($csv)"; return 0; fi
    echo "== $t $name seed $seed ($(date -u +%H:%M:%S))"
    start=$(date +%s)
    [ -z "$pair" ] || set -- --text-pair "$pair" "$@"
    # shellcheck disable=SC2086
    $nice_cmd "$bin" train --model "$model" --train "$train" --dev "$dev" \
        --text "$text" --label "$label" --delimiter tab --quote none --preset "$preset" \
        --set lr=3e-5 --set batch_size=32 --set epochs=3 --set max_len=128 \
        --set optimizer=adamw --set weight_decay=0.01 --set warmup=0.1 --set schedule=linear \
        --set clip=1.0 --set dropout=0.1 --set eval_every=0 --set seed="$seed" \
        $extra "$@" --metrics "$csv.part" >"$log" 2>&1 || { rm -f "$csv.part"; echo "   failed: see $log" >&2; return 1; }
    mv "$csv.part" "$csv"
    echo $(( $(date +%s) - start )) >"$out/$t-$name-seed$seed.time"
    echo "   $(cat "$out/$t-$name-seed$seed.time") s"
}

# "last best last_loss best_loss" of a metrics CSV: the dev metric (x100) and dev loss of the last
# evaluation and of the best one
scores() {
    awk -F, -v col="dev_$2" 'NR == 1 { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); if (h == col) c = i; if (h == "dev_loss") l = i }
                       if (!c || !l) { print "no " col " or dev_loss column" > "/dev/stderr"; exit 1 } next }
             $c ~ /^[0-9.eE+-]+$/ { v = 100 * $c; last = v; ll = $l; n++; if (n == 1 || v > best) { best = v; bl = $l } }
             END { if (n) printf "%.2f %.2f %.4f %.4f\n", last, best, ll, bl; else { print "no evaluation" > "/dev/stderr"; exit 1 } }' "$1"
}

# mean +- sample sd of the numbers on standard input
stats() {
    awk -v f="${1:-%.2f}" '{ s += $1; q += $1 * $1; n++ }
         END { m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
               printf f " +- " f " (n=%d)", m, sqrt(v), n }'
}

wants() { case " $methods " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
    for t in $tasks; do
        task "$t"
        for seed in $seeds; do
            ! wants vanilla || run "$t" vanilla "$seed" vanilla || true
            ! wants paper || run "$t" paper "$seed" paper || true
        done
        for seed in $ablation_seeds; do
            ! wants paper-mu0 || run "$t" paper-mu0 "$seed" paper --set mu=0 || true
            ! wants paper-lambda0 || run "$t" paper-lambda0 "$seed" paper --set lambda_s=0 || true
        done
    done
fi

echo
printf '%-6s %-14s %-7s %-22s %-22s %-24s %-24s %s\n' task run metric "last epoch" "best epoch" \
    "dev loss, last" "dev loss, at best" "wall s (each)"
for t in $tasks; do
    task "$t" 2>/dev/null || continue
    for name in vanilla paper paper-mu0 paper-lambda0; do
        set -- "$out/$t-$name"-seed*.csv
        [ -e "$1" ] || continue
        : >"$out/$t-$name.scores"
        walls=
        for csv in "$@"; do
            scores "$csv" "$metric" >>"$out/$t-$name.scores"
            walls="$walls $(cat "${csv%.csv}.time" 2>/dev/null || echo '?')"
        done
        printf '%-6s %-14s %-7s %-22s %-22s %-24s %-24s %s\n' "$t" "$name" "$metric" \
            "$(cut -d' ' -f1 "$out/$t-$name.scores" | stats)" "$(cut -d' ' -f2 "$out/$t-$name.scores" | stats)" \
            "$(cut -d' ' -f3 "$out/$t-$name.scores" | stats %.4f)" "$(cut -d' ' -f4 "$out/$t-$name.scores" | stats %.4f)" \
            "$walls"
    done
done
