#!/bin/sh
# bench/bench_ui.sh: what the dashboard costs. (1) Bytes written to the terminal per second during
# steady training at the default frame rate on a 120x40 terminal: smartty runs in a detached tmux
# session and `pipe-pane` counts every byte it writes after the first full paint (target: at most
# 4096 B/s). (2) When this build can train: the training throughput (steps/s, as the session
# measures it) of the same run (`smartty demo --steps N`) in the dashboard and without a terminal,
# both launched the same way from a tmux pane (target: within 2 %), and once more without a
# terminal from this shell.
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

# (2) the same training (`smartty demo --steps N`) in REPS rounds of three runs, their order rotating
# so that a drift of the machine's speed favours none: the dashboard in a 120x40 tmux pane; no
# terminal, launched from a tmux pane the same way (same environment, same wrapper, standard output a
# file): the two differ only in the dashboard, and their ratio is the criterion; and no terminal
# launched from this shell, which shows what the launch itself does. (While this script waited for a
# tmux run by polling, forking `sleep` 20 times a second, that alone made the runs launched from
# tmux 2-5 % slower, dashboard or not; it now waits on a tmux channel.) The throughput is the session's own:
# "run finished at step N: N steps in X s since it last started running (R steps/s, evaluations
# included)", printed on standard output without a terminal and written to the dashboard's log file
# with it, so that start-up and shut-down (curses, the first paint, tmux) are not counted. Reported:
# the median of the paired ratios, the best rates, the CPU time of the whole process per mode, and
# the CPU time of the dashboard's own thread as a share of one core while it was up (written to its
# log at exit): unlike wall time it does not move with the machine's noise (on these shared
# machines two runs of the same thing differ by up to 15 %).
STEPS=${SMARTTY_BENCH_STEPS:-600}
REPS=${SMARTTY_BENCH_REPS:-6}
if ! "$BIN" demo --steps 2 </dev/null >/dev/null 2>&1; then
    echo "== training throughput: skipped (this build cannot train: smartty demo --steps 2 fails)"
    exit 0
