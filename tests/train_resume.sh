#!/bin/sh
# train_resume.sh: training N steps, saving, resuming in a new process and training N more gives
# weights, Adam moments and teacher bit-identical to 2N uninterrupted steps (one thread); and a
# checkpoint survives runs killed with SIGKILL while they train and save over it; SIGTERM saves.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2
fail() { echo "FAIL: $*" >&2; exit 1; }
OPENBLAS_NUM_THREADS=1; export OPENBLAS_NUM_THREADS

# 5 steps per epoch (40 rows, batch 8): the resume point (6) is inside the second epoch
run() { "$bin" train --model "$model" --train "$data/train.tsv" --limit 40 --preset paper \
        --set batch_size=8 --set max_steps=12 --set max_len=32 --set seed=7 "$@"; }
run --save "$tmp/full" >/dev/null 2>"$tmp/err" || fail "uninterrupted run: $(cat "$tmp/err")"
run --steps 6 --save "$tmp/half" >/dev/null 2>"$tmp/err" || fail "first half: $(cat "$tmp/err")"
"$bin" train --resume "$tmp/half" --train "$data/train.tsv" --limit 40 --save "$tmp/resumed" \
    >"$tmp/out" 2>"$tmp/err" || fail "resume: $(cat "$tmp/err")"
grep -q "from step 6" "$tmp/out" || fail "the resumed run did not start at step 6: $(cat "$tmp/out")"
cmp "$tmp/full/model.safetensors" "$tmp/resumed/model.safetensors" || fail "weights differ after resume"
cmp "$tmp/full/trainer_state.safetensors" "$tmp/resumed/trainer_state.safetensors" \
    || fail "moments or teacher differ after resume"
cmp "$tmp/full/model.safetensors" "$tmp/half/model.safetensors" >/dev/null \
    && fail "the half-way checkpoint equals the full one: the test cannot tell"

# refused EDIT PATTERN: a copy of the half-way checkpoint whose trainer_state.json is edited with
# the sed expression EDIT does not resume, and the message matches PATTERN (grep)
refused() {
    rm -rf "$tmp/bad"
    cp -r "$tmp/half" "$tmp/bad"
    sed "$1" "$tmp/half/trainer_state.json" >"$tmp/bad/trainer_state.json"
    cmp -s "$tmp/half/trainer_state.json" "$tmp/bad/trainer_state.json" && fail "'$1' changed nothing"
    "$bin" train --resume "$tmp/bad" --train "$data/train.tsv" --limit 40 --steps 1 >"$tmp/out" 2>"$tmp/err" \
        && fail "resumed from a state edited with '$1'"
    grep -q "$2" "$tmp/err" || fail "'$1': no message matching '$2': $(cat "$tmp/err")"
    grep -q "runtime error" "$tmp/err" && fail "'$1': $(cat "$tmp/err")"
}
# a damaged trainer_state.json: a step counter past 2^53 (it would overflow), a negative one (Adam's
# bias correction) or a data position that does not fit is refused with the field's name
for edit in 's/^ "step": [0-9]*/ "step": 9223372036854775807/' \
            's/"optimizer_steps": [0-9]*/"optimizer_steps": 9223372036854775807/' \
            's/"optimizer_steps": [0-9]*/"optimizer_steps": -5/' \
            's/"planned": [0-9]*/"planned": "twelve"/' \
            's/"batch_size": 8$/"batch_size": 4294967297/' 's/"n_rows": 40/"n_rows": -40/'; do
    refused "$edit" 'trainer_state.json: .*"\(step\|optimizer_steps\|planned\|batch_size\|n_rows\)"'
done
# a damaged generator state: a word that is not 16 hex digits, all four words zero (xoshiro would
# stay at zero), has_spare other than 0 or 1
for edit in '0,/^ *"[0-9a-f]\{16\}",$/s/"[0-9a-f]\{16\}"/"zz"/' 's/"[0-9a-f]\{16\}"/"0000000000000000"/' \
            's/"has_spare": 0/"has_spare": 2/'; do
    refused "$edit" "trainer_state.json: .*rng: a generator's state is"
