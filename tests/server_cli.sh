#!/bin/sh
# tests/server_cli.sh: the run server from the command line (issue 14, criterion 2 and the basics):
# `serve` reports a failing start command and refuses a live name; the folder is 0700 and the socket
# 0600; `ctl` prints replies with a -c script's exit status; `ls` lists the run; `watch` prints
# timestamped steps and changes with their author; a plain `attach` runs commands and detaches;
# another uid is refused (by the folder's mode, and by SO_PEERCRED when the modes are opened);
# oversized, truncated, malformed, unknown and wrong-version frames get errors while the run trains;
# a command that waits (`step N`) leaves the others answered (read-only at once, changes held until it
# ends); `shutdown` refuses with unsaved training and `shutdown save DIR` saves a journal naming authors.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
[ -x "$raw" ] || skip "$raw is not built (make check builds it)"

# a failing start command: reported with its status, and no server stays
"$bin" serve --name bad --log "$tmp/bad.log" -c "load model $tmp/nope" >"$tmp/bad.out" 2>&1
st=$?
[ $st = 1 ] && grep -q "nope" "$tmp/bad.out" && grep -q "a start command failed" "$tmp/bad.out" &&
    ok "a failing start command: serve exits 1 and says why" || fail "bad start: exit $st: $(cat "$tmp/bad.out")"
[ ! -e "$sockdir/bad" ] && ok "no socket left by the failed start" || fail "the failed server left $sockdir/bad"
"$bin" serve --name 'a/b' -c 'echo x' >"$tmp/name.out" 2>&1
[ $? = 2 ] && grep -q "not a run name" "$tmp/name.out" && ok "a bad run name is refused" || fail "bad name: $(cat "$tmp/name.out")"
long=$(printf 'n%0299d' 0)
for c in attach watch ctl; do
    if [ $c = ctl ]; then "$bin" ctl "$long" 'show status' >"$tmp/name.out" 2>&1; else "$bin" $c "$long" >"$tmp/name.out" 2>&1 </dev/null; fi
    st=$?
    [ $st = 1 ] && grep -q "'$long' is not a run name" "$tmp/name.out" && ok "$c names a 300-byte bad run name whole" ||
        fail "$c with a long name: exit $st: $(head -c 300 "$tmp/name.out")"
done

serve_run s1
st=$?
[ $st = 0 ] && [ "$(tail -1 "$tmp/s1.serve")" = s1 ] && ok "serve prints the run's name and exits 0" ||
    { fail "serve: exit $st: $(cat "$tmp/s1.serve")"; finish; }
[ "$(stat -c %a "$sockdir")" = 700 ] && ok "the sockets' folder is 0700" || fail "folder mode $(stat -c %a "$sockdir")"
[ -S "$sockdir/s1" ] && [ "$(stat -c %a "$sockdir/s1")" = 600 ] && ok "the socket is 0600" ||
    fail "socket: $(stat -c '%F %a' "$sockdir/s1")"
pid=$(pid_of s1)
[ -n "$pid" ] && [ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] &&
    [ "$(ps -o tty= -p "$pid" | tr -d ' ')" = "?" ] && [ "$(ps -o ppid= -p "$pid" | tr -d ' ')" != $$ ] &&
    ok "the server runs in a session of its own without a terminal" || fail "server pid '$pid': $(ps -o pid,ppid,sid,tty -p "$pid")"
"$bin" serve --name s1 -c 'echo x' >"$tmp/dup.out" 2>&1
[ $? = 1 ] && grep -q "already running" "$tmp/dup.out" && ok "a second server of the same name is refused" ||
    fail "duplicate: $(cat "$tmp/dup.out")"
advancing s1 && ok "the run trains in the background" || fail "the step does not advance"

# ctl: replies, and the exit status of a -c script (stops at the first failure)
"$bin" ctl s1 'get lr' 'bogus' 'get mu' >"$tmp/ctl.out" 2>"$tmp/ctl.err"
st=$?
[ $st = 1 ] && grep -q '^lr = ' "$tmp/ctl.out" && grep -q "unknown command 'bogus'" "$tmp/ctl.err" &&
    ! grep -q '^mu = ' "$tmp/ctl.out" && ok "ctl: replies, errors on stderr, exit 1 at the first failure" ||
    fail "ctl: exit $st: $(cat "$tmp/ctl.out" "$tmp/ctl.err")"
