#!/bin/sh
# train_max_len.sh: `smartty train` keeps max_len within the model's max_position_embeddings: a
# --max-len (or --set max_len=) over them is refused before any data is read (exit 2, naming both
# numbers), and the default 128 over a 64-position model is capped to 64 with a notice, so texts
# longer than the model's positions train instead of failing at the first step. Uses datasets/ and a
# `new model` folder; nothing from the shared data.
. "$(dirname "$0")/lib.sh"
need_bin
src=${SMARTTY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
[ -f "$src/datasets/vocab.txt" ] || skip "$src/datasets is absent"
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
has() { # has NAME TEXT FILE
    if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: '$2' not in: $(cat "$3")"; fi
}

# a model of 64 positions, and texts of about 90 words (each line: eight sentences of the demo set)
"$bin" -c "new model layers=1 hidden=16 heads=2 max_position=64 seed=3 vocab=$src/datasets/vocab.txt" \
    >"$tmp/new.out" 2>&1 || { fail "new model: $(cat "$tmp/new.out")"; finish; }
model=$(sed -n 's/^new model written to //p' "$tmp/new.out")
[ -f "$model/config.json" ] || { fail "no model folder in: $(cat "$tmp/new.out")"; finish; }
awk -F '\t' 'NR == 1 { print; next } NR <= 257 { t = t " " $1; if (NR % 8 == 1) { print substr(t, 2) "\t" $2; t = "" } }' \
    "$src/datasets/sentiment/train.tsv" >"$tmp/long.tsv"

# the default is capped, with a notice, and the run trains
"$bin" train --model "$model" --train "$tmp/long.tsv" --set max_steps=2 --set batch_size=8 \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok "default max_len over the positions: trains" || fail "default max_len: exit $rc: $(cat "$tmp/err")"
has "the cap is announced" "max_len 128 (the default) is over the 64 positions" "$tmp/err"
has "the run finished" "done: 2 steps" "$tmp/out"

# an explicit --max-len over the positions is refused, before the data is read
for opt in "--max-len 100" "--max-len=100" "--set max_len=100" "--set max_seq_length 100"; do
    # shellcheck disable=SC2086
    "$bin" train --model "$model" --train "$tmp/no-such.tsv" $opt --set max_steps=1 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] && ok "'$opt' over 64 positions: exit 2" || fail "'$opt': exit $rc, want 2: $(cat "$tmp/err")"
    has "'$opt': both numbers named" "100: the model $model has 64 positions" "$tmp/err"
    has "'$opt': what to give" "64 or less" "$tmp/err"
    grep -q "no-such.tsv" "$tmp/err" && fail "'$opt': the data was read before the refusal"
done

# within the positions: as before
"$bin" train --model "$model" --train "$tmp/long.tsv" --max-len 64 --set max_steps=1 --set batch_size=8 \
    >"$tmp/out" 2>"$tmp/err" && ok "--max-len 64 trains" || fail "--max-len 64: $(cat "$tmp/err")"
grep -q "the default" "$tmp/err" && fail "--max-len 64: a cap was announced: $(cat "$tmp/err")"
finish
