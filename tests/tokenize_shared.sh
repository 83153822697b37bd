#!/bin/sh
# tokenize_shared.sh: `smartty tokenize` with the reference checkpoint's own vocabulary gives Hugging
# Face's ids (reference.json, first text); skipped, exit 77, without the shared fixtures.
. "$(dirname "$0")/lib.sh"
need_bin
need_shared fixtures/hf-bert/bert-tiny-random-cls3
ref=$shared/fixtures/hf-bert/bert-tiny-random-cls3
out=$(printf 'The quick brown fox jumps over the lazy dog.\n' | "$bin" tokenize --vocab "$ref") || fail "hf-bert: exit $?"
[ "$out" = "2 100 51 76 105 82 36 127 575 573 79 44 341 976 49 175 100 46 65 84 75 189 80 14 3" ] &&
    ok "the reference vocabulary gives Hugging Face's ids" || fail "hf-bert: got '$out'"
finish