"$bin" ctl s1 'set lambda_s 3; get lambda_s' >"$tmp/ctl2.out" 2>&1
[ $? = 0 ] && grep -q 'lambda_s = 3 (takes effect at step' "$tmp/ctl2.out" && ok "ctl: set during training" ||
    fail "ctl set: $(cat "$tmp/ctl2.out")"
"$bin" ctl nosuch 'get lr' >"$tmp/nosuch.out" 2>&1
[ $? = 1 ] && grep -q "no run server named 'nosuch'" "$tmp/nosuch.out" && ok "ctl: an unknown name is said" ||
    fail "ctl nosuch: $(cat "$tmp/nosuch.out")"

# ls
"$bin" ls >"$tmp/ls.out" 2>&1
grep -Eq "^s1 +$pid +running +[0-9]+/1000000 +[0-9T:-]+Z +[0-9]+ +$model / $data" "$tmp/ls.out" &&
    ok "ls: name, pid, state, step/planned, started, clients, model and data" || fail "ls: $(cat "$tmp/ls.out")"

# watch: timestamped steps, and a change naming its author
"$bin" watch --every 0.5 s1 >"$tmp/watch.out" 2>&1 &
wpid=$!
echo $wpid >>"$tmp/pids"
grep_file 20 '^[0-9-]+T[0-9:]+Z step [0-9]+/1000000 epoch [0-9]+ loss ' "$tmp/watch.out" && ok "watch: timestamped step lines" ||
    fail "watch: no step lines: $(cat "$tmp/watch.out")"
SMARTTY_CLIENT_NAME=tester "$bin" ctl s1 'set mu 2' >/dev/null 2>&1
grep_file 10 'Z change mu = 2 \(was 1\) from step [0-9]+, by tester$' "$tmp/watch.out" &&
    ok "watch: the change with who made it" || fail "watch: no change line: $(tail -5 "$tmp/watch.out")"
# a command that waits for the run (`step N` from a pause) keeps the other clients' records coming:
# watch shows steps in between while the ctl that sent it still waits
"$bin" ctl s1 'pause' >/dev/null 2>&1
# the step it paused at, once the status says paused (a `show status` right after the pause can still
# carry the step before)
is_paused() { "$bin" ctl s1 'show status' 2>/dev/null | grep -q '^state: paused'; }
wait_until 10 is_paused
p0=$(step_of s1)
# a checkpoint every 100 steps: what the run writes during the step 300 below is nobody's doing
"$bin" ctl s1 "save $tmp/sv; set save_every 100; set save_limit 1" >"$tmp/sv.out" 2>&1 ||
    fail "save, save_every: $(cat "$tmp/sv.out")"
SMARTTY_CLIENT_NAME=waiter "$bin" ctl s1 'step 300' >"$tmp/step.out" 2>&1 &
spid=$!
echo $spid >>"$tmp/pids"
seen_mid() {
    awk -v a="${p0:-0}" -v b="$((${p0:-0} + 300))" '$2 == "step" { split($3, s, "/"); if (s[1] + 0 > a && s[1] + 0 < b) f = 1 }
        END { exit !f }' "$tmp/watch.out"
}
if wait_until 60 seen_mid && ! gone "$spid"; then
    ok "watch: steps keep coming while another client's step 300 waits"
else
    fail "watch: no step between $p0 and $((${p0:-0} + 300)) while step 300 ran: $(tail -3 "$tmp/watch.out")"
fi
# meanwhile the server answers others: a read-only command runs at once, a new connection is
# greeted (ls), and a command that changes the run is held until step 300 is done, then applied
"$bin" ctl s1 'show status' >"$tmp/during.out" 2>&1
st=$?
[ $st = 0 ] && grep -q '^state: stepping' "$tmp/during.out" && ! gone "$spid" &&
    ok "ctl: show status is answered while another client's step 300 waits" ||
    fail "show status during step 300: exit $st: $(cat "$tmp/during.out")$(gone "$spid" && echo ' (step 300 had ended)')"
