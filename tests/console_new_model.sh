#!/bin/sh
# console_new_model.sh: a session that starts from `new model` (as `smartty demo` does) is journalled
# with the model's shape, seed and vocabulary (`new_model`), so its saved journal replays after the
# model's folder is gone: from another working folder and another state directory, to bit-identical
# weights (the data is given by its absolute path: the journalling of relative data paths is another
# matter). Also: the same options build the same folder, bad options are named. Uses datasets/.
set -u
bin=${SMARTTY_BIN:-$(pwd)/smartty}
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
src=${SMARTTY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
[ -f "$src/datasets/vocab.txt" ] || { echo "SKIP: $src/datasets is absent"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-newmodel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkdir -p "$tmp/a/state" "$tmp/b/state" "$tmp/work"
cp "$src/datasets/vocab.txt" "$tmp/work/vocab.txt"
cp "$src/datasets/sentiment/train.tsv" "$tmp/work/train.tsv"
new="new model layers=1 hidden=16 heads=2 max_position=64 seed=11 vocab=vocab.txt"
(cd "$tmp/work" && XDG_STATE_HOME=$tmp/a/state "$bin" -c "$new; load train $tmp/work/train.tsv --limit 64; set max_len 32; \
set batch_size 8; train 4; save $tmp/saved" >"$tmp/a.out" 2>&1) || { bad "training from a new model failed"; cat "$tmp/a.out"; }
grep -q '"op": *"new_model"' "$tmp/saved/journal.jsonl" && ok "the journal records new_model" ||
    { bad "no new_model in the journal"; cat "$tmp/saved/journal.jsonl"; }
grep '"new_model"' "$tmp/saved/journal.jsonl" | grep -q "vocab=$tmp/work/vocab.txt" &&
    ok "new_model names the vocabulary by its absolute path" || bad "new_model's vocab is not absolute"
# the model folder and the working folder are gone: the journal alone rebuilds the session
rm -rf "$tmp/a/state"
(cd "$tmp/b" && XDG_STATE_HOME=$tmp/b/state "$bin" -c "replay $tmp/saved/journal.jsonl force; save $tmp/replayed" \
    >"$tmp/b.out" 2>&1) && ok "replay from another folder and state directory" || { bad "replay failed"; cat "$tmp/b.out"; }
cmp -s "$tmp/saved/model.safetensors" "$tmp/replayed/model.safetensors" && ok "replayed weights are bit-identical" ||
    bad "replayed weights differ"
# the same options, the same folder (no new folder for each run)
(cd "$tmp/work" && XDG_STATE_HOME=$tmp/b/state "$bin" -c "$new" >/dev/null 2>&1)
n=$(ls -d "$tmp/b/state/smartty"/new-model-* 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && ok "the same options reuse one folder" || bad "$n model folders for one set of options"
# bad options are named
"$bin" -c "new model layers=0 vocab=$tmp/work/vocab.txt" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "layers must be an integer" "$tmp/err" && ok "a bad option is named" || { bad "bad option"; cat "$tmp/err"; }
"$bin" -c "new model vocab=$tmp/nowhere/vocab.txt" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nowhere/vocab.txt" "$tmp/err" && ok "a missing vocabulary is named" || { bad "missing vocab"; cat "$tmp/err"; }

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all new-model checks passed"
