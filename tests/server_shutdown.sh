#!/bin/sh
# tests/server_shutdown.sh: how `shutdown` ends a run server (issue 14): with unsaved training it is
# refused for `ctl` and an `attach` reading a pipe (exit 1, the ways out named, the server goes on);
# `shutdown save DIR` reads DIR as the local console reads it (a path over 255 bytes whole, a quoted
# path with a space); in an attached terminal (the dashboard, and the plain console) it asks first,
# as `quit` does: `n` keeps the server, `y` ends it. The terminal part runs in tmux (skipped, said,
# without it). Exit 77 (skip) without the shared model and data.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
start="load model $model; load train $data --limit=512 --max-len=16; set batch_size 4; set max_steps 1000000; train"
listed() { "$bin" ls 2>/dev/null | awk -v n="$1" '$1 == n {f = 1} END {exit !f}'; }

# not interactive: refused, the server goes on
serve_run q1 || { fail "serve q1: $(cat "$tmp/q1.serve")"; finish; }
pid1=$(pid_of q1)
wait_until 30 step_gt q1 0 || fail "q1 does not train"
"$bin" ctl q1 shutdown >"$tmp/ctl.out" 2>&1
st=$?
[ $st = 1 ] && grep -q "unsaved: \`shutdown save DIR\` keeps them, \`shutdown force\` ends without saving" "$tmp/ctl.out" &&
    ! grep -q 'anyway' "$tmp/ctl.out" && ok "ctl: shutdown with unsaved training is refused (exit 1) and says how" ||
    fail "ctl shutdown: exit $st: $(cat "$tmp/ctl.out")"
printf 'shutdown\ny\n' | timeout 20 "$bin" attach q1 >"$tmp/pipe.out" 2>&1
st=$?
[ $st = 1 ] && grep -q "\`shutdown force\` ends without saving" "$tmp/pipe.out" && grep -q "unknown command 'y'" "$tmp/pipe.out" &&
    ok "attach from a pipe: refused too, its next line is a command (no question)" ||
    fail "attach from a pipe: exit $st: $(cat "$tmp/pipe.out")"
listed q1 && ! gone "$pid1" && advancing q1 && ok "the server goes on after the refusals" || fail "q1 ended"

# save paths read as the local console reads them
long=$tmp/$(printf '%0100d' 0 | tr 0 a)/$(printf '%0100d' 0 | tr 0 b)/$(printf '%0100d' 0 | tr 0 c)/final
mkdir -p "$(dirname "$long")"
"$bin" ctl q1 "shutdown save $long" >"$tmp/long.out" 2>&1
st=$?
[ $st = 0 ] && [ -s "$long/model.safetensors" ] && ok "shutdown save DIR with a path of ${#long} bytes saves there, whole" ||
    fail "shutdown save (${#long} bytes): exit $st: $(cat "$tmp/long.out"); $(find "$tmp" -name model.safetensors)"
wait_until 10 gone "$pid1" || fail "q1 did not end after shutdown save"
serve_run q2 || { fail "serve q2: $(cat "$tmp/q2.serve")"; finish; }
pid2=$(pid_of q2)
wait_until 30 step_gt q2 0 || fail "q2 does not train"
"$bin" ctl q2 "shutdown save '$tmp/my dir'" >"$tmp/quoted.out" 2>&1
st=$?
[ $st = 0 ] && [ -s "$tmp/my dir/model.safetensors" ] && ok "shutdown save 'DIR WITH SPACE': the quotes are the console's" ||
    fail "shutdown save quoted: exit $st: $(cat "$tmp/quoted.out")"
wait_until 10 gone "$pid2" || fail "q2 did not end after shutdown save"

# during another client's `wait` (which never ends by itself): not held, it pauses the run and ends
serve_run q5 || { fail "serve q5: $(cat "$tmp/q5.serve")"; finish; }
pid5=$(pid_of q5)
wait_until 30 step_gt q5 0 || fail "q5 does not train"
SMARTTY_CLIENT_NAME=waiter timeout 60 "$bin" ctl q5 'echo waiting; wait' >"$tmp/waiter.out" 2>&1 &
wpid=$!
echo $wpid >>"$tmp/pids"
grep_file 20 '^waiting' "$tmp/waiter.out" || fail "the waiting ctl did not start: $(cat "$tmp/waiter.out")"
# (another client's frame is read only in the wait's ticks from here on)
timeout 20 "$bin" ctl q5 "shutdown save $tmp/during-wait" >"$tmp/dw.out" 2>&1
st=$?
[ $st = 0 ] && [ -s "$tmp/during-wait/model.safetensors" ] && ok "shutdown save DIR during another client's wait: saved, exit 0" ||
    fail "shutdown save during a wait: exit $st: $(cat "$tmp/dw.out")"