"$bin" ls >"$tmp/ls_during.out" 2>&1
grep -Eq '^s1 +[0-9]+ +stepping ' "$tmp/ls_during.out" && ! gone "$spid" && ok "ls lists the server while step 300 waits" ||
    fail "ls during step 300: $(cat "$tmp/ls_during.out")"
"$bin" ctl s1 'set mu 2' >"$tmp/held.out" 2>&1 &
hpid=$!
echo $hpid >>"$tmp/pids"
# while that one is held, another client's read-only command is still answered at once
sleep 0.5
timeout 10 "$bin" ctl s1 'get mu' >"$tmp/get_held.out" 2>&1
st=$?
[ $st = 0 ] && grep -q '^mu = ' "$tmp/get_held.out" && ! gone "$spid" && ! gone "$hpid" &&
    ok "ctl: get is answered while another client's set is held behind step 300" ||
    fail "get while a set is held: exit $st: $(cat "$tmp/get_held.out")$(gone "$spid" && echo ' (step 300 had ended)')"
wait "$hpid"
st=$?
# held: it takes effect at the step after step 300's last (the ctl that sent step 300 may still be
# exiting when this one returns, so its process is not what is checked)
[ $st = 0 ] && grep -q "mu = 2 (takes effect at step $((${p0:-0} + 301)))" "$tmp/held.out" &&
    ok "ctl: set during step 300 was held until it ended, then applied" ||
    fail "set during step 300: exit $st: $(cat "$tmp/held.out") (paused at $p0)"
wait "$spid" 2>/dev/null
grep -q "^step $((${p0:-0} + 300)) " "$tmp/step.out" && ok "ctl: step 300 replies with its last step" ||
    fail "ctl step 300: $(cat "$tmp/step.out")"
# the events of the run during another client's wait name no author: they were not its doing
ckpts=$(grep -c "checkpoint checkpoint written to $tmp/sv-checkpoints/checkpoint-" "$tmp/watch.out")
if [ "$ckpts" -ge 2 ] && ! grep -q "by waiter" "$tmp/watch.out"; then
    ok "watch: $ckpts checkpoints written during another client's step 300, credited to nobody"
else
    fail "events during step 300 ($ckpts checkpoints): $(grep "checkpoint\|waiter" "$tmp/watch.out" | tail -4)"
fi
"$bin" ctl s1 'set save_every 0; resume' >/dev/null 2>&1
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null

# plain attach: commands from standard input, errors on stderr, detach
printf 'get lambda_s\nbogus\ndetach\n' | timeout 20 "$bin" attach s1 >"$tmp/att.out" 2>&1
st=$?
[ $st = 1 ] && grep -q '^lambda_s = 3' "$tmp/att.out" && grep -q "unknown command 'bogus'" "$tmp/att.out" &&
    grep -q "detached from 's1'" "$tmp/att.out" && ok "plain attach: replies, errors, detach (exit 1: a command failed)" ||
    fail "plain attach: exit $st: $(cat "$tmp/att.out")"
advancing s1 && ok "training goes on after the clients left" || fail "not advancing after the clients"

# another uid: refused by the folder's mode
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
    asnobody() { setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups env XDG_RUNTIME_DIR="$1" "$bin" ctl s1 'show status'; }
    chmod 755 "$tmp"
    asnobody "$XDG_RUNTIME_DIR" >"$tmp/nobody.out" 2>&1
    st=$?
    [ $st = 1 ] && ! grep -q '^state:' "$tmp/nobody.out" && ok "another uid is refused (folder mode): $(head -1 "$tmp/nobody.out")" ||
        fail "nobody: exit $st: $(cat "$tmp/nobody.out")"
    # and by SO_PEERCRED when the modes let it reach the socket (through a folder of its own)
    chmod 711 "$XDG_RUNTIME_DIR" "$sockdir"
    chmod 777 "$sockdir/s1"
    mkdir -p "$tmp/nb/smartty"
    ln -s "$sockdir/s1" "$tmp/nb/smartty/s1"
    chown -R nobody "$tmp/nb"
    chmod 700 "$tmp/nb/smartty"
    asnobody "$tmp/nb" >"$tmp/nobody2.out" 2>&1
    st=$?
    chmod 700 "$XDG_RUNTIME_DIR" "$sockdir" "$tmp"
    chmod 600 "$sockdir/s1"
    [ $st = 1 ] && grep -q "refused: uid $(id -u nobody) does not own this run" "$tmp/nobody2.out" &&
        ok "another uid is refused (SO_PEERCRED)" || fail "nobody via SO_PEERCRED: exit $st: $(cat "$tmp/nobody2.out")"
    grep -q "refused a connection from uid $(id -u nobody)" "$tmp/s1.log" && ok "the refusal is logged" ||
        fail "no log line of the refusal"