done
# a checkpoint saved while its run's last evaluation was owed (a pause ended it early): --resume runs
# it, saves, and the plan is done; a run whose plan is done says so and how to train on
run --dev "$data/dev.tsv" --save "$tmp/ev" >/dev/null 2>"$tmp/err" || fail "run with a dev set: $(cat "$tmp/err")"
cp -r "$tmp/ev" "$tmp/owed"
sed 's/^ "step": 12,$/ "step": 12,\n "eval_owed": true,/' "$tmp/ev/trainer_state.json" >"$tmp/owed/trainer_state.json"
grep -q '"eval_owed": true' "$tmp/owed/trainer_state.json" || fail "the edit did not add eval_owed"
"$bin" train --resume "$tmp/owed" --save "$tmp/owed-done" >"$tmp/out" 2>"$tmp/err" \
    || fail "resume with the evaluation owed: $(cat "$tmp/err")"
grep -q '^eval step 12 ' "$tmp/out" || fail "the owed evaluation did not run: $(cat "$tmp/out")"
grep -q '^done: 0 steps (12 to 12)' "$tmp/out" || fail "no done line: $(cat "$tmp/out")"
grep -q eval_owed "$tmp/owed-done/trainer_state.json" && fail "the evaluation is still owed after it ran"
"$bin" train --resume "$tmp/owed-done" >"$tmp/out" 2>"$tmp/err" && fail "resumed a run whose plan is done"
grep -q "the 12 planned steps are done (the run is at step 12); --steps N trains N more" "$tmp/err" \
    || fail "plan done: $(cat "$tmp/err")"
refused 's/^ "step": 6,$/ "step": 6,\n "eval_owed": 1,/' 'trainer_state.json: .*"eval_owed" is not true or false'

# a huge --steps on a resumed run trains without end rather than overflowing the end step
"$bin" train --resume "$tmp/half" --train "$data/train.tsv" --limit 40 --steps 9223372036854775807 --save "$tmp/huge" \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while ! grep -q '^step 10/' "$tmp/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { kill -9 $pid; fail "huge --steps: no progress: $(cat "$tmp/err")"; }
    grep -q "runtime error" "$tmp/err" && { kill -9 $pid; fail "huge --steps: $(cat "$tmp/err")"; }
    sleep 0.1
done
kill -TERM $pid
wait $pid
grep -q "runtime error" "$tmp/err" && fail "huge --steps: $(cat "$tmp/err")"

# kill -9 runs that train and save over a checkpoint, at several moments: it always loads
cp -r "$tmp/half" "$tmp/victim"
for delay in 0.3 0.8 1.5 2.5; do
    "$bin" train --resume "$tmp/victim" --train "$data/train.tsv" --limit 40 --steps 2 \
        --save "$tmp/victim" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$bin" train --resume "$tmp/victim" --train "$data/train.tsv" --limit 40 --steps 1 \
        --save "$tmp/probe" >"$tmp/out" 2>"$tmp/err" || fail "after kill at ${delay}s: $(cat "$tmp/err")"
    rm -rf "$tmp/probe"
done

# SIGTERM (or SIGHUP, SIGINT) stops at the next step boundary and saves what was trained
"$bin" train --model "$model" --train "$data/train.tsv" --limit 40 --set batch_size=8 --set max_len=32 \
    --set max_steps=100000 --set log_every=1 --save "$tmp/term" >"$tmp/out" 2>"$tmp/err" &
pid=$!
on_exit='kill -9 $pid 2>/dev/null'
i=0
while ! grep -q '^step 2/' "$tmp/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { kill -9 $pid; fail "no progress: $(cat "$tmp/err")"; }
    sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, want 143 ($(cat "$tmp/err"))"
grep -q "^interrupted by signal 15 at step" "$tmp/out" || fail "SIGTERM: no message: $(cat "$tmp/out")"
"$bin" train --resume "$tmp/term" --train "$data/train.tsv" --limit 40 --steps 1 >"$tmp/out2" 2>"$tmp/err" \
    || fail "the checkpoint written on SIGTERM does not load: $(cat "$tmp/err")"
grep -q "from step [1-9]" "$tmp/out2" || fail "the SIGTERM checkpoint has no steps: $(cat "$tmp/out2")"
exit 0
