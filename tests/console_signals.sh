#!/bin/sh
# console_signals.sh: SIGTERM or SIGHUP during a -c script stops it after the autosave and exits
# 128 + the signal (the script's own commands after it, such as its save, never ran), as
# `smartty train` does; the autosave is named and loads.
set -u
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-../shared}
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2/train.tsv
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
[ -d "$model" ] && [ -f "$data" ] || { echo "SKIP: $model or $data is absent (set SMARTTY_SHARED)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-csig.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME=$tmp/state
fail() { echo "FAIL: $*" >&2; exit 1; }
setup="load model $model; load train $data limit=64 max-len=32; set batch_size 8; set max_len 32"
for sig in TERM HUP; do
    "$bin" -c "$setup; train 100000 steps; save $tmp/never" >"$tmp/$sig.out" 2>&1 &
    pid=$!
    i=0
    while [ $i -lt 200 ] && ! grep -q 'Z step [0-9]' "$tmp/$sig.out"; do sleep 0.1; i=$((i + 1)); done
    kill -"$sig" "$pid"
    wait "$pid"; st=$?
    want=$((128 + $(kill -l "$sig")))
    [ "$st" = "$want" ] || fail "SIG$sig during a script: exit $st, want $want: $(cat "$tmp/$sig.out")"
    [ -d "$tmp/never" ] && fail "SIG$sig: the script went on to its save"
    ckpt=$(sed -n 's/.*autosaved step [0-9]* to \(.*\)$/\1/p' "$tmp/$sig.out" | head -1)
    [ -n "$ckpt" ] && [ -f "$ckpt/trainer_state.json" ] || fail "SIG$sig: no autosave named: $(cat "$tmp/$sig.out")"
done
exit 0
