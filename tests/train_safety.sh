#!/bin/sh
# train_safety.sh: `smartty train` never loses a run to a secondary output or a bad destination:
# --save and --metrics destinations are checked before anything loads (missing parent, a file, a
# link, a folder as metrics), absurd regression targets and one-class data are refused with what
# they are, a failed metrics write is reported but the checkpoint is written, and
# a run whose save fails keeps its state as an autosave named in the message.
set -u
bin=${SMARTTY_BIN:?}
shared=${SMARTTY_SHARED:-}
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2
if [ ! -d "$model" ] || [ ! -f "$data/train.tsv" ]; then
    echo "SKIP: $model or $data is absent (set SMARTTY_SHARED)"; exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-tsafe.XXXXXX") || exit 1
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { "$bin" train --model "$model" --train "$data/train.tsv" --limit 16 --set batch_size=8 \
        --set max_steps=2 --set max_len=16 "$@" >"$tmp/out" 2>"$tmp/err"; }

# destinations refused before loading (no "training" line, exit 2)
echo x > "$tmp/afile"
ln -s "$tmp/afile" "$tmp/alink"
mkdir "$tmp/adir"
for bad in "--save $tmp/missing/ck" "--save $tmp/afile" "--save $tmp/alink" "--metrics $tmp/adir" \
           "--metrics $tmp/missing/m.csv"; do
    # shellcheck disable=SC2086
    run $bad
    rc=$?
    [ $rc -eq 2 ] || fail "'$bad': exit $rc, want 2 ($(cat "$tmp/err"))"
    grep -q '^training' "$tmp/out" && fail "'$bad': trained before refusing: $(cat "$tmp/err")"
    [ -s "$tmp/err" ] || fail "'$bad': no message"
done
[ "$(cat "$tmp/afile")" = x ] || fail "the file given to --save was changed"

# absurd regression targets are refused when loading, with the row; one-class data is named as such
printf 'sentence\tscore\nfine\t1.5\nhuge\t3e38\nsmall\t-2\n' >"$tmp/reg.tsv"
"$bin" data "$tmp/reg.tsv" --regression --label score >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "a target of 3e38: exit $rc, want 1 ($(cat "$tmp/out" "$tmp/err"))"
grep -q "reg.tsv:3:.*3e38.*beyond" "$tmp/err" || fail "the 3e38 target is not named: $(cat "$tmp/err")"
printf 'sentence\tlabel\na\tpos\nb\tpos\nc\tpos\n' >"$tmp/one.tsv"
"$bin" train --model "$model" --train "$tmp/one.tsv" --set max_steps=1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] || fail "one-class data trained"
grep -q "single class" "$tmp/err" || fail "one-class data: the message does not say so: $(cat "$tmp/err")"
grep -q "regression needs targets" "$tmp/err" && fail "one-class data is taken for a regression: $(cat "$tmp/err")"

# a metrics file that cannot be written costs the metrics, not the checkpoint
if [ -w /dev/full ]; then
    run --save "$tmp/ck" --metrics /dev/full
    rc=$?
    [ $rc -eq 1 ] || fail "--metrics /dev/full: exit $rc, want 1"
    grep -q -- "--metrics /dev/full: write failed" "$tmp/err" || fail "no metrics message: $(cat "$tmp/err")"
    [ -f "$tmp/ck/trainer_state.json" ] || fail "--metrics /dev/full: no checkpoint written: $(cat "$tmp/err")"
else
    echo "note: /dev/full is absent; the metrics-failure case is not run"
fi

# a save that fails after training (here: another process holds the destination's lock) keeps the
# run as an autosave, named
mkdir "$tmp/state"
flock "$tmp/.ck2.smartty-lock" sleep 60 &
holder=$!
sleep 0.5
XDG_STATE_HOME=$tmp/state run --save "$tmp/ck2"
rc=$?
[ $rc -eq 1 ] || fail "locked --save: exit $rc, want 1 ($(cat "$tmp/err"))"
grep -q "being saved by" "$tmp/err" || fail "the lock is not named: $(cat "$tmp/err")"
saved=$(sed -n 's/.*last good state (step 2) is saved in \([^ ]*\) .*/\1/p' "$tmp/err")
[ -n "$saved" ] || fail "no autosave named: $(cat "$tmp/err")"
[ -f "$saved/trainer_state.json" ] || fail "the autosave $saved is not there"
case $saved in "$tmp/state/smartty/autosave-"*) ;; *) fail "autosave outside XDG_STATE_HOME: $saved" ;; esac
exit 0
