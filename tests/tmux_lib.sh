# tests/tmux_lib.sh: what the run server's terminal tests share, sourced after server_lib.sh: a private
# tmux server in $T (its own socket, no configuration file, ended on exit) and helpers that read a
# window's screen, poll it (never sleep as an assertion) and type into it. Each client runs in a
# window of the session "keep", which tmux_keep starts.
need_cmd tmux
T="tmux -L smartty-$(basename "$0" .sh)-$$ -f /dev/null"
on_exit="$on_exit; \$T kill-server >/dev/null 2>&1"
# tmux_keep COLS ROWS: start the tmux server with the session "keep" (a window that only sleeps)
tmux_keep() { $T new-session -d -s keep -x "$1" -y "$2" "sleep 900"; }
# screen WIN: what window WIN of "keep" shows
screen() { $T capture-pane -p -t "keep:$1" 2>/dev/null; }
# on_screen WIN PATTERN: WIN shows a line matching PATTERN (grep -E)
on_screen() { screen "$1" | grep -Eq -- "$2"; }
# wait_for WIN PATTERN [SECONDS]: poll until WIN shows PATTERN (default 10 s)
wait_for() { wait_until "${3:-10}" on_screen "$1" "$2"; }
# keys WIN KEY...: type into WIN (tmux send-keys)
keys() { k_w=$1; shift; $T send-keys -t "keep:$k_w" "$@"; }
