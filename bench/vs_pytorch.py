#!/usr/bin/env python3
"""vs_pytorch.py: smartty's steps against transformers' BertForSequenceClassification in one run.

Starts `bench_smart --serve` (smartty, one step per request on stdin), takes the very batches it
uses (dumped to a file), builds the same shape in PyTorch with random weights, and alternates: for
every round and every step kind, one smartty step then one PyTorch step on the same batch, with the
same thread count (OPENBLAS_NUM_THREADS for smartty, torch.set_num_threads for PyTorch). Prints each
ratio PyTorch time / smartty time with min, median and max, and the targets met / not met, and both
sides' fractions of the sgemm peak (2048^3, the best of three measured by bench_smart at the start of
every round and of the rounds before;
the FLOPs are bench_common.h's count for the batch and kind): a target that needs smartty above the
peak cannot be met by any engine.
It does not install anything: bench/vs_pytorch.sh makes the environment and runs it.

Recipes (the same on both sides):
  vanilla  forward (dropout 0.1), cross-entropy, backward, global-norm clip 1.0, AdamW (wd 0.01)
  paper    SMART.md's step as ../shared/reference/finetune_torch.py writes it: clean forward, random
           start N(0, sigma^2) on real tokens, probe forward and autograd.grad of the symmetric KL
           against the detached clean logits, per-example inf-norm ascent step clamped to eps,
           adversarial forward, teacher forward (eval, no grad), loss = CE + R_s + D_Breg, backward,
           clip, AdamW, EMA of the teacher (beta 0.99)
  infer    eval-mode forward without gradients
"""
import argparse, copy, os, statistics, subprocess, sys, tempfile, time

SHAPES = {"tiny": (2, 128, 2, 512), "mini": (4, 256, 4, 1024), "small": (4, 512, 8, 2048),
          "minilm": (6, 384, 12, 1536), "base": (12, 768, 12, 3072)}
TARGETS = {"vanilla": 1.5, "paper": 1.8, "infer": 1.5}


def read_batches(path):
    import torch
    with open(path) as f:
        n = int(f.readline().split()[1])
        out = []
        for _ in range(n):
            B, T = map(int, f.readline().split())
            ids = torch.zeros(B, T, dtype=torch.long)
            types = torch.zeros(B, T, dtype=torch.long)
            mask = torch.zeros(B, T, dtype=torch.long)
            labels = torch.zeros(B, dtype=torch.long)
            for r in range(B):
                v = list(map(int, f.readline().split()))
                labels[r], ln = v[0], v[1]
                ids[r, :ln] = torch.tensor(v[2:2 + ln])
                types[r, :ln] = torch.tensor(v[2 + ln:2 + 2 * ln])
                mask[r, :ln] = 1
            out.append((ids, types, mask, labels))
    return out


