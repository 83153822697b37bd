# tests/server_lib.sh: what the run server's script tests share, sourced after lib.sh: a private
# sockets' folder and state folder under $tmp, the raw-socket helper, the start commands of a
# bert-tiny-mlm run on an SST-2 slice, and helpers that poll (never sleep as an assertion). Every
# server a test starts is ended on exit (shutdown, else kill -9).
export XDG_RUNTIME_DIR="$tmp/rt" XDG_STATE_HOME="$tmp/state"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
sockdir=$XDG_RUNTIME_DIR/smartty
raw=${SMARTTY_BUILDDIR:-.}/tests/sv_raw
model=$shared/models/bert-tiny-mlm
data=$shared/datasets/sst2/train.tsv
start="load model $model; load train $data --limit=512 --max-len=32; set batch_size 8; set max_steps 1000000; train"
: >"$tmp/pids"
on_exit='for p in $(cat "$tmp/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done'
# serve_run NAME [ARGS...]: start a server training in the background; its pid joins $tmp/pids
serve_run() {
    sr_name=$1; shift
    "$bin" serve --name "$sr_name" --log "$tmp/$sr_name.log" -c "$start" "$@" >"$tmp/$sr_name.serve" 2>&1
    sr_st=$?
    pid_of "$sr_name" >>"$tmp/pids"
    return $sr_st
}
# pid_of NAME: the server's pid, from `smartty ls`
pid_of() { "$bin" ls 2>/dev/null | awk -v n="$1" '$1 == n {print $2}'; }
# step_of NAME: the step counter, from `show status`
step_of() { "$bin" ctl "$1" 'show status' 2>/dev/null | sed -n 's/^state: [a-z]*; step \([0-9]*\).*/\1/p'; }
# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (1 when it never did)
wait_until() {
    wu_n=$(($1 * 10)); shift; wu_i=0
    while [ $wu_i -lt $wu_n ]; do "$@" && return 0; sleep 0.1; wu_i=$((wu_i + 1)); done
    return 1
}
step_gt() { sg=$(step_of "$1"); [ -n "$sg" ] && [ "$sg" -gt "$2" ]; }
# advancing NAME: the step counter moves within 30 s
advancing() { ad=$(step_of "$1"); wait_until 30 step_gt "$1" "${ad:-0}"; }
# grep_file SECONDS PATTERN FILE: wait until FILE holds PATTERN (grep -E)
has() { grep -Eq -- "$1" "$2" 2>/dev/null; }
grep_file() { wait_until "$1" has "$2" "$3"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# no_sanitizer_reports: fail when a server's log or a client's output holds a sanitizer's report (a
# server's standard error is its log, which no test reads otherwise); call before finish
no_sanitizer_reports() {
    nsr=$(grep -l 'runtime error:\|Sanitizer' "$tmp"/*.log "$tmp"/*.out "$tmp"/*.err 2>/dev/null)
    if [ -n "$nsr" ]; then
        fail "sanitizer reports in $nsr: $(grep -h -A3 'runtime error:\|Sanitizer' $nsr | head -8)"
    else
        ok "no sanitizer reports in the logs"
    fi
}