else
    echo "SKIP (part): the other-uid checks need root, setpriv and a nobody user"
fi

# frames: each bad one gets an error, the connection and the run go on
hello='{"type":"hello","proto":2,"role":"ctl","who":"raw"}'
printf 'hello?\n%s\n{"type":"cmd","id":3,"line":"get lr"}\n' "$hello" | "$raw" "$sockdir/s1" >"$tmp/f1.out"
grep -q '"type":"error","code":"malformed"' "$tmp/f1.out" && grep -q '"type":"reply","id":3,"status":0' "$tmp/f1.out" &&
    ok "a malformed frame: an error, then the next frame is served" || fail "malformed: $(cat "$tmp/f1.out")"
printf '%s\n{"type":"launch"}\n{"type":"bye","msg":"x"}\n' "$hello" | "$raw" "$sockdir/s1" >"$tmp/f2.out"
[ "$(grep -c '"code":"unknown_type"' "$tmp/f2.out")" = 2 ] && ok "unknown frame types: errors" || fail "unknown: $(cat "$tmp/f2.out")"
printf '{"type":"hello","proto":99,"role":"ctl"}\n' | "$raw" "$sockdir/s1" >"$tmp/f3.out"
grep -q '"code":"version".*protocol version 99' "$tmp/f3.out" && grep -q '"type":"bye"' "$tmp/f3.out" &&
    ok "a wrong version: an error and bye" || fail "version: $(cat "$tmp/f3.out")"
{ head -c 2000000 /dev/zero | tr '\0' x; printf '\n%s\n{"type":"cmd","id":5,"line":"get lr"}\n' "$hello"; } |
    "$raw" "$sockdir/s1" >"$tmp/f4.out"
grep -q '"code":"too_large"' "$tmp/f4.out" && grep -q '"type":"reply","id":5,"status":0' "$tmp/f4.out" &&
    ok "an oversized frame: an error, the frames after it are served" || fail "oversized: $(head -c 600 "$tmp/f4.out")"
printf '%s\n{"type":"cmd","id":1,"li' "$hello" | "$raw" --half-close "$sockdir/s1" >"$tmp/f5.out"
grep -q '"type":"hello"' "$tmp/f5.out" && grep_file 5 'in the middle of a frame' "$tmp/s1.log" &&
    ok "a truncated frame: dropped and logged" || fail "truncated: $(cat "$tmp/f5.out")"
printf '{"type":"cmd","id":1,"line":"get lr"}\n' | "$raw" "$sockdir/s1" >"$tmp/f6.out"
grep -q '"code":"state".*first frame must be a hello' "$tmp/f6.out" && ok "a command before hello: refused" ||
    fail "no hello: $(cat "$tmp/f6.out")"
advancing s1 && ok "the server keeps training through the bad frames" || fail "not advancing after bad frames"

# Ctrl-C in a console (an interrupt frame): a `wait` ends at once with the run paused, as locally
printf '%s\n{"type":"cmd","id":3,"line":"wait"}\n{"type":"interrupt"}\n' "$hello" |
    "$raw" "$sockdir/s1" >"$tmp/intr.out"
grep -q '"type":"reply","id":3' "$tmp/intr.out" && "$bin" ctl s1 'show status' | grep -q '^state: paused' &&
    ok "an interrupt ends a wait and pauses the run" || fail "interrupt: $(tail -c 600 "$tmp/intr.out")"
