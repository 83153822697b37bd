#!/bin/sh
# escape_output.sh: every control byte (C0 but NUL, DEL, C1, a bidirectional override, invalid
# UTF-8) put into a file name, a data file's header and labels and a journal's arguments reaches
# none of the outputs raw: `smartty data`'s errors and report, the console's errors (typed, from a
# script, from replay), `smartty train`'s messages, and the dashboard's event log (under tmux,
# skipped without it), where the title the text tries to set stays unset. Needs no model.
set -u
bin=${SMARTTY_BIN:-./smartty}
[ -x "$bin" ] || { echo "SKIP: $bin is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartty-esc.XXXXXX") || exit 1
sock="smartty-esc-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export LC_ALL=C
# every C0 byte but NUL and newline (a line break ends a console command), DEL, C1 (CSI, NEL, the
# last), U+202E and a byte that is not UTF-8
ctl=$(awk 'BEGIN { for (i = 1; i < 32; i++) if (i != 10) printf "%c", i; printf "%c", 127 }')
hi=$(printf '\302\200\302\205\302\233\302\237\342\200\256\377')
evil="E${ctl}${hi}Z"
title=$(printf '\033]2;PWNED\033\\')
raw() { # file: any raw control byte (but tab, kept in multi-line text), C1 pair, RLO or invalid byte?
    tr -d '\n' <"$1" | grep -q "$(printf '[\001-\010\013-\037\177]')" && return 0
    grep -q "$(printf '\302[\200-\237]')\|$(printf '\342\200\256')\|$(printf '\377')" "$1"
}
check() { # what file
    if raw "$2"; then fail "$1: raw control bytes reach the output: $(od -c "$2" | head -5)"; fi
    grep -q 'x1b' "$2" || fail "$1: ESC is not shown as \\x1b: $(cat "$2")"
}

# 1. an error naming a file: smartty data, the console (typed and scripted), smartty train
"$bin" data "$tmp/$evil" >"$tmp/1.out" 2>&1
check "smartty data's error" "$tmp/1.out"
printf 'load train %s/%s\n' "$tmp" "$evil" >"$tmp/cmds"
"$bin" <"$tmp/cmds" >"$tmp/2.out" 2>&1
check "the console's error (typed)" "$tmp/2.out"
"$bin" -x "$tmp/cmds" >"$tmp/3.out" 2>&1
check "the console's error (script)" "$tmp/3.out"
"$bin" -c "source $tmp/$evil" >"$tmp/3b.out" 2>&1
check "source's error" "$tmp/3b.out"
"$bin" train --model "$tmp/$evil" --train "$tmp/$evil" >"$tmp/4.out" 2>&1
check "smartty train's error" "$tmp/4.out"
"$bin" train --model "$tmp" --train "$tmp" --save "$tmp/$evil/ck" >"$tmp/4b.out" 2>&1
check "smartty train's --save check" "$tmp/4b.out"

# 2. a data file whose header and labels hold them: the report
# (but tab, newline and carriage return, which end fields and rows)
dctl=$(awk 'BEGIN { for (i = 1; i < 32; i++) if (i != 9 && i != 10 && i != 13) printf "%c", i; printf "%c", 127 }')
devil="E${dctl}$(printf '\302\200\302\205\302\233\302\237\342\200\256')Z" # (data must be UTF-8)
printf 'sentence\tlabel%s\n' "$devil" >"$tmp/d.tsv"
for i in 1 2 3 4; do printf 'text %s\tpos%s\ntext\tneg%s\n' "$i" "$devil$title" "$devil" >>"$tmp/d.tsv"; done
"$bin" data "$tmp/d.tsv" >"$tmp/5.out" 2>&1
check "smartty data's report" "$tmp/5.out"

# 3. a journal whose arguments hold them (every C0 byte but NUL, newline included, as JSON escapes)
esc=$(awk 'BEGIN { for (i = 1; i < 32; i++) printf "\\u%04x", i; printf "\\u007f\\u009b\\u202e" }')
printf '{"step":0,"op":"set","args":["x%s","1"]}\n' "$esc" >"$tmp/j.jsonl"
"$bin" -c "replay $tmp/j.jsonl force" >"$tmp/6.out" 2>&1
check "replay's error" "$tmp/6.out"

# 4. the dashboard's event log: the error of a replayed journal, under tmux
if command -v tmux >/dev/null 2>&1; then
    T="tmux -L $sock -f /dev/null"
    printf '{"step":0,"op":"set","args":["x%s\\u001b]2;PWNED\\u001b\\\\","1"]}\n' "$esc" >"$tmp/k.jsonl"
    $T new-session -d -s esc -x 120 -y 40 "XDG_STATE_HOME=$tmp $bin 2>$tmp/dash.err; sleep 30"
    sleep 2
    $T send-keys -t esc "replay $tmp/k.jsonl force" Enter
    sleep 2
    $T capture-pane -t esc -p >"$tmp/7.out"
    t=$($T display -p -t esc '#{pane_title}')
    case $t in *PWNED*) fail "the dashboard's event log let a journal set the window title" ;; esac
    grep -q 'x1b' "$tmp/7.out" || fail "the event log does not show \\x1b: $(cat "$tmp/7.out")"
    [ -s "$tmp/dash.err" ] && check "the dashboard's log (stderr)" "$tmp/dash.err"
    $T send-keys -t esc "quit" Enter
else
    echo "note: tmux is absent; the dashboard's event log is not checked"
fi
[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
exit 0
