#!/bin/sh
# console_tty.sh: the interactive console with its plain readline prompt (--plain) in a real
# terminal (tmux): tab completion of commands, keywords and hyperparameter names, Ctrl-C at the
# prompt clears the line without leaving, history kept across sessions, quit. Skips without tmux.
. "$(dirname "$0")/lib.sh"
need_bin
need_cmd tmux
sock="smartty-console-test-$$"
on_exit='tmux -L "$sock" kill-server 2>/dev/null'
fails=0
fail() { echo "FAIL: $*"; tmux -L "$sock" capture-pane -p 2>/dev/null | sed 's/^/  | /'; fails=$((fails + 1)); }
start() {
    rm -f "$tmp/exit"
    tmux -L "$sock" -f /dev/null new-session -d -x 100 -y 30 \
        "XDG_STATE_HOME='$tmp/state' TERM=xterm '$bin' --plain; echo \$? >'$tmp/exit'; sleep 60"
}
# wait_for TEXT: until the pane shows TEXT (5 s at most)
wait_for() {
    i=0
    while [ $i -lt 50 ]; do
        tmux -L "$sock" capture-pane -p 2>/dev/null | grep -qF -- "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
keys() { tmux -L "$sock" send-keys "$@"; }

start
wait_for "smartty>" || fail "no prompt"
keys "sh" Tab
wait_for "smartty> show" || fail "command completion"
keys "par" Tab Enter
wait_for "log_every" || fail "keyword completion (show params)"
keys "set lambd" Tab "2" Enter
wait_for "lambda_s = 2" || fail "hyperparameter completion"
keys "set on_error c" Tab Enter
wait_for "on_error = continue" || fail "setting value completion"
keys "echo this line is dropped" C-c
wait_for "^C" || fail "Ctrl-C at the prompt"
keys "echo still here" Enter
wait_for "still here" || fail "the console left after Ctrl-C"
if tmux -L "$sock" capture-pane -p | grep -q "^this line is dropped"; then fail "Ctrl-C ran the line"; fi
keys "quit" Enter
i=0
while [ $i -lt 50 ] && [ ! -f "$tmp/exit" ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ] || fail "quit: exit status '$(cat "$tmp/exit" 2>/dev/null)'"
grep -q "^set lambda_s 2$" "$tmp/state/smartty/history" || fail "history file: $(cat "$tmp/state/smartty/history" 2>/dev/null)"
tmux -L "$sock" kill-server 2>/dev/null

# a second session finds the first one's history (on a socket of its own: a tmux server told to
# exit may still hold the first socket, and a new session there fails with "server exited")
sock="$sock-2"
start
wait_for "smartty>" || fail "no prompt (second session)"
keys Up Up
wait_for "smartty> echo still here" || fail "history across sessions"
keys C-u "quit" Enter
i=0
while [ $i -lt 50 ] && [ ! -f "$tmp/exit" ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ] || fail "second quit: exit status '$(cat "$tmp/exit" 2>/dev/null)'"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: completion, Ctrl-C, history, quit"
exit 0
