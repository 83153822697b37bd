#!/bin/sh
# console_tilde.sh: the console expands a leading ~ and ~user in its path arguments (load, save,
# export, replay, source, resume), quoted or not, as a shell does; an unknown user is refused with a
# message; a ~ that does not lead, or in a word that is not a path, stays. The loads, save and resume
# with a real model run when the shared data are there. It does not test the library's paths.
. "$(dirname "$0")/lib.sh"
need_bin
export XDG_STATE_HOME="$tmp/state" OPENBLAS_NUM_THREADS=1
home=$tmp/home
mkdir -p "$home"
has() { # has NAME FILE TEXT
    if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: '$2' not in: $(cat "$3")"; fi
}

# source ~/FILE, unquoted and quoted
echo 'echo sourced-from-home' >"$home/cmds.con"
HOME=$home "$bin" -c 'source ~/cmds.con' >"$tmp/out" 2>&1
has "source ~/FILE" "sourced-from-home" "$tmp/out"
HOME=$home "$bin" -c 'source "~/cmds.con"' >"$tmp/out" 2>&1
has "source \"~/FILE\" (quoted)" "sourced-from-home" "$tmp/out"
HOME=$home/ "$bin" -c "source '~/cmds.con'" >"$tmp/out" 2>&1
has "a \$HOME ending in / gives one slash" "sourced-from-home" "$tmp/out"

# the expanded path is what the command sees (and names in its message)
HOME=$home "$bin" -c 'load model ~/no-model-here' >"$tmp/out" 2>&1
has "load model ~/DIR" "$home/no-model-here" "$tmp/out"
HOME=$home "$bin" -c 'replay ~/no-journal.jsonl' >"$tmp/out" 2>&1
has "replay ~/FILE" "$home/no-journal.jsonl" "$tmp/out"
HOME=$home "$bin" -c 'resume ~/no-checkpoint' >"$tmp/out" 2>&1
has "resume ~/DIR" "$home/no-checkpoint" "$tmp/out"

# ~user from the password file
user=$(id -un 2>/dev/null)
pwhome=$(getent passwd "$user" 2>/dev/null | cut -d: -f6)
if [ -n "$user" ] && [ -n "$pwhome" ]; then
    HOME=$home "$bin" -c "load model ~$user/no-model-zz" >"$tmp/out" 2>&1
    has "load model ~user/DIR" "${pwhome%/}/no-model-zz" "$tmp/out"
else
    echo "skipped: ~user (no getent or no user name)"
fi

# an unknown user is refused, and says how to name a file called ~something
HOME=$home "$bin" -c 'save ~no_such_user_zz/ck' >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "save ~nosuchuser/DIR fails" || fail "save ~nosuchuser/DIR: exit $rc"
has "no such user named" "there is no such user" "$tmp/out"
has "./~ suggested" "./~no_such_user_zz/ck" "$tmp/out"

# not a leading ~, or not a path: left alone
HOME=$home "$bin" -c 'echo ~/x a~b; load model ./~/none' >"$tmp/out" 2>&1
has "echo keeps ~" "~/x a~b" "$tmp/out"
has "./~ is not expanded" "./~/none" "$tmp/out"

HOME=$home "$bin" -c 'help' >"$tmp/out" 2>&1
has "help says so" "may begin with ~ or ~user" "$tmp/out"

# with a model: load, save, export and resume through ~
if [ -d "$shared/models/bert-tiny-mlm" ] && [ -f "$shared/datasets/sst2/train.tsv" ]; then
    ln -s "$shared/models/bert-tiny-mlm" "$home/tiny"
    cp "$shared/datasets/sst2/train.tsv" "$home/sst.tsv"
    HOME=$home "$bin" -c 'load model ~/tiny; load train "~/sst.tsv" --limit 32; set batch_size 16; train 1 steps;
        save ~/ck; export metrics ~/m.csv' >"$tmp/out" 2>&1 || fail "train through ~: $(cat "$tmp/out")"
    [ -f "$home/ck/config.json" ] && ok "save ~/DIR writes there" || fail "save ~/ck: nothing in $home/ck: $(cat "$tmp/out")"
    [ -f "$home/m.csv" ] && ok "export metrics ~/FILE.csv" || fail "export ~/m.csv: no $home/m.csv"
    HOME=$home "$bin" -c 'resume ~/ck' >"$tmp/out" 2>&1
    has "resume ~/DIR" "resumed $home/ck at step 1" "$tmp/out"
else
    echo "skipped: the model part ($shared/models/bert-tiny-mlm or sst2 is absent)"
fi
finish