"$bin" ctl s1 resume >/dev/null && advancing s1 || fail "resume after the interrupt"
printf '%s\n{"type":"interrupt"}\n' "$hello" | "$raw" "$sockdir/s1" >"$tmp/intr2.out"
grep -q 'paused (Ctrl-C)' "$tmp/intr2.out" && "$bin" ctl s1 'show status' | grep -q '^state: paused' &&
    ok "an interrupt pauses a training run" || fail "interrupt while training: $(tail -c 600 "$tmp/intr2.out")"
"$bin" ctl s1 resume >/dev/null && advancing s1 || fail "resume after the second interrupt"

# a long evaluation (8,000 dev rows, seconds) does not stop the server answering others: a monitor's
# `show status` and `ls` are answered while another client's `eval` runs, and it ends as usual
# (the run's own evaluations, at each epoch's end, would take as long: none until the last part here)
"$bin" ctl s1 "set eval_every 1000000000; load dev $data --limit=8000 --max-len=32" >"$tmp/ldev.out" 2>&1 ||
    fail "load dev: $(cat "$tmp/ldev.out")"
SMARTTY_CLIENT_NAME=evaler "$bin" ctl s1 eval >"$tmp/eval.out" 2>&1 &
epid=$!
echo $epid >>"$tmp/pids"
grep_file 10 'evaler: ctl' "$tmp/s1.log" || fail "the evaluating client did not connect: $(tail -3 "$tmp/s1.log")"
sleep 0.5
t0=$(date +%s)
timeout 20 "$bin" ctl s1 'show status' >"$tmp/ev_status.out" 2>&1
st=$?
t1=$(date +%s)
if [ $st = 0 ] && ! gone "$epid"; then
    ok "ctl: show status is answered while another client's eval runs ($((t1 - t0)) s)"
    # (the evaluation starts after the step in progress: on a slow build it may not have yet)
    eval_shown() { timeout 10 "$bin" ctl s1 'show status' >"$tmp/ev_status.out" 2>&1 &&
        grep -Eq '^evaluating the dev set: [0-9]+ of 8000 rows$' "$tmp/ev_status.out"; }
    wait_until 10 eval_shown && ok "show status says how far the evaluation got" ||
        fail "no progress in show status: $(cat "$tmp/ev_status.out")"
elif gone "$epid" && [ $((t1 - t0)) -le 1 ]; then
    fail "the evaluation of 8,000 rows ended within a second: too quick to show anything (give the test more rows)"
else
    fail "show status during eval: exit $st after $((t1 - t0)) s$(gone "$epid" && echo ', answered only after the evaluation'): $(cat "$tmp/ev_status.out")"
fi
timeout 20 "$bin" ls >"$tmp/ls_eval.out" 2>&1 && grep -Eq '^s1 +[0-9]+ +(running|paused) ' "$tmp/ls_eval.out" && ! gone "$epid" &&
    ok "ls gets the run's state during the evaluation" ||
    fail "ls during eval: $(cat "$tmp/ls_eval.out")$(gone "$epid" && echo ' (the evaluation had ended)')"
wait_until 120 gone "$epid"
wait "$epid"
st=$?
[ $st = 0 ] && grep -Eq '^(eval|dev).*acc' "$tmp/eval.out" && ok "the evaluation ends with its metrics" ||
    fail "eval: exit $st: $(cat "$tmp/eval.out")"
advancing s1 || fail "the run does not train after the evaluation"
# Ctrl-C in that ctl (SIGINT: an interrupt frame) ends the evaluation early, and only it: the run trains on
SMARTTY_CLIENT_NAME=evaler2 "$bin" ctl s1 eval >"$tmp/eval2.out" 2>&1 &
epid=$!
echo $epid >>"$tmp/pids"
grep_file 10 'evaler2: ctl' "$tmp/s1.log" || fail "the second evaluating client did not connect"
sleep 0.5
kill -INT "$epid"
wait_until 10 gone "$epid" || fail "ctl eval did not end within 10 s of Ctrl-C"
wait "$epid"
st=$?
[ $st = 1 ] && grep -Eq 'evaluation interrupted after [0-9]+ of 8000 rows' "$tmp/eval2.out" &&
    ok "Ctrl-C in ctl ends its eval early (exit 1, says how far it got)" ||
    fail "Ctrl-C during eval: exit $st: $(cat "$tmp/eval2.out")"
