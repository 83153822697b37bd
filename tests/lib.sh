# tests/lib.sh: what the script tests share, sourced first thing as `. "$(dirname "$0")/lib.sh"`:
# skip (exit 77 with the reason), the program in $bin and the shared data in $shared with checks that
# skip when either is missing, a private temporary folder $tmp (under $TMPDIR) removed on exit, and
# ok/fail counters that finish turns into the exit status. It runs nothing by itself.
set -u
skip() { echo "SKIP: $*"; exit 77; }
bin=${SMARTTY_BIN:-$(pwd)/smartty}
shared=${SMARTTY_SHARED:-../shared}
# need_bin: skip unless the program is built
need_bin() { [ -x "$bin" ] || skip "$bin is not built (set SMARTTY_BIN)"; }
# need_shared REL...: skip unless each file or folder is under the shared data
need_shared() {
    for rel in "$@"; do
        [ -e "$shared/$rel" ] || skip "$shared/$rel is absent (set SMARTTY_SHARED to the shared data folder)"
    done
}
# need_cmd NAME...: skip unless each command is installed
need_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"; done; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-test.XXXXXX") || { echo "FAIL: cannot make a temporary folder"; exit 1; }
# a test that needs more cleaning sets on_exit (run before the folder goes)
on_exit=:
trap 'eval "$on_exit"; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# same NAME FILE1 FILE2: byte-identical files
same() { if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ"; fi; }
# finish: exit 1 when anything failed, else 0
finish() {
    [ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
    exit 0
}
