#!/bin/sh
# console_script.sh: the console without a terminal: -c, -x, commands from standard input, exit
# statuses (0 success, 1 a failed command, 2 usage), on_error, error positions, quit in scripts,
# and SIGTERM while idle. Needs no model or data.
. "$(dirname "$0")/lib.sh"
need_bin
export XDG_STATE_HOME="$tmp/state"
fails=0
check() { # check NAME WANT_STATUS GOT_STATUS
    if [ "$2" != "$3" ]; then echo "FAIL: $1: exit status $3, want $2"; fails=$((fails + 1)); else echo "ok: $1"; fi
}
has() { # has NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: '$3' not in:"; cat "$2"; fails=$((fails + 1)); fi
}

"$bin" -c 'set lambda_s 3; get lambda_s' >"$tmp/out" 2>&1; check "-c succeeds" 0 $?
has "-c output" "$tmp/out" "lambda_s = 3"

"$bin" -c 'set lambda_s 3; set lambda_s nope; set mu 5' >"$tmp/out" 2>"$tmp/err"; check "-c failure" 1 $?
has "bad value named" "$tmp/err" "set: "
has "bad value names the parameter" "$tmp/err" "lambda_s"
if grep -q "mu = 5" "$tmp/out"; then echo "FAIL: ran on after the error"; fails=$((fails + 1)); fi

"$bin" -e -c 'set mu x; set mu 5' >"$tmp/out" 2>"$tmp/err"; check "-e keeps going, still fails" 1 $?
has "-e ran the rest" "$tmp/out" "mu = 5"

"$bin" -c 'set on_error continue; frob; set mu 5' >"$tmp/out" 2>"$tmp/err"; check "on_error continue" 1 $?
has "unknown command" "$tmp/err" "unknown command 'frob'"
has "continued" "$tmp/out" "mu = 5"

printf 'set mu 2\n# a comment\n\nst\nset mu 3\n' >"$tmp/script"
"$bin" -x "$tmp/script" >"$tmp/out" 2>"$tmp/err"; check "-x stops at the error" 1 $?
has "file:line" "$tmp/err" "$tmp/script:4: ambiguous command 'st', could be: step stop"
if grep -q "mu = 3" "$tmp/out"; then echo "FAIL: -x ran on after the error"; fails=$((fails + 1)); fi

printf 'set mu 2\nget mu\n' | "$bin" >"$tmp/out" 2>&1; check "stdin" 0 $?
has "stdin ran" "$tmp/out" "mu = 2"
printf 'set mu 2\nbreak loss >> 1\n' | "$bin" >"$tmp/out" 2>"$tmp/err"; check "stdin failure" 1 $?
has "stdin position" "$tmp/err" "<stdin>:2: break: expected a number but found '>' at column 7"

"$bin" -c 'quit; set mu x' >"$tmp/out" 2>&1; check "quit ends a script" 0 $?
"$bin" -c 'train 3 weeks' >"$tmp/out" 2>"$tmp/err"; check "bad argument" 1 $?
has "argument named" "$tmp/err" "train: argument 2 'weeks': expected steps or epochs"
"$bin" -c 'help' >"$tmp/out" 2>&1; check "help" 0 $?
for cmd in load new set get show preset train pause resume step eval stop break delete snapshot rewind save export replay source predict quit; do
    grep -q "^  $cmd " "$tmp/out" || { echo "FAIL: help lacks $cmd"; fails=$((fails + 1)); }
done
"$bin" -c 'preset fast' >"$tmp/out" 2>"$tmp/err"; check "unknown preset" 1 $?
has "presets listed once" "$tmp/err" "preset: argument 1 'fast': unknown preset 'fast' (choices: vanilla, paper, mtdnn, r3f)"
if grep -q "presets:" "$tmp/err"; then echo "FAIL: the presets listed twice"; fails=$((fails + 1)); fi
"$bin" -c "save ''" >"$tmp/out" 2>"$tmp/err"; check "save with no folder" 1 $?
has "the command named once" "$tmp/err" "save: no folder given"
if grep -q "save: save:" "$tmp/err"; then echo "FAIL: the command named twice"; fails=$((fails + 1)); fi
vocab=${srcdir:-..}/datasets/vocab.txt
if [ -f "$vocab" ]; then
    "$bin" -c "new model vocab=$vocab labels=,," >"$tmp/out" 2>"$tmp/err"; check "new model labels=,," 1 $?
    has "labels= with no name named" "$tmp/err" "new model: labels=',,' names no class"
fi
"$bin" -x "$tmp/missing" >"$tmp/out" 2>"$tmp/err"; check "missing script" 1 $?
"$bin" -x >"$tmp/out" 2>&1; check "usage error" 2 $?
"$bin" -c 'echo hi' --bogus >"$tmp/out" 2>&1; check "unknown option" 2 $?
"$bin" console --help >"$tmp/out" 2>&1; check "console --help" 0 $?
has "help names the autosave place" "$tmp/out" "autosave"

# plain output: no carriage returns, no escape sequences
"$bin" -c 'help; show settings; get' >"$tmp/out" 2>&1
if LC_ALL=C grep -q "$(printf '\r')\|$(printf '\033')" "$tmp/out"; then echo "FAIL: control characters in plain output"; fails=$((fails + 1)); fi

# SIGTERM while idle (reading commands from a pipe): nothing to save, a clean exit
mkfifo "$tmp/fifo"
"$bin" <"$tmp/fifo" >"$tmp/out" 2>&1 &
pid=$!
exec 3>"$tmp/fifo"
echo 'set mu 2' >&3
sleep 1
kill -TERM "$pid"
wait "$pid"; check "SIGTERM while idle exits 128 + 15" 143 $?
has "SIGTERM said" "$tmp/out" "SIGTERM"
exec 3>&-

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
exit 0
