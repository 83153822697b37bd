#!/bin/sh
# data.sh: `smartty data` end to end: a good file's report (and with --vocab its token lengths), bad
# data as file:line:column on stderr with exit 1, --skip-bad, and usage errors with exit 2.
. "$(dirname "$0")/lib.sh"
need_bin
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac; }

printf 'sentence\tlabel\nhello world \t1\nworlds "hello"\t0\nhello\t1\n' > "$tmp/good.tsv"
out=$("$bin" data "$tmp/good.tsv") || fail "good file exit $?"
has "$out" "good.tsv: 3 rows" "report"
has "$out" "quoting none (by extension)" "report"
has "$out" "labels (2): 0 1 (33.3%), 1 2 (66.7%)" "report"

printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n##s\n"\n' > "$tmp/vocab.txt"
out=$("$bin" data "$tmp/good.tsv" --vocab "$tmp/vocab.txt" --max-len 5) || fail "--vocab exit $?"
# lengths 4, 7 ([CLS] world ##s " hello " [SEP]) and 3: p50 4, max 7, one row over 5
has "$out" "tokens: p50 4, p90 7, p95 7, p99 7, max 7; 1 row over --max-len 5 truncated" "lengths"

printf 'sentence\tlabel\nfine\t1\nno label here\nalso fine\t0\n' > "$tmp/bad.tsv"
err=$("$bin" data "$tmp/bad.tsv" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] || fail "bad file: exit $rc, want 1"
has "$err" "bad.tsv:3:14: 1 field where the header has 2" "bad row"
out=$("$bin" data "$tmp/bad.tsv" --skip-bad) || fail "--skip-bad exit $?"
has "$out" "2 rows" "--skip-bad"
has "$out" "skipped 1 bad row:" "--skip-bad"

err=$("$bin" data "$tmp/good.tsv" --quote double 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad option value: exit $rc, want 2"
has "$err" "--quote double: expected none" "bad option value"
"$bin" data >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no file: exit $rc, want 2"
"$bin" data "$tmp/missing.tsv" >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "missing file: exit $rc, want 1"
out=$("$bin" data --help) || fail "--help"
has "$out" "--text-pair COL" "--help"
exit 0
