#!/bin/sh
# tests/server_complete.sh: the attached consoles are as good as a local one at the keyboard (issue
# 14): in an attached dashboard and in `attach --plain` at a terminal (tmux), Tab completes a
# command (`sh` -> `show`, `det` -> `detach`), a hyperparameter (`set lambd`) and a snapshot name
# after `rewind` (from the server's session), a theme in the dashboard (from the client's folders);
# Tab while another client's `step` waits; Ctrl-C while the run trains pauses it (ctl's `show
# status` says paused), Ctrl-C at the plain prompt clears the line; the plain prompt keeps the
# local console's history file. Exit 77 (skip) without tmux or the shared model and data.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/tmux_lib.sh"
start="load model $model; load train $data --limit=256 --max-len=16; set batch_size 4; set max_steps 1000000; snapshot zebra1; train"
serve_run cmp || { fail "serve: $(cat "$tmp/cmp.serve")"; finish; }
tmux_keep 120 40 || { fail "tmux cannot start a server"; finish; }
# a theme only the clients' folders hold (the server's environment has no such folder)
mkdir -p "$tmp/config/smartty/themes" && printf 'title = bold cyan\n' >"$tmp/config/smartty/themes/zzclient.theme"
# win NAME ARGS...: a tmux window running `smartty attach ARGS cmp` (120x40)
win() {
    w=$1; shift
    $T new-window -d -t keep -n "$w" "env LC_ALL=C.UTF-8 TERM=xterm XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME XDG_CONFIG_HOME=$tmp/config $bin attach $* cmp 2>$tmp/$w.err; echo \$? >$tmp/$w.rc; sleep 60"
}
# the plain console's prompt line is its last line (earlier prompts stay on the screen above)
on_prompt() { screen "$1" | grep . | tail -1 | grep -Eq -- "$2"; }
prompt_for() { wait_until "${3:-5}" on_prompt "$1" "$2"; }
# (bounded: a `show status` that came behind a held command waits for it, which may be for ever)
state_is() { timeout 10 "$bin" ctl cmp 'show status' 2>/dev/null | grep -q "^state: $1;"; }
status_now() { timeout 10 "$bin" ctl cmp 'show status' 2>&1; }
wait_until 30 state_is running || fail "the run does not train: $(status_now)"

# ---- attach --plain at a terminal ----
win P --plain
wait_for P 'smartty>' 15 || { fail "no prompt in the plain console"; screen P | grep . | tail -3; }
keys P 'sh' Tab
prompt_for P 'smartty> show$' && ok "plain: Tab completes sh to show" || { fail "plain: sh + Tab"; screen P | grep . | tail -3; }
keys P C-u 'det' Tab
prompt_for P 'smartty> detach$' && ok "plain: Tab completes det to detach (the attached console's own word)" ||
    { fail "plain: det + Tab"; screen P | grep . | tail -3; }
keys P C-u 'set lambd' Tab
prompt_for P 'smartty> set lambda_s$' && ok "plain: Tab completes a hyperparameter" || { fail "plain: set lambd + Tab"; screen P | grep . | tail -3; }
keys P C-u 'rewind zeb' Tab
prompt_for P 'smartty> rewind zebra1$' && ok "plain: Tab completes the server's snapshot name after rewind" ||
    { fail "plain: rewind zeb + Tab"; screen P | grep . | tail -3; }
keys P C-u 'set lambda_s 2' Enter
wait_until 10 sh -c "'$bin' ctl cmp 'get lambda_s' | grep -q '^lambda_s = 2'" && ok "plain: a typed command runs" ||
    fail "plain: set lambda_s 2 did not take: $("$bin" ctl cmp 'get lambda_s' 2>&1)"
keys P C-c
wait_until 10 state_is paused && ok "plain: Ctrl-C while training pauses the run" ||
    { fail "plain: Ctrl-C: $(status_now)"; screen P | grep . | tail -3; }
wait_for P 'paused \(Ctrl-C\)' 5 || fail "plain: no word of the pause"
keys P 'echo this line is dropped' C-c
wait_for P '\^C' 5 || fail "plain: Ctrl-C at the prompt shows no ^C"
keys P 'echo still here' Enter
wait_for P '^still here' 5 && ok "plain: Ctrl-C at the idle prompt clears the line, the console goes on" ||
    { fail "plain: after Ctrl-C"; screen P | grep . | tail -3; }
on_screen P '^this line is dropped' && fail "plain: Ctrl-C ran the line"
state_is paused || fail "plain: Ctrl-C at the idle prompt changed the run: $(status_now)"
# Tab while another client's command waits for the run (ctl's `step`): answered at once
"$bin" ctl cmp 'step 100000' >"$tmp/step.out" 2>&1 &
spid=$!
echo $spid >>"$tmp/pids"
wait_until 10 state_is stepping || fail "ctl's step does not run: $(cat "$tmp/step.out")"
keys P 'set lambd' Tab
prompt_for P 'smartty> set lambda_s$' && kill -0 $spid 2>/dev/null &&
    ok "plain: Tab completes while another client's step waits" || { fail "plain: Tab during a step"; screen P | grep . | tail -3; }
