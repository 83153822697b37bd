#!/bin/sh
# console_replay.sh: a journal is untrusted input. `replay` lists the files a journal will read and
# waits for `force`; an event at a step no run of the journal reaches is refused with the numbers
# (it trained for ever); a long replay shows progress and stops on SIGTERM (exit 143) and SIGINT;
# `source FIFO` is refused at once (it blocked for ever).
set -u
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-../shared}
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2/train.tsv
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME=$tmp/state
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# source FIFO: refused, not waited on (needs no model)
mkfifo "$tmp/fifo"
timeout -k 5 20 "$bin" -c "source $tmp/fifo" >"$tmp/fifo.out" 2>&1
st=$?
[ $st = 1 ] || fail "source FIFO: exit $st, want 1 (124: it blocked): $(cat "$tmp/fifo.out")"
grep -q "named pipe" "$tmp/fifo.out" || fail "source FIFO: no message: $(cat "$tmp/fifo.out")"

# a journal that reads a file: listed, and nothing read without force
secret=$tmp/secret.tsv
printf 'sentence\tlabel\nTOPSECRET-LINE\t1\nother\t0\n' >"$secret"
printf '{"step":0,"op":"load_model","args":["%s"]}\n{"step":0,"op":"load_train","args":["%s"]}\n' \
    "$model" "$secret" >"$tmp/trust.jsonl"
"$bin" -c "replay $tmp/trust.jsonl; show data" >"$tmp/trust.out" 2>&1
st=$?
[ $st = 1 ] || fail "an untrusted journal replayed without force (exit $st)"
grep -q "will read 2 files: load_model $model; load_train $secret" "$tmp/trust.out" ||
    fail "the files are not listed: $(cat "$tmp/trust.out")"
grep -q "replay $tmp/trust.jsonl force" "$tmp/trust.out" || fail "how to go on is not said: $(cat "$tmp/trust.out")"
grep -q TOPSECRET "$tmp/trust.out" && fail "the journal's file was read and shown"

if [ ! -d "$model" ] || [ ! -f "$data" ]; then
    echo "SKIP (rest): $model or $data is absent (set SMARTTY_SHARED)"
    [ "$fails" = 0 ] || exit 1
    exit 0
fi
head='{"step":0,"op":"load_model","args":["'$model'"]}
{"step":0,"op":"load_train","args":["'$data'","--limit=64","--max-len=32"]}
{"step":0,"op":"set","args":["batch_size","8"]}'

# an event far beyond the run: refused at once with the numbers
printf '%s\n{"step":0,"op":"train","args":["3"]}\n{"step":1000000000000,"op":"set","args":["lr","0.1"]}\n' \
    "$head" >"$tmp/far.jsonl"
timeout -k 5 60 "$bin" -c "replay $tmp/far.jsonl force" >"$tmp/far.out" 2>&1
st=$?
[ $st = 1 ] || fail "a journal beyond its plan: exit $st, want 1 (124: it trained on): $(tail -3 "$tmp/far.out")"
grep -q "step 1000000000000 lies beyond its run: the plan is 24 steps" "$tmp/far.out" ||
    fail "no numbers: $(cat "$tmp/far.out")"

# a long replay: progress, and the signals stop it
printf '%s\n{"step":0,"op":"train","args":["100000000"]}\n{"step":100000000,"op":"done","args":[]}\n' \
    "$head" >"$tmp/long.jsonl"
for sig in TERM INT; do
    : >"$tmp/long.$sig"
    "$bin" -c "replay $tmp/long.jsonl force" >"$tmp/long.$sig" 2>&1 &
    pid=$!
    i=0
    while [ $i -lt 150 ] && ! grep -q 'replay: step [0-9]* of 100000000' "$tmp/long.$sig"; do sleep 0.1; i=$((i + 1)); done
    grep -q 'replay: step [0-9]* of 100000000' "$tmp/long.$sig" || fail "SIG$sig: no progress: $(cat "$tmp/long.$sig")"
    kill -"$sig" "$pid"
    i=0
    while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        fail "SIG$sig did not stop the replay"; kill -9 "$pid"
    fi
    wait "$pid"; st=$?
    want=1; [ $sig = TERM ] && want=143
    [ $st = $want ] || fail "SIG$sig during replay: exit $st, want $want: $(tail -3 "$tmp/long.$sig")"
    grep -q "interrupted at step" "$tmp/long.$sig" || fail "SIG$sig: not said: $(tail -3 "$tmp/long.$sig")"
done
[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
exit 0
