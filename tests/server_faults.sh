#!/bin/sh
# tests/server_faults.sh: the run server under faults (issue 14, criterion 3): a client killed in the
# middle of a frame; 20 clients attaching and detaching in loops while the run trains; SIGHUP
# ignored; `kill -9` of the server (its attached and watching clients exit non-zero with a message
# within 2 s, its last checkpoint still resumes); stale sockets removed by `ls` and by `serve`; a
# client that stops reading is dropped when its queue is full while the run goes on; SIGTERM
# autosaves and ends the server.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
[ -x "$raw" ] || skip "$raw is not built (make check builds it)"

serve_run f1 || { fail "serve f1: $(cat "$tmp/f1.serve")"; finish; }
pid=$(pid_of f1)
advancing f1 || fail "f1 does not train"

# a client killed in the middle of a frame
printf '{"type":"hello","proto":2,"role":"ctl","who":"raw"}\n{"type":"cmd","id":1,"line":"get' |
    "$raw" --hang "$sockdir/f1" >"$tmp/hang.out" 2>&1 &
hpid=$!
echo $hpid >>"$tmp/pids"
grep_file 10 '^sent$' "$tmp/hang.out" || fail "the raw client did not send"
# (the server must have read the bytes: a socket closed with unread data resets, dropping them)
grep_file 10 'raw: ctl \(uid' "$tmp/f1.log" || fail "the server did not see the raw client's hello"
kill -9 $hpid 2>/dev/null
wait $hpid 2>/dev/null || :
grep_file 10 'in the middle of a frame' "$tmp/f1.log" && ok "a client killed mid-frame: logged" || fail "no log line"
"$bin" ctl f1 'get lr' >/dev/null 2>&1 && advancing f1 && ok "the server answers and trains after it" ||
    fail "the server is stuck after a client died mid-frame"

# 20 clients attaching and detaching in loops (plain attaches and watchers) while the run trains
s0=$(step_of f1)
i=0
while [ $i -lt 20 ]; do
    (
        r=0; st=0
        while [ $r -lt 3 ]; do
            if [ $((i % 4)) = 0 ]; then
                # (not under timeout: a SIGTERM that reaches timeout's child before its exec is lost)
                "$bin" watch f1 >/dev/null 2>&1 &
                w=$!; sleep 0.3; kill $w 2>/dev/null; wait $w 2>/dev/null
            else
                printf 'get lr\ndetach\n' | timeout 20 "$bin" attach f1 >"$tmp/c$i.$r.out" 2>&1 || st=1
                grep -q '^lr = ' "$tmp/c$i.$r.out" || st=1
            fi
            r=$((r + 1))
        done
        echo $st >"$tmp/c$i.rc"
    ) &
    i=$((i + 1))
done
all_done() { [ "$(cat "$tmp"/c*.rc 2>/dev/null | wc -l)" = 20 ]; }
wait_until 90 all_done || fail "the 20 clients did not finish"
[ "$(cat "$tmp"/c*.rc | tr -d '\n')" = 00000000000000000000 ] && ok "20 clients attached and detached 3 times each" ||
    fail "some clients failed: $(grep -l . "$tmp"/c*.out | head -3 | xargs cat)"
step_gt f1 "${s0:-0}" && ok "the run trained meanwhile ($s0 -> $(step_of f1))" || fail "no steps while the clients came and went"
clients() { "$bin" ls | awk '$1 == "f1" {print $6}'; }
noclients() { [ "$(clients)" = 0 ]; }
wait_until 10 noclients && ok "ls: no clients left" ||
    fail "ls: $(clients) clients still counted; the log: $(grep -Ec ': (attach|watch|ctl) \(uid' "$tmp/f1.log") came, $(grep -c ': left$' "$tmp/f1.log") left; $(ps -o pid,args -C smartty | grep -v serve | head -5)"

# a server that does not answer (stopped: as one inside a long command) is listed as busy, not left out
kill -STOP "$pid"
timeout 30 "$bin" ls >"$tmp/ls-busy.out" 2>"$tmp/ls-busy.err"
kill -CONT "$pid"
grep -Eq "^f1 +$pid +busy .*does not answer" "$tmp/ls-busy.out" && grep -q "f1: the server does not answer" "$tmp/ls-busy.err" &&
    ! grep -q "no run servers" "$tmp/ls-busy.out" && ok "ls lists a server that does not answer as busy, with its pid" ||
    fail "ls with f1 stopped: $(cat "$tmp/ls-busy.out" "$tmp/ls-busy.err")"
# ... and watch (a person waiting) waits for it, saying so, instead of giving up after 5 s
kill -STOP "$pid"
"$bin" watch --every 0.2 f1 >"$tmp/w-busy.out" 2>"$tmp/w-busy.err" &
wbpid=$!
echo $wbpid >>"$tmp/pids"
if grep_file 15 "f1 does not answer yet .*waiting; Ctrl-C gives up" "$tmp/w-busy.err" && ! gone "$wbpid"; then
    kill -CONT "$pid"
    grep_file 20 ' step [0-9]+/' "$tmp/w-busy.out" && ok "watch waits for a server that does not answer, and follows it once it does" ||
        fail "watch after the server came back: $(cat "$tmp/w-busy.out" "$tmp/w-busy.err")"
else
    kill -CONT "$pid"
    fail "watch with f1 stopped: $(cat "$tmp/w-busy.err")$(gone "$wbpid" && echo ' (it exited)')"
