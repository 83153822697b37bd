#!/bin/sh
# console_train.sh: the console driving real training through -c (issue 5, criterion 2): bert-tiny-mlm
# on a slice of SST-2; `set lambda_s 3` mid-run shows in the journal with its step; pause then
# `step 3` moves the counter by 3; a `loss > 0` breakpoint fires before the update (the weights
# saved at the breakpoint equal those before it); rewind restores weights and optimizer state
# bit for bit; replay of a saved journal reproduces the final weights bit for bit; SIGHUP during
# training leaves a loadable checkpoint. Plain output has timestamped progress lines, not one per step.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2/train.tsv
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
if "$bin" -c "load model $model" 2>&1 | grep -q "needs the training session"; then
    echo "SKIP: this build has no training session yet"; exit 77
fi
setup="load model $model; load train $data limit=64 max-len=32; set batch_size 8; set max_len 32; set seed 7"
run() { # run NAME COMMANDS: the console's output in $tmp/NAME.out, its status returned
    "$bin" -c "$setup; $2" >"$tmp/$1.out" 2>&1
}

# 1. a live `set` during a run: the reply and the journal give the step
run live "set train_wait off; train 20 steps; wait 4; set lambda_s 3; wait; show journal"
[ $? = 0 ] || fail "live set run failed: $(cat "$tmp/live.out")"
at=$(sed -n 's/.*lambda_s = 3 (takes effect at step \([0-9]*\)).*/\1/p' "$tmp/live.out" | head -1)
jstep=$(sed -n 's/^step \([0-9]*\): set lambda_s 3$/\1/p' "$tmp/live.out" | head -1)
if [ -n "$at" ] && [ -n "$jstep" ] && [ "$at" = $((jstep + 1)) ] && [ "$jstep" -ge 4 ]; then
    ok "set lambda_s 3 took effect at step $at, journalled at step $jstep"
else
    fail "live set: reply step '$at', journal step '$jstep'"; cat "$tmp/live.out"
fi

# 2. pause, then step 3: the counter moves by exactly 3
run step "set train_wait off; train 20 steps; wait 3; pause; step 3"
[ $? = 0 ] || fail "step run failed: $(cat "$tmp/step.out")"
p=$(sed -n 's/^paused after step \([0-9]*\)$/\1/p' "$tmp/step.out" | head -1)
q=$(sed -n 's/^step \([0-9]*\) (epoch.*/\1/p' "$tmp/step.out" | tail -1)
if [ -n "$p" ] && [ -n "$q" ] && [ "$q" = $((p + 3)) ]; then ok "step 3 from step $p reached step $q"; else
    fail "pause/step: paused at '$p', after step 3 at '$q'"; cat "$tmp/step.out"; fi

# 3. a breakpoint on loss > 0 fires before the update: the state saved there is the state before
run brk "train 2 steps; save $tmp/before; break loss > 0; train 5 steps; show status; save $tmp/atbreak; resume; save $tmp/after"
[ $? = 0 ] || fail "breakpoint run failed: $(cat "$tmp/brk.out")"
grep -q "breakpoint 1 (loss > 0): loss = " "$tmp/brk.out" && ok "the breakpoint fired and said why" ||
    { fail "no breakpoint message"; cat "$tmp/brk.out"; }
grep -q "^state: at a breakpoint; step 2" "$tmp/brk.out" && ok "paused at a breakpoint before step 3" ||
    fail "status at the breakpoint: $(grep '^state' "$tmp/brk.out")"
same "weights unchanged at the breakpoint" "$tmp/before/model.safetensors" "$tmp/atbreak/model.safetensors"
if cmp -s "$tmp/before/model.safetensors" "$tmp/after/model.safetensors"; then
    fail "resume did not apply the pending update"; else ok "resume applied the pending update"; fi

# 4. rewind returns exactly to a snapshot
run rew "train 2 steps; snapshot s; save $tmp/snap; train 3 steps; rewind s; save $tmp/rewound"
[ $? = 0 ] || fail "rewind run failed: $(cat "$tmp/rew.out")"
same "rewind restores the weights" "$tmp/snap/model.safetensors" "$tmp/rewound/model.safetensors"
same "rewind restores the optimizer and teacher" "$tmp/snap/trainer_state.safetensors" "$tmp/rewound/trainer_state.safetensors"

