#!/bin/sh
# trajectory.sh: 20 training steps of `smartty train` against the PyTorch reference's, step by step.
# The reference's losses and gradient norms (before clipping) are committed in tests/fixtures/trajectory/
# (written by tests/ref/make_trajectory.py from ../shared/reference/finetune_torch.py); the model is
# the shared tiny random BERT with dropout 0, the batch the whole 24-row file, so nothing random is
# left: what is compared is the training itself (forward, backward, clipping, AdamW with decoupled
# weight decay, warm-up and linear decay, and with METHOD mu the mean teacher and its momentum switch).
. "$(dirname "$0")/lib.sh"
need_bin
need_shared fixtures/hf-bert/bert-tiny-random-cls3/model.safetensors
fx=${SMARTTY_SRCDIR:-..}/tests/fixtures/trajectory
model=$shared/fixtures/hf-bert/bert-tiny-random-cls3
fail() { echo "FAIL: $*" >&2; exit 1; }

for method in vanilla mu; do
    case $method in
    vanilla) set -- --preset vanilla ;;
    mu) set -- --preset paper --set lambda_s=0 ;;
    esac
    "$bin" train --model "$model" --train "$fx/train.tsv" --text sentence --label label "$@" \
        --set lr=1e-3 --set batch_size=24 --set epochs=20 --set max_len=64 --set optimizer=adamw \
        --set weight_decay=0.01 --set warmup=0.1 --set schedule=linear --set clip=1.0 --set dropout=0 \
        --set seed=1 --metrics "$tmp/$method.csv" >"$tmp/out" 2>&1 || fail "$method: training failed: $(cat "$tmp/out")"
    # loss to 1e-5 absolute, gradient norm to 1e-4 relative (float32 sums in another order)
    awk -F, -v m="$method" 'FNR == NR { if (FNR == 1) { for (i = 1; i <= NF; i++) { if ($i == "loss") lc = i; if ($i == "grad_norm") gc = i }
                                        if (!lc || !gc) { print m ": no loss or grad_norm column in the CSV"; bad = 1; exit } }
                             else { l[$1] = $lc; g[$1] = $gc; n = FNR - 1 } next }
        function abs(x) { return x < 0 ? -x : x }
        { s = $2; k++
          if (!(s in l)) { printf "%s: no step %d in smartty'\''s CSV\n", m, s; bad = 1; exit }
          dl = abs(l[s] - $4); dg = abs(g[s] - $6) / $6
          if (dl > ml) ml = dl; if (dg > mg) mg = dg
          if (dl > 1e-5 || dg > 1e-4) { printf "%s: step %d: loss %s against the reference'\''s %s, gradient norm %s against %s\n", m, s, l[s], $4, g[s], $6; bad = 1 } }
        END { if (!bad && (k != 20 || n != 20)) { printf "%s: %d reference steps, %d smartty steps, want 20\n", m, k, n; bad = 1 }
              if (!bad) printf "%s: 20 steps match the reference (largest loss difference %.1e, gradient norm %.1e relative)\n", m, ml, mg
              exit bad }' "$tmp/$method.csv" FS=' ' "$fx/$method.txt" || fail "$method differs from the reference"
done
