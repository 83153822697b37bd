#!/bin/sh
# journal_long_args.sh: a `load` whose options are longer than any fixed buffer (a --labels list of
# 40 names, a 300-byte column name) is journalled whole: saved, then replayed in a new console, it
# trains to bit-identical weights (issue 13: the journal cut the options at 160 bytes). A 200-byte
# snapshot name is refused with a message naming the limit, never cut to a shorter one; `show journal`
# prints the load whole; `new model labels=` with more names than it keeps is refused.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared models/bert-tiny-mlm/config.json
model=$shared/models/bert-tiny-mlm
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1

col=$(printf 'text_%0295d' 0)   # 300 bytes
labels=""
i=39
while [ $i -ge 0 ]; do labels="$labels${labels:+,}class_with_a_long_name_$i"; i=$((i - 1)); done
words="the a film movie good bad great story actor plot was is not very fun dull long short"
{
    printf '%s\tlabel\n' "$col"
    n=0
    while [ $n -lt 80 ]; do
        set -- $words
        k=$((n % 17 + 1)); j=$(((n * 7) % 17 + 1))
        eval "a=\${$k}; b=\${$j}"
        printf '%s %s film %d\tclass_with_a_long_name_%d\n' "$a" "$b" "$n" $((n % 40))
        n=$((n + 1))
    done
} >"$tmp/train.tsv"
[ ${#col} = 300 ] && [ ${#labels} -gt 400 ] || fail "the test's own data: column ${#col} bytes, labels ${#labels}"

"$bin" -c "load model $model; load train $tmp/train.tsv --text=$col --labels=$labels --max-len=16; set batch_size 8; set max_len 16; set seed 3; train 6 steps; save $tmp/orig" \
    >"$tmp/orig.out" 2>&1 || fail "the original run failed: $(cat "$tmp/orig.out")"
if grep -qF -- "--labels=$labels" "$tmp/orig/journal.jsonl" && grep -qF -- "--text=$col" "$tmp/orig/journal.jsonl"; then
    ok "the journal holds the whole label list and column name"
else
    fail "the journal cut the load's options: $(grep load_train "$tmp/orig/journal.jsonl" | cut -c1-400)"
fi
"$bin" -c "replay $tmp/orig/journal.jsonl force; show journal" >"$tmp/show.out" 2>&1
grep -qF -- "--labels=$labels" "$tmp/show.out" && ok "show journal prints the load whole" ||
    fail "show journal cut the load: $(grep load_train "$tmp/show.out" | cut -c1-300)"
"$bin" -c "replay $tmp/orig/journal.jsonl force; save $tmp/replayed" >"$tmp/replay.out" 2>&1 ||
    fail "the replay failed: $(cat "$tmp/replay.out")"
same "the replay gives bit-identical weights" "$tmp/orig/model.safetensors" "$tmp/replayed/model.safetensors"

name=$(printf 's%0199d' 0)   # 200 bytes
# kept whole means the session holds it whole: the journal names it and `rewind` finds it by it
"$bin" -c "load model $model; load train $tmp/train.tsv --text=$col --max-len=16; snapshot $name; rewind $name; show journal" \
    >"$tmp/snap.out" 2>&1
st=$?
if [ $st = 0 ] && grep -qF "step 0: snapshot $name" "$tmp/snap.out" && grep -qF "step 0: rewind $name" "$tmp/snap.out"; then
    ok "a 200-byte snapshot name is kept whole"
elif [ $st != 0 ] && grep -q "is 200 bytes long: at most [0-9]* are allowed" "$tmp/snap.out"; then
    ok "a 200-byte snapshot name is refused with a message"
else
    fail "a 200-byte snapshot name (exit $st): $(grep -v '^/' "$tmp/snap.out" | cut -c1-300)"
fi
# new model labels=: 1001 names are refused (it kept the first 1000, or the first 4095 bytes)
many=$(i=0; while [ $i -le 1000 ]; do printf 'l%d,' $i; i=$((i + 1)); done)
"$bin" -c "new model vocab=${SMARTTY_SRCDIR:-..}/datasets/vocab.txt labels=${many%,}" >"$tmp/new.out" 2>&1
[ $? != 0 ] && grep -qE "longer than 4095 bytes|more than 1000 classes" "$tmp/new.out" && ok "new model refuses 1001 labels" ||
    fail "new model with 1001 labels: $(cut -c1-200 "$tmp/new.out")"
finish
