#!/bin/sh
# tests/run.sh: the project's test command (README, .ci/run). Sets up the machine (tests/setup.sh),
# then runs the whole suite twice: `make distcheck` with -Werror (the release tarball builds, passes
# its tests, installs and uninstalls on its own) and an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Ends with one summary line.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
t0=$(date +%s)
# since: the seconds since the last phase began (so that a slow phase is seen in CI's output)
since() { t1=$(date +%s); echo "   ($(( t1 - t0 )) s)"; t0=$t1; }
sh tests/setup.sh
since
: "${SMARTTY_SHARED:=$top/../shared}"
export SMARTTY_SHARED
[ -d "$SMARTTY_SHARED" ] || echo "run: $SMARTTY_SHARED is absent: tests that need the shared data skip"
status=0
echo "== make distcheck (-Werror)"
make -C build -j"$(nproc)" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >build/distcheck.out 2>&1 || status=1
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)|archives ready' build/distcheck.out || true
since
if [ "$status" != 0 ]; then echo "== distcheck failed:"; grep -E "^(FAIL|ERROR)|Error|error:" build/distcheck.out | head -40; cat build/smartty-*/_build/sub/test-suite.log 2>/dev/null | head -200; fi
echo "== make check (--enable-sanitizers)"
mkdir -p build-san
( cd build-san && { [ -f Makefile ] || ../configure --enable-werror --enable-sanitizers >/dev/null; } && make -j"$(nproc)" check ) >build-san/check.out 2>&1 || status=1
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' build-san/check.out || true
since
for f in build-san/test-suite.log; do
    [ -f "$f" ] && grep -q '^# FAIL: *[1-9]\|^# ERROR: *[1-9]' "$f" && { echo "== failures in $f"; cat "$f"; }
done
pass=0; fail=0; skip=0
for f in build/distcheck.out build-san/check.out; do
    p=$(sed -n 's/^# PASS: *//p' "$f" | tail -1); x=$(sed -n 's/^# FAIL: *//p' "$f" | tail -1)
    e=$(sed -n 's/^# ERROR: *//p' "$f" | tail -1); s=$(sed -n 's/^# SKIP: *//p' "$f" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0} + ${e:-0})); skip=$((skip + ${s:-0}))
done
[ "$status" = 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
exit $status
