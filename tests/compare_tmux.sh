#!/bin/sh
# tests/compare_tmux.sh: the dashboard's compare view in a real terminal (issue 15, criterion 2):
# `smartty demo` in a detached tmux session; `snapshot a`, `explore lambda_s=0,1,3 steps 12 from a`
# (the header names the variant while it runs), then `show compare a.1 a.2 a.3`: one panel overlays
# three curves, each in its own colour, under a legend naming the three branches and their knobs;
# F11 leaves the view. The header names the active branch. Exit 77 (skip) without tmux or when
# this build cannot train.
. "$(dirname "$0")/lib.sh"
need_cmd tmux
need_bin
"$bin" demo --steps 2 </dev/null >/dev/null 2>&1 || { echo "SKIP: this build cannot train the demo"; exit 77; }
sock="smartty-compare-$$"
T="tmux -L $sock -f /dev/null"
on_exit='$T kill-server >/dev/null 2>&1'
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
screen() { $T capture-pane -p -t t "$@" 2>/dev/null; }
wait_for() { # wait_for PATTERN [SECONDS]: poll the screen until grep -E finds PATTERN
    i=0; n=$(( ${2:-10} * 10 ))
    while [ $i -lt $n ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
mkdir -p "$tmp/state"
$T new-session -d -s t -x 120 -y 40 \
    "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp/state OPENBLAS_NUM_THREADS=1 $bin demo --steps 100000 2>$tmp/stderr; echo \$? >$tmp/status; sleep 60" ||
    { echo "FAIL: tmux cannot start"; exit 1; }
wait_for 'RUNNING' 30 || { bad "no dashboard"; screen; exit 1; }
$T send-keys -t t 'pause' Enter
wait_for 'PAUSED' 20 || bad "did not pause"
$T send-keys -t t 'snapshot a' Enter
wait_for 'snapshot a at step' 10 || bad "no snapshot"
wait_for 'branch main' 5 && ok "the header names the active branch (main)" || bad "no branch in the header"
$T send-keys -t t 'explore lambda_s=0,1,3 steps 12 from a' Enter
wait_for 'variant [123]/3' 30 && ok "the header shows the variant while exploring" || bad "no variant in the header"
wait_for 'explore: done' 180 || { bad "the exploration did not finish"; screen; }
wait_for 'branch main' 5 && ok "back on branch main after the exploration" || bad "not back on main"
$T send-keys -t t 'show compare a.1 a.2 a.3' Enter
if wait_for 'compare 3 branches' 10; then ok "compare view of 3 branches"; else bad "no compare view"; screen; fi
sleep 1
screen >"$tmp/compare.txt"
for b in a.1 a.2 a.3; do
    grep -Eq "━━ $b " "$tmp/compare.txt" && ok "the legend names $b" || bad "no legend line for $b"
done
grep -Eq '━━ a\.1 +lambda_s=0' "$tmp/compare.txt" && grep -Eq '━━ a\.3 +lambda_s=3' "$tmp/compare.txt" &&
    ok "the legend gives each branch's knobs" || bad "the legend lacks the knobs"
LC_ALL=C grep -q "$(printf '\342[\240\241\242\243]')" "$tmp/compare.txt" && ok "curves drawn (braille)" || bad "no curve cells"
# three curves in three colours: the SGR sequence in front of each legend line differs
screen -e >"$tmp/compare.esc"
colours=$(for b in a.1 a.2 a.3; do
    grep -a "━━ $b " "$tmp/compare.esc" | sed -n "s/.*\(\[[0-9;]*m\)━━ $b .*/\1/p" | head -1
done | sort -u | wc -l)
[ "$colours" -eq 3 ] && ok "one colour per branch" || bad "$colours distinct colours for the three branches"
# every legend colour is on the plot too: each branch's curve is drawn
drawn=0
for b in a.1 a.2 a.3; do
    sgr=$(grep -a "━━ $b " "$tmp/compare.esc" | sed -n "s/.*\(\[[0-9;]*m\)━━ $b .*/\1/p" | head -1)
    [ -n "$sgr" ] && [ "$(grep -a -c -F "$sgr" "$tmp/compare.esc")" -gt 1 ] && drawn=$((drawn + 1))
done
[ "$drawn" -eq 3 ] && ok "three curves on the plot" || bad "$drawn of the three curves found on the plot"
cp "$tmp/compare.txt" "${COMPARE_CAPTURE:-/dev/null}" 2>/dev/null
$T send-keys -t t F11
wait_for 'train losses' 5 && ok "F11 leaves the compare view" || bad "F11 did not leave the compare view"
grep -q 'F11' "$tmp/compare.txt" && ok "F11 is in the key bar" || bad "no F11 in the key bar"
$T send-keys -t t 'quit force' Enter
i=0; while [ ! -s "$tmp/status" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$tmp/status" 2>/dev/null)" = 0 ] && ok "quit" || bad "exit status $(cat "$tmp/status" 2>/dev/null)"
finish
