#!/bin/sh
# tests/explore_console.sh: branches and `explore` through the console (issue 15), on bert-tiny-mlm
# and a slice of SST-2: `explore lambda_s=0,1,3 steps 20 from a` prints a table with a row per
# variant, `branches` lists the tree, `export compare` writes a row per branch and `export metrics`
# a branch column; `rewind` while training runs pauses first and says so; with a small
# snapshot_budget `show snapshots` shows a snapshot spilled to the state folder and a rewind to it is
# exact (a save after it equals a save at the snapshot). Skips without the shared data.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv datasets/sst2/dev.tsv
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
setup="load model $model; load train $data/train.tsv limit=48 max-len=32; load dev $data/dev.tsv limit=16 max-len=32; set batch_size 8; set max_len 32; set seed 3"

"$bin" -c "$setup; train 3; snapshot a; explore lambda_s=0,1,3 steps 20 from a; branches; export compare $tmp/cmp.csv; checkout a.2; export metrics $tmp/m.csv" >"$tmp/ex.out" 2>&1 ||
    fail "explore failed: $(cat "$tmp/ex.out")"
rows=$(sed -n '/^exploration: 3 variants, sorted by dev acc/,/^on branch/p' "$tmp/ex.out" | grep -Ec '^  [123] +a\.[123] +lambda_s=[013] ')
[ "$rows" = 3 ] && ok "the table has a row per variant" || fail "table rows: $rows; $(cat "$tmp/ex.out")"
grep -q '^on branch main$' "$tmp/ex.out" && ok "the exploration returns to where it started" || fail "not back on main"
for b in a.1 a.2 a.3; do
    grep -Eq "^  +└ $b +a@3 +20 " "$tmp/ex.out" || fail "branches: no row for $b forked at a@3 with 20 steps"
done
grep -Eq '^\* main ' "$tmp/ex.out" && ok "branches: the tree, main active" || fail "branches: $(cat "$tmp/ex.out")"
[ "$(wc -l <"$tmp/cmp.csv")" = 5 ] && head -1 "$tmp/cmp.csv" | grep -q '^branch,parent,snapshot,fork_step' &&
    ok "export compare: a row per branch" || fail "export compare: $(cat "$tmp/cmp.csv")"
head -1 "$tmp/m.csv" | grep -q ',branch$' && [ "$(grep -c ',main$' "$tmp/m.csv")" = 3 ] &&
    [ "$(grep -c ',a\.2$' "$tmp/m.csv")" = 20 ] && ok "export metrics: the branch of each step" ||
    fail "export metrics branch column: $(cut -d, -f1,2 "$tmp/m.csv" | head -3) $(tail -1 "$tmp/m.csv")"

# rewind while training runs: paused first, and said
"$bin" -c "$setup; snapshot s0; set train_wait off; train 2000; wait 3; rewind s0; show status" >"$tmp/rw.out" 2>&1 ||
    fail "rewind while running: $(cat "$tmp/rw.out")"
grep -q 'training was running; it was paused first' "$tmp/rw.out" && grep -q 'rewound to snapshot s0 (step 0), on new branch s0.1' "$tmp/rw.out" &&
    ok "rewind while running pauses first and says so" || fail "rewind while running: $(cat "$tmp/rw.out")"

# a small snapshot budget: the older snapshot spills to the state folder and comes back exactly
"$bin" -c "$setup; set snapshot_budget 80; train 2; snapshot a; save $tmp/at_a; train 2; snapshot b; show snapshots; train 1; rewind a; save $tmp/back" >"$tmp/sp.out" 2>&1 ||
    fail "spill run: $(cat "$tmp/sp.out")"
grep -Eq "^  a +2 +[0-9]+  $tmp/state/smartty/snapshots/snapshot-" "$tmp/sp.out" && ok "show snapshots: a spilled to the state folder, with its bytes" ||
    fail "show snapshots: $(cat "$tmp/sp.out")"
cmp -s "$tmp/at_a/model.safetensors" "$tmp/back/model.safetensors" && cmp -s "$tmp/at_a/trainer_state.safetensors" "$tmp/back/trainer_state.safetensors" &&
    ok "a rewind to a spilled snapshot is exact" || fail "the rewind to a spilled snapshot differs"
finish