wait_until 10 gone "$pid5" && ok "the server ended although a client was waiting" || fail "q5 still runs after shutdown during a wait"
wait_until 10 gone "$wpid" && grep -q "was shut down by" "$tmp/waiter.out" &&
    ok "the waiting client is told who shut the server down" || fail "the waiting ctl: $(cat "$tmp/waiter.out")"

# in an attached terminal: asks first
command -v tmux >/dev/null 2>&1 || { echo "SKIP (part): tmux is not installed: the question in a terminal"; no_sanitizer_reports; finish; }
. "$(dirname "$0")/tmux_lib.sh"
serve_run q3 || { fail "serve q3: $(cat "$tmp/q3.serve")"; finish; }
pid3=$(pid_of q3)
wait_until 30 step_gt q3 0 || fail "q3 does not train"
tmux_keep 200 40 || { fail "tmux cannot start a server"; finish; }
# win NAME ARGS: a tmux window running `attach ARGS q3`
win() {
    w=$1; shift
    $T new-window -d -t keep -n "$w" "env LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $bin attach $* q3 2>$tmp/$w.err; echo \$? >$tmp/$w.rc; sleep 60"
}
question='[0-9]+ steps of training are unsaved \(`shutdown save DIR` keeps them\)\. Shut down anyway\? \[y/N\]'

# the plain console on a terminal
win P --plain
wait_for P 'step [0-9]+' 15 || fail "no plain console in window P: $(screen P)"
$T send-keys -t keep:P 'shutdown' Enter
wait_for P "$question" 10 && ok "plain attach on a terminal: shutdown with unsaved training asks" ||
    fail "plain: no question: $(screen P | tail -5)"
$T send-keys -t keep:P 'n' Enter
wait_for P 'not shutting down: the server goes on' 10 && ok "plain: n keeps the server, and says so" ||
    fail "plain: no answer to n: $(screen P | tail -5)"
$T send-keys -t keep:P 'detach' Enter
wait_until 10 test -s "$tmp/P.rc" && [ "$(cat "$tmp/P.rc")" = 0 ] && ok "plain: detach after the answer" ||
    fail "plain: did not detach: $(cat "$tmp/P.rc" 2>/dev/null) $(screen P | tail -3)"

# the dashboard
win D
wait_for D '^ step [0-9]+/1000000' 15 || fail "no dashboard in window D"
$T send-keys -t keep:D 'shutdown' Enter
wait_for D "Shut down anyway\? \[y/N\]" 10 && wait_for D 'shut down and lose the unsaved training\? \[y/N\]' 5 &&
    ok "dashboard: shutdown with unsaved training asks, in its log and its prompt" ||
    fail "dashboard: no question: $(screen D | tail -8)"
$T send-keys -t keep:D 'n' Enter
wait_for D 'not shutting down: the server goes on' 10 && ok "dashboard: n keeps the server, and says so" ||
    fail "dashboard: no answer to n: $(screen D | tail -8)"
"$bin" ctl q3 'show status' >"$tmp/after_n.out" 2>&1 && grep -q '^state: running' "$tmp/after_n.out" && listed q3 &&
    ok "after n: ctl still answers and ls lists the server" || fail "after n: $(cat "$tmp/after_n.out")"
prompt_back() { on_screen D 'smartty>' && ! on_screen D 'lose the unsaved training'; }
wait_until 5 prompt_back && ok "dashboard: the prompt is smartty> again after the answer" ||
    fail "dashboard: the prompt did not come back after the answer: $(screen D | tail -3)"
$T send-keys -t keep:D 'shutdown' Enter
wait_for D 'shut down and lose the unsaved training\? \[y/N\]' 10 || fail "dashboard: no second question"
$T send-keys -t keep:D 'y' Enter
wait_until 20 test -s "$tmp/D.rc" && [ "$(cat "$tmp/D.rc")" = 0 ] && grep -q "was shut down by" "$tmp/D.err" &&
    ok "dashboard: y ends the server, the client exits 0" || fail "dashboard after y: $(cat "$tmp/D.rc" 2>/dev/null) $(cat "$tmp/D.err")"
wait_until 10 gone "$pid3" && ! listed q3 && ok "after y: the server is gone and ls no longer lists it" ||
    fail "after y: q3 still there: $("$bin" ls)"
no_sanitizer_reports
finish