fi
TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=""
echo "== training throughput: smartty demo --steps $STEPS, no terminal against the dashboard at 120x40, $REPS rounds"
rate_of() { sed -n 's/.*run finished at step [0-9]*: .*(\([0-9.]*\) steps\/s.*/\1/p' "$1" | tail -1; }
plain_run() {
    if [ -n "$TIME" ]; then
        $TIME -f "%U %S" -a -o "$tmp/plain.cpu" "$BIN" demo --steps "$STEPS" </dev/null >"$tmp/plain.out" 2>&1
    else
        "$BIN" demo --steps "$STEPS" </dev/null >"$tmp/plain.out" 2>&1
    fi
    p=$(rate_of "$tmp/plain.out")
    [ -n "$p" ] || { echo "bench_ui: no throughput in the plain run's output:"; tail -5 "$tmp/plain.out"; exit 1; }
}
# tmux_run NAME COMMAND: COMMAND in a new 120x40 tmux session, waited for (at most 30 min) on a tmux
# channel: the waiting shell sleeps rather than polling (a poll forks `sleep` 20 times a second on
# the core the training does not use)
tmux_run() {
    $T new-session -d -s "$1" -x 120 -y 40 "$2; $T wait-for -S ran-$1; sleep 600"
    timeout 1800 $T wait-for "ran-$1" || { echo "bench_ui: the run in tmux session $1 did not end within 30 min"; exit 1; }
    $T kill-session -t "$1" >/dev/null 2>&1
}
# the same no-terminal run launched exactly as the dashboard is (from a tmux pane, the same
# environment and wrapper; standard input /dev/null, output to a file): it differs from the dashboard
# run only in the dashboard, so the ratio of the two is the dashboard's cost (the criterion)
plain_tmux_run() {
    mkdir -p "$tmp/p$r"
    tcmd=""
    [ -n "$TIME" ] && tcmd="$TIME -f '%U %S' -a -o $tmp/ptmux.cpu"
    tmux_run p$r "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp/p$r $tcmd $BIN demo --steps $STEPS </dev/null >$tmp/pt.out 2>&1"
    q=$(rate_of "$tmp/pt.out")
    [ -n "$q" ] || { echo "bench_ui: no throughput in the plain run from tmux:"; tail -5 "$tmp/pt.out"; exit 1; }
}
dash_run() {
    mkdir -p "$tmp/d$r"
    tcmd=""
    [ -n "$TIME" ] && tcmd="$TIME -f '%U %S' -a -o $tmp/dash.cpu"
    tmux_run c$r "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp/d$r $tcmd $BIN demo --steps $STEPS --exit-when-done"
    sed -n 's/^dashboard: .*(\([0-9.]*\) % of one core).*/\1/p' "$tmp/d$r/smartty/dashboard.log" | tail -1 >>"$tmp/uicpu"
    d=$(rate_of "$tmp/d$r/smartty/dashboard.log")
    [ -n "$d" ] || { echo "bench_ui: no throughput in the dashboard's log:"; tail -5 "$tmp/d$r/smartty/dashboard.log"; exit 1; }
}
: >"$tmp/plain.r"; : >"$tmp/dash.r"; : >"$tmp/ptmux.r"; : >"$tmp/ratio"; : >"$tmp/ratio_t"; : >"$tmp/ratio_p"; : >"$tmp/plain.cpu"; : >"$tmp/ptmux.cpu"; : >"$tmp/dash.cpu"; : >"$tmp/uicpu"
r=0
while [ $r -lt "$REPS" ]; do
    r=$((r + 1))
    case $((r % 3)) in
    1) plain_run; dash_run; plain_tmux_run ;;
    2) dash_run; plain_tmux_run; plain_run ;;
    *) plain_tmux_run; plain_run; dash_run ;;
    esac
    echo "$p" >>"$tmp/plain.r"
    echo "$d" >>"$tmp/dash.r"
    echo "$q" >>"$tmp/ptmux.r"
    echo "$p $d" | awk '{ print $2 / $1 }' >>"$tmp/ratio"
    echo "$q $d" | awk '{ print $2 / $1 }' >>"$tmp/ratio_t"
    echo "$p $q" | awk '{ print $2 / $1 }' >>"$tmp/ratio_p"
    echo "   round $r: no terminal $p steps/s, no terminal from tmux $q, dashboard $d"
done
best() { sort -n "$1" | tail -1; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cpu() { awk '{ s += $1 + $2; n++ } END { if (n) printf "%.2f", s / n; else print "?" }' "$1"; }
echo "no terminal, from this shell:   best $(best "$tmp/plain.r") steps/s, median $(median "$tmp/plain.r"); CPU time per run $(cpu "$tmp/plain.cpu") s"
echo "no terminal, from a tmux pane:  best $(best "$tmp/ptmux.r") steps/s, median $(median "$tmp/ptmux.r"); CPU time per run $(cpu "$tmp/ptmux.cpu") s"
echo "dashboard, from a tmux pane:    best $(best "$tmp/dash.r") steps/s, median $(median "$tmp/dash.r"); CPU time per run $(cpu "$tmp/dash.cpu") s"
echo "$(median "$tmp/ratio_t") $(best "$tmp/ptmux.r") $(best "$tmp/dash.r") $(cpu "$tmp/ptmux.cpu") $(cpu "$tmp/dash.cpu")" | awk '{
    printf "dashboard / no terminal, both launched from a tmux pane: median of the paired throughput ratios %.3f (target >= 0.98: %s); best rates %.3f; CPU time %.3f\n",
           $1, ($1 >= 0.98 ? "met" : "NOT met"), $3 / $2, ($4 > 0 ? $5 / $4 : 0) }'
echo "$(median "$tmp/ratio") $(median "$tmp/ratio_p")" | awk '{
    printf "against the no-terminal run launched from this shell instead: dashboard %.3f, no terminal from tmux %.3f (the launch, not the dashboard)\n", $1, $2 }'
echo "the dashboard's own thread: median $(median "$tmp/uicpu") % of one core while it was up"