# 5. replay of the saved journal reproduces the final weights bit for bit
run orig "set train_wait off; set progress_every 3600; train 16 steps; wait 4; set lambda_s 3; set mu 2; wait; save $tmp/orig"
[ $? = 0 ] || fail "original run failed: $(cat "$tmp/orig.out")"
cp "$tmp/orig/model.safetensors" "$tmp/orig.weights"
cp "$tmp/orig/journal.jsonl" "$tmp/orig.journal"
"$bin" -c "replay $tmp/orig.journal force; save $tmp/replayed" >"$tmp/replay.out" 2>&1 ||
    fail "replay failed: $(cat "$tmp/replay.out")"
same "replay reproduces the final weights" "$tmp/orig.weights" "$tmp/replayed/model.safetensors"
# replay never throws away unsaved training, and an empty journal is refused (it emptied the session)
: >"$tmp/empty.journal"
run noreplay "train 2 steps; replay $tmp/orig.journal"
[ $? = 1 ] && grep -q "2 steps of training would be lost: \`save DIR\` first, or \`replay $tmp/orig.journal force\`" \
    "$tmp/noreplay.out" && ok "replay refuses to discard unsaved training" ||
    fail "replay over unsaved training: $(cat "$tmp/noreplay.out")"
run forcereplay "train 2 steps; replay $tmp/orig.journal force; save $tmp/forced"
[ $? = 0 ] || fail "replay force failed: $(cat "$tmp/forcereplay.out")"
same "replay force reproduces the final weights" "$tmp/orig.weights" "$tmp/forced/model.safetensors"
"$bin" -c "replay $tmp/empty.journal" >"$tmp/emptyreplay.out" 2>&1
[ $? = 1 ] && grep -q "the journal holds no events" "$tmp/emptyreplay.out" && ok "an empty journal is refused" ||
    fail "empty journal: $(cat "$tmp/emptyreplay.out")"
# a rewind at a breakpoint is journalled (it was lost with the pending update's deferred events);
# since branches (issue 15) the new branch's journal is the snapshot's, then the rewind at its step
run brew "break loss > 0; train 5 steps; snapshot s1; step 2; rewind s1; delete all; resume; show journal; save $tmp/brew"
[ $? = 0 ] || fail "rewind at a breakpoint failed: $(cat "$tmp/brew.out")"
grep -q '^step 0: rewind s1$' "$tmp/brew.out" && ok "a rewind at a breakpoint is journalled" ||
    fail "no rewind in the journal: $(cat "$tmp/brew.out")"
"$bin" -c "replay $tmp/brew/journal.jsonl force; save $tmp/brew2" >"$tmp/brew2.out" 2>&1 ||
    fail "replay after a rewind at a breakpoint: $(cat "$tmp/brew2.out")"
same "replay after a rewind at a breakpoint" "$tmp/brew/model.safetensors" "$tmp/brew2/model.safetensors"
n=$(grep -c '^[0-9-]*T[0-9:]*Z step ' "$tmp/orig.out")
[ "$n" -ge 1 ] && [ "$n" -le 4 ] && ok "$n timestamped progress lines for 16 steps at progress_every 3600" ||
    fail "progress lines: $n"
if LC_ALL=C grep -q "$(printf '\r')" "$tmp/orig.out"; then fail "carriage return in plain output"; fi

# 6. SIGHUP during training: the step finishes, a checkpoint is written where the log says, exit 129
"$bin" -c "$setup; train 100000 steps" >"$tmp/hup.out" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'Z step [0-9]' "$tmp/hup.out"; do sleep 0.1; i=$((i + 1)); done
kill -HUP "$pid"
wait "$pid"; st=$?
[ "$st" = 129 ] && ok "SIGHUP: exit status 129" || fail "SIGHUP: exit status $st: $(cat "$tmp/hup.out")"
ckpt=$(sed -n 's/.*autosaved step [0-9]* to \(.*\)$/\1/p' "$tmp/hup.out" | head -1)
if [ -n "$ckpt" ] && [ -f "$ckpt/model.safetensors" ]; then
    ok "SIGHUP left $ckpt"
    "$bin" -c "resume $ckpt; show status" >"$tmp/reload.out" 2>&1 && grep -q "^state: [a-z]*; step [1-9]" "$tmp/reload.out" &&
        ok "the autosave resumes (resume DIR alone)" || fail "the autosave does not resume: $(cat "$tmp/reload.out")"
else
    fail "no autosave after SIGHUP"; cat "$tmp/hup.out"
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
exit 0
