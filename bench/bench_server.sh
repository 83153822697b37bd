#!/bin/sh
# bench/bench_server.sh: what the run server costs (issue 14, criterion 4); a benchmark, never run by
# the tests. (1) The time from `smartty attach` to a full dashboard (header at the run's step, curves
# drawn) in a 120x40 tmux pane for a run with STEPS recorded steps (target: under 0.5 s at 100,000).
# (2) Training throughput with three attached dashboards against none, in REPS rotating rounds of
# SECONDS each, from the step counter that `ctl` reads (target: within 2 %). (3) Bytes per second
# on the socket for one attached client (a raw connection counting what it receives after the
# history) and to a 120x40 terminal for an attached dashboard (tmux pipe-pane; target: at most
# today's 4096 B/s).
# The run is a small new model (1 layer, hidden 32) on the demo data with batch size 1, so that
# 100,000 steps are recorded in minutes; the throughput rounds use the same run, and then again a
# realistic run: bert-tiny-mlm from $SMARTTY_SHARED (../shared) on an SST-2 slice, batch size 32,
# max_len 64 (skipped, with a message, without the shared folder).
# Usage: sh bench/bench_server.sh   (env: SMARTTY_BIN, SMARTTY_BENCH_STEPS=100000, SMARTTY_BENCH_REPS=4,
# SMARTTY_BENCH_SECONDS=10, SMARTTY_SV_RAW=build/tests/sv_raw). Run it under nice on a quiet machine.
set -u
command -v tmux >/dev/null 2>&1 || { echo "bench_server: tmux is not installed"; exit 77; }
BIN=${SMARTTY_BIN:-$(pwd)/smartty}
RAW=${SMARTTY_SV_RAW:-$(dirname "$BIN")/tests/sv_raw}
STEPS=${SMARTTY_BENCH_STEPS:-100000}
REPS=${SMARTTY_BENCH_REPS:-4}
SECS=${SMARTTY_BENCH_SECONDS:-10}
SRC=${SMARTTY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-bench-server.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/rt XDG_STATE_HOME=$tmp/state
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
T="tmux -L smartty-bench-server-$$ -f /dev/null"
SHARED=${SMARTTY_SHARED:-$SRC/../shared}
trap '"$BIN" ctl bench "shutdown force" >/dev/null 2>&1; "$BIN" ctl real "shutdown force" >/dev/null 2>&1; $T kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
now() { date +%s.%N; }
run=bench
step_of() { "$BIN" ctl $run 'show status' 2>/dev/null | sed -n 's/^state: [a-z]*; step \([0-9]*\).*/\1/p'; }

data=$SRC/datasets/sentiment/train.tsv
vocab=$SRC/datasets/vocab.txt
[ -f "$data" ] && [ -f "$vocab" ] || { echo "bench_server: no demo data under $SRC/datasets"; exit 1; }
"$BIN" serve --name bench -c "new model vocab=$vocab layers=1 hidden=32 heads=1; load train $data --max-len=16; set batch_size 1; set max_steps $((STEPS * 1000)); set lambda_s 0; train" >"$tmp/serve.out" 2>&1 ||
    { cat "$tmp/serve.out"; exit 1; }
echo "== recording $STEPS steps"
t0=$(now)
while :; do s=$(step_of); [ -n "$s" ] && [ "$s" -ge "$STEPS" ] && break; sleep 1; done
echo "$s steps in $(echo "$t0 $(now)" | awk '{printf "%.0f", $2 - $1}') s"
"$BIN" ctl bench pause >/dev/null
s=$(step_of)

$T new-session -d -s keep -x 120 -y 40 "sleep 3600"
attach_win() { $T new-window -d -t keep -n "$1" "env LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $BIN attach $run; sleep 600"; }
echo "== (1) attach to a full dashboard, $s steps recorded (paused), 120x40"
for r in 1 2 3; do
    t0=$(now)
    attach_win a$r
    until $T capture-pane -p -t keep:a$r 2>/dev/null | grep -q "^ step $s/" && $T capture-pane -p -t keep:a$r | grep -q "train losses"; do sleep 0.01; done
    t1=$(now)
    echo "round $r: $(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}') s (target < 0.5 s)"
    $T kill-window -t keep:a$r
done
"$BIN" ctl bench resume >/dev/null

# throughput LABEL: REPS rotating rounds, none against three attached dashboards, on the run $run
throughput() {
echo "== (2$1) training throughput: three attached dashboards against none, $REPS rounds of $SECS s each"
rate() { a=$(step_of); sleep "$SECS"; b=$(step_of); echo "$a $b $SECS" | awk '{printf "%.2f", ($2 - $1) / $3}'; }
ratios=""
r=0
while [ $r -lt "$REPS" ]; do
    if [ $((r % 2)) = 0 ]; then order="none three"; else order="three none"; fi
    for mode in $order; do
        if [ "$mode" = three ]; then attach_win d1; attach_win d2; attach_win d3; sleep 2; fi
        v=$(rate)
        [ "$mode" = three ] && { $T kill-window -t keep:d1; $T kill-window -t keep:d2; $T kill-window -t keep:d3; sleep 1; }
        eval "r_$mode=$v"
    done
    echo "round $((r + 1)): none $r_none steps/s, three dashboards $r_three steps/s, ratio $(echo "$r_three $r_none" | awk '{printf "%.4f", $1 / $2}')"
    ratios="$ratios $(echo "$r_three $r_none" | awk '{printf "%.4f", $1 / $2}')"
    r=$((r + 1))
done
med=$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
echo "median ratio ($1): $med (target >= 0.98: $(echo "$med" | awk '{print ($1 >= 0.98) ? "met" : "not met"}'))"
}
throughput "a, micro model"

echo "== (3) bytes per second: on the socket for one client, to a 120x40 terminal for an attached dashboard"
if [ -x "$RAW" ]; then
    printf '{"type":"hello","proto":2,"role":"watch","who":"bench"}\n' | "$RAW" --seconds "$SECS" "$XDG_RUNTIME_DIR/smartty/bench" >"$tmp/sock.out"
    echo "socket (watch role: records, events, status): $(wc -c <"$tmp/sock.out") bytes in $SECS s = $(($(wc -c <"$tmp/sock.out") / SECS)) B/s"
else
    echo "socket: skipped ($RAW is not built: make check builds it)"
fi
$T new-session -d -s p -x 120 -y 40 "env LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $BIN attach bench; sleep 600"
sleep 3
$T pipe-pane -t p -o "cat >$tmp/steady"
sleep "$SECS"
$T pipe-pane -t p
echo "terminal: $(wc -c <"$tmp/steady") bytes in $SECS s = $(($(wc -c <"$tmp/steady") / SECS)) B/s (target <= 4096 B/s)"

echo "== (2b) training throughput on a realistic run: bert-tiny-mlm, SST-2 slice, batch 32, max_len 64"
if [ -d "$SHARED/models/bert-tiny-mlm" ] && [ -f "$SHARED/datasets/sst2/train.tsv" ]; then
    "$BIN" ctl bench "shutdown force" >/dev/null 2>&1
    "$BIN" serve --name real -c "load model $SHARED/models/bert-tiny-mlm; load train $SHARED/datasets/sst2/train.tsv --limit=4096 --max-len=64; set batch_size 32; set max_steps 10000000; train" >"$tmp/real.out" 2>&1 ||
        { cat "$tmp/real.out"; exit 1; }
    run=real
    while :; do s=$(step_of); [ -n "$s" ] && [ "$s" -ge 20 ] && break; sleep 1; done
    throughput "b, bert-tiny-mlm"
else
    echo "skipped: no $SHARED/models/bert-tiny-mlm or $SHARED/datasets/sst2/train.tsv (set SMARTTY_SHARED)"
fi
