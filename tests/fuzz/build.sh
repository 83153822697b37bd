#!/bin/sh
# tests/fuzz/build.sh: builds every tests/fuzz/fuzz_*.c harness with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (clang), linked against the same libraries make builds (libsmartty.a and
# the console's libsmartty_console.a, from mk/*.am: no source list here), configured with clang in a
# scratch build folder. Binaries go to the current directory, or to $OUT when it is set.
# Usage (from anywhere, with the tree bootstrapped by ./autogen.sh): sh tests/fuzz/build.sh [fuzz_csv ...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$(pwd)}
CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
[ -x "$top/configure" ] || { echo "build.sh: $top/configure is missing: run ./autogen.sh first" >&2; exit 1; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
work=$(mktemp -d "${TMPDIR:-/tmp}/smartty-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# the libraries, instrumented for coverage (fuzzer-no-link) but without libFuzzer's main
(cd "$work" && "$top/configure" CC="$CC" CFLAGS="-O1 -g $SAN -fsanitize=fuzzer-no-link" >configure.log 2>&1) ||
    { cat "$work/configure.log" >&2; exit 1; }
make -s -C "$work" -j"${JOBS:-2}" libsmartty.a libsmartty_console.a libsmartty_server.a >/dev/null
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g $SAN -I$top/include -I$top/src -I$top/tests $(pkg-config --cflags openblas jansson libutf8proc)"
LIBS="$work/libsmartty_server.a $work/libsmartty_console.a $work/libsmartty.a -lcsv $(pkg-config --libs openblas jansson libutf8proc) -lm -lpthread"
if [ $# -gt 0 ]; then harnesses=$*; else
    harnesses=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fi
for h in $harnesses; do
    # shellcheck disable=SC2086
    $CC $CFLAGS -fsanitize=fuzzer "$top/tests/fuzz/$h.c" $LIBS -o "$out/$h"
    echo "built $out/$h"
done
