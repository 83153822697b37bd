#!/bin/sh
# tests/dashboard_tmux.sh: end-to-end test of the dashboard in a real terminal: runs smartty in a
# detached tmux session (its own server socket), types with send-keys and reads the screen with
# capture-pane. Checks the header and curves, `set lambda_s 3` (knob panel and a marker on the time
# axis), pause and `step 3`, resizes (down to too-small and back), themes (shipped, user directory,
# a broken file), the help popup, --ascii and --no-color under TERM=screen, and quit.
# It drives `smartty demo` (a small model training on the generated data) when this build can
# train, else `smartty demo --synthetic` (the dashboard over a synthetic signal) and says so; set
# SMARTTY_DEMO_ARGS to choose. Exit 77 (skip) without tmux.
. "$(dirname "$0")/lib.sh"
need_cmd tmux
need_bin
BIN=$bin
if [ -z "${SMARTTY_DEMO_ARGS+set}" ]; then
    if "$BIN" demo --steps 2 </dev/null >/dev/null 2>&1; then
        SMARTTY_DEMO_ARGS=""
    else
        echo "NOTE: this build cannot train yet (smartty demo --steps 2 fails): testing the dashboard over --synthetic"
        SMARTTY_DEMO_ARGS="--synthetic --rate 40"
    fi
fi
DEMO_ARGS=$SMARTTY_DEMO_ARGS
sock="smartty-test-$$"
T="tmux -L $sock -f /dev/null"
on_exit='$T kill-server >/dev/null 2>&1'

# a --rate the synthetic signal cannot use (its steps due are elapsed seconds x rate, as an integer)
for r in 0 nan inf 1e308 40x; do
    "$BIN" demo --synthetic --rate "$r" </dev/null >/dev/null 2>"$tmp/rate.err"
    rc=$?
    if [ $rc -ne 2 ] || ! grep -q "rate wants .* not '$r'" "$tmp/rate.err"; then
        echo "FAIL: demo --synthetic --rate $r: exit $rc, $(cat "$tmp/rate.err")"; fails=$((fails + 1))
    fi
done
# --fps and --steps are whole numbers in range, with nothing after them
for a in "--fps 4x" "--fps 0" "--fps 61" "--steps 10x" "--steps 0" "--steps 99999999999999999999"; do
    # shellcheck disable=SC2086
    "$BIN" demo $a </dev/null >/dev/null 2>"$tmp/arg.err"
    rc=$?
    if [ $rc -ne 2 ] || ! grep -q -e "${a%% *} wants .* not '${a#* }'" "$tmp/arg.err"; then
        echo "FAIL: demo $a: exit $rc, $(cat "$tmp/arg.err")"; fails=$((fails + 1))
    fi
done

mkdir -p "$tmp/config/smartty/themes" "$tmp/state"
cat >"$tmp/config/smartty/themes/mine.theme" <<'THEME'
# a user's theme, found in $XDG_CONFIG_HOME/smartty/themes
title = bold magenta
curve1 = #ff0000
THEME
printf 'title = bold cyan\nborder = blu\n' >"$tmp/config/smartty/themes/broken.theme"

# a session that keeps the server alive while the test's sessions come and go
$T new-session -d -s keep -x 80 -y 24 "sleep 900" || { echo "FAIL: tmux cannot start a server"; exit 1; }

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# without a terminal: a short run with plain progress lines, its throughput, exit status 0
if [ -z "$DEMO_ARGS" ]; then
    "$BIN" demo --steps 30 </dev/null >"$tmp/plain.out" 2>&1
    st=$?
    [ $st -eq 0 ] && ok "demo without a terminal exits 0" || { bad "demo without a terminal: status $st"; tail -5 "$tmp/plain.out"; }
    grep -Eq '^run finished at step 30: 30 steps in [0-9.]+ s .*\([0-9.]+ steps/s' "$tmp/plain.out" &&
        ok "the end of a run reports its throughput" || { bad "no throughput at the end of the plain run"; tail -5 "$tmp/plain.out"; }
