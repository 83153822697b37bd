#!/bin/sh
# tests/fuzz/build.sh: builds every tests/fuzz/fuzz_*.c harness with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (clang), linked against all of src/lib and the console's core (as an
# archive, so a harness pulls in only what it uses). Binaries go to the current directory, or to $OUT when it is set.
# Usage (from the top of the source tree): sh tests/fuzz/build.sh [fuzz_csv ...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$(pwd)}
CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g $SAN -I$top/include -I$top/src -I$top/tests $(pkg-config --cflags openblas jansson libutf8proc zlib)"
LIBS="-lcsv $(pkg-config --libs openblas jansson libutf8proc zlib) -lm -lpthread"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in "$top"/src/lib/*.c; do
    $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$work/$(basename "$src" .c).o"
done
# the console's sources without readline or a terminal (console_core_sources in mk/console.am)
for name in parse cmdtab breakpoint settings core commands complete events new_model; do
    $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$top/src/console/$name.c" -o "$work/console_$name.o"
done
ar rcs "$work/libfuzz.a" "$work"/*.o
if [ $# -gt 0 ]; then harnesses=$*; else
    harnesses=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fi
for h in $harnesses; do
    $CC $CFLAGS -fsanitize=fuzzer "$top/tests/fuzz/$h.c" "$work/libfuzz.a" $LIBS -o "$out/$h"
    echo "built $out/$h"
done
