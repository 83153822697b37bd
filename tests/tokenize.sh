#!/bin/sh
# tokenize.sh: `smartty tokenize` end to end: ids and tokens of single texts and pairs, --max-len,
# --cased, a model folder, a byte-level BPE, a Unigram, and the errors (usage, missing vocabulary, invalid UTF-8).
. "$(dirname "$0")/lib.sh"
need_bin
fail() { echo "FAIL: $*" >&2; exit 1; }

printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n##s\n,\n!\nHello\n' > "$tmp/vocab.txt"

out=$(printf 'Hello, worlds!\n' | "$bin" tokenize --vocab "$tmp/vocab.txt") || fail "single text exit $?"
[ "$out" = "2 4 7 5 6 8 3" ] || fail "single text: got '$out'"

out=$(printf 'Hello, worlds!\n' | "$bin" tokenize --vocab "$tmp/vocab.txt" --tokens) || fail "--tokens"
[ "$out" = "[CLS] hello , world ##s ! [SEP]" ] || fail "--tokens: got '$out'"

out=$(printf 'Hello, worlds!\n' | "$bin" tokenize --vocab "$tmp/vocab.txt" --tokens --cased) || fail "--cased"
[ "$out" = "[CLS] Hello , world ##s ! [SEP]" ] || fail "--cased: got '$out'"

# a pair, CRLF line end, a second line, and an empty line
out=$(printf 'hello world\thello\r\n\nworld\n' | "$bin" tokenize --vocab "$tmp/vocab.txt") || fail "pair"
want=$(printf '2 4 5 3 4 3\n2 3\n2 5 3')
[ "$out" = "$want" ] || fail "pair: got '$out'"

# longest-first truncation: 4 + 2 tokens into 7 ids leaves 2 + 2
out=$(printf 'hello world hello world\thello world\n' | "$bin" tokenize --vocab "$tmp/vocab.txt" --max-len 7) \
    || fail "--max-len"
[ "$out" = "2 4 5 3 4 5 3" ] || fail "--max-len: got '$out'"

# a model folder whose tokenizer_config.json turns lower-casing off
mkdir "$tmp/model" && cp "$tmp/vocab.txt" "$tmp/model/" &&
    printf '{"do_lower_case": false}\n' > "$tmp/model/tokenizer_config.json"
out=$(printf 'Hello\n' | "$bin" tokenize --vocab "$tmp/model" --tokens) || fail "model folder"
[ "$out" = "[CLS] Hello [SEP]" ] || fail "model folder: got '$out'"


# a byte-level BPE (RoBERTa's) from its folder, its tokenizer.json or its vocab.json: the ids
# transformers gives (tests/fixtures/bpe/reference.jsonl.gz rows 2 and 12; the last two checked with
# AutoTokenizer by hand)
bpe=${SMARTTY_SRCDIR:-..}/tests/fixtures/bpe
for p in "$bpe" "$bpe/tokenizer.json" "$bpe/vocab.json"; do
    out=$(printf 'Hello world\nThe <mask> sat on the mat.\tA <mask>\n' | "$bin" tokenize --tokenizer "$p") \
        || fail "BPE $p: exit $?"
    want=$(printf '0 44 774 83 1052 2\n0 504 225 4 265 294 324 266 274 294 18 2 2 37 225 4 2')
    [ "$out" = "$want" ] || fail "BPE $p: got '$out'"
done
out=$(printf 'Hello world\n' | "$bin" tokenize --tokenizer "$bpe" --tokens) || fail "BPE --tokens"
[ "$out" = "<s> H ell o Ġworld </s>" ] || fail "BPE --tokens: got '$out'"
out=$(printf 'Hello world\tagain\n' | "$bin" tokenize --tokenizer "$bpe" --max-len 6) || fail "BPE --max-len"
[ "$out" = "0 44 2 2 427 2" ] || fail "BPE --max-len: got '$out'"

# a SentencePiece Unigram (XLM-R's tokenizer.json): rows 2 and 12 of tests/fixtures/unigram/reference.jsonl.gz
uni=${SMARTTY_SRCDIR:-..}/tests/fixtures/unigram
out=$(printf 'Hello world\nThe <mask> sat on the mat.\tA <mask>\n' | "$bin" tokenize --tokenizer "$uni") \
    || fail "Unigram: exit $?"
want=$(printf '0 277 165 35 515 2\n0 42 1501 845 11 40 6 287 11 5 2 2 71 1501 2')
[ "$out" = "$want" ] || fail "Unigram: got '$out'"

# errors
"$bin" tokenize < /dev/null 2> "$tmp/err"; [ $? -eq 2 ] || fail "no --vocab should exit 2"
grep -q -- '--vocab' "$tmp/err" || fail "no --vocab: message"
"$bin" tokenize --vocab "$tmp/vocab.txt" --bogus < /dev/null 2> /dev/null; [ $? -eq 2 ] || fail "unknown option"
"$bin" tokenize --vocab "$tmp/vocab.txt" --max-len x < /dev/null 2> /dev/null; [ $? -eq 2 ] || fail "bad --max-len"
"$bin" tokenize --vocab "$tmp/none.txt" < /dev/null 2> "$tmp/err"; [ $? -eq 1 ] || fail "missing vocab exit"
grep -q 'none.txt' "$tmp/err" || fail "missing vocab: message"
printf 'hello\nab\377c\n' | "$bin" tokenize --vocab "$tmp/vocab.txt" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 1 ] || fail "invalid UTF-8 should exit 1"
grep -q 'stdin:2: invalid UTF-8 at byte offset 2' "$tmp/err" || fail "invalid UTF-8 message: $(cat "$tmp/err")"
"$bin" tokenize --help | grep -q 'usage: smartty tokenize' || fail "--help"
exit 0
