#!/bin/sh
# predict_errors.sh: `smartty predict` on broken checkpoint folders and bad arguments exits non-zero
# with a precise message on standard error (and prints nothing on standard output). The folders are
# written here; the shape cases (tests/predict_errors_shared.sh) copy a shared fixture folder. The
# argument errors are also those of `smartty eval` (the options the two share are parsed once).
. "$(dirname "$0")/lib.sh"
need_bin
fails=0
n=0

# expect STATUS FRAGMENT... -- ARGS: run predict (or $sub), check exit status and each fragment on stderr
sub=predict
expect() {
    want=$1; shift
    frags=""
    while [ "$1" != "--" ]; do frags="$frags
$1"; shift; done
    shift
    n=$((n + 1))
    "$bin" $sub "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    ok=1
    [ "$got" = "$want" ] || { echo "FAIL: $sub $*: exit $got, expected $want"; ok=0; }
    [ -s "$tmp/out" ] && { echo "FAIL: $sub $*: printed on stdout:"; cat "$tmp/out"; ok=0; }
    grep -qE 'Sanitizer|runtime error' "$tmp/err" && { echo "FAIL: $sub $*: sanitizer report"; ok=0; }
    echo "$frags" | while IFS= read -r f; do
        [ -z "$f" ] && continue
        grep -qF -- "$f" "$tmp/err" || { echo "FAIL: $sub $*: stderr lacks '$f'"; echo 1 >"$tmp/bad"; }
    done
    [ -f "$tmp/bad" ] && { ok=0; rm -f "$tmp/bad"; }
    if [ $ok = 1 ]; then echo "ok $n: $(head -c 160 "$tmp/err" | head -n 1)"; else fails=$((fails + 1)); cat "$tmp/err"; fi
}

