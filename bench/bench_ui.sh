#!/bin/sh
# bench/bench_ui.sh: what the dashboard costs. (1) Bytes written to the terminal per second during
# steady training at the default frame rate on a 120x40 terminal: smartty runs in a detached tmux
# session and `pipe-pane` counts every byte it writes after the first full paint (target: at most
# 4096 B/s). (2) When this build can train: the wall time of the same training run
# (`smartty demo --steps N`) without a terminal and in the dashboard, in the same run (target:
# within 2 %).
# Usage: sh bench/bench_ui.sh [SECONDS]   (env: SMARTTY_BIN, SMARTTY_DEMO_ARGS, SMARTTY_BENCH_STEPS)
set -u
command -v tmux >/dev/null 2>&1 || { echo "bench_ui: tmux is not installed"; exit 77; }
BIN=${SMARTTY_BIN:-$(pwd)/smartty}
SECS=${1:-20}
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
$T send-keys -t b 'quit' Enter
sleep 0.5

# (2) the same training (`smartty demo --steps N`) without a terminal and in the dashboard
STEPS=${SMARTTY_BENCH_STEPS:-300}
if "$BIN" demo --steps 2 </dev/null >/dev/null 2>&1; then
    echo "== training throughput: smartty demo --steps $STEPS, no terminal against the dashboard at 120x40"
    s0=$(date +%s.%N)
    "$BIN" demo --steps "$STEPS" </dev/null >"$tmp/plain.out" 2>&1
    s1=$(date +%s.%N)
    rm -f "$tmp/done"
    $T new-session -d -s c -x 120 -y 40 "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp $BIN demo --steps $STEPS --exit-when-done; touch $tmp/done; sleep 600"
    d0=$(date +%s.%N)
    while [ ! -f "$tmp/done" ]; do sleep 0.05; done
    d1=$(date +%s.%N)
    echo "$s0 $s1 $d0 $d1" | awk '{ x = $2 - $1; d = $4 - $3;
        printf "no terminal: %.2f s   dashboard: %.2f s   dashboard / no terminal = %.3f (target <= 1.02)\n", x, d, d / x }'
else
    echo "== training throughput: skipped (this build cannot train: smartty demo --steps 2 fails)"
fi
