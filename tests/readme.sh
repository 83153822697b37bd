#!/bin/sh
# readme.sh: README.md's marked examples (between `<!-- readme-example: NAME -->` and
# `<!-- readme-example: end -->`) run as written, in a fresh folder where build/smartty is the built
# program and ../shared the shared data. It checks that they succeed, not what they print.
set -u
bin=${SMARTTY_BIN:-./smartty}
shared=${SMARTTY_SHARED:-../shared}
readme=${SMARTTY_README:-$(dirname "$0")/../README.md}
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
[ -f "$readme" ] || { echo "SKIP: no README.md at $readme"; exit 77; }
[ -d "$shared/models/bert-tiny-mlm" ] && [ -f "$shared/datasets/sst2/dev.tsv" ] || { echo "SKIP: $shared lacks bert-tiny-mlm or sst2 (set SMARTTY_SHARED)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
mkdir -p "$tmp/repo/build"
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$tmp/repo/build/smartty"
ln -s "$(cd "$shared" && pwd)" "$tmp/shared"
awk '/^<!-- readme-example: end -->/ { on = 0; next } /^<!-- readme-example: / { on = 1; n++; next }
     on { sub(/^    /, ""); print > (dir "/example-" n ".sh") }' dir="$tmp" "$readme"
n=0
fails=0
for f in "$tmp"/example-*.sh; do
    [ -f "$f" ] || break
    n=$((n + 1))
    if (cd "$tmp/repo" && sh -e "$f") >"$f.out" 2>&1; then
        echo "ok: $(basename "$f") ($(wc -l <"$f") lines)"
    else
        echo "FAIL: $(basename "$f"):"; cat "$f"; echo "--- output:"; tail -20 "$f.out"; fails=$((fails + 1))
    fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no marked examples in $readme"; exit 1; }
[ "$fails" -eq 0 ] || exit 1
echo "all $n passed"