"$bin" ctl s1 'show status' | grep -q '^state: running' && advancing s1 &&
    ok "the run trains on after the interrupted eval" || fail "after the interrupted eval: $("$bin" ctl s1 'show status' 2>&1)"
# a pause from another client during an eval does not wait for it (the server would stop answering
# until it ended): the run pauses when the eval ends, before any further step
SMARTTY_CLIENT_NAME=evaler3 "$bin" ctl s1 eval >"$tmp/eval3.out" 2>&1 &
epid=$!
echo $epid >>"$tmp/pids"
grep_file 10 'evaler3: ctl' "$tmp/s1.log" || fail "the third evaluating client did not connect"
sleep 0.5
timeout 20 "$bin" ctl s1 pause >"$tmp/pause3.out" 2>&1
st=$?
timeout 20 "$bin" ctl s1 'show status' >"$tmp/status3.out" 2>&1
st2=$?
if [ $st = 0 ] && [ $st2 = 0 ] && ! gone "$epid"; then
    grep -q '^pausing: the run pauses when the command running now ends' "$tmp/pause3.out" &&
        ok "ctl: a pause during another client's eval returns at once, and the server answers on" ||
        fail "pause during another client's eval: $(cat "$tmp/pause3.out")"
elif gone "$epid"; then
    fail "the eval ended before the pause came back (the pause waited for it, or 8,000 rows are too few): $(cat "$tmp/pause3.out")"
else
    fail "pause during another client's eval: exit $st, show status exit $st2: $(cat "$tmp/pause3.out" "$tmp/status3.out")"
fi
wait_until 120 gone "$epid"
wait "$epid" || fail "the eval the pause came during: $(cat "$tmp/eval3.out")"
at=$(sed -n 's/^dev at step \([0-9]*\) .*/\1/p' "$tmp/eval3.out")
paused_at() { "$bin" ctl s1 'show status' 2>/dev/null | grep -q "^state: paused; step $at[;( ]"; }
[ -n "$at" ] && wait_until 10 paused_at && ok "the run paused when the eval ended, at the step it evaluated" ||
    fail "after the eval (at step '$at'): $("$bin" ctl s1 'show status' 2>&1 | head -1)"
"$bin" ctl s1 resume >/dev/null && advancing s1 || fail "resume after the pause during the eval"
# the run's own evaluation (every 5 steps now, each of seconds): a command that changes the run waits
# behind it, and meanwhile the server still answers a monitor
"$bin" ctl s1 'set eval_every 5' >/dev/null || fail "set eval_every 5"
in_eval() { "$bin" ctl s1 'show status' 2>/dev/null | grep -q '^evaluating the dev set: '; }
if wait_until 30 in_eval; then
    SMARTTY_CLIENT_NAME=setter "$bin" ctl s1 'set mu 3' >"$tmp/set_ev.out" 2>&1 &
    xpid=$!
    echo $xpid >>"$tmp/pids"
    grep_file 10 'setter: ctl' "$tmp/s1.log"
    sleep 0.3
    timeout 20 "$bin" ctl s1 'show status' >"$tmp/ev_status2.out" 2>&1
    st=$?
    if [ $st = 0 ] && ! gone "$xpid"; then
        ok "ctl: show status is answered while a set waits behind the run's own evaluation"
    elif gone "$xpid"; then
        fail "the set did not wait for the evaluation (it ended first): nothing shown; $(cat "$tmp/set_ev.out")"
    else
        fail "show status while a set waits behind the run's evaluation: exit $st: $(cat "$tmp/ev_status2.out")"
    fi
    wait_until 120 gone "$xpid"
    wait "$xpid" && grep -q '^mu = 3' "$tmp/set_ev.out" && ok "the set is applied after the evaluation" ||
        fail "set mu 3 behind the evaluation: $(cat "$tmp/set_ev.out")"
else
    fail "no evaluation of the run within 30 s of set eval_every 5"