class Torch:
    def __init__(self, shape, threads):
        import torch
        from transformers import BertConfig, BertForSequenceClassification
        torch.manual_seed(1)
        torch.set_num_threads(threads)
        L, H, NH, F = SHAPES[shape]
        cfg = BertConfig(vocab_size=30522, hidden_size=H, num_hidden_layers=L, num_attention_heads=NH,
                         intermediate_size=F, max_position_embeddings=512, num_labels=2)
        self.torch = torch
        self.model = BertForSequenceClassification(cfg)
        self.model.train()
        self.teacher = copy.deepcopy(self.model).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        nodecay = lambda n: n.endswith("bias") or "LayerNorm" in n
        groups = [{"params": [p for n, p in self.model.named_parameters() if not nodecay(n)], "weight_decay": 0.01},
                  {"params": [p for n, p in self.model.named_parameters() if nodecay(n)], "weight_decay": 0.0}]
        self.opt = torch.optim.AdamW(groups, lr=1e-5, betas=(0.9, 0.999), eps=1e-8)
        self.delta = None
        self.model.bert.embeddings.register_forward_hook(
            lambda m, i, o: o + self.delta if self.delta is not None else None)
        self.H = H

    def fwd(self, m, b):
        ids, types, mask, _ = b
        return m(input_ids=ids, token_type_ids=types, attention_mask=mask).logits

    def symkl(self, a, b):
        F = self.torch.nn.functional
        la, lb = F.log_softmax(a.float(), -1), F.log_softmax(b.float(), -1)
        return ((la.exp() - lb.exp()) * (la - lb)).sum(-1).mean()

    def step(self, kind, b):
        torch = self.torch
        F = torch.nn.functional
        if kind == "infer":
            self.model.eval()
            with torch.no_grad():
                self.fwd(self.model, b)
            self.model.train()
            return
        self.delta = None
        clean = self.fwd(self.model, b)
        loss = F.cross_entropy(clean.float(), b[3])
        if kind == "paper":
            ids, _, mask, _ = b
            msk = mask.unsqueeze(-1).float()
            d0 = (1e-5 * torch.randn(ids.shape[0], ids.shape[1], self.H) * msk).requires_grad_(True)
            self.delta = d0
            probe = self.fwd(self.model, b)
            gd, = torch.autograd.grad(self.symkl(probe, clean.detach()), d0)
            gd = gd * msk
            nrm = gd.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-30)
            self.delta = ((d0 + 1e-3 * gd / nrm).clamp(-1e-5, 1e-5) * msk).detach()
            adv = self.fwd(self.model, b)
            self.delta = None
            loss = loss + 1.0 * self.symkl(adv, clean)
            with torch.no_grad():
                tl = self.fwd(self.teacher, b)
            loss = loss + 1.0 * self.symkl(clean, tl)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        if kind == "paper":
            with torch.no_grad():
                for pt, p in zip(self.teacher.parameters(), self.model.parameters()):
                    pt.mul_(0.99).add_(p, alpha=0.01)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench-smart", required=True, help="path of the built bench/bench_smart")
    ap.add_argument("--shapes", default="mini,minilm,base")
    ap.add_argument("--data", default="fixed,mrpc,sst2")
    ap.add_argument("--kinds", default="vanilla,paper,infer")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
    a = ap.parse_args()
    import torch, transformers
    print(f"vs_pytorch: torch {torch.__version__}, transformers {transformers.__version__}, {a.threads} thread(s) "
          f"on both sides; {a.rounds} rounds; ratio = PyTorch time / smartty time (paired, same batch)", flush=True)
    kinds = a.kinds.split(",")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
    summary = []
    for shape in a.shapes.split(","):
        for data in a.data.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                dump = os.path.join(tmp, "batches.txt")
                p = subprocess.Popen([a.bench_smart, "--serve", "--dump", dump, "--shape", shape, "--data", data,
                                      "--batches", str(a.batches), "--kinds", ",".join(kinds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
                first = p.stdout.readline()
                if not first.startswith("ready"):
                    rest = p.stdout.read()
                    p.wait()
                    print(f"{shape} {data}: smartty did not start ({(first + rest).strip()})", flush=True)
                    continue
                batches = read_batches(dump)
                pt = Torch(shape, a.threads)
                big = max(range(len(batches)), key=lambda i: batches[i][0].numel())
                for k in kinds:  # warm-up on both sides
                    pt.step(k, batches[big])
                times = {k: ([], []) for k in kinds}
                fracs = {k: ([], []) for k in kinds}  # fraction of the best sgemm peak seen so far
                peak = 0.0
                for r in range(a.rounds):
                    # the peak: the best of three 2048^3 products now, and never below an earlier
                    # round's (one product is ~0.1 s and the machine's neighbours take some of it)
                    for _ in range(3):
                        p.stdin.write("peak\n")
                        p.stdin.flush()
                        peak = max(peak, float(p.stdout.readline().split()[1]) * 1e9)
                    flops = None
                    for j in range(len(kinds)):
                        k = kinds[(r + j) % len(kinds)]
                        i = r % len(batches)
                        order = (0, 1) if r % 2 == 0 else (1, 0)  # who goes first alternates too
                        for side in order:
                            if side == 0:
                                p.stdin.write(f"{k} {i}\n")
                                p.stdin.flush()
                                v = p.stdout.readline().split()
                                times[k][0].append(float(v[2]))
                                flops = float(v[3])
                                fracs[k][0].append(flops / float(v[2]) / peak)
                            else:
                                t0 = time.perf_counter()
                                pt.step(k, batches[i])
                                times[k][1].append(time.perf_counter() - t0)
                        # the same FLOP count for PyTorch's step on the same batch
                        fracs[k][1].append(flops / times[k][1][-1] / peak)
                p.stdin.close()
                p.wait()
                for k in kinds:
                    s, t = times[k]
                    ratios = sorted(b / x for x, b in zip(s, t))
                    med = statistics.median(ratios)
                    fs, ft = statistics.median(fracs[k][0]), statistics.median(fracs[k][1])
                    # A step cannot run above the sgemm peak: with PyTorch at ft of it, no engine is
                    # more than 1 / ft times faster on the counted products (the elementwise rest aside).
                    need = TARGETS.get(k, 1.0) * ft
                    line = (f"{shape:6s} {data:5s} {k:7s}: smartty median {statistics.median(s):.3f} s, "
                            f"PyTorch median {statistics.median(t):.3f} s; ratio min {ratios[0]:.2f}, median "
                            f"{med:.2f}, max {ratios[-1]:.2f}; target >= {TARGETS.get(k, 1.0)}x: "
                            f"{'met' if med >= TARGETS.get(k, 1.0) else 'not met'}; of the sgemm peak: smartty "
                            f"{100 * fs:.1f} %, PyTorch {100 * ft:.1f} % (the target needs smartty at "
                            f"{100 * need:.0f} %{', above the peak' if need > 1 else ''})")
                    print(line, flush=True)
                    summary.append(line)
                del pt
    print("summary:")
    for line in summary:
        print("  " + line)


if __name__ == "__main__":
    main()
