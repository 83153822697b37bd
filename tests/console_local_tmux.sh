#!/bin/sh
# tests/console_local_tmux.sh: the local console's dashboard (`smartty` in a terminal), which is a
# client of an in-process run server (src/server/local.c), in a real terminal (tmux): what a
# local console always did still holds through that path. Ctrl-C during `step N` pauses the run and
# ends the wait; Ctrl-C stops a `replay`; `detach` is refused with the way to a run that outlives the terminal; `quit` with
# unsaved training asks (N keeps the console, y ends it with status 0); `set ui_fps` is answered (its
# reaching the dashboard is the status frame's ui_fps, check_proto); SIGHUP autosaves the training
# and exits 129, and the next console names the autosave.
# Exit 77 (skip) without tmux or the shared model.
. "$(dirname "$0")/lib.sh"
need_cmd tmux
need_bin
need_shared models/bert-tiny-mlm datasets/sst2/train.tsv
sock="smartty-local-$$"
T="tmux -L $sock -f /dev/null"
on_exit='$T kill-server >/dev/null 2>&1'
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; screen | sed 's/^/  | /' | tail -15; fails=$((fails + 1)); }
screen() { $T capture-pane -p -t t 2>/dev/null; }
wait_for() { # PATTERN [SECONDS]
    i=0; n=$(( ${2:-10} * 10 ))
    while [ $i -lt $n ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
wait_status() { i=0; while [ ! -s "$tmp/status" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; cat "$tmp/status" 2>/dev/null; }
keys() { $T send-keys -t t "$@"; }
mkdir -p "$tmp/state"
$T new-session -d -s keep -x 80 -y 24 "sleep 900" || { echo "FAIL: tmux cannot start a server"; exit 1; }
start() {
    rm -f "$tmp/status"
    $T kill-session -t t >/dev/null 2>&1
    $T new-session -d -s t -x 120 -y 40 \
        "env LC_ALL=C.UTF-8 XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/rt $bin 2>$tmp/stderr; echo \$? >$tmp/status; sleep 60"
}
mkdir -p "$tmp/rt" && chmod 700 "$tmp/rt"
model=$(cd "$shared/models/bert-tiny-mlm" && pwd)
data=$(cd "$shared/datasets/sst2" && pwd)/train.tsv

start
wait_for 'smartty>' 10 || bad "no prompt"
keys "load model $model; load train $data --limit=512 --max-len=32; set batch_size 8" Enter
wait_for 'data: /.*train.tsv' 20 || bad "the model and data did not load"
keys "step 100000" Enter
wait_for 'STEPPING|RUNNING' 10 || bad "step 100000 does not run"
sleep 1
keys C-c
wait_for 'PAUSED' 10 && ok "Ctrl-C during step N pauses the run" || bad "Ctrl-C did not pause"
keys "echo after the interrupt" Enter
answered() { [ "$(screen | grep -c 'after the interrupt')" -ge 2 ]; } # the line typed, and its answer
i=0; while ! answered && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
answered && ok "the console answers after it (the wait ended)" ||
    bad "the console still waits after Ctrl-C"
[ -z "$(ls "$tmp/rt/smartty" 2>/dev/null)" ] && ok "no socket in the socket folder: nobody else can attach" ||
    bad "a socket for the local console: $(ls "$tmp/rt/smartty")"
# Ctrl-C stops a replay (it trains inside one command, the interrupt read meanwhile)
printf '%s\n' "{\"step\":0,\"op\":\"load_model\",\"args\":[\"$model\"]}" \
    "{\"step\":0,\"op\":\"load_train\",\"args\":[\"$data\",\"--limit=512\",\"--max-len=32\"]}" \
    '{"step":0,"op":"set","args":["batch_size","8"]}' '{"step":0,"op":"train","args":["100000"]}' \
    '{"step":99999,"op":"set","args":["lr","1e-05"]}' >"$tmp/long.jsonl"
keys "stop" Enter
keys "replay $tmp/long.jsonl force" Enter
wait_for 'replay: step [0-9]+ of 99999' 20 || bad "the replay does not train"
keys C-c
wait_for 'replay: interrupted at step' 10 && ok "Ctrl-C stops a replay" || bad "Ctrl-C did not stop the replay"
keys "detach" Enter
wait_for 'detach: this console.s run lives in this process' 5 && ok "detach is refused with the way to serve" ||
    bad "detach"
keys "set ui_fps 2" Enter
wait_for 'ui_fps = 2' 5 && ok "set ui_fps is answered" || bad "set ui_fps"
keys "quit" Enter
wait_for 'Quit anyway\? \[y/N\]' 5 && wait_for 'quit and lose the unsaved training\? \[y/N\]' 3 &&
    ok "quit with unsaved training asks" || bad "quit did not ask"
keys "n" Enter
wait_for 'not quitting' 5 && [ ! -s "$tmp/status" ] && ok "N keeps the console" || bad "N: the console left"
keys "quit" Enter
wait_for 'quit and lose the unsaved training\? \[y/N\]' 5
keys "y" Enter
[ "$(wait_status)" = 0 ] && ok "y ends it, exit status 0" || bad "quit y: status '$(cat "$tmp/status" 2>/dev/null)'"
[ -s "$tmp/stderr" ] && bad "stderr: $(cat "$tmp/stderr")" || ok "nothing on stderr"

# SIGHUP (the terminal closes): the training is autosaved and the console exits 129
start
wait_for 'smartty>' 10 || bad "no prompt (second console)"
keys "load model $model; load train $data --limit=512 --max-len=32; set batch_size 8; train 100000" Enter
wait_for 'RUNNING' 20 || bad "train does not run"
wait_for '^ step [1-9]' 30 || bad "no step trained" # something unsaved to autosave
# this console's process: the child of its pane's shell (other tests may run the same binary)
pid=$(pgrep -P "$($T display -p -t t '#{pane_pid}')" | head -1)
if [ -n "$pid" ]; then
    kill -HUP "$pid"
    [ "$(wait_status)" = 129 ] && ok "SIGHUP: exit status 129" || bad "SIGHUP: status '$(cat "$tmp/status" 2>/dev/null)'"
    [ -d "$tmp/state/smartty/autosave-$pid" ] && ok "SIGHUP autosaved to autosave-$pid" ||
        bad "no autosave: $(ls "$tmp/state/smartty")"
    start
    wait_for "an autosave of an interrupted session exists:" 10 && wait_for "autosave-$pid" 1 &&
        ok "the next console names the autosave" || bad "no autosave notice"
    keys "quit" Enter
    [ "$(wait_status)" = 0 ] || bad "quit (third console): status '$(cat "$tmp/status" 2>/dev/null)'"
else
    bad "no smartty process found"
fi
[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
