#!/bin/sh
# tests/server_tmux.sh: the run server end to end in real terminals (issue 14, criterion 1): `serve`
# trains bert-tiny-mlm on an SST-2 slice in the background; `attach` in tmux window A shows the
# header and curves; killing window A (SIGHUP to the client) leaves the run going (`ctl` sees the
# step advance); windows B and C attach, B's curves include the steps from before; `set lambda_s 3`
# typed in B appears in C as an event naming B, in both knob panels and in the journal with its
# author; `watch` prints plain lines; `shutdown save DIR` typed in B ends the server and both
# clients cleanly; replaying DIR's journal in a fresh local console gives the same weights, bit for
# bit. Exit 77 (skip) without tmux or the shared model and data.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/tmux_lib.sh"
start="load model $model; load train $data --limit=512 --max-len=16; set batch_size 4; set max_steps 4000; train"
serve_run e2e || { fail "serve: $(cat "$tmp/e2e.serve")"; finish; }
tmux_keep 120 40 || { fail "tmux cannot start a server"; finish; }
# win NAME: a tmux window attached to the run (120x40)
win() {
    $T new-window -d -t keep -n "$1" "env LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $bin attach e2e 2>$tmp/$1.err; echo \$? >$tmp/$1.rc; sleep 60"
}
clients() { "$bin" ls | awk '$1 == "e2e" {print $6}'; }
nclients() { [ "$(clients)" = "$1" ]; }
# the x axis of the train losses' chart: its last label (the latest step shown)
axis_max() { screen "$1" | sed -n 's/^│ \{8\}1 \{2,\}\([0-9][0-9]*\)││.*/\1/p' | head -1; }

win A
wait_for A '^ step [0-9]+/4000' 15 && wait_for A 'train losses' 5 && ok "attach in window A: the header and the curves" ||
    { fail "no dashboard in window A"; screen A; }
on_screen A 'F10 detach' && ok "the key bar shows F10 detach" || fail "no detach key in the key bar"
$T send-keys -t keep:A F1
wait_for A 'F10 +detach \(the run goes on\)' 5 && ok "the help popup says F10 detaches" ||
    { fail "the attached help popup: $(screen A | grep F10)"; }
$T send-keys -t keep:A q
wait_until 10 nclients 1 || fail "A is not counted as a client"
$T kill-window -t keep:A
wait_until 10 nclients 0 && ok "killing window A detached its client" || fail "A's client stayed: $(clients)"
advancing e2e && ok "ctl: the step still advances after A's terminal went away" || fail "the run stopped with A"
wait_until 60 step_gt e2e 100 || fail "the run did not reach step 100"
before=$(step_of e2e)

win B
win C
wait_for B '^ step [0-9]+/4000' 15 && wait_for C '^ step [0-9]+/4000' 15 || fail "B or C did not attach"
ax=$(axis_max B)
[ -n "$ax" ] && [ "$ax" -ge "$before" ] && ok "B's curves start at step 1 and reach step $ax (the run was at $before when B attached)" ||
    { fail "B's curves: axis to '$ax', want >= $before"; screen B | sed -n 3,16p; }
btty=$($T display -p -t keep:B '#{pane_tty}' | sed 's|^/dev/||')
"$bin" watch --every 0.5 e2e >"$tmp/watch.out" 2>&1 &
wpid=$!
echo $wpid >>"$tmp/pids"
grep_file 10 '^[0-9-]+T[0-9:]+Z step [0-9]+/4000 epoch [0-9]+ loss' "$tmp/watch.out" && ok "watch prints plain timestamped lines" ||
    fail "watch: $(cat "$tmp/watch.out")"
$T send-keys -t keep:B 'set lambda_s 3' Enter
wait_for C "lambda_s = 3 \(was 1\) from step [0-9]+, by [a-z0-9_-]+@$btty pid" 10 && ok "C shows the change as an event naming B ($btty)" ||
    { fail "C has no event naming B ($btty)"; screen C | sed -n 28,40p; }
wait_for B 'lambda_s +3 +@[0-9]+' 5 && wait_for C 'lambda_s +3 +@[0-9]+' 5 && ok "both knob panels show lambda_s 3 @step" ||
    fail "knob panels: B '$(screen B | grep -o 'lambda_s  *[^│]*' | head -1)', C '$(screen C | grep -o 'lambda_s  *[^│]*' | head -1)'"
grep_file 10 "change lambda_s = 3 \(was 1\) from step [0-9]+, by [a-z0-9_-]+@$btty pid" "$tmp/watch.out" &&
    ok "watch shows the change with its author" || fail "watch: no change: $(tail -3 "$tmp/watch.out")"

$T send-keys -t keep:B "shutdown save $tmp/final" Enter
wait_until 30 test -s "$tmp/B.rc" && wait_until 10 test -s "$tmp/C.rc" || fail "B or C did not end after shutdown"
[ "$(cat "$tmp/B.rc" 2>/dev/null)" = 0 ] && [ "$(cat "$tmp/C.rc" 2>/dev/null)" = 0 ] && grep -q "was shut down by" "$tmp/C.err" &&
    ok "shutdown save: both clients end cleanly, C says who shut it down" ||
    fail "after shutdown: B $(cat "$tmp/B.rc" 2>/dev/null) C $(cat "$tmp/C.rc" 2>/dev/null): $(cat "$tmp/C.err")"
wait_until 10 gone "$wpid" && ok "watch ended with the server" || fail "watch outlived the server"
grep -Eq "\"op\":\"by\",\"args\":\[\"[a-z0-9_-]+@$btty pid [0-9]+\",\"set lambda_s 3\"\]" "$tmp/final/journal.jsonl" &&
    ok "the journal records B as the author of the change" || fail "journal: $(grep -c . "$tmp/final/journal.jsonl") events, no author"

# replay in a fresh local console: the same weights, bit for bit
"$bin" -c "replay $tmp/final/journal.jsonl force; save $tmp/replayed" >"$tmp/replay.out" 2>&1 ||
    fail "replay: $(tail -3 "$tmp/replay.out")"
same "the replayed weights equal the server's" "$tmp/final/model.safetensors" "$tmp/replayed/model.safetensors"
no_sanitizer_reports
finish
