#!/bin/sh
# bench/bench_ui.sh: what the dashboard costs. (1) Bytes written to the terminal per second during
# steady training at the default frame rate on a 120x40 terminal: smartty runs in a detached tmux
# session and `pipe-pane` counts every byte it writes after the first full paint (target: at most
# 4096 B/s). (2) When this build can train: the wall time of the same training run
# (`smartty demo --steps N`) without a terminal and in the dashboard, in the same run (target:
# within 2 %).
# Both modes run with OPENBLAS_NUM_THREADS=1 (as the tests do) unless it is set: OpenBLAS's
# spinning worker threads make timings on a shared 2-core machine mostly noise.
# Usage: sh bench/bench_ui.sh [SECONDS]   (env: SMARTTY_BIN, SMARTTY_DEMO_ARGS, SMARTTY_BENCH_STEPS)
set -u
command -v tmux >/dev/null 2>&1 || { echo "bench_ui: tmux is not installed"; exit 77; }
BIN=${SMARTTY_BIN:-$(pwd)/smartty}
SECS=${1:-20}
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS
if [ -z "${SMARTTY_DEMO_ARGS+set}" ]; then
    if "$BIN" demo --steps 2 </dev/null >/dev/null 2>&1; then SMARTTY_DEMO_ARGS=""; else
        echo "NOTE: this build cannot train: measuring the dashboard over --synthetic at 20 steps/s"
        SMARTTY_DEMO_ARGS="--synthetic --rate 20"; fi
fi
DEMO_ARGS=$SMARTTY_DEMO_ARGS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-bench.XXXXXX")
sock="smartty-bench-$$"
T="tmux -L $sock -f /dev/null"
trap '$T kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

$T new-session -d -s keep -x 80 -y 24 "sleep 3600" # keeps the server up between sessions
echo "== bytes to the terminal: smartty demo $DEMO_ARGS, 120x40, default frame rate, ${SECS}s"
$T new-session -d -s b -x 120 -y 40 "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp $BIN demo $DEMO_ARGS; sleep 600"
$T pipe-pane -t b -o "cat >$tmp/paint"
sleep 3
$T pipe-pane -t b
$T pipe-pane -t b -o "cat >$tmp/steady"
t0=$(date +%s.%N)
sleep "$SECS"
$T pipe-pane -t b
t1=$(date +%s.%N)
$T capture-pane -p -t b | head -2
paint=$(wc -c <"$tmp/paint")
bytes=$(wc -c <"$tmp/steady")
rate=$(echo "$bytes $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }')
echo "first 3 s (full paint included): $paint bytes"
echo "steady: $bytes bytes in $(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s = $rate B/s (target <= 4096 B/s)"
$T send-keys -t b 'quit force' Enter
sleep 0.5
$T kill-session -t b >/dev/null 2>&1

# (2) the same training (`smartty demo --steps N`) without a terminal and in the dashboard,
# alternating, REPS times each; the best wall time and the best CPU time (user + sys) of each mode
# are compared (the CPU ratio is the steadier one on a shared machine).
STEPS=${SMARTTY_BENCH_STEPS:-300}
REPS=${SMARTTY_BENCH_REPS:-3}
TIME=/usr/bin/time
if ! "$BIN" demo --steps 2 </dev/null >/dev/null 2>&1; then
    echo "== training throughput: skipped (this build cannot train: smartty demo --steps 2 fails)"
    exit 0
fi
[ -x "$TIME" ] || { echo "== training throughput: skipped (/usr/bin/time is absent)"; exit 0; }
echo "== training throughput: smartty demo --steps $STEPS, no terminal against the dashboard at 120x40, $REPS runs each"
: >"$tmp/plain.t"; : >"$tmp/dash.t"
r=0
while [ $r -lt "$REPS" ]; do
    r=$((r + 1))
    $TIME -f "%e %U %S" -a -o "$tmp/plain.t" "$BIN" demo --steps "$STEPS" </dev/null >"$tmp/plain.out" 2>&1
    rm -f "$tmp/done"
    $T new-session -d -s c$r -x 120 -y 40 "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp $TIME -f '%e %U %S' -a -o $tmp/dash.t $BIN demo --steps $STEPS --exit-when-done; touch $tmp/done; sleep 600"
    i=0
    while [ ! -f "$tmp/done" ] && [ $i -lt 36000 ]; do sleep 0.05; i=$((i + 1)); done
    [ -f "$tmp/done" ] || { echo "bench_ui: the dashboard run did not end within 30 min"; exit 1; }
    $T kill-session -t c$r >/dev/null 2>&1
done
best() { awk 'BEGIN { w = 1e9; c = 1e9 } NF == 3 { if ($1 < w) w = $1; if ($2 + $3 < c) c = $2 + $3 } END { print w, c }' "$1"; }
set -- $(best "$tmp/plain.t") $(best "$tmp/dash.t")
echo "$1 $2 $3 $4" | awk '{ printf "no terminal: best wall %.2f s, best CPU %.2f s\ndashboard:   best wall %.2f s, best CPU %.2f s\ndashboard / no terminal: wall %.3f, CPU %.3f (target <= 1.02)\n", $1, $2, $3, $4, $3 / $1, $4 / $2 }'
