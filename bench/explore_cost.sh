#!/bin/sh
# bench/explore_cost.sh: what `explore` costs beyond its steps (issue 15, criterion 4): the wall time
# of `explore lr=1e-5,2e-5,3e-5 steps N from a` (K = 3 variants of a knob that does not change a step's cost) against `train K*N` from the same
# snapshot, both after the same setup (load bert-tiny-mlm and BATCH x 32 generated rows that all fill
# MAXLEN tokens, train 3, snapshot a),
# with no dev set so that neither evaluates; the setup alone is timed too and subtracted. Runs are
# alternated RUNS times and the medians compared (target: explore at most 3 % more). Each run is a
# fresh `smartty -c`, under nice -n 19, OPENBLAS_NUM_THREADS=1. Prints one line per run and a verdict.
# Usage: sh bench/explore_cost.sh [N [RUNS]]   (env: SMARTTY_BIN, SMARTTY_SHARED; MODEL, a folder under
# ../shared/models, default bert-tiny-mlm; BATCH, default 8; MAXLEN, default 32). What explore adds is
# per variant (a capture of the left branch -- weights, two moments and teacher: four times the
# model, written to fresh memory -- and a restore, which makes the trainer again on its own arenas),
# so its share falls as the steps grow: bert-tiny with batch 8 and 32 tokens is the worst case,
# bert-mini-mlm with batch 32 and 128 tokens a typical run. The verdict line also gives that cost in
# seconds a variant and the median over runs of each explore against the train run beside it; a
# last line gives explore's own account (`show explore`'s "beyond the steps": the wall time of the
# snapshot, the rewinds and the last checkout against the variants' step time, in one process),
# which the machine's noise between runs does not reach. On a virtual machine a run's first touch
# of fresh memory can cost seconds of system time that the next run does not pay: compare the two.
set -u
BIN=${SMARTTY_BIN:-build/smartty}
SHARED=${SMARTTY_SHARED:-../shared}
N=${1:-60}
RUNS=${2:-3}
K=3
[ -x "$BIN" ] || { echo "explore_cost: $BIN is not built"; exit 77; }
MODEL=${MODEL:-bert-tiny-mlm}
BATCH=${BATCH:-8}
MAXLEN=${MAXLEN:-32}
[ -d "$SHARED/models/$MODEL" ] || { echo "explore_cost: no $SHARED/models/$MODEL"; exit 77; }
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME="$tmp/state"
# Every row longer than MAXLEN tokens, so that every batch is BATCH x MAXLEN: the variants repeat the
# same N batches while train K*N goes on to others, and with real sentences (dynamic padding) the
# two would not do the same work.
awk -v n=$((BATCH * 32)) 'BEGIN { print "sentence\tlabel"; for (i = 0; i < n; i++) { s = ""; for (w = 0; w < 300; w++) s = s (w ? " " : "") ((i + w) % 3 ? "good" : "film"); print s "\t" i % 2 } }' >"$tmp/fixed.tsv"
setup="load model $SHARED/models/$MODEL; load train $tmp/fixed.tsv max-len=$MAXLEN; set batch_size $BATCH; set max_len $MAXLEN; set seed 1; train 3; snapshot a"
now() { date +%s.%N; }
timed() { # timed COMMANDS: seconds of one smartty -c run
    t0=$(now)
    nice -n 19 "$BIN" -c "$setup; $1" >"$tmp/out" 2>&1 || { echo "explore_cost: run failed: $(tail -3 "$tmp/out")" >&2; exit 1; }
    t1=$(now)
    echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$tmp/base"; : >"$tmp/exp"; : >"$tmp/train"; : >"$tmp/inproc"
r=1
while [ $r -le "$RUNS" ]; do
    b=$(timed "echo setup")
    x=$(timed "explore lr=1e-5,2e-5,3e-5 steps $N from a")
    # explore's own account, in the same process: the seconds outside the variants' steps
    sed -n 's/^beyond the steps: \([0-9.]*\) s .* of the variants. \([0-9.]*\) s$/\1 \2/p' "$tmp/out" >>"$tmp/inproc"
    t=$(timed "train $((K * N))")
    echo "run $r ($MODEL, batch $BATCH, max_len $MAXLEN): setup $b s, explore ${K}x$N $x s, train $((K * N)) $t s"
    echo "$b" >>"$tmp/base"; echo "$x" >>"$tmp/exp"; echo "$t" >>"$tmp/train"
    r=$((r + 1))
done
b=$(median <"$tmp/base"); x=$(median <"$tmp/exp"); t=$(median <"$tmp/train")
# paired: each run's explore against the train run beside it, over that train's own steps
paired=$(paste "$tmp/exp" "$tmp/train" | awk -v b="$b" '{ printf "%.6f\n", ($1 - $2) / ($2 - b) }' | median)
echo "$b $x $t $paired" | awk -v k=$K -v n="$N" '{
    ex = $2 - $1; tr = $3 - $1; over = 100 * (ex - tr) / tr;
    printf "medians: explore %dx%d %.3f s, train %d %.3f s (setup %.3f s subtracted): explore costs %+.1f %% (%.3f s a variant beyond its steps; paired runs: median %+.1f %%) %s\n",
        k, n, ex, k * n, tr, $1, over, (ex - tr) / k, 100 * $4, over <= 3 ? "(target <= 3 %: met)" : "(target <= 3 %: NOT met)" }'
awk '{ o += $1; st += $2; n++ } END { if (n && st > 0)
    printf "in-process (explore'"'"'s own account, %d runs): %.3f s a variant outside the steps, %+.1f %% of the steps'"'"' time %s\n",
        n, o / n / 3, 100 * o / st, 100 * o / st <= 3 ? "(target <= 3 %: met)" : "(target <= 3 %: NOT met)" }' "$tmp/inproc"
