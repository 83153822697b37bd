#!/bin/sh
# issue16.sh: every measurement of issue 16 (speed at real sizes, on real batches, against PyTorch) in
# one go, for an idle machine: bench_engine (with thread scaling), bench_smart and vs_pytorch.sh over
# mini, minilm and base on fixed, MRPC and SST-2 batches, RUNS times; full output per program and run
# in OUT, and the met / not met lines gathered in OUT/summary.txt. Measures nothing when the machine is
# busy (it warns): the figures are only results on an idle machine.
#
#   make -C build bench
#   OPENBLAS_NUM_THREADS=2 SMARTTY_SHARED=/work/shared VS_PYTORCH_VENV=/work/venv \
#       sh bench/issue16.sh OUT [RUNS=3] [SHAPES="mini minilm base"]
#
# BERT-base takes most of the time (tens of seconds a step on two cores): SHAPES="mini minilm" skips it.
set -eu
out=${1:?usage: issue16.sh OUT [RUNS] [SHAPES]}
runs=${2:-3}
shapes=${3:-mini minilm base}
b=${BUILD:-build}/bench
for p in bench_engine bench_smart; do
    [ -x "$b/$p" ] || { echo "issue16: $b/$p is not built: make -C ${BUILD:-build} bench" >&2; exit 1; }
done
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
mkdir -p "$out"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "issue16: load average $load at the start (an idle machine is near 0); $runs run(s); shapes: $shapes" |
    tee "$out/summary.txt"
here=$(cd "$(dirname "$0")" && pwd)
r=1
while [ "$r" -le "$runs" ]; do
    for s in $shapes; do
        steps=""
        reps=8
        kinds=vanilla,zero,paper,infer
        if [ "$s" = base ]; then steps="--steps 2"; reps=3; kinds=vanilla,paper,infer; fi
        for d in fixed mrpc sst2; do
            [ "$s" = base ] && [ "$d" = sst2 ] && continue
            f="$out/engine-$s-$d-$r.txt"
            "$b/bench_engine" --scaling --data "$d" $steps "$s" >"$f" 2>&1 || echo "issue16: $f failed" >&2
            f="$out/smart-$s-$d-$r.txt"
            "$b/bench_smart" --shape "$s" --data "$d" --reps "$reps" --kinds "$kinds" >"$f" 2>&1 ||
                echo "issue16: $f failed" >&2
        done
    done
    if [ -n "${VS_PYTORCH_VENV:-}" ] || [ -x bench-venv/bin/python ]; then
        for s in $shapes; do
            if [ "$s" = base ]; then
                # one kind at a time: both programs hold a BERT-base SMART step's memory at once
                for k in vanilla paper infer; do
                    BENCH_SMART="$b/bench_smart" sh "$here/vs_pytorch.sh" --shapes base --data fixed,mrpc \
                        --kinds "$k" --rounds 3 >"$out/torch-base-$k-$r.txt" 2>&1 || echo "issue16: torch base $k failed" >&2
                done
            else
                BENCH_SMART="$b/bench_smart" sh "$here/vs_pytorch.sh" --shapes "$s" --data fixed,mrpc,sst2 \
                    --rounds 5 >"$out/torch-$s-$r.txt" 2>&1 || echo "issue16: torch $s failed" >&2
            fi
        done
    else
        echo "issue16: no VS_PYTORCH_VENV and no bench-venv/: the PyTorch comparison is not run" | tee -a "$out/summary.txt"
    fi
    r=$((r + 1))
done
for f in "$out"/*.txt; do
    [ "$f" = "$out/summary.txt" ] && continue
    case $f in
    */torch-*) grep -E "met|skipped|did not start" "$f" | grep -v '^  ' ;; # not the summary's copies
    *) grep -E "met|scaling 1 -> 2|skipped" "$f" ;;
    esac | sed "s|^ *|$(basename "$f"): |" || true
done >>"$out/summary.txt"
echo "issue16: load average $(cut -d' ' -f1 /proc/loadavg) at the end" >>"$out/summary.txt"
cat "$out/summary.txt"