# st FILE HEADER [DATA_BYTES]: a safetensors file: 8-byte little-endian length, header, zero bytes
st() {
    len=${#2}
    lo=$((len % 256)); hi=$((len / 256))
    printf "\\$(printf %03o $lo)\\$(printf %03o $hi)\\000\\000\\000\\000\\000\\000" >"$1"
    printf '%s' "$2" >>"$1"
    [ "${3:-0}" -gt 0 ] && head -c "$3" /dev/zero >>"$1"
    return 0
}

cfg='{"hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10}'
mkf() { mkdir -p "$tmp/$1" && printf '%s\n' "$cfg" >"$tmp/$1/config.json"; }
printf 'text\nhello world\n' >"$tmp/data.tsv"
d="--data $tmp/data.tsv"

# tests/predict_errors_shared.sh runs this part: a shape that disagrees with config.json, and a bad
# data file, on a real checkpoint (skipped, exit 77, without the shared fixtures)
if [ "${SMARTTY_TEST_PART:-}" = shared ]; then
need_shared fixtures/hf-bert/bert-tiny-random-cls3
fix=$shared/fixtures/hf-bert/bert-tiny-random-cls3
mkdir -p "$tmp/shape" && cp "$fix/model.safetensors" "$fix/vocab.txt" "$fix/tokenizer_config.json" "$tmp/shape/"
sed 's/"intermediate_size": 64/"intermediate_size": 128/' "$fix/config.json" >"$tmp/shape/config.json"
expect 1 "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [64, 32]" "needs [128, 32]" \
    "use the config.json saved with these weights" -- --model "$tmp/shape" $d
expect 1 "$tmp/absent.tsv" -- --model "$fix" --data "$tmp/absent.tsv"
# a vocab.txt with more tokens than the weights' vocab_size: a text using the extra one
mkdir -p "$tmp/vocab" && cp "$fix/model.safetensors" "$fix/config.json" "$fix/tokenizer_config.json" "$tmp/vocab/"
{ cat "$fix/vocab.txt"; echo zzqqzz; } >"$tmp/vocab/vocab.txt"
printf 'text\nzzqqzz\n' >"$tmp/extra.tsv"
expect 1 "is outside the vocabulary" "use the vocab.txt (or tokenizer.json) saved with these weights" \
    -- --model "$tmp/vocab" --data "$tmp/extra.tsv"
printf 'text\n"unclosed\n' >"$tmp/bad.csv"
expect 1 "bad.csv:2" -- --model "$fix" --data "$tmp/bad.csv"
echo "$n cases, $fails failed"
[ $fails = 0 ]
exit $?
fi

# arguments
expect 2 "--model DIR is required" -- $d
expect 2 "--data FILE is required" -- --model "$tmp"
expect 2 "--batch 0: expected a whole number" -- --model "$tmp" $d --batch 0
expect 2 "unknown option '--frobnicate'" -- --model "$tmp" $d --frobnicate
expect 2 "--delimiter" "expected tab or comma" -- --model "$tmp" $d --delimiter semicolon
sub=eval # the same words from `smartty eval`
expect 2 "smartty eval: --model DIR is required" "usage: smartty eval --model DIR --data FILE" -- $d
expect 2 "smartty eval: --data FILE is required" -- --model "$tmp"
expect 2 "smartty eval: --batch 0: expected a whole number from 1 to 65536" -- --model "$tmp" $d --batch 0
expect 2 "smartty eval: unknown option '--frobnicate'" -- --model "$tmp" $d --frobnicate
expect 2 "smartty eval: --delimiter" "expected tab or comma" -- --model "$tmp" $d --delimiter semicolon
sub=predict
for c in eval predict; do
    n=$((n + 1))
    if "$bin" $c --help | grep -q -- "--max-len" && "$bin" $c --help | grep -q -- "--help  *this text"; then
        echo "ok $n: $c --help lists the data options"
    else echo "FAIL: $c --help lacks the data options"; fails=$((fails + 1)); fi
done

# folders and config.json
expect 1 "$tmp/nowhere: not a folder" -- --model "$tmp/nowhere" $d
mkdir -p "$tmp/empty"
expect 1 "no config.json" -- --model "$tmp/empty" $d
mkf nost
expect 1 "no model.safetensors" -- --model "$tmp/nost" $d
mkdir -p "$tmp/badjson" && printf '{"hidden_size": 4,\n "vocab_size": }\n' >"$tmp/badjson/config.json"
expect 1 "config.json:2:" "invalid JSON" -- --model "$tmp/badjson" $d
mkdir -p "$tmp/type" && printf '{"hidden_size": "4", "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10}' >"$tmp/type/config.json"
expect 1 "config.json: field \"hidden_size\" must be an integer, but it is a string" -- --model "$tmp/type" $d
mkdir -p "$tmp/req" && printf '{"hidden_size": 4, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 10}' >"$tmp/req/config.json"
expect 1 "required field \"num_attention_heads\" is missing" -- --model "$tmp/req" $d
mkdir -p "$tmp/act" && printf '{"hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10, "hidden_act": "gelu_new"}' >"$tmp/act/config.json"
expect 1 "hidden_act \"gelu_new\" is not supported" -- --model "$tmp/act" $d
mkdir -p "$tmp/vast" && printf '{"hidden_size": 65536, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8, "vocab_size": 100000000}' >"$tmp/vast/config.json"
st "$tmp/vast/model.safetensors" '{}'
expect 1 "the model's weights would need" "more than this machine's" "check the sizes in its config.json" -- --model "$tmp/vast" $d

# hostile model.safetensors
mkf short; printf 'abc' >"$tmp/short/model.safetensors"
expect 1 "model.safetensors: only 3 bytes" -- --model "$tmp/short" $d
mkf huge; printf '\377\377\377\377\377\377\377\177{}' >"$tmp/huge/model.safetensors"
expect 1 "absurdly large" -- --model "$tmp/huge" $d
mkf past; printf '\377\017\000\000\000\000\000\000{}' >"$tmp/past/model.safetensors"
expect 1 "header length 4095 bytes runs past the end of the file" -- --model "$tmp/past" $d
mkf notjson; st "$tmp/notjson/model.safetensors" '{"a": [1, 2'
expect 1 "header is not valid JSON" -- --model "$tmp/notjson" $d
mkf notobj; st "$tmp/notobj/model.safetensors" '[1, 2]'
expect 1 "header is JSON but not an object" -- --model "$tmp/notobj" $d
mkf dtype; st "$tmp/dtype/model.safetensors" '{"w":{"dtype":"F42","shape":[1],"data_offsets":[0,4]}}' 4
expect 1 "tensor 'w': unknown dtype \"F42\"" -- --model "$tmp/dtype" $d
mkf runs; st "$tmp/runs/model.safetensors" '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 8
expect 1 "tensor 'w': data_offsets [0, 16] run past the data" -- --model "$tmp/runs" $d
mkf overlap; st "$tmp/overlap/model.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
expect 1 "tensor 'b'" "overlap tensor 'a'" -- --model "$tmp/overlap" $d
mkf disagree; st "$tmp/disagree/model.safetensors" '{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}' 8
expect 1 "tensor 'w'" "hold 8 bytes but dtype F16 x shape (3 elements) needs 6" -- --model "$tmp/disagree" $d
mkf missing; st "$tmp/missing/model.safetensors" '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
expect 1 "tensor 'bert.embeddings.word_embeddings.weight' is missing" -- --model "$tmp/missing" $d
mkf negdim; st "$tmp/negdim/model.safetensors" '{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}' 4
expect 1 "tensor 'w': shape[0] is not a non-negative integer" -- --model "$tmp/negdim" $d

echo "$n cases, $fails failed"
[ $fails = 0 ]