fi
screen() { $T capture-pane -p -t t "$@" 2>/dev/null; }
# wait_for PATTERN [SECONDS]: poll the screen until grep -E finds PATTERN
wait_for() {
    i=0; n=$(( ${2:-10} * 10 ))
    while [ $i -lt $n ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
header_step() { screen | sed -n '2s/^ *step \([0-9]*\).*/\1/p'; }
header_epoch() { screen | sed -n '2s/.*  epoch \([0-9]*\) .*/\1/p'; }
start() { # start COLS ROWS EXTRA-ENV ARGS...
    cols=$1; rows=$2; envs=$3; shift 3
    $T kill-session -t t >/dev/null 2>&1
    $T new-session -d -s t -x "$cols" -y "$rows" \
        "env LC_ALL=C.UTF-8 XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state SMARTTY_THEMES= $envs $BIN demo $* 2>$tmp/stderr; echo \$? >$tmp/status; sleep 60"
}
quit_and_status() {
    rm -f "$tmp/status"
    $T send-keys -t t 'quit force' Enter
    i=0; while [ ! -s "$tmp/status" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    cat "$tmp/status" 2>/dev/null
}

# ---- 120x40, UTF-8, the default terminal type of tmux ----
rm -f "$tmp/status"
start 120 40 "" $DEMO_ARGS
if wait_for 'train losses' 10 && wait_for '^ step [0-9]+' 5; then ok "header and curve panels drawn"; else bad "no dashboard on screen"; screen; fi
wait_for 'RUNNING' 5 && ok "state RUNNING in the header" || bad "no RUNNING state"
sleep 1
screen | LC_ALL=C grep -q "$(printf '\342[\240\241\242\243]')" && ok "braille curves" || bad "no braille cells on screen"
sgr_colour="$(printf '\033')\[([0-9;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m"
screen -e | grep -Eq "$sgr_colour" && ok "colours with the default theme" || bad "no colours with the default theme"
screen -e | grep -q '38;5;' && ok "256 colours on a 256-colour terminal" || bad "no 256-colour codes under $($T show -gv default-terminal)"
screen | grep -q 'knobs' && screen | grep -Eq 'lambda_s +1 ' && ok "knob panel lists lambda_s = 1" || bad "knob panel"

# set lambda_s 3: the knob panel shows it with the step, and a marker appears on the time axis
$T send-keys -t t 'set lambda_s 3' Enter
if wait_for 'lambda_s +3 +@[0-9]+' 5; then ok "knob panel: lambda_s 3 @step"; else bad "knob panel did not change"; screen | grep lambda_s; fi
wait_for '▲' 3 && ok "marker on the time axis" || bad "no marker after set"
screen | grep -Eq 'lambda_s = 3 \(takes effect at step [0-9]+\)' && ok "event log says at which step it takes effect" || bad "no change event in the log"

# pause, then step 3: the step counter moves by exactly 3
$T send-keys -t t 'pause' Enter
wait_for 'PAUSED' 5 && ok "paused" || bad "did not pause"
sleep 0.6
s0=$(header_step)
$T send-keys -t t 'step 3' Enter
sleep 1
s1=$(header_step)
if [ -n "$s0" ] && [ -n "$s1" ] && [ "$s1" -eq $((s0 + 3)) ]; then ok "step 3: $s0 -> $s1"; else bad "step 3: $s0 -> $s1"; fi
sleep 0.6
[ "$(header_step)" = "$s1" ] && ok "still paused after step" || bad "counter moved while paused"

# the header shows paths whole when they fit, with their leading / (the demo's data is an absolute path)
screen | sed -n 1p | grep -q 'data: /' && ok "the header keeps the leading / of the data path" ||
    { bad "the header cut the data path"; screen | sed -n 1p; }

# a long line in the event log wraps at spaces and is never cut (here the echo of a long command)
long="get"; i=0; while [ $i -lt 40 ]; do long="$long word$i"; i=$((i + 1)); done
$T send-keys -t t "$long LASTWORD" Enter
wait_for 'LASTWORD' 3 && ok "a long log line is shown whole" || { bad "a long log line was cut"; screen | tail -12; }

if [ -z "$DEMO_ARGS" ]; then
    # after a rewind, the header shows the restored step and epoch, not those of the branch left
    # (an epoch of the demo is 63 steps: 70 steps cross one)
    s0=$(header_step); e0=$(header_epoch)
    $T send-keys -t t 'snapshot here' Enter
    sleep 0.5
    $T send-keys -t t 'step 70' Enter
    wait_for "^ *step $((s0 + 70))" 20 || bad "step 70 did not finish"
    e1=$(header_epoch)
    $T send-keys -t t 'rewind here' Enter
    sleep 1
    s2=$(header_step); e2=$(header_epoch)
    if [ "$s2" = "$s0" ] && [ "$e2" = "$e0" ] && [ -n "$e0" ]; then ok "rewind: the header is back at step $s0, epoch $e0 (was epoch $e1)"
    else bad "rewind: header at step $s2 epoch $e2, expected step $s0 epoch $e0 (before the rewind: epoch $e1)"; screen | head -2; fi
fi
if [ -z "$DEMO_ARGS" ]; then
    # a session saved in the demo replays later, elsewhere: its journal builds the demo's model again
    # (`new model` with the shape and seed) instead of naming a folder that is deleted at exit
    $T send-keys -t t "save $tmp/demosave" Enter
    wait_for 'saved step' 10 || bad "save in the demo failed"
fi
# an evaluation, so that the header has a dev metric to keep at 80 columns
$T send-keys -t t 'eval' Enter
wait_for ' dev [a-z_0-9]+ [0-9.]' 10 || bad "no dev metric in the header after eval"

# F1 help popup, closed by any key
$T send-keys -t t F1
wait_for 'dashboard: help' 3 && ok "F1 shows help" || bad "no help popup"
# every line of it whole inside the popup (a line wider than the popup was cut at its border)
screen | grep -q "F11 *compare view: the branches' curves overlaid *│" && screen | grep -q 'F10 *quit (asks when training is unsaved)' &&
    ok "the help's lines fit the popup" || bad "help lines cut: $(screen | grep 'F1[01]')"
$T send-keys -t t x
sleep 0.5
screen | grep -q 'dashboard: help' && bad "help did not close" || ok "help closed"

# resize: smaller, too small, back
$T resize-window -t t -x 80 -y 24
sleep 0.8
w=$(screen | sed -n 3p | LC_ALL=C.UTF-8 wc -m)
if wait_for 'train losses' 3 && wait_for 'knobs' 1 && [ "$w" -eq 81 ]; then ok "relayout at 80x24"; else bad "80x24 layout (width $w)"; screen; fi
# at 80 columns the header still shows the run state and the dev metric
screen | sed -n 1p | grep -q 'PAUSED' && ok "80x24: the run state is in the header" || { bad "80x24: no run state in the header"; screen | head -2; }
screen | sed -n 2p | grep -Eq ' dev [a-z_0-9]+ [0-9.]' && ok "80x24: the dev metric is in the header" ||
    { bad "80x24: no dev metric in the header"; screen | head -2; }
$T resize-window -t t -x 50 -y 12
wait_for 'too small' 3 && ok "too-small message at 50x12" || { bad "no too-small message"; screen; }
$T resize-window -t t -x 120 -y 40
wait_for 'train losses' 3 && ! screen | grep -q 'too small' && ok "back to 120x40" || bad "did not recover from too small"

# themes: a shipped one, the user's, a broken one (the current theme stays, the line is named)
c0=$(screen -e | md5sum)
$T send-keys -t t 'theme light' Enter
sleep 0.8
c1=$(screen -e | md5sum)
screen | grep -q 'theme: ' && bad "theme light failed" || ok "theme light applied"
[ "$c0" != "$c1" ] && ok "colours changed with the theme" || bad "screen colours did not change"
$T send-keys -t t 'theme mine' Enter
sleep 0.5
screen | grep -q 'theme: ' && bad "user theme not found" || ok "theme from the user's directory"
$T send-keys -t t 'theme broken' Enter
wait_for 'broken.theme:2:10' 3 && ok "broken theme names file:line:column" || { bad "broken theme message"; screen | tail -8; }
wait_for 'PAUSED' 1 && ok "dashboard still running after a bad theme" || bad "dashboard gone after bad theme"

st=$(quit_and_status)
[ "$st" = 0 ] && ok "quit, exit status 0" || bad "quit: status '$st'"
[ -s "$tmp/stderr" ] && { bad "something went to stderr on the terminal"; cat "$tmp/stderr"; } || ok "nothing on stderr"
[ -f "$tmp/state/smartty/dashboard.log" ] && ok "stderr log in the state folder" || bad "no dashboard.log"
grep -Eq '^[0-9T:-]+Z (command|change) .*lambda_s' "$tmp/state/smartty/dashboard.log" && ok "the event log is in dashboard.log, stamped" || { bad "no stamped 'set lambda_s' line in dashboard.log"; tail -5 "$tmp/state/smartty/dashboard.log"; }

if [ -z "$DEMO_ARGS" ] && [ -f "$tmp/demosave/journal.jsonl" ]; then
    grep -q '"new_model"' "$tmp/demosave/journal.jsonl" && ok "the demo journals new_model" ||
        bad "the demo's journal does not say how its model was made"
    mkdir -p "$tmp/elsewhere/state"
    (cd "$tmp/elsewhere" && XDG_STATE_HOME=$tmp/elsewhere/state "$BIN" -c "replay $tmp/demosave/journal.jsonl force; save $tmp/elsewhere/again" \
        >"$tmp/replay.out" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && cmp -s "$tmp/demosave/model.safetensors" "$tmp/elsewhere/again/model.safetensors"; then
        ok "the demo's saved session replays from another folder and state directory, bit-identical"
    else bad "replaying the demo's saved session: exit $rc"; tail -3 "$tmp/replay.out"; fi
fi

# ---- TERM=screen, --ascii, --no-color ----
rm -f "$tmp/status"
start 100 30 "TERM=screen" $DEMO_ARGS --ascii --no-color
if wait_for 'train losses' 10; then ok "TERM=screen --ascii starts"; else bad "TERM=screen --ascii"; screen; fi
sleep 1.5
if screen | LC_ALL=C grep -q '[^ -~]'; then bad "non-ASCII on screen with --ascii"; screen | LC_ALL=C grep '[^ -~]' | head -3; else ok "only ASCII with --ascii"; fi
if screen -e | grep -Eq "$sgr_colour"; then bad "colours with --no-color"; else ok "no colours with --no-color"; fi
st=$(quit_and_status)
[ "$st" = 0 ] && ok "quit, exit status 0" || bad "quit: status '$st'"

# ---- TERM=screen with colours: the theme's #rrggbb and 256-colour numbers degrade to 8 colours ----
rm -f "$tmp/status"
start 100 30 "TERM=screen" $DEMO_ARGS
if wait_for 'train losses' 10; then ok "TERM=screen starts"; else bad "TERM=screen"; screen; fi
sleep 1
screen -e | grep -Eq "$sgr_colour" && ok "colours under TERM=screen" || bad "no colours under TERM=screen"
screen -e | grep -q '38;5;\|48;5;' && bad "256-colour codes on an 8-colour terminal" || ok "only 8-colour codes under TERM=screen"
st=$(quit_and_status)
[ "$st" = 0 ] && ok "quit, exit status 0" || bad "quit: status '$st'"

# ---- one write per frame: the dashboard over a synthetic signal, under strace, default frame rate ----
# (ncurses 6.4 would flush at every cursor jump, about 25 writes a frame, each an SSH packet).
# LeakSanitizer cannot run under ptrace: off for this run of a sanitizer build.
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true >/dev/null 2>&1; then
    rm -f "$tmp/status"
    $T kill-session -t t >/dev/null 2>&1
    $T new-session -d -s t -x 120 -y 40 \
        "env LC_ALL=C.UTF-8 XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -tt -e trace=write,writev -o $tmp/writes $BIN demo --synthetic --rate 40 2>$tmp/stderr; echo \$? >$tmp/status; sleep 60"
    wait_for 'train losses' 10 >/dev/null
    sleep 4.5
    st=$(quit_and_status)
    # writes to the terminal (fd 1) from 1 s to 4 s after the first: at most 4 frames a second
    n=$(awk '$3 ~ /^writev?\(1,/ { split($2, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
                                    if (!t0) t0 = s; if (s > t0 + 1 && s <= t0 + 4) n++ } END { print n + 0 }' "$tmp/writes")
    if [ "$n" -ge 3 ] && [ "$n" -le 15 ]; then ok "one write per frame: $n writes in 3 s at 4 frames/s"
    else bad "$n writes to the terminal in 3 s at 4 frames/s (expected 3-15: one per frame)"; fi
    [ "$st" = 0 ] || bad "quit under strace: status '$st'"
else
    echo "NOTE: strace cannot trace here: the one-write-per-frame check is skipped"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all dashboard checks passed"