# (the cleared line first: a Ctrl-C that reaches the terminal before C-u is read flushes it; and a
# command answered during the step, after which the console has the server's status: a Ctrl-C
# typed the instant another client starts a step may still find the run paused)
keys P C-u
prompt_for P 'smartty> ?$' 10 || { fail "plain: C-u did not clear the line"; screen P | grep . | tail -3; }
keys P 'echo during the step' Enter
wait_for P '^during the step' 10 || { fail "plain: echo during another's step"; screen P | grep . | tail -3; }
keys P C-c
wait_until 20 state_is paused && wait_until 20 gone $spid && ok "plain: Ctrl-C pauses a run stepped by another client (its step ends)" ||
    fail "plain: Ctrl-C during another's step: $(status_now)"
# Ctrl-C while the console's own command waits (`step`): the run pauses, the prompt comes back
keys P 'step 100000' Enter
wait_until 20 state_is stepping || { fail "plain: step does not run"; screen P | grep . | tail -3; }
keys P C-c
wait_until 10 state_is paused && ok "plain: Ctrl-C during its own step pauses the run" ||
    fail "plain: Ctrl-C during its own step: $(status_now)"
keys P 'echo back at the prompt' Enter
wait_for P '^back at the prompt' 5 && ok "plain: the prompt is back after the interrupted step" ||
    { fail "plain: no prompt after the interrupted step"; screen P | grep . | tail -3; }
keys P 'resume' Enter
wait_until 10 state_is running || fail "plain: resume"
# a server that cannot answer (stopped here with SIGSTOP, as one inside a long `load` is busy): after
# the wait, Tab still completes a command name from the client's own table
spid_srv=$(pid_of cmp)
kill -STOP "$spid_srv"
keys P 'sna' Tab
prompt_for P 'smartty> snapshot$' 5 && ok "plain: Tab completes a command name while the server cannot answer" ||
    { fail "plain: sna + Tab with the server stopped"; screen P | grep . | tail -3; }
kill -CONT "$spid_srv"
keys P C-u
keys P 'detach' Enter
wait_until 10 test -s "$tmp/P.rc" && [ "$(cat "$tmp/P.rc")" = 0 ] && ok "plain: detach leaves with status 0" ||
    fail "plain: detach: rc '$(cat "$tmp/P.rc" 2>/dev/null)' $(cat "$tmp/P.err" 2>/dev/null)"
hist=$XDG_STATE_HOME/smartty/history
grep -q '^set lambda_s 2$' "$hist" 2>/dev/null && grep -q '^echo back at the prompt$' "$hist" &&
    ok "plain: the lines typed are in the local console's history file" || fail "history: $(cat "$hist" 2>/dev/null)"

# a second plain console finds that history
win Q --plain
wait_for Q 'smartty>' 15 || fail "no prompt in the second plain console"
keys Q Up Up Up # detach, resume, then the last echo
prompt_for Q 'smartty> echo back at the prompt$' && ok "plain: history across sessions (Up)" || { fail "plain: Up"; screen Q | grep . | tail -3; }
keys Q C-u 'detach' Enter
wait_until 10 test -s "$tmp/Q.rc" || fail "the second plain console did not detach"

# ---- the attached dashboard ----
win D
wait_for D 'train losses' 15 || { fail "no dashboard"; screen D | tail -3; }
keys D 'sh' Tab
wait_for D 'smartty> show' 5 && ok "dashboard: Tab completes sh to show" || { fail "dashboard: sh + Tab"; screen D | tail -3; }
keys D C-u 'set lambd' Tab
wait_for D 'smartty> set lambda_s' 5 && ok "dashboard: Tab completes a hyperparameter" || { fail "dashboard: set lambd + Tab"; screen D | tail -3; }
keys D C-u 'rewind zeb' Tab
wait_for D 'smartty> rewind zebra1' 5 && ok "dashboard: Tab completes the server's snapshot name after rewind" ||
    { fail "dashboard: rewind zeb + Tab"; screen D | tail -3; }
keys D C-u 'theme zzc' Tab
wait_for D 'smartty> theme zzclient' 5 && ok "dashboard: Tab completes a theme from the client's own folders (theme is applied here)" ||
    { fail "dashboard: theme zzc + Tab"; screen D | tail -3; }
keys D C-u
wait_for D 'smartty> *$' 10 || fail "dashboard: C-u did not clear the line"
state_is running || fail "the run is not training before the dashboard's Ctrl-C"
keys D C-c
wait_until 10 state_is paused && ok "dashboard: Ctrl-C while training pauses the run" ||
    { fail "dashboard: Ctrl-C: $(status_now)"; screen D | tail -3; }
keys D 'detach' Enter
wait_until 10 test -s "$tmp/D.rc" && [ "$(cat "$tmp/D.rc")" = 0 ] && ok "dashboard: detach leaves with status 0" ||
    fail "dashboard: detach: rc '$(cat "$tmp/D.rc" 2>/dev/null)' $(cat "$tmp/D.err" 2>/dev/null)"

"$bin" ctl cmp 'shutdown force' >/dev/null 2>&1
no_sanitizer_reports
finish
