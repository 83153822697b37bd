#!/usr/bin/env python3
"""minilm_compare.py: issue 18's two questions, from the results of bench/minilm_experiment.sh
(smartty: TASK-METHOD-seedS.csv) and bench/minilm_reference.sh (the PyTorch reference:
TASK-METHOD-seedS.json), with nothing run:

1. per task and method, does each program's mean dev metric (after the last epoch, and at the best
   epoch) lie within two sample standard deviations of the other's, both ways?
2. per program, what did SMART do: paper - vanilla (means, and paired by seed where both ran), and
   the dev loss after SMART against vanilla's.

Usage: python3 bench/minilm_compare.py [SMARTTY_DIR [REFERENCE_DIR]] [--tasks "rte mrpc sst2"]
       (defaults bench/results/minilm-smartty and bench/results/minilm-reference)
Standard library only. Metrics are x 100 (accuracy; F1 for MRPC); a mean of one run has no sd, and
the two-sd test is then not made ("one run").
"""
import argparse
import csv
import glob
import json
import math
import os
import re

METRIC = {"rte": "acc", "mrpc": "f1", "sst2": "acc"}
METHODS = ("vanilla", "paper", "paper-mu0", "paper-lambda0")


def smartty_run(path, metric):
    """(history of dev metric x 100, history of dev loss) of a smartty metrics CSV."""
    hist, loss = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            v = row.get("dev_" + metric, "")
            if v not in ("", None):
                hist.append(100 * float(v))
                loss.append(float(row["dev_loss"]))
    return hist, loss


def reference_run(path):
    with open(path) as f:
        r = json.loads(f.read().strip().splitlines()[-1])
    return [100 * v for v in r["history"]], list(r["dev_loss"])


def load(folder, task, method, kind):
    """{seed: (last, best, loss_last, loss_at_best, wall)} of the runs in folder."""
    ext = "csv" if kind == "smartty" else "json"
    runs = {}
    for p in sorted(glob.glob(os.path.join(folder, f"{task}-{method}-seed*.{ext}"))):
        m = re.search(r"-seed(\d+)\." + ext + "$", p)
        hist, loss = smartty_run(p, METRIC[task]) if kind == "smartty" else reference_run(p)
        if not hist:
            continue
        b = max(range(len(hist)), key=lambda i: (hist[i], -i))  # the first best epoch
        tf = p[: -len(ext)] + "time"
        wall = open(tf).read().strip() if os.path.exists(tf) else "?"
        runs[int(m.group(1))] = (hist[-1], hist[b], loss[-1], loss[b], wall)
    return runs


def ms(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
    return m, sd


def fmt(xs, f=".2f"):
    if not xs:
        return "-"
    m, sd = ms(xs)
    return f"{m:{f}} +- {sd:.2f} (n={len(xs)})" if len(xs) > 1 else f"{m:{f}} (n=1)"


def within(a, b):
    """Each mean within two sd of the other's: 'yes', 'NO (...)' or 'one run'."""
    if len(a) < 2 or len(b) < 2:
        return "one run"
    (ma, sa), (mb, sb) = ms(a), ms(b)
    d = abs(ma - mb)
    ok = d <= 2 * sa and d <= 2 * sb
    return ("yes" if ok else "NO") + f" (|diff| {d:.2f}; 2 sd {2 * sa:.2f} / {2 * sb:.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("smartty", nargs="?", default="bench/results/minilm-smartty")
    ap.add_argument("reference", nargs="?", default="bench/results/minilm-reference")
    ap.add_argument("--tasks", default="rte mrpc sst2")
    a = ap.parse_args()
    tasks = a.tasks.split()
    res = {(t, m, k): load(d, t, m, k) for t in tasks for m in METHODS
           for k, d in (("smartty", a.smartty), ("reference", a.reference))}

    print("each run: the dev metric x 100 after the last epoch (at the best epoch), dev loss after the last, wall s")
    for t in tasks:
        for m in METHODS:
            for k in ("smartty", "reference"):
                r = res[(t, m, k)]
                if r:
                    cells = [f"s{sd} {x[0]:.2f} ({x[1]:.2f}) {x[2]:.4f} {x[4]}s" for sd, x in sorted(r.items())]
                    print(f"{t:5} {m:14} {k:9} " + "; ".join(cells))
    print()
    print("1. smartty against the reference: mean +- sd of the dev metric x 100; is each within two sd of the other?")
    print(f"{'task':5} {'method':14} {'epoch':5} {'smartty':22} {'reference':22} within 2 sd both ways")
    for t in tasks:
        for m in METHODS:
            s, r = res[(t, m, "smartty")], res[(t, m, "reference")]
            if not s and not r:
                continue
            for col, name in ((0, "last"), (1, "best")):
                sv, rv = [x[col] for x in s.values()], [x[col] for x in r.values()]
                verdict = within(sv, rv) if sv and rv else "not run in both"
                print(f"{t:5} {m:14} {name:5} {fmt(sv):22} {fmt(rv):22} {verdict}")

    print()
    print("2. what SMART did: paper - vanilla in each program (last epoch; best epoch), and the dev loss")
    print(f"{'task':5} {'program':9} {'vanilla, last':22} {'paper, last':22} {'diff of means':13} "
          f"{'paired by seed':22} {'best: diff':10} {'dev loss vanilla -> paper (ratio)'}")
    for t in tasks:
        for k in ("smartty", "reference"):
            v, p = res[(t, "vanilla", k)], res[(t, "paper", k)]
            if not v or not p:
                continue
            vl, pl = [x[0] for x in v.values()], [x[0] for x in p.values()]
            vb, pb = [x[1] for x in v.values()], [x[1] for x in p.values()]
            seeds = sorted(set(v) & set(p))
            paired = [p[s][0] - v[s][0] for s in seeds]
            lv, lp = ms([x[2] for x in v.values()])[0], ms([x[2] for x in p.values()])[0]
            print(f"{t:5} {k:9} {fmt(vl):22} {fmt(pl):22} {ms(pl)[0] - ms(vl)[0]:+13.2f} "
                  f"{fmt(paired, '+.2f') + ' seeds ' + ','.join(map(str, seeds)):22} "
                  f"{ms(pb)[0] - ms(vb)[0]:+10.2f} {lv:.4f} -> {lp:.4f} ({lp / lv:.3f}x)")
    abl = [(t, m, k) for t in tasks for m in ("paper-mu0", "paper-lambda0") for k in ("smartty", "reference")
           if res[(t, m, k)]]
    if abl:
        print()
        print("ablations (last epoch; dev loss, last):")
        for t, m, k in abl:
            r = res[(t, m, k)]
            print(f"{t:5} {m:14} {k:9} {fmt([x[0] for x in r.values()]):22} "
                  f"{fmt([x[2] for x in r.values()], '.4f'):26} wall {' '.join(x[4] for x in r.values())} s")


if __name__ == "__main__":
    main()