fi
kill "$wbpid" 2>/dev/null

# SIGHUP is ignored
kill -HUP "$pid"
advancing f1 && ok "SIGHUP ignored: the server trains on" || fail "SIGHUP stopped the server"

# kill -9: a checkpoint saved before is intact; clients exit non-zero with a message within 2 s
"$bin" ctl f1 "save $tmp/ck" >/dev/null 2>&1 || fail "save before kill -9"
mkfifo "$tmp/in"
sleep 600 >"$tmp/in" &
keep=$!
echo $keep >>"$tmp/pids"
"$bin" attach f1 <"$tmp/in" >"$tmp/a.out" 2>&1 &
apid=$!
"$bin" watch f1 >"$tmp/w.out" 2>&1 &
wpid=$!
echo "$apid $wpid" >>"$tmp/pids"
clients2() { [ "$(clients)" = 2 ]; }
wait_until 20 clients2 || fail "the two clients did not attach"
kill -9 "$pid"
both_gone() { gone $apid && gone $wpid; }
if wait_until 2 both_gone; then ok "kill -9: both clients left within 2 s"; else fail "clients still running 2 s after kill -9"; fi
wait $apid; ast=$?
wait $wpid; wst=$?
[ $ast != 0 ] && grep -q "the server 'f1' ended" "$tmp/a.out" && ok "attach: exit $ast, '$(tail -1 "$tmp/a.out")'" ||
    fail "attach after kill -9: exit $ast: $(cat "$tmp/a.out")"
[ $wst != 0 ] && grep -q "the server 'f1' ended" "$tmp/w.out" && ok "watch: exit $wst with a message" ||
    fail "watch after kill -9: exit $wst: $(tail -2 "$tmp/w.out")"
kill $keep 2>/dev/null
"$bin" -c "resume $tmp/ck; show status" >"$tmp/resume.out" 2>&1 && grep -q '^state: ' "$tmp/resume.out" &&
    ok "the checkpoint saved before kill -9 resumes" || fail "resume: $(cat "$tmp/resume.out")"

# stale sockets: ls removes them; serve replaces one
[ -S "$sockdir/f1" ] || fail "kill -9 should leave the socket behind (the test needs it)"
"$bin" ls >"$tmp/ls.out" 2>&1
grep -q "removed the stale socket $sockdir/f1" "$tmp/ls.out" && [ ! -e "$sockdir/f1" ] &&
    ok "ls removes a stale socket and says so" || fail "ls: $(cat "$tmp/ls.out")"
serve_run f2 || fail "serve f2: $(cat "$tmp/f2.serve")"
f2pid=$(pid_of f2)
kill -9 "$f2pid"
wait_until 10 gone "$f2pid" || fail "f2 outlived kill -9"
[ -S "$sockdir/f2" ] || fail "no stale f2 socket (the test needs it)"
serve_run f2
st=$?
[ $st = 0 ] && grep -q "removed the stale socket" "$tmp/f2.serve" && ok "serve replaces a stale socket of its name" ||
    fail "serve over a stale socket: exit $st: $(cat "$tmp/f2.serve")"

# a client that stops reading: dropped once its queue is full (--queue), the run and the others go on
src=${SMARTTY_SRCDIR:-$(dirname "$0")/..}
"$bin" serve --name f3 --queue 65536 --log "$tmp/f3.log" -c "new model vocab=$src/datasets/vocab.txt layers=1 hidden=32 heads=1; load train $src/datasets/sentiment/train.tsv --max-len=16; set batch_size 1; set max_steps 100000000; set lambda_s 0; train" >"$tmp/f3.serve" 2>&1 ||
    fail "serve f3: $(cat "$tmp/f3.serve")"
pid_of f3 >>"$tmp/pids"
printf '{"type":"hello","proto":2,"role":"attach","who":"sleepy"}\n' | "$raw" --hang "$sockdir/f3" >"$tmp/sleepy.out" 2>&1 &
spid=$!
echo $spid >>"$tmp/pids"
grep_file 60 'sleepy \(attach\) fell behind with [0-9]+ bytes queued: disconnected' "$tmp/f3.log" &&
    ok "a client that does not read is dropped when its queue is full" || fail "the stalled client was kept: $(tail -3 "$tmp/f3.log")"
advancing f3 && "$bin" ctl f3 'get lr' >/dev/null 2>&1 && ok "the run and the other clients go on" ||
    fail "f3 stuck after dropping a stalled client"
kill -9 $spid 2>/dev/null
"$bin" ctl f3 'shutdown force' >/dev/null 2>&1 || fail "shutdown force f3"

# SIGTERM: autosave, then the server ends
pid2=$(pid_of f2)
advancing f2 || fail "f2 does not train"
kill -TERM "$pid2"
wait_until 30 gone "$pid2" && ok "SIGTERM ends the server" || fail "the server outlived SIGTERM"
[ -f "$XDG_STATE_HOME/smartty/autosave-$pid2/model.safetensors" ] && grep -q "autosaved step" "$tmp/f2.log" &&
    ok "SIGTERM autosaved to $XDG_STATE_HOME/smartty/autosave-$pid2" || fail "no autosave: $(tail -5 "$tmp/f2.log")"
[ ! -e "$sockdir/f2" ] && ok "and removed its socket" || fail "the socket stayed after SIGTERM"
no_sanitizer_reports
finish
