#!/bin/sh
# train_long_args.sh: nothing given to `smartty train` is cut short: a --save or --output-dir longer
# than the session keeps is refused (exit 2, with the length) instead of being cut into another
# folder, a --resume refusal names a long contradicting option (a 700-byte column name, 40 labels)
# whole, and a --set with an over-long name says no hyperparameter is called that. Uses datasets/ and
# a `new model` checkpoint; nothing from the shared data.
. "$(dirname "$0")/lib.sh"
need_bin
src=${SMARTTY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
[ -f "$src/datasets/vocab.txt" ] || skip "$src/datasets is absent"
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
has() { # has NAME TEXT FILE
    if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: '$(printf '%s' "$2" | head -c 120)...' not in: $(head -c 600 "$3")"; fi
}

# a path of about 6000 bytes, in components of 200
long=$tmp
i=0
while [ $i -lt 30 ]; do long="$long/$(printf '%0200d' 0)"; i=$((i + 1)); done
for opt in --save --output-dir; do
    "$bin" train --model "$tmp/none" --train "$tmp/none.tsv" $opt "$long" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] && ok "$opt of ${#long} bytes: exit 2" || fail "$opt of ${#long} bytes: exit $rc, want 2: $(head -c 300 "$tmp/err")"
    has "$opt: the length is named" "$opt: a path of ${#long} bytes" "$tmp/err"
done

# a --save whose folder does not exist, made of control bytes: its escaped form (4 bytes each, about
# 4800) is named whole in the message, twice (the path and its parent)
ctl=$tmp
i=0
while [ $i -lt 6 ]; do ctl="$ctl/$(head -c 200 /dev/zero | tr '\0' '\001')"; i=$((i + 1)); done
"$bin" train --model "$tmp/none" --train "$tmp/none.tsv" --save "$ctl" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && ok "--save of control bytes, no such folder: exit 2" || fail "--save control bytes: exit $rc"
esc=$(head -c 200 /dev/zero | sed 's/\x0/\\x01/g')
want="$tmp/$esc/$esc/$esc/$esc/$esc/$esc: the folder $tmp/$esc/$esc/$esc/$esc/$esc does not exist"
has "the escaped --save and its folder are named whole" "$want" "$tmp/err"

# a --set with a 200-byte name: said to be no hyperparameter's name (not "expected NAME=VALUE")
hp=$(printf 'h%0199d' 0)
"$bin" train --model "$tmp/none" --train "$tmp/none.tsv" --set "$hp=1" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && ok "--set with a 200-byte name: exit 2" || fail "--set long name: exit $rc"
has "the long name is named whole, and why" "--set $hp=1: no hyperparameter has a name of 200 bytes" "$tmp/err"

# a checkpoint to resume, then options that contradict it, long ones named whole
"$bin" -c "new model layers=1 hidden=16 heads=2 max_position=64 seed=5 vocab=$src/datasets/vocab.txt;
    load train $src/datasets/sentiment/train.tsv --limit 32; set batch_size 16; train 1 steps; save $tmp/ck" \
    >"$tmp/ck.out" 2>&1 || { fail "making the checkpoint: $(cat "$tmp/ck.out")"; finish; }
col=$(printf 'c%0700d' 0)
"$bin" train --resume "$tmp/ck" --text "$col" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && ok "--resume with another --text: exit 2" || fail "--resume --text: exit $rc: $(head -c 300 "$tmp/err")"
has "a 701-byte --text is named whole" "--text $col contradicts" "$tmp/err"
labels=$(seq -f 'label_number_%02g' 0 39 | paste -sd, -)
"$bin" train --resume "$tmp/ck" --labels "$labels" >"$tmp/out" 2>"$tmp/err"
has "40 labels are named whole" "--labels $labels contradicts" "$tmp/err"
finish
