#!/bin/sh
# tests/server_explore.sh: exploration in an attached console works as in a local one (issue 15 with
# issue 14, protocol 2): a served run of bert-tiny-mlm on an SST-2 slice; a dashboard in tmux is
# attached; `snapshot a; explore lambda_s=0,1,3 steps 10 from a` (paused at once in variant 1) shows
# "variant 1/3" and the branch a.1 in the attached header; the branch events reach `watch`; once the
# exploration ends, `show compare a.1 a.2 a.3` typed in the attached dashboard shows the compare view
# with a legend naming the three branches (the records come from the server in branch frames), and
# `checkout a.3` makes the header name a.3. Exit 77 (skip) without tmux or the shared model and data.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/tmux_lib.sh"
serve_run ex || { fail "serve: $(cat "$tmp/ex.serve")"; finish; }
tmux_keep 120 40 || { fail "tmux cannot start a server"; finish; }
$T new-window -d -t keep -n A "env LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $bin attach ex 2>$tmp/A.err; echo \$? >$tmp/A.rc; sleep 60"
"$bin" watch --every 0.5 ex >"$tmp/watch.out" 2>&1 &
echo $! >>"$tmp/pids"

wait_for A '^ step [0-9]+/1000000' 20 && wait_for A 'train losses' 5 || { fail "no attached dashboard"; screen A; finish; }
"$bin" ctl ex 'pause' >"$tmp/ctl1.out" 2>&1 || fail "pause: $(cat "$tmp/ctl1.out")"
header_main() { screen A | sed -n 2p | grep -q 'branch main'; }
wait_until 10 header_main && ok "the attached header names the active branch (main)" ||
    { fail "no branch in the attached header"; screen A | sed -n 1,3p; }
# paused at the first step of variant 1, so the header can be read without a race
"$bin" ctl ex 'snapshot a; explore lambda_s=0,1,3 steps 10 from a; pause' >"$tmp/ctl2.out" 2>&1 ||
    fail "explore: $(cat "$tmp/ctl2.out")"
header_v1() { screen A | sed -n 2p | grep -Eq 'branch a\.1 +variant 1/3'; }
wait_until 10 header_v1 && ok "the attached header shows branch a.1 and variant 1/3" ||
    { fail "no variant in the attached header"; screen A | sed -n 1,3p; }
"$bin" ctl ex 'resume' >"$tmp/ctl3.out" 2>&1 || fail "resume: $(cat "$tmp/ctl3.out")"
grep_file 120 'branch explore: done' "$tmp/watch.out" || { fail "the exploration did not end"; tail -5 "$tmp/watch.out"; }
for v in 1 2 3; do
    grep -Eq "branch explore: variant $v/3 on branch a\.$v" "$tmp/watch.out" || fail "watch: no branch event for variant $v"
done
ok "watch prints the branch events"
header_plain() { screen A | sed -n 2p | grep -q 'branch main' && ! screen A | sed -n 2p | grep -q 'variant'; }
wait_until 10 header_plain && ok "back on main, no variant in the header" ||
    { fail "the header after the exploration"; screen A | sed -n 1,3p; }
$T send-keys -t keep:A 'show compare a.1 a.2 a.3' Enter
if wait_for A 'compare 3 branches' 10; then ok "the attached compare view shows 3 branches"; else fail "no compare view"; screen A; fi
wait_for A '━━ a\.3 ' 10
screen A >"$tmp/compare.txt"
for b in a.1 a.2 a.3; do
    grep -Eq "━━ $b " "$tmp/compare.txt" && ok "the legend names $b" || fail "no legend line for $b"
done
grep -Eq '━━ a\.1 +lambda_s=0' "$tmp/compare.txt" && grep -Eq '━━ a\.3 +lambda_s=3' "$tmp/compare.txt" &&
    ok "the legend gives the branches' knobs" || fail "the legend lacks the knobs"
# the curves are those of the compare view's first panel (the rows under its legend), in braille
sed -n '/compare 3 branches/,/╰/p' "$tmp/compare.txt" | LC_ALL=C grep -q "$(printf '\342[\240\241\242\243]')" &&
    ok "the compare view's curves are drawn (braille)" || fail "no curve cells in the compare view"
$T send-keys -t keep:A F11
wait_for A 'train losses' 5 && ok "F11 leaves the compare view" || fail "F11 did not leave the compare view"
$T send-keys -t keep:A 'checkout a.3' Enter
header_a3() { screen A | sed -n 2p | grep -q 'branch a\.3'; }
wait_until 10 header_a3 && ok "after checkout a.3 the attached header names a.3" ||
    { fail "the header after checkout"; screen A | sed -n 1,3p; }
$T send-keys -t keep:A 'detach' Enter
wait_until 10 test -s "$tmp/A.rc" && [ "$(cat "$tmp/A.rc")" = 0 ] && ok "detach" || fail "detach: $(cat "$tmp/A.rc" "$tmp/A.err" 2>/dev/null)"
"$bin" ctl ex 'shutdown force' >/dev/null 2>&1
no_sanitizer_reports
finish