fi
# a pause during the run's own evaluation ends it early instead of waiting for it: the evaluation is
# owed (show status says so), and resume runs it again, whole, before the next step
if wait_until 30 in_eval; then
    timeout 20 "$bin" ctl s1 pause >"$tmp/pause_ev.out" 2>&1
    st=$?
    at=$(sed -n 's/^paused [a-z]* step \([0-9]*\).*/\1/p' "$tmp/pause_ev.out")
    "$bin" ctl s1 'show status' >"$tmp/owed.out" 2>&1
    [ $st = 0 ] && [ -n "$at" ] && grep -q "^the evaluation after step $at was interrupted: it runs again" "$tmp/owed.out" &&
        ! grep -q '^evaluating' "$tmp/owed.out" &&
        ok "a pause during the run's evaluation ends it early; show status says it is owed" ||
        fail "pause during the run's evaluation: exit $st: $(cat "$tmp/pause_ev.out" "$tmp/owed.out")"
    grep_file 10 "step $at: evaluation interrupted after [0-9]* of 8000 rows \(nothing was recorded\); .resume. or .step. runs it again" "$tmp/s1.log" ||
        fail "no notice of the interrupted evaluation: $(tail -5 "$tmp/s1.log")"
    "$bin" ctl s1 resume >/dev/null || fail "resume after the pause during the evaluation"
    owed_runs() { "$bin" ctl s1 'show status' >"$tmp/owed2.out" 2>/dev/null &&
        grep -q "^state: running; step $at[;( ]" "$tmp/owed2.out" && grep -q '^evaluating the dev set: ' "$tmp/owed2.out"; }
    wait_until 10 owed_runs && ok "resume runs the owed evaluation first, at the step it was owed" ||
        fail "after resume: $(cat "$tmp/owed2.out")"
else
    fail "no second evaluation of the run within 30 s"
fi
"$bin" ctl s1 'set eval_every 1000000000' >/dev/null || fail "set eval_every back"

# shutdown asks about unsaved training; shutdown save DIR saves and ends
"$bin" ctl s1 shutdown >"$tmp/sd.out" 2>&1
[ $? = 1 ] && grep -q "unsaved: \`shutdown save DIR\` keeps them" "$tmp/sd.out" && [ -S "$sockdir/s1" ] &&
    ok "shutdown with unsaved training refuses and says how" || fail "shutdown: $(cat "$tmp/sd.out")"
# ... during another client's eval (8,000 rows: seconds), which it does not wait for: the eval ends early
SMARTTY_CLIENT_NAME=evaler5 "$bin" ctl s1 eval >"$tmp/eval5.out" 2>&1 &
epid=$!
echo $epid >>"$tmp/pids"
grep_file 10 'evaler5: ctl' "$tmp/s1.log" || fail "the last evaluating client did not connect"
sleep 0.5
"$bin" ctl s1 "shutdown save $tmp/final" >"$tmp/sd2.out" 2>&1
[ $? = 0 ] && grep -q "saved step" "$tmp/sd2.out" && ok "shutdown save DIR" || fail "shutdown save: $(cat "$tmp/sd2.out")"
wait_until 10 gone "$epid" || fail "the eval client is still there after shutdown"
wait "$epid"
st=$?
[ $st != 0 ] && grep -Eq 'evaluation interrupted after [0-9]+ of 8000 rows' "$tmp/eval5.out" &&
    grep -q 'the evaluation another client runs ends early' "$tmp/sd2.out" &&
    ok "shutdown save during another client's eval ends the eval early, and both clients are told" ||
    fail "shutdown save during an eval: eval exit $st: $(cat "$tmp/eval5.out" "$tmp/sd2.out")"
wait_until 10 gone "$pid" && [ ! -e "$sockdir/s1" ] && ok "the server ended and removed its socket" ||
    fail "the server is still there after shutdown"
grep -q '"op":"by","args":\["tester","set mu 2"\]' "$tmp/final/journal.jsonl" && ok "the journal records the author" ||
    fail "no author in the journal: $(grep by "$tmp/final/journal.jsonl")"
no_sanitizer_reports
finish
